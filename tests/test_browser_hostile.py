"""Hostile text shows as plain text on every page (issue 20), in Chromium.

Every text that comes from the data or from a planner is given Markdown and HTML that would
fetch an image from an outside address if it were rendered: an office name, a school
(district) name, a GTFS agency name, a saved scenario's name, note, author and title, a
phase label and a typed site name. The walk visits every page by car and by bus/tram, with
that scenario opened and compared, and fails on any request leaving localhost, any
exception box and any exception in the server's log. Each field gets its own address
(203.0.113.x, a documentation network), so a failure names the field.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from records import record
from test_planner_day import served_day, wait_for

from geo import saved, scenariostore

pytestmark = [pytest.mark.browser, pytest.mark.bundle]

FIELDS = ("office", "school", "agency", "scenario", "note", "author", "title", "phase", "site")


def hostile(field: str) -> str:
    """Markdown, HTML, LaTeX and a Streamlit directive, each fetching from the field's host."""
    host = f"203.0.113.{FIELDS.index(field) + 1}"
    return (f'![{field}](http://{host}/a.png) <img src="http://{host}/b.png"> '
            f'[{field}](http://{host}/c) $x$ :red[{field}]')


def _replace_in_zip(path: Path, member: str, old: str, new: str) -> None:
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    text = contents[member].decode("utf-8-sig")
    assert old in text
    contents[member] = text.replace(old, new).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


@pytest.fixture(scope="module")
def hostile_data(bundle_dir: Path, tmp_path_factory) -> Path:
    """The bundle with hostile office, school and agency names (real copies of those files)."""
    data = tmp_path_factory.mktemp("hostile") / "data"
    edited = {"offices/offices.csv", "boundaries/school_attendance_zones_2026.json",
              "boundaries/elementary_schools_2026.geojson", "transit/gtfs/toshibus.gtfs.zip"}
    for source in bundle_dir.rglob("*"):
        if source.is_file():
            relative = source.relative_to(bundle_dir).as_posix()
            target = data / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if relative in edited:
                target.write_bytes(source.read_bytes())
            else:
                target.symlink_to(source)
    offices = data / "offices/offices.csv"
    csv_name = '"' + hostile("office").replace('"', '""') + '"'
    offices.write_text(offices.read_text(encoding="utf-8").replace(",大江出張所,", f",{csv_name},",
                                                                   1), encoding="utf-8")
    school = hostile("school")
    for name in ("school_attendance_zones_2026.json", "elementary_schools_2026.geojson"):
        path = data / "boundaries" / name
        text = path.read_text(encoding="utf-8")
        assert "一新小" in text
        path.write_text(text.replace("一新小", json.dumps(school)[1:-1] + "小"),
                        encoding="utf-8")
    # a feed the project does not know is cited by its agencies' names
    feed = data / "transit/gtfs/toshibus.gtfs.zip"
    _replace_in_zip(feed, "agency.txt", "熊本都市バス", hostile("agency").replace(",", " "))
    feed.rename(feed.with_name("another-operator.gtfs.zip"))
    return data


@pytest.fixture(scope="module")
def day(hostile_data: Path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile_day")
    url = f"sqlite:///{folder / 'scenarios.sqlite'}"
    scenariostore.ScenarioStore(url).save(record(
        name=hostile("scenario"), base="fy2015", closed={"oe-branch"}, note=hostile("note"),
        author=hostile("author"), briefing_title=hostile("title"),
        phases=(saved.Phase(dt.date(2026, 4, 1), hostile("phase"), closed={"oe-branch"}),)))
    with served_day(hostile_data, folder, {scenariostore.DB_ENV_VAR: url,
                                           "MADOGUCHI_CACHE": str(folder / "cache")}) as day:
        yield day


PAGES = ("page_map", "page_briefing", "page_tables", "page_suggest", "page_compare",
         "page_sources")


def test_every_page_shows_hostile_names_as_written(day):
    name = hostile("scenario")
    compared = json.dumps([f"saved:{name}", "preset:fy2015"], ensure_ascii=False)
    day.open(f"?saved={quote(name)}&compare={quote(compared)}")
    wait_for(lambda: len(day.cards()) >= 4, "the cards")
    day.page.get_by_text(day.s("saved_heading"), exact=True).click()
    day.settle()
    for mode in ("drive", "transit"):
        if mode == "transit":
            day.radio(day.s("mode_transit"),
                      within=day.page.locator('[data-testid="stSidebar"]'))
        for page in PAGES:
            day.go(page)
            day.check(f"{mode} {page}")
            if page == "page_suggest" and mode == "drive":
                day.page.get_by_text(day.s("suggest_site_heading"), exact=True).click()
                day.page.get_by_label(day.s("suggest_site_name"), exact=True).fill(
                    hostile("site"))
                day.page.get_by_label(day.s("suggest_site_latlon"), exact=True).fill(
                    "32.84,130.76")
                day.button(day.s("suggest_site_add"))
                day.check("site added")
    # the texts are on the pages, as written (not dropped): the title on the briefing page
    day.go("page_briefing")
    assert day.page.get_by_text(hostile("title"), exact=True).count()
    day.check("briefing title")
