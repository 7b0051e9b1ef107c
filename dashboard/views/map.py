"""Map page: metric cards, the instant map (click an office to close it: answered in the
browser, confirmed by the server), the load shift of the closures, most affected zones."""

from __future__ import annotations

import streamlit as st

from dashboard import cache, components, instant_map, loadshift, mapview, state, vendor_assets
from dashboard.i18n import t
from geo.scenarios import HEADLINE_THRESHOLDS_KM

MAP_KEY = "instant_map"


def map_panel() -> None:
    """The colouring controls, the instant map of the session's question and its legend."""
    asked = state.current()
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
    blank_ids = cache.study(key).blank_ids(asked.store_source)
    left, right = st.columns([4, 1])
    with left:
        instant_map.draw(found, key, colour_by=st.session_state["colour_by"],
                         threshold_km=st.session_state["threshold_km"],
                         click_action=st.session_state["click_action"],
                         show_tiles=st.session_state["show_tiles"],
                         applied_seq=st.session_state["map_applied_seq"], blank_ids=blank_ids,
                         widget_key=MAP_KEY, on_change=report_offices)
    with right:
        components.legends(st.session_state["colour_by"], st.session_state["threshold_km"],
                           [found], stores=True,
                           blank=bool(blank_ids & set(found.zone_table["zone_id"])))


def report_offices() -> None:
    """The map's change callback: the office set after its clicks, applied by the app
    before the sidebar is drawn (``dashboard.state.apply_map_offices``)."""
    state.request_offices(st.session_state.get(MAP_KEY))


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
map_panel()
loadshift.panel()
components.most_affected(found.zone_table)
st.caption(components.scenario_sources_line(found))
