"""geo fetch --only gtfs on recorded feeds: written where geo.gtfs reads them, checked first."""

from __future__ import annotations

import json

import pytest
from test_fetch import RecordedSession
from test_gtfs import simple_feed, write_feed

from geo import fetch as fetch_module
from geo import gtfs
from geo.errors import FetchError

CALENDAR_DECEMBER = """\
service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date
WD,1,1,1,1,1,0,0,20261201,20270331
"""
FEEDS = {"sankobus": "https://example.test/sanko/gtfsFeed",
         "toshibus": "https://example.test/toshi/gtfsFeed"}


def _recorded(tmp_path, **replace):
    feed = write_feed(tmp_path / "recorded", "feed.zip", simple_feed(**replace))
    return RecordedSession({url: feed for url in FEEDS.values()})


def test_the_feeds_are_written_where_the_timetable_reader_finds_them(tmp_path):
    data = tmp_path / "data"
    session = _recorded(tmp_path)
    results = fetch_module.fetch(data, only="gtfs", session=session, gtfs_feeds=FEEDS)
    assert [r.status for r in results] == ["fetched"]
    assert [p.name for p in gtfs.feed_paths(data)] == ["sankobus.gtfs.zip", "toshibus.gtfs.zip"]
    manifest = json.loads((data / fetch_module.MANIFEST_NAME).read_text(encoding="utf-8"))
    assert {i["url"] for v in manifest["files"].values() for i in v["inputs"]} == set(
        FEEDS.values())
    again = fetch_module.fetch(data, only="gtfs", session=RecordedSession({}), gtfs_feeds=FEEDS)
    assert [r.status for r in again] == ["cached"]


def test_a_feed_that_cannot_be_read_is_refused_and_nothing_is_left(tmp_path):
    data = tmp_path / "data"
    session = _recorded(tmp_path, stop_times="")  # no stop_times.txt
    with pytest.raises(FetchError, match="not a readable GTFS feed"):
        fetch_module.fetch(data, only="gtfs", session=session, gtfs_feeds=FEEDS)
    folder = data / gtfs.GTFS_FOLDER
    assert not folder.exists() or list(folder.iterdir()) == []


def test_the_default_fetch_leaves_the_timetables_out():
    assert "gtfs" in fetch_module.SOURCES
    assert fetch_module.parse_sources(None) == fetch_module.DEFAULT_SOURCES
    assert "gtfs" not in fetch_module.DEFAULT_SOURCES


@pytest.mark.bundle
def test_every_feed_of_the_bundle_has_an_address_that_replaces_it(bundle_dir):
    """The tram and railway included, under the bundle's file names."""
    bundled = {path.name for path in gtfs.feed_paths(bundle_dir)}
    fetched = {f"{operator}.gtfs.zip" for operator in fetch_module.GTFS_FEEDS}
    assert bundled <= fetched
    assert fetched - bundled == {"sankobus.gtfs.zip"}  # the feed the bundle lacks


def test_a_current_feed_outside_the_bundle_date_is_checked_on_its_own_days(tmp_path):
    december = CALENDAR_DECEMBER
    session = _recorded(tmp_path, calendar=december)
    results = fetch_module.fetch(tmp_path / "data", only="gtfs", session=session,
                                 gtfs_feeds=FEEDS)
    assert [r.status for r in results] == ["fetched"]
    timetable = gtfs.load_timetable(tmp_path / "data")
    assert timetable.service_date.isoformat() == "2026-12-02"
    assert [r.trips_on_date for r in timetable.reports] == [2, 2]
