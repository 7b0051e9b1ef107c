"""The planner's workflow in the dashboard (issue 10): save / open / delete in the sidebar, the
URL that reopens a view, the 比較 page and a phased plan's timeline, through AppTest."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from records import record
from streamlit.testing.v1 import AppTest
from widgets import bound

from dashboard import saved_panel
from geo import links, saved, scenariostore, settings
from geo import study as study_module
from geo.colours import DISTANCE_SCALE
from geo.question import Question

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
TIMEOUT = 240

pytestmark = pytest.mark.bundle


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'scenarios.sqlite'}"
    monkeypatch.setenv(scenariostore.DB_ENV_VAR, url)
    return url


@pytest.fixture
def new_app(monkeypatch, bundle_dir: Path, db_url: str):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(bundle_dir))

    def start(**params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        return at

    return start


@pytest.fixture(scope="module")
def study(bundle_dir: Path) -> study_module.Study:
    return study_module.build_study(bundle_dir)


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def _url(at: AppTest) -> dict[str, str]:
    """The app's query parameters naming the scenario (AppTest keeps a list per key for those
    set before run); the view's own (``saved_panel.VIEW_PARAMS``) are tested apart."""
    return {key: value if isinstance(value, str) else value[-1]
            for key, value in at.query_params.items() if key not in saved_panel.VIEW_PARAMS}


def test_the_url_carries_the_compared_scenarios_and_presentation_mode(new_app):
    at = new_app()
    at.session_state["compare_chosen"] = ["preset:fy2015", "current"]
    at.switch_page("views/briefing.py").run()
    bound(at.toggle, "briefing_present").set_value(True).run()
    assert not at.exception, at.exception
    params = {key: value if isinstance(value, str) else value[-1]
              for key, value in at.query_params.items()}
    assert json.loads(params["compare"]) == ["preset:fy2015", "current"]
    assert params["present"] == "1"
    reopened = new_app(**params)  # a fresh session opened with that address
    assert reopened.session_state["compare_chosen"] == ["preset:fy2015", "current"]
    assert reopened.session_state["briefing_present"] is True


def _shown(elements) -> list[str]:
    """Texts of message elements, Markdown escapes removed (``components.plain_markdown``)."""
    return [element.value.replace("\\", "") for element in elements]


def _sidebar_texts(at: AppTest) -> list[str]:
    return _shown([*at.error, *at.warning, *at.success])


def test_save_list_and_open_restore_the_sidebar(new_app, db_url):
    at = new_app()
    bound(at.multiselect, "closed").set_value(["oe-branch", "tobu-branch"])
    bound(at.radio, "measure").set_value("certificate")
    bound(at.selectbox, "store_source").set_value("osm")
    bound(at.slider, "store_share_pct").set_value(30).run()
    at.text_input(key="saved_name").input("案A")
    at.text_input(key="saved_note").input("東部と大江")
    at.text_input(key="saved_author").input("区政推進課 田中")
    _button(at, "saved_save").click().run()
    assert not at.exception, at.exception
    assert "「案A」を第1版として保存しました。" in _sidebar_texts(at)

    stored = scenariostore.ScenarioStore(db_url).open("案A")
    assert stored.version == 1
    assert stored.scenario.question.closed == {"oe-branch", "tobu-branch"}
    assert stored.scenario.question.measure == "certificate"
    asked = stored.scenario.question
    assert (asked.store_source, asked.store_share) == ("osm", 0.3)
    assert (stored.scenario.note, stored.scenario.author) == ("東部と大江", "区政推進課 田中")
    assert _url(at)["saved"] == "案A" and _url(at)["version"] == "1"

    # a second version under the same name, then back to the first
    bound(at.multiselect, "closed").set_value(["oe-branch"]).run()
    assert "saved" not in _url(at)  # edited: the URL now holds the fields
    assert _url(at)["close"] == "oe-branch"
    _button(at, "saved_save").click().run()
    assert [s.version for s in scenariostore.ScenarioStore(db_url).history("案A")] == [1, 2]

    bound(at.multiselect, "closed").set_value([])
    bound(at.radio, "measure").set_value("counter")
    bound(at.selectbox, "store_source").set_value("union")
    bound(at.slider, "store_share_pct").set_value(0).run()
    assert at.selectbox(key="saved_pick").value == "案A"
    at.selectbox(key="saved_version:案A").set_value(1)
    _button(at, "saved_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["question"].closed == set(["oe-branch", "tobu-branch"])
    assert bound(at.multiselect, "closed").value == ["oe-branch", "tobu-branch"]
    assert bound(at.radio, "measure").value == "certificate"
    assert bound(at.selectbox, "store_source").value == "osm"
    assert bound(at.slider, "store_share_pct").value == 30
    assert at.text_input(key="saved_note").value == "東部と大江"
    assert _url(at)["saved"] == "案A" and _url(at)["version"] == "1"


def test_delete_hides_and_restore_brings_back(new_app, db_url):
    scenariostore.ScenarioStore(db_url).save(record(name="案B", base="fy2015",
                                                         closed={"oe-branch"}))
    at = new_app()
    assert at.selectbox(key="saved_pick").options == ["案B"]
    _button(at, "saved_delete").click().run()
    assert not at.exception, at.exception
    assert not any(s.key == "saved_pick" for s in at.selectbox)
    assert at.selectbox(key="saved_deleted_pick").value == "案B"
    _button(at, "saved_restore").click().run()
    assert at.selectbox(key="saved_pick").options == ["案B"]
    assert len(scenariostore.ScenarioStore(db_url).history("案B")) == 1


def test_saving_without_a_name_says_so_in_plain_text(new_app):
    at = new_app()
    _button(at, "saved_save").click().run()
    assert not at.exception
    assert any("a saved scenario needs a name" in text for text in _sidebar_texts(at))


def test_a_database_that_cannot_be_opened_is_a_message_not_a_traceback(new_app, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv(scenariostore.DB_ENV_VAR,
                       f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}")
    at = new_app()
    assert not at.exception
    assert any("保存・読み込みができませんでした" in text and "cannot open the scenario database"
               in text for text in _shown(at.error)), _shown(at.error)
    assert len(at.metric) == 5  # the map page's cards are still there


def test_a_url_with_a_missing_data_directory_shows_the_data_page(tmp_path, monkeypatch, db_url):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["close"] = "oe-branch"
    at.query_params["stores"] = "osm"
    at.run()
    assert not at.exception
    assert at.title[0].value == "データがありません"
    assert saved_panel.MESSAGE not in at.session_state  # nothing else to explain


def test_a_url_with_scenario_fields_opens_that_view_and_survives_a_rerun(new_app):
    at = new_app(base="fy2015", close="oe-branch,akitsu-branch", downgrade="tobu-branch",
                 measure="certificate", share="0.3")
    asked = at.session_state["question"]
    assert asked.closed == {"akitsu-branch", "oe-branch"}
    assert asked.downgraded == {"tobu-branch"}
    assert asked.measure == "certificate"
    assert asked.store_share == 0.3 and bound(at.slider, "store_share_pct").value == 30
    at.run()  # a rerun keeps the view and the URL
    assert at.session_state["question"].closed == set(["akitsu-branch", "oe-branch"])
    assert _url(at)["close"] == "akitsu-branch,oe-branch"
    assert _url(at)["share"] == "0.3"


def test_a_url_with_a_saved_name_and_version_opens_that_version(new_app, db_url):
    database = scenariostore.ScenarioStore(db_url)
    database.save(record(name="案C", base="fy2015", closed={"oe-branch"}))
    database.save(record(name="案C", base="now", closed={"koda-general-branch"}))
    at = new_app(saved="案C", version="1")
    assert at.session_state["question"].base == "fy2015"
    assert at.session_state["question"].closed == set(["oe-branch"])
    assert _url(at)["saved"] == "案C" and _url(at)["version"] == "1"
    latest = new_app(saved="案C")
    assert latest.session_state["question"].base == "now"
    assert latest.session_state["question"].closed == set(["koda-general-branch"])


@pytest.mark.parametrize(("params", "said"), [
    ({"close": "oe-branch", "measure": "teleport"}, "measure: unknown 'teleport'"),
    ({"saved": "no such plan"}, "no saved scenario named 'no such plan'"),
    ({"share": "lots"}, "share"),
])
def test_junk_in_the_url_gives_a_message_and_the_default_view(new_app, params, said):
    at = new_app(**params)
    assert not at.exception
    assert at.session_state["question"].closed == set([])
    assert at.session_state["question"].measure == "counter"
    assert any("URL のシナリオを読めない" in text and said in text for text in _shown(at.error)), \
        _shown(at.error)
    assert _url(at)["base"] == "fy2015"  # the URL now names the default view


def test_a_url_parameter_not_understood_is_named_on_the_page_and_the_rest_opened(new_app):
    at = new_app(close="oe-branch", closd="akitsu-branch")
    assert at.session_state["question"].closed == {"oe-branch"}
    assert any("無視しました：closd" in text for text in _sidebar_texts(at)), _sidebar_texts(at)


def test_a_store_share_off_the_slider_is_rounded_and_said(new_app):
    at = new_app(close="oe-branch", share="0.333")
    assert at.session_state["question"].store_share == pytest.approx(0.35)
    assert any("0.333" in text and "35%" in text for text in _sidebar_texts(at)), \
        _sidebar_texts(at)


def test_a_url_parameter_given_twice_is_refused_on_the_page(new_app):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["close"] = ["oe-branch", "akitsu-branch"]
    at.run()
    assert not at.exception
    assert at.session_state["question"].closed == set()
    assert any("'close' is given 2 times" in text for text in _shown(at.error)), _shown(at.error)


def test_offices_not_in_the_opened_base_are_named_when_left_out(new_app):
    at = new_app(base="now", close="oe-branch,koda-general-branch")
    assert at.session_state["question"].closed == set(["koda-general-branch"])
    dropped = "開いたシナリオの次の窓口は「現在の窓口」にないため、外しました：大江出張所"
    assert dropped in _shown(at.warning)
    assert _url(at)["close"] == "koda-general-branch"


def test_opening_from_the_panel_says_so_and_names_the_offices_left_out(new_app, db_url):
    scenariostore.ScenarioStore(db_url).save(record(
        name="案E", base="now", closed={"oe-branch", "koda-general-branch"}))
    at = new_app()
    _button(at, "saved_open").click().run()
    assert at.session_state["question"].closed == set(["koda-general-branch"])
    assert "「案E」第1版を開きました。" in _sidebar_texts(at)
    dropped = "開いたシナリオの次の窓口は「現在の窓口」にないため、外しました：大江出張所"
    assert dropped in _sidebar_texts(at)


def _compare_page(at: AppTest) -> AppTest:
    at.switch_page("views/compare.py").run()
    assert not at.exception, at.exception
    return at


def _expected_figures(study, asked: Question) -> dict[str, float]:
    found = study_module.evaluate(study, asked)
    city = found.city
    shift = found.load_shift.table
    return {"people_farther": round(city["people_farther"]),
            "mean_km": round(city["after_km"], 2),
            "beyond_2km": round(city["beyond_2km_after"]),
            "beyond_5km": round(city["beyond_5km_after"]),
            "beyond_2km_65plus": round(city["beyond_2km_after_65plus"]),
            "received": round(shift.loc[(shift["status"] == "open") & (shift["change"] >= 0.5),
                                        "change"].sum())}  # gains of a transaction or more


def test_the_built_in_comparison_equals_evaluate(new_app, study):
    at = _compare_page(new_app())
    table = at.dataframe[0].value
    presets = study_module.options(study, "fy2015").presets
    for key in ("fy2015", "reorganisation"):
        label = next(label for label in table.index if label.startswith(
            {"fy2015": "2015年度の窓口", "reorganisation": "実際の再編"}[key]))
        expected = _expected_figures(study, presets[key].question.replace(zones="district"))
        for name, value in expected.items():
            assert table.loc[label, name] == pytest.approx(value), (key, name)
    assert "mean_minutes" not in table.columns  # by car
    fy2015 = table.loc[table.index.str.startswith("2015年度の窓口")].iloc[0]
    assert fy2015["people_farther"] == 0 and fy2015["received"] == 0
    differing = at.dataframe[1].value
    assert len(differing) == 10
    assert differing["spread_km"].is_monotonic_decreasing
    assert (differing["spread_km"] > 0).all()

    # only the maps' titles: no stray text (Streamlit "magic" shows a bare string literal)
    shown = [m.value for m in at.main.markdown]
    assert all(value.startswith("**") for value in shown), shown
    maps = at.get("component_instance")
    assert len(maps) == 3  # FY2015, the reorganisation, the current settings
    for drawn, key in zip(maps[:2], ("fy2015", "reorganisation"), strict=True):
        zones = study_module.evaluate(study, presets[key].question).zone_table
        populated = zones[zones["population"] > 0].set_index("zone_id")["after_km"]
        expected = {zone: DISTANCE_SCALE.colour(km) for zone, km in populated.items()}
        assert _map_fills(drawn) == expected, key


_FILL = re.compile(r'"id": "([^"]*)", "properties": \{[^}]*"fill": "(#[0-9a-f]{6})"')


def _map_fills(drawn) -> dict[str, str]:
    """Zone id -> fill colour of the zones of one drawn st_folium map."""
    features = json.loads(drawn.proto.json_args)["feature_group"]
    return {json.loads(f'"{zone}"'): fill for zone, fill in _FILL.findall(features)}


def test_a_saved_scenario_is_compared_with_its_own_settings(new_app, db_url, study):
    scenariostore.ScenarioStore(db_url).save(record(
        name="案D", base="fy2015", closed={"oe-branch"}, downgraded={"tobu-branch"},
        measure="certificate", store_source="osm"))
    at = new_app()
    at.session_state["compare_chosen"] = ["saved:案D", "current"]
    at = _compare_page(at)
    table = at.dataframe[0].value
    expected = _expected_figures(study, Question(base="fy2015", closed={"oe-branch"},
                                                 downgraded={"tobu-branch"},
                                                 measure="certificate", store_source="osm"))
    for name, value in expected.items():
        assert table.loc["案D (v1)", name] == pytest.approx(value), name
    assert table.loc["現在の設定", "people_farther"] == 0


PHASES = (saved.Phase(dt.date(2026, 4, 1), "第1段階", downgraded={"oe-branch"}),
          saved.Phase(dt.date(2027, 4, 1), "第2段階", closed={"oe-branch"},
                      downgraded={"tobu-branch"}),
          saved.Phase(dt.date(2028, 4, 1), "第3段階", closed={"oe-branch", "tobu-branch"}))
"""The steps of the saved plan 段階案 (``_save_phased_plan``)."""


def _save_phased_plan(db_url: str) -> None:
    scenariostore.ScenarioStore(db_url).save(record(
        name="段階案", base="fy2015", closed={"oe-branch", "tobu-branch"}, phases=PHASES))


def _assert_phase_table_equals_evaluate(at: AppTest, study, phases) -> None:
    """The phases table (the page's last) has one row per step, equal to evaluate's."""
    table = at.dataframe[-1].value
    assert list(table["label"]) == [phase.label for phase in phases]
    assert list(table["date"]) == [phase.date for phase in phases]
    for row, phase in zip(table.itertuples(), phases, strict=True):
        expected = _expected_figures(study, Question(base="fy2015", closed=phase.closed,
                                                     downgraded=phase.downgraded))
        for name, value in expected.items():
            assert getattr(row, name) == pytest.approx(value), (phase.label, name)


def test_phases_chart_and_table_equal_evaluate_per_phase(new_app, db_url, study):
    _save_phased_plan(db_url)
    at = _compare_page(new_app(saved="段階案"))
    _assert_phase_table_equals_evaluate(at, study, PHASES)
    table = at.dataframe[-1].value
    chart = at.get("vega_lite_chart")[0].proto
    drawn = pa.ipc.open_stream(chart.datasets[0].data.data).read_all().to_pandas()
    farther = drawn[drawn["figure"] == "遠くなる人"]
    assert list(farther["label"]) == ["第1段階", "第2段階", "第3段階"]
    assert list(farther["people"]) == list(table["people_farther"])
    assert set(drawn["figure"]) == {"遠くなる人", "2 km より遠い人", "5 km より遠い人",
                                    "2 km より遠い65歳以上"}
    spec = json.loads(chart.spec)
    assert spec["encoding"]["x"]["axis"]["format"] == "%Y年%-m月"  # the year on every label
    assert list(table["closed"]) == ["", "大江出張所", "大江出張所、東部出張所"]  # what each closes
    assert list(table["downgraded"]) == ["大江出張所", "東部出張所", ""]


def test_a_saved_scenario_that_cannot_be_evaluated_is_named_and_the_rest_compared(new_app,
                                                                                 db_url):
    scenariostore.ScenarioStore(db_url).save(record(name="古い案", base="fy2015",
                                                         closed={"demolished-branch"}))
    at = new_app()
    at.session_state["compare_chosen"] = ["saved:古い案", "preset:fy2015", "current"]
    at = _compare_page(at)
    assert any("「古い案 (v1)」を計算できませんでした" in text and "demolished-branch" in text
               for text in _shown(at.error)), _shown(at.error)
    assert list(at.dataframe[0].value.index) == ["2015年度の窓口（19か所＋分室・コーナー）",
                                                 "現在の設定"]


def test_a_walking_scenario_opens_on_foot_and_compares_in_minutes(new_app, db_url, bundle_dir):
    scenariostore.ScenarioStore(db_url).save(record(name="徒歩案", base="fy2015",
                                                         closed={"oe-branch"}, mode="walk"))
    at = new_app(saved="徒歩案")
    assert (at.session_state["question"].mode, bound(at.radio, "mode").value) == ("walk", "walk")
    bound(at.radio, "mode").set_value("drive").run()  # presets now by car
    at.session_state["compare_chosen"] = ["saved:徒歩案", "preset:fy2015"]
    at = _compare_page(at)
    table = at.dataframe[0].value
    walking = study_module.build_study(bundle_dir, mode="walk")
    city = study_module.evaluate(walking, Question(closed={"oe-branch"}, mode="walk")).city
    assert table.loc["徒歩案 (v1)", "mean_minutes"] == round(city["after_km"] / 4.8 * 60, 1)
    assert table.loc["徒歩案 (v1)", "people_farther"] == round(city["people_farther"])
    assert not at.get("component_instance")  # walk next to drive: no shared colour scale
    assert any("移動手段の異なる" in c.value for c in at.caption)


def _phases_page(at: AppTest) -> AppTest:
    """The 比較 page with nothing compared (only the phases below)."""
    at.session_state["compare_chosen"] = []
    return _compare_page(at)


def _add_step(at: AppTest, date: dt.date, label: str) -> AppTest:
    bound(at.date_input, "phase_date").set_value(date)
    bound(at.text_input, "phase_label").input(label)
    _button(at, "phase_add").click().run()
    assert not at.exception, at.exception
    return at


def _headings(at: AppTest) -> list[str]:
    return [heading.value for heading in at.main.subheader]


def test_steps_added_in_the_editor_equal_evaluate_and_are_saved(new_app, db_url, study):
    at = _phases_page(new_app(base="fy2015"))
    assert "段階計画" in _headings(at)
    assert not at.get("vega_lite_chart")  # no steps yet
    assert any("サイドバーの「保存・読み込み」で保存" in c.value for c in at.caption)

    bound(at.multiselect, "downgraded").set_value(["oe-branch"]).run()
    _add_step(at, dt.date(2026, 4, 1), "第1段階")
    assert "段階「2026-04-01 第1段階」を追加しました。" in _shown(at.success)
    bound(at.multiselect, "downgraded").set_value([])
    bound(at.multiselect, "closed").set_value(["oe-branch"]).run()
    _add_step(at, dt.date(2027, 4, 1), "第2段階")

    phases = (saved.Phase(dt.date(2026, 4, 1), "第1段階", downgraded={"oe-branch"}),
              saved.Phase(dt.date(2027, 4, 1), "第2段階", closed={"oe-branch"}))
    assert at.session_state["phases"] == phases
    _assert_phase_table_equals_evaluate(at, study, phases)
    assert at.get("vega_lite_chart")
    assert links.from_query_params(_url(at)).scenario.phases == phases  # a link keeps the steps

    at.text_input(key="saved_name").input("段階案")
    _button(at, "saved_save").click().run()
    assert not at.exception, at.exception
    stored = scenariostore.ScenarioStore(db_url).open("段階案")
    assert stored.scenario.phases == phases
    assert stored.scenario.question.closed == {"oe-branch"}
    assert _url(at) == {"saved": "段階案", "version": "1"}
    assert "段階計画：段階案" in _headings(at)


def test_a_step_reopening_a_closed_office_is_refused_and_the_steps_kept(new_app, study):
    first = saved.Phase(dt.date(2026, 4, 1), "第1段階", closed={"oe-branch"})
    link = links.to_query_params(record(base="fy2015", closed={"oe-branch"},
                                                     phases=(first,)))
    at = new_app(**link)
    assert at.session_state["phases"] == (first,)  # a URL's phases are loaded
    bound(at.multiselect, "closed").set_value([]).run()  # nothing closed: oe-branch reopens
    at = _phases_page(at)
    _add_step(at, dt.date(2027, 4, 1), "再開")
    refused = _shown(at.error)
    assert refused == [("段階を追加できませんでした（段階の一覧は変わっていません）：2027-04-01 "
                        "の段階で、前の段階で閉鎖した窓口が再び開くことになります：大江出張所。"
                        "段階計画では閉鎖した窓口は戻せません。")], refused
    assert at.session_state["phases"] == (first,)
    _assert_phase_table_equals_evaluate(at, study, (first,))

    _add_step(at, dt.date(2026, 4, 1), "同じ日")
    assert any("2026-04-01 の段階は、その前の段階（2026-04-01）より後の日付にしてください" in text
               for text in _shown(at.error)), _shown(at.error)
    assert at.session_state["phases"] == (first,)


def test_a_step_added_before_the_others_goes_first_and_a_step_can_be_removed(new_app, db_url,
                                                                             study):
    _save_phased_plan(db_url)
    at = _phases_page(new_app(saved="段階案"))
    assert _url(at) == {"saved": "段階案", "version": "1"}  # unchanged: the saved name

    picker = at.selectbox(key="phase_remove_pick")
    assert picker.options == ["2026-04-01 第1段階", "2027-04-01 第2段階", "2028-04-01 第3段階"]
    picker.set_value(PHASES[1])
    _button(at, "phase_remove").click().run()
    assert not at.exception, at.exception
    assert "段階「2027-04-01 第2段階」を削除しました。" in _shown(at.success)
    remaining = (PHASES[0], PHASES[2])
    assert at.session_state["phases"] == remaining
    _assert_phase_table_equals_evaluate(at, study, remaining)
    picker = at.selectbox(key="phase_remove_pick")
    assert picker.options == ["2026-04-01 第1段階", "2028-04-01 第3段階"]
    assert picker.value in remaining
    # the link now carries the edited steps, not the saved name (which would lose them)
    assert "saved" not in _url(at)
    assert links.from_query_params(_url(at)).scenario.phases == remaining

    bound(at.multiselect, "closed").set_value([]).run()  # nothing closed yet in FY2015
    _add_step(at, dt.date(2016, 4, 1), "準備")
    assert [phase.label for phase in at.session_state["phases"]] == ["準備", "第1段階",
                                                                    "第3段階"]
    assert list(at.dataframe[-1].value["label"]) == ["準備", "第1段階", "第3段階"]


def test_opening_a_saved_scenario_loads_its_phases_into_the_editor(new_app, db_url):
    _save_phased_plan(db_url)
    at = _phases_page(new_app())
    assert at.session_state["phases"] == ()
    assert not any(s.key == "phase_remove_pick" for s in at.selectbox)
    _button(at, "saved_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["phases"] == PHASES
    assert "段階計画：段階案" in _headings(at)
    assert at.selectbox(key="phase_remove_pick").options == [
        "2026-04-01 第1段階", "2027-04-01 第2段階", "2028-04-01 第3段階"]
    assert list(at.dataframe[-1].value["label"]) == ["第1段階", "第2段階", "第3段階"]


def test_a_typed_step_date_and_label_survive_leaving_the_page(new_app):
    at = _phases_page(new_app())
    bound(at.date_input, "phase_date").set_value(dt.date(2027, 4, 1))
    bound(at.text_input, "phase_label").input("第2段階").run()
    at.switch_page("views/map.py").run()
    at = _compare_page(at)
    assert bound(at.date_input, "phase_date").value == dt.date(2027, 4, 1)
    assert bound(at.text_input, "phase_label").value == "第2段階"


@pytest.mark.bundle
def test_a_saved_scenario_gives_the_same_workbook_on_screen_and_from_the_command_line(
        new_app, db_url, downloads, tmp_path):
    """The 城南/南部 reading, store layer, walking and store share travel with the record: the
    tables page's workbook and ``geo report --scenario`` have the same cells (issue 19)."""
    import io

    from openpyxl import load_workbook

    from geo import cli

    scenariostore.ScenarioStore(db_url).save(record(
        name="徒歩・別読み案", base="fy2015", closed={"oe-branch", "akitsu-branch"},
        measure="certificate", store_source="osm", mode="walk", store_share=0.35,
        reading="alternative", briefing_title="別の読みで"))
    at = new_app(saved="徒歩・別読み案")
    at.switch_page("views/tables.py").run()
    assert not at.exception, at.exception
    screen = load_workbook(io.BytesIO(downloads["madoguchi_scenario.xlsx"]))
    out = tmp_path / "cli.xlsx"
    assert cli.main(["report", "--scenario", "徒歩・別読み案", "--db", db_url,
                     "--xlsx", str(out)]) == 0
    paper = load_workbook(out)
    assert screen.sheetnames == paper.sheetnames
    for name in screen.sheetnames:
        cells = [[c.value for c in row] for row in screen[name].iter_rows()]
        other = [[c.value for c in row] for row in paper[name].iter_rows()]
        if name == "シナリオ":  # the day it was made may differ at midnight; nothing else
            cells, other = ([row for row in rows if row[0] != "作成日"] for rows in
                            (cells, other))
        assert cells == other, name
    described = dict(row for row in ([c.value for c in r] for r in paper["シナリオ"].iter_rows())
                     if len(row) == 2)
    assert described["城南・南部の件数の読み方"] == "別の読み（城南 24,100・南部 23,920 件）"


@pytest.mark.bundle
def test_a_shared_link_shows_the_sender_s_cards_in_a_fresh_session(new_app):
    sender = new_app()
    bound(sender.multiselect, "closed").set_value(["oe-branch", "tobu-branch"]).run()
    bound(sender.radio, "measure").set_value("certificate").run()
    sender.switch_page("views/tables.py").run()
    bound(sender.slider, "store_share_pct").set_value(40).run()
    bound(sender.radio, "reading").set_value("alternative").run()
    sender.switch_page("views/map.py").run()
    receiver = new_app(**_url(sender))
    assert receiver.session_state["question"] == sender.session_state["question"]
    assert [m.value for m in receiver.metric] == [m.value for m in sender.metric]
    assert receiver.session_state["question"].reading == "alternative"
