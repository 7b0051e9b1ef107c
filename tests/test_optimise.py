"""Location-allocation: hand-made problems with known optima, and the real bundle."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo import cli, optimise
from geo.errors import InfeasibleError, SiteError, UnknownOfficeError

# A road along a line: candidates A (ward office) at 0 m, B at 10, C at 20, D at 30; origins at
# 0 m (1 person), 12 m (1) and 30 m (10). With A fixed open and one more counter:
#   A+B: distances 0, 2, 20 -> weighted sum 202, max 20, within 10 m: 2 people
#   A+C: 0, 8, 10           -> sum 108, max 10, within 10 m: 12, within 5 m: 1
#   A+D: 0, 12, 0           -> sum 12,  max 12, within 10 m: 11, within 5 m: 11
CANDIDATE_M = np.array([0.0, 10.0, 20.0, 30.0])
ORIGIN_M = np.array([0.0, 12.0, 30.0])
POPULATION = np.array([1.0, 1.0, 10.0])


def line_problem(*, share_65plus=(1.0, 1.0, 1.0), weight="population", fix=("A",),
                 exclude=()) -> optimise.Problem:
    candidates = pd.DataFrame({
        "office_id": list("ABCD"), "name_ja": list("ABCD"),
        "kind": ["ward_office", "branch", "branch", "branch"],
        "in_fy2015": True, "open_now": [True, True, False, False],
        "fixed": False, "excluded": False})
    problem = optimise.Problem(
        candidates=candidates, distance_m=np.abs(CANDIDATE_M[:, None] - ORIGIN_M[None, :]),
        population=POPULATION, share_65plus=np.asarray(share_65plus), weight=weight)
    return optimise.with_choices(problem, fix=fix, exclude=exclude, fix_ward_offices=False)


@pytest.mark.parametrize("solver", [optimise.solve, optimise.solve_exhaustive,
                                    optimise.solve_heuristic])
@pytest.mark.parametrize(("model", "within_m", "best", "objective"), [
    ("p-median", None, ("A", "D"), 12.0 / 12.0),
    ("p-center", None, ("A", "C"), 10.0),
    ("coverage", 10.0, ("A", "C"), 0.0),
    ("coverage", 5.0, ("A", "D"), 1.0),
])
def test_known_optimum_of_each_model(solver, model, within_m, best, objective):
    solution = solver(line_problem(), model, open_count=2, within_m=within_m)
    assert solution.selected == best
    assert solution.objective == pytest.approx(objective)


def test_exact_solvers_say_optimal_and_the_heuristic_does_not():
    exact = optimise.solve(line_problem(), "p-median", open_count=2)
    heuristic = optimise.solve_heuristic(line_problem(), "p-median", open_count=2)
    assert exact.method == "milp" and exact.optimal and exact.gap == pytest.approx(0.0)
    assert heuristic.method.startswith("heuristic") and not heuristic.optimal
    assert math.isnan(heuristic.gap)


def test_65plus_weighting_moves_the_optimum_to_where_the_elderly_live():
    # only the person at 12 m is 65+: B (2 m away) beats C (8 m) and D (12 m).
    problem = line_problem(share_65plus=(0.0, 1.0, 0.0), weight="65plus")
    assert optimise.solve(problem, "p-median", open_count=2).selected == ("A", "B")


def test_excluded_and_fixed_candidates_are_respected():
    assert optimise.solve(line_problem(exclude=("D",)), "p-median",
                          open_count=2).selected == ("A", "C")
    # B fixed as well: the third counter is D (weighted sum 2) rather than C (102)
    solution = optimise.solve(line_problem(fix=("A", "B")), "p-median", open_count=3)
    assert solution.selected == ("A", "B", "D")
    assert solution.figures["mean_distance_m"] == pytest.approx(2.0 / 12.0)
    assert solution.figures["mean_distance_km"] == pytest.approx(2.0 / 12.0 / 1000)


@pytest.mark.parametrize("solver", [optimise.solve, optimise.solve_exhaustive])
@pytest.mark.parametrize(("within_m", "share", "best"), [
    (10.0, 1.0, ("A", "C")),        # C covers 12 m and 30 m
    (5.0, 1.0, ("A", "B", "D")),    # 12 m needs B, 30 m needs D
    (5.0, 0.9, ("A", "D")),         # 11 of 12 people within 5 m is enough
])
def test_set_cover_finds_the_fewest_counters(solver, within_m, share, best):
    solution = solver(line_problem(), "set-cover", within_m=within_m, share=share)
    assert solution.selected == best
    assert solution.objective == len(best)


def test_set_cover_that_cannot_be_met_is_an_error():
    # without B nobody can bring the person at 12 m within 5 m: 11 of 12 people at most
    with pytest.raises(InfeasibleError, match=r"at most 91\.7%"):
        optimise.solve(line_problem(exclude=("B",)), "set-cover", within_m=5.0)


def test_origin_reaching_no_candidate_is_an_error():
    problem = line_problem(fix=())
    distance_m = problem.distance_m.copy()
    distance_m[:, 2] = np.inf
    with pytest.raises(InfeasibleError, match="reach no candidate"):
        optimise.solve(optimise.Problem(candidates=problem.candidates, distance_m=distance_m,
                                        population=POPULATION, share_65plus=np.ones(3)),
                       "p-median", open_count=2)


def test_sets_that_leave_residents_unreachable_are_infeasible_for_every_solver():
    # no fixed counter; the person at 30 m reaches only D, the one at 0 m only A: one
    # counter cannot serve both
    problem = line_problem(fix=())
    distance_m = problem.distance_m.copy()
    distance_m[1:, 0] = np.inf
    distance_m[:3, 2] = np.inf
    problem = optimise.Problem(candidates=problem.candidates, distance_m=distance_m,
                               population=POPULATION, share_65plus=np.ones(3))
    for solver in (optimise.solve, optimise.solve_exhaustive, optimise.solve_heuristic):
        with pytest.raises(InfeasibleError):
            solver(problem, "p-center", open_count=1)
    assert optimise.solve(problem, "p-median", open_count=2).selected == ("A", "D")


def test_interchange_leaves_the_greedy_start():
    # origins at 0 and 10 (1 person each) and 5 (half a person); candidates L=0, M=5, R=10.
    # Greedy opens M first (sum 10 vs 12.5); the best pair is L+R (2.5), reached by a swap.
    candidates = pd.DataFrame({"office_id": list("LMR"), "name_ja": list("LMR"),
                               "kind": "branch", "in_fy2015": True, "open_now": True,
                               "fixed": False, "excluded": False})
    at = np.array([0.0, 5.0, 10.0])
    problem = optimise.Problem(candidates=candidates, distance_m=np.abs(at[:, None] - at[None, :]),
                               population=np.array([1.0, 0.5, 1.0]), share_65plus=np.zeros(3))
    solution = optimise.solve_heuristic(problem, "p-median", open_count=2)
    assert solution.selected == ("L", "R")
    assert solution.objective == pytest.approx(2.5 / 2.5)


def test_open_count_outside_the_range_is_refused():
    with pytest.raises(ValueError, match=r"between 1 .* and 4"):
        optimise.solve(line_problem(), "p-median", open_count=5)
    with pytest.raises(ValueError, match="needs a positive distance"):
        optimise.solve(line_problem(), "coverage", open_count=2)


def test_unknown_or_contradictory_choices_are_refused():
    with pytest.raises(UnknownOfficeError, match="Z"):
        line_problem(exclude=("Z",))
    with pytest.raises(ValueError, match="both fixed open and excluded"):
        line_problem(fix=("A",), exclude=("A",))


@pytest.mark.parametrize("limit", [optimise.ENUMERATION_LIMIT, 0])
def test_near_ties_by_enumeration_and_by_cuts_agree(limit):
    # within 1000 % of A+D (sum 12 -> up to 132): A+C (108) but not A+B (202)
    ties = optimise.near_ties(line_problem(), "p-median", open_count=2, tolerance=10.0,
                              enumeration_limit=limit)
    assert ties.method == ("enumeration" if limit else "milp no-good cuts")
    assert ties.complete
    assert ties.table["selected"].tolist() == ["A,D", "A,C"]
    assert ties.table["above_optimum_pct"].tolist() == pytest.approx([0.0, 800.0])


def test_coverage_near_ties_are_measured_against_the_people_covered():
    # within 10 m: A+C leaves nobody beyond (12 covered), A+D leaves 1 (1/12 = 8.3 % worse)
    ties = optimise.near_ties(line_problem(), "coverage", open_count=2, within_m=10.0,
                              tolerance=0.1)
    assert ties.table["selected"].tolist() == ["A,C", "A,D"]
    assert ties.table["above_optimum_pct"].tolist() == pytest.approx([0.0, 100 / 12])


def test_frontier_and_the_real_choices():
    table = optimise.frontier(line_problem(), "p-median")
    optimal = table[table["label"] == "optimal"]
    assert optimal["open_count"].tolist() == [1, 2, 3, 4]
    # A alone: 12 + 300 = 312; A+D: 12; A+B+D: 2; all: 2
    assert (optimal["objective"] * 12).tolist() == pytest.approx([312, 12, 2, 2])
    now = table[table["label"] == "now"].iloc[0]
    assert now["selected"] == "A,B" and now["mean_distance_m"] == pytest.approx(202 / 12)


def test_solution_figures_count_people_and_elderly_beyond_thresholds():
    problem = line_problem(share_65plus=(0.0, 0.5, 0.2))
    far = problem.distance_m * 500.0  # origins at 0, 6 and 15 km from A
    problem = optimise.Problem(candidates=problem.candidates, distance_m=far,
                               population=POPULATION, share_65plus=problem.share_65plus)
    figures = optimise.solution_figures(problem, [0], within_m=10_000.0)
    assert figures["people_beyond_5km"] == 11.0
    assert figures["people_65plus_beyond_2km"] == pytest.approx(0.5 + 2.0)
    assert figures["people_beyond_within"] == 10.0
    assert figures["max_distance_m"] == 15_000.0
    assert figures["mean_distance_65plus_m"] == pytest.approx((0.5 * 6000 + 2 * 15000) / 2.5)


def random_problem(seed: int) -> tuple[optimise.Problem, int]:
    """Random small problem: clustered integer distances (ties), unreachable pairs, empty
    origins."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(4, 9)), int(rng.integers(5, 30))
    distance_m = rng.integers(0, 12, size=(n, m)).astype(float) * 100.0
    distance_m[rng.random((n, m)) < 0.15] = np.inf
    distance_m[0] = rng.integers(0, 30, size=m) * 100.0  # a ward office reaches everyone
    population = rng.integers(0, 4, size=m).astype(float)
    candidates = pd.DataFrame({
        "office_id": [f"c{i}" for i in range(n)], "name_ja": [f"c{i}" for i in range(n)],
        "kind": ["ward_office"] + ["branch"] * (n - 1), "in_fy2015": True, "open_now": True,
        "fixed": False, "excluded": False})
    problem = optimise.Problem(candidates=candidates, distance_m=distance_m,
                               population=population, share_65plus=rng.random(m),
                               weight=str(rng.choice(optimise.WEIGHTS)))
    exclude = [f"c{i}" for i in range(1, n) if rng.random() < 0.2]
    problem = optimise.with_choices(problem, exclude=exclude,
                                    fix_ward_offices=bool(rng.random() < 0.7))
    low, high = problem.open_range
    return problem, int(rng.integers(max(low, 1), high + 1))


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(("model", "within_m"), [("p-median", None), ("coverage", 500.0),
                                                 ("p-center", None)])
def test_milp_equals_exhaustive_on_random_problems(seed, model, within_m):
    problem, open_count = random_problem(seed)
    if problem.weights.sum() == 0:
        pytest.skip("nobody to serve")
    try:
        every = optimise.solve_exhaustive(problem, model, open_count=open_count,
                                          within_m=within_m)
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            optimise.solve(problem, model, open_count=open_count, within_m=within_m)
        return
    exact = optimise.solve(problem, model, open_count=open_count, within_m=within_m)
    assert exact.optimal and len(exact.selected) == open_count
    assert exact.objective == pytest.approx(every.objective, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_set_cover_milp_equals_exhaustive_on_random_problems(seed):
    problem, _ = random_problem(seed)
    share = float(np.random.default_rng(seed).choice([0.6, 0.9, 1.0]))
    try:
        every = optimise.solve_exhaustive(problem, "set-cover", within_m=500.0, share=share)
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            optimise.solve(problem, "set-cover", within_m=500.0, share=share)
        return
    exact = optimise.solve(problem, "set-cover", within_m=500.0, share=share)
    assert exact.objective == every.objective
    nearest = problem.distance_m[problem.index(exact.selected)].min(axis=0)
    weights = problem.weights
    assert weights[nearest > 500.0].sum() <= (1 - share) * weights.sum() + 1e-9


def test_solver_stopped_without_a_solution_is_not_called_infeasible():
    from types import SimpleNamespace

    from geo.errors import MadoguchiError

    stopped = SimpleNamespace(x=None, status=1, message="Time limit reached")
    with pytest.raises(MadoguchiError, match="Time limit") as caught:
        optimise._outcome(stopped)
    assert not isinstance(caught.value, InfeasibleError)
    with pytest.raises(InfeasibleError):
        optimise._outcome(SimpleNamespace(x=None, status=2, message="infeasible"))


# Capacity: the same line in km with a fourth origin at 9 km (5 people); a steep decay sends
# everyone to the nearest open counter, so each counter's load is the people it is nearest to.
# All four open (before): A 1, B 6 (9 and 12 km), C 0, D 10.
#   A+B: B takes 9, 12, 30 km -> B 16 (+167 %); distance sum 5 + 2 + 200 = 207
#   A+C: A takes 0, 9 -> A 6 (+500 %);          sum 45 + 8 + 100 = 153
#   A+D: A takes 0, 9, 12 -> A 7 (+600 %);      sum 45 + 12 = 57 (the p-median optimum)
def capacity_problem() -> optimise.Problem:
    origins_km = np.array([0.0, 9.0, 12.0, 30.0])
    problem = line_problem()
    return optimise.Problem(
        candidates=problem.candidates,
        distance_m=1000.0 * np.abs(CANDIDATE_M[:, None] - origins_km[None, :]),
        population=np.array([1.0, 5.0, 1.0, 10.0]), share_65plus=np.zeros(4))


def nearest_only_fit():
    from geo import demand

    params = demand.HuffParams(rate=1.0, beta_per_km=50.0,
                               attractiveness={"ward_office": 1.0, "branch": 1.0})
    return demand.DemandFit(params=params, year="fy2013", reading="listed-order",
                            kind_classes=demand.KIND_CLASSES, certificate_share=0.8,
                            residuals=pd.DataFrame(), r2_log=1.0, r2_log_testable=1.0,
                            rmse_log=0.0, n_params=3, converged=True, min_r2=0.8)


def test_counter_loads_are_the_people_each_counter_is_nearest_to():
    problem, fit = capacity_problem(), nearest_only_fit()
    best = optimise.solve(problem, "p-median", open_count=2)
    assert best.selected == ("A", "D")
    loads = optimise.counter_loads(problem, best, fit, max_growth=0.5).set_index("office_id")
    assert loads["predicted_before"].to_numpy() == pytest.approx([1, 6, 0, 10], abs=1e-9)
    assert loads["predicted_after"].to_numpy() == pytest.approx([7, 0, 0, 10], abs=1e-9)
    assert loads["overloaded"].tolist() == [True, False, False, False]


@pytest.mark.parametrize(("max_growth", "best"), [(6.5, ("A", "D")), (2.0, ("A", "B"))])
def test_capacitated_optimum_skips_sets_that_overload_a_counter(max_growth, best):
    solution = optimise.solve_capacitated(capacity_problem(), "p-median", nearest_only_fit(),
                                          open_count=2, max_growth=max_growth)
    assert solution.selected == best
    assert solution.method == "exhaustive (capacity-checked)"


def test_capacitated_without_any_feasible_set_is_an_error():
    with pytest.raises(InfeasibleError, match="more than 100%"):
        optimise.solve_capacitated(capacity_problem(), "p-median", nearest_only_fit(),
                                   open_count=2, max_growth=1.0)


# --- the real bundle ----------------------------------------------------------------------

MODELS_3_OF_15 = [("p-median", None), ("coverage", 3_000.0), ("p-center", None),
                  ("coverage", 2_000.0)]


@pytest.fixture(scope="module")
def fy2015(engine) -> optimise.Problem:
    return optimise.problem_from_model(engine.model, base="fy2015")


@pytest.mark.bundle
def test_fy2015_candidates_are_15_branch_counters_and_5_fixed_ward_offices(fy2015):
    assert len(fy2015.candidates) == 20 and len(fy2015.free) == 15
    assert fy2015.open_range == (5, 20)
    assert set(fy2015.candidates.loc[fy2015.fixed, "kind"]) == {"ward_office"}


@pytest.mark.bundle
@pytest.mark.parametrize("weight", ["population", "65plus"])
@pytest.mark.parametrize(("model", "within_m"), MODELS_3_OF_15)
def test_keep_3_of_15_milp_equals_exhaustive_and_heuristic(engine, model, within_m, weight):
    problem = optimise.problem_from_model(engine.model, weight=weight)
    exact = optimise.solve(problem, model, open_count=8, within_m=within_m)
    every = optimise.solve_exhaustive(problem, model, open_count=8, within_m=within_m)
    heuristic = optimise.solve_heuristic(problem, model, open_count=8, within_m=within_m)
    assert exact.optimal
    assert exact.objective == pytest.approx(every.objective, rel=1e-9, abs=1e-6)
    assert heuristic.objective == pytest.approx(every.objective, rel=1e-9, abs=1e-6)
    assert len(exact.selected) == 8


@pytest.mark.bundle
@pytest.mark.parametrize(("within_m", "share"), [(5_000.0, 0.9), (3_000.0, 0.7)])
def test_set_cover_milp_equals_exhaustive_on_the_bundle(fy2015, within_m, share):
    exact = optimise.solve(fy2015, "set-cover", within_m=within_m, share=share)
    every = optimise.solve_exhaustive(fy2015, "set-cover", within_m=within_m, share=share)
    assert exact.objective == every.objective
    beyond = exact.figures["people_beyond_within"]
    assert beyond <= (1 - share) * fy2015.population.sum() + 1e-6


@pytest.mark.bundle
def test_near_ties_on_the_bundle(fy2015):
    enumerated = optimise.near_ties(fy2015, "p-median", open_count=8)
    by_cuts = optimise.near_ties(fy2015, "p-median", open_count=8, enumeration_limit=0)
    optimum = optimise.solve(fy2015, "p-median", open_count=8)
    assert enumerated.table["selected"].iloc[0] == ",".join(optimum.selected)
    assert (enumerated.table["above_optimum_pct"] <= 1.0 + 1e-9).all()
    assert enumerated.table["above_optimum_pct"].is_monotonic_increasing
    assert by_cuts.table["selected"].tolist() == enumerated.table["selected"].tolist()


@pytest.mark.bundle
def test_frontier_on_the_bundle_places_the_real_choices(fy2015):
    table = optimise.frontier(fy2015, "p-median")
    optimal = table[table["label"] == "optimal"]
    assert optimal["open_count"].tolist() == list(range(5, 21))
    assert optimal["mean_distance_m"].is_monotonic_decreasing
    real = table[table["label"] != "optimal"].set_index("label")
    by_count = optimal.set_index("open_count")["mean_distance_m"]
    assert real.loc["fy2015", "mean_distance_m"] == pytest.approx(by_count[20])
    for label in ("plan2015", "now"):  # 12 and 13 counters: never better than the optimum
        assert real.loc[label, "mean_distance_m"] >= by_count[real.loc[label, "open_count"]] - 1e-6
    assert real.loc["plan2015", "open_count"] == 12 and real.loc["now", "open_count"] == 13


@pytest.mark.bundle
def test_a_solution_opens_as_the_scenario_with_the_same_counters(engine, fy2015):
    from geo import scenarios

    solution = optimise.solve(fy2015, "p-median", open_count=12)
    question = optimise.as_question(fy2015, solution)
    assert question.base == "fy2015" and len(question.closed) == 8
    is_open = scenarios.open_mask(engine.model, question.scenario, measure="counter")
    assert set(engine.model.offices["office_id"][is_open]) == set(solution.selected)
    with_site = optimise.with_points(fy2015, engine, optimise.site_points(
        {"新庁舎": (32.8031, 130.7079)}))
    forced = optimise.solve(optimise.with_choices(with_site, fix=["site:新庁舎"]), "p-median",
                            open_count=12)
    with pytest.raises(ValueError, match="cannot open new counters: site:新庁舎"):
        optimise.as_question(with_site, forced)


@pytest.mark.bundle
def test_counter_loads_move_closed_counters_traffic_elsewhere(engine, fy2015):
    from geo import demand

    fit = demand.fit_demand(engine.model)
    everything = optimise.solve(fy2015, "p-median", open_count=20)
    same = optimise.counter_loads(fy2015, everything, fit)
    assert same["predicted_after"].to_numpy() == pytest.approx(same["predicted_before"])
    assert not same["overloaded"].any()
    fewer = optimise.counter_loads(fy2015, optimise.solve(fy2015, "p-median", open_count=8), fit)
    closed = ~fewer["selected"]
    assert (fewer.loc[closed, "predicted_after"] == 0).all()
    assert fewer["predicted_after"].sum() == pytest.approx(fewer["predicted_before"].sum())
    assert (fewer.loc[~closed, "change_pct"] > 0).all()


@pytest.mark.bundle
def test_a_site_on_an_office_gets_that_office_distances(engine, fy2015):
    site = optimise.site_points({"大江の隣": (32.799, 130.72496)})  # the register's 大江 point
    problem = optimise.with_points(fy2015, engine, site)
    oe = fy2015.index(["oe-branch"])[0]
    assert problem.candidates["office_id"].iloc[-1] == "site:大江の隣"
    assert problem.distance_m[-1] == pytest.approx(fy2015.distance_m[oe], abs=0.01)


@pytest.mark.bundle
def test_a_site_outside_the_city_is_refused(engine, fy2015):
    with pytest.raises(SiteError, match="沖"):
        optimise.with_points(fy2015, engine, optimise.site_points({"沖": (32.70, 130.40)}))


@pytest.mark.bundle
def test_schools_as_candidates(engine, fy2015):
    problem = optimise.with_points(fy2015, engine, optimise.school_points(engine.data))
    assert len(problem.candidates) == 20 + 92
    assert problem.open_range == (5, 112)
    offices_only = optimise.solve(fy2015, "p-median", open_count=8)
    with_schools = optimise.solve(problem, "p-median", open_count=8)
    assert with_schools.objective <= offices_only.objective + 1e-6


@pytest.mark.bundle
def test_capacitated_optimum_on_the_bundle_overloads_nobody(engine, fy2015):
    from geo import demand

    fit = demand.fit_demand(engine.model)
    free = optimise.solve(fy2015, "p-median", open_count=8)
    capped = optimise.solve_capacitated(fy2015, "p-median", fit, open_count=8, max_growth=1.0)
    assert not optimise.counter_loads(fy2015, capped, fit, max_growth=1.0)["overloaded"].any()
    assert capped.objective >= free.objective - 1e-9
    if optimise.counter_loads(fy2015, free, fit, max_growth=1.0)["overloaded"].any():
        assert capped.selected != free.selected
    else:
        assert capped.selected == free.selected


# --- command line -------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["optimise", "--model", "p-median"],                       # neither --open nor --range
    ["optimise", "--model", "coverage", "--open", "8"],        # no --within-km
    ["optimise", "--model", "set-cover", "--open", "8", "--within-km", "5"],
    ["optimise", "--open", "8", "--range"],
    ["optimise", "--open", "8", "--site", "新庁舎:32.8"],
    ["optimise", "--open", "8", "--candidates", "schools"],
    ["optimise", "--range", "--capacity"],
    ["optimise", "--open", "8", "--capacity", "--max-growth", "-1"],
])
def test_bad_optimise_arguments_exit_2_with_one_line(argv, capsys):
    assert cli.main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.bundle
@pytest.mark.parametrize("argv", [
    ["optimise", "--open", "30"],
    ["optimise", "--open", "8", "--fix", "no-such-office"],
    ["optimise", "--open", "8", "--fix", "oe-branch", "--exclude", "oe-branch"],
    ["optimise", "--open", "8", "--site", "沖:32.70,130.40"],
    ["optimise", "--model", "set-cover", "--within-km", "1"],
    ["optimise", "--open", "13", "--candidates", "offices,schools", "--capacity"],
])
def test_bad_optimise_parameters_on_the_bundle_exit_2(engine, monkeypatch, capsys, argv):
    monkeypatch.setattr(cli, "_load", lambda args: engine)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


@pytest.mark.bundle
def test_optimise_command_writes_one_row_per_candidate(engine, monkeypatch, tmp_path, fy2015):
    monkeypatch.setattr(cli, "_load", lambda args: engine)
    out = tmp_path / "keep.csv"
    argv = ["optimise", "--open", "8", "--site", "新庁舎:32.8031,130.7079", "--out", str(out)]
    assert cli.main(argv) == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert len(table) == 21 and table["selected"].sum() == 8
    assert table["office_id"].iloc[-1] == "site:新庁舎"
    assert set(table.loc[table["kind"] == "ward_office", "selected"]) == {True}
    site_problem = optimise.with_points(fy2015, engine, optimise.site_points(
        {"新庁舎": (32.8031, 130.7079)}))
    expected = optimise.solve(site_problem, "p-median", open_count=8)
    assert table["solution_mean_distance_m"].iloc[0] == pytest.approx(expected.objective)
    assert table["people_served"].sum() == pytest.approx(fy2015.population.sum())


@pytest.mark.bundle
def test_optimise_capacity_writes_loads_and_overloads_nobody(engine, monkeypatch, tmp_path,
                                                            capsys):
    monkeypatch.setattr(cli, "_load", lambda args: engine)
    out = tmp_path / "capacity.csv"
    assert cli.main(["optimise", "--open", "13", "--capacity", "--out", str(out)]) == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["selected"].sum() == 13
    assert not table["overloaded"].any()
    assert (table.loc[~table["selected"], "predicted_after"] == 0).all()
    err = capsys.readouterr().err
    assert "# method,exhaustive (capacity-checked)" in err and "# uncapacitated_objective" in err


@pytest.mark.bundle
def test_optimise_range_writes_the_frontier(engine, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "_load", lambda args: engine)
    out = tmp_path / "frontier.csv"
    argv = ["optimise", "--year", "now", "--model", "coverage", "--within-km", "3", "--range",
            "--out", str(out)]
    assert cli.main(argv) == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["label"].tolist() == ["optimal"] * 9 + ["now"]
    assert table["people_beyond_within"].iloc[:9].is_monotonic_decreasing


@pytest.mark.bundle
def test_benchmark_reports_the_2015_question(engine):
    from geo import bench_optimise

    figures = bench_optimise.run_optimise_benchmark(engine=engine, repeats=1)
    assert figures["sets"] == math.comb(15, 8)
    assert figures["same_optimum"] == "True"
    assert figures["heuristic_mean_m"] >= figures["milp_mean_m"]
    assert len(bench_optimise.format_optimise_figures(figures)) == 5
