"""The compiled layers kept in the project (office register, school points, attendance zones).

A data directory without them falls back to the project's copy in ``data/``; a data
directory with its own copy wins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.geometry import box

from geo import layers, settings
from geo.errors import DataMissingError

CITY_BOX = (130.55, 32.60, 130.90, 33.00)  # lon/lat box around Kumamoto City


@pytest.fixture
def wards_only(tmp_path: Path) -> Path:
    """A data directory holding one square 'ward' round the city and nothing else."""
    path = tmp_path / layers.BUNDLE_FILES["wards"].relpath
    path.parent.mkdir(parents=True)
    feature = {"type": "Feature", "properties": {"ward_code": "43101", "ward": "中央区"},
               "geometry": box(*CITY_BOX).__geo_interface__}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}),
                    encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("key", layers.PROJECT_LAYERS)
def test_a_data_directory_without_the_layer_reads_the_project_copy(wards_only, key):
    assert layers.bundle_path(key, wards_only) == settings.PROJECT_DATA_DIR / \
        layers.BUNDLE_FILES[key].relpath


def test_project_copies_load_with_their_documented_counts(wards_only):
    offices = layers.load_offices(wards_only)
    assert len(offices) == 24
    # the bundle README: 5 ward offices, 9 general branches, 5 branches, the 芳野 annex, the
    # 森都心 corner and 3 corners closed earlier
    assert offices["kind"].value_counts().to_dict() == {
        "general_branch": 9, "ward_office": 5, "branch": 5, "service_corner": 4, "annex": 1}
    schools = layers.load_schools(wards_only)
    assert len(schools) == 92
    assert len(layers.load_schools(wards_only, current_only=False)) == 97
    zones = layers.load_attendance_zones(wards_only)
    assert len(zones) == 2081
    assert zones.loc[zones["kind"] == "primary", "school"].nunique() == 92


def test_a_data_directory_with_its_own_copy_wins(wards_only):
    path = wards_only / layers.BUNDLE_FILES["offices"].relpath
    path.parent.mkdir(parents=True)
    path.write_text("office_id,name_ja,name_en,kind,ward,lat,lon,counter_fy2015,counter_now\n"
                    "x,市役所,City Hall,ward_office,中央区,32.8031,130.7079,true,true\n",
                    encoding="utf-8")
    assert layers.bundle_path("offices", wards_only) == path
    assert layers.load_offices(wards_only)["office_id"].tolist() == ["x"]


def test_check_bundle_names_only_what_neither_place_holds(wards_only):
    with pytest.raises(DataMissingError) as info:
        layers.check_bundle(wards_only, keys=["small_areas", "offices", "schools"])
    message = str(info.value)
    assert "small_areas_2015.geojson" in message
    assert "offices.csv" not in message and "elementary_schools" not in message
    assert layers.check_bundle(wards_only, keys=layers.PROJECT_LAYERS) == wards_only


def test_layers_outside_the_project_list_have_no_fallback(wards_only):
    assert layers.find_layer("mesh", wards_only) is None
    with pytest.raises(DataMissingError, match="lacks demographics/mesh500m"):
        layers.bundle_path("mesh", wards_only)


@pytest.mark.bundle
@pytest.mark.parametrize("key", layers.PROJECT_LAYERS)
def test_project_copies_are_the_bundle_files(bundle_dir, key):
    relpath = layers.BUNDLE_FILES[key].relpath
    assert (settings.PROJECT_DATA_DIR / relpath).read_bytes() == (bundle_dir / relpath).read_bytes()
