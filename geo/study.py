"""One path from the data to every figure: build a ``Study`` once, ``evaluate`` scenarios on it.

The dashboard and the command line both call ``build_study`` and ``evaluate``; neither
assembles layers, distances or scenario rules itself.

Vocabulary (the same words everywhere in ``geo`` and the dashboard):

origin
    One point per 2015 census small area, where its residents live; every distance starts
    at an origin and ends at a counter.
small area
    The census area (小地域) an origin stands for, with its population.
zone
    An area that results are aggregated to: a school district, a small area or a ward.
district
    An elementary school district (小学校区), approximated from the attendance-zone table.
base
    An office set: ``fy2015`` (before the reorganisation) or ``now``.
preset
    A named scenario of the reorganisation's history (``geo.reorganisation.PRESETS``).
scenario
    A base with offices closed or downgraded (``geo.scenarios.Scenario``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import demand, districts, layers, reorganisation, scenarios, studycache, transit
from . import engine as engine_module
from . import stores as stores_module
from . import zones as zones_module
from .errors import DataMissingError, PoorFitError, QuestionError
from .question import MODES, Question

logger = logging.getLogger(__name__)

UNREACHABLE = ("none", "some", "all")
"""How many residents have no counter at all after a scenario."""


@dataclass(frozen=True)
class Options:
    """What a planner can choose for one base office set.

    Attributes
    ----------
    base
        ``fy2015`` or ``now``.
    closable
        Office ids open in the base set (each can be closed).
    downgradable
        Offices that can become certificate-only service corners (open, not already one).
    presets
        ``geo.reorganisation.presets`` (the same for every base).
    rule
        ``geo.reorganisation.branch_distances`` on this base and network.
    rule_versus_official
        The 5 km rule computed here beside the 2015 plan's official list (FY2015 set).
    """

    base: str
    closable: list[str]
    downgradable: list[str]
    presets: dict[str, reorganisation.Preset]
    rule: pd.DataFrame
    rule_versus_official: dict[str, list[str]]


@dataclass(frozen=True)
class Study:
    """Everything evaluated scenarios are computed from, built once per data, network, mode.

    Attributes
    ----------
    data, network, mode
        What the study was built from (``geo.engine.NETWORKS``, ``geo.engine.MODES``).
    engine
        Layers, road graph and the office x origin distance matrices.
    stores
        Convenience stores per store source found in the data directory.
    store_origin_m
        Road distance from each origin to its nearest store, per store source, metres.
    districts
        The school-district layer (None for a study without one).
    zones
        ``district``, ``small-area`` and ``ward`` zone layers (polygons and membership).
    demand_fits
        The demand model fitted on FY2013, per 城南/南部 reading (empty when the offices
        have no recorded counts: there is then no load shift).
    population
        How many residents of the 2015 census the small areas' figures hold, and how many
        are in no figure (``geo.layers.PopulationCoverage``; shown with every figure).
    transit
        Door-to-door minutes by bus, tram and rail (``transit`` mode only, else None).
    counts
        The counters' recorded FY2011-13 transactions per 城南/南部 reading
        (``geo.demand.load_counts``; what the demand model is fitted on).
    build_seconds
        Wall time of ``build_study``.
    """

    data: Path
    network: str
    mode: str
    engine: engine_module.Engine
    stores: dict[str, gpd.GeoDataFrame]
    store_origin_m: dict[str, np.ndarray]
    districts: districts.DistrictLayer | None
    zones: dict[str, zones_module.ZoneLayer]
    demand_fits: dict[str, demand.DemandFit]
    population: layers.PopulationCoverage
    build_seconds: float
    transit: transit.TransitAccess | None = None
    counts: dict[str, pd.DataFrame] = field(default_factory=dict)
    _models: dict[str, scenarios.AccessModel] = field(default_factory=dict, repr=False,
                                                      compare=False)
    _blank: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def transit_sources(self) -> tuple[layers.BundleFile, ...]:
        """The GTFS feeds behind the transit minutes (empty outside transit mode)."""
        return self.transit.sources if self.transit is not None else ()

    @property
    def store_sources(self) -> list[str]:
        """Store sources available, in ``geo.layers.STORE_SOURCES`` order."""
        return list(self.store_origin_m)

    @property
    def default_store_source(self) -> str:
        """``union`` when available, else the first available source."""
        return "union" if "union" in self.store_origin_m else self.store_sources[0]

    def blank_districts(self, store_source: str | None = None) -> pd.DataFrame:
        """The school districts without a store of ``store_source`` (空白校区; default the
        study's default layer), most populous first: ``district, ward, population`` and
        ``nearest_store_km`` (the residents' mean road distance to the nearest store).

        Raises
        ------
        geo.errors.DataMissingError
            The study has no school districts.
        """
        source = store_source or self.default_store_source
        if self.districts is None:
            msg = "this study has no school districts (schools or attendance zones missing)"
            raise DataMissingError(msg)
        if source not in self._blank:
            blank = stores_module.blank_districts(self.districts, self.stores[source])
            access = stores_module.store_access(self.model(source), self.districts)
            nearest = access.set_index("district_id")["mean_store_km"]
            blank["nearest_store_km"] = nearest.reindex(blank["district_id"]).to_numpy()
            blank = blank.rename(columns={"district_id": "district"})
            self._blank[source] = blank[["district", "ward", "population", "nearest_store_km"]]
        return self._blank[source]

    def blank_ids(self, store_source: str | None = None) -> frozenset[str]:
        """The ids of ``blank_districts(store_source)`` (none for a study without districts)."""
        if self.districts is None:
            return frozenset()
        return frozenset(self.blank_districts(store_source)["district"].astype(str))

    def model(self, stores: str | None = None) -> scenarios.AccessModel:
        """The distance model with the nearest-store distances of ``stores``."""
        source = stores or self.default_store_source
        if source not in self.store_origin_m:
            msg = (f"store source {source!r} is not in the data directory; available: "
                   f"{', '.join(self.store_sources)}")
            raise ValueError(msg)
        if source not in self._models:
            self._models[source] = dataclasses.replace(
                self.engine.model, store_origin_m=self.store_origin_m[source],
                store_source=source)
        return self._models[source]


BUILD_STAGES = ("cache", "network", "stores", "districts", "demand", "transit", "zones",
                "saving")
"""What ``build_study`` reports to its ``progress`` function as it starts each part: reading
the disk cache, the road network and its distances, the store layers, the school districts,
the demand model, the transit timetables, the zones and store distances, saving the cache."""


def build_study(
    data: str | os.PathLike[str] | None = None, *,
    network: str = engine_module.DEFAULT_NETWORK, mode: str = "drive", cache: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Study:
    """Load every layer, build the network and precompute every distance a scenario needs.

    Parameters
    ----------
    data
        Data directory (default: ``MADOGUCHI_DATA`` or ``data/bundle``).
    network
        Road network (``geo.engine.NETWORKS``).
    mode
        ``drive``, ``walk`` or ``transit`` (``MODES``). Transit reads the GTFS feeds of
        ``<data>/transit/gtfs/`` and precomputes minutes for every origin and office over
        the default window (``geo.transit``); its km are walking distances.
    cache
        Read the study from, and write it to, the disk cache (``geo.studycache``: keyed by
        the inputs' hashes and the code, so it never serves a stale result). The inputs
        are hashed again after a build; a study whose inputs changed meanwhile is not kept.
    progress
        Called with each part's name (``BUILD_STAGES``) as the build starts it, e.g. to
        show a planner what is being built (the first transit study takes a minute).

    Raises
    ------
    geo.errors.DataMissingError, geo.errors.LayerError
        A file is missing or invalid.
    """
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; choose one of {', '.join(MODES)}"
        raise ValueError(msg)
    started = time.perf_counter()
    report = progress or (lambda stage: None)
    root = engine_module.check_data(data, network)
    key = studycache.study_key(root, network, mode) if cache else None
    if key is not None:
        report("cache")
    parts = studycache.load(key) if key is not None else None
    if parts is not None:
        study = _from_cache(parts, root, network, mode, started)
        logger.info("study read from the disk cache in %.1f s", study.build_seconds)
        return study
    study = _build(root, network, mode, started, report)
    if key is not None and studycache.study_key(root, network, mode) != key:
        # hashed before the build and again after: equal, the build read the bytes hashed
        logger.warning("an input file changed while the study was built; not keeping it in "
                       "the disk cache")
    elif key is not None:
        report("saving")
        try:
            studycache.save(cache_parts(study), key)
        except OSError as error:
            logger.warning("could not keep the study in the disk cache (%s)", error)
    return study


def _build(root: Path, network: str, mode: str, started: float,
           report: Callable[[str], None]) -> Study:
    default = layers.default_store_source(root)
    report("network")
    eng = engine_module.load_engine(root, store_source=default, network=network,
                                    mode="walk" if mode == "transit" else mode)
    report("stores")
    stores = {source: eng.stores if source == default else layers.load_stores(eng.data,
                                                                                source=source)
              for source in layers.available_store_sources(root)}
    report("districts")
    district_layer = districts.build_districts(eng.data)
    report("demand")
    counts, fits = _fits(eng.model)
    access = None
    if mode == "transit":
        report("transit")
        access = transit.transit_access(eng)
    report("zones")
    return assemble_study(eng, stores=stores, district_layer=district_layer, demand_fits=fits,
                          counts=counts, started=started, transit_access=access)


def assemble_study(
    eng: engine_module.Engine, *, stores: dict[str, gpd.GeoDataFrame],
    district_layer: districts.DistrictLayer | None,
    demand_fits: dict[str, demand.DemandFit], counts: dict[str, pd.DataFrame] | None = None,
    started: float | None = None, transit_access: transit.TransitAccess | None = None,
    store_origin_m: dict[str, np.ndarray] | None = None,
    population: layers.PopulationCoverage | None = None,
) -> Study:
    """Put a study together from an engine and its other parts (``build_study`` reads them).

    Parameters
    ----------
    eng
        The engine; its own store layer is one of ``stores``.
    stores
        Store layers per source (each gets its nearest-store distances).
    district_layer
        School districts, or None (then no ``district`` zones).
    demand_fits
        Demand-model fits per reading (may be empty).
    counts
        The FY2011-13 counts per reading the fits were made on (default none).
    transit_access
        Transit minutes (``geo.transit.transit_access`` on ``eng``) for a transit study.
    store_origin_m
        Nearest-store distances per source, when already known (default: computed).
    population
        The small areas' coverage of the census, when already known (default: measured
        on ``eng.small_areas`` as loaded).
    """
    started = time.perf_counter() if started is None else started
    if store_origin_m is None:
        store_origin_m = {source: eng.model.store_origin_m if source == eng.model.store_source
                          else engine_module.nearest_store_m(eng, frame)
                          for source, frame in stores.items()}
    kinds = [k for k in zones_module.ZONE_KINDS if k != "district" or district_layer is not None]
    zone_layers = {kind: zones_module.zone_layer(eng, kind, districts=district_layer)
                   for kind in kinds}
    study = Study(data=eng.data, network=eng.network,
                  mode="transit" if transit_access is not None else eng.mode, engine=eng,
                  stores=stores, store_origin_m=store_origin_m, districts=district_layer,
                  zones=zone_layers, demand_fits=demand_fits, counts=counts or {},
                  population=(population if population is not None
                              else layers.population_coverage(eng.small_areas)),
                  build_seconds=time.perf_counter() - started, transit=transit_access)
    logger.info("study built in %.1f s (%s, %s)", study.build_seconds, eng.network, eng.mode)
    return study


def _fits(model: scenarios.AccessModel
          ) -> tuple[dict[str, pd.DataFrame], dict[str, demand.DemandFit]]:
    """The FY2011-13 counts and the demand model fitted on FY2013, per 城南/南部 reading."""
    counts = {reading: demand.load_counts(reading=reading) for reading in demand.READINGS}
    return counts, {reading: demand.fit_demand(model, table, year="fy2013", reading=reading)
                    for reading, table in counts.items()}


def cache_parts(study: Study) -> dict[str, object]:
    """A study's layers, arrays and tables, named for ``geo.studycache.save``."""
    eng = study.engine
    parts: dict[str, object] = {
        "wards": eng.wards, "small_areas": eng.small_areas, "offices": eng.offices,
        "origins": eng.origins, "store_sources": list(study.stores),
        "population_coverage": dataclasses.asdict(study.population),
        **studycache.model_parts(eng.model),
        **(studycache.district_parts(study.districts) if study.districts is not None else {}),
        **(studycache.transit_parts(study.transit) if study.transit is not None else {}),
    }
    for source, frame in study.stores.items():
        parts[f"stores_{source}"] = frame
        parts[f"store_origin_m_{source}"] = study.store_origin_m[source]
    return parts


def _from_cache(parts: dict[str, object], root: Path, network: str, mode: str,
                started: float) -> Study:
    engine_mode = "walk" if mode == "transit" else mode
    model = studycache.model_from(parts)
    counts, fits = _fits(model)
    sources = [str(s) for s in parts["store_sources"]]  # type: ignore[attr-defined]
    stores = {s: parts[f"stores_{s}"] for s in sources}
    eng = engine_module.Engine(
        data=root, graph=engine_module.build_graph(root, network=network, mode=engine_mode),
        model=model, wards=parts["wards"], small_areas=parts["small_areas"],
        offices=parts["offices"], stores=stores[model.store_source],
        origins=parts["origins"], timings={}, network=network,
        mode=engine_mode)
    return assemble_study(
        eng, stores=stores,
        district_layer=(studycache.districts_from(parts) if "district_polygons" in parts
                        else None),
        demand_fits=fits, counts=counts, started=started,
        transit_access=studycache.transit_from(parts) if mode == "transit" else None,
        store_origin_m={s: parts[f"store_origin_m_{s}"] for s in sources},  # type: ignore[misc]
        population=layers.PopulationCoverage(**parts["population_coverage"]),  # type: ignore[arg-type]
    )


def options(study: Study, base: str) -> Options:
    """The closable and downgradable offices, presets and 5 km rule for a base set."""
    offices = study.engine.model.offices
    open_ids = offices.loc[scenarios.in_base(offices, base), ["office_id", "kind"]]
    rule = reorganisation.branch_distances(study.engine.model, base=base)
    official_rule = (rule if base == "fy2015"
                     else reorganisation.branch_distances(study.engine.model, base="fy2015"))
    return Options(
        base=base, closable=open_ids["office_id"].tolist(),
        downgradable=open_ids.loc[open_ids["kind"] != "service_corner", "office_id"].tolist(),
        presets=reorganisation.presets(offices), rule=rule,
        rule_versus_official=reorganisation.rule_versus_official(official_rule),
    )


@dataclass(frozen=True)
class Result:
    """The figures of one question.

    Attributes
    ----------
    question
        What was asked (``geo.question.Question``).
    store_source
        The store layer the figures were computed with: the question's, or the data
        directory's default when the question leaves it open.
    zone_table
        ``geo.scenarios.compare`` per zone of ``question.zones``; with ``*_min`` walking
        minutes when the study's mode is ``walk`` or ``transit``, and
        ``transit_before_min`` / ``transit_after_min`` / ``transit_beyond_<t>min_*`` (bus,
        tram and rail with walks; a lower bound on service, see
        ``geo.transit.TRANSIT_CAVEAT``) in transit mode.
    city
        City-wide figures (``geo.scenarios.summary`` over the small areas; the walking
        minutes in walk and transit mode, and the transit columns summed in transit mode).
    offices
        ``geo.scenarios.office_status``: every office with ``in_base`` and ``state``.
    load_shift
        ``geo.demand.LoadShift``, or None with ``load_shift_reason`` saying why.
    unreachable
        ``none``, ``some`` or ``all`` residents without any counter afterwards.
    """

    question: Question
    store_source: str
    zone_table: pd.DataFrame
    city: dict[str, float | str]
    offices: pd.DataFrame
    load_shift: demand.LoadShift | None
    load_shift_reason: str | None
    unreachable: str

    @property
    def scenario(self) -> scenarios.Scenario:
        """The office set evaluated (``question.scenario``)."""
        return self.question.scenario

    @property
    def measure(self) -> str:
        return self.question.measure

    @property
    def zones(self) -> str:
        return self.question.zones

    @property
    def store_share(self) -> float:
        return self.question.store_share

    @property
    def reading(self) -> str:
        return self.question.reading

    @property
    def receivers(self) -> pd.DataFrame:
        """The counters that receive the closed counters' traffic
        (``geo.demand.LoadShift.receivers``; empty without a load shift)."""
        if self.load_shift is None:
            return pd.DataFrame(columns=["office_id", "change", "change_pct"])
        return self.load_shift.receivers


def evaluate(study: Study, question: Question, *, allow_poor_fit: bool = False) -> Result:
    """Answer a question: array minima over the study's distances, no shortest paths.

    Parameters
    ----------
    study
        ``build_study`` on the question's network and travel mode.
    question
        What is asked (``geo.question.Question``); "before" is its base set with nothing
        closed. Under the counter measure the store layer changes no figure.
    allow_poor_fit
        Predict the load shift even when the demand model fails its quality check.

    Raises
    ------
    geo.errors.QuestionError
        The question asks for another network or travel mode than the study's, for zones
        or a store layer the data directory lacks.
    geo.errors.UnknownOfficeError
        An office id is unknown, not a counter of the question's base set, or downgraded
        while already a service corner.
    """
    problems = [f"{name}: the study was built for {built!r}, the question asks {asked!r}"
                for name, built, asked in (("network", study.network, question.network),
                                           ("mode", study.mode, question.mode))
                if built != asked]
    if question.zones not in study.zones:
        problems.append(f"zones: {question.zones!r} is not in this data directory (it has "
                        f"{', '.join(study.zones)})")
    source = question.store_source or study.default_store_source
    if source not in study.store_origin_m:
        problems.append(f"store_source: {source!r} is not in this data directory (it has "
                        f"{', '.join(study.store_sources)})")
    if problems:
        raise QuestionError("cannot answer the question here: " + "; ".join(problems))
    scenario = question.scenario
    offices = study.engine.model.offices
    scenarios.check_in_base(offices, scenario)
    model = study.model(source)
    masks = scenarios.OpenOffices.of(model, scenario)
    table = scenarios.compare(model, scenario, measure=question.measure,
                              membership=study.zones[question.zones].membership,
                              open_offices=masks)
    small_areas = (table if question.zones == "small-area" else scenarios.compare(
        model, scenario, measure=question.measure,
        membership=study.zones["small-area"].membership, open_offices=masks))
    city = scenarios.summary(small_areas)
    if study.mode in ("walk", "transit"):
        table = scenarios.with_walking_minutes(table, speed_kmh=question.walk_kmh)
        walking = scenarios.with_walking_minutes(pd.DataFrame([city]),
                                                 speed_kmh=question.walk_kmh)
        city = {**city, **{column: float(walking[column].iloc[0])
                           for column in walking.columns if column.endswith(("_min", "_slow"))}}
    if study.transit is not None:
        table, city = _with_transit(study, model, masks, table, small_areas, city,
                                    question.zones)
    populated = small_areas["population"] > 0
    reachable = small_areas.loc[populated, "status"] != scenarios.NO_FACILITY
    unreachable = "none" if reachable.all() else ("some" if reachable.any() else "all")
    shift: demand.LoadShift | None = None
    reason: str | None = "no counter transactions are recorded for these offices"
    if question.reading in study.demand_fits:
        try:
            shift = demand.load_shift(study.demand_fits[question.reading], model, scenario,
                                      store_share=question.store_share,
                                      allow_poor_fit=allow_poor_fit, open_offices=masks)
            reason = None
        except PoorFitError as error:
            reason = str(error)
    return Result(question=question, store_source=source, zone_table=table, city=city,
                  offices=scenarios.office_status(offices, scenario), load_shift=shift,
                  load_shift_reason=reason, unreachable=unreachable)


def _with_transit(
    study: Study, model: scenarios.AccessModel, masks: scenarios.OpenOffices,
    table: pd.DataFrame, small_areas: pd.DataFrame, city: dict[str, float | str], zones: str,
) -> tuple[pd.DataFrame, dict[str, float | str]]:
    """Add transit minutes (counters only: stores are not in the timetable model)."""
    access = study.transit
    assert access is not None
    order = [model.office_index([oid])[0] for oid in access.counter_ids]
    before_open = masks.before["counter"][order]
    after_open = masks.after["counter"][order]
    minutes = transit.compare(access, before_open, after_open)
    share = model.origins["share_65plus"].to_numpy(dtype=float)
    before, after = minutes["before_min"].to_numpy(), minutes["after_min"].to_numpy()
    members = study.zones[zones].membership
    table = scenarios.with_zone_minutes(table, members, before, after, share_65plus=share,
                                        prefix="transit_")
    zone, _ = pd.factorize(members["zone_id"])
    lost = minutes["lost_direct_ride"].to_numpy()[members["origin"].to_numpy()]
    table["transit_lost_direct_ride_people"] = np.bincount(
        zone, members["population"].to_numpy(dtype=float) * lost, minlength=len(table))
    city_table = scenarios.with_zone_minutes(
        small_areas, study.zones["small-area"].membership, before, after, share_65plus=share,
        prefix="transit_")
    added = {c: float(city_table[c].sum()) for c in city_table.columns
             if c.startswith("transit_beyond_")}
    people = city_table["population"].to_numpy(dtype=float)
    for when in ("before", "after"):
        values = city_table[f"transit_{when}_min"].to_numpy(dtype=float)
        known = np.isfinite(values) & (people > 0)
        added[f"transit_{when}_min"] = (float((values[known] * people[known]).sum()
                                              / people[known].sum()) if known.any()
                                        else float("nan"))
    added["transit_lost_direct_ride_people"] = float(
        (model.origins["population"].to_numpy(dtype=float)
         * minutes["lost_direct_ride"].to_numpy()).sum())
    return table, {**city, **added}


def zone_services(study: Study, result: Result) -> pd.DataFrame:
    """Where the residents of each zone of a result go: their nearest counter before and
    after, and the convenience stores (for the residents' handout and district leaflets).

    Parameters
    ----------
    study
        The study ``result`` was evaluated on.
    result
        ``evaluate``'s result: its scenario, measure, zones and store source are used.

    Returns
    -------
    pandas.DataFrame
        One row per zone, in ``result.zone_table``'s order: ``zone_id``, ``zone_name``,
        ``ward``, the ``geo.scenarios.zone_counters`` columns (``counter_before`` /
        ``counter_after`` office ids with ``_km`` and ``_share``; by road on the study's
        network, also in transit mode), ``stores`` (convenience stores of
        ``result.store_source`` inside the zone) and ``store_km`` (population-weighted mean road
        distance to the nearest one, km).
    """
    model = study.model(result.store_source)
    layer = study.zones[result.zones]
    table = scenarios.zone_counters(model, result.scenario, layer.membership,
                                    measure=result.measure)
    table["stores"] = pd.Series(
        stores_module.stores_inside(layer.polygons, study.stores[model.store_source]),
        index=layer.polygons["zone_id"].astype(str).to_numpy(),
    ).reindex(table["zone_id"].astype(str)).fillna(0).astype(int).to_numpy()
    table["store_km"] = scenarios.zone_mean_km(layer.membership, model.store_origin_m)
    names = result.zone_table[["zone_id", "zone_name", "ward"]]
    return names.merge(table, on="zone_id", how="left", validate="one_to_one")


def transit_catchments(study: Study) -> pd.DataFrame:
    """Who reaches each counter by bus, tram and on foot within 30, 45 and 60 minutes.

    Returns
    -------
    pandas.DataFrame
        One row per office: ``office_id``, ``people_within_<t>min`` and
        ``people_65plus_within_<t>min`` (median minutes over the departure window; a lower
        bound while the 産交バス timetable is missing).

    Raises
    ------
    ValueError
        The study was not built in transit mode.
    """
    if study.transit is None:
        msg = "transit catchments need a study built with mode='transit'"
        raise ValueError(msg)
    reach = transit.catchments(study.transit, thresholds=scenarios.DEFAULT_THRESHOLDS_MIN)
    origins = study.engine.model.origins
    people = origins["population"].to_numpy(dtype=float)[reach["origin"].to_numpy()]
    elderly = people * origins["share_65plus"].to_numpy(dtype=float)[reach["origin"].to_numpy()]
    columns: dict[str, object] = {}
    for limit in scenarios.DEFAULT_THRESHOLDS_MIN:
        within = reach[f"within_{limit}"].to_numpy()
        columns[f"people_within_{limit}min"] = people * within
        columns[f"people_65plus_within_{limit}min"] = elderly * within
    summed = pd.DataFrame(columns).groupby(reach["counter_id"].to_numpy()).sum()
    return summed.rename_axis("office_id").reset_index()
