"""What goes on a map: layers made light for a web map, and labels placed clear of symbols.

``to_display_features`` and ``to_display_points`` turn a layer into WGS84 GeoJSON-like data
for the browser, simplified and rounded to keep the page light (no figure is computed from
them); ``label_points`` places each polygon's label away from the symbols drawn over it, on
screen and on the printed pages alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CRSError
from .layers import DISPLAY_CRS, METRIC_CRS

DISPLAY_DECIMALS = 5
"""Coordinates sent to a browser map are rounded to 1e-5 degrees (about 1 m)."""


def _require_display_crs(frame: gpd.GeoDataFrame) -> None:
    if frame.crs is None:
        msg = "the layer has no CRS; it cannot be shown on a WGS84 web map"
        raise CRSError(msg)


DISPLAY_SIMPLIFY_M = 8.0
"""Boundaries drawn on the web map are simplified to this tolerance (metres), less than a
pixel at city zoom; neighbours keep their shared edges (``shapely.coverage_simplify``)."""


LABEL_CLEARANCE_M = 2_000.0
"""How far a polygon's label is kept from the symbols drawn over the map (offices): about
the half-width of a ward name plus an office marker at the city-wide zoom."""
LABEL_GRID_M = 250.0


def label_points(polygons: gpd.GeoDataFrame, avoid: gpd.GeoDataFrame, *,
                 clearance_m: float = LABEL_CLEARANCE_M) -> gpd.GeoDataFrame:
    """Place one label point inside each polygon, clear of the points in ``avoid``.

    Candidates lie on a ``LABEL_GRID_M`` grid inside the polygon. Of those at least
    ``clearance_m`` from every point of ``avoid`` and half that from the polygon's edge,
    the one nearest the polygon's centre (its centroid, or a point inside when the centroid
    is not) is taken; a polygon with no such room gets the candidate with the most room.

    Parameters
    ----------
    polygons
        E.g. the wards; any CRS (computed in EPSG:6670, returned in ``polygons``' CRS).
    avoid
        Points drawn over the map, e.g. the offices.
    clearance_m
        Room kept around each point of ``avoid``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``polygons``' attributes with a point geometry.
    """
    _require_display_crs(polygons)
    _require_display_crs(avoid)
    metric = polygons.to_crs(METRIC_CRS)
    others = avoid.to_crs(METRIC_CRS).geometry.to_numpy()
    obstacles = shapely.union_all(others) if len(others) else None
    chosen = [_label_point(polygon, obstacles, clearance_m) for polygon in metric.geometry]
    return metric.set_geometry(gpd.GeoSeries(chosen, index=metric.index, crs=METRIC_CRS)) \
        .to_crs(polygons.crs)


def _label_point(polygon: shapely.Geometry, obstacles: shapely.Geometry | None,
                 clearance_m: float) -> shapely.Geometry:
    centroid = polygon.centroid
    centre = centroid if polygon.contains(centroid) else polygon.representative_point()
    xmin, ymin, xmax, ymax = polygon.bounds
    xs, ys = np.meshgrid(np.arange(xmin, xmax, LABEL_GRID_M) + LABEL_GRID_M / 2,
                         np.arange(ymin, ymax, LABEL_GRID_M) + LABEL_GRID_M / 2)
    inside = shapely.contains_xy(polygon, xs.ravel(), ys.ravel())
    candidates = shapely.points(xs.ravel()[inside], ys.ravel()[inside])
    if obstacles is None or not len(candidates):
        return centre
    room = shapely.distance(candidates, obstacles) / clearance_m

    def with_edge(where: np.ndarray) -> None:  # the edge distance is the slow part
        edge = 2 * shapely.distance(candidates[where], polygon.boundary) / clearance_m
        room[where] = np.minimum(room[where], edge)

    with_edge(room >= 1.0)  # only where the offices leave room...
    clear = room >= 1.0
    if not clear.any():
        with_edge(np.ones(len(room), dtype=bool))  # ...or everywhere, to find the most room
        return candidates[int(np.argmax(room))]
    distance = shapely.distance(candidates[clear], centre)
    return candidates[clear][int(np.argmin(distance))]


def to_display_features(frame: gpd.GeoDataFrame, columns: Sequence[str], *,
                        simplify_m: float = DISPLAY_SIMPLIFY_M) -> dict[str, Any]:
    """Return a GeoJSON-like FeatureCollection in WGS84 for a web map.

    Polygons are simplified as a coverage (shared edges stay shared) to ``simplify_m``
    metres in EPSG:6670 and coordinates rounded to ``DISPLAY_DECIMALS``, to keep the page
    light; only ``columns`` are kept as properties. Figures are never computed from these.
    """
    _require_display_crs(frame)
    shown = frame[[*columns, "geometry"]]
    polygons = shown.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if simplify_m > 0 and polygons.all() and len(shown):
        metric = shown.to_crs(METRIC_CRS)
        metric["geometry"] = shapely.coverage_simplify(metric.geometry.to_numpy(), simplify_m)
        shown = metric
    shown = shown.to_crs(DISPLAY_CRS)
    shown["geometry"] = shapely.transform(shown.geometry.to_numpy(),
                                          lambda xy: np.round(xy, DISPLAY_DECIMALS))
    feature_collection: dict[str, Any] = shown.__geo_interface__
    return feature_collection


def to_display_points(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Return the attributes with WGS84 ``lat`` / ``lon`` columns, rounded for display."""
    _require_display_crs(frame)
    shown = frame.geometry.to_crs(DISPLAY_CRS)
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table["lat"] = shown.y.round(DISPLAY_DECIMALS).to_numpy()
    table["lon"] = shown.x.round(DISPLAY_DECIMALS).to_numpy()
    return table
