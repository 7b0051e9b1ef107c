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
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import demand, districts, layers, reorganisation, scenarios
from . import engine as engine_module
from . import zones as zones_module
from .errors import PoorFitError

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
    blank_ids
        Districts without a convenience store, per store source.
    demand_fits
        The demand model fitted on FY2013, per 城南/南部 reading (empty when the offices
        have no recorded counts: there is then no load shift).
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
    blank_ids: dict[str, frozenset[str]]
    demand_fits: dict[str, demand.DemandFit]
    build_seconds: float
    _models: dict[str, scenarios.AccessModel] = field(default_factory=dict, repr=False,
                                                      compare=False)

    @property
    def store_sources(self) -> list[str]:
        """Store sources available, in ``geo.layers.STORE_SOURCES`` order."""
        return list(self.store_origin_m)

    @property
    def default_store_source(self) -> str:
        """``union`` when available, else the first available source."""
        return "union" if "union" in self.store_origin_m else self.store_sources[0]

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


def build_study(
    data: str | os.PathLike[str] | None = None, *,
    network: str = engine_module.DEFAULT_NETWORK, mode: str = "drive",
) -> Study:
    """Load every layer, build the network and precompute every distance a scenario needs.

    Parameters
    ----------
    data
        Data directory (default: ``MADOGUCHI_DATA`` or ``data/bundle``).
    network, mode
        Road network and travel mode (``geo.engine.load_engine``).

    Raises
    ------
    geo.errors.DataMissingError, geo.errors.LayerError
        A file is missing or invalid.
    """
    started = time.perf_counter()
    default = layers.default_store_source(data)
    eng = engine_module.load_engine(data, store_source=default, network=network, mode=mode)
    stores = {source: eng.stores if source == default else layers.load_stores(eng.data,
                                                                                source=source)
              for source in layers.available_store_sources(data)}
    fits = {reading: demand.fit_demand(eng.model, year="fy2013", reading=reading)
            for reading in demand.READINGS}
    return assemble_study(eng, stores=stores, district_layer=districts.build_districts(eng.data),
                          demand_fits=fits, started=started)


def assemble_study(
    eng: engine_module.Engine, *, stores: dict[str, gpd.GeoDataFrame],
    district_layer: districts.DistrictLayer | None,
    demand_fits: dict[str, demand.DemandFit], started: float | None = None,
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
    """
    started = time.perf_counter() if started is None else started
    store_origin_m = {source: eng.model.store_origin_m if source == eng.model.store_source
                      else engine_module.nearest_store_m(eng, frame)
                      for source, frame in stores.items()}
    kinds = [k for k in zones_module.ZONE_KINDS if k != "district" or district_layer is not None]
    zone_layers = {kind: zones_module.zone_layer(eng, kind, districts=district_layer)
                   for kind in kinds}
    blank_ids = ({source: frozenset(districts.blank_districts(district_layer, frame)[
        "district_id"].astype(str)) for source, frame in stores.items()}
        if district_layer is not None else {source: frozenset() for source in stores})
    study = Study(data=eng.data, network=eng.network, mode=eng.mode, engine=eng, stores=stores,
                  store_origin_m=store_origin_m, districts=district_layer, zones=zone_layers,
                  blank_ids=blank_ids, demand_fits=demand_fits,
                  build_seconds=time.perf_counter() - started)
    logger.info("study built in %.1f s (%s, %s)", study.build_seconds, eng.network, eng.mode)
    return study


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
    """The figures of one scenario.

    Attributes
    ----------
    scenario, measure, zones, stores, store_share, reading
        What was evaluated (``store_share`` 0-1; ``reading`` the 城南/南部 counts).
    zone_table
        ``geo.scenarios.compare`` per zone of ``zones`` (with ``*_min`` walking minutes
        when the study's mode is ``walk``).
    city
        City-wide figures (``geo.scenarios.summary`` over the small areas).
    offices
        ``geo.scenarios.office_status``: every office with ``in_base`` and ``state``.
    load_shift
        ``geo.demand.LoadShift``, or None with ``load_shift_reason`` saying why.
    unreachable
        ``none``, ``some`` or ``all`` residents without any counter afterwards.
    """

    scenario: scenarios.Scenario
    measure: str
    zones: str
    stores: str
    store_share: float
    reading: str
    zone_table: pd.DataFrame
    city: dict[str, float | str]
    offices: pd.DataFrame
    load_shift: demand.LoadShift | None
    load_shift_reason: str | None
    unreachable: str


def evaluate(
    study: Study, scenario: scenarios.Scenario, *, measure: str = "counter",
    zones: str = "district", stores: str | None = None, store_share: float = 0.0,
    reading: str = demand.DEFAULT_READING, walk_kmh: float = scenarios.WALK_KMH,
) -> Result:
    """Evaluate a scenario: array minima over the study's distances, no shortest paths.

    Parameters
    ----------
    study
        ``build_study``.
    scenario
        Offices closed / downgraded; "before" is its base set with nothing closed.
    measure
        ``counter`` or ``certificate`` (adds service corners and convenience stores).
    zones
        ``district``, ``small-area`` or ``ward``.
    stores
        Store source for certificate access (default: the study's default).
    store_share
        Share (0-1) of the closed counters' certificate transactions going to stores.
    reading
        城南/南部 reading of the counts the demand model was fitted on.
    walk_kmh
        Walking speed for the minutes columns (walking studies only).

    Raises
    ------
    geo.errors.UnknownOfficeError
        An office id is unknown or not a counter of the scenario's base set.
    ValueError
        An unknown measure, zone layer, store source or reading.
    """
    if zones not in study.zones:
        msg = f"unknown zone layer {zones!r}; choose one of {', '.join(study.zones)}"
        raise ValueError(msg)
    if reading not in demand.READINGS:
        msg = f"unknown 城南/南部 reading {reading!r}; choose one of {', '.join(demand.READINGS)}"
        raise ValueError(msg)
    offices = study.engine.model.offices
    scenarios.check_in_base(offices, scenario)
    model = study.model(stores)
    table = scenarios.compare(model, scenario, measure=measure,
                              membership=study.zones[zones].membership)
    small_areas = (table if zones == "small-area" else scenarios.compare(
        model, scenario, measure=measure, membership=study.zones["small-area"].membership))
    city = scenarios.summary(small_areas)
    if study.mode == "walk":
        table = scenarios.with_walking_minutes(table, speed_kmh=walk_kmh)
    populated = small_areas["population"] > 0
    reachable = small_areas.loc[populated, "status"] != scenarios.NO_FACILITY
    unreachable = "none" if reachable.all() else ("some" if reachable.any() else "all")
    shift: demand.LoadShift | None = None
    reason: str | None = "no counter transactions are recorded for these offices"
    if reading in study.demand_fits:
        try:
            shift = demand.load_shift(study.demand_fits[reading], model, scenario,
                                      store_share=store_share)
            reason = None
        except PoorFitError as error:
            reason = str(error)
    return Result(scenario=scenario, measure=measure, zones=zones, stores=model.store_source,
                  store_share=store_share, reading=reading, zone_table=table, city=city,
                  offices=scenarios.office_status(offices, scenario), load_shift=shift,
                  load_shift_reason=reason, unreachable=unreachable)
