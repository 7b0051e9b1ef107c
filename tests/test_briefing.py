"""Briefing page: PNG / PDF from a 3-zone, 2-office fixture, Japanese font embedded."""

from __future__ import annotations

import io
import re
import struct
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pdf_viewers
import pytest
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.text import Text
from shapely.geometry import Point, box

from geo import briefing, colours
from geo.errors import CRSError, FontMissingError, LayerError
from geo.layers import BUNDLE_FILES
from geo.scenarios import Scenario

TITLE = "大江出張所を廃止した場合"
FIGURES = {"窓口が遠くなる人": "1,234 人", "2 km より遠い人": "100 → 1,334 人",
           "平均距離": "0.80 → 1.40 km"}

pytestmark = pytest.mark.filterwarnings("error:Glyph:UserWarning")  # a character not drawn


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    """Three 1 km squares in Kumamoto (EPSG:6670); the third unreachable after."""
    squares = [box(-27_000 + 1000 * i, -20_000, -26_000 + 1000 * i, -19_000) for i in range(3)]
    return gpd.GeoDataFrame({"zone_name": ["壺川", "一新", "大江"],
                             "before_km": [0.5, 1.5, 2.5], "after_km": [0.5, 3.5, np.nan],
                             "delta_km": [0.0, 2.0, np.nan]}, geometry=squares, crs="EPSG:6670")


@pytest.fixture
def offices() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"office_id": ["chuo", "oe"], "name_ja": ["中央区役所", "大江出張所"],
                             "kind": ["ward_office", "branch"], "open": [True, False]},
                            geometry=[Point(-26_500, -19_500), Point(-25_500, -19_500)],
                            crs="EPSG:6670")


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_figure_holds_title_figures_legend_and_sources(zones, wards, offices):
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES,
                                         subtitle="現在の窓口 / 2026-11-22")
    texts = _texts(fig)
    assert TITLE in texts and "現在の窓口 / 2026-11-22" in texts
    for label, value in FIGURES.items():
        assert label in texts and value in texts
    assert {"変更前", "変更後", "中央区", "大江", "閉鎖", "到達できる窓口なし"} <= set(texts)
    sources = next(t for t in texts if t.startswith("出典："))
    for key in briefing.DEFAULT_SOURCES:
        assert BUNDLE_FILES[key].attribution.removeprefix("出典：") in sources
    assert "出典：出典：" not in sources
    assert len(fig.axes) == 2  # two maps; one colour legend below them
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()  # same extent, same scale


def test_change_layout_has_one_map(zones, wards, offices):
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES,
                                         layout="change", sources=["wards"])
    assert len(fig.axes) == 1 and "距離の増加" in _texts(fig)


def test_text_uses_the_cjk_font(zones, wards, offices):
    family = briefing.find_cjk_font()
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES)
    title = next(t for t in fig.findobj(Text) if t.get_text() == TITLE)
    assert title.get_fontfamily()[0] == family


def test_png_signature_and_size(zones, wards, offices):
    png = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES, dpi=60)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert (width, height) == (800, 450)  # 13.33 x 7.5 in at 60 dpi


def test_pdf_has_one_page_and_embeds_biz_ud_gothic_as_truetype(zones, wards, offices):
    pdf = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                   format="pdf")
    assert pdf.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    fonts = set(re.findall(rb"/BaseFont\s*/([^\s/<>\[\]]+)", pdf))
    assert any(b"BIZUDPGothic" in f for f in fonts), fonts
    assert not any(b"NotoSansCJK" in f for f in fonts), fonts
    # TrueType outlines (FontFile2) only: no CFF program (FontFile3) under any font
    assert set(re.findall(rb"/FontFile\d?", pdf)) == {b"/FontFile2"}


def test_pdf_text_extracts_title_when_pypdf_is_available(zones, wards, offices):
    pypdf = pytest.importorskip("pypdf")
    pdf = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                   format="pdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1 and TITLE in reader.pages[0].extract_text()


def test_rendering_leaves_no_pyplot_state(zones, wards, offices):
    briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES, dpi=30)
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_key_figures_from_a_summary():
    summary = {"people_farther": 1234.4, "beyond_2km_before": 100.0,
               "beyond_2km_after": 1334.0, "before_km": 0.8, "after_km": float("nan")}
    assert briefing.key_figures(summary) == {"最寄り窓口が遠くなる人": "1,234 人",
                                             "2 km より遠い人": "100 → 1,334 人",
                                             "平均距離": "0.80 → — km"}
    with pytest.raises(ValueError, match="beyond_3km_before"):
        briefing.key_figures(summary, threshold_km=3)


def test_english_wording(zones, wards, offices):
    summary = {"people_farther": 5.0, "beyond_2km_before": 1.0, "beyond_2km_after": 2.0,
               "before_km": 1.0, "after_km": 2.0}
    figures = briefing.key_figures(summary, lang="en")
    assert figures == {"People whose nearest counter gets farther": "5 people",
                       "People beyond 2 km": "1 → 2 people", "Mean distance": "1.00 → 2.00 km"}
    fig = briefing.build_briefing_figure(zones, wards, offices, title="Oe closed",
                                         figures=figures, lang="en")
    assert {"Before", "After", "Closed", "No counter reachable"} <= set(_texts(fig))
    with pytest.raises(ValueError, match="unknown language"):
        briefing.key_figures(summary, lang="fr")


def test_mark_offices_flags_closed_and_downgraded():
    register = gpd.GeoDataFrame(
        {"office_id": ["a", "b", "c", "d"], "counter_fy2015": [True, True, True, False],
         "counter_now": [True, False, True, True]},
        geometry=[Point(0, 0)] * 4, crs="EPSG:6670")
    marked = briefing.mark_offices(register, Scenario(base="fy2015", closed={"b"},
                                                      downgraded={"c"}))
    assert marked["office_id"].tolist() == ["a", "b", "c"]
    assert marked["open"].tolist() == [True, False, True]
    assert marked["downgraded"].tolist() == [False, False, True]


def test_short_office_name():
    assert briefing.short_office_name("大江出張所") == "大江"
    assert briefing.short_office_name("森都心プラザ市民サービスコーナー") == "森都心プラザ"
    assert briefing.short_office_name("中央区役所") == "中央区役所"
    assert briefing.short_office_name("Oe Branch Office") == "Oe"
    assert briefing.short_office_name("Akita General Branch Office") == "Akita"
    assert briefing.short_office_name("Chuo Ward Office") == "Chuo Ward Office"


def test_zones_without_crs_are_refused(zones, wards, offices):
    with pytest.raises(CRSError, match="zones layer has no CRS"):
        briefing.build_briefing_figure(zones.set_crs(None, allow_override=True), wards, offices,
                                       title=TITLE, figures=FIGURES)


def test_missing_columns_are_named(zones, wards, offices):
    with pytest.raises(LayerError, match=r"offices layer lacks column.*open"):
        briefing.build_briefing_figure(zones, wards, offices.drop(columns="open"), title=TITLE,
                                       figures=FIGURES)


def test_unknown_format_and_layout(zones, wards, offices):
    with pytest.raises(ValueError, match="unknown format 'svg'"):
        briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                 format="svg")
    with pytest.raises(ValueError, match="unknown layout"):
        briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES,
                                       layout="grid")


def test_no_cjk_font_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(briefing, "_cjk_font_files", list)
    with pytest.raises(FontMissingError, match="apt-get install fonts-morisawa-bizud-gothic"):
        briefing.find_cjk_font(families=("No Such Font JP",))
    with pytest.raises(FontMissingError, match=r"TrueType outlines.*CFF outlines"):
        briefing.find_cjk_font(families=("No Such Font JP",), truetype=True)


def test_notes_are_printed_under_the_key_figures_and_above_the_legend(zones, wards, offices):
    notes = ["受付が増える窓口（推計、年間）", "中央区役所 +38,400 件/年（+16.9%）",
             "幸田総合出張所 +4,500 件/年（+13.5%）"]
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES,
                                         notes=notes)
    renderer = fig.canvas.get_renderer()
    shown = {t.get_text(): t for t in fig.findobj(Text) if t.get_text() in notes}
    assert set(shown) == set(notes)
    value = next(t for t in fig.findobj(Text) if t.get_text() == FIGURES["平均距離"])
    legend = fig.legends[0].get_window_extent(renderer)
    for text in shown.values():
        box = text.get_window_extent(renderer)
        assert box.y1 <= value.get_window_extent(renderer).y0  # under the last key figure
        assert box.y0 >= legend.y1  # above the legend
        assert box.x1 <= fig.bbox.width  # shrunk to fit the page


def test_too_many_notes_are_cut(zones, wards, offices, caplog):
    notes = [f"note {i}" for i in range(briefing.MAX_NOTES + 2)]
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES,
                                         notes=notes)
    texts = _texts(fig)
    assert notes[briefing.MAX_NOTES - 1] in texts and notes[briefing.MAX_NOTES] not in texts
    assert "only the first" in caplog.text


def test_title_and_office_names_holding_dollar_signs_are_not_mathtext(zones, wards, offices,
                                                                      monkeypatch):
    drawn: list[Figure] = []
    build = briefing.build_briefing_figure
    monkeypatch.setattr(briefing, "build_briefing_figure",
                        lambda *a, **k: drawn.append(build(*a, **k)) or drawn[-1])
    offices = offices.assign(name_ja=["中央区役所", "$\\alpha$出張所"])
    briefing.render_briefing(zones, wards, offices, title="料金 $5 と $x^2$ の案",
                             figures=FIGURES, dpi=30)
    texts = [t for t in drawn[0].findobj(Text) if "$" in t.get_text()]
    assert {t.get_text() for t in texts} == {"料金 $5 と $x^2$ の案", "$\\alpha$"}
    assert not any(t.get_parse_math() for t in texts)


# -- the A4 handout and the shared colour scale ----------------------------------------------

def _handout_text(pdf: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) in (1, 2)
    for page in reader.pages:
        assert (round(float(page.mediabox.width)),
                round(float(page.mediabox.height))) == (595, 842)
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_handout_is_one_a4_portrait_page_with_the_key_texts(zones, wards, offices, lang):
    summary = {"people_farther": 10084.08, "beyond_2km_before": 0.0,
               "beyond_2km_after": 10084.08, "before_km": 1.1, "after_km": 2.2}
    figures = briefing.key_figures(summary, lang=lang)
    assumptions = ["歩行速度 4.8 km/h" if lang == "ja" else "Walking at 4.8 km/h"]
    affected = pd.DataFrame({"zone_name": ["大江小"], "ward": ["中央区"],
                             "population": [9383.88], "people_farther": [9383.88],
                             "before_km": [2.5], "after_km": [np.nan], "delta_km": [np.nan]})
    pdf = briefing.render_handout(zones, wards, offices, title="大江出張所の廃止案",
                                  figures=figures, affected=affected,
                                  assumptions=assumptions, lang=lang,
                                  sources=["wards", "mesh", "attendance_zones"])
    text = _handout_text(pdf)
    expected = {"ja": ["大江出張所の廃止案", "主な数値", "最寄り窓口が遠くなる人10,084人",
                       "影響の大きい校区", "窓口が遠くなる人", "9,384", "大江小", "前提",
                       "歩行速度4.8km/h", "出典：国土数値情報", "到達できる窓口なし"],
                "en": ["Keyfigures", "Peoplewhosenearestcountergetsfarther10,084people",
                       "Mostaffectedschooldistricts", "Population", "9,384", "Assumptions",
                       "Walkingat4.8km/h", "Sources:国土数値情報", "Nocounterreachable"]}[lang]
    for piece in expected:
        assert piece.replace(" ", "") in text, piece
    assert "出典：出典：" not in text
    if lang == "en":
        assert not [w for w in ("主な数値", "前提", "影響の大きい校区", "人口", "変更後")
                    if w in text]


def test_slide_draws_zones_with_the_screen_scale(zones, wards, offices):
    fig = briefing.build_briefing_figure(zones, wards, offices, title="t",
                                         figures={"a": "1"}, sources=["wards"])
    after = fig.axes[1].collections[0].get_facecolors()
    expected = [colours.DISTANCE_SCALE.colours[0], colours.DISTANCE_SCALE.colours[3],
                colours.UNREACHABLE_COLOUR]  # after_km 0.5, 3.5, unreachable
    np.testing.assert_allclose(after, to_rgba_array(expected))
    legend_texts = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert {"0–1 km", "> 8 km", "到達できる窓口なし"} <= set(legend_texts)


def test_a_transit_slide_and_handout_are_coloured_and_headed_in_minutes(zones, wards, offices):
    transit = zones.assign(transit_before_min=[12.0, 25.0, 50.0],
                           transit_after_min=[12.0, 47.0, np.inf], people_farther=[0, 900, 40],
                           ward="中央区", population=[1000, 2000, 50])
    fig = briefing.build_briefing_figure(transit, wards, offices, title="t", figures={"a": "1"},
                                         sources=["wards"])
    scale = colours.MINUTES_SCALE
    before, after = (ax.collections[0].get_facecolors() for ax in fig.axes[:2])
    np.testing.assert_allclose(before, to_rgba_array([scale.colours[1], scale.colours[2],
                                                      scale.colours[4]]))  # 10–20, 20–30, 45–60
    np.testing.assert_allclose(after, to_rgba_array([scale.colours[1], scale.colours[4],
                                                     colours.UNREACHABLE_COLOUR]))
    texts = _texts(fig)
    assert "最寄りの窓口までの所要時間（バス・電車＋徒歩）" in texts
    assert {"0–10 分", "> 60 分"} <= set(texts) and "0–1 km" not in texts
    change = briefing.build_briefing_figure(transit, wards, offices, title="t", figures={},
                                            sources=["wards"], layout="change", lang="en")
    assert {"Increase in minutes", "> 20 min"} <= set(_texts(change))

    affected = briefing.affected_zones(transit)
    assert list(affected.columns) == ["zone_name", "ward", "population", "people_farther",
                                      "transit_before_min", "transit_after_min"]
    assert affected["zone_name"].tolist() == ["一新", "大江"]
    handout = briefing.build_handout_pages(transit, wards, offices, title="t", figures={},
                                           affected=affected, sources=["wards"])
    cells = {text for page in handout for text in _texts(page)}
    assert "最寄りの窓口までの所要時間（バス・電車＋徒歩）" in cells
    assert {"25.0", "47.0", "—", "2,000"} <= cells  # minutes to 0.1; no counter reachable


def test_handout_without_affected_districts_says_none(zones, wards, offices):
    affected = pd.DataFrame(columns=["zone_name", "ward", "population", "people_farther",
                                     "before_km", "after_km", "delta_km"])
    pages = briefing.build_handout_pages(zones, wards, offices, title="変更なし", figures=FIGURES,
                                         affected=affected, sources=["wards"], zone_kind="ward")
    assert len(pages) == 1  # no table, no assumptions: one page
    texts = _texts(pages[0])
    assert "影響の大きい区" in texts and "なし" in texts and "区域" not in texts


def test_a_long_sources_line_pushes_the_legends_up_instead_of_under_them(zones, wards, offices):
    """Transit slides cite every GTFS feed: the line wraps to three lines."""
    from geo import gtfs

    feeds = [gtfs.feed_source(gtfs.FeedReport(feed, f"{feed}.gtfs.zip", (), 0))
             for feed in gtfs.FEED_PUBLISHERS]
    fig = briefing.build_briefing_figure(zones, wards, offices, title="t", figures={"a": "1"},
                                         sources=[*BUNDLE_FILES, *feeds])
    renderer = fig.canvas.get_renderer()
    sources = next(t for t in fig.texts if t.get_text().startswith("出典："))
    top = sources.get_window_extent(renderer).y1
    assert top > 0.06 * fig.bbox.height  # the line is long enough to reach the old place
    for legend in fig.legends:
        assert legend.get_window_extent(renderer).y0 >= top, legend


# -- fonts every viewer draws, sizes, metadata (issue 21) -------------------------------------

SUMMARY = {"people_farther": 10084.08, "beyond_2km_before": 120.0, "beyond_2km_after": 10084.08,
           "beyond_2km_before_65plus": 30.0, "beyond_2km_after_65plus": 2900.0,
           "before_km": 1.1, "after_km": 2.2}
AFFECTED = pd.DataFrame({"zone_name": [f"校区{i}" for i in range(10)], "ward": ["中央区"] * 10,
                         "population": np.linspace(9000, 1000, 10),
                         "people_farther": np.linspace(8000, 500, 10),
                         "before_km": [1.0] * 10, "after_km": [2.5] * 10, "delta_km": [1.5] * 10})
ASSUMPTIONS = ["距離は小地域（2015年国勢調査）ごとの居住地点から最寄りの窓口までの道路距離",
               "小学校区は通学区域一覧の町名に小地域を割り当てた近似",
               "65歳以上は2015年の人口に2020年500 mメッシュの65歳以上の割合を掛けた推計"]
SOURCES = ["wards", "small_areas", "mesh", "attendance_zones", "offices", "osm_city_drive_edges"]


def _handout(zones, wards, offices, lang="ja", **options) -> bytes:
    return briefing.render_handout(zones, wards, offices, title=TITLE,
                                   figures=briefing.key_figures(SUMMARY, lang=lang),
                                   affected=AFFECTED, assumptions=ASSUMPTIONS, sources=SOURCES,
                                   subtitle="窓口（住民異動・戸籍の届出） / 2026-11-22",
                                   lang=lang, **options)


def test_the_print_font_has_truetype_outlines():
    from geo import _paper

    assert briefing.print_font() == "BIZ UDPGothic"  # installed by scripts/setup.sh
    assert _paper.truetype_outlines("BIZ UDPGothic")
    briefing.find_cjk_font(("Noto Sans CJK JP",))  # fonts-noto-cjk: CFF outlines
    assert not _paper.truetype_outlines("Noto Sans CJK JP")
    assert not _paper.truetype_outlines("No Such Font JP")


def test_a_cff_font_is_refused_for_a_pdf_but_not_for_a_png(zones, wards, offices):
    with pytest.raises(FontMissingError, match=r"Noto Sans CJK JP cannot be embedded.*CFF"):
        _handout(zones, wards, offices, font_family="Noto Sans CJK JP")
    with pytest.raises(FontMissingError, match="CFF"):
        briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                 format="pdf", font_family="Noto Sans CJK JP")
    png = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES, dpi=30,
                                   font_family="Noto Sans CJK JP")
    assert png[:4] == b"\x89PNG"


@pytest.mark.parametrize("kind", ["slide", "handout", "handout-en", "slide-change"])
def test_every_viewer_engine_draws_the_japanese_text(zones, wards, offices, kind):
    """MuPDF, poppler and PDFium open the PDF without a font warning and draw the same ink
    inside every Japanese text span (a span drawn as nothing or garbage in one of them
    would show as a gap against the others)."""
    if kind.startswith("slide"):
        pdf = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                       format="pdf", sources=SOURCES,
                                       layout="change" if kind == "slide-change"
                                       else "side-by-side")
    else:
        pdf = _handout(zones, wards, offices, lang="en" if kind.endswith("en") else "ja")
    fonts = pdf_viewers.fonts(pdf)
    assert fonts and all(f["type"] == "CID TrueType" and f["emb"] == "yes"
                         and f["uni"] == "yes" for f in fonts), fonts
    report = pdf_viewers.check(pdf)
    assert report.mupdf_warnings == ""  # no "cannot render glyph", no FT_Load_Glyph error
    assert report.poppler_warnings == ""  # no "Mismatch between font type and ... file"
    assert report.japanese_spans >= 10
    assert all(count > 0 for counts in report.ink.values() for count in counts), report.ink
    assert report.worst_ratio >= pdf_viewers.AGREEMENT, report.ink
    assert TITLE in pdf_viewers.pdfium_text(pdf)[0]


def test_the_viewer_check_catches_a_cff_font_embedded_as_truetype(zones, wards, offices):
    """What the files were before: Noto Sans CJK (CFF) embedded by matplotlib."""
    from geo import _paper

    with _paper.printing():
        pages = briefing.build_handout_pages(zones, wards, offices, title=TITLE,
                                             figures=FIGURES, affected=AFFECTED.head(2),
                                             font_family="Noto Sans CJK JP")
        pdf = _paper.pdf_bytes(pages, _paper.PdfInfo(title=TITLE, lang="ja", author="test"))
    report = pdf_viewers.check(pdf)
    assert "Mismatch between font type and embedded font file" in report.poppler_warnings
    assert report.mupdf_warnings  # FT_Load_Glyph errors
    assert sum(report.ink["mupdf"]) < 0.1 * sum(report.ink["pdfium"])
    assert report.worst_ratio < pdf_viewers.AGREEMENT


def _sources_spans(pdf: bytes, sources: str) -> set[int]:
    return {i for i, span in enumerate(pdf_viewers.spans(pdf))
            if span.text.strip() in sources}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_handout_sizes_are_measured_in_the_pdf(zones, wards, offices, lang):
    """Key figures at least 12 pt, every other text at least 9 pt, the sources 8 pt: on
    two pages (the map and figures first) rather than smaller."""
    from geo.provenance import sources_line

    pdf = _handout(zones, wards, offices, lang=lang)
    spans = pdf_viewers.spans(pdf)
    sources = _sources_spans(pdf, sources_line(SOURCES, lang=lang))
    figures = briefing.key_figures(SUMMARY, lang=lang)
    keys = [s for s in spans if s.text in figures or s.text in figures.values()]
    assert len(keys) == 2 * len(figures)
    assert min(s.size for s in keys) >= 12
    assert max(s.size for s in keys if s.text in figures.values()) >= 14
    assert sources and min(spans[i].size for i in sources) >= 8
    others = [s for i, s in enumerate(spans) if i not in sources and s not in keys]
    assert min(s.size for s in others) >= 9, min(others, key=lambda s: s.size)
    by_page = [{s.text for s in spans if s.page == p} for p in range(2)]
    assert max(s.page for s in spans) == 1  # ten rows and three assumptions: two pages
    assert set(figures.values()) <= by_page[0]  # figures with the map, first
    assert {"校区0", "校区9"} <= by_page[1]
    assert any(spans[i].page == 0 for i in sources) and any(spans[i].page == 1
                                                           for i in sources)


def test_a_short_handout_stays_on_one_page(zones, wards, offices):
    pdf = briefing.render_handout(zones, wards, offices, title=TITLE, figures=FIGURES,
                                  affected=AFFECTED.head(2), sources=["wards"])
    assert {s.page for s in pdf_viewers.spans(pdf)} == {0}
    assert min(s.size for s in pdf_viewers.spans(pdf)) >= 8


def test_nothing_on_the_slide_is_under_18_px_at_1920(zones, wards, offices):
    """Projected at 1920 x 1080 the 13.33-inch slide is 144 px to the inch: 1 pt = 2 px."""
    notes = ["受付が増える窓口（推計、年間）"] + [f"窓口{i} +1,000 件/年 (+1.0%)" for i in range(9)]
    pdf = briefing.render_briefing(zones, wards, offices, title=TITLE * 3, figures=FIGURES,
                                   format="pdf", notes=notes, sources=SOURCES)
    spans = pdf_viewers.spans(pdf)
    width_pt = 13.333 * 72
    assert min(s.size * 1920 / width_pt for s in spans) >= 18 - 1e-6
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE * 3,
                                         figures=FIGURES, notes=notes, sources=SOURCES)
    shown = [t for t in fig.findobj(Text) if t.get_text() and t.get_visible()]
    assert min(t.get_fontsize() for t in shown) * 144 / 72 >= 18
    png = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                   dpi=144)
    assert struct.unpack(">II", png[16:24]) == (1920, 1080)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pdf_metadata_language_and_searchable_text(zones, wards, offices, lang):
    import pymupdf
    import pypdf

    pdf = _handout(zones, wards, offices, lang=lang, author="熊本市 区政推進課")
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        meta = doc.metadata
        assert meta["title"] == TITLE and meta["author"] == "熊本市 区政推進課"
        assert meta["producer"].startswith("madoguchi ") and "Matplotlib" in meta["producer"]
        assert meta["creationDate"].startswith("D:20")
        assert meta["subject"] == "窓口（住民異動・戸籍の届出） / 2026-11-22"
        assert doc.language == lang
        value = briefing.key_figures(SUMMARY, lang=lang)[
            briefing.LABELS["beyond"][lang == "en"].format(km=2)]
        assert doc[0].search_for(value)  # 120 → 10,084 人: found where it is printed
    root = pypdf.PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    assert root["/Lang"] == lang and root["/ViewerPreferences"]["/DisplayDocTitle"]
    slide = briefing.render_briefing(zones, wards, offices, title=TITLE, figures=FIGURES,
                                     format="pdf", lang=lang)
    with pymupdf.open(stream=slide, filetype="pdf") as doc:
        assert doc.metadata["title"] == TITLE and doc.language == lang
        assert doc.metadata["author"] == briefing.DEFAULT_AUTHOR[lang == "en"]


def test_plain_figures_are_the_same_values_in_other_words():
    planners = briefing.key_figures(SUMMARY)
    residents = briefing.key_figures(SUMMARY, plain=True)
    assert list(planners.values()) == list(residents.values())
    assert "窓口まで 2 km より遠い人" in residents and "平均距離" not in residents


@pytest.mark.parametrize("layout", ["side-by-side", "change"])
def test_the_slide_legend_names_every_class_in_words(zones, wards, offices, layout):
    """Colour is never the only cue: each class drawn has its own legend row in words."""
    fig = briefing.build_briefing_figure(zones, wards, offices, title=TITLE, figures=FIGURES,
                                         layout=layout, sources=["wards"])
    scale = colours.DISTANCE_SCALE if layout == "side-by-side" else colours.CHANGE_SCALE
    legend = fig.legends[0]
    rows = [t.get_text() for t in legend.get_texts()]
    assert rows == [label for _, label in scale.classes()] + ["到達できる窓口なし"]
    faces = [to_rgba_array(h.get_facecolor())[0] for h in legend.legend_handles]
    expected = [colour for colour, _ in scale.classes()] + [colours.UNREACHABLE_COLOUR]
    np.testing.assert_allclose(faces, to_rgba_array(expected))
