"""The residents' handout and the school-district leaflets on a 3-district fixture: plain
words, the same figures as the planners', sizes measured in the PDF, every viewer."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pdf_viewers
import pytest
from shapely.geometry import Point, box

from geo import briefing, leaflets
from geo.provenance import sources_line

TITLE = "大江出張所を閉鎖する案"
SOURCES = ["wards", "small_areas", "attendance_zones", "offices", "osm_city_drive_edges",
           "stores_osm"]


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    """Three 1 km school districts in Kumamoto (EPSG:6670) and their zone-table columns."""
    squares = [box(-27_000 + 1000 * i, -20_000, -26_000 + 1000 * i, -19_000) for i in range(3)]
    return gpd.GeoDataFrame({
        "zone_id": ["壺川小", "一新小", "大江小"], "zone_name": ["壺川小", "一新小", "大江小"],
        "ward": ["中央区"] * 3, "population": [5000.0, 8000.0, 11722.0],
        "people_farther": [0.0, 2000.0, 11722.0],
        "before_km": [0.5, 1.5, 1.0], "after_km": [0.5, 2.5, 2.13],
        "delta_km": [0.0, 1.0, 1.13],
        "beyond_2km_before": [0.0, 0.0, 0.0], "beyond_2km_after": [0.0, 4000.0, 9000.0],
        "beyond_2km_before_65plus": [0.0, 0.0, 0.0],
        "beyond_2km_after_65plus": [0.0, 1100.0, 2500.0],
        "beyond_5km_before": [0.0, 0.0, 0.0], "beyond_5km_after": [0.0, 0.0, 120.0],
        "beyond_5km_before_65plus": [0.0, 0.0, 0.0],
        "beyond_5km_after_65plus": [0.0, 0.0, 40.0],
    }, geometry=squares, crs="EPSG:6670")


@pytest.fixture
def offices() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "office_id": ["chuo", "oe", "tobu"],
        "name_ja": ["中央区役所", "大江出張所", "東部出張所"],
        "kind": ["ward_office", "branch", "branch"], "ward": ["中央区", "中央区", "東区"],
        "address_ja": ["熊本市中央区手取本町1-1", "熊本市中央区大江6丁目1-85", None],
        "open": [True, False, True], "downgraded": [False, False, True],
    }, geometry=[Point(-26_500, -19_500), Point(-24_500, -19_500), Point(-23_000, -19_200)],
        crs="EPSG:6670")


@pytest.fixture
def stores() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"store_id": ["s1", "s2", "s3"]},
                            geometry=[Point(-26_200, -19_800), Point(-24_400, -19_300),
                                      Point(-24_800, -19_700)], crs="EPSG:6670")


@pytest.fixture
def services() -> pd.DataFrame:
    """``geo.study.zone_services`` of the fixture (every district)."""
    return pd.DataFrame({
        "zone_id": ["壺川小", "一新小", "大江小"], "zone_name": ["壺川小", "一新小", "大江小"],
        "ward": ["中央区"] * 3, "counter_before": ["chuo", "oe", "oe"],
        "counter_before_km": [0.5, 1.5, 1.0], "counter_before_share": [1.0, 0.6, 1.0],
        "counter_after": ["chuo", "chuo", "chuo"], "counter_after_km": [0.5, 2.5, 2.13],
        "counter_after_share": [1.0, 1.0, 1.0], "stores": [1, 0, 2],
        "store_km": [0.4, 1.2, 0.3],
    })


CITY = {"people_farther": 13722.0, "beyond_2km_before": 0.0, "beyond_2km_after": 13000.0,
        "beyond_2km_before_65plus": 0.0, "beyond_2km_after_65plus": 3600.0,
        "before_km": 0.98, "after_km": 1.83}


def _residents(zones, wards, offices, stores, services, lang="ja") -> bytes:
    affected = leaflets.affected_services(services, zones)
    return leaflets.render_residents(
        zones, wards, offices, stores, title=TITLE,
        figures=briefing.key_figures(CITY, lang=lang, plain=True), services=affected,
        sources=SOURCES, subtitle="2026-11-22 作成", lang=lang)


def _leaflets(zones, wards, offices, stores, services, chosen=("大江小", "一新小"),
              lang="ja") -> bytes:
    table = zones.drop(columns="geometry")
    figures = {row["zone_id"]: leaflets.district_figures(row, lang=lang)
               for row in table.to_dict("records")}
    return leaflets.render_district_leaflets(
        zones, wards, offices, stores, title=TITLE, figures=figures, services=services,
        chosen=list(chosen), sources=SOURCES, subtitle="2026-11-22 作成", lang=lang)


def _body(pdf: bytes, lang: str = "ja") -> tuple[list[pdf_viewers.Span], list[int]]:
    """The spans, and the indices of the sources line's."""
    spans = pdf_viewers.spans(pdf)
    line = sources_line(SOURCES, lang=lang)
    return spans, [i for i, s in enumerate(spans) if s.text.strip() in line]


def test_change_lines_say_what_happens_to_each_counter(offices):
    assert leaflets.change_lines(offices) == [
        "大江出張所（中央区）の窓口を閉鎖します",
        "東部出張所（東区）は証明書の交付だけの窓口（サービスコーナー）になります"]
    assert leaflets.change_lines(offices.assign(open=True, downgraded=False)) == \
        ["窓口は今のままです"]


def test_affected_services_are_the_districts_whose_counter_changes(services, zones):
    affected = leaflets.affected_services(services, zones)
    assert affected["zone_id"].tolist() == ["大江小", "一新小"]  # most people farther first


def test_district_figures_give_2_and_5_km_and_the_65_plus(zones):
    row = zones.drop(columns="geometry").iloc[2].to_dict()
    assert leaflets.district_figures(row) == {
        "窓口が今より遠くなる人": "11,722 人",
        "窓口まで 2 km より遠い人": "0 → 9,000 人",
        "窓口まで 2 km より遠い65歳以上の人": "0 → 2,500 人",
        "窓口まで 5 km より遠い人": "0 → 120 人",
        "窓口まで 5 km より遠い65歳以上の人": "0 → 40 人",
        "窓口までの道のり（平均）": "1.00 → 2.13 km",
    }


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_residents_handout_in_plain_words(zones, wards, offices, stores, services, lang):
    pdf = _residents(zones, wards, offices, stores, services, lang=lang)
    spans, sources = _body(pdf, lang)
    body = " ".join(s.text for i, s in enumerate(spans) if i not in sources)
    for word in leaflets.JARGON:
        assert word.lower() not in body.lower(), word
    texts = {s.text for s in spans}
    figures = briefing.key_figures(CITY, lang=lang, plain=True)
    assert set(figures) <= texts and set(figures.values()) <= texts
    if lang == "ja":
        assert {"住民のみなさまへ", "この案で変わること", "大江出張所（中央区）の窓口を閉鎖します",
                "窓口が遠くなる校区", "いまの最寄りの窓口", "見直し後の最寄りの窓口",
                "大江出張所", "中央区役所", "1.00 → 2.13", "窓口の場所",
                "中央区役所：熊本市中央区手取本町1-1", "コンビニ"} <= texts
        assert any("コンビニでも取れます" in t for t in texts)
        # five columns (the planners' table has seven), no distances to 2 decimals of
        # people or zone codes
        headings = {"校区", "いまの最寄りの窓口", "見直し後の最寄りの窓口", "道のり（km）",
                    "校区内のコンビニ"}
        assert headings <= texts
    else:
        assert {"To residents", "What this plan changes", "Nearest counter now"} <= texts


@pytest.mark.parametrize("which", ["residents", "leaflets"])
def test_sizes_and_viewers(zones, wards, offices, stores, services, which):
    """Figures at least 12 pt, everything else at least 9 (10 here), sources 8; MuPDF,
    poppler and PDFium draw every Japanese span without a warning."""
    if which == "residents":
        pdf = _residents(zones, wards, offices, stores, services)
        figures = briefing.key_figures(CITY, plain=True)
    else:
        pdf = _leaflets(zones, wards, offices, stores, services, chosen=["大江小"])
        figures = {**leaflets.district_figures(zones.drop(columns="geometry").iloc[2]
                                               .to_dict()),
                   "いま": "大江出張所（1.00 km）", "見直し後": "中央区役所（2.13 km）"}
    spans, sources = _body(pdf)
    keys = [s for s in spans if s.text in figures or s.text in figures.values()]
    assert len(keys) == 2 * len(figures)  # every label and value, each once
    assert min(s.size for s in keys) >= 12
    assert sources and min(spans[i].size for i in sources) >= 8
    assert min(s.size for i, s in enumerate(spans) if i not in sources) >= 9
    report = pdf_viewers.check(pdf)
    assert report.mupdf_warnings == "" and report.poppler_warnings == ""
    assert all(count > 0 for counts in report.ink.values() for count in counts)
    assert report.worst_ratio >= pdf_viewers.AGREEMENT, report.ink
    assert all(f["type"] == "CID TrueType" for f in pdf_viewers.fonts(pdf))


def test_one_leaflet_page_per_district(zones, wards, offices, stores, services):
    import pymupdf

    pdf = _leaflets(zones, wards, offices, stores, services)
    pages = pdf_viewers.page_lines(pdf)
    assert len(pages) == 2
    first, second = ("\n".join(lines) for lines in pages)
    assert first.startswith("大江小校区のみなさまへ")
    assert second.startswith("一新小校区のみなさまへ")
    assert "いま 大江出張所（1.00 km）" in first and "見直し後 中央区役所（2.13 km）" in first
    assert "窓口まで 5 km より遠い人 0 → 120 人" in first
    assert "校区の中のコンビニ：2 店（住まいから最寄りの店まで平均 0.30 km）" in first
    assert "大江出張所：熊本市中央区大江6丁目1-85" in first
    assert "校区の中のコンビニ：0 店" in second
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        assert doc.metadata["title"] == TITLE and doc.language == "ja"
        assert doc.metadata["subject"] == "校区別のお知らせ（2 校区）"


def test_an_unknown_district_is_refused(zones, wards, offices, stores, services):
    with pytest.raises(ValueError, match="unknown school district"):
        _leaflets(zones, wards, offices, stores, services, chosen=["どこか小"])
    with pytest.raises(ValueError, match="no school district"):
        _leaflets(zones, wards, offices, stores, services, chosen=[])


def test_the_district_map_shows_both_counters(zones, wards, offices, stores, services):
    from matplotlib.text import Text

    shapes = zones.assign(zone_id=zones["zone_id"].astype(str))
    fig = leaflets.build_district_page(
        shapes.iloc[[2]], shapes, wards, offices, stores, title=TITLE,
        figures=leaflets.district_figures(zones.drop(columns="geometry").iloc[2].to_dict()),
        service=services.iloc[2].to_dict(), sources=SOURCES)
    ax = fig.axes[0]
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    for point in offices.geometry[offices["office_id"].isin(["oe", "chuo"])]:
        assert xmin < point.x < xmax and ymin < point.y < ymax
    labels = {t.get_text() for t in ax.findobj(Text)}
    assert {"大江小", "中央区役所", "大江"} <= labels  # the district, the open and closed office
    assert np.isclose((xmax - xmin) / (ymax - ymin), ax.get_position().width
                      * fig.get_figwidth() / (ax.get_position().height * fig.get_figheight()),
                      rtol=0.02)  # the map fills its box
