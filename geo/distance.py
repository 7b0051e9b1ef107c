"""Snap points to a road graph and compute road distances with scipy.sparse.csgraph.

A point is attached to the nearest street *segment* (not merely the nearest node): its
distance to a facility is the straight leg to that segment, the way along it to one of its
ends, then the network distance from there, following one-way streets on a directed graph.
All distances are metres in EPSG:6670, in the resident's direction (origin -> counter).
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
    """Points attached to graph segments.

    Attributes
    ----------
    edge
        Index of the segment each point is attached to.
    u, v
        End nodes of that segment.
    to_u, to_v
        Metres along the segment from the attachment point to ``u`` and to ``v``.
    snap_m
        Straight-line leg from the point to the segment, metres.
    forward, backward
        Whether the segment may be travelled ``u -> v`` / ``v -> u``: a point on a
        one-way street leaves it towards, and is reached from, one end only.
    """

    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    snap_m: np.ndarray
    forward: np.ndarray
    backward: np.ndarray

    def __len__(self) -> int:
        return len(self.edge)

    def each(self) -> list[Anchors]:
        """Split into one single-point group per point (one shortest-path run each)."""
        return [self.subset(np.array([i])) for i in range(len(self))]

    def subset(self, rows: np.ndarray) -> Anchors:
        """The anchors at positions ``rows``."""
        return Anchors(self.edge[rows], self.u[rows], self.v[rows], self.to_u[rows],
                       self.to_v[rows], self.snap_m[rows], self.forward[rows],
                       self.backward[rows])


def _points_array(points: gpd.GeoSeries | gpd.GeoDataFrame, graph: RoadGraph) -> np.ndarray:
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        msg = "points have no CRS; set one before snapping (distances are computed in EPSG:6670)"
        raise CRSError(msg)
    if geoms.crs != graph.crs:
        geoms = geoms.to_crs(graph.crs)
    geometries: np.ndarray = geoms.to_numpy()
    return geometries


def snap_points(points: gpd.GeoSeries | gpd.GeoDataFrame, graph: RoadGraph) -> Anchors:
    """Attach each point to its nearest graph segment.

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
        empty_b = np.zeros(0, dtype=bool)
        return Anchors(empty_i, empty_i, empty_i, empty_f, empty_f, empty_f, empty_b, empty_b)
    point_idx, edge_idx = graph.edge_tree.query_nearest(geoms, all_matches=False)
    order = np.argsort(point_idx)
    edge_idx = edge_idx[order]
    lines = graph.edge_geometry[edge_idx]
    # the share along the drawn line, applied to the road length (which may be measured
    # on the ellipsoid rather than on the plane)
    along = shapely.line_locate_point(lines, geoms, normalized=True) * graph.edge_length[edge_idx]
    snap = shapely.distance(lines, geoms)
    return Anchors(
        edge=edge_idx, u=graph.edge_u[edge_idx], v=graph.edge_v[edge_idx],
        to_u=along, to_v=graph.edge_length[edge_idx] - along, snap_m=snap,
        forward=graph.edge_forward[edge_idx], backward=graph.edge_backward[edge_idx],
    )


def snap_table(points: gpd.GeoDataFrame, anchors: Anchors, *, id_column: str) -> pd.DataFrame:
    """Return ``id, snap_m, far`` per point, ``far`` meaning snapped beyond 300 m."""
    return pd.DataFrame({
        id_column: points[id_column].to_numpy(),
        "snap_m": anchors.snap_m,
        "far": anchors.snap_m > FAR_SNAP_M,
    })


def _toward_destinations(graph: RoadGraph, destinations: list[Anchors]) -> csr_matrix:
    """The reversed graph plus one virtual node per destination group.

    A search from a virtual node over the reversed arcs gives, for every node, the road
    distance *from* that node *to* the nearest destination of the group. A destination
    is reached from ``u`` when its segment runs ``u -> v`` and from ``v`` when it runs
    ``v -> u``.
    """
    n = graph.n_nodes
    rows, cols, weights = [], [], []
    for k, group in enumerate(destinations):
        for ends, along, allowed in ((group.u, group.to_u, group.forward),
                                     (group.v, group.to_v, group.backward)):
            rows.append(np.full(int(allowed.sum()), k))
            cols.append(ends[allowed])
            weights.append((group.snap_m + along)[allowed])
    rows_a = np.concatenate(rows)
    cols_a = np.concatenate(cols)
    weights_a = np.concatenate(weights)
    # keep the cheapest link per (destination, node): coo->csr would sum duplicates
    order = np.lexsort((weights_a, cols_a, rows_a))
    rows_a, cols_a, weights_a = rows_a[order], cols_a[order], weights_a[order]
    first = np.ones(len(rows_a), dtype=bool)
    first[1:] = (rows_a[1:] != rows_a[:-1]) | (cols_a[1:] != cols_a[:-1])
    weights_a = np.maximum(weights_a[first], 1e-9)  # a zero weight would read as no edge
    links = coo_matrix((weights_a, (rows_a[first], cols_a[first])),
                       shape=(len(destinations), n))
    reversed_arcs = graph.adjacency.T.tocsr()
    top = hstack([reversed_arcs, csr_matrix((n, len(destinations)))])
    bottom = hstack([links, csr_matrix((len(destinations), len(destinations)))])
    return vstack([top, bottom]).tocsr()


def node_distances(graph: RoadGraph, sources: list[Anchors]) -> np.ndarray:
    """Road distance from every node to each group of facilities, metres, float32.

    The direction is the resident's: from the node to the facility, following one-way
    streets (on an undirected graph both directions are the same).

    Parameters
    ----------
    graph
        The road graph.
    sources
        One ``Anchors`` group of facilities per row of the result; a group of several
        points gives the distance to the nearest of them (one multi-destination run).

    Returns
    -------
    numpy.ndarray
        ``(len(sources), graph.n_nodes)`` float32; ``inf`` where unreachable.
    """
    if not sources:
        return np.zeros((0, graph.n_nodes), dtype=np.float32)
    augmented = _toward_destinations(graph, sources)
    n = graph.n_nodes
    virtual = np.arange(n, n + len(sources))
    dist = dijkstra(augmented, directed=True, indices=virtual)
    metres: np.ndarray = dist[:, :n].astype(np.float32)
    return metres


def _same_segment(group: Anchors, targets: Anchors) -> np.ndarray:
    """Direct way along a shared segment from each target to the nearest of ``group``."""
    same = group.edge[:, None] == targets.edge[None, :]
    if not same.any():
        return np.full(len(targets), np.inf)
    ahead = group.to_u[:, None] >= targets.to_u[None, :]  # the facility lies towards v
    allowed = np.where(ahead, group.forward[:, None], group.backward[:, None])
    direct = (np.abs(group.to_u[:, None] - targets.to_u[None, :])
              + group.snap_m[:, None] + targets.snap_m[None, :])
    direct_m: np.ndarray = np.where(same & allowed, direct, np.inf).min(axis=0)
    return direct_m


def distances_to_anchors(
    node_dist: np.ndarray, targets: Anchors, *, sources: list[Anchors] | None = None
) -> np.ndarray:
    """Road distance from each target point to each row's facilities, metres.

    Parameters
    ----------
    node_dist
        ``(k, n_nodes)`` result of ``node_distances``.
    targets
        Points travelling to the facilities (origins, other offices).
    sources
        The facility groups ``node_dist`` was computed from; when given, a target and a
        facility on the same segment are also joined directly along it.

    Returns
    -------
    numpy.ndarray
        ``(k, len(targets))`` float32, including the target's straight snap leg. A target
        on a one-way segment leaves it by the end the segment runs to.
    """
    via_u = np.where(targets.backward[None, :], node_dist[:, targets.u] + targets.to_u[None, :],
                     np.inf)
    via_v = np.where(targets.forward[None, :], node_dist[:, targets.v] + targets.to_v[None, :],
                     np.inf)
    best = np.minimum(via_u, via_v) + targets.snap_m[None, :]
    if sources is not None:
        for k, group in enumerate(sources):
            best[k] = np.minimum(best[k], _same_segment(group, targets))
    nearest_m: np.ndarray = best.astype(np.float32)
    return nearest_m


def facility_distances(
    graph: RoadGraph, facilities: Anchors, targets: Anchors
) -> np.ndarray:
    """Road distance from every target to every facility, metres (one run per facility).

    Returns
    -------
    numpy.ndarray
        ``(len(facilities), len(targets))`` float32.
    """
    groups = facilities.each()
    node_dist = node_distances(graph, groups)
    return distances_to_anchors(node_dist, targets, sources=groups)


def nearest_distance(graph: RoadGraph, facilities: Anchors, targets: Anchors) -> np.ndarray:
    """Road distance from each target to the nearest of ``facilities`` (one run).

    Returns
    -------
    numpy.ndarray
        ``(len(targets),)`` float32; ``inf`` everywhere when ``facilities`` is empty.
    """
    if len(facilities) == 0:
        return np.full(len(targets), np.inf, dtype=np.float32)
    node_dist = node_distances(graph, [facilities])
    nearest_m: np.ndarray = distances_to_anchors(node_dist, targets, sources=[facilities])[0]
    return nearest_m


def straight_distances(a: gpd.GeoSeries, b: gpd.GeoSeries) -> np.ndarray:
    """Straight-line distance between every point of ``a`` and of ``b``, metres (EPSG:6670)."""
    for series in (a, b):
        if series.crs is None:
            msg = "points have no CRS; set one before measuring distances"
            raise CRSError(msg)
    axy = shapely.get_coordinates(a.to_crs(METRIC_CRS).to_numpy())
    bxy = shapely.get_coordinates(b.to_crs(METRIC_CRS).to_numpy())
    straight_m: np.ndarray = np.linalg.norm(axy[:, None, :] - bxy[None, :, :], axis=2)
    return straight_m
