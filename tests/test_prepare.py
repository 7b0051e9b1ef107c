"""First run (``python -m geo prepare``, called by ``make app``) on recorded downloads."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import recorded_bundle
from streamlit.testing.v1 import AppTest
from test_fetch import (
    FIXTURES,
    RECORDED,
    URLS,
    OfflineSession,
    RecordedSession,
    record_osm,
)

from geo import cli, layers, prepare, settings, study
from geo import fetch as fetch_module
from geo.engine import load_engine
from geo.errors import DataMissingError
from geo.question import Question

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
FETCHABLE = ["boundaries/wards_n03_2020.geojson", "boundaries/small_areas_2015.geojson",
             "demographics/mesh500m_census2020_age.geojson",
             "stores/convenience_osm_2026-07-30.geojson"]


@pytest.fixture
def osm(monkeypatch):
    return record_osm(monkeypatch)


@pytest.fixture
def recorded(monkeypatch, osm):
    """``requests.Session()`` serves the recorded files at the default download addresses."""
    defaults = {fetch_module.N03_URL: RECORDED[URLS["n03_url"]],
                fetch_module.ESTAT_BOUNDARY_URL: RECORDED[URLS["estat_boundary_url"]],
                fetch_module.ESTAT_TABLE_URL: RECORDED[URLS["estat_table_url"]],
                fetch_module.MESH_TABLE_URL.format(mesh="4930"):
                    FIXTURES / "estat_T001101_4930_tiny.zip"}
    session = RecordedSession(defaults)
    monkeypatch.setattr(fetch_module.requests, "Session", lambda: session)
    return session


def test_gaps_of_an_empty_directory(tmp_path):
    gaps = prepare.study_gaps(tmp_path)
    assert {g.label: g.source for g in gaps} == {
        "boundaries/wards_n03_2020.geojson": "n03",
        "boundaries/small_areas_2015.geojson": "estat",
        "demographics/mesh500m_census2020_age.geojson": "mesh",
        "stores/convenience_osm_2026-07-30.geojson": "osm-stores",
        "roads/osm_city_drive_*_nodes.csv.gz": "osm-roads",
        "roads/osm_city_drive_*_edges.csv.gz": "osm-roads",
    }  # offices, schools and attendance zones come from the project's data/
    mlit = {g.label: g.source for g in prepare.study_gaps(tmp_path, network="mlit",
                                                          stores="union")}
    assert mlit["roads/mlit_passable_roads_2026-08-04.geojson"] is None
    assert mlit["stores/convenience_overture_2026-07.geojson"] is None


@pytest.mark.bundle
def test_the_bundle_lacks_nothing(bundle_dir):
    assert prepare.study_gaps(bundle_dir) == []
    assert prepare.study_gaps(bundle_dir, network="osm-city-drive") == []


def test_asks_once_then_fetches_everything_it_can(tmp_path, recorded):
    questions: list[str] = []
    lines: list[str] = []

    def answer_yes(question: str) -> bool:
        questions.append(question)
        return True

    results = prepare.prepare(tmp_path, network="osm-city-drive", ask=answer_yes,
                              progress=lines.append)
    assert len(questions) == 1
    assert questions[0].endswith("? [y/N] ") and "e-Stat 2020 500 m mesh" in questions[0]
    assert [r.source for r in results] == ["osm-stores", "osm-roads", "n03", "estat", "mesh"]
    assert prepare.study_gaps(tmp_path, network="osm-city-drive") == []
    assert not any("still lacks" in line for line in lines)
    # without Overture stores the study uses the OSM ones
    assert layers.default_store_source(tmp_path) == "osm"
    assert prepare.prepare(tmp_path, network="osm-city-drive", ask=answer_yes) == []
    assert len(questions) == 1  # nothing left to download: no second question


@pytest.mark.parametrize(("typed", "answer"), [("y\n", True), ("yes\n", True), ("\n", False),
                                               ("n\n", False), ("", False)])
def test_terminal_question_goes_to_stderr(monkeypatch, capsys, typed, answer):
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert prepare.ask_on_terminal("Download? [y/N] ") is answer
    newline = "" if typed else "\n"  # at end of input the question's line is ended
    assert capsys.readouterr() == ("", "Download? [y/N] " + newline)


def test_declining_downloads_nothing_and_says_what_is_missing(tmp_path, recorded):
    with pytest.raises(DataMissingError, match=r"lacks .*wards_n03_2020.geojson.* and the "
                                               r"download was declined \(answer y, or set "
                                               r"MADOGUCHI_FETCH=1\). Put these files there"):
        prepare.prepare(tmp_path, ask=lambda question: False)
    assert recorded.calls == [] and list(tmp_path.iterdir()) == []


def test_environment_variable_answers_yes(tmp_path, recorded, monkeypatch):
    monkeypatch.setenv(prepare.FETCH_ENV_VAR, "1")

    def no_question(question):
        raise AssertionError("asked although MADOGUCHI_FETCH=1")

    assert len(prepare.prepare(tmp_path, ask=no_question)) == 5


def test_offline_is_one_message_naming_files_place_and_bundle(tmp_path, monkeypatch, osm):
    monkeypatch.setattr(fetch_module.requests, "Session", OfflineSession)
    monkeypatch.setattr(fetch_module, "_osm_features", _offline_osm)
    with pytest.raises(DataMissingError) as info:
        prepare.prepare(tmp_path, yes=True)
    message = str(info.value)
    assert "\n" not in message
    for label in FETCHABLE:
        assert label in message
    assert f"{tmp_path} lacks" in message
    assert "could not be downloaded" in message and "Max retries exceeded" in message
    assert "MADOGUCHI_DATA" in message and "../shared/data/kumamoto" in message


def _offline_osm(place, tags):
    import requests

    raise requests.ConnectionError("Max retries exceeded with url: /api/interpreter")


def test_cli_prepare_offline_exits_1_with_one_line(tmp_path, monkeypatch, capsys, osm):
    monkeypatch.setattr(fetch_module.requests, "Session", OfflineSession)
    monkeypatch.setattr(fetch_module, "_osm_features", _offline_osm)
    assert cli.main(["prepare", "--yes", "--data", str(tmp_path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[1/5] osm-stores: downloading OSM convenience stores (osmnx, Overpass)…"
    assert len(err) == 2 and err[1].startswith(f"error: {tmp_path} lacks ")


def test_make_app_runs_prepare_before_the_dashboard():
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^app:\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    commands = [line.strip() for line in recipe.splitlines()]
    assert commands.index(".venv/bin/python -m geo prepare >/dev/null") < commands.index(
        ".venv/bin/python -m dashboard")


def test_fresh_directory_with_made_up_geography_shows_the_data_error_page(tmp_path, recorded,
                                                                         monkeypatch):
    """``make app`` on an empty data directory with the made-up recordings: prepare --yes
    fetches every source, then the dashboard starts and explains, on its data-error page,
    that the project's office register lies outside the made-up wards."""
    data = tmp_path / "data"
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(data))
    assert cli.main(["prepare", "--yes"]) == 0
    for label in FETCHABLE:
        assert (data / label).is_file()
    assert prepare.study_gaps(data) == []
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "データに問題があります"
    error = at.session_state["data_error"]
    assert at.session_state["data_error_missing"] is False
    assert layers.BUNDLE_FILES["offices"].relpath in error
    assert "office point is outside Kumamoto City" in error
    shown = [element.value for element in at.text]
    assert any(layers.BUNDLE_FILES["offices"].relpath in text for text in shown)
    assert not any("Traceback" in text for text in shown)


@pytest.fixture
def bundle_downloads(monkeypatch, bundle_dir) -> RecordedSession:
    """``requests.Session()`` and the two osmnx calls serve the real bundle, re-encoded as
    each source publishes it; returns the session (its recordings and the calls made)."""
    boundaries, table = recorded_bundle.estat_zips(bundle_dir)
    served = {fetch_module.N03_URL: recorded_bundle.n03_zip(bundle_dir),
              fetch_module.ESTAT_BOUNDARY_URL: boundaries, fetch_module.ESTAT_TABLE_URL: table}
    for mesh, body in recorded_bundle.mesh_zips(bundle_dir).items():
        served[fetch_module.MESH_TABLE_URL.format(mesh=mesh)] = body
    session = RecordedSession(served)
    monkeypatch.setattr(fetch_module.requests, "Session", lambda: session)
    stores = recorded_bundle.osm_store_features(bundle_dir)
    graph = recorded_bundle.drive_graph(bundle_dir)
    monkeypatch.setattr(fetch_module, "_osm_features", lambda place, tags: stores)
    monkeypatch.setattr(fetch_module, "_osm_graph", lambda place, network_type: graph)
    return session


@pytest.mark.bundle
def test_fresh_directory_with_real_geography_reaches_the_map(tmp_path, bundle_downloads,
                                                             bundle_dir, monkeypatch):
    """``make app`` on an empty data directory, the downloads being the bundle's data:
    prepare --yes fetches everything the default study needs, and the dashboard's map page
    shows the figures of ``geo.study.evaluate`` on what was fetched."""
    data = tmp_path / "data"
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(data))
    assert cli.main(["prepare", "--yes"]) == 0
    for label in FETCHABLE:
        assert (data / label).is_file()
    assert layers.osm_network_files(data) is not None
    assert prepare.study_gaps(data) == []
    assert sorted(url for url, _ in bundle_downloads.calls) == sorted(bundle_downloads.recorded)
    # the fetched layers hold the bundle's figures
    assert layers.load_small_areas(data)["population"].sum() == 740_171
    assert len(layers.load_stores(data, source="osm")) == 204
    assert len(layers.load_population_mesh(data)) == 1_312

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert not at.error
    assert "data_error" not in at.session_state
    assert at.title[0].value == "地図：最寄り窓口までの道路距離"

    question = Question(base="fy2015")
    fetched_study = study.build_study(data)
    fetched = study.evaluate(fetched_study, question)
    assert fetched.store_source == "osm"
    cards = {m.label: m.value for m in at.metric}
    assert cards["平均距離（変更後）"] == f"{fetched.city['after_km']:.2f} km"
    assert cards["2 km より遠い人（変更後）"] == f"{fetched.city['beyond_2km_after']:,.0f} 人"

    # the same figures as the bundle itself: coordinates written with 7 decimals move the
    # mean by micrometres; the 65+ count uses 1,312 of the bundle's 1,318 meshes. (City
    # figures come from the small areas: the bundle's study needs no districts or demand.)
    original = load_engine(bundle_dir, store_source="osm")
    bundle = study.evaluate(study.assemble_study(original, stores={"osm": original.stores},
                                                 district_layer=None, demand_fits={}),
                            question.replace(zones="small-area"))
    for figure in ("population", "beyond_2km_after", "beyond_5km_after"):
        assert fetched.city[figure] == bundle.city[figure]
    for figure in ("nodes", "edges", "oneway_edges", "dropped_nodes"):  # 1,938 one-way
        assert getattr(fetched_study.engine.graph.report, figure) == getattr(
            original.graph.report, figure), figure
    assert fetched.city["after_km"] == pytest.approx(bundle.city["after_km"], abs=1e-4)
    assert fetched.city["beyond_2km_after_65plus"] == pytest.approx(
        bundle.city["beyond_2km_after_65plus"], abs=5)
