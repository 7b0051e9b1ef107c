"""The browser benchmark's own helpers (dashboard/bench.py): statistics and the printed table,
free-port choice, the localhost-only filter, bounded waits, argument errors and the server's
shut-down. No timing is asserted; the benchmark itself runs as ``make bench-ui``."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

pytest.importorskip("playwright.sync_api")
from dashboard import bench


def test_describe_gives_median_and_range():
    assert bench.describe([1.0, 3.0, 2.0]) == "2.00 s (1.00-3.00, n=3)"
    assert bench.describe([0.5, 1.5]) == "1.00 s (0.50-1.50, n=2)"
    with pytest.raises(ValueError, match="no timings"):
        bench.describe([])


def test_ratios_are_taken_against_the_same_runs_reload():
    timings = bench.Timings()
    timings.add_run({"reload": 2.0, "click": 1.0, "first_map": 10.0})
    timings.add_run({"reload": 4.0, "click": 1.0})
    assert timings.seconds["click"] == [1.0, 1.0]
    assert timings.ratios["click"] == [0.5, 0.25]
    assert timings.ratios["first_map"] == [5.0]
    timings.add_run({"click": 3.0})  # a run whose reload failed has no ratio
    assert timings.ratios["click"] == [0.5, 0.25]
    assert timings.seconds["click"] == [1.0, 1.0, 3.0]


def test_report_prints_targets_ratios_and_why_a_step_was_not_measured():
    timings = bench.Timings()
    timings.add_run({"reload": 2.0, "click": 0.8, "store_switch": 3.0})
    timings.add_run({"reload": 2.0, "click": 1.6, "store_switch": 1.0})
    timings.not_measured["language"] = "no English option"
    lines = {line.split("  ")[0]: line for line in bench.report(timings)[1:]}

    click = lines[bench.STEPS["click"][0]]
    assert "1.20 s (0.80-1.60, n=2)" in click
    assert "<= 1.0 s MISSED" in click
    assert click.rstrip().endswith("0.60")  # median of 0.4 and 0.8
    store = lines[bench.STEPS["store_switch"][0]]
    assert "2.00 s (1.00-3.00, n=2)" in store and "MISSED" in store
    assert lines[bench.STEPS["reload"][0]].rstrip().endswith("1.00")
    assert lines[bench.STEPS["language"][0]].endswith("not measured: no English option")
    assert lines[bench.STEPS["briefing_pdf"][0]].endswith(
        "not measured: no run reached this step")

    timings.add_run({"reload": 2.0, "click": 0.5})
    assert "<= 1.0 s met" in {line.split("  ")[0]: line for line in bench.report(
        timings)[1:]}[bench.STEPS["click"][0]]


def test_free_port_can_be_bound_on_localhost():
    port = bench.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # raises if the port were taken


@pytest.mark.parametrize(("url", "blocked"), [
    ("https://tile.openstreetmap.org/11/1/2.png", True),
    ("https://fonts.gstatic.com/s/x.woff2", True),
    ("http://127.0.0.1.example.com/x", True),
    ("http://localhost.evil.org:8501/", True),
    ("http://127.0.0.1:8501/_stcore/health", False),
    ("http://localhost:8501/app/static/vendor/leaflet.js", False),
    ("ws://127.0.0.1:8501/_stcore/stream", False),
    ("data:image/png;base64,AAAA", False),
])
def test_only_non_local_requests_are_aborted(url, blocked):
    assert bool(bench.NOT_LOCAL.match(url)) is blocked


def test_wait_until_is_bounded_in_time():
    started = time.monotonic()
    with pytest.raises(bench.StepNotFound, match=r"the cards did not happen within 0\.2 s"):
        bench.wait_until(lambda: False, timeout_s=0.2, what="the cards")
    assert time.monotonic() - started < 5
    calls = iter([False, False, True])
    assert bench.wait_until(lambda: next(calls), timeout_s=5, what="x", step_s=0.01) < 5


@pytest.mark.parametrize("argv", [["--runs", "0"], ["--timeout", "-1"], ["--runs", "two"]])
def test_bad_arguments_exit_2(argv, monkeypatch, tmp_path):
    monkeypatch.setenv("MADOGUCHI_DATA", str(tmp_path))
    with pytest.raises(SystemExit) as exit_:
        bench.main(argv)
    assert exit_.value.code == 2


def test_missing_data_directory_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MADOGUCHI_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--runs", "1"])
    assert exit_.value.code == 2
    assert "MADOGUCHI_DATA" in capsys.readouterr().err


def test_server_is_shut_down_when_a_step_fails(tmp_path):
    """The dashboard (here on an empty data directory) stops even if the body raises."""
    with (pytest.raises(RuntimeError, match="a step failed"),
          bench.dashboard_server(tmp_path) as (url, _)):
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.status == 200
        raise RuntimeError("a step failed")
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
