"""The 2015 reorganisation: the 5 km rule, the plan's official list, and what was done.

The rule: a branch counter at 5 km or less by road from its nearest ward office is a
candidate. The plan applied it to the FY2015 offices and named eight candidates
(``OFFICIAL_2015_CANDIDATES``); that list is a fact of the policy, and a distance computed
here may put an office on the other side of 5 km, so both are shown, never one as the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .question import Question
from .scenarios import AccessModel, in_base

RULE_THRESHOLD_KM = 5.0
BRANCH_KINDS = ("general_branch", "branch", "annex", "service_corner")
"""Offices listed in the branch -> ward office table."""
RULE_KINDS = ("general_branch", "branch", "annex")
"""Branch counters the 5 km rule applies to (the service corner was planned apart)."""
OFFICIAL_2015_CANDIDATES = (
    "oe-branch", "akitsu-branch", "tobu-branch", "hanazono-general-branch",
    "akita-general-branch", "koda-general-branch", "nanbu-branch", "hokubu-general-branch",
)
"""The 2015 plan's eight candidates: 大江, 秋津, 東部, 花園, 飽田, 幸田, 南部, 北部 (domain
brief)."""
ABOLISHED_WITH_2015_PLAN = ("moritoshin-service-corner",)
"""Counters the plan abolished together with the branch reorganisation (森都心プラザ)."""
PRESETS = ("fy2015", "plan2015", "reorganisation", "now")


@dataclass(frozen=True)
class Preset:
    """A named scenario of the reorganisation's history.

    Attributes
    ----------
    key
        ``fy2015`` (the FY2015 offices), ``plan2015`` (the plan's eight candidates
        closed), ``reorganisation`` (FY2015 -> today: what the city closed) or ``now``.
    question
        The base office set and the closures, as a ``geo.question.Question`` (its other
        fields at their defaults: a view takes the preset's offices, ``Question.with_offices``).
    note_ja, note_en
        What the preset stands for, to show beside it.
    """

    key: str
    question: Question
    note_ja: str
    note_en: str


def presets(offices: pd.DataFrame) -> dict[str, Preset]:
    """The reorganisation's presets for an office register (``geo.layers.load_offices``).

    Returns
    -------
    dict
        ``PRESETS`` keys to ``Preset``.
    """
    ids = set(offices["office_id"])
    fy2015 = in_base(offices, "fy2015")
    closed_since = offices.loc[fy2015 & ~in_base(offices, "now"), "office_id"]
    official = frozenset(o for o in OFFICIAL_2015_CANDIDATES if o in ids)
    return {
        "fy2015": Preset("fy2015", Question(base="fy2015"),
                         "2015年度（再編前）の窓口",
                         "The counters of FY2015, before the reorganisation"),
        "plan2015": Preset(
            "plan2015", Question(base="fy2015", closed=official),
            "2015年の再編計画が挙げた候補8か所（大江・秋津・東部・花園・飽田・幸田・南部・北部）を閉鎖。"
            "計画は森都心プラザの窓口もあわせて廃止するとしていた（ここでは閉鎖に含めない）。",
            "The 2015 plan's eight candidates closed (大江, 秋津, 東部, 花園, 飽田, 幸田, 南部, "
            "北部). The plan also abolished the 森都心プラザ counter with them (not closed here)."),
        "reorganisation": Preset(
            "reorganisation", Question(base="fy2015", closed=frozenset(closed_since)),
            "2015年度から現在まで：実際に閉鎖された窓口（幸田は候補だったが存続）",
            "FY2015 -> today: the counters the city actually closed (幸田 was a candidate and "
            "is still open)"),
        "now": Preset("now", Question(base="now"), "現在の窓口", "Today's counters"),
    }


def rule_versus_official(table: pd.DataFrame) -> dict[str, list[str]]:
    """Compare the 5 km rule computed on a network with the 2015 plan's official list.

    Parameters
    ----------
    table
        ``branch_distances`` on the FY2015 office set.

    Returns
    -------
    dict
        ``computed`` (candidate ids by the computed rule), ``official``, ``only_computed``
        and ``only_official`` (the differences, to name on screen).
    """
    computed = candidate_ids(table)
    official = [o for o in OFFICIAL_2015_CANDIDATES if o in set(table["office_id"])]
    return {
        "computed": computed, "official": official,
        "only_computed": [o for o in computed if o not in official],
        "only_official": [o for o in official if o not in computed],
    }


def branch_distances(
    model: AccessModel, *, base: str = "fy2015", threshold_km: float = RULE_THRESHOLD_KM,
) -> pd.DataFrame:
    """Road distance from each open branch counter to its nearest ward office (any ward).

    The direction is from the branch to the ward office, following one-way streets.

    Parameters
    ----------
    model
        Precomputed distances (``office_office_m`` and ``office_straight_m`` are used).
    base
        Office set: ``fy2015`` or ``now``.
    threshold_km
        Rule threshold: a branch at this road distance or less is a candidate.

    Returns
    -------
    pandas.DataFrame
        ``office_id, name_ja, name_en, kind, ward, nearest_ward_office_id,
        nearest_ward_office_name, road_km, straight_km, candidate, official_2015,
        snap_m, snap_far``, sorted by ``road_km``. ``candidate`` applies the rule to branch
        counters (``RULE_KINDS``); ``official_2015`` flags the plan's own eight.
        ``straight_km`` is the straight line to the same ward office;
        ``nearest_straight_ward_office_id`` names the ward office nearest in a straight line.
    """
    if not math.isfinite(threshold_km) or threshold_km <= 0:
        msg = f"threshold must be a positive number of km, got {threshold_km}"
        raise ValueError(msg)
    offices = model.offices
    is_open = in_base(model.offices, base).to_numpy()
    wards = np.flatnonzero(is_open & (offices["kind"] == "ward_office").to_numpy())
    branches = np.flatnonzero(is_open & offices["kind"].isin(BRANCH_KINDS).to_numpy())
    road = model.office_office_m[np.ix_(branches, wards)]
    straight_m = model.office_straight_m
    straight = straight_m[np.ix_(branches, wards)]
    nearest = wards[np.argmin(road, axis=1)]
    nearest_straight = wards[np.argmin(straight, axis=1)]
    road_km = road.min(axis=1) / 1000.0
    table = offices.iloc[branches][["office_id", "name_ja", "name_en", "kind", "ward"]].copy()
    table["nearest_ward_office_id"] = offices["office_id"].to_numpy()[nearest]
    table["nearest_ward_office_name"] = offices["name_ja"].to_numpy()[nearest]
    table["road_km"] = road_km.round(3)
    table["straight_km"] = (straight_m[branches, nearest] / 1000.0).round(3)
    table["nearest_straight_ward_office_id"] = offices["office_id"].to_numpy()[nearest_straight]
    table["candidate"] = (road_km <= threshold_km) & table["kind"].isin(RULE_KINDS).to_numpy()
    table["official_2015"] = table["office_id"].isin(OFFICIAL_2015_CANDIDATES)
    snap = model.office_snap.set_index("office_id")
    table["snap_m"] = snap.loc[table["office_id"], "snap_m"].round(1).to_numpy()
    table["snap_far"] = snap.loc[table["office_id"], "far"].to_numpy()
    return table.sort_values("road_km").reset_index(drop=True)


def candidate_ids(table: pd.DataFrame) -> list[str]:
    """Office ids flagged as reorganisation candidates in a ``branch_distances`` table."""
    candidates: list[str] = table.loc[table["candidate"], "office_id"].tolist()
    return candidates
