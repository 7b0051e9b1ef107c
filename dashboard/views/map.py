"""Map page: metric cards, the scenario map (click an office to close it), the load shift of
the closures, most affected zones."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, components, loadshift, mapview, state, vendor_assets
from dashboard.i18n import name_column, t
from geo.layers import NETWORK_FILES

MAP_KEY = "scenario_map"
RETURNED = ["last_object_clicked_tooltip", "last_object_clicked_count"]


@st.fragment
def map_panel(choice: state.Choice) -> None:
    """The map in a fragment: colour choices and clicks rerun only this panel."""
    controls = st.columns([2, 1, 2, 2])
    controls[0].radio(t("colour_by"), state.COLOUR_BY, horizontal=True,
                      format_func=lambda c: t(f"colour_{c}"), **state.bind("colour_by"))
    controls[1].radio(t("threshold"), state.THRESHOLDS_KM, horizontal=True,
                      format_func=lambda k: f"{k} km", **state.bind("threshold_km"))
    controls[2].radio(t("click_action"), ("close", "downgrade"), horizontal=True,
                      format_func=lambda a: t(f"click_{a}"), **state.bind("click_action"))
    controls[3].toggle(t("show_tiles"), **state.bind("show_tiles"))

    table = components.zone_table(choice)
    zones = cache.zones(choice.engine_key, choice.zone_layer)
    offices = cache.office_points(choice.engine_key)
    groups = [
        mapview.zone_group(zones.features, table, colour_by=st.session_state["colour_by"],
                           threshold_km=st.session_state["threshold_km"]),
        mapview.blank_group(zones.features, zones.blank_ids),
        mapview.office_group(offices, base=choice.base, closed=choice.closed,
                             downgraded=choice.downgraded, name_column=name_column()),
    ]
    fmap = mapview.base_map(cache.ward_features(choice.engine_key),
                            cache.store_points(choice.engine_key),
                            show_tiles=st.session_state["show_tiles"],
                            ward_labels=cache.ward_labels(choice.engine_key))
    left, right = st.columns([4, 1])
    with left:
        result = st_folium(fmap, key=MAP_KEY, height=640, use_container_width=True,
                           returned_objects=RETURNED,
                           feature_group_to_add=mapview.localised(groups),
                           layer_control=folium.LayerControl(collapsed=False))
    with right:
        components.legends(st.session_state["colour_by"], st.session_state["threshold_km"],
                           table)
    handle_click(result or {})


def handle_click(result: dict) -> None:
    """Close / downgrade the office whose marker was clicked (once per click)."""
    count = result.get("last_object_clicked_count") or 0
    seen = st.session_state.get("map_clicks_seen", 0)
    if count < seen:  # the map was rebuilt and counts from zero again
        st.session_state["map_clicks_seen"] = seen = 0
    if count <= seen:
        return
    st.session_state["map_clicks_seen"] = count
    office_id = state.office_id_from_text(result.get("last_object_clicked_tooltip"))
    if office_id is not None:
        state.request_toggle(office_id, st.session_state["click_action"])
        st.rerun(scope="app")


choice = state.current()
st.title(t("map_heading"))
if vendor_assets.missing_files():
    st.error(t("vendor_missing"))
if not st.get_option("server.enableStaticServing"):
    st.error(t("static_serving_off"))
summary = components.summary_for(choice)
table = components.zone_table(choice)
components.unreachable_notice(summary, table)
components.metric_cards(summary)
map_panel(choice)
loadshift.panel(choice)
components.most_affected(table)
st.caption(components.sources_line(["wards", "small_areas", "offices",
                                    NETWORK_FILES[choice.network][-1], "stores_osm",
                                    "stores_overture"]))
