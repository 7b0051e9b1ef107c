"""Tables and downloads: per zone, per office, load shift, city summary; traffic vs distance
chart."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import cache, components, loadshift, state
from dashboard.i18n import lang, t
from geo import demand, io, report
from geo.errors import MadoguchiError
from geo.study import options, transit_catchments
from geo.zones import with_results

choice = state.current()
study = cache.study(choice.study_key)
found = components.result(choice)
names = components.office_name(study.engine.offices)
sources = io.scenario_sources(measure=choice.measure, store_source=choice.store_source,
                              zones=choice.zone_layer, network=choice.network,
                              timetables=study.transit_sources)
description = io.describe_scenario(choice.scenario, measure=choice.measure,
                                   store_source=choice.store_source, offices=study.engine.offices)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def office_table() -> pd.DataFrame:
    """Branch -> nearest ward office distance, 5 km flag, and the state in ``Result.offices``."""
    table = options(study, choice.base).rule
    states = found.offices.set_index("office_id")["state"]
    return table.assign(state=table["office_id"].map(states))


def summary_table(summary: dict) -> pd.DataFrame:
    values = [v if isinstance(v, str) else f"{v:,.3f}".rstrip("0").rstrip(".")
              for v in summary.values()]
    return pd.DataFrame({"item": list(summary), "value": values})


def excel_button(label: str, key: str, file_name: str, sheets: dict[str, pd.DataFrame],
                 scenario_description: dict[str, str]) -> None:
    """An Excel download of ``sheets`` with the scenario and sources sheets (geo.io)."""
    st.download_button(label, key=key, file_name=file_name, mime=XLSX, on_click="ignore",
                       data=lambda: io.to_excel_bytes(sheets,
                                                      scenario_description=scenario_description,
                                                      sources=sources))


def downloads(label: str, stem: str, table: pd.DataFrame, *, geo_frame=None) -> None:
    """CSV / Excel / GeoJSON buttons for one table, through geo.io.

    ``geo_frame`` is a function returning the table with its polygons, called on download.
    """
    columns = st.columns(3)
    columns[0].download_button(f"{t('download_csv')}", data=io.to_csv_bytes(table),
                               file_name=f"{stem}.csv", mime="text/csv", key=f"csv_{stem}",
                               on_click="ignore")
    with columns[1]:
        excel_button(t("download_excel"), f"xlsx_{stem}", f"{stem}.xlsx", {label: table},
                     description)
    if geo_frame is not None:
        columns[2].download_button(t("download_geojson"), key=f"geojson_{stem}",
                                   data=lambda: io.to_geojson_bytes(geo_frame()),
                                   file_name=f"{stem}.geojson", mime="application/geo+json",
                                   on_click="ignore")


st.title(t("page_tables"))
summary = found.city
zone_table = found.zone_table
offices = office_table()

st.subheader(t("tables_summary"))
city = summary_table(summary)
st.dataframe(city.rename(columns={"item": t("summary_item"), "value": t("summary_value")}),
             hide_index=True, width="stretch")
downloads("summary", "city_summary", city)

st.subheader(t("tables_zones") + f"（{t(f'zone_{choice.zone_layer}')}）")
st.dataframe(components.readable_zone_table(zone_table), hide_index=True,
             width="stretch", column_config=components.zone_column_config())
downloads(choice.zone_layer, f"zones_{choice.zone_layer}", zone_table,
          geo_frame=lambda: with_results(study.zones[choice.zone_layer], zone_table))

if study.transit is not None:
    st.subheader(t("tables_catchments"))
    reach = transit_catchments(study)
    reach = reach[reach["office_id"].isin(found.offices.loc[found.offices["state"] != "not in base",
                                                            "office_id"])]
    st.dataframe(io.labelled_table(reach.assign(name=reach["office_id"].map(names))[
        ["name", *reach.columns[1:]]], lang=lang()), hide_index=True, width="stretch")
    st.caption(study.transit.caveat[lang()] or study.transit.window_label())
    downloads("catchments", "transit_catchments", reach)

st.subheader(t("tables_offices"))
shown = offices.assign(office=offices["office_id"].map(names),
                       nearest=offices["nearest_ward_office_id"].map(names),
                       kind=offices["kind"].map(lambda k: t(f"kind_{k}")),
                       state=offices["state"].map(lambda s: t(f"state_{s}")))
st.dataframe(shown[["office", "kind", "ward", "nearest", "road_km", "straight_km",
                    "candidate", "official_2015", "state"]].rename(columns={
                        "office": t("col_office"), "kind": t("col_kind"),
                        "ward": t("col_ward"), "nearest": t("col_nearest_ward_office"),
                        "road_km": t("col_road_km"), "straight_km": t("col_straight_km"),
                        "candidate": t("col_candidate"),
                        "official_2015": t("col_official_2015"), "state": t("col_state")}),
             hide_index=True, width="stretch")
downloads("offices", "offices", offices)

st.subheader(t("shift_table_heading"))
shift = loadshift.result(choice)
loadshift.controls()
st.caption(" / ".join(loadshift.assumption_lines(shift.fit)))
if shift.shift is None:
    st.error(shift.problem, icon="⚠️")
else:
    st.dataframe(loadshift.readable_table(shift.shift, names), hide_index=True, width="stretch",
                 column_config={t(c): st.column_config.NumberColumn(format="%+.1f")
                                for c in ("col_change_pct",)})
    downloads("load_shift", "load_shift", shift.shift.export_table())
if shift.fit is not None:
    with st.expander(t("shift_fit_table")):
        st.dataframe(loadshift.fit_table(shift).astype({"value": str}), hide_index=True,
                     width="stretch")

st.download_button(
    t("download_workbook"), key="xlsx_all", file_name="madoguchi_scenario.xlsx", mime=XLSX,
    on_click="ignore",
    data=lambda: report.workbook(study, found, lang=lang(), title=report.default_title(
        study, found, lang=lang(), custom=st.session_state["briefing_title"])))
st.caption(t("download_workbook_help"))

st.subheader(t("tables_chart"))
distances = options(study, "fy2015").rule
try:
    counts = demand.load_counts()
except MadoguchiError as error:
    st.info(t("tables_chart_missing") + f" ({error})")
else:
    long = counts.melt(id_vars=["office_id"], value_vars=["fy2011", "fy2012", "fy2013"],
                       var_name="year", value_name="transactions").dropna()
    points = long.merge(distances[["office_id", "road_km", "candidate"]], on="office_id")
    points["office"] = points["office_id"].map(names)
    points["year"] = points["year"].str.replace("fy", "FY")
    chart = alt.Chart(points).mark_point(size=90, filled=True).encode(
        x=alt.X("road_km:Q", title=t("col_road_km") + " → " + t("col_nearest_ward_office")),
        y=alt.Y("transactions:Q", title=t("transactions")),
        color=alt.Color("year:N", title=t("fiscal_year")),
        shape=alt.Shape("candidate:N", title=t("col_candidate")),
        tooltip=["office", "year", "transactions", "road_km"])
    rule = alt.Chart(pd.DataFrame({"x": [5.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x")
    st.altair_chart(chart + rule, width="stretch")
