"""The dashboard's pages and widgets through Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from widgets import as_shown, bound

from dashboard.i18n import STRINGS
from geo import layers, settings
from geo.colours import MINUTES_SCALE
from geo.labels import COLUMN_LABELS
from geo.question import Question

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
TIMEOUT = 240


@pytest.fixture
def app(monkeypatch, bundle_dir: Path) -> AppTest:
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(bundle_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _open_ids(base: str = "fy2015") -> list[str]:
    offices = layers.load_offices(settings.data_dir())
    return offices.loc[offices[f"counter_{base}"], "office_id"].tolist()


def _metrics(at: AppTest) -> list[str]:
    return [m.value for m in at.metric]


def test_missing_data_directory_shows_a_page_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "データがありません"
    assert any("データフォルダ" in w.value for w in at.warning)
    assert "MADOGUCHI_DATA" in at.code[0].value
    assert "nowhere" in at.session_state["data_error"]


@pytest.mark.bundle
def test_map_page_starts_from_the_fy2015_set_with_nobody_farther(app):
    assert app.session_state["preset"] == "fy2015"
    assert app.session_state["question"].closed == set([])
    values = _metrics(app)
    assert len(values) == 5  # farther, mean, beyond 2 km, beyond 5 km, aged 65+ beyond 2 km
    assert values[0] == "0 人"
    assert not app.error


@pytest.mark.bundle
def test_elderly_card_matches_the_engine(app, engine):
    from geo import scenarios
    from geo.scenarios import Scenario

    bound(app.multiselect, "closed").set_value(["oe-branch", "tobu-branch"]).run()
    card = next(m for m in app.metric if m.label.startswith("2 km より遠い65歳以上"))
    table = scenarios.compare(engine.model, Scenario(base="fy2015",
                                                     closed={"oe-branch", "tobu-branch"}))
    expected = scenarios.summary(table)["beyond_2km_after_65plus"]
    assert card.value == f"{expected:,.0f} 人"


@pytest.mark.bundle
def test_districts_are_the_default_zone_layer(app):
    assert bound(app.selectbox, "zones").value == "district"


@pytest.mark.bundle
def test_closing_an_office_in_the_sidebar_changes_the_cards(app):
    before = _metrics(app)
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    assert not app.exception
    after = _metrics(app)
    assert after != before
    assert after[0] != "0 人"
    assert app.dataframe  # most affected zones


@pytest.mark.bundle
def test_downgrading_keeps_certificates(app):
    bound(app.multiselect, "downgraded").set_value(["oe-branch"]).run()
    counter = _metrics(app)
    bound(app.radio, "measure").set_value("certificate").run()
    certificate = _metrics(app)
    assert counter[0] != "0 人"
    assert certificate[0] == "0 人"  # the downgraded corner still issues certificates


def _map_reports(app, seq: int, closed: list[str], downgraded: tuple[str, ...] = ()) -> None:
    """What the instant map's change callback keeps: the office set after its clicks."""
    app.session_state["map_offices"] = {"seq": seq, "closed": closed,
                                        "downgraded": list(downgraded)}


@pytest.mark.bundle
def test_the_map_s_office_set_becomes_the_question(app):
    _map_reports(app, 1, ["tobu-branch"])
    app.run()
    assert app.session_state["question"].closed == {"tobu-branch"}
    assert app.session_state["map_applied_seq"] == 1
    _map_reports(app, 2, [])
    app.run()
    assert app.session_state["question"].closed == set()
    _map_reports(app, 3, [], ("tobu-branch",))
    app.run()
    assert app.session_state["question"].downgraded == {"tobu-branch"}
    assert app.session_state["map_applied_seq"] == 3
    assert [t.value for t in app.toast] == ["地図のクリックを反映しました：東部出張所"]


@pytest.mark.bundle
def test_clicks_made_during_an_update_arrive_as_one_office_set(app):
    """The map reports the whole set after its clicks, so the last report holds them all."""
    _map_reports(app, 4, ["tobu-branch"], ("akitsu-branch",))
    app.run()
    assert not app.exception, app.exception
    assert app.session_state["question"].closed == {"tobu-branch"}
    assert app.session_state["question"].downgraded == {"akitsu-branch"}
    assert "map_offices" not in app.session_state
    assert sorted(t.value for t in app.toast) == [f"地図のクリックを反映しました：{name}" for name
                                                  in ("東部出張所", "秋津出張所")]
    args = json.loads(app.get("component_instance")[0].proto.json_args)
    assert args["applied_seq"] == 4  # the map knows the server has caught up
    assert args["confirmed"]["question"]["closed"] == ["tobu-branch"]


@pytest.mark.bundle
def test_offices_outside_the_base_or_not_downgradable_are_dropped_from_a_report(app):
    bound(app.selectbox, "preset").set_value("now").run()
    _map_reports(app, 1, ["oe-branch"], ("tobu-branch",))  # both closed before 'now'
    app.run()
    assert app.session_state["question"].closed == set()
    assert app.session_state["question"].downgraded == set()
    app.session_state["map_offices"] = {"seq": "x", "closed": "oe-branch"}  # malformed
    app.run()
    assert not app.exception, app.exception
    assert app.session_state["question"].closed == set()


@pytest.mark.bundle
def test_store_switch_under_the_counter_measure_builds_nothing_and_changes_no_figure(
        app, monkeypatch):
    from geo import study

    calls = {"build_study": 0, "evaluate": 0}

    def counted(name):
        original = getattr(study, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(study, name, counted(name))
    cards = _metrics(app)
    for source in ("osm", "lawson2013", "overture", "union"):
        bound(app.selectbox, "store_source").set_value(source).run()
        assert not app.exception, app.exception
        assert _metrics(app) == cards
        assert app.session_state["question"].store_source == source
    assert calls["build_study"] == 0
    bound(app.radio, "measure").set_value("certificate").run()
    bound(app.selectbox, "store_source").set_value("lawson2013").run()
    assert calls["build_study"] == 0  # the study holds every store source


@pytest.mark.bundle
def test_store_source_changes_certificate_figures(app, engine):
    import dataclasses

    from geo import layers as layers_module
    from geo import scenarios
    from geo.engine import nearest_store_m

    bound(app.radio, "measure").set_value("certificate").run()
    bound(app.selectbox, "store_source").set_value("lawson2013").run()
    lawson = layers_module.load_stores(engine.data, source="lawson2013")
    model = dataclasses.replace(engine.model, store_origin_m=nearest_store_m(engine, lawson),
                                store_source="lawson2013")
    table = scenarios.compare(model, scenarios.Scenario(base="fy2015"), measure="certificate")
    mean = scenarios.summary(table)["after_km"]
    assert _metrics(app)[1] == f"{mean:.2f} km"


@pytest.mark.bundle
def test_presets_set_the_office_set(app):
    from geo.reorganisation import OFFICIAL_2015_CANDIDATES

    bound(app.selectbox, "preset").set_value("plan2015").run()
    assert not app.exception
    assert app.session_state["question"].closed == set(OFFICIAL_2015_CANDIDATES)
    assert app.session_state["question"].base == "fy2015"
    bound(app.selectbox, "preset").set_value("reorganisation").run()
    # what the city closed: the plan's list less 幸田 (still open), plus 森都心
    assert app.session_state["question"].closed == set(
        (set(OFFICIAL_2015_CANDIDATES) - {"koda-general-branch"}) | {"moritoshin-service-corner"})
    bound(app.selectbox, "preset").set_value("now").run()
    assert app.session_state["question"].base == "now"
    assert app.session_state["question"].closed == set([])
    assert "oe-branch" not in _open_ids("now")



@pytest.mark.bundle
def test_closing_everything_says_no_counter_reachable(app):
    bound(app.multiselect, "closed").set_value(_open_ids()).run()
    assert not app.exception
    assert any("到達できる窓口がありません" in e.value for e in app.error)
    app.switch_page("views/briefing.py").run()
    assert not app.exception
    assert any("到達できる窓口がありません" in e.value for e in app.error)
    legend = " ".join(h.proto.body for h in app.get("html"))
    assert "到達できる窓口なし" in legend  # the after map is all unreachable


@pytest.mark.bundle
def test_the_briefing_legend_lists_only_what_its_maps_draw(app):
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    app.switch_page("views/briefing.py").run()
    assert not app.exception, app.exception
    legend = " ".join(h.proto.body for h in app.get("html"))
    assert "区役所" in legend and "白抜き×＝閉鎖" in legend  # a closure is drawn
    for absent in ("コンビニ", "到達できる窓口なし", "コンビニ空白校区"):
        assert absent not in legend, absent  # no stores, no blank outlines on these maps


@pytest.mark.bundle
def test_walk_mode_shows_minutes_on_the_card_and_in_the_zone_table(app, bundle_dir):
    from geo.study import build_study, evaluate

    bound(app.radio, "mode").set_value("walk").run()
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    assert not app.exception, app.exception
    walking = evaluate(build_study(bundle_dir, mode="walk"),
                       Question(closed={"oe-branch"}, mode="walk", store_source="union"))
    after_km = walking.city["after_km"]
    card = next(m for m in app.metric if m.label == "平均徒歩時間（変更後）")
    assert card.value == f"{after_km / 4.8 * 60:.0f} 分 ({after_km:.2f} km)"
    app.switch_page("views/tables.py").run()
    zones = app.dataframe[1].value  # headed and rounded as the files are (geo.labels)
    heading = "徒歩時間（変更後, 分）"
    assert COLUMN_LABELS["after_min"].ja == heading
    expected = walking.zone_table.set_index("zone_name")["after_min"].round(1)
    shown = zones.set_index("区域")[heading]
    assert shown.to_dict() == expected.loc[shown.index].to_dict()


@pytest.mark.bundle
def test_office_table_states_follow_the_scenario(app):
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    bound(app.multiselect, "downgraded").set_value(["akitsu-branch"]).run()
    app.switch_page("views/tables.py").run()
    offices = app.dataframe[2].value.set_index("名称")["シナリオでの状態"]
    assert offices["大江出張所"] == "閉鎖"
    assert offices["秋津出張所"] == "サービスコーナー化"
    assert offices["東部出張所"] == "存続"


@pytest.mark.bundle
def test_english_interface(app):
    app.radio(key="lang").set_value("en").run()
    assert not app.exception
    assert app.title[0].value.startswith("Map")
    assert app.metric[0].label.startswith("People whose nearest counter")


@pytest.mark.bundle
@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("page", ["views/briefing.py", "views/tables.py", "views/sources.py"])
def test_every_page_renders(app, page, lang):
    bound(app.multiselect, "closed").set_value(["oe-branch", "akitsu-branch"]).run()
    app.switch_page(page).run()
    app.radio(key="lang").set_value(lang).run()
    assert app.session_state["question"].closed == {"oe-branch", "akitsu-branch"}
    assert bound(app.multiselect, "closed", lang).value == ["akitsu-branch", "oe-branch"]
    assert not app.exception, app.exception
    index = 0 if lang == "ja" else 1
    if page == "views/briefing.py":  # the scenario's title: two counters closed
        assert app.markdown[0].value.startswith("# ")
        assert ("閉鎖 2 か所" if lang == "ja" else "2 closed") in app.markdown[0].value
    else:
        key = "page_tables" if page == "views/tables.py" else "page_sources"
        assert app.title[0].value == STRINGS[key][index]


@pytest.mark.bundle
def test_sources_page_lists_every_layer_with_attribution(app):
    app.switch_page("views/sources.py").run()
    table = app.dataframe[0].value
    assert len(table) == len(layers.BUNDLE_FILES)
    text = " ".join(table.astype(str).to_numpy().ravel())
    for entry in layers.BUNDLE_FILES.values():
        assert entry.attribution in text


@pytest.mark.bundle
def test_sources_page_shows_blank_districts_beside_the_2015_reference(app, bundle_dir):
    from geo import districts
    from geo import stores as stores_module

    app.switch_page("views/sources.py").run()
    blank = app.dataframe[2].value
    expected = stores_module.blank_summary(districts.build_districts(bundle_dir), {
        source: layers.load_stores(bundle_dir, source=source) for source in layers.STORE_SOURCES})
    assert blank.iloc[:, 2].tolist() == expected["blank_districts"].tolist()
    assert blank.iloc[:, 3].tolist() == expected["blank_population"].round().tolist()
    assert set(blank.iloc[:, 4]) == {"262 / 12"}


@pytest.mark.bundle
def test_sources_page_shows_the_network_check_of_the_chosen_network(app, engine):
    from geo import network_check

    app.switch_page("views/sources.py").run()
    shown = dict(app.dataframe[1].value.to_numpy())
    expected = network_check.check_network(engine).figures
    assert shown["walls"] == str(expected["walls"])
    assert shown["detour_p99"] == str(expected["detour_p99"])
    assert not app.warning  # the default OSM network has no known-defect warning
    bound(app.selectbox, "network").set_value("mlit").run()
    assert any("壁" in w.value for w in app.warning)
    assert int(dict(app.dataframe[1].value.to_numpy())["walls"]) > 1_000


# -- load shift (geo.demand) ---------------------------------------------------------------

def _shift_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "件/年" in m.value and m.value.startswith("- ")]


def _fit_text(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "モデルの当てはまり" in m.value)


def _expected_shift(closed: tuple[str, ...], store_share: float):
    from geo import demand, scenarios
    from geo.engine import load_engine

    model = load_engine(settings.data_dir()).model
    fit = demand.fit_demand(model, year="fy2013", reading="brief")
    return demand.load_shift(fit, model, scenarios.Scenario(base="fy2015", closed=closed),
                             store_share=store_share)


@pytest.mark.bundle
def test_load_shift_panel_shows_where_a_closed_counters_traffic_goes(app):
    assert any("閉鎖または" in i.value for i in app.info)  # nothing closed yet
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    assert not app.exception, app.exception
    assert any(s.value.startswith("窓口の受付件数の変化") for s in app.subheader)
    expected = _expected_shift(("oe-branch",), 0.0)
    fit = expected.fit
    assert fit.ok
    text = _fit_text(app)
    assert f"R²（対数）：{fit.r2_log_testable:.2f}" in text
    assert f"β：{fit.params.beta_per_km:.2f}/km" in text
    assert "区役所 " in text and "検証（2011→2013年度" in text
    lines = _shift_lines(app)[0].splitlines()
    top = expected.table.sort_values("change", ascending=False).iloc[0]
    assert top["name_ja"] in lines[0] and "大江出張所" in lines[0]
    assert f"（{top['change_pct']:+.1f}%）" in lines[0]
    lost = next(m.value for m in app.metric if m.label.startswith("閉鎖・コーナー化"))
    assert lost == f"{-expected.table['change'].min():,.0f} 件/年"
    assert any("閉鎖窓口の証明書のうちコンビニ交付へ移る割合：0 %" in m.value for m in app.markdown)
    assert app.get("vega_lite_chart")  # the bar chart


@pytest.mark.bundle
def test_store_share_slider_changes_the_predicted_figures(app):
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    before = _shift_lines(app)
    stores_before = next(m.value for m in app.metric if m.label.startswith("コンビニ"))
    bound(app.slider, "store_share_pct").set_value(10).run()
    assert not app.exception, app.exception
    assert round(100 * app.session_state["question"].store_share) == 10
    after = _shift_lines(app)
    stores_after = next(m.value for m in app.metric if m.label.startswith("コンビニ"))
    assert stores_before == "0 件/年" and stores_after != stores_before
    expected = _expected_shift(("oe-branch",), 0.10)
    assert stores_after == f"{expected.to_stores:,.0f} 件/年"
    assert after != before
    top = expected.table.sort_values("change", ascending=False).iloc[0]
    assert top["name_ja"] == "中央区役所"  # still the main receiver, a little less of it
    first = after[0].splitlines()[0]
    assert first.startswith("- 閉鎖により大江出張所の約") and "中央区役所へ" in first
    assert f"（{top['change_pct']:+.1f}%" in first
    assert any("閉鎖窓口の証明書のうちコンビニ交付へ移る割合：10 %" in m.value
               for m in app.markdown)


@pytest.mark.bundle
def test_load_shift_panel_survives_closing_everything(app):
    bound(app.multiselect, "closed").set_value(_open_ids()).run()
    assert not app.exception, app.exception
    assert any("行き先がありません" in e.value for e in app.error)
    assert any("ほかの窓口で受付が増える見込みはありません" in m.value for m in app.markdown)


@pytest.mark.bundle
def test_poor_fit_refuses_predictions(app, monkeypatch):
    import dataclasses

    from dashboard import cache

    built = cache.study(cache.StudyKey(str(settings.data_dir()), "osm-city-drive", "drive"))
    poor = dataclasses.replace(built.demand_fits["brief"],
                               problems=("R2 on log counts 0.1 is below 0.8",))
    poorly_fitted = dataclasses.replace(built, demand_fits={**built.demand_fits, "brief": poor})
    monkeypatch.setattr(cache, "study", lambda key, _progress=None: poorly_fitted)
    cache._evaluate.clear()  # results evaluated on the good fit
    try:
        bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
        assert not app.exception, app.exception
        assert any("当てはまりが不十分" in e.value and "0.1" in as_shown(e.value)
                   for e in app.error)
        assert not _shift_lines(app)
    finally:
        cache._evaluate.clear()


@pytest.mark.bundle
def test_excel_export_holds_the_load_shift_of_the_scenario(app, downloads):
    """The tables page's workbook is geo.report.workbook: Japanese headings, numbers as
    numbers, the load shift of the scenario and its assumptions on the scenario sheet."""
    import io

    import pandas as pd

    from geo.labels import COLUMN_LABELS
    bound(app.multiselect, "closed").set_value(["oe-branch", "akitsu-branch"]).run()
    app.switch_page("views/tables.py").run()
    bound(app.slider, "store_share_pct").set_value(20).run()
    assert not app.exception, app.exception
    sheets = pd.read_excel(io.BytesIO(downloads["madoguchi_scenario.xlsx"]),
                           sheet_name=None, keep_default_na=False)
    shift = _expected_shift(("akitsu-branch", "oe-branch"), 0.20)
    expected = shift.export_table()
    got = sheets["窓口の件数"]
    assert len(got) == len(expected) == len(shift.table) + 1  # one row per counter + total
    after = COLUMN_LABELS["predicted_after"][0]
    assert got[after].tolist() == expected["predicted_after"].astype(float).tolist()
    scenario = dict(zip(*sheets["シナリオ"].T.to_numpy(), strict=True))
    assert scenario["閉鎖窓口の証明書のうちコンビニ交付へ移る割合（仮定）"] == "20 %"
    assert float(scenario["需要モデルの当てはまり R²（対数、2013年度）"]) == pytest.approx(
        shift.fit.r2_log, abs=5e-4)



@pytest.mark.bundle
def test_transit_mode_shows_minutes_by_bus_and_says_what_is_missing(app, bundle_dir):
    from geo.study import build_study, evaluate

    bound(app.radio, "mode").set_value("transit").run()
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    assert not app.exception, app.exception
    transit = evaluate(build_study(bundle_dir, mode="transit"),
                       Question(closed={"oe-branch"}, mode="transit", store_source="union"))
    card = next(m for m in app.metric if m.label == "平均所要時間（バス・電車・徒歩、変更後）")
    assert card.value == f"{transit.city['transit_after_min']:.0f} 分"
    elderly = next(m for m in app.metric if m.label == "バス・徒歩で45分超の65歳以上（変更後）")
    assert elderly.value == f"{transit.city['transit_beyond_45min_after_65plus']:,.0f} 人"
    # the missing 産交バス timetable is said first thing on the map, and on the briefing
    assert "九州産交バス" in app.main.warning[0].value
    window = app.main.caption[0].value
    assert window.startswith("時刻表：20") and "分ごと" in window and "every" not in window
    line = as_shown(next(c.value for c in app.caption if c.value.startswith("出典：")))
    for feed in ("熊本都市バス GTFS-JP (CC BY 4.0)", "熊本市交通局 GTFS (CC BY 2.1 JP)",
                 "熊本電鉄 GTFS (CC0 1.0)"):
        assert feed in line
    app.switch_page("views/briefing.py").run()
    assert "九州産交バス" in app.main.warning[0].value
    app.switch_page("views/map.py").run()
    # the map, its legend and its controls are in minutes too
    assert app.title[0].value == "地図：最寄り窓口までの所要時間（バス・電車＋徒歩）"
    assert bound(app.radio, "colour_by").options == ["変更後の所要時間", "変更前の所要時間",
                                                      "所要時間の増加",
                                                      "閾値より時間がかかる人の割合（変更後）"]
    assert bound(app.radio, "threshold_km").options == ["30 分", "45 分"]
    legend = " ".join(h.proto.body for h in app.get("html"))
    assert "所要時間の増加" in legend and "&gt; 20 分" in legend  # after a closure
    bound(app.radio, "colour_by").set_value("after").run()
    legend = " ".join(h.proto.body for h in app.get("html"))
    assert "変更後の所要時間" in legend and "45–60 分" in legend
    drawn = json.loads(app.get("component_instance")[0].proto.json_args)
    assert drawn["view"]["threshold_min"] == 30 and drawn["scale"]["edges"] == [10, 20, 30, 45, 60]
    fills = drawn["confirmed"]["fills"]  # the server's colours, which the map shows confirmed
    zones = transit.zone_table[transit.zone_table["population"] > 0].set_index("zone_id")
    expected = {str(zone): MINUTES_SCALE.colour(minutes)
                for zone, minutes in zones["transit_after_min"].items()}
    assert {zone: fills[zone] for zone in expected} == expected


@pytest.mark.bundle
def test_transit_tables_show_each_counters_catchment(app, bundle_dir):
    from geo.study import build_study, transit_catchments

    bound(app.radio, "mode").set_value("transit").run()
    app.switch_page("views/tables.py").run()
    assert not app.exception, app.exception
    expected = transit_catchments(build_study(bundle_dir, mode="transit")).set_index("office_id")
    shown = next(d.value for d in app.dataframe if "30分以内に来られる人" in d.value.columns)
    names = layers.load_offices(bundle_dir).set_index("name_ja")["office_id"]
    for row in shown.itertuples(index=False):
        office = names[row[0]]
        assert row[1] == round(expected.loc[office, "people_within_30min"])


@pytest.mark.bundle
def test_office_pickers_speak_japanese_and_offer_no_select_all(app):
    closed = bound(app.multiselect, "closed")
    assert closed.proto.placeholder == "窓口を選んでください"
    assert closed.proto.select_all == 0  # Streamlit's default offers it up to 1,000 options
    legend = " ".join(h.proto.body for h in app.get("html"))
    assert "近くのコンビニの集まり" in legend


@pytest.mark.bundle
def test_the_map_page_names_each_source_once_with_the_mesh_and_the_zone_table(app):
    line = next(c.value for c in app.caption if c.value.startswith("出典："))
    assert "出典：出典：" not in line and line.count("出典：") == 1
    assert "令和2年国勢調査 地域メッシュ統計" in line  # the 65+ card
    assert "通学区域" in line  # school districts are the default zones


@pytest.mark.bundle
@pytest.mark.parametrize("back_to", ["drive", "walk"])
def test_leaving_transit_mode_keeps_the_colouring_as_a_code(app, back_to):
    """The colouring radio's labels are minutes in transit mode: its value stays a code."""
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    bound(app.radio, "mode").set_value("transit").run()
    bound(app.radio, "colour_by").set_value("change").run()
    bound(app.radio, "mode").set_value(back_to).run()
    assert not app.exception, app.exception
    assert app.session_state["colour_by"] == "change"
    assert bound(app.radio, "colour_by").value == "change"
    app.radio(key="lang").set_value("en").run()
    app.radio(key="lang").set_value("ja").run()
    assert not app.exception, app.exception
    assert app.session_state["question"].closed == set(["oe-branch"])
    assert bound(app.multiselect, "closed").value == ["oe-branch"]


@pytest.mark.bundle
def test_files_downloaded_in_english_are_english(app, downloads):
    """The files are made on click, outside the script run: they take the language of the
    screen they were offered on, and the typed title (issue 18)."""
    import io

    import pandas as pd
    from pypdf import PdfReader

    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    app.radio(key="lang").set_value("en").run()
    app.switch_page("views/briefing.py").run()
    bound(app.text_input, "briefing_title", "en").input("Oe closure").run()
    app.switch_page("views/tables.py").run()
    assert not app.exception, app.exception
    workbook = pd.read_excel(io.BytesIO(downloads["madoguchi_scenario.xlsx"]), sheet_name=None)
    assert list(workbook)[:3] == ["By school district", "City", "Offices"]
    assert "Population" in workbook["By school district"].columns
    scenario = dict(zip(*workbook["Scenario"].T.to_numpy(), strict=True))
    assert scenario["Scenario"] == "Oe closure"
    csv = pd.read_csv(io.BytesIO(downloads["offices.csv"]), encoding="utf-8-sig")
    assert list(csv.columns[:5]) == ["Office id", "Name", "Type", "Ward", "State in the scenario"]
    assert csv.loc[csv["Office id"] == "oe-branch", "State in the scenario"].item() == "closed"
    app.switch_page("views/briefing.py").run()
    names = [n for n in downloads if n.endswith("handout_A4.pdf")]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(downloads[names[0]])).pages)
    assert "Oe closure" in text
    assert "People whose nearest counter gets farther" in text
