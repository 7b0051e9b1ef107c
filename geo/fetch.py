"""Download the open sources online into the data-directory layout that ``geo.layers`` reads.

For a user with internet access and no copy of the Kumamoto bundle. Each source is
downloaded, converted to the columns the loaders expect and written atomically to the
relative path in ``geo.layers.BUNDLE_FILES``. ``fetch_manifest.json`` in the data directory
records, per file, its source, where it came from, when, and its SHA-256: a source whose files
still have their recorded checksums is skipped unless ``force`` names it.

Sources (``SOURCES``):

``osm-stores``
    OSM ``shop=convenience`` through osmnx ``features_from_place`` -> ``stores_osm``.
``osm-roads``
    OSM drive network through osmnx ``graph_from_place`` -> the bundle's city network
    tables ``roads/osm_city_drive_<today>_{nodes,edges}.csv.gz`` (with OSM ids, highway
    classes, maxspeed and names besides the bundle's columns).
``n03``
    国土数値情報 行政区域 N03 (2020-01-01) for Kumamoto Prefecture -> ``wards``.
``estat``
    e-Stat 2015 census small-area boundaries and the small-area table of population and
    households -> ``small_areas``.
``mesh``
    e-Stat 2020 census 500 m mesh table T001101 (population by age, households) for the
    first-level meshes over the wards; cells computed from the mesh codes -> ``mesh``.
    Needs the wards (``n03``, fetched before it).
``gtfs`` (only when named: the default study does not need it)
    The operators' current GTFS(-JP) feeds -> ``transit/gtfs/<operator>.gtfs.zip``, each
    checked by reading it with ``geo.gtfs``: the four bus operators, 九州産交バス included,
    from their joint platform (km.bus-vision.jp), and the tram (熊本市交通局) and the
    熊本電鉄 railway from the GTFSデータリポジトリ (api.gtfs-data.jp, its current revision).

The download addresses follow the patterns the publishers use and that public download
scripts use; they could not be tried from the development machine (no internet), so each
is a keyword parameter of ``fetch`` (``n03_url``, ``estat_boundary_url``,
``estat_table_url``, ``mesh_table_url``) to be corrected without a code change if a
publisher moves a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import tempfile
import time
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import requests
import shapely

from . import gtfs, layers
from . import io as io_module
from .errors import FetchError, MadoguchiError
from .layers import (
    BUNDLE_FILES,
    DISPLAY_CRS,
    METRIC_CRS,
    _check_columns,
    check_zip_member,
    load_wards,
    open_zip_member,
)
from .settings import cache_dir, data_dir

logger = logging.getLogger(__name__)

SOURCES = ("osm-stores", "osm-roads", "n03", "estat", "mesh", "gtfs")
DEFAULT_SOURCES = SOURCES[:-1]
"""What ``fetch`` downloads unless told otherwise: the layers of the default study."""
GTFS_FEEDS = {
    "toshibus": "https://km.bus-vision.jp/gtfs/toshibus/gtfsFeed",
    "sankobus": "https://km.bus-vision.jp/gtfs/sankobus/gtfsFeed",
    "kumabus": "https://km.bus-vision.jp/gtfs/kumabus/gtfsFeed",
    "dentetsubus": "https://km.bus-vision.jp/gtfs/dentetsu/gtfsFeed",
    "kumamotoshiden": ("https://api.gtfs-data.jp/v2/organizations/kumamoto-shiden/feeds/"
                       "kumamotoshiden/files/feed.zip?rid=current"),
    "kumamotodentetsu": ("https://api.gtfs-data.jp/v2/organizations/kumamotodentetsu/feeds/"
                         "kumamotodentetsu/files/feed.zip?rid=current"),
}
"""GTFS(-JP) feeds by file name: the bus operators (熊本都市バス, 九州産交バス, 熊本バス,
熊本電鉄バス; CC BY 4.0), the tram (熊本市交通局; CC BY 2.1 JP) and the 熊本電鉄 railway (CC0),
named as in the bundle's ``transit/gtfs/`` so a fetch replaces the bundle's files."""
SOURCE_TITLES = {
    "osm-stores": "OSM convenience stores (osmnx, Overpass)",
    "osm-roads": "the city-wide OSM drive network (osmnx, Overpass; the largest download)",
    "n03": "国土数値情報 N03 ward boundaries",
    "estat": "e-Stat 2015 small areas and population",
    "mesh": "e-Stat 2020 500 m mesh population by age",
    "gtfs": "the bus, tram and railway GTFS timetables (産交バス included)",
}
PLACE = "熊本市, 熊本県, 日本"
WARDS = {"43101": "中央区", "43102": "東区", "43103": "西区", "43104": "南区", "43105": "北区"}
PREF_CODE = "43"

N03_URL = "https://nlftp.mlit.go.jp/ksj/gml/data/N03/N03-2020/N03-20200101_43_GML.zip"
"""国土数値情報 N03 2020-01-01, Kumamoto Prefecture (shapefile and GeoJSON inside)."""
ESTAT_BOUNDARY_URL = (
    "https://www.e-stat.go.jp/gis/statmap-search/data?dlserveyId=A002005212015"
    "&code=43&coordSys=1&format=shape&downloadType=5&datum=2000"
)
"""e-Stat 統計GIS: 2015 census small-area boundaries (小地域), Kumamoto Prefecture, lon/lat."""
ESTAT_TABLE_URL = (
    "https://www.e-stat.go.jp/gis/statmap-search/data?statsId=T000848&code=43&downloadType=2"
)
"""e-Stat 統計GIS: 2015 small-area table T000848 (男女別人口総数及び世帯総数), Kumamoto
Prefecture."""
ESTAT_TABLE_ID = "T000848"
MESH_TABLE_URL = (
    "https://www.e-stat.go.jp/gis/statmap-search/data?statsId=T001101&code={mesh}"
    "&downloadType=2"
)
"""e-Stat 統計GIS: 2020 census 500 m mesh table T001101 (人口及び世帯) of one first-level mesh."""
"""The city drive network tables in ``roads/`` (``part`` is ``nodes`` or ``edges``)."""
MANIFEST_NAME = "fetch_manifest.json"
TIMEOUT_S = 300.0
"""Seconds to wait for a server (connect and each read); the e-Stat zips are tens of MB."""
_MISSING_VALUES = ("", "-", "X", "x", "*", "…")
USER_AGENT = "madoguchi (Kumamoto service-counter dashboard; python-requests)"


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch`` did for one source."""

    source: str
    status: str
    """``fetched``; ``cached`` (files as recorded in the manifest, kept); or ``present``
    (files not written by ``fetch``, such as a bundle's, kept as they are)."""
    files: dict[Path, str]
    """Each file of the source -> its SHA-256."""


# --- plumbing -------------------------------------------------------------------------


def atomic_write(target: Path, write: Callable[[Path], object]) -> None:
    """``geo.io.atomic_write`` into the data directory, creating the folder; an ``OSError``
    (disk full, read-only folder) becomes a ``FetchError`` naming ``target``."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        io_module.atomic_write(target, write, through_links=False)
    except OSError as e:
        msg = f"cannot write {target} ({e}); choose a writable --data directory"
        raise FetchError(msg) from e


def download(session: requests.Session, url: str, *, timeout: float = TIMEOUT_S) -> bytes:
    """Return the body of ``url``, raising ``FetchError`` on any network or HTTP failure."""
    logger.info("downloading %s", url)
    try:
        response = session.get(url, timeout=timeout, headers={"User-Agent": USER_AGENT})
        response.raise_for_status()
    except requests.RequestException as e:
        msg = (f"could not download {url} ({e}); this needs internet access, or point "
               f"MADOGUCHI_DATA at a copy of the Kumamoto bundle instead")
        raise FetchError(msg) from e
    return response.content


def _zip(content: bytes, url: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as e:
        head = content[:120].decode("utf-8", errors="replace").strip()
        msg = (f"{url} did not return a zip archive (it may have moved; the server said: "
               f"{head!r}); pass the current address as a parameter of geo.fetch.fetch")
        raise FetchError(msg) from e


def _read_zipped_vector(archive: zipfile.ZipFile, *, prefer: tuple[str, ...],
                        label: str) -> gpd.GeoDataFrame:
    """Read the first member with a preferred suffix (a shapefile without ``.cpg`` as CP932)."""
    names = archive.namelist()
    for suffix in prefer:
        members = sorted(n for n in names if n.lower().endswith(suffix))
        if members:
            break
    else:
        msg = f"{label}: the archive holds no {' or '.join(prefer)} file (found {names[:10]})"
        raise FetchError(msg)
    member = members[0]
    for info in archive.infolist():
        check_zip_member(info, where=label)
    with tempfile.TemporaryDirectory() as folder:
        archive.extractall(folder)
        path = Path(folder) / member
        options = {}
        if path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
            options["encoding"] = "cp932"  # Japanese government shapefiles are Shift_JIS
        try:
            frame = gpd.read_file(path, **options)
        except Exception as e:
            msg = f"{label}: {member} cannot be read as a vector layer ({e})"
            raise FetchError(msg) from e
    if frame.crs is None:
        msg = f"{label}: {member} declares no CRS; refusing to guess one"
        raise FetchError(msg)
    return frame


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], label: str) -> None:
    problems = _check_columns(frame, columns)
    if problems:
        msg = (f"{label}: {problems[0]} (found {', '.join(map(str, frame.columns[:20]))}); "
               f"has the format changed?")
        raise FetchError(msg)


def _write_geojson(frame: gpd.GeoDataFrame, target: Path) -> None:
    # the layer name is written into the file: the target's, not the temporary one's
    atomic_write(target, lambda tmp: frame.to_crs(DISPLAY_CRS).to_file(tmp, driver="GeoJSON",
                                                                       layer=target.stem))


# --- conversions ----------------------------------------------------------------------


def wards_from_n03(archive: zipfile.ZipFile) -> gpd.GeoDataFrame:
    """Convert an N03 (行政区域) archive to the five ward polygons of Kumamoto City.

    Parameters
    ----------
    archive
        The N03 zip (GeoJSON preferred, else the shapefile, read as CP932 without ``.cpg``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``ward_code`` (43101-43105), ``ward``, ``source``, ``geometry`` (one
        Polygon / MultiPolygon per ward, EPSG:4326), as ``geo.layers.load_wards`` reads.

    Raises
    ------
    FetchError
        Columns ``N03_004`` / ``N03_007`` or any of the five wards are missing.
    """
    frame = _read_zipped_vector(archive, prefer=(".geojson", ".shp"), label="N03")
    _require_columns(frame, ["N03_004", "N03_007"], "N03")
    codes = frame["N03_007"].astype(str).str.zfill(5)
    frame = frame[codes.isin(WARDS)].assign(ward_code=codes[codes.isin(WARDS)])
    missing = sorted(set(WARDS) - set(frame["ward_code"]))
    if missing:
        msg = f"N03: no polygon for ward code(s) {', '.join(missing)} of Kumamoto City"
        raise FetchError(msg)
    parts = []
    for code, group in frame.groupby("ward_code", sort=True):
        parts.append({"ward_code": code, "ward": str(group["N03_004"].iloc[0]),
                      "source": "国土数値情報 行政区域 N03 (2020)",
                      "geometry": shapely.union_all(group.geometry.make_valid().to_numpy())})
    wards = gpd.GeoDataFrame(parts, geometry="geometry", crs=frame.crs)
    logger.info("N03: %d ward polygons from %d features", len(wards), len(frame))
    return wards


def _numeric(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    return pd.to_numeric(text.where(~text.isin(_MISSING_VALUES)), errors="coerce")


def _estat_rows(archive: zipfile.ZipFile, label: str) -> pd.DataFrame:
    """Read the first CSV/TXT of an e-Stat archive: column ids, a line of labels, then data."""
    members = [n for n in archive.namelist() if n.lower().endswith((".txt", ".csv"))]
    if not members:
        msg = f"{label}: the archive holds no .txt/.csv file"
        raise FetchError(msg)
    with open_zip_member(archive, members[0], where=label) as handle:
        raw = handle.read()
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 3:
        msg = f"{label}: {members[0]} has no data rows"
        raise FetchError(msg)
    return pd.DataFrame(rows[2:], columns=[c.strip() for c in rows[0]])


def population_from_estat_table(archive: zipfile.ZipFile, *, table_id: str = ESTAT_TABLE_ID
                                ) -> pd.DataFrame:
    """Read an e-Stat small-area table (CP932 CSV: column ids, then labels, then data).

    Returns
    -------
    pandas.DataFrame
        ``key_code`` (str), ``population_2015``, ``households_2015`` (float; NaN where the
        census suppresses or has no value: ``-``, ``X``, ``*``).
    """
    table = _estat_rows(archive, f"e-Stat table {table_id}")
    population, households = f"{table_id}001", f"{table_id}004"
    _require_columns(table, ["KEY_CODE", population, households], f"e-Stat table {table_id}")
    return pd.DataFrame({
        "key_code": table["KEY_CODE"].str.strip(),
        "population_2015": _numeric(table[population]),
        "households_2015": _numeric(table[households]),
    })


def small_areas_from_estat(boundaries: zipfile.ZipFile, table: zipfile.ZipFile
                           ) -> gpd.GeoDataFrame:
    """Join e-Stat 2015 small-area boundaries with population and households.

    Only the city's wards (43101-43105) and ordinary areas (``HCODE`` 8101; water
    areas 8154 are dropped) are kept; a small area drawn as several polygons becomes one
    MultiPolygon.

    Returns
    -------
    geopandas.GeoDataFrame
        ``key_code_2015``, ``ward_code``, ``ward``, ``name`` (census spelling), ``name_nfkc``,
        ``population_2015``, ``households_2015``, ``geometry`` (EPSG:4326), as
        ``geo.layers.load_small_areas`` reads.
    """
    frame = _read_zipped_vector(boundaries, prefer=(".shp",), label="e-Stat boundaries")
    _require_columns(frame, ["KEY_CODE", "PREF", "CITY", "S_NAME"], "e-Stat boundaries")
    ward_code = frame["PREF"].astype(str).str.zfill(2) + frame["CITY"].astype(str).str.zfill(3)
    keep = ward_code.isin(WARDS)
    if "HCODE" in frame.columns:
        keep &= frame["HCODE"].astype(str).str.strip() == "8101"
    frame = frame[keep].assign(ward_code=ward_code[keep],
                               key_code_2015=frame.loc[keep, "KEY_CODE"].astype(str).str.strip())
    if frame.empty:
        msg = "e-Stat boundaries: no small area of Kumamoto City (43101-43105) in the archive"
        raise FetchError(msg)
    areas = frame.dissolve(by="key_code_2015", aggfunc={"ward_code": "first", "S_NAME": "first"},
                           as_index=False)
    areas["name"] = areas["S_NAME"].fillna("").astype(str)
    areas["name_nfkc"] = [unicodedata.normalize("NFKC", n) for n in areas["name"]]
    areas["ward"] = areas["ward_code"].map(WARDS)
    population = population_from_estat_table(table)
    areas = areas.merge(population, how="left", left_on="key_code_2015", right_on="key_code")
    unmatched = int(areas["key_code"].isna().sum())
    if unmatched:
        logger.warning("e-Stat: %d small area(s) have no row in the population table", unmatched)
    columns = ["key_code_2015", "ward_code", "ward", "name", "name_nfkc", "population_2015",
               "households_2015", "geometry"]
    logger.info("e-Stat: %d small areas, population %.0f", len(areas),
                areas["population_2015"].sum())
    return gpd.GeoDataFrame(areas[columns], geometry="geometry", crs=frame.crs)


def stores_from_osm(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert osmnx ``features_from_place`` output to the bundle's OSM store layer.

    Ways and relations (a store mapped as a building) become a point inside the outline.

    Returns
    -------
    geopandas.GeoDataFrame
        ``osm_type``, ``osm_id`` (unique), ``name_raw_osm``, ``name_repo`` (name and
        branch), ``brand``, ``lat``, ``lon``, ``geometry`` (Point, EPSG:4326), as
        ``geo.layers.load_stores(source="osm")`` reads.
    """
    if features.empty:
        msg = "OSM: no convenience store (shop=convenience) found for the place"
        raise FetchError(msg)
    frame = features.reset_index()
    frame = frame.rename(columns={"element_type": "element", "osmid": "id"})
    _require_columns(frame, ["element", "id"], "OSM features")
    points = frame.to_crs(DISPLAY_CRS).geometry.representative_point()

    def tag(key: str) -> pd.Series:
        if key not in frame.columns:
            return pd.Series("", index=frame.index)
        values: pd.Series = frame[key].fillna("").astype(str).str.strip()
        return values

    name, branch = tag("name"), tag("branch")
    with_branch = (branch != "") & ~pd.Series(
        [b in n for n, b in zip(name, branch, strict=True)], index=frame.index)
    name_repo = name.where(~with_branch, (name + " " + branch).str.strip())
    brand = tag("brand").where(tag("brand") != "", tag("brand:ja")).where(lambda s: s != "", name)
    stores = gpd.GeoDataFrame({
        "osm_type": frame["element"].astype(str),
        "osm_id": frame["id"].astype("int64"),
        "name_raw_osm": name, "name_repo": name_repo, "brand": brand,
        "lat": points.y.round(7), "lon": points.x.round(7),
    }, geometry=points.to_numpy(), crs=DISPLAY_CRS)
    duplicate = stores["osm_id"].duplicated(keep="first")
    if duplicate.any():
        logger.warning("OSM: dropped %d store(s) whose id repeats another element's",
                       int(duplicate.sum()))
    return stores[~duplicate].reset_index(drop=True)


_MESH_COLUMNS = {
    "pop_total": "001", "pop_0_14": "004", "pop_15_64": "010", "pop_65plus": "019",
    "pop_75plus": "022", "pop_85plus": "025", "pop_foreign": "031", "households_total": "034",
    "households_general": "035", "hh_1person": "036", "hh_with_65plus_member": "047",
    "hh_elderly_single": "049", "hh_elderly_couple": "050",
}
"""Bundle column -> item number of the e-Stat 2020 mesh table T001101 (人口及び世帯)."""
_MESH_TOTALS = ("pop_total", "households_total", "households_general")
"""Published for every mesh; the other items are suppressed (``*``) in folded meshes."""
MESH_COLUMNS = ("mesh_code_500m", "suppress_flag", "merged_into", "merged_from",
                "pop_total", "age_detail_pop_total", *list(_MESH_COLUMNS)[1:],
                "frac_in_city", "ward_code", "ward", "lon_c", "lat_c", "group_key",
                "share_65plus", "share_75plus", "geometry")
"""Columns of the bundle's ``demographics/mesh500m_census2020_age.geojson``, in its order."""


def mesh500_polygon(code: str) -> shapely.Polygon:
    """Return the cell of a 500 m (quarter) mesh code as a lon/lat rectangle.

    A code ``pqurwsxm`` reads: first-level mesh (``pq`` = latitude × 1.5, ``ur`` =
    longitude − 100), second level ``w`` / ``s`` (8 × 8), third level (10 × 10), then the
    quarter ``m`` (1 SW, 2 SE, 3 NW, 4 NE): 15″ of latitude by 22.5″ of longitude.

    Raises
    ------
    FetchError
        The code is not nine digits with a quarter 1-4.
    """
    if len(code) != 9 or not code.isdigit() or code[8] not in "1234":
        msg = f"{code!r} is not a 500 m mesh code (nine digits, quarter 1-4)"
        raise FetchError(msg)
    quarter = int(code[8])
    south = (int(code[0:2]) / 1.5 + int(code[4]) * 5 / 60 + int(code[6]) * 30 / 3600
             + (quarter >= 3) * 15 / 3600)
    west = (100 + int(code[2:4]) + int(code[5]) * 7.5 / 60 + int(code[7]) * 45 / 3600
            + (quarter in (2, 4)) * 22.5 / 3600)
    return shapely.box(west, south, west + 22.5 / 3600, south + 15 / 3600)


def first_level_meshes(bounds: Iterable[float]) -> list[str]:
    """Return the first-level (80 km) mesh codes covering a lon/lat box (W, S, E, N)."""
    west, south, east, north = bounds
    rows = range(int(south * 1.5), int(north * 1.5) + 1)
    columns = range(int(west) - 100, int(east) - 100 + 1)
    return [f"{row:02d}{column:02d}" for row in rows for column in columns]


def mesh_from_estat(tables: Iterable[zipfile.ZipFile], wards: gpd.GeoDataFrame
                    ) -> gpd.GeoDataFrame:
    """Build the 2020 500 m mesh layer with age groups from e-Stat table T001101.

    Cells come from the mesh codes. e-Stat suppresses the detail of small meshes and adds
    their people to a neighbour's detail (``HTKSYORI`` 2 = folded away into ``HTKSAKI``;
    1 = receiver, ``GASSAN`` lists what it received), so each receiver's age shares are
    taken over ``age_detail_pop_total``: its own total plus the totals folded into it, also
    from meshes outside the city, or the sum of its three age groups where that is larger
    (a folded mesh whose total is suppressed too).

    Parameters
    ----------
    tables
        T001101 archives of the first-level meshes covering the city.
    wards
        The ward polygons (any CRS): the meshes that touch them are kept, with the share of
        their area inside (``frac_in_city``) and the ward covering most of it.

    Returns
    -------
    geopandas.GeoDataFrame
        ``MESH_COLUMNS`` (EPSG:4326), as ``geo.layers.load_population_mesh`` reads.
    """
    label = "e-Stat mesh table T001101"
    frames = [_estat_rows(archive, label) for archive in tables]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    items = {name: f"T001101{number}" for name, number in _MESH_COLUMNS.items()}
    _require_columns(table, ["KEY_CODE", "HTKSYORI", "HTKSAKI", "GASSAN", *items.values()], label)
    codes = table["KEY_CODE"].str.strip()
    mesh = pd.DataFrame({
        "mesh_code_500m": codes,
        "suppress_flag": _numeric(table["HTKSYORI"]).fillna(0).astype("int32"),
        "merged_into": table["HTKSAKI"].str.strip().replace("", None),
        "merged_from": table["GASSAN"].str.strip().replace("", None),
    })
    for name, column in items.items():
        values = _numeric(table[column])
        mesh[name] = values.astype("Int32") if name in _MESH_TOTALS else values.astype(float)
    folded = mesh["suppress_flag"] == 2
    mesh.loc[~folded, "merged_into"] = None
    received = mesh[folded].groupby("merged_into")["pop_total"].sum()
    with_received = mesh["pop_total"] + mesh["mesh_code_500m"].map(received).fillna(0)
    by_age = mesh["pop_0_14"] + mesh["pop_15_64"] + mesh["pop_65plus"]
    mesh["age_detail_pop_total"] = (pd.concat([with_received.astype(float), by_age], axis=1)
                                    .max(axis=1).round().astype("Int32"))
    mesh["group_key"] = mesh["merged_into"].where(folded, mesh["mesh_code_500m"])
    for age in ("65plus", "75plus"):
        mesh[f"share_{age}"] = (mesh[f"pop_{age}"]
                                / mesh["age_detail_pop_total"].astype(float)).round(4)
    cells = gpd.GeoSeries([mesh500_polygon(c) for c in mesh["mesh_code_500m"]], crs=DISPLAY_CRS)
    metric_cells = cells.to_crs(METRIC_CRS)
    metric_wards = wards.to_crs(METRIC_CRS)
    overlap = np.column_stack([metric_cells.intersection(w).area.to_numpy()
                               for w in metric_wards.geometry])
    inside = overlap.sum(axis=1)
    keep = inside > 0
    if not keep.any():
        msg = f"{label}: no mesh of the tables touches the wards"
        raise FetchError(msg)
    main_ward = metric_wards.iloc[overlap.argmax(axis=1)]
    bounds = cells.bounds
    mesh = mesh.assign(
        frac_in_city=(inside / metric_cells.area.to_numpy()).round(4),
        ward_code=main_ward["ward_code"].astype(int).to_numpy().astype("int32"),
        ward=main_ward["ward"].to_numpy(),
        lon_c=((bounds["minx"] + bounds["maxx"]) / 2).round(6).to_numpy(),
        lat_c=((bounds["miny"] + bounds["maxy"]) / 2).round(6).to_numpy(),
    )
    result = gpd.GeoDataFrame(mesh[keep].reset_index(drop=True), crs=DISPLAY_CRS,
                              geometry=cells[keep].reset_index(drop=True))
    logger.info("e-Stat mesh: %d of %d meshes touch the city, %d people in them", len(result),
                len(mesh), int(result["pop_total"].sum()))
    return result[list(MESH_COLUMNS)]


def _joined(value: object) -> str:
    """An osmnx attribute as text: lists (ways merged by simplification) joined with ``;``."""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def drive_network_tables(graph: nx.MultiDiGraph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Convert an osmnx drive graph to the bundle's city network tables.

    Parameters
    ----------
    graph
        osmnx ``MultiDiGraph`` (EPSG:4326, ``x`` / ``y`` on nodes, ``length`` on edges).

    Returns
    -------
    nodes : pandas.DataFrame
        ``node`` (0..n-1 in OSM id order), ``lon``, ``lat`` (7 decimals), ``osmid``.
    edges : pandas.DataFrame
        One row per direction: ``u``, ``v``, ``key``, ``length_m`` (osmnx great-circle
        length, 3 decimals), ``oneway`` (1 when no reverse twin exists: an edge
        ``v -> u`` of the same length), ``geometry_wkt``
        (LineString, WGS84; the straight segment where osmnx stores no geometry), then
        ``osmid``, ``highway``, ``maxspeed``, ``name`` (``;``-joined where osmnx merged
        ways; empty where OSM has no value).
    """
    if graph.number_of_edges() == 0:
        msg = "OSM: the drive network has no edges"
        raise FetchError(msg)
    osm_ids = sorted(graph.nodes)
    number = {osm_id: i for i, osm_id in enumerate(osm_ids)}
    nodes = pd.DataFrame({
        "node": np.arange(len(osm_ids), dtype="int64"),
        "lon": [round(float(graph.nodes[n]["x"]), 7) for n in osm_ids],
        "lat": [round(float(graph.nodes[n]["y"]), 7) for n in osm_ids],
        "osmid": np.asarray(osm_ids, dtype="int64"),
    })
    # a two-way street is a pair of edges of the same length; another street between the
    # same two nodes (a parallel one-way road, a loop) is no twin
    directed = Counter((u, v, round(float(length), 3))
                       for u, v, length in graph.edges(data="length"))
    rows = []
    for u, v, key, attributes in sorted(graph.edges(keys=True, data=True),
                                        key=lambda e: (number[e[0]], number[e[1]], e[2])):
        line = attributes.get("geometry") or shapely.LineString(
            [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in (u, v)])
        length = round(float(attributes["length"]), 3)
        twins = directed[(v, u, length)] - (u == v)
        rows.append({
            "u": number[u], "v": number[v], "key": int(key),
            "length_m": length,
            "oneway": int(twins == 0),
            "geometry_wkt": shapely.to_wkt(line, rounding_precision=7, trim=False),
            **{tag: _joined(attributes.get(tag)) for tag in ("osmid", "highway", "maxspeed",
                                                             "name")},
        })
    return nodes, pd.DataFrame(rows)


# --- osmnx seams (monkeypatched in tests) ---------------------------------------------


def _osmnx_module() -> ModuleType:
    import osmnx as ox

    ox.settings.cache_folder = str(cache_dir() / "osmnx")  # not ./cache in the project
    return ox


def _osm_features(place: str, tags: dict[str, str]) -> gpd.GeoDataFrame:
    return _osmnx_module().features_from_place(place, tags)


def _osm_graph(place: str, network_type: str) -> nx.MultiDiGraph:
    return _osmnx_module().graph_from_place(place, network_type=network_type, simplify=True)


def _osmnx(what: str, call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as e:  # osmnx raises requests, geocoding and Overpass response errors
        msg = (f"could not download {what} from OpenStreetMap ({e}); this needs internet "
               f"access to Nominatim and Overpass")
        raise FetchError(msg) from e


# --- manifest and driver --------------------------------------------------------------


def read_manifest(data: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Return the fetch manifest of a data directory (``{"files": {}}`` when there is none)."""
    path = data_dir(data) / MANIFEST_NAME
    if not path.is_file():
        return {"files": {}}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        msg = f"{path}: the fetch manifest is not valid JSON ({e}); delete it and fetch again"
        raise FetchError(msg) from e
    return manifest


def _record(root: Path, source: str, relpaths: list[str], inputs: list[dict[str, str]]
            ) -> dict[Path, str]:
    """Record the files of one source (replacing its earlier entries); return path -> sha."""
    manifest = read_manifest(root)
    files = {k: v for k, v in manifest.get("files", {}).items() if v.get("source") != source}
    fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
    written = {}
    for relpath in relpaths:
        sha = io_module.sha256_file(root / relpath)
        files[relpath] = {"source": source, "inputs": inputs, "fetched_at": fetched_at,
                          "sha256": sha, "bytes": (root / relpath).stat().st_size}
        written[root / relpath] = sha
    manifest["files"] = files
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
    atomic_write(root / MANIFEST_NAME, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    return written


def _kept(root: Path, source: str) -> FetchResult | None:
    """The result for a source that need not be downloaded, or None.

    Files the manifest records for ``source`` are kept when all still have their SHA-256
    (``cached``) and downloaded again otherwise; files no fetch recorded (a bundle's, or
    a city's own) are kept as they are (``present``).
    """
    entries = {k: v for k, v in read_manifest(root).get("files", {}).items()
               if v.get("source") == source}
    if entries:
        intact = {root / k: v["sha256"] for k, v in entries.items()
                  if (root / k).is_file() and io_module.sha256_file(root / k) == v.get("sha256")}
        if len(intact) == len(entries):
            return FetchResult(source, "cached", intact)
        logger.warning("%s: a fetched file is missing or changed; downloading it again", source)
        return None
    if source == "osm-roads":
        present: list[Path] = list(layers.osm_network_files(root) or [])
    elif source == "gtfs":
        present = sorted((root / gtfs.GTFS_FOLDER).glob("*.zip"))
    else:
        path = root / BUNDLE_FILES[_SOURCE_KEYS[source]].relpath
        present = [path] if path.is_file() else []
    if not present:
        return None
    return FetchResult(source, "present", {p: io_module.sha256_file(p) for p in present})


def parse_sources(only: str | Iterable[str] | None) -> tuple[str, ...]:
    """Return the chosen sources in ``SOURCES`` order; ``None`` means ``DEFAULT_SOURCES``."""
    if only is None:
        return DEFAULT_SOURCES
    names = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        msg = (f"unknown source(s) {', '.join(unknown) or '(none)'}; "
               f"choose from {', '.join(SOURCES)}")
        raise FetchError(msg)
    return tuple(s for s in SOURCES if s in names)


def _input(url: str, content: bytes) -> dict[str, str]:
    return {"url": url, "sha256": hashlib.sha256(content).hexdigest()}


def _size(paths: Iterable[Path]) -> str:
    return f"{sum(p.stat().st_size for p in paths) / 1e6:.1f} MB"


def fetch(
    data: str | os.PathLike[str] | None = None, *,
    only: str | Iterable[str] | None = None,
    force: bool | str | Iterable[str] = False,
    session: requests.Session | None = None,
    timeout: float = TIMEOUT_S,
    place: str = PLACE,
    n03_url: str = N03_URL,
    estat_boundary_url: str = ESTAT_BOUNDARY_URL,
    estat_table_url: str = ESTAT_TABLE_URL,
    mesh_table_url: str = MESH_TABLE_URL,
    gtfs_feeds: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[FetchResult]:
    """Download the open sources into ``data`` (needs internet).

    A source whose files the manifest records with their current SHA-256 is skipped
    (``cached``); one whose files are present but not written by ``fetch`` (a bundle, or
    a city's own copy) is kept as it is (``present``). Each file is written through a
    temporary file and renamed, so an interrupted run leaves nothing half-written and can
    simply be run again.

    Parameters
    ----------
    data
        Target data directory (default ``MADOGUCHI_DATA`` or ``data/bundle``); it must be
        writable, so not the read-only shared bundle.
    only
        Sources to fetch, from ``SOURCES`` (a list or a comma-separated string).
    force
        ``True`` downloads every chosen source again; a source name (or several) downloads
        just those again, fetching them even if ``only`` left them out.
    session
        ``requests`` session for the N03 and e-Stat downloads (tests inject a fake one);
        osmnx makes its own requests.
    timeout
        Seconds to wait for a server.
    place
        Place name for osmnx (Nominatim).
    n03_url, estat_boundary_url, estat_table_url, mesh_table_url
        Download addresses (see the module docstring); ``mesh_table_url`` has a
        ``{mesh}`` field for the first-level mesh code.
    gtfs_feeds
        Operator name -> GTFS zip address (default ``GTFS_FEEDS``).
    progress
        Called with one line per step and source (the command line prints it on stderr).

    Returns
    -------
    list of FetchResult
        One per source, in ``SOURCES`` order.

    Raises
    ------
    FetchError
        A download failed, a file is not what was expected, or the target is not writable.
    """
    root = data_dir(data)
    chosen = parse_sources(only)
    forced = set(chosen if force is True else parse_sources(force) if force else ())
    chosen = tuple(s for s in SOURCES if s in chosen or s in forced)
    session = session if session is not None else requests.Session()
    say = progress or (lambda line: None)
    options = {"session": session, "timeout": timeout, "place": place, "n03_url": n03_url,
               "estat_boundary_url": estat_boundary_url, "estat_table_url": estat_table_url,
               "mesh_table_url": mesh_table_url,
               "gtfs_feeds": GTFS_FEEDS if gtfs_feeds is None else gtfs_feeds}
    results = []
    for number, source in enumerate(chosen, start=1):
        step = f"[{number}/{len(chosen)}] {source}"
        kept = None if source in forced else _kept(root, source)
        if kept:
            say(f"{step}: {kept.status}, kept ({_size(kept.files)})")
            results.append(kept)
            continue
        say(f"{step}: downloading {SOURCE_TITLES[source]}…")
        started = time.perf_counter()
        relpaths, inputs = _FETCHERS[source](root, **options)
        files = _record(root, source, relpaths, inputs)
        say(f"{step}: wrote {', '.join(relpaths)} ({_size(files)}, "
            f"{time.perf_counter() - started:.0f} s)")
        results.append(FetchResult(source, "fetched", files))
    return results


_SOURCE_KEYS = {"osm-stores": "stores_osm", "n03": "wards", "estat": "small_areas",
                "mesh": "mesh"}
"""Source -> ``BUNDLE_FILES`` key of the one file it writes (``osm-roads`` writes two)."""


def _write_table(frame: pd.DataFrame, target: Path) -> None:
    atomic_write(target, lambda tmp: frame.to_csv(tmp, index=False, compression="gzip"))


def _fetch_osm_stores(root: Path, *, place: str, **_: object
                      ) -> tuple[list[str], list[dict[str, str]]]:
    tags = {"shop": "convenience"}
    features = _osmnx("convenience stores", lambda: _osm_features(place, tags))
    relpath = BUNDLE_FILES["stores_osm"].relpath
    _write_geojson(stores_from_osm(features), root / relpath)
    return [relpath], [{"url": f"osmnx features_from_place({place!r}, {tags}) via Overpass API"}]


def _fetch_osm_roads(root: Path, *, place: str, **_: object
                     ) -> tuple[list[str], list[dict[str, str]]]:
    graph = _osmnx("the drive network", lambda: _osm_graph(place, "drive"))
    tables = drive_network_tables(graph)
    day = datetime.now(UTC).date().isoformat()
    relpaths = [f"roads/{layers.OSM_NETWORK_FILE.format(date=day, part=part)}"
                for part in ("nodes", "edges")]
    for relpath, table in zip(relpaths, tables, strict=True):
        _write_table(table, root / relpath)
    call = f"osmnx graph_from_place({place!r}, network_type='drive')"
    return relpaths, [{"url": f"{call} via Overpass API"}]


def _fetch_n03(root: Path, *, session: requests.Session, timeout: float, n03_url: str,
               **_: object) -> tuple[list[str], list[dict[str, str]]]:
    content = download(session, n03_url, timeout=timeout)
    relpath = BUNDLE_FILES["wards"].relpath
    _write_geojson(wards_from_n03(_zip(content, n03_url)), root / relpath)
    return [relpath], [_input(n03_url, content)]


def _fetch_estat(root: Path, *, session: requests.Session, timeout: float,
                 estat_boundary_url: str, estat_table_url: str, **_: object
                 ) -> tuple[list[str], list[dict[str, str]]]:
    shapes = download(session, estat_boundary_url, timeout=timeout)
    table = download(session, estat_table_url, timeout=timeout)
    areas = small_areas_from_estat(_zip(shapes, estat_boundary_url), _zip(table, estat_table_url))
    relpath = BUNDLE_FILES["small_areas"].relpath
    _write_geojson(areas, root / relpath)
    return [relpath], [_input(estat_boundary_url, shapes), _input(estat_table_url, table)]


def _fetch_mesh(root: Path, *, session: requests.Session, timeout: float, mesh_table_url: str,
                **_: object) -> tuple[list[str], list[dict[str, str]]]:
    try:
        wards = load_wards(root)
    except MadoguchiError as e:
        msg = f"mesh: the ward boundaries are needed to choose the city's meshes ({e})"
        raise FetchError(msg) from e
    urls = [mesh_table_url.format(mesh=code)
            for code in first_level_meshes(wards.to_crs(DISPLAY_CRS).total_bounds)]
    contents = [download(session, url, timeout=timeout) for url in urls]
    mesh = mesh_from_estat([_zip(c, u) for c, u in zip(contents, urls, strict=True)], wards)
    relpath = BUNDLE_FILES["mesh"].relpath
    _write_geojson(mesh, root / relpath)
    return [relpath], [_input(u, c) for u, c in zip(urls, contents, strict=True)]


def _fetch_gtfs(root: Path, *, session: requests.Session, timeout: float,
                gtfs_feeds: dict[str, str], **_: object) -> tuple[list[str], list[dict[str, str]]]:
    relpaths: list[str] = []
    inputs: list[dict[str, str]] = []
    for operator, url in gtfs_feeds.items():
        content = download(session, url, timeout=timeout)
        relpath = f"{gtfs.GTFS_FOLDER}/{operator}.gtfs.zip"

        def write_checked(tmp: Path, content: bytes = content, url: str = url) -> None:
            tmp.write_bytes(content)
            try:
                gtfs.read_feed(tmp, gtfs.common_service_date([tmp]))
            except MadoguchiError as error:
                msg = f"{url}: not a readable GTFS feed ({error})"
                raise FetchError(msg) from error

        atomic_write(root / relpath, write_checked)
        relpaths.append(relpath)
        inputs.append(_input(url, content))
    return relpaths, inputs


_FETCHERS: dict[str, Callable[..., tuple[list[str], list[dict[str, str]]]]] = {
    "osm-stores": _fetch_osm_stores, "osm-roads": _fetch_osm_roads, "n03": _fetch_n03,
    "estat": _fetch_estat, "mesh": _fetch_mesh, "gtfs": _fetch_gtfs}
