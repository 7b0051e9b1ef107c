"""Tests of geo.fetch on recorded, made-up downloads: no request leaves the machine."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import pytest
import recorded_bundle
import requests
import shapely

from geo import fetch as fetch_module
from geo import layers
from geo.errors import FetchError, InputTooLargeError
from geo.fetch import FetchResult, fetch, read_manifest

FIXTURES = Path(__file__).parent / "fixtures"
N03_URL = "https://example.invalid/N03-20200101_43_GML.zip"
BOUNDARY_URL = "https://example.invalid/estat/boundary?code=43"
TABLE_URL = "https://example.invalid/estat/table?statsId=T000848&code=43"
MESH_URL = "https://example.invalid/estat/mesh?statsId=T001101&code={mesh}"
RECORDED = {
    N03_URL: FIXTURES / "n03_tiny.zip",
    BOUNDARY_URL: FIXTURES / "estat_boundary_tiny.zip",
    TABLE_URL: FIXTURES / "estat_T000848_tiny.zip",
    MESH_URL.format(mesh="4930"): FIXTURES / "estat_T001101_4930_tiny.zip",
}
URLS = {"n03_url": N03_URL, "estat_boundary_url": BOUNDARY_URL, "estat_table_url": TABLE_URL,
        "mesh_table_url": MESH_URL}


class FakeResponse:
    def __init__(self, url: str, content: bytes, status_code: int = 200):
        self.url, self.content, self.status_code = url, content, status_code

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code} Client Error for url: {self.url}")


class RecordedSession:
    """Serves the recorded files by URL and remembers every request."""

    def __init__(self, recorded: dict[str, Path | bytes]):
        self.recorded = recorded
        self.calls: list[tuple[str, float]] = []

    def get(self, url: str, *, timeout: float, **kwargs) -> FakeResponse:
        self.calls.append((url, timeout))
        body = self.recorded.get(url)
        if body is None:
            return FakeResponse(url, b"<html>Not Found</html>", 404)
        return FakeResponse(url, body.read_bytes() if isinstance(body, Path) else body)


class OfflineSession:
    def get(self, url: str, **kwargs):
        raise requests.ConnectionError(f"Max retries exceeded with url: {url} (no network)")


@pytest.fixture
def osm(monkeypatch):
    """Replace the two osmnx calls with the recorded fixtures; count the calls."""
    return record_osm(monkeypatch)


def record_osm(monkeypatch) -> dict[str, int]:
    """Replace the two osmnx calls with the recorded fixtures; return the call counts."""
    calls = {"features": 0, "graph": 0}

    def features(place, tags):
        calls["features"] += 1
        assert tags == {"shop": "convenience"}
        return gpd.read_file(FIXTURES / "osm_convenience_tiny.geojson").set_index(["element", "id"])

    def graph(place, network_type):
        calls["graph"] += 1
        assert network_type == "drive"
        return ox.graph_from_xml(FIXTURES / "tiny_drive.osm")

    monkeypatch.setattr(fetch_module, "_osm_features", features)
    monkeypatch.setattr(fetch_module, "_osm_graph", graph)
    return calls


def test_fixtures_are_tiny():
    for path in FIXTURES.iterdir():
        assert path.stat().st_size < 50_000, path


def test_fetch_all_writes_files_that_geo_layers_loads(tmp_path, osm):
    session = RecordedSession(RECORDED)
    results = fetch(tmp_path, session=session, timeout=7, **URLS)
    assert [r.source for r in results] == list(fetch_module.DEFAULT_SOURCES)
    assert all(r.status == "fetched" for r in results)
    assert sorted(url for url, _ in session.calls) == sorted(RECORDED)
    assert all(timeout == 7 for _, timeout in session.calls)

    wards = layers.load_wards(tmp_path)
    assert wards["ward_code"].tolist() == ["43101", "43102", "43103", "43104", "43105"]
    assert wards["ward"].tolist() == ["中央区", "東区", "西区", "南区", "北区"]
    assert wards.geometry.iloc[0].geom_type == "MultiPolygon"  # main part and island joined

    areas = layers.load_small_areas(tmp_path).set_index("key_code")
    assert sorted(areas.index) == ["431010010", "43101002001", "43101002002", "431020010"]
    assert areas.loc["431010010", "population"] == 120
    assert areas.loc["431010010"].geometry.geom_type == "MultiPolygon"
    assert areas.loc["43101002001", "name"] == "手取本町１丁目"
    assert areas.loc["43101002001", "name_nfkc"] == "手取本町1丁目"
    assert areas.loc["43101002002", "population"] == 0  # suppressed ("-") in the table
    assert areas.loc["431020010", ["ward_code", "ward", "households"]].tolist() == [
        "43102", "東区", 200]

    stores = layers.load_stores(tmp_path, source="osm").set_index("store_id")
    assert sorted(stores.index) == ["osm:1001", "osm:1002", "osm:2001"]
    assert stores.loc["osm:1002", "name"] == "ローソン 熊本新外店"
    assert stores.loc["osm:1001", "name"] == "セブン-イレブン 熊本花畑町店"
    assert stores.loc["osm:2001", "brand"] == "ファミリーマート"  # no brand tag: the name
    assert (stores.geometry.geom_type == "Point").all()

    mesh = layers.load_population_mesh(tmp_path).set_index("mesh_code")
    assert sorted(mesh.index) == ["493014491", "493014492", "493014493", "493015401",
                                  "493015412"]  # 493004592/3 lie outside every ward
    assert mesh["population"].sum() == 100 + 200 + 8 + 50 + 30
    assert mesh.loc["493014492", "share_65plus"] == pytest.approx(0.4245)  # 90 / (200 + 8 + 4)
    assert mesh.loc["493014493", "share_65plus"] == pytest.approx(0.4245)  # folded: receiver's

    nodes, edges = _network_tables(tmp_path)
    direct = ox.graph_from_xml(FIXTURES / "tiny_drive.osm")
    assert (len(nodes), len(edges)) == (direct.number_of_nodes(), direct.number_of_edges())


def _network_tables(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    day = datetime.now(UTC).date().isoformat()
    return tuple(pd.read_csv(root / "roads" / f"osm_city_drive_{day}_{part}.csv.gz",
                             keep_default_na=False)
                 for part in ("nodes", "edges"))


def _tiny_wards() -> gpd.GeoDataFrame:
    return fetch_module.wards_from_n03(zipfile.ZipFile(FIXTURES / "n03_tiny.zip"))


# --- e-Stat 2020 mesh ----------------------------------------------------------------------


def test_mesh_cell_from_its_code():
    # 49|30|0 4|5 9|2: 32.6667 + 5 x 30" = 32.70833 N; 130 + 4 x 7.5' + 9 x 45" = 130.6125 E,
    # then the south-east quarter: + 22.5"
    cell = fetch_module.mesh500_polygon("493004592")
    np.testing.assert_allclose(cell.bounds, (130.61875, 32.708333333, 130.625, 32.7125))
    north_east = fetch_module.mesh500_polygon("493004594").bounds
    np.testing.assert_allclose(north_east, (130.61875, 32.7125, 130.625, 32.716666667))


@pytest.mark.parametrize("code", ["49300459", "4930045925", "49300459x", "493004595"])
def test_bad_mesh_code_is_refused(code):
    with pytest.raises(FetchError, match="not a 500 m mesh code"):
        fetch_module.mesh500_polygon(code)


def test_first_level_meshes_cover_the_box():
    # latitude 32.66 is south of 49 / 1.5 = 32.6667, so mesh row 48 is needed too
    assert fetch_module.first_level_meshes((130.57, 32.66, 130.83, 32.98)) == ["4830", "4930"]
    assert fetch_module.first_level_meshes((130.60, 32.78, 130.79, 32.81)) == ["4930"]


def test_mesh_layer_from_the_table():
    archive = zipfile.ZipFile(FIXTURES / "estat_T001101_4930_tiny.zip")
    mesh = fetch_module.mesh_from_estat([archive], _tiny_wards()).set_index("mesh_code_500m")
    assert list(mesh.index) == ["493014491", "493014492", "493014493", "493015401", "493015412"]
    assert mesh["suppress_flag"].tolist() == [0, 1, 2, 0, 0]
    assert mesh.loc["493014493", "merged_into"] == "493014492"
    assert mesh.loc["493014492", "merged_from"] == "493014493;493004593"
    assert mesh["merged_into"].isna().sum() == 4
    # the receiver's age detail covers its 200 people and the 8 + 4 folded into it
    assert mesh["age_detail_pop_total"].tolist() == [100, 212, 8, 50, 30]
    assert mesh["group_key"].tolist() == ["493014491", "493014492", "493014492", "493015401",
                                          "493015412"]
    assert mesh.loc["493014492", ["share_65plus", "share_75plus"]].tolist() == [0.4245, 0.1887]
    assert mesh.loc["493014491", ["share_65plus", "share_75plus"]].tolist() == [0.3, 0.12]
    assert np.isnan(mesh.loc["493014493", "share_65plus"])
    assert np.isnan(mesh.loc["493014493", "pop_65plus"])
    assert mesh.loc["493014493", ["pop_total", "households_total"]].tolist() == [8, 3]
    assert mesh.loc["493014491", ["pop_85plus", "pop_foreign", "hh_1person",
                                  "hh_with_65plus_member", "hh_elderly_single",
                                  "hh_elderly_couple"]].tolist() == [3, 1, 10, 20, 5, 6]
    # 493015401 spans 130.625-130.63125 and ward 43101 ends at 130.63: 0.005 / 0.00625
    assert mesh["frac_in_city"].tolist() == [1.0, 1.0, 1.0, 0.8, 1.0]
    assert mesh["ward_code"].tolist() == [43101, 43101, 43101, 43101, 43102]
    assert mesh.loc["493015412", "ward"] == "東区"
    assert mesh.loc["493014491", ["lon_c", "lat_c"]].tolist() == [130.615625, 32.785417]
    assert list(mesh.reset_index().columns) == list(fetch_module.MESH_COLUMNS)


def test_receiver_of_a_mesh_without_total_keeps_its_shares_within_one(tmp_path):
    lines = zipfile.ZipFile(FIXTURES / "estat_T001101_4930_tiny.zip").read(
        "tblT001101H4930.txt").decode("cp932").split("\r\n")
    # 493014493 (8 people folded into 493014492) with its total suppressed as well
    lines = [line.replace("493014493,2,493014492,,8,", "493014493,2,493014492,,*,")
             for line in lines]
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tblT001101H4930.txt", "\r\n".join(lines).encode("cp932"))
    mesh = fetch_module.mesh_from_estat([zipfile.ZipFile(path)], _tiny_wards())
    receiver = mesh.set_index("mesh_code_500m").loc["493014492"]
    # 200 + 4 known folded people < 20 + 100 + 90 in the age groups: the groups count
    assert receiver["age_detail_pop_total"] == 210
    assert receiver["share_65plus"] == round(90 / 210, 4)


def test_mesh_table_without_the_age_items_is_refused(tmp_path):
    path = tmp_path / "t.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("tblT001101H4930.txt", "KEY_CODE,HTKSYORI,HTKSAKI,GASSAN,T001101001\r\n"
                                               ",,,,人口\r\n493014491,0,,,5\r\n")
    with pytest.raises(FetchError, match=r"missing column.*T001101004"):
        fetch_module.mesh_from_estat([zipfile.ZipFile(path)], _tiny_wards())


def test_mesh_needs_the_wards_first(tmp_path):
    session = RecordedSession(RECORDED)
    with pytest.raises(FetchError, match="mesh: the ward boundaries are needed"):
        fetch(tmp_path, only="mesh", session=session, **URLS)
    assert session.calls == []


@pytest.mark.bundle
def test_mesh_cells_are_the_bundle_cells(bundle_dir):
    bundle = gpd.read_file(bundle_dir / layers.BUNDLE_FILES["mesh"].relpath)
    cells = gpd.GeoSeries([fetch_module.mesh500_polygon(c) for c in bundle["mesh_code_500m"]])
    np.testing.assert_allclose(np.stack(cells.bounds.to_numpy()),
                               np.stack(bundle.geometry.bounds.to_numpy()), atol=1e-9)


@pytest.mark.bundle
def test_fetched_mesh_has_the_bundle_columns_and_types(tmp_path, bundle_dir, osm):
    fetch(tmp_path, only="n03,mesh", session=RecordedSession(RECORDED), **URLS)
    fetched = gpd.read_file(tmp_path / layers.BUNDLE_FILES["mesh"].relpath)
    bundle = gpd.read_file(bundle_dir / layers.BUNDLE_FILES["mesh"].relpath)
    assert list(fetched.columns) == list(bundle.columns)
    assert fetched.dtypes.astype(str).to_dict() == bundle.dtypes.astype(str).to_dict()
    assert fetched.crs == bundle.crs


# --- OSM city drive network ----------------------------------------------------------------


def test_network_tables_from_the_osmnx_graph(tmp_path, osm):
    fetch(tmp_path, only="osm-roads", session=RecordedSession({}))
    nodes, edges = _network_tables(tmp_path)
    # tiny_drive.osm: OSM nodes 1 2 3 4 7 8 (6 is a bend, 9-10 a dropped island) -> 0..5
    assert nodes["osmid"].tolist() == [1, 2, 3, 4, 7, 8]
    assert nodes["node"].tolist() == list(range(6))
    assert nodes.loc[1, ["lon", "lat"]].tolist() == [130.707, 32.803]
    assert len(edges) == 9  # 4 two-way segments in both directions and the one-way 4 -> 2
    one_way = edges[edges["oneway"] == 1]
    assert one_way[["u", "v", "osmid", "highway"]].values.tolist() == [[3, 1, 101, "residential"]]
    bend = edges[(edges["u"] == 2) & (edges["v"] == 4)].iloc[0]
    assert bend["highway"] == "tertiary"
    assert shapely.from_wkt(bend["geometry_wkt"]).coords[1] == (130.71, 32.801)  # node 6
    assert bend["geometry_wkt"].startswith("LINESTRING (130.7090000 32.8030000, ")
    # 0.002 degrees of longitude at 32.803 N, great-circle
    assert edges.loc[(edges["u"] == 0) & (edges["v"] == 1), "length_m"].item() == 186.927
    assert edges.loc[(edges["u"] == 1) & (edges["v"] == 0), "length_m"].item() == 186.927


def test_network_tables_rebuild_the_directed_graph(tmp_path, osm):
    fetch(tmp_path, only="osm-roads", session=RecordedSession({}))
    nodes, edges = _network_tables(tmp_path)
    rebuilt = nx.from_pandas_edgelist(edges, "u", "v", edge_attr="length_m",
                                      create_using=nx.DiGraph)
    original = ox.graph_from_xml(FIXTURES / "tiny_drive.osm")
    number = dict(zip(nodes["osmid"], nodes["node"], strict=True))
    assert rebuilt.number_of_edges() == original.number_of_edges()
    for u, v in ((1, 7), (7, 1), (4, 8)):
        expected = nx.shortest_path_length(original, u, v, weight="length")
        assert nx.shortest_path_length(rebuilt, number[u], number[v], weight="length_m") == \
            pytest.approx(expected, abs=0.01)
    assert not nx.has_path(rebuilt, number[2], number[4])  # 4 -> 2 is one-way


def test_network_tables_keep_osm_tags_and_join_merged_ways():
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_node(900, x=130.7, y=32.8)
    graph.add_node(800, x=130.701, y=32.8)
    graph.add_edge(900, 800, 0, osmid=[11, 12], highway=["secondary", "tertiary"],
                   maxspeed="40", name="電車通り", length=93.6)
    graph.add_edge(800, 900, 0, osmid=13, highway="residential", maxspeed=float("nan"),
                   length=93.6)
    nodes, edges = fetch_module.drive_network_tables(graph)
    assert nodes.values.tolist() == [[0, 130.701, 32.8, 800], [1, 130.7, 32.8, 900]]
    assert edges[["u", "v", "oneway", "osmid", "highway", "maxspeed", "name"]].values.tolist() == [
        [0, 1, 0, "13", "residential", "", ""],
        [1, 0, 0, "11;12", "secondary;tertiary", "40", "電車通り"],
    ]
    assert edges["geometry_wkt"].tolist()[0] == (
        "LINESTRING (130.7010000 32.8000000, 130.7000000 32.8000000)")


def test_a_parallel_street_is_no_two_way_twin():
    """A one-way street 900 -> 800 (100 m) beside a two-way street 900 <-> 800 (300 m),
    and a loop at 800 mapped once: only the 300 m pair is two-way."""
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_node(900, x=130.7, y=32.8)
    graph.add_node(800, x=130.701, y=32.8)
    graph.add_edge(900, 800, 0, length=100.0)
    graph.add_edge(900, 800, 1, length=300.0)
    graph.add_edge(800, 900, 0, length=300.0)
    graph.add_edge(800, 800, 0, length=50.0)
    _, edges = fetch_module.drive_network_tables(graph)
    assert edges[["u", "v", "key", "length_m", "oneway"]].values.tolist() == [
        [0, 0, 0, 50.0, 1], [0, 1, 0, 300.0, 0], [1, 0, 0, 100.0, 1], [1, 0, 1, 300.0, 0]]


def test_network_without_edges_is_refused():
    graph = nx.MultiDiGraph()
    graph.add_node(1, x=130.7, y=32.8)
    with pytest.raises(FetchError, match="no edges"):
        fetch_module.drive_network_tables(graph)


@pytest.mark.bundle
def test_network_tables_have_the_bundle_columns_and_types(tmp_path, bundle_dir, osm):
    fetch(tmp_path, only="osm-roads", session=RecordedSession({}))
    fetched = _network_tables(tmp_path)
    for part, table in zip(("nodes", "edges"), fetched, strict=True):
        bundle = pd.read_csv(bundle_dir / "roads" / f"osm_city_drive_2023-01-04_{part}.csv.gz",
                             nrows=200)
        shared = list(bundle.columns)
        assert list(table.columns[:len(shared)]) == shared
        assert table[shared].dtypes.to_dict() == bundle.dtypes.to_dict()
    assert list(fetched[1].columns[6:]) == ["osmid", "highway", "maxspeed", "name"]


def test_failed_network_write_leaves_no_file(tmp_path, osm, monkeypatch):
    original = pd.DataFrame.to_csv
    calls = []

    def second_fails(self, path, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            Path(path).write_bytes(b"half")
            raise OSError("disk full")
        return original(self, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", second_fails)
    with pytest.raises(FetchError, match=r"cannot write .*_edges.csv.gz.*disk full"):
        fetch(tmp_path, only="osm-roads", session=RecordedSession({}))
    assert not (tmp_path / fetch_module.MANIFEST_NAME).exists()
    assert [p.name for p in (tmp_path / "roads").iterdir()] == [
        f"osm_city_drive_{datetime.now(UTC).date().isoformat()}_nodes.csv.gz"]


# --- cache, force, progress ----------------------------------------------------------------


def test_second_fetch_uses_the_cache(tmp_path, osm):
    fetch(tmp_path, session=RecordedSession(RECORDED), **URLS)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    again = RecordedSession(RECORDED)
    results = fetch(tmp_path, session=again, **URLS)
    assert again.calls == []
    assert osm == {"features": 1, "graph": 1}
    assert all(r.status == "cached" for r in results)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == before


def test_force_downloads_again(tmp_path, osm):
    fetch(tmp_path, only="n03", session=RecordedSession(RECORDED), **URLS)
    again = RecordedSession(RECORDED)
    [result] = fetch(tmp_path, only=["n03"], force=True, session=again, **URLS)
    assert [url for url, _ in again.calls] == [N03_URL]
    assert result.status == "fetched"


def test_force_one_source_downloads_only_that_one(tmp_path, osm):
    fetch(tmp_path, session=RecordedSession(RECORDED), **URLS)
    again = RecordedSession(RECORDED)
    results = fetch(tmp_path, force="estat", session=again, **URLS)
    assert {r.source: r.status for r in results} == {
        "osm-stores": "cached", "osm-roads": "cached", "n03": "cached", "estat": "fetched",
        "mesh": "cached"}
    assert sorted(url for url, _ in again.calls) == sorted([BOUNDARY_URL, TABLE_URL])
    assert osm == {"features": 1, "graph": 1}


def test_forcing_a_source_left_out_of_only_fetches_it_too(tmp_path, osm):
    session = RecordedSession(RECORDED)
    results = fetch(tmp_path, only="n03", force=["estat"], session=session, **URLS)
    assert [(r.source, r.status) for r in results] == [("n03", "fetched"), ("estat", "fetched")]


def test_a_changed_file_is_fetched_again(tmp_path, osm):
    fetch(tmp_path, only="n03", session=RecordedSession(RECORDED), **URLS)
    wards = tmp_path / layers.BUNDLE_FILES["wards"].relpath
    good = wards.read_bytes()
    wards.write_bytes(good[: len(good) // 2])  # e.g. truncated by a copy
    again = RecordedSession(RECORDED)
    [result] = fetch(tmp_path, only="n03", session=again, **URLS)
    assert result.status == "fetched"
    assert [url for url, _ in again.calls] == [N03_URL]
    assert wards.read_bytes() == good


def test_a_file_not_written_by_fetch_is_kept(tmp_path, osm):
    wards = tmp_path / layers.BUNDLE_FILES["wards"].relpath
    wards.parent.mkdir(parents=True)
    wards.write_bytes((FIXTURES / "osm_convenience_tiny.geojson").read_bytes())  # a city's own
    session = RecordedSession(RECORDED)
    [result] = fetch(tmp_path, only="n03", session=session, **URLS)
    assert (result.status, session.calls) == ("present", [])
    assert wards.read_bytes() == (FIXTURES / "osm_convenience_tiny.geojson").read_bytes()
    assert read_manifest(tmp_path) == {"files": {}}


def test_progress_reports_one_line_per_source_and_step(tmp_path, osm):
    lines: list[str] = []
    fetch(tmp_path, only="n03,estat", session=RecordedSession(RECORDED), progress=lines.append,
          **URLS)
    fetch(tmp_path, only="n03", session=RecordedSession(RECORDED), progress=lines.append, **URLS)
    assert lines[0] == "[1/2] n03: downloading 国土数値情報 N03 ward boundaries…"
    assert lines[1].startswith("[1/2] n03: wrote boundaries/wards_n03_2020.geojson (0.0 MB, ")
    assert lines[2].startswith("[2/2] estat: downloading e-Stat 2015 small areas")
    assert lines[3].startswith("[2/2] estat: wrote boundaries/small_areas_2015.geojson")
    assert lines[4] == "[1/1] n03: cached, kept (0.0 MB)"
    assert len(lines) == 5


def test_only_fetches_the_chosen_sources(tmp_path, osm):
    session = RecordedSession(RECORDED)
    results = fetch(tmp_path, only="estat,osm-stores", session=session, **URLS)
    assert [r.source for r in results] == ["osm-stores", "estat"]
    assert sorted(url for url, _ in session.calls) == sorted([BOUNDARY_URL, TABLE_URL])
    assert osm == {"features": 1, "graph": 0}
    assert not (tmp_path / layers.BUNDLE_FILES["wards"].relpath).exists()


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(FetchError, match=r"unknown source.*meshes.*choose from osm-stores"):
        fetch(tmp_path, only="n03,meshes", session=RecordedSession({}))


def test_manifest_records_url_date_and_sha256(tmp_path, osm):
    results = fetch(tmp_path, only="n03,estat", session=RecordedSession(RECORDED), **URLS)
    manifest = json.loads((tmp_path / fetch_module.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest == read_manifest(tmp_path)
    wards_entry = manifest["files"][layers.BUNDLE_FILES["wards"].relpath]
    assert wards_entry["source"] == "n03"
    assert [i["url"] for i in wards_entry["inputs"]] == [N03_URL]
    assert wards_entry["inputs"][0]["sha256"] == hashlib.sha256(
        (FIXTURES / "n03_tiny.zip").read_bytes()).hexdigest()
    for result in results:
        [(path, sha)] = result.files.items()
        entry = manifest["files"][str(path.relative_to(tmp_path))]
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == sha
        assert entry["fetched_at"][:4].isdigit() and entry["fetched_at"].endswith("+00:00")
    areas_entry = manifest["files"][layers.BUNDLE_FILES["small_areas"].relpath]
    assert [i["url"] for i in areas_entry["inputs"]] == [BOUNDARY_URL, TABLE_URL]


def test_write_is_atomic_when_conversion_fails(tmp_path, osm, monkeypatch):
    fetch(tmp_path, only="n03", session=RecordedSession(RECORDED), **URLS)
    target = tmp_path / layers.BUNDLE_FILES["wards"].relpath
    good = target.read_bytes()

    def half_write(self, path, **kwargs):
        Path(path).write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", half_write)
    with pytest.raises(FetchError, match=r"cannot write .*wards_n03_2020.geojson.*disk full"):
        fetch(tmp_path, only="n03", force=True, session=RecordedSession(RECORDED), **URLS)
    assert target.read_bytes() == good
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "sub" / "file.json"

    def boom(path: Path) -> None:
        path.write_text("partial", encoding="utf-8")
        raise ValueError("conversion failed")

    with pytest.raises(ValueError, match="conversion failed"):
        fetch_module.atomic_write(target, boom)
    assert list(target.parent.iterdir()) == []
    fetch_module.atomic_write(target, lambda path: path.write_text("ok", encoding="utf-8"))
    assert target.read_text(encoding="utf-8") == "ok"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_fetch_replaces_a_link_in_the_data_directory_not_what_it_points_to(tmp_path):
    shared = tmp_path / "shared" / "wards.geojson"  # e.g. a read-only bundle linked into data
    shared.parent.mkdir()
    shared.write_text("shared", encoding="utf-8")
    link = tmp_path / "data" / "wards.geojson"
    link.parent.mkdir()
    link.symlink_to(shared)
    fetch_module.atomic_write(link, lambda path: path.write_text("fetched", encoding="utf-8"))
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == "fetched"
    assert shared.read_text(encoding="utf-8") == "shared"


def test_network_error_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match=r"could not download https://example.invalid/N03.*"
                                         r"no network.*needs internet access"):
        fetch(tmp_path, only="n03", session=OfflineSession(), **URLS)
    assert not (tmp_path / layers.BUNDLE_FILES["wards"].relpath).exists()
    assert not (tmp_path / fetch_module.MANIFEST_NAME).exists()


def test_http_error_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match=r"could not download .*404 Client Error"):
        fetch(tmp_path, only="estat", session=RecordedSession({}), **URLS)


def test_error_page_instead_of_zip_is_a_fetch_error(tmp_path):
    session = RecordedSession({N03_URL: b"<!DOCTYPE html><title>Maintenance</title>"})
    with pytest.raises(FetchError, match=r"did not return a zip archive.*Maintenance"):
        fetch(tmp_path, only="n03", session=session, **URLS)


def test_osmnx_failure_is_a_fetch_error(tmp_path, monkeypatch):
    def offline(place, tags):
        raise requests.ConnectionError("Max retries exceeded with url: /api/interpreter")

    monkeypatch.setattr(fetch_module, "_osm_features", offline)
    with pytest.raises(FetchError, match=r"convenience stores from OpenStreetMap.*interpreter"):
        fetch(tmp_path, only="osm-stores", session=OfflineSession())


def test_n03_without_a_ward_is_refused(tmp_path):
    archive_path = tmp_path / "n03.zip"
    frame = gpd.read_file(f"zip://{FIXTURES / 'n03_tiny.zip'}!N03-20200101_43_GML/"
                          "N03-20_43_200101.shp", encoding="cp932")
    frame = frame[frame["N03_007"] != "43104"]
    frame.to_file(tmp_path / "n03.geojson", driver="GeoJSON")
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.write(tmp_path / "n03.geojson", "N03-20_43_200101.geojson")
    session = RecordedSession({N03_URL: archive_path})
    with pytest.raises(FetchError, match=r"no polygon for ward code.*43104"):
        fetch(tmp_path / "data", only="n03", session=session, **URLS)


def test_estat_table_with_other_columns_is_refused():
    archive = zipfile.ZipFile(FIXTURES / "estat_T000848_tiny.zip")
    with pytest.raises(FetchError, match=r"missing column.*T000849001"):
        fetch_module.population_from_estat_table(archive, table_id="T000849")


def test_fetch_result_paths_follow_the_bundle_layout(tmp_path, osm):
    results = fetch(tmp_path, only="osm-stores,n03", session=RecordedSession(RECORDED), **URLS)
    stores = tmp_path / layers.BUNDLE_FILES["stores_osm"].relpath
    assert results[0] == FetchResult("osm-stores", "fetched",
                                     {stores: hashlib.sha256(stores.read_bytes()).hexdigest()})
    assert list(results[1].files) == [tmp_path / layers.BUNDLE_FILES["wards"].relpath]


# --- command line ------------------------------------------------------------------------


def test_cli_fetch_uses_the_default_addresses_and_reports_each_source(tmp_path, monkeypatch,
                                                                      capsysbinary):
    from geo import cli

    session = RecordedSession({fetch_module.N03_URL: FIXTURES / "n03_tiny.zip"})
    monkeypatch.setattr(fetch_module.requests, "Session", lambda: session)
    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "n03"]) == 0
    assert [url for url, _ in session.calls] == [fetch_module.N03_URL]
    assert layers.load_wards(tmp_path)["ward_code"].tolist()[0] == "43101"
    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "n03"]) == 0
    assert len(session.calls) == 1  # the second run found the file
    lines = capsysbinary.readouterr().out.decode("utf-8-sig").splitlines()
    assert lines[0] == "source,path,status,sha256"
    assert lines[1].startswith("n03,") and ",fetched," in lines[1]
    assert ",cached," in lines[-1]


def test_cli_force_names_one_source_and_progress_goes_to_stderr(tmp_path, monkeypatch, capsys):
    from geo import cli

    session = RecordedSession({fetch_module.N03_URL: FIXTURES / "n03_tiny.zip"})
    monkeypatch.setattr(fetch_module.requests, "Session", lambda: session)
    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "n03"]) == 0
    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "n03", "--force", "n03"]) == 0
    assert len(session.calls) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == ["[1/1] n03"] * 4
    assert cli.main(["fetch", "--data", str(tmp_path), "--force", "roads"]) == 2
    assert "unknown source(s) roads" in capsys.readouterr().err


def test_cli_fetch_rejects_an_unknown_source(tmp_path, capsys):
    from geo import cli

    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "roads"]) == 2
    assert "unknown source(s) roads" in capsys.readouterr().err


def test_cli_fetch_offline_exits_with_a_data_error(tmp_path, monkeypatch, capsys):
    from geo import cli

    monkeypatch.setattr(fetch_module.requests, "Session", OfflineSession)
    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "estat"]) == 1
    assert "error: could not download https://www.e-stat.go.jp/" in capsys.readouterr().err


@pytest.mark.bundle
def test_mesh_from_a_table_written_back_from_the_bundle(bundle_dir):
    """The bundle's mesh, turned back into T001101 tables (``recorded_bundle``), converts to
    the same figures.

    Suppressed items become ``*`` as e-Stat writes them. Three receivers (493006801,
    493026061, 493035381) got people from meshes outside the bundle (outside the city);
    their age groups still give the bundle's age-detail totals.
    """
    tables = [zipfile.ZipFile(io.BytesIO(body))
              for body in recorded_bundle.mesh_zips(bundle_dir).values()]
    mesh = fetch_module.mesh_from_estat(tables, layers.load_wards(bundle_dir))
    bundle = gpd.read_file(bundle_dir / layers.BUNDLE_FILES["mesh"].relpath)
    mesh = mesh.set_index("mesh_code_500m")
    bundle = bundle.set_index("mesh_code_500m").loc[mesh.index]
    assert len(mesh) == 1_312  # the bundle's 1,318 were chosen with another city outline
    same = ["suppress_flag", "pop_total", "pop_65plus", "households_total", "group_key",
            "age_detail_pop_total"]
    pd.testing.assert_frame_equal(mesh[same], bundle[same], check_dtype=False)
    for share in ("share_65plus", "share_75plus"):
        np.testing.assert_allclose(mesh[share], bundle[share], atol=1e-4)
    assert (mesh["ward_code"] == bundle["ward_code"]).all()
    # people in the city, each mesh weighted by its area inside: official 2020 count 738,865
    assert (mesh["pop_total"] * mesh["frac_in_city"]).sum() == pytest.approx(738_865, rel=0.002)


@pytest.mark.bundle
def test_wards_and_small_areas_from_the_bundle_re_encoded(tmp_path, bundle_dir):
    """The bundle's wards and small areas, written as the N03 and e-Stat shapefile zips
    (CP932, no ``.cpg``) and table, come back with the bundle's names, areas and people."""
    boundaries, table = recorded_bundle.estat_zips(bundle_dir)
    session = RecordedSession({N03_URL: recorded_bundle.n03_zip(bundle_dir),
                               BOUNDARY_URL: boundaries, TABLE_URL: table})
    fetch(tmp_path, only="n03,estat", session=session, **URLS)
    fetched, bundle = (layers.load_wards(root).set_index("ward_code")
                       for root in (tmp_path, bundle_dir))
    assert fetched["ward"].to_dict() == bundle["ward"].to_dict()
    np.testing.assert_allclose(fetched.area, bundle.area, rtol=1e-6)
    fetched, bundle = (layers.load_small_areas(root).set_index("key_code").sort_index()
                       for root in (tmp_path, bundle_dir))
    assert fetched.index.equals(bundle.index) and len(fetched) == 932
    assert (fetched["name"] == bundle["name"]).all()
    pd.testing.assert_series_equal(fetched["population"], bundle["population"],
                                   check_dtype=False)
    assert fetched["population"].sum() == 740_171


@pytest.mark.bundle
def test_network_tables_of_the_bundle_graph_are_the_bundle_tables(bundle_dir):
    """The bundle's city network as an osmnx graph converts back to the bundle's tables:
    the same nodes, directed edges, lengths and one-way flags (from the reverse edges)."""
    nodes, edges = fetch_module.drive_network_tables(recorded_bundle.drive_graph(bundle_dir))
    bundle_nodes, bundle_edges = (pd.read_csv(path)
                                  for path in layers.osm_network_files(bundle_dir))
    assert (len(nodes), len(edges)) == (35_721, 100_396)
    assert nodes["node"].equals(bundle_nodes["node"])
    np.testing.assert_allclose(nodes[["lon", "lat"]], bundle_nodes[["lon", "lat"]], atol=1e-7)
    bundle_edges = bundle_edges.sort_values(["u", "v", "key"], ignore_index=True)
    for column in ("u", "v", "key", "oneway"):
        assert edges[column].equals(bundle_edges[column]), column
    np.testing.assert_allclose(edges["length_m"], bundle_edges["length_m"], atol=5e-4)


def _bomb_zip(member: str) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, b"KEY_CODE,T000848001\n" + b"4310,1\n" * 5_000_000)
    assert len(buffer.getvalue()) < 200_000  # 35 MB expanded
    return zipfile.ZipFile(buffer)


def test_downloaded_archives_that_expand_too_far_are_refused():
    with pytest.raises(InputTooLargeError, match=r"e-Stat table T000848: tblT000848C43\.txt: "
                                                 r"expands from"):
        fetch_module.population_from_estat_table(_bomb_zip("tblT000848C43.txt"))
    with pytest.raises(InputTooLargeError, match=r"N03: N03\.geojson: expands from"):
        fetch_module.wards_from_n03(_bomb_zip("N03.geojson"))
