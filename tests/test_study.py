"""geo.study on a hand-made town with hand-computed answers, and on the real bundle.

The town: one straight road 2 km long (west-east). The ward office W stands 10 m south of
its west end, the branch B 10 m south of its east end, and a convenience store 10 m
south of its middle. Small area A (100 people, half aged 65+) has its origin 20 m north of
the road 500 m from the west end; small area B (300 people, a fifth aged 65+) 20 m north,
1,800 m from the west end.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from geo import study as study_module
from geo.engine import Engine, build_access_model
from geo.errors import UnknownOfficeError
from geo.graph import build_graph_from_lines
from geo.question import Question

X0, Y0 = -20_000.0, -30_000.0
CRS = "EPSG:6670"


def _points(*xy: tuple[float, float]) -> list[Point]:
    return [Point(X0 + x, Y0 + y) for x, y in xy]


@pytest.fixture(scope="module")
def town(tmp_path_factory) -> study_module.Study:
    graph = build_graph_from_lines(gpd.GeoSeries([LineString(
        [(X0, Y0), (X0 + 2_000, Y0)])], crs=CRS))
    offices = gpd.GeoDataFrame({
        "office_id": ["w", "b"], "name_ja": ["W区役所", "B出張所"], "name_en": ["W", "B"],
        "kind": ["ward_office", "branch"], "kind_now": ["ward_office", "branch"],
        "ward": ["中央区", "中央区"], "counter_fy2015": [True, True],
        "counter_now": [True, True],
    }, geometry=_points((0, -10), (2_000, -10)), crs=CRS)
    small_areas = gpd.GeoDataFrame({
        "key_code": ["A", "B"], "name": ["A町", "B町"], "ward_code": ["43101", "43101"],
        "ward": ["中央区", "中央区"], "population": [100.0, 300.0], "households": [50, 150],
    }, geometry=[box(X0, Y0, X0 + 1_000, Y0 + 500), box(X0 + 1_000, Y0, X0 + 2_000, Y0 + 500)],
        crs=CRS)
    origins = gpd.GeoDataFrame({"method": ["given", "given"], "share_65plus": [0.5, 0.2]},
                               geometry=_points((500, 20), (1_800, 20)), crs=CRS)
    stores = gpd.GeoDataFrame({"store_id": ["s1"], "name": ["store"], "brand": ["x"],
                               "source": ["osm"]}, geometry=_points((1_000, -10)), crs=CRS)
    wards = gpd.GeoDataFrame({"ward_code": ["43101"], "ward": ["中央区"]},
                             geometry=[box(X0, Y0 - 500, X0 + 2_000, Y0 + 500)], crs=CRS)
    model = build_access_model(graph, offices, small_areas, stores, store_source="osm",
                               origins=origins)
    eng = Engine(data=tmp_path_factory.mktemp("town"), graph=graph, model=model, wards=wards,
                 small_areas=small_areas, offices=offices, stores=stores, origins=origins,
                 timings={}, network="osm-city-drive", mode="drive")
    return study_module.assemble_study(eng, stores={"osm": stores}, district_layer=None,
                                       demand_fits={})


def test_before_and_after_closing_the_branch_by_hand(town):
    result = study_module.evaluate(town, Question(base="fy2015", closed={"b"}, zones="small-area"))
    table = result.zone_table.set_index("zone_id")
    # A: 20 m to the road, 500 m along it, 10 m to W. B: 20 + 200 + 10 m to B, or 20 + 1,800
    # + 10 m to W once B is closed.
    assert table.loc["A", "before_km"] == pytest.approx(0.530)
    assert table.loc["B", "before_km"] == pytest.approx(0.230)
    assert table.loc["B", "after_km"] == pytest.approx(1.830)
    city = result.city
    assert city["before_km"] == pytest.approx((100 * 0.530 + 300 * 0.230) / 400)
    assert city["after_km"] == pytest.approx((100 * 0.530 + 300 * 1.830) / 400)
    assert city["people_farther"] == 300
    assert city["beyond_1km_before"] == 0 and city["beyond_1km_after"] == 300
    assert city["beyond_1km_after_65plus"] == pytest.approx(60)  # 300 people x 0.2
    assert result.unreachable == "none"
    states = result.offices.set_index("office_id")["state"]
    assert states.to_dict() == {"w": "open", "b": "closed"}
    assert result.load_shift is None and "no counter transactions" in result.load_shift_reason


def test_certificates_also_count_the_store(town):
    result = study_module.evaluate(town, Question(base="fy2015", closed={"b"},
                                                  measure="certificate", zones="small-area"))
    table = result.zone_table.set_index("zone_id")
    assert table.loc["B", "after_km"] == pytest.approx(0.830)  # 20 + 800 + 10 m to the store
    assert result.city["after_km"] == pytest.approx((100 * 0.530 + 300 * 0.830) / 400)


def test_closing_every_counter_leaves_everyone_unreachable(town):
    result = study_module.evaluate(town, Question(base="fy2015", closed={"w", "b"}, zones="ward"))
    assert result.unreachable == "all"
    assert result.city["beyond_5km_after"] == 400


def test_an_office_outside_the_base_set_is_refused(town):
    with pytest.raises(UnknownOfficeError, match="unknown office id"):
        study_module.evaluate(town, Question(base="fy2015", closed={"nowhere"}, zones="ward"))


def test_options_list_what_can_be_closed_and_downgraded(town):
    options = study_module.options(town, "fy2015")
    assert options.closable == ["w", "b"]
    assert options.downgradable == ["w", "b"]
    rule = options.rule.set_index("office_id")
    assert rule.loc["b", "road_km"] == pytest.approx(2.020)  # 10 + 2,000 + 10 m to W


@pytest.mark.bundle
def test_the_bundle_study_evaluates_the_2015_plan(bundle_dir):
    study = study_module.build_study(bundle_dir)
    assert set(study.store_sources) == {"osm", "overture", "lawson2013", "union"}
    options = study_module.options(study, "fy2015")
    plan = options.presets["plan2015"].question
    result = study_module.evaluate(study, plan)
    assert result.zone_table["population"].sum() == pytest.approx(740_171)
    assert result.city["after_km"] > result.city["before_km"]
    assert set(result.offices.loc[result.offices["state"] == "closed", "office_id"]) == set(
        plan.closed)
    assert result.load_shift is not None
    moved = result.load_shift.table.set_index("office_id")
    assert (moved.loc[sorted(plan.closed), "predicted_after"] == 0).all()
    # the store source changes certificate access only, without rebuilding anything
    counter = study_module.evaluate(study, plan.replace(store_source="osm")).city
    assert counter == result.city  # under the counter measure no figure depends on the stores
    osm = study_module.evaluate(study, plan.replace(measure="certificate",
                                                    store_source="osm")).city
    union = study_module.evaluate(study, plan.replace(measure="certificate",
                                                      store_source="union")).city
    assert union["after_km"] < osm["after_km"]
    with pytest.raises(UnknownOfficeError, match="oe-branch is in the FY2015 office set"):
        study_module.evaluate(study, Question(base="now", closed={"oe-branch"}))
    assert np.isfinite(pd.to_numeric(result.zone_table["after_km"])).all()


def test_transit_minutes_take_the_nearest_open_counter_per_departure(town):
    """Two departures; minutes[departure, counter, origin] by hand. Closing B: origin B's
    minutes become W's, 40 and 50 -> median 45; origin A keeps W's 10 and 20 -> 15."""
    import datetime as dt

    from geo.transit import TransitAccess

    minutes = np.array([[[10, 40], [30, 5]],    # 09:00: W, B x origins A, B
                        [[20, 50], [35, 15]]],  # 09:05
                       dtype=np.float32)
    access = TransitAccess(minutes=minutes, walk_minutes=minutes.max(axis=0),
                           direct_ride=np.array([[True, False], [False, True]]),
                           departures_s=np.array([32_400, 32_700]), counter_ids=("w", "b"),
                           service_date=dt.date(2026, 6, 10), caveat={"ja": "", "en": ""})
    with_transit = dataclasses.replace(town, mode="transit", transit=access)
    result = study_module.evaluate(with_transit, Question(base="fy2015", closed={"b"},
                                                          zones="small-area", mode="transit"))
    table = result.zone_table.set_index("zone_id")
    assert table.loc["A", "transit_before_min"] == pytest.approx(15)
    assert table.loc["B", "transit_before_min"] == pytest.approx(10)  # B's 5 and 15
    assert table.loc["B", "transit_after_min"] == pytest.approx(45)
    assert table.loc["B", "transit_beyond_30min_after"] == 300
    assert table.loc["B", "transit_beyond_30min_after_65plus"] == pytest.approx(60)
    city = result.city
    assert city["transit_after_min"] == pytest.approx((100 * 15 + 300 * 45) / 400)
    assert city["transit_beyond_45min_after"] == 0  # 45 is not beyond 45
    assert city["transit_lost_direct_ride_people"] == 300  # B's only direct ride was to B
    # walking minutes ride along: 1.83 km at 4.8 km/h
    assert table.loc["B", "after_min"] == pytest.approx(1.830 / 4.8 * 60)
    assert table.loc["B", "transit_lost_direct_ride_people"] == 300
    assert table.loc["A", "transit_lost_direct_ride_people"] == 0
    # catchments, median minutes: W reaches A (15) and not B (45); B reaches B only (10)
    reach = study_module.transit_catchments(with_transit).set_index("office_id")
    assert reach.loc["w", "people_within_30min"] == 100
    assert reach.loc["w", "people_within_45min"] == 400  # 45 min is within 45
    assert reach.loc["b", "people_within_30min"] == 300
    assert reach.loc["b", "people_65plus_within_30min"] == pytest.approx(60)
    # every column has an export heading (a workbook in transit mode never fails)
    from geo.labels import labelled_table

    headed = labelled_table(result.zone_table, lang="en")
    assert "Minutes by bus/tram and on foot (after)" in headed.columns
    assert labelled_table(pd.DataFrame([result.city]), lang="ja").shape[1] == len(result.city)


def test_zone_services_name_the_counter_most_residents_use_and_the_stores(town):
    """Ward 43101: A (100 people) nearest W at 530 m, B (300) nearest B at 230 m; closing B
    sends everybody to W. The store stands 10 m south of the road, inside the ward."""
    result = study_module.evaluate(town, Question(base="fy2015", closed={"b"}, zones="ward"))
    row = study_module.zone_services(town, result).iloc[0]
    assert (row["zone_id"], row["counter_before"], row["counter_after"]) == ("43101", "b", "w")
    assert row["counter_before_share"] == pytest.approx(0.75)
    # to B: A 20 + 1,500 + 10 m, B 230 m; to W: A 530 m, B 20 + 1,800 + 10 m
    assert row["counter_before_km"] == pytest.approx((100 * 1.530 + 300 * 0.230) / 400)
    assert row["counter_after_km"] == pytest.approx((100 * 0.530 + 300 * 1.830) / 400)
    assert row["counter_after_share"] == 1.0
    assert row["stores"] == 1
    assert row["store_km"] == pytest.approx((100 * 0.530 + 300 * 0.830) / 400)
    by_area = study_module.zone_services(
        town, study_module.evaluate(town, Question(base="fy2015", closed={"b"},
                                                   zones="small-area"))).set_index("zone_id")
    assert by_area["counter_before"].to_dict() == {"A": "w", "B": "b"}
    assert by_area["counter_after"].to_dict() == {"A": "w", "B": "w"}
    assert by_area["stores"].to_dict() == {"A": 0, "B": 0}  # the store is south of both


def test_zone_services_with_no_counter_left(town):
    result = study_module.evaluate(town, Question(base="fy2015", closed={"w", "b"}, zones="ward"))
    row = study_module.zone_services(town, result).iloc[0]
    assert row["counter_after"] == "" and row["counter_after_share"] == 0.0
    assert np.isnan(row["counter_after_km"])
