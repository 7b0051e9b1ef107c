"""Browser benchmark: what a planner feels, timed in headless Chromium against the app.

``python -m dashboard.bench [--runs N]`` (or ``make bench-ui``) starts the dashboard on a free
localhost port with ``python -m dashboard`` (data from ``MADOGUCHI_DATA`` as for the app, the
launcher's safe settings), drives Debian Chromium through Playwright and prints, as median
and range over N runs, the time to: the first map after a server start, a new session, a click
on an office marker, a preset, a store-source switch, a language switch and the briefing PNG /
PDF. An untimed server start first warms the disk cache; then each run restarts the server.

The instant map (issue 22) is timed from its own performance marks (``click-N``, ``zones-N``,
``cards-N``, ``confirmed-N``): click -> zones recoloured, -> the map's cards updated, -> the
server's confirmed cards, for several clicks per run, quiet and while four other browser
sessions click offices at the same time; with the server's resident memory (peak, with five
sessions, per session above one) and the map frame's JavaScript heap.
The issue's targets are printed beside the figures, never asserted, with each figure's
ratio to a plain page reload measured in the same run.

The benchmark relies only on what a user sees (office markers, card values, widget labels in
the Japanese UI). A step it cannot find is reported as "not measured: <why>"; the others go on.
All traffic stays on localhost: other requests are aborted.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
except ImportError:  # the project's test extra; main() says how to install it
    HAS_PLAYWRIGHT = False
else:
    HAS_PLAYWRIGHT = True

from dashboard.i18n import STRINGS
from geo import settings
from geo.settings import DATA_ENV_VAR

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]
MAP_FRAME = ('iframe[title="dashboard.instant_map.instant_map"], '
             'iframe[title="streamlit_folium.st_folium"]')
"""The map page's instant map, or the folium maps of the other pages."""
MARKER = ".office-marker"
CARD_VALUE = '[data-testid="stMetricValue"]'
STALE = '[data-stale="true"]'  # Streamlit greys out elements a rerun has not redrawn yet
STORES_DRAWN = """pane => Array.from(pane.querySelectorAll('.marker-cluster'))
    .reduce((sum, cluster) => sum + (parseInt(cluster.innerText) || 0), 0)
    + pane.querySelectorAll('.store-dot').length"""
NOT_LOCAL = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/)(https?|wss?)://")
SERVER_START_S = 90.0
VIEWPORT = {"width": 1600, "height": 1200}

STEPS = {  # step name -> (printed label, target in seconds or None)
    "server_ready": ("server start -> health check answers", None),
    "first_map": ("first map after a server start", 8.0),
    "new_session": ("new session on a running server", 3.0),
    "reload": ("plain page reload, no change (baseline)", None),
    "click": ("click on an office -> updated page cards", 1.0),
    "instant_zones": ("instant map: click -> zones recoloured", 0.3),
    "instant_cards": ("instant map: click -> map cards updated", 0.3),
    "instant_confirmed": ("instant map: click -> server-confirmed cards", None),
    "instant_zones_load": ("  same, 4 other sessions clicking: zones", 0.3),
    "instant_cards_load": ("  same, 4 other sessions clicking: map cards", 0.3),
    "instant_confirmed_load": ("  same, 4 other sessions clicking: confirmed", None),
    "preset": ("preset -> updated cards", None),
    "store_switch": ("store-source switch -> updated map/cards", 1.5),
    "language": ("language switch -> page redrawn in English", None),
    "briefing_png": ("briefing PNG download", None),
    "briefing_pdf": ("briefing PDF download", None),
}
"""The printed rows in order; the targets are issue 9's for this 2-core machine."""


MEMORY = {
    "server_peak": "server resident memory, peak with 5 sessions",
    "server_per_session": "server memory per session (above one)",
    "map_heap": "instant map frame, JavaScript heap",
}
INSTANT_CLICKS = 4
"""Clicks timed per run on the instant map, quiet and under load (each toggles an office)."""
INSTANT_OFFICES = ("oe-branch", "tobu-branch", "akitsu-branch", "nanbu-branch")
BUSY_SESSIONS = 4
BUSY_CLICKING = """body => {
  const ids = Array.from(document.querySelectorAll('.office-marker'))
    .map(m => [...m.classList].find(c => c.startsWith('office-id-')));
  window.busyClicks = setInterval(() => {
    const id = ids[Math.floor(Math.random() * ids.length)];
    document.querySelector('.' + id).dispatchEvent(new MouseEvent('click', {bubbles: true}));
  }, 700 + Math.random() * 600);
}"""
"""A background session clicks a random office every 0.7-1.3 s, inside its own map frame."""
INSTANT_FRAME = 'iframe[title="dashboard.instant_map.instant_map"]'


class StepNotFound(Exception):
    """A step whose page element could not be found or did not update in time."""


@dataclass
class Timings:
    """Seconds per step over the runs, and why a step was not measured."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    ratios: dict[str, list[float]] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)
    memory_mb: dict[str, list[float]] = field(default_factory=dict)
    """``server_peak`` (five sessions), ``server_per_session`` (above one session) and
    ``map_heap`` (the instant map frame's JavaScript heap), MB, one value per run."""

    def add_run(self, run: dict[str, float]) -> None:
        """Record one run's seconds, and each step's ratio to that run's reload."""
        baseline = run.get("reload")
        for step, value in run.items():
            self.seconds.setdefault(step, []).append(value)
            if baseline:
                self.ratios.setdefault(step, []).append(value / baseline)


def add_clicks(timings: Timings, step: str, seconds: list[float], baseline: float | None
               ) -> None:
    """Record several timings of one step in a run (the instant map's clicks)."""
    timings.seconds.setdefault(step, []).extend(seconds)
    if baseline:
        timings.ratios.setdefault(step, []).extend(value / baseline for value in seconds)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that no process listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def describe(seconds: list[float]) -> str:
    """Return ``median (min-max, n=N)`` in seconds, e.g. ``1.20 s (0.90-2.00, n=3)``, or
    in milliseconds below 0.1 s (``4 ms (3-9, n=8)``)."""
    if not seconds:
        msg = "no timings to describe"
        raise ValueError(msg)
    if statistics.median(seconds) < 0.1:  # the instant map's figures: milliseconds
        return (f"{1000 * statistics.median(seconds):.0f} ms "
                f"({1000 * min(seconds):.0f}-{1000 * max(seconds):.0f}, n={len(seconds)})")
    return (f"{statistics.median(seconds):.2f} s "
            f"({min(seconds):.2f}-{max(seconds):.2f}, n={len(seconds)})")


def report(timings: Timings) -> list[str]:
    """Return the printed table: one line per step with median, range, target and ratio."""
    lines = [f"{'step':<46} {'median (range, runs)':<28} {'target':<18} x reload"]
    for step, (label, target) in STEPS.items():
        if step not in timings.seconds:
            why = timings.not_measured.get(step, "no run reached this step")
            lines.append(f"{label:<46} not measured: {why}")
            continue
        median = statistics.median(timings.seconds[step])
        goal = "" if target is None else (
            f"<= {target:.1f} s " + ("met" if median <= target else "MISSED"))
        ratios = timings.ratios.get(step)
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
        lines.append(f"{label:<46} {describe(timings.seconds[step]):<28} {goal:<18} {ratio}")
        if step in timings.not_measured:
            lines.append(f"{'':<46} (some runs not measured: {timings.not_measured[step]})")
    for name, what in MEMORY.items():
        values = timings.memory_mb.get(name)
        if values:
            lines.append(f"{what:<46} {statistics.median(values):.0f} MB "
                         f"({min(values):.0f}-{max(values):.0f}, n={len(values)})")
    return lines


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str,
               step_s: float = 0.02) -> float:
    """Poll ``condition`` until it holds; return the seconds waited, or raise StepNotFound."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            msg = f"{what} did not happen within {timeout_s:g} s"
            raise StepNotFound(msg)
        time.sleep(step_s)
    return time.monotonic() - started


@contextmanager
def dashboard_server(data_dir: Path, *, cwd: Path = ROOT, python_path: Sequence[Path] = (),
                     address: str | None = "127.0.0.1", env: dict[str, str] | None = None,
                     log_path: Path | None = None) -> Iterator[tuple[str, float]]:
    """Run the app with ``python -m dashboard`` on a free port; yield its URL and start time.

    ``cwd`` is the folder it is started from, ``python_path`` folders put after this
    checkout on ``PYTHONPATH``, ``address`` what it listens on (``None``: the launcher's
    own), ``env`` added environment variables (e.g. the scenario database); the server's
    output goes to ``log_path`` when given (a test reads it for exceptions). The server is
    terminated (then killed) on leaving, whatever happened.
    """
    port = free_port()
    # this checkout's code, even when another copy of the project is installed in the venv
    path = os.pathsep.join(filter(None, [str(ROOT), *map(str, python_path),
                                         os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **(env or {}), DATA_ENV_VAR: str(data_dir), "PYTHONPATH": path}
    command = [sys.executable, "-m", "dashboard", "--server.port", str(port)]
    if address is not None:
        command += ["--server.address", address]
    # the log goes to a file, not a pipe: a full pipe would block the server
    opened = open(log_path, "w+b") if log_path is not None else tempfile.TemporaryFile()
    with opened as log:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: _healthy(url) or process.poll() is not None,
                       timeout_s=SERVER_START_S, what="the server's health check", step_s=0.1)
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                msg = f"streamlit exited with code {process.returncode}: {output[-500:]}"
                raise RuntimeError(msg)
            yield url, started
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Session:
    """One browser page on the dashboard, with waits on what a user sees."""

    def __init__(self, browser: Any, url: str, *, timeout_s: float) -> None:
        self.context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.context.route(NOT_LOCAL, lambda route: route.abort())
        self.page = self.context.new_page()
        self.url = url
        self.timeout_s = timeout_s

    def close(self) -> None:
        self.context.close()

    def open(self) -> float:
        """Open the app; return the seconds until office markers and cards are drawn."""
        started = time.monotonic()
        self.page.goto(self.url, wait_until="commit")
        self.wait_for_map()
        return time.monotonic() - started

    def reload(self) -> float:
        started = time.monotonic()
        self.page.reload(wait_until="commit")
        self.wait_for_map()
        return time.monotonic() - started

    def markers(self) -> Any:
        return self.page.frame_locator(MAP_FRAME).first.locator(MARKER)

    def cards(self) -> list[str]:
        return list(self.page.locator(CARD_VALUE).all_inner_texts())

    def idle(self) -> bool:
        """True when no element awaits a rerun and the map shows its office markers."""
        return (self.page.locator(STALE).count() == 0 and self.markers().count() > 0
                and self.page.locator(CARD_VALUE).count() > 0)

    def wait_for_map(self) -> None:
        wait_until(self.idle, timeout_s=self.timeout_s, what="the map's office markers")

    def settle(self) -> None:
        """Wait until reruns have stopped for a moment (untimed, between steps)."""
        for _ in range(3):
            self.wait_for_map()
            time.sleep(0.3)

    def stores_drawn(self) -> int:
        """Convenience stores on the map: clustered counts plus single store dots."""
        pane = self.page.frame_locator(MAP_FRAME).first.locator(".leaflet-marker-pane")
        return int(pane.first.evaluate(STORES_DRAWN)) if pane.count() else 0

    def timed_change(self, action: Callable[[], None], changed: Callable[[], bool], *,
                     what: str) -> float:
        """Run ``action``; return the seconds until ``changed()`` holds."""
        started = time.monotonic()
        action()
        wait_until(changed, timeout_s=self.timeout_s, what=what)
        return time.monotonic() - started

    def timed_cards(self, action: Callable[[], None], *, what: str) -> float:
        """Run ``action``; return the seconds until the metric cards show other values."""
        before = self.cards()
        return self.timed_change(action, lambda: self.cards() not in (before, []), what=what)

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the sidebar select box labelled ``label``."""
        box = self.page.get_by_role("combobox", name=label)
        if box.count() == 0:
            msg = f"no select box labelled {label!r}"
            raise StepNotFound(msg)
        box.first.click(timeout=5_000)
        choice = self.page.get_by_role("option").filter(has_text=option)
        try:
            choice.first.click(timeout=5_000)
        except PlaywrightError as error:  # a timeout: the option is not offered
            self.page.keyboard.press("Escape")  # close the list for the next steps
            msg = f"no option {option!r} under {label!r}"
            raise StepNotFound(msg) from error


def _text(key: str, fallback: str, *, english: bool = False) -> str:
    """A UI string from dashboard.i18n, or its current wording if the key is gone."""
    pair = STRINGS.get(key)
    return fallback if pair is None else pair[1 if english else 0]


def click_office(session: Session) -> float:
    """Click an open branch office's marker (大江 if shown) and time the updated cards."""
    frame = session.page.frame_locator(MAP_FRAME).first
    marker = frame.locator(".office-id-oe-branch")
    if marker.count() == 0:
        marker = frame.locator(f"{MARKER}.office-open")
    if marker.count() == 0:
        msg = "no open office marker on the map"
        raise StepNotFound(msg)

    def click() -> None:
        try:
            marker.first.click(timeout=5_000)
        except PlaywrightError:  # covered by another marker at city zoom: a direct DOM click
            marker.first.dispatch_event("click")

    return session.timed_cards(click, what="the cards after a marker click")


def choose_preset(session: Session) -> float:
    label = _text("preset", "窓口の構成")
    option = _text("preset_plan2015", "2015年の再編計画")
    return session.timed_cards(lambda: session.choose(label, option),
                               what="the cards after a preset")


def switch_stores(session: Session) -> float:
    label = _text("store_source", "コンビニのデータ")
    option = _text("store_lawson2013", "ローソン 2013")
    stores, cards = session.stores_drawn(), session.cards()

    def updated() -> bool:  # under the counter measure stores do not count: the map shows them
        return session.markers().count() > 0 and (
            session.stores_drawn() not in (stores, 0) or session.cards() not in (cards, []))

    return session.timed_change(lambda: session.choose(label, option), updated,
                                what="the map or cards after a store switch")


def switch_language(session: Session) -> float:
    heading = _text("map_heading", "Map: road distance", english=True)

    def click() -> None:
        session.page.get_by_text("English", exact=True).first.click(timeout=5_000)

    return session.timed_change(
        click, lambda: session.page.get_by_text(heading).count() > 0 and session.idle(),
        what="the English page")


def download_briefing(session: Session, fmt: str) -> float:
    """Open the briefing page (untimed) if needed, then time a download from click to file."""
    if not session.page.url.rstrip("/").endswith("/briefing"):
        names = [_text("page_briefing", "説明会用表示"),
                 _text("page_briefing", "Briefing view", english=True)]
        link = session.page.get_by_role("link").filter(has_text=re.compile("|".join(names)))
        if link.count() == 0:
            msg = "no link to the briefing page"
            raise StepNotFound(msg)
        link.first.click()
    button = session.page.get_by_role("button").filter(has_text=re.compile(fmt, re.IGNORECASE))
    wait_until(lambda: button.count() > 0 and session.page.locator(STALE).count() == 0,
               timeout_s=session.timeout_s, what=f"the {fmt.upper()} button")
    started = time.monotonic()
    with session.page.expect_download(timeout=session.timeout_s * 1000) as download:
        button.first.click()
    download.value.path()  # returns once the file is complete
    return time.monotonic() - started


def server_memory_mb() -> float:
    """Resident memory of the dashboard servers this process started, MB."""
    import psutil  # type: ignore[import-untyped]  # the test extra, without its stubs

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "dashboard" in " ".join(child.cmdline()):
                total += child.memory_info().rss
        except psutil.Error:  # a browser process that has just ended
            continue
    return total / 2**20


def _marks(page: Any) -> dict[str, Any]:
    """The instant map's performance marks as the page keeps them (epoch milliseconds; a
    list of times for ``map-drawn``), which outlive a map frame that Streamlit replaces."""
    marks: dict[str, Any] = page.evaluate("() => window.instantMapMarks || {}")
    return marks


def _confirmed(page: Any, seq: int, during: Callable[[], None]) -> bool:
    """Whether the instant map shows the server's figures of its click ``seq``."""
    during()
    return f"confirmed-{seq}" in _marks(page)


def instant_clicks(session: Session, *, timeout_s: float,
                   during: Callable[[], None] = lambda: None) -> dict[str, list[float]]:
    """Click ``INSTANT_OFFICES`` on the instant map one after the other, each once the
    previous one is confirmed; return the seconds from each click to its zones, map cards
    and confirmed cards (from the map's performance marks). ``during`` runs while waiting
    (e.g. sampling memory)."""
    frame = session.page.frame_locator(INSTANT_FRAME).first
    if frame.locator(".office-marker").count() == 0:
        msg = "no instant map on the page"
        raise StepNotFound(msg)
    found: dict[str, list[float]] = {"zones": [], "cards": [], "confirmed": []}
    for office_id in INSTANT_OFFICES[:INSTANT_CLICKS]:
        seq = int(frame.locator("body").evaluate("() => window.instantMap.seq")) + 1
        frame.locator(f".office-id-{office_id}").dispatch_event("click")
        wait_until(partial(_confirmed, session.page, seq, during), timeout_s=timeout_s,
                   what=f"the confirmed figures of click {seq}")
        marks = _marks(session.page)
        for name, seconds in found.items():
            seconds.append((marks[f"{name}-{seq}"] - marks[f"click-{seq}"]) / 1000)
    return found


def time_instant_map(browser: Any, url: str, session: Session, timings: Timings,
                     baseline: float | None, *, timeout_s: float) -> None:
    """The instant map's clicks quiet, then with ``BUSY_SESSIONS`` others clicking, and the
    memory figures; into ``timings``."""
    session.settle()
    alone_mb = server_memory_mb()
    quiet = instant_clicks(session, timeout_s=timeout_s)
    busy = [Session(browser, url, timeout_s=timeout_s) for _ in range(BUSY_SESSIONS)]
    peak = [server_memory_mb()]
    try:
        for other in busy:
            other.open()
            other.page.frame_locator(INSTANT_FRAME).first.locator("body").evaluate(
                BUSY_CLICKING)
        loaded = instant_clicks(session, timeout_s=timeout_s,
                                during=lambda: peak.append(server_memory_mb()))
    finally:
        for other in busy:
            other.close()
    for name in ("zones", "cards", "confirmed"):
        add_clicks(timings, f"instant_{name}", quiet[name], baseline)
        add_clicks(timings, f"instant_{name}_load", loaded[name], baseline)
    drawn = len(_marks(session.page).get("map-drawn", []))
    print(f"  instant map: {2 * INSTANT_CLICKS} clicks, its frame drawn {drawn} time(s)",
          flush=True)
    heap = session.page.frame_locator(INSTANT_FRAME).first.locator("body").evaluate(
        "() => performance.memory ? performance.memory.usedJSHeapSize : null")
    for name, value in (("server_peak", max(peak)),
                        ("server_per_session", (max(peak) - alone_mb) / BUSY_SESSIONS),
                        ("map_heap", None if heap is None else heap / 2**20)):
        if value is not None:
            timings.memory_mb.setdefault(name, []).append(value)


def one_run(browser: Any, data_dir: Path, timings: Timings, *, timeout_s: float) -> None:
    """Start a server, measure every step once, stop the server; add the figures to timings."""
    run: dict[str, float] = {}
    with dashboard_server(data_dir) as (url, started):
        run["server_ready"] = time.monotonic() - started
        first = Session(browser, url, timeout_s=timeout_s)
        second = Session(browser, url, timeout_s=timeout_s)

        def first_map() -> float:
            first.open()
            return time.monotonic() - started

        steps: list[tuple[str, Callable[[], float]]] = [
            ("reload", partial(_settled, second, Session.reload)),
            ("click", partial(_settled, second, click_office)),
            ("preset", partial(_settled, second, choose_preset)),
            ("store_switch", partial(_settled, second, switch_stores)),
            ("language", partial(_settled, second, switch_language)),
            ("briefing_png", partial(download_briefing, second, "png")),
            ("briefing_pdf", partial(download_briefing, second, "pdf"))]
        try:
            if (_measure("first_map", first_map, run, timings)
                    and _measure("new_session", second.open, run, timings)):
                for step, measure in steps[:1]:
                    _measure(step, measure, run, timings)
                try:
                    time_instant_map(browser, url, first, timings, run.get("reload"),
                                     timeout_s=timeout_s)
                except (StepNotFound, PlaywrightError) as error:
                    why = str(error).splitlines()[0]
                    timings.not_measured["instant_zones"] = why
                    print(f"  instant map: not measured: {why}", flush=True)
                for step, measure in steps[1:]:
                    _measure(step, measure, run, timings)
        finally:
            second.close()
            first.close()
    timings.add_run(run)


def _settled(session: Session, measure: Callable[[Session], float]) -> float:
    """Wait (untimed) until the page is quiet, then time ``measure``."""
    session.settle()
    return measure(session)


def _measure(step: str, measure: Callable[[], float], run: dict[str, float],
             timings: Timings) -> bool:
    """Time one step into ``run``, or note why it was not measured; True if it was."""
    try:
        run[step] = measure()
    except (StepNotFound, PlaywrightError) as error:
        timings.not_measured[step] = str(error).splitlines()[0]
        print(f"  {STEPS[step][0]}: not measured: {timings.not_measured[step]}", flush=True)
        return False
    return True


def benchmark(data_dir: Path, *, runs: int, timeout_s: float) -> Timings:
    """Warm the disk cache with one untimed server start, then time ``runs`` runs."""
    timings = Timings()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            print("warm-up: one untimed server start (disk and OS cache)", flush=True)
            with dashboard_server(data_dir) as (url, _):
                warm = Session(browser, url, timeout_s=timeout_s)
                try:
                    warm.open()
                finally:
                    warm.close()
            for number in range(1, runs + 1):
                started = time.monotonic()
                one_run(browser, data_dir, timings, timeout_s=timeout_s)
                print(f"run {number}/{runs}: {time.monotonic() - started:.0f} s", flush=True)
        finally:
            browser.close()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.bench", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="server starts to time (default 5)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds one step may take before it is not measured (default 120)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.timeout <= 0:
        parser.exit(2, "error: --runs must be at least 1 and --timeout positive\n")
    data = settings.data_dir()
    if not data.is_dir():
        parser.exit(2, f"error: no data directory {data} (set {DATA_ENV_VAR})\n")
    if not HAS_PLAYWRIGHT:
        parser.exit(2, "error: Playwright is missing (scripts/setup.sh --test installs it)\n")
    if not CHROMIUM.exists():
        parser.exit(2, f"error: {CHROMIUM} is missing (apt-get install -y chromium)\n")
    started = time.monotonic()
    timings = benchmark(data, runs=args.runs, timeout_s=args.timeout)
    print(f"\nbrowser benchmark, {time.strftime('%Y-%m-%d %H:%M')}, {args.runs} run(s), "
          f"{os.cpu_count()} cores, total {time.monotonic() - started:.0f} s")
    print("\n".join(report(timings)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
