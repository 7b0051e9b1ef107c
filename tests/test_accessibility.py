"""Accessibility of every page (issue 21), in Chromium: axe-core, and the keyboard alone.

axe-core (the copy bundled with axe-playwright-python: nothing is fetched) runs in the top
document and in every frame of a page, since streamlit-folium draws each map in an iframe of
its own. Every page is checked in Japanese and in English, the briefing also in presentation
mode; a violation of impact serious or critical fails, listed with its rule, the element and
the rule's help. The page and each map frame must say the chosen language (``<html lang>``).

The keyboard tests press Tab, Shift+Tab, Enter, Escape and type, and never click: a planner
closes an office from the sidebar's picker and from a map marker, and reaches the office-set
(preset) and travel-mode selectors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_planner_day import MAP_FRAME, Day, served_day, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.bundle]

axe = pytest.importorskip("axe_playwright_python.base")
sync_api = pytest.importorskip("playwright.sync_api")

FAILING_IMPACTS = ("serious", "critical")
RUN_AXE = "axe.run(document, {resultTypes: ['violations'], iframes: false})"
"""Each frame is checked on its own (axe is put into every frame), so axe does not wait for
an answer from the frames inside it."""
PAGES = ("page_map", "page_briefing", "page_tables", "page_suggest", "page_compare",
         "page_sources")
MAX_TABS = 400
"""Tab presses allowed to reach a control: the map page has about 200 stops in all (the
sidebar, the cards' help, the map's districts, stores, offices and buttons)."""
FOCUSED = """() => {
  let element = document.activeElement;
  while (element && element.tagName === 'IFRAME' && element.contentDocument) {
    element = element.contentDocument.activeElement;
  }
  if (!element) return {widget: '', marker: ''};
  const container = element.closest('[data-testid="stElementContainer"]');
  const label = container && container.querySelector('[data-testid="stWidgetLabel"]');
  const marker = element.closest('.office-marker');
  return {widget: label ? label.innerText.trim() : '',
          marker: marker ? marker.getAttribute('class') : ''};
}"""
"""What has the keyboard focus, in the page or inside a map frame: the label of the widget
it is in, and the classes of the office marker it is."""


@pytest.fixture(scope="module")
def day(bundle_dir: Path, tmp_path_factory):
    with served_day(bundle_dir, tmp_path_factory.mktemp("accessibility")) as day:
        yield day


def fresh_session(day: Day) -> None:
    """Open the map page in a new session (Japanese, the FY2015 offices), its map drawn."""
    day.open()
    day.lang = "ja"
    wait_for(lambda: len(day.cards()) >= 4, "the cards")
    wait_for_maps(day)


def map_frames(day: Day) -> list[Any]:
    """The frames of the page's maps: the instant map's, and streamlit-folium's."""
    return [handle.content_frame() for handle in day.page.locator(MAP_FRAME).element_handles()]


def wait_for_maps(day: Day) -> None:
    """Wait until every map of the page shows its office markers."""
    day.settle()
    wait_for(lambda: day.page.locator(MAP_FRAME).count() == len(map_frames(day))
             and all(frame.locator(".office-marker").count() > 0
                     for frame in map_frames(day)), "the maps' markers")


def axe_findings(day: Day, where: str) -> list[str]:
    """Serious and critical violations found by axe-core in the page and in each frame."""
    findings = []
    for frame in day.page.frames:
        frame.evaluate(axe.AXE_SCRIPT)
        results = frame.evaluate(RUN_AXE)
        document = "page" if frame == day.page.main_frame else f"frame {frame.url.split('?')[0]}"
        findings += [f"{where}, {document}: {rule['id']} ({rule['impact']}) at "
                     f"{' '.join(node['target'])}: {rule['help']}"
                     for rule in results["violations"] if rule["impact"] in FAILING_IMPACTS
                     for node in rule["nodes"]]
    return findings


def language_findings(day: Day, where: str) -> list[str]:
    """The page and map frames whose ``<html lang>`` is not the chosen language."""
    documents = [("page", day.page.main_frame)] + [("map frame", f) for f in map_frames(day)]
    said = [(name, frame.evaluate("document.documentElement.lang"))
            for name, frame in documents]
    return [f"{where}, {name}: lang={value!r}, not {day.lang!r}" for name, value in said
            if value != day.lang]


def checked(day: Day, where: str) -> list[str]:
    """Every finding on the page as it is now, once its maps are drawn."""
    wait_for_maps(day)
    day.check(where)
    return language_findings(day, where) + axe_findings(day, where)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_no_serious_or_critical_violation_on_any_page(day, language):
    fresh_session(day)
    if language == "en":
        day.radio("English")
        day.lang = "en"
    findings = []
    for page in PAGES:
        day.go(page)
        findings += checked(day, f"{language} {page}")
        if page == "page_briefing":
            present = day.page.get_by_text(day.s("briefing_present"), exact=True)
            present.click()
            day.settle()
            findings += checked(day, f"{language} {page} presentation mode")
            present.click()
            day.settle()
    assert not findings, "\n".join(findings)


def focus(day: Day) -> dict[str, str]:
    return day.page.evaluate(FOCUSED)


def tab_to(day: Day, reached, what: str, *, key: str = "Tab") -> dict[str, str]:
    """Press ``key`` (Tab or Shift+Tab) until the focus is where ``reached`` says; return it."""
    for _ in range(MAX_TABS):
        day.page.keyboard.press(key)
        now = focus(day)
        if reached(now):
            return now
    raise AssertionError(f"{what} was not reached with {MAX_TABS} presses of {key}")


def test_an_office_closes_from_the_sidebar_picker_with_the_keyboard_alone(day):
    fresh_session(day)
    before = day.cards()
    tab_to(day, lambda now: now["widget"] == day.s("closed"), "the closure picker")
    day.page.keyboard.type("大江")
    day.page.keyboard.press("Enter")
    day.page.keyboard.press("Escape")
    day.settle()
    wait_for(lambda: day.cards() != before, "the cards to change")
    assert "office-closed" in day.marker("oe-branch").get_attribute("class")
    assert day.cards()[0] != "0 人"


def test_an_office_closes_on_the_map_with_the_keyboard_alone(day):
    fresh_session(day)
    before = day.cards()
    marker = tab_to(day, lambda now: "office-open" in now["marker"], "an office marker")
    office_id = re.search(r"office-id-(\S+)", marker["marker"]).group(1)
    day.page.keyboard.press("Enter")
    wait_for(lambda: "office-closed" in day.marker(office_id).get_attribute("class"),
             f"the marker of {office_id} to show it closed", timeout=60)
    day.settle()
    assert day.cards() != before


def test_the_preset_and_mode_selectors_are_reached_and_the_preset_chosen_by_keyboard(day):
    fresh_session(day)
    before = day.cards()
    tab_to(day, lambda now: now["widget"] == day.s("mode"), "the travel-mode selector")
    tab_to(day, lambda now: now["widget"] == day.s("preset"), "the preset selector",
           key="Shift+Tab")
    day.page.keyboard.type(day.s("preset_plan2015"))
    day.page.keyboard.press("Enter")
    day.settle()
    wait_for(lambda: day.cards() != before, "the cards of the 2015 plan")
    assert "office-closed" in day.marker("oe-branch").get_attribute("class")
