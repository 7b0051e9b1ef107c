"""Briefing view for a projector: title, before / after maps, three key figures, the load shift
of the closures, downloads."""

from __future__ import annotations

import html
from functools import partial

import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, components, loadshift, mapview, state
from dashboard.i18n import lang, name_column, t
from geo import briefing, report
from geo.colours import in_minutes
from geo.question import Question
from geo.scenarios import HEADLINE_THRESHOLDS_KM
from geo.study import Result


def figure_cards(figures: dict[str, str]) -> None:
    for column, (label, value) in zip(st.columns(len(figures)), figures.items(), strict=True):
        column.html(
            f'<div style="border:1px solid #ccc;border-radius:8px;padding:12px 16px">'
            f'<div style="font-size:1.15rem;color:#444">{html.escape(label)}</div>'
            f'<div style="font-size:2.4rem;font-weight:700;line-height:1.2">'
            f'{html.escape(value)}</div></div>')


def side_map(found: Result, *, colour_by: str, key: str, height: int = 520) -> None:
    """One briefing map: zones of ``found`` coloured by ``colour_by``, its offices' states."""
    study_key = state.study_key(found.question)
    zones = cache.zone_features(study_key, found.zones)
    points = cache.office_points(study_key)[["office_id", "lat", "lon"]]
    offices = found.offices.drop(columns="geometry", errors="ignore").merge(points, on="office_id")
    groups = [mapview.zone_group(zones, found.zone_table, colour_by=colour_by,
                                 threshold_km=THRESHOLD_KM),
              mapview.office_group(offices, name_column=name_column())]
    fmap = mapview.base_map(cache.ward_features(study_key),
                            cache.store_points(study_key, found.store_source).iloc[0:0],
                            show_tiles=False, ward_labels=cache.ward_labels(study_key))
    st_folium(fmap, key=key, height=height, use_container_width=True, returned_objects=[],
              feature_group_to_add=mapview.localised(groups))


THRESHOLD_KM = HEADLINE_THRESHOLDS_KM[0]  # the briefing's figures and maps: beyond 2 km


@st.cache_data(show_spinner=False, max_entries=32)
def render(asked: Question, title: str, fmt: str, lang: str, layout: str) -> bytes:
    """The slide (PNG / PDF) or the A4 handout (``handout``), the same files as
    ``python -m geo report`` (geo.report), cached per scenario, title and language."""
    study = cache.study(state.study_key(asked))
    found = cache.result(asked)
    if fmt == "handout":
        return report.handout(study, found, title=title, lang=lang)
    if fmt == "residents":
        return report.residents_handout(study, found, title=title, lang=lang)
    if fmt == "leaflets":
        return report.district_leaflets(study, found, title=title, lang=lang)
    return report.slide(study, found, title=title, lang=lang, format=fmt, layout=layout)


asked = state.current()
found = cache.result(asked)
table = found.zone_table

study = cache.study(state.study_key(asked))
transit = in_minutes(table)
present = st.toggle(t("briefing_present"), help=t("briefing_present_help"),
                    **state.bind("briefing_present"))
if present:  # the projector's first screen: no sidebar, no header, no settings
    st.html("<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'],"
            " header {display: none !important;}"
            " .block-container {padding-top: 0.5rem !important;}</style>")
else:
    automatic = report.default_title(study, found, lang=lang())
    st.text_input(t("briefing_title"), placeholder=automatic, help=t("briefing_title_help"),
                  **state.bind("briefing_title"))
    state.choose(st.radio, "layout", "briefing_layout", ("side-by-side", "change"),
                 horizontal=True, label_visibility="collapsed",
                 format_func=lambda v: f"{t('briefing_before')} / {t('briefing_after')}"
                 if v == "side-by-side" else mapview.colour_label("change", transit=transit))
layout = st.session_state["briefing_layout"]
title = report.default_title(study, found, lang=lang(), custom=st.session_state["briefing_title"])
st.markdown(("## " if present else "# ") + components.plain_markdown(title))
components.transit_notice(study)
components.unreachable_notice(found)
figure_cards(briefing.key_figures(found.city, threshold_km=THRESHOLD_KM, lang=lang()))
names = components.office_name(study.engine.offices)


def receiving_counters() -> None:
    """Where the closed counters' traffic goes (after the maps in presentation mode)."""
    shift = loadshift.result(asked)
    if not loadshift.has_changes(asked):
        return
    if shift.shift is None:
        st.warning(shift.problem, icon="⚠️")
    elif receivers := loadshift.receiver_figures(shift.shift, names):
        st.markdown(f"#### {t('shift_briefing_heading')}")
        figure_cards(receivers)
        st.caption(" / ".join(loadshift.assumption_lines(shift.fit)))


if not present:
    receiving_counters()

map_height = 600 if present else 520
# projected, the legend stands beside the maps (below them it fell off a 1920x1080 screen)
widths = [5, 5] if layout == "side-by-side" else [10]
places = st.columns([*widths, 2] if present else widths)
if layout == "side-by-side":
    before = cache.result(asked.baseline)
    with places[0]:
        st.subheader(t("briefing_before"))
        side_map(before, colour_by="before", key="briefing_before", height=map_height)
    with places[1]:
        st.subheader(t("briefing_after"))
        side_map(found, colour_by="after", key="briefing_after", height=map_height)
    legend_by, drawn = "after", [before, found]
else:
    with places[0]:
        side_map(found, colour_by="change", key="briefing_change", height=map_height)
    legend_by, drawn = "change", [found]
if present:
    with places[-1]:
        components.legends(legend_by, THRESHOLD_KM, drawn, stores=False, blank=False,
                           projected=True)
    receiving_counters()
else:
    components.legends(legend_by, THRESHOLD_KM, drawn, stores=False, blank=False,
                       side_by_side=True)
st.caption(components.scenario_sources_line(found))

stem = f"briefing_{asked.base}_{len(asked.closed)}closed"
files = [("png", f"{stem}.png", "image/png"), ("pdf", f"{stem}.pdf", "application/pdf"),
         ("handout", f"{stem}_handout_A4.pdf", "application/pdf"),
         ("residents", f"{stem}_residents.pdf", "application/pdf")]
try:  # one leaflet page per school district whose counter changes or gets farther
    report.leaflet_districts(study, found)
    files.append(("leaflets", f"{stem}_leaflets.pdf", "application/pdf"))
except ValueError:  # not by district, or no district affected: no leaflet to print
    pass
for column, (fmt, name, mime) in zip(st.columns(3) + st.columns(3), files, strict=False):
    components.download(column, t(f"briefing_download_{fmt}"),
                        partial(render, asked, title, fmt, lang(), layout),
                        file_name=name, mime=mime, key=f"briefing_{fmt}")
