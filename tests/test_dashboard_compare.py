"""dashboard.compare on hand-made results: which figures, how rounded, which districts differ."""

from __future__ import annotations

import math

import pandas as pd

from dashboard import compare
from geo import demand
from geo.question import Question
from geo.study import Result

CITY = {"people_farther": 1200.4, "after_km": 2.4, "beyond_2km_after": 5000.6,
        "beyond_5km_after": 300.2, "beyond_2km_after_65plus": 900.5}


def _result(city=CITY, shift=None, zone_table=None, mode="drive"):
    """A ``geo.study.Result`` made by hand (a load shift of the given table, no fit)."""
    asked = Question(mode=mode)
    load_shift = None if shift is None else demand.LoadShift(
        table=pd.DataFrame(shift), scenario=asked.scenario, store_share=0.0,
        certificate_share=0.5, to_stores=0.0, unserved=0.0, fit=None)
    return Result(question=asked, store_source="osm", zone_table=zone_table, city=city,
                  offices=pd.DataFrame(), load_shift=load_shift, load_shift_reason=None,
                  unreachable="none")


def test_received_counts_the_gains_of_the_counters_that_receive_traffic():
    shift = {"office_id": ["a", "b", "c", "d", "e"],
             "status": ["closed", "open", "open", "downgraded", "open"],
             "change": [-500.0, 300.0, -20.0, 150.0, 0.4]}
    assert compare.received(_result(shift=shift)) == 300.0  # 0.4 a year rounds to nothing
    assert math.isnan(compare.received(_result()))


def test_minutes_by_mode():
    assert math.isnan(compare.key_figures(_result())["mean_minutes"])
    walked = _result(city=CITY | {"after_min": 30.0}, mode="walk")
    assert compare.key_figures(walked)["mean_minutes"] == 30.0
    transit = _result(city=CITY | {"transit_after_min": 41.0}, mode="transit")
    assert compare.key_figures(transit)["mean_minutes"] == 41.0


def test_figure_table_rounds_and_drops_figures_no_scenario_has():
    table = compare.figure_table({"A": _result(),
                                  "B": _result(city=CITY | {"after_km": 2.456})})
    assert list(table.index) == ["A", "B"]
    assert "mean_minutes" not in table.columns and "received" not in table.columns
    assert table.loc["A", "people_farther"] == 1200
    assert table.loc["A", "beyond_2km"] == 5001
    assert table.loc["B", "mean_km"] == 2.46
    walked = compare.figure_table({"A": _result(),
                                   "B": _result(city=CITY | {"after_min": 30.04}, mode="walk")})
    assert math.isnan(walked.loc["A", "mean_minutes"]) and walked.loc["B", "mean_minutes"] == 30.0


def test_differing_districts_sorted_by_spread_without_the_unchanged():
    def zones(after):
        return pd.DataFrame({"zone_id": ["a", "b", "c"], "zone_name": ["甲", "乙", "丙"],
                             "ward": ["中央区"] * 3, "after_km": after})

    table = compare.differing_districts({
        "X": _result(zone_table=zones([1.0, 2.0, 3.0])),
        "Y": _result(zone_table=zones([1.5, 2.0, 2.2])),
        "Z": _result(zone_table=zones([1.2, 2.001, 3.1]))})
    assert list(table["zone_id"]) == ["c", "a"]  # b differs by 0.001 km only
    assert list(table["spread_km"]) == [0.9, 0.5]
    assert list(table.loc[0, ["X", "Y", "Z"]]) == [3.0, 2.2, 3.1]
