"""The study's disk cache: same figures from the cache, a new key for changed inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from geo import layers, studycache
from geo import study as study_module
from geo.scenarios import Scenario


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
    built = study_module.build_study(bundle_dir)
    assert list((tmp_path / "studies").iterdir())

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the district layer was built again instead of read")

    monkeypatch.setattr(study_module.districts, "build_districts", no_rebuild)
    cached = study_module.build_study(bundle_dir)
    assert cached.store_sources == built.store_sources
    plan = study_module.options(built, "fy2015").presets["plan2015"].scenario
    for scenario in (plan, Scenario(base="now", closed={"koda-general-branch"})):
        for measure, stores in (("counter", None), ("certificate", "osm"),
                                ("certificate", "union")):
            ours = study_module.evaluate(cached, scenario, measure=measure, stores=stores)
            theirs = study_module.evaluate(built, scenario, measure=measure, stores=stores)
            pd.testing.assert_frame_equal(ours.zone_table, theirs.zone_table)
            assert ours.city == theirs.city
            pd.testing.assert_frame_equal(ours.load_shift.table, theirs.load_shift.table)
    assert cached.blank_ids == built.blank_ids
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
