"""Figures of several scenarios side by side, and of a phased plan's steps (the 比較 page).

Every scenario is evaluated through ``cache.result`` (``geo.study.evaluate``) on the
district layer; this module only picks the figures and lays them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from geo import saved
from geo.question import Question
from geo.study import Result

from . import cache

FIGURES = ("people_farther", "mean_km", "beyond_2km", "beyond_5km", "beyond_2km_65plus",
           "mean_minutes", "received")
"""Key figures, in table order (``figure_<name>`` strings in ``dashboard.i18n``)."""
PEOPLE_FIGURES = ("people_farther", "beyond_2km", "beyond_5km", "beyond_2km_65plus")
ZONES = "district"
DIFFERING_ROWS = 10


@dataclass(frozen=True)
class Candidate:
    """One scenario that can be compared: a stable key, and the question it asks."""

    key: str
    """``current``, ``preset:<name>`` or ``saved:<name>``."""
    question: Question


def current(asked: Question) -> Candidate:
    """The scenario the sidebar describes."""
    return Candidate("current", asked.replace(zones=ZONES))


def preset(asked: Question, name: str, chosen: Question) -> Candidate:
    """A preset's office set, with the sidebar's measure, network, mode and assumptions."""
    return Candidate(f"preset:{name}", asked.with_offices(chosen).replace(zones=ZONES))


def from_saved(scenario: saved.SavedScenario) -> Candidate:
    """A saved scenario, asking its own question."""
    return Candidate(f"saved:{scenario.name}", scenario.question.replace(zones=ZONES))


def received(found: Result) -> float:
    """Transactions a year added at the counters that receive the closed counters' traffic
    (``Result.receivers``; NaN without a load shift)."""
    if found.load_shift is None:
        return math.nan
    return float(found.receivers["change"].sum())


def key_figures(found: Result) -> dict[str, float]:
    """The compared figures of one result (NaN where a figure does not apply).

    ``mean_minutes`` is the mean time by bus/tram and on foot in transit mode, the mean
    walking time in walk mode (``Result.city``'s minutes), and NaN by car.
    """
    city = found.city
    minutes = {"transit": city.get("transit_after_min"), "walk": city.get("after_min")}.get(
        found.question.mode)
    return {
        "people_farther": float(city["people_farther"]),
        "mean_km": float(city["after_km"]),
        "beyond_2km": float(city["beyond_2km_after"]),
        "beyond_5km": float(city["beyond_5km_after"]),
        "beyond_2km_65plus": float(city.get("beyond_2km_after_65plus", math.nan)),
        "mean_minutes": math.nan if minutes is None else float(minutes),
        "received": received(found),
    }


def figure_table(results: dict[str, Result]) -> pd.DataFrame:
    """One row of ``key_figures`` per scenario label (``label -> result``).

    People and transactions are whole numbers, km to 0.01, minutes to 0.1. A figure that
    applies to none of the scenarios (minutes by car) is left out.
    """
    table = _rounded(pd.DataFrame.from_dict(
        {label: key_figures(found) for label, found in results.items()},
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


def phase_table(scenario: saved.SavedScenario) -> pd.DataFrame:
    """``key_figures`` of each phase of ``scenario`` (its question, the phase's office set).

    Columns ``date, label`` and ``FIGURES`` (rounded as in ``figure_table``); one row per
    phase in date order.
    """
    asked = from_saved(scenario).question
    rows = [{"date": phase.date, "label": phase.label} | key_figures(cache.result(
        asked.replace(closed=phase.closed, downgraded=phase.downgraded)))
        for phase in scenario.phases]
    return _rounded(pd.DataFrame(rows, columns=["date", "label", *FIGURES]))
