"""Session-state defaults, the planner's question, office-set presets and widget binding.

The question the dashboard shows is one ``geo.question.Question`` in session state
(``question``); the sidebar's widgets edit its fields (``bind``), presets and map clicks
replace its office set, a saved scenario or a link replaces it whole. Everything else in
session state is how the planner looks at it (language, colouring, page choices).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from geo import engine, layers, question, reorganisation, scenarios
from geo.errors import QuestionError
from geo.question import Question

from . import cache
from .i18n import t

logger = logging.getLogger(__name__)

PRESETS = reorganisation.PRESETS
NETWORKS = engine.NETWORKS
MODES = question.MODES
MEASURES = scenarios.MEASURES
COLOUR_BY = ("after", "before", "change", "beyond")

DEFAULTS = {
    "lang": "ja",
    "question": question.DEFAULT,
    "preset": "fy2015",
    "colour_by": "change",
    "threshold_km": scenarios.HEADLINE_THRESHOLDS_KM[0],
    "click_action": "close",
    "show_tiles": False,
    "briefing_layout": "side-by-side",
    "map_applied_seq": 0,  # the instant map's last report applied to the question
    "briefing_title": "",  # typed by the planner; empty: the title follows the scenario
    "briefing_present": False,
    "phases": (),  # the plan's dated steps (geo.saved.Phase), edited on the 比較 page
}

Reader = Callable[[Question], Any]
Writer = Callable[[Question, Any], Question]


def _field(name: str) -> tuple[Reader, Writer]:
    return (lambda asked: getattr(asked, name),
            lambda asked, value: asked.replace(**{name: value}))


QUESTION_WIDGETS: dict[str, tuple[Reader, Writer]] = {
    "closed": (lambda q: sorted(q.closed),
               lambda q, v: q.replace(closed=v, downgraded=q.downgraded - set(v))),
    "downgraded": (lambda q: sorted(q.downgraded),
                   lambda q, v: q.replace(downgraded=v, closed=q.closed - set(v))),
    "store_share_pct": (lambda q: round(100 * q.store_share),
                        lambda q, v: q.replace(store_share=v / 100)),
    **{name: _field(name)
       for name in ("measure", "zones", "store_source", "network", "mode", "reading")},
}
"""Widget name -> how it reads the question and how it writes it back (a percentage for
the store share; closing a downgraded office, or the other way, moves it)."""


def current() -> Question:
    """The question the dashboard shows."""
    return st.session_state["question"]


def study_key(asked: Question | None = None) -> cache.StudyKey:
    """The study a question is answered on (default the dashboard's)."""
    asked = asked or current()
    return cache.StudyKey(cache.data_dir(), asked.network, asked.mode)


def _read(name: str) -> Any:
    if name in QUESTION_WIDGETS:
        return QUESTION_WIDGETS[name][0](current())
    return st.session_state[name]


def _write(name: str, value: Any) -> None:
    if name not in QUESTION_WIDGETS:
        st.session_state[name] = value
        return
    try:
        st.session_state["question"] = QUESTION_WIDGETS[name][1](current(), value)
    except QuestionError as error:  # a widget offers only valid values: logged, kept as was
        logger.warning("widget %s: %s", name, error)


def bind(name: str, *, labels: Sequence[str] | None = None, options: Sequence[Any] = (),
         extent: Sequence[Any] = (), then: Callable[[], None] | None = None) -> dict:
    """Keyword arguments tying a widget to the canonical session value ``name`` (a code):
    a value of session state, or a field of the question (``QUESTION_WIDGETS``).

    Streamlit keeps a choice widget's value as its *formatted label*, so a widget whose
    labels change (another language, minutes instead of km in transit mode, a slider whose
    range grows) would hand back a label, or its default, instead of the code. Each widget
    therefore gets a key of its own for every way it can be drawn (the language, the
    ``labels`` of its ``options``, and ``extent``: e.g. a slider's range), seeded from the
    canonical code, and copies a value back only when it is one of ``options`` (for a
    choice widget, given ``labels``); ``then`` runs after a copy (e.g. a preset callback).
    A canonical value that is no longer an option becomes the first option (a list keeps
    the options it still holds). Use ``choose`` for choice widgets.
    """
    s = st.session_state
    shown: tuple[Any, ...] = (s.get("lang", "ja"), tuple(extent), tuple(labels or ()))
    allowed = list(options) if labels is not None else None
    if allowed is not None:
        _keep_choosable(name, allowed)
    digest = hashlib.sha1(repr(shown).encode("utf-8")).hexdigest()[:10]
    key = f"{name}__{shown[0]}__{digest}"
    if s.get(key, _UNSET) != _read(name):
        s[key] = _read(name)

    def copy_back() -> None:
        value = s[key]
        if allowed is not None and not _is_choice(value, allowed):
            logger.warning("widget %s returned %r, not one of its options; kept %r",
                           key, value, _read(name))
            return
        _write(name, value)
        if then is not None:
            then()

    return {"key": key, "on_change": copy_back}


def choose(widget: Callable[..., Any], label: str, name: str, options: Sequence[Any], *,
           format_func: Callable[[Any], str] = str, then: Callable[[], None] | None = None,
           **kwargs: Any) -> Any:
    """Draw a choice widget (``st.radio``, ``st.selectbox``, ``st.multiselect``, or a
    column's) over ``options`` (codes) bound to the session value ``name`` (``bind``).

    The labels are made once, in this run's language, so the widget never formats an
    option in another language later."""
    options = list(options)
    labels = {option: format_func(option) for option in options}
    return widget(label, options, format_func=lambda option: labels.get(option, str(option)),
                  **bind(name, labels=list(labels.values()), options=options, then=then),
                  **kwargs)


def _is_choice(value: Any, allowed: list[Any]) -> bool:
    if isinstance(value, list):
        return all(item in allowed for item in value)
    return value in allowed


def _keep_choosable(name: str, allowed: list[Any]) -> None:
    value = _read(name)
    if isinstance(value, list):
        if not _is_choice(value, allowed):
            _write(name, [item for item in value if item in allowed])
    elif value not in allowed and allowed:
        _write(name, allowed[0])


_UNSET = object()


def pick_offices() -> dict[str, Any]:
    """Keyword arguments of every office multiselect: a Japanese / English placeholder
    instead of Streamlit's "Choose options", and no "Select all" (one click would close
    every counter)."""
    return {"placeholder": t("pick_offices"), "select_all": False}


def init_defaults() -> None:
    """Put every default into session state once (widgets then own their keys)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, list(value) if isinstance(value, list) else value)


def init_store_source() -> None:
    """Name the question's store layer: ``union``, or ``osm`` where the data has no Overture
    stores (a saved record and a link name one). Reads the data directory, so it runs where
    data errors are shown as a page."""
    if current().store_source is None:
        st.session_state["question"] = current().replace(
            store_source=layers.default_store_source(cache.data_dir()))


def apply_preset() -> None:
    """Widget callback: the chosen preset's office set, in the question."""
    preset = reorganisation.presets(cache.study(study_key()).engine.offices)[
        st.session_state["preset"]]
    st.session_state["question"] = current().with_offices(preset.question)


def request_offices(reported: Any) -> None:
    """The instant map's change callback: keep the office set it reports (``seq``,
    ``closed``, ``downgraded``: the whole set after its clicks), applied before the sidebar
    is drawn (a widget's state cannot change after the widget is drawn in the same run)."""
    st.session_state["map_offices"] = reported


def apply_map_offices(closable: list[str], downgradable: list[str]) -> list[str]:
    """Put the office set the instant map reported into the question: the offices it
    closes among ``closable``, and downgrades among ``downgradable`` (an office both
    closed and downgraded is closed). Records the report's ``seq`` as applied, which the
    map reads to know the server has caught up with its clicks.

    Returns the ids of the offices whose state changed, in id order (none when nothing was
    reported, or a report is malformed: logged and dropped).
    """
    reported = st.session_state.pop("map_offices", None)
    if reported is None:
        return []
    try:
        seq = int(reported["seq"])
        closed = set(reported["closed"]) & set(closable)
        downgraded = set(reported["downgraded"]) & set(downgradable) - closed
        before = current()
        st.session_state["question"] = before.replace(closed=closed, downgraded=downgraded)
    except (KeyError, TypeError, ValueError, QuestionError) as error:
        logger.warning("the map reported %r, not an office set (%s); dropped", reported, error)
        return []
    st.session_state["map_applied_seq"] = seq
    return sorted((before.closed ^ closed) | (before.downgraded ^ downgraded))
