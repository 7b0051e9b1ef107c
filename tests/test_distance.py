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
    end = (n - 1) * step
    lines = [LineString([(X0, Y0 + i * step), (X0 + end, Y0 + i * step)]) for i in range(n)]
    lines += [LineString([(X0 + i * step, Y0), (X0 + i * step, Y0 + end)]) for i in range(n)]
    return build_graph_from_lines(gpd.GeoSeries(lines, crs=CRS))


def _points(*xy) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def test_snap_attaches_to_the_nearest_edge_with_the_perpendicular_leg():
    graph = _grid()
    anchors = distance.snap_points(_points((50, 30), (130, 200)), graph)
    assert anchors.snap_m == pytest.approx([30.0, 0.0])
    assert sorted([anchors.to_u[0], anchors.to_v[0]]) == pytest.approx([50.0, 50.0])


def test_snap_table_flags_points_beyond_300_m_from_a_street():
    graph = _grid()  # streets span 0..200 m in both directions
    points = gpd.GeoDataFrame({"id": ["near", "just-within", "just-beyond"]},
                              geometry=_points((50, 30), (100, 499.5), (100, 500.5)))
    table = distance.snap_table(points, distance.snap_points(points, graph), id_column="id")
    assert table["id"].tolist() == ["near", "just-within", "just-beyond"]
    assert table["snap_m"].tolist() == pytest.approx([30.0, 299.5, 300.5])
    assert table["far"].tolist() == [False, False, True]


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
def test_node_distances_equal_networkx_on_random_one_way_graphs(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    xy = rng.uniform(0, 1000, size=(n, 2)) + np.array([X0, Y0])
    m = int(rng.integers(2 * n, 4 * n))
    u = rng.integers(0, n, size=m)
    v = rng.integers(0, n, size=m)
    one_way = rng.random(m) < 0.3
    bends = rng.uniform(0, 200, size=m)
    geoms = np.array([LineString([xy[a], (xy[a] + xy[b]) / 2 + [0, bend], xy[b]])
                      for a, b, bend in zip(u, v, bends, strict=True)], dtype=object)
    graph = graph_from_edges(xy, u, v, geoms, source="random", input_lines=m,
                             edge_backward=~one_way)
    source_node = 0
    yes = np.array([True])
    group = distance.Anchors(edge=np.array([0]), u=np.array([source_node]),
                             v=np.array([source_node]), to_u=np.array([0.0]),
                             to_v=np.array([0.0]), snap_m=np.array([0.0]),
                             forward=yes, backward=yes)
    ours = distance.node_distances(graph, [group])[0]
    g = nx.DiGraph()
    for a, b, w, fwd, bwd in zip(graph.edge_u, graph.edge_v, graph.edge_length,
                                 graph.edge_forward, graph.edge_backward, strict=True):
        for x, y, allowed in ((a, b, fwd), (b, a, bwd)):
            if allowed and (not g.has_edge(x, y) or g[x][y]["weight"] > w):
                g.add_edge(int(x), int(y), weight=float(w))
    # the resident's direction: from every node to the facility
    expected = nx.single_source_dijkstra_path_length(g.reverse(), source_node)
    assert len(expected) == graph.n_nodes  # the graph keeps one strongly connected part
    for node, value in expected.items():
        assert ours[node] == pytest.approx(value, rel=1e-5, abs=1e-6)


def _one_way_square():
    """A 100 m square, corners A(0,0) B(100,0) C(100,100) D(0,100), one-way A->B->C->D->A."""
    corners = np.array([[0, 0], [100, 0], [100, 100], [0, 100]], dtype=float) + np.array([X0, Y0])
    u, v = np.array([0, 1, 2, 3]), np.array([1, 2, 3, 0])
    geoms = np.array([LineString([corners[a], corners[b]]) for a, b in zip(u, v, strict=True)],
                     dtype=object)
    return graph_from_edges(corners, u, v, geoms, source="square", input_lines=4,
                            edge_backward=np.zeros(4, dtype=bool))


def test_one_way_streets_are_followed_from_the_origin_to_the_counter():
    graph = _one_way_square()
    counter = distance.snap_points(_points((50, -5)), graph)  # on A->B, 50 m from A
    ahead = distance.snap_points(_points((-5, 50)), graph)  # on D->A: 50 m to A, then 50 m
    behind = distance.snap_points(_points((105, 50)), graph)  # on B->C: must go round
    dist = distance.facility_distances(graph, counter, ahead)[0, 0]
    assert dist == pytest.approx(5 + 50 + 50 + 5)
    # from B->C the car continues to C, D, A and on to the counter: 50 + 100 + 100 + 50
    assert distance.facility_distances(graph, counter, behind)[0, 0] == pytest.approx(
        5 + 50 + 100 + 100 + 50 + 5)
    # on the same one-way segment: ahead of the counter means driving round the block
    past = distance.snap_points(_points((80, -5)), graph)
    assert distance.facility_distances(graph, counter, past)[0, 0] == pytest.approx(
        5 + 20 + 100 + 100 + 100 + 50 + 5)
    before = distance.snap_points(_points((10, -5)), graph)
    assert distance.facility_distances(graph, counter, before)[0, 0] == pytest.approx(5 + 40 + 5)


def test_walking_ignores_one_way_streets():
    graph = _one_way_square().undirected()
    counter = distance.snap_points(_points((50, -5)), graph)
    behind = distance.snap_points(_points((105, 50)), graph)
    assert distance.facility_distances(graph, counter, behind)[0, 0] == pytest.approx(
        5 + 50 + 50 + 5)
