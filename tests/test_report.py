"""``python -m geo report``: bad arguments exit 2 before any work; on the bundle it writes the
workbook, the slide and the handout from a saved scenario or from --close."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from openpyxl import load_workbook
from records import record

from geo import cli, demand, layers, network_check, report
from geo.labels import labelled_table
from geo.scenariostore import ScenarioStore

pypdf = pytest.importorskip("pypdf")
JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


def _error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize(("args", "message"), [
    (["--close", "oe-branch"], "give at least one of --xlsx"),
    (["--scenario", "案A", "--close", "oe-branch", "--xlsx", "{tmp}/a.xlsx"],
     "--scenario asks its own question; drop --close"),
    (["--version", "2", "--xlsx", "{tmp}/a.xlsx"], "--version needs --scenario"),
    (["--xlsx", "{tmp}/a.xlsx", "--handout", "{tmp}/a.xlsx"], "same file"),
    (["--handout", "{tmp}/no/such/folder/h.pdf"], "does not exist"),
    (["--lang", "fr", "--xlsx", "{tmp}/a.xlsx"], "invalid choice"),
    (["--scenario", "nobody saved this", "--db", "sqlite:///{tmp}/s.sqlite",
      "--xlsx", "{tmp}/a.xlsx"], "no saved scenario named"),
    (["--close", "oe-branch", "--districts", "大江小", "--handout", "{tmp}/h.pdf"],
     "--districts needs --leaflets"),
    (["--close", "oe-branch", "--by", "ward", "--leaflets", "{tmp}/l.pdf"],
     "--leaflets needs --by district"),
])
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, args, message):
    argv = ["report", *[a.format(tmp=tmp_path) for a in args]]
    assert cli.main(argv) == 2
    assert message in _error(capsys)
    assert not list(tmp_path.glob("*.xlsx")) and not list(tmp_path.glob("*.pdf"))


def test_transit_headline_figures_are_minutes_by_bus_and_on_foot():
    from geo import briefing

    summary = {"people_farther": 300.0, "transit_beyond_45min_before": 10.0,
               "transit_beyond_45min_after": 310.0, "transit_beyond_45min_before_65plus": 2.0,
               "transit_beyond_45min_after_65plus": 62.0, "transit_before_min": 21.4,
               "transit_after_min": 29.6, "beyond_2km_before": 0.0, "beyond_2km_after": 0.0,
               "before_km": 1.0, "after_km": 2.0}
    assert briefing.key_figures(summary, lang="ja") == {
        "最寄り窓口が遠くなる人": "300 人",
        "バス・徒歩で45分超の人": "10 → 310 人",
        "バス・徒歩で45分超の65歳以上": "2 → 62 人",
        "平均所要時間（バス・電車・徒歩）": "21 → 30 分",
    }


def test_a_store_source_the_data_lacks_exits_2(tmp_path, capsys, bundle_copy):
    data = bundle_copy()
    (data / layers.BUNDLE_FILES["stores_overture"].relpath).unlink()
    argv = ["--data", str(data), "report", "--close", "oe-branch", "--stores", "overture",
            "--measure", "certificate", "--xlsx", str(tmp_path / "r.xlsx")]
    assert cli.main(argv) == 2
    assert _error(capsys).startswith("error: cannot answer the question here: store_source: "
                                     "'overture' is not in this data directory")
    assert not (tmp_path / "r.xlsx").exists()


@pytest.mark.parametrize("option", ["--pdf", "--residents", "--leaflets"])
def test_an_existing_file_of_another_format_is_kept(tmp_path, capsys, option):
    kept = tmp_path / "table.csv"
    kept.write_text("a,b\n1,2\n")
    assert cli.main(["report", "--close", "oe-branch", option, str(kept)]) == 2
    assert option in _error(capsys) and kept.read_text() == "a,b\n1,2\n"


def test_output_inside_the_data_directory_is_refused(tmp_path, capsys):
    assert cli.main(["--data", str(tmp_path), "report", "--close", "oe-branch",
                     "--xlsx", str(tmp_path / "r.xlsx")]) == 2
    assert "inside the data directory" in _error(capsys)


def _pdf_text(path: Path, pages: int = 1) -> str:
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == pages
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


@pytest.mark.bundle
def test_report_of_a_saved_scenario_on_the_bundle(bundle_dir, tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'scenarios.sqlite'}"
    store = ScenarioStore(db)
    store.save(record(name="大江・秋津案", base="fy2015",
                             closed={"oe-branch", "akitsu-branch"}, store_share=0.3,
                             briefing_title="大江と秋津を閉じる案"))
    store.close()
    out = {key: tmp_path / name for key, name in (("xlsx", "r.xlsx"), ("pdf", "s.pdf"),
                                                  ("png", "s.png"), ("handout", "h.pdf"))}
    argv = ["--data", str(bundle_dir), "report", "--scenario", "大江・秋津案", "--db", db]
    for key, path in out.items():
        argv += [f"--{key}", str(path)]
    assert cli.main(argv) == 0
    listing = pd.read_csv(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))
    assert listing["output"].tolist() == list(out)

    book = load_workbook(out["xlsx"])
    assert book.sheetnames == ["校区別", "市全体", "窓口", "窓口の件数", "コンビニ空白校区",
                               "項目説明", "シナリオ", "出典"]
    city = {h.value: c.value for h, c in zip(book["市全体"][1], book["市全体"][2], strict=True)}
    from geo import study
    from geo.question import Question

    expected = study.evaluate(study.build_study(bundle_dir), Question(
        base="fy2015", closed={"oe-branch", "akitsu-branch"}, store_share=0.3)).city
    assert city["人口"] == round(expected["population"]) == 740171  # the census total
    assert city["65歳以上人口"] == round(expected["population_65plus"])
    assert city["平均距離（変更前, km）"] == round(expected["before_km"], 2)
    assert city["最寄り窓口が遠くなる人"] == round(expected["people_farther"]) > 0
    assert city["2kmより遠い65歳以上（変更後）"] == round(expected["beyond_2km_after_65plus"])
    states = {row[0].value: row[4].value for row in book["窓口"].iter_rows(min_row=2)}
    assert states["oe-branch"] == "閉鎖" and states["chuo-ward-office"] == "存続"
    scenario = {row[0].value: row[1].value for row in book["シナリオ"].iter_rows(min_row=2)}
    assert scenario["シナリオ"] == "大江と秋津を閉じる案"
    keys = [row[0].value for row in book["出典"].iter_rows(min_row=2)]
    assert {"mesh", "attendance_zones", "osm_city_drive_edges", "stores_osm"} <= set(keys)

    assert out["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "大江と秋津を閉じる案" in _pdf_text(out["pdf"])
    handout = _pdf_text(out["handout"], pages=2)  # the ten districts on the second page
    for piece in ("大江と秋津を閉じる案", "主な数値", "2kmより遠い65歳以上", "影響の大きい校区",
                  "前提", "割合：30%", "令和2年国勢調査地域メッシュ統計",
                  "熊本市教育委員会通学区域一覧"):
        assert piece in handout, piece


@pytest.mark.bundle
def test_english_report_from_close_has_no_japanese_headers(bundle_dir, tmp_path):
    xlsx, handout = tmp_path / "en.xlsx", tmp_path / "en.pdf"
    assert cli.main(["--data", str(bundle_dir), "report", "--year", "2015", "--close",
                     "oe-branch", "--lang", "en", "--xlsx", str(xlsx),
                     "--handout", str(handout)]) == 0
    book = load_workbook(xlsx)
    assert book.sheetnames[-3:] == ["Columns", "Scenario", "Sources"]
    for sheet in book:
        assert not JAPANESE.search(sheet.title)
        assert not [c.value for c in sheet[1] if JAPANESE.search(str(c.value))], sheet.title
    offices = {row[0].value: row[1].value for row in book["Offices"].iter_rows(min_row=2)}
    assert offices["oe-branch"] == "Oe Branch Office"
    text = _pdf_text(handout, pages=2)
    assert "FY2015counters:1closed,0downgraded" in text and "Keyfigures" in text
    assert "主な数値" not in text
    assert "Chuo" in text and "中央区" not in text  # ward labels and the table's ward column


@pytest.mark.bundle
def test_every_network_check_table_of_the_bundle_has_headings(engine):
    check = network_check.check_network(engine)
    for table in (check.figures_table(), check.walls, check.detours, check.far_snaps):
        for lang in ("ja", "en"):
            shown = labelled_table(table, lang=lang)
            assert len(shown.columns) == len(table.columns)
            assert not set(shown.columns) & set(table.columns)  # no code left as a heading


def test_a_failed_write_leaves_every_file_as_it_was(tmp_path, monkeypatch):
    for name in ("workbook", "slide", "handout"):
        monkeypatch.setattr(report, name, lambda *a, **k: b"%PDF-new")
    old = tmp_path / "old.pdf"
    old.write_bytes(b"%PDF-old")
    targets = {"pdf": tmp_path / "new.pdf", "handout": old,
               "png": tmp_path / "gone" / "slide.png"}  # its folder disappeared
    study = SimpleNamespace(data=tmp_path / "data")
    with pytest.raises(OSError):
        report.write_report(study, None, targets, title="t")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.pdf"]  # no part files
    assert old.read_bytes() == b"%PDF-old"
    del targets["png"]
    assert report.write_report(study, None, targets, title="t") == [tmp_path / "new.pdf", old]
    assert old.read_bytes() == b"%PDF-new"


def test_slide_notes_keep_the_caveat_and_never_a_heading_without_a_counter():
    from geo import briefing

    caveat = "九州産交バス（市内最大の事業者）の時刻表データが含まれていないため、公共交通の所要時間はサービスの下限（実際より長め）です。"  # noqa: E501
    study = SimpleNamespace(transit=SimpleNamespace(caveat={"ja": caveat, "en": ""}))
    offices = pd.DataFrame({"office_id": ["a", "b", "c", "d"], "name_ja": ["甲", "乙", "丙", "丁"],
                            "name_en": ["A", "B", "C", "D"]})
    # 丁 gains under half a transaction a year: not a receiver (as on the dashboard)
    shift = SimpleNamespace(table=pd.DataFrame({"office_id": ["a", "b", "c", "d"],
                                                "status": ["open", "open", "closed", "open"],
                                                "change": [300.0, 200.0, -500.0, 0.3],
                                                "change_pct": [3.0, 2.0, -100.0, 0.01]}))
    receivers = demand.LoadShift.receivers.fget(shift)  # type: ignore[attr-defined]
    result = SimpleNamespace(load_shift=shift, offices=offices, receivers=receivers)
    notes = report.slide_notes(study, result)
    lines = report.transit_notes(study)
    assert "".join(lines) == caveat and len(lines) == 3 and max(map(len, lines)) <= 24
    assert notes[:3] == lines
    assert notes[3:] == ["受付が増える窓口（推計、年間）", "甲 +300 件/年 (+3.0%)"]
    assert len(notes) == briefing.MAX_NOTES
    for longer in (caveat[:30], caveat * 2):  # room for the heading only, or for nothing
        crowded = SimpleNamespace(transit=SimpleNamespace(caveat={"ja": longer + caveat,
                                                                  "en": ""}))
        assert report.slide_notes(crowded, result) == report.transit_notes(crowded)
    assert report.slide_notes(SimpleNamespace(transit=None), result)[1:] == [
        "甲 +300 件/年 (+3.0%)", "乙 +200 件/年 (+2.0%)"]


# -- the printed files on the bundle: figures from evaluate, every viewer (issue 21) -----------

NUMBER = r"([\d,]+(?:\.\d+)?)"


def _line(lines: list[str], label: str) -> str:
    found = [line for line in lines if line.startswith(label + " ")]
    assert len(found) == 1, (label, lines)
    return found[0].removeprefix(label + " ")


def _numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(NUMBER, text)]


@pytest.mark.bundle
def test_printed_files_carry_evaluate_s_figures_and_every_viewer_draws_them(bundle_dir,
                                                                             tmp_path):
    import pdf_viewers

    from geo import briefing, study
    from geo.question import Question

    out = {key: tmp_path / f"{key}.pdf" for key in ("pdf", "handout", "residents", "leaflets")}
    argv = ["--data", str(bundle_dir), "report", "--year", "2015", "--close",
            "oe-branch,akitsu-branch", "--districts", "大江小,秋津小"]
    for key, path in out.items():
        argv += [f"--{key}", str(path)]
    assert cli.main(argv) == 0
    built = study.build_study(bundle_dir)
    result = study.evaluate(built, Question(base="fy2015", closed={"oe-branch",
                                                                   "akitsu-branch"}))
    city = result.city
    expected = {  # label -> the numbers evaluate gives, as printed (people whole, km 0.01)
        "farther": [round(city["people_farther"])],
        "beyond": [round(city["beyond_2km_before"]), round(city["beyond_2km_after"])],
        "beyond_65plus": [round(city["beyond_2km_before_65plus"]),
                          round(city["beyond_2km_after_65plus"])],
        "mean": [round(city["before_km"], 2), round(city["after_km"], 2)],
    }
    pdfs = {key: path.read_bytes() for key, path in out.items()}
    for key, plain in (("handout", False), ("residents", True)):
        lines = [line for page in pdf_viewers.page_lines(pdfs[key]) for line in page]
        for word, numbers in expected.items():
            label = briefing.LABELS[f"plain_{word}" if plain else word][0].format(km=2)
            assert _numbers(_line(lines, label))[-len(numbers):] == numbers, (key, label)

    services = study.zone_services(built, result).set_index("zone_id")
    rows = result.zone_table.set_index("zone_id")
    pages = pdf_viewers.page_lines(pdfs["leaflets"])
    assert [page[0] for page in pages] == ["大江小校区のみなさまへ", "秋津小校区のみなさまへ"]
    names = built.engine.offices.set_index("office_id")["name_ja"]
    for district, lines in zip(("大江小", "秋津小"), pages, strict=True):
        service, row = services.loc[district], rows.loc[district]
        for when, key in (("いま", "before"), ("見直し後", "after")):
            printed = _line(lines, when)
            assert printed.startswith(names[service[f"counter_{key}"]])
            assert _numbers(printed)[-1] == round(service[f"counter_{key}_km"], 2)
        for km in (2, 5):
            assert _numbers(_line(lines, f"窓口まで {km} km より遠い人"))[-2:] == [
                round(row[f"beyond_{km}km_before"]), round(row[f"beyond_{km}km_after"])]
        assert f"校区の中のコンビニ：{service['stores']} 店" in "\n".join(lines)

    for key, pdf in pdfs.items():
        report_ = pdf_viewers.check(pdf)
        assert report_.mupdf_warnings == "" and report_.poppler_warnings == "", key
        assert report_.worst_ratio >= pdf_viewers.AGREEMENT, (key, report_.ink)
        assert all(f["type"] == "CID TrueType" for f in pdf_viewers.fonts(pdf)), key
    slide_sizes = [s.size for s in pdf_viewers.spans(pdfs["pdf"])]
    assert min(slide_sizes) * 1920 / (13.333 * 72) >= 18 - 1e-6
    spans = pdf_viewers.spans(pdfs["handout"])
    from geo.provenance import sources_line

    line = sources_line(report.report_sources(built, result))
    sources = [s for s in spans if s.text.strip() in line]
    assert sources and min(s.size for s in sources) >= 8
    keys = [s for s in spans if "→" in s.text or s.text.endswith(" 人")]
    assert min(s.size for s in keys) >= 12
    assert min(s.size for s in spans if s not in sources) >= 9


@pytest.mark.bundle
@pytest.mark.parametrize(("args", "message"), [
    (["--close", "oe-branch", "--districts", "どこにもない小"], "unknown school district"),
    ([], "no school district's counter changes"),
])
def test_leaflets_of_unknown_or_unaffected_districts_exit_2(bundle_dir, tmp_path, capsys,
                                                            args, message):
    leaflets = tmp_path / "l.pdf"
    argv = ["--data", str(bundle_dir), "report", "--year", "2015", *args,
            "--leaflets", str(leaflets)]
    assert cli.main(argv) == 2
    assert message in _error(capsys) and not leaflets.exists()
