"""Door-to-door minutes by bus, tram and on foot, from every origin to every counter.

The journey is: walk from the origin to a stop on the street network, ride (RAPTOR rounds:
one ride, or more with transfers), change stops on foot within a short straight-line
distance, walk from the last stop to the counter. Walking all the way is always allowed, so
the transit minutes never exceed the walking minutes.

RAPTOR (Delling, Pajor & Werneck, 2012) runs on numpy arrays for every origin at once:
labels are a stops x origins matrix of arrival seconds; a route is scanned by one
``searchsorted`` over its departures (earliest trip catchable at each stop) and a running
minimum along the stops (a trip boarded earlier is still on board later).

The result for departures every few minutes across a window is ``minutes[d, c, o]``; a
closure scenario is a mask over counters (``scenario_minutes``), as for road distances.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from . import distance, gtfs
from .engine import Engine
from .errors import MadoguchiError
from .graph import RoadGraph
from .gtfs import Timetable
from .layers import BundleFile

logger = logging.getLogger(__name__)

WALK_SPEED_KMH = 4.8
MAX_WALK_M = 1_000.0
"""Longest walk to the first stop and from the last stop."""
TRANSFER_RADIUS_M = 300.0
"""Stops this close (straight line) can be changed between on foot."""
DEFAULT_WINDOW = ("09:00", "11:00")
DEFAULT_STEP_MIN = 5
DEFAULT_MAX_RIDES = 2
"""Two rides: one transfer."""
THRESHOLDS_MIN = (30, 45, 60)

TRANSIT_CAVEAT = {
    "ja": ("九州産交バス（市内最大の事業者）の時刻表データが含まれていないため、"
           "公共交通の所要時間はサービスの下限（実際より長め）です。"),
    "en": ("The timetable of Kyushu Sanko Bus, the city's largest operator, is missing, so "
           "transit minutes are a lower bound on service (real journeys may be shorter)."),
}
"""Shown beside every transit figure while the 産交バス feed is absent."""

MISSING_OPERATOR = "産交"
"""Part of the agency name of 九州産交バス / 産交バス, whose feed the bundle lacks."""

_INF = np.int32(10_000_000)
"""Unreached label (seconds); far beyond any timetable, small enough to add walks to."""
_COLUMN = 20_000_000
"""Offset between a pattern's stop columns in its flat departure array (> _INF)."""


@dataclass(frozen=True)
class WalkLegs:
    """Walking distances on the street network, metres (EPSG:6670), ``inf`` beyond reach.

    Attributes
    ----------
    access_m
        ``(stops, origins)``: origin to stop, ``inf`` beyond the longest access walk.
    egress_m
        ``(stops, counters)``: stop to counter, ``inf`` beyond the longest egress walk.
    direct_m
        ``(counters, origins)``: walking all the way, never capped.
    """

    access_m: np.ndarray
    egress_m: np.ndarray
    direct_m: np.ndarray

    def origins(self, index: np.ndarray) -> WalkLegs:
        """Keep only the origins at ``index``."""
        return WalkLegs(self.access_m[:, index], self.egress_m, self.direct_m[:, index])


@dataclass(frozen=True)
class TransitAccess:
    """Precomputed door-to-door minutes for one service date and departure window.

    Attributes
    ----------
    minutes
        ``(departures, counters, origins)`` float32: fastest of walking all the way and
        walk + ride(s) + walk, leaving the origin at each departure time.
    walk_minutes
        ``(counters, origins)`` float32: walking all the way.
    direct_ride
        ``(counters, origins)`` bool: one ride without transfer (walks within the access
        and egress limits) reaches the counter for at least one departure in the window.
    departures_s
        Departure times, seconds after midnight.
    counter_ids
        Counter id of each row of the counter axis.
    service_date
        The day of the timetable.
    caveat
        ``transit_caveat``: the JA and EN text to show beside every figure.
    sources
        One ``geo.gtfs.feed_source`` per feed read, for the sources lines.
    """

    minutes: np.ndarray
    walk_minutes: np.ndarray
    direct_ride: np.ndarray
    departures_s: np.ndarray
    counter_ids: tuple[str, ...]
    service_date: dt.date
    caveat: dict[str, str]
    sources: tuple[BundleFile, ...] = ()

    def window_label(self, lang: str = "en") -> str:
        """Return ``2026-06-10 09:00-10:55 every 5 min`` (``en``) or
        ``2026-06-10 09:00〜10:55（5分ごと）`` (``ja``)."""
        first, last = (f"{int(s) // 3600:02d}:{int(s) % 3600 // 60:02d}"
                       for s in (self.departures_s[0], self.departures_s[-1]))
        step = int(np.diff(self.departures_s).min() // 60) if len(self.departures_s) > 1 else 0
        day = self.service_date.isoformat()
        if lang == "ja":
            return f"{day} {first}〜{last}（{step}分ごと）"
        return f"{day} {first}-{last} every {step} min"


@dataclass(frozen=True)
class _Pattern:
    """Trips visiting the same stops with the same boarding rules, none overtaking another."""

    stops: np.ndarray
    can_board: np.ndarray
    can_alight: np.ndarray
    flat_departures: np.ndarray
    arrivals: np.ndarray
    has_repeats: bool
    trip_keys: np.ndarray

    def departures(self, position: int) -> np.ndarray:
        """Departure seconds of every trip at one stop position."""
        n_trips = len(self.trip_keys)
        column = self.flat_departures[position * n_trips:(position + 1) * n_trips]
        return column - position * _COLUMN


def transit_caveat(timetable: Timetable) -> dict[str, str]:
    """Return ``TRANSIT_CAVEAT`` unless a feed of 産交バス is among the timetable's feeds.

    Returns
    -------
    dict
        ``{"ja": ..., "en": ...}``; empty strings once a 産交 feed is read.
    """
    agencies = [name for report in timetable.reports for name in report.agencies]
    if any(MISSING_OPERATOR in name for name in agencies):
        return {"ja": "", "en": ""}
    return dict(TRANSIT_CAVEAT)


def departure_times(
    window: tuple[str, str] = DEFAULT_WINDOW, *, step_min: int = DEFAULT_STEP_MIN
) -> np.ndarray:
    """Departure times from the window start, every ``step_min``, before the window end.

    Parameters
    ----------
    window
        ``("HH:MM", "HH:MM")``, end excluded.
    step_min
        Minutes between departures.

    Returns
    -------
    numpy.ndarray
        int64 seconds after midnight; 09:00-11:00 every 5 min gives 24 departures.

    Raises
    ------
    MadoguchiError
        If a time is malformed, the window is empty or the step not positive.
    """
    try:
        start, end = (dt.datetime.strptime(t, "%H:%M").time() for t in window)
    except ValueError as e:
        msg = f"departure window {window!r} is not two HH:MM times"
        raise MadoguchiError(msg) from e
    start_s, end_s = (t.hour * 3600 + t.minute * 60 for t in (start, end))
    if step_min <= 0 or end_s <= start_s:
        msg = f"departure window {window!r} every {step_min} min holds no departure"
        raise MadoguchiError(msg)
    return np.arange(start_s, end_s, step_min * 60, dtype=np.int64)


def walking_legs(
    graph: RoadGraph, stops: gpd.GeoSeries, origins: gpd.GeoSeries | gpd.GeoDataFrame,
    counters: gpd.GeoSeries | gpd.GeoDataFrame, *, max_walk_m: float = MAX_WALK_M,
    chunk: int = 200,
) -> WalkLegs:
    """Walking distances for access, egress and walking all the way, on ``graph``.

    ``graph`` must be walkable in both directions (undirected): origin -> stop distances are
    computed from the origins, stop -> counter distances from the counters.

    Parameters
    ----------
    graph
        The street graph used for walking.
    stops, origins, counters
        Points (any CRS; snapped in the graph's EPSG:6670).
    max_walk_m
        Longest access and egress walk.
    chunk
        Origins per shortest-path batch (bounds memory to ``chunk x nodes`` floats).

    Returns
    -------
    WalkLegs
    """
    stop_anchors = distance.snap_points(stops, graph)
    origin_anchors = distance.snap_points(origins, graph)
    origin_groups = origin_anchors.each()
    counter_groups = distance.snap_points(counters, graph).each()
    access = np.empty((len(stop_anchors), len(origin_groups)), dtype=np.float32)
    for first in range(0, len(origin_groups), chunk):
        groups = origin_groups[first:first + chunk]
        nodes = distance.node_distances(graph, groups)
        access[:, first:first + chunk] = distance.distances_to_anchors(
            nodes, stop_anchors, sources=groups).T
    access[access > max_walk_m] = np.inf
    counter_nodes = distance.node_distances(graph, counter_groups)
    egress = distance.distances_to_anchors(counter_nodes, stop_anchors, sources=counter_groups).T
    egress[egress > max_walk_m] = np.inf
    direct = distance.distances_to_anchors(counter_nodes, origin_anchors, sources=counter_groups)
    return WalkLegs(access, np.ascontiguousarray(egress), direct)


def footpaths(stops: gpd.GeoSeries, *, radius_m: float = TRANSFER_RADIUS_M) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of distinct stops within ``radius_m`` (straight line, EPSG:6670), both ways.

    Returns
    -------
    from_stop, to_stop : numpy.ndarray
        Stop indices, sorted by ``to_stop``.
    metres : numpy.ndarray
        Straight-line distance.
    """
    xy = np.column_stack([stops.x.to_numpy(), stops.y.to_numpy()])
    pairs = cKDTree(xy).query_pairs(radius_m, output_type="ndarray")
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = both[np.lexsort((both[:, 0], both[:, 1]))]
    metres = np.linalg.norm(xy[both[:, 0]] - xy[both[:, 1]], axis=1)
    return both[:, 0], both[:, 1], metres


def _patterns(timetable: Timetable, *, after_s: int) -> list[_Pattern]:
    """Group trips into patterns; a trip that would overtake another starts a new pattern.

    Trips that end before ``after_s`` are left out: no departure can catch them.
    """
    times = timetable.stop_times
    times = times[times.groupby("trip_key")["arrival_s"].transform("max") >= after_s]
    trips = times.groupby("trip_key", sort=False).agg(
        stops=("stop", tuple), pickup=("pickup", tuple), drop_off=("drop_off", tuple))
    pattern_of = trips.groupby(["stops", "pickup", "drop_off"], sort=False).ngroup()
    patterns: list[_Pattern] = []
    for _, rows in times.groupby(times["trip_key"].map(pattern_of), sort=False):
        patterns.extend(_split_overtaking(rows))
    return patterns


def _split_overtaking(rows: pd.DataFrame) -> list[_Pattern]:
    trips = rows["trip_key"].drop_duplicates().to_numpy()
    length = len(rows) // len(trips)
    dep = rows["departure_s"].to_numpy().reshape(len(trips), length)
    arr = rows["arrival_s"].to_numpy().reshape(len(trips), length)
    order = np.lexsort(dep.T[::-1])
    dep, arr = dep[order], arr[order]
    first = rows.iloc[:length]
    groups: list[list[int]] = []
    for trip in range(len(trips)):
        home = next((g for g in groups if (dep[trip] >= dep[g[-1]]).all()
                     and (arr[trip] >= arr[g[-1]]).all()), None)
        if home is None:
            groups.append([trip])
        else:
            home.append(trip)
    stops = first["stop"].to_numpy()
    keys = trips[order]
    return [_pattern(stops, first["pickup"].to_numpy(), first["drop_off"].to_numpy(),
                     dep[g], arr[g], keys[g]) for g in groups]


def _pattern(stops: np.ndarray, pickup: np.ndarray, drop_off: np.ndarray, dep: np.ndarray,
             arr: np.ndarray, trip_keys: np.ndarray) -> _Pattern:
    length = dep.shape[1]
    flat = (dep.T + np.arange(length)[:, None] * _COLUMN).ravel().astype(np.int64)
    padded = np.vstack([arr, np.full((1, length), _INF)]).astype(np.int32)
    return _Pattern(stops=stops, can_board=pickup, can_alight=drop_off, flat_departures=flat,
                    arrivals=padded, has_repeats=len(np.unique(stops[1:])) < length - 1,
                    trip_keys=trip_keys)


def _scan(pattern: _Pattern, labels: np.ndarray, ride: np.ndarray) -> None:
    """Ride ``pattern`` from ``labels`` (stops x origins); lower ``ride`` where it arrives
    earlier."""
    at_stops = labels[pattern.stops]
    if at_stops.min() >= _INF:
        return
    n_trips = pattern.arrivals.shape[0] - 1
    length = len(pattern.stops)
    query = np.where(pattern.can_board[:, None], at_stops, _INF).astype(np.int64)
    query += (np.arange(length) * _COLUMN)[:, None]
    trip = np.searchsorted(pattern.flat_departures, query)
    trip -= (np.arange(length) * n_trips)[:, None]
    on_board = np.minimum.accumulate(trip, axis=0)[:-1]
    reached = pattern.arrivals[on_board, np.arange(1, length)[:, None]]
    reached[~pattern.can_alight[1:]] = _INF
    targets = pattern.stops[1:]
    if pattern.has_repeats:
        np.minimum.at(ride, targets, reached)
    else:
        ride[targets] = np.minimum(ride[targets], reached)


def _walk_seconds(metres: np.ndarray, speed_kmh: float) -> np.ndarray:
    seconds = np.where(np.isfinite(metres), np.round(metres / (speed_kmh / 3.6)), _INF)
    return np.minimum(seconds, _INF).astype(np.int32)


def _arrivals_at_counters(labels: np.ndarray, egress_s: np.ndarray) -> np.ndarray:
    """Earliest arrival at each counter, ``(counters, origins)``, walking from a stop."""
    result = np.full((egress_s.shape[1], labels.shape[1]), _INF, dtype=np.int64)
    for counter in range(egress_s.shape[1]):
        near = np.flatnonzero(egress_s[:, counter] < _INF)
        if len(near):
            result[counter] = (labels[near].astype(np.int64)
                               + egress_s[near, counter][:, None]).min(axis=0)
    return result


def _rounds(
    patterns: list[_Pattern], labels: np.ndarray, *, max_rides: int,
    transfers: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(ride, labels)`` per RAPTOR round until ``max_rides`` or no improvement.

    Round k boards from the labels of round k - 1 (a stop reached on foot from the origin,
    by a ride, or by a transfer walk after a ride): ``ride`` holds the arrivals of the k-th
    vehicle, ``labels`` the boarding labels for round k + 1.
    """
    from_stop, to_stop, transfer_s = transfers
    groups = np.flatnonzero(np.r_[True, to_stop[1:] != to_stop[:-1]])
    for _ in range(max_rides):
        ride = np.full_like(labels, _INF)
        for pattern in patterns:
            _scan(pattern, labels, ride)
        improved = np.minimum(labels, ride)
        if len(to_stop):
            walked = np.minimum.reduceat(ride[from_stop] + transfer_s[:, None], groups, axis=0)
            heads = to_stop[groups]
            improved[heads] = np.minimum(improved[heads], walked)
        yield ride, improved
        if np.array_equal(improved, labels):
            return
        labels = improved


def _start_labels(access_s: np.ndarray, departure_s: int) -> np.ndarray:
    return np.minimum(access_s.astype(np.int64) + departure_s, _INF).astype(np.int32)


def raptor(
    patterns: list[_Pattern], access_s: np.ndarray, departure_s: int, *, max_rides: int,
    transfers: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Earliest arrival at every stop from every origin leaving at ``departure_s``.

    Returns
    -------
    reached : numpy.ndarray
        ``(stops, origins)`` int32 seconds: on foot from the origin or alighting, with up
        to ``max_rides`` rides; the egress walk starts from these (not after a transfer walk).
    first_ride : numpy.ndarray
        ``(stops, origins)`` arrivals of exactly one ride (no transfer).
    """
    reached = _start_labels(access_s, departure_s)
    first_ride = np.full_like(reached, _INF)
    for round_, (ride, _) in enumerate(_rounds(patterns, reached, max_rides=max_rides,
                                               transfers=transfers)):
        if round_ == 0:
            first_ride = ride
        reached = np.minimum(reached, ride)
    return reached, first_ride


def precompute(
    timetable: Timetable, legs: WalkLegs, stops: gpd.GeoSeries, *, counter_ids: list[str],
    departures_s: np.ndarray | None = None, max_rides: int = DEFAULT_MAX_RIDES,
    walk_speed_kmh: float = WALK_SPEED_KMH, transfer_radius_m: float = TRANSFER_RADIUS_M,
) -> TransitAccess:
    """Door-to-door minutes from every origin to every counter for each departure.

    Parameters
    ----------
    timetable
        ``geo.gtfs.load_timetable``.
    legs
        ``walking_legs`` for the timetable's stops (same order), origins and counters.
    stops
        The timetable's stops in EPSG:6670 (``Timetable.stop_points``), for footpaths.
    counter_ids
        Id of each counter (columns of ``legs.egress_m``).
    departures_s
        Departure times (default: ``departure_times()``, 09:00-11:00 every 5 min).
    max_rides
        Rides allowed (2: one transfer).
    walk_speed_kmh
        Walking speed for every walk.
    transfer_radius_m
        Longest straight-line walk between stops when changing.

    Returns
    -------
    TransitAccess
    """
    deps = departure_times() if departures_s is None else np.asarray(departures_s)
    if len(counter_ids) != legs.egress_m.shape[1]:
        msg = f"{len(counter_ids)} counter ids for {legs.egress_m.shape[1]} counters"
        raise MadoguchiError(msg)
    if not len(timetable.stops) == len(stops) == legs.access_m.shape[0]:
        msg = (f"{len(timetable.stops)} stops in the timetable, {len(stops)} stop points and "
               f"{legs.access_m.shape[0]} in the walking legs: compute them from one timetable")
        raise MadoguchiError(msg)
    patterns = _patterns(timetable, after_s=int(deps.min()))
    from_stop, to_stop, metres = footpaths(stops, radius_m=transfer_radius_m)
    transfers = (from_stop, to_stop, _walk_seconds(metres, walk_speed_kmh))
    access_s = _walk_seconds(legs.access_m, walk_speed_kmh)
    egress_s = _walk_seconds(legs.egress_m, walk_speed_kmh)
    walk_s = legs.direct_m / (walk_speed_kmh / 3.6)
    minutes = np.empty((len(deps), *legs.direct_m.shape), dtype=np.float32)
    direct_ride = np.zeros(legs.direct_m.shape, dtype=bool)
    for d, departure in enumerate(deps):
        reached, first_ride = raptor(patterns, access_s, int(departure), max_rides=max_rides,
                                     transfers=transfers)
        by_transit = _arrivals_at_counters(reached, egress_s) - departure
        minutes[d] = np.minimum(walk_s, np.where(by_transit < _INF - departure,
                                                 by_transit, np.inf)) / 60.0
        direct_ride |= _arrivals_at_counters(first_ride, egress_s) < _INF
    logger.info("transit precompute: %d patterns, %d footpaths, %d departures",
                len(patterns), len(to_stop), len(deps))
    return TransitAccess(minutes=minutes, walk_minutes=(walk_s / 60.0).astype(np.float32),
                         direct_ride=direct_ride, departures_s=deps,
                         counter_ids=tuple(counter_ids), service_date=timetable.service_date,
                         caveat=transit_caveat(timetable),
                         sources=tuple(gtfs.feed_source(r) for r in timetable.reports))


def clock(seconds: float) -> str:
    """Seconds after midnight as ``HH:MM:SS`` (past 24 h as GTFS writes it, ``24:10:00``)."""
    whole = round(float(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _ride_into(patterns: list[_Pattern], stop: int, at: int, boarding: np.ndarray
               ) -> tuple[_Pattern, int, int]:
    """A trip alighting at ``stop`` at ``at`` and boarded where ``boarding`` allows it."""
    for pattern in patterns:
        for i in np.flatnonzero((pattern.stops == stop) & pattern.can_alight):
            for r in np.flatnonzero(pattern.arrivals[:-1, i] == at):
                for j in range(i):
                    if (pattern.can_board[j]
                            and pattern.departures(j)[r] >= boarding[pattern.stops[j]]):
                        return pattern, int(r), j
    msg = f"no trip reaches stop {stop} at {clock(at)}"  # RAPTOR found one: a bug if raised
    raise MadoguchiError(msg)


def journey(
    timetable: Timetable, legs: WalkLegs, stops: gpd.GeoSeries, *, origin: int, counter: int,
    departure_s: int, max_rides: int = DEFAULT_MAX_RIDES, walk_speed_kmh: float = WALK_SPEED_KMH,
    transfer_radius_m: float = TRANSFER_RADIUS_M,
) -> pd.DataFrame:
    """The fastest journey behind one figure of ``precompute``, leg by leg.

    Parameters
    ----------
    timetable, legs, stops, max_rides, walk_speed_kmh, transfer_radius_m
        As for ``precompute``.
    origin, counter
        Indices into the origins and counters of ``legs``.
    departure_s
        Leaving the origin, seconds after midnight.

    Returns
    -------
    pandas.DataFrame
        One row per leg in order: ``leg`` (``walk``, ``ride`` or ``transfer``),
        ``from_stop`` / ``to_stop`` (stop names; empty at the origin and the counter),
        ``depart`` and ``arrive`` (``HH:MM:SS``; a ride departs when the vehicle does),
        ``trip_key`` (rides only).
    """
    patterns = _patterns(timetable, after_s=departure_s)
    from_stop, to_stop, metres = footpaths(stops, radius_m=transfer_radius_m)
    transfer_s = _walk_seconds(metres, walk_speed_kmh)
    access_s = _walk_seconds(legs.access_m[:, [origin]], walk_speed_kmh)
    egress_s = _walk_seconds(legs.egress_m[:, counter], walk_speed_kmh).astype(np.int64)
    labels = [_start_labels(access_s, departure_s)[:, 0]]
    rides = [np.full_like(labels[0], _INF)]
    for ride, improved in _rounds(patterns, labels[0][:, None], max_rides=max_rides,
                                  transfers=(from_stop, to_stop, transfer_s)):
        rides.append(ride[:, 0])
        labels.append(improved[:, 0])
    reached = np.minimum.reduce([labels[0], *rides])
    names = timetable.stops["stop_name"].to_numpy()
    walk_s = legs.direct_m[counter, origin] / (walk_speed_kmh / 3.6)
    arrival = reached + egress_s
    stop = int(np.argmin(arrival))
    if not arrival[stop] - departure_s < walk_s:
        return pd.DataFrame([("walk", "", "", clock(departure_s), clock(departure_s + walk_s),
                              "")], columns=_JOURNEY_COLUMNS)
    rows = [("walk", names[stop], "", clock(reached[stop]), clock(arrival[stop]), "")]
    at = int(reached[stop])
    round_ = next((k for k in range(len(rides)) if rides[k][stop] == at), 0)
    while round_ > 0:
        pattern, trip, board = _ride_into(patterns, stop, at, labels[round_ - 1])
        boarded = int(pattern.stops[board])
        rows.append(("ride", names[boarded], names[stop], clock(pattern.departures(board)[trip]),
                     clock(at), pattern.trip_keys[trip]))
        label = int(labels[round_ - 1][boarded])
        round_ = next(k for k in range(round_) if labels[k][boarded] == label)
        stop, at = boarded, label
        if round_ > 0 and rides[round_][boarded] != label:
            came = next(int(f) for f, t, w in zip(from_stop, to_stop, transfer_s, strict=True)
                        if t == boarded and rides[round_][f] + w == label)
            rows.append(("transfer", names[came], names[boarded], clock(rides[round_][came]),
                         clock(label), ""))
            stop, at = came, int(rides[round_][came])
    rows.append(("walk", "", names[stop], clock(departure_s), clock(labels[0][stop]), ""))
    return pd.DataFrame(rows[::-1], columns=_JOURNEY_COLUMNS)


_JOURNEY_COLUMNS = ["leg", "from_stop", "to_stop", "depart", "arrive", "trip_key"]


def scenario_minutes(minutes: np.ndarray, open_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and 80th percentile over departures of the minutes to the nearest open counter.

    The minimum over open counters is taken per departure first, then the percentiles (the
    median of the minimum, not the minimum of medians).

    Parameters
    ----------
    minutes
        ``TransitAccess.minutes``, ``(departures, counters, origins)``.
    open_mask
        ``(counters,)`` bool.

    Returns
    -------
    median, p80 : numpy.ndarray
        ``(origins,)`` float32 minutes; ``inf`` everywhere when no counter is open.
    """
    open_mask = np.asarray(open_mask, dtype=bool)
    if not open_mask.any():
        unreachable = np.full(minutes.shape[2], np.inf, dtype=np.float32)
        return unreachable, unreachable.copy()
    nearest = minutes[:, open_mask, :].min(axis=1)
    nearest.sort(axis=0)
    median = np.percentile(nearest, 50, axis=0, method="linear")
    p80 = np.percentile(nearest, 80, axis=0, method="linear")
    return median.astype(np.float32), p80.astype(np.float32)


def catchments(access: TransitAccess, *, thresholds: tuple[int, ...] = THRESHOLDS_MIN
               ) -> pd.DataFrame:
    """Which origins reach each counter within each threshold (median over departures).

    Returns
    -------
    pandas.DataFrame
        One row per counter and origin: ``counter_id``, ``origin`` (index), ``median_min``
        and one bool column ``within_<t>`` per threshold.
    """
    median = np.median(access.minutes, axis=0)
    n_counters, n_origins = median.shape
    table = pd.DataFrame({
        "counter_id": np.repeat(np.asarray(access.counter_ids, dtype=object), n_origins),
        "origin": np.tile(np.arange(n_origins), n_counters),
        "median_min": median.ravel(),
    })
    for threshold in thresholds:
        table[f"within_{threshold}"] = table["median_min"] <= threshold
    return table


def compare(access: TransitAccess, open_before: np.ndarray, open_after: np.ndarray
            ) -> pd.DataFrame:
    """Minutes per origin before and after a closure, for zone tables.

    Parameters
    ----------
    access
        The precompute.
    open_before, open_after
        ``(counters,)`` bool masks over ``access.counter_ids``.

    Returns
    -------
    pandas.DataFrame
        One row per origin (same order): ``before_min`` / ``after_min`` (median over the
        window), ``before_p80_min`` / ``after_p80_min`` and ``lost_direct_ride``.
    """
    before, before_p80 = scenario_minutes(access.minutes, open_before)
    after, after_p80 = scenario_minutes(access.minutes, open_after)
    return pd.DataFrame({
        "before_min": before, "after_min": after,
        "before_p80_min": before_p80, "after_p80_min": after_p80,
        "lost_direct_ride": lost_direct_ride(access, open_before, open_after),
    })


def people_beyond(
    minutes: np.ndarray, population: np.ndarray, share_65plus: np.ndarray, *,
    thresholds: tuple[int, ...] = THRESHOLDS_MIN,
) -> pd.DataFrame:
    """People, and people aged 65+, whose minutes exceed each threshold.

    Parameters
    ----------
    minutes
        ``(origins,)`` minutes, e.g. the median of ``scenario_minutes``.
    population, share_65plus
        ``(origins,)`` residents and their share (0-1) aged 65 and over.

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold_min``, ``people``, ``people_65plus``.
    """
    elderly = np.asarray(population) * np.asarray(share_65plus)
    rows = [{"threshold_min": t, "people": float(np.asarray(population)[minutes > t].sum()),
             "people_65plus": float(elderly[minutes > t].sum())} for t in thresholds]
    return pd.DataFrame(rows)


def lost_direct_ride(access: TransitAccess, open_before: np.ndarray, open_after: np.ndarray
                     ) -> np.ndarray:
    """Origins with a direct ride (no transfer) to an open counter before but none after.

    Parameters
    ----------
    access
        The precompute.
    open_before, open_after
        ``(counters,)`` bool masks.

    Returns
    -------
    numpy.ndarray
        ``(origins,)`` bool.
    """
    before = access.direct_ride[np.asarray(open_before, dtype=bool)].any(axis=0)
    after = access.direct_ride[np.asarray(open_after, dtype=bool)].any(axis=0)
    lost: np.ndarray = before & ~after
    return lost


def transit_access(
    engine: Engine, *, service_date: dt.date | None = None,
    departures_s: np.ndarray | None = None, max_rides: int = DEFAULT_MAX_RIDES,
) -> TransitAccess:
    """Read the data directory's GTFS feeds and precompute minutes to every office.

    Walking legs use ``engine.graph`` with one-way rules dropped (``RoadGraph.undirected``).

    Parameters
    ----------
    engine
        ``geo.engine.load_engine``: its data directory, graph, origins and offices.
    service_date, departures_s, max_rides
        As for ``geo.gtfs.load_timetable`` and ``precompute``.

    Returns
    -------
    TransitAccess
    """
    timetable = gtfs.load_timetable(engine.data, service_date=service_date)
    stops = timetable.stop_points()
    legs = walking_legs(engine.graph.undirected(), stops, engine.origins, engine.offices)
    return precompute(timetable, legs, stops, counter_ids=list(engine.offices["office_id"]),
                      departures_s=departures_s, max_rides=max_rides)


def run_benchmark(engine: Engine, *, scenarios_count: int = 50, seed: int = 2015
                  ) -> dict[str, float]:
    """Time the transit precompute for all origins x offices and the scenario re-evaluation.

    Returns
    -------
    dict
        ``transit_read_s`` (GTFS), ``transit_walk_s`` (walking legs), ``transit_precompute_s``
        (RAPTOR, default window), ``transit_peak_mb`` (largest Python/numpy allocation during
        the three, by tracemalloc), ``transit_scenario_ms`` (median over random closure masks),
        ``transit_departures``, ``transit_counters``, ``transit_origins``.
    """
    tracemalloc.start()
    started = time.perf_counter()
    timetable = gtfs.load_timetable(engine.data)
    stops = timetable.stop_points()
    read = time.perf_counter()
    legs = walking_legs(engine.graph.undirected(), stops, engine.origins, engine.offices)
    walked = time.perf_counter()
    access = precompute(timetable, legs, stops, counter_ids=list(engine.offices["office_id"]))
    done = time.perf_counter()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    masks = np.random.default_rng(seed).random((scenarios_count, len(access.counter_ids))) > 0.3
    timings = []
    for mask in masks:
        begin = time.perf_counter()
        scenario_minutes(access.minutes, mask)
        timings.append(time.perf_counter() - begin)
    departures, counters, origins = access.minutes.shape
    return {
        "transit_read_s": read - started, "transit_walk_s": walked - read,
        "transit_precompute_s": done - walked, "transit_peak_mb": peak / 2**20,
        "transit_scenario_ms": float(np.median(timings)) * 1000,
        "transit_departures": departures, "transit_counters": counters,
        "transit_origins": origins,
    }
