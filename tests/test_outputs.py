"""Outputs and command-line refusals: atomic writes, inputs never overwritten, one-line errors."""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from geo import cli, districts, io, layers, reorganisation
from geo.errors import LayerError, OutputError

TABLE = pd.DataFrame({"zone": ["a", "b"], "people": [1, 2]})


@pytest.fixture
def data(tmp_path: Path, monkeypatch) -> Path:
    """A data directory holding one input file, named by MADOGUCHI_DATA."""
    root = tmp_path / "bundle"
    register = root / layers.BUNDLE_FILES["offices"].relpath
    register.parent.mkdir(parents=True)
    register.write_text("office_id\nx\n", encoding="utf-8")
    monkeypatch.setenv("MADOGUCHI_DATA", str(root))
    return root


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


# -- atomic writes ---------------------------------------------------------------------------

def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path: Path):
    target = tmp_path / "table.csv"
    target.write_bytes(b"old,complete\n")

    def cut_short(temporary: Path) -> None:
        temporary.write_bytes(b"new,cut mid-r")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        io.atomic_write(target, cut_short)
    assert target.read_bytes() == b"old,complete\n"
    assert _leftovers(tmp_path) == []


def test_write_csv_goes_through_the_atomic_helper(tmp_path: Path, monkeypatch):
    target = tmp_path / "table.csv"
    target.write_bytes(b"old\n")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        io.write_csv(TABLE, target)
    assert target.read_bytes() == b"old\n"
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    io.write_csv(TABLE, target)
    assert pd.read_csv(target, encoding="utf-8-sig")["people"].tolist() == [1, 2]


def test_geopackage_layers_other_than_the_written_one_are_kept(tmp_path: Path):
    target = tmp_path / "out.gpkg"
    points = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs="EPSG:6670")
    io.write_geopackage(points, target, layer="mine")
    io.write_geopackage(points.assign(v=7), target, layer="districts")
    io.write_geopackage(points.assign(v=9), target, layer="districts")
    assert sorted(pyogrio.list_layers(target)[:, 0]) == ["districts", "mine"]
    assert gpd.read_file(target, layer="districts")["v"].tolist() == [9]
    assert gpd.read_file(target, layer="mine")["v"].tolist() == [1]


# -- output paths ----------------------------------------------------------------------------

def test_an_output_inside_the_data_directory_is_refused(data: Path):
    with pytest.raises(OutputError, match="inside the data directory"):
        io.check_output_path(data / "offices" / "offices.csv", fmt="csv")
    with pytest.raises(OutputError, match="inside the data directory"):
        io.check_output_path(data / "new.geojson", fmt="geojson")


def test_a_link_into_the_data_directory_is_refused(data: Path, tmp_path: Path):
    link = tmp_path / "innocent.csv"
    link.symlink_to(data / "offices" / "offices.csv")
    with pytest.raises(OutputError, match="inside the data directory"):
        io.check_output_path(link, fmt="csv", data=data)


@pytest.mark.parametrize(("content", "fmt", "ok"), [
    (b"SQLite format 3\x00rest", "gpkg", True),
    (b"zone,people\n", "gpkg", False),
    (b'\xef\xbb\xbf{"type": "FeatureCollection"}', "geojson", True),
    (b"zone,people\n", "geojson", False),
    (b"\xef\xbb\xbfzone,people\n", "csv", True),
    (b"SQLite format 3\x00rest", "csv", False),
    (b"PK\x03\x04\x14\x00\x06\x00", "csv", False),  # an Excel workbook
    (b"", "gpkg", True),
])
def test_an_existing_file_of_another_format_is_refused(tmp_path: Path, data: Path, content: bytes,
                                                        fmt: str, ok: bool):
    target = tmp_path / "existing"
    target.write_bytes(content)
    if ok:
        assert io.check_output_path(target, fmt=fmt) == target.resolve()
    else:
        with pytest.raises(OutputError, match=f"exists and is not a {fmt.upper()} file"):
            io.check_output_path(target, fmt=fmt)
    assert target.read_bytes() == content


# -- the command line ------------------------------------------------------------------------

def _one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.mark.parametrize("option", ["--out", "--geojson", "--gpkg"])
def test_cli_refuses_to_write_onto_input_data(data: Path, capsys, option: str):
    register = data / "offices" / "offices.csv"
    before = register.read_bytes()
    assert cli.main(["districts", option, str(register)]) == 2
    assert "inside the data directory" in _one_line_error(capsys)
    assert register.read_bytes() == before


def test_cli_gpkg_onto_a_csv_file_is_a_one_line_error(data: Path, tmp_path: Path, capsys):
    existing = tmp_path / "report.csv"
    existing.write_bytes(b"zone,people\na,1\n")
    assert cli.main(["districts", "--gpkg", str(existing)]) == 2
    assert "--gpkg" in _one_line_error(capsys)
    assert existing.read_bytes() == b"zone,people\na,1\n"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "-2"])
def test_threshold_must_be_finite_and_positive(capsys, value: str):
    assert cli.main(["branch-distances", "--threshold-km", value]) == 2
    assert "--threshold-km" in _one_line_error(capsys)


def test_the_library_refuses_a_nan_threshold_too():
    with pytest.raises(ValueError, match="positive number of km, got nan"):
        reorganisation.branch_distances(None, threshold_km=float("nan"))


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "many"])
def test_bench_needs_at_least_one_scenario(capsys, value: str):
    assert cli.main(["bench", "--scenarios", value]) == 2
    assert "--scenarios" in _one_line_error(capsys)


def test_bench_with_no_scenarios_is_refused_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "geo", "bench", "--scenarios", "0"],
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines() == [
        "error: argument --scenarios: must be at least 1: '0'"]


def test_an_unreadable_data_directory_is_one_line_not_a_traceback(data: Path, monkeypatch, capsys):
    def denied(self) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "is_file", denied)
    assert cli.main(["branch-distances"]) == 1
    line = _one_line_error(capsys)
    assert f"data directory {data} cannot be read (Permission denied)" in line
    assert "read access" in line


def test_an_os_error_while_loading_is_one_line(data: Path, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise OSError(5, "Input/output error", "/cache/graph.pkl")

    monkeypatch.setattr(cli.engine_module, "load_engine", broken)
    assert cli.main(["snaps"]) == 1
    assert _one_line_error(capsys) == (
        "error: cannot read or write /cache/graph.pkl: Input/output error")


def test_districts_writes_nothing_when_a_later_step_fails(data: Path, tmp_path: Path, monkeypatch,
                                                          capsys):
    def fails(*args, **kwargs):
        raise LayerError("stores.geojson: row 3: missing or unparsable geometry")

    layer = SimpleNamespace(polygons=gpd.GeoDataFrame(
        {"district_id": ["壺川小"]}, geometry=[Point(130.7, 32.8).buffer(0.01)], crs="EPSG:4326"))
    monkeypatch.setattr(districts, "build_districts", lambda data: layer)
    monkeypatch.setattr(layers, "load_stores", fails)
    geojson, gpkg, out = tmp_path / "d.geojson", tmp_path / "d.gpkg", tmp_path / "d.csv"
    code = cli.main(["districts", "--geojson", str(geojson), "--gpkg", str(gpkg),
                     "--out", str(out)])
    assert code == 1
    assert "row 3" in _one_line_error(capsys)
    assert not geojson.exists() and not gpkg.exists() and not out.exists()


@pytest.mark.bundle
def test_closing_an_office_outside_the_base_set_is_refused(bundle_dir: Path, monkeypatch, capsys):
    monkeypatch.setenv("MADOGUCHI_DATA", str(bundle_dir))
    assert cli.main(["scenario", "--year", "now", "--close", "oe-branch"]) == 2
    line = _one_line_error(capsys)
    assert "not open in today's office set (--year now)" in line
    assert "oe-branch is in the FY2015 office set (--year 2015)" in line
    assert cli.main(["load-shift", "--year", "now", "--downgrade", "akitsu-branch"]) == 2
    assert "akitsu-branch is in the FY2015 office set" in _one_line_error(capsys)
    assert cli.main(["load-shift", "--downgrade", "kotsu-center-service-corner"]) == 2
    assert ("downgrading an office that is already a service corner changes nothing: "
            "kotsu-center-service-corner") in _one_line_error(capsys)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.floats(), st.integers(-10**6, 10**6).map(float)))
def test_threshold_argument_accepts_exactly_the_finite_positive_numbers(value: float):
    text = repr(value)
    if math.isfinite(value) and value > 0:
        assert cli._positive_km(text) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            cli._positive_km(text)


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**9, 10**9))
def test_scenario_count_argument_accepts_exactly_the_whole_numbers_from_one(value: int):
    if value >= 1:
        assert cli._positive_int(str(value)) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            cli._positive_int(str(value))


# -- devices, FIFOs, links and other things at an output path (issue 20) ----------------------

DEV_NULL = Path("/dev/null")


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A character device like /dev/null (major 1, minor 3) inside tmp_path."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD)")
    yield device
    assert stat.S_ISCHR(DEV_NULL.stat().st_mode)  # the machine's /dev/null, read only


def _is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(path.lstat().st_mode)


@pytest.mark.filterwarnings("ignore:The filename extension should be")
def test_every_writer_streams_to_a_character_device_instead_of_replacing_it(null_device: Path):
    io.write_bytes(null_device, b"x,y\n")
    io.write_csv(TABLE, null_device)
    io.write_all({null_device: b"%PDF-1.4"})
    points = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs="EPSG:6670")
    io.write_geopackage(points, null_device, layer="districts")
    assert _is_char_device(null_device)
    assert null_device.read_bytes() == b""  # what was written went where /dev/null sends it
    assert _leftovers(null_device.parent) == []


def test_the_cli_writes_to_a_character_device_and_leaves_it_one(null_device: Path, data: Path,
                                                                monkeypatch, capsys):
    monkeypatch.setattr(cli, "_cmd_branch_distances", lambda args: TABLE)
    assert cli.main(["branch-distances", "--out", str(null_device)]) == 0
    assert _is_char_device(null_device)
    assert capsys.readouterr().out == ""


def test_a_fifo_gets_the_bytes_and_stays_a_fifo(tmp_path: Path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    io.write_csv(TABLE, fifo)
    reader.join(timeout=10)
    assert received == [io.to_csv_bytes(TABLE)]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_symlink_is_written_through_to_its_target(tmp_path: Path):
    real = tmp_path / "real.csv"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    io.write_csv(TABLE, link)
    assert link.is_symlink() and link.resolve() == real
    assert pd.read_csv(real, encoding="utf-8-sig")["people"].tolist() == [1, 2]
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "made.csv")
    io.write_all({dangling: b"a\n"})
    assert dangling.is_symlink() and (tmp_path / "made.csv").read_bytes() == b"a\n"
    assert _leftovers(tmp_path) == []


def test_a_socket_or_a_folder_is_refused_before_writing(tmp_path: Path):
    server = socket.socket(socket.AF_UNIX)
    place = tmp_path / "s.csv"
    server.bind(str(place))
    try:
        for target, what in ((place, "a socket"), (tmp_path, "a folder")):
            with pytest.raises(OutputError, match=f"is {what}; refusing to write there"):
                io.check_output_path(target, fmt="csv", data=tmp_path / "data")
            with pytest.raises(OutputError, match=what):
                io.write_bytes(target, b"x")
        assert stat.S_ISSOCK(place.lstat().st_mode)
    finally:
        server.close()


def test_standard_output_takes_binary_outputs(capfdbinary):
    io.write_all({"-": b"%PDF-1.4 whole"})
    io.write_bytes("-", b"\nmore")
    assert capfdbinary.readouterr().out == b"%PDF-1.4 whole\nmore"
    assert io.check_output_path("-", fmt="pdf") == Path("-")


def test_cli_districts_geojson_to_stdout_with_the_table_in_a_file(data: Path, tmp_path: Path,
                                                                  monkeypatch, capfdbinary):
    layer = SimpleNamespace(polygons=gpd.GeoDataFrame(
        {"district_id": ["壺川小"]}, geometry=[Point(130.7, 32.8).buffer(0.01)], crs="EPSG:4326"))
    monkeypatch.setattr(districts, "build_districts", lambda data: layer)
    monkeypatch.setattr(layers, "load_stores", lambda *a, **k: None)
    monkeypatch.setattr(cli.stores_module, "store_counts", lambda *a: pd.DataFrame(
        {"district_id": ["壺川小"], "ward": ["中央区"], "population": [1.0], "stores": [0],
         "quality": ["ok"]}))
    monkeypatch.setattr(layers, "load_small_areas",
                        lambda data: pd.DataFrame({"population": [1.0]}))
    out = tmp_path / "d.csv"
    assert cli.main(["districts", "--geojson", "-", "--out", str(out)]) == 0
    assert b'"FeatureCollection"' in capfdbinary.readouterr().out
    assert pd.read_csv(out, encoding="utf-8-sig")["district"].tolist() == ["壺川小"]


# -- several outputs of one command: one shared check ---------------------------------------

def _never(args):
    raise AssertionError("the command ran although its outputs clash")


@pytest.mark.parametrize(("command", "options"), [
    ("load-shift", ["--out", "{f}", "--summary-out", "{f}"]),
    ("network-check", ["--walls", "{f}", "--detours", "{f}", "--out", "{f}"]),
    ("districts", ["--geojson", "{f}", "--gpkg", "{f}"]),
    ("districts", ["--geojson", "-"]),  # the table goes to standard output too
    ("report", ["--xlsx", "{f}", "--handout", "{link}"]),
    ("scenarios", ["save", "--name", "a", "--phases", "{f}", "--out", "{f}"]),
])
def test_two_outputs_naming_one_file_are_refused_before_computing(
        data: Path, tmp_path: Path, monkeypatch, capsys, command: str, options: list[str]):
    existing = tmp_path / "out.csv"
    existing.write_bytes(b"")
    (tmp_path / "link").symlink_to(existing)
    for handler in ("_cmd_load_shift", "_cmd_network_check", "_cmd_districts", "_cmd_report",
                    "_cmd_saved"):
        monkeypatch.setattr(cli, handler, _never)
    argv = [command, *[o.format(f=existing, link=tmp_path / "link") for o in options]]
    assert cli.main(argv) == 2
    assert "name the same file" in _one_line_error(capsys)
    assert existing.read_bytes() == b""


def test_a_hard_link_is_the_same_file(tmp_path: Path):
    first = tmp_path / "a.csv"
    first.write_bytes(b"")
    os.link(first, tmp_path / "b.csv")
    with pytest.raises(OutputError, match="--out and --walls name the same file"):
        io.check_output_paths({"--out": (first, "csv"), "--walls": (tmp_path / "b.csv", "csv")},
                              data=tmp_path / "data")


def test_several_outputs_may_go_to_a_character_device(null_device: Path, data: Path,
                                                      monkeypatch, capsys):
    monkeypatch.setattr(cli, "_cmd_network_check", lambda args: TABLE)
    assert cli.main(["network-check", "--walls", str(null_device), "--detours",
                     str(null_device), "--out", str(null_device)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [["branch-distances", "--out"],
                                  ["report", "--close", "oe-branch", "--xlsx"]])
def test_a_300_character_file_name_is_one_line(data: Path, tmp_path: Path, capsys,
                                               argv: list[str]):
    assert cli.main([*argv, str(tmp_path / ("x" * 300 + ".xlsx"))]) == 2
    line = _one_line_error(capsys)
    assert line.startswith(f"error: {argv[-1]} ") and "File name too long" in line
