"""Scenario links in a real browser (issue 10): Playwright driving Debian Chromium against
`streamlit run`. A link opens its view, a reload keeps it, a save puts the saved name into the
address, and junk in the address gives a message and the default view."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

from dashboard.bench import dashboard_server
from geo import scenariostore

pytestmark = [pytest.mark.browser, pytest.mark.bundle]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LOADED = '[data-testid="stMetricValue"]'
CLOSED = '[data-testid="stSidebar"] [data-testid="stMultiSelect"]'

if not CHROMIUM.exists():
    pytest.skip("Debian Chromium (/usr/bin/chromium) is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def app_url(bundle_dir: Path, tmp_path_factory):
    database = tmp_path_factory.mktemp("db") / "scenarios.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(scenariostore.DB_ENV_VAR, f"sqlite:///{database}")
        with dashboard_server(bundle_dir) as (url, _):
            yield url


@pytest.fixture(scope="module")
def page(app_url):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-background-networking"])
        yield browser.new_page(viewport={"width": 1600, "height": 1000})
        browser.close()


def _params(page) -> dict[str, str]:
    """The address bar's query parameters (``page.url`` can lag behind ``history.pushState``)."""
    address = page.evaluate("document.location.href")
    return {key: values[-1] for key, values in parse_qs(urlparse(address).query).items()}


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _wait_idle(page) -> None:
    """Wait until the app is not running (Streamlit shows its status widget meanwhile)."""
    page.wait_for_timeout(300)
    _wait_for(lambda: not page.locator('[data-testid="stStatusWidget"]').is_visible(),
              "the app to finish running")


def _closed_names(page) -> str:
    return page.locator(CLOSED).first.inner_text()


def test_a_link_opens_its_view_and_a_reload_keeps_it(page, app_url):
    page.goto(f"{app_url}/?base=fy2015&close=oe-branch,tobu-branch&measure=certificate")
    page.wait_for_selector(LOADED, timeout=120_000)
    _wait_for(lambda: "大江出張所" in _closed_names(page), "the closed offices")
    assert "東部出張所" in _closed_names(page)
    page.reload()
    page.wait_for_selector(LOADED, timeout=120_000)
    _wait_for(lambda: "大江出張所" in _closed_names(page), "the closed offices after a reload")
    assert _params(page) == {"base": "fy2015", "close": "oe-branch,tobu-branch",
                             "measure": "certificate"}


def test_a_save_puts_the_name_in_the_address_and_that_address_reopens_it(page, app_url):
    page.goto(f"{app_url}/?base=fy2015&close=akitsu-branch")
    page.wait_for_selector(LOADED, timeout=120_000)
    page.get_by_text("保存・読み込み").click()
    name = page.get_by_label("シナリオ名")
    name.fill("ブラウザ案")
    name.press("Enter")
    _wait_idle(page)  # a click made while the app reruns for the name can be dropped
    page.get_by_role("button", name="保存（同じ名前なら新しい版）").click()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _wait_for(lambda: _params(page) == {"saved": "ブラウザ案", "version": "1"},
                  "the saved name in the address")
    finally:
        page.screenshot(path=str(ARTIFACTS / "saved_panel.png"))
    page.goto(f"{app_url}/?saved={quote('ブラウザ案')}")
    page.wait_for_selector(LOADED, timeout=120_000)
    _wait_for(lambda: "秋津出張所" in _closed_names(page), "the saved scenario's offices")
    _wait_for(lambda: _params(page).get("version") == "1", "the version in the address")


def test_junk_in_the_address_gives_a_message_and_the_default_view(page, app_url):
    page.goto(f"{app_url}/?close=oe-branch&measure=teleport")
    page.wait_for_selector(LOADED, timeout=120_000)
    alert = page.locator('[data-testid="stAlert"]', has_text="URL のシナリオを読めない")
    alert.first.wait_for(timeout=30_000)
    assert "teleport" in alert.first.inner_text()
    _wait_for(lambda: _params(page) == {"base": "fy2015"}, "the default view's address")
