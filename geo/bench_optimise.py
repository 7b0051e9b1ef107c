"""Benchmark location-allocation: exact MILP beside exhaustive search and the heuristic."""

from __future__ import annotations

import functools
import math
import os
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from . import optimise
from .engine import Engine, load_engine

KEEP_BRANCHES = 8
"""The 2015 question: keep 8 of the 15 FY2015 branch counters (ward offices fixed open)."""
T = TypeVar("T")
NEW_SITE = {"新庁舎候補": (32.8031, 130.7079)}
"""A new candidate site for the site figure (the 花畑町 area, beside the city hall)."""


def _median_s(run: Callable[[], T], repeats: int) -> tuple[float, T]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_optimise_benchmark(
    data: str | os.PathLike[str] | None = None, *, engine: Engine | None = None,
    repeats: int = 3,
) -> dict[str, float | int | str]:
    """Time the optimiser on the FY2015 counters; return the figures (seconds, metres).

    Parameters
    ----------
    data
        Data directory, used when ``engine`` is not given.
    engine
        An engine already built (``geo.engine.load_engine``), to skip the cold build.
    repeats
        Each timing is the median of this many runs.

    Returns
    -------
    dict
        ``keep_question``, ``sets``, ``milp_s``, ``exhaustive_s``, ``heuristic_s``,
        ``near_ties_s`` (with ``near_ties`` and ``near_ties_method``), ``frontier_*_s`` per
        model, ``site_distances_s`` and ``site_solve_s`` (one new site: its shortest-path
        run, then the MILP), ``schools_milp_s`` (107 candidates), the objectives
        ``milp_mean_m`` / ``exhaustive_mean_m`` / ``heuristic_mean_m``, and ``same_optimum``.
    """
    eng = load_engine(data) if engine is None else engine
    problem = optimise.problem_from_model(eng.model, base="fy2015")
    open_count = problem.open_range[0] + KEEP_BRANCHES
    figures: dict[str, float | int | str] = {
        "keep_question": f"keep {KEEP_BRANCHES} of {len(problem.free)} (p-median)",
        "sets": math.comb(len(problem.free), KEEP_BRANCHES)}
    solvers = {"milp": optimise.solve, "exhaustive": optimise.solve_exhaustive,
               "heuristic": optimise.solve_heuristic}
    objectives = {}
    for name, solver in solvers.items():
        seconds, solution = _median_s(
            functools.partial(solver, problem, "p-median", open_count=open_count), repeats)
        figures[f"{name}_s"] = round(seconds, 4)
        objectives[name] = solution.objective
        figures[f"{name}_mean_m"] = round(objectives[name], 2)
    figures["same_optimum"] = str(abs(objectives["milp"] - objectives["exhaustive"]) < 1e-6)
    seconds, ties = _median_s(
        lambda: optimise.near_ties(problem, "p-median", open_count=open_count), repeats)
    figures |= {"near_ties_s": round(seconds, 4), "near_ties": len(ties.table),
                "near_ties_method": ties.method}
    for model, within_m in (("p-median", None), ("coverage", 5_000.0), ("p-center", None)):
        seconds, _ = _median_s(
            functools.partial(optimise.frontier, problem, model, within_m=within_m), 1)
        figures[f"frontier_{model.replace('-', '_')}_s"] = round(seconds, 3)
    started = time.perf_counter()
    with_site = optimise.with_points(problem, eng, optimise.site_points(NEW_SITE))
    figures["site_distances_s"] = round(time.perf_counter() - started, 4)
    seconds, _ = _median_s(lambda: optimise.solve(with_site, "p-median", open_count=open_count),
                           repeats)
    figures["site_solve_s"] = round(seconds, 4)
    schools = optimise.with_points(problem, eng, optimise.school_points(eng.data))
    seconds, _ = _median_s(lambda: optimise.solve(schools, "p-median", open_count=open_count),
                           repeats)
    figures["schools_candidates"] = len(schools.free)
    figures["schools_milp_s"] = round(seconds, 3)
    return figures


def format_optimise_figures(figures: dict[str, float | int | str]) -> list[str]:
    """Return the figures as lines to print."""
    return [
        (f"{figures['keep_question']}, {figures['sets']:,} sets: MILP {figures['milp_s']} s, "
         f"exhaustive {figures['exhaustive_s']} s, heuristic {figures['heuristic_s']} s "
         f"(same optimum: {figures['same_optimum']}; heuristic mean "
         f"{figures['heuristic_mean_m']} m vs {figures['milp_mean_m']} m)"),
        (f"near-ties within 1 %: {figures['near_ties']} sets by {figures['near_ties_method']} "
         f"in {figures['near_ties_s']} s"),
        (f"whole frontier 5..20 counters: p-median {figures['frontier_p_median_s']} s, "
         f"coverage 5 km {figures['frontier_coverage_s']} s, "
         f"p-center {figures['frontier_p_center_s']} s"),
        (f"a new site: shortest-path run {figures['site_distances_s']} s, then MILP "
         f"{figures['site_solve_s']} s"),
        (f"schools as candidates ({figures['schools_candidates']} free): MILP "
         f"{figures['schools_milp_s']} s"),
    ]
