"""Residents without a population figure: counted against the census total and said every
time, by the study (built or read from the cache), the command line and the map page."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo import cli, layers
from geo import study as study_module
from geo.layers import CENSUS_2015_POPULATION, PopulationCoverage

SMALL_AREAS = layers.BUNDLE_FILES["small_areas"].relpath


def test_the_shortfall_against_the_census_is_the_people_without_a_figure():
    coverage = PopulationCoverage(areas_without_figure=30, people_counted=702_035.0)
    assert coverage.people_without_figure == 38_787
    assert coverage.notice("en") == (
        "population: 38,787 of the 740,822 residents of the 2015 census (5.2 %) are in no "
        "small area's figure, so in no figure here (30 small areas have no population figure "
        "and count as 0)")
    assert "740,822人のうち38,787人（5.2%）" in coverage.notice("ja")
    assert PopulationCoverage(0, 741_000.0).people_without_figure == 0


def test_areas_loaded_without_a_figure_are_counted():
    frame = pd.DataFrame({"population": [0.0, 7.0]})
    frame.attrs["population_missing"] = 1
    assert layers.population_coverage(frame) == PopulationCoverage(1, 7.0)


def _null_largest(data: Path, count: int) -> tuple[float, float]:
    """Empty the population of the ``count`` most populous small areas; return the bundle's
    total and the people emptied."""
    path = data / SMALL_AREAS
    collection = json.loads(path.read_text(encoding="utf-8"))
    people = [f["properties"]["population_2015"] or 0 for f in collection["features"]]
    largest = sorted(range(len(people)), key=people.__getitem__, reverse=True)[:count]
    for index in largest:
        collection["features"][index]["properties"]["population_2015"] = None
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return float(sum(people)), float(sum(people[i] for i in largest))


@pytest.mark.bundle
def test_the_bundle_holds_all_but_651_residents_of_the_census(bundle_dir, tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("MADOGUCHI_CACHE", str(tmp_path))
    for _ in ("built", "from the cache"):
        coverage = study_module.build_study(bundle_dir).population
        assert coverage == PopulationCoverage(areas_without_figure=20, people_counted=740_171.0)
        assert coverage.people_without_figure == 651  # the bundle README's 740,822 - 740,171


@pytest.mark.bundle
def test_residents_of_large_areas_without_a_figure_are_said_every_time(
        bundle_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MADOGUCHI_CACHE", str(tmp_path / "cache"))
    data = bundle_copy(SMALL_AREAS)
    total, emptied = _null_largest(data, 10)
    assert emptied == 38_136
    expected = round(CENSUS_2015_POPULATION - (total - emptied))
    assert expected == 38_136 + 651
    out = tmp_path / "wards.csv"
    for _ in ("built", "from the cache"):
        study = study_module.build_study(data)
        assert study.population.areas_without_figure == 30
        assert study.population.people_without_figure == expected
        assert cli.main(["--data", str(data), "scenario", "--by", "ward", "--out",
                         str(out)]) == 0
        assert capsys.readouterr().err.splitlines()[-1] == (
            "note: population: 38,787 of the 740,822 residents of the 2015 census (5.2 %) are "
            "in no small area's figure, so in no figure here (30 small areas have no "
            "population figure and count as 0)")


@pytest.mark.bundle
def test_the_map_page_says_how_many_residents_have_no_figure(bundle_copy, tmp_path,
                                                             monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MADOGUCHI_CACHE", str(tmp_path / "cache"))
    data = bundle_copy(SMALL_AREAS)
    _null_largest(data, 10)
    monkeypatch.setenv("MADOGUCHI_DATA", str(data))
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    at = AppTest.from_file(str(app), default_timeout=240)
    at.run()
    assert not at.exception, at.exception
    assert any("740,822人のうち38,787人（5.2%）" in c.value for c in at.caption)
