"""Map page: metric cards, the scenario map (click an office to close it), the load shift of
the closures, most affected zones."""

from __future__ import annotations

from functools import partial

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, components, loadshift, mapview, state, vendor_assets
from dashboard.i18n import name_column, t
from geo.question import Question
from geo.scenarios import HEADLINE_THRESHOLDS_KM
from geo.study import Result

MAP_KEY = "scenario_map"
RETURNED = ["last_object_clicked", "last_object_clicked_tooltip", "last_object_clicked_count"]


@st.fragment
def map_panel(asked: Question) -> None:
    """The map in a fragment: colour choices and clicks rerun only this panel."""
    controls = st.columns([2, 1, 2, 2])
    transit = asked.mode == "transit"
    state.choose(controls[0].radio, t("colour_by"), "colour_by", state.COLOUR_BY,
                 format_func=lambda c: mapview.colour_label(c, transit=transit), horizontal=True)
    state.choose(controls[1].radio, t("threshold"), "threshold_km", HEADLINE_THRESHOLDS_KM,
                 format_func=lambda k: mapview.threshold_label(k, transit=transit),
                 horizontal=True)
    state.choose(controls[2].radio, t("click_action"), "click_action", ("close", "downgrade"),
                 format_func=lambda a: t(f"click_{a}"), horizontal=True)
    controls[3].toggle(t("show_tiles"), **state.bind("show_tiles"))

    found = cache.result(asked)
    key = state.study_key(asked)
    zones = cache.zone_features(key, asked.zones)
    blank_ids = cache.study(key).blank_ids(asked.store_source)
    offices = office_markers(key, found)
    groups = [
        mapview.zone_group(zones, found.zone_table, colour_by=st.session_state["colour_by"],
                           threshold_km=st.session_state["threshold_km"]),
        mapview.blank_group(zones, blank_ids),
        mapview.office_group(offices, name_column=name_column()),
    ]
    fmap = mapview.base_map(cache.ward_features(key), cache.store_points(key, found.store_source),
                            show_tiles=st.session_state["show_tiles"],
                            ward_labels=cache.ward_labels(key))
    left, right = st.columns([4, 1])
    with left:
        st_folium(fmap, key=MAP_KEY, height=640, use_container_width=True,
                  returned_objects=RETURNED, feature_group_to_add=mapview.localised(groups),
                  layer_control=folium.LayerControl(collapsed=True),
                  on_change=partial(queue_click, offices))
    with right:
        components.legends(st.session_state["colour_by"], st.session_state["threshold_km"],
                           [found], stores=True,
                           blank=bool(blank_ids & set(found.zone_table["zone_id"])))
    if st.session_state["pending_toggles"]:
        st.rerun(scope="app")


def office_markers(key: cache.StudyKey, found: Result) -> pd.DataFrame:
    """``Result.offices`` (with its ``state``) at the markers' WGS84 positions."""
    points = cache.office_points(key)[["office_id", "lat", "lon"]]
    return found.offices.drop(columns="geometry", errors="ignore").merge(points, on="office_id")


def queue_click(offices: pd.DataFrame) -> None:
    """The map's change callback: queue a close / downgrade of the clicked office.

    streamlit-folium reports a new value only when an object is clicked, so each call is a
    click; it counts only when it is on an office marker (``mapview.clicked_office``), so it
    is never applied to another marker. (The map's own click counter cannot tell clicks
    apart: one marker click counts twice, and it restarts whenever the map is redrawn.)
    """
    office_id = mapview.clicked_office(st.session_state.get(MAP_KEY) or {}, offices)
    if office_id is not None:
        state.request_toggle(office_id, st.session_state["click_action"])


asked = state.current()
st.title(t("map_heading_min" if asked.mode == "transit" else "map_heading"))
if vendor_assets.missing_files():
    st.error(t("vendor_missing"))
if not st.get_option("server.enableStaticServing"):
    st.error(t("static_serving_off"))
found = cache.result(asked)
study = cache.study(state.study_key(asked))
components.transit_notice(study)
components.unreachable_notice(found)
st.caption(study.population.notice(st.session_state["lang"]))
components.metric_cards(found.city, mode=asked.mode)
map_panel(asked)
loadshift.panel()
components.most_affected(found.zone_table)
st.caption(components.scenario_sources_line(found))
