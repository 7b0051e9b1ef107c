"""The 2015 reorganisation rule: branch counters within 5 km of a ward office by road."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .scenarios import AccessModel, in_base

RULE_THRESHOLD_KM = 5.0
BRANCH_KINDS = ("general_branch", "branch", "annex", "service_corner")


def branch_distances(
    model: AccessModel, *, base: str = "fy2015", threshold_km: float = RULE_THRESHOLD_KM,
) -> pd.DataFrame:
    """Distance from each open branch counter to the nearest ward office (any ward).

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
        nearest_ward_office_name, road_km, straight_km, candidate, snap_m, snap_far``,
        sorted by ``road_km``. ``straight_km`` is the straight line to the same ward office;
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
    table["candidate"] = road_km <= threshold_km
    snap = model.office_snap.set_index("office_id")
    table["snap_m"] = snap.loc[table["office_id"], "snap_m"].round(1).to_numpy()
    table["snap_far"] = snap.loc[table["office_id"], "far"].to_numpy()
    return table.sort_values("road_km").reset_index(drop=True)


def candidate_ids(table: pd.DataFrame) -> list[str]:
    """Office ids flagged as reorganisation candidates in a ``branch_distances`` table."""
    return table.loc[table["candidate"], "office_id"].tolist()
