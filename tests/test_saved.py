"""Saved scenarios: versions, soft delete, export / import, concurrent writers, URLs, CLI.

Every store test runs on SQLite, and again on PostgreSQL when ``MADOGUCHI_TEST_PG_URL``
names a server (``scripts/start_postgres.sh`` starts one; ``.ci/run`` sets it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from records import record

from geo import cli, exchange, links, saved, scenariostore
from geo.errors import (
    PhasePlanError,
    SavedScenarioError,
    ScenarioNotFoundError,
    ScenarioStoreError,
    UnknownOfficeError,
)
from geo.links import SavedRef
from geo.saved import Phase, SavedScenario
from geo.scenariostore import ImportReport, ScenarioStore

PG_ENV_VAR = "MADOGUCHI_TEST_PG_URL"

PHASED = record(
    name="南部・飽田 段階案", base="fy2015", closed={"nanbu-branch"},
    downgraded={"akita-general-branch"},
    measure="certificate", store_source="osm", network="osm-city-drive", mode="walk",
    store_share=0.3, briefing_title="説明会 2026", note="課内検討用", author="田中",
    phases=(Phase(dt.date(2016, 4, 1), "第1段階",
                  downgraded={"nanbu-branch", "akita-general-branch"}),
            Phase(dt.date(2018, 4, 1), "第2段階", closed={"nanbu-branch"},
                  downgraded={"akita-general-branch"})))


def _database(kind: str, tmp_path: Path, label: str) -> str:
    """A fresh empty database: a SQLite file, or its own schema on the PostgreSQL server."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'{label}.sqlite'}"
    url = os.environ.get(PG_ENV_VAR)
    if not url:
        pytest.skip(f"{PG_ENV_VAR} is not set, so no PostgreSQL server to test against "
                    "(scripts/start_postgres.sh starts one and prints the URL)")
    schema = f"madoguchi_test_{label}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    scoped = sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _database(request.param, tmp_path, "main")


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> str:
    """A second empty database of the same kind as ``db_url``."""
    return _database("postgresql" if db_url.startswith("postgresql") else "sqlite", tmp_path,
                     "other")


@pytest.fixture
def store(db_url: str):
    opened = ScenarioStore(db_url)
    yield opened
    opened.close()


# -- the record ------------------------------------------------------------------------------

def test_the_question_is_what_geo_study_evaluates():
    assert PHASED.question.scenario.base == "fy2015"
    assert PHASED.question.scenario.closed == {"nanbu-branch"}
    assert PHASED.question.scenario.downgraded == {"akita-general-branch"}
    assert PHASED.office_ids == {"nanbu-branch", "akita-general-branch"}


@pytest.mark.parametrize(("change", "match"), [
    ({"base": "2016"}, "base: unknown '2016'"),
    ({"store_share": -0.1}, "store_share: must be a number from 0 to 1"),
    ({"store_share": math.nan}, "store_share: must be a number from 0 to 1"),
    ({"store_share": 1.5}, "store_share: must be a number from 0 to 1"),
    ({"store_share": True}, "store_share: must be a number from 0 to 1"),
    ({"measure": "speed"}, "measure: unknown 'speed'"),
    ({"mode": "bicycle"}, "mode: unknown 'bicycle'"),
    ({"network": "google"}, "network: unknown 'google'"),
    ({"store_source": "7-eleven"}, "store_source: unknown '7-eleven'"),
    ({"reading": "third"}, "reading: unknown 'third'"),
    ({"zones": "prefecture"}, "zones: unknown 'prefecture'"),
    ({"closed": ["oe-branch"], "downgraded": ["oe-branch"]}, "both closed and downgraded"),
    ({"closed": ["Oe Branch"]}, "closed: not an office id: 'Oe Branch'"),
    ({"name": "x" * 201}, "at most 200"),
    ({"note": "a\x00b"}, "note must be text without NUL"),
    ({"phases": [{"date": "2018-01-01"}, {"date": "2017-01-01"}]}, "not after 2018-01-01"),
    ({"phases": [{"date": "2016-01-01", "closed": ["oe-branch"]},
                 {"date": "2017-01-01", "downgraded": ["oe-branch"]}]},
     "phase 2: closed offices cannot reopen or become corners again: oe-branch"),
    ({"phases": [{"date": "2016-01-01", "downgraded": ["oe-branch"]},
                 {"date": "2017-01-01"}]},
     "phase 2: service corners cannot become full counters again: oe-branch"),
])
def test_invalid_fields_raise_a_clear_error(change: dict, match: str):
    with pytest.raises(SavedScenarioError, match=match):
        SavedScenario.from_dict({"name": "x", **change})


def test_every_problem_is_reported_at_once():
    with pytest.raises(SavedScenarioError) as raised:
        SavedScenario.from_dict({"name": "x", "base": "2016", "store_share": -1.0,
                                 "mode": "bicycle"})
    message = str(raised.value)
    assert "base" in message and "store_share" in message and "mode" in message


def test_from_dict_rejects_unknown_fields_and_bad_lists():
    with pytest.raises(SavedScenarioError, match="unknown scenario field"):
        SavedScenario.from_dict({"name": "x", "colour": "red"})
    with pytest.raises(SavedScenarioError, match="closed must be a list of office ids"):
        SavedScenario.from_dict({"name": "x", "closed": [["oe-branch"]]})
    with pytest.raises(SavedScenarioError, match="phase 1: date must be YYYY-MM-DD"):
        SavedScenario.from_dict({"name": "x", "phases": [{"date": "April 2016"}]})


def test_check_offices_names_every_unknown_id_including_phases():
    offices = pd.DataFrame({"office_id": ["nanbu-branch", "oe-branch"]})
    with pytest.raises(UnknownOfficeError, match=r"akita-general-branch$"):
        saved.check_offices(PHASED, offices)
    saved.check_offices(record(name="ok", closed={"oe-branch"}), offices)


# -- the store -------------------------------------------------------------------------------

def test_saving_a_name_again_makes_a_new_version_and_keeps_the_old(store: ScenarioStore):
    first = store.save(record(name="案A", closed={"oe-branch"}, note="first"))
    second = store.save(record(name="案A", closed={"oe-branch", "tobu-branch"}))
    third = store.save(PHASED)
    assert (first.version, second.version, third.version) == (1, 2, 1)
    assert store.open("案A").scenario.question.closed == {"oe-branch", "tobu-branch"}
    old = store.open("案A", version=1)
    assert old.scenario == record(name="案A", closed={"oe-branch"}, note="first")
    assert old.created_at == store.open("案A").created_at == first.updated_at
    assert store.open("案A").updated_at >= first.updated_at
    assert [r.version for r in store.history("案A")] == [1, 2]
    assert [(r.scenario.name, r.version) for r in store.list()] == [(PHASED.name, 1), ("案A", 2)]
    assert store.save(record(name=" 案A ")).version == 3  # the same name, spaces dropped


def test_add_phase_keeps_date_order_and_refuses_a_step_going_back():
    first, second = PHASED.phases
    between = Phase(dt.date(2017, 4, 1), "途中", downgraded=first.downgraded)
    assert saved.add_phase((second, first), between) == (first, between, second)
    assert saved.add_phase((), first) == (first,)
    reopening = Phase(dt.date(2019, 4, 1), "戻す", downgraded={"nanbu-branch"})
    with pytest.raises(SavedScenarioError, match="invalid phased plan: phase 3: closed offices "
                                                 "cannot reopen or become corners again: "
                                                 "nanbu-branch"):
        saved.add_phase(PHASED.phases, reopening)
    with pytest.raises(SavedScenarioError, match="phase 2: date 2016-04-01 is not after"):
        saved.add_phase(PHASED.phases, Phase(first.date, "同じ日", closed=second.closed))


def test_a_refused_step_says_which_step_goes_back_and_how():
    first, second = PHASED.phases
    reopening = Phase(dt.date(2019, 4, 1), "戻す", downgraded={"nanbu-branch"})
    with pytest.raises(PhasePlanError) as refused:
        saved.add_phase(PHASED.phases, reopening)
    assert refused.value.problems == (  # 南部 reopens as a corner, 飽田 a full counter again
        saved.PhaseProblem(3, "reopened", reopening.date, second.date, ("nanbu-branch",)),
        saved.PhaseProblem(3, "upgraded", reopening.date, second.date,
                           ("akita-general-branch",)))
    with pytest.raises(PhasePlanError) as refused:
        saved.add_phase((first,), Phase(first.date, "同じ日"))
    assert [(p.kind, p.step, p.offices) for p in refused.value.problems] == [
        ("date", 2, ()), ("upgraded", 2, tuple(sorted(first.downgraded)))]


def test_every_field_and_phase_survives_the_database(store: ScenarioStore):
    store.save(PHASED)
    reopened = store.open(PHASED.name)
    assert reopened.scenario == PHASED
    assert reopened.updated_at.tzinfo is not None
    assert reopened.updated_at.utcoffset() == dt.timedelta(0)


def test_unknown_name_or_version_and_empty_name_are_clear_errors(store: ScenarioStore):
    store.save(record(name="案A"))
    with pytest.raises(ScenarioNotFoundError, match="no saved scenario named '案B'"):
        store.open("案B")
    with pytest.raises(ScenarioNotFoundError, match=r"no version 3 \(versions 1\)"):
        store.open("案A", version=3)
    with pytest.raises(SavedScenarioError, match="needs a name"):
        store.save(record(name="  "))


def test_delete_hides_and_restore_brings_back_every_version(store: ScenarioStore):
    store.save(record(name="案A", closed={"oe-branch"}))
    store.save(record(name="案A", closed={"tobu-branch"}))
    store.save(record(name="案B"))
    store.delete("案A")
    assert [r.scenario.name for r in store.list()] == ["案B"]
    listed = {r.scenario.name: r.deleted for r in store.list(include_deleted=True)}
    assert listed == {"案A": True, "案B": False}
    with pytest.raises(ScenarioNotFoundError, match="deleted"):
        store.open("案A")
    oldest = store.open("案A", version=1, include_deleted=True)
    assert oldest.scenario.question.closed == {"oe-branch"}
    with pytest.raises(ScenarioNotFoundError, match="is not listed"):
        store.delete("案A")
    store.restore("案A")
    assert [r.scenario.name for r in store.list()] == ["案A", "案B"]
    assert [r.scenario.question.closed for r in store.history("案A")] == [{"oe-branch"},
                                                                        {"tobu-branch"}]
    with pytest.raises(ScenarioNotFoundError, match="is not deleted"):
        store.restore("案A")


def test_saving_under_a_deleted_name_adds_a_version_and_lists_it_again(store: ScenarioStore):
    store.save(record(name="案A"))
    store.delete("案A")
    assert store.save(record(name="案A", note="again")).version == 2
    assert [r.version for r in store.list()] == [2]


def test_two_planners_saving_the_same_name_at_once_lose_no_version(db_url: str):
    writers, saves_each = 4, 5
    start = threading.Barrier(writers)

    def planner(number: int) -> None:
        start.wait(timeout=60)
        own = ScenarioStore(db_url)  # own connections; the first use creates the tables
        try:
            for i in range(saves_each):
                own.save(record(name="共有案", note=f"planner {number} save {i}"))
        finally:
            own.close()

    with ThreadPoolExecutor(writers) as pool:
        for finished in [pool.submit(planner, n) for n in range(writers)]:
            finished.result()  # re-raises a planner's error here
    history = ScenarioStore(db_url).history("共有案")
    assert [r.version for r in history] == list(range(1, writers * saves_each + 1))
    assert {r.scenario.note for r in history} == {
        f"planner {n} save {i}" for n in range(writers) for i in range(saves_each)}


def test_a_database_that_cannot_be_opened_is_a_store_error(tmp_path: Path):
    with pytest.raises(ScenarioStoreError, match="cannot open the scenario database"):
        ScenarioStore(f"sqlite:///{tmp_path / 'missing-folder' / 'x.sqlite'}")
    with pytest.raises(ScenarioStoreError, match="cannot open the scenario database"):
        ScenarioStore("not a url")


def test_database_url_prefers_argument_then_environment_then_the_project_file(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    default = tmp_path / "data" / "scenarios" / "scenarios.sqlite"
    monkeypatch.setattr(scenariostore, "DEFAULT_DB_PATH", default)
    monkeypatch.setenv(scenariostore.DB_ENV_VAR, "sqlite:///from-env.sqlite")
    assert scenariostore.database_url("sqlite:///given.sqlite") == "sqlite:///given.sqlite"
    assert scenariostore.database_url() == "sqlite:///from-env.sqlite"
    monkeypatch.delenv(scenariostore.DB_ENV_VAR)
    assert scenariostore.database_url() == f"sqlite:///{default}"
    assert default.parent.is_dir()  # created, so SQLite can make the file on first use


# -- export and import -----------------------------------------------------------------------

def test_export_then_import_into_an_empty_database_copies_everything(
        store: ScenarioStore, other_url: str, tmp_path: Path):
    store.save(record(name="案A", closed={"oe-branch"}))
    store.save(record(name="案A", closed={"tobu-branch"}))
    store.save(PHASED)
    store.delete(PHASED.name)
    path = tmp_path / "scenarios.json"
    assert exchange.export_scenarios(store, path) == 3
    target = ScenarioStore(other_url)
    report = exchange.import_scenarios(target, path)
    assert report == ImportReport(scenarios_created=2, added=3, renumbered=0, skipped=0)
    source_export, target_export = store.export(), target.export()
    assert source_export["scenarios"] == target_export["scenarios"]
    assert [r.scenario.name for r in target.list()] == ["案A"]
    assert target.open(PHASED.name, include_deleted=True).scenario == PHASED
    target.close()


def test_import_merges_without_losing_anything_and_is_idempotent(
        store: ScenarioStore, other_url: str, tmp_path: Path):
    store.save(record(name="案A", closed={"oe-branch"}))          # same as target's v1
    store.save(record(name="案A", closed={"akitsu-branch"}))      # clashes with target's v2
    store.save(record(name="案B"))
    store.delete("案B")
    target = ScenarioStore(other_url)
    target.save(record(name="案A", closed={"oe-branch"}))
    target.save(record(name="案A", closed={"tobu-branch"}))
    target.save(record(name="案C"))
    path = tmp_path / "scenarios.json"
    exchange.export_scenarios(store, path)

    first = exchange.import_scenarios(target, path)
    assert first == ImportReport(scenarios_created=1, added=1, renumbered=1, skipped=1)
    history = [(r.version, r.scenario.question.closed) for r in target.history("案A")]
    assert history == [(1, {"oe-branch"}), (2, {"tobu-branch"}), (3, {"akitsu-branch"})]
    assert target.open("案C").version == 1
    assert {r.scenario.name: r.deleted for r in target.list(include_deleted=True)} == {
        "案A": False, "案B": True, "案C": False}

    again = exchange.import_scenarios(target, path)
    assert again == ImportReport(scenarios_created=0, added=0, renumbered=0, skipped=3)
    assert len(target.history("案A")) == 3
    target.close()


def test_an_invalid_export_file_is_refused_whole(store: ScenarioStore, tmp_path: Path):
    good = {"name": "案A", "created_at": "2026-01-01T00:00:00+00:00", "deleted_at": None,
            "versions": [{"version": 1, "saved_at": "2026-01-01T00:00:00+00:00",
                          "scenario": {"closed": ["oe-branch"]}}]}
    bad = {**good, "name": "案B",
           "versions": [{"version": 1, "saved_at": "2026-01-01T00:00:00",
                         "scenario": {"store_share": -1}}]}
    exported = {"format": exchange.EXPORT_FORMAT, "format_version": 1, "scenarios": [good, bad]}
    with pytest.raises(SavedScenarioError, match=r"scenarios\[1\]: .*store_share"):
        store.merge(exported)
    assert store.list(include_deleted=True) == []
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SavedScenarioError, match=r"broken\.json is not valid JSON: Expecting"):
        exchange.import_scenarios(store, path)
    with pytest.raises(SavedScenarioError, match="not a madoguchi-scenarios export"):
        store.merge({"scenarios": []})
    with pytest.raises(SavedScenarioError, match="format version 2"):
        store.merge({"format": exchange.EXPORT_FORMAT, "format_version": 2, "scenarios": []})


# -- names, hostile files (issue 20) ---------------------------------------------------------

NFD_NAME = unicodedata.normalize("NFD", "ガス案")  # カ + combining dakuten: looks the same


def _export(*entries: dict) -> dict:
    return {"format": exchange.EXPORT_FORMAT, "format_version": 1, "scenarios": list(entries)}


def _entry(name: str, closed: list[str], version: object = 1) -> dict:
    return {"name": name, "created_at": "2026-01-01T00:00:00+00:00", "deleted_at": None,
            "versions": [{"version": version, "saved_at": "2026-01-01T00:00:00+00:00",
                          "scenario": {"closed": closed}}]}


def test_names_that_look_the_same_are_one_scenario(store: ScenarioStore):
    assert NFD_NAME != "ガス案" and saved.normalise_name(NFD_NAME) == "ガス案"
    store.save(record(name=NFD_NAME, closed={"oe-branch"}))
    store.save(record(name=" ガス案\u3000"))
    assert [r.scenario.name for r in store.list()] == ["ガス案"]
    assert store.open(NFD_NAME).version == 2
    assert links.from_query_params({"saved": NFD_NAME + " "}).saved == SavedRef("ガス案")
    report = store.merge(_export(_entry(" " + NFD_NAME, ["tobu-branch"])))
    assert (report.scenarios_created, report.renumbered) == (0, 1)
    assert [r.scenario.name for r in store.list()] == ["ガス案"]
    with pytest.raises(SavedScenarioError, match="'ガス案' appears twice"):
        store.merge(_export(_entry("ガス案", []), _entry(NFD_NAME, ["oe-branch"])))


@pytest.mark.parametrize("hidden", ["\u200b", "\u202e", "\ufeff", "\x00", "\n", "\u2066"])
def test_names_with_invisible_characters_are_refused_everywhere(store: ScenarioStore,
                                                                hidden: str):
    name = f"案{hidden}A"
    with pytest.raises(SavedScenarioError, match="invisible control or format characters"):
        record(name=name)
    with pytest.raises(SavedScenarioError, match="invisible control or format characters"):
        store.merge(_export(_entry(name, [])))
    with pytest.raises(ScenarioNotFoundError):
        store.open(name)
    assert cli.main(["scenarios", "save", "--name", name, "--db", store.url]) == 2
    assert store.list(include_deleted=True) == []


def test_import_checks_every_office_id_before_merging_anything(store: ScenarioStore):
    register = pd.DataFrame({"office_id": ["oe-branch", "tobu-branch"]})
    exported = _export(_entry("案A", ["oe-branch"]), _entry("案B", ["atlantis", "tobu-branch"]))
    with pytest.raises(UnknownOfficeError, match=r"'案B' version 1: unknown office id.*atlantis"):
        store.merge(exported, offices=register)
    assert store.list(include_deleted=True) == []
    assert store.merge(exported).added == 2  # without a register the ids are not checked


@pytest.mark.parametrize("version", [10**30, 2**31, 0, True, "1"])
def test_an_export_with_an_impossible_version_number_is_refused(store: ScenarioStore,
                                                                 version: object):
    with pytest.raises(SavedScenarioError, match="bad or repeated version number"):
        store.merge(_export(_entry("案A", [], version=version)))
    assert store.list(include_deleted=True) == []


def test_a_time_before_year_one_in_utc_is_refused():
    entry = _entry("案A", [])
    entry["created_at"] = "0001-01-01T00:00:00+09:00"
    with pytest.raises(SavedScenarioError, match="created_at must be an ISO date-time"):
        scenariostore.ScenarioStore.merge(None, _export(entry))  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["[" * 100_000, "[" * 33 + "]" * 33,
                                  '{"a": ' * 5_000 + "1" + "}" * 5_000, "1" * 5_000])
def test_deeply_nested_or_huge_json_files_are_one_line_errors(tmp_path: Path, text: str,
                                                               capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "hostile.json"
    path.write_text(text, encoding="utf-8")
    db = ["--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--data", str(tmp_path / "none")]
    for argv in (["scenarios", "import", str(path)],
                 ["scenarios", "save", "--name", "x", "--phases", str(path)]):
        assert cli.main([*argv, *db]) == 2
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert line.startswith(f"error: {path} is ")
        assert "nested more than 32 levels" in line or "not valid JSON" in line


# -- URLs ------------------------------------------------------------------------------------

def test_query_params_round_trip_a_full_scenario_and_a_saved_reference():
    params = links.to_query_params(PHASED)
    assert all(isinstance(v, str) for v in params.values())
    assert params["close"] == "nanbu-branch" and params["share"] == "0.3"
    assert links.from_query_params(params).scenario == PHASED
    for ref in (SavedRef("案A", 3), SavedRef("案A")):
        assert links.from_query_params(links.to_query_params(ref)).saved == ref


def test_query_params_omit_defaults_and_say_which_parameters_were_not_understood():
    plain = record(closed={"tobu-branch", "oe-branch"})
    assert links.to_query_params(plain) == {"base": "fy2015", "close": "oe-branch,tobu-branch"}
    with_app_params = {"lang": "en", "base": "fy2015", "close": "oe-branch,tobu-branch",
                       "closed": "akitsu-branch"}
    read = links.from_query_params(with_app_params, view_keys=("lang",))
    assert read.scenario == plain
    assert read.ignored == ("closed",)  # a typo is said, not silently dropped
    assert links.from_query_params({"lang": "en"}, view_keys=("lang",)) == links.Link()


def test_a_repeated_parameter_is_refused_rather_than_one_value_kept():
    with pytest.raises(SavedScenarioError, match="'close' is given 2 times"):
        links.from_query_params({"close": ["oe-branch", "tobu-branch"]})
    assert links.from_query_params({"close": ["oe-branch"]}).scenario == record(
        closed={"oe-branch"})


@pytest.mark.parametrize(("params", "match"), [
    ({"base": "2016"}, "base: unknown '2016'"),
    ({"share": "a lot"}, "share is not a number"),
    ({"share": "nan"}, "store_share: must be a number from 0 to 1"),
    ({"walk": "fast"}, "walk is not a number"),
    ({"reading": "third"}, "reading: unknown 'third'"),
    ({"close": "oe-branch,<script>"}, "closed: not an office id: '<script>'"),
    ({"phases": "[{"}, "phases is not valid JSON"),
    ({"phases": '{"date": "2016-04-01"}'}, "phases must be a list"),
    ({"phases": '[{"date": "2016-04-01", "closed": "oe-branch"}]'}, "must be a list of office ids"),
    ({"saved": "案A", "version": "0"}, "whole number from 1"),
    ({"saved": "案A", "version": "٣"}, "whole number from 1"),
    ({"saved": "案A", "version": "9" * 5000}, "whole number from 1"),
    ({"saved": "案A", "version": str(2**31)}, "whole number from 1 to 2,147,483,647"),
    ({"saved": "案\u200bA"}, r"invisible control or format characters \(U\+200B\)"),
    ({"phases": "[" * 100_000}, "phases is nested more than 32 levels"),
    ({"phases": "[" * 40 + "]" * 40}, "phases is nested more than 32 levels"),
    ({"name": "案A\u202e"}, r"U\+202E"),
    ({"version": "2"}, "needs 'saved'"),
    ({"saved": "案A", "close": "oe-branch"}, "also scenario fields"),
    ({"close": [1]}, "must be text"),
])
def test_junk_query_params_give_a_clear_error(params: dict, match: str):
    with pytest.raises(SavedScenarioError, match=match):
        links.from_query_params(params)


_KEYS = st.sampled_from(["base", "close", "downgrade", "measure", "zones", "stores", "network",
                         "mode", "share", "reading", "walk", "title", "phases", "saved",
                         "version", "lang"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_KEYS, st.text(max_size=40), max_size=5))
def test_any_text_in_the_url_gives_a_scenario_or_a_clear_error(params: dict[str, str]):
    try:
        result = links.from_query_params(params, view_keys=("lang",))
    except SavedScenarioError:
        return
    if result.scenario is not None:
        assert links.from_query_params(links.to_query_params(result.scenario)).scenario == \
            result.scenario


# -- command line ----------------------------------------------------------------------------

def _cli_table(tmp_path: Path, *args: str) -> pd.DataFrame:
    out = tmp_path / "out.csv"
    assert cli.main([*args, "--out", str(out)]) == 0
    return pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_cli_round_trip(db_url: str, other_url: str, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]):
    db = ["--db", db_url, "--data", str(tmp_path / "no-data")]  # ids unchecked without data
    first = _cli_table(tmp_path, "scenarios", "save", "--name", "案A", "--year", "now",
                       "--close", "oe-branch,tobu-branch", "--note", "初案", *db)
    assert first[["name", "version", "base", "closed"]].values.tolist() == [
        ["案A", "1", "now", "oe-branch,tobu-branch"]]
    assert "office ids not checked" in capsys.readouterr().err
    _cli_table(tmp_path, "scenarios", "save", "--name", "案A", "--close", "oe-branch",
               "--downgrade", "tobu-branch", "--author", "田中", "--store-share", "0.25", *db)
    listed = _cli_table(tmp_path, "scenarios", "list", *db)
    assert listed[["name", "version", "base", "downgraded", "author"]].values.tolist() == [
        ["案A", "2", "fy2015", "tobu-branch", "田中"]]
    shown = _cli_table(tmp_path, "scenarios", "show", "--name", "案A", "--version", "1", *db)
    fields = dict(zip(shown["field"], shown["value"], strict=True))
    assert (fields["version"], fields["note"], fields["closed"]) == ("1", "初案",
                                                                     "oe-branch,tobu-branch")
    assert ScenarioStore(db_url).open("案A").scenario.question.store_share == 0.25

    _cli_table(tmp_path, "scenarios", "delete", "--name", "案A", *db)
    assert _cli_table(tmp_path, "scenarios", "list", *db).empty
    assert _cli_table(tmp_path, "scenarios", "list", "--all", *db)["deleted"].tolist() == ["True"]
    _cli_table(tmp_path, "scenarios", "restore", "--name", "案A", *db)
    assert _cli_table(tmp_path, "scenarios", "list", *db)["name"].tolist() == ["案A"]

    exported = tmp_path / "scenarios.json"
    assert cli.main(["scenarios", "export", "--out", str(exported), *db]) == 0
    assert len(json.loads(exported.read_text(encoding="utf-8"))["scenarios"][0]["versions"]) == 2
    other = ["--db", other_url]
    counts = _cli_table(tmp_path, "scenarios", "import", str(exported), *other)
    assert counts.iloc[0].to_dict() == {"scenarios_created": "1", "versions_added": "2",
                                        "versions_renumbered": "0",
                                        "versions_skipped_identical": "0"}
    counts = _cli_table(tmp_path, "scenarios", "import", str(exported), *other)
    assert counts["versions_skipped_identical"].tolist() == ["2"]


def test_cli_saves_a_phased_plan_from_a_json_file(tmp_path: Path):
    db = ["--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--data", str(tmp_path / "empty")]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([step.to_dict() for step in PHASED.phases], ensure_ascii=False),
                    encoding="utf-8")
    _cli_table(tmp_path, "scenarios", "save", "--name", "段階案", "--close", "nanbu-branch",
               "--phases", str(plan), *db)
    shown = _cli_table(tmp_path, "scenarios", "show", "--name", "段階案", *db)
    fields = dict(zip(shown["field"], shown["value"], strict=True))
    assert fields["phase 1"] == ("2016-04-01 第1段階; closed=; "
                                 "downgraded=akita-general-branch,nanbu-branch")
    assert fields["phase 2"] == ("2018-04-01 第2段階; closed=nanbu-branch; "
                                 "downgraded=akita-general-branch")
    steps = list(reversed(json.loads(plan.read_text(encoding="utf-8"))))
    plan.write_text(json.dumps(steps), encoding="utf-8")
    assert cli.main(["scenarios", "save", "--name", "段階案", "--phases", str(plan), *db]) == 2


@pytest.mark.parametrize("args", [
    ["scenarios", "save", "--name", " "],
    ["scenarios", "save", "--name", "x", "--phases", "missing.json"],
    ["scenarios", "save", "--name", "x", "--store-share", "-0.5"],
    ["scenarios", "save", "--name", "x", "--close", "oe-branch", "--downgrade", "oe-branch"],
    ["scenarios", "show", "--name", "nobody"],
    ["scenarios", "show", "--name", "x", "--version", "two"],
    ["scenarios", "delete", "--name", "nobody"],
    ["scenarios", "export"],
    ["scenarios", "import", "missing.json"],
    ["scenarios", "rename"],
])
def test_cli_bad_input_exits_2_with_one_line(args: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]):
    db = ["--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--data", str(tmp_path)]
    assert cli.main([*args, *db]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_cli_unusable_database_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = f"sqlite:///{tmp_path / 'missing-folder' / 's.sqlite'}"
    assert cli.main(["scenarios", "list", "--db", url]) == 1
    assert "cannot open the scenario database" in capsys.readouterr().err


@pytest.mark.bundle
def test_cli_checks_office_ids_against_the_register(bundle_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]):
    db = ["--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--data", str(bundle_dir)]
    assert cli.main(["scenarios", "save", "--name", "x", "--close", "oe-branch,ooe-branch",
                     *db]) == 2
    assert capsys.readouterr().err.strip() == "error: unknown office id(s): ooe-branch"
    assert cli.main(["scenarios", "save", "--name", "x", "--close", "oe-branch", *db]) == 0


@pytest.mark.bundle
def test_cli_import_checks_office_ids_against_the_register(bundle_dir: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_export(_entry("案A", ["oe-branch", "ooe-branch"]))),
                    encoding="utf-8")
    db = ["--db", f"sqlite:///{tmp_path / 's.sqlite'}", "--data", str(bundle_dir)]
    assert cli.main(["scenarios", "import", str(path), *db]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: import refused: '案A' version 1: unknown office id(s): ooe-branch")
    assert ScenarioStore(db[1]).list(include_deleted=True) == []
