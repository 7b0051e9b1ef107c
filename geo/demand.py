"""Where counter traffic goes: a fitted Huff distance-decay demand model and closure load shifts.

Each small area's population makes ``rate`` counter transactions a year. They split over the
open counters in proportion to ``attractiveness(kind) * exp(-beta * road_km)`` (a Huff model).
Transactions come in two streams: certificates (``certificate_share`` of the total, served by
every open counter including certificate-only service corners) and the rest (family register,
resident registration, ...: served by full counters only), matching ``geo.scenarios.open_mask``.

``fit_demand`` fits ``rate``, ``beta`` and the attractiveness of each kind class to one fiscal
year's counts (least squares on log counts); ``load_shift`` predicts each counter's annual
transactions before and after a ``geo.scenarios.Scenario``; ``validate_fy2011`` checks the FY2013
fit out of sample against the FY2011 -> FY2013 shift caused by the ward offices opening.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from .errors import DataMissingError, PoorFitError
from .layers import _check_columns, _problems_error
from .scenarios import (
    FULL_COUNTER_KINDS,
    AccessModel,
    OpenOffices,
    Scenario,
    office_status,
)
from .settings import PROJECT_DATA_DIR

logger = logging.getLogger(__name__)

COUNTS_PATH = PROJECT_DATA_DIR / "offices" / "counter_transactions.csv"
RECEIVING_MIN_PER_YEAR = 0.5
"""A counter receives traffic when it is predicted to gain at least this many transactions a
year (one, once rounded): the one threshold of the screen, the files and the comparisons."""
YEARS = ("fy2011", "fy2012", "fy2013")
READINGS = ("brief", "alternative")
DEFAULT_READING = "brief"
"""The source table leaves the order of 城南 and 南部 uncertain. ``brief`` (the domain brief's
reading, which the table's change column of −3.5 % for 城南 supports) gives 城南
24,791 / 23,426 / 23,920 and 南部 26,858 / 23,323 / 24,100; ``alternative`` the reverse."""

KIND_CLASSES: dict[str, str] = {
    "ward_office": "ward_office", "general_branch": "branch", "branch": "branch",
    "annex": "branch", "service_corner": "service_corner",
}
"""Office kind -> attractiveness class. General branches, branches and the annex share one
class: FY2013 has too few of each to tell them apart reliably."""
REFERENCE_CLASS = "branch"
"""The class whose attractiveness is fixed at 1; the others are relative to it."""
CERTIFICATE_SHARE = 0.8
"""Share of counter transactions that are certificates (about 80 % at branch counters, per the
2015 study); applied to every counter as an approximation."""
MIN_R2_LOG = 0.8
"""A fit whose R2 on log counts (offices in classes with at least two offices) is below this is
not ``ok``: its predictions are refused unless the caller insists."""
BETA_RANGE_PER_KM = (0.05, 5.0)
"""A fitted decay outside this range (per km) is implausible and makes the fit not ``ok``."""
FY2011_KINDS: dict[str, str] = {
    "nishi-ward-office": "general_branch", "minami-ward-office": "general_branch",
    "kita-ward-office": "general_branch",
}
"""Kinds in FY2011, before the wards existed: the later 西 / 南 / 北 ward-office sites were
branch counters (南 and 北 in the former 富合 and 植木 town halls). City Hall (中央) kept the
ward-office class."""


def _count_problems(counts: pd.DataFrame) -> list[str]:
    problems = _check_columns(counts, ["office_id", "name_ja", "jonan_nanbu_reading", *YEARS,
                                       "source"])
    if problems:
        return problems
    bad = ~counts["jonan_nanbu_reading"].isin(("both", *READINGS))
    problems += [f"row {i + 1}: unknown jonan_nanbu_reading {v!r}"
                 for i, v in zip(np.flatnonzero(bad.to_numpy()),
                                 counts.loc[bad, "jonan_nanbu_reading"], strict=True)]
    for year in YEARS:
        values = pd.to_numeric(counts[year], errors="coerce")
        wrong = (counts[year].notna() & values.isna()) | (values < 0)
        problems += [f"row {i + 1}: {year} is not a non-negative count"
                     for i in counts.index[wrong]]
    for reading in READINGS:
        rows = counts[counts["jonan_nanbu_reading"].isin(("both", reading))]
        dup = rows["office_id"][rows["office_id"].duplicated()]
        problems += [f"office {oid} appears twice in reading {reading}" for oid in dup]
    return problems


def load_counts(
    path: str | os.PathLike[str] | None = None, *, reading: str = DEFAULT_READING
) -> pd.DataFrame:
    """Load the FY2011-13 counter transaction counts per office.

    Parameters
    ----------
    path
        CSV file (default ``data/offices/counter_transactions.csv`` in the project).
    reading
        How to read the ambiguous 城南 / 南部 pair: ``brief`` (default) or ``alternative``.

    Returns
    -------
    pandas.DataFrame
        One row per office: ``office_id, name_ja, fy2011, fy2012, fy2013`` (float,
        NaN where the counter did not exist), ``source``, ``note``.

    Raises
    ------
    geo.errors.DataMissingError
        When the file does not exist.
    geo.errors.LayerError
        Listing every problem found in the file.
    """
    if reading not in READINGS:
        msg = f"unknown 城南/南部 reading {reading!r}; choose one of {', '.join(READINGS)}"
        raise ValueError(msg)
    path = COUNTS_PATH if path is None else path
    try:
        counts = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError as e:
        msg = f"counter transaction counts not found: {path}"
        raise DataMissingError(msg) from e
    problems = _count_problems(counts)
    if problems:
        raise _problems_error(path, problems)
    counts = counts[counts["jonan_nanbu_reading"].isin(("both", reading))].copy()
    for year in YEARS:
        counts[year] = pd.to_numeric(counts[year]).astype(float)
    counts["note"] = counts.get("note", pd.Series("", index=counts.index)).fillna("")
    return counts.drop(columns="jonan_nanbu_reading").reset_index(drop=True)


@dataclass(frozen=True)
class HuffParams:
    """Parameters of the Huff model.

    Attributes
    ----------
    rate
        Counter transactions per resident per year.
    beta_per_km
        Distance decay: attractiveness falls by ``exp(-beta)`` per road km.
    attractiveness
        Attractiveness by class (``REFERENCE_CLASS`` = 1).
    """

    rate: float
    beta_per_km: float
    attractiveness: Mapping[str, float]

    def weights(self, classes: np.ndarray) -> np.ndarray:
        """Return the attractiveness of each office from its class (0 for unknown classes)."""
        return np.array([self.attractiveness.get(c, 0.0) for c in classes], dtype=float)


def huff_shares(
    distance_m: np.ndarray, attractiveness: np.ndarray, beta_per_km: float
) -> np.ndarray:
    """Return the share of each origin's demand going to each office.

    Parameters
    ----------
    distance_m
        ``(n_offices, n_origins)`` road distance, metres (``inf`` = unreachable).
    attractiveness
        ``(n_offices,)``; 0 for offices that are not open.
    beta_per_km
        Distance decay per km.

    Returns
    -------
    numpy.ndarray
        ``(n_offices, n_origins)`` shares; each column sums to 1, or to 0 for an origin
        that reaches no open office.
    """
    km = np.asarray(distance_m, dtype=float) / 1000.0
    open_rows = attractiveness > 0
    utility = np.zeros_like(km)
    if open_rows.any():
        reach = km[open_rows]
        nearest = np.min(reach, axis=0)
        nearest = np.where(np.isfinite(nearest), nearest, 0.0)
        with np.errstate(invalid="ignore"):
            decay = np.exp(-beta_per_km * (reach - nearest))
        utility[open_rows] = attractiveness[open_rows, None] * np.nan_to_num(decay, nan=0.0)
    total = utility.sum(axis=0)
    shares: np.ndarray = np.divide(utility, total, out=np.zeros_like(utility), where=total > 0)
    return shares


def expected_load(
    params: HuffParams, distance_m: np.ndarray, population: np.ndarray, classes: np.ndarray,
    counter_open: np.ndarray, certificate_open: np.ndarray, *,
    certificate_share: float = CERTIFICATE_SHARE, store_share: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Return the predicted annual transactions at each office.

    Parameters
    ----------
    params
        Fitted (or known) model parameters.
    distance_m
        ``(n_offices, n_origins)`` road distance, metres.
    population
        ``(n_origins,)`` residents.
    classes
        ``(n_offices,)`` attractiveness class of each office.
    counter_open, certificate_open
        ``(n_offices,)`` masks: offices taking full-counter / certificate transactions.
    certificate_share
        Share of transactions that are certificates.
    store_share
        Share of certificate transactions made at convenience stores instead: one value,
        or one per origin.

    Returns
    -------
    numpy.ndarray
        ``(n_offices,)`` transactions per year.
    """
    weights = params.weights(classes)
    demand = params.rate * np.nan_to_num(np.asarray(population, dtype=float))
    counter = huff_shares(distance_m, weights * counter_open, params.beta_per_km) @ demand
    at_counters = huff_shares(distance_m, weights * certificate_open, params.beta_per_km) @ (
        demand * (1.0 - np.asarray(store_share, dtype=float)))
    load: np.ndarray = (1.0 - certificate_share) * counter + certificate_share * at_counters
    return load


def _unpack(x: np.ndarray, free: list[str], reference: str) -> HuffParams:
    free_weights = zip(free, x[2:], strict=True)
    weights = {reference: 1.0} | {name: float(np.exp(v)) for name, v in free_weights}
    return HuffParams(rate=float(np.exp(x[0])), beta_per_km=float(np.exp(x[1])),
                      attractiveness=weights)


def fit_huff(
    distance_m: np.ndarray, population: np.ndarray, classes: np.ndarray,
    counter_open: np.ndarray, certificate_open: np.ndarray, observed: np.ndarray, *,
    certificate_share: float = CERTIFICATE_SHARE, reference: str = REFERENCE_CLASS,
    beta_starts: tuple[float, ...] = (0.2, 0.6, 1.5),
) -> tuple[HuffParams, bool]:
    """Fit rate, decay and class attractiveness by least squares on log counts.

    Parameters
    ----------
    distance_m, population, classes, counter_open, certificate_open
        As for ``expected_load``; ``certificate_open`` marks the offices that had a counter.
    observed
        ``(n_offices,)`` observed counts; offices with ``certificate_open`` must have a
        positive count, others are ignored.
    reference
        Class fixed at attractiveness 1 (must occur among the open offices).
    beta_starts
        Starting values of the decay (per km); the best of the local fits is kept.

    Returns
    -------
    tuple of (HuffParams, bool)
        The parameters and whether the optimiser converged.
    """
    fitted = np.asarray(certificate_open, dtype=bool)
    target = np.log(np.asarray(observed, dtype=float)[fitted])
    free = sorted(set(np.asarray(classes)[fitted]) - {reference})
    if reference not in set(np.asarray(classes)[fitted]):
        msg = f"reference class {reference!r} has no open office to fit"
        raise ValueError(msg)

    def residuals(x: np.ndarray) -> np.ndarray:
        load = expected_load(_unpack(x, free, reference), distance_m, population, classes,
                             counter_open, certificate_open, certificate_share=certificate_share)
        log_error: np.ndarray = np.log(np.maximum(load[fitted], 1e-9)) - target
        return log_error

    rate0 = np.exp(target).sum() / max(np.nansum(population), 1.0)
    fits = [least_squares(residuals, np.r_[np.log(rate0), np.log(beta0), np.zeros(len(free))],
                          method="trf") for beta0 in beta_starts]
    best = min(fits, key=lambda result: result.cost)  # the first of equal costs, as before
    logger.debug("Huff fit: cost %.4g after %d evaluations", best.cost, best.nfev)
    return _unpack(best.x, free, reference), bool(best.success)


def _year_inputs(
    model: AccessModel, counts: pd.DataFrame, year: str, *, kind_classes: Mapping[str, str],
    kinds: Mapping[str, str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Observed counts, classes and open masks (aligned with ``model.offices``) for one year.

    The counters open in ``year`` are those with a positive count that year.
    """
    if year not in YEARS:
        msg = f"unknown year {year!r}; choose one of {', '.join(YEARS)}"
        raise ValueError(msg)
    rows = model.office_index(counts["office_id"])
    observed = np.full(len(model.offices), np.nan)
    observed[rows] = counts[year].to_numpy(dtype=float)
    kind = model.offices["kind"].copy()
    if kinds:
        kind.iloc[model.office_index(kinds)] = list(kinds.values())
    certificate_open = np.nan_to_num(observed) > 0
    counter_open = certificate_open & kind.isin(FULL_COUNTER_KINDS).to_numpy()
    classes = kind.map(kind_classes).fillna("").to_numpy()
    return observed, classes, counter_open, certificate_open


def _r2(residual: np.ndarray, target: np.ndarray) -> float:
    total = float(((target - target.mean()) ** 2).sum())
    return 1.0 - float((residual**2).sum()) / total if total > 0 else float("nan")


@dataclass(frozen=True)
class DemandFit:
    """A Huff model fitted to one year's counter transactions, with its diagnostics.

    Attributes
    ----------
    params
        Fitted parameters.
    year, reading
        The fiscal year fitted and the 城南 / 南部 reading used.
    residuals
        One row per fitted office: ``office_id, name_ja, kind, class, observed, predicted,
        log_residual`` (log predicted - log observed), ``testable`` (False for an office alone
        in its class, whose own attractiveness makes its residual zero by construction).
    r2_log
        R2 of log counts over every fitted office.
    r2_log_testable
        R2 of log counts over the testable offices: the figure checked against ``min_r2``.
    problems
        Why the fit is not ``ok`` (empty when it is).
    """

    params: HuffParams
    year: str
    reading: str
    kind_classes: Mapping[str, str]
    certificate_share: float
    residuals: pd.DataFrame
    r2_log: float
    r2_log_testable: float
    rmse_log: float
    n_params: int
    converged: bool
    min_r2: float
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Whether the fit is good enough to predict from."""
        return not self.problems

    def require_ok(self) -> None:
        """Raise ``PoorFitError`` unless the fit is ``ok``."""
        if not self.ok:
            msg = "demand model fit is too poor to predict from: " + "; ".join(self.problems)
            raise PoorFitError(msg)

    def summary(self) -> dict[str, float | int | str | bool]:
        """Return the fit as flat ``name -> value`` pairs (for tables, exports and the CLI)."""
        result: dict[str, float | int | str | bool] = {
            "year": self.year, "jonan_nanbu_reading": self.reading,
            "beta_per_km": self.params.beta_per_km, "rate_per_capita": self.params.rate,
        }
        for name, weight in sorted(self.params.attractiveness.items()):
            result[f"attractiveness_{name}"] = weight
        result |= {
            "r2_log": self.r2_log, "r2_log_testable": self.r2_log_testable,
            "rmse_log": self.rmse_log, "n_offices": len(self.residuals),
            "n_params": self.n_params, "min_r2": self.min_r2,
            "certificate_share": self.certificate_share, "ok": self.ok,
            "problems": "; ".join(self.problems),
        }
        return result


def _fit_problems(params: HuffParams, converged: bool, r2: float, min_r2: float) -> list[str]:
    problems = [] if converged else ["the optimiser did not converge"]
    if not r2 >= min_r2:
        problems.append(f"R2 on log counts {r2:.3f} is below {min_r2:g}")
    low, high = BETA_RANGE_PER_KM
    if not low <= params.beta_per_km <= high:
        problems.append(f"decay {params.beta_per_km:.3g}/km is outside {low:g}-{high:g}/km")
    return problems


def fit_demand(
    model: AccessModel, counts: pd.DataFrame | None = None, *, year: str = "fy2013",
    reading: str = DEFAULT_READING, kind_classes: Mapping[str, str] = KIND_CLASSES,
    kinds: Mapping[str, str] | None = None, certificate_share: float = CERTIFICATE_SHARE,
    min_r2: float = MIN_R2_LOG,
) -> DemandFit:
    """Fit the Huff model to one fiscal year's counter transactions.

    Parameters
    ----------
    model
        Precomputed road distances (``geo.engine.Engine.model``).
    counts
        Counts table (default ``load_counts(reading=reading)``).
    year
        ``fy2013`` (default: the first full year of all five ward offices), ``fy2012`` or
        ``fy2011``. The counters open that year are those with a count.
    reading
        The 城南 / 南部 reading, used when ``counts`` is not given (recorded in the fit).
    kind_classes
        Office kind -> attractiveness class; ``branch`` is the reference.
    kinds
        Office id -> kind overrides for that year (e.g. ``FY2011_KINDS``).
    min_r2
        Least acceptable R2 on log counts of the testable offices.

    Returns
    -------
    DemandFit
    """
    counts = load_counts(reading=reading) if counts is None else counts
    observed, classes, counter_open, certificate_open = _year_inputs(
        model, counts, year, kind_classes=kind_classes, kinds=kinds)
    population = model.origins["population"].to_numpy(dtype=float)
    params, converged = fit_huff(model.office_origin_m, population, classes, counter_open,
                                 certificate_open, observed, certificate_share=certificate_share)
    predicted = expected_load(params, model.office_origin_m, population, classes, counter_open,
                              certificate_open, certificate_share=certificate_share)
    table = model.offices.loc[certificate_open, ["office_id", "name_ja", "kind"]].copy()
    table["class"] = classes[certificate_open]
    table["observed"] = observed[certificate_open]
    table["predicted"] = predicted[certificate_open]
    table["log_residual"] = np.log(table["predicted"]) - np.log(table["observed"])
    table["testable"] = table["class"].map(table["class"].value_counts()) > 1
    log_obs = np.log(table["observed"].to_numpy())
    testable = table["testable"].to_numpy()
    r2 = _r2(table["log_residual"].to_numpy(), log_obs)
    r2_testable = _r2(table["log_residual"].to_numpy()[testable], log_obs[testable])
    problems = _fit_problems(params, converged, r2_testable, min_r2)
    fit = DemandFit(
        params=params, year=year, reading=reading, kind_classes=dict(kind_classes),
        certificate_share=certificate_share, residuals=table.reset_index(drop=True),
        r2_log=r2, r2_log_testable=r2_testable,
        rmse_log=float(np.sqrt((table["log_residual"] ** 2).mean())),
        n_params=2 + len(params.attractiveness) - 1, converged=converged, min_r2=min_r2,
        problems=tuple(problems),
    )
    logger.info("demand fit %s: beta %.3f/km, R2 log %.3f (testable %.3f), ok=%s", year,
                params.beta_per_km, r2, r2_testable, fit.ok)
    return fit


@dataclass(frozen=True)
class LoadShift:
    """Predicted annual transactions per counter before and after a scenario.

    Attributes
    ----------
    table
        One row per counter open in the scenario's base set: ``office_id, name_ja, kind,
        status`` (``open``, ``closed`` or ``downgraded``), ``fy2013`` (observed, NaN if none),
        ``predicted_before``, ``predicted_after``, ``change``, ``change_pct``.
    scenario
        The scenario evaluated.
    store_share, certificate_share
        The assumptions: share of certificate transactions moving to convenience stores after
        the scenario (none before), and the certificate share of all transactions.
    to_stores
        Transactions a year predicted to move to convenience stores.
    unserved
        Transactions a year of residents with no open counter afterwards (0 normally).
    fit
        The fit the prediction comes from.
    """

    table: pd.DataFrame
    scenario: Scenario
    store_share: float
    certificate_share: float
    to_stores: float
    unserved: float
    fit: DemandFit

    @property
    def receivers(self) -> pd.DataFrame:
        """The counters that receive traffic: open in the scenario and predicted to gain at
        least ``RECEIVING_MIN_PER_YEAR`` transactions a year; largest gain first (rows of
        ``table``)."""
        gaining = self.table[(self.table["status"] == "open")
                             & (self.table["change"] >= RECEIVING_MIN_PER_YEAR)]
        return gaining.sort_values("change", ascending=False, kind="stable")

    def summary(self) -> dict[str, float | int | str | bool]:
        """Return totals, assumptions and the fit summary as flat ``name -> value`` pairs."""
        totals: dict[str, float | int | str | bool] = {
            "base": self.scenario.base, "closed": ",".join(sorted(self.scenario.closed)),
            "downgraded": ",".join(sorted(self.scenario.downgraded)),
            "store_share": self.store_share,
            "total_before": float(self.table["predicted_before"].sum()),
            "total_after": float(self.table["predicted_after"].sum()),
            "to_stores": self.to_stores, "unserved": self.unserved,
        }
        return totals | self.fit.summary()

    def export_table(self) -> pd.DataFrame:
        """Return the table for CSV / Excel: rounded, ``name`` column, and a total row.

        Columns ``office_id, name, kind, status, fy2013, predicted_before, predicted_after,
        change, change_pct``; transactions as whole numbers (empty ``fy2013`` for a counter
        without a FY2013 count), percentages rounded to 0.1. The
        last row (``office_id`` = ``total``) sums the counters; its ``change`` is minus
        ``to_stores`` (and ``unserved``).
        """
        table = self.table.rename(columns={"name_ja": "name"})
        numbers = ["fy2013", "predicted_before", "predicted_after", "change"]
        sums = {column: float(table[column].sum(min_count=1)) for column in numbers}
        total: dict[str, str | float] = {
            "office_id": "total", "name": "合計 (all counters)", "kind": "", "status": "",
            **sums, "change_pct": 100.0 * sums["change"] / sums["predicted_before"]}
        table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
        table[numbers] = table[numbers].round(0).astype("Int64")
        table["change_pct"] = table["change_pct"].round(1)
        return table


def summary_rows(values: Mapping[str, object]) -> pd.DataFrame:
    """Return ``name -> value`` pairs (e.g. ``LoadShift.summary()``) as a two-column table."""
    return pd.DataFrame({"name": list(values), "value": list(values.values())})


def _classes(fit: DemandFit, model: AccessModel, scenario: Scenario) -> np.ndarray:
    """Attractiveness classes of the offices (downgraded offices become service corners)."""
    kind = model.offices["kind"].copy()
    kind.iloc[model.office_index(scenario.downgraded)] = "service_corner"
    classes: np.ndarray = kind.map(fit.kind_classes).fillna("").to_numpy()
    return classes


def _scenario_load(
    fit: DemandFit, model: AccessModel, scenario: Scenario, masks: dict[str, np.ndarray], *,
    store_share: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Expected transactions per office under ``scenario`` (``masks``: its open offices per
    measure, ``OpenOffices.before`` or ``.after``)."""
    return expected_load(
        fit.params, model.office_origin_m, model.origins["population"].to_numpy(dtype=float),
        _classes(fit, model, scenario), masks["counter"], masks["certificate"],
        certificate_share=fit.certificate_share, store_share=store_share)


def displaced_certificate_share(fit: DemandFit, model: AccessModel, scenario: Scenario, *,
                                open_offices: OpenOffices | None = None) -> np.ndarray:
    """Per origin, the share of its certificate transactions made at counters that close.

    Returns
    -------
    numpy.ndarray
        ``(n_origins,)`` in 0-1: the baseline Huff shares of the closed offices.
    """
    masks = open_offices or OpenOffices.of(model, scenario)
    classes = _classes(fit, model, scenario.baseline)
    shares = huff_shares(model.office_origin_m,
                         fit.params.weights(classes) * masks.before["certificate"],
                         fit.params.beta_per_km)
    closed = model.office_index(scenario.closed)
    diverted: np.ndarray = shares[closed].sum(axis=0)
    return diverted


def load_shift(
    fit: DemandFit, model: AccessModel, scenario: Scenario, *, store_share: float = 0.0,
    allow_poor_fit: bool = False, open_offices: OpenOffices | None = None,
) -> LoadShift:
    """Predict each counter's annual transactions before and after a closure scenario.

    "Before" is the scenario's base office set with nothing closed, as the model predicts it
    (FY2013 behaviour); "after" applies the closures and downgrades (a downgraded office is a
    certificate-only service corner). Of the certificate transactions that the closed
    counters handled, ``store_share`` go to convenience stores instead of another counter;
    everything else follows the model. With ``store_share=0`` the total is conserved:
    closed counters' residents go elsewhere.

    Parameters
    ----------
    fit
        Fitted demand model (``fit_demand``).
    model
        Precomputed road distances.
    scenario
        Offices closed / downgraded.
    store_share
        Share (0-1) of the displaced certificate transactions (those of closed counters)
        made at convenience stores after the scenario: an explicit assumption, default 0.
    allow_poor_fit
        Predict even when ``fit.ok`` is False (the caller must then show the warning).
    open_offices
        ``geo.scenarios.OpenOffices.of(model, scenario)`` when already known.

    Returns
    -------
    LoadShift

    Raises
    ------
    PoorFitError
        When the fit is not ``ok`` and ``allow_poor_fit`` is False.
    geo.errors.UnknownOfficeError
        For an unknown office id in the scenario.
    """
    if not 0.0 <= store_share <= 1.0:
        msg = f"store share must be between 0 and 1, got {store_share}"
        raise ValueError(msg)
    if not allow_poor_fit:
        fit.require_ok()
    masks = open_offices or OpenOffices.of(model, scenario)
    before = _scenario_load(fit, model, scenario.baseline, masks.before, store_share=0.0)
    displaced = displaced_certificate_share(fit, model, scenario, open_offices=masks)
    after = _scenario_load(fit, model, scenario, masks.after,
                           store_share=store_share * displaced)
    rows = masks.before["certificate"]
    table = model.offices.loc[rows, ["office_id", "name_ja", "kind"]].copy()
    table["status"] = office_status(model.offices, scenario).loc[rows, "state"]
    observed: pd.Series | dict[str, float] = (
        fit.residuals.set_index("office_id")["observed"] if fit.year == "fy2013" else {})
    table["fy2013"] = table["office_id"].map(observed).astype(float)
    table["predicted_before"] = before[rows]
    table["predicted_after"] = after[rows]
    table["change"] = table["predicted_after"] - table["predicted_before"]
    table["change_pct"] = 100.0 * table["change"] / table["predicted_before"]
    certificate_after = _scenario_load(fit, model, scenario, masks.after, store_share=0.0).sum()
    to_stores = float(certificate_after - after.sum())
    unserved = max(float(before.sum() - certificate_after), 0.0)
    if unserved > 1e-6 * before.sum():
        logger.warning("%.0f transactions a year have no open counter after the scenario",
                       unserved)
    return LoadShift(table=table.reset_index(drop=True), scenario=scenario,
                     store_share=store_share, certificate_share=fit.certificate_share,
                     to_stores=to_stores, unserved=unserved, fit=fit)


@dataclass(frozen=True)
class OutOfSample:
    """How well a fit predicts the FY2011 -> FY2013 shift caused by the ward offices opening.

    Attributes
    ----------
    table
        One row per office with a count in FY2011 or FY2013: ``office_id, name_ja,
        fy2011, fy2013, predicted_fy2011, predicted_fy2013, observed_change_pct,
        predicted_change_pct``.
    metrics
        ``n_offices`` (counted both years), ``r2_log_fy2011`` (R2 of the predicted FY2011
        log counts), ``r2_log_change`` and ``corr_log_change`` (predicted vs observed log
        change FY2011 -> FY2013), ``rmse_log_change``, ``sign_agreement`` (share of offices
        whose predicted change has the observed sign), ``r2_log_change_same_kind`` (the same
        R2 over offices whose kind did not change, i.e. not in ``kinds``).
    """

    table: pd.DataFrame
    metrics: dict[str, float]


def validate_fy2011(
    fit: DemandFit, model: AccessModel, counts: pd.DataFrame | None = None, *,
    kinds: Mapping[str, str] = FY2011_KINDS,
) -> OutOfSample:
    """Predict FY2011 counts with a FY2013 fit and compare the FY2011 -> FY2013 changes.

    FY2011's counter set is the offices with a FY2011 count (no 東区役所 or 森都心; the
    交通センター, 健軍文化ホール and 五福 counters still open), with ``kinds`` overriding the
    office kinds of that year. The model explains where residents go, not how many
    transactions there are, so the FY2011 rate is the fitted rate scaled by the ratio of the
    city totals (FY2011 / FY2013 counts); population is the 2015 census in both years.

    Parameters
    ----------
    fit
        A fit (normally to FY2013).
    model
        Precomputed road distances.
    counts
        Counts table (default ``load_counts(reading=fit.reading)``).
    kinds
        Office id -> kind in FY2011.

    Returns
    -------
    OutOfSample
    """
    counts = load_counts(reading=fit.reading) if counts is None else counts
    population = model.origins["population"].to_numpy(dtype=float)
    predicted, observed = {}, {}
    for year, year_kinds in (("fy2011", kinds), ("fy2013", None)):
        obs, classes, counter_open, certificate_open = _year_inputs(
            model, counts, year, kind_classes=fit.kind_classes, kinds=year_kinds)
        params = HuffParams(fit.params.rate * counts[year].sum() / counts["fy2013"].sum(),
                            fit.params.beta_per_km, fit.params.attractiveness)
        predicted[year] = expected_load(params, model.office_origin_m, population, classes,
                                        counter_open, certificate_open,
                                        certificate_share=fit.certificate_share)
        predicted[year][~certificate_open] = np.nan
        observed[year] = obs
    table = model.offices[["office_id", "name_ja"]].copy()
    for year in ("fy2011", "fy2013"):
        table[year] = observed[year]
        table[f"predicted_{year}"] = predicted[year]
    table = table[table["fy2011"].notna() | table["fy2013"].notna()]
    observed_change = np.log(table["fy2013"].to_numpy(dtype=float)
                             / table["fy2011"].to_numpy(dtype=float))
    predicted_change = np.log(table["predicted_fy2013"].to_numpy(dtype=float)
                              / table["predicted_fy2011"].to_numpy(dtype=float))
    table["observed_change_pct"] = 100.0 * np.expm1(observed_change)
    table["predicted_change_pct"] = 100.0 * np.expm1(predicted_change)
    both = ~np.isnan(observed_change)
    obs_c, pred_c = observed_change[both], predicted_change[both]
    log11 = np.log(table["fy2011"].to_numpy())
    in11 = np.isfinite(log11)
    metrics = {
        "n_offices": int(both.sum()),
        "r2_log_fy2011": _r2(np.log(table["predicted_fy2011"].to_numpy()[in11]) - log11[in11],
                             log11[in11]),
        "r2_log_change": _r2(pred_c - obs_c, obs_c),
        "corr_log_change": float(np.corrcoef(pred_c, obs_c)[0, 1]),
        "rmse_log_change": float(np.sqrt(np.mean((pred_c - obs_c) ** 2))),
        "sign_agreement": float(np.mean(np.sign(pred_c) == np.sign(obs_c))),
    }
    same_kind = ~table["office_id"].isin(list(kinds)).to_numpy()[both]
    metrics["r2_log_change_same_kind"] = _r2(pred_c[same_kind] - obs_c[same_kind],
                                             obs_c[same_kind])
    logger.info("FY2011 out-of-sample: %s", {k: round(v, 3) for k, v in metrics.items()})
    return OutOfSample(table=table.reset_index(drop=True), metrics=metrics)
