"""The dashboard's one caching seam: shared resources from geo/, and cached scenario results.

``st.cache_resource`` holds what is built once and never mutated (engine: layers, road
graph, distance matrices; the district layer; display geometry). ``st.cache_data`` holds
scenario results, which are array minima over the precomputed distances: switching a
toggle never re-runs shortest paths. Unhashable arguments carry a leading underscore and
travel with a hashable key.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
import streamlit as st

from geo import scenarios, settings
from geo.engine import Engine, load_engine

logger = logging.getLogger(__name__)

DISPLAY_CRS = "EPSG:4326"
DISPLAY_DECIMALS = 5
"""Coordinates sent to the browser are rounded to ~1 m."""


def optional_module(name: str, *attributes: str) -> Any | None:
    """Return ``geo.<name>`` if it exists and has ``attributes``, else None.

    Several geo/ modules are written alongside the dashboard; pages degrade gracefully
    until they land.
    """
    try:
        module = importlib.import_module(f"geo.{name}")
    except ImportError:
        return None
    return module if all(hasattr(module, a) for a in attributes) else None


def data_dir() -> str:
    """The data directory as a string (cache key)."""
    return str(settings.data_dir())


@st.cache_resource(show_spinner=False)
def engine(data: str, store_source: str) -> Engine:
    """Load layers, build the graph and precompute distances (raises DataMissingError)."""
    return load_engine(data, store_source=store_source)


@st.cache_resource(show_spinner=False)
def district_layer(data: str) -> Any | None:
    """Return the school-district layer from ``geo.districts``, or None while it is absent."""
    module = optional_module("districts", "build_districts", "district_membership")
    if module is None:
        return None
    try:
        return module.build_districts(data)
    except Exception:  # a half-finished district module must not take the dashboard down
        logger.exception("building school districts failed; falling back to small areas")
        return None


def zone_layers(data: str) -> list[str]:
    """Zone layers on offer, districts first when they exist."""
    layers = ["small-area", "ward"]
    return (["district"] + layers) if district_layer(data) is not None else layers


@dataclass(frozen=True)
class Zones:
    """A zone layer ready for the map: membership rows and WGS84 GeoJSON features."""

    kind: str
    membership: pd.DataFrame | None
    features: dict
    """FeatureCollection in EPSG:4326, one feature per zone with ``zone_id``."""
    blank_ids: frozenset[str]
    """Zones (districts) with no convenience store."""


@st.cache_resource(show_spinner=False)
def zone_polygons(data: str, store_source: str, kind: str):
    """Zone polygons (EPSG:6670) with a string ``zone_id`` column, as compare() names zones."""
    eng = engine(data, store_source)
    if kind == "district":
        frame, column = district_layer(data).polygons, "district_id"
    elif kind == "ward":
        frame, column = eng.wards, "ward_code"
    else:
        frame, column = eng.small_areas, "key_code"
    polygons = frame[[column, "geometry"]].rename(columns={column: "zone_id"})
    polygons["zone_id"] = polygons["zone_id"].astype(str)
    return polygons


def zone_results(data: str, store_source: str, kind: str, table: pd.DataFrame):
    """Zone polygons carrying a compare() table's columns (attribute merge on zone_id)."""
    polygons = zone_polygons(data, store_source, kind)
    table = table.assign(zone_id=table["zone_id"].astype(str))
    return polygons.merge(table, on="zone_id", how="inner")


def _geojson(frame, id_column: str) -> dict:
    display = frame[[id_column, "geometry"]].rename(columns={id_column: "zone_id"})
    display = display.to_crs(DISPLAY_CRS)
    display["zone_id"] = display["zone_id"].astype(str)
    display["geometry"] = shapely.transform(display.geometry.to_numpy(),
                                            lambda xy: np.round(xy, DISPLAY_DECIMALS))
    return display.__geo_interface__


@st.cache_resource(show_spinner=False)
def zones(data: str, store_source: str, kind: str) -> Zones:
    """Membership and display geometry of a zone layer (``district``, ``small-area``, ``ward``)."""
    eng = engine(data, store_source)
    if kind == "district":
        module = optional_module("districts", "district_membership")
        layer = district_layer(data)
        membership = module.district_membership(eng.model, layer)
        blank: frozenset[str] = frozenset()
        if hasattr(module, "blank_districts"):
            try:
                found = module.blank_districts(layer, eng.stores)
                ids = found["district_id"] if hasattr(found, "columns") else found
                blank = frozenset(str(i) for i in ids)
            except Exception:
                logger.exception("blank_districts failed")
        return Zones(kind, membership, _geojson(layer.polygons, "district_id"), blank)
    if kind == "ward":
        return Zones(kind, None, _geojson(eng.wards, "ward_code"), frozenset())
    return Zones(kind, None, _geojson(eng.small_areas, "key_code"), frozenset())


@st.cache_resource(show_spinner=False)
def ward_features(data: str, store_source: str) -> dict:
    """Ward polygons as WGS84 GeoJSON with ``ward`` names."""
    eng = engine(data, store_source)
    features = _geojson(eng.wards, "ward_code")
    names = dict(zip(eng.wards["ward_code"].astype(str), eng.wards["ward"]))
    for feature in features["features"]:
        feature["properties"]["ward"] = names[feature["properties"]["zone_id"]]
    return features


@st.cache_resource(show_spinner=False)
def office_points(data: str, store_source: str) -> pd.DataFrame:
    """Office register with WGS84 ``lat`` / ``lon`` for markers."""
    eng = engine(data, store_source)
    shown = eng.offices.to_crs(DISPLAY_CRS)
    table = pd.DataFrame(shown.drop(columns="geometry"))
    table["lat"] = shown.geometry.y.round(DISPLAY_DECIMALS)
    table["lon"] = shown.geometry.x.round(DISPLAY_DECIMALS)
    return table


@st.cache_resource(show_spinner=False)
def store_points(data: str, store_source: str) -> pd.DataFrame:
    """Convenience stores with WGS84 ``lat`` / ``lon``."""
    eng = engine(data, store_source)
    shown = eng.stores.to_crs(DISPLAY_CRS)
    table = pd.DataFrame(shown.drop(columns="geometry"))
    table["lat"] = shown.geometry.y.round(DISPLAY_DECIMALS)
    table["lon"] = shown.geometry.x.round(DISPLAY_DECIMALS)
    return table


@st.cache_data(show_spinner=False, max_entries=256)
def comparison(data: str, store_source: str, kind: str, base: str, closed: tuple[str, ...],
               downgraded: tuple[str, ...], measure: str) -> pd.DataFrame:
    """``geo.scenarios.compare`` table for one scenario, measure and zone layer."""
    eng = engine(data, store_source)
    scenario = scenarios.Scenario(base=base, closed=closed, downgraded=downgraded)
    zone = zones(data, store_source, kind)
    if zone.membership is not None:
        return scenarios.compare(eng.model, scenario, measure=measure, membership=zone.membership)
    return scenarios.compare(eng.model, scenario, measure=measure, by=kind)


@st.cache_data(show_spinner=False, max_entries=256)
def city_summary(data: str, store_source: str, base: str, closed: tuple[str, ...],
                 downgraded: tuple[str, ...], measure: str) -> dict:
    """City-wide figures (computed over small areas, which partition the population)."""
    table = comparison(data, store_source, "small-area", base, closed, downgraded, measure)
    return scenarios.summary(table)


@st.cache_data(show_spinner=False)
def branch_table(data: str, store_source: str, base: str) -> pd.DataFrame | None:
    """Branch -> nearest ward office road distances and 5 km candidates (None if absent)."""
    module = optional_module("reorganisation", "branch_distances")
    if module is None:
        return None
    return module.branch_distances(engine(data, store_source).model, base=base)


@st.cache_data(show_spinner=False)
def candidates(data: str, store_source: str) -> tuple[str, ...]:
    """Office ids the 2015 5 km rule makes candidates (FY2015 office set)."""
    table = branch_table(data, store_source, "fy2015")
    if table is None:
        return ()
    return tuple(table.loc[table["candidate"], "office_id"])


@st.cache_resource(show_spinner=False)
def ward_labels(data: str, store_source: str) -> pd.DataFrame:
    """One label point per ward (inside the polygon), WGS84 ``lat`` / ``lon``."""
    wards = engine(data, store_source).wards
    points = wards.geometry.representative_point().to_crs(DISPLAY_CRS)
    return pd.DataFrame({"ward": wards["ward"].to_numpy(), "lat": points.y.round(5).to_numpy(),
                         "lon": points.x.round(5).to_numpy()})
