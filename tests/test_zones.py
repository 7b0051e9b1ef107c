"""Zone layers and their display form."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo import cartography, scenarios, zones
from geo.errors import CRSError
from geo.scenarios import Scenario


def test_display_features_are_wgs84_rounded_and_keep_only_named_columns():
    frame = gpd.GeoDataFrame({"zone_id": ["a"], "secret": ["x"]},
                             geometry=[box(-20_000, -30_000, -19_000, -29_000)], crs="EPSG:6670")
    features = cartography.to_display_features(frame, ["zone_id"])
    feature = features["features"][0]
    assert set(feature["properties"]) == {"zone_id"}
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert 130 < lon < 131 and 32 < lat < 33
    assert round(lon, 5) == lon and round(lat, 5) == lat


def test_display_points_and_label_points():
    points = gpd.GeoDataFrame({"name": ["p"]}, geometry=[Point(130.7, 32.8)],
                              crs="EPSG:4326").to_crs("EPSG:6670")
    table = cartography.to_display_points(points)
    assert table.loc[0, "lat"] == pytest.approx(32.8)
    assert table.loc[0, "lon"] == pytest.approx(130.7)


def test_a_label_stays_inside_its_polygon_and_clear_of_the_offices():
    # a 10 km square ward with its office at the centroid, and a thin C-shaped ward
    square = box(-30_000, -30_000, -20_000, -20_000)
    c_shape = box(-10_000, -30_000, -9_000, -29_000).difference(
        box(-9_900, -29_900, -9_000, -29_100))
    wards = gpd.GeoDataFrame({"ward": ["甲区", "乙区"]}, geometry=[square, c_shape],
                             crs="EPSG:6670")
    offices = gpd.GeoDataFrame({"office_id": ["a"]}, geometry=[Point(-25_000, -25_000)],
                               crs="EPSG:6670").to_crs("EPSG:4326")  # any CRS
    labels = cartography.label_points(wards, offices)
    assert labels.crs == wards.crs and list(labels["ward"]) == ["甲区", "乙区"]
    point = labels.geometry.iloc[0]
    assert square.contains(point)
    assert cartography.LABEL_CLEARANCE_M <= point.distance(Point(-25_000, -25_000)) < 2_500
    assert c_shape.contains(labels.geometry.iloc[1])  # no room: the most room inside
    shown = cartography.to_display_points(labels)
    assert list(shown.columns) == ["ward", "lat", "lon"]


def test_display_needs_a_crs():
    with pytest.raises(CRSError, match="no CRS"):
        cartography.to_display_points(gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)]))


def test_unknown_zone_kind_and_district_without_layer(engine):
    with pytest.raises(ValueError, match="unknown zone layer"):
        zones.zone_layer(engine, "prefecture")
    with pytest.raises(ValueError, match="needs the district layer"):
        zones.zone_layer(engine, "district")


@pytest.mark.bundle
@pytest.mark.parametrize("kind", ["ward", "small-area"])
def test_zone_layer_results_attach_to_every_polygon(engine, kind):
    layer = zones.zone_layer(engine, kind)
    table = scenarios.compare(engine.model, Scenario(base="fy2015", closed={"oe-branch"}),
                              membership=layer.membership)
    joined = zones.with_results(layer, table)
    assert len(joined) == len(layer.polygons) == len(table)
    assert joined.crs.to_epsg() == 6670
    assert joined["population"].sum() == pytest.approx(engine.small_areas["population"].sum())


@pytest.mark.bundle
def test_district_layer_has_blank_ids_of_the_engine_stores(engine, bundle_dir):
    from geo.districts import build_districts

    layer = zones.zone_layer(engine, "district", districts=build_districts(bundle_dir))
    assert len(layer.polygons) == 92
    assert layer.blank_ids <= set(layer.polygons["zone_id"])
    assert len(layer.blank_ids) == 7  # union stores: see README, reproducible
    # every resident belongs to some district, once (split small areas are shared out)
    assert layer.membership["population"].sum() == pytest.approx(
        engine.small_areas["population"].sum())
    assert set(layer.membership["zone_id"]) <= set(layer.polygons["zone_id"])


@pytest.mark.bundle
def test_no_ward_label_sits_under_an_office(engine):
    """At the polygon's representative point 中央区's label was 171 m from an office and
    北区's 970 m from its ward office: both hidden under the markers."""
    labels = cartography.label_points(engine.wards[["ward", "geometry"]], engine.offices)
    offices = engine.offices.to_crs("EPSG:6670").geometry.union_all()
    wards = engine.wards.to_crs("EPSG:6670").set_index("ward").geometry
    for ward, point in zip(labels["ward"], labels.to_crs("EPSG:6670").geometry, strict=True):
        assert wards[ward].contains(point), ward
        assert point.distance(offices) >= 1_800, ward
