"""Tests of geo.fetch on recorded, made-up downloads: no request leaves the machine."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmnx as ox
import pytest
import requests

from geo import fetch as fetch_module
from geo import layers
from geo.engine import build_graph
from geo.errors import FetchError
from geo.fetch import FetchResult, fetch, read_manifest
from geo.graph import graph_from_osm_xml

FIXTURES = Path(__file__).parent / "fixtures"
N03_URL = "https://example.invalid/N03-20200101_43_GML.zip"
BOUNDARY_URL = "https://example.invalid/estat/boundary?code=43"
TABLE_URL = "https://example.invalid/estat/table?statsId=T000848&code=43"
RECORDED = {
    N03_URL: FIXTURES / "n03_tiny.zip",
    BOUNDARY_URL: FIXTURES / "estat_boundary_tiny.zip",
    TABLE_URL: FIXTURES / "estat_T000848_tiny.zip",
}
URLS = {"n03_url": N03_URL, "estat_boundary_url": BOUNDARY_URL, "estat_table_url": TABLE_URL}


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
    assert [r.source for r in results] == list(fetch_module.SOURCES)
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

    reloaded = build_graph(tmp_path, network="osm-city-drive")
    direct = graph_from_osm_xml(FIXTURES / "tiny_drive.osm")
    np.testing.assert_allclose(reloaded.xy, direct.xy)
    np.testing.assert_allclose(reloaded.edge_length, direct.edge_length)


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


def test_only_fetches_the_chosen_sources(tmp_path, osm):
    session = RecordedSession(RECORDED)
    results = fetch(tmp_path, only="estat,osm-stores", session=session, **URLS)
    assert [r.source for r in results] == ["osm-stores", "estat"]
    assert sorted(url for url, _ in session.calls) == sorted([BOUNDARY_URL, TABLE_URL])
    assert osm == {"features": 1, "graph": 0}
    assert not (tmp_path / layers.BUNDLE_FILES["wards"].relpath).exists()


def test_unknown_source_is_refused(tmp_path):
    with pytest.raises(FetchError, match="unknown source.*mesh.*choose from osm-stores"):
        fetch(tmp_path, only="n03,mesh", session=RecordedSession({}))


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
        entry = manifest["files"][str(result.path.relative_to(tmp_path))]
        assert entry["sha256"] == hashlib.sha256(result.path.read_bytes()).hexdigest()
        assert entry["sha256"] == result.sha256
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
    with pytest.raises(FetchError, match="cannot write .*wards_n03_2020.geojson.*disk full"):
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


def test_network_error_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match=r"could not download https://example.invalid/N03.*"
                                         r"no network.*needs internet access"):
        fetch(tmp_path, only="n03", session=OfflineSession(), **URLS)
    assert not (tmp_path / layers.BUNDLE_FILES["wards"].relpath).exists()
    assert not (tmp_path / fetch_module.MANIFEST_NAME).exists()


def test_http_error_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match="could not download .*404 Client Error"):
        fetch(tmp_path, only="estat", session=RecordedSession({}), **URLS)


def test_error_page_instead_of_zip_is_a_fetch_error(tmp_path):
    session = RecordedSession({N03_URL: b"<!DOCTYPE html><title>Maintenance</title>"})
    with pytest.raises(FetchError, match="did not return a zip archive.*Maintenance"):
        fetch(tmp_path, only="n03", session=session, **URLS)


def test_osmnx_failure_is_a_fetch_error(tmp_path, monkeypatch):
    def offline(place, tags):
        raise requests.ConnectionError("Max retries exceeded with url: /api/interpreter")

    monkeypatch.setattr(fetch_module, "_osm_features", offline)
    with pytest.raises(FetchError, match="convenience stores from OpenStreetMap.*interpreter"):
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
    with pytest.raises(FetchError, match="no polygon for ward code.*43104"):
        fetch(tmp_path / "data", only="n03", session=session, **URLS)


def test_estat_table_with_other_columns_is_refused():
    archive = zipfile.ZipFile(FIXTURES / "estat_T000848_tiny.zip")
    with pytest.raises(FetchError, match="missing column.*T000849001"):
        fetch_module.population_from_estat_table(archive, table_id="T000849")


def test_fetch_result_paths_follow_the_bundle_layout(tmp_path, osm):
    results = fetch(tmp_path, only="osm-stores,n03", session=RecordedSession(RECORDED), **URLS)
    assert results[0] == FetchResult(
        "osm-stores", tmp_path / layers.BUNDLE_FILES["stores_osm"].relpath, "fetched",
        results[0].sha256)
    assert results[1].path == tmp_path / layers.BUNDLE_FILES["wards"].relpath


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


def test_cli_fetch_rejects_an_unknown_source(tmp_path, capsys):
    from geo import cli

    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "roads"]) == 2
    assert "unknown source(s) roads" in capsys.readouterr().err


def test_cli_fetch_offline_exits_with_a_data_error(tmp_path, monkeypatch, capsys):
    from geo import cli

    monkeypatch.setattr(fetch_module.requests, "Session", OfflineSession)
    assert cli.main(["fetch", "--data", str(tmp_path), "--only", "estat"]) == 1
    assert "error: could not download https://www.e-stat.go.jp/" in capsys.readouterr().err
