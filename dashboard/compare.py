"""Figures of several scenarios side by side, and of a phased plan's steps (the 比較 page).

Every scenario is evaluated through ``cache.result`` (``geo.study.evaluate``) on the
district layer; this module only picks the figures and lays them out.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from geo import saved, scenarios
from geo.study import Result

from . import cache
from .state import Choice

FIGURES = ("people_farther", "mean_km", "beyond_2km", "beyond_5km", "beyond_2km_65plus",
           "mean_minutes", "received")
"""Key figures, in table order (``figure_<name>`` strings in ``dashboard.i18n``)."""
PEOPLE_FIGURES = ("people_farther", "beyond_2km", "beyond_5km", "beyond_2km_65plus")
ZONES = "district"
DIFFERING_ROWS = 10


@dataclass(frozen=True)
class Candidate:
    """One scenario that can be compared: a stable key, and what to evaluate."""

    key: str
    """``current``, ``preset:<name>`` or ``saved:<name>``."""
    result_key: cache.ResultKey
    mode: str


def current(choice: Choice) -> Candidate:
    """The scenario the sidebar describes."""
    return Candidate("current", choice.result_key(ZONES), choice.mode)


def preset(choice: Choice, name: str, scenario: scenarios.Scenario) -> Candidate:
    """A preset's office set, with the sidebar's measure, network, mode and assumptions."""
    key = dataclasses.replace(choice.result_key(ZONES), base=scenario.base,
                              closed=tuple(sorted(scenario.closed)),
                              downgraded=tuple(sorted(scenario.downgraded)))
    return Candidate(f"preset:{name}", key, choice.mode)


def from_saved(choice: Choice, scenario: saved.SavedScenario,
               closed: frozenset[str] | None = None,
               downgraded: frozenset[str] | None = None) -> Candidate:
    """A saved scenario with its own settings (or one of its phases' office sets)."""
    key = cache.ResultKey(
        study=cache.StudyKey(choice.data, scenario.network, scenario.mode), base=scenario.base,
        closed=tuple(sorted(scenario.closed if closed is None else closed)),
        downgraded=tuple(sorted(scenario.downgraded if downgraded is None else downgraded)),
        measure=scenario.measure, zones=ZONES, stores=scenario.store_source,
        store_share=scenario.store_share, reading=choice.reading)
    return Candidate(f"saved:{scenario.name}", key, scenario.mode)


def received(found: Result) -> float:
    """Transactions a year added to the counters that receive a closed counter's traffic."""
    if found.load_shift is None:
        return math.nan
    table = found.load_shift.table
    gains = table.loc[(table["status"] == "open") & (table["change"] > 0), "change"]
    return float(gains.sum())


def key_figures(found: Result, mode: str) -> dict[str, float]:
    """The compared figures of one result (NaN where a figure does not apply).

    ``mean_minutes`` is the mean time by bus/tram and on foot in transit mode, the mean
    walking time at ``geo.scenarios.WALK_KMH`` in walk mode, and NaN by car.
    """
    city = found.city
    if mode == "transit":
        minutes = float(city["transit_after_min"])
    elif mode == "walk":
        minutes = float(city["after_km"]) / scenarios.WALK_KMH * 60
    else:
        minutes = math.nan
    return {
        "people_farther": float(city["people_farther"]),
        "mean_km": float(city["after_km"]),
        "beyond_2km": float(city["beyond_2km_after"]),
        "beyond_5km": float(city["beyond_5km_after"]),
        "beyond_2km_65plus": float(city.get("beyond_2km_after_65plus", math.nan)),
        "mean_minutes": minutes,
        "received": received(found),
    }


def figure_table(results: dict[str, tuple[Result, str]]) -> pd.DataFrame:
    """One row of ``key_figures`` per scenario label (``label -> (result, mode)``).

    People and transactions are whole numbers, km to 0.01, minutes to 0.1. A figure that
    applies to none of the scenarios (minutes by car) is left out.
    """
    table = _rounded(pd.DataFrame.from_dict(
        {label: key_figures(found, mode) for label, (found, mode) in results.items()},
        orient="index", columns=list(FIGURES)))
    return table.dropna(axis="columns", how="all")


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    counts = [*PEOPLE_FIGURES, "received"]
    return table.round(dict.fromkeys(counts, 0) | {"mean_km": 2, "mean_minutes": 1})


def differing_districts(results: dict[str, Result], *, rows: int = DIFFERING_ROWS
                        ) -> pd.DataFrame:
    """Districts whose mean distance after differs most between the scenarios.

    Returns ``zone_id, zone_name, ward``, one ``after_km`` column per scenario label, and
    ``spread_km`` (largest minus smallest), largest spread first; districts with no spread
    are left out.
    """
    labels = list(results)
    first = results[labels[0]].zone_table
    table = first[["zone_id", "zone_name", "ward"]].copy()
    for label in labels:
        after = results[label].zone_table.set_index("zone_id")["after_km"]
        table[label] = table["zone_id"].map(after)
    spread = table[labels].max(axis=1) - table[labels].min(axis=1)
    table["spread_km"] = spread
    table = table[spread.round(2) > 0].sort_values("spread_km", ascending=False, kind="stable")
    rounded = [*labels, "spread_km"]
    table[rounded] = table[rounded].round(2)
    return table.head(rows).reset_index(drop=True)


def phase_table(choice: Choice, scenario: saved.SavedScenario) -> pd.DataFrame:
    """``key_figures`` of each phase of ``scenario`` (its settings, the phase's office set).

    Columns ``date, label`` and ``FIGURES`` (rounded as in ``figure_table``); one row per
    phase in date order.
    """
    rows = []
    for phase in scenario.phases:
        candidate = from_saved(choice, scenario, phase.closed, phase.downgraded)
        figures = key_figures(cache.result(candidate.result_key), candidate.mode)
        rows.append({"date": phase.date, "label": phase.label} | figures)
    return _rounded(pd.DataFrame(rows, columns=["date", "label", *FIGURES]))
