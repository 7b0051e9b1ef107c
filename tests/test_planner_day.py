"""A planner's whole day in Chromium (issue 18), as a new user would go through it.

Reproduce the 2015 decision, close and reopen counters on the map, save 案A and 案B, compare
them, phase a plan, share a link, present at 1920x1080, print, switch every travel mode both
ways on every page, ask the 提案 page, then the same in English with every download opened
(xlsx with openpyxl, PDF with pypdf, PNG with Pillow, CSV with pandas, GeoJSON with json).

The steps run in order on one server and one browser page. After each, the day fails on any
Streamlit exception box, any exception in the server's log, and any request leaving
localhost.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from dashboard.bench import NOT_LOCAL, dashboard_server
from dashboard.i18n import STRINGS
from geo import scenariostore

pytestmark = [pytest.mark.browser, pytest.mark.bundle]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
MAP_FRAME = ('iframe[title="dashboard.instant_map.instant_map"], '
             'iframe[title="streamlit_folium.st_folium"]')  # the map page's, other pages'
CARD = '[data-testid="stMetricValue"]'
STALE = '[data-stale="true"]'
RUNNING = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
SERVER_ERRORS = re.compile(r"Traceback \(most recent call last\)|Uncaught app exception")
TIMEOUT_S = 240.0

if not CHROMIUM.exists():
    pytest.skip("Debian Chromium (/usr/bin/chromium) is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Day:
    """One browser page on the dashboard, with the checks every step ends with."""

    def __init__(self, browser, url: str, log: Path) -> None:
        self.browser, self.url, self.log = browser, url, log
        self.outside: list[str] = []
        self.context = self.new_context()
        self.page = self.context.new_page()
        self.lang = "ja"
        self.log_read = 0

    def new_context(self, viewport: dict | None = None):
        context = self.browser.new_context(viewport=viewport or {"width": 1600, "height": 1200},
                                           accept_downloads=True)
        context.route(NOT_LOCAL, self._refuse)
        return context

    def _refuse(self, route) -> None:
        self.outside.append(route.request.url)
        route.abort()

    def s(self, key: str, **values: object) -> str:
        """A dashboard string in the page's language."""
        text = STRINGS[key][0 if self.lang == "ja" else 1]
        return text.format(**values) if values else text

    # -- waiting ----------------------------------------------------------------------------

    def quiet(self, page=None) -> bool:
        page = page or self.page
        return (page.locator(STALE).count() == 0 and not page.locator(RUNNING).is_visible()
                and page.locator('[data-testid="stMain"]').count() > 0)

    def settle(self, page=None) -> None:
        """Wait until the app has stopped running for a moment."""
        page = page or self.page
        page.wait_for_timeout(300)
        for _ in range(3):
            wait_for(lambda: self.quiet(page), "the app to finish running")
            page.wait_for_timeout(300)

    def cards(self, page=None) -> list[str]:
        return (page or self.page).locator(CARD).all_inner_texts()

    def open(self, address: str = "") -> None:
        self.page.goto(f"{self.url}/{address}", wait_until="commit")
        wait_for(lambda: self.page.locator('[data-testid="stSidebarNav"]').count() > 0,
                 "the app's navigation")
        self.settle()

    def go(self, page_key: str) -> None:
        """Open a page from the sidebar's navigation."""
        self.page.locator('[data-testid="stSidebarNav"]').get_by_role(
            "link", name=self.s(page_key), exact=True).click()
        self.settle()

    def params(self) -> dict[str, str]:
        address = self.page.evaluate("document.location.href")
        return {key: values[-1] for key, values in parse_qs(urlparse(address).query).items()}

    # -- widgets ----------------------------------------------------------------------------

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the select box labelled ``label``."""
        self.page.get_by_role("combobox", name=label).first.click()
        self.page.get_by_role("option", name=option, exact=True).first.click()
        self.settle()

    def radio(self, option: str, *, within=None) -> None:
        (within or self.page).locator('[data-testid="stRadio"] label').filter(
            has_text=re.compile(f"^{re.escape(option)}$")).first.click()
        self.settle()

    def multiselect_add(self, label: str, option: str) -> None:
        self.choose(label, option)
        self.page.keyboard.press("Escape")
        self.settle()

    def multiselect_remove(self, option: str) -> None:
        self.page.get_by_label(f"Remove {option}", exact=True).first.click()
        self.settle()

    def type_into(self, label: str, text: str) -> None:
        box = self.page.get_by_label(label, exact=True).first
        box.fill(text)
        box.press("Enter")
        self.settle()

    def button(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).first.click()
        self.settle()

    def download(self, name: str) -> tuple[str, bytes]:
        """Click the download button ``name``; return the file's name and bytes."""
        with self.page.expect_download(timeout=TIMEOUT_S * 1000) as event:
            self.page.get_by_role("button", name=name, exact=True).first.click()
        path = event.value.path()
        data = Path(path).read_bytes()
        assert data, f"the download {name!r} gave an empty file"
        return event.value.suggested_filename, data

    # -- the map ----------------------------------------------------------------------------

    def frame(self):
        return self.page.frame_locator(MAP_FRAME).first

    def marker(self, office_id: str):
        return self.frame().locator(f".office-id-{office_id}")

    def click_marker(self, office_id: str) -> None:
        """Click an office's marker and wait until its state on the map changed."""
        marker = self.marker(office_id)
        marker.wait_for(timeout=TIMEOUT_S * 1000)
        before = marker.get_attribute("class")
        try:
            marker.click(timeout=5_000)
        except sync_api.Error:  # covered by a neighbour at city zoom: a direct DOM click
            marker.dispatch_event("click")
        wait_for(lambda: self.marker(office_id).count() == 1
                 and self.marker(office_id).get_attribute("class") != before,
                 f"the marker of {office_id} to change")
        self.settle()

    # -- the checks -------------------------------------------------------------------------

    def check(self, step: str) -> None:
        """No exception box, nothing new in the server log, no request left localhost."""
        boxes = self.page.locator(EXCEPTION)
        if boxes.count():
            self.page.screenshot(path=str(ARTIFACTS / f"day_{step}.png"), full_page=True)
        assert boxes.count() == 0, f"{step}: an exception box: {boxes.all_inner_texts()}"
        text = self.log.read_text(errors="replace")
        new, self.log_read = text[self.log_read:], len(text)
        assert not SERVER_ERRORS.search(new), f"{step}: the server logged an exception:\n{new}"
        assert not self.outside, f"{step}: requests left localhost: {self.outside}"


@contextmanager
def served_day(data_dir: Path, folder: Path, env: dict[str, str] | None = None
               ) -> Iterator[Day]:
    """The app on ``data_dir`` (``env`` added), its log in ``folder``, and Chromium on it."""
    log = folder / "server.log"
    with dashboard_server(data_dir, env=env, log_path=log) as (url, _), \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking"])
        yield Day(browser, url, log)
        browser.close()


@pytest.fixture(scope="module")
def day(bundle_dir: Path, tmp_path_factory):
    ARTIFACTS.mkdir(exist_ok=True)
    folder = tmp_path_factory.mktemp("day")
    database = {scenariostore.DB_ENV_VAR: f"sqlite:///{folder / 'scenarios.sqlite'}"}
    with served_day(bundle_dir, folder, database) as day:
        yield day


@pytest.fixture(autouse=True)
def checked(day, request):
    yield
    day.check(request.node.name)


def test_the_day_opens_on_the_fy2015_counters(day):
    day.open()
    wait_for(lambda: len(day.cards()) >= 4, "the cards")
    assert day.cards()[0] == "0 人"  # nobody's counter is farther before any change
    day.marker("oe-branch").wait_for(timeout=TIMEOUT_S * 1000)


def test_the_2015_plan_reproduced_from_its_preset(day):
    day.choose(day.s("preset"), day.s("preset_plan2015"))
    closed = day.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    assert closed.inner_text().count("出張所") >= 7
    assert day.cards()[0] != "0 人"
    day.choose(day.s("preset"), day.s("preset_fy2015"))
    assert day.cards()[0] == "0 人"


def test_a_marker_closes_and_a_second_click_reopens_also_after_the_map_is_redrawn(day):
    start = day.cards()
    day.click_marker("oe-branch")
    assert "office-closed" in day.marker("oe-branch").get_attribute("class")
    assert day.cards() != start
    assert not day.page.get_by_text(re.compile("回クリックされました")).count()
    day.click_marker("oe-branch")
    assert "office-open" in day.marker("oe-branch").get_attribute("class")
    assert day.cards() == start
    # another store layer redraws the base map: its clicks count from zero again
    day.choose(day.s("store_source"), day.s("store_osm"))
    for state in ("office-closed", "office-open"):
        day.click_marker("oe-branch")
        assert state in day.marker("oe-branch").get_attribute("class")
    assert day.cards() == start


def save_as(day: Day, name: str) -> None:
    panel = day.page.get_by_text(day.s("saved_heading"), exact=True)
    if not day.page.get_by_label(day.s("saved_name"), exact=True).is_visible():
        panel.click()
    day.type_into(day.s("saved_name"), name)
    day.button(day.s("saved_save"))
    wait_for(lambda: day.params().get("saved") == name, f"{name} in the address")


def test_two_plans_are_saved(day):
    day.click_marker("oe-branch")
    day.click_marker("akitsu-branch")
    save_as(day, "案A")
    day.radio(day.s("click_downgrade"))
    day.click_marker("tobu-branch")
    assert "office-downgraded" in day.marker("tobu-branch").get_attribute("class")
    save_as(day, "案B")
    day.radio(day.s("click_close"))


def test_the_two_plans_compared_and_the_choice_kept_on_reload(day):
    day.go("page_compare")
    picker = day.s("compare_pick")
    chosen = day.page.locator('[data-testid="stMultiSelect"]').filter(has_text=picker)
    for label in (day.s("compare_current"), day.s("preset_reorganisation")):
        day.multiselect_remove(label)
    for label in ("案A (v1)", "案B (v1)"):
        day.multiselect_add(picker, label)
    table = day.page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(timeout=TIMEOUT_S * 1000)
    before = chosen.first.inner_text()
    assert "案A" in before and "案B" in before
    day.page.reload()
    day.settle()
    after = day.page.locator('[data-testid="stMultiSelect"]').filter(has_text=picker).first
    wait_for(lambda: "案A" in after.inner_text() and "案B" in after.inner_text(),
             "the compared plans after a reload")


def test_a_phased_plan_with_a_step_refused_in_plain_words(day):
    day.page.get_by_label(day.s("phases_new_label"), exact=True).fill("第1段階")
    day.button(day.s("phases_add"))
    assert day.page.get_by_text(re.compile("第1段階")).count()
    # the sidebar reopens 大江: a later step may not reopen what an earlier one closed
    day.go("page_map")
    day.click_marker("oe-branch")
    day.go("page_compare")
    date = day.page.get_by_label(day.s("phases_date"), exact=True).first
    date.locator('[role="spinbutton"]').first.click()
    day.page.keyboard.type("20300401")
    day.page.keyboard.press("Tab")
    day.settle()
    day.page.get_by_label(day.s("phases_new_label"), exact=True).fill("第2段階")
    day.button(day.s("phases_add"))
    refusal = day.page.locator('[data-testid="stAlertContentError"]')
    refusal.first.wait_for(timeout=TIMEOUT_S * 1000)
    text = refusal.first.inner_text()
    assert "大江出張所" in text, text
    assert "oe-branch" not in text and re.search("[a-z]{4,}", text) is None, text
    day.go("page_map")
    day.click_marker("oe-branch")


def test_a_shared_link_shows_the_same_cards_in_a_fresh_browser(day):
    day.go("page_map")
    cards = day.cards()
    address = day.page.evaluate("document.location.href")
    other = day.new_context()
    try:
        page = other.new_page()
        page.goto(address, wait_until="commit")
        wait_for(lambda: len(day.cards(page)) >= 4, "the shared link's cards")
        day.settle(page)
        assert day.cards(page) == cards
    finally:
        other.close()


def test_the_typed_title_and_presentation_mode_survive_a_reload(day):
    day.go("page_briefing")
    day.type_into(day.s("briefing_title"), "大江と秋津の案")
    assert day.page.get_by_role("heading", name="大江と秋津の案").count()
    day.page.reload()
    day.settle()
    assert day.page.get_by_role("heading", name="大江と秋津の案").count()
    day.page.get_by_text(day.s("briefing_present"), exact=True).click()
    day.settle()
    day.page.reload()
    day.settle()
    assert not day.page.locator('[data-testid="stSidebar"]').is_visible()
    # projected at 1920x1080, the legend stands on the screen in type read from the back
    wide = day.new_context({"width": 1920, "height": 1080})
    try:
        page = wide.new_page()
        page.goto(day.page.evaluate("document.location.href"), wait_until="commit")
        wait_for(lambda: page.locator(MAP_FRAME).count() == 2, "the two briefing maps")
        day.settle(page)
        legend = page.locator('[data-testid="stHtml"] div[style*="font-size"]').filter(
            has_text=day.s("colour_after")).first
        legend.wait_for(timeout=TIMEOUT_S * 1000)
        box = legend.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 1080, box
        size = float(legend.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px"))
        assert size >= 18, size
        page.screenshot(path=str(ARTIFACTS / "day_presentation_1920x1080.png"))
    finally:
        wide.close()
    day.page.get_by_text(day.s("briefing_present"), exact=True).click()
    day.settle()
    assert day.page.locator('[data-testid="stSidebar"]').is_visible()


def opened(name: str, data: bytes) -> object:
    """Open a downloaded file with the library a planner's program would use."""
    from openpyxl import load_workbook
    from PIL import Image
    from pypdf import PdfReader

    suffix = Path(name).suffix
    if suffix == ".xlsx":
        return load_workbook(io.BytesIO(data))
    if suffix == ".pdf":
        reader = PdfReader(io.BytesIO(data))
        assert len(reader.pages) >= 1, name
        return reader
    if suffix == ".png":
        image = Image.open(io.BytesIO(data))
        image.verify()
        return image
    if suffix == ".csv":
        table = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
        assert len(table) >= 1, name
        return table
    if suffix == ".geojson":
        features = json.loads(data)["features"]
        assert features, name
        return features
    raise AssertionError(f"unexpected download {name}")


def download_every_file(day: Day) -> dict[str, object]:
    """Click every download button of the page; each file opened (name -> opened file)."""
    buttons = day.page.locator('[data-testid="stDownloadButton"] button')
    names = buttons.all_inner_texts()
    assert names, "no download button on the page"
    files = {}
    for index in range(len(names)):
        with day.page.expect_download(timeout=TIMEOUT_S * 1000) as event:
            buttons.nth(index).click()
        data = Path(event.value.path()).read_bytes()
        assert data, f"the download {names[index]!r} gave nothing"
        files[event.value.suggested_filename] = opened(event.value.suggested_filename, data)
    return files


def test_every_briefing_file_opens(day):
    files = download_every_file(day)
    assert {Path(name).suffix for name in files} == {".png", ".pdf"}
    handout = next(reader for name, reader in files.items() if name.endswith("handout_A4.pdf"))
    assert "大江と秋津の案" in handout.pages[0].extract_text()
    assert len(files) == 5  # slide PNG and PDF, handout, residents' handout, leaflets


def test_every_table_download_opens(day):
    day.go("page_tables")
    files = download_every_file(day)
    workbook = files["madoguchi_scenario.xlsx"]
    assert workbook.sheetnames[:3] == ["校区別", "市全体", "窓口"]
    offices = files["offices.csv"]
    assert "シナリオでの状態" in offices.columns
    zones = files["zones_district.csv"]
    assert zones["人口"].dtype.kind in "if"  # numbers as numbers, not '740,171'


def test_a_marker_closes_from_the_keyboard_with_a_focus_ring(day):
    day.go("page_map")
    closed = "office-closed" in day.marker("oe-branch").get_attribute("class")
    states = ("office-open", "office-closed") if closed else ("office-closed", "office-open")
    for state in states:
        marker = day.marker("oe-branch")
        marker.focus()
        ring = marker.evaluate("e => getComputedStyle(e).outlineStyle + ' ' + "
                               "getComputedStyle(e).outlineWidth")
        assert ring == "solid 3px", ring
        before = marker.get_attribute("class")
        day.page.keyboard.press("Enter")
        wait_for(lambda b=before: day.marker("oe-branch").get_attribute("class") != b,
                 "the marker to change from the keyboard")
        day.settle()
        assert state in day.marker("oe-branch").get_attribute("class")


MODE_ROUTE = ("walk", "transit", "drive", "transit", "walk", "drive")
"""From car: every mode entered from, and left for, every other."""
PAGES = ("page_map", "page_briefing", "page_tables", "page_suggest", "page_compare",
         "page_sources")


def test_every_mode_both_ways_on_every_page(day):
    for mode in MODE_ROUTE:
        day.radio(day.s(f"mode_{mode}"), within=day.page.locator('[data-testid="stSidebar"]'))
        for page in PAGES:
            day.go(page)
            day.check(f"{mode} {page}")
        if mode == "transit":
            day.go("page_map")
            assert day.page.get_by_text(re.compile("九州産交バス")).count()


def test_adding_a_site_keeps_the_number_of_counters_kept(day):
    day.go("page_suggest")
    thumb = day.page.locator('[data-testid="stSliderThumbValue"]').first
    wait_for(lambda: thumb.inner_text() == "13", "the default 13 counters kept")
    assert not day.page.get_by_text("Coordinates of a click").count()  # no developer note
    day.page.get_by_text(day.s("suggest_site_heading"), exact=True).click()
    day.page.get_by_label(day.s("suggest_site_name"), exact=True).fill("新庁舎")
    day.page.get_by_label(day.s("suggest_site_latlon"), exact=True).fill("32.84,130.76")
    day.button(day.s("suggest_site_add"))
    assert day.page.get_by_text("新庁舎: 32.84000, 130.76000").count()
    thumb = day.page.locator('[data-testid="stSliderThumbValue"]').first
    assert thumb.inner_text() == "13"
    kept = day.page.locator('[data-testid="stMetric"]').first
    kept.hover()
    assert day.page.get_by_text(re.compile("13")).count()


def test_the_day_in_english_with_every_file_in_english(day):
    day.page.get_by_text("English", exact=True).first.click()
    day.lang = "en"
    day.settle()
    for page in PAGES:
        day.go(page)
        day.check(f"English {page}")
    day.go("page_tables")
    files = download_every_file(day)
    assert files["madoguchi_scenario.xlsx"].sheetnames[:3] == ["By school district", "City",
                                                               "Offices"]
    assert "State in the scenario" in files["offices.csv"].columns
    day.go("page_briefing")
    files = download_every_file(day)
    handout = next(reader for name, reader in files.items() if name.endswith("handout_A4.pdf"))
    assert "People whose nearest counter gets farther" in handout.pages[0].extract_text()
    day.page.get_by_text("日本語", exact=True).first.click()
    day.lang = "ja"
    day.settle()
    closed = day.page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    assert "大江出張所" in closed.inner_text() and "秋津出張所" in closed.inner_text()
