"""The city-wide OSM drive network on the real bundle: the figures a planner must defend.

The 南区 examples are those the MLIT lines got wrong (issue: distances a planner can
defend): 御幸笛田1丁目 0.49 km from 幸田 in a straight line but 7.16 km by MLIT road.
"""

from __future__ import annotations

import numpy as np
import pytest

from geo import bench, distance, network_check, reorganisation
from geo import engine as engine_module
from geo.graph import to_networkx

pytestmark = pytest.mark.bundle


def _origin(eng, name: str) -> int:
    rows = np.flatnonzero(eng.model.origins["name"].to_numpy() == name)
    assert len(rows) == 1, name
    return int(rows[0])


def _office_xy(eng, office_id: str) -> np.ndarray:
    point = eng.offices.set_index("office_id").geometry[office_id]
    return np.array([point.x, point.y])


def test_the_default_network_is_the_city_osm_drive_network(engine):
    assert engine.network == "osm-city-drive"
    report = engine.graph.report
    assert engine.graph.directed
    assert 35_000 < report.nodes < 36_000  # bundle README: 35,721 nodes, 35,675 strongly joined
    assert 5_000 < report.length_km < 5_200  # bundle README: ~5,173 km
    assert report.oneway_edges > 1_000


@pytest.mark.parametrize("name", ["御幸笛田１丁目", "良町１丁目"])
def test_south_ward_origins_reach_koda_about_as_the_crow_flies(engine, name):
    i = _origin(engine, name)
    koda = engine.model.office_index(["koda-general-branch"])[0]
    road_km = engine.model.office_origin_m[koda, i] / 1000
    origin_xy = engine.model.origins[["origin_x", "origin_y"]].to_numpy()[i]
    straight_km = np.linalg.norm(origin_xy - _office_xy(engine, "koda-general-branch")) / 1000
    assert straight_km < 1.5
    assert road_km / straight_km < 2.5  # MLIT: 7.16 km for 0.49 km, a detour of 15


def test_koda_to_the_south_ward_office_is_about_8_km_and_akita_is_nearest_to_nishi(engine):
    table = reorganisation.branch_distances(engine.model, base="fy2015").set_index("office_id")
    koda, south = engine.model.office_index(["koda-general-branch", "minami-ward-office"])
    assert 6.0 < engine.model.office_office_m[koda, south] / 1000 < 10.0  # MLIT said 27.6 km
    assert table.loc["akita-general-branch", "nearest_ward_office_id"] == "nishi-ward-office"


def test_the_5_km_rule_on_the_osm_network_gives_the_official_2015_list(engine):
    table = reorganisation.branch_distances(engine.model, base="fy2015")
    comparison = reorganisation.rule_versus_official(table)
    assert sorted(comparison["computed"]) == sorted(reorganisation.OFFICIAL_2015_CANDIDATES)
    assert comparison["only_computed"] == comparison["only_official"] == []


def test_network_check_finds_a_sound_osm_network(engine):
    check = network_check.check_network(engine)
    figures = check.figures
    assert figures["kept_components"] == 1
    assert figures["detour_p99"] < 2.5
    assert figures["detour_max"] < 3.5
    assert figures["walls"] < 100
    # every road distance is at least the straight line between the two points
    assert (check.detours["road_km"] >= check.detours["straight_km"] - 1e-6).all()


def test_network_check_finds_the_mlit_walls(bundle_dir):
    mlit = engine_module.load_engine(bundle_dir, network="mlit")
    figures = network_check.check_network(mlit).figures
    assert figures["walls"] > 1_000  # the two sides of divided roads
    assert figures["detour_max"] > 10
    assert figures["origins_detour_3_or_more"] > 20


def test_one_way_streets_make_some_drives_longer_than_walks(engine, bundle_dir):
    walk = engine_module.load_engine(bundle_dir, mode="walk")
    drive_m = engine.model.office_origin_m
    walk_m = walk.model.office_origin_m
    assert (walk_m <= drive_m + 0.01).all()
    assert (walk_m < drive_m - 50).sum() > 100


def test_engine_distances_equal_an_independent_networkx_computation(engine):
    rng = np.random.default_rng(8)
    offices = distance.snap_points(engine.offices, engine.graph)
    origins = distance.snap_points(engine.origins, engine.graph)
    reversed_graph = to_networkx(engine.graph).reverse(copy=True)
    for row in rng.choice(len(engine.offices), 4, replace=False):
        expected = bench.networkx_origin_distances(reversed_graph, offices, origins,
                                                   np.array([row]))
        np.testing.assert_allclose(engine.model.office_origin_m[row], expected, rtol=1e-5,
                                   atol=0.01)
