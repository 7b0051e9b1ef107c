"""dashboard.compare on hand-made results: which figures, how rounded, which districts differ."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboard import compare

CITY = {"people_farther": 1200.4, "after_km": 2.4, "beyond_2km_after": 5000.6,
        "beyond_5km_after": 300.2, "beyond_2km_after_65plus": 900.5}


def _result(city=CITY, shift=None, zone_table=None):
    load_shift = None if shift is None else SimpleNamespace(table=pd.DataFrame(shift))
    return SimpleNamespace(city=city, load_shift=load_shift, zone_table=zone_table)


def test_received_counts_only_the_gains_of_open_counters():
    shift = {"status": ["closed", "open", "open", "downgraded"],
             "change": [-500.0, 300.0, -20.0, 150.0]}
    assert compare.received(_result(shift=shift)) == 300.0
    assert math.isnan(compare.received(_result()))


def test_minutes_by_mode():
    assert math.isnan(compare.key_figures(_result(), "drive")["mean_minutes"])
    # 2.4 km at 4.8 km/h
    assert compare.key_figures(_result(), "walk")["mean_minutes"] == pytest.approx(30.0)
    transit = _result(city=CITY | {"transit_after_min": 41.0})
    assert compare.key_figures(transit, "transit")["mean_minutes"] == 41.0


def test_figure_table_rounds_and_drops_figures_no_scenario_has():
    table = compare.figure_table({"A": (_result(), "drive"),
                                  "B": (_result(city=CITY | {"after_km": 2.456}), "drive")})
    assert list(table.index) == ["A", "B"]
    assert "mean_minutes" not in table.columns and "received" not in table.columns
    assert table.loc["A", "people_farther"] == 1200
    assert table.loc["A", "beyond_2km"] == 5001
    assert table.loc["B", "mean_km"] == 2.46
    walked = compare.figure_table({"A": (_result(), "drive"), "B": (_result(), "walk")})
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
