"""Council exports: labelled workbooks and CSV, the sources line, key figures, titles.

A hand-made 3-zone table with known figures. The A4 handout is tested in test_briefing.py,
the report command (and on the real bundle) in test_report.py.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from geo import briefing, labels, provenance
from geo import io as gio
from geo.errors import OutputError
from geo.question import Question
from geo.reorganisation import Preset
from geo.scenarios import Scenario

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")
pytestmark = pytest.mark.filterwarnings("error:Glyph:UserWarning")


@pytest.fixture
def zone_table() -> pd.DataFrame:
    """Three districts; 大江小's counter closed: 9,383.88 people farther, 1.234 -> 3.456 km."""
    return pd.DataFrame({
        "zone_id": ["壺川小", "一新小", "大江小"], "zone_name": ["壺川小", "一新小", "大江小"],
        "ward": ["中央区", "中央区", "中央区"], "population": [5000.4, 7000.6, 9383.88],
        "before_km": [0.5, 1.5, 1.234], "before_max_km": [1.0, 2.0, 2.0],
        "after_km": [0.5, 1.6049, 3.456], "after_max_km": [1.0, 2.5, 4.0],
        "delta_km": [0.0, 0.1049, 2.222], "people_farther": [0.0, 700.2, 9383.88],
        "beyond_2km_before": [0.0, 0.0, 0.0], "beyond_2km_after": [0.0, 700.2, 9383.88],
        "population_65plus": [1000.5, 2000.0, 3000.49],
        "beyond_2km_before_65plus": [0.0, 0.0, 0.0],
        "beyond_2km_after_65plus": [0.0, 200.0, 3000.49],
        "status": ["ok", "ok", "no facility reachable"],
        "before_min": [6.25, 18.75, 15.425], "after_min": [6.25, 20.06125, 43.2],
    })


def test_labelled_table_rounds_by_unit_and_heads_in_japanese(zone_table):
    shown = labels.labelled_table(zone_table)
    assert shown.columns[:4].tolist() == ["区域コード", "区域", "区", "人口"]
    assert shown["人口"].tolist() == [5000, 7001, 9384]
    assert shown["平均距離（変更後, km）"].tolist() == [0.5, 1.6, 3.46]
    assert shown["徒歩時間（変更後, 分）"].tolist() == [6.2, 20.1, 43.2]
    assert shown["2kmより遠い65歳以上（変更後）"].tolist() == [0, 200, 3000]
    assert shown["状態"].tolist() == ["到達可", "到達可", "到達できる窓口なし"]


def test_labelled_table_in_english_romanises_wards_and_words():
    table = pd.DataFrame({"office_id": ["oe"], "kind": ["branch"], "ward": ["中央区"],
                          "state": ["closed"], "change_pct": [16.86]})
    shown = labels.labelled_table(table, lang="en")
    assert shown.columns.tolist() == ["Office id", "Type", "Ward", "State in the scenario",
                                      "Change (%)"]
    assert shown.iloc[0].tolist() == ["oe", "Branch", "Chuo", "closed", 16.9]


def test_labelled_csv_keeps_the_bom_and_numbers(zone_table):
    data = gio.to_csv_bytes(zone_table[["zone_name", "population", "after_km"]], lang="ja")
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig").splitlines() == [
        '区域,人口,"平均距離（変更後, km）"',
        "壺川小,5000,0.5", "一新小,7001,1.6", "大江小,9384,3.46"]


def test_network_check_tables_are_labelled():
    walls = pd.DataFrame({"node_a": [3], "node_b": [9], "x_a": [-26_000.4], "y_a": [-19_000.6],
                          "x_b": [-25_990.0], "y_b": [-19_000.0], "gap_m": [10.44],
                          "road_m": [float("inf")]})
    shown = labels.labelled_table(walls)
    assert shown.columns[-2:].tolist() == ["直線の間隔（m）", "道路での距離（m）"]
    assert shown.iloc[0, 2:6].tolist() == [-26000, -19001, -25990, -19000]
    assert shown.iloc[0, 6] == 10 and pd.isna(shown.iloc[0, 7])  # unconnected: empty, not inf
    detours = pd.DataFrame({"key_code": ["431010010"], "name": ["壺川1丁目"], "ward": ["中央区"],
                            "population": [812.0], "road_km": [3.456], "straight_km": [1.0],
                            "detour": [3.456]})
    assert labels.labelled_table(detours, lang="en").iloc[0].tolist() == [
        "431010010", "壺川1丁目", "Chuo", 812, 3.46, 1.0, 3.46]
    snaps = pd.DataFrame({"kind": ["office", "origin"], "id": ["oe", "431010010"],
                          "name": ["大江出張所", "壺川1丁目"], "snap_m": [312.6, 401.2]})
    shown = labels.labelled_table(snaps)
    assert shown["種別"].tolist() == ["窓口", "居住地点"]
    assert shown["道路までの距離（m）"].tolist() == [313, 401]
    figures = pd.DataFrame({"figure": ["walls"], "value": ["12"]})
    assert labels.labelled_table(figures, lang="en").columns.tolist() == ["Figure", "Value"]


def test_a_column_without_a_heading_is_refused(zone_table):
    with pytest.raises(KeyError, match="beyond_3km_after"):
        labels.labelled_table(zone_table.assign(beyond_3km_after=1.0))


def _workbook(zone_table: pd.DataFrame, lang: str) -> bytes:
    scenario = Scenario(base="fy2015", closed={"oe"})
    offices = pd.DataFrame({"office_id": ["oe"], "name_ja": ["大江出張所"],
                            "name_en": ["Oe Branch Office"]})
    description = provenance.describe_scenario(scenario, measure="counter", store_source="union",
                                        offices=offices, date="2026-11-30", lang=lang,
                                        title="大江を廃止" if lang == "ja" else "Oe closed")
    city = pd.DataFrame([{"population": 21384.88, "people_farther": 10084.08,
                          "before_km": 1.23456, "status": "ok"}])
    sources = provenance.scenario_sources(measure="counter", zones="district", elderly=True)
    name = "校区別" if lang == "ja" else "Districts"
    return gio.to_excel_bytes({name: zone_table, "city": city},
                              scenario_description=description, sources=sources, lang=lang)


def test_japanese_workbook_numbers_explanations_and_sources(zone_table):
    book = load_workbook(io.BytesIO(_workbook(zone_table, "ja")))
    assert book.sheetnames == ["校区別", "city", "項目説明", "シナリオ", "出典"]
    districts = book["校区別"]
    headers = [c.value for c in districts[1]]
    assert headers[:4] == ["区域コード", "区域", "区", "人口"]
    population = districts.cell(row=4, column=4)
    assert population.data_type == "n" and population.value == 9384
    after = districts.cell(row=3, column=headers.index("平均距離（変更後, km）") + 1)
    assert after.data_type == "n" and after.value == pytest.approx(1.60)
    city = book["city"]
    assert [c.value for c in city[2]] == [21385, 10084, 1.23, "到達可"]

    explained = [row[0].value for row in book["項目説明"].iter_rows(min_row=2)]
    every = headers + [c.value for c in city[1]]
    assert sorted(explained) == sorted(dict.fromkeys(every))  # each column once
    assert all(row[1].value for row in book["項目説明"].iter_rows(min_row=2))

    scenario = {row[0].value: row[1].value for row in book["シナリオ"].iter_rows(min_row=2)}
    assert scenario["シナリオ"] == "大江を廃止"
    assert scenario["閉鎖"] == "大江出張所 (oe)"
    assert scenario["基準の窓口"] == "2015年度の窓口"

    sources = pd.read_excel(io.BytesIO(_workbook(zone_table, "ja")), sheet_name="出典")
    assert sources.columns.tolist() == list(provenance.SOURCE_HEADERS["ja"])
    assert {"mesh", "attendance_zones"} <= set(sources["データ"])
    assert sources["内容"].str.contains("メッシュ").any()
    cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row]
    assert not any("出典：出典：" in c for c in cells)


def test_english_workbook_has_no_japanese_headers(zone_table):
    book = load_workbook(io.BytesIO(_workbook(zone_table, "en")))
    assert book.sheetnames == ["Districts", "city", "Columns", "Scenario", "Sources"]
    for sheet in book:
        headers = [str(c.value) for c in sheet[1]]
        assert not [h for h in headers if JAPANESE.search(h)], sheet.title
    scenario = {row[0].value: row[1].value for row in book["Scenario"].iter_rows(min_row=2)}
    assert scenario == {"Scenario": "Oe closed", "Base office set": "FY2015 office set",
                        "Closed": "Oe Branch Office (oe)", "Downgraded to service corners": "none",
                        "Measure": "Full counters (registrations)",
                        "Convenience-store source": "union", "Date": "2026-11-30"}
    descriptions = [row[2].value for row in book["Sources"].iter_rows(min_row=2)]
    assert not [d for d in descriptions if JAPANESE.search(d)]
    assert [c.value for c in book["Districts"]["C"][1:]] == ["Chuo"] * 3


def test_sources_line_names_the_prefix_once():
    line = provenance.sources_line(["wards", "small_areas", "wards", "mesh"])
    assert line.startswith("出典：国土数値情報") and line.count("出典：") == 1
    assert "令和2年国勢調査 地域メッシュ統計" in line
    assert line.count("国土数値情報") == 1
    assert provenance.sources_line(["offices"], lang="en") == \
        "Sources: © OpenStreetMap contributors (ODbL 1.0)"


def test_scenario_sources_add_the_mesh_and_the_stores():
    assert provenance.scenario_sources(zones="ward") == ["wards", "small_areas", "offices",
                                                  "osm_city_drive_edges"]
    keys = provenance.scenario_sources(zones="district", elderly=True, stores=True,
                                store_source="osm")
    assert keys[4:] == ["mesh", "attendance_zones", "stores_osm"]


@pytest.mark.parametrize(("fmt", "content", "ok"), [
    ("xlsx", b"PK\x03\x04rest", True), ("xlsx", b"a,b\n", False),
    ("pdf", b"%PDF-1.4", True), ("pdf", b"\x89PNG\r\n\x1a\n", False),
    ("png", b"\x89PNG\r\n\x1a\nIHDR", True), ("png", b"%PDF-1.4", False),
])
def test_output_check_knows_workbooks_pdfs_and_pngs(tmp_path, fmt, content, ok):
    target = tmp_path / f"out.{fmt}"
    target.write_bytes(content)
    if ok:
        assert gio.check_output_path(target, fmt=fmt, data=tmp_path / "data") == target
    else:
        with pytest.raises(OutputError, match=f"not a {fmt.upper()} file"):
            gio.check_output_path(target, fmt=fmt, data=tmp_path / "data")


# -- briefing: colours, words, titles, handout ------------------------------------------------

def test_key_figures_include_the_65plus_figure():
    summary = {"people_farther": 10.0, "beyond_2km_before": 1.0, "beyond_2km_after": 11.0,
               "beyond_2km_before_65plus": 0.4, "beyond_2km_after_65plus": 3.6,
               "before_km": 1.0, "after_km": 1.25}
    assert list(briefing.key_figures(summary).items()) == [
        ("最寄り窓口が遠くなる人", "10 人"), ("2 km より遠い人", "1 → 11 人"),
        ("2 km より遠い65歳以上", "0 → 4 人"), ("平均距離", "1.00 → 1.25 km")]
    assert briefing.key_figures(summary, lang="en")["Aged 65+ beyond 2 km"] == "0 → 4 people"


def test_title_names_a_preset_only_while_the_scenario_is_that_preset():
    plan = Scenario(base="fy2015", closed={"oe", "akitsu"})
    presets = {"plan2015": Preset("plan2015", Question(base="fy2015", closed={"oe", "akitsu"}),
                                  "", ""),
               "fy2015": Preset("fy2015", Question(base="fy2015"), "", "")}
    assert briefing.scenario_title(plan, presets) == "2015年の再編計画（候補8か所を閉鎖）"
    assert briefing.scenario_title(plan, presets, "en") == "2015 plan (its 8 candidates closed)"
    edited = Scenario(base="fy2015", closed={"oe"}, downgraded={"akitsu"})
    assert briefing.scenario_title(edited, presets) == \
        "2015年度の窓口：閉鎖 1 か所・コーナー化 1 か所"
    assert briefing.scenario_title(edited, presets, "en") == \
        "FY2015 counters: 1 closed, 1 downgraded"
    assert briefing.scenario_title(Scenario(base="fy2015"), presets).startswith("2015年度の窓口（")
    assert briefing.scenario_title(edited, presets, custom="  大江案 ") == "大江案"
    assert briefing.scenario_title(edited, presets, custom="  ").startswith("2015年度の窓口：")


def test_affected_zones_are_the_most_people_farther_first(zone_table):
    affected = briefing.affected_zones(zone_table, n=5)
    assert affected["zone_name"].tolist() == ["大江小", "一新小"]  # 壺川小: nobody farther
    assert briefing.affected_zones(zone_table, n=1)["zone_name"].tolist() == ["大江小"]
