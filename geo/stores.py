"""Convenience stores per school district: counts, blank districts, road distance to a store.

A blank district (空白校区) has no certificate-issuing convenience store inside; the 2015
reorganisation study counted 12 of them with 262 stores (``REFERENCE_2015``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .districts import DistrictLayer
from .errors import LayerError
from .layers import METRIC_CRS
from .scenarios import AccessModel

if TYPE_CHECKING:  # the engine imports this module's consumers; imported where used
    from .engine import Engine

logger = logging.getLogger(__name__)

STORE_THRESHOLDS_M = (500.0, 1_000.0, 2_000.0)


REFERENCE_2015 = {"stores": 262, "blank_districts": 12}
"""The 2015 reorganisation study: 262 certificate-issuing stores, 12 blank school districts."""


def store_counts(layer: DistrictLayer, stores: gpd.GeoDataFrame) -> pd.DataFrame:
    """Count the stores inside each district, and the straight distance to the nearest one.

    Parameters
    ----------
    layer
        The district layer (EPSG:6670).
    stores
        Store points (any CRS; reprojected to EPSG:6670).

    Returns
    -------
    pandas.DataFrame
        One row per district: ``district_id, ward, population, quality, stores``
        (points inside the polygon; a point on a shared edge counts once) and
        ``nearest_store_km`` (straight line from the district's edge to the nearest
        store, 0 when one is inside; ``inf`` with no stores at all).
    """
    points = _metric_points(stores)
    polygons = layer.polygons.geometry.to_numpy()
    counts = stores_inside(layer.polygons, stores)
    if len(points):
        pairs, dist = shapely.STRtree(points).query_nearest(polygons, return_distance=True,
                                                            all_matches=False)
        nearest = np.full(len(polygons), np.inf)
        nearest[pairs[0]] = dist
        near_km = np.where(counts > 0, 0.0, nearest / 1000.0)
    else:
        near_km = np.full(len(polygons), np.inf)
    table = pd.DataFrame(layer.polygons[["district_id", "ward", "population", "quality"]])
    table["stores"] = counts
    table["nearest_store_km"] = near_km
    return table.reset_index(drop=True)


def stores_inside(polygons: gpd.GeoDataFrame, stores: gpd.GeoDataFrame) -> np.ndarray:
    """Count the stores inside each polygon (a point on a shared edge counts once).

    Parameters
    ----------
    polygons
        Zones in EPSG:6670 (e.g. ``geo.zones.ZoneLayer.polygons``).
    stores
        Store points (any CRS; reprojected to EPSG:6670).

    Returns
    -------
    numpy.ndarray
        int, one count per row of ``polygons``.
    """
    geometries = polygons.geometry.to_numpy()
    point_idx, poly_idx = shapely.STRtree(geometries).query(_metric_points(stores),
                                                            predicate="intersects")
    first = ~pd.Series(point_idx).duplicated().to_numpy()
    counts: np.ndarray = np.bincount(poly_idx[first], minlength=len(geometries))
    return counts


def _metric_points(stores: gpd.GeoDataFrame) -> np.ndarray:
    if stores.crs is None:
        msg = "stores have no CRS; load them with geo.layers.load_stores"
        raise LayerError(msg)
    points: np.ndarray = stores.to_crs(METRIC_CRS).geometry.to_numpy()
    return points


def blank_districts(layer: DistrictLayer, stores: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the districts with no store inside (空白校区), most populous first.

    Columns as ``store_counts``; ``stores`` is 0 on every row.
    """
    table = store_counts(layer, stores)
    blank = table[table["stores"] == 0]
    return blank.sort_values("population", ascending=False).reset_index(drop=True)


def blank_summary(layer: DistrictLayer, stores: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Blank-district counts for each store source beside the 2015 reference.

    Parameters
    ----------
    layer
        The school districts.
    stores
        Store layers by source (``geo.layers.load_stores``; a study holds them all).

    Returns
    -------
    pandas.DataFrame
        One row per source: ``source, stores, blank_districts, blank_population``,
        ``reference_stores`` (262) and ``reference_blank_districts`` (12) of the 2015 study.
    """
    rows = []
    for source, points in stores.items():
        blank = blank_districts(layer, points)
        rows.append({"source": source, "stores": len(points), "blank_districts": len(blank),
                     "blank_population": float(blank["population"].sum()),
                     "reference_stores": REFERENCE_2015["stores"],
                     "reference_blank_districts": REFERENCE_2015["blank_districts"]})
    return pd.DataFrame(rows)


def nearest_store_distances(eng: Engine, stores: gpd.GeoDataFrame) -> pd.Series:
    """Road distance from every small area to its nearest store, metres.

    Parameters
    ----------
    eng
        ``geo.engine.Engine``: its graph and origins are used, so figures match the
        engine's own certificate distances.
    stores
        Store points (any store layer).

    Returns
    -------
    pandas.Series
        float, indexed by ``key_code``; ``inf`` where no store is reachable.
    """
    from .engine import nearest_store_m

    metres = nearest_store_m(eng, stores)
    return pd.Series(metres.astype(float), index=eng.small_areas["key_code"].to_numpy(),
                     name="store_m")


def store_access(distances: AccessModel | pd.Series, layer: DistrictLayer, *,
                 thresholds_m: tuple[float, ...] = STORE_THRESHOLDS_M) -> pd.DataFrame:
    """Road distance to the nearest store per district.

    Parameters
    ----------
    distances
        An ``AccessModel`` (its ``store_origin_m``, for its ``store_source``) or a Series
        of metres indexed by small-area ``key_code`` (``nearest_store_distances``).
    layer
        The district layer.
    thresholds_m
        Distances for the "people beyond" columns, metres.

    Returns
    -------
    pandas.DataFrame
        One row per district: ``district_id, ward, population, mean_store_km``
        (population-weighted over people who can reach a store), ``max_store_km`` (over
        populated small areas) and ``beyond_<d>`` people per threshold (``beyond_500m``,
        ``beyond_1km``, ``beyond_2km``; unreachable people count as beyond).
    """
    if isinstance(distances, AccessModel):
        metres = pd.Series(distances.store_origin_m.astype(float),
                           index=distances.origins["key_code"].to_numpy())
    else:
        metres = distances.astype(float)
    members = layer.membership
    frame = members.assign(metres=metres.reindex(members["key_code"]).to_numpy(),
                           people=members["population"].to_numpy(dtype=float))
    missing = frame["metres"].isna()
    if missing.any():
        logger.warning("%d small area(s) have no store distance; left out", int(missing.sum()))
        frame = frame[~missing]
    reach = np.isfinite(frame["metres"])
    weighted = (frame["metres"] * frame["people"]).where(reach, 0.0)
    table = layer.polygons.set_index("district_id")[["ward", "population"]].copy()
    reach_people = frame["people"].where(reach, 0.0).groupby(frame["district_id"]).sum()
    table["mean_store_km"] = weighted.groupby(frame["district_id"]).sum() / reach_people / 1000
    populated = frame[(frame["people"] > 0) & reach]
    table["max_store_km"] = populated.groupby("district_id")["metres"].max() / 1000
    for limit in thresholds_m:
        label = f"{limit:g}m" if limit < 1000 else f"{limit / 1000:g}km"
        beyond = frame["people"] * ~(frame["metres"] <= limit)
        table[f"beyond_{label}"] = beyond.groupby(frame["district_id"]).sum()
    no_one_beyond = {c: 0.0 for c in table.columns if c.startswith("beyond_")}
    filled: pd.DataFrame = table.fillna(no_one_beyond).reset_index()
    return filled
