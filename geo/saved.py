"""Saved scenarios: the record of a named plan, its phased steps, and the checks on both.

A :class:`SavedScenario` is everything a planner needs to reopen a view: the question
(``geo.question.Question``), a name, note, author, briefing title and an optional phased
plan. ``geo.scenariostore`` keeps every
version of it in a SQLAlchemy database (SQLite or PostgreSQL), ``geo.exchange`` moves
whole stores between databases without losing anything, and ``geo.links`` puts a scenario
(or a saved name and version) into a URL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .errors import PhasePlanError, QuestionError, SavedScenarioError, UnknownOfficeError
from .question import DEFAULT as DEFAULT_QUESTION
from .question import FIELDS as QUESTION_FIELDS
from .question import OFFICE_ID, Question

MAX_NAME_LENGTH = 200
MAX_VERSION = 2**31 - 1
"""Largest version number (an integer column holds it on every database)."""
MAX_JSON_DEPTH = 32
"""Deepest nesting read from an export file, a phases file or a link (an export is 10 deep)."""

_LIST_FIELDS = ("closed", "downgraded")


@dataclass(frozen=True)
class Phase:
    """One dated step of a phased plan (branch -> service corner -> closed).

    Attributes
    ----------
    date
        First day of the step.
    label
        Free text shown on the timeline, e.g. ``第1段階``.
    closed, downgraded
        The complete set of offices closed / turned into service corners from ``date`` on
        (not a difference from the previous step).
    """

    date: dt.date
    label: str = ""
    closed: frozenset[str] = field(default_factory=frozenset)
    downgraded: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "closed", _frozen_ids(self.closed))
        object.__setattr__(self, "downgraded", _frozen_ids(self.downgraded))

    def to_dict(self) -> dict[str, Any]:
        """Return the step as JSON-ready values (ISO date, sorted id lists)."""
        return {"date": self.date.isoformat(), "label": self.label,
                "closed": sorted(self.closed), "downgraded": sorted(self.downgraded)}


@dataclass(frozen=True)
class SavedScenario:
    """A question as a planner saves, shares and reopens it.

    Construction validates every field and raises one ``SavedScenarioError`` listing
    every problem. The name may be empty here (an unsaved view in a URL); saving needs one.

    Attributes
    ----------
    question
        What the view asks (``geo.question.Question``): offices, measure, zones, store
        layer and share, 城南/南部 reading, network, travel mode, walking speed.
    name
        Name under which the scenario is saved (at most 200 characters; surrounding
        spaces are dropped).
    briefing_title, note, author
        Free text.
    phases
        Optional dated steps in increasing date order; an office never goes back from
        closed to a corner or open, nor from a corner to open. The question's closed and
        downgraded offices stay the view the map shows.
    defaulted
        Question fields the record did not hold (written before they were saved: the
        reading, the zones, the walking speed), now at today's defaults; a view opening
        the record says so.
    """

    question: Question = DEFAULT_QUESTION
    name: str = ""
    briefing_title: str = ""
    note: str = ""
    author: str = ""
    phases: tuple[Phase, ...] = ()
    defaulted: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.name, str):  # "案A " and "案A" are one scenario
            try:
                object.__setattr__(self, "name", normalise_name(self.name))
            except SavedScenarioError as e:
                problems.append(str(e))
        object.__setattr__(self, "phases", tuple(self.phases))
        problems += _scenario_problems(self)
        if problems:
            raise SavedScenarioError("invalid scenario: " + "; ".join(problems))

    @property
    def office_ids(self) -> frozenset[str]:
        """Every office id named by the scenario or one of its phases."""
        ids = set(self.question.changes)
        for phase in self.phases:
            ids |= phase.closed | phase.downgraded
        return frozenset(ids)

    def to_dict(self) -> dict[str, Any]:
        """Return every field as JSON-ready values: the question's fields (``Question.to_dict``)
        beside the name, title, note, author and phases."""
        return {"name": self.name, **self.question.to_dict(),
                "briefing_title": self.briefing_title, "note": self.note,
                "author": self.author, "phases": [phase.to_dict() for phase in self.phases]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SavedScenario:
        """Build a scenario from ``to_dict`` output (a record, an export file, a link).

        Question fields the data lacks take today's defaults and are listed in
        ``defaulted`` (``RECORDED_SINCE``: a record written before they were saved).

        Raises
        ------
        geo.errors.SavedScenarioError
            Unknown fields, or invalid values (every problem in one message).
        """
        if not isinstance(data, Mapping):
            raise SavedScenarioError(f"a scenario must be a JSON object, not {type(data).__name__}")
        unknown = sorted(set(data) - set(_RECORD_FIELDS) - set(QUESTION_FIELDS), key=str)
        if unknown:
            raise SavedScenarioError(f"unknown scenario field(s): {', '.join(map(str, unknown))}")
        asked = {key: value for key, value in data.items() if key in QUESTION_FIELDS}
        for name in _LIST_FIELDS:
            if name in asked:
                asked[name] = _id_list(asked[name], name)
        try:
            question = Question.from_dict(asked)
        except QuestionError as e:
            raise SavedScenarioError(f"invalid scenario: {e}") from None
        record = {key: value for key, value in data.items() if key in _RECORD_FIELDS}
        if "phases" in record:
            record["phases"] = _phases_from_json(record["phases"])
        defaulted = tuple(name for name in RECORDED_SINCE if name not in data)
        return cls(question=question, defaulted=defaulted, **record)


_RECORD_FIELDS = ("name", "briefing_title", "note", "author", "phases")
RECORDED_SINCE = ("zones", "reading", "walk_kmh")
"""Question fields a saved record or link holds only since they became part of the
question (issue 19); older records and links open with their defaults."""


def normalise_name(name: str) -> str:
    """Return a scenario name in its one stored form: Unicode NFC, surrounding spaces dropped.

    Saving, importing, opening and the URL all go through here, so names that look the
    same (``案A`` typed as NFC or NFD, with a trailing space) are one scenario. An empty
    name stays empty (an unsaved view); saving refuses it.

    Raises
    ------
    geo.errors.SavedScenarioError
        The name is not text, holds a control or format character (NUL, a line break, a
        zero-width space, a direction override) or is longer than ``MAX_NAME_LENGTH``.
    """
    if not isinstance(name, str):
        raise SavedScenarioError(f"name must be text, not {type(name).__name__}")
    text = unicodedata.normalize("NFC", name).strip()
    hidden = sorted({f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) in ("Cc", "Cf")})
    if hidden:
        msg = (f"name {text[:40]!r} holds invisible control or format characters "
               f"({', '.join(hidden)}); type it again without them")
        raise SavedScenarioError(msg)
    if len(text) > MAX_NAME_LENGTH:
        raise SavedScenarioError(f"name must be at most {MAX_NAME_LENGTH} characters long")
    return text


def _frozen_ids(ids: Iterable[str]) -> frozenset[str]:
    if isinstance(ids, str):  # one id given where a collection was meant
        return frozenset([ids])
    return frozenset(ids)


def _scenario_problems(s: SavedScenario) -> list[str]:
    problems = [] if isinstance(s.name, str) else ["name must be text"]
    if not isinstance(s.question, Question):
        problems.append(f"question must be a geo.question.Question, not {s.question!r}")
    for label in ("briefing_title", "note", "author"):
        value = getattr(s, label)
        if not isinstance(value, str) or "\x00" in value:
            problems.append(f"{label} must be text without NUL characters")
    problems += _phase_problems(s.phases)
    return problems


def _office_set_problems(closed: frozenset[str], downgraded: frozenset[str],
                         where: str) -> list[str]:
    problems = [f"{where}malformed office id {office!r}"
                for office in sorted(closed | downgraded, key=str)
                if not isinstance(office, str) or not OFFICE_ID.fullmatch(office)]
    both = closed & downgraded
    if both:
        problems.append(f"{where}offices both closed and downgraded: "
                        f"{', '.join(sorted(map(str, both)))}")
    return problems


def _phase_problems(phases: tuple[Phase, ...]) -> list[str]:
    problems: list[str] = []
    for number, phase in enumerate(phases, start=1):
        where = f"phase {number}: "
        if not isinstance(phase, Phase):
            problems.append(f"{where}not a Phase")
            continue
        if not isinstance(phase.date, dt.date) or isinstance(phase.date, dt.datetime):
            problems.append(f"{where}date must be a date, not {phase.date!r}")
        if not isinstance(phase.label, str):
            problems.append(f"{where}label must be text")
        problems += _office_set_problems(phase.closed, phase.downgraded, where)
    return problems or [str(problem) for problem in phase_order_problems(phases)]


@dataclass(frozen=True)
class PhaseProblem:
    """A step that goes back in a phased plan.

    Attributes
    ----------
    step
        The step's number, 1 for the earliest.
    kind
        ``date`` (not after the step before it), ``reopened`` (a closed office open or a
        corner again) or ``upgraded`` (a service corner a full counter again).
    offices
        The offices going back (``reopened``, ``upgraded``).
    date, previous_date
        The step's date and the date of the step before it.
    """

    step: int
    kind: str
    date: dt.date
    previous_date: dt.date
    offices: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"phase {self.step}: "
        if self.kind == "date":
            return f"{where}date {self.date} is not after {self.previous_date}"
        if self.kind == "reopened":
            return (f"{where}closed offices cannot reopen or become corners again: "
                    f"{', '.join(self.offices)}")
        return (f"{where}service corners cannot become full counters again: "
                f"{', '.join(self.offices)}")


def phase_order_problems(phases: Sequence[Phase]) -> list[PhaseProblem]:
    """Every step of a phased plan (in date order) that goes back from the step before it."""
    problems = []
    for number, (previous, phase) in enumerate(itertools.pairwise(phases), start=2):
        found = {"date": () if phase.date <= previous.date else None,
                 "reopened": tuple(sorted(previous.closed - phase.closed)) or None,
                 "upgraded": tuple(sorted(previous.downgraded - phase.downgraded
                                          - phase.closed)) or None}
        problems += [PhaseProblem(number, kind, phase.date, previous.date, offices)
                     for kind, offices in found.items() if offices is not None]
    return problems


def _id_list(value: object, label: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SavedScenarioError(f"{label} must be a list of office ids, not {_shown(value)}")
    return value


def _phases_from_json(value: object) -> tuple[Phase, ...]:
    if not isinstance(value, list):
        raise SavedScenarioError(f"phases must be a list, not {_shown(value)}")
    phases = []
    for number, step in enumerate(value, start=1):
        if not isinstance(step, Mapping) or set(step) - {"date", "label", "closed", "downgraded"}:
            msg = f"phase {number} must be an object with date, label, closed, downgraded"
            raise SavedScenarioError(msg)
        try:
            date = dt.date.fromisoformat(step["date"])
        except (KeyError, TypeError, ValueError):
            raise SavedScenarioError(f"phase {number}: date must be YYYY-MM-DD, "
                                     f"not {_shown(step.get('date'))}") from None
        phases.append(Phase(
            date=date, label=step.get("label", ""),
            closed=frozenset(_id_list(step.get("closed", []), f"phase {number} closed")),
            downgraded=frozenset(_id_list(step.get("downgraded", []),
                                          f"phase {number} downgraded"))))
    return tuple(phases)


def check_offices(scenario: SavedScenario, offices: pd.DataFrame) -> None:
    """Raise ``UnknownOfficeError`` naming every office id that is not in the register.

    Parameters
    ----------
    scenario
        The scenario, phases included.
    offices
        Office register with an ``office_id`` column (``geo.layers.load_offices``).
    """
    unknown = sorted(scenario.office_ids - set(offices["office_id"]))
    if unknown:
        raise UnknownOfficeError(f"unknown office id(s): {', '.join(unknown)}")


def add_phase(phases: Iterable[Phase], phase: Phase) -> tuple[Phase, ...]:
    """Return the phased plan ``phases`` with ``phase`` added in date order.

    Parameters
    ----------
    phases
        The plan's steps.
    phase
        The step to add.

    Returns
    -------
    tuple of Phase
        Every step, earliest first.

    Raises
    ------
    SavedScenarioError
        The plan with the new step breaks the rules of ``SavedScenario.phases`` (a step on
        a date the plan already has, an office going back from closed or from a corner);
        the message lists every problem.
    """
    plan = tuple(sorted((*phases, phase), key=lambda step: step.date))
    problems = _phase_problems(plan)
    if problems:
        order = phase_order_problems(plan)
        if order and problems == [str(problem) for problem in order]:
            raise PhasePlanError(order)
        raise SavedScenarioError("invalid phased plan: " + "; ".join(problems))
    return plan


def _shown(value: object) -> str:
    """A value for a message, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_json(text: str, where: str) -> Any:
    """Read JSON text from a file or a link, nested at most ``MAX_JSON_DEPTH`` levels.

    Raises
    ------
    geo.errors.SavedScenarioError
        Naming ``where``: the text is not JSON, holds a number too long to read, or is
        nested too deeply (which would otherwise exhaust Python's recursion limit).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        deep = True
    except ValueError as e:  # JSONDecodeError, or an integer of thousands of digits
        raise SavedScenarioError(f"{where} is not valid JSON: {str(e)[:80]}") from None
    else:
        deep = _nesting_exceeds(value, MAX_JSON_DEPTH)
    if deep:
        msg = f"{where} is nested more than {MAX_JSON_DEPTH} levels deep; not a scenario file"
        raise SavedScenarioError(msg)
    return value


def _nesting_exceeds(value: object, limit: int) -> bool:
    """Whether lists and objects in ``value`` nest more than ``limit`` levels (no recursion)."""
    level = [value]
    for _ in range(limit):
        level = [child for item in level if isinstance(item, (list, dict))
                 for child in (item.values() if isinstance(item, dict) else item)]
        if not level:
            return False
    return True
