"""madoguchi dashboard: entry point, shared sidebar, session-state defaults and page routing.

Run with ``python -m dashboard`` (MADOGUCHI_DATA pointing at the data bundle), which passes
the safe server settings to ``streamlit run dashboard/app.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

try:
    import dashboard  # noqa: F401  (installed with the project)
except ImportError:  # running from a source tree that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dashboard import cache, dataerror, saved_panel, state
from dashboard.components import BuildProgress, md, office_name, page_language, served_on
from dashboard.i18n import LANGUAGES, t
from geo.engine import MLIT_DEFECT
from geo.errors import MadoguchiError
from geo.study import options

VIEWS = Path(__file__).resolve().parent / "views"
CAPTION_COLOUR = "#4a4d57"

# No page_icon: a Material icon favicon would be fetched from fonts.gstatic.com (offline!).
st.set_page_config(page_title="窓口カバー状況 / madoguchi", layout="wide")
# Card labels and values wrap instead of being cut ("400,0…"), and values shrink with the
# window, so they stay readable from 1024x768 to 1920x1080.
st.html("<style>"
        "[data-testid='stMetricLabel'] *, [data-testid='stMetricValue'] * "
        "{white-space: normal !important; overflow: visible !important;"
        " text-overflow: clip !important;}"
        "[data-testid='stMetricValue'] {font-size: clamp(1.05rem, 1.8vw, 2.25rem) !important;}"
        # captions dark enough to read: 8.4:1 on white. Streamlit draws a caption in the text
        # colour at 60 % opacity (3.8:1); this colour at that opacity read 3.0:1
        f"[data-testid='stCaptionContainer'] {{color: {CAPTION_COLOUR} !important;"
        " opacity: 1 !important;}"
        # an HTML element holding only a script (the page's language) takes no room
        "[data-testid='stElementContainer']:has(> [data-testid='stHtml'] > script:only-child)"
        " {display: none;}"
        "</style>")
state.init_defaults()
saved_panel.open_from_url()

with st.sidebar:
    st.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang",
             horizontal=True)
    page_language()
    st.caption(served_on())

try:
    with st.spinner(t("loading_engine")):
        state.init_store_source()
        progress = BuildProgress(st.empty())
        study = cache.study_showing_progress(state.study_key(), progress)
        progress.finish()
except (MadoguchiError, OSError) as error:
    dataerror.remember(error)
    page = st.navigation([st.Page(VIEWS / "missing.py", title=t("page_missing"),
                                  url_path="missing")])
    page.run()
    st.stop()

st.session_state.pop("data_error", None)

asked = state.current()
choices = options(study, asked.base)
toggled = state.apply_map_offices(choices.closable, choices.downgradable)
asked = state.current()
st.session_state["question"] = asked.replace(  # offices the base set holds (a saved record,
    closed=asked.closed & set(choices.closable),  # a link or a base switch may name others)
    downgraded=asked.downgraded & set(choices.downgradable))
names = office_name(study.engine.offices)
for office_id in toggled:
    st.toast(md("click_applied", office=names(office_id)))

with st.sidebar:
    st.subheader(t("sidebar_scenario"))
    state.choose(st.selectbox, t("preset"), "preset", state.PRESETS,
                 format_func=lambda p: t(f"preset_{p}"), then=state.apply_preset)
    state.choose(st.multiselect, t("closed"), "closed", choices.closable, format_func=names,
                 **state.pick_offices())
    state.choose(st.multiselect, t("downgraded"), "downgraded",
                 [o for o in choices.downgradable if o not in state.current().closed],
                 format_func=names, **state.pick_offices())
    state.choose(st.radio, t("measure"), "measure", state.MEASURES,
                 format_func=lambda m: t(f"measure_{m}"))
    state.choose(st.selectbox, t("zone_layer"), "zones", list(study.zones),
                 format_func=lambda z: t(f"zone_{z}"))
    state.choose(st.selectbox, t("store_source"), "store_source", study.store_sources,
                 format_func=lambda s: t(f"store_{s}"))
    state.choose(st.selectbox, t("network"), "network", state.NETWORKS,
                 format_func=lambda n: t(f"network_{n}"))
    state.choose(st.radio, t("mode"), "mode", state.MODES,
                 format_func=lambda m: t(f"mode_{m}"), horizontal=True)
    if state.current().network == "mlit":
        st.warning(MLIT_DEFECT[st.session_state["lang"]])
    if state.current().mode in ("walk", "transit"):
        st.caption(t("walk_caveat"))
    saved_panel.panel()

page = st.navigation([
    st.Page(VIEWS / "map.py", title=t("page_map"), url_path="map", default=True),
    st.Page(VIEWS / "briefing.py", title=t("page_briefing"), url_path="briefing"),
    st.Page(VIEWS / "tables.py", title=t("page_tables"), url_path="tables"),
    st.Page(VIEWS / "suggest.py", title=t("page_suggest"), url_path="suggest"),
    st.Page(VIEWS / "compare.py", title=t("page_compare"), url_path="compare"),
    st.Page(VIEWS / "sources.py", title=t("page_sources"), url_path="sources"),
])
shown = st.empty()
try:
    with shown.container():
        page.run()
except (MadoguchiError, OSError) as error:  # a layer only one page reads, e.g. other stores
    dataerror.remember(error)
    with shown.container():
        dataerror.explain(str(error), missing=st.session_state["data_error_missing"])
