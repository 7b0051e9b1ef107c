"""The engine on the real Kumamoto bundle: snapping, the 5 km rule, closure effects."""

from __future__ import annotations

import numpy as np
import pytest

from geo import reorganisation, scenarios
from geo.scenarios import Scenario

pytestmark = pytest.mark.bundle

FY2015_BRANCHES = {
    "takuma-general-branch", "kawachi-general-branch", "hanazono-general-branch",
    "akita-general-branch", "tenmei-general-branch", "koda-general-branch",
    "hokubu-general-branch", "shimizu-general-branch", "jonan-general-branch",
    "oe-branch", "tobu-branch", "akitsu-branch", "nanbu-branch", "tatsuda-branch",
}


def test_every_office_and_store_is_near_a_street_of_the_osm_network(engine):
    snap = engine.model.office_snap.set_index("office_id")
    assert len(snap) == 24
    # the farthest office is the Higashi ward office, 82 m from the nearest drivable street
    assert snap["snap_m"].idxmax() == "higashi-ward-office"
    assert snap["snap_m"].max() == pytest.approx(82.2, abs=0.5)
    stores = engine.model.store_snap
    assert stores["snap_m"].max() == pytest.approx(116.2, abs=0.5)
    assert not snap["far"].any() and not stores["far"].any()  # all well under FAR_SNAP_M


def test_populated_small_areas_snap_like_the_readme_says(engine):
    origins = engine.model.origins
    populated = origins[origins["population"] > 0]
    # README: on the city OSM network a populated origin is a median 16 m from a street
    assert 5 < populated["snap_m"].median() < 40
    assert populated["snap_m"].max() < 300


def test_branch_distances_fy2015_has_all_branches_annex_and_corner(engine):
    table = reorganisation.branch_distances(engine.model, base="fy2015")
    assert FY2015_BRANCHES <= set(table["office_id"])
    kinds = table.set_index("office_id")["kind"]
    assert kinds["yoshino-annex"] == "annex"
    assert kinds["moritoshin-service-corner"] == "service_corner"
    assert (table["road_km"] >= table["straight_km"] - 0.3).all()  # snap legs aside, road >= line
    # within 5 km of a ward office by road on the OSM network: the plan's eight, no more
    assert set(table.loc[table["candidate"], "office_id"]) == {
        "akitsu-branch", "oe-branch", "tobu-branch", "hanazono-general-branch",
        "akita-general-branch", "hokubu-general-branch", "nanbu-branch", "koda-general-branch"}
    assert not table.set_index("office_id").loc["moritoshin-service-corner", "candidate"]
    assert set(table["nearest_ward_office_id"]) <= set(
        engine.offices.loc[engine.offices["kind"] == "ward_office", "office_id"])
    oe = table.set_index("office_id").loc["oe-branch"]
    assert oe["nearest_ward_office_id"] == "chuo-ward-office" and oe["candidate"]


def test_threshold_is_adjustable_and_today_has_fewer_branches(engine):
    strict = reorganisation.branch_distances(engine.model, base="fy2015", threshold_km=2.0)
    loose = reorganisation.branch_distances(engine.model, base="fy2015", threshold_km=8.0)
    assert strict["candidate"].sum() < loose["candidate"].sum()
    now = reorganisation.branch_distances(engine.model, base="now")
    assert "oe-branch" not in set(now["office_id"])
    assert "tatsuda-branch" in set(now["office_id"])


def test_closing_a_branch_raises_nearby_zones_and_leaves_far_zones_unchanged(engine):
    model = engine.model
    table = scenarios.compare(model, Scenario(base="fy2015", closed={"oe-branch"}))
    assert (table["delta_km"] > 0.05).any()
    assert (table["delta_km"] >= -1e-9).all()
    oe = model.office_index(["oe-branch"])[0]
    far = model.office_origin_m[oe] > 15_000
    far_codes = set(model.origins.loc[far, "key_code"])
    assert far_codes
    far_rows = table[table["zone_id"].isin(far_codes)]
    assert (far_rows["delta_km"].fillna(0) == 0).all()


def test_ward_totals_match_the_small_area_population(engine):
    table = scenarios.compare(engine.model, Scenario(base="fy2015"), by="ward")
    assert len(table) == 5
    assert table["population"].sum() == pytest.approx(engine.small_areas["population"].sum())


def test_closing_everything_is_a_clear_result_not_a_crash(engine):
    everything = set(engine.offices["office_id"])
    table = scenarios.compare(engine.model, Scenario(base="fy2015", closed=everything), by="ward")
    assert (table["status"] == scenarios.NO_FACILITY).all()
    assert np.isfinite(table["before_km"]).all()


def test_certificate_access_is_never_worse_than_counter_access(engine):
    model = engine.model
    counter = scenarios.origin_distances(model, Scenario(base="now"), measure="counter")
    certificate = scenarios.origin_distances(model, Scenario(base="now"), measure="certificate")
    assert (certificate <= counter).all()
    assert (certificate < counter).any()


def test_elderly_share_of_origins_matches_the_2020_census(engine):
    origins = engine.model.origins
    share = (origins["population"] * origins["share_65plus"]).sum() / origins["population"].sum()
    assert share == pytest.approx(0.259, abs=0.01)  # bundle README: 65+ share 25.9 %
    table = scenarios.compare(engine.model, Scenario(base="fy2015", closed={"oe-branch"}),
                              by="ward")
    assert (table["beyond_2km_after_65plus"] >= table["beyond_2km_before_65plus"]).all()
    assert (table["beyond_2km_after_65plus"] <= table["beyond_2km_after"]).all()
