"""The planner's question (geo.question): validation, defaults, and the round trips through
every form it takes: a link, a saved record (in memory and in a database), command-line
arguments."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import cli, demand, engine, layers, links, scenarios
from geo import study as study_module
from geo.errors import QuestionError
from geo.question import DEFAULT, MODES, YEARS, Question, base_of_year
from geo.saved import SavedScenario
from geo.scenariostore import ScenarioStore
from geo.zones import ZONE_KINDS

OFFICES = ("oe-branch", "akitsu-branch", "tobu-branch", "hanazono-general-branch",
           "nanbu-branch", "kita-ward-office")


@st.composite
def questions(draw) -> Question:
    """Any valid question: disjoint closed and downgraded offices, every other field drawn."""
    chosen = draw(st.lists(st.sampled_from(OFFICES), unique=True, max_size=len(OFFICES)))
    cut = draw(st.integers(0, len(chosen)))
    return Question(
        base=draw(st.sampled_from(scenarios.BASES)), closed=chosen[:cut],
        downgraded=chosen[cut:], measure=draw(st.sampled_from(scenarios.MEASURES)),
        zones=draw(st.sampled_from(ZONE_KINDS)),
        store_source=draw(st.one_of(st.none(), st.sampled_from(layers.STORE_SOURCES))),
        store_share=draw(st.floats(0.0, 1.0)), reading=draw(st.sampled_from(demand.READINGS)),
        network=draw(st.sampled_from(engine.NETWORKS)), mode=draw(st.sampled_from(MODES)),
        walk_kmh=draw(st.floats(0.5, 10.0)))


def test_the_defaults_are_held_once():
    assert DEFAULT == Question()
    assert (DEFAULT.base, DEFAULT.measure, DEFAULT.zones, DEFAULT.mode) == (
        "fy2015", "counter", "district", "drive")
    assert DEFAULT.store_source is None  # the data directory's default layer
    assert DEFAULT.reading == demand.DEFAULT_READING and DEFAULT.walk_kmh == 4.8
    assert base_of_year("2015") == "fy2015" and base_of_year("now") == "now"
    assert set(YEARS) == {"2015", "now"}
    with pytest.raises(QuestionError, match="--year: '2016'"):
        base_of_year("2016")


@pytest.mark.parametrize(("fields", "message"), [
    ({"base": "2016"}, "base: unknown '2016'"),
    ({"closed": "oe-branch"}, "closed: a collection of office ids, not 'oe-branch'"),
    ({"closed": [""]}, "closed: not an office id: ''"),
    ({"downgraded": ["Oe Branch"]}, "downgraded: not an office id: 'Oe Branch'"),
    ({"closed": ["oe-branch"], "downgraded": ["oe-branch"]},
     "offices both closed and downgraded: oe-branch"),
    ({"measure": "speed"}, "measure: unknown 'speed'"),
    ({"zones": "prefecture"}, "zones: unknown 'prefecture'"),
    ({"store_source": "7-eleven"}, "store_source: unknown '7-eleven'"),
    ({"store_share": 1.2}, "store_share: must be a number from 0 to 1, not 1.2"),
    ({"store_share": float("nan")}, "store_share: must be a number from 0 to 1"),
    ({"reading": "third"}, "reading: unknown 'third'"),
    ({"network": "google"}, "network: unknown 'google'"),
    ({"mode": "bicycle"}, "mode: unknown 'bicycle'"),
    ({"walk_kmh": 0}, "walk_kmh: must be a positive number, not 0"),
])
def test_a_bad_field_is_one_clear_error_naming_it(fields: dict, message: str):
    with pytest.raises(QuestionError, match=message):
        Question(**fields)


def test_every_bad_field_is_named_at_once():
    with pytest.raises(QuestionError) as raised:
        Question(base="2016", mode="bicycle", store_share=-1)
    assert all(name in str(raised.value) for name in ("base:", "mode:", "store_share:"))


def test_equal_questions_are_one_cache_key():
    one = Question(closed=["tobu-branch", "oe-branch"], store_share=0.3)
    other = Question(closed={"oe-branch", "tobu-branch"}, store_share=0.3)
    assert one == other and hash(one) == hash(other) and len({one, other}) == 1
    assert one.replace(measure="certificate") != one


def test_a_preset_is_the_office_set_a_view_takes():
    asked = Question(measure="certificate", mode="walk", closed={"oe-branch"},
                     reading="alternative")
    preset = Question(base="now", closed={"koda-general-branch"})
    taken = asked.with_offices(preset)
    assert (taken.base, taken.closed, taken.downgraded) == ("now", {"koda-general-branch"},
                                                            frozenset())
    assert (taken.measure, taken.mode, taken.reading) == ("certificate", "walk", "alternative")


@settings(max_examples=200, deadline=None)
@given(questions())
def test_a_question_survives_a_link(asked: Question):
    params = links.to_query_params(SavedScenario(question=asked))
    assert all(isinstance(value, str) for value in params.values())
    assert links.from_query_params(params).scenario.question == asked


@settings(max_examples=200, deadline=None)
@given(questions())
def test_a_question_survives_a_saved_record(asked: Question):
    record = SavedScenario(question=asked, name="案", note="n")
    assert SavedScenario.from_dict(record.to_dict()) == record
    assert SavedScenario.from_dict(record.to_dict()).defaulted == ()


@settings(max_examples=200, deadline=None)
@given(questions())
def test_a_question_survives_the_command_line(asked: Question):
    """The options the README documents for a question, parsed back by the CLI."""
    argv = ["--network", asked.network, "--mode", asked.mode,
            "--walk-kmh", repr(asked.walk_kmh), "scenario",
            "--year", {"fy2015": "2015", "now": "now"}[asked.base],
            "--measure", asked.measure, "--by", asked.zones,
            "--store-share", repr(asked.store_share), "--reading", asked.reading]
    for option, offices in (("--close", asked.closed), ("--downgrade", asked.downgraded)):
        if offices:
            argv += [option, ",".join(sorted(offices))]
    if asked.store_source is not None:
        argv += ["--stores", asked.store_source]
    args = cli.build_parser().parse_args(argv)
    assert cli._question(args, zones="small-area") == asked


def test_the_command_line_refuses_an_empty_or_doubled_office(capsys):
    for argv, said in ((["scenario", "--close", ""], "--close: names nothing"),
                       (["scenario", "--close", "oe-branch,,tobu-branch"], "an empty id"),
                       (["scenario", "--close", "oe-branch", "--downgrade", "oe-branch"],
                        "offices both closed and downgraded: oe-branch")):
        assert cli.main(argv) == 2
        assert said in capsys.readouterr().err


def test_a_database_saved_before_the_question_opens_with_its_defaults_and_says_so(
        tmp_path: Path):
    """A database made by the previous version: no zones, reading or walk_kmh columns."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript("""
            CREATE TABLE saved_scenarios (id INTEGER PRIMARY KEY, name VARCHAR(200) UNIQUE,
                created_at DATETIME, deleted_at DATETIME);
            CREATE TABLE saved_scenario_versions (id INTEGER PRIMARY KEY,
                scenario_id INTEGER REFERENCES saved_scenarios(id), version INTEGER,
                saved_at DATETIME, base VARCHAR(20), closed JSON, downgraded JSON,
                measure VARCHAR(20), store_source VARCHAR(40), network VARCHAR(40),
                mode VARCHAR(20), store_share FLOAT, briefing_title TEXT, note TEXT,
                author TEXT, phases JSON, UNIQUE (scenario_id, version));
            INSERT INTO saved_scenarios VALUES (1, '旧案', '2026-01-01 00:00:00', NULL);
            INSERT INTO saved_scenario_versions VALUES (1, 1, 1, '2026-01-01 00:00:00',
                'fy2015', '["oe-branch"]', '[]', 'certificate', 'osm', 'osm-city-drive',
                'walk', 0.25, '説明会', '', '', '[]');
        """)
    store = ScenarioStore(f"sqlite:///{path}")
    opened = store.open("旧案").scenario
    assert opened.question == Question(closed={"oe-branch"}, measure="certificate",
                                       store_source="osm", mode="walk", store_share=0.25)
    assert opened.defaulted == ("zones", "reading", "walk_kmh")
    again = store.save(SavedScenario(question=opened.question.replace(reading="alternative"),
                                     name="旧案"))
    assert store.open("旧案").scenario.question.reading == "alternative"
    assert store.open("旧案").scenario.defaulted == () and again.version == 2


@pytest.mark.bundle
def test_evaluate_answers_on_the_study_the_question_names(bundle_dir, monkeypatch):
    built = study_module.build_study(bundle_dir)
    with pytest.raises(QuestionError, match="mode: the study was built for 'drive', the "
                                            "question asks 'walk'"):
        study_module.evaluate(built, Question(mode="walk"))
    calls = []
    original = scenarios.open_mask

    def counted(*args, **kwargs):
        calls.append(kwargs["measure"])
        return original(*args, **kwargs)

    monkeypatch.setattr(scenarios, "open_mask", counted)
    study_module.evaluate(built, Question(closed={"oe-branch"}, downgraded={"akitsu-branch"},
                                          measure="certificate"))
    assert sorted(calls) == ["certificate", "certificate", "counter", "counter"]  # once each
