"""The dashboard's one caching seam: shared resources from geo/, and cached scenario results.

``st.cache_resource`` holds what is built once and never mutated (engine: layers, road
graph, distance matrices; the district layer; display geometry). ``st.cache_data`` holds
scenario results, which are array minima over the precomputed distances: switching a
toggle never re-runs shortest paths. Unhashable arguments carry a leading underscore and
travel with a hashable key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from geo import (
    demand,
    districts,
    io,
    network_check,
    reorganisation,
    scenarios,
    settings,
)
from geo import zones as zones_module
from geo.engine import Engine, load_engine

logger = logging.getLogger(__name__)


def data_dir() -> str:
    """The data directory as a string (cache key)."""
    return str(settings.data_dir())


@dataclass(frozen=True)
class EngineKey:
    """What an engine is built from: data directory, store layer, road network, travel mode."""

    data: str
    store_source: str
    network: str
    mode: str


@st.cache_resource(show_spinner=False)
def engine(key: EngineKey) -> Engine:
    """Load layers, build the graph and precompute distances (raises DataMissingError)."""
    return load_engine(key.data, store_source=key.store_source, network=key.network,
                       mode=key.mode)


@st.cache_resource(show_spinner=False)
def district_layer(data: str) -> districts.DistrictLayer:
    """The school-district layer (``geo.districts.build_districts``)."""
    return districts.build_districts(data)


@dataclass(frozen=True)
class Zones:
    """A zone layer ready for the map: the geo/ layer and its WGS84 display features."""

    layer: zones_module.ZoneLayer
    features: dict
    """FeatureCollection in EPSG:4326, one feature per zone with ``zone_id``."""

    @property
    def membership(self) -> pd.DataFrame:
        """Origin -> zone rows for ``scenarios.compare``."""
        return self.layer.membership

    @property
    def blank_ids(self) -> frozenset[str]:
        """Zones (districts) with no convenience store."""
        return self.layer.blank_ids


@st.cache_resource(show_spinner=False)
def zones(key: EngineKey, kind: str) -> Zones:
    """Zone layer ``district``, ``small-area`` or ``ward`` with its display geometry."""
    eng = engine(key)
    layer = zones_module.zone_layer(
        eng, kind, districts=district_layer(key.data) if kind == "district" else None)
    shown = ["zone_id"] + (["quality"] if "quality" in layer.polygons.columns else [])
    return Zones(layer, io.to_display_features(layer.polygons, shown))


def zone_results(key: EngineKey, kind: str, table: pd.DataFrame):
    """Zone polygons (EPSG:6670) carrying a compare() table's columns."""
    return zones_module.with_results(zones(key, kind).layer, table)


@st.cache_data(show_spinner=False)
def blank_summary(data: str) -> pd.DataFrame:
    """Blank-district counts per store source beside the 2015 study's (geo.districts)."""
    return districts.blank_summary(district_layer(data), data)


@st.cache_resource(show_spinner=False)
def ward_features(key: EngineKey) -> dict:
    """Ward polygons as WGS84 GeoJSON with ``zone_id`` (ward code) and ``ward`` names."""
    wards = engine(key).wards.rename(columns={"ward_code": "zone_id"})
    return io.to_display_features(wards, ["zone_id", "ward"])


@st.cache_resource(show_spinner=False)
def office_points(key: EngineKey) -> pd.DataFrame:
    """Office register with WGS84 ``lat`` / ``lon`` for markers."""
    return io.to_display_points(engine(key).offices)


@st.cache_resource(show_spinner=False)
def store_points(key: EngineKey) -> pd.DataFrame:
    """Convenience stores with WGS84 ``lat`` / ``lon``."""
    return io.to_display_points(engine(key).stores)


@st.cache_data(show_spinner=False, max_entries=256)
def comparison(key: EngineKey, kind: str, base: str, closed: tuple[str, ...],
               downgraded: tuple[str, ...], measure: str) -> pd.DataFrame:
    """``geo.scenarios.compare`` table for one scenario, measure and zone layer."""
    eng = engine(key)
    scenario = scenarios.Scenario(base=base, closed=closed, downgraded=downgraded)
    membership = zones(key, kind).membership
    return scenarios.compare(eng.model, scenario, measure=measure, membership=membership)


@st.cache_data(show_spinner=False, max_entries=256)
def city_summary(key: EngineKey, base: str, closed: tuple[str, ...],
                 downgraded: tuple[str, ...], measure: str) -> dict:
    """City-wide figures (computed over small areas, which partition the population)."""
    table = comparison(key, "small-area", base, closed, downgraded, measure)
    return scenarios.summary(table)


@st.cache_data(show_spinner=False)
def branch_table(key: EngineKey, base: str) -> pd.DataFrame:
    """Branch -> nearest ward office road distances and 5 km candidates."""
    return reorganisation.branch_distances(engine(key).model, base=base)


@st.cache_resource(show_spinner=False)
def ward_labels(key: EngineKey) -> pd.DataFrame:
    """One label point per ward (inside the polygon), WGS84 ``lat`` / ``lon``."""
    wards = engine(key).wards[["ward", "geometry"]]
    return io.to_display_points(wards, label_points=True)


@st.cache_data(show_spinner=False)
def transaction_counts() -> pd.DataFrame:
    """``geo.demand.load_counts``: FY2011-13 counter transactions per office (read once).

    Raises ``geo.errors.DataMissingError`` / ``LayerError`` if the table is absent or bad.
    """
    return demand.load_counts()


@st.cache_resource(show_spinner=False)
def demand_fit(key: EngineKey, reading: str):
    """``geo.demand.fit_demand`` on the FY2013 counts: fitted once per 城南/南部 reading.

    Raises ``geo.errors.DataMissingError`` / ``LayerError`` if the counts table is absent or bad.
    """
    return demand.fit_demand(engine(key).model, year="fy2013", reading=reading)


@st.cache_resource(show_spinner=False)
def demand_check(key: EngineKey, reading: str):
    """``geo.demand.validate_fy2011``: the fit's FY2011 -> FY2013 out-of-sample check."""
    return demand.validate_fy2011(demand_fit(key, reading),
                                  engine(key).model)


@st.cache_data(show_spinner=False, max_entries=256)
def load_shift_table(key: EngineKey, reading: str, base: str,
                     closed: tuple[str, ...], downgraded: tuple[str, ...], store_share: float):
    """``geo.demand.load_shift`` (a ``LoadShift``: table, totals, fit) for one scenario.

    ``store_share`` is a fraction (0-1). Raises ``geo.errors.PoorFitError`` when the fit is poor.
    """
    scenario = scenarios.Scenario(base=base, closed=closed, downgraded=downgraded)
    return demand.load_shift(demand_fit(key, reading),
                             engine(key).model, scenario, store_share=store_share)


@st.cache_resource(show_spinner=False)
def network_quality(key: EngineKey) -> network_check.NetworkCheck:
    """``geo.network_check.check_network`` on the chosen network (once per engine)."""
    return network_check.check_network(engine(key))
