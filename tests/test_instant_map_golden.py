"""The instant map's JavaScript evaluator gives geo.study.evaluate's figures (golden test).

``dashboard/instant_map/evaluator.js`` is the one file the map component evaluates clicks
with; here Node runs it (``tests/js/evaluate_scenarios.js``) on ``geo.instant``'s payload
for generated questions in every travel mode of the bundle: random bases, closed and
downgraded sets (none, and every counter, among them), both measures, every zone layer and
every store source, and random walking speeds. Each zone's figures (population, mean and
farthest km, the change, people farther, people and people aged 65+ beyond every
threshold, walking and transit minutes, transit people beyond 30/45/60 minutes and losing
a direct ride, the status) and every city figure must equal ``evaluate``'s.

Tolerance: relative 1e-6 and absolute 1e-6 (km, minutes or people), i.e. float32
precision: both sides read the same float32 distances and minutes and sum in float64; only
the order of the city sums differs (pandas sums pairwise, the evaluator in order).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import instant, scenarios, study
from geo.question import MODES, Question
from geo.zones import ZONE_KINDS

pytestmark = pytest.mark.bundle

ROOT = Path(__file__).resolve().parent.parent
EVALUATOR = ROOT / "dashboard" / "instant_map" / "frontend" / "evaluator.js"
RUNNER = ROOT / "tests" / "js" / "evaluate_scenarios.js"
NODE = shutil.which("node")
QUESTIONS_PER_MODE = 80
"""240 questions in all: 80 per travel mode, each zone layer in a third of them."""
RTOL = 1e-6
ATOL = 1e-6
WALK_SPEEDS = (4.8, 3.0, 5.5)
TEXT_COLUMNS = ("zone_id", "zone_name", "ward", "status")

if NODE is None:
    pytest.skip("Node.js is not installed (the evaluator runs in Node)", allow_module_level=True)


@pytest.fixture(scope="module", params=MODES)
def mode_study(request, bundle_dir: Path) -> study.Study:
    return study.build_study(bundle_dir, mode=request.param)


@pytest.fixture(scope="module")
def payload_file(mode_study: study.Study, tmp_path_factory) -> Path:
    data, _ = instant.payload_bytes(instant.browser_payload(mode_study))
    path = tmp_path_factory.mktemp(mode_study.mode) / "payload.json"
    path.write_bytes(data)
    return path


def _office_count(rng: random.Random, available: int) -> int:
    return min(available, int(rng.expovariate(1 / 3)))


def generated_questions(built: study.Study, count: int) -> list[Question]:
    """``count`` questions on ``built``'s mode: the first closes nothing, the second every
    counter of its base; the others close and downgrade random offices (mostly a few)."""
    rng = random.Random(f"instant-map-{built.mode}")
    questions = []
    for number in range(count):
        base = rng.choice(scenarios.BASES)
        choices = study.options(built, base)
        if number == 0:
            closed: list[str] = []
        elif number == 1:
            closed = list(choices.closable)
        else:
            closed = rng.sample(choices.closable, _office_count(rng, len(choices.closable)))
        downgradable = [office for office in choices.downgradable if office not in closed]
        downgraded = rng.sample(downgradable, _office_count(rng, len(downgradable)))
        questions.append(Question(
            base=base, closed=closed, downgraded=downgraded,
            measure=scenarios.MEASURES[number % 2],
            zones=ZONE_KINDS[(number // 2) % len(ZONE_KINDS)],
            store_source=rng.choice(built.store_sources), mode=built.mode,
            walk_kmh=rng.choice(WALK_SPEEDS)))
    return questions


def run_evaluator(evaluator: Path, payload: Path, questions: list[Question],
                  folder: Path) -> list[dict]:
    """The evaluator's answers to ``questions`` (Node, in one process)."""
    asked = folder / "questions.json"
    asked.write_text(json.dumps([q.to_dict() for q in questions]), encoding="utf-8")
    answers = folder / "answers.json"
    subprocess.run([NODE, str(RUNNER), str(evaluator), str(payload), str(asked), str(answers)],
                   check=True, capture_output=True, text=True, timeout=300)
    loaded: list[dict] = json.loads(answers.read_text(encoding="utf-8"))
    return loaded


def _differing(got: object, expected: object) -> np.ndarray:
    """Positions where two arrays differ beyond the tolerance (NaN equals NaN)."""
    return np.flatnonzero(~np.isclose(np.asarray(got, dtype=float),
                                      np.asarray(expected, dtype=float),
                                      rtol=RTOL, atol=ATOL, equal_nan=True))


def _compared(expected: dict[str, object], got: dict[str, object], what: str,
              zone_ids: pd.Series | None = None) -> list[str]:
    """Differences between two sets of named figures (columns of zones, or city figures)."""
    problems = []
    if set(got) != set(expected):
        problems.append(f"{what} names differ: {sorted(set(got) ^ set(expected))}")
    for name in set(got) & set(expected):
        value, answer = expected[name], got[name]
        if name in TEXT_COLUMNS or isinstance(value, str):
            if np.asarray(answer, dtype=str).tolist() != np.asarray(value, dtype=str).tolist():
                problems.append(f"{what} {name}: {answer!r} != {value!r}")
        elif len(differing := _differing(answer, value)):
            first = int(differing[0])
            where = ("" if zone_ids is None
                     else f" ({len(differing)} zones, e.g. {zone_ids.iloc[first]})")
            problems.append(f"{what} {name}{where}: {np.ravel(answer)[first]!r} != "
                            f"{np.ravel(value)[first]!r}")
    return problems


def mismatches(expected: study.Result, got: dict) -> list[str]:
    """What differs between ``evaluate``'s result and the evaluator's answer, in words."""
    table = expected.zone_table
    problems = _compared({column: table[column].to_numpy() for column in table.columns},
                         got["zone_table"], "zone column", zone_ids=table["zone_id"])
    problems += _compared(dict(expected.city), got["city"], "city")
    if got["unreachable"] != expected.unreachable:
        problems.append(f"unreachable: {got['unreachable']} != {expected.unreachable}")
    return problems


def test_the_evaluator_equals_evaluate_in_every_mode(mode_study, payload_file, tmp_path):
    questions = generated_questions(mode_study, QUESTIONS_PER_MODE)
    assert {q.zones for q in questions} == set(ZONE_KINDS)
    assert {q.measure for q in questions} == set(scenarios.MEASURES)
    assert {q.store_source for q in questions} == set(mode_study.store_sources)
    answers = run_evaluator(EVALUATOR, payload_file, questions, tmp_path)
    assert len(answers) == len(questions)
    failures = {}
    for question, answer in zip(questions, answers, strict=True):
        problems = mismatches(study.evaluate(mode_study, question), answer)
        if problems:
            failures[repr(question.to_dict())] = problems[:5]
    assert not failures, f"{len(failures)} of {len(questions)} questions differ: " + "\n".join(
        f"{q}: {p}" for q, p in list(failures.items())[:3])


def test_the_golden_test_fails_when_the_store_minimum_is_dropped(mode_study, payload_file,
                                                                  tmp_path):
    """A perturbed evaluator (certificates without the nearest store) is caught."""
    if mode_study.mode != "drive":
        pytest.skip("one travel mode is enough to show the test can fail")
    source = EVALUATOR.read_text(encoding="utf-8")
    store_minimum = "for (let o = 0; o < n; o++) if (stores[o] < best[o]) best[o] = stores[o];"
    assert source.count(store_minimum) == 1
    perturbed = tmp_path / "evaluator.js"
    perturbed.write_text(source.replace(store_minimum, ""), encoding="utf-8")
    questions = [q.replace(measure="certificate") for q in generated_questions(mode_study, 6)]
    answers = run_evaluator(perturbed, payload_file, questions, tmp_path)
    assert all(mismatches(study.evaluate(mode_study, q), answer)
               for q, answer in zip(questions, answers, strict=True))
