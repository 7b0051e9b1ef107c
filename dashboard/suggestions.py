"""The 提案 page's questions to ``geo.optimise`` and their answers (no widgets here).

A ``Request`` is everything the page's controls describe, hashable for the cache
(``dashboard.cache.suggestion``); ``answer`` solves it on a built study, ``frontier_of``
gives its frontier. Pages only format what these return.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo import optimise
from geo.errors import PoorFitError
from geo.question import Question
from geo.study import Study

FRONTIER_MODEL = {"p-median": "p-median", "coverage": "coverage", "p-center": "p-center",
                  "set-cover": "coverage"}
"""The model whose frontier the page draws: set-cover fixes no count, so its counterpart,
coverage within the same distance (the fewest people beyond it for each count), is drawn."""


@dataclass(frozen=True)
class Request:
    """One location-allocation request, as the page's controls describe it.

    ``open_count`` counts every open counter (fixed ones included) and is not used by
    ``set-cover``; ``within_km`` is the distance of coverage and set-cover; ``sites`` are new
    candidate sites ``(name, lat, lon)`` in WGS84.
    """

    base: str
    model: str
    weight: str
    within_km: float | None
    fix: tuple[str, ...]
    exclude: tuple[str, ...]
    sites: tuple[tuple[str, float, float], ...] = ()
    open_count: int | None = None
    share: float = 1.0
    """``set-cover``: share (0-1] of the weight that must be within ``within_km``."""

    @property
    def within_m(self) -> float | None:
        return None if self.within_km is None else 1000.0 * self.within_km


@dataclass(frozen=True)
class Answer:
    """The solved question: its problem, the solution and what the page shows of it.

    ``ties`` is None for set-cover (no near-ties); ``loads`` is None when the study has no
    demand fit, and ``loads_note`` then (or for a poor fit) says why.
    """

    problem: optimise.Problem
    solution: optimise.Solution
    table: pd.DataFrame
    ties: optimise.NearTies | None
    loads: pd.DataFrame | None
    loads_note: str | None


def problem(study: Study, request: Request) -> optimise.Problem:
    """The request's problem: the base set's counters, its sites, fixed and excluded ids.

    Raises ``geo.errors.SiteError`` for a site outside the city and
    ``geo.errors.UnknownOfficeError`` for an id that is not a candidate.
    """
    found = optimise.problem_from_model(study.engine.model, base=request.base,
                                        weight=request.weight, fix_ward_offices=False)
    if request.sites:
        points = optimise.site_points({name: (lat, lon) for name, lat, lon in request.sites})
        found = optimise.with_points(found, study.engine, points)
    return optimise.with_choices(found, fix=request.fix, exclude=request.exclude,
                                 fix_ward_offices=False)


def answer(study: Study, request: Request, *, reading: str) -> Answer:
    """Solve ``request`` exactly (MILP), with its near-ties and predicted counter loads.

    ``reading`` names the demand fit (``Study.demand_fits``) the loads come from.
    """
    posed = problem(study, request)
    solution = optimise.solve(posed, request.model, open_count=request.open_count,
                              within_m=request.within_m, share=request.share)
    ties = (None if request.model == "set-cover" else
            optimise.near_ties(posed, request.model, open_count=len(solution.selected),
                               within_m=request.within_m))
    loads, note = None, None
    fit = study.demand_fits.get(reading)
    if fit is None:
        note = "no_fit"
    else:
        try:
            loads = optimise.counter_loads(posed, solution, fit)
        except PoorFitError:
            note = "poor_fit"
    return Answer(problem=posed, solution=solution,
                  table=optimise.candidate_table(posed, solution), ties=ties, loads=loads,
                  loads_note=note)


def frontier_of(study: Study, request: Request) -> pd.DataFrame:
    """``geo.optimise.frontier`` of the request's problem (``FRONTIER_MODEL`` of its model)."""
    return optimise.frontier(problem(study, request), FRONTIER_MODEL[request.model],
                             within_m=request.within_m)


def parse_site(name: str, text: str) -> tuple[str, float, float]:
    """Read a site typed as ``lat,lon`` (WGS84 degrees) and its name (stripped).

    Raises
    ------
    ValueError
        When the name is empty or the text is not two numbers ``lat,lon`` on the globe.
    """
    parts = text.replace("、", ",").replace("，", ",").split(",")
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        msg = f"expected lat,lon (e.g. 32.80,130.70), got {text.strip()!r}"
        raise ValueError(msg) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"latitude must be within ±90 and longitude within ±180, got {lat},{lon}"
        raise ValueError(msg)
    if not name.strip():
        msg = "the site needs a name"
        raise ValueError(msg)
    return name.strip(), lat, lon


def check_site(study: Study, name: str, lat: float, lon: float) -> None:
    """Raise ``geo.errors.SiteError`` when the site is outside the city (one shortest-path run)."""
    optimise.point_distances(study.engine, optimise.site_points({name: (lat, lon)}))


def question_of(found: Answer) -> Question:
    """The solution as a question about its base set (``geo.optimise.as_question``).

    Raises ValueError when the solution opens a new site (a scenario only closes offices).
    """
    return optimise.as_question(found.problem, found.solution)
