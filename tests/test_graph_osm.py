"""Tests of the OSM road-graph path of geo.graph (osmnx graphs -> RoadGraph)."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import osmnx as ox
import pytest
import shapely
from pyproj import Geod, Transformer
from scipy.sparse.csgraph import connected_components

from geo import graph as graph_module
from geo.errors import FetchError, InputTooLargeError, LayerError
from geo.graph import (
    RoadGraph,
    graph_from_networkx,
    graph_from_osm_xml,
    graph_from_place,
)
from geo.layers import BUNDLE_FILES, METRIC_CRS

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_drive.osm"
TO_METRIC = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
GEOD = Geod(ellps="GRS80")

# Streets of the hand-written fixture after osmnx simplification, as OSM node sequences:
# node 6 is a bend (not an intersection) so 3 -> 6 -> 7 is one edge; 9 - 10 is a
# separate component and is dropped; the two-way street 1-2-3 gives two edges, not four.
# 4 -> 2 is a one-way dead end: a car can leave 4 but never reach it, so the drive graph
# (largest strongly connected part) drops it and the walk graph keeps it.
EXPECTED_STREETS = [(1, 2), (2, 3), (3, 8), (3, 6, 7)]
ONE_WAY_DEAD_END = (4, 2)


def _fixture_lonlat() -> dict[int, tuple[float, float]]:
    root = ET.parse(FIXTURE).getroot()
    return {int(n.get("id")): (float(n.get("lon")), float(n.get("lat")))
            for n in root.iter("node")}


def _metric(lonlat: tuple[float, float]) -> np.ndarray:
    return np.array(TO_METRIC.transform(*lonlat))


def _node_ids(graph: RoadGraph, lonlat: dict[int, tuple[float, float]]) -> list[int]:
    """Map each RoadGraph node back to the fixture node at the same place (within 1 cm)."""
    ids = []
    for x, y in graph.xy:
        matches = [k for k, ll in lonlat.items() if np.hypot(*(_metric(ll) - (x, y))) < 0.01]
        assert len(matches) == 1, f"node at {(x, y)} matches fixture nodes {matches}"
        ids.append(matches[0])
    return ids


@pytest.fixture(scope="module")
def tiny() -> RoadGraph:
    return graph_from_osm_xml(FIXTURE)


def test_tiny_fixture_gives_the_expected_nodes(tiny: RoadGraph):
    ids = _node_ids(tiny, _fixture_lonlat())
    assert sorted(ids) == [1, 2, 3, 7, 8]


def test_walking_keeps_the_one_way_dead_end_and_driving_does_not():
    walk = graph_from_osm_xml(FIXTURE, network_type="walk")
    assert sorted(_node_ids(walk, _fixture_lonlat())) == [1, 2, 3, 4, 7, 8]
    assert not walk.directed
    ids = np.array(_node_ids(walk, _fixture_lonlat()))
    pairs = {tuple(p) for p in zip(ids[walk.edge_u], ids[walk.edge_v], strict=True)}
    assert ONE_WAY_DEAD_END in pairs or ONE_WAY_DEAD_END[::-1] in pairs


def test_tiny_fixture_gives_one_edge_per_street(tiny: RoadGraph):
    ids = np.array(_node_ids(tiny, _fixture_lonlat()))
    pairs = sorted(tuple(sorted(p)) for p in zip(ids[tiny.edge_u], ids[tiny.edge_v], strict=True))
    expected = sorted(tuple(sorted((s[0], s[-1]))) for s in EXPECTED_STREETS)
    assert pairs == expected
    assert tiny.report.edges == len(EXPECTED_STREETS)


def test_tiny_fixture_lengths_follow_the_street_in_metres(tiny: RoadGraph):
    lonlat = _fixture_lonlat()
    ids = np.array(_node_ids(tiny, lonlat))
    got = {tuple(sorted(p)): length
           for p, length in zip(zip(ids[tiny.edge_u], ids[tiny.edge_v], strict=True),
                                tiny.edge_length, strict=True)}
    for street in EXPECTED_STREETS:
        points = np.array([_metric(lonlat[k]) for k in street])
        planar = np.hypot(*np.diff(points, axis=0).T).sum()
        lons, lats = zip(*(lonlat[k] for k in street), strict=True)
        geodesic = GEOD.line_length(lons, lats)
        length = got[tuple(sorted((street[0], street[-1])))]
        # osmnx's length is great-circle on a sphere: within 0.3 % of the ellipsoid and
        # of the plane here (an east-west street is longer on the sphere at 32.8 N)
        assert length == pytest.approx(geodesic, rel=3e-3)  # metres on the ground
        assert length == pytest.approx(planar, rel=3e-3)
    assert tiny.report.length_km * 1000 == pytest.approx(tiny.edge_length.sum())


def _assert_geometry_runs_u_to_v(graph: RoadGraph) -> None:
    start = shapely.get_coordinates(shapely.get_point(graph.edge_geometry, 0))
    end = shapely.get_coordinates(shapely.get_point(graph.edge_geometry, -1))
    np.testing.assert_allclose(start, graph.xy[graph.edge_u], atol=1e-6)
    np.testing.assert_allclose(end, graph.xy[graph.edge_v], atol=1e-6)


def test_tiny_fixture_edge_geometry_runs_from_u_to_v(tiny: RoadGraph):
    _assert_geometry_runs_u_to_v(tiny)


def _edge_table(graph: RoadGraph) -> np.ndarray:
    """Rows ``x_u, y_u, x_v, y_v, length`` with ends ordered, sorted: order-free comparison."""
    a, b = graph.xy[graph.edge_u], graph.xy[graph.edge_v]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[swap], b[swap] = b[swap], a[swap].copy()
    rows = np.column_stack([a, b, graph.edge_length])
    return rows[np.lexsort(rows.T[::-1])]


def test_projected_input_gives_the_same_graph(tiny: RoadGraph):
    projected = ox.project_graph(ox.graph_from_xml(FIXTURE), to_crs=METRIC_CRS)
    again = graph_from_networkx(projected, source="projected")
    assert again.n_nodes == tiny.n_nodes
    np.testing.assert_allclose(_edge_table(again), _edge_table(tiny), atol=1e-6)


def test_graph_from_place_uses_the_same_conversion(monkeypatch, tiny: RoadGraph):
    calls = []

    def fake_graph_from_place(query, **kwargs):
        calls.append((query, kwargs))
        return ox.graph_from_xml(FIXTURE)

    monkeypatch.setattr(ox, "graph_from_place", fake_graph_from_place)
    placed = graph_from_place("熊本市, 熊本県, 日本", network_type="drive")
    assert calls == [("熊本市, 熊本県, 日本", {"network_type": "drive", "simplify": True})]
    np.testing.assert_array_equal(placed.xy, tiny.xy)
    np.testing.assert_array_equal(placed.edge_u, tiny.edge_u)
    np.testing.assert_array_equal(placed.edge_v, tiny.edge_v)
    np.testing.assert_array_equal(placed.edge_length, tiny.edge_length)
    assert (placed.adjacency != tiny.adjacency).nnz == 0
    assert "熊本市" in placed.report.source


def test_graph_from_place_network_failure_is_a_fetch_error(monkeypatch):
    def offline(query, **kwargs):
        raise ConnectionError("Max retries exceeded with url: /search")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    with pytest.raises(FetchError, match=r"could not download the OSM drive network.*internet"):
        graph_from_place("熊本市, 熊本県, 日本")


def test_graph_without_edges_is_a_layer_error():
    empty = ox.graph_from_xml(FIXTURE)
    empty.remove_edges_from(list(empty.edges))
    with pytest.raises(LayerError, match="no edges"):
        graph_from_networkx(empty, source="empty")


def test_unreadable_osm_file_is_a_layer_error(tmp_path):
    broken = tmp_path / "broken.osm"
    broken.write_text("<osm><node id='1'", encoding="utf-8")
    with pytest.raises(LayerError, match="cannot be read as OSM XML"):
        graph_from_osm_xml(broken)


# --- the bundle's 中央区 drive extract -------------------------------------------------


@pytest.fixture(scope="module")
def chuo(bundle_dir: Path) -> tuple[RoadGraph, shapely.Geometry]:
    from geo.layers import load_wards

    path = bundle_dir / BUNDLE_FILES["osm_drive_chuo"].relpath
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    wards = load_wards(bundle_dir)
    ward = wards.loc[wards["ward_code"] == "43101", "geometry"].iloc[0]
    return graph_module.graph_from_osm_xml(path), ward


@pytest.mark.bundle
def test_chuo_drive_graph_is_connected_and_plausible(chuo):
    graph, _ward = chuo
    components, _ = connected_components(graph.adjacency, directed=False)
    assert components == 1
    # 中央区 is 25 km2; the extract holds whole ways, some running a few km past the border
    assert 2_000 < graph.n_nodes < 50_000
    assert 300 < graph.report.length_km < 1_500
    assert graph.edge_length.sum() == pytest.approx(shapely.length(graph.edge_geometry).sum(),
                                                    rel=3e-3)
    assert graph.report.length_km * 1000 == pytest.approx(graph.edge_length.sum())


@pytest.mark.bundle
def test_chuo_drive_graph_counts_each_street_once(chuo):
    graph, _ = chuo
    low = np.minimum(graph.edge_u, graph.edge_v)
    high = np.maximum(graph.edge_u, graph.edge_v)
    keys = np.column_stack([low, high, np.round(graph.edge_length, 1)])
    assert len(np.unique(keys, axis=0)) == len(keys)
    _assert_geometry_runs_u_to_v(graph)


@pytest.mark.bundle
def test_chuo_drive_graph_lies_on_the_ward_in_metres(chuo):
    graph, ward = chuo
    minx, miny, maxx, maxy = ward.bounds
    margin = 4_000.0
    x, y = graph.xy[:, 0], graph.xy[:, 1]
    assert ((x > minx - margin) & (x < maxx + margin)).all()
    assert ((y > miny - margin) & (y < maxy + margin)).all()
    assert shapely.contains_xy(ward, x, y).mean() > 0.5
    # lengths are metres on the ground: compare with geodesic lengths of a sample
    to_lonlat = Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    sample = np.random.default_rng(0).choice(len(graph.edge_length), 200, replace=False)
    for i in sample:
        lon, lat = to_lonlat.transform(*shapely.get_coordinates(graph.edge_geometry[i]).T)
        assert graph.edge_length[i] == pytest.approx(GEOD.line_length(lon, lat), rel=3e-3)


def test_a_one_way_street_beside_a_two_way_street_stays_one_way():
    """Nodes a, b and c; a -> b one-way (100 m) beside a two-way a <-> b (120 m), and a
    two-way b <-> c so that every node is reached. b -> a must take the 120 m street."""
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra

    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node, lon in (("a", 130.700), ("b", 130.701), ("c", 130.702)):
        graph.add_node(node, x=lon, y=32.8)
    graph.add_edge("a", "b", length=100.0)  # the one-way street
    graph.add_edge("a", "b", length=120.0)
    graph.add_edge("b", "a", length=120.0)
    graph.add_edge("b", "c", length=90.0)
    graph.add_edge("c", "b", length=90.0)
    built = graph_from_networkx(graph, source="beside")
    assert len(built.edge_u) == 3
    assert built.report.oneway_edges == 1
    order = np.argsort(built.xy[:, 0])  # a, b, c from west to east
    a, b = order[0], order[1]
    dist = dijkstra(built.adjacency, indices=[a, b])
    assert dist[0, b] == pytest.approx(100.0)
    assert dist[1, a] == pytest.approx(120.0)


def test_a_gzip_network_that_expands_too_far_is_refused_while_reading(tmp_path: Path):
    nodes = tmp_path / "osm_city_drive_2099-01-01_nodes.csv.gz"
    with gzip.open(nodes, "wb") as handle:  # 39 MB of text in about 100 kB
        handle.write(b"node,lon,lat\n" + b"1,130.70000,32.80000\n" * 1_850_000)
    assert nodes.stat().st_size < 300_000
    with pytest.raises(InputTooLargeError, match=r"_nodes\.csv\.gz: expands from 0\.\d MB to "
                                                 r"more than"):
        graph_module.graph_from_osm_csv(nodes, nodes)


def test_an_osm_extract_over_the_size_limit_is_refused_before_reading(monkeypatch):
    extract = Path(__file__).parent / "fixtures" / "tiny_drive.osm"
    monkeypatch.setenv("MADOGUCHI_MAX_FILE_MB", str(extract.stat().st_size / 2e6))
    with pytest.raises(InputTooLargeError, match=r"tiny_drive\.osm: .* MB allowed per file"):
        graph_module.graph_from_osm_xml(extract)
