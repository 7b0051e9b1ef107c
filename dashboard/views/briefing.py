"""Briefing view for a projector: title, before / after maps, three key figures, the load shift
of the closures, downloads."""

from __future__ import annotations

import html

import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, components, loadshift, mapview, state
from dashboard.i18n import lang, name_column, t
from geo import briefing
from geo.layers import NETWORK_FILES
from geo.study import Result
from geo.zones import with_results

SOURCES = ["wards", "small_areas", "attendance_zones", "offices",
           NETWORK_FILES[state.current().network][-1]]


def default_title(choice: state.Choice) -> str:
    return t("briefing_title_default", preset=t(f"short_{st.session_state['preset']}"),
             closed=len(choice.closed), downgraded=len(choice.downgraded))


def key_figures(summary: dict, lang: str) -> dict[str, str]:
    """The three headline figures, as on the page and in the PNG / PDF (geo.briefing)."""
    return briefing.key_figures(summary, threshold_km=2.0, lang=lang)


def figure_cards(figures: dict[str, str]) -> None:
    for column, (label, value) in zip(st.columns(len(figures)), figures.items(), strict=True):
        column.html(
            f'<div style="border:1px solid #ccc;border-radius:8px;padding:12px 16px">'
            f'<div style="font-size:1.1rem;color:#444">{html.escape(label)}</div>'
            f'<div style="font-size:2.4rem;font-weight:700;line-height:1.2">'
            f'{html.escape(value)}</div></div>')


def side_map(choice: state.Choice, found: Result, *, colour_by: str, key: str) -> None:
    """One briefing map: zones of ``found`` coloured by ``colour_by``, its offices' states."""
    zones = cache.zone_features(choice.study_key, choice.zone_layer)
    points = cache.office_points(choice.study_key)[["office_id", "lat", "lon"]]
    offices = found.offices.drop(columns="geometry", errors="ignore").merge(points, on="office_id")
    groups = [mapview.zone_group(zones, found.zone_table, colour_by=colour_by, threshold_km=2),
              mapview.office_group(offices, name_column=name_column())]
    fmap = mapview.base_map(cache.ward_features(choice.study_key),
                            cache.store_points(choice.study_key, choice.store_source).iloc[0:0],
                            show_tiles=False, ward_labels=cache.ward_labels(choice.study_key))
    st_folium(fmap, key=key, height=520, use_container_width=True, returned_objects=[],
              feature_group_to_add=mapview.localised(groups))


@st.cache_data(show_spinner=False, max_entries=32)
def render(choice: state.Choice, title: str, layout: str, fmt: str,
           notes: tuple[str, ...], lang: str) -> bytes:
    """PNG / PDF bytes from geo.briefing.render_briefing (cached per scenario, title, notes)."""
    study = cache.study(choice.study_key)
    found = components.result(choice)
    zones = with_results(study.zones[choice.zone_layer], found.zone_table)
    return briefing.render_briefing(
        zones, study.engine.wards, briefing.mark_offices(study.engine.offices, choice.scenario),
        title=title, figures=key_figures(found.city, lang), format=fmt,
        layout=layout, lang=lang,
        sources=SOURCES,
        subtitle=f"{t(f'measure_{choice.measure}')} / {t(f'zone_{choice.zone_layer}')}",
        notes=notes)


def load_shift_notes(receivers: dict[str, str]) -> tuple[str, ...]:
    """The top receiving counters and the store-share assumption, for the PNG / PDF page."""
    if not receivers:
        return ()
    return (t("shift_briefing_heading"), *(f"{name} {value}" for name, value in receivers.items()),
            t("shift_assume_store", pct=st.session_state["store_share_pct"]))


choice = state.current()
found = components.result(choice)
table = found.zone_table

title = st.text_input(t("briefing_title"), value=default_title(choice))
layout = st.radio("layout", ("side-by-side", "change"), horizontal=True,
                  label_visibility="collapsed", **state.bind("briefing_layout"),
                  format_func=lambda v: f"{t('briefing_before')} / {t('briefing_after')}"
                  if v == "side-by-side" else t("colour_change"))
st.markdown("# " + components.plain_markdown(title))
components.unreachable_notice(found)
figure_cards(key_figures(found.city, lang()))
names = components.office_name(cache.study(choice.study_key).engine.offices)
shift = loadshift.result(choice)
receivers = {}
if loadshift.has_changes(choice):
    if shift.shift is None:
        st.warning(shift.problem, icon="⚠️")
    elif receivers := loadshift.receiver_figures(shift.shift, names):
        st.markdown(f"#### {t('shift_briefing_heading')}")
        figure_cards(receivers)
        st.caption(" / ".join(loadshift.assumption_lines(shift.fit)))

if layout == "side-by-side":
    left, right = st.columns(2)
    with left:
        st.subheader(t("briefing_before"))
        side_map(choice, cache.result(choice.result_key(after=False)), colour_by="before",
                 key="briefing_before")
    with right:
        st.subheader(t("briefing_after"))
        side_map(choice, found, colour_by="after", key="briefing_after")
    legend_by = "after"
else:
    side_map(choice, found, colour_by="change", key="briefing_change")
    legend_by = "change"
legend_left, legend_right = st.columns(2)
_, scale = mapview.zone_values(table, legend_by, 2)
legend_left.html(mapview.legend_html(mapview.legend_rows(scale), t(f"colour_{legend_by}")))
legend_right.html(mapview.office_legend_html(lambda kind: t(f"kind_{kind}")))
st.caption(components.sources_line(SOURCES))

notes = load_shift_notes(receivers)
stem = f"briefing_{choice.base}_{len(choice.closed)}closed"
for column, (fmt, mime) in zip(st.columns(2), (("png", "image/png"), ("pdf", "application/pdf")),
                               strict=True):
    def briefing_file(fmt: str = fmt) -> bytes:
        return render(choice, title, layout, fmt, notes, lang())

    column.download_button(t(f"briefing_download_{fmt}"), file_name=f"{stem}.{fmt}", mime=mime,
                           on_click="ignore", data=briefing_file)
