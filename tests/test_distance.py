"""Snapping and csgraph distances against hand-computed answers and networkx."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from geo import distance
from geo.errors import CRSError
from geo.graph import build_graph_from_lines, graph_from_edges

X0, Y0 = -20_000.0, -30_000.0
CRS = "EPSG:6670"


def _grid(n: int = 3, step: float = 100.0):
    """An n x n street grid, ``step`` metres apart."""
    lines = [LineString([(X0, Y0 + i * step), (X0 + (n - 1) * step, Y0 + i * step)]) for i in range(n)]
    lines += [LineString([(X0 + i * step, Y0), (X0 + i * step, Y0 + (n - 1) * step)]) for i in range(n)]
    return build_graph_from_lines(gpd.GeoSeries(lines, crs=CRS))


def _points(*xy) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def test_snap_attaches_to_the_nearest_edge_with_the_perpendicular_leg():
    graph = _grid()
    anchors = distance.snap_points(_points((50, 30), (130, 200)), graph)
    assert anchors.snap_m == pytest.approx([30.0, 0.0])
    assert sorted([anchors.to_u[0], anchors.to_v[0]]) == pytest.approx([50.0, 50.0])


def test_distance_includes_both_snap_legs_and_the_way_along_edges():
    graph = _grid()
    office = distance.snap_points(_points((0, -20)), graph)  # 20 m below corner (0, 0)
    origin = distance.snap_points(_points((150, 210)), graph)  # 10 m above (150, 200)
    dist = distance.facility_distances(graph, office, origin)
    assert dist[0, 0] == pytest.approx(20 + 150 + 200 + 10)


def test_same_edge_points_are_joined_directly():
    graph = _grid()
    office = distance.snap_points(_points((20, 5)), graph)
    origin = distance.snap_points(_points((60, -5)), graph)
    assert distance.facility_distances(graph, office, origin)[0, 0] == pytest.approx(50.0)


def test_nearest_distance_takes_the_closest_facility_and_empty_gives_inf():
    graph = _grid()
    facilities = distance.snap_points(_points((0, 0), (200, 200)), graph)
    origins = distance.snap_points(_points((190, 200), (0, 30)), graph)
    assert distance.nearest_distance(graph, facilities, origins) == pytest.approx([10.0, 30.0])
    empty = distance.snap_points(_points(), graph)
    assert np.isinf(distance.nearest_distance(graph, empty, origins)).all()


def test_points_without_crs_are_refused():
    with pytest.raises(CRSError, match="no CRS"):
        distance.snap_points(gpd.GeoSeries([Point(0, 0)]), _grid())


def test_points_in_wgs84_are_reprojected_before_snapping():
    graph = _grid()
    metric = _points((50, 30))
    anchors = distance.snap_points(metric.to_crs("EPSG:4326"), graph)
    assert anchors.snap_m[0] == pytest.approx(30.0, abs=0.01)


def test_straight_distances_in_metres():
    a = _points((0, 0))
    b = _points((300, 400))
    assert distance.straight_distances(a, b)[0, 0] == pytest.approx(500.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_node_distances_equal_networkx_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    xy = rng.uniform(0, 1000, size=(n, 2)) + [X0, Y0]
    m = int(rng.integers(n, 3 * n))
    u = rng.integers(0, n, size=m)
    v = rng.integers(0, n, size=m)
    bends = rng.uniform(0, 200, size=m)
    geoms = np.array([LineString([xy[a], (xy[a] + xy[b]) / 2 + [0, bend], xy[b]])
                      for a, b, bend in zip(u, v, bends)], dtype=object)
    graph = graph_from_edges(xy, u, v, geoms, source="random", input_lines=m)
    source_node = 0
    group = distance.Anchors(edge=np.array([0]), u=np.array([source_node]),
                             v=np.array([source_node]), to_u=np.array([0.0]),
                             to_v=np.array([0.0]), snap_m=np.array([0.0]))
    ours = distance.node_distances(graph, [group])[0]
    g = nx.Graph()
    for a, b, w in zip(graph.edge_u, graph.edge_v, graph.edge_length):
        if not g.has_edge(a, b) or g[a][b]["weight"] > w:
            g.add_edge(int(a), int(b), weight=float(w))
    expected = nx.single_source_dijkstra_path_length(g, source_node)
    for node, value in expected.items():
        assert ours[node] == pytest.approx(value, rel=1e-5, abs=1e-6)
