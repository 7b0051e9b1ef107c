"""Build routable road graphs in a compact array form (CSR), from line layers or OSM."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from .errors import FetchError, LayerError
from .layers import METRIC_CRS

logger = logging.getLogger(__name__)

GRID_M = 0.5
"""Coordinates are rounded to this grid (metres) so vertices that coincide meet exactly."""
DANGLE_SNAP_M = 10.0
"""A dead end closer than this to another road is joined to it (digitising gaps)."""


@dataclass(frozen=True)
class GraphReport:
    """What building a graph kept and dropped."""

    source: str
    input_lines: int
    nodes: int
    edges: int
    length_km: float
    components: int
    dropped_nodes: int
    dropped_edges: int
    dropped_length_km: float
    dangles_joined: int
    build_seconds: float

    def summary(self) -> str:
        """Return a one-line description for logs and the dashboard."""
        return (f"{self.source}: {self.nodes:,} nodes, {self.edges:,} edges, "
                f"{self.length_km:,.0f} km kept; {self.components - 1} smaller component(s) "
                f"dropped ({self.dropped_edges:,} edges, {self.dropped_length_km:,.1f} km); "
                f"{self.dangles_joined} dead ends joined; built in {self.build_seconds:.1f} s")


@dataclass(frozen=True)
class RoadGraph:
    """An undirected road graph held as arrays, coordinates in EPSG:6670 metres.

    Attributes
    ----------
    xy
        ``(n_nodes, 2)`` float64 node coordinates.
    edge_u, edge_v
        ``(n_edges,)`` int32 end nodes of each edge (``u < v`` is not guaranteed).
    edge_length
        ``(n_edges,)`` float64 length in metres along the road.
    edge_geometry
        ``(n_edges,)`` shapely LineStrings from ``u`` to ``v``, used to snap points.
    adjacency
        Symmetric ``csr_matrix`` of edge lengths (the shortest of parallel edges).
    report
        How the graph was built.
    """

    xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_geometry: np.ndarray
    adjacency: csr_matrix
    report: GraphReport
    crs: str = METRIC_CRS
    _edge_tree: shapely.STRtree | None = field(default=None, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    @property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over ``edge_geometry`` (built on first use)."""
        if self._edge_tree is None:
            object.__setattr__(self, "_edge_tree", shapely.STRtree(self.edge_geometry))
        return self._edge_tree


def _symmetric_adjacency(u: np.ndarray, v: np.ndarray, length: np.ndarray, n: int) -> csr_matrix:
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    weights = np.concatenate([length, length])
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    # coo -> csr would sum parallel edges; keep only the shortest of each pair instead.
    return coo_matrix((weights[first], (rows[first], cols[first])), shape=(n, n)).tocsr()


def graph_from_edges(
    xy: np.ndarray, edge_u: np.ndarray, edge_v: np.ndarray, edge_geometry: np.ndarray, *,
    source: str, input_lines: int, dangles_joined: int = 0, started: float | None = None,
) -> RoadGraph:
    """Assemble a ``RoadGraph`` keeping only the largest connected component.

    Parameters
    ----------
    xy
        Node coordinates, EPSG:6670 metres.
    edge_u, edge_v
        End-node indices of each edge.
    edge_geometry
        LineStrings of the edges (their length is the edge length).
    source
        Name of the input, for the report.

    Returns
    -------
    RoadGraph
    """
    started = time.perf_counter() if started is None else started
    length = shapely.length(edge_geometry)
    keep_edge = (edge_u != edge_v) & (length > 0)
    edge_u, edge_v, length = edge_u[keep_edge], edge_v[keep_edge], length[keep_edge]
    edge_geometry = edge_geometry[keep_edge]
    if len(edge_u) == 0:
        msg = f"{source}: no usable road segments (every line is empty or degenerate)"
        raise LayerError(msg)
    n = len(xy)
    adjacency = _symmetric_adjacency(edge_u, edge_v, length, n)
    components, labels = connected_components(adjacency, directed=False)
    used = np.zeros(n, dtype=bool)
    used[edge_u] = used[edge_v] = True
    sizes = np.bincount(labels[used], minlength=components)
    largest = int(np.argmax(sizes))
    keep_node = labels == largest
    keep = keep_node[edge_u]
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[keep_node] = np.arange(int(keep_node.sum()))
    kept_u = new_index[edge_u[keep]].astype(np.int32)
    kept_v = new_index[edge_v[keep]].astype(np.int32)
    kept_len = length[keep]
    n_kept = int(keep_node.sum())
    report = GraphReport(
        source=source, input_lines=input_lines, nodes=n_kept, edges=int(keep.sum()),
        length_km=float(kept_len.sum() / 1000), components=int((sizes > 0).sum()),
        dropped_nodes=int(used.sum() - n_kept), dropped_edges=int((~keep).sum()),
        dropped_length_km=float(length[~keep].sum() / 1000), dangles_joined=dangles_joined,
        build_seconds=time.perf_counter() - started,
    )
    logger.info(report.summary())
    return RoadGraph(
        xy=xy[keep_node], edge_u=kept_u, edge_v=kept_v, edge_length=kept_len,
        edge_geometry=edge_geometry[keep],
        adjacency=_symmetric_adjacency(kept_u, kept_v, kept_len, n_kept), report=report,
    )


def _dangle_connectors(lines: np.ndarray, tolerance: float) -> np.ndarray:
    """Return short segments joining each dead end to the nearest other line within tolerance.

    The connector is extended 1 m past the target line so that noding cuts the line
    exactly, whatever floating-point rounding the projection leaves.
    """
    starts = shapely.get_point(lines, 0)
    ends = shapely.get_point(lines, -1)
    endpoints = np.concatenate([starts, ends])
    owner = np.concatenate([np.arange(len(lines)), np.arange(len(lines))])
    keys = np.round(shapely.get_coordinates(endpoints) / GRID_M).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    lonely = np.flatnonzero(counts[inverse.ravel()] == 1)
    if len(lonely) == 0:
        return np.array([], dtype=object)
    tree = shapely.STRtree(lines)
    point_idx, line_idx = tree.query(endpoints[lonely], predicate="dwithin", distance=tolerance)
    other = line_idx != owner[lonely][point_idx]
    point_idx, line_idx = point_idx[other], line_idx[other]
    if len(point_idx) == 0:
        return np.array([], dtype=object)
    gaps = shapely.distance(endpoints[lonely][point_idx], lines[line_idx])
    order = np.lexsort((gaps, point_idx))
    point_idx, line_idx, gaps = point_idx[order], line_idx[order], gaps[order]
    first = np.ones(len(point_idx), dtype=bool)
    first[1:] = point_idx[1:] != point_idx[:-1]
    point_idx, line_idx, gaps = point_idx[first], line_idx[first], gaps[first]
    gaps_positive = gaps > 1e-6
    point_idx, line_idx = point_idx[gaps_positive], line_idx[gaps_positive]
    dangle = endpoints[lonely][point_idx]
    target = shapely.line_interpolate_point(
        lines[line_idx], shapely.line_locate_point(lines[line_idx], dangle))
    a = shapely.get_coordinates(dangle)
    b = shapely.get_coordinates(target)
    direction = (b - a) / np.linalg.norm(b - a, axis=1, keepdims=True)
    return shapely.linestrings(np.stack([a, b + direction * 1.0], axis=1))


def build_graph_from_lines(
    lines: gpd.GeoDataFrame | gpd.GeoSeries, *, source: str = "road lines",
    dangle_snap_m: float = DANGLE_SNAP_M,
) -> RoadGraph:
    """Build a routable graph from road LineStrings that carry no topology.

    Every crossing becomes a node (lines that only cross are connected), coordinates are
    snapped to a 0.5 m grid, dead ends within ``dangle_snap_m`` of another road are joined
    to it, and only the largest connected component is kept (the report says what was
    dropped).

    Parameters
    ----------
    lines
        Road lines in a projected metric CRS (EPSG:6670).
    source
        Name of the input, for the report.
    dangle_snap_m
        Join distance for dead ends, metres (0 disables).

    Returns
    -------
    RoadGraph
    """
    started = time.perf_counter()
    geoms = lines.geometry if isinstance(lines, gpd.GeoDataFrame) else lines
    if geoms.crs is None or not geoms.crs.is_projected:
        msg = f"{source}: road lines must be in a projected metric CRS (EPSG:6670), got {geoms.crs}"
        raise LayerError(msg)
    parts = shapely.get_parts(geoms.to_numpy())
    parts = shapely.set_precision(parts, GRID_M)
    parts = parts[~shapely.is_empty(parts) & (shapely.get_type_id(parts) == 1)]
    connectors = _dangle_connectors(parts, dangle_snap_m) if dangle_snap_m > 0 else np.array([])
    everything = np.concatenate([parts, connectors]) if len(connectors) else parts
    noded = shapely.get_parts(shapely.node(shapely.set_precision(
        shapely.multilinestrings(everything), GRID_M)))
    noded = shapely.set_precision(noded, GRID_M)
    noded = noded[~shapely.is_empty(noded)]
    start_xy = shapely.get_coordinates(shapely.get_point(noded, 0))
    end_xy = shapely.get_coordinates(shapely.get_point(noded, -1))
    keys = np.round(np.concatenate([start_xy, end_xy]) / GRID_M).astype(np.int64)
    unique_keys, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    xy = unique_keys.astype(np.float64) * GRID_M
    n = len(noded)
    return graph_from_edges(
        xy, inverse[:n], inverse[n:], noded, source=source, input_lines=len(geoms),
        dangles_joined=len(connectors), started=started,
    )


def graph_from_networkx(graph: nx.MultiDiGraph, *, source: str) -> RoadGraph:
    """Convert an osmnx graph (unprojected or projected) to an undirected ``RoadGraph``.

    One-way restrictions are dropped: distances to a counter are treated as the same in
    both directions. A two-way street, which osmnx holds as two opposite directed edges,
    becomes one edge (parallel streets with different geometry are kept). Edge
    geometries run from ``edge_u`` to ``edge_v`` and edge lengths are recomputed in
    EPSG:6670 metres from them.

    Parameters
    ----------
    graph
        An osmnx ``MultiDiGraph`` with a ``crs`` graph attribute and node ``x``/``y``.
    source
        Name of the input, for the report.

    Returns
    -------
    RoadGraph

    Raises
    ------
    LayerError
        The graph has no edges.
    """
    import osmnx as ox

    started = time.perf_counter()
    if graph.number_of_edges() == 0:
        msg = f"{source}: the OSM graph has no edges"
        raise LayerError(msg)
    undirected = ox.convert.to_undirected(graph)
    nodes, edges = ox.convert.graph_to_gdfs(undirected, nodes=True, edges=True,
                                            fill_edge_geometry=True)
    nodes = nodes.to_crs(METRIC_CRS)
    edges = edges.to_crs(METRIC_CRS).reset_index()
    index = {osmid: i for i, osmid in enumerate(nodes.index)}
    xy = np.column_stack([nodes.geometry.x, nodes.geometry.y])
    edge_u = edges["u"].map(index).to_numpy(dtype=np.int64)
    edge_v = edges["v"].map(index).to_numpy(dtype=np.int64)
    # an undirected edge keeps the geometry of the directed edge it came from ("from" ->
    # "to"), which may run v -> u: reverse those so every geometry starts at u.
    geometry = edges.geometry.to_numpy()
    backwards = (edges["from"] != edges["u"]).to_numpy()
    geometry[backwards] = shapely.reverse(geometry[backwards])
    return graph_from_edges(
        xy, edge_u, edge_v, geometry, source=source, input_lines=len(edges), started=started,
    )


def graph_from_osm_xml(path: str | os.PathLike[str], *, network_type: str = "drive") -> RoadGraph:
    """Build a graph from an OSM XML extract with osmnx ``graph_from_xml``.

    Parameters
    ----------
    path
        ``.osm`` file, for example the bundle's 中央区 drive or walk extract.
    network_type
        Only used in the report; the extract already holds the chosen ways.
    """
    import osmnx as ox

    path = Path(path)
    try:
        graph = ox.graph_from_xml(path, simplify=True, retain_all=False)
    except Exception as e:
        msg = f"{path}: cannot be read as OSM XML ({e})"
        raise LayerError(msg) from e
    return graph_from_networkx(graph, source=f"OSM {network_type} ({path.name})")


def graph_from_graphml(path: str | os.PathLike[str], *, network_type: str = "drive") -> RoadGraph:
    """Build a graph from a GraphML file saved by osmnx (e.g. by ``python -m geo fetch``)."""
    import osmnx as ox

    path = Path(path)
    try:
        graph = ox.load_graphml(path)
    except Exception as e:
        msg = f"{path}: cannot be read as an osmnx GraphML file ({e})"
        raise LayerError(msg) from e
    return graph_from_networkx(graph, source=f"OSM {network_type} ({path.name})")


def graph_from_place(place: str, *, network_type: str = "drive") -> RoadGraph:
    """Download an OSM network with osmnx ``graph_from_place`` (needs internet).

    Parameters
    ----------
    place
        For example ``"熊本市, 熊本県, 日本"``.
    network_type
        osmnx network type: ``drive``, ``walk``, ...

    Raises
    ------
    FetchError
        The download failed (no internet, unknown place, Overpass error).
    """
    import osmnx as ox

    try:
        graph = ox.graph_from_place(place, network_type=network_type, simplify=True)
    except Exception as e:  # osmnx raises requests, geocoding and Overpass response errors
        msg = (f"could not download the OSM {network_type} network of {place!r} ({e}); "
               f"this needs internet access to Nominatim and Overpass")
        raise FetchError(msg) from e
    return graph_from_networkx(graph, source=f"OSM {network_type} ({place})")


def to_networkx(graph: RoadGraph) -> nx.Graph:
    """Return the graph as an undirected ``networkx.Graph`` with ``length`` in metres."""
    coo = graph.adjacency.tocoo()
    upper = coo.row < coo.col
    nx_graph = nx.Graph()
    nx_graph.add_nodes_from(range(graph.n_nodes))
    nx_graph.add_weighted_edges_from(
        zip(coo.row[upper].tolist(), coo.col[upper].tolist(), coo.data[upper].tolist(),
            strict=True),
        weight="length")
    return nx_graph
