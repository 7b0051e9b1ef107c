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

from geo import demand, districts, io, reorganisation, scenarios, settings
from geo import zones as zones_module
from geo.engine import Engine, load_engine

logger = logging.getLogger(__name__)


def data_dir() -> str:
    """The data directory as a string (cache key)."""
    return str(settings.data_dir())


@st.cache_resource(show_spinner=False)
def engine(data: str, store_source: str) -> Engine:
    """Load layers, build the graph and precompute distances (raises DataMissingError)."""
    return load_engine(data, store_source=store_source)


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
def zones(data: str, store_source: str, kind: str) -> Zones:
    """Zone layer ``district``, ``small-area`` or ``ward`` with its display geometry."""
    eng = engine(data, store_source)
    layer = zones_module.zone_layer(
        eng, kind, districts=district_layer(data) if kind == "district" else None)
    shown = ["zone_id"] + (["quality"] if "quality" in layer.polygons.columns else [])
    return Zones(layer, io.to_display_features(layer.polygons, shown))


def zone_results(data: str, store_source: str, kind: str, table: pd.DataFrame):
    """Zone polygons (EPSG:6670) carrying a compare() table's columns."""
    return zones_module.with_results(zones(data, store_source, kind).layer, table)


@st.cache_data(show_spinner=False)
def blank_summary(data: str) -> pd.DataFrame:
    """Blank-district counts per store source beside the 2015 study's (geo.districts)."""
    return districts.blank_summary(district_layer(data), data)


@st.cache_resource(show_spinner=False)
def ward_features(data: str, store_source: str) -> dict:
    """Ward polygons as WGS84 GeoJSON with ``zone_id`` (ward code) and ``ward`` names."""
    wards = engine(data, store_source).wards.rename(columns={"ward_code": "zone_id"})
    return io.to_display_features(wards, ["zone_id", "ward"])


@st.cache_resource(show_spinner=False)
def office_points(data: str, store_source: str) -> pd.DataFrame:
    """Office register with WGS84 ``lat`` / ``lon`` for markers."""
    return io.to_display_points(engine(data, store_source).offices)


@st.cache_resource(show_spinner=False)
def store_points(data: str, store_source: str) -> pd.DataFrame:
    """Convenience stores with WGS84 ``lat`` / ``lon``."""
    return io.to_display_points(engine(data, store_source).stores)


@st.cache_data(show_spinner=False, max_entries=256)
def comparison(data: str, store_source: str, kind: str, base: str, closed: tuple[str, ...],
               downgraded: tuple[str, ...], measure: str) -> pd.DataFrame:
    """``geo.scenarios.compare`` table for one scenario, measure and zone layer."""
    eng = engine(data, store_source)
    scenario = scenarios.Scenario(base=base, closed=closed, downgraded=downgraded)
    membership = zones(data, store_source, kind).membership
    return scenarios.compare(eng.model, scenario, measure=measure, membership=membership)


@st.cache_data(show_spinner=False, max_entries=256)
def city_summary(data: str, store_source: str, base: str, closed: tuple[str, ...],
                 downgraded: tuple[str, ...], measure: str) -> dict:
    """City-wide figures (computed over small areas, which partition the population)."""
    table = comparison(data, store_source, "small-area", base, closed, downgraded, measure)
    return scenarios.summary(table)


@st.cache_data(show_spinner=False)
def branch_table(data: str, store_source: str, base: str) -> pd.DataFrame:
    """Branch -> nearest ward office road distances and 5 km candidates."""
    return reorganisation.branch_distances(engine(data, store_source).model, base=base)


@st.cache_data(show_spinner=False)
def candidates(data: str, store_source: str) -> tuple[str, ...]:
    """Office ids the 2015 5 km rule makes candidates (FY2015 office set)."""
    table = branch_table(data, store_source, "fy2015")
    return tuple(table.loc[table["candidate"], "office_id"])


@st.cache_resource(show_spinner=False)
def ward_labels(data: str, store_source: str) -> pd.DataFrame:
    """One label point per ward (inside the polygon), WGS84 ``lat`` / ``lon``."""
    wards = engine(data, store_source).wards[["ward", "geometry"]]
    return io.to_display_points(wards, label_points=True)


@st.cache_data(show_spinner=False)
def transaction_counts() -> pd.DataFrame:
    """``geo.demand.load_counts``: FY2011-13 counter transactions per office (read once).

    Raises ``geo.errors.DataMissingError`` / ``LayerError`` if the table is absent or bad.
    """
    return demand.load_counts()


@st.cache_resource(show_spinner=False)
def demand_fit(data: str, store_source: str, reading: str):
    """``geo.demand.fit_demand`` on the FY2013 counts: fitted once per 城南/南部 reading.

    Raises ``geo.errors.DataMissingError`` / ``LayerError`` if the counts table is absent or bad.
    """
    return demand.fit_demand(engine(data, store_source).model, year="fy2013", reading=reading)


@st.cache_resource(show_spinner=False)
def demand_check(data: str, store_source: str, reading: str):
    """``geo.demand.validate_fy2011``: the fit's FY2011 -> FY2013 out-of-sample check."""
    return demand.validate_fy2011(demand_fit(data, store_source, reading),
                                  engine(data, store_source).model)


@st.cache_data(show_spinner=False, max_entries=256)
def load_shift_table(data: str, store_source: str, reading: str, base: str,
                     closed: tuple[str, ...], downgraded: tuple[str, ...], store_share: float):
    """``geo.demand.load_shift`` (a ``LoadShift``: table, totals, fit) for one scenario.

    ``store_share`` is a fraction (0-1). Raises ``geo.errors.PoorFitError`` when the fit is poor.
    """
    scenario = scenarios.Scenario(base=base, closed=closed, downgraded=downgraded)
    return demand.load_shift(demand_fit(data, store_source, reading),
                             engine(data, store_source).model, scenario, store_share=store_share)
