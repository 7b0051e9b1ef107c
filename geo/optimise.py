"""Location-allocation: which counters to keep, and where a new one should go, on road distances.

Everything works on a candidate x origin road-distance matrix (metres, EPSG:6670), whatever
graph computed it, and on origin weights (residents, or residents aged 65+). A ``Problem``
holds the matrix, the weights and which candidates are fixed open or excluded; the models are

- ``p-median``: minimise the weighted mean distance to the nearest open counter;
- ``coverage`` (maximal coverage): minimise the weight beyond ``within_m`` of every open
  counter, i.e. maximise the people within it;
- ``set-cover``: the fewest counters so that everyone (or a stated share) is within ``within_m``;
- ``p-center``: minimise the largest distance any resident (an origin with people) travels.

``solve`` is exact (a MILP solved by HiGHS through ``scipy.optimize.milp``), ``solve_exhaustive``
tries every set (for small questions and for checking), ``solve_heuristic`` is a greedy start
improved by Teitz-Bart drop/swap interchange and proves nothing.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp
from scipy.sparse import coo_matrix, csr_matrix, vstack

from . import demand, distance, layers
from .engine import Engine
from .errors import InfeasibleError, MadoguchiError, SiteError, UnknownOfficeError
from .question import Question
from .scenarios import BASE_COLUMNS, BASES, FULL_COUNTER_KINDS, AccessModel

logger = logging.getLogger(__name__)

MODELS = ("p-median", "coverage", "set-cover", "p-center")
WEIGHTS = ("population", "65plus")
FAR_M = 5_000.0
"""The 2015 rule's distance: people beyond it are reported for every solution."""
ELDERLY_FAR_M = 2_000.0
"""Residents aged 65+ beyond this distance are reported for every solution."""
NEAR_TIE_TOLERANCE = 0.01
ENUMERATION_LIMIT = 50_000
"""Near-ties are found by enumerating every set when there are at most this many."""
MAX_NEAR_TIES = 20
MAX_GROWTH = 0.5
"""A counter whose predicted load grows by more than this share over the base set is flagged."""
PLAN_2015_CLOSURES = ("oe-branch", "akitsu-branch", "tobu-branch", "hanazono-general-branch",
                      "akita-general-branch", "koda-general-branch", "nanbu-branch",
                      "hokubu-general-branch")
"""The 2015 plan's official list of branch counters to reorganise (domain brief)."""
_OBJECTIVE_NAMES = {"p-median": "mean_distance_m", "coverage": "weight_beyond_within",
                    "set-cover": "counters_open", "p-center": "max_distance_m"}
_MILP_GAP = 1e-7


@dataclass(frozen=True)
class Problem:
    """Candidates, origins and their road distances: the input of every model.

    Attributes
    ----------
    candidates
        One row per candidate: ``office_id, name_ja, kind, fixed, excluded, in_fy2015,
        open_now`` (the last two False for schools and new sites).
    distance_m
        ``(n_candidates, n_origins)`` road distance, metres (``inf`` = unreachable).
    population
        ``(n_origins,)`` residents.
    share_65plus
        ``(n_origins,)`` share of residents aged 65+ (0-1).
    weight
        ``population`` or ``65plus``: what the models weigh origins by.
    base
        The office set the candidates came from (``fy2015`` or ``now``).
    """

    candidates: pd.DataFrame
    distance_m: np.ndarray
    population: np.ndarray
    share_65plus: np.ndarray
    weight: str = "population"
    base: str = "fy2015"
    _position: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weight not in WEIGHTS:
            msg = f"unknown weight {self.weight!r}; choose one of {', '.join(WEIGHTS)}"
            raise ValueError(msg)
        if self.distance_m.shape != (len(self.candidates), len(self.population)):
            msg = (f"distance matrix is {self.distance_m.shape}, expected "
                   f"({len(self.candidates)}, {len(self.population)})")
            raise ValueError(msg)
        fixed_and_excluded = self.candidates["fixed"] & self.candidates["excluded"]
        if fixed_and_excluded.any():
            both = ", ".join(self.candidates.loc[fixed_and_excluded, "office_id"])
            msg = f"candidate(s) both fixed open and excluded: {both}"
            raise ValueError(msg)
        object.__setattr__(self, "_position",
                           {oid: i for i, oid in enumerate(self.candidates["office_id"])})

    @property
    def weights(self) -> np.ndarray:
        """Origin weights: residents, or residents aged 65+."""
        if self.weight == "65plus":
            weights: np.ndarray = self.population * self.share_65plus
            return weights
        return self.population

    @property
    def fixed(self) -> np.ndarray:
        return self.candidates["fixed"].to_numpy(dtype=bool)

    @property
    def free(self) -> np.ndarray:
        """Row positions of the candidates the models may open or leave closed."""
        return np.flatnonzero(~self.fixed & ~self.candidates["excluded"].to_numpy(dtype=bool))

    @property
    def open_range(self) -> tuple[int, int]:
        """The least and the most counters that can be open (fixed, fixed + free)."""
        n_fixed = int(self.fixed.sum())
        return n_fixed, n_fixed + len(self.free)

    def index(self, ids: Iterable[str]) -> np.ndarray:
        """Return row positions of candidate ids (``UnknownOfficeError`` for unknown ones)."""
        ids = list(ids)
        unknown = [oid for oid in ids if oid not in self._position]
        if unknown:
            msg = (f"unknown candidate id(s): {', '.join(unknown)}; candidates are "
                   f"{', '.join(self.candidates['office_id'])}")
            raise UnknownOfficeError(msg)
        return np.array([self._position[oid] for oid in ids], dtype=np.int64)

    def ids(self, rows: Iterable[int]) -> tuple[str, ...]:
        """Return the candidate ids of row positions, in candidate order."""
        names = self.candidates["office_id"].to_numpy()
        return tuple(str(names[i]) for i in sorted(rows))


def problem_from_model(
    model: AccessModel, *, base: str = "fy2015", weight: str = "population",
    fix: Iterable[str] = (), exclude: Iterable[str] = (), fix_ward_offices: bool = True,
) -> Problem:
    """Return the problem whose candidates are the full counters of a base office set.

    Parameters
    ----------
    model
        Precomputed office -> origin road distances (``geo.engine.Engine.model``).
    base
        ``fy2015`` (5 ward offices and 15 branch counters incl. the 芳野 annex) or ``now``.
        Service corners issue certificates only and are not candidates.
    weight
        ``population`` or ``65plus`` (residents x their share aged 65+).
    fix, exclude
        Office ids fixed open / never opened.
    fix_ward_offices
        Fix the ward offices open (unless excluded explicitly).

    Raises
    ------
    geo.errors.UnknownOfficeError
        For an id that is not a candidate of ``base``.
    """
    if base not in BASES:
        msg = f"unknown office set {base!r}; choose one of {', '.join(BASES)}"
        raise ValueError(msg)
    offices = model.offices
    rows = np.flatnonzero(offices[BASE_COLUMNS[base]].astype(bool).to_numpy()
                          & offices["kind"].isin(FULL_COUNTER_KINDS).to_numpy())
    candidates = offices.iloc[rows][["office_id", "name_ja", "kind"]].reset_index(drop=True)
    candidates["in_fy2015"] = offices["counter_fy2015"].iloc[rows].to_numpy(dtype=bool)
    candidates["open_now"] = offices["counter_now"].iloc[rows].to_numpy(dtype=bool)
    candidates["fixed"] = False
    candidates["excluded"] = False
    origins = model.origins
    share = (origins["share_65plus"].to_numpy(dtype=float) if "share_65plus" in origins
             else np.full(len(origins), np.nan))
    problem = Problem(candidates=candidates,
                      distance_m=model.office_origin_m[rows].astype(float),
                      population=origins["population"].to_numpy(dtype=float),
                      share_65plus=np.nan_to_num(share), weight=weight, base=base)
    return with_choices(problem, fix=fix, exclude=exclude, fix_ward_offices=fix_ward_offices)


def with_choices(
    problem: Problem, *, fix: Iterable[str] = (), exclude: Iterable[str] = (),
    fix_ward_offices: bool = True,
) -> Problem:
    """Return ``problem`` with exactly these candidates fixed open and excluded.

    With ``fix_ward_offices`` the ward offices are fixed open too, unless excluded.

    Raises
    ------
    geo.errors.UnknownOfficeError
        For an id that is not a candidate.
    ValueError
        When an id is both fixed and excluded.
    """
    fix, exclude = set(fix), set(exclude)
    candidates = problem.candidates.copy()
    if fix_ward_offices:
        wards = candidates.loc[candidates["kind"] == "ward_office", "office_id"]
        fix |= set(wards) - exclude
    candidates["fixed"] = False
    candidates["excluded"] = False
    candidates.loc[problem.index(sorted(fix)), "fixed"] = True
    candidates.loc[problem.index(sorted(exclude)), "excluded"] = True
    return replace(problem, candidates=candidates)


def add_candidates(problem: Problem, candidates: pd.DataFrame, distance_m: np.ndarray
                   ) -> Problem:
    """Return ``problem`` with new candidates (schools, new sites) appended.

    Parameters
    ----------
    candidates
        ``office_id, name_ja, kind`` of the new candidates (ids must be new).
    distance_m
        ``(len(candidates), n_origins)`` road distance from each to every origin, metres.
    """
    clash = sorted(set(candidates["office_id"]) & set(problem.candidates["office_id"]))
    if clash:
        msg = f"candidate id(s) already present: {', '.join(clash)}"
        raise ValueError(msg)
    extra = candidates[["office_id", "name_ja", "kind"]].assign(
        in_fy2015=False, open_now=False, fixed=False, excluded=False)
    return replace(problem,
                   candidates=pd.concat([problem.candidates, extra], ignore_index=True),
                   distance_m=np.vstack([problem.distance_m, np.asarray(distance_m, float)]))


def point_distances(eng: Engine, points: gpd.GeoDataFrame) -> np.ndarray:
    """Road distance from each point to every origin of the engine, metres.

    One shortest-path run per point. Raises ``SiteError`` for a point outside the city.

    Returns
    -------
    numpy.ndarray
        ``(len(points), n_origins)`` float64.
    """
    metric = points.to_crs(layers.METRIC_CRS)
    city = layers.city_polygon(eng.data)
    outside = [str(name) for name, point in zip(metric["name_ja"], metric.geometry, strict=True)
               if not city.contains(point)]
    if outside:
        msg = f"site(s) outside Kumamoto City: {', '.join(outside)}"
        raise SiteError(msg)
    origin_anchors = distance.snap_points(eng.origins, eng.graph)
    anchors = distance.snap_points(metric, eng.graph)
    return distance.facility_distances(eng.graph, anchors, origin_anchors).astype(float)


def site_points(sites: Mapping[str, tuple[float, float]]) -> gpd.GeoDataFrame:
    """Return new candidate sites ``name -> (lat, lon)`` (WGS84) as candidate points.

    Ids are ``site:NAME``; kind ``new_site``.
    """
    names = list(sites)
    lat = [sites[name][0] for name in names]
    lon = [sites[name][1] for name in names]
    return gpd.GeoDataFrame(
        {"office_id": [f"site:{name}" for name in names], "name_ja": names, "kind": "new_site"},
        geometry=gpd.points_from_xy(lon, lat), crs=layers.DISPLAY_CRS)


def school_points(data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Return the current elementary schools as candidate points.

    Ids are ``school:ID`` and the kind is ``school``.
    """
    schools = layers.load_schools(data)
    return gpd.GeoDataFrame(
        {"office_id": "school:" + schools["school_id"].astype(str), "name_ja": schools["name"],
         "kind": "school"}, geometry=schools.geometry, crs=schools.crs)


def with_points(problem: Problem, eng: Engine, points: gpd.GeoDataFrame) -> Problem:
    """Return ``problem`` with candidate points (``site_points``, ``school_points``) added."""
    if len(points) == 0:
        return problem
    return add_candidates(problem, pd.DataFrame(points.drop(columns="geometry")),
                          point_distances(eng, points))


@dataclass(frozen=True)
class Solution:
    """One set of open counters and how it was found.

    Attributes
    ----------
    model
        One of ``MODELS``.
    selected
        Ids of the open candidates (fixed ones included), in candidate order.
    objective
        The model's objective (``objective_name``): mean distance (m), weight beyond
        ``within_m``, number of counters open, or largest distance (m).
    figures
        ``solution_figures`` of the set: the same figures for every model.
    method
        ``milp``, ``exhaustive`` or ``heuristic (interchange)``.
    status
        Solver message (``optimal``, ``time limit reached``, ...).
    optimal
        Whether the set is proven optimal (False for the heuristic).
    gap
        Relative optimality gap reported by HiGHS (0 for exhaustive, NaN for the heuristic).
    solve_s
        Wall time of the solve, seconds.
    """

    model: str
    selected: tuple[str, ...]
    objective: float
    objective_name: str
    figures: Mapping[str, float]
    method: str
    status: str
    optimal: bool
    gap: float
    solve_s: float
    within_m: float | None = None

    def summary(self) -> dict[str, float | int | str | bool]:
        """Return the solution as flat ``name -> value`` pairs (for tables and the CLI)."""
        result: dict[str, float | int | str | bool] = {
            "model": self.model, "method": self.method, "status": self.status,
            "optimal": self.optimal, "gap": self.gap, "solve_s": self.solve_s,
            "objective_name": self.objective_name, "objective": self.objective,
            "within_m": np.nan if self.within_m is None else self.within_m,
            "selected": ",".join(self.selected)}
        result.update(self.figures)
        return result


def solution_figures(problem: Problem, rows: Iterable[int], *, within_m: float | None = None
                     ) -> dict[str, float]:
    """Return the figures a planner compares sets by, for the open candidate ``rows``.

    ``open_count``, ``branches_open`` (open candidates that are not ward offices),
    ``mean_distance_m`` and ``mean_distance_65plus_m`` (weighted by residents / residents
    aged 65+; ``mean_distance_km`` is the first in km, as pages show it),
    ``max_distance_m`` (over origins with residents), ``people_beyond_5km``,
    ``people_65plus_beyond_2km`` and, with ``within_m``, ``people_beyond_within``. An origin
    reaching no open candidate counts as beyond every distance.
    """
    rows = np.asarray(sorted(rows), dtype=np.int64)
    nearest = (problem.distance_m[rows].min(axis=0) if len(rows)
               else np.full(problem.distance_m.shape[1], np.inf))
    people = problem.population
    elderly = people * problem.share_65plus
    lived = people > 0
    kinds = problem.candidates["kind"].to_numpy()[rows]
    mean_m = _weighted_mean(nearest, people)
    figures = {
        "open_count": float(len(rows)),
        "branches_open": float((kinds != "ward_office").sum()),
        "mean_distance_m": mean_m,
        "mean_distance_km": mean_m / 1000.0,
        "mean_distance_65plus_m": _weighted_mean(nearest, elderly),
        "max_distance_m": float(nearest[lived].max()) if lived.any() else 0.0,
        "people_beyond_5km": float(people[nearest > FAR_M].sum()),
        "people_65plus_beyond_2km": float(elderly[nearest > ELDERLY_FAR_M].sum()),
    }
    if within_m is not None:
        figures["people_beyond_within"] = float(people[nearest > within_m].sum())
    return figures


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = weights.sum()
    if total <= 0:
        return float("nan")
    if np.isinf(values[weights > 0]).any():
        return float("inf")
    return float(np.dot(np.where(weights > 0, values, 0.0), weights) / total)


@dataclass(frozen=True)
class _Objective:
    """A model as a cost matrix aggregated by a weighted sum or by a maximum."""

    cost: np.ndarray
    weights: np.ndarray
    aggregate: str

    def of(self, nearest: np.ndarray) -> np.ndarray:
        """Objective of each row of ``nearest`` (``(k, n_origins)`` nearest costs)."""
        if self.aggregate == "max":
            farthest: np.ndarray = np.where(self.weights > 0, nearest, 0.0).max(axis=-1)
            return farthest
        total: np.ndarray = np.where(self.weights > 0, nearest, 0.0) @ self.weights
        return total


def _objective(problem: Problem, model: str, within_m: float | None) -> _Objective:
    weights = problem.weights
    if model == "p-median":
        return _Objective(problem.distance_m, weights / weights.sum(), "sum")
    if model == "coverage":
        return _Objective((problem.distance_m > _need_within(model, within_m)).astype(float),
                          weights, "sum")
    if model == "p-center":
        return _Objective(problem.distance_m, (weights > 0).astype(float), "max")
    msg = f"unknown model {model!r}; choose one of {', '.join(MODELS)}"
    raise ValueError(msg)


def _need_within(model: str, within_m: float | None) -> float:
    if within_m is None or not within_m > 0:
        msg = f"the {model} model needs a positive distance within_m"
        raise ValueError(msg)
    return float(within_m)


def _free_count(problem: Problem, open_count: int) -> int:
    low, high = problem.open_range
    if not low <= open_count <= high:
        msg = (f"cannot open {open_count} counters: between {low} (fixed open) and {high} "
               f"(not excluded) can be open")
        raise ValueError(msg)
    return open_count - low


def _merge_origins(cost: np.ndarray, weights: np.ndarray, baseline: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge origins with the same cost profile (free candidates and baseline); drop unweighted."""
    kept = weights > 0
    cost, weights, baseline = cost[:, kept], weights[kept], baseline[kept]
    relevant = np.where(cost < baseline[None, :], cost, np.inf)
    profiles, inverse = np.unique(np.vstack([relevant, baseline]).T, axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=weights, minlength=len(profiles))
    return profiles[:, :-1].T, merged, profiles[:, -1]


def _outcome(result: OptimizeResult) -> tuple[str, bool, float]:
    """Status text, whether proven optimal, and the relative gap of a ``milp`` result."""
    if result.x is None:
        msg = f"the solver found no solution: {result.message}"
        raise InfeasibleError(msg) if result.status == 2 else MadoguchiError(msg)
    gap = float(getattr(result, "mip_gap", np.nan) or 0.0)
    if result.status == 0:
        return "optimal", True, gap
    return str(result.message), False, gap


def _milp_assignment(problem: Problem, objective: _Objective, n_free_open: int,
                     cuts: Sequence[Iterable[int]] = (), time_limit_s: float = 60.0
                     ) -> tuple[tuple[int, ...], float, str, bool, float]:
    """Solve an assignment MILP: open ``n_free_open`` free candidates, serve each origin.

    Variables: ``y_j`` (free candidate j open), ``x_pi`` (origin i served by the p-th
    candidate closer than its nearest fixed-open one), and for a maximum a bound ``z``.
    Origins never closer to a free candidate than to a fixed one only add a constant.
    """
    free = problem.free
    fixed = problem.fixed
    baseline = (objective.cost[fixed].min(axis=0) if fixed.any()
                else np.full(objective.cost.shape[1], np.inf))
    cost, weights, baseline = _merge_origins(objective.cost[free], objective.weights, baseline)
    reachable = np.isfinite(baseline) | np.isfinite(cost).any(axis=0)
    if not reachable.all():
        msg = f"{int((~reachable).sum())} origin(s) with residents reach no candidate"
        raise InfeasibleError(msg)
    floor = np.where(np.isfinite(baseline), baseline, 0.0)
    cand, orig = np.nonzero(cost < baseline[None, :])
    n_free, n_pairs, n_orig = len(free), len(cand), len(weights)
    is_max = objective.aggregate == "max"
    n_vars = n_free + n_pairs + int(is_max)
    pair_cols = n_free + np.arange(n_pairs)
    gain = cost[cand, orig] - floor[orig]
    c = np.zeros(n_vars)
    if is_max:
        c[-1] = 1.0
    else:
        c[pair_cols] = weights[orig] * gain
    blocks = [
        _rows(csr_matrix((np.ones(n_free), (np.zeros(n_free), np.arange(n_free))), (1, n_vars)),
              n_free_open, n_free_open),
        _rows(coo_matrix((np.ones(n_pairs), (orig, pair_cols)), (n_orig, n_vars)),
              np.where(np.isfinite(baseline), 0.0, 1.0), 1.0),
        _rows(coo_matrix((np.r_[np.ones(n_pairs), -np.ones(n_pairs)],
                          (np.r_[np.arange(n_pairs), np.arange(n_pairs)], np.r_[pair_cols, cand])),
                         (n_pairs, n_vars)), -np.inf, 0.0),
    ]
    if is_max:
        rows = np.r_[orig, np.arange(n_orig)]
        cols = np.r_[pair_cols, np.full(n_orig, n_vars - 1)]
        values = np.r_[gain, -np.ones(n_orig)]
        blocks.append(_rows(coo_matrix((values, (rows, cols)), (n_orig, n_vars)), -np.inf,
                            -floor))
    blocks += [_no_good_cut(free, rows, n_vars) for rows in cuts]
    matrix = vstack([block[0] for block in blocks]).tocsr()
    lower = np.concatenate([block[1] for block in blocks])
    upper = np.concatenate([block[2] for block in blocks])
    integrality = np.zeros(n_vars)
    integrality[:n_free] = 1
    upper_bounds = np.ones(n_vars)
    if is_max:
        upper_bounds[-1] = np.inf
    started = time.perf_counter()
    result = milp(c, constraints=LinearConstraint(matrix, lower, upper),
                  integrality=integrality, bounds=Bounds(np.zeros(n_vars), upper_bounds),
                  options={"time_limit": time_limit_s, "mip_rel_gap": _MILP_GAP})
    elapsed = time.perf_counter() - started
    status, optimal, gap = _outcome(result)
    chosen = free[np.flatnonzero(result.x[:n_free] > 0.5)]
    rows = tuple(sorted([*np.flatnonzero(fixed), *chosen]))
    return rows, elapsed, status, optimal, gap


_Rows = tuple[csr_matrix, np.ndarray, np.ndarray]


def _rows(matrix: csr_matrix | np.ndarray, lower: float | np.ndarray,
          upper: float | np.ndarray) -> _Rows:
    """Constraint rows ``lower <= matrix @ x <= upper`` with the bounds as arrays."""
    matrix = csr_matrix(matrix)
    size = matrix.shape[0]
    return (matrix, np.broadcast_to(np.asarray(lower, dtype=float), size),
            np.broadcast_to(np.asarray(upper, dtype=float), size))


def _no_good_cut(free: np.ndarray, rows: Iterable[int], n_vars: int) -> _Rows:
    """``sum of y over a found set <= its size - 1``: forbids exactly that set again."""
    position = {int(r): k for k, r in enumerate(free)}
    cols = [position[int(r)] for r in rows if int(r) in position]
    row = csr_matrix((np.ones(len(cols)), (np.zeros(len(cols)), cols)), (1, n_vars))
    return _rows(row, -np.inf, len(cols) - 1.0)


def _make_solution(problem: Problem, model: str, rows: Iterable[int], *, method: str,
                   status: str, optimal: bool, gap: float, solve_s: float,
                   within_m: float | None) -> Solution:
    rows = tuple(sorted(int(r) for r in rows))
    figures = solution_figures(problem, rows, within_m=within_m)
    if model == "set-cover":
        value = figures["open_count"]
    else:
        objective = _objective(problem, model, within_m)
        value = float(objective.of(objective.cost[list(rows)].min(axis=0)))
    return Solution(model=model, selected=problem.ids(rows), objective=value,
                    objective_name=_OBJECTIVE_NAMES[model], figures=figures, method=method,
                    status=status, optimal=optimal, gap=gap, solve_s=solve_s,
                    within_m=within_m)


def solve(
    problem: Problem, model: str, *, open_count: int | None = None,
    within_m: float | None = None, share: float = 1.0, time_limit_s: float = 60.0,
) -> Solution:
    """Find the optimal set of open counters with a MILP (HiGHS through ``scipy.optimize.milp``).

    Parameters
    ----------
    problem
        Candidates, distances and weights.
    model
        ``p-median``, ``coverage``, ``set-cover`` or ``p-center``.
    open_count
        Counters open in all, fixed ones included (not used by ``set-cover``).
    within_m
        Distance of ``coverage`` and ``set-cover``, metres.
    share
        ``set-cover``: share (0-1] of the weight that must be within ``within_m``.
    time_limit_s
        Solver time limit; a solve stopped by it reports ``optimal=False`` and its gap.

    Returns
    -------
    Solution

    Raises
    ------
    geo.errors.InfeasibleError
        When no set satisfies the model (an origin reaches no candidate, or the cover
        cannot be reached).
    ValueError
        For an unknown model or an ``open_count`` outside ``problem.open_range``.
    """
    if model == "set-cover":
        return _solve_set_cover(problem, _need_within(model, within_m), share, time_limit_s)
    objective = _objective(problem, model, within_m)
    n_free_open = _free_count(problem, _need_count(model, open_count))
    rows, elapsed, status, optimal, gap = _milp_assignment(problem, objective, n_free_open,
                                                           time_limit_s=time_limit_s)
    return _make_solution(problem, model, rows, method="milp", status=status, optimal=optimal,
                          gap=gap, solve_s=elapsed, within_m=within_m)


def _need_count(model: str, open_count: int | None) -> int:
    if open_count is None:
        msg = f"the {model} model needs the number of counters to open"
        raise ValueError(msg)
    return int(open_count)


def _cover_inputs(problem: Problem, within_m: float, share: float
                  ) -> tuple[np.ndarray, np.ndarray, float]:
    """Coverage of the origins the fixed counters leave uncovered, and the weight still needed."""
    if not 0.0 < share <= 1.0:
        msg = f"share must be in (0, 1], got {share}"
        raise ValueError(msg)
    weights = problem.weights
    within = problem.distance_m <= within_m
    covered_fixed = within[problem.fixed].any(axis=0)
    open_origins = ~covered_fixed & (weights > 0)
    need = share * weights.sum() - weights[covered_fixed].sum()
    cover = within[np.ix_(problem.free, open_origins)]
    coverable = weights[open_origins][cover.any(axis=0)].sum()
    if need > coverable * (1 + 1e-12) + 1e-9:
        best = (weights[covered_fixed].sum() + coverable) / weights.sum()
        msg = (f"no set of counters brings {share:.1%} of the weight within {within_m:g} m: "
               f"at most {best:.1%} can be")
        raise InfeasibleError(msg)
    return cover, weights[open_origins], need


def _solve_set_cover(problem: Problem, within_m: float, share: float, time_limit_s: float
                     ) -> Solution:
    cover, weights, need = _cover_inputs(problem, within_m, share)
    profiles, inverse = np.unique(cover.T, axis=0, return_inverse=True)
    weights = np.bincount(inverse.ravel(), weights=weights, minlength=len(profiles))
    n_free, n_orig = cover.shape[0], len(profiles)
    full = share >= 1.0
    if full:
        matrix = csr_matrix(profiles.astype(float))
        constraints = LinearConstraint(matrix, np.ones(n_orig), np.inf)
        n_vars = n_free
    else:
        n_vars = n_free + n_orig
        link = csr_matrix(np.hstack([-profiles.astype(float), np.eye(n_orig)]))
        total = csr_matrix(np.r_[np.zeros(n_free), weights][None, :])
        constraints = LinearConstraint(vstack([link, total]).tocsr(),
                                       np.r_[np.full(n_orig, -np.inf), need],
                                       np.r_[np.zeros(n_orig), np.inf])
    c = np.r_[np.ones(n_free), np.zeros(n_vars - n_free)]
    integrality = np.r_[np.ones(n_free), np.zeros(n_vars - n_free)]
    started = time.perf_counter()
    result = milp(c, constraints=constraints, integrality=integrality,
                  bounds=Bounds(0, 1), options={"time_limit": time_limit_s,
                                                "mip_rel_gap": _MILP_GAP})
    elapsed = time.perf_counter() - started
    status, optimal, gap = _outcome(result)
    chosen = problem.free[np.flatnonzero(result.x[:n_free] > 0.5)]
    rows = [*np.flatnonzero(problem.fixed), *chosen]
    return _make_solution(problem, "set-cover", rows, method="milp", status=status,
                          optimal=optimal, gap=gap, solve_s=elapsed, within_m=within_m)


def _set_values(objective: _Objective, fixed_rows: np.ndarray, sets: np.ndarray,
                chunk: int = 256) -> np.ndarray:
    """Objective of every set of free rows (one set per row of ``sets``), in chunks."""
    baseline = (objective.cost[fixed_rows].min(axis=0) if len(fixed_rows)
                else np.full(objective.cost.shape[1], np.inf))
    values = np.empty(len(sets))
    for start in range(0, len(sets), chunk):
        block = sets[start:start + chunk]
        nearest = (np.minimum(objective.cost[block].min(axis=1), baseline) if block.shape[1]
                   else np.broadcast_to(baseline, (len(block), len(baseline))))
        values[start:start + chunk] = objective.of(nearest)
    return values


def _require_finite(value: float) -> None:
    if not np.isfinite(value):
        msg = "every set leaves some residents with no reachable counter"
        raise InfeasibleError(msg)


def _all_sets(problem: Problem, n_free_open: int) -> np.ndarray:
    free = problem.free
    combos = list(itertools.combinations(free.tolist(), n_free_open))
    return np.array(combos, dtype=np.int64).reshape(len(combos), n_free_open)


def solve_exhaustive(
    problem: Problem, model: str, *, open_count: int | None = None,
    within_m: float | None = None, share: float = 1.0,
) -> Solution:
    """Find the optimal set by trying every one (small questions, and to check ``solve``).

    ``set-cover`` tries sizes from the fixed count upwards until one meets the cover. Ties
    go to the first set in candidate order. Same parameters and result as ``solve``.
    """
    started = time.perf_counter()
    fixed_rows = np.flatnonzero(problem.fixed)
    if model == "set-cover":
        rows = _exhaustive_cover(problem, _need_within(model, within_m), share)
    else:
        objective = _objective(problem, model, within_m)
        sets = _all_sets(problem, _free_count(problem, _need_count(model, open_count)))
        values = _set_values(objective, fixed_rows, sets)
        _require_finite(float(values.min()))
        rows = [*fixed_rows, *sets[int(np.argmin(values))]]
    return _make_solution(problem, model, rows, method="exhaustive", status="optimal",
                          optimal=True, gap=0.0, solve_s=time.perf_counter() - started,
                          within_m=within_m)


def _exhaustive_cover(problem: Problem, within_m: float, share: float) -> list[int]:
    cover, weights, need = _cover_inputs(problem, within_m, share)
    fixed_rows = np.flatnonzero(problem.fixed)
    for size in range(cover.shape[0] + 1):
        for combo in itertools.combinations(range(cover.shape[0]), size):
            covered = cover[list(combo)].any(axis=0)
            if weights[covered].sum() >= need - 1e-9 * max(need, 1.0):
                return [*fixed_rows, *problem.free[list(combo)]]
    msg = f"no set of counters meets the cover within {within_m:g} m"
    raise InfeasibleError(msg)


def solve_heuristic(
    problem: Problem, model: str, *, open_count: int | None = None,
    within_m: float | None = None,
) -> Solution:
    """Find a good set by greedy adding, then Teitz-Bart drop/swap interchange (a heuristic).

    Starting from the fixed counters, the free candidate that most improves the objective is
    added until ``open_count`` are open; then any open free candidate is swapped for a closed
    one while a swap improves the objective. The result is a local optimum: ``optimal`` is
    False and ``gap`` NaN, whatever its value. Not offered for ``set-cover``.
    """
    if model == "set-cover":
        msg = "the interchange heuristic needs a number of counters; use solve for set-cover"
        raise ValueError(msg)
    started = time.perf_counter()
    objective = _objective(problem, model, within_m)
    n_free_open = _free_count(problem, _need_count(model, open_count))
    fixed_rows = np.flatnonzero(problem.fixed)
    chosen: list[int] = []
    for _ in range(n_free_open):
        options = [r for r in problem.free if r not in chosen]
        values = _set_values(objective, fixed_rows, np.array([[*chosen, r] for r in options]))
        chosen.append(int(options[int(np.argmin(values))]))
    best = float(_set_values(objective, fixed_rows, np.array([chosen]))[0])
    _require_finite(best)
    improved = bool(chosen)
    while improved:
        improved = False
        swaps = [(k, r) for k in range(len(chosen)) for r in problem.free if r not in chosen]
        sets = np.array([[*chosen[:k], int(r), *chosen[k + 1:]] for k, r in swaps])
        if not len(sets):
            break
        values = _set_values(objective, fixed_rows, sets)
        if values.min() < best - 1e-9 * max(abs(best), 1.0):
            best = float(values.min())
            chosen = sets[int(np.argmin(values))].tolist()
            improved = True
    return _make_solution(problem, model, [*fixed_rows, *chosen],
                          method="heuristic (interchange)", status="local optimum",
                          optimal=False, gap=float("nan"),
                          solve_s=time.perf_counter() - started, within_m=within_m)


@dataclass(frozen=True)
class NearTies:
    """Sets whose objective is within ``tolerance`` of the optimum.

    Attributes
    ----------
    table
        One row per set, best first (the optimum first): ``rank, selected, objective,
        above_optimum_pct`` (how much worse, in % of what ``tolerance`` is relative to)
        and the ``solution_figures``.
    method
        ``enumeration`` (every set tried: the list is complete) or ``milp no-good cuts``
        (repeated MILP, each forbidding the sets already found).
    complete
        False when the list stopped at ``max_sets`` before leaving the tolerance.
    tolerance
        Relative tolerance (0.01 = 1 %): of the optimum for p-median and p-center, of
        the optimal weight within ``within_m`` for coverage.
    """

    table: pd.DataFrame
    method: str
    complete: bool
    tolerance: float


def near_ties(
    problem: Problem, model: str, *, open_count: int | None = None,
    within_m: float | None = None, tolerance: float = NEAR_TIE_TOLERANCE,
    max_sets: int = MAX_NEAR_TIES, enumeration_limit: int = ENUMERATION_LIMIT,
) -> NearTies:
    """List the sets of ``open_count`` counters within ``tolerance`` of the optimum.

    Every set is tried when there are at most ``enumeration_limit``; otherwise the MILP is
    solved again with a no-good cut per set found until the objective leaves the tolerance
    or ``max_sets`` sets are listed. For coverage the tolerance applies to the weight
    within ``within_m`` (1 % fewer people covered). Not offered for ``set-cover``.
    """
    if model == "set-cover":
        msg = "near-ties are listed for p-median, coverage and p-center"
        raise ValueError(msg)
    objective = _objective(problem, model, within_m)
    n_free_open = _free_count(problem, _need_count(model, open_count))
    fixed_rows = np.flatnonzero(problem.fixed)
    if math.comb(len(problem.free), n_free_open) <= enumeration_limit:
        sets = _all_sets(problem, n_free_open)
        values = _set_values(objective, fixed_rows, sets)
        limit = _tie_limit(objective, model, float(values.min()), tolerance)
        order = np.argsort(values, kind="stable")
        order = order[values[order] <= limit]
        found = [[*fixed_rows, *sets[k]] for k in order[:max_sets]]
        method, complete = "enumeration", len(order) <= max_sets
    else:
        found, complete = _ties_by_cuts(problem, objective, model, n_free_open, tolerance,
                                        max_sets)
        method = "milp no-good cuts"
    table = _ties_table(problem, model, found, within_m)
    return NearTies(table=table, method=method, complete=complete, tolerance=tolerance)


def _tie_limit(objective: _Objective, model: str, best: float, tolerance: float) -> float:
    if model == "coverage":
        covered = float(objective.weights.sum()) - best
        return best + tolerance * covered + 1e-9
    return best + tolerance * abs(best) + 1e-9


def _ties_by_cuts(problem: Problem, objective: _Objective, model: str, n_free_open: int,
                  tolerance: float, max_sets: int) -> tuple[list[list[int]], bool]:
    found: list[list[int]] = []
    fixed_rows = np.flatnonzero(problem.fixed)
    limit = None
    while len(found) < max_sets:
        try:
            rows, *_ = _milp_assignment(problem, objective, n_free_open,
                                        cuts=[r[len(fixed_rows):] for r in found])
        except InfeasibleError:
            return found, True
        value = float(objective.of(objective.cost[list(rows)].min(axis=0)))
        limit = _tie_limit(objective, model, value, tolerance) if limit is None else limit
        if value > limit:
            return found, True
        found.append([*fixed_rows, *[r for r in rows if r not in set(fixed_rows)]])
    return found, False


def _ties_table(problem: Problem, model: str, found: list[list[int]],
                within_m: float | None) -> pd.DataFrame:
    records = []
    for rank, rows in enumerate(found, start=1):
        solution = _make_solution(problem, model, rows, method="", status="", optimal=False,
                                  gap=np.nan, solve_s=0.0, within_m=within_m)
        records.append({"rank": rank, "selected": ",".join(solution.selected),
                        "objective": solution.objective} | dict(solution.figures))
    table = pd.DataFrame(records)
    if len(table):
        best = float(table["objective"].iloc[0])
        scale = problem.weights.sum() - best if model == "coverage" else abs(best)
        table.insert(3, "above_optimum_pct",
                     100.0 * (table["objective"] - best) / scale if scale else 0.0)
    return table


def reference_sets(problem: Problem) -> dict[str, tuple[str, ...]]:
    """Return the city's real choices that are sets of ``problem``'s candidates.

    ``fy2015`` (every FY2015 counter), ``plan2015`` (FY2015 minus the 2015 plan's official
    closures ``PLAN_2015_CLOSURES``) and ``now`` (today's counters per the register; the
    森都心 service corner is not a counter candidate, so it counts as closed). A set with a
    counter that is not a candidate (e.g. the FY2015 set of a ``now`` problem) is left out.
    """
    table = problem.candidates
    offices = table[~table["kind"].isin(("school", "new_site"))]
    known = set(table["office_id"])
    fy2015 = offices.loc[offices["in_fy2015"], "office_id"].tolist()
    sets = {"fy2015": fy2015,
            "plan2015": [oid for oid in fy2015 if oid not in PLAN_2015_CLOSURES],
            "now": offices.loc[offices["open_now"], "office_id"].tolist()}
    whole = {"fy2015": problem.base == "fy2015", "plan2015": problem.base == "fy2015",
             "now": True}
    return {name: problem.ids(problem.index(ids)) for name, ids in sets.items()
            if whole[name] and set(ids) <= known}


def frontier(
    problem: Problem, model: str, *, within_m: float | None = None,
    time_limit_s: float = 60.0,
) -> pd.DataFrame:
    """Return the optimal set and its figures for every number of counters open.

    One MILP per count from the fixed count to every candidate, then the city's real
    choices (``reference_sets``) with the same figures.

    Returns
    -------
    pandas.DataFrame
        One row per count then per real choice: ``label`` (``optimal`` or the set's name),
        ``objective``, ``optimal``, ``gap``, ``solve_s``, ``selected`` and the
        ``solution_figures``.
    """
    if model == "set-cover":
        msg = "the frontier varies the number of counters: use p-median, coverage or p-center"
        raise ValueError(msg)
    low, high = problem.open_range
    records = []
    for count in range(low, high + 1):
        solution = solve(problem, model, open_count=count, within_m=within_m,
                         time_limit_s=time_limit_s)
        records.append(_frontier_row("optimal", solution))
    for name, ids in reference_sets(problem).items():
        solution = _make_solution(problem, model, problem.index(ids), method="given",
                                  status="", optimal=False, gap=np.nan, solve_s=0.0,
                                  within_m=within_m)
        records.append(_frontier_row(name, solution))
    return pd.DataFrame(records)


def _frontier_row(label: str, solution: Solution) -> dict[str, object]:
    return {"label": label, "objective": solution.objective, "optimal": solution.optimal,
            "gap": solution.gap, "solve_s": solution.solve_s,
            "selected": ",".join(solution.selected)} | dict(solution.figures)


def _base_open(problem: Problem) -> np.ndarray:
    """Candidates open in the problem's base office set (never schools or new sites)."""
    column = "in_fy2015" if problem.base == "fy2015" else "open_now"
    return problem.candidates[column].to_numpy(dtype=bool)


def _predicted_loads(problem: Problem, fit: demand.DemandFit, is_open: np.ndarray
                     ) -> np.ndarray:
    """Annual transactions at each candidate when ``is_open`` are open (0 when closed)."""
    classes = problem.candidates["kind"].map(fit.kind_classes).fillna("branch").to_numpy()
    return demand.expected_load(fit.params, problem.distance_m, problem.population, classes,
                                is_open, is_open, certificate_share=fit.certificate_share)


def _overloaded(before: np.ndarray, after: np.ndarray, before_open: np.ndarray,
                after_open: np.ndarray, max_growth: float) -> np.ndarray:
    overloaded: np.ndarray = before_open & after_open & (after > (1.0 + max_growth) * before)
    return overloaded


def counter_loads(
    problem: Problem, solution: Solution, fit: demand.DemandFit, *,
    max_growth: float = MAX_GROWTH, allow_poor_fit: bool = False,
) -> pd.DataFrame:
    """Predict each open counter's annual transactions under a solution (Huff demand model).

    "Before" is the base office set's counters among the candidates, all open; "after" is
    the solution. Schools and new sites take the branch class. Only counter candidates are
    open: the certificate-only service corners are left out of both. A counter whose load
    grows by more than ``max_growth`` (0.5 = +50 %) is flagged ``overloaded``; a new
    counter has no "before" and is never flagged.

    Returns
    -------
    pandas.DataFrame
        One row per candidate open before or after: ``office_id, name_ja, kind, selected,
        predicted_before, predicted_after, change_pct, overloaded``.

    Raises
    ------
    geo.errors.PoorFitError
        When the fit is not ``ok`` and ``allow_poor_fit`` is False.
    """
    if not allow_poor_fit:
        fit.require_ok()
    before_open = _base_open(problem)
    after_open = problem.candidates["office_id"].isin(solution.selected).to_numpy()
    before = _predicted_loads(problem, fit, before_open)
    after = _predicted_loads(problem, fit, after_open)
    rows = before_open | after_open
    result = problem.candidates.loc[rows, ["office_id", "name_ja", "kind"]].copy()
    result["selected"] = after_open[rows]
    result["predicted_before"] = np.where(before_open, before, np.nan)[rows]
    result["predicted_after"] = np.where(after_open, after, 0.0)[rows]
    result["change_pct"] = 100.0 * (result["predicted_after"] / result["predicted_before"] - 1)
    result["overloaded"] = _overloaded(before, after, before_open, after_open, max_growth)[rows]
    return result.reset_index(drop=True)


def solve_capacitated(
    problem: Problem, model: str, fit: demand.DemandFit, *, open_count: int,
    within_m: float | None = None, max_growth: float = MAX_GROWTH,
    enumeration_limit: int = ENUMERATION_LIMIT, allow_poor_fit: bool = False,
) -> Solution:
    """Find the best set of ``open_count`` counters that overloads none (exact, by enumeration).

    The sets are tried from the best objective down; the first whose predicted loads
    (``counter_loads``) grow no counter by more than ``max_growth`` is returned. The Huff
    loads are not linear in the set, so this is an enumeration, not a MILP: it is refused
    above ``enumeration_limit`` sets. Not offered for ``set-cover``.

    Raises
    ------
    geo.errors.InfeasibleError
        When every set overloads a counter.
    ValueError
        When there are more than ``enumeration_limit`` sets.
    """
    if not allow_poor_fit:
        fit.require_ok()
    objective = _objective(problem, model, within_m)
    n_free_open = _free_count(problem, open_count)
    count = math.comb(len(problem.free), n_free_open)
    if count > enumeration_limit:
        msg = (f"{count:,} sets of {open_count} counters: too many to check every counter's "
               f"load (at most {enumeration_limit:,})")
        raise ValueError(msg)
    started = time.perf_counter()
    fixed_rows = np.flatnonzero(problem.fixed)
    sets = _all_sets(problem, n_free_open)
    values = _set_values(objective, fixed_rows, sets)
    before_open = _base_open(problem)
    before = _predicted_loads(problem, fit, before_open)
    for k in np.argsort(values, kind="stable"):
        after_open = np.zeros(len(problem.candidates), dtype=bool)
        after_open[[*fixed_rows, *sets[k]]] = True
        after = _predicted_loads(problem, fit, after_open)
        if not _overloaded(before, after, before_open, after_open, max_growth).any():
            return _make_solution(problem, model, np.flatnonzero(after_open),
                                  method="exhaustive (capacity-checked)", status="optimal",
                                  optimal=True, gap=0.0,
                                  solve_s=time.perf_counter() - started, within_m=within_m)
    msg = (f"every set of {open_count} counters grows some counter's predicted load by more "
           f"than {max_growth:.0%}")
    raise InfeasibleError(msg)


def as_question(problem: Problem, solution: Solution) -> Question:
    """Return a solution as a question about its base office set (``geo.question``): the
    counters it does not keep closed, for ``geo.study.evaluate``.

    The base counters that are candidates and not selected close; everything else in the
    base set (e.g. certificate-only service corners) is left as it is.

    Raises
    ------
    ValueError
        When the solution opens a school or a new site: a scenario only closes offices.
    """
    new = problem.candidates["kind"].isin(("school", "new_site")).to_numpy()
    opened = sorted(set(solution.selected) & set(problem.candidates["office_id"][new]))
    if opened:
        msg = f"a scenario cannot open new counters: {', '.join(opened)}"
        raise ValueError(msg)
    base = problem.candidates["office_id"][_base_open(problem)]
    return Question(base=problem.base, closed=frozenset(set(base) - set(solution.selected)))


def candidate_table(problem: Problem, solution: Solution) -> pd.DataFrame:
    """Return one row per candidate: whether it is open and whom it serves.

    Columns ``office_id, name_ja, kind, fixed, excluded, selected``, then ``people_served``,
    ``people_65plus_served`` (residents whose nearest open counter it is) and
    ``mean_distance_served_m`` (also ``mean_distance_served_km``).
    """
    table = problem.candidates[["office_id", "name_ja", "kind", "fixed", "excluded"]].copy()
    selected = problem.index(solution.selected)
    table["selected"] = table.index.isin(selected)
    if not len(selected):
        return table.assign(people_served=0.0, people_65plus_served=0.0,
                            mean_distance_served_m=np.nan, mean_distance_served_km=np.nan)
    served_by = selected[np.argmin(problem.distance_m[selected], axis=0)]
    nearest = problem.distance_m[selected].min(axis=0)
    people = problem.population
    counts = len(table)
    served = np.bincount(served_by, weights=people, minlength=counts)
    table["people_served"] = served
    table["people_65plus_served"] = np.bincount(
        served_by, weights=people * problem.share_65plus, minlength=counts)
    distance_sum = np.bincount(served_by, weights=people * np.where(np.isfinite(nearest),
                                                                   nearest, 0.0),
                               minlength=counts)
    table["mean_distance_served_m"] = np.divide(distance_sum, served,
                                                out=np.full(counts, np.nan), where=served > 0)
    table["mean_distance_served_km"] = table["mean_distance_served_m"] / 1000.0
    return table
