"""Check a road network before trusting its distances: size, snaps, walls and detours.

A *wall* is a pair of nodes within a few metres of each other but far apart by road: the
two carriageways of a divided road drawn as separate lines, or a street missing between
two neighbourhoods. A *detour index* is an origin's road distance to its nearest counter
divided by the straight-line distance to its nearest counter: about 1.2-1.5 on a sound
network, and a value of 3 or more is a fault until shown otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from . import scenarios
from .engine import Engine
from .graph import RoadGraph

WALL_GAP_M = 20.0
"""Nodes closer than this (straight line) ..."""
WALL_ROAD_M = 1_000.0
"""... but farther than this apart by road make a wall."""
DETOUR_LIMIT = 3.0
"""Detour index at or above which an origin is listed for review."""
DETOUR_MIN_STRAIGHT_M = 300.0
"""Origins nearer than this (straight) to a counter are left out of the detour index: the
snap legs dominate there and the ratio says nothing about the network."""
_CHUNK = 512


@dataclass(frozen=True)
class NetworkCheck:
    """The network-quality figures of one network.

    Attributes
    ----------
    network
        Network name (``geo.engine.NETWORKS``).
    figures
        One-line figures: size, components, snap legs, walls, detour percentiles.
    walls
        The wall node pairs, worst first: ``x_a, y_a, x_b, y_b, gap_m, road_m``
        (``road_m`` is ``inf`` beyond the search limit or when unconnected).
    detours
        One row per populated origin: ``key_code, name, ward, population, road_km,
        straight_km, detour``, worst first; ``detour`` is NaN near a counter.
    far_snaps
        Offices and origins more than 300 m from the nearest road: ``kind, id, name, snap_m``.
    """

    network: str
    figures: dict[str, float | int | str]
    walls: pd.DataFrame
    detours: pd.DataFrame
    far_snaps: pd.DataFrame

    def figures_table(self) -> pd.DataFrame:
        """``figure, value`` rows for a CSV or the sources page."""
        return pd.DataFrame({"figure": list(self.figures),
                             "value": [str(v) for v in self.figures.values()]})


def find_walls(graph: RoadGraph, *, gap_m: float = WALL_GAP_M,
               road_m: float = WALL_ROAD_M) -> pd.DataFrame:
    """Node pairs within ``gap_m`` of each other but more than ``road_m`` apart by road.

    Distances ignore one-way rules (a wall is a missing connection, not a one-way loop).

    Returns
    -------
    pandas.DataFrame
        ``node_a, node_b, x_a, y_a, x_b, y_b, gap_m, road_m``, largest ``road_m`` first.
    """
    pairs = cKDTree(graph.xy).query_pairs(gap_m, output_type="ndarray")
    columns = ["node_a", "node_b", "x_a", "y_a", "x_b", "y_b", "gap_m", "road_m"]
    if len(pairs) == 0:
        return pd.DataFrame(columns=columns)
    both_ways = graph.undirected().adjacency
    sources = np.unique(pairs[:, 0])
    road = np.empty(len(pairs))
    position = np.searchsorted(sources, pairs[:, 0])
    for start in range(0, len(sources), _CHUNK):
        chunk = sources[start:start + _CHUNK]
        dist = dijkstra(both_ways, directed=False, indices=chunk, limit=road_m * 1.0001)
        in_chunk = (position >= start) & (position < start + len(chunk))
        road[in_chunk] = dist[position[in_chunk] - start, pairs[in_chunk, 1]]
    wall = road > road_m
    a, b = pairs[wall, 0], pairs[wall, 1]
    table = pd.DataFrame({
        "node_a": a, "node_b": b, "x_a": graph.xy[a, 0], "y_a": graph.xy[a, 1],
        "x_b": graph.xy[b, 0], "y_b": graph.xy[b, 1],
        "gap_m": np.linalg.norm(graph.xy[a] - graph.xy[b], axis=1), "road_m": road[wall],
    })
    return table.sort_values(["road_m", "gap_m"], ascending=[False, True]).reset_index(drop=True)


def detour_table(eng: Engine, *, base: str = "fy2015", measure: str = "counter",
                 min_straight_m: float = DETOUR_MIN_STRAIGHT_M) -> pd.DataFrame:
    """Detour index of every populated origin: road km to the nearest counter / straight km.

    Parameters
    ----------
    eng
        The engine (its network, origins and offices).
    base
        Office set whose counters are used (``fy2015`` has the most).
    measure
        ``counter`` (full counters) or ``certificate`` (also corners; no stores).
    min_straight_m
        Origins nearer than this to a counter get ``detour`` NaN.

    Returns
    -------
    pandas.DataFrame
        ``key_code, name, ward, population, road_km, straight_km, detour``, worst first.
    """
    model = eng.model
    mask = scenarios.open_mask(model, scenarios.Scenario(base=base), measure=measure)
    road = model.office_origin_m[mask].min(axis=0).astype(float)
    office_xy = np.column_stack([eng.offices.geometry.x, eng.offices.geometry.y])[mask]
    origin_xy = model.origins[["origin_x", "origin_y"]].to_numpy()
    straight = np.linalg.norm(origin_xy[:, None, :] - office_xy[None, :, :], axis=2).min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        detour = np.where(straight >= min_straight_m, road / straight, np.nan)
    table = pd.DataFrame({
        "key_code": model.origins["key_code"], "name": model.origins["name"],
        "ward": model.origins["ward"], "population": model.origins["population"],
        "road_km": road / 1000, "straight_km": straight / 1000, "detour": detour,
    })
    table = table[table["population"] > 0]
    return table.sort_values("detour", ascending=False, na_position="last").reset_index(drop=True)


def _percentiles(values: np.ndarray, prefix: str, unit: str, digits: int = 1
                 ) -> dict[str, float | int | str]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return {f"{prefix}_count": 0}
    return {f"{prefix}_p50{unit}": round(float(np.percentile(values, 50)), digits),
            f"{prefix}_p95{unit}": round(float(np.percentile(values, 95)), digits),
            f"{prefix}_p99{unit}": round(float(np.percentile(values, 99)), digits),
            f"{prefix}_max{unit}": round(float(values.max()), digits)}


def check_network(eng: Engine, *, base: str = "fy2015") -> NetworkCheck:
    """Run every check on the engine's network.

    Returns
    -------
    NetworkCheck
    """
    graph = eng.graph
    report = graph.report
    model = eng.model
    undirected_parts, _ = connected_components(graph.adjacency, directed=True,
                                               connection="weak")
    walls = find_walls(graph)
    detours = detour_table(eng, base=base)
    snaps = pd.concat([
        pd.DataFrame({"kind": "office", "id": model.office_snap["office_id"],
                      "name": model.offices["name_ja"], "snap_m": model.office_snap["snap_m"]}),
        pd.DataFrame({"kind": "origin", "id": model.origins["key_code"],
                      "name": model.origins["name"], "snap_m": model.origins["snap_m"]}),
    ], ignore_index=True)
    populated = model.origins["population"].to_numpy() > 0
    figures: dict[str, float | int | str] = {
        "network": eng.network, "mode": eng.mode, "source": report.source,
        "nodes": report.nodes, "segments": report.edges, "oneway_segments": report.oneway_edges,
        "length_km": round(report.length_km, 1),
        "input_weak_components": report.weak_components,
        "input_strong_components": report.strong_components,
        "kept_components": undirected_parts,
        "dropped_nodes": report.dropped_nodes,
        "dropped_km": round(report.dropped_length_km, 1),
    }
    figures |= _percentiles(model.origins["snap_m"].to_numpy()[populated], "origin_snap", "_m", 0)
    figures |= _percentiles(model.office_snap["snap_m"].to_numpy(), "office_snap", "_m", 0)
    figures["far_snaps"] = int((snaps["snap_m"] > 300).sum())
    figures["walls"] = len(walls)
    figures |= _percentiles(detours["detour"].to_numpy(), "detour", "", 2)
    far_detours = int((detours["detour"] >= DETOUR_LIMIT).sum())
    figures[f"origins_detour_{DETOUR_LIMIT:g}_or_more"] = far_detours
    far = snaps[snaps["snap_m"] > 300].sort_values("snap_m", ascending=False)
    return NetworkCheck(eng.network, figures, walls, detours, far.reset_index(drop=True))


def compare_networks(a: Engine, b: Engine, *, base: str = "fy2015",
                     within: np.ndarray | None = None) -> dict[str, float | int]:
    """Distribution of the ratio of two networks' distances on the same office-origin pairs.

    Parameters
    ----------
    a, b
        Engines on the same layers, different networks (ratio is ``a / b``).
    within
        Boolean mask over origins to compare (e.g. those inside an extract's ward);
        offices are those open in ``base`` and, with ``within``, lying in the same area
        as at least one chosen origin's ward.

    Returns
    -------
    dict
        ``pairs`` and the 5th / 50th / 95th percentile and maximum of ``a / b``.
    """
    mask = scenarios.in_base(a.model.offices, base).to_numpy().copy()
    origins = np.ones(a.model.office_origin_m.shape[1], dtype=bool) if within is None else within
    if within is not None:
        wards = set(a.model.origins.loc[within, "ward"])
        mask &= a.model.offices["ward"].isin(wards).to_numpy()
    da = a.model.office_origin_m[np.ix_(mask, origins)].ravel().astype(float)
    db = b.model.office_origin_m[np.ix_(mask, origins)].ravel().astype(float)
    ok = np.isfinite(da) & np.isfinite(db) & (db > 0)
    ratio = da[ok] / db[ok]
    if len(ratio) == 0:
        return {"pairs": 0}
    return {"pairs": len(ratio),
            "ratio_p05": round(float(np.percentile(ratio, 5)), 3),
            "ratio_p50": round(float(np.percentile(ratio, 50)), 3),
            "ratio_p95": round(float(np.percentile(ratio, 95)), 3),
            "ratio_max": round(float(ratio.max()), 3)}
