"""Map page: metric cards, the scenario map (click an office to close it), the load shift of
the closures, most affected zones."""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, components, loadshift, mapview, state, vendor_assets
from dashboard.i18n import name_column, t
from geo.study import Result

MAP_KEY = "scenario_map"
RETURNED = ["last_object_clicked", "last_object_clicked_tooltip", "last_object_clicked_count"]


@st.fragment
def map_panel(choice: state.Choice) -> None:
    """The map in a fragment: colour choices and clicks rerun only this panel."""
    controls = st.columns([2, 1, 2, 2])
    transit = choice.mode == "transit"
    controls[0].radio(t("colour_by"), state.COLOUR_BY, horizontal=True,
                      format_func=lambda c: mapview.colour_label(c, transit=transit),
                      **state.bind("colour_by"))
    controls[1].radio(t("threshold"), state.THRESHOLDS_KM, horizontal=True,
                      format_func=lambda k: mapview.threshold_label(k, transit=transit),
                      **state.bind("threshold_km"))
    controls[2].radio(t("click_action"), ("close", "downgrade"), horizontal=True,
                      format_func=lambda a: t(f"click_{a}"), **state.bind("click_action"))
    controls[3].toggle(t("show_tiles"), **state.bind("show_tiles"))

    found = components.result(choice)
    zones = cache.zone_features(choice.study_key, choice.zone_layer)
    blank_ids = cache.study(choice.study_key).blank_ids[choice.store_source]
    offices = office_markers(choice, found)
    groups = [
        mapview.zone_group(zones, found.zone_table, colour_by=st.session_state["colour_by"],
                           threshold_km=st.session_state["threshold_km"]),
        mapview.blank_group(zones, blank_ids),
        mapview.office_group(offices, name_column=name_column()),
    ]
    fmap = mapview.base_map(cache.ward_features(choice.study_key),
                            cache.store_points(choice.study_key, choice.store_source),
                            show_tiles=st.session_state["show_tiles"],
                            ward_labels=cache.ward_labels(choice.study_key))
    left, right = st.columns([4, 1])
    with left:
        clicked = st_folium(fmap, key=MAP_KEY, height=640, use_container_width=True,
                            returned_objects=RETURNED,
                            feature_group_to_add=mapview.localised(groups),
                            layer_control=folium.LayerControl(collapsed=True))
    with right:
        components.legends(st.session_state["colour_by"], st.session_state["threshold_km"],
                           [found], stores=True,
                           blank=bool(blank_ids & set(found.zone_table["zone_id"])))
    if handle_click(clicked or {}, offices) or "clicks_missed" in st.session_state:
        st.rerun(scope="app")


def office_markers(choice: state.Choice, found: Result) -> pd.DataFrame:
    """``Result.offices`` (with its ``state``) at the markers' WGS84 positions."""
    points = cache.office_points(choice.study_key)[["office_id", "lat", "lon"]]
    return found.offices.drop(columns="geometry", errors="ignore").merge(points, on="office_id")


def handle_click(clicked: dict, offices: pd.DataFrame) -> bool:
    """Queue a close / downgrade of the office whose marker was clicked (once per click).

    A click counts only when it is on an office marker (``mapview.clicked_office``), so it is
    never applied to another marker. Clicks arriving while the app updates queue up
    (``state.request_toggle``); the map returns only the last of clicks made faster than it
    reports them, and the planner is told how many did not arrive. Returns True when a
    toggle was queued.
    """
    count = clicked.get("last_object_clicked_count") or 0
    seen = st.session_state.get("map_clicks_seen", 0)
    if count < seen:  # the map was rebuilt and counts from zero again
        st.session_state["map_clicks_seen"] = seen = 0
    if count <= seen:
        return False
    st.session_state["map_clicks_seen"] = count
    if count - seen > 1:
        st.session_state["clicks_missed"] = count - seen
    office_id = mapview.clicked_office(clicked, offices)
    if office_id is None:
        return False
    state.request_toggle(office_id, st.session_state["click_action"])
    return True


choice = state.current()
st.title(t("map_heading_min" if choice.mode == "transit" else "map_heading"))
if vendor_assets.missing_files():
    st.error(t("vendor_missing"))
if not st.get_option("server.enableStaticServing"):
    st.error(t("static_serving_off"))
found = components.result(choice)
components.unreachable_notice(found)
st.caption(cache.study(choice.study_key).population.notice(st.session_state["lang"]))
components.metric_cards(found.city, mode=choice.mode)
map_panel(choice)
loadshift.panel()
components.most_affected(found.zone_table)
st.caption(components.scenario_sources_line(choice))
