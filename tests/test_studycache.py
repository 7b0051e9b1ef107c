"""The study's disk cache: same figures from the cache, a new key for changed inputs."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import io, layers, studycache
from geo import study as study_module
from geo.question import Question


def _copy_of_registers(tmp_path: Path) -> Path:
    """A data directory holding copies of the project's office register only."""
    data = tmp_path / "data"
    target = data / layers.BUNDLE_FILES["offices"].relpath
    target.parent.mkdir(parents=True)
    shutil.copy(layers.find_layer("offices", tmp_path / "nowhere"), target)
    return data


def test_the_key_follows_the_inputs_the_network_and_the_mode(tmp_path):
    data = _copy_of_registers(tmp_path)
    key = studycache.study_key(data, "osm-city-drive", "drive")
    assert key == studycache.study_key(data, "osm-city-drive", "drive")
    assert key != studycache.study_key(data, "mlit", "drive")
    assert key != studycache.study_key(data, "osm-city-drive", "walk")
    register = data / layers.BUNDLE_FILES["offices"].relpath
    text = register.read_text(encoding="utf-8")
    register.write_text(text.replace("中央区役所", "中央区役所 ", 1), encoding="utf-8")
    assert studycache.study_key(data, "osm-city-drive", "drive") != key


def test_a_cached_study_of_another_format_or_key_is_not_read(tmp_path):
    folder = studycache.save({"answer": 42}, "abc", tmp_path)
    assert studycache.load("abc", tmp_path) == {"answer": 42}
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["format"] = studycache.FORMAT_VERSION + 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert studycache.load("abc", tmp_path) is None
    assert studycache.load("missing", tmp_path) is None


@pytest.mark.bundle
def test_a_study_read_from_the_cache_gives_the_same_figures(bundle_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_CACHE", str(tmp_path))
    stages: list[str] = []
    built = study_module.build_study(bundle_dir, progress=stages.append)
    assert stages == ["cache", "network", "stores", "districts", "demand", "zones", "saving"]
    assert list((tmp_path / "studies").iterdir())

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the district layer was built again instead of read")

    monkeypatch.setattr(study_module.districts, "build_districts", no_rebuild)
    stages.clear()
    cached = study_module.build_study(bundle_dir, progress=stages.append)
    assert stages == ["cache"]  # read back, nothing built
    assert cached.store_sources == built.store_sources
    plan = study_module.options(built, "fy2015").presets["plan2015"].question
    for offices in (plan, Question(base="now", closed={"koda-general-branch"})):
        for measure, stores in (("counter", None), ("certificate", "osm"),
                                ("certificate", "union")):
            question = offices.replace(measure=measure, store_source=stores)
            ours = study_module.evaluate(cached, question)
            theirs = study_module.evaluate(built, question)
            pd.testing.assert_frame_equal(ours.zone_table, theirs.zone_table)
            assert ours.city == theirs.city
            pd.testing.assert_frame_equal(ours.load_shift.table, theirs.load_shift.table)
    for source in built.store_sources:
        assert cached.blank_ids(source) == built.blank_ids(source)
    pd.testing.assert_frame_equal(cached.districts.membership, built.districts.membership)


def test_a_transit_precompute_comes_back_with_its_feeds_cited(tmp_path):
    import datetime as dt

    import numpy as np

    from geo.transit import TransitAccess

    tram = layers.BundleFile("gtfs_kumamotoshiden", "transit/gtfs/kumamotoshiden.gtfs.zip",
                             "timetable (GTFS): 熊本市交通局", "GTFSデータリポジトリ",
                             "CC BY 2.1 JP", "熊本市交通局 GTFS (CC BY 2.1 JP)")
    minutes = np.array([[[12.5]]], dtype=np.float32)
    access = TransitAccess(minutes=minutes, walk_minutes=minutes[0], direct_ride=np.ones((1, 1),
                           dtype=bool), departures_s=np.array([32_400]), counter_ids=("k",),
                           service_date=dt.date(2026, 12, 9), caveat={"ja": "注", "en": "note"},
                           sources=(tram,))
    studycache.save(studycache.transit_parts(access), "t", tmp_path)
    back = studycache.transit_from(studycache.load("t", tmp_path) or {})
    assert back.sources == (tram,)
    assert back.service_date == dt.date(2026, 12, 9)
    assert back.minutes.tolist() == [[[12.5]]]


# -- a cache that is not trusted blindly (issue 20) -----------------------------------------

DISTANCES = np.arange(6, dtype=np.float32).reshape(2, 3)
ORIGINS = pd.DataFrame({"key_code": ["a", "b", "c"], "population": [10.0, 20.0, 30.0]})


def _cached(tmp_path: Path) -> Path:
    return studycache.save({"office_origin_m": DISTANCES, "model_origins": ORIGINS,
                            "store_source": "osm"}, "k", tmp_path)


def test_cached_parts_come_back_as_saved_with_their_checksums(tmp_path):
    folder = _cached(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["arrays"]["office_origin_m"]["shape"] == [2, 3]
    assert manifest["frames"]["model_origins"]["rows"] == 3
    parts = studycache.load("k", tmp_path)
    assert parts["office_origin_m"].tolist() == DISTANCES.tolist()
    pd.testing.assert_frame_equal(parts["model_origins"], ORIGINS)
    assert parts["store_source"] == "osm"


def _halve_distances(folder: Path) -> None:
    np.save(folder / "office_origin_m.npy", DISTANCES * 0.5)


def _double_population(folder: Path) -> None:
    ORIGINS.assign(population=ORIGINS["population"] * 2).to_parquet(
        folder / "model_origins.parquet", index=False)


def _wrong_shape(folder: Path) -> None:
    np.save(folder / "office_origin_m.npy", DISTANCES[:1])


def _wrong_shape_with_its_checksum(folder: Path) -> None:
    _wrong_shape(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["arrays"]["office_origin_m"]["sha256"] = io.sha256_file(
        folder / "office_origin_m.npy")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _truncate(folder: Path) -> None:
    path = folder / "model_origins.parquet"
    path.write_bytes(path.read_bytes()[:100])


@pytest.mark.parametrize(("tamper", "said"), [
    (_halve_distances, "office_origin_m.npy does not match the checksum"),
    (_double_population, "model_origins.parquet does not match the checksum"),
    (_wrong_shape, "office_origin_m.npy does not match the checksum"),
    (_wrong_shape_with_its_checksum, "office_origin_m has shape [1, 3], its manifest says [2, 3]"),
    (_truncate, "model_origins.parquet does not match the checksum"),
])
def test_a_part_unlike_its_manifest_is_not_served(tmp_path, caplog, tamper, said):
    tamper(_cached(tmp_path))
    with caplog.at_level(logging.WARNING, logger="geo.studycache"):
        assert studycache.load("k", tmp_path) is None
    assert len(caplog.records) == 1
    assert said in caplog.records[0].getMessage()
    assert caplog.records[0].getMessage().endswith("; building it again")


@pytest.mark.bundle
def test_a_tampered_cache_is_rebuilt_with_the_right_figures(bundle_dir, tmp_path, monkeypatch,
                                                            caplog):
    monkeypatch.setenv("MADOGUCHI_CACHE", str(tmp_path))
    built = study_module.build_study(bundle_dir)
    key = studycache.study_key(bundle_dir, built.network, built.mode)
    folder = studycache.study_dir(key)
    distances = np.load(folder / "office_origin_m.npy")
    np.save(folder / "office_origin_m.npy", distances * 0.5)
    with caplog.at_level(logging.WARNING, logger="geo.studycache"):
        again = study_module.build_study(bundle_dir)
    assert "office_origin_m.npy does not match the checksum" in caplog.text
    plan = study_module.options(built, "fy2015").presets["plan2015"].question
    assert (study_module.evaluate(again, plan).city
            == study_module.evaluate(built, plan).city)
    assert np.array_equal(studycache.load(key)["office_origin_m"], distances)  # rewritten


@pytest.mark.bundle
def test_an_input_changed_during_the_build_is_not_cached_under_the_old_key(
        bundle_copy, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("MADOGUCHI_CACHE", str(tmp_path / "cache"))
    data = bundle_copy(layers.BUNDLE_FILES["offices"].relpath)
    register = data / layers.BUNDLE_FILES["offices"].relpath
    original = register.read_text(encoding="utf-8")
    build = study_module._build

    def edited_meanwhile(*args, **kwargs):  # after the key was computed, before reading
        register.write_text(original.replace("中央区役所", "中央区役所（仮）", 1), encoding="utf-8")
        return build(*args, **kwargs)

    monkeypatch.setattr(study_module, "_build", edited_meanwhile)
    with caplog.at_level(logging.WARNING, logger="geo.study"):
        edited = study_module.build_study(data)
    assert "changed while the study was built" in caplog.text
    assert "中央区役所（仮）" in set(edited.engine.offices["name_ja"])
    monkeypatch.setattr(study_module, "_build", build)
    register.write_text(original, encoding="utf-8")  # the register as it was hashed
    assert studycache.load(studycache.study_key(data, edited.network, edited.mode)) is None
    names = set(study_module.build_study(data).engine.offices["name_ja"])
    assert "中央区役所" in names and "中央区役所（仮）" not in names
