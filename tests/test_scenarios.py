"""Closure scenarios on a hand-made model with hand-computed answers, and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import scenarios
from geo.errors import UnknownOfficeError
from geo.scenarios import AccessModel, Scenario

OFFICES = pd.DataFrame({
    "office_id": ["ward", "branch-a", "branch-b", "corner", "old"],
    "name_ja": ["区役所", "A出張所", "B出張所", "コーナー", "旧窓口"],
    "kind": ["ward_office", "branch", "general_branch", "service_corner", "service_corner"],
    "counter_fy2015": [True, True, True, True, True],
    "counter_now": [True, False, True, True, False],
})
ORIGINS = pd.DataFrame({
    "key_code": ["o1", "o2", "o3"], "name": ["町1", "町2", "町3"],
    "ward_code": ["1", "1", "2"], "ward": ["甲区", "甲区", "乙区"],
    "population": [100.0, 300.0, 50.0], "households": [40.0, 120.0, 20.0],
    "snap_m": [0.0, 0.0, 0.0],
})
# metres from each office (rows) to each origin (columns)
DISTANCES = np.array([
    [3000, 6000, 9000],
    [500, 2500, 8000],
    [7000, 1500, 4000],
    [400, 900, 9500],
    [100, 100, 100],
], dtype=np.float32)


def _model(distances=DISTANCES, stores=(800, 5000, 3000)) -> AccessModel:
    n = len(OFFICES)
    return AccessModel(
        offices=OFFICES, origins=ORIGINS, office_origin_m=distances,
        store_origin_m=np.array(stores, dtype=np.float32),
        office_office_m=np.zeros((n, n), np.float32),
        office_straight_m=np.zeros((n, n)),
        office_snap=pd.DataFrame({"office_id": OFFICES["office_id"], "snap_m": 0.0, "far": False}),
        store_snap=pd.DataFrame(), store_source="test", graph_summary="test",
    )


def test_counter_measure_uses_full_counters_open_in_the_base_set():
    model = _model()
    fy2015 = scenarios.origin_distances(model, Scenario(base="fy2015"), measure="counter")
    assert fy2015.tolist() == [500, 1500, 4000]
    now = scenarios.origin_distances(model, Scenario(base="now"), measure="counter")
    assert now.tolist() == [3000, 1500, 4000]


def test_certificate_measure_adds_corners_and_stores():
    model = _model()
    cert = scenarios.origin_distances(model, Scenario(base="now"), measure="certificate")
    assert cert.tolist() == [400, 900, 3000]


def test_downgraded_office_still_issues_certificates():
    model = _model()
    scenario = Scenario(base="now", downgraded={"branch-b"})
    counter = scenarios.origin_distances(model, scenario, measure="counter")
    certificate = scenarios.origin_distances(model, scenario, measure="certificate")
    assert counter.tolist() == [3000, 6000, 9000]
    assert certificate.tolist() == [400, 900, 3000]


def test_compare_by_ward_hand_computed():
    model = _model()
    table = scenarios.compare(model, Scenario(base="fy2015", closed={"branch-a"}), by="ward")
    ko = table.set_index("zone_id").loc["1"]
    assert ko["population"] == 400
    assert ko["before_km"] == pytest.approx((100 * 0.5 + 300 * 1.5) / 400)
    assert ko["after_km"] == pytest.approx((100 * 3.0 + 300 * 1.5) / 400)
    assert ko["after_max_km"] == pytest.approx(3.0)
    assert ko["people_farther"] == 100
    assert ko["beyond_2km_before"] == 0 and ko["beyond_2km_after"] == 100
    otsu = table.set_index("zone_id").loc["2"]
    assert otsu["delta_km"] == 0 and otsu["people_farther"] == 0
    assert (table["status"] == "ok").all()


def test_closing_every_office_says_no_facility_reachable():
    model = _model()
    everything = set(OFFICES["office_id"])
    table = scenarios.compare(model, Scenario(base="fy2015", closed=everything), by="ward")
    assert (table["status"] == scenarios.NO_FACILITY).all()
    assert (table["beyond_5km_after"] == table["population"]).all()
    assert (table["people_farther"] == table["population"]).all()
    city = scenarios.summary(table)
    assert city["status"] == scenarios.NO_FACILITY
    assert city["before_km"] == pytest.approx((100 * 0.5 + 300 * 1.5 + 50 * 4.0) / 450)


def test_certificate_access_survives_closing_every_office_through_stores():
    model = _model()
    everything = set(OFFICES["office_id"])
    table = scenarios.compare(model, Scenario(base="now", closed=everything), measure="certificate")
    assert (table["status"] == "ok").all()
    assert table["after_km"].tolist() == pytest.approx([0.8, 5.0, 3.0])


def test_unknown_office_id_is_named():
    with pytest.raises(UnknownOfficeError, match="no-such-office"):
        scenarios.compare(_model(), Scenario(closed={"no-such-office"}))


def test_unknown_base_and_measure_are_refused():
    with pytest.raises(ValueError, match="office set"):
        Scenario(base="2020")
    with pytest.raises(ValueError, match="measure"):
        scenarios.origin_distances(_model(), Scenario(), measure="walking")


def test_scenario_keeps_ids_as_frozensets_whatever_iterable_it_is_given():
    scenario = Scenario(base="now", closed=["oe", "akitsu", "oe"], downgraded=("tatsuda", "oe"))
    assert scenario.closed == frozenset({"oe", "akitsu"})
    assert scenario.downgraded == frozenset({"tatsuda"})  # closed wins over downgraded
    assert scenario == Scenario(base="now", closed={"akitsu", "oe"}, downgraded={"tatsuda"})
    assert hash(scenario) == hash(Scenario(base="now", closed=("akitsu", "oe"),
                                           downgraded=["tatsuda"]))


def test_a_single_string_is_not_taken_for_a_set_of_ids():
    with pytest.raises(TypeError, match="'oe'"):
        Scenario(closed="oe")


def test_nearest_office_names_the_office():
    model = _model()
    assert scenarios.nearest_office(model, Scenario(base="fy2015"), measure="counter").tolist() == [
        "branch-a", "branch-b", "branch-b"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0, max_value=20_000, width=32), min_size=15, max_size=15),
    st.sets(st.sampled_from(list(OFFICES["office_id"]))),
    st.sets(st.sampled_from(list(OFFICES["office_id"]))),
    st.sampled_from(scenarios.MEASURES),
)
def test_closing_more_offices_never_lowers_any_distance(values, closed, more, measure):
    model = _model(np.array(values, dtype=np.float32).reshape(5, 3))
    fewer = scenarios.origin_distances(model, Scenario(base="fy2015", closed=closed),
                                       measure=measure)
    larger = scenarios.origin_distances(model, Scenario(base="fy2015", closed=closed | more),
                                        measure=measure)
    assert (larger >= fewer).all()


def test_zone_without_residents_still_gets_a_distance():
    members = pd.DataFrame({"origin": [0, 1], "zone_id": ["empty", "empty"],
                            "zone_name": ["空", "空"], "ward": ["甲区", "甲区"],
                            "population": [0.0, 0.0]})
    table = scenarios.zone_table(members, np.array([1000.0, 3000.0]), np.array([2000.0, 4000.0]))
    row = table.iloc[0]
    assert row["before_km"] == pytest.approx(2.0) and row["after_km"] == pytest.approx(3.0)
    assert row["after_max_km"] == pytest.approx(4.0)
    assert row["status"] == "ok"


def test_elderly_columns_follow_the_share_of_each_origin():
    members = pd.DataFrame({"origin": [0, 1], "zone_id": ["z", "z"], "zone_name": ["町", "町"],
                            "ward": ["甲区", "甲区"], "population": [100.0, 300.0]})
    table = scenarios.zone_table(members, np.array([1500.0, 500.0]), np.array([2500.0, 2500.0]),
                                 share_65plus=np.array([0.5, 0.1]))
    row = table.iloc[0]
    assert row["population_65plus"] == pytest.approx(50 + 30)
    assert row["beyond_2km_before_65plus"] == 0
    assert row["beyond_2km_after_65plus"] == pytest.approx(80)
    assert row["beyond_1km_before_65plus"] == pytest.approx(50)
    assert scenarios.summary(table)["population_65plus"] == pytest.approx(80)
    plain = scenarios.zone_table(members, np.array([1500.0, 500.0]), np.array([2500.0, 2500.0]))
    assert "population_65plus" not in plain.columns


def test_in_base_flags_the_base_office_set():
    assert scenarios.in_base(OFFICES, "fy2015").tolist() == [True] * 5
    assert OFFICES.loc[scenarios.in_base(OFFICES, "now"), "office_id"].tolist() == [
        "ward", "branch-b", "corner"]
    with pytest.raises(ValueError, match="unknown office set 'fy1999'"):
        scenarios.in_base(OFFICES, "fy1999")
