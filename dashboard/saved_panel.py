"""The sidebar's 保存・読み込み panel and the URL that always describes the current scenario.

Scenarios are kept by ``geo.scenariostore.ScenarioStore`` (SQLite by default, ``MADOGUCHI_DB``). The
URL's query parameters mirror the view (``geo.links.to_query_params``): the saved name and
version while the view and phases are those of an opened saved scenario, every scenario
field otherwise. A new session opened with such a URL starts from exactly that view.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import partial

import streamlit as st

from geo import layers, links, saved, scenariostore
from geo.errors import MadoguchiError
from geo.question import Question

from . import cache, loadshift, state
from .components import md, office_name, plain_markdown
from .i18n import t

OPENED = "saved_opened"
"""Session key of the ``geo.scenariostore.StoredScenario`` last opened or saved."""
MESSAGE = "saved_message"
"""Session key of the panel's pending messages: ``[(kind, text), ...]``, kind ``error``,
``warning``, ``info`` or ``success``."""
_REQUESTED = "saved_requested"
"""Session key of the office ids the last opened scenario closes or downgrades."""
_URL_READ = "saved_url_read"
_VIEW_FIELDS = ("question", "briefing_title", "phases")
"""The fields that decide what the dashboard shows (the title: on the briefing page and its
files; the phases: on the 比較 page)."""


@st.cache_resource(show_spinner=False)
def _store(url: str) -> scenariostore.ScenarioStore:
    return scenariostore.ScenarioStore(url)


def store() -> scenariostore.ScenarioStore:
    """The scenario database (``geo.scenariostore.database_url``; raises ``ScenarioStoreError``)."""
    return _store(scenariostore.database_url())


def current_scenario(name: str = "", *, note: str = "", author: str = "") -> saved.SavedScenario:
    """The sidebar's scenario as a ``SavedScenario``.

    Its phases are the plan's steps in session state (``phases``: those of the scenario
    last opened, as edited on the 比較 page), whatever the name: saving stores the phases
    being edited, under the opened scenario's name or any other.
    """
    s = st.session_state
    return saved.SavedScenario(question=state.current(), name=name,
                               briefing_title=s["briefing_title"], note=note, author=author,
                               phases=s["phases"])


def shown(scenario: saved.SavedScenario) -> saved.SavedScenario:
    """``scenario`` as this data directory shows it: a store layer left open, or one the
    data lacks, is the data's default (the second said)."""
    asked = scenario.question
    available = layers.available_store_sources(cache.data_dir())
    if not available:  # no store layer at all: the data-error page explains
        return scenario
    if asked.store_source is not None and asked.store_source not in available:
        _say("error", t("saved_store_missing", source=asked.store_source))
    elif asked.store_source is not None:
        return scenario
    default = layers.default_store_source(cache.data_dir())
    return dataclasses.replace(scenario, question=asked.replace(store_source=default))


def apply(scenario: saved.SavedScenario) -> None:
    """Show ``scenario``: its question, title and phases (before the widgets are drawn).

    A record made before a question field was saved opens with today's default for it, a
    store share off the slider's steps on the nearest step: both said.
    """
    s = st.session_state
    asked = scenario.question
    if scenario.defaulted:
        _say("info", t("saved_defaulted", fields="、".join(
            t(f"saved_field_{field}") for field in scenario.defaulted)))
    s["question"] = _on_slider(asked)
    s["preset"] = asked.base  # the base sets are presets of their own
    s["briefing_title"] = scenario.briefing_title
    s["phases"] = scenario.phases
    s[_REQUESTED] = asked.changes


def same_view(one: saved.SavedScenario, other: saved.SavedScenario) -> bool:
    """Whether two scenarios show the same figures and phases (names, notes aside)."""
    return all(getattr(one, name) == getattr(other, name) for name in _VIEW_FIELDS)


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = [*st.session_state.get(MESSAGE, []), (kind, text)]


def _open(stored: scenariostore.StoredScenario) -> None:
    """Show ``stored`` and fill the save fields with its name, note and author."""
    stored = dataclasses.replace(stored, scenario=shown(stored.scenario))
    apply(stored.scenario)
    s = st.session_state
    s[OPENED] = stored
    s["saved_name"], s["saved_note"], s["saved_author"] = (
        stored.scenario.name, stored.scenario.note, stored.scenario.author)


VIEW_PARAMS = {"compare": "compare_chosen", "present": "briefing_present"}
"""URL parameter -> session value of how the planner looks at the scenario: the scenarios
on the 比較 page (a JSON list of candidate keys) and the briefing's presentation mode."""


def _view_params() -> dict[str, str]:
    s = st.session_state
    params = {}
    if "compare_chosen" in s:
        params["compare"] = json.dumps(s["compare_chosen"], ensure_ascii=False)
    if s.get("briefing_present"):
        params["present"] = "1"
    return params


def _read_view_params(params: dict[str, str]) -> None:
    """Set the view values a URL carries (unreadable ones are left at their defaults)."""
    s = st.session_state
    if "present" in params:
        s["briefing_present"] = params["present"] == "1"
    if "compare" in params:
        try:
            chosen = json.loads(params["compare"])
        except ValueError:
            chosen = None
        if isinstance(chosen, list) and all(isinstance(key, str) for key in chosen):
            s["compare_chosen"] = chosen


def open_from_url() -> None:
    """Once per session: open the scenario, or saved name and version, the URL names, and
    the view it carries (``VIEW_PARAMS``).

    Call it before the study is built (the URL chooses the network and mode). A URL that
    cannot be read leaves the default view and a message for the panel.
    """
    if st.session_state.get(_URL_READ):
        return
    st.session_state[_URL_READ] = True
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    try:
        link = links.from_query_params(params, view_keys=VIEW_PARAMS)
        _read_view_params(st.query_params.to_dict())
        if link.ignored:
            _say("warning", t("saved_url_ignored", params=", ".join(link.ignored)))
        if link.saved is not None:
            _open(store().open(link.saved.name, link.saved.version))
        elif link.scenario is not None:
            apply(shown(link.scenario))
    except MadoguchiError as error:
        _say("error", t("saved_url_bad", error=error))


def _on_slider(asked: Question) -> Question:
    """The question with its store share on a step of the slider, said when moved."""
    step = loadshift.SHARE_STEP_PCT
    pct = step * round(100 * asked.store_share / step)
    if pct == 100 * asked.store_share:
        return asked
    _say("warning", t("saved_share_rounded", share=f"{asked.store_share:g}", pct=pct))
    return asked.replace(store_share=pct / 100)


def mirror_url() -> None:
    """Write the current view into the URL (the saved name and version while unchanged).

    A view whose phases differ from the opened version's is written field by field, phases
    included, so that a link keeps the edited phases.
    """
    opened: scenariostore.StoredScenario | None = st.session_state.get(OPENED)
    view = current_scenario()
    if opened is not None and same_view(view, opened.scenario):
        params = links.to_query_params(links.SavedRef(opened.scenario.name, opened.version))
    else:  # the data's default store layer goes without saying, as in a fresh view
        asked = view.question
        if asked.store_source == layers.default_store_source(cache.data_dir()):
            view = dataclasses.replace(view, question=asked.replace(store_source=None))
        params = links.to_query_params(view)
    params |= _view_params()
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def _attempt(work: Callable[[], str]) -> None:
    """Button callback body: run ``work`` and show the text it returns, or why it failed."""
    try:
        _say("success", work())
    except MadoguchiError as error:
        _say("error", t("saved_failed", error=error))


def _save() -> str:
    s = st.session_state
    stored = store().save(current_scenario(s["saved_name"], note=s["saved_note"],
                                           author=s["saved_author"]))
    s[OPENED] = stored
    return t("saved_done", name=stored.scenario.name, version=stored.version)


def _open_chosen(name: str, version: int) -> str:
    _open(store().open(name, version))
    return t("saved_opened_done", name=name, version=version)


def _delete(name: str) -> str:
    store().delete(name)
    return t("saved_deleted", name=name)


def _restore(name: str) -> str:
    store().restore(name)
    return t("saved_restored", name=name)


def _version_label(stored: scenariostore.StoredScenario) -> str:
    when = stored.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
    author = f" {stored.scenario.author}" if stored.scenario.author else ""
    return f"v{stored.version} ({when}{author})"


def panel() -> None:
    """The 保存・読み込み expander (in the sidebar), then the URL mirrored from the view."""
    s = st.session_state
    messages = s.pop(MESSAGE, [])
    asked = state.current()
    dropped = s.pop(_REQUESTED, frozenset()) - asked.changes
    if dropped:
        names = office_name(cache.study(state.study_key()).engine.offices)
        messages.append(("warning", t("saved_dropped", base=t(f"preset_{asked.base}"),
                                      offices="、".join(names(o) for o in sorted(dropped)))))
    opened: scenariostore.StoredScenario | None = s.get(OPENED)
    with st.expander(t("saved_heading"), expanded=bool(messages)):
        show = {"error": st.error, "warning": st.warning, "info": st.info,
                "success": st.success}
        for kind, text in messages:
            show[kind](plain_markdown(text))
        if opened is not None:
            st.caption(md("saved_current", name=opened.scenario.name, version=opened.version))
        for key in ("saved_name", "saved_note", "saved_author"):
            s.setdefault(key, "")
        st.text_input(t("saved_name"), key="saved_name", max_chars=saved.MAX_NAME_LENGTH)
        st.text_input(t("saved_note"), key="saved_note")
        st.text_input(t("saved_author"), key="saved_author")
        st.button(t("saved_save"), key="saved_save", on_click=_attempt, args=(_save,))
        try:
            _saved_lists(store())
        except MadoguchiError as error:
            st.error(md("saved_failed", error=error))
    mirror_url()


def _saved_lists(database: scenariostore.ScenarioStore) -> None:
    everything = database.list(include_deleted=True)
    listed = [item.scenario.name for item in everything if not item.deleted]
    if listed:
        name = st.selectbox(t("saved_pick"), listed, key="saved_pick")
        versions = {item.version: item for item in reversed(database.history(name))}
        version = st.selectbox(t("saved_version"), list(versions),
                               format_func=lambda v: _version_label(versions[v]),
                               key=f"saved_version:{name}")
        if note := versions[version].scenario.note:
            st.caption(plain_markdown(note))
        left, right = st.columns(2)
        left.button(t("saved_open"), key="saved_open", on_click=_attempt,
                    args=(partial(_open_chosen, name, version),))
        right.button(t("saved_delete"), key="saved_delete", on_click=_attempt,
                     args=(partial(_delete, name),))
    else:
        st.caption(t("saved_none"))
    deleted = [item.scenario.name for item in everything if item.deleted]
    if deleted:
        gone = st.selectbox(t("saved_deleted_pick"), deleted, key="saved_deleted_pick")
        st.button(t("saved_restore"), key="saved_restore", on_click=_attempt,
                  args=(partial(_restore, gone),))
