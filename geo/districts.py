"""Elementary school districts (小学校区) built from the attendance-zone table and 2015 small areas.

The official district polygons (国土数値情報 A27) are not in the bundle, so districts are
assembled the way a city GIS team would: every town (町丁) named in the city's
attendance-zone table (通学区域, effective 2026-04-01) is matched by normalised name to the
2015 census small areas; a small area claimed by one school goes to that school; a small
area claimed by several schools (a town split by address or lot ranges) is divided among
them by the nearest school point, its population shared by where the 2020 population mesh
puts people (by area where the mesh has no one); small areas no school
claims go to the neighbouring district with the longest shared border. The pieces are then
cleaned into a coverage (overlaps resolved, slivers and gaps closed) and dissolved.

All geometry is EPSG:6670; exports to GeoJSON are WGS84 (RFC 7946).
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import layers
from .errors import LayerError
from .scenarios import AccessModel
from .towns import match_small_areas, school_key, town_claims

if TYPE_CHECKING:  # the engine imports this module's consumers; imported where used
    pass

logger = logging.getLogger(__name__)

METRIC_CRS = layers.METRIC_CRS
GAP_WIDTH_M = 50.0
"""Gaps narrower than this between small-area polygons are merged into a neighbour
(the widest artefact gap in the 2015 small areas is about 17 m; no real hole is that thin)."""
MIN_FRAGMENT_M2 = 2_000.0
"""Detached district parts smaller than this (left by cleaning or splitting) join a neighbour."""

QUALITY_EXACT = "exact"
QUALITY_SPLIT = "split-approx"
QUALITY_FILLED = "filled"

CENTRES: dict[str, tuple[str, ...]] = {
    "中央": ("黒髪", "壺川", "城東", "碩台"),
    "五福": ("一新", "慶徳", "向山", "五福", "春竹", "本荘"),
    "大江": ("出水", "出水南", "大江", "帯山", "帯山西", "白川", "砂取", "託麻原", "白山"),
    "託麻": ("託麻北", "託麻西", "託麻東", "託麻南", "長嶺", "西原"),
    "秋津": ("秋津", "桜木", "桜木東", "若葉"),
    "東部": ("泉ヶ丘", "画図", "尾ノ上", "健軍", "健軍東", "月出", "東町", "山ノ内"),
    "西部": ("池上", "小島", "春日", "白坪", "城山", "高橋", "中島", "古町", "松尾北", "松尾西",
             "松尾東"),
    "河内": ("河内", "芳野"),
    "花園": ("池田", "城西", "花園"),
    "富合": ("富合",),
    "飽田": ("飽田西", "飽田東", "飽田南"),
    "天明": ("奥古閑", "川口", "銭塘", "中緑"),
    "幸田": ("田迎", "田迎南", "田迎西", "御幸"),
    "城南": ("隈庄", "杉上", "豊田"),
    "南部": ("川尻", "城南", "日吉", "日吉東", "力合", "力合西"),
    "植木": ("植木", "桜井", "山東", "田底", "田原", "菱形", "山本", "吉松"),
    "北部": ("西里", "北部東", "川上"),
    "清水": ("麻生田", "清水", "城北", "高平台"),
    "龍田": ("楠", "龍田", "楡木", "武蔵", "弓削"),
}
"""まちづくりセンター (community centre) -> school districts, FY2015 (domain brief)."""


# --------------------------------------------------------------------------- geometry


def split_polygon(polygon: shapely.Geometry, points: np.ndarray) -> np.ndarray:
    """Divide a polygon among points, each part holding the places nearest its point.

    Parameters
    ----------
    polygon
        Polygon or MultiPolygon (metric CRS).
    points
        Shapely Points, one per claimant.

    Returns
    -------
    numpy.ndarray
        One (possibly empty) geometry per point, in the order of ``points``: the
        Voronoi cell of the point clipped to ``polygon``. Coincident points share
        their cell: the first gets it, the others get an empty geometry.
    """
    points = np.asarray(points, dtype=object)
    if len(points) == 1:
        return np.array([polygon], dtype=object)
    xy = shapely.get_coordinates(points)
    _, first = np.unique(xy.round(3), axis=0, return_index=True)
    first = np.sort(first)
    parts = np.array([shapely.Polygon()] * len(points), dtype=object)
    if len(first) == 1:
        parts[first[0]] = polygon
        return parts
    cells = shapely.voronoi_polygons(shapely.multipoints(points[first]), extend_to=polygon,
                                     ordered=True)
    parts[first] = shapely.intersection(np.asarray(cells.geoms, dtype=object), polygon)
    return parts


def _district_schools(schools: gpd.GeoDataFrame, district_ids: list[str]) -> gpd.GeoDataFrame:
    """The school row of each district (point, ward, ward code), matched by ``school_key``."""
    keys = pd.Index([school_key(n) for n in schools["name"]])
    by_key = schools.set_axis(keys)[~keys.duplicated(keep="last")]
    missing = [d for d in district_ids if school_key(d) not in by_key.index]
    if missing:
        msg = (f"the attendance-zone table ({layers.BUNDLE_FILES['attendance_zones'].relpath}) "
               f"names school(s) with no point in the elementary-school layer "
               f"({layers.BUNDLE_FILES['schools'].relpath}): {', '.join(missing)}")
        raise LayerError(msg)
    return by_key.loc[[school_key(d) for d in district_ids]].set_axis(pd.Index(district_ids))


def _pieces(small_areas: gpd.GeoDataFrame, claimed: dict[str, list[str]],
            points: dict[str, shapely.Point]) -> pd.DataFrame:
    """One row per (small area, district) piece: key_code, district_id, kind, share, geometry."""
    rows = []
    for code, geom in zip(small_areas["key_code"], small_areas.geometry, strict=True):
        schools = claimed.get(code)
        if not schools:
            rows.append((code, "", QUALITY_FILLED, 1.0, geom))
            continue
        if len(schools) == 1:
            rows.append((code, schools[0], QUALITY_EXACT, 1.0, geom))
            continue
        parts = split_polygon(geom, np.array([points[s] for s in schools], dtype=object))
        areas = shapely.area(parts)
        for school, part, area in zip(schools, parts, areas, strict=True):
            if area > 0:
                rows.append((code, school, QUALITY_SPLIT, float(area / areas.sum()), part))
    return pd.DataFrame(rows, columns=["key_code", "district_id", "kind", "share", "geometry"])


def _fill_unclaimed(pieces: pd.DataFrame, points: dict[str, shapely.Point]) -> pd.DataFrame:
    """Give unclaimed pieces to the neighbouring district with the longest shared border."""
    pieces = pieces.copy()
    geoms = pieces["geometry"].to_numpy()
    tree = shapely.STRtree(geoms)
    boundaries = shapely.boundary(geoms)
    for _ in range(len(pieces)):
        open_rows = np.flatnonzero(pieces["district_id"].to_numpy() == "")
        if not len(open_rows):
            break
        changed = False
        for i in open_rows:
            shared: dict[str, float] = defaultdict(float)
            for j in tree.query(geoms[i], predicate="intersects"):
                owner = str(pieces.at[j, "district_id"])
                if j != i and owner:
                    length = shapely.length(shapely.intersection(boundaries[i], boundaries[j]))
                    shared[owner] += float(length)
            if shared and max(shared.values()) > 0:
                pieces.at[i, "district_id"] = max(sorted(shared), key=shared.__getitem__)
                changed = True
        if not changed:
            break
    for i in np.flatnonzero(pieces["district_id"].to_numpy() == ""):  # islands: nearest school
        names = sorted(points)
        dist = shapely.distance(geoms[i], np.array([points[n] for n in names], dtype=object))
        pieces.at[i, "district_id"] = names[int(np.argmin(dist))]
    return pieces


def clean_coverage(geometries: np.ndarray, *, gap_width: float = GAP_WIDTH_M) -> np.ndarray:
    """Turn overlapping, gappy polygons into a coverage with exactly shared edges.

    Overlaps go to the polygon with the longest shared border; gaps narrower than
    ``gap_width`` metres are merged into a neighbour (GEOS CoverageCleaner).

    Parameters
    ----------
    geometries
        Polygons / MultiPolygons in a metric CRS.
    gap_width
        Metres.

    Returns
    -------
    numpy.ndarray
        Cleaned geometries in the same order (a fully covered-over input comes back empty).
    """
    cleaned: np.ndarray = shapely.coverage_clean(np.asarray(geometries, dtype=object),
                                                 gap_width=gap_width)
    return cleaned


# --------------------------------------------------------------------------- layer


@dataclass(frozen=True)
class DistrictLayer:
    """Elementary school districts with 2015 population, and how they were made.

    Treat the frames as read-only: the layer is meant to be built once and cached.

    Attributes
    ----------
    polygons
        One row per current primary school of the attendance-zone table:
        ``district_id`` (the school as the table writes it, e.g. ``壺川小``; stable),
        ``school``, ``ward``, ``ward_code`` (of the school's location), ``population``,
        ``households`` (2015 census, split small areas shared as the population),
        ``area_km2``,
        ``centre`` (まちづくりセンター of FY2015 from the domain brief, ``''`` when the
        district is not in that list), ``quality``, ``split_population`` (people in small
        areas divided between schools), ``filled_population`` (people in small areas no
        school claims by name), ``geometry`` (EPSG:6670, a clean coverage).

        ``quality`` is ``exact`` when every small area of the district is claimed by this
        school alone (the district is the union of whole census small areas); it holds
        ``split-approx`` when some small area is claimed by several schools (a town divided
        by address or lot ranges), divided here by nearest school point with population
        shared by the 2020 mesh (or by area); and ``filled`` when some small area matched no
        town in the table and was given to the neighbour with the longest shared border.
        Flags combine with ``+`` (``split-approx+filled``).
    membership
        ``key_code, district_id, share``: share of the small area's population counted in
        the district (shares of a small area sum to 1), ``kind`` (``exact``,
        ``split-approx`` or ``filled``) and ``population`` (2015 people counted in the
        district from that small area: its population times ``share``).
    unmatched_towns
        Table claims (``school, ward, town, key``) that matched no 2015 small area (towns
        created or renamed since 2015; their land lies in an older small area).
    unassigned_small_areas
        Small areas no school claims by name (``key_code, name, ward, population,
        district_id``, the district they were filled into).
    """

    polygons: gpd.GeoDataFrame
    membership: pd.DataFrame
    unmatched_towns: pd.DataFrame
    unassigned_small_areas: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def _centre_of(district_id: str) -> str:
    for centre, members in CENTRES.items():
        if school_key(district_id) in {school_key(m) for m in members}:
            return centre
    return ""


def _quality(kinds: set[str]) -> str:
    flags = [k for k in (QUALITY_SPLIT, QUALITY_FILLED) if k in kinds]
    return "+".join(flags) if flags else QUALITY_EXACT


def _mesh_shares(pieces: pd.DataFrame, mesh: gpd.GeoDataFrame) -> np.ndarray:
    """Population share of each split piece from the population mesh (area share fallback).

    A piece's weight is the mesh population of the cells it covers, shared by area; the
    pieces of one small area then split its population in proportion to their weights. A
    small area whose pieces hold no mesh population keeps its area shares.
    """
    split = pieces["kind"].to_numpy() == QUALITY_SPLIT
    shares = pieces["share"].to_numpy(dtype=float).copy()
    if not split.any():
        return shares
    frame = gpd.GeoDataFrame({"piece": np.flatnonzero(split)},
                             geometry=pieces.loc[split, "geometry"].to_numpy(), crs=mesh.crs)
    cells = mesh[["population", "geometry"]].assign(cell_area=mesh.geometry.area)
    overlap = gpd.overlay(frame, cells, how="intersection", keep_geom_type=True)
    weight = (overlap["population"] * overlap.geometry.area / overlap["cell_area"]).groupby(
        overlap["piece"]).sum().reindex(np.flatnonzero(split), fill_value=0.0)
    codes = pieces["key_code"].to_numpy()[np.flatnonzero(split)]
    total = weight.groupby(codes).transform("sum").to_numpy()
    known = total > 0
    shares[np.flatnonzero(split)[known]] = weight.to_numpy()[known] / total[known]
    return shares


def assemble(small_areas: gpd.GeoDataFrame, zones: pd.DataFrame, schools: gpd.GeoDataFrame, *,
             gap_width: float = GAP_WIDTH_M, mesh: gpd.GeoDataFrame | None = None
             ) -> DistrictLayer:
    """Build the district layer from loaded layers (see ``build_districts``).

    Parameters
    ----------
    small_areas
        ``geo.layers.load_small_areas`` columns, EPSG:6670.
    zones
        ``geo.layers.load_attendance_zones`` rows.
    schools
        ``geo.layers.load_schools`` points, EPSG:6670.
    gap_width
        Gaps between small areas narrower than this (metres) are closed.
    mesh
        ``geo.layers.load_population_mesh`` (EPSG:6670): when given, a small area divided
        between schools shares its population by where the 2020 mesh puts people rather
        than by area.

    Returns
    -------
    DistrictLayer
    """
    for frame, label in ((small_areas, "small areas"), (schools, "schools")):
        if frame.crs is None or not frame.crs.equals(METRIC_CRS):
            msg = f"{label} must be in {METRIC_CRS} (got {frame.crs}); load them with geo.layers"
            raise LayerError(msg)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    claims = town_claims(zones)
    located = _district_schools(schools, sorted(claims["school"].unique()))
    points = located.geometry.to_dict()
    claimed, unmatched = match_small_areas(small_areas, claims)
    pieces = _pieces(small_areas, claimed, points)
    if mesh is not None:
        pieces["share"] = _mesh_shares(pieces, mesh)
    timings["match_s"] = time.perf_counter() - started
    started = time.perf_counter()
    pieces["geometry"] = clean_coverage(pieces["geometry"].to_numpy(), gap_width=gap_width)
    pieces = _fill_unclaimed(pieces, points)
    timings["clean_s"] = time.perf_counter() - started
    started = time.perf_counter()
    attrs = small_areas.set_index("key_code")[["name", "ward", "population", "households"]]
    pieces = pieces.join(attrs, on="key_code")
    pieces["population"] *= pieces["share"]
    pieces["households"] *= pieces["share"]
    polygons = _dissolve(pieces, located)
    timings["dissolve_s"] = time.perf_counter() - started
    unassigned = pieces[pieces["kind"] == QUALITY_FILLED][
        ["key_code", "name", "ward", "population", "district_id"]].reset_index(drop=True)
    membership = pieces[["key_code", "district_id", "share", "kind", "population"]].reset_index(
        drop=True)
    if len(unmatched):
        logger.info("%d attendance-zone town(s) match no 2015 small area: %s", len(unmatched),
                    ", ".join(unmatched["town"]))
    if len(unassigned):
        logger.info("%d small area(s) claimed by no school, filled by neighbour: %s",
                    len(unassigned), ", ".join(unassigned["name"]))
    logger.info("districts built: %s", {k: round(v, 2) for k, v in timings.items()})
    return DistrictLayer(polygons=polygons, membership=membership, unmatched_towns=unmatched,
                         unassigned_small_areas=unassigned, timings=timings)


def _dissolve(pieces: pd.DataFrame, located: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One polygon per district (``located``: ``_district_schools``), fragments merged."""
    parts = [pieces[pieces["district_id"] == district_id] for district_id in located.index]
    geometries = merge_fragments(np.array([_union(part["geometry"]) for part in parts],
                                          dtype=object))
    rows = []
    for (district_id, school), part, geometry in zip(located.iterrows(), parts, geometries,
                                                     strict=True):
        rows.append({
            "district_id": district_id, "school": district_id,
            "ward": school["ward"], "ward_code": school["ward_code"],
            "population": float(part["population"].sum()),
            "households": float(part["households"].sum()),
            "area_km2": float(shapely.area(geometry)) / 1e6,
            "centre": _centre_of(district_id), "quality": _quality(set(part["kind"])),
            "split_population": float(part.loc[part["kind"] == QUALITY_SPLIT, "population"].sum()),
            "filled_population": float(
                part.loc[part["kind"] == QUALITY_FILLED, "population"].sum()),
            "geometry": geometry,
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


def _union(geometries: pd.Series) -> shapely.Geometry:
    geoms = geometries.to_numpy()
    geoms = geoms[~shapely.is_empty(geoms)]
    return shapely.coverage_union_all(geoms) if len(geoms) else shapely.Polygon()


def merge_fragments(geometries: np.ndarray, *, min_area_m2: float = MIN_FRAGMENT_M2
                    ) -> np.ndarray:
    """Move small detached parts of coverage polygons into the neighbour they border most.

    Parameters
    ----------
    geometries
        A valid polygonal coverage (metric CRS).
    min_area_m2
        Parts smaller than this (other than a polygon's largest part) are moved.

    Returns
    -------
    numpy.ndarray
        The coverage with the fragments moved; a fragment touching no other polygon stays.
    """
    geoms = np.asarray(geometries, dtype=object).copy()
    tree = shapely.STRtree(geoms)
    for i in range(len(geoms)):
        # geoms[i], not geometries[i]: an earlier step may have moved a fragment into it
        parts = np.asarray(shapely.get_parts(geoms[i]), dtype=object)
        if len(parts) < 2:
            continue
        areas = shapely.area(parts)
        order = np.argsort(areas, kind="stable")
        keep = [parts[order[-1]]]
        for k in order[:-1]:
            part = parts[k]
            shared = {int(j): shapely.length(shapely.intersection(part.boundary, geoms[j].boundary))
                      for j in tree.query(part, predicate="intersects") if j != i}
            shared = {j: v for j, v in shared.items() if v > 0}
            if areas[k] >= min_area_m2 or not shared:
                keep.append(part)
                continue
            target = max(shared, key=shared.__getitem__)
            geoms[target] = shapely.coverage_union_all([geoms[target], part])
        geoms[i] = shapely.coverage_union_all(keep) if len(keep) > 1 else keep[0]
    return geoms


def build_districts(data: str | os.PathLike[str] | None = None) -> DistrictLayer:
    """Build the elementary school districts from the data bundle.

    Parameters
    ----------
    data
        Data directory (default: ``MADOGUCHI_DATA`` or ``data/bundle``).

    Returns
    -------
    DistrictLayer
        About 92 districts in EPSG:6670 whose population sums to the small-area total.

    Raises
    ------
    geo.errors.DataMissingError
        When the small areas, school points or attendance-zone table are missing.
    """
    root = layers.check_bundle(data, keys=("wards", "small_areas", "schools", "attendance_zones"))
    mesh = (layers.load_population_mesh(root)
            if (root / layers.BUNDLE_FILES["mesh"].relpath).is_file() else None)
    return assemble(layers.load_small_areas(root), layers.load_attendance_zones(root),
                    layers.load_schools(root), mesh=mesh)


# --------------------------------------------------------------------------- engine and stores


def district_membership(model: AccessModel, layer: DistrictLayer) -> pd.DataFrame:
    """Return ``origin, zone_id, zone_name, ward, population`` rows for the district layer.

    The shape of ``geo.scenarios.zone_membership``, so
    ``scenarios.compare(model, scenario, membership=district_membership(model, layer))``
    compares districts. A small area split between districts appears once per district
    with ``population * share``.

    Parameters
    ----------
    model
        Access model whose origins are the 2015 small areas (``key_code``).
    layer
        The district layer.
    """
    origins = model.origins.reset_index(drop=True)
    position = pd.Series(np.arange(len(origins)), index=origins["key_code"].to_numpy())
    members = layer.membership[layer.membership["key_code"].isin(position.index)]
    missing = len(origins) - members["key_code"].nunique()
    if missing:
        logger.warning("%d origin(s) belong to no district and are left out", missing)
    wards = layer.polygons.set_index("district_id")["ward"]
    origin = position.loc[members["key_code"]].to_numpy()
    return pd.DataFrame({
        "origin": origin, "zone_id": members["district_id"].to_numpy(),
        "zone_name": members["district_id"].to_numpy(),
        "ward": wards.loc[members["district_id"]].to_numpy(),
        "population": origins["population"].to_numpy(dtype=float)[origin]
        * members["share"].to_numpy(dtype=float),
    })
