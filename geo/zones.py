"""Zone layers that results are aggregated to: school districts, small areas and wards."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from . import districts as districts_module
from . import scenarios
from . import stores as stores_module
from .engine import Engine

ZONE_KINDS = ("district", "small-area", "ward")


@dataclass(frozen=True)
class ZoneLayer:
    """Polygons of one zone layer and how origins belong to them.

    Attributes
    ----------
    kind
        ``district``, ``small-area`` or ``ward``.
    polygons
        ``zone_id`` (str), ``zone_name``, ``geometry`` (EPSG:6670), plus the layer's own
        columns (for districts: ``quality``, ``population``, ...).
    membership
        ``origin, zone_id, zone_name, ward, population`` rows for ``scenarios.compare``.
    blank_ids
        Zones with no convenience store of the engine's store layer inside (districts only).
    """

    kind: str
    polygons: gpd.GeoDataFrame
    membership: pd.DataFrame
    blank_ids: frozenset[str]


def zone_layer(
    eng: Engine, kind: str, *, districts: districts_module.DistrictLayer | None = None
) -> ZoneLayer:
    """Return the zone layer ``kind`` for the engine's origins.

    Parameters
    ----------
    eng
        The coverage engine.
    kind
        ``district`` (needs ``districts``), ``small-area`` or ``ward``.
    districts
        The school-district layer (``geo.districts.build_districts``).
    """
    if kind == "district":
        if districts is None:
            msg = "the district zone layer needs the district layer (geo.districts.build_districts)"
            raise ValueError(msg)
        polygons = districts.polygons.rename(columns={"district_id": "zone_id"})
        polygons["zone_name"] = polygons["zone_id"]
        blank = stores_module.blank_districts(districts, eng.stores)["district_id"]
        return ZoneLayer(kind, polygons, districts_module.district_membership(eng.model, districts),
                         frozenset(blank.astype(str)))
    if kind == "ward":
        polygons = eng.wards.rename(columns={"ward_code": "zone_id", "ward": "zone_name"})
    elif kind == "small-area":
        polygons = eng.small_areas.rename(columns={"key_code": "zone_id", "name": "zone_name"})
    else:
        msg = f"unknown zone layer {kind!r}; choose one of {', '.join(ZONE_KINDS)}"
        raise ValueError(msg)
    polygons = polygons.assign(zone_id=polygons["zone_id"].astype(str))
    return ZoneLayer(kind, polygons, scenarios.zone_membership(eng.model, by=kind), frozenset())


def with_results(layer: ZoneLayer, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Attach a ``scenarios.compare`` table to the layer's polygons (by ``zone_id``).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per zone present in both, the table's columns and the geometry (EPSG:6670).
    """
    shapes = layer.polygons[["zone_id", "geometry"]]
    table = table.assign(zone_id=table["zone_id"].astype(str))
    return shapes.merge(table, on="zone_id", how="inner")
