"""Snap points to a road graph and compute road distances with scipy.sparse.csgraph.

A point is attached to the nearest *edge* (not merely the nearest node): its distance to
anything is the straight leg to that edge plus the way along the edge to one of its ends
plus the network distance from there. All distances are metres in EPSG:6670.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix, csr_matrix, hstack, vstack
from scipy.sparse.csgraph import dijkstra

from .errors import CRSError
from .graph import RoadGraph
from .layers import METRIC_CRS

logger = logging.getLogger(__name__)

FAR_SNAP_M = 300.0
"""Offices and stores snapped farther than this from a road are flagged for review."""


@dataclass(frozen=True)
class Anchors:
    """Points attached to graph edges.

    Attributes
    ----------
    edge
        Index of the edge each point is attached to.
    u, v
        End nodes of that edge.
    to_u, to_v
        Metres along the edge from the attachment point to ``u`` and to ``v``.
    snap_m
        Straight-line leg from the point to the edge, metres.
    """

    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    snap_m: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def each(self) -> list[Anchors]:
        """Split into one single-point group per point (one shortest-path source each)."""
        return [Anchors(self.edge[i:i + 1], self.u[i:i + 1], self.v[i:i + 1],
                        self.to_u[i:i + 1], self.to_v[i:i + 1], self.snap_m[i:i + 1])
                for i in range(len(self))]


def _points_array(points: gpd.GeoSeries | gpd.GeoDataFrame, graph: RoadGraph) -> np.ndarray:
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        msg = "points have no CRS; set one before snapping (distances are computed in EPSG:6670)"
        raise CRSError(msg)
    if geoms.crs != graph.crs:
        geoms = geoms.to_crs(graph.crs)
    return geoms.to_numpy()


def snap_points(points: gpd.GeoSeries | gpd.GeoDataFrame, graph: RoadGraph) -> Anchors:
    """Attach each point to its nearest graph edge.

    Parameters
    ----------
    points
        Points (any CRS; reprojected to the graph's EPSG:6670).
    graph
        The road graph.

    Returns
    -------
    Anchors
    """
    geoms = _points_array(points, graph)
    if len(geoms) == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0)
        return Anchors(empty_i, empty_i, empty_i, empty_f, empty_f, empty_f)
    point_idx, edge_idx = graph.edge_tree.query_nearest(geoms, all_matches=False)
    order = np.argsort(point_idx)
    edge_idx = edge_idx[order]
    lines = graph.edge_geometry[edge_idx]
    along = shapely.line_locate_point(lines, geoms)
    snap = shapely.distance(lines, geoms)
    return Anchors(
        edge=edge_idx, u=graph.edge_u[edge_idx], v=graph.edge_v[edge_idx],
        to_u=along, to_v=graph.edge_length[edge_idx] - along, snap_m=snap,
    )


def snap_table(points: gpd.GeoDataFrame, anchors: Anchors, *, id_column: str) -> pd.DataFrame:
    """Return ``id, snap_m, far`` per point, ``far`` meaning snapped beyond 300 m."""
    return pd.DataFrame({
        id_column: points[id_column].to_numpy(),
        "snap_m": anchors.snap_m,
        "far": anchors.snap_m > FAR_SNAP_M,
    })


def _with_sources(graph: RoadGraph, sources: list[Anchors]) -> csr_matrix:
    """Append one virtual node per source group, with edges out to its anchors' edge ends."""
    n = graph.n_nodes
    rows, cols, weights = [], [], []
    for k, group in enumerate(sources):
        for ends, along in ((group.u, group.to_u), (group.v, group.to_v)):
            rows.append(np.full(len(group), k))
            cols.append(ends)
            weights.append(group.snap_m + along)
    rows_a = np.concatenate(rows)
    cols_a = np.concatenate(cols)
    weights_a = np.concatenate(weights)
    # keep the cheapest link per (source, node): coo->csr would sum duplicates
    order = np.lexsort((weights_a, cols_a, rows_a))
    rows_a, cols_a, weights_a = rows_a[order], cols_a[order], weights_a[order]
    first = np.ones(len(rows_a), dtype=bool)
    first[1:] = (rows_a[1:] != rows_a[:-1]) | (cols_a[1:] != cols_a[:-1])
    weights_a = np.maximum(weights_a[first], 1e-9)  # a zero weight would read as no edge
    links = coo_matrix((weights_a, (rows_a[first], cols_a[first])), shape=(len(sources), n))
    top = hstack([graph.adjacency, csr_matrix((n, len(sources)))])
    bottom = hstack([links, csr_matrix((len(sources), len(sources)))])
    return vstack([top, bottom]).tocsr()


def node_distances(graph: RoadGraph, sources: list[Anchors]) -> np.ndarray:
    """Road distance from each source group to every node, metres, float32.

    Parameters
    ----------
    graph
        The road graph.
    sources
        One ``Anchors`` group per row of the result; a group of several points gives
        the distance to the nearest of them (a multi-source run).

    Returns
    -------
    numpy.ndarray
        ``(len(sources), graph.n_nodes)`` float32; ``inf`` where unreachable.
    """
    if not sources:
        return np.zeros((0, graph.n_nodes), dtype=np.float32)
    augmented = _with_sources(graph, sources)
    n = graph.n_nodes
    virtual = np.arange(n, n + len(sources))
    dist = dijkstra(augmented, directed=True, indices=virtual)
    return dist[:, :n].astype(np.float32)


def distances_to_anchors(
    node_dist: np.ndarray, targets: Anchors, *, sources: list[Anchors] | None = None
) -> np.ndarray:
    """Road distance from each row of ``node_dist`` to each target point, metres.

    Parameters
    ----------
    node_dist
        ``(k, n_nodes)`` result of ``node_distances``.
    targets
        Points to evaluate at (origins, other facilities).
    sources
        The groups ``node_dist`` was computed from; when given, a source and a target on
        the same edge are also joined directly along that edge.

    Returns
    -------
    numpy.ndarray
        ``(k, len(targets))`` float32, including the target's straight snap leg.
    """
    via_u = node_dist[:, targets.u] + targets.to_u[None, :]
    via_v = node_dist[:, targets.v] + targets.to_v[None, :]
    best = np.minimum(via_u, via_v) + targets.snap_m[None, :]
    if sources is not None:
        for k, group in enumerate(sources):
            same = group.edge[:, None] == targets.edge[None, :]
            if not same.any():
                continue
            direct = (np.abs(group.to_u[:, None] - targets.to_u[None, :])
                      + group.snap_m[:, None] + targets.snap_m[None, :])
            direct = np.where(same, direct, np.inf).min(axis=0)
            best[k] = np.minimum(best[k], direct)
    return best.astype(np.float32)


def facility_distances(
    graph: RoadGraph, facilities: Anchors, targets: Anchors
) -> np.ndarray:
    """Road distance from every facility to every target, metres (one Dijkstra per facility).

    Returns
    -------
    numpy.ndarray
        ``(len(facilities), len(targets))`` float32.
    """
    groups = facilities.each()
    node_dist = node_distances(graph, groups)
    return distances_to_anchors(node_dist, targets, sources=groups)


def nearest_distance(graph: RoadGraph, facilities: Anchors, targets: Anchors) -> np.ndarray:
    """Road distance from each target to the nearest of ``facilities`` (one multi-source run).

    Returns
    -------
    numpy.ndarray
        ``(len(targets),)`` float32; ``inf`` everywhere when ``facilities`` is empty.
    """
    if len(facilities) == 0:
        return np.full(len(targets), np.inf, dtype=np.float32)
    node_dist = node_distances(graph, [facilities])
    return distances_to_anchors(node_dist, targets, sources=[facilities])[0]


def straight_distances(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Straight-line distance between every point of ``a`` and of ``b``, metres (EPSG:6670)."""
    for series in (a, b):
        if series.crs is None:
            msg = "points have no CRS; set one before measuring distances"
            raise CRSError(msg)
    axy = shapely.get_coordinates(a.to_crs(METRIC_CRS).to_numpy())
    bxy = shapely.get_coordinates(b.to_crs(METRIC_CRS).to_numpy())
    return np.linalg.norm(axy[:, None, :] - bxy[None, :, :], axis=2)
