"""The 比較 page's editor of the plan's phases (issue 10).

The steps live in session state (``phases``, a tuple of ``geo.saved.Phase``): the opened
scenario's, or none, and the sidebar's panel saves them with the scenario. A new step
records the sidebar's closed and downgraded offices as the complete set from its date on;
``geo.saved.add_phase`` keeps the steps in date order and refuses a plan that goes back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from geo import saved
from geo.errors import MadoguchiError, PhasePlanError

from . import state
from .components import plain_markdown
from .i18n import t

MESSAGE = "phases_message"
"""Session key of the editor's pending message: ``(kind, text)``, kind ``error`` or
``success``."""
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)
"""The dates a step can take (the reorganisation began in FY2015)."""


def step_name(phase: saved.Phase) -> str:
    """``2026-04-01 第1段階``: the step's date, then its label if it has one."""
    return f"{phase.date.isoformat()} {phase.label}".rstrip()


def refusal(error: MadoguchiError, names: Callable[[str], str]) -> str:
    """Why a step was refused, in the interface language with office names (``names``)."""
    if not isinstance(error, PhasePlanError):
        return t("phases_refused", error=error)
    lines = [t(f"phases_problem_{problem.kind}", date=problem.date.isoformat(),
               previous=problem.previous_date.isoformat(),
               offices="、".join(names(office) for office in problem.offices))
             for problem in error.problems]
    return t("phases_refused", error=" ".join(lines))


def _add_current(names: Callable[[str], str]) -> None:
    """Button callback: add the sidebar's office sets as a step, or say why not."""
    s = st.session_state
    asked = state.current()
    step = saved.Phase(s["phase_date"], s["phase_label"].strip(), closed=asked.closed,
                       downgraded=asked.downgraded)
    try:
        s["phases"] = saved.add_phase(s["phases"], step)
    except MadoguchiError as error:
        s[MESSAGE] = ("error", refusal(error, names))
    else:
        s[MESSAGE] = ("success", t("phases_added", step=step_name(step)))


def _remove_chosen() -> None:
    """Button callback: remove the step chosen in the list (the others stay a valid plan)."""
    s = st.session_state
    step = s["phase_remove_pick"]
    s["phases"] = tuple(phase for phase in s["phases"] if phase != step)
    s[MESSAGE] = ("success", t("phases_removed", step=step_name(step)))


def editor(names: Callable[[str], str]) -> None:
    """Date and label of a new step, the button adding it, and the removal of a step
    (``names``: office id -> name, for messages)."""
    s = st.session_state
    if MESSAGE in s:
        kind, text = s.pop(MESSAGE)
        (st.error if kind == "error" else st.success)(plain_markdown(text))
    s.setdefault("phase_date", dt.date.today())
    s.setdefault("phase_label", "")
    date_column, label_column = st.columns(2)  # bound: kept when leaving the page
    date_column.date_input(t("phases_date"), min_value=EARLIEST, max_value=LATEST,
                           **state.bind("phase_date"))
    label_column.text_input(t("phases_new_label"), placeholder=t("phases_new_label_example"),
                            **state.bind("phase_label"))
    st.button(t("phases_add"), key="phase_add", on_click=_add_current, args=(names,))
    st.caption(t("phases_add_note"))
    phases: tuple[saved.Phase, ...] = s["phases"]
    if phases:
        st.selectbox(t("phases_remove_pick"), phases, format_func=step_name,
                     key="phase_remove_pick")
        st.button(t("phases_remove"), key="phase_remove", on_click=_remove_chosen)
    st.caption(t("phases_saved_with"))
