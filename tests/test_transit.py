"""Transit minutes by RAPTOR on tiny hand-written feeds with hand-computed journeys.

Walking speed 4.8 km/h is 80 m per minute, so the hand-made walks below are whole minutes.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point
from test_gtfs import write_feed

from geo import cli, gtfs, provenance, transit
from geo.errors import MadoguchiError
from geo.graph import build_graph_from_lines

WEDNESDAY = dt.date(2026, 6, 10)
THURSDAY = dt.date(2026, 6, 11)
INF = np.inf

WEEKDAYS = ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
            "start_date,end_date\n")
ONE = {  # a tram-like feed with unpadded hours: A -> B -> C
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
                 "A,A,32.800,130.700\nB,B,32.810,130.700\nC,C,32.820,130.700\n",
    "trips.txt": "route_id,service_id,trip_id\nR1,WD,t1\nR1,WD,t2\n",
    "calendar.txt": WEEKDAYS + "WD,1,1,1,1,1,0,0,20260601,20260630\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "t1,9:05:00,9:05:00,A,1\nt1,9:10:00,9:10:00,B,2\nt1,9:20:00,9:20:00,C,3\n"
                      "t2,9:35:00,9:35:00,A,1\nt2,9:40:00,9:40:00,B,2\nt2,9:50:00,9:50:00,C,3\n",
}
TWO = {  # a bus feed from C2 (same place as C, other operator) to D
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nC2,C,32.820,130.700\nD,D,32.830,130.700\n",
    "trips.txt": "route_id,service_id,trip_id\nR2,EXTRA,u1\nR2,WD2,u3\nR2,NIGHT,u2\n",
    "calendar.txt": WEEKDAYS + "WD2,1,1,1,1,1,0,0,20260601,20260630\n"
                               "NIGHT,1,1,1,1,1,0,0,20260601,20260630\n",
    "calendar_dates.txt": "service_id,date,exception_type\nEXTRA,20260610,1\nWD2,20260610,2\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "u1,09:25:00,09:25:00,C2,1\nu1,09:40:00,09:40:00,D,2\n"
                      "u3,09:22:00,09:22:00,C2,1\nu3,09:30:00,09:30:00,D,2\n"
                      "u2,24:10:00,24:10:00,C2,1\nu2,24:30:00,24:30:00,D,2\n",
}
# stops in table order: one:A, one:B, one:C, two:C2, two:D; origins O1, O2; one counter K
LEGS = transit.WalkLegs(
    access_m=np.array([[400, INF], [INF, INF], [INF, INF], [INF, 800], [INF, INF]]),
    egress_m=np.array([[INF], [INF], [INF], [INF], [160.0]]),
    direct_m=np.array([[8000.0, 8000.0]]),
)


def _hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _two_feeds(tmp_path, day: dt.date):
    paths = [write_feed(tmp_path, "one.zip", ONE), write_feed(tmp_path, "two.zip", TWO)]
    table = gtfs.load_timetable(paths=paths, service_date=day)
    return table, table.stop_points()


def _minutes(tmp_path, day, departures, **options) -> transit.TransitAccess:
    table, stops = _two_feeds(tmp_path, day)
    return transit.precompute(table, LEGS, stops, counter_ids=["K"],
                              departures_s=np.array([_hm(d) for d in departures]), **options)


def test_transfer_across_feeds_and_a_service_added_by_calendar_dates(tmp_path):
    """09:00 Wed, O1: walk 5 min to A, t1 09:05 -> C 09:20, change to C2 (same place),
    u1 (runs only by calendar_dates) 09:25 -> D 09:40, walk 2 min: 09:42, 42 min.
    O2: walk 10 min to C2 (09:10), u1 09:25 -> D 09:40, 09:42: 42 min."""
    access = _minutes(tmp_path, WEDNESDAY, ["09:00"])
    assert access.minutes[0, 0].tolist() == pytest.approx([42.0, 42.0])


def test_a_trip_removed_by_calendar_dates_runs_the_next_day(tmp_path):
    """Thu, u3 (removed on Wednesday only) 09:22 -> D 09:30, walk 2 min: 32 min for both."""
    access = _minutes(tmp_path, THURSDAY, ["09:00"])
    assert access.minutes[0, 0].tolist() == pytest.approx([32.0, 32.0])


def test_missing_a_connection_falls_back_to_walking_all_the_way(tmp_path):
    """09:05 Wed, O1 reaches A at 09:10 after t1 left; t2 reaches C at 09:50 and the next bus
    is u2 at 24:10, so walking 8 km (100 min) wins. O2: C2 09:15, u1 09:25, 09:42: 37 min."""
    access = _minutes(tmp_path, WEDNESDAY, ["09:05"])
    assert access.minutes[0, 0].tolist() == pytest.approx([100.0, 37.0])
    assert access.walk_minutes[0].tolist() == pytest.approx([100.0, 100.0])


def test_a_trip_after_midnight_written_24_xx(tmp_path):
    """23:50 Wed, O2 walks 10 min to C2 (24:00), u2 24:10 -> D 24:30, walk 2 min: 42 min."""
    access = _minutes(tmp_path, WEDNESDAY, ["23:50"])
    assert access.minutes[0, 0].tolist() == pytest.approx([100.0, 42.0])


def test_one_ride_only_cannot_transfer_and_direct_rides_are_flagged(tmp_path):
    access = _minutes(tmp_path, WEDNESDAY, ["09:00", "09:05"], max_rides=1)
    assert access.minutes[0, 0].tolist() == pytest.approx([100.0, 42.0])
    assert access.direct_ride.tolist() == [[False, True]]


def test_an_overtaking_trip_is_taken_when_it_arrives_first(tmp_path):
    """x leaves P 09:00 and reaches Q 09:30; the express y leaves 09:05 and reaches Q 09:15."""
    feed = {
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nP,P,32.80,130.70\nQ,Q,32.90,130.70\n",
        "trips.txt": "route_id,service_id,trip_id\nR,WD,x\nR,WD,y\n",
        "calendar.txt": ONE["calendar.txt"],
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "x,9:00:00,9:00:00,P,1\nx,9:30:00,9:30:00,Q,2\n"
                          "y,9:05:00,9:05:00,P,1\ny,9:15:00,9:15:00,Q,2\n",
    }
    table = gtfs.load_timetable(paths=[write_feed(tmp_path, "o.zip", feed)],
                                service_date=WEDNESDAY)
    legs = transit.WalkLegs(np.array([[0.0], [INF]]), np.array([[INF], [0.0]]),
                            np.array([[8000.0]]))
    access = transit.precompute(table, legs, table.stop_points(), counter_ids=["K"],
                                departures_s=np.array([_hm("09:00")]))
    assert access.minutes[0, 0, 0] == pytest.approx(15.0)


def test_no_boarding_where_pickup_is_forbidden(tmp_path):
    """t1 forbids boarding at A, so O1 can only walk (100 min)."""
    feed = dict(ONE)
    feed["stop_times.txt"] = ONE["stop_times.txt"].replace(
        "stop_sequence\n", "stop_sequence,pickup_type\n").replace(
        ",A,1\n", ",A,1,1\n").replace(",2\n", ",2,0\n").replace(",3\n", ",3,0\n")
    table = gtfs.load_timetable(paths=[write_feed(tmp_path, "one.zip", feed),
                                       write_feed(tmp_path, "two.zip", TWO)],
                                service_date=WEDNESDAY)
    access = transit.precompute(table, LEGS, table.stop_points(), counter_ids=["K"],
                                departures_s=np.array([_hm("09:00")]))
    assert access.minutes[0, 0, 0] == pytest.approx(100.0)


def test_counter_ids_must_match_the_legs(tmp_path):
    table, stops = _two_feeds(tmp_path, WEDNESDAY)
    with pytest.raises(MadoguchiError, match="2 counter ids for 1 counters"):
        transit.precompute(table, LEGS, stops, counter_ids=["K", "L"])


def test_departure_times_cover_the_window_end_excluded():
    times = transit.departure_times()
    assert len(times) == 24
    assert (times[0], times[-1]) == (_hm("09:00"), _hm("10:55"))
    with pytest.raises(MadoguchiError, match="holds no departure"):
        transit.departure_times(("11:00", "09:00"))
    with pytest.raises(MadoguchiError, match="not two HH:MM times"):
        transit.departure_times(("9h", "11:00"))


def test_footpaths_join_distinct_stops_within_the_radius_both_ways():
    stops = gpd.GeoSeries([Point(0, 0), Point(250, 0), Point(600, 0)], crs="EPSG:6670")
    from_stop, to_stop, metres = transit.footpaths(stops, radius_m=300)
    assert sorted(zip(from_stop.tolist(), to_stop.tolist(), strict=True)) == [(0, 1), (1, 0)]
    assert metres.tolist() == pytest.approx([250.0, 250.0])


def test_walking_legs_on_a_grid_cap_access_and_egress_but_not_the_direct_walk():
    step = 100.0
    lines = [LineString([(0, i * step), (2 * step, i * step)]) for i in range(3)]
    lines += [LineString([(i * step, 0), (i * step, 2 * step)]) for i in range(3)]
    graph = build_graph_from_lines(gpd.GeoSeries(lines, crs="EPSG:6670"))
    def points(*xy: tuple[float, float]) -> gpd.GeoSeries:
        return gpd.GeoSeries([Point(x, y) for x, y in xy], crs="EPSG:6670")

    legs = transit.walking_legs(graph, points((100, 0), (200, 200)), points((0, 0)),
                                points((200, 0), (0, 200)), max_walk_m=300)
    assert legs.access_m[:, 0].tolist() == pytest.approx([100.0, INF])
    assert legs.egress_m.ravel().tolist() == pytest.approx([100.0, 300.0, 200.0, 200.0])
    assert legs.direct_m[:, 0].tolist() == pytest.approx([200.0, 200.0])


def test_scenario_takes_the_median_of_the_minimum_not_the_minimum_of_medians():
    minutes = np.zeros((4, 2, 2), dtype=np.float32)
    minutes[:, 0, 0] = [10, 10, 50, 50]
    minutes[:, 1, 0] = [50, 50, 10, 10]
    minutes[:, 0, 1] = [10, 20, 30, 40]
    minutes[:, 1, 1] = [99, 99, 99, 99]
    median, p80 = transit.scenario_minutes(minutes, np.array([True, True]))
    assert median.tolist() == pytest.approx([10.0, 25.0])
    assert p80.tolist() == pytest.approx([10.0, 34.0])  # 30 + 0.4 x (40 - 30)
    median, p80 = transit.scenario_minutes(minutes, np.array([False, True]))
    assert median.tolist() == pytest.approx([30.0, 99.0])
    median, _ = transit.scenario_minutes(minutes, np.array([False, False]))
    assert np.isinf(median).all()


def _access(minutes: np.ndarray, direct: list[list[bool]]) -> transit.TransitAccess:
    return transit.TransitAccess(
        minutes=minutes.astype(np.float32), walk_minutes=minutes.max(axis=0),
        direct_ride=np.array(direct), departures_s=np.arange(len(minutes)) * 300,
        counter_ids=("k1", "k2"), service_date=WEDNESDAY, caveat=transit.TRANSIT_CAVEAT)


def test_catchments_use_the_median_over_departures():
    minutes = np.array([[[20, 50], [61, 44]], [[40, 70], [61, 46]]])
    table = transit.catchments(_access(minutes, [[True, True], [False, False]]))
    assert table["median_min"].tolist() == pytest.approx([30.0, 60.0, 61.0, 45.0])
    assert table["within_30"].tolist() == [True, False, False, False]
    assert table["within_45"].tolist() == [True, False, False, True]
    assert table["within_60"].tolist() == [True, True, False, True]
    assert table["counter_id"].tolist() == ["k1", "k1", "k2", "k2"]


def test_lost_direct_ride_is_only_where_no_open_counter_keeps_one():
    access = _access(np.zeros((1, 2, 3)), [[True, True, False], [False, True, True]])
    both, only_k2 = np.array([True, True]), np.array([False, True])
    assert transit.lost_direct_ride(access, both, only_k2).tolist() == [True, False, False]
    assert transit.lost_direct_ride(access, only_k2, both).tolist() == [False, False, False]


def test_the_caveat_names_the_missing_operator_in_both_languages():
    assert "九州産交バス" in transit.TRANSIT_CAVEAT["ja"]
    assert "Kyushu Sanko" in transit.TRANSIT_CAVEAT["en"]
    assert "lower bound" in transit.TRANSIT_CAVEAT["en"]


def test_the_caveat_goes_once_a_sanko_feed_is_in_the_folder(tmp_path):
    table, _ = _two_feeds(tmp_path, WEDNESDAY)
    assert transit.transit_caveat(table) == transit.TRANSIT_CAVEAT
    sanko = dict(ONE, **{"agency.txt": "agency_id,agency_name\n1,九州産交バス\n"})
    with_sanko = gtfs.load_timetable(paths=[write_feed(tmp_path, "sanko.zip", sanko)],
                                     service_date=WEDNESDAY)
    assert transit.transit_caveat(with_sanko) == {"ja": "", "en": ""}


def test_transit_check_lists_feeds_with_trips_on_the_date_and_the_caveat(tmp_path, capsys):
    folder = tmp_path / "transit" / "gtfs"
    write_feed(folder, "one.zip", ONE)
    write_feed(folder, "two.zip", TWO)
    assert cli.main(["transit-check", "--data", str(tmp_path), "--date", "2026-06-11"]) == 0
    out, err = capsys.readouterr()
    assert out.lstrip("\ufeff").splitlines()[1:] == ["one,one.zip,,2,0,0,0,0,0,0",
                                                           "two,two.zip,,2,0,0,0,0,0,0"]
    assert "2026-06-11 (Thursday)" in err
    assert transit.TRANSIT_CAVEAT["en"] in err


def test_transit_check_bad_date_exits_2_and_no_feed_exits_1(tmp_path, capsys):
    assert cli.main(["transit-check", "--date", "2026-02-30"]) == 2
    assert "not a date YYYY-MM-DD: '2026-02-30'" in capsys.readouterr().err
    assert cli.main(["transit-check", "--data", str(tmp_path)]) == 1
    assert "no GTFS feed in" in capsys.readouterr().err


THREE = {  # E is 200 m north of C (0.0018 degrees of latitude), F far away
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nE,E,32.8218,130.700\nF,F,32.850,130.700\n",
    "trips.txt": "route_id,service_id,trip_id\nR3,WD,v1\n",
    "calendar.txt": ONE["calendar.txt"],
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                      "v1,9:26:00,9:26:00,E,1\nv1,9:40:00,9:40:00,F,2\n",
}


def _with_walk_to_e(tmp_path, radius_m: float, egress_at: int) -> np.ndarray:
    """O1 rides t1 to C (09:20); stops: A, B, C, E, F; the counter is reached from one stop."""
    paths = [write_feed(tmp_path, "one.zip", ONE), write_feed(tmp_path, "three.zip", THREE)]
    table = gtfs.load_timetable(paths=paths, service_date=WEDNESDAY)
    egress = np.full((5, 1), INF)
    egress[egress_at] = 160.0
    legs = transit.WalkLegs(np.array([[400.0], [INF], [INF], [INF], [INF]]), egress,
                            np.array([[8000.0]]))
    access = transit.precompute(table, legs, table.stop_points(), counter_ids=["K"],
                                departures_s=np.array([_hm("09:00")]),
                                transfer_radius_m=radius_m)
    return access.minutes[0, 0, 0]


def test_a_transfer_walk_between_stops_within_the_radius(tmp_path):
    """t1 reaches C 09:20; 200 m on foot to E (2.5 min), v1 09:26 -> F 09:40, walk 2 min."""
    assert _with_walk_to_e(tmp_path, 300.0, egress_at=4) == pytest.approx(42.0)
    assert _with_walk_to_e(tmp_path, 150.0, egress_at=4) == pytest.approx(100.0)


def test_the_walk_to_the_counter_starts_where_the_vehicle_is_left(tmp_path):
    """A transfer walk only leads to another vehicle: C -> E on foot, then E -> counter on
    foot is not a journey (the street walk from C is the egress)."""
    assert _with_walk_to_e(tmp_path, 300.0, egress_at=3) == pytest.approx(100.0)
    assert _with_walk_to_e(tmp_path, 300.0, egress_at=2) == pytest.approx(22.0)


def test_a_loop_route_that_visits_a_stop_twice_keeps_the_first_visit(tmp_path):
    """L1 09:00, L2 09:05, L1 09:10, L2 09:15, L3 09:20: from L1, L2 is reached at 09:05."""
    feed = {
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
                     "L1,L1,32.80,130.70\nL2,L2,32.81,130.70\nL3,L3,32.82,130.70\n",
        "trips.txt": "route_id,service_id,trip_id\nR,WD,loop\n",
        "calendar.txt": ONE["calendar.txt"],
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "loop,9:00:00,9:00:00,L1,1\nloop,9:05:00,9:05:00,L2,2\n"
                          "loop,9:10:00,9:10:00,L1,3\nloop,9:15:00,9:15:00,L2,4\n"
                          "loop,9:20:00,9:20:00,L3,5\n",
    }
    table = gtfs.load_timetable(paths=[write_feed(tmp_path, "loop.zip", feed)],
                                service_date=WEDNESDAY)
    legs = transit.WalkLegs(np.array([[0.0], [INF], [INF]]), np.array([[INF], [0.0], [INF]]),
                            np.array([[8000.0]]))
    access = transit.precompute(table, legs, table.stop_points(), counter_ids=["K"],
                                departures_s=np.array([_hm("09:00")]))
    assert access.minutes[0, 0, 0] == pytest.approx(5.0)


def test_people_beyond_each_threshold_with_the_elderly_share():
    minutes = np.array([20.0, 40.0, 50.0, np.inf])
    table = transit.people_beyond(minutes, np.array([100, 200, 300, 400]),
                                  np.array([0.1, 0.5, 0.2, 0.25]))
    assert table["threshold_min"].tolist() == [30, 45, 60]
    assert table["people"].tolist() == [900, 700, 400]
    assert table["people_65plus"].tolist() == pytest.approx([260, 160, 100])


def test_stops_of_another_timetable_are_refused(tmp_path):
    table, stops = _two_feeds(tmp_path, WEDNESDAY)
    with pytest.raises(MadoguchiError, match="5 stops in the timetable, 4 stop points"):
        transit.precompute(table, LEGS, stops.iloc[:4], counter_ids=["K"])


def test_the_window_label_names_day_first_last_and_step(tmp_path):
    access = _minutes(tmp_path, WEDNESDAY, ["09:00", "09:05", "09:10"])
    assert access.window_label() == "2026-06-10 09:00-09:10 every 5 min"
    assert access.window_label("ja") == "2026-06-10 09:00〜09:10（5分ごと）"


def test_journey_lists_the_legs_behind_a_figure(tmp_path):
    """The 42 minutes of O1 at 09:00 on Wednesday, leg by leg."""
    table, stops = _two_feeds(tmp_path, WEDNESDAY)
    legs = transit.journey(table, LEGS, stops, origin=0, counter=0, departure_s=_hm("09:00"))
    assert legs.values.tolist() == [
        ["walk", "", "A", "09:00:00", "09:05:00", ""],
        ["ride", "A", "C", "09:05:00", "09:20:00", "one:t1"],
        ["transfer", "C", "C", "09:20:00", "09:20:00", ""],
        ["ride", "C", "D", "09:25:00", "09:40:00", "two:u1"],
        ["walk", "D", "", "09:40:00", "09:42:00", ""],
    ]


def test_journey_after_midnight_and_walking_all_the_way(tmp_path):
    table, stops = _two_feeds(tmp_path, WEDNESDAY)
    night = transit.journey(table, LEGS, stops, origin=1, counter=0, departure_s=_hm("23:50"))
    assert night["leg"].tolist() == ["walk", "ride", "walk"]
    assert night.iloc[1][["depart", "arrive"]].tolist() == ["24:10:00", "24:30:00"]
    walk = transit.journey(table, LEGS, stops, origin=0, counter=0, departure_s=_hm("09:05"))
    assert walk.values.tolist() == [["walk", "", "", "09:05:00", "10:45:00", ""]]


def test_compare_gives_before_and_after_per_origin():
    minutes = np.array([[[20, 50], [61, 44]], [[40, 70], [61, 46]]])
    access = _access(minutes, [[True, False], [False, True]])
    table = transit.compare(access, np.array([True, True]), np.array([False, True]))
    assert table["before_min"].tolist() == pytest.approx([30.0, 45.0])
    assert table["after_min"].tolist() == pytest.approx([61.0, 45.0])
    assert table["after_p80_min"].tolist() == pytest.approx([61.0, 45.6])  # 44 + 0.8 x 2
    assert table["lost_direct_ride"].tolist() == [True, False]


def test_every_feed_read_is_cited_the_known_ones_as_the_bundle_readme_does(tmp_path):
    town = dict(TWO, **{"agency.txt": "agency_id,agency_name\n1,山鹿市コミュニティバス\n"})
    paths = [write_feed(tmp_path, "kumamotoshiden.gtfs.zip", ONE),
             write_feed(tmp_path, "town.zip", town)]
    table = gtfs.load_timetable(paths=paths, service_date=WEDNESDAY)
    access = transit.precompute(table, LEGS, table.stop_points(), counter_ids=["K"],
                                departures_s=np.array([_hm("09:00")]))
    tram, added = access.sources
    assert (tram.attribution, tram.licence) == ("熊本市交通局 GTFS (CC BY 2.1 JP)", "CC BY 2.1 JP")
    assert tram.relpath == "transit/gtfs/kumamotoshiden.gtfs.zip"
    assert added.attribution == "山鹿市コミュニティバス GTFS"
    assert added.licence.startswith("not checked")
    line = provenance.sources_line(provenance.scenario_sources(zones="ward",
                                                               timetables=access.sources))
    assert line.endswith("/ 熊本市交通局 GTFS (CC BY 2.1 JP) / 山鹿市コミュニティバス GTFS")
