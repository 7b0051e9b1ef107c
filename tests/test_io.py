"""Exports read back: CSV (BOM), Excel (scenario + sources sheets), GeoJSON (WGS84)."""

from __future__ import annotations

import io
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import cartography, provenance
from geo import io as gio
from geo.errors import CRSError
from geo.layers import BUNDLE_FILES
from geo.scenarios import Scenario


@pytest.fixture
def table() -> pd.DataFrame:
    """A compare()-like table: Japanese text, ids with leading zeros, NaN, negatives."""
    return pd.DataFrame({
        "zone_id": ["043101001", "043101002", "043102001"],
        "zone_name": ["壺川", "一新", "=HYPERLINK(\"http://x\")"],
        "ward": ["中央区", "中央区", "東区"],
        "population": [1234.0, 0.0, 56789.0],
        "before_km": [0.1234567890123, np.nan, 2.5],
        "after_km": [1.7, np.nan, 2.5],
        "delta_km": [1.5765432109877, np.nan, -0.25],
        "people_farther": [1234.0, 0.0, 0.0],
        "beyond_2km_after": [0, 0, 56789],
        "candidate": [True, False, True],
        "status": ["ok", "ok", "no facility reachable"],
    })


@pytest.fixture
def expected(table: pd.DataFrame) -> pd.DataFrame:
    """The table as every export must hold it: only the formula-like text defused."""
    out = table.copy()
    out.loc[2, "zone_name"] = "'=HYPERLINK(\"http://x\")"
    return out


def _read_csv(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype={"zone_id": str})


def test_defuse_formulas_touches_only_text_cells():
    frame = pd.DataFrame({"name": ["=1+1", "+81", "-x", "@SUM(A1)", "\tcmd", "大江", None],
                          "value": [-1.0, -2.0, 3.0, 4.0, 5.0, -6.0, 7.0],
                          "count": [-1, 2, 3, 4, 5, 6, 7]})
    out = gio.defuse_formulas(frame)
    assert out["name"].iloc[:6].tolist() == ["'=1+1", "'+81", "'-x", "'@SUM(A1)", "'\tcmd", "大江"]
    assert pd.isna(out["name"].iloc[6])
    pd.testing.assert_series_equal(out["value"], frame["value"])
    pd.testing.assert_series_equal(out["count"], frame["count"])
    assert frame.loc[0, "name"] == "=1+1"  # input untouched


def test_csv_has_bom_and_reads_back_exactly(table, expected):
    data = gio.to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    assert "壺川".encode() in data  # UTF-8, not escaped or Shift_JIS
    assert b"Unnamed" not in data and not data[3:].startswith(b",")  # no index column
    pd.testing.assert_frame_equal(_read_csv(data), expected, check_exact=True)


def test_csv_drops_geometry_of_a_geodataframe(table, expected):
    gdf = gpd.GeoDataFrame(table, geometry=[Point(0, 0)] * 3, crs="EPSG:6670")
    pd.testing.assert_frame_equal(_read_csv(gio.to_csv_bytes(gdf)), expected, check_exact=True)


def test_write_csv_to_path_and_stdout(table, expected, tmp_path, capsys):
    path = tmp_path / "out.csv"
    gio.write_csv(table, path)
    assert path.read_bytes() == gio.to_csv_bytes(table)
    gio.write_csv(table, "-")
    printed = capsys.readouterr().out
    assert printed.startswith("\ufeff")
    pd.testing.assert_frame_equal(_read_csv(printed.encode("utf-8")), expected, check_exact=True)
    text, binary = io.StringIO(), io.BytesIO()
    gio.write_csv(table, text, bom=False)
    gio.write_csv(table, binary)
    assert text.getvalue().encode("utf-8") == binary.getvalue()[3:]


def test_excel_sheets_read_back_exactly(table, expected):
    scenario = Scenario(base="fy2015", closed={"oe", "akitsu"}, downgraded={"tatsuda"})
    offices = pd.DataFrame({"office_id": ["oe", "akitsu", "tatsuda"],
                            "name_ja": ["大江出張所", "秋津出張所", "龍田出張所"]})
    description = provenance.describe_scenario(scenario, measure="counter", store_source="union",
                                        offices=offices, date="2026-11-22", title="5 km ルール案")
    long_name = "校区別の距離（廃止前後）: 2015 5km rule / all candidates"
    data = gio.to_excel_bytes({long_name: table, "市全体": table.head(1)},
                              scenario_description=description,
                              sources=provenance.scenario_sources(measure="counter"))
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype={"zone_id": str})
    names = list(sheets)
    assert len(names) == 4 and all(len(n) <= 31 for n in names)
    assert names[1:] == ["市全体", "シナリオ", "出典"]
    assert not set(names[0]) & set("[]:*?/\\")
    # Excel has one number type: integral floats come back as int64, values are exact
    pd.testing.assert_frame_equal(sheets[names[0]], expected, check_exact=True,
                                  check_dtype=False)
    pd.testing.assert_frame_equal(sheets["市全体"], expected.head(1), check_exact=True,
                                  check_dtype=False)

    scenario_sheet = dict(zip(*sheets["シナリオ"].T.to_numpy(), strict=True))
    assert scenario_sheet["基準の窓口 (base office set)"].startswith("2015年度")
    assert scenario_sheet["閉鎖 (closed)"] == "秋津出張所 (akitsu)、大江出張所 (oe)"
    assert scenario_sheet["サービスコーナー化 (downgraded)"] == "龍田出張所 (tatsuda)"
    assert scenario_sheet["作成日 (date)"] == "2026-11-22"
    assert scenario_sheet["シナリオ (scenario)"] == "5 km ルール案"

    sources = sheets["出典"]
    assert sources["key"].tolist() == ["wards", "small_areas", "offices", "osm_city_drive_edges",
                                       "attendance_zones"]
    assert sources["attribution"].tolist() == [BUNDLE_FILES[k].attribution
                                               for k in sources["key"]]


def test_excel_cells_are_values_not_formulas(table):
    from openpyxl import load_workbook

    data = gio.to_excel_bytes({"t": table}, scenario_description={"a": "=1+1"}, sources=[])
    book = load_workbook(io.BytesIO(data))
    cells = [c for row in book.worksheets[0].iter_rows() for c in row]
    cells += [c for row in book["シナリオ"].iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert book["シナリオ"]["B2"].value == "'=1+1"
    assert book.worksheets[0]["A2"].data_type == "s"  # ids keep their leading zeros


def test_excel_writes_infinity_as_empty():
    frame = pd.DataFrame({"name": ["a", "b"], "d": [1.0, math.inf]})
    data = gio.to_excel_bytes({"t": frame}, scenario_description={}, sources=["wards"])
    back = pd.read_excel(io.BytesIO(data), sheet_name="t")
    assert back["d"].iloc[0] == 1.0 and np.isnan(back["d"].iloc[1])


@pytest.mark.parametrize(("name", "taken", "result"), [
    ("a/b:c*d?[e]\\f", (), "a_b_c_d__e__f"),
    ("x" * 40, (), "x" * 31),
    ("x" * 40, ("x" * 31,), "x" * 29 + "_2"),
    ("Table", ("TABLE", "table_2"), "Table_3"),
    ("", (), "Sheet"),
    ("History", (), "History_"),
])
def test_excel_sheet_name(name, taken, result):
    assert gio.excel_sheet_name(name, taken) == result


def test_sources_table_rejects_unknown_key():
    with pytest.raises(ValueError, match="unknown data source 'nope'"):
        provenance.sources_table(["wards", "nope"])


def test_attribution_text_lists_each_text_once():
    text = provenance.attribution_text(["stores_osm", "offices", "wards"])
    assert text == f"{BUNDLE_FILES['offices'].attribution} / {BUNDLE_FILES['wards'].attribution}"


def test_scenario_sources_for_certificates():
    keys = provenance.scenario_sources(measure="certificate", store_source="union", zones="ward")
    assert keys == ["wards", "small_areas", "offices", "osm_city_drive_edges", "stores_osm",
                    "stores_overture"]
    mlit = provenance.scenario_sources(zones="ward", network="mlit")
    assert mlit == ["wards", "small_areas", "offices", "roads"]


@pytest.fixture
def zones(table) -> gpd.GeoDataFrame:
    squares = [box(-27_000 + 1000 * i, -20_000, -26_000 + 1000 * i, -19_000) for i in range(3)]
    return gpd.GeoDataFrame(table, geometry=squares, crs="EPSG:6670")


def test_geojson_is_wgs84_utf8_and_reads_back(zones):
    data = gio.to_geojson_bytes(zones)
    document = json.loads(data.decode("utf-8"))
    assert "壺川".encode() in data and b"\\u" not in data
    assert "crs" not in document
    lon, lat = document["features"][0]["geometry"]["coordinates"][0][0]
    assert 130 < lon < 131.5 and 32 < lat < 33.5  # Kumamoto, longitude first
    assert document["features"][1]["properties"]["before_km"] is None

    back = gpd.read_file(io.BytesIO(data))
    assert back.crs.to_epsg() == 4326
    wgs84 = zones.to_crs("EPSG:4326")
    assert back.geometry.geom_equals_exact(wgs84.geometry, tolerance=1e-12).all()
    attributes = pd.DataFrame(back.drop(columns="geometry"))
    pd.testing.assert_frame_equal(attributes, pd.DataFrame(zones.drop(columns="geometry")),
                                  check_exact=True, check_dtype=False)


def test_geojson_leaves_input_in_its_crs(zones):
    gio.to_geojson_bytes(zones)
    assert zones.crs.to_epsg() == 6670


def test_geojson_without_crs_is_an_error(zones):
    with pytest.raises(CRSError, match="without a CRS"):
        gio.to_geojson_bytes(zones.set_crs(None, allow_override=True))


def test_display_boundaries_are_simplified_and_neighbours_still_meet():
    """Two fields sharing a jagged edge (1 m zig-zags every 10 m): on the web map the zig-zags
    go, the shared edge stays shared (no gap, no overlap) and the outline moves < 8 m."""
    import shapely
    from shapely.geometry import Polygon

    x0, y0 = -20_000.0, -30_000.0
    edge = [(x0 + 500 + (1.0 if i % 2 else 0.0), y0 + 10.0 * i) for i in range(101)]
    west = Polygon([(x0, y0), *edge, (x0, y0 + 1_000)])
    east = Polygon([*edge, (x0 + 1_000, y0 + 1_000), (x0 + 1_000, y0)][::-1])
    frame = gpd.GeoDataFrame({"zone_id": ["w", "e"]}, geometry=[west, east], crs="EPSG:6670")
    shown = cartography.to_display_features(frame, ["zone_id"])
    back = gpd.GeoDataFrame.from_features(shown["features"], crs="EPSG:4326").to_crs("EPSG:6670")
    assert shapely.get_num_coordinates(back.geometry.to_numpy()).sum() < 20
    assert back.geometry.iloc[0].intersection(back.geometry.iloc[1]).area < 1.0
    union = back.union_all()
    assert union.geom_type == "Polygon" and not union.interiors  # no gap along the edge
    assert union.area == pytest.approx(1_000_000, rel=1e-3)  # rounding to display decimals
    for original, drawn in zip([west, east], back.geometry, strict=True):
        assert original.hausdorff_distance(drawn) < 8.0
