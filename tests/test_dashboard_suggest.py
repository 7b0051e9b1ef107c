"""The 提案 (suggestions) page through AppTest, checked against geo.optimise on the bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest
from widgets import bound

from dashboard import suggestions
from geo import optimise, settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
PAGE = "views/suggest.py"
TIMEOUT = 240


@pytest.fixture
def page(monkeypatch, bundle_dir: Path) -> AppTest:
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(bundle_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def problem(engine) -> optimise.Problem:
    """The FY2015 counters, ward offices fixed open, weighted by residents."""
    return optimise.problem_from_model(engine.model)


def _names(engine, ids) -> list[str]:
    names = dict(zip(engine.offices["office_id"], engine.offices["name_ja"], strict=True))
    return [names[oid] for oid in ids]


def _kept(at: AppTest) -> list[str]:
    table = at.dataframe[0].value
    return table.loc[table["残す"], "窓口"].tolist()


def _add_site(at: AppTest, name: str, where: str) -> None:
    at.text_input(key="suggest_site_name").input(name)
    at.text_input(key="suggest_site_latlon").input(where)
    at.button(key="suggest_site_add").click().run()


def _chart_data(at: AppTest) -> pd.DataFrame:
    chart = at.get("vega_lite_chart")[0].proto
    name = json.loads(chart.spec)["data"]["name"]
    data = next(d for d in chart.datasets if d.name == name)
    return convert_arrow_bytes_to_pandas_df(data.data.data)


@pytest.mark.parametrize(("text", "expected"), [
    ("32.8031,130.7079", ("新庁舎", 32.8031, 130.7079)),
    (" 32.8 、 130.7 ", ("新庁舎", 32.8, 130.7)),
])
def test_a_site_is_read_as_lat_lon(text, expected):
    assert suggestions.parse_site(" 新庁舎 ", text) == expected


@pytest.mark.parametrize(("name", "text", "message"), [
    ("a", "32.8", "expected lat,lon"),
    ("a", "north,east", "expected lat,lon"),
    ("a", "130.7,32.8", "latitude must be within"),
    ("  ", "32.8,130.7", "needs a name"),
])
def test_a_bad_site_is_refused_with_its_reason(name, text, message):
    with pytest.raises(ValueError, match=message):
        suggestions.parse_site(name, text)


@pytest.mark.bundle
def test_the_page_runs_with_ward_offices_fixed_and_keep_8_of_15(page, engine, problem):
    assert page.title[0].value == "提案：どの窓口を残すか"
    assert not page.error
    assert not [m.value for m in page.main.markdown if "->" in m.value]  # no stray docstrings
    fixed = bound(page.multiselect, "suggest_fix").value
    assert fixed == problem.candidates.loc[problem.candidates["kind"] == "ward_office",
                                           "office_id"].tolist()
    assert bound(page.slider, "suggest_open").value == 13  # 5 ward offices + 8 branches


@pytest.mark.bundle
@pytest.mark.parametrize("open_count", [13, 9])
def test_keep_k_p_median_table_is_the_milp_optimum(page, engine, problem, open_count):
    bound(page.slider, "suggest_open").set_value(open_count).run()
    assert not page.exception, page.exception
    expected = optimise.solve(problem, "p-median", open_count=open_count)
    assert _kept(page) == _names(engine, expected.selected)
    mean = next(m for m in page.metric if m.label == "平均距離（km）")
    assert mean.value == f"{expected.figures['mean_distance_m'] / 1000:.2f} km"


@pytest.mark.bundle
def test_the_65plus_weight_changes_the_question(page, engine, problem):
    bound(page.radio, "suggest_weight").set_value("65plus").run()
    bound(page.slider, "suggest_open").set_value(8).run()
    elderly = optimise.problem_from_model(engine.model, weight="65plus")
    expected = optimise.solve(elderly, "p-median", open_count=8)
    assert _kept(page) == _names(engine, expected.selected)


@pytest.mark.bundle
def test_frontier_chart_data_is_the_frontier(page, problem):
    expected = optimise.frontier(problem, "p-median")
    shown = _chart_data(page)
    assert shown["label"].tolist() == expected["label"].tolist()
    assert shown["branches_open"].tolist() == expected["branches_open"].tolist()
    pd.testing.assert_series_equal(shown["mean_distance_km"] * 1000, expected["mean_distance_m"],
                                   check_names=False)
    for column in ("people_beyond_5km", "people_65plus_beyond_2km"):
        pd.testing.assert_series_equal(shown[column], expected[column])
    real = shown.set_index("label").loc[["fy2015", "plan2015", "now"], "name"]
    assert real.tolist() == ["2015年度", "2015年の計画", "現在"]


@pytest.mark.bundle
def test_coverage_frontier_and_solution_use_the_distance(page, problem):
    bound(page.selectbox, "suggest_model").set_value("coverage").run()
    bound(page.number_input, "suggest_within_km").set_value(3.0).run()
    assert not page.exception, page.exception
    expected = optimise.frontier(problem, "coverage", within_m=3000.0)
    shown = _chart_data(page)
    pd.testing.assert_series_equal(shown["people_beyond_5km"], expected["people_beyond_5km"])
    solution = optimise.solve(problem, "coverage", open_count=13, within_m=3000.0)
    beyond = next(m for m in page.metric if m.label == "5 km より遠い人")
    assert beyond.value == f"{solution.figures['people_beyond_5km']:,.0f} 人"


@pytest.mark.bundle
def test_open_as_scenario_closes_the_complement_and_shows_the_map(page, problem):
    bound(page.slider, "suggest_open").set_value(11).run()
    solution = optimise.solve(problem, "p-median", open_count=11)
    page.button(key="suggest_open_scenario").click().run()
    assert not page.exception, page.exception
    fy2015 = problem.candidates.loc[problem.candidates["in_fy2015"], "office_id"]
    assert page.session_state["question"].base == "fy2015"
    assert page.session_state["question"].closed == set(fy2015) - set(solution.selected)
    assert len(page.session_state["question"].closed) == 9
    assert page.title[0].value == "地図：最寄り窓口までの道路距離"
    assert bound(page.multiselect, "closed").value == sorted(
        page.session_state["question"].closed)


@pytest.mark.bundle
def test_a_site_outside_the_city_is_refused_with_a_message(page):
    _add_site(page, "東京駅", "35.6812,139.7671")
    assert not page.exception, page.exception
    assert [e.value for e in page.error] == [
        "候補地「東京駅」は熊本市の外です。市内の地点を入力してください。"]
    assert page.session_state["suggest_sites"] == []


@pytest.mark.bundle
def test_a_badly_typed_site_says_why(page):
    _add_site(page, "x", "32.8")
    assert not page.exception, page.exception
    assert "expected lat,lon" in page.error[0].value
    assert page.session_state["suggest_sites"] == []


@pytest.mark.bundle
def test_a_site_in_the_city_becomes_a_candidate_shown_as_typed(page, engine, problem):
    name = "[新庁舎](http://example.com) *仮*"
    _add_site(page, name, "32.84,130.76")
    assert not page.exception, page.exception
    assert page.session_state["suggest_sites"] == [[name, 32.84, 130.76]]
    assert f"{name}: 32.84000, 130.76000" in [t.value for t in page.text]
    assert bound(page.multiselect, "suggest_exclude").options[-1] == name  # in the same run
    bound(page.slider, "suggest_open").set_value(6).run()  # the ward offices and one more
    sited = optimise.with_points(problem, engine, optimise.site_points({name: (32.84, 130.76)}))
    expected = optimise.solve(sited, "p-median", open_count=6)
    assert f"site:{name}" in expected.selected  # north-east of 託麻, it beats every branch
    table = page.dataframe[0].value
    assert table["窓口"].iloc[-1] == name
    names = dict(zip(engine.offices["office_id"], engine.offices["name_ja"], strict=True))
    assert _kept(page) == [names.get(oid, name) for oid in expected.selected]
    assert page.button(key="suggest_open_scenario").disabled
    assert any(c.value.startswith("新しい候補地を含む案はシナリオとして開けません")
               for c in page.caption)


@pytest.mark.bundle
def test_set_cover_finds_the_fewest_counters_for_the_share(page, engine, problem):
    bound(page.selectbox, "suggest_model").set_value("set-cover").run()
    bound(page.number_input, "suggest_share_pct").set_value(90.0).run()
    assert not page.exception, page.exception
    expected = optimise.solve(problem, "set-cover", within_m=5000.0, share=0.9)
    assert _kept(page) == _names(engine, expected.selected)
    assert not page.slider  # set cover chooses the number itself
    assert any(c.value.startswith("集合被覆は数を決めるモデル") for c in page.caption)


@pytest.mark.bundle
def test_everyone_within_5km_is_refused_with_the_reason(page):
    bound(page.selectbox, "suggest_model").set_value("set-cover").run()
    bound(page.number_input, "suggest_share_pct").set_value(100.0).run()
    assert not page.exception, page.exception
    shown = page.error[0].value.replace("\\", "")  # the message is escaped Markdown
    assert shown == ("この条件では答えが出ません："
                     "no set of counters brings 100.0% of the weight within 5000 m: "
                     "at most 98.8% can be")


@pytest.mark.bundle
def test_in_english_with_todays_counters(page, engine):
    bound(page.radio, "suggest_base").set_value("now").run()
    page.radio(key="lang").set_value("en").run()
    assert not page.exception, page.exception
    assert page.title[0].value == "Suggestions: which counters to keep"
    now = optimise.problem_from_model(engine.model, base="now")
    low, high = now.open_range
    slider = bound(page.slider, "suggest_open", "en")
    assert (slider.min, slider.max) == (low, high)
    expected = optimise.solve(now, "p-median", open_count=slider.value)
    table = page.dataframe[0].value
    names = dict(zip(engine.offices["office_id"], engine.offices["name_en"], strict=True))
    assert table.loc[table["Kept"], "Office"].tolist() == [names[o] for o in expected.selected]
    assert _chart_data(page)["label"].tolist()[-1:] == ["now"]  # FY2015 sets are not of 'now'


@pytest.mark.bundle
def test_optimality_near_ties_and_loads_of_keep_3(page, bundle_dir, engine, problem):
    from geo.study import build_study

    bound(page.slider, "suggest_open").set_value(8).run()
    solution = optimise.solve(problem, "p-median", open_count=8)
    assert page.success[0].value.startswith(
        "最適（証明済み）：厳密解（MILP・HiGHS）、最適性ギャップ ")
    assert {m.label: m.value for m in page.metric}["残す出張所等"] == "3"
    ties = optimise.near_ties(problem, "p-median", open_count=8)
    shown_ties = page.dataframe[1].value
    assert shown_ties["代わりに残す"].iloc[0] == "最適"
    assert shown_ties["最適との差（%）"].tolist() == ties.table["above_optimum_pct"].round(
        3).tolist()
    assert any("全組み合わせを調べた完全な一覧" in c.value for c in page.caption)
    fit = build_study(bundle_dir).demand_fits["brief"]
    loads = optimise.counter_loads(problem, solution, fit)
    assert loads["overloaded"].any()  # README: keeping 3 of 15 overloads some counter
    shown_loads = page.dataframe[2].value
    assert shown_loads["推計（変更後）"].tolist() == loads["predicted_after"].round().tolist()
    assert shown_loads["過負荷"].tolist() == loads["overloaded"].tolist()
    warning = page.warning[-1].value
    assert warning.startswith("取扱件数が 50% 超増える窓口があります：")
    overloaded = _names(engine, loads.loc[loads["overloaded"], "office_id"])
    assert warning.endswith("、".join(overloaded))


@pytest.mark.bundle
def test_a_click_on_the_map_fills_the_site_coordinates(page):
    page.session_state["suggest_site_clicked"] = "32.80310,130.70790"
    page.run()
    assert not page.exception, page.exception
    assert page.text_input(key="suggest_site_latlon").value == "32.80310,130.70790"
