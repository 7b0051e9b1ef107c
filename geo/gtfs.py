"""Read GTFS(-JP) feeds into one timetable for a stated service date.

Every ``*.zip`` in ``<data>/transit/gtfs/`` is read with pandas; a feed dropped into that
folder is used with no code change. Stop and trip ids are prefixed with the feed name
(``toshibus:100001_1``) because the joint bus feeds reuse the same ids. Times are seconds
after midnight of the service date: hours may be unpadded (``5:56:00``) or past 24
(``25:02:00`` for a trip that runs after midnight).

Problems are never silent: a missing file or an unreadable time raises ``FeedError``;
stop-time rows naming an unknown stop or trip, and trips whose times go backwards, are
dropped, counted in the feed's ``FeedReport`` and logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .errors import DataMissingError, FeedError
from .layers import DISPLAY_CRS, METRIC_CRS, BundleFile, open_zip_member
from .settings import data_dir

logger = logging.getLogger(__name__)

GTFS_FOLDER = Path("transit") / "gtfs"
DEFAULT_SERVICE_DATE = dt.date(2026, 6, 10)
"""A Wednesday inside the validity of every feed in the bundle."""

FEED_PUBLISHERS: dict[str, tuple[str, str, str]] = {
    "toshibus": ("熊本都市バス GTFS-JP", "CC BY 4.0", "km.bus-vision.jp"),
    "dentetsubus": ("熊本電鉄バス GTFS-JP", "CC BY 4.0", "km.bus-vision.jp"),
    "kumabus": ("熊本バス GTFS-JP", "CC BY 4.0", "km.bus-vision.jp"),
    "sankobus": ("九州産交バス GTFS-JP", "CC BY 4.0", "km.bus-vision.jp"),
    "kumamotoshiden": ("熊本市交通局 GTFS", "CC BY 2.1 JP", "GTFSデータリポジトリ"),
    "kumamotodentetsu": ("熊本電鉄 GTFS", "CC0 1.0", "GTFSデータリポジトリ"),
}
"""Feed name -> (title, licence, where it is published), as the bundle README cites them."""

REQUIRED_FILES = ("stops.txt", "trips.txt", "stop_times.txt")
CALENDAR_FILES = ("calendar.txt", "calendar_dates.txt")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_name",),
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": ("service_id", *WEEKDAYS, "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
}
"""The GTFS-JP required columns this module reads, per file: all are checked before use."""
OPTIONAL_COLUMNS = {"stops.txt": ("stop_name",), "stop_times.txt": ("pickup_type",
                                                                     "drop_off_type")}
"""Columns read when present; every other column is left unread (less memory)."""
_TIME = re.compile(r"^\s*(\d{1,3}):([0-5]\d):([0-5]\d)\s*$")


@dataclass(frozen=True)
class FeedReport:
    """What was read from one feed, and every repair made to it.

    Attributes
    ----------
    feed
        Feed name (the zip's name without ``.zip`` / ``.gtfs``).
    file
        The zip's file name.
    agencies
        Agency names in ``agency.txt``.
    trips_on_date
        Trips running on the service date, after repairs.
    unknown_stop_rows, unknown_trip_rows
        Stop-time rows dropped because their stop or trip is not defined in the feed.
    trips_out_of_order
        Trips dropped because a time goes backwards along the stop sequence.
    interpolated_rows
        Stop-time rows without a time (allowed by GTFS between timed stops), timed by
        linear interpolation between the timed stops around them.
    untimed_trips
        Trips dropped because their first or last stop has no time.
    """

    feed: str
    file: str
    agencies: tuple[str, ...]
    trips_on_date: int
    unknown_stop_rows: int = 0
    unknown_trip_rows: int = 0
    trips_out_of_order: int = 0
    interpolated_rows: int = 0
    untimed_trips: int = 0

    @property
    def repairs(self) -> int:
        """Total rows and trips dropped or interpolated in this feed."""
        return (self.unknown_stop_rows + self.unknown_trip_rows + self.trips_out_of_order
                + self.interpolated_rows + self.untimed_trips)


def feed_source(report: FeedReport) -> BundleFile:
    """The source entry of one feed read (for sources lines and the 出典 sheet).

    A feed of ``FEED_PUBLISHERS`` is cited as the bundle README cites it; any other feed
    dropped into ``transit/gtfs/`` by its agencies' names, its licence to be checked.
    """
    agencies = "・".join(report.agencies) or report.feed
    file = f"{GTFS_FOLDER.as_posix()}/{report.file}"
    description = f"timetable (GTFS): {agencies}"
    if report.feed not in FEED_PUBLISHERS:
        return BundleFile(f"gtfs_{report.feed}", file, description, "added to transit/gtfs/",
                          "not checked: see the publisher's terms", f"{agencies} GTFS")
    title, licence, published = FEED_PUBLISHERS[report.feed]
    return BundleFile(f"gtfs_{report.feed}", file, description, published, licence,
                      f"{title} ({licence})")


@dataclass(frozen=True)
class Timetable:
    """Trips of every feed running on one service date.

    Attributes
    ----------
    service_date
        The day the timetable is for.
    stops
        One row per stop of every feed: ``stop_key`` (``feed:stop_id``), ``feed``,
        ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon``. The row number is the stop
        index used in ``stop_times``.
    stop_times
        Rows of trips running that day, sorted by trip then sequence: ``trip_key``,
        ``route_key``, ``stop`` (index into ``stops``), ``arrival_s``, ``departure_s``
        (seconds after midnight of ``service_date``), ``pickup`` and ``drop_off``
        (booleans: boarding / alighting allowed).
    reports
        One ``FeedReport`` per feed, in file-name order.
    """

    service_date: dt.date
    stops: pd.DataFrame
    stop_times: pd.DataFrame
    reports: tuple[FeedReport, ...] = field(default_factory=tuple)

    def stop_points(self) -> gpd.GeoSeries:
        """Return the stops as points in EPSG:6670 (read as WGS84 longitude/latitude)."""
        points = gpd.points_from_xy(self.stops["stop_lon"], self.stops["stop_lat"],
                                    crs=DISPLAY_CRS)
        return gpd.GeoSeries(points).to_crs(METRIC_CRS)


def parse_times(values: pd.Series, *, where: str) -> np.ndarray:
    """Convert ``H:MM:SS`` strings (hours unpadded or past 24) to seconds after midnight.

    Parameters
    ----------
    values
        Time strings.
    where
        File named in the error message.

    Returns
    -------
    numpy.ndarray
        int64 seconds.

    Raises
    ------
    FeedError
        If any value is not a time; the message lists the first few.
    """
    parts = values.astype(str).str.extract(_TIME)
    bad = parts[0].isna()
    if bad.any():
        examples = ", ".join(repr(v) for v in values[bad].head(3))
        msg = f"{where}: {int(bad.sum())} times are not H:MM:SS (e.g. {examples})"
        raise FeedError(msg)
    numbers = parts.astype(np.int64).to_numpy()
    seconds: np.ndarray = numbers[:, 0] * 3600 + numbers[:, 1] * 60 + numbers[:, 2]
    return seconds


def active_services(
    calendar: pd.DataFrame | None, calendar_dates: pd.DataFrame | None, day: dt.date
) -> set[str]:
    """Return the service ids running on ``day`` (calendar, then calendar_dates exceptions).

    Parameters
    ----------
    calendar, calendar_dates
        The feed's tables as strings (either may be absent).
    day
        The service date.

    Returns
    -------
    set of str
    """
    stamp = day.strftime("%Y%m%d")
    running: set[str] = set()
    if calendar is not None and len(calendar):
        in_range = (calendar["start_date"] <= stamp) & (calendar["end_date"] >= stamp)
        on_weekday = calendar[WEEKDAYS[day.weekday()]].str.strip() == "1"
        running = set(calendar.loc[in_range & on_weekday, "service_id"])
    if calendar_dates is not None and len(calendar_dates):
        today = calendar_dates[calendar_dates["date"] == stamp]
        kind = today["exception_type"].str.strip()
        running |= set(today.loc[kind == "1", "service_id"])
        running -= set(today.loc[kind == "2", "service_id"])
    return running


def _read_tables(path: Path, wanted: tuple[str, ...] = (
        *REQUIRED_FILES, *CALENDAR_FILES, "agency.txt")) -> dict[str, pd.DataFrame]:
    """Read the ``wanted`` files of a feed (as strings), after checking it is usable.

    Every required file and column (``REQUIRED_COLUMNS``) is checked before the tables are
    read, and one ``FeedError`` names every file and column missing; what a member expands
    to is bounded (``geo.layers.open_zip_member``).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = {Path(n).name: n for n in archive.namelist()}
            missing = [f for f in REQUIRED_FILES if f not in names]
            if not any(f in names for f in CALENDAR_FILES):
                missing.append(" or ".join(CALENDAR_FILES))
            if missing:
                msg = f"{path.name}: not a usable GTFS feed, missing {', '.join(missing)}"
                raise FeedError(msg)
            if "frequencies.txt" in names and archive.getinfo(names["frequencies.txt"]).file_size:
                msg = (f"{path.name}: frequencies.txt (trips given by headway) is not supported; "
                       "only trips with their own stop times are read")
                raise FeedError(msg)
            present = {name: names[name] for name in wanted if name in names}
            headers = {name: _read_csv(archive, member, path, nrows=0).columns
                       for name, member in present.items()}
            lacking = [f"{name} lacks {', '.join(columns)}" for name in present
                       if (columns := [c for c in REQUIRED_COLUMNS.get(name, ())
                                       if c not in headers[name]])]
            if lacking:
                msg = f"{path.name}: missing GTFS-JP column(s): {'; '.join(lacking)}"
                raise FeedError(msg)
            return {name: _read_csv(archive, member, path, usecols=(
                *REQUIRED_COLUMNS.get(name, ()), *OPTIONAL_COLUMNS.get(name, ())))
                for name, member in present.items()}
    except zipfile.BadZipFile as e:
        msg = f"{path.name}: not a zip file"
        raise FeedError(msg) from e


def _read_csv(archive: zipfile.ZipFile, member: str, path: Path, *, nrows: int | None = None,
              usecols: tuple[str, ...] = ()) -> pd.DataFrame:
    """One text file of a feed as strings; only ``usecols`` (when given) are kept."""
    where = f"{path.name}: {Path(member).name}"
    try:
        with open_zip_member(archive, member, where=path.name) as handle:
            return pd.read_csv(handle, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                               nrows=nrows, usecols=(lambda c: c in usecols) if usecols else None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        msg = f"{where}: cannot be read as UTF-8 CSV ({str(e).strip()[:120]})"
        raise FeedError(msg) from e
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        msg = f"{where}: damaged inside the zip ({e})"
        raise FeedError(msg) from e


def validity(path: str | os.PathLike[str]) -> tuple[dt.date, dt.date]:
    """Return the first and last day on which any service of a feed runs.

    The span of ``calendar.txt``'s date ranges, widened by the days ``calendar_dates.txt``
    adds (``exception_type`` 1).

    Raises
    ------
    FeedError
        The feed is not usable, or names no day at all.
    """
    path = Path(path)
    tables = _read_tables(path, CALENDAR_FILES)
    stamps: list[str] = []
    if (calendar := tables.get("calendar.txt")) is not None:
        stamps += [*calendar["start_date"].str.strip(), *calendar["end_date"].str.strip()]
    if (dates := tables.get("calendar_dates.txt")) is not None:
        stamps += list(dates.loc[dates["exception_type"].str.strip() == "1", "date"].str.strip())
    days = pd.to_datetime(pd.Series(stamps, dtype=str), format="%Y%m%d", errors="coerce")
    if days.isna().any() or days.empty:
        msg = f"{path.name}: the calendar names no service day, or a date is not YYYYMMDD"
        raise FeedError(msg)
    return days.min().date(), days.max().date()


def common_service_date(paths: list[Path], preferred: dt.date = DEFAULT_SERVICE_DATE
                        ) -> dt.date:
    """Choose the service date for a set of feeds: ``preferred`` when every feed covers it,
    else the first day of ``preferred``'s weekday inside every feed's ``validity``.

    A fetched set of current feeds no longer covers the bundle's June 2026 Wednesday; its
    timetable is then read for the first Wednesday all of them run.

    Raises
    ------
    FeedError
        The feeds' validity periods hold no common day of that weekday.
    """
    spans = {path.name: validity(path) for path in paths}
    first = max(start for start, _ in spans.values())
    last = min(end for _, end in spans.values())
    if first <= preferred <= last:
        return preferred
    day = first + dt.timedelta(days=(preferred.weekday() - first.weekday()) % 7)
    if day > last:
        listed = ", ".join(f"{name} {start}–{end}" for name, (start, end) in spans.items())
        msg = (f"the GTFS feeds share no {preferred:%A} ({listed}); replace the outdated "
               "feed in transit/gtfs/")
        raise FeedError(msg)
    logger.warning("GTFS: %s is outside a feed's validity; reading the timetable of %s",
                   preferred, day)
    return day


def _feed_name(path: Path) -> str:
    return path.name.removesuffix(".zip").removesuffix(".gtfs")


def _drop_unknown(stop_times: pd.DataFrame, column: str, known: pd.Series, feed: str) -> tuple[
        pd.DataFrame, int]:
    unknown = ~stop_times[column].isin(known)
    count = int(unknown.sum())
    if count:
        examples = ", ".join(stop_times.loc[unknown, column].drop_duplicates().head(3))
        logger.warning("%s: dropped %d stop_times rows with unknown %s (%s)",
                       feed, count, column, examples)
    return stop_times[~unknown], count


def _drop_out_of_order(times: pd.DataFrame, feed: str) -> tuple[pd.DataFrame, int]:
    """Drop trips whose times go backwards (arrival after departure, or a later stop earlier)."""
    same_trip = times["trip_id"].to_numpy()[1:] == times["trip_id"].to_numpy()[:-1]
    backwards = same_trip & (times["arrival_s"].to_numpy()[1:]
                             < times["departure_s"].to_numpy()[:-1])
    bad_trips = set(times["trip_id"].to_numpy()[1:][backwards])
    bad_trips |= set(times.loc[times["departure_s"] < times["arrival_s"], "trip_id"])
    if bad_trips:
        logger.warning("%s: dropped %d trips whose times go backwards (e.g. %s)",
                       feed, len(bad_trips), min(bad_trips))
    return times[~times["trip_id"].isin(bad_trips)], len(bad_trips)


def _service_flag(values: pd.Series) -> np.ndarray:
    """GTFS pickup/drop_off type: 1 means not allowed; empty, 0, 2 and 3 allow it."""
    dropped: np.ndarray = values.str.strip().to_numpy() != "1"
    return dropped


def _timed(times: pd.DataFrame, where: str, feed: str) -> tuple[pd.DataFrame, int, int]:
    """Add ``arrival_s`` / ``departure_s`` to stop times sorted by trip and sequence.

    A blank arrival or departure takes the other time at that stop; a stop with neither is
    interpolated linearly (by position) between the timed stops around it; a trip whose
    first or last stop has no time is dropped. Returns the rows, interpolated rows, and
    dropped trips.
    """
    arrival = times["arrival_time"].str.strip()
    departure = times["departure_time"].str.strip()
    arrival, departure = arrival.where(arrival != "", departure), departure.where(
        departure != "", arrival)
    blank = (arrival == "").to_numpy()
    times["arrival_s"] = np.nan
    times["departure_s"] = np.nan
    times.loc[~blank, "arrival_s"] = parse_times(arrival[~blank], where=where)
    times.loc[~blank, "departure_s"] = parse_times(departure[~blank], where=where)
    if not blank.any():
        return times.astype({"arrival_s": np.int64, "departure_s": np.int64}), 0, 0
    by_trip = times.groupby("trip_id", sort=False)["arrival_s"]
    filled = by_trip.transform(lambda s: s.interpolate(limit_area="inside"))
    untimed = set(times.loc[filled.isna(), "trip_id"])
    interpolated = int((blank & filled.notna().to_numpy()).sum())
    logger.warning("%s: %d stop times interpolated, %d trips without a first or last time "
                   "dropped", feed, interpolated, len(untimed))
    times["arrival_s"] = filled.round()
    times["departure_s"] = times["departure_s"].fillna(times["arrival_s"])
    times = times[~times["trip_id"].isin(untimed)]
    return times.astype({"arrival_s": np.int64, "departure_s": np.int64}), interpolated, len(
        untimed)


def _read_stops(stops: pd.DataFrame, feed: str, where: str) -> pd.DataFrame:
    coords = stops[["stop_lat", "stop_lon"]].apply(pd.to_numeric, errors="coerce")
    if coords.isna().any().any():
        msg = f"{where}: stops.txt has stops without a readable stop_lat/stop_lon"
        raise FeedError(msg)
    return pd.DataFrame({
        "stop_key": feed + ":" + stops["stop_id"], "feed": feed,
        "stop_id": stops["stop_id"], "stop_name": stops.get("stop_name", ""),
        "stop_lat": coords["stop_lat"], "stop_lon": coords["stop_lon"],
    })


def read_feed(path: str | os.PathLike[str], day: dt.date) -> tuple[
        pd.DataFrame, pd.DataFrame, FeedReport]:
    """Read one GTFS zip: its stops, and the stop times of trips running on ``day``.

    Parameters
    ----------
    path
        The zip file.
    day
        The service date.

    Returns
    -------
    stops : pandas.DataFrame
        ``stop_key``, ``feed``, ``stop_id``, ``stop_name``, ``stop_lat``, ``stop_lon``.
    stop_times : pandas.DataFrame
        ``trip_key``, ``route_key``, ``stop_key``, ``arrival_s``, ``departure_s``,
        ``pickup``, ``drop_off``, sorted by trip and sequence.
    report : FeedReport

    Raises
    ------
    FeedError
        A required file is missing, trip ids repeat, or a time or coordinate cannot be read.
    """
    path = Path(path)
    feed = _feed_name(path)
    tables = _read_tables(path)
    stops = _read_stops(tables["stops.txt"], feed, path.name)
    trips = tables["trips.txt"]
    if trips["trip_id"].duplicated().any():
        repeated = ", ".join(trips.loc[trips["trip_id"].duplicated(), "trip_id"][:3])
        msg = f"{path.name}: trips.txt repeats trip ids ({repeated})"
        raise FeedError(msg)
    running = active_services(tables.get("calendar.txt"), tables.get("calendar_dates.txt"), day)
    trips_today = trips[trips["service_id"].isin(running)]
    times = tables["stop_times.txt"]
    times, unknown_trips = _drop_unknown(times, "trip_id", trips["trip_id"], feed)
    times, unknown_stops = _drop_unknown(times, "stop_id", stops["stop_id"], feed)
    times = times[times["trip_id"].isin(trips_today["trip_id"])].copy()
    times["sequence"] = pd.to_numeric(times["stop_sequence"], errors="coerce")
    if times["sequence"].isna().any():
        msg = f"{path.name}: stop_times.txt has rows without a numeric stop_sequence"
        raise FeedError(msg)
    times = times.sort_values(["trip_id", "sequence"], kind="stable")
    times, interpolated, untimed = _timed(times, f"{path.name}: stop_times.txt", feed)
    times, out_of_order = _drop_out_of_order(times, feed)
    route_of = trips_today.set_index("trip_id")["route_id"]
    no_flags = pd.Series("", index=times.index)
    stop_times = pd.DataFrame({
        "trip_key": feed + ":" + times["trip_id"],
        "route_key": feed + ":" + times["trip_id"].map(route_of),
        "stop_key": feed + ":" + times["stop_id"],
        "arrival_s": times["arrival_s"], "departure_s": times["departure_s"],
        "pickup": _service_flag(times.get("pickup_type", no_flags)),
        "drop_off": _service_flag(times.get("drop_off_type", no_flags)),
    })
    agencies = tables.get("agency.txt")
    report = FeedReport(
        feed=feed, file=path.name,
        agencies=tuple(agencies["agency_name"]) if agencies is not None else (),
        trips_on_date=int(stop_times["trip_key"].nunique()),
        unknown_stop_rows=unknown_stops, unknown_trip_rows=unknown_trips,
        trips_out_of_order=out_of_order, interpolated_rows=interpolated,
        untimed_trips=untimed,
    )
    if report.trips_on_date == 0:
        logger.warning("%s: no trips run on %s (outside the feed's calendar?)", feed, day)
    return stops, stop_times.reset_index(drop=True), report


def feed_paths(data: str | os.PathLike[str] | None = None) -> list[Path]:
    """Return the GTFS zips in ``<data>/transit/gtfs/``, sorted by name.

    Raises
    ------
    DataMissingError
        If the folder holds no zip.
    """
    folder = data_dir(data) / GTFS_FOLDER
    paths = sorted(folder.glob("*.zip"))
    if not paths:
        msg = (f"no GTFS feed in {folder}: put the operators' GTFS-JP zips there "
               "(km.bus-vision.jp or the GTFSデータリポジトリ)")
        raise DataMissingError(msg)
    return paths


def load_timetable(
    data: str | os.PathLike[str] | None = None, *, service_date: dt.date | None = None,
    paths: list[Path] | None = None,
) -> Timetable:
    """Read every GTFS zip of the data directory into one timetable for ``service_date``.

    Parameters
    ----------
    data
        The data directory (see ``geo.settings.data_dir``).
    service_date
        The day whose trips are kept (calendar and calendar_dates honoured); default
        ``common_service_date`` of the feeds.
    paths
        Explicit zip files instead of the data directory's folder.

    Returns
    -------
    Timetable
    """
    chosen = feed_paths(data) if paths is None else [Path(p) for p in paths]
    if service_date is None:
        service_date = common_service_date(chosen)
    read = [read_feed(p, service_date) for p in chosen]
    stops = pd.concat([r[0] for r in read], ignore_index=True)
    duplicated = stops["stop_key"].duplicated()
    if duplicated.any():
        msg = f"stops.txt repeats stop ids: {', '.join(stops.loc[duplicated, 'stop_key'][:3])}"
        raise FeedError(msg)
    stop_times = pd.concat([r[1] for r in read], ignore_index=True)
    index = pd.Series(np.arange(len(stops)), index=stops["stop_key"])
    stop_times.insert(2, "stop", index.loc[stop_times.pop("stop_key")].to_numpy())
    return Timetable(service_date, stops, stop_times, tuple(r[2] for r in read))
