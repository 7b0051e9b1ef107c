"""The network-quality check on hand-made networks with known walls."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import LineString

from geo.graph import build_graph_from_lines
from geo.network_check import find_walls

X0, Y0 = -20_000.0, -30_000.0


def _lines(*coords_lists) -> gpd.GeoSeries:
    return gpd.GeoSeries(
        [LineString([(X0 + x, Y0 + y) for x, y in coords]) for coords in coords_lists],
        crs="EPSG:6670")


def _dual_carriageway(*, crossing: bool):
    """Two carriageways 12 m apart and 3 km long, joined only at their ends, with a side
    street meeting each carriageway at x = 1500 (as the MLIT lines draw a divided road)."""
    north = [(0, 12), (1500, 12), (3000, 12)]
    south = [(0, 0), (1500, 0), (3000, 0)]
    lines = [north, south, [(0, 0), (0, 12)], [(3000, 0), (3000, 12)],
             [(1500, 12), (1500, 400)], [(1500, 0), (1500, -400)]]
    if crossing:
        lines.append([(1500, 0), (1500, 12)])
    return build_graph_from_lines(_lines(*lines))


def test_the_two_sides_of_a_divided_road_are_found_as_a_wall():
    walls = find_walls(_dual_carriageway(crossing=False))
    assert len(walls) == 1
    wall = walls.iloc[0]
    assert wall["gap_m"] == 12.0
    # round by the end of the road: 1500 + 12 + 1500 m
    assert wall["road_m"] > 1_000
    assert {round(wall["x_a"] - X0), round(wall["x_b"] - X0)} == {1500}


def test_a_crossing_removes_the_wall():
    assert find_walls(_dual_carriageway(crossing=True)).empty


def test_a_short_way_round_is_not_a_wall():
    graph = build_graph_from_lines(_lines([(0, 0), (300, 0)], [(0, 15), (300, 15)],
                                          [(0, 0), (0, 15)]))
    walls = find_walls(graph)
    assert walls.empty  # the far ends are 15 m apart and 615 m by road: under 1 km
    # with a lower limit the pair is a wall, with one above 615 m it is not
    assert len(find_walls(graph, road_m=600)) == 1
    assert find_walls(graph, road_m=630).empty
