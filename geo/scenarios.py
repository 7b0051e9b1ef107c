"""Closure scenarios: which counters are open, and each zone's distance before and after.

Distances from every office to every origin are computed once (``AccessModel``); a scenario
is then a mask over offices, evaluated with array minima and no new shortest-path runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import UnknownOfficeError

logger = logging.getLogger(__name__)

BASES = ("fy2015", "now")
BASE_COLUMNS = {"fy2015": "counter_fy2015", "now": "counter_now"}
BASE_NAMES = {"fy2015": "the FY2015 office set (--year 2015)",
              "now": "today's office set (--year now)"}
"""Office-register column flagging the counters open in each base office set."""
MEASURES = ("counter", "certificate")
FULL_COUNTER_KINDS = frozenset({"ward_office", "general_branch", "branch", "annex"})
"""Kinds that take family-register and resident-registration applications (the annex
relays them to 河内). Service corners and convenience stores issue certificates only."""
DEFAULT_THRESHOLDS_M = (1_000.0, 2_000.0, 5_000.0)
HEADLINE_THRESHOLDS_KM = (2, 5)
"""The distances the screen and the paper headline: people beyond 2 km (a walk, and the 65+
figure), and beyond the 5 km of the 2015 rule (``DEFAULT_THRESHOLDS_M`` holds both)."""
HEADLINE_THRESHOLDS_MIN = (30, 45)
"""The minutes by bus, tram and on foot headlined in transit mode (the 65+ figure: 45)."""
WALK_KMH = 4.8
"""Walking speed assumed for minutes on foot (an adjustable, stated assumption)."""
SLOW_WALK_KMH = 3.6
"""A slower walking speed, for people aged 75 and over, shown as a second figure."""
NO_FACILITY = "no facility reachable"


@dataclass(frozen=True, init=False)
class Scenario:
    """A set of offices closed or downgraded, relative to a base office set.

    Parameters
    ----------
    base
        ``fy2015`` (the 19 counters + annex + 森都心 of FY2015) or ``now`` (today's).
    closed
        Office ids whose counter closes (any iterable of ids; kept as a frozenset).
    downgraded
        Office ids turned into certificate-only service corners. An office both closed and
        downgraded counts as closed.

    Raises
    ------
    ValueError
        For an unknown ``base``.
    TypeError
        If ``closed`` or ``downgraded`` is a single string rather than a collection of ids.
    """

    base: str
    closed: frozenset[str]
    downgraded: frozenset[str]

    def __init__(self, base: str = "now", closed: Iterable[str] = (),
                 downgraded: Iterable[str] = ()) -> None:
        if base not in BASES:
            msg = f"unknown office set {base!r}; choose one of {', '.join(BASES)}"
            raise ValueError(msg)
        for name, ids in (("closed", closed), ("downgraded", downgraded)):
            if isinstance(ids, str):
                msg = f"{name} takes a collection of office ids, not the string {ids!r}"
                raise TypeError(msg)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "closed", frozenset(closed))
        object.__setattr__(self, "downgraded", frozenset(downgraded) - self.closed)

    @property
    def baseline(self) -> Scenario:
        """The same base office set with nothing closed or downgraded."""
        return Scenario(base=self.base)


def in_base(offices: pd.DataFrame, base: str) -> pd.Series:
    """Return a boolean mask of the offices open in the base office set ``base``.

    Parameters
    ----------
    offices
        Office register with ``counter_fy2015`` and ``counter_now`` (``geo.layers.load_offices``).
    base
        ``fy2015`` or ``now``.
    """
    if base not in BASES:
        msg = f"unknown office set {base!r}; choose one of {', '.join(BASES)}"
        raise ValueError(msg)
    return offices[BASE_COLUMNS[base]].astype(bool)


@dataclass(frozen=True)
class AccessModel:
    """Precomputed road distances from offices and stores to origins (small areas).

    Attributes
    ----------
    offices
        Office register (``geo.layers.load_offices`` columns, no geometry needed).
    origins
        One row per origin: ``key_code``, ``name``, ``ward_code``, ``ward``,
        ``population``, ``households``, ``snap_m``, and optionally ``share_65plus``
        (share of residents aged 65+, 0-1), which adds the elderly columns to ``compare``.
    office_origin_m
        ``(n_offices, n_origins)`` float32 road distance, metres.
    store_origin_m
        ``(n_origins,)`` float32 road distance to the nearest convenience store, metres.
    office_office_m
        ``(n_offices, n_offices)`` float32 road distance between offices, metres.
    office_straight_m
        ``(n_offices, n_offices)`` straight-line distance between offices, metres.
    office_snap, store_snap
        Snap distance per office / store with a ``far`` flag (beyond 300 m).
    store_source
        Which store layer ``store_origin_m`` was computed from.
    """

    offices: pd.DataFrame
    origins: pd.DataFrame
    office_origin_m: np.ndarray
    store_origin_m: np.ndarray
    office_office_m: np.ndarray
    office_straight_m: np.ndarray
    office_snap: pd.DataFrame
    store_snap: pd.DataFrame
    store_source: str
    graph_summary: str
    _position: dict[str, int] = field(init=False, repr=False, compare=False)
    _base_open: dict[str, np.ndarray] = field(init=False, repr=False, compare=False)
    _full_counter: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        offices = self.offices
        object.__setattr__(self, "_position",
                           {oid: i for i, oid in enumerate(offices["office_id"])})
        object.__setattr__(self, "_base_open", {
            base: in_base(offices, base).to_numpy(dtype=bool) for base in BASES})
        object.__setattr__(self, "_full_counter",
                           offices["kind"].isin(FULL_COUNTER_KINDS).to_numpy())

    def office_index(self, ids: Iterable[str]) -> np.ndarray:
        """Return row positions of office ids, raising ``UnknownOfficeError`` for unknown ones."""
        position = self._position
        ids = list(ids)
        unknown = [oid for oid in ids if oid not in position]
        if unknown:
            msg = (f"unknown office id(s): {', '.join(unknown)}; known ids are "
                   f"{', '.join(self.offices['office_id'])}")
            raise UnknownOfficeError(msg)
        return np.array([position[oid] for oid in ids], dtype=np.int64)


OFFICE_STATES = ("open", "downgraded", "closed", "not in base")


def office_status(offices: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Each office's state under a scenario: the one rule for maps, tables and briefings.

    Parameters
    ----------
    offices
        Office register (``geo.layers.load_offices``; geometry optional).
    scenario
        The base office set and the closures / downgrades.

    Returns
    -------
    pandas.DataFrame
        The register's rows and columns (same order) plus ``in_base`` (bool) and ``state``:
        ``open``, ``downgraded`` (a certificate-only service corner), ``closed``, or
        ``not in base`` (not a counter of the base office set).
    """
    table = offices.copy()
    table["in_base"] = in_base(offices, scenario.base).to_numpy()
    ids = table["office_id"]
    state = np.where(ids.isin(scenario.closed), "closed",
                     np.where(ids.isin(scenario.downgraded), "downgraded", "open"))
    table["state"] = np.where(table["in_base"], state, "not in base")
    return table


def check_in_base(offices: pd.DataFrame, scenario: Scenario) -> None:
    """Refuse closures or downgrades of offices that the scenario's base set does not hold.

    Raises
    ------
    UnknownOfficeError
        An id is unknown, names an office that is not a counter of the base set (the
        message says which base holds it), or downgrades an office that is already a
        certificate-only service corner (which changes nothing).
    """
    unknown = sorted((scenario.closed | scenario.downgraded) - set(offices["office_id"]))
    if unknown:
        msg = (f"unknown office id(s): {', '.join(unknown)}; known ids are "
               f"{', '.join(offices['office_id'])}")
        raise UnknownOfficeError(msg)
    corners = offices.loc[offices["office_id"].isin(scenario.downgraded)
                          & (offices["kind"] == "service_corner"), "office_id"]
    if len(corners):
        msg = (f"downgrading an office that is already a service corner changes nothing: "
               f"{', '.join(sorted(corners))}")
        raise UnknownOfficeError(msg)
    known = offices[offices["office_id"].isin(scenario.closed | scenario.downgraded)]
    outside = known[~in_base(known, scenario.base).to_numpy()]
    if outside.empty:
        return
    other = "now" if scenario.base == "fy2015" else "fy2015"
    in_other = in_base(outside, other).to_numpy()
    where = [f"{office} is in {BASE_NAMES[other]}" if there else f"{office} is in neither set"
             for office, there in zip(outside["office_id"], in_other, strict=True)]
    msg = (f"closing or downgrading an office that is not open in {BASE_NAMES[scenario.base]} "
           f"changes nothing: {'; '.join(where)}")
    raise UnknownOfficeError(msg)


def open_mask(model: AccessModel, scenario: Scenario, *, measure: str) -> np.ndarray:
    """Return a boolean mask of offices serving ``measure`` under ``scenario``.

    ``counter``: offices of a full-counter kind, open in the base set, neither closed nor
    downgraded. ``certificate``: every office open in the base set and not closed
    (downgraded offices still issue certificates).
    """
    if measure not in MEASURES:
        msg = f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}"
        raise ValueError(msg)
    mask = model._base_open[scenario.base].copy()
    mask[model.office_index(scenario.closed)] = False
    if measure == "counter":
        mask &= model._full_counter
        mask[model.office_index(scenario.downgraded)] = False
    else:
        model.office_index(scenario.downgraded)  # downgrades change nothing here: check ids only
    return mask


@dataclass(frozen=True)
class OpenOffices:
    """Which offices serve each measure before and after a scenario, computed once.

    Every figure of one evaluation (distances per zone and city-wide, transit minutes, the
    load shift) reads these masks (``open_mask``) instead of deriving them again.

    Attributes
    ----------
    scenario
        The scenario; "before" is its base set with nothing closed.
    before, after
        Measure (``counter``, ``certificate``) -> boolean mask over the offices.
    """

    scenario: Scenario
    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]

    @classmethod
    def of(cls, model: AccessModel, scenario: Scenario) -> OpenOffices:
        """The four masks of ``scenario`` (raises ``UnknownOfficeError`` for an unknown id)."""
        return cls(scenario,
                   {m: open_mask(model, scenario.baseline, measure=m) for m in MEASURES},
                   {m: open_mask(model, scenario, measure=m) for m in MEASURES})


def origin_distances(model: AccessModel, scenario: Scenario, *, measure: str,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """Distance from each origin to its nearest open facility, metres (``inf`` if none).

    ``mask`` is ``open_mask(model, scenario, measure=measure)`` when already known.

    Returns
    -------
    numpy.ndarray
        ``(n_origins,)`` float32.
    """
    if mask is None:
        mask = open_mask(model, scenario, measure=measure)
    if mask.any():
        best: np.ndarray = model.office_origin_m[mask].min(axis=0)
    else:
        best = np.full(model.office_origin_m.shape[1], np.inf, dtype=np.float32)
    if measure == "certificate":
        best = np.minimum(best, model.store_origin_m)
    return best


def nearest_office(model: AccessModel, scenario: Scenario, *, measure: str) -> np.ndarray:
    """Office id of each origin's nearest open office (empty string if none is open)."""
    mask = open_mask(model, scenario, measure=measure)
    if not mask.any():
        return np.full(model.office_origin_m.shape[1], "", dtype=object)
    rows = np.flatnonzero(mask)
    best = rows[np.argmin(model.office_origin_m[rows], axis=0)]
    nearest_ids: np.ndarray = model.offices["office_id"].to_numpy()[best]
    return nearest_ids


def zone_counters(model: AccessModel, scenario: Scenario, members: pd.DataFrame, *,
                  measure: str = "counter") -> pd.DataFrame:
    """The counter nearest to most residents of each zone, before and after a scenario.

    Parameters
    ----------
    model
        Precomputed distances.
    scenario
        Offices closed / downgraded; "before" is its base set with nothing closed.
    members
        ``origin, zone_id, ..., population`` rows (``zone_membership`` or a district table).
    measure
        ``counter`` (full counters) or ``certificate`` (service corners too; stores are not
        offices and never named here).

    Returns
    -------
    pandas.DataFrame
        One row per zone, in order of first appearance in ``members`` (as ``compare``):
        ``zone_id``, and for ``before`` and ``after``: ``counter_<when>`` (the office id
        nearest to the most residents by road, ``""`` when no counter is open),
        ``counter_<when>_km`` (population-weighted mean road distance from the zone's
        origins to that office, km; NaN when none reaches it) and ``counter_<when>_share``
        (share of the zone's residents whose nearest it is, 0-1). A zone without residents
        weighs its origins equally.
    """
    zone, zone_ids = pd.factorize(members["zone_id"])
    n_zones = len(zone_ids)
    origin = members["origin"].to_numpy()
    population = members["population"].to_numpy(dtype=float)
    people = np.bincount(zone, population, minlength=n_zones)
    weight = np.where(people[zone] > 0, population, 1.0)
    total = np.bincount(zone, weight, minlength=n_zones)
    columns: dict[str, np.ndarray] = {"zone_id": np.asarray(zone_ids, dtype=object)}
    for when, case in (("before", scenario.baseline), ("after", scenario)):
        nearest = nearest_office(model, case, measure=measure)[origin]
        code, office_ids = pd.factorize(nearest)
        votes = np.zeros((n_zones, len(office_ids)))
        np.add.at(votes, (zone, code), weight)
        best = votes.argmax(axis=1)
        chosen = np.asarray(office_ids, dtype=object)[best]
        rows = np.array([model.office_index([oid])[0] if oid else -1 for oid in chosen])
        member_rows = rows[zone]
        metres = np.full(len(origin), np.inf)
        known = member_rows >= 0
        metres[known] = model.office_origin_m[member_rows[known], origin[known]]
        columns[f"counter_{when}"] = chosen
        columns[f"counter_{when}_km"] = _per_zone(zone, n_zones, population, metres)[0]
        columns[f"counter_{when}_share"] = np.where(
            rows >= 0, votes[np.arange(n_zones), best] / np.maximum(total, 1e-12), 0.0)
    return pd.DataFrame(columns)


def zone_mean_km(members: pd.DataFrame, metres: np.ndarray) -> np.ndarray:
    """Population-weighted mean of a per-origin distance (metres, ``inf`` = none) over each
    zone of ``members``, km, in order of first appearance (NaN where nothing is reached)."""
    zone, zone_ids = pd.factorize(members["zone_id"])
    distance = np.asarray(metres, dtype=float)[members["origin"].to_numpy()]
    return _per_zone(zone, len(zone_ids), members["population"].to_numpy(dtype=float),
                     distance)[0]


def zone_membership(model: AccessModel, *, by: str) -> pd.DataFrame:
    """Return ``origin, zone_id, zone_name, ward, population`` rows for a zone layer.

    Parameters
    ----------
    by
        ``small-area`` or ``ward``. (School districts supply their own membership, with
        split small areas shared between districts: see ``geo.districts``.)
    """
    origins = model.origins
    if by == "small-area":
        zone_id, zone_name = origins["key_code"], origins["name"]
    elif by == "ward":
        zone_id, zone_name = origins["ward_code"], origins["ward"]
    else:
        msg = f"unknown zone layer {by!r}; choose small-area or ward (or district)"
        raise ValueError(msg)
    return pd.DataFrame({
        "origin": np.arange(len(origins)), "zone_id": zone_id.to_numpy(),
        "zone_name": zone_name.to_numpy(), "ward": origins["ward"].to_numpy(),
        "population": origins["population"].to_numpy(dtype=float),
    })


def _per_zone(zone: np.ndarray, n_zones: int, population: np.ndarray, dist: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted mean and maximum per zone, km (NaN only where unreachable).

    A zone without residents still gets a distance (its origins weighted equally), so an
    unpopulated area is drawn on the map instead of showing a gap.
    """
    zone_people = np.bincount(zone, population, minlength=n_zones)
    weight = np.where(zone_people[zone] > 0, population, 1.0)
    reachable = np.isfinite(dist)
    weight = np.where(reachable, weight, 0.0)
    people = np.bincount(zone, weight, minlength=n_zones)
    total = np.bincount(zone, weight * np.where(reachable, dist, 0.0), minlength=n_zones)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(people > 0, total / people, np.nan)
    counted = weight > 0
    peak = np.full(n_zones, -np.inf)
    np.maximum.at(peak, zone[counted], dist[counted])
    return mean / 1000.0, np.where(np.isfinite(peak), peak / 1000.0, np.nan)


def compare(
    model: AccessModel, scenario: Scenario, *, measure: str = "counter",
    membership: pd.DataFrame | None = None, by: str = "small-area",
    thresholds_m: tuple[float, ...] = DEFAULT_THRESHOLDS_M,
    open_offices: OpenOffices | None = None,
) -> pd.DataFrame:
    """Compare each zone's distance to the nearest facility before and after a scenario.

    Parameters
    ----------
    model
        Precomputed distances.
    scenario
        Offices closed / downgraded; "before" is its base set with nothing closed.
    measure
        ``counter`` (full counters) or ``certificate`` (also corners and stores).
    membership
        Zone membership rows (``zone_membership`` or a district table); default ``by``.
    thresholds_m
        Distances (metres) for the "people beyond" columns.
    open_offices
        ``OpenOffices.of(model, scenario)`` when already known.

    Returns
    -------
    pandas.DataFrame
        One row per zone, in order of first appearance in the membership:
        ``zone_id, zone_name, ward, population, before_km, before_max_km, after_km,
        after_max_km, delta_km, people_farther, beyond_<k>km_before,
        beyond_<k>km_after`` for each threshold, and ``status`` (``ok`` or
        ``no facility reachable``). Means are population-weighted over the origins that
        can reach a facility (equally weighted in a zone without residents); unreachable
        people count as beyond every threshold.
    """
    members = zone_membership(model, by=by) if membership is None else membership
    masks = open_offices or OpenOffices.of(model, scenario)
    before = origin_distances(model, scenario.baseline, measure=measure,
                              mask=masks.before[measure])
    after = origin_distances(model, scenario, measure=measure, mask=masks.after[measure])
    share = model.origins.get("share_65plus")
    share_65plus = None if share is None else share.to_numpy(dtype=float)
    if share_65plus is not None and not np.isfinite(share_65plus).all():
        share_65plus = None
    return zone_table(members, before, after, thresholds_m=thresholds_m,
                      share_65plus=share_65plus)


def zone_table(
    members: pd.DataFrame, before_m: np.ndarray, after_m: np.ndarray, *,
    thresholds_m: tuple[float, ...] = DEFAULT_THRESHOLDS_M,
    share_65plus: np.ndarray | None = None,
) -> pd.DataFrame:
    """Aggregate per-origin distances (metres, ``inf`` = unreachable) to zones.

    Parameters
    ----------
    members
        ``origin, zone_id, zone_name, ward, population`` rows (``zone_membership``).
    before_m, after_m
        ``(n_origins,)`` distance to the nearest facility before / after, metres.
    share_65plus
        ``(n_origins,)`` share of residents aged 65+; adds ``population_65plus`` and
        ``beyond_<k>km_<when>_65plus`` columns (people with limited mobility, 交通弱者).

    Returns
    -------
    pandas.DataFrame
        The table described in ``compare``.
    """
    zone, zone_ids = pd.factorize(members["zone_id"])
    n_zones = len(zone_ids)
    origin = members["origin"].to_numpy()
    population = members["population"].to_numpy(dtype=float)
    before = np.asarray(before_m, dtype=float)[origin]
    after = np.asarray(after_m, dtype=float)[origin]
    first = np.unique(zone, return_index=True)[1]
    columns: dict[str, np.ndarray] = {
        "zone_id": np.asarray(zone_ids, dtype=object),
        "zone_name": members["zone_name"].to_numpy(dtype=object)[first],
        "ward": members["ward"].to_numpy(dtype=object)[first],
        "population": np.bincount(zone, population, minlength=n_zones),
    }
    columns["before_km"], columns["before_max_km"] = _per_zone(zone, n_zones, population, before)
    columns["after_km"], columns["after_max_km"] = _per_zone(zone, n_zones, population, after)
    columns["delta_km"] = columns["after_km"] - columns["before_km"]
    columns["people_farther"] = np.bincount(zone, population * (after > before + 1.0),
                                            minlength=n_zones)
    for limit in thresholds_m:
        label = f"{limit / 1000:g}km"
        for when, dist in (("before", before), ("after", after)):
            columns[f"beyond_{label}_{when}"] = np.bincount(zone, population * (dist > limit),
                                                            minlength=n_zones)
    if share_65plus is not None:
        elderly = population * np.asarray(share_65plus, dtype=float)[origin]
        columns["population_65plus"] = np.bincount(zone, elderly, minlength=n_zones)
        for limit in thresholds_m:
            label = f"{limit / 1000:g}km"
            for when, dist in (("before", before), ("after", after)):
                columns[f"beyond_{label}_{when}_65plus"] = np.bincount(
                    zone, elderly * (dist > limit), minlength=n_zones)
    unreachable = np.bincount(zone, population * ~np.isfinite(after), minlength=n_zones)
    columns["status"] = np.where(unreachable > 0, NO_FACILITY, "ok").astype(object)
    return pd.DataFrame(columns, copy=False)


def summary(table: pd.DataFrame) -> dict[str, float | str]:
    """City-wide figures from a ``compare`` table (zones must partition the population).

    Returns
    -------
    dict
        ``population``, ``before_km``, ``after_km`` (population-weighted means),
        ``before_max_km``, ``after_max_km``, ``people_farther``, every ``beyond_*``
        column summed, and ``status``.
    """
    population = float(table["population"].sum())
    result: dict[str, float | str] = {"population": population}
    if "population_65plus" in table.columns:
        result["population_65plus"] = float(table["population_65plus"].sum())
    mean_km: dict[str, float] = {}
    for when in ("before", "after"):
        mean = table[f"{when}_km"]
        known = mean.notna()
        weight = table.loc[known, "population"].sum()
        mean_km[when] = (float((mean[known] * table.loc[known, "population"]).sum() / weight)
                         if weight > 0 else float("nan"))
        result[f"{when}_km"] = mean_km[when]
        result[f"{when}_max_km"] = float(table[f"{when}_max_km"].max())
    result["delta_km"] = mean_km["after"] - mean_km["before"]
    result["people_farther"] = float(table["people_farther"].sum())
    for column in table.columns:
        if column.startswith("beyond_"):
            result[column] = float(table[column].sum())
    result["status"] = NO_FACILITY if (table["status"] == NO_FACILITY).any() else "ok"
    return result


def with_walking_minutes(table: pd.DataFrame, *, speed_kmh: float = WALK_KMH,
                         slow_kmh: float = SLOW_WALK_KMH) -> pd.DataFrame:
    """Add minutes on foot to a ``compare`` table computed on a walking network.

    Minutes are the mean distances at a constant speed: ``before_min`` / ``after_min`` at
    ``speed_kmh`` and ``before_min_slow`` / ``after_min_slow`` at ``slow_kmh`` (people
    aged 75+). The network lacks most footpaths and shortcuts, so these are upper bounds.

    Raises
    ------
    ValueError
        A speed is not a positive finite number.
    """
    for speed in (speed_kmh, slow_kmh):
        if not np.isfinite(speed) or speed <= 0:
            msg = f"walking speed must be a positive number of km/h, got {speed}"
            raise ValueError(msg)
    result = table.copy()
    for when in ("before", "after"):
        km = pd.to_numeric(result[f"{when}_km"], errors="coerce")
        result[f"{when}_min"] = km / speed_kmh * 60.0
        result[f"{when}_min_slow"] = km / slow_kmh * 60.0
    return result


DEFAULT_THRESHOLDS_MIN = (30, 45, 60)
"""Minutes for the "people beyond" columns of travel-time tables."""


def with_zone_minutes(
    table: pd.DataFrame, members: pd.DataFrame, before_min: np.ndarray, after_min: np.ndarray, *,
    share_65plus: np.ndarray | None = None,
    thresholds_min: tuple[int, ...] = DEFAULT_THRESHOLDS_MIN, prefix: str = "",
) -> pd.DataFrame:
    """Add travel minutes per zone to a ``compare`` table (same membership, same zone order).

    Parameters
    ----------
    table
        ``compare`` / ``zone_table`` result for ``members``.
    members
        ``origin, zone_id, ..., population`` rows (``zone_membership``).
    before_min, after_min
        ``(n_origins,)`` minutes to the nearest open counter (``inf`` if none).
    share_65plus
        ``(n_origins,)`` share aged 65+; adds the ``_65plus`` counts.
    prefix
        Put before every new column (e.g. ``transit_``).

    Returns
    -------
    pandas.DataFrame
        ``table`` with ``{prefix}before_min`` / ``{prefix}after_min`` (population-weighted
        means over origins with a finite time) and ``{prefix}beyond_<t>min_<when>`` people
        (and ``..._65plus``); unreachable people count as beyond every threshold.
    """
    zone, _ = pd.factorize(members["zone_id"])
    n_zones = len(table)
    origin = members["origin"].to_numpy()
    population = members["population"].to_numpy(dtype=float)
    result = table.copy()
    elderly = (population * np.asarray(share_65plus, dtype=float)[origin]
               if share_65plus is not None else None)
    for when, values in (("before", before_min), ("after", after_min)):
        minutes = np.asarray(values, dtype=float)[origin]
        result[f"{prefix}{when}_min"] = _per_zone(zone, n_zones, population, minutes * 1000.0)[0]
        for limit in thresholds_min:
            beyond = minutes > limit
            result[f"{prefix}beyond_{limit}min_{when}"] = np.bincount(
                zone, population * beyond, minlength=n_zones)
            if elderly is not None:
                result[f"{prefix}beyond_{limit}min_{when}_65plus"] = np.bincount(
                    zone, elderly * beyond, minlength=n_zones)
    return result
