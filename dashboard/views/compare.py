"""Compare page: 2-4 scenarios (current, presets, saved) side by side, the districts that
differ most, the built-in FY2015 -> today comparison, and the plan's phases with their
editor."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, compare, components, mapview, phase_editor, saved_panel, state
from dashboard.i18n import lang, name_column, t
from geo.errors import MadoguchiError
from geo.labels import column_label
from geo.question import Question
from geo.scenarios import HEADLINE_THRESHOLDS_KM
from geo.study import Result, options

MAX_COMPARED = 4
MAP_COLOUR = "after"
THRESHOLD_KM = HEADLINE_THRESHOLDS_KM[0]
MAP_HEIGHT = 380
# FY2015 -> today: what the reorganisation actually did
BUILT_IN = ["preset:fy2015", "preset:reorganisation"]


def candidates(asked: Question) -> tuple[dict[str, compare.Candidate], dict[str, str]]:
    """Every scenario that can be compared, by key, and its label."""
    found = {"current": compare.current(asked)}
    labels = {"current": t("compare_current")}
    for name, chosen in options(cache.study(state.study_key(asked)), asked.base).presets.items():
        found[f"preset:{name}"] = compare.preset(asked, name, chosen.question)
        labels[f"preset:{name}"] = t(f"preset_{name}")
    try:
        listed = saved_panel.store().list()
    except MadoguchiError as error:
        st.error(components.md("saved_failed", error=error))
        listed = []
    for item in listed:
        candidate = compare.from_saved(item.scenario)
        found[candidate.key] = candidate
        labels[candidate.key] = f"{item.scenario.name} (v{item.version})"
    return found, labels


def use_built_in() -> None:
    st.session_state["compare_chosen"] = list(BUILT_IN)


def figure_columns() -> dict[str, str]:
    """The compared figures' headings (their units in words)."""
    return {name: t(f"figure_{name}") for name in compare.FIGURES}


def small_maps(results: dict[str, Result]) -> None:
    """One map per scenario, zones coloured by the distance after on one shared scale."""
    if len({found.question.mode for found in results.values()}) > 1:
        st.caption(t("compare_maps_modes"))
        return
    st.subheader(t("compare_maps"))
    for number, (column, (label, found)) in enumerate(zip(st.columns(len(results)),
                                                          results.items(), strict=True)):
        key = state.study_key(found.question)
        offices = found.offices.drop(columns="geometry", errors="ignore").merge(
            cache.office_points(key)[["office_id", "lat", "lon"]], on="office_id")
        groups = [mapview.zone_group(cache.zone_features(key, compare.ZONES), found.zone_table,
                                     colour_by=MAP_COLOUR, threshold_km=THRESHOLD_KM),
                  mapview.office_group(offices, name_column=name_column())]
        fmap = mapview.base_map(cache.ward_features(key),
                                cache.store_points(key, found.store_source), show_tiles=False,
                                ward_labels=cache.ward_labels(key))
        with column:
            st.markdown(f"**{components.plain_markdown(label)}**")
            st_folium(fmap, key=f"compare_map_{number}", height=MAP_HEIGHT,
                      use_container_width=True, returned_objects=[],
                      feature_group_to_add=mapview.localised(groups))
    components.legends(MAP_COLOUR, THRESHOLD_KM, list(results.values()), stores=True,
                       blank=False)


def phases_section(asked: Question) -> None:
    """The plan's phases (named after the opened scenario): timeline, table, then editor."""
    opened = st.session_state.get(saved_panel.OPENED)
    st.subheader(t("phases_heading_unsaved") if opened is None
                 else components.md("phases_heading", name=opened.scenario.name))
    if st.session_state["phases"]:
        phase_timeline(asked)
    names = components.office_name(cache.study(state.study_key(asked)).engine.offices)
    phase_editor.editor(names)


def phase_timeline(asked: Question) -> None:
    """Chart and table of the figures of each of the plan's phases."""
    try:
        table = compare.phase_table(saved_panel.current_scenario())
    except ValueError as error:  # MadoguchiError, or a store layer the data lacks
        st.error(components.md("compare_failed", error=error))
        return
    long = table.melt(id_vars=["date", "label"], value_vars=list(compare.PEOPLE_FIGURES),
                      var_name="figure", value_name="people").dropna(subset=["people"])
    long["figure"] = long["figure"].map(lambda name: t(f"figure_{name}"))
    long["date"] = pd.to_datetime(long["date"])
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("date:T", title=t("phases_date"),
                axis=alt.Axis(format=t("phases_month_format"), labelAngle=0)),
        y=alt.Y("people:Q", title=t("people")),
        color=alt.Color("figure:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["label", "figure", alt.Tooltip("people:Q", format=",.0f")])
    st.altair_chart(chart, width="stretch")
    names = components.office_name(cache.study(state.study_key(asked)).engine.offices)
    phases = st.session_state["phases"]
    table.insert(2, "closed", ["、".join(names(o) for o in sorted(p.closed)) for p in phases])
    table.insert(3, "downgraded", ["、".join(names(o) for o in sorted(p.downgraded))
                                   for p in phases])
    components.show_table(table, column_config={
        "date": t("phases_date"), "label": t("phases_label"), "closed": t("closed"),
        "downgraded": t("downgraded"), **figure_columns()})


asked = state.current()
st.title(t("compare_heading"))
found, labels = candidates(asked)
st.session_state.setdefault("compare_chosen", [*BUILT_IN, "current"])
st.session_state["compare_chosen"] = [k for k in st.session_state["compare_chosen"] if k in found]
st.button(t("compare_built_in"), on_click=use_built_in)
state.choose(st.multiselect, t("compare_pick"), "compare_chosen", list(found),
             format_func=lambda key: labels[key], max_selections=MAX_COMPARED,
             placeholder=t("compare_placeholder"), select_all=False)
chosen = st.session_state["compare_chosen"]
if len(chosen) < 2:
    st.info(t("compare_need_two"))
else:
    results = {}
    for key in chosen:
        try:
            results[labels[key]] = cache.result(found[key].question)
        except ValueError as error:  # MadoguchiError: a question this data cannot answer
            st.error(components.md("compare_failed_one", scenario=labels[key], error=error))
    if len(results) >= 2:
        st.dataframe(compare.figure_table(results).style.format(components.cell_text),
                     column_config=figure_columns())
        st.caption(t("compare_figures_note"))
        st.subheader(t("compare_districts"))
        differing = compare.differing_districts(results)
        components.show_table(differing.drop(columns="zone_id"), column_config={
            "zone_name": column_label("zone_name", lang()),
            "ward": column_label("ward", lang()), "spread_km": t("compare_spread")})
        small_maps(results)
phases_section(asked)
st.caption(components.sources_line(["wards", "small_areas", "attendance_zones", "offices",
                                    "mesh"]))
