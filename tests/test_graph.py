"""Graph building from attribute-less road lines, on hand-made lines with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString

from geo.errors import CRSError, LayerError
from geo.graph import build_graph_from_lines, to_networkx

ORIGIN_X, ORIGIN_Y = -20_000.0, -30_000.0  # a point inside EPSG:6670's area of use


def _lines(*coords_lists, crs="EPSG:6670") -> gpd.GeoSeries:
    return gpd.GeoSeries(
        [LineString([(ORIGIN_X + x, ORIGIN_Y + y) for x, y in coords]) for coords in coords_lists],
        crs=crs)


def _node(graph, x, y) -> int:
    d = np.hypot(graph.xy[:, 0] - (ORIGIN_X + x), graph.xy[:, 1] - (ORIGIN_Y + y))
    assert d.min() < 1.0, f"no node near ({x}, {y})"
    return int(np.argmin(d))


def test_lines_that_only_cross_are_connected_at_the_crossing():
    graph = build_graph_from_lines(_lines([(0, 0), (200, 0)], [(100, -100), (100, 100)]))
    assert graph.n_nodes == 5
    assert len(graph.edge_u) == 4
    dist = dijkstra(graph.adjacency, indices=_node(graph, 0, 0))
    assert dist[_node(graph, 100, 100)] == pytest.approx(200.0)


def test_endpoints_within_the_grid_snap_together():
    graph = build_graph_from_lines(_lines([(0, 0), (100, 0)], [(100.1, 0.1), (100.1, 100)]))
    assert graph.report.strong_components == 1
    dist = dijkstra(graph.adjacency, indices=_node(graph, 0, 0))
    assert dist[_node(graph, 100, 100)] == pytest.approx(200.0, abs=0.5)


def test_dead_end_near_a_road_is_joined_to_it():
    # the side road stops 4 m short of the main road: a digitising gap
    graph = build_graph_from_lines(_lines([(0, 0), (200, 0)], [(100, 4), (100, 100)]))
    assert graph.report.dangles_joined == 1
    assert graph.report.strong_components == 1
    dist = dijkstra(graph.adjacency, indices=_node(graph, 0, 0))
    assert dist[_node(graph, 100, 100)] == pytest.approx(200.0, abs=1.5)


def test_dead_end_far_from_a_road_is_not_joined_and_smaller_part_dropped():
    graph = build_graph_from_lines(_lines([(0, 0), (200, 0)], [(100, 50), (100, 60)]))
    assert graph.report.dangles_joined == 0
    assert graph.report.strong_components == 2
    assert graph.report.dropped_edges == 1
    assert graph.report.dropped_length_km == pytest.approx(0.010)
    assert graph.report.length_km == pytest.approx(0.200)
    assert graph.n_nodes == 2


def test_edge_length_follows_the_line_not_the_chord():
    graph = build_graph_from_lines(_lines([(0, 0), (0, 30), (40, 30)]))
    assert graph.edge_length.sum() == pytest.approx(70.0)
    dist = dijkstra(graph.adjacency, indices=_node(graph, 0, 0))
    assert dist[_node(graph, 40, 30)] == pytest.approx(70.0)


def test_parallel_edges_keep_the_shortest():
    graph = build_graph_from_lines(_lines([(0, 0), (100, 0)], [(0, 0), (50, 50), (100, 0)]))
    dist = dijkstra(graph.adjacency, indices=_node(graph, 0, 0))
    assert dist[_node(graph, 100, 0)] == pytest.approx(100.0)


def test_geographic_lines_are_refused():
    with pytest.raises(CRSError, match="must be in EPSG:6670"):
        build_graph_from_lines(gpd.GeoSeries([LineString([(130.7, 32.8), (130.71, 32.8)])],
                                             crs="EPSG:4326"))


def test_another_projected_crs_is_refused_not_relabelled():
    # Japan Plane Rectangular CS III (EPSG:6671) is metric too, but its coordinates are
    # not 6670's: the graph would be labelled 6670 and everything snapped would be wrong
    with pytest.raises(CRSError, match="got EPSG:6671"):
        build_graph_from_lines(gpd.GeoSeries([LineString([(0, 0), (100, 0)])],
                                             crs="EPSG:6671"))


def test_empty_input_is_refused():
    with pytest.raises(LayerError, match="no usable road segments"):
        build_graph_from_lines(_lines([(0, 0), (0, 0)]))


def test_networkx_conversion_keeps_lengths():
    graph = build_graph_from_lines(_lines([(0, 0), (200, 0)], [(100, -100), (100, 100)]))
    nx_graph = to_networkx(graph)
    assert nx_graph.number_of_edges() == 8  # two arcs per two-way segment
    assert sum(d["length"] for _, _, d in nx_graph.edges(data=True)) == pytest.approx(800.0)
    assert all(nx_graph.has_edge(b, a) for a, b in nx_graph.edges)


@pytest.mark.bundle
def test_mlit_bundle_graph_size(bundle_dir):
    from geo.engine import build_graph

    report = build_graph(bundle_dir, network="mlit").report
    assert 30_000 < report.nodes < 60_000
    assert 1_200 < report.length_km < 1_400  # the bundle README: ~1,300 km once noded
    assert report.dropped_length_km < 0.02 * report.length_km
    assert report.strong_components > 1  # the report says what it dropped
