"""Benchmark the engine against a straightforward networkx approach, in the same run."""

from __future__ import annotations

import logging
import os
import statistics
import time

import networkx as nx
import numpy as np
import pandas as pd

from . import bench_optimise, distance, engine, scenarios, study
from .graph import to_networkx
from .question import Question
from .reorganisation import BRANCH_KINDS

logger = logging.getLogger(__name__)

VIRTUAL_SOURCE = -1


def _random_closures(model: scenarios.AccessModel, count: int,
                     seed: int) -> list[scenarios.Scenario]:
    rng = np.random.default_rng(seed)
    offices = model.offices
    branches = scenarios.in_base(offices, "fy2015") & offices["kind"].isin(BRANCH_KINDS)
    closable = offices.loc[branches, "office_id"].to_numpy()
    result = []
    for _ in range(count):
        size = int(rng.integers(1, len(closable) + 1))
        closed = frozenset(rng.choice(closable, size=size, replace=False).tolist())
        result.append(scenarios.Scenario(base="fy2015", closed=closed))
    return result


def _same_edge_direct(office_anchors: distance.Anchors, origin_anchors: distance.Anchors,
                      rows: np.ndarray) -> np.ndarray:
    direct = np.full(len(origin_anchors), np.inf)
    for i in rows:
        same = origin_anchors.edge == office_anchors.edge[i]
        towards_v = office_anchors.to_u[i] >= origin_anchors.to_u
        allowed = np.where(towards_v, office_anchors.forward[i], office_anchors.backward[i])
        same &= allowed
        along = np.abs(origin_anchors.to_u[same] - office_anchors.to_u[i])
        direct[same] = np.minimum(direct[same], along + origin_anchors.snap_m[same]
                                  + office_anchors.snap_m[i])
    return direct


def _networkx_from(nx_graph: nx.DiGraph, office_anchors: distance.Anchors,
                   origin_anchors: distance.Anchors, rows: np.ndarray) -> np.ndarray:
    """Distance from each origin to the nearest of ``rows`` offices, via a virtual node.

    ``nx_graph`` is the *reversed* road graph: a search from the virtual node gives the
    distance from every node to the offices, in the resident's direction.
    """
    nx_graph.add_node(VIRTUAL_SOURCE)
    for i in rows:
        for end, along, allowed in ((office_anchors.u[i], office_anchors.to_u[i],
                                     office_anchors.forward[i]),
                                    (office_anchors.v[i], office_anchors.to_v[i],
                                     office_anchors.backward[i])):
            if not allowed:
                continue
            weight = float(office_anchors.snap_m[i] + along)
            if nx_graph.has_edge(VIRTUAL_SOURCE, int(end)):
                weight = min(weight, nx_graph[VIRTUAL_SOURCE][int(end)]["length"])
            nx_graph.add_edge(VIRTUAL_SOURCE, int(end), length=weight)
    try:
        lengths = nx.single_source_dijkstra_path_length(nx_graph, VIRTUAL_SOURCE, weight="length")
    finally:
        nx_graph.remove_node(VIRTUAL_SOURCE)
    node = np.full(nx_graph.number_of_nodes(), np.inf)
    for key, value in lengths.items():
        if key >= 0:
            node[key] = value
    via_u = np.where(origin_anchors.backward, node[origin_anchors.u] + origin_anchors.to_u, np.inf)
    via_v = np.where(origin_anchors.forward, node[origin_anchors.v] + origin_anchors.to_v, np.inf)
    best = np.minimum(via_u, via_v) + origin_anchors.snap_m
    same_edge_m = _same_edge_direct(office_anchors, origin_anchors, rows)
    nearest_m: np.ndarray = np.minimum(best, same_edge_m)
    return nearest_m


def networkx_origin_distances(
    nx_graph: nx.DiGraph, office_anchors: distance.Anchors, origin_anchors: distance.Anchors,
    open_rows: np.ndarray, *, multi_source: bool = False,
) -> np.ndarray:
    """Nearest open office per origin computed from scratch with networkx (the baselines).

    The straightforward approach runs one Dijkstra per open office and takes the
    minimum; ``multi_source`` joins all open offices to one virtual source instead (one
    run per scenario, a stronger baseline). Snap legs are the engine's, so both
    approaches answer the same question.
    """
    if len(open_rows) == 0:
        return np.full(len(origin_anchors), np.inf)
    if multi_source:
        return _networkx_from(nx_graph, office_anchors, origin_anchors, open_rows)
    per_office = [_networkx_from(nx_graph, office_anchors, origin_anchors, np.array([i]))
                  for i in open_rows]
    nearest_m: np.ndarray = np.min(per_office, axis=0)
    return nearest_m


def _time_networkx(
    model: scenarios.AccessModel, nx_graph: nx.DiGraph, office_anchors: distance.Anchors,
    origin_anchors: distance.Anchors, closures: list[scenarios.Scenario], members: pd.DataFrame, *,
    multi_source: bool,
) -> tuple[list[float], float]:
    before = scenarios.origin_distances(model, closures[0].baseline, measure="counter")
    timings, worst = [], 0.0
    for scenario in closures:
        open_rows = np.flatnonzero(scenarios.open_mask(model, scenario, measure="counter"))
        t0 = time.perf_counter()
        after = networkx_origin_distances(nx_graph, office_anchors, origin_anchors, open_rows,
                                          multi_source=multi_source)
        scenarios.zone_table(members, before, after)
        timings.append((time.perf_counter() - t0) * 1000)
        ours = scenarios.origin_distances(model, scenario, measure="counter")
        worst = max(worst, float(np.max(np.abs(ours - after))))
    return timings, worst


def run_benchmark(
    data: str | os.PathLike[str] | None = None, *, scenarios_count: int = 50, seed: int = 2015,
) -> dict[str, float | int | str]:
    """Time a cold study build, scenario re-evaluation vs networkx, and the optimiser.

    A re-evaluation is a scenario's small-area table (``scenarios.compare``, counter
    measure). The networkx approaches compute the same per-origin distances from
    scratch for each scenario and pass them through the same table aggregation. A full
    ``geo.study.evaluate`` (district table, city figures, office states, load shift) is
    timed too.

    Returns
    -------
    dict
        Graph size, ``build_s`` (layers + graph + precompute from the bundle),
        ``graph_s``, ``precompute_s``, ``reevaluate_median_ms``,
        ``networkx_median_ms`` (one Dijkstra per open office) and
        ``networkx_multisource_median_ms`` (one run per scenario), the ``speedup``
        ratios and ``max_abs_diff_m`` between the engine's and networkx's answers,
        ``evaluate_median_ms``, each network's size and build time, and the optimiser's
        figures (``geo.bench_optimise``).

    Raises
    ------
    ValueError
        ``scenarios_count`` is less than 1.
    """
    if scenarios_count < 1:
        msg = f"the benchmark needs at least one scenario, got {scenarios_count}"
        raise ValueError(msg)
    started = time.perf_counter()
    built_study = study.build_study(data, cache=False)
    build_s = time.perf_counter() - started
    study.build_study(data)  # into the disk cache, if not there yet
    started = time.perf_counter()
    study.build_study(data)
    cached_s = time.perf_counter() - started
    eng = built_study.engine
    model = eng.model
    closures = _random_closures(model, scenarios_count, seed)
    members = scenarios.zone_membership(model, by="small-area")
    ours_ms = []
    for scenario in closures:
        t0 = time.perf_counter()
        scenarios.compare(model, scenario, measure="counter", membership=members)
        ours_ms.append((time.perf_counter() - t0) * 1000)
    baseline = (model, to_networkx(eng.graph).reverse(copy=True),
                distance.snap_points(eng.offices, eng.graph),
                distance.snap_points(eng.origins, eng.graph), closures, members)
    plain_ms, plain_diff = _time_networkx(*baseline, multi_source=False)
    multi_ms, multi_diff = _time_networkx(*baseline, multi_source=True)
    ours = statistics.median(ours_ms)
    evaluate_ms = []
    for scenario in closures:
        t0 = time.perf_counter()
        study.evaluate(built_study, Question(base=scenario.base, closed=scenario.closed,
                                             downgraded=scenario.downgraded))
        evaluate_ms.append((time.perf_counter() - t0) * 1000)
    per_network = {}
    for name in engine.NETWORKS:
        t0 = time.perf_counter()
        built = engine.build_graph(eng.data, network=name)
        per_network[name] = (built.n_nodes, len(built.edge_u), round(built.report.length_km),
                             round(time.perf_counter() - t0, 2))
    return {
        "network": eng.network,
        **{f"network_{name}": "{:,} nodes, {:,} segments, {:,} km, built in {} s".format(*v)
           for name, v in per_network.items()},
        "nodes": eng.graph.n_nodes, "edges": len(eng.graph.edge_u),
        "length_km": round(eng.graph.report.length_km, 1),
        "build_s": round(build_s, 2), "cached_build_s": round(cached_s, 2),
        "graph_s": round(eng.timings["graph_s"], 2),
        "evaluate_median_ms": round(statistics.median(evaluate_ms), 2),
        "precompute_s": round(eng.timings["precompute_s"], 2), "scenarios": scenarios_count,
        "reevaluate_median_ms": round(ours, 2),
        "networkx_median_ms": round(statistics.median(plain_ms), 1),
        "speedup": round(statistics.median(plain_ms) / ours, 1),
        "networkx_multisource_median_ms": round(statistics.median(multi_ms), 1),
        "speedup_multisource": round(statistics.median(multi_ms) / ours, 1),
        "max_abs_diff_m": round(max(plain_diff, multi_diff), 3),
        **{f"optimise_{k}": v for k, v in
           bench_optimise.run_optimise_benchmark(engine=eng).items()},
    }


def format_figures(figures: dict[str, float | int | str]) -> list[str]:
    """Human-readable lines for the benchmark figures."""
    optimise = {k.removeprefix("optimise_"): v for k, v in figures.items()
                if k.startswith("optimise_")}
    return [
        (f"default network {figures['network']}: {figures['nodes']:,} nodes, "
         f"{figures['edges']:,} segments, {figures['length_km']} km"),
        *[f"{key.removeprefix('network_')}: {value}" for key, value in figures.items()
          if key.startswith("network_") and key != "network"],
        (f"cold study build from the bundle: {figures['build_s']} s (graph "
         f"{figures['graph_s']} s, precompute {figures['precompute_s']} s); from the disk "
         f"cache: {figures['cached_build_s']} s"),
        (f"scenario re-evaluation, median of {figures['scenarios']}: "
         f"{figures['reevaluate_median_ms']} ms (whole geo.study.evaluate: "
         f"{figures['evaluate_median_ms']} ms)"),
        (f"networkx, one Dijkstra per open office, same scenarios: "
         f"{figures['networkx_median_ms']} ms -> engine {figures['speedup']}x faster"),
        (f"networkx, one multi-source Dijkstra per scenario: "
         f"{figures['networkx_multisource_median_ms']} ms -> engine "
         f"{figures['speedup_multisource']}x faster"),
        f"largest difference between the engine and networkx: {figures['max_abs_diff_m']} m",
        *bench_optimise.format_optimise_figures(optimise),
    ]
