"""The planner's question: one validated, hashable value under every figure, file and link.

A ``Question`` is everything a figure depends on: the base office set, the offices closed
and downgraded, the measure, the zones figures are summed over, the store layer, the share
of certificates moving to convenience stores, the 城南/南部 reading of the counts, the road
network, the travel mode and the walking speed. ``geo.study.evaluate`` takes one; the
dashboard caches, saves and links one; the command line parses one. Its defaults and rules
live here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import demand, engine, layers, scenarios
from .errors import QuestionError
from .zones import ZONE_KINDS

MODES = ("drive", "walk", "transit")
"""``drive`` (one-way streets respected), ``walk`` and ``transit`` (bus, tram and rail with
walks; its km are walking distances)."""
DEFAULT_BASE = "fy2015"
YEARS = {"2015": "fy2015", "now": "now"}
"""What the command line's ``--year`` means: the base office set of that year."""
OFFICE_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
"""An office id of the register (``geo.layers.load_offices``)."""


@dataclass(frozen=True, init=False)
class Question:
    """What a planner asks: which counters stay, and how the answer is measured.

    Parameters
    ----------
    base
        The office set the question starts from: ``fy2015`` (default) or ``now``.
    closed, downgraded
        Office ids (collections, kept as frozensets) closed, or turned into certificate-only
        service corners. An office cannot be both.
    measure
        ``counter`` (full counters only) or ``certificate`` (service corners and
        convenience stores count too).
    zones
        What figures are summed over: ``district`` (default), ``small-area`` or ``ward``.
    store_source
        The convenience-store layer (``geo.layers.STORE_SOURCES``); ``None``: the data
        directory's default (``union``, or ``osm`` without the Overture stores). Under the
        counter measure no distance depends on it; it still names the stores a map draws
        and the blank districts of a report.
    store_share
        Share (0-1) of the closed counters' certificate transactions moving to stores.
    reading
        The 城南/南部 reading of the FY2011-13 counts the demand model is fitted on.
    network
        The road network (``geo.engine.NETWORKS``).
    mode
        ``drive``, ``walk`` or ``transit`` (``MODES``).
    walk_kmh
        Walking speed for minutes on foot, km/h.

    Raises
    ------
    geo.errors.QuestionError
        A field is invalid: one message names every bad field.
    """

    base: str
    closed: frozenset[str]
    downgraded: frozenset[str]
    measure: str
    zones: str
    store_source: str | None
    store_share: float
    reading: str
    network: str
    mode: str
    walk_kmh: float

    def __init__(self, base: str = DEFAULT_BASE, closed: Iterable[str] = (),
                 downgraded: Iterable[str] = (), measure: str = "counter",
                 zones: str = "district", store_source: str | None = None,
                 store_share: float = 0.0, reading: str = demand.DEFAULT_READING,
                 network: str = engine.DEFAULT_NETWORK, mode: str = "drive",
                 walk_kmh: float = scenarios.WALK_KMH) -> None:
        problems: list[str] = []
        offices = {name: _office_ids(ids, name, problems)
                   for name, ids in (("closed", closed), ("downgraded", downgraded))}
        both = offices["closed"] & offices["downgraded"]
        if both:
            problems.append(f"offices both closed and downgraded: {', '.join(sorted(both))} "
                            "(an office is either closed or downgraded)")
        for name, value, allowed in (("base", base, scenarios.BASES),
                                     ("measure", measure, scenarios.MEASURES),
                                     ("zones", zones, ZONE_KINDS),
                                     ("reading", reading, demand.READINGS),
                                     ("network", network, engine.NETWORKS),
                                     ("mode", mode, MODES)):
            if value not in allowed:
                problems.append(f"{name}: unknown {value!r} (choose one of "
                                f"{', '.join(allowed)})")
        if store_source is not None and store_source not in layers.STORE_SOURCES:
            problems.append(f"store_source: unknown {store_source!r} (choose one of "
                            f"{', '.join(layers.STORE_SOURCES)})")
        share = _number(store_share)
        if share is None or not 0.0 <= share <= 1.0:
            problems.append(f"store_share: must be a number from 0 to 1, not {store_share!r}")
        speed = _number(walk_kmh)
        if speed is None or speed <= 0:
            problems.append(f"walk_kmh: must be a positive number, not {walk_kmh!r}")
        if problems:
            raise QuestionError("invalid question: " + "; ".join(problems))
        values: dict[str, object] = {
            "base": base, "closed": offices["closed"], "downgraded": offices["downgraded"],
            "measure": measure, "zones": zones, "store_source": store_source,
            "store_share": share, "reading": reading, "network": network, "mode": mode,
            "walk_kmh": speed}
        for field, chosen in values.items():
            object.__setattr__(self, field, chosen)

    def replace(self, **changes: Any) -> Question:
        """The same question with ``changes`` (checked as a new question is)."""
        return dataclasses.replace(self, **changes)

    @property
    def scenario(self) -> scenarios.Scenario:
        """The office set (``geo.scenarios.Scenario``) the engine evaluates."""
        return scenarios.Scenario(base=self.base, closed=self.closed,
                                  downgraded=self.downgraded)

    @property
    def baseline(self) -> Question:
        """The same question before any change: the base set with nothing closed."""
        return self.replace(closed=(), downgraded=())

    def with_offices(self, other: Question) -> Question:
        """This question about ``other``'s office set (base, closed, downgraded): e.g. a
        preset taken into a view, which keeps its measure, mode and assumptions."""
        return self.replace(base=other.base, closed=other.closed, downgraded=other.downgraded)

    @property
    def changes(self) -> frozenset[str]:
        """Every office the question closes or downgrades."""
        return self.closed | self.downgraded

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (office ids sorted)."""
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        values["closed"], values["downgraded"] = sorted(self.closed), sorted(self.downgraded)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Question:
        """A question from ``to_dict``'s values (absent fields take their defaults).

        Raises
        ------
        geo.errors.QuestionError
            An unknown field, or an invalid value.
        """
        unknown = sorted(set(values) - set(FIELDS))
        if unknown:
            raise QuestionError(f"unknown question field(s): {', '.join(map(str, unknown))}")
        return cls(**values)


def _office_ids(ids: object, name: str, problems: list[str]) -> frozenset[str]:
    if isinstance(ids, str) or not isinstance(ids, Iterable):
        problems.append(f"{name}: a collection of office ids, not {ids!r}")
        return frozenset()
    chosen = frozenset(ids)
    bad = sorted(repr(office) for office in chosen
                 if not isinstance(office, str) or not OFFICE_ID.fullmatch(office))
    if bad:
        problems.append(f"{name}: not an office id: {', '.join(bad)}")
    return chosen


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def base_of_year(year: str) -> str:
    """The base office set of the command line's ``--year`` (``2015`` or ``now``).

    Raises
    ------
    geo.errors.QuestionError
        Another year.
    """
    if year not in YEARS:
        raise QuestionError(f"--year: {year!r} is not one of {', '.join(YEARS)}")
    return YEARS[year]


FIELDS = tuple(field.name for field in dataclasses.fields(Question))
DEFAULT = Question()
"""The question every view starts from: the FY2015 counters, nothing changed, by car."""
