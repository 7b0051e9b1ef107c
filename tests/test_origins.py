"""Origin placement: population-weighted with the mesh, inner point without it."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from geo.engine import origin_points

X0, Y0 = -20_000.0, -30_000.0
CRS = "EPSG:6670"


def _areas(*polygons) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"key_code": [str(i) for i in range(len(polygons))]},
                            geometry=list(polygons), crs=CRS)


def _mesh(cells_and_people, shares=None) -> gpd.GeoDataFrame:
    shares = [0.25] * len(cells_and_people) if shares is None else shares
    return gpd.GeoDataFrame({"population": [p for _, p in cells_and_people],
                             "share_65plus": shares},
                            geometry=[c for c, _ in cells_and_people], crs=CRS)


def test_origin_moves_to_where_people_live():
    area = box(X0, Y0, X0 + 1000, Y0 + 500)
    mesh = _mesh([(box(X0, Y0, X0 + 500, Y0 + 500), 0.0),
                  (box(X0 + 500, Y0, X0 + 1000, Y0 + 500), 900.0)])
    points = origin_points(_areas(area), mesh)
    assert points["method"].tolist() == ["population-weighted"]
    assert points.geometry.iloc[0].x == pytest.approx(X0 + 750)


def test_weights_share_cell_population_by_area():
    area = box(X0, Y0, X0 + 1000, Y0 + 500)
    mesh = _mesh([(box(X0, Y0, X0 + 500, Y0 + 500), 100.0),
                  (box(X0 + 500, Y0, X0 + 1000, Y0 + 500), 300.0)])
    points = origin_points(_areas(area), mesh)
    assert points.geometry.iloc[0].x == pytest.approx(X0 + (250 * 100 + 750 * 300) / 400)


def test_centre_outside_a_crescent_falls_back_inside():
    crescent = Polygon([(X0, Y0), (X0 + 1000, Y0), (X0 + 1000, Y0 + 1000), (X0, Y0 + 1000),
                        (X0, Y0 + 900), (X0 + 900, Y0 + 900), (X0 + 900, Y0 + 100), (X0, Y0 + 100)])
    mesh = _mesh([(box(X0 - 10, Y0 - 10, X0 + 1010, Y0 + 1010), 500.0)])
    points = origin_points(_areas(crescent), mesh)
    assert crescent.contains(points.geometry.iloc[0])


def test_without_mesh_or_population_the_origin_is_an_inner_point():
    area = box(X0, Y0, X0 + 100, Y0 + 100)
    assert origin_points(_areas(area))["method"].tolist() == ["inner point"]
    empty = _mesh([(box(X0, Y0, X0 + 100, Y0 + 100), 0.0)])
    points = origin_points(_areas(area), empty)
    assert points["method"].tolist() == ["inner point"]
    assert area.contains(points.geometry.iloc[0])


def test_elderly_share_is_weighted_like_the_population():
    left, right = box(X0, Y0, X0 + 500, Y0 + 500), box(X0 + 500, Y0, X0 + 1000, Y0 + 500)
    area = box(X0, Y0, X0 + 1000, Y0 + 500)
    mesh = _mesh([(left, 100.0), (right, 300.0)], shares=[0.5, 0.1])
    points = origin_points(_areas(area, box(X0 + 5000, Y0, X0 + 5100, Y0 + 100)), mesh)
    assert points["share_65plus"].iloc[0] == pytest.approx((100 * 0.5 + 300 * 0.1) / 400)
    # an area outside the mesh takes the share of everything the mesh covered
    assert points["share_65plus"].iloc[1] == pytest.approx((100 * 0.5 + 300 * 0.1) / 400)
    assert origin_points(_areas(area))["share_65plus"].isna().all()
