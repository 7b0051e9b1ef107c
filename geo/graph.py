"""Build routable road graphs in a compact array form (CSR), from line layers or OSM.

A graph holds street *segments* (``edge_u``, ``edge_v``, one LineString each) and, per
segment, which way it may be travelled: ``edge_forward`` (``u -> v``) and
``edge_backward`` (``v -> u``). A two-way street allows both; a one-way street one.
Walking ignores one-way rules (``RoadGraph.undirected``).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from .errors import CRSError, FetchError, InputTooLargeError, LayerError
from .layers import METRIC_CRS, check_extent, check_feature_count, check_file_size, open_gzip

logger = logging.getLogger(__name__)

GRID_M = 0.5
"""Coordinates are rounded to this grid (metres) so vertices that coincide meet exactly."""
DANGLE_SNAP_M = 10.0
"""A dead end closer than this to another road is joined to it (digitising gaps)."""
OSM_CSV_COLUMNS = {
    "nodes": ("node", "lon", "lat"),
    "edges": ("u", "v", "key", "length_m", "oneway", "geometry_wkt"),
}
"""Columns of the OSM drive network as CSV (the bundle's city network and ``geo fetch``)."""


@dataclass(frozen=True)
class GraphReport:
    """What building a graph kept and dropped.

    ``weak_components`` and ``strong_components`` count the components of the input
    (strong ones differ only when some streets are one-way); the graph keeps the largest
    strongly connected one, so every kept node can reach every other.
    """

    source: str
    input_lines: int
    nodes: int
    edges: int
    length_km: float
    weak_components: int
    strong_components: int
    dropped_nodes: int
    dropped_edges: int
    dropped_length_km: float
    dangles_joined: int
    oneway_edges: int
    build_seconds: float

    def summary(self) -> str:
        """Return a one-line description for logs and the dashboard."""
        oneway = f", {self.oneway_edges:,} one-way" if self.oneway_edges else ""
        joined = f"; {self.dangles_joined} dead ends joined" if self.dangles_joined else ""
        return (f"{self.source}: {self.nodes:,} nodes, {self.edges:,} street segments"
                f"{oneway}, {self.length_km:,.0f} km kept; {self.dropped_nodes:,} node(s) "
                f"outside the largest connected part dropped ({self.dropped_edges:,} segments, "
                f"{self.dropped_length_km:,.1f} km){joined}; built in {self.build_seconds:.1f} s")


@dataclass(frozen=True)
class RoadGraph:
    """A road graph held as arrays, coordinates in EPSG:6670 metres.

    Attributes
    ----------
    xy
        ``(n_nodes, 2)`` float64 node coordinates.
    edge_u, edge_v
        ``(n_edges,)`` int32 end nodes of each street segment.
    edge_length
        ``(n_edges,)`` float64 length in metres along the road.
    edge_geometry
        ``(n_edges,)`` shapely LineStrings from ``u`` to ``v``, used to snap points.
    edge_forward, edge_backward
        ``(n_edges,)`` bool: the segment may be travelled ``u -> v`` / ``v -> u``.
    adjacency
        ``csr_matrix``: ``adjacency[i, j]`` is the length of the shortest segment that may
        be travelled from ``i`` to ``j`` (symmetric when every street is two-way).
    report
        How the graph was built.
    """

    xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_geometry: np.ndarray
    edge_forward: np.ndarray
    edge_backward: np.ndarray
    adjacency: csr_matrix
    report: GraphReport
    crs: str = METRIC_CRS
    _edge_tree: shapely.STRtree | None = field(default=None, repr=False, compare=False)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.xy)

    @property
    def directed(self) -> bool:
        """Whether some segment may be travelled one way only."""
        return not bool((self.edge_forward & self.edge_backward).all())

    @property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index over ``edge_geometry`` (built on first use)."""
        if self._edge_tree is None:
            object.__setattr__(self, "_edge_tree", shapely.STRtree(self.edge_geometry))
        return self._edge_tree

    def undirected(self) -> RoadGraph:
        """The same streets with every segment walkable both ways (one-way rules dropped)."""
        if not self.directed:
            return self
        both = np.ones(len(self.edge_u), dtype=bool)
        return replace(self, edge_forward=both, edge_backward=both,
                       adjacency=_adjacency(self.edge_u, self.edge_v, self.edge_length,
                                            both, both, self.n_nodes),
                       _edge_tree=self._edge_tree)


def _adjacency(u: np.ndarray, v: np.ndarray, length: np.ndarray, forward: np.ndarray,
               backward: np.ndarray, n: int) -> csr_matrix:
    rows = np.concatenate([u[forward], v[backward]])
    cols = np.concatenate([v[forward], u[backward]])
    weights = np.concatenate([length[forward], length[backward]])
    order = np.lexsort((weights, cols, rows))
    rows, cols, weights = rows[order], cols[order], weights[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    # coo -> csr would sum parallel edges; keep only the shortest of each pair instead.
    return coo_matrix((weights[first], (rows[first], cols[first])), shape=(n, n)).tocsr()


def graph_from_edges(
    xy: np.ndarray, edge_u: np.ndarray, edge_v: np.ndarray, edge_geometry: np.ndarray, *,
    source: str, input_lines: int, edge_length: np.ndarray | None = None,
    edge_forward: np.ndarray | None = None, edge_backward: np.ndarray | None = None,
    dangles_joined: int = 0, started: float | None = None,
) -> RoadGraph:
    """Assemble a ``RoadGraph``, keeping only the largest strongly connected part.

    Parameters
    ----------
    xy
        Node coordinates, EPSG:6670 metres.
    edge_u, edge_v
        End-node indices of each street segment.
    edge_geometry
        LineStrings of the segments, from ``u`` to ``v``, EPSG:6670.
    source
        Name of the input, for the report.
    input_lines
        Number of input features, for the report.
    edge_length
        Length along the road, metres; default: the length of ``edge_geometry``.
    edge_forward, edge_backward
        Allowed directions (default: both, an undirected graph).

    Returns
    -------
    RoadGraph
    """
    started = time.perf_counter() if started is None else started
    length = shapely.length(edge_geometry) if edge_length is None else np.asarray(
        edge_length, dtype=np.float64)
    both = np.ones(len(edge_u), dtype=bool)
    forward = both if edge_forward is None else np.asarray(edge_forward, dtype=bool)
    backward = both if edge_backward is None else np.asarray(edge_backward, dtype=bool)
    keep_edge = (edge_u != edge_v) & (length > 0) & (forward | backward)
    edge_u, edge_v, length = edge_u[keep_edge], edge_v[keep_edge], length[keep_edge]
    edge_geometry, forward, backward = (edge_geometry[keep_edge], forward[keep_edge],
                                        backward[keep_edge])
    if len(edge_u) == 0:
        msg = f"{source}: no usable road segments (every line is empty or degenerate)"
        raise LayerError(msg)
    n = len(xy)
    adjacency = _adjacency(edge_u, edge_v, length, forward, backward, n)
    used = np.zeros(n, dtype=bool)
    used[edge_u] = used[edge_v] = True
    weak, weak_labels = connected_components(adjacency, directed=True, connection="weak")
    strong, labels = connected_components(adjacency, directed=True, connection="strong")
    sizes = np.bincount(labels[used], minlength=strong)
    largest = int(np.argmax(sizes))
    keep_node = labels == largest
    keep = keep_node[edge_u] & keep_node[edge_v]
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[keep_node] = np.arange(int(keep_node.sum()))
    kept_u = new_index[edge_u[keep]].astype(np.int32)
    kept_v = new_index[edge_v[keep]].astype(np.int32)
    kept_len = length[keep]
    n_kept = int(keep_node.sum())
    kept_forward, kept_backward = forward[keep], backward[keep]
    report = GraphReport(
        source=source, input_lines=input_lines, nodes=n_kept, edges=int(keep.sum()),
        length_km=float(kept_len.sum() / 1000),
        weak_components=int((np.bincount(weak_labels[used], minlength=weak) > 0).sum()),
        strong_components=int((sizes > 0).sum()),
        dropped_nodes=int(used.sum() - n_kept), dropped_edges=int((~keep).sum()),
        dropped_length_km=float(length[~keep].sum() / 1000), dangles_joined=dangles_joined,
        oneway_edges=int((kept_forward ^ kept_backward).sum()),
        build_seconds=time.perf_counter() - started,
    )
    logger.info(report.summary())
    return RoadGraph(
        xy=xy[keep_node], edge_u=kept_u, edge_v=kept_v, edge_length=kept_len,
        edge_geometry=edge_geometry[keep], edge_forward=kept_forward,
        edge_backward=kept_backward,
        adjacency=_adjacency(kept_u, kept_v, kept_len, kept_forward, kept_backward, n_kept),
        report=report,
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
    stubs: np.ndarray = shapely.linestrings(np.stack([a, b + direction * 1.0], axis=1))
    return stubs


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
        Road lines in EPSG:6670 (any other CRS is refused: the graph's metres are 6670's).
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
    if geoms.crs is None or CRS.from_user_input(geoms.crs) != CRS.from_user_input(METRIC_CRS):
        msg = (f"{source}: road lines must be in {METRIC_CRS} (JGD2011 / Japan Plane "
               f"Rectangular CS II), got {geoms.crs}; reproject them with to_crs first")
        raise CRSError(msg)
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


def _graph_from_directed_edges(
    xy: np.ndarray, u: np.ndarray, v: np.ndarray, length_m: np.ndarray, oneway: np.ndarray,
    geometry: np.ndarray, *, source: str, started: float, walk: bool = False,
) -> RoadGraph:
    """Collapse osmnx-style directed edges (one row per direction) into street segments.

    A two-way street appears twice (``u -> v`` and its reverse twin ``v -> u``, both with
    ``oneway`` 0): the row with ``u < v`` is kept as a segment open both ways. A one-way
    street (``oneway`` 1) is a segment open ``u -> v`` only, unless ``walk``.
    """
    oneway = np.asarray(oneway, dtype=bool)
    keep = oneway | (u < v)
    forward = np.ones(int(keep.sum()), dtype=bool)
    backward = ~oneway[keep] | walk
    return graph_from_edges(
        xy, u[keep], v[keep], geometry[keep], source=source, input_lines=len(u),
        edge_length=length_m[keep], edge_forward=forward, edge_backward=backward,
        started=started,
    )


def _project_lines(lines: np.ndarray, crs: CRS | str) -> np.ndarray:
    transformer = Transformer.from_crs(crs, METRIC_CRS, always_xy=True)
    projected: np.ndarray = shapely.transform(
        lines, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))
    return projected


def _read_osm_csv(path: Path, kind: str) -> pd.DataFrame:
    check_file_size(path)
    try:
        with open_gzip(path) if path.suffix == ".gz" else path.open("rb") as handle:
            frame = pd.read_csv(handle)
    except InputTooLargeError:
        raise
    except Exception as e:
        msg = f"{path}: cannot be read as a CSV of OSM {kind} ({e})"
        raise LayerError(msg) from e
    missing = [c for c in OSM_CSV_COLUMNS[kind] if c not in frame.columns]
    if missing:
        msg = (f"{path}: missing column(s) {', '.join(missing)}; expected "
               f"{', '.join(OSM_CSV_COLUMNS[kind])}")
        raise LayerError(msg)
    check_feature_count(path, len(frame))
    return frame


def graph_from_osm_csv(
    nodes_path: str | os.PathLike[str], edges_path: str | os.PathLike[str], *,
    source: str | None = None, walk: bool = False,
) -> RoadGraph:
    """Build a directed graph from the OSM drive network saved as two CSV files.

    The schema is the bundle's ``roads/osm_city_drive_<date>_{nodes,edges}.csv.gz``, which
    ``python -m geo fetch`` also writes from a fresh osmnx download: nodes ``node, lon,
    lat`` (WGS84); edges one row per direction, ``u, v, key, length_m, oneway,
    geometry_wkt`` (osmnx ``length`` in metres, ``oneway`` 1 when no reverse twin exists,
    LineString in WGS84). Extra columns (OSM ids, highway class) are ignored.

    Parameters
    ----------
    nodes_path, edges_path
        The two files (``.csv`` or ``.csv.gz``).
    source
        Name for the report (default: the edges file name).
    walk
        Ignore one-way rules (a walking network).

    Returns
    -------
    RoadGraph
        Directed (one-way streets open ``u -> v`` only) unless ``walk``.

    Raises
    ------
    LayerError
        A file is unreadable, lacks a column, or holds invalid values.
    """
    started = time.perf_counter()
    nodes_path, edges_path = Path(nodes_path), Path(edges_path)
    nodes = _read_osm_csv(nodes_path, "nodes")
    edges = _read_osm_csv(edges_path, "edges")
    problems = []
    if nodes["node"].duplicated().any():
        problems.append(f"{nodes_path}: duplicate node ids")
    lon = pd.to_numeric(nodes["lon"], errors="coerce").to_numpy()
    lat = pd.to_numeric(nodes["lat"], errors="coerce").to_numpy()
    if not (np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180)
            & (np.abs(lat) <= 90)).all():
        problems.append(f"{nodes_path}: lon/lat must be WGS84 degrees")
    index = pd.Index(nodes["node"])
    u = index.get_indexer(edges["u"])
    v = index.get_indexer(edges["v"])
    if (u < 0).any() or (v < 0).any():
        problems.append(f"{edges_path}: {int(((u < 0) | (v < 0)).sum())} edge(s) name a node "
                        f"that {nodes_path.name} lacks")
    length = pd.to_numeric(edges["length_m"], errors="coerce").to_numpy(dtype=float)
    if not (np.isfinite(length) & (length >= 0)).all():
        problems.append(f"{edges_path}: length_m must be a non-negative number of metres")
    if not edges["oneway"].isin([0, 1]).all():
        problems.append(f"{edges_path}: oneway must be 0 or 1")
    if problems:
        raise LayerError("; ".join(problems))
    check_extent(gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326"),
                 nodes_path)
    try:
        lines = shapely.from_wkt(edges["geometry_wkt"].to_numpy())
    except Exception as e:
        msg = f"{edges_path}: geometry_wkt holds invalid WKT ({e})"
        raise LayerError(msg) from e
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    xy = np.column_stack(to_metric.transform(lon, lat))
    return _graph_from_directed_edges(
        xy, u, v, length, edges["oneway"].to_numpy(), _project_lines(lines, "EPSG:4326"),
        source=source or f"OSM drive ({edges_path.name})", started=started, walk=walk)


def graph_from_networkx(graph: nx.MultiDiGraph, *, source: str, walk: bool = False
                        ) -> RoadGraph:
    """Convert an osmnx graph (unprojected or projected) to a ``RoadGraph``.

    One-way streets stay one-way (``edge_forward`` only) unless ``walk``; a two-way
    street, which osmnx holds as two opposite directed edges, becomes one segment. Edge
    lengths are osmnx's ``length`` (metres); geometries are reprojected to EPSG:6670.

    Parameters
    ----------
    graph
        An osmnx ``MultiDiGraph`` with a ``crs`` graph attribute and node ``x``/``y``.
    source
        Name of the input, for the report.
    walk
        Ignore one-way rules (a walking network).

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
    nodes, edges = ox.convert.graph_to_gdfs(graph, nodes=True, edges=True,
                                            fill_edge_geometry=True)
    edges = edges.reset_index()
    index = pd.Index(nodes.index)
    u = index.get_indexer(edges["u"])
    v = index.get_indexer(edges["v"])
    # two-way only where a reverse edge of the same length exists (a one-way street beside
    # a two-way one between the same nodes stays one-way)
    length_mm = np.round(edges["length"].to_numpy(dtype=float) * 1000).astype(np.int64)
    twins = pd.MultiIndex.from_arrays([edges["v"], edges["u"], length_mm])
    oneway = ~twins.isin(pd.MultiIndex.from_arrays([edges["u"], edges["v"], length_mm]))
    metric_nodes = nodes.to_crs(METRIC_CRS)
    xy = np.column_stack([metric_nodes.geometry.x, metric_nodes.geometry.y])
    return _graph_from_directed_edges(
        xy, u, v, edges["length"].to_numpy(dtype=float), oneway,
        edges.to_crs(METRIC_CRS).geometry.to_numpy(), source=source, started=started,
        walk=walk)


def graph_from_osm_xml(path: str | os.PathLike[str], *, network_type: str = "drive") -> RoadGraph:
    """Build a graph from an OSM XML extract with osmnx ``graph_from_xml``.

    Parameters
    ----------
    path
        ``.osm`` file, for example the bundle's 中央区 drive or walk extract.
    network_type
        ``drive`` keeps one-way streets one-way; ``walk`` ignores one-way rules.
    """
    import osmnx as ox

    path = Path(path)
    check_file_size(path)
    try:
        graph = ox.graph_from_xml(path, simplify=True, retain_all=False)
    except Exception as e:
        msg = f"{path}: cannot be read as OSM XML ({e})"
        raise LayerError(msg) from e
    return graph_from_networkx(graph, source=f"OSM {network_type} ({path.name})",
                               walk=network_type == "walk")


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
    return graph_from_networkx(graph, source=f"OSM {network_type} ({place})",
                               walk=network_type == "walk")


def to_networkx(graph: RoadGraph) -> nx.DiGraph:
    """Return the graph as a ``networkx.DiGraph`` with ``length`` in metres.

    Each segment becomes one arc per allowed direction (the shortest of parallel arcs).
    """
    coo = graph.adjacency.tocoo()
    nx_graph = nx.DiGraph()
    nx_graph.add_nodes_from(range(graph.n_nodes))
    nx_graph.add_weighted_edges_from(
        zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True),
        weight="length")
    return nx_graph
