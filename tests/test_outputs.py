"""Outputs and command-line refusals: atomic writes, inputs never overwritten, one-line errors."""

from __future__ import annotations

import argparse
import math
import os
import pathlib
import subprocess
import sys
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
    assert cli.main(["load-shift", "--year", "now",
                     "--downgrade", "kotsu-center-service-corner"]) == 2
    assert "kotsu-center-service-corner is in neither set" in _one_line_error(capsys)


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
