"""Assemble the coverage engine from a data directory: layers, road graph, distances."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import distance, layers
from .graph import (
    RoadGraph,
    build_graph_from_lines,
    graph_from_osm_csv,
    graph_from_osm_xml,
)
from .scenarios import AccessModel

logger = logging.getLogger(__name__)

NETWORKS = ("osm-city-drive", "mlit", "osm-chuo-drive", "osm-chuo-walk")
DEFAULT_NETWORK = "osm-city-drive"
MODES = ("drive", "walk")
"""``drive`` follows one-way streets; ``walk`` uses the same streets in both directions."""
MLIT_DEFECT = {
    "ja": ("通れる道マップの道路線は主要道路のみで、"
           "分離帯のある道路は上下線が別々の線になっており、"
           "両側の間を横断できません（「壁」）。住宅地の道路も欠けています。距離が実際より大幅に長く"
           "なる地域があります（とくに南区）。既定の OSM 全市道路網を使ってください。"),
    "en": ("The MLIT lines hold main roads only and split each dual carriageway into two lines "
           "that cannot be crossed (walls); residential streets are missing. Distances are far "
           "too long in places (南区 above all): prefer the default city-wide OSM network."),
}
"""The known defect of the MLIT lines, shown wherever they are selected."""


@dataclass(frozen=True)
class Engine:
    """Everything the CLI and the dashboard compute from: layers, graph and distances."""

    data: Path
    graph: RoadGraph
    model: AccessModel
    wards: gpd.GeoDataFrame
    small_areas: gpd.GeoDataFrame
    offices: gpd.GeoDataFrame
    stores: gpd.GeoDataFrame
    origins: gpd.GeoDataFrame
    timings: dict[str, float]
    network: str = DEFAULT_NETWORK
    mode: str = "drive"


def origin_points(
    small_areas: gpd.GeoDataFrame, mesh: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Return one origin point per small area, where its residents live.

    With the 2020 500 m population mesh, the origin is the population-weighted centre of
    the small area's pieces in each mesh cell (mesh population shared by area); when that
    centre falls outside the polygon (a crescent-shaped area), the heaviest piece's inner
    point is used. Without the mesh, or for an area with no mesh population, it is a point
    guaranteed inside the polygon.

    The mesh also gives each small area its share of residents aged 65 and over (2020),
    weighted the same way; an area with no mesh age figure takes the city-wide share.

    Parameters
    ----------
    small_areas
        Polygons in EPSG:6670.
    mesh
        ``geo.layers.load_population_mesh`` (EPSG:6670), optional.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per small area (same order): ``method`` (``population-weighted`` or
        ``inner point``), ``share_65plus`` (0-1; NaN without the mesh) and the point
        ``geometry`` (EPSG:6670).
    """
    inner = small_areas.geometry.representative_point()
    method = np.full(len(small_areas), "inner point", dtype=object)
    if mesh is None:
        return gpd.GeoDataFrame({"method": method, "share_65plus": np.nan},
                                geometry=inner.to_numpy(), crs=small_areas.crs)
    areas = small_areas[["geometry"]].assign(area_index=np.arange(len(small_areas)))
    cells = mesh[["population", "share_65plus", "geometry"]].assign(
        cell_area=mesh.geometry.area)
    pieces = gpd.overlay(areas, cells, how="intersection", keep_geom_type=True)
    pieces["weight"] = pieces["population"] * pieces.geometry.area / pieces["cell_area"]
    pieces = pieces[pieces["weight"] > 0]
    centres = pieces.geometry.centroid
    pieces["wx"] = centres.x * pieces["weight"]
    pieces["wy"] = centres.y * pieces["weight"]
    aged = pieces["share_65plus"].notna()
    pieces["elderly"] = pieces["weight"] * pieces["share_65plus"].fillna(0.0)
    pieces["aged_weight"] = pieces["weight"].where(aged, 0.0)
    sums = pieces.groupby("area_index")[["wx", "wy", "weight", "elderly", "aged_weight"]].sum()
    heaviest = pieces.loc[pieces.groupby("area_index")["weight"].idxmax()].set_index("area_index")
    points = inner.to_numpy().copy()
    for index, row in sums.iterrows():
        centre = shapely.Point(row["wx"] / row["weight"], row["wy"] / row["weight"])
        polygon = small_areas.geometry.iloc[index]
        if not polygon.contains(centre):
            centre = heaviest.geometry.loc[index].representative_point()
        points[index] = centre
        method[index] = "population-weighted"
    aged_weight = sums["aged_weight"].sum()
    city_share = sums["elderly"].sum() / aged_weight if aged_weight > 0 else np.nan
    share = np.full(len(small_areas), city_share)
    known = sums[sums["aged_weight"] > 0]
    share[known.index.to_numpy()] = (known["elderly"] / known["aged_weight"]).to_numpy()
    return gpd.GeoDataFrame({"method": method, "share_65plus": share}, geometry=points,
                            crs=small_areas.crs)


def build_access_model(
    graph: RoadGraph, offices: gpd.GeoDataFrame, small_areas: gpd.GeoDataFrame,
    stores: gpd.GeoDataFrame, *, store_source: str, origins: gpd.GeoDataFrame | None = None,
) -> AccessModel:
    """Precompute road distances from every office and the nearest store to every origin.

    Parameters
    ----------
    graph
        Road graph (EPSG:6670).
    offices, small_areas, stores
        Layers as returned by ``geo.layers`` (EPSG:6670).
    store_source
        Name of the store layer, recorded in the model.
    origins
        Origin points, one per small area (``origin_points``); default: inner points.

    Returns
    -------
    AccessModel
    """
    origin_xy = origin_points(small_areas) if origins is None else origins
    origin_anchors = distance.snap_points(origin_xy, graph)
    office_anchors = distance.snap_points(offices, graph)
    store_anchors = distance.snap_points(stores, graph)
    office_groups = office_anchors.each()
    office_nodes = distance.node_distances(graph, office_groups)
    office_origin = distance.distances_to_anchors(office_nodes, origin_anchors,
                                                  sources=office_groups)
    # rows: from each office; columns: to each office (the resident's direction)
    office_office = distance.distances_to_anchors(office_nodes, office_anchors,
                                                  sources=office_groups).T
    store_origin = distance.nearest_distance(graph, store_anchors, origin_anchors)
    origins = pd.DataFrame(small_areas.drop(columns="geometry")).reset_index(drop=True)
    origins["snap_m"] = origin_anchors.snap_m
    origins["origin_method"] = origin_xy["method"].to_numpy()
    origins["share_65plus"] = origin_xy["share_65plus"].to_numpy()
    origins["origin_x"] = origin_xy.geometry.x.to_numpy()
    origins["origin_y"] = origin_xy.geometry.y.to_numpy()
    office_snap = distance.snap_table(offices, office_anchors, id_column="office_id")
    for row in office_snap[office_snap["far"]].itertuples():
        logger.warning("office %s snaps %.0f m from the nearest road", row.office_id, row.snap_m)
    return AccessModel(
        offices=pd.DataFrame(offices.drop(columns="geometry")).reset_index(drop=True),
        origins=origins, office_origin_m=office_origin, store_origin_m=store_origin,
        office_office_m=office_office,
        office_straight_m=distance.straight_distances(offices.geometry, offices.geometry),
        office_snap=office_snap,
        store_snap=distance.snap_table(stores, store_anchors, id_column="store_id"),
        store_source=store_source, graph_summary=graph.report.summary(),
    )


def build_graph(
    data: str | os.PathLike[str] | None = None, *, network: str = DEFAULT_NETWORK,
    mode: str = "drive",
) -> RoadGraph:
    """Build the road graph named by ``network`` from the data directory.

    Parameters
    ----------
    network
        ``osm-city-drive`` (the default: the city-wide OSM drive network, the newest
        ``roads/osm_city_drive_<date>_{nodes,edges}.csv.gz``, from the bundle or from
        ``python -m geo fetch``), ``mlit`` (the MLIT lines: main roads only, see
        ``MLIT_DEFECT``), ``osm-chuo-drive`` or ``osm-chuo-walk`` (the bundle's OSM
        extracts of 中央区 only, through osmnx).
    mode
        ``drive`` (one-way streets respected) or ``walk`` (every street both ways).
    """
    if mode not in MODES:
        msg = f"unknown travel mode {mode!r}; choose one of {', '.join(MODES)}"
        raise ValueError(msg)
    if network == "osm-city-drive":
        graph = graph_from_osm_csv(layers.bundle_path("osm_city_drive_nodes", data),
                                   layers.bundle_path("osm_city_drive_edges", data))
    elif network == "mlit":
        graph = build_graph_from_lines(layers.load_roads(data), source="MLIT 通れる道マップ")
    elif network == "osm-chuo-drive":
        graph = graph_from_osm_xml(layers.bundle_path("osm_drive_chuo", data),
                                   network_type="drive")
    elif network == "osm-chuo-walk":
        graph = graph_from_osm_xml(layers.bundle_path("osm_walk_chuo", data),
                                   network_type="walk")
    else:
        msg = f"unknown network {network!r}; choose one of {', '.join(NETWORKS)}"
        raise ValueError(msg)
    return graph.undirected() if mode == "walk" else graph


def check_data(data: str | os.PathLike[str] | None, network: str) -> Path:
    """Check the network's name and that the data directory holds what an engine on it reads.

    Returns
    -------
    pathlib.Path
        The data directory.

    Raises
    ------
    ValueError
        An unknown network.
    geo.errors.DataMissingError
        A file is missing (one message naming every one).
    """
    if network not in NETWORKS:
        msg = f"unknown network {network!r}; choose one of {', '.join(NETWORKS)}"
        raise ValueError(msg)
    return layers.check_bundle(
        data, keys=(*layers.REQUIRED_FOR_ENGINE, *layers.NETWORK_FILES[network]))


def load_engine(
    data: str | os.PathLike[str] | None = None, *, store_source: str = "union",
    network: str = DEFAULT_NETWORK, mode: str = "drive",
) -> Engine:
    """Load every layer, build the graph and precompute distances.

    Parameters
    ----------
    data
        Data directory (default: ``MADOGUCHI_DATA`` or ``data/bundle``).
    store_source
        Convenience-store layer: ``osm``, ``overture``, ``lawson2013`` or ``union``.
    network
        Road network, see ``build_graph``.
    mode
        ``drive`` or ``walk``, see ``build_graph``.

    Raises
    ------
    geo.errors.DataMissingError
        When the data directory lacks a file the engine needs.
    """
    root = check_data(data, network)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    wards = layers.load_wards(root)
    small_areas = layers.load_small_areas(root)
    offices = layers.load_offices(root)
    stores = layers.load_stores(root, source=store_source)
    mesh = (layers.load_population_mesh(root)
            if (root / layers.BUNDLE_FILES["mesh"].relpath).is_file() else None)
    if mesh is None:
        logger.warning("no population mesh: origins are inner points of the small areas")
    timings["load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    graph = build_graph(root, network=network, mode=mode)
    timings["graph_s"] = time.perf_counter() - started
    started = time.perf_counter()
    origins = origin_points(small_areas, mesh)
    model = build_access_model(graph, offices, small_areas, stores, store_source=store_source,
                               origins=origins)
    timings["precompute_s"] = time.perf_counter() - started
    logger.info("engine ready: %s", {k: round(v, 2) for k, v in timings.items()})
    return Engine(data=root, graph=graph, model=model, wards=wards, small_areas=small_areas,
                  offices=offices, stores=stores, origins=origins, timings=timings,
                  network=network, mode=mode)


def nearest_store_m(eng: Engine, stores: gpd.GeoDataFrame) -> np.ndarray:
    """Road distance from each origin to the nearest of ``stores``, metres.

    Use it to compare store layers (``geo.layers.load_stores(source=...)``) on the same
    graph and origins as the engine.

    Returns
    -------
    numpy.ndarray
        ``(n_origins,)`` float32, ``inf`` where no store is reachable.
    """
    origin_anchors = distance.snap_points(eng.origins, eng.graph)
    store_anchors = distance.snap_points(stores, eng.graph)
    return distance.nearest_distance(eng.graph, store_anchors, origin_anchors)
