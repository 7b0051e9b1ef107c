"""The command line: CSV conventions and exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from geo import cli


def _run(*args: str, env_data: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "geo"]
    if env_data is not None:
        command += ["--data", str(env_data)]
    return subprocess.run(command + list(args), capture_output=True, timeout=300, check=False)


def test_bad_argument_exits_2_with_one_line():
    result = _run("scenario", "--by", "galaxy")
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_negative_threshold_exits_2():
    assert cli.main(["branch-distances", "--threshold-km", "-1"]) == 2


def test_missing_data_exits_1_with_a_message_not_a_traceback(tmp_path: Path):
    result = _run("branch-distances", env_data=tmp_path / "missing")
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "Traceback" not in err and "MADOGUCHI_DATA" in err


@pytest.mark.bundle
def test_unknown_office_exits_2(bundle_dir: Path):
    result = _run("scenario", "--close", "oe-branch,atlantis", env_data=bundle_dir)
    assert result.returncode == 2
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "atlantis" in lines[0]


@pytest.mark.bundle
def test_branch_distances_csv_has_bom_and_columns(bundle_dir: Path, tmp_path: Path):
    out = tmp_path / "branches.csv"
    assert cli.main(["--data", str(bundle_dir), "branch-distances", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    for column in ("office_id", "name_ja", "kind", "nearest_ward_office_id", "road_km",
                   "straight_km", "candidate"):
        assert column in table.columns
    assert "大江出張所" in set(table["name_ja"])


@pytest.mark.bundle
def test_scenario_by_ward_has_a_city_row(bundle_dir: Path, tmp_path: Path):
    out = tmp_path / "scenario.csv"
    code = cli.main(["--data", str(bundle_dir), "scenario", "--close", "oe-branch,tobu-branch",
                     "--by", "ward", "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"zone_id": str})
    for column in ("population", "before_km", "after_km", "delta_km", "beyond_1km_after",
                   "beyond_2km_after", "beyond_5km_after"):
        assert column in table.columns
    assert len(table) == 6
    city = table[table["zone_id"] == "43100"].iloc[0]
    assert city["population"] == pytest.approx(table["population"].iloc[:5].sum())
    assert city["delta_km"] > 0


def test_out_in_a_missing_folder_exits_2_before_computing(tmp_path: Path):
    result = _run("branch-distances", "--out", str(tmp_path / "no" / "such.csv"),
                  env_data=tmp_path / "missing-data")
    assert result.returncode == 2  # the --out check comes before loading (missing) data
    err = result.stderr.decode()
    assert "Traceback" not in err and "does not exist" in err
    assert len(err.strip().splitlines()) == 1


def test_a_folder_as_out_is_refused_before_computing(tmp_path: Path, monkeypatch, capsys):
    target = tmp_path / "taken"
    target.mkdir()  # a folder stands where the file should be written

    def computed(args):
        raise AssertionError("computed although --out cannot be written")

    monkeypatch.setattr(cli, "_cmd_branch_distances", computed)
    assert cli.main(["branch-distances", "--out", str(target)]) == 2
    assert capsys.readouterr().err == (f"error: --out {target} is a folder; refusing to write "
                                       f"there (give a file name)\n")


def test_a_failed_write_exits_2_without_traceback(tmp_path: Path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "_cmd_branch_distances", lambda args: pd.DataFrame({"a": [1]}))
    monkeypatch.setattr(cli, "write_csv", full)
    target = tmp_path / "t.csv"
    assert cli.main(["branch-distances", "--out", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: cannot write {target}: No space left on device\n"


@pytest.mark.bundle
def test_districts_writes_geojson_and_geopackage(bundle_dir: Path, tmp_path: Path):
    import geopandas as gpd

    geojson, gpkg = tmp_path / "districts.geojson", tmp_path / "districts.gpkg"
    code = cli.main(["--data", str(bundle_dir), "districts", "--geojson", str(geojson),
                     "--gpkg", str(gpkg), "--out", str(tmp_path / "districts.csv")])
    assert code == 0
    shapes = gpd.read_file(geojson)
    assert len(shapes) == 92 and shapes.crs.to_epsg() == 4326
    assert gpd.read_file(gpkg).crs.to_epsg() == 6670
    table = pd.read_csv(tmp_path / "districts.csv", encoding="utf-8-sig")
    assert table["population"].sum() == pytest.approx(shapes["population"].sum())


def test_geojson_in_a_missing_folder_is_refused_first(tmp_path: Path):
    result = _run("districts", "--geojson", str(tmp_path / "no" / "d.geojson"),
                  env_data=tmp_path / "missing-data")
    assert result.returncode == 2 and "--geojson" in result.stderr.decode()


@pytest.mark.bundle
def test_snaps_lists_offices_and_stores_with_the_far_flag(bundle_dir: Path, tmp_path: Path):
    out = tmp_path / "snaps.csv"
    assert cli.main(["--data", str(bundle_dir), "snaps", "--out", str(out)]) == 0
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert (table["kind"] == "store").sum() > 400 and (table["kind"] != "store").sum() == 24
    assert table["snap_m"].is_monotonic_decreasing
    # the farthest point in the bundle is an Overture store 116 m from a street: none is far
    assert table["snap_m"].iloc[0] == pytest.approx(116.2, abs=0.5)
    assert not table["far"].any()
    assert table["name_ja"].notna().all()


def _broken(args):
    raise RuntimeError("something nobody foresaw\nat /srv/madoguchi/geo/x.py line 3")


def test_an_unexpected_error_is_one_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_cmd_branch_distances", _broken)
    assert cli.main(["branch-distances"]) == 1
    assert capsys.readouterr().err == ("error: unexpected RuntimeError: something nobody foresaw "
                                       "(python -m geo --debug ... shows where)\n")


def test_debug_shows_the_traceback_of_an_unexpected_error(monkeypatch):
    monkeypatch.setattr(cli, "_cmd_branch_distances", _broken)
    with pytest.raises(RuntimeError, match="something nobody foresaw"):
        cli.main(["branch-distances", "--debug"])


def test_an_interrupt_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_snaps", interrupted)
    assert cli.main(["snaps"]) == cli.INTERRUPTED
    assert capsys.readouterr().err == "error: interrupted\n"


def test_an_unexpected_error_while_checking_arguments_is_one_line_too(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_check_outputs", _broken)
    assert cli.main(["snaps"]) == 1
    assert capsys.readouterr().err.startswith("error: unexpected RuntimeError: something nobody")
