"""GTFS reading on tiny hand-written feeds: calendars, unpadded and 24:xx hours, bad feeds."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from geo import gtfs
from geo.errors import DataMissingError, FeedError, InputTooLargeError

WEDNESDAY = dt.date(2026, 6, 10)
THURSDAY = dt.date(2026, 6, 11)

STOPS = """stop_id,stop_name,stop_lat,stop_lon
A,A,32.800,130.700
B,B,32.805,130.700
"""
TRIPS = """route_id,service_id,trip_id
R,WD,t1
R,WD,t2
"""
CALENDAR = """\
service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
WD,1,1,1,1,1,0,0,20260601,20260630
"""
STOP_TIMES = """trip_id,arrival_time,departure_time,stop_id,stop_sequence
t1,5:56:00,5:56:00,A,1
t1,6:01:00,6:01:00,B,2
t2,23:58:00,23:58:00,A,1
t2,24:03:00,24:03:00,B,2
"""


def write_feed(folder: Path, name: str, files: dict[str, str]) -> Path:
    """Write ``files`` (name -> CSV text) into ``folder/name`` as a GTFS zip."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        for file_name, text in files.items():
            archive.writestr(file_name, text)
    return path


def simple_feed(**replace: str) -> dict[str, str]:
    files = {"stops.txt": STOPS, "trips.txt": TRIPS, "calendar.txt": CALENDAR,
             "stop_times.txt": STOP_TIMES}
    files.update({f"{k}.txt": v for k, v in replace.items()})
    return {k: v for k, v in files.items() if v}


def test_times_unpadded_and_past_midnight_are_seconds_after_midnight():
    values = pd.Series(["5:56:00", "05:56:00", "24:03:00", "25:02:30"])
    assert gtfs.parse_times(values, where="x").tolist() == [21360, 21360, 86580, 90150]


def test_unreadable_time_is_an_error_naming_the_file_and_value():
    with pytest.raises(FeedError, match=r"x: 1 times are not H:MM:SS \(e.g. '9:5:00'\)"):
        gtfs.parse_times(pd.Series(["9:05:00", "9:5:00"]), where="x")


def test_calendar_dates_add_and_remove_services():
    calendar = pd.read_csv(io.StringIO(CALENDAR), dtype=str)
    dates = pd.DataFrame({"service_id": ["EXTRA", "WD", "LATER"],
                          "date": ["20260610", "20260611", "20260612"],
                          "exception_type": ["1", "2", "1"]})
    assert gtfs.active_services(calendar, dates, WEDNESDAY) == {"WD", "EXTRA"}
    assert gtfs.active_services(calendar, dates, THURSDAY) == set()
    assert gtfs.active_services(calendar, None, dt.date(2026, 6, 13)) == set()  # Saturday
    assert gtfs.active_services(calendar, None, dt.date(2026, 7, 1)) == set()  # after end


def test_a_feed_reads_with_prefixed_ids_and_both_times(tmp_path):
    path = write_feed(tmp_path, "line.gtfs.zip", simple_feed())
    stops, times, report = gtfs.read_feed(path, WEDNESDAY)
    assert stops["stop_key"].tolist() == ["line:A", "line:B"]
    assert times["trip_key"].tolist() == ["line:t1"] * 2 + ["line:t2"] * 2
    assert times["route_key"].unique().tolist() == ["line:R"]
    assert times["arrival_s"].tolist() == [21360, 21660, 86280, 86580]
    assert report.trips_on_date == 2
    assert report.repairs == 0


def test_a_service_only_in_calendar_dates_runs_on_that_day_only(tmp_path):
    dates = "service_id,date,exception_type\nWD,20260610,1\n"
    path = write_feed(tmp_path, "extra.zip", simple_feed(calendar="", calendar_dates=dates))
    assert gtfs.read_feed(path, WEDNESDAY)[2].trips_on_date == 2
    assert gtfs.read_feed(path, THURSDAY)[2].trips_on_date == 0


def test_missing_files_are_an_error_listing_them(tmp_path):
    path = write_feed(tmp_path, "broken.zip", simple_feed(stop_times="", calendar=""))
    with pytest.raises(FeedError, match=r"broken.zip: .*missing stop_times.txt, "
                                        "calendar.txt or calendar_dates.txt"):
        gtfs.read_feed(path, WEDNESDAY)


def test_a_file_that_is_not_a_zip_is_an_error(tmp_path):
    path = tmp_path / "junk.zip"
    path.write_text("not a zip")
    with pytest.raises(FeedError, match=r"junk.zip: not a zip file"):
        gtfs.read_feed(path, WEDNESDAY)


def test_unknown_stop_rows_are_dropped_and_counted(tmp_path):
    times = STOP_TIMES + "t1,6:05:00,6:05:00,GHOST,3\nt9,6:00:00,6:00:00,A,1\n"
    path = write_feed(tmp_path, "ghost.zip", simple_feed(stop_times=times))
    _, kept, report = gtfs.read_feed(path, WEDNESDAY)
    assert (report.unknown_stop_rows, report.unknown_trip_rows) == (1, 1)
    assert len(kept) == 4
    assert "ghost:GHOST" not in set(kept["stop_key"])


def test_trips_whose_times_go_backwards_are_dropped_and_counted(tmp_path):
    times = STOP_TIMES.replace("t1,6:01:00,6:01:00,B,2", "t1,5:50:00,5:50:00,B,2")
    path = write_feed(tmp_path, "back.zip", simple_feed(stop_times=times))
    _, kept, report = gtfs.read_feed(path, WEDNESDAY)
    assert report.trips_out_of_order == 1
    assert kept["trip_key"].unique().tolist() == ["back:t2"]


def test_departure_before_arrival_at_a_stop_counts_as_out_of_order(tmp_path):
    times = STOP_TIMES.replace("t2,23:58:00,23:58:00,A,1", "t2,23:58:00,23:57:00,A,1")
    path = write_feed(tmp_path, "dwell.zip", simple_feed(stop_times=times))
    assert gtfs.read_feed(path, WEDNESDAY)[2].trips_out_of_order == 1


def test_stop_times_are_ordered_by_sequence_not_by_file_order(tmp_path):
    lines = STOP_TIMES.strip().split("\n")
    shuffled = "\n".join([lines[0], lines[2], lines[1], lines[4], lines[3]]) + "\n"
    path = write_feed(tmp_path, "shuffled.zip", simple_feed(stop_times=shuffled))
    _, kept, report = gtfs.read_feed(path, WEDNESDAY)
    assert report.trips_out_of_order == 0
    assert kept["stop_key"].tolist() == ["shuffled:A", "shuffled:B"] * 2


def test_every_zip_in_the_folder_is_used_and_stops_index_the_joint_table(tmp_path):
    folder = tmp_path / "transit" / "gtfs"
    write_feed(folder, "one.zip", simple_feed())
    write_feed(folder, "two.zip", simple_feed())
    table = gtfs.load_timetable(tmp_path, service_date=WEDNESDAY)
    assert [r.feed for r in table.reports] == ["one", "two"]
    assert len(table.stops) == 4
    assert table.stops.loc[table.stop_times["stop"], "stop_key"].str[:3].tolist() == (
        ["one"] * 4 + ["two"] * 4)
    assert table.stop_points().crs == "EPSG:6670"


def test_an_empty_folder_says_where_to_put_feeds(tmp_path):
    (tmp_path / "transit" / "gtfs").mkdir(parents=True)
    with pytest.raises(DataMissingError, match=r"no GTFS feed in .*transit/gtfs"):
        gtfs.load_timetable(tmp_path)


@pytest.mark.bundle
def test_bundle_feeds_match_the_weekday_trip_counts_of_the_bundle_readme(bundle_dir):
    table = gtfs.load_timetable(bundle_dir, service_date=WEDNESDAY)
    trips = {r.feed: r.trips_on_date for r in table.reports}
    assert trips == {"toshibus": 1073, "dentetsubus": 483, "kumabus": 350,
                     "kumamotoshiden": 380, "kumamotodentetsu": 151}
    assert sum(r.repairs for r in table.reports) == 0


FOUR_STOPS = STOPS + "C,C,32.810,130.700\nD,D,32.815,130.700\n"


def test_stops_without_times_are_interpolated_and_counted(tmp_path):
    """t1 is timed at A 9:00 and D 9:30 only: B and C fall at 9:10 and 9:20. t2 has no
    time at its last stop and is dropped. At B, t2's blank arrival takes its departure."""
    times = ("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
             "t1,9:00:00,9:00:00,A,1\nt1,,,B,2\nt1,,,C,3\nt1,9:30:00,9:30:00,D,4\n"
             "t2,10:00:00,10:00:00,A,1\nt2,,10:05:00,B,2\nt2,,,C,3\n")
    path = write_feed(tmp_path, "gaps.zip", simple_feed(stops=FOUR_STOPS, stop_times=times))
    _, kept, report = gtfs.read_feed(path, WEDNESDAY)
    assert kept["arrival_s"].tolist() == [32400, 33000, 33600, 34200]
    assert kept["departure_s"].tolist() == kept["arrival_s"].tolist()
    assert (report.interpolated_rows, report.untimed_trips, report.repairs) == (2, 1, 3)


def test_repeated_trip_ids_are_an_error(tmp_path):
    path = write_feed(tmp_path, "twice.zip", simple_feed(trips=TRIPS + "R,WD,t1\n"))
    with pytest.raises(FeedError, match=r"twice.zip: trips.txt repeats trip ids \(t1\)"):
        gtfs.read_feed(path, WEDNESDAY)


def test_headway_based_trips_are_refused_rather_than_read_as_single_trips(tmp_path):
    frequencies = "trip_id,start_time,end_time,headway_secs\nt1,6:00:00,9:00:00,600\n"
    path = write_feed(tmp_path, "headway.zip", simple_feed(frequencies=frequencies))
    with pytest.raises(FeedError, match=r"headway.zip: frequencies.txt .* not supported"):
        gtfs.read_feed(path, WEDNESDAY)


def test_a_stop_sequence_that_is_not_a_number_is_an_error(tmp_path):
    times = STOP_TIMES.replace("t1,6:01:00,6:01:00,B,2", "t1,6:01:00,6:01:00,B,two")
    path = write_feed(tmp_path, "seq.zip", simple_feed(stop_times=times))
    with pytest.raises(FeedError, match=r"seq.zip: stop_times.txt has rows without a numeric"):
        gtfs.read_feed(path, WEDNESDAY)


def test_repeated_stop_ids_and_unreadable_coordinates_are_errors(tmp_path):
    twice = write_feed(tmp_path, "stops2.zip", simple_feed(stops=STOPS + "A,A,32.8,130.7\n"))
    with pytest.raises(FeedError, match=r"stops.txt repeats stop ids: stops2:A"):
        gtfs.load_timetable(paths=[twice], service_date=WEDNESDAY)
    nowhere = write_feed(tmp_path, "nowhere.zip", simple_feed(stops=STOPS + "C,C,,130.7\n"))
    with pytest.raises(FeedError, match=r"nowhere.zip: stops.txt has stops without a readable"):
        gtfs.read_feed(nowhere, WEDNESDAY)


def _calendar(start: str, end: str) -> str:
    return CALENDAR.replace("20260601,20260630", f"{start},{end}")


def test_validity_spans_the_calendar_and_the_days_calendar_dates_add(tmp_path):
    dates = ("service_id,date,exception_type\nWD,20260520,1\nWD,20260715,2\n"
             "X,20260801,1\n")
    path = write_feed(tmp_path, "a.zip", simple_feed(calendar_dates=dates))
    assert gtfs.validity(path) == (dt.date(2026, 5, 20), dt.date(2026, 8, 1))
    bad = write_feed(tmp_path, "b.zip", simple_feed(calendar=_calendar("2026-06-01", "20260630")))
    with pytest.raises(FeedError, match=r"b\.zip: the calendar names no service day"):
        gtfs.validity(bad)


def test_the_bundle_wednesday_is_kept_while_every_feed_runs_then(tmp_path):
    june = write_feed(tmp_path, "june.zip", simple_feed())
    year = write_feed(tmp_path, "year.zip", simple_feed(calendar=_calendar("20260101",
                                                                           "20261231")))
    assert gtfs.common_service_date([june, year]) == WEDNESDAY


def test_newer_feeds_are_read_for_the_first_wednesday_they_all_run(tmp_path):
    # feeds fetched in December 2026 no longer cover 2026-06-10
    winter = write_feed(tmp_path, "winter.zip", simple_feed(calendar=_calendar("20261201",
                                                                               "20270331")))
    later = write_feed(tmp_path, "later.zip", simple_feed(calendar=_calendar("20261204",
                                                                             "20270228")))
    day = gtfs.common_service_date([winter, later])
    assert day == dt.date(2026, 12, 9)
    assert day.weekday() == WEDNESDAY.weekday()
    timetable = gtfs.load_timetable(paths=[winter, later])
    assert timetable.service_date == day
    assert all(report.trips_on_date == 2 for report in timetable.reports)


def test_feeds_without_a_common_wednesday_are_an_error_naming_them(tmp_path):
    old = write_feed(tmp_path, "old.zip", simple_feed())
    new = write_feed(tmp_path, "new.zip", simple_feed(calendar=_calendar("20261201",
                                                                         "20270331")))
    with pytest.raises(FeedError, match=r"share no Wednesday \(new.zip 2026-12-01–2027-03-31, "
                                        r"old.zip 2026-06-01–2026-06-30\)"):
        gtfs.common_service_date([new, old])


# -- required columns and bounded reading (issue 20) -----------------------------------------

def test_every_missing_required_column_is_named_with_its_file(tmp_path):
    feed = simple_feed(trips="route_id,trip_id\nR,t1\n", agency="agency_id,agency_url\na,u\n")
    path = write_feed(tmp_path, "cols.zip", feed)
    with pytest.raises(FeedError, match=r"^cols.zip: missing GTFS-JP column\(s\): "
                                        r"trips.txt lacks service_id; agency.txt lacks "
                                        r"agency_name$"):
        gtfs.read_feed(path, WEDNESDAY)


@pytest.mark.parametrize(("file", "header"), [
    ("stops.txt", "stop_id,stop_name,stop_lat"),
    ("stop_times.txt", "trip_id,arrival_time,departure_time,stop_id"),
    ("calendar.txt", "service_id,monday,start_date,end_date"),
])
def test_any_required_column_missing_is_a_feed_error_not_a_key_error(tmp_path, file, header):
    path = write_feed(tmp_path, "x.zip", simple_feed(**{file.removesuffix(".txt"): header + "\n"}))
    with pytest.raises(FeedError, match=f"{file} lacks"):
        gtfs.read_feed(path, WEDNESDAY)


def test_an_empty_file_in_a_feed_is_a_feed_error(tmp_path):
    files = simple_feed()
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        for name, text in {**files, "agency.txt": ""}.items():
            archive.writestr(name, text)
    with pytest.raises(FeedError, match=r"empty\.zip: agency\.txt: cannot be read as UTF-8 CSV"):
        gtfs.read_feed(tmp_path / "empty.zip", WEDNESDAY)


EXPANDED_MB = 30


def _bomb(path: Path, *, declared: int | None = None) -> Path:
    """A feed whose stop_times.txt expands to 30 MB from a few tens of kB."""
    row = b"t1,5:56:00,5:56:00,A,1\n"
    body = b"trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + row * (
        EXPANDED_MB * 1_000_000 // len(row))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in simple_feed().items():
            if name != "stop_times.txt":
                archive.writestr(name, text)
        archive.writestr("stop_times.txt", body)
    if declared is not None:  # a central directory that lies about the expanded size
        data = bytearray(path.read_bytes())
        entry = data.rfind(b"PK\x01\x02")
        data[entry + 24:entry + 28] = declared.to_bytes(4, "little")
        path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("declared", "message"), [
    (None, r"bomb\.zip: stop_times\.txt: expands from 0\.\d MB to more than 30\.0 MB"),
    (2_000, r"bomb.zip: stop_times.txt: damaged inside the zip"),
])
def test_a_zip_bomb_is_refused_before_it_is_read(tmp_path, declared, message):
    path = _bomb(tmp_path / "bomb.zip", declared=declared)
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(FeedError if declared else InputTooLargeError, match=message):
            gtfs.read_feed(path, WEDNESDAY)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # nothing like the 30 MB it expands to was held


def test_the_expansion_limit_follows_the_file_size_limit(tmp_path, monkeypatch):
    rows = "".join(f"t{i},5:56:00,5:56:00,A,1\n" for i in range(200_000))  # 4.6 MB, ratio ~5
    path = write_feed(tmp_path, "big.zip", simple_feed(
        stop_times="trip_id,arrival_time,departure_time,stop_id,stop_sequence\n" + rows))
    monkeypatch.setenv("MADOGUCHI_MAX_FILE_MB", "2")
    with pytest.raises(InputTooLargeError, match="raise MADOGUCHI_MAX_FILE_MB"):
        gtfs.read_feed(path, WEDNESDAY)
    monkeypatch.setenv("MADOGUCHI_MAX_FILE_MB", "10")
    assert gtfs.read_feed(path, WEDNESDAY)[2].unknown_trip_rows == 200_000 - 2  # t1, t2 known
