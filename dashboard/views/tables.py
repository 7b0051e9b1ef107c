"""Tables and downloads: city figures, per zone, per office, load shift; traffic vs distance
chart.

Every table is shown as its files have it: headed, worded and rounded by ``geo.labels`` in the
interface language (the council workbook's vocabulary), numbers as numbers.
"""

from __future__ import annotations

from functools import partial

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import cache, components, loadshift, state
from dashboard.i18n import lang, t
from geo import io, labels, provenance, report
from geo.reorganisation import RULE_THRESHOLD_KM
from geo.study import Study, options, transit_catchments
from geo.zones import with_results

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

asked = state.current()
study = cache.study(state.study_key(asked))
found = cache.result(asked)
language = lang()
names = components.office_name(study.engine.offices)
sources = provenance.scenario_sources(measure=asked.measure, store_source=found.store_source,
                              zones=asked.zones, network=asked.network,
                              timetables=study.transit_sources)
description = provenance.describe_scenario(asked.scenario, measure=asked.measure,
                                   store_source=found.store_source, offices=study.engine.offices,
                                   lang=language)


def zones_geojson(study: Study, zones: str, table: pd.DataFrame) -> bytes:
    """The zone polygons with the table's columns (codes, for a GIS)."""
    return io.to_geojson_bytes(with_results(study.zones[zones], table))


def show(table: pd.DataFrame) -> None:
    """A table as its files have it (``geo.labels.labelled_table`` in the interface language)."""
    components.show_table(labels.labelled_table(table, lang=language))


def downloads(sheet: str, stem: str, table: pd.DataFrame, *, geojson=None) -> None:
    """CSV and Excel of ``table`` as shown, and GeoJSON (``geojson``: a function making it)."""
    columns = st.columns(3)
    components.download(columns[0], t("download_csv"),
                        partial(io.to_csv_bytes, table, lang=language),
                        file_name=f"{stem}.csv", mime="text/csv", key=f"csv_{stem}")
    components.download(columns[1], t("download_excel"),
                        partial(io.to_excel_bytes, {sheet: table},
                                scenario_description=description, sources=sources,
                                lang=language),
                        file_name=f"{stem}.xlsx", mime=XLSX, key=f"xlsx_{stem}")
    if geojson is not None:
        components.download(columns[2], t("download_geojson"), geojson,
                            file_name=f"{stem}.geojson", mime="application/geo+json",
                            key=f"geojson_{stem}")


st.title(t("page_tables"))
index = labels.language_index(language)

st.subheader(t("tables_summary"))
city = labels.figures_table(found.city, lang=language)
show(city)
downloads(report.SHEETS["city"][index], "city_summary", city)

st.subheader(t("tables_zones") + f"（{t(f'zone_{asked.zones}')}）")
show(found.zone_table)
downloads(report.SHEETS[asked.zones][index], f"zones_{asked.zones}",
          found.zone_table,
          geojson=partial(zones_geojson, study, asked.zones, found.zone_table))

if study.transit is not None:
    st.subheader(t("tables_catchments"))
    reach = transit_catchments(study)
    reach = reach[reach["office_id"].isin(found.offices.loc[found.offices["state"] != "not in base",
                                                            "office_id"])]
    reach = reach.assign(name=reach["office_id"].map(names))[["name", *reach.columns[1:]]]
    show(reach)
    st.caption(study.transit.caveat[language] or study.transit.window_label(language))
    downloads("catchments", "transit_catchments", reach)

st.subheader(t("tables_offices"))
offices = report.office_table(study, found, lang=language)
show(offices)
downloads(report.SHEETS["offices"][index], "offices", offices)

st.subheader(t("shift_table_heading"))
shift = loadshift.result(asked)
loadshift.controls()
st.caption(" / ".join(loadshift.assumption_lines(shift.fit)))
if shift.shift is None:
    st.error(shift.problem, icon="⚠️")
else:
    shift_table = report.load_shift_table(found, lang=language)
    show(shift_table)
    downloads(report.SHEETS["load_shift"][index], "load_shift", shift_table)
if shift.fit is not None:
    with st.expander(t("shift_fit_table")):
        components.show_table(loadshift.fit_table(shift))

title = report.default_title(study, found, lang=language,
                             custom=st.session_state["briefing_title"])
components.download(st, t("download_workbook"),
                    partial(report.workbook, study, found, lang=language, title=title),
                    file_name="madoguchi_scenario.xlsx", mime=XLSX, key="xlsx_all")
st.caption(t("download_workbook_help"))

st.subheader(t("tables_chart"))
distances = options(study, "fy2015").rule
counts = study.counts.get(asked.reading)
if counts is None:
    st.info(t("tables_chart_missing"))
else:
    long = counts.melt(id_vars=["office_id"], value_vars=["fy2011", "fy2012", "fy2013"],
                       var_name="year", value_name="transactions").dropna()
    points = long.merge(distances[["office_id", "road_km", "candidate"]], on="office_id")
    points["office"] = points["office_id"].map(names)
    points["year"] = points["year"].str.replace("fy", "FY")
    chart = alt.Chart(points).mark_point(size=90, filled=True).encode(
        x=alt.X("road_km:Q", title=labels.column_label("road_km_to_ward_office", language)),
        y=alt.Y("transactions:Q", title=t("transactions")),
        color=alt.Color("year:N", title=t("fiscal_year")),
        shape=alt.Shape("candidate:N", title=labels.column_label("candidate", language)),
        tooltip=["office", "year", "transactions", "road_km"])
    rule = alt.Chart(pd.DataFrame({"x": [RULE_THRESHOLD_KM]})).mark_rule(
        strokeDash=[4, 4]).encode(x="x")
    st.altair_chart(chart + rule, width="stretch")
