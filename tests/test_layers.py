"""Layer loading and validation: every bad-input path names the file, row and problem."""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo import layers
from geo.errors import CRSError, DataMissingError, LayerError

CITY_BOX = (130.55, 32.65, 130.85, 32.95)  # lon/lat box around Kumamoto City
OFFICE_HEADER = "office_id,name_ja,name_en,kind,ward,lat,lon,counter_fy2015,counter_now\n"


def _write_geojson(path: Path, features: list[dict], crs: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    collection = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def _feature(props: dict, geometry) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": None if geometry is None else geometry.__geo_interface__}


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A data directory with one square 'ward' covering the city."""
    _write_geojson(tmp_path / layers.BUNDLE_FILES["wards"].relpath,
                   [_feature({"ward_code": "43101", "ward": "中央区"}, box(*CITY_BOX))])
    return tmp_path


def _offices(root: Path, rows: list[str]) -> Path:
    path = root / layers.BUNDLE_FILES["offices"].relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OFFICE_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


GOOD_OFFICE = "a,中央区役所,Chuo,ward_office,中央区,32.8031,130.7079,true,true"


def test_missing_directory_gives_one_clear_message(tmp_path: Path):
    with pytest.raises(DataMissingError, match=r"does not exist. Point MADOGUCHI_DATA"):
        layers.check_bundle(tmp_path / "nowhere")


def test_missing_files_are_listed_with_how_to_get_them(mini: Path):
    with pytest.raises(DataMissingError,
                       match=r"lacks boundaries/small_areas_2015.geojson\. Point"):
        layers.check_bundle(mini)


def test_offices_load_in_metric_crs(mini: Path):
    _offices(mini, [GOOD_OFFICE, "b,X出張所,X,branch,中央区,32.80,130.72,true,unknown"])
    offices = layers.load_offices(mini)
    assert offices.crs.to_epsg() == 6670
    assert offices["counter_now"].tolist() == [True, True]
    assert offices["counter_now_known"].tolist() == [True, False]


def test_office_duplicate_id_and_bad_rows_are_all_reported(mini: Path):
    path = _offices(mini, [
        GOOD_OFFICE,
        "a,重複,Dup,branch,中央区,32.80,130.72,true,true",
        "c,座標,Bad,branch,中央区,north,130.72,true,true",
        "d,種別,Kind,castle,中央区,32.80,130.72,true,true",
        "e,状態,State,branch,中央区,32.80,130.72,maybe,true",
    ])
    with pytest.raises(LayerError) as info:
        layers.load_offices(mini)
    message = str(info.value)
    assert str(path) in message
    assert "row 2: duplicate office_id 'a'" in message
    assert "row 3: unparsable coordinates" in message
    assert "row 4: unknown kind 'castle'" in message
    assert "row 5: counter_fy2015 'maybe'" in message


def test_office_missing_column_is_named(mini: Path):
    path = mini / layers.BUNDLE_FILES["offices"].relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("office_id,name_ja\na,区役所\n", encoding="utf-8")
    with pytest.raises(LayerError, match=r"missing column\(s\) name_en, kind, ward, lat, lon"):
        layers.load_offices(mini)


def test_office_outside_the_city_is_refused(mini: Path):
    _offices(mini, [GOOD_OFFICE, "b,東京,Tokyo,branch,中央区,35.68,139.76,true,true"])
    with pytest.raises(LayerError, match="row 2: office point is outside Kumamoto City"):
        layers.load_offices(mini)


def test_swapped_lat_lon_is_caught_as_outside(mini: Path):
    _offices(mini, ["a,区役所,Chuo,ward_office,中央区,130.7079,32.8031,true,true"])
    with pytest.raises(LayerError, match="outside Kumamoto City"):
        layers.load_offices(mini)


def test_unparsable_geometry_names_the_row(mini: Path):
    _write_geojson(mini / layers.BUNDLE_FILES["stores_osm"].relpath, [
        _feature({"osm_id": 1, "name_repo": "ローソン", "brand": "ローソン"}, Point(130.7, 32.8)),
        _feature({"osm_id": 2, "name_repo": "セブン", "brand": "セブン-イレブン"}, None),
    ])
    with pytest.raises(LayerError, match=r"row 2: missing or unparsable geometry"):
        layers.load_stores(mini, source="osm")


def test_wrong_geometry_type_is_named(mini: Path):
    _write_geojson(mini / layers.BUNDLE_FILES["stores_osm"].relpath, [
        _feature({"osm_id": 1, "name_repo": "ローソン", "brand": "ローソン"},
                 box(130.7, 32.8, 130.71, 32.81)),
    ])
    with pytest.raises(LayerError, match="row 1: geometry is Polygon, expected Point"):
        layers.load_stores(mini, source="osm")


def test_projected_coordinates_declared_as_degrees_are_a_crs_error(mini: Path):
    _write_geojson(mini / layers.BUNDLE_FILES["stores_osm"].relpath, [
        _feature({"osm_id": 1, "name_repo": "ローソン", "brand": "ローソン"},
                 Point(-27000.0, -20000.0)),
    ])
    with pytest.raises(CRSError, match="geographic but the coordinates are not degrees"):
        layers.load_stores(mini, source="osm")


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_layer_without_crs_is_refused(mini: Path):
    path = mini / layers.BUNDLE_FILES["wards"].relpath
    path.unlink()
    frame = gpd.GeoDataFrame({"ward_code": ["43101"], "ward": ["中央区"]},
                             geometry=[box(*CITY_BOX)], crs=None)
    gpkg = mini / "wards.gpkg"
    frame.to_file(gpkg, driver="GPKG")
    with pytest.raises(CRSError, match="has no CRS"):
        layers._to_metric(layers._read_vector(gpkg), gpkg)


def test_geojson_declaring_the_metric_crs_loads_without_reprojection_errors(mini: Path):
    path = mini / layers.BUNDLE_FILES["wards"].relpath
    metric = gpd.GeoDataFrame({"ward_code": ["43101"], "ward": ["中央区"]},
                              geometry=[box(*CITY_BOX)], crs="EPSG:4326").to_crs("EPSG:6670")
    _write_geojson(path, [_feature({"ward_code": "43101", "ward": "中央区"},
                                   metric.geometry.iloc[0])], crs="urn:ogc:def:crs:EPSG::6670")
    wards = layers.load_wards(mini)
    assert wards.crs.to_epsg() == 6670
    assert wards.geometry.iloc[0].equals_exact(metric.geometry.iloc[0], 1e-3)


def test_declared_projected_crs_is_honoured_not_overwritten(mini: Path):
    frame = gpd.GeoDataFrame({"osm_id": [1], "name_repo": ["ローソン"], "brand": ["ローソン"]},
                             geometry=[Point(130.7, 32.8)], crs="EPSG:4326").to_crs("EPSG:6670")
    converted = layers._to_metric(frame, Path("x"))
    assert converted.geometry.iloc[0].distance(frame.geometry.iloc[0]) < 1e-6


def test_duplicate_small_area_codes_and_negative_population(mini: Path):
    square = box(130.70, 32.80, 130.71, 32.81)
    props = {"key_code_2015": "1", "ward_code": "43101", "ward": "中央区", "name": "町",
             "name_nfkc": "町", "population_2015": 10, "households_2015": 5}
    _write_geojson(mini / layers.BUNDLE_FILES["small_areas"].relpath, [
        _feature(props, square), _feature({**props, "population_2015": -3}, square)])
    with pytest.raises(LayerError,
                       match=r"row 2: duplicate key_code_2015 '1'.*row 2: negative population"):
        layers.load_small_areas(mini)


def test_unknown_store_source_is_refused(mini: Path):
    with pytest.raises(LayerError, match="unknown store source 'seven'"):
        layers.load_stores(mini, source="seven")


def test_same_brand_stores_within_40_m_merge_in_chains():
    points = gpd.GeoDataFrame(
        {"store_id": list("abcd"), "brand": ["L", "L", "L", "S"]},
        geometry=[Point(0, 0), Point(30, 0), Point(60, 0), Point(10, 0)], crs="EPSG:6670")
    merged = layers.dedupe_stores(points)
    assert merged["store_id"].tolist() == ["a", "d"]


@pytest.mark.bundle
def test_real_bundle_layers(bundle_dir: Path):
    assert len(layers.load_wards(bundle_dir)) == 5
    small = layers.load_small_areas(bundle_dir)
    assert len(small) == 932
    assert small["population"].sum() == pytest.approx(740_171)
    assert len(layers.load_schools(bundle_dir)) == 92
    offices = layers.load_offices(bundle_dir)
    assert len(offices) == 24 and offices.crs.to_epsg() == 6670
    assert len(layers.load_stores(bundle_dir, source="osm")) == 204
    assert len(layers.load_stores(bundle_dir, source="overture")) == 412  # README: about 412
    union = layers.load_stores(bundle_dir, source="union")
    assert union["store_id"].is_unique
    assert 412 < len(union) < 412 + 204


def test_population_mesh_gives_folded_cells_their_receivers_share(mini: Path):
    cell = box(130.70, 32.80, 130.705, 32.805)
    other = box(130.705, 32.80, 130.71, 32.805)
    base = {"pop_total": 5, "suppress_flag": 2, "share_65plus": None, "group_key": "B"}
    _write_geojson(mini / layers.BUNDLE_FILES["mesh"].relpath, [
        _feature({"mesh_code_500m": "A", **base}, cell),
        _feature({"mesh_code_500m": "B", "pop_total": 300, "suppress_flag": 1,
                  "share_65plus": 0.4, "group_key": "B"}, other),
    ])
    mesh = layers.load_population_mesh(mini).set_index("mesh_code")
    assert mesh.loc["A", "share_65plus"] == pytest.approx(0.4)
    assert mesh.loc["B", "population"] == 300
    assert mesh.crs.to_epsg() == 6670


def test_city_polygon_follows_a_changed_wards_file(mini: Path):
    first = layers.city_polygon(mini)
    path = mini / layers.BUNDLE_FILES["wards"].relpath
    _write_geojson(path, [_feature({"ward_code": "43101", "ward": "中央区"},
                                   box(130.6, 32.7, 130.8, 32.9))])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert layers.city_polygon(mini).area < first.area
