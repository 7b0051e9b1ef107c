"""Plausibility checks of every layer: extent in the declared CRS, counts, size limits, fuzzing."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geo import layers
from geo.errors import CRSError, InputTooLargeError, LayerError, MadoguchiError
from geo.settings import MAX_FEATURES_ENV_VAR, MAX_FILE_MB_ENV_VAR, max_features

CITY_BOX = (130.55, 32.65, 130.85, 32.95)
SQUARES = [box(130.70, 32.80, 130.71, 32.81), box(130.72, 32.80, 130.73, 32.81)]
AREA = {"ward_code": "43101", "ward": "中央区", "name": "町", "name_nfkc": "町",
        "population_2015": 10, "households_2015": 5}
HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


def _collection(frame: gpd.GeoDataFrame, *, declare: str | None) -> dict:
    """GeoJSON text of ``frame`` as stored, with ``declare`` written as its CRS member."""
    collection = json.loads(frame.to_json(drop_id=True))
    if declare:
        collection["crs"] = {"type": "name", "properties": {"name": declare}}
    return collection


def _write(path: Path, frame: gpd.GeoDataFrame, *, declare: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_collection(frame, declare=declare), ensure_ascii=False),
                    encoding="utf-8")
    return path


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A data directory with one square 'ward' covering the city."""
    wards = gpd.GeoDataFrame({"ward_code": ["43101"], "ward": ["中央区"]},
                             geometry=[box(*CITY_BOX)], crs="EPSG:4326")
    _write(tmp_path / layers.BUNDLE_FILES["wards"].relpath, wards)
    return tmp_path


def _small_areas(populations: list[object], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    rows = [{**AREA, "key_code_2015": str(i), "population_2015": p}
            for i, p in enumerate(populations)]
    frame = gpd.GeoDataFrame(rows, geometry=SQUARES[:len(rows)], crs="EPSG:4326")
    return frame.to_crs(crs)


def _mesh(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({
        "mesh_code_500m": ["1", "2"], "pop_total": [100, 40], "share_65plus": [0.25, None],
        "suppress_flag": [0, 2], "group_key": ["g", "g"]}, geometry=SQUARES, crs="EPSG:4326")
    return frame.to_crs(crs)


def _small_area_path(root: Path) -> Path:
    return root / layers.BUNDLE_FILES["small_areas"].relpath


def _mesh_path(root: Path) -> Path:
    return root / layers.BUNDLE_FILES["mesh"].relpath


# -- extent in the declared CRS --------------------------------------------------------------

def test_small_areas_in_degrees_labelled_as_the_metric_crs_are_refused(mini: Path):
    _write(_small_area_path(mini), _small_areas([10, 20]), declare="urn:ogc:def:crs:EPSG::6670")
    with pytest.raises(CRSError, match=r"small_areas_2015.geojson: coordinates .* not within "
                                       r"Kumamoto City.*degrees in EPSG:4326 labelled as "
                                       r"EPSG:6670"):
        layers.load_small_areas(mini)


def test_mesh_in_another_plane_zone_is_refused_naming_it(mini: Path):
    _write(_mesh_path(mini), _mesh("EPSG:6669"), declare="urn:ogc:def:crs:EPSG::6670")
    with pytest.raises(CRSError, match=r"mesh500m.*coordinates in EPSG:6669 labelled as EPSG:6670"):
        layers.load_population_mesh(mini)


def test_mesh_with_latitude_and_longitude_swapped_is_refused(mini: Path):
    frame = _mesh()
    frame["geometry"] = frame.geometry.map(
        lambda g: type(g)([(y, x) for x, y in g.exterior.coords]))
    _write(_mesh_path(mini), frame)
    with pytest.raises(CRSError, match="latitude and longitude look swapped"):
        layers.load_population_mesh(mini)


def test_wards_elsewhere_in_japan_are_refused(tmp_path: Path):
    tokyo = gpd.GeoDataFrame({"ward_code": ["13101"], "ward": ["千代田区"]},
                             geometry=[box(139.7, 35.6, 139.8, 35.7)], crs="EPSG:4326")
    _write(tmp_path / layers.BUNDLE_FILES["wards"].relpath, tokyo)
    with pytest.raises(CRSError, match=r"\[139.7, 35.6, 139.8, 35.7\] are not within Kumamoto"):
        layers.load_wards(tmp_path)


def test_layers_in_the_metric_crs_load_as_they_are(mini: Path):
    _write(_mesh_path(mini), _mesh("EPSG:6670"), declare="urn:ogc:def:crs:EPSG::6670")
    mesh = layers.load_population_mesh(mini)
    assert mesh["population"].tolist() == [100.0, 40.0]
    assert mesh["share_65plus"].tolist() == [0.25, 0.25]  # the suppressed cell takes its group's


# -- counts ----------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Could not parse column")
def test_text_population_is_refused_not_read_as_zero(mini: Path):
    _write(_small_area_path(mini), _small_areas([10, "12,000"]))
    with pytest.raises(LayerError, match="row 2: non-numeric population_2015 '12,000'"):
        layers.load_small_areas(mini)


def test_a_trillion_people_in_one_area_is_refused(mini: Path):
    _write(_small_area_path(mini), _small_areas([1e12, 10]))
    with pytest.raises(LayerError, match=r"row 1: implausibly large population_2015 1000000000000"):
        layers.load_small_areas(mini)


def test_areas_without_a_population_figure_are_counted_and_reported(mini: Path, caplog):
    _write(_small_area_path(mini), _small_areas([None, 7]))
    with caplog.at_level(logging.INFO, logger="geo.layers"):
        areas = layers.load_small_areas(mini)
    assert areas["population"].tolist() == [0.0, 7.0]
    assert areas.attrs["population_missing"] == 1
    assert "1 small area(s) have no population figure" in caplog.text


def test_mesh_share_above_one_is_refused(mini: Path):
    frame = _mesh()
    frame["share_65plus"] = [1.5, None]
    _write(_mesh_path(mini), frame)
    with pytest.raises(LayerError, match=r"row 1: implausibly large share_65plus 1.5"):
        layers.load_population_mesh(mini)


VALID = st.one_of(st.none(), st.floats(0, layers.MAX_PEOPLE_PER_AREA),
                  st.integers(0, layers.MAX_PEOPLE_PER_AREA))
INVALID = st.one_of(
    st.floats(max_value=-1e-9, allow_infinity=False, allow_nan=False),
    st.floats(min_value=layers.MAX_PEOPLE_PER_AREA + 1, allow_infinity=False),
    st.sampled_from([math.inf, -math.inf, "abc", "1,234", True]),
)


@HYPOTHESIS
@given(st.lists(st.tuples(st.booleans(), VALID, INVALID), min_size=1, max_size=30))
def test_check_counts_flags_exactly_the_bad_rows(cells):
    values = [bad if is_bad else good for is_bad, good, bad in cells]
    counts, problems = layers.check_counts(pd.Series(values, dtype=object), "population")
    flagged = {int(p.split(":")[0].removeprefix("row ")) - 1 for p in problems}
    assert flagged == {i for i, (is_bad, _, _) in enumerate(cells) if is_bad}
    for i, (is_bad, good, _) in enumerate(cells):
        if not is_bad:
            expected = math.nan if good is None else float(good)
            assert counts.iloc[i] == pytest.approx(expected, nan_ok=True)


@HYPOTHESIS
@given(st.lists(st.one_of(st.none(), st.integers(0, 5000)), min_size=1, max_size=30))
def test_check_counts_reads_numbers_written_as_text(numbers):
    text = pd.Series(["" if n is None else str(n) for n in numbers], dtype=object)
    counts, problems = layers.check_counts(text, "population")
    assert problems == []
    assert counts.isna().tolist() == [n is None for n in numbers]
    assert counts.fillna(-1).tolist() == [-1 if n is None else n for n in numbers]


# -- size limits -----------------------------------------------------------------------------

def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(mini: Path, monkeypatch):
    path = _write(_small_area_path(mini), _small_areas([10, 20]))
    monkeypatch.setenv(MAX_FILE_MB_ENV_VAR, str(path.stat().st_size / 2e6))
    monkeypatch.setattr(gpd, "read_file", lambda *a, **k: pytest.fail("read before the check"))
    with pytest.raises(InputTooLargeError, match=rf"small_areas_2015.geojson: .* MB is more than "
                                                 rf".* allowed per file.*{MAX_FILE_MB_ENV_VAR}"):
        layers.load_small_areas(mini)


def test_a_layer_over_the_feature_limit_is_refused_before_it_is_read(mini: Path, monkeypatch):
    stores = gpd.GeoDataFrame({"osm_id": [1, 2], "name_repo": ["a", "b"], "brand": ["x", "y"]},
                              geometry=[Point(130.7, 32.8), Point(130.71, 32.8)], crs="EPSG:4326")
    _write(mini / layers.BUNDLE_FILES["stores_osm"].relpath, stores)
    monkeypatch.setenv(MAX_FEATURES_ENV_VAR, "1")
    monkeypatch.setattr(gpd, "read_file", lambda *a, **k: pytest.fail("read before the check"))
    with pytest.raises(InputTooLargeError, match=r"2 features is more than the 1 allowed"):
        layers.load_stores(mini, source="osm")


def test_office_register_over_the_feature_limit_is_refused(mini: Path, monkeypatch):
    path = mini / layers.BUNDLE_FILES["offices"].relpath
    path.parent.mkdir(parents=True)
    row = "a{},区役所,Chuo,ward_office,中央区,32.8031,130.7079,true,true\n"
    path.write_text("office_id,name_ja,name_en,kind,ward,lat,lon,counter_fy2015,counter_now\n"
                    + "".join(row.format(i) for i in range(5)), encoding="utf-8")
    monkeypatch.setenv(MAX_FEATURES_ENV_VAR, "3")
    with pytest.raises(InputTooLargeError, match=r"offices.csv: 4 features is more than the 3"):
        layers.load_offices(mini)


def test_a_bad_limit_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(MAX_FEATURES_ENV_VAR, "lots")
    with pytest.raises(MadoguchiError, match="MADOGUCHI_MAX_FEATURES='lots' must be a positive"):
        max_features()


# -- fuzzed loader: truncated and mislabelled files -------------------------------------------

@HYPOTHESIS
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_small_areas_are_a_layer_error_or_the_whole_file(mini: Path, cut: float):
    path = _write(_small_area_path(mini), _small_areas([10, 20]))
    whole = path.read_bytes()
    path.write_bytes(whole[:int(cut * len(whole))])
    try:
        areas = layers.load_small_areas(mini)
    except LayerError:
        return
    assert areas["population"].tolist() == [10.0, 20.0]  # only whitespace was cut


LABELS = ["EPSG:4326", "EPSG:6668", "EPSG:6669", "EPSG:6670", "EPSG:6671", "EPSG:32652",
          "EPSG:3857"]


@HYPOTHESIS
@given(true_crs=st.sampled_from(LABELS), label=st.sampled_from(LABELS),
       layer=st.sampled_from(["small_areas", "mesh"]))
def test_mislabelled_layers_are_refused_and_correct_ones_load(mini: Path, true_crs: str,
                                                               label: str, layer: str):
    frame = _small_areas([10, 20], true_crs) if layer == "small_areas" else _mesh(true_crs)
    path = _small_area_path(mini) if layer == "small_areas" else _mesh_path(mini)
    _write(path, frame, declare=label)
    load = layers.load_small_areas if layer == "small_areas" else layers.load_population_mesh
    same = {true_crs, label} <= {"EPSG:4326", "EPSG:6668"}  # both lon/lat on the same datum
    if label == true_crs or same:
        loaded = load(mini)
        expected = frame.to_crs(layers.METRIC_CRS).geometry.to_numpy()
        assert np.allclose([g.centroid.x for g in loaded.geometry],
                           [g.centroid.x for g in expected], atol=1.0)
    else:
        with pytest.raises(CRSError):
            load(mini)
