"""Transit minutes on the real feeds and roads, checked against walking and a networkx model."""

from __future__ import annotations

import bisect
from collections import defaultdict
from itertools import pairwise

import networkx as nx
import numpy as np
import pytest

from geo import gtfs, transit

pytestmark = pytest.mark.bundle

NINE = 9 * 3600
HORIZON_S = 14 * 3600
"""The networkx model holds trips running between 09:00 and 14:00 only."""


@pytest.fixture(scope="module")
def timetable(bundle_dir):
    return gtfs.load_timetable(bundle_dir)


@pytest.fixture(scope="module")
def legs(engine, timetable):
    return transit.walking_legs(engine.graph.undirected(), timetable.stop_points(), engine.origins,
                                engine.offices)


@pytest.fixture(scope="module")
def access(engine, timetable, legs):
    return transit.precompute(timetable, legs, timetable.stop_points(),
                              counter_ids=list(engine.offices["office_id"]))


def _seconds(metres: np.ndarray) -> np.ndarray:
    return np.round(metres / (transit.WALK_SPEED_KMH / 3.6))


def _next_board(boards: dict[int, list[int]], stop: int, at: float):
    """The first boarding event at ``stop`` not before ``at``, and the wait for it."""
    moments = boards.get(stop, [])
    k = bisect.bisect_left(moments, at)
    return (("board", stop, moments[k]), moments[k] - at) if k < len(moments) else None


def _time_expanded(timetable: gtfs.Timetable, legs: transit.WalkLegs):
    """A time-expanded graph: boarding events chained by waiting, trips, alighting events.

    Alighting leads to the next boarding at the same stop or at a stop within 300 m
    (straight line, walked), or on foot to a counter from that stop.
    """
    times = timetable.stop_times
    in_window = times.groupby("trip_key")["departure_s"].transform(
        lambda s: (s >= NINE).any() and s.min() <= HORIZON_S)
    times = times[in_window.astype(bool)]
    graph = nx.DiGraph()
    boards: dict[int, list[int]] = defaultdict(list)
    for row in times[times["pickup"]].itertuples():
        boards[row.stop].append(row.departure_s)
    for stop, moments in boards.items():
        moments.sort()
        for a, b in pairwise(moments):
            graph.add_edge(("board", stop, a), ("board", stop, b), weight=b - a)
    points = timetable.stop_points()
    xy = np.column_stack([points.x, points.y])
    egress = _seconds(legs.egress_m)
    for trip, trip_rows in times.groupby("trip_key", sort=False):
        rows = trip_rows.reset_index(drop=True)
        for i, row in rows.iterrows():
            if row["pickup"]:
                graph.add_edge(("board", row["stop"], row["departure_s"]), (trip, i), weight=0)
            if i == 0:
                continue
            before = rows.loc[i - 1, "departure_s"]
            graph.add_edge((trip, i - 1), (trip, i), weight=row["departure_s"] - before)
            if not row["drop_off"]:
                continue
            alight = ("alight", trip, i)
            graph.add_edge((trip, i - 1), alight, weight=row["arrival_s"] - before)
            metres = np.hypot(*(xy - xy[row["stop"]]).T)
            for stop in np.flatnonzero(metres <= transit.TRANSFER_RADIUS_M):
                walk = 0.0 if stop == row["stop"] else float(_seconds(metres[stop]))
                boarding = _next_board(boards, stop, row["arrival_s"] + walk)
                if boarding:
                    graph.add_edge(alight, boarding[0], weight=walk + boarding[1])
            for counter in np.flatnonzero(np.isfinite(egress[row["stop"]])):
                graph.add_edge(alight, ("counter", counter), weight=egress[row["stop"], counter])
    return graph, boards


def _networkx_minutes(model, legs: transit.WalkLegs, origin: int) -> np.ndarray:
    """Minutes leaving at 09:00 from one origin to every counter, by Dijkstra on ``model``."""
    graph, boards = model
    access = _seconds(legs.access_m[:, origin])
    egress = _seconds(legs.egress_m)
    work = graph.copy()
    work.add_node("origin")
    for stop in np.flatnonzero(np.isfinite(access)):
        boarding = _next_board(boards, stop, NINE + access[stop])
        if boarding:
            work.add_edge("origin", boarding[0], weight=access[stop] + boarding[1])
        work.add_edge("origin", ("walk", stop), weight=access[stop])  # walking past a stop
        for counter in np.flatnonzero(np.isfinite(egress[stop])):
            work.add_edge(("walk", stop), ("counter", counter), weight=egress[stop, counter])
    reached = nx.single_source_dijkstra_path_length(work, "origin", weight="weight")
    walk_s = legs.direct_m[:, origin] / (transit.WALK_SPEED_KMH / 3.6)
    ride_s = np.array([reached.get(("counter", c), np.inf) for c in range(len(walk_s))])
    return np.minimum(walk_s, ride_s) / 60.0


def test_transit_never_slower_than_walking_and_often_faster(access):
    assert access.minutes.shape == (24, 24, 932)
    assert np.isfinite(access.minutes).all()
    assert (access.minutes <= access.walk_minutes[None] + 1e-4).all()
    faster = (access.minutes < access.walk_minutes[None] - 1.0).mean()
    assert 0.1 < faster < 1.0


def test_raptor_matches_a_time_expanded_networkx_graph_on_sampled_origins(timetable, legs):
    """Leaving at 09:00, any number of rides; compared where the answer is under 5 hours
    (the networkx graph holds trips until 14:00)."""
    near_a_stop = np.flatnonzero(np.isfinite(legs.access_m).any(axis=0))
    sample = np.random.default_rng(14).choice(near_a_stop, size=6, replace=False)
    fast = transit.precompute(timetable, legs.origins(sample), timetable.stop_points(),
                              counter_ids=[str(c) for c in range(legs.direct_m.shape[0])],
                              departures_s=np.array([NINE]), max_rides=10)
    model = _time_expanded(timetable, legs)
    for k, origin in enumerate(sample):
        expected = np.minimum(_networkx_minutes(model, legs, origin), 300.0)
        got = np.minimum(fast.minutes[0, :, k], 300.0)
        assert got == pytest.approx(expected, abs=1e-3), f"origin {origin}"


def test_one_real_tram_journey_checked_by_hand(engine, timetable, legs):
    """健軍2丁目 (small area 43102021002, origin 173) to 中央区役所, leaving 08:59, one ride.

    From kumamotoshiden.gtfs.zip, stop_times.txt, trip 2+1+平日+40 (B系統, weekday): departs
    健軍校前 (stop 4_1) at 9:03:00 and arrives at 水道町 (stop 15_1) at 9:22:00; the next tram,
    1+1+平日+41, departs at 9:08:00 and arrives at 9:27:00. On the OSM streets the walk to
    健軍校前 is 241 m (181 s at 4.8 km/h: there at 9:02:01) and from 水道町 to the ward office
    517 m (387 s), so the counter is reached at 9:28:27: 29.45 minutes after 08:59. Leaving at
    09:00 the walk ends at 9:03:01, one second after the 9:03 tram leaves: the 9:08 tram,
    arriving at 9:33:27.
    """
    origin = int(np.flatnonzero(engine.model.origins["key_code"] == "43102021002")[0])
    counter = list(engine.offices["office_id"]).index("chuo-ward-office")
    stops = timetable.stops.set_index("stop_key").index
    board, alight = stops.get_loc("kumamotoshiden:4_1"), stops.get_loc("kumamotoshiden:15_1")
    trip = timetable.stop_times[timetable.stop_times["trip_key"] == "kumamotoshiden:2+1+平日+40"]
    assert trip.loc[trip["stop"] == board, "departure_s"].item() == NINE + 3 * 60
    assert trip.loc[trip["stop"] == alight, "arrival_s"].item() == NINE + 22 * 60
    assert _seconds(legs.access_m[board, origin]) == 181
    egress_s = _seconds(legs.egress_m[alight, counter])
    assert egress_s == 387
    one_ride = transit.precompute(timetable, legs.origins(np.array([origin])),
                                  timetable.stop_points(),
                                  counter_ids=list(engine.offices["office_id"]),
                                  departures_s=np.array([NINE - 60, NINE]), max_rides=1)
    assert one_ride.minutes[0, counter, 0] == pytest.approx(23 + egress_s / 60, abs=1e-3)
    assert one_ride.minutes[0, counter, 0] == pytest.approx(29.45, abs=0.01)
    assert one_ride.minutes[1, counter, 0] == pytest.approx(33.45, abs=0.01)  # the 9:08 tram
    assert one_ride.direct_ride[counter, 0]
    legs_of_trip = transit.journey(timetable, legs, timetable.stop_points(), origin=origin,
                                   counter=counter, departure_s=NINE - 60, max_rides=1)
    assert legs_of_trip.values.tolist() == [
        ["walk", "", "健軍校前", "08:59:00", "09:02:01", ""],
        ["ride", "健軍校前", "水道町", "09:03:00", "09:22:00", "kumamotoshiden:2+1+平日+40"],
        ["walk", "水道町", "", "09:22:00", "09:28:27", ""],
    ]


def _seconds_of(clock: str) -> int:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def test_journeys_explain_the_precomputed_minutes(engine, timetable, legs, access):
    """For sampled origin-office pairs at 09:00, the journey's legs chain in time and its
    arrival is the precomputed figure."""
    rng = np.random.default_rng(8)
    points = timetable.stop_points()
    with_rides = 0
    for origin, counter in zip(rng.integers(0, 932, 15), rng.integers(0, 24, 15), strict=True):
        trip = transit.journey(timetable, legs, points, origin=int(origin),
                               counter=int(counter), departure_s=NINE)
        departs = [_seconds_of(t) for t in trip["depart"]]
        arrives = [_seconds_of(t) for t in trip["arrive"]]
        assert departs[0] == NINE
        assert all(a <= d for a, d in zip(arrives[:-1], departs[1:], strict=True))
        assert (arrives[-1] - NINE) / 60 == pytest.approx(
            access.minutes[0, counter, origin], abs=1 / 60)
        with_rides += "ride" in set(trip["leg"])
    assert with_rides >= 3
