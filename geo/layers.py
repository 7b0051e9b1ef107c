"""Load and validate the layers of the Kumamoto data bundle.

Every loader returns a GeoDataFrame in the metric CRS ``EPSG:6670`` (JGD2011 / Japan
Plane Rectangular CS II) with the documented columns, or raises one error listing every
problem found in the file (row numbers count features / data lines from 1).
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import logging
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from .errors import CRSError, DataMissingError, InputTooLargeError, LayerError
from .settings import (
    DATA_ENV_VAR,
    MAX_FEATURES_ENV_VAR,
    MAX_FILE_MB_ENV_VAR,
    PROJECT_DATA_DIR,
    data_dir,
    max_features,
    max_file_bytes,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

logger = logging.getLogger(__name__)

METRIC_CRS = "EPSG:6670"
DISPLAY_CRS = "EPSG:4326"
OUTSIDE_CITY_TOLERANCE_M = 1_000.0
"""Points farther than this outside the ward polygons are rejected (coast, border slop)."""
STORE_DEDUP_RADIUS_M = 40.0
CITY_EXTENT_WGS84 = (130.50, 32.60, 130.90, 33.04)
"""Longitude / latitude box holding every layer: the city (130.57-130.83 E, 32.66-32.98 N)
with about 6 km to spare for roads and mesh cells crossing the border."""
MAX_PEOPLE_PER_AREA = 100_000
"""No census small area or 500 m mesh cell holds more people (Kumamoto's largest: 5,228)."""
CENSUS_2015_POPULATION = 740_822
"""Kumamoto City's residents in the 2015 census (総務省 平成27年国勢調査, the official total)."""
_LIKELY_CRS = ("EPSG:4326", "EPSG:6670", "EPSG:6669", "EPSG:6671", "EPSG:32652", "EPSG:3857")
"""CRSs the coordinates of a mislabelled layer are tried in, to name the likely cause."""

OFFICE_KINDS = ("ward_office", "general_branch", "branch", "annex", "service_corner")
STORE_SOURCES = ("osm", "overture", "lawson2013", "union")


@dataclass(frozen=True)
class BundleFile:
    """One file of the data bundle: where it lives and where it comes from."""

    key: str
    relpath: str
    description: str
    source: str
    licence: str
    attribution: str


OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"
ESTAT_ATTRIBUTION = (
    "出典：政府統計の総合窓口(e-Stat) 平成27年国勢調査 小地域集計・境界データを加工して作成"
)
KSJ_ATTRIBUTION = "出典：国土数値情報（行政区域データ）（国土交通省）を加工して作成"
MLIT_ROADS_ATTRIBUTION = "出典：国土交通省 通れる道マップ"

BUNDLE_FILES: dict[str, BundleFile] = {
    f.key: f
    for f in (
        BundleFile("wards", "boundaries/wards_n03_2020.geojson", "ward boundaries (5)",
                   "国土数値情報 行政区域 N03 2020", "政府標準利用規約 (CC BY 4.0 compatible)",
                   KSJ_ATTRIBUTION),
        BundleFile("small_areas", "boundaries/small_areas_2015.geojson",
                   "2015 census small areas with population", "e-Stat 平成27年国勢調査 小地域",
                   "政府標準利用規約 (CC BY 4.0 compatible)", ESTAT_ATTRIBUTION),
        BundleFile("schools", "boundaries/elementary_schools_2026.geojson",
                   "elementary school points", "熊本県 防災情報くまもと 避難所一覧 (2026-08-01)",
                   "reuse terms not verified", "出典：熊本県 防災情報くまもと"),
        BundleFile("attendance_zones", "boundaries/school_attendance_zones_2026.json",
                   "elementary/junior-high attendance zones (school -> town)",
                   "熊本市教育委員会 通学区域 (effective 2026-04-01)", "no licence stated",
                   "出典：熊本市教育委員会 通学区域一覧"),
        BundleFile("offices", "offices/offices.csv", "ward offices, branches, corners (24)",
                   "OSM, Overture Maps, Wikipedia, 熊本県 shelter list",
                   "ODbL / CDLA-Permissive-2.0 / CC BY-SA", OSM_ATTRIBUTION),
        BundleFile("stores_osm", "stores/convenience_osm_2026-07-30.geojson",
                   "convenience stores, OSM 2026-07-30", "OpenStreetMap", "ODbL 1.0",
                   OSM_ATTRIBUTION),
        BundleFile("stores_overture", "stores/convenience_overture_2026-07.geojson",
                   "convenience stores, Overture 2026-07", "Overture Maps Foundation places",
                   "CDLA-Permissive-2.0", "© Overture Maps Foundation (CDLA-Permissive-2.0)"),
        BundleFile("stores_lawson2013", "stores/lawson_2013-08.geojson",
                   "Lawson stores, August 2013", "Lawson store list (OSM import)", "ODbL 1.0",
                   "© Lawson (ODbL)"),
        BundleFile("mesh", "demographics/mesh500m_census2020_age.geojson",
                   "2020 census population by 500 m mesh, with age groups",
                   "e-Stat 令和2年国勢調査 地域メッシュ統計",
                   "政府標準利用規約 (CC BY 4.0 compatible)",
                   "出典：政府統計の総合窓口(e-Stat) 令和2年国勢調査 地域メッシュ統計"),
        BundleFile("roads", "roads/mlit_passable_roads_2026-08-04.geojson",
                   "city-wide road lines with observed traffic",
                   "国土交通省 通れる道マップ 通行実績",
                   "MLIT terms", MLIT_ROADS_ATTRIBUTION),
        BundleFile("osm_drive_chuo", "roads/osm_chuo-ku_drive_2023-01-05.osm",
                   "OSM drivable roads, 中央区 only", "OpenStreetMap (Overpass 2023-01-05)",
                   "ODbL 1.0", OSM_ATTRIBUTION),
        BundleFile("osm_city_drive_nodes", "roads/osm_city_drive_*_nodes.csv.gz",
                   "OSM drive network, whole city: nodes (newest date; `geo fetch` writes one)",
                   "OpenStreetMap via osmnx (network_type='drive')", "ODbL 1.0", OSM_ATTRIBUTION),
        BundleFile("osm_city_drive_edges", "roads/osm_city_drive_*_edges.csv.gz",
                   "OSM drive network, whole city: directed edges with one-way flags",
                   "OpenStreetMap via osmnx (network_type='drive')", "ODbL 1.0", OSM_ATTRIBUTION),
        BundleFile("osm_walk_chuo", "roads/osm_chuo-ku_all_2023-01-04.osm",
                   "OSM all paths, 中央区 only", "OpenStreetMap (Overpass 2023-01-04)",
                   "ODbL 1.0", OSM_ATTRIBUTION),
    )
}
REQUIRED_FOR_ENGINE = ("wards", "small_areas", "offices")
"""Files every engine needs; the road network adds its own (``NETWORK_FILES``)."""
NETWORK_FILES = {
    "osm-city-drive": ("osm_city_drive_nodes", "osm_city_drive_edges"),
    "mlit": ("roads",),
    "osm-chuo-drive": ("osm_drive_chuo",),
    "osm-chuo-walk": ("osm_walk_chuo",),
}
"""Bundle files each road network (``geo.engine.NETWORKS``) is built from; the last one
carries its attribution."""
PROJECT_LAYERS = ("offices", "schools", "attendance_zones")
"""Compiled layers with no open download, kept in the project's ``data/`` folder under the
same relative paths; a data directory holding its own copy wins (a city can update it)."""


def find_layer(key: str, data: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the file the loaders read for ``key``, or ``None`` when there is none.

    The data directory is searched first; the layers of ``PROJECT_LAYERS`` then fall back
    to the project's own copy in ``data/``. The city OSM network's two tables come from
    ``osm_network_files``.
    """
    root = data_dir(data)
    pair_keys = NETWORK_FILES["osm-city-drive"]
    if key in pair_keys:
        pair = osm_network_files(root)
        return None if pair is None else pair[pair_keys.index(key)]
    folders = (root, PROJECT_DATA_DIR) if key in PROJECT_LAYERS else (root,)
    for folder in folders:
        if _is_file(root, folder / BUNDLE_FILES[key].relpath):
            return folder / BUNDLE_FILES[key].relpath
    return None


OSM_NETWORK_FILE = "osm_city_drive_{date}_{part}.csv.gz"
"""Name of the city OSM network's tables in ``roads/`` (``part``: nodes or edges)."""


def osm_network_files(data: str | os.PathLike[str] | None = None) -> tuple[Path, Path] | None:
    """Return the newest complete ``roads/osm_city_drive_<date>_{nodes,edges}.csv.gz`` pair.

    A network downloaded by ``python -m geo fetch`` carries a later date than the
    bundle's, so it replaces it; a date with only one of the two files is skipped.
    """
    roads = data_dir(data) / "roads"
    dates = sorted(p.name.removeprefix("osm_city_drive_").removesuffix("_nodes.csv.gz")
                   for p in roads.glob(OSM_NETWORK_FILE.format(date="*", part="nodes")))
    for day in reversed(dates):
        nodes, edges = (roads / OSM_NETWORK_FILE.format(date=day, part=part)
                        for part in ("nodes", "edges"))
        if nodes.is_file() and edges.is_file():
            return nodes, edges
    return None


def bundle_path(key: str, data: str | os.PathLike[str] | None = None) -> Path:
    """Return the path of one layer file (see ``find_layer``), or raise ``DataMissingError``."""
    root = data_dir(data)
    path = find_layer(key, root)
    if path is None:
        raise DataMissingError(_missing_message(root, [key]))
    return path


def check_bundle(
    data: str | os.PathLike[str] | None = None, *, keys: Iterable[str] = REQUIRED_FOR_ENGINE
) -> Path:
    """Check that the data directory holds the files the engine needs.

    Returns
    -------
    pathlib.Path
        The data directory.

    Raises
    ------
    DataMissingError
        One message naming the directory, every missing file and how to get it.
    """
    root = data_dir(data)
    missing = [k for k in keys if find_layer(k, root) is None]
    if missing:
        raise DataMissingError(_missing_message(root, missing))
    return root


def _is_file(root: Path, path: Path) -> bool:
    """``path.is_file()``, with a clear error when the data directory cannot be read."""
    try:
        return path.is_file()
    except OSError as e:
        msg = (f"data directory {root} cannot be read ({e.strerror}). Give the user running "
               f"madoguchi read access to it, or point {DATA_ENV_VAR} (or --data) at a "
               f"readable copy of the Kumamoto bundle.")
        raise DataMissingError(msg) from e


def _missing_message(root: Path, keys: list[str]) -> str:
    files = ", ".join(BUNDLE_FILES[k].relpath for k in keys)
    where = ("lacks " + files if root.is_dir()
             else "is a file, not a folder" if root.exists() else "does not exist")
    return (
        f"data directory {root} {where}. Point {DATA_ENV_VAR} (or --data) at the Kumamoto "
        f"bundle (for example ../shared/data/kumamoto), or run `python -m geo prepare` "
        f"online (make app does) to download the open sources into it."
    )


def _problems_error(path: str | os.PathLike[str], problems: list[str],
                    error: type[LayerError] = LayerError) -> LayerError:
    shown = problems[:20]
    more = f"; and {len(problems) - 20} more" if len(problems) > 20 else ""
    return error(f"{path}: " + "; ".join(shown) + more)


def check_file_size(path: Path) -> None:
    """Refuse a file larger than ``geo.settings.max_file_bytes()`` before reading it.

    Raises
    ------
    geo.errors.InputTooLargeError
        Naming the file, its size, the limit and the variable that raises it.
    """
    try:
        size = path.stat().st_size
    except OSError as e:
        msg = f"{path}: cannot be read ({e.strerror})"
        raise LayerError(msg) from e
    limit = max_file_bytes()
    if size > limit:
        msg = (f"{path}: {size / 1e6:,.1f} MB is more than the {limit / 1e6:,.0f} MB allowed "
               f"per file; check it is the right file, or raise {MAX_FILE_MB_ENV_VAR}")
        raise InputTooLargeError(msg)


def check_feature_count(path: Path, count: int) -> None:
    """Refuse a layer of more than ``geo.settings.max_features()`` features."""
    limit = max_features()
    if count > limit:
        msg = (f"{path}: {count:,} features is more than the {limit:,} allowed per layer; "
               f"check it is the right file, or raise {MAX_FEATURES_ENV_VAR}")
        raise InputTooLargeError(msg)


MAX_EXPANSION = 100
"""Most a compressed file (a zip member, a ``.gz`` layer) may expand, as a ratio of its
compressed size: GTFS text expands up to 18 times, a zip bomb a thousand times."""
_EXPANSION_FLOOR = 1_000_000
"""Below this many bytes expanded, the ratio is not checked (small text compresses well)."""


def open_zip_member(archive: zipfile.ZipFile, name: str, *, where: str) -> IO[bytes]:
    """Open one member of a zip after checking what it expands to, before reading it.

    The uncompressed size the archive declares must be at most ``max_file_bytes()`` and at
    most ``MAX_EXPANSION`` times the compressed size; ``zipfile`` never returns more bytes
    than declared (a lying size fails its CRC check), and the stream counts them again.

    Parameters
    ----------
    archive
        The open zip.
    name
        The member's name in the archive.
    where
        The archive, for messages (e.g. ``toshibus.gtfs.zip``).

    Raises
    ------
    geo.errors.InputTooLargeError
        Naming the archive, the member, its sizes and the variable that raises the limit.
    """
    info = archive.getinfo(name)
    limit = check_zip_member(info, where=where)
    return io.BufferedReader(_Limited(archive.open(info), limit, f"{where}: {name}",
                                      info.compress_size))


def check_zip_member(info: zipfile.ZipInfo, *, where: str) -> int:
    """Refuse a zip member that would expand too far (see ``open_zip_member``).

    Returns
    -------
    int
        The most bytes the member may expand to.
    """
    limit = _expansion_limit(info.compress_size)
    if info.file_size > limit:
        raise _too_large(f"{where}: {info.filename}", info.file_size, info.compress_size)
    return limit


def open_gzip(path: Path) -> IO[bytes]:
    """Open a ``.gz`` layer, its expanded bytes bounded as ``open_zip_member``'s are.

    The file's own size is checked first (``check_file_size``); reading raises
    ``InputTooLargeError`` as soon as the expanded stream passes the limit.
    """
    check_file_size(path)
    compressed = path.stat().st_size
    limit = _expansion_limit(compressed)
    return io.BufferedReader(_Limited(gzip.open(path, "rb"), limit, str(path), compressed))


def _expansion_limit(compressed: int) -> int:
    return min(max_file_bytes(), max(MAX_EXPANSION * compressed, _EXPANSION_FLOOR))


def _too_large(label: str, expanded: int, compressed: int) -> InputTooLargeError:
    msg = (f"{label}: expands from {compressed / 1e6:,.1f} MB to more than "
           f"{expanded / 1e6:,.1f} MB; at most {max_file_bytes() / 1e6:,.0f} MB and "
           f"{MAX_EXPANSION} times the compressed size are read (a damaged or hostile "
           f"archive?); check it is the right file, or raise {MAX_FILE_MB_ENV_VAR}")
    return InputTooLargeError(msg)


class _Limited(io.RawIOBase):
    """A byte stream that raises ``InputTooLargeError`` once more than ``limit`` bytes came."""

    def __init__(self, raw: io.BufferedIOBase | IO[bytes], limit: int, label: str,
                 compressed: int) -> None:
        self._raw, self._limit, self._label, self._compressed = raw, limit, label, compressed
        self._count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        self._count += len(data)
        if self._count > self._limit:
            raise _too_large(self._label, self._count, self._compressed)
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _read_vector(path: Path) -> gpd.GeoDataFrame:
    """Read a vector layer after checking its size in bytes and its feature count."""
    check_file_size(path)
    try:
        check_feature_count(path, int(pyogrio.read_info(path)["features"]))
        frame = gpd.read_file(path)
    except InputTooLargeError:
        raise
    except Exception as e:
        msg = f"{path}: cannot be read as a vector layer ({e})"
        raise LayerError(msg) from e
    return frame


def _to_metric(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    if frame.crs is None:
        msg = f"{path}: the layer has no CRS; declare one (e.g. EPSG:4326) instead of guessing"
        raise CRSError(msg)
    check_extent(frame, path)
    return frame.to_crs(METRIC_CRS)


def check_extent(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Check that a layer's coordinates lie within the city's extent in its declared CRS.

    Raises
    ------
    geo.errors.CRSError
        Naming the file, the bounds found and expected, and the likely cause: e.g. degrees
        labelled as EPSG:6670, latitude and longitude swapped, or another plane zone.
    """
    geometry = frame.geometry.dropna()
    if geometry.empty:
        return
    crs = CRS.from_user_input(frame.crs)
    bounds = geometry.total_bounds
    if _within_city_extent(bounds, crs):
        return
    expected = np.round(_city_extent(crs), 2).tolist()
    msg = (f"{path}: coordinates {np.round(bounds, 2).tolist()} are not within Kumamoto City's "
           f"extent {expected} in the declared CRS {crs.to_string()}; {_likely_cause(bounds, crs)}")
    raise CRSError(msg)


def _city_extent(crs: CRS) -> np.ndarray:
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return np.array(to_crs.transform_bounds(*CITY_EXTENT_WGS84))


def _within_city_extent(bounds: np.ndarray, crs: CRS) -> bool:
    extent = _city_extent(crs)
    return bool(np.isfinite(bounds).all() and bounds[0] >= extent[0] and bounds[1] >= extent[1]
                and bounds[2] <= extent[2] and bounds[3] <= extent[3])


def _likely_cause(bounds: np.ndarray, declared: CRS) -> str:
    if not np.isfinite(bounds).all():
        return "some coordinates are not finite numbers"
    if _within_city_extent(bounds[[1, 0, 3, 2]], CRS.from_user_input("EPSG:4326")):
        return "latitude and longitude look swapped"
    cause = ""
    if declared.is_geographic and (np.abs(bounds[[0, 2]]).max() > 180
                                   or np.abs(bounds[[1, 3]]).max() > 90):
        cause = (f"the CRS {declared.to_string()} is geographic but the coordinates are not "
                 "degrees; ")
    for candidate in _LIKELY_CRS:
        crs = CRS.from_user_input(candidate)
        if crs != declared and _within_city_extent(bounds, crs):
            kind = "degrees" if crs.is_geographic else "coordinates"
            return (f"{cause}they look like {kind} in {candidate} labelled as "
                    f"{declared.to_string()}; declare the CRS the file really uses")
    return cause + "check the coordinates and the declared CRS"


def _check_columns(frame: pd.DataFrame, required: Iterable[str]) -> list[str]:
    missing = [c for c in required if c not in frame.columns]
    return [f"missing column(s) {', '.join(missing)}"] if missing else []


def _check_geometry(frame: gpd.GeoDataFrame, allowed: tuple[str, ...]) -> list[str]:
    problems = []
    for row, geom in enumerate(frame.geometry, start=1):
        if geom is None or geom.is_empty:
            problems.append(f"row {row}: missing or unparsable geometry")
        elif geom.geom_type not in allowed:
            problems.append(
                f"row {row}: geometry is {geom.geom_type}, expected {'/'.join(allowed)}")
    return problems


def _check_unique(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    dup = frame[column].duplicated(keep="first")
    return [f"row {i + 1}: duplicate {column} {frame[column].iloc[i]!r}"
            for i in np.flatnonzero(dup.to_numpy())]


def check_counts(
    values: pd.Series, column: str, *, upper: float = MAX_PEOPLE_PER_AREA
) -> tuple[pd.Series, list[str]]:
    """Parse a column of counts (people, households): numeric, finite, 0 to ``upper``.

    A missing value (null or an empty string) is allowed: the census leaves some areas
    without a figure. Anything else that is not a number (text, ``true``) is a problem, so
    a damaged file is refused instead of losing people silently.

    Parameters
    ----------
    values
        The column as read (numbers, or text from a damaged file).
    column
        Its name, for the messages.
    upper
        Largest plausible value.

    Returns
    -------
    counts : pandas.Series
        Floats, NaN where the value is missing.
    problems : list of str
        ``row N: ...`` for every bad value (rows count from 1).
    """
    text = values.astype(str).str.strip()
    missing = values.isna() | (text == "")
    is_bool = values.map(lambda v: isinstance(v, (bool, np.bool_)))
    counts = pd.to_numeric(values.where(~missing & ~is_bool), errors="coerce").astype(float)
    checks: list[tuple[pd.Series, str, str]] = [
        (~missing & counts.isna(), "non-numeric", ""),
        (counts.isin([np.inf, -np.inf]), "infinite", ""),
        (counts < 0, "negative", ""),
        (counts.abs().lt(np.inf) & (counts > upper), "implausibly large",
         f" (more than {upper:,})"),
    ]
    problems = [(i, f"row {i + 1}: {what} {column} {_shown(values.iloc[i])}{why}")
                for bad, what, why in checks for i in np.flatnonzero(bad.to_numpy())]
    return counts.where(~missing), [p for _, p in sorted(problems)]


def _shown(value: object) -> str:
    """A cell value for a message: text quoted, numbers as plain Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


def _check_inside(points: gpd.GeoSeries, city: shapely.Geometry, label: str) -> list[str]:
    area = shapely.buffer(city, OUTSIDE_CITY_TOLERANCE_M)
    shapely.prepare(area)
    outside = ~shapely.contains(area, points.to_numpy())
    return [f"row {i + 1}: {label} point is outside Kumamoto City (check the coordinates and CRS)"
            for i in np.flatnonzero(outside)]


def _read_point_layer(
    key: str, data: str | os.PathLike[str] | None, required: list[str], *, label: str,
    unique: str | None = None
) -> gpd.GeoDataFrame:
    """Read a bundle point layer, check columns, geometry, ids and extent; return EPSG:6670."""
    path = bundle_path(key, data)
    frame = _read_vector(path)
    problems = _check_columns(frame, required)
    problems += _check_geometry(frame, ("Point",))
    if unique:
        problems += _check_unique(frame, unique)
    if problems:
        raise _problems_error(path, problems)
    frame = _to_metric(frame, path)
    problems = _check_inside(frame.geometry, city_polygon(data), label)
    if problems:
        raise _problems_error(path, problems)
    return frame


def city_polygon(data: str | os.PathLike[str] | None = None) -> shapely.Geometry:
    """Return the city's land area (union of the N03 ward polygons), EPSG:6670.

    Every point layer is checked against it, so it is read once per wards file version.
    """
    path = bundle_path("wards", data)
    return _city_polygon(str(path.resolve()), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _city_polygon(path: str, mtime_ns: int) -> shapely.Geometry:
    return shapely.union_all(load_wards(Path(path).parents[1]).geometry.to_numpy())


def load_wards(data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Load the 5 ward polygons (国土数値情報 N03 2020).

    Returns
    -------
    geopandas.GeoDataFrame
        ``ward_code`` (str, 43101-43105), ``ward`` (Japanese name), ``geometry``
        (Polygon / MultiPolygon, EPSG:6670).
    """
    path = bundle_path("wards", data)
    frame = _read_vector(path)
    problems = _check_columns(frame, ["ward_code", "ward"])
    problems += _check_geometry(frame, ("Polygon", "MultiPolygon"))
    problems += _check_unique(frame, "ward_code")
    if problems:
        raise _problems_error(path, problems)
    frame = _to_metric(frame, path)
    frame["ward_code"] = frame["ward_code"].astype(str)
    return frame[["ward_code", "ward", "geometry"]].sort_values("ward_code").reset_index(drop=True)


def load_small_areas(data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Load the 2015 census small areas (町丁・字) with population.

    Returns
    -------
    geopandas.GeoDataFrame
        ``key_code`` (str), ``ward_code``, ``ward``, ``name`` (census spelling),
        ``name_nfkc``, ``population`` (float, 0 where the census gives none),
        ``households`` (float), ``geometry`` (Polygon / MultiPolygon, EPSG:6670).
        ``attrs["population_missing"]`` counts the areas without a population figure.

    Raises
    ------
    geo.errors.LayerError
        Listing every bad row: a duplicate key, a population or household count that is
        text, infinite, negative or above ``MAX_PEOPLE_PER_AREA``; or coordinates outside
        the city in the declared CRS (``CRSError``).
    """
    path = bundle_path("small_areas", data)
    frame = _read_vector(path)
    required = ["key_code_2015", "ward_code", "ward", "name", "name_nfkc",
                "population_2015", "households_2015"]
    problems = _check_columns(frame, required)
    problems += _check_geometry(frame, ("Polygon", "MultiPolygon"))
    problems += _check_unique(frame, "key_code_2015")
    counts = {}
    for column in ("population_2015", "households_2015"):
        if column in frame.columns:
            counts[column], found = check_counts(frame[column], column)
            problems += found
    if problems:
        raise _problems_error(path, problems)
    frame = _to_metric(frame, path)
    unknown = int(counts["population_2015"].isna().sum())
    if unknown:
        logger.info("%s: %d small area(s) have no population figure in the source; read as 0",
                    path, unknown)
    frame = frame.rename(columns={"key_code_2015": "key_code"})
    frame["key_code"] = frame["key_code"].astype(str)
    frame["ward_code"] = frame["ward_code"].astype(str)
    frame["population"] = counts["population_2015"].fillna(0.0).to_numpy()
    frame["households"] = counts["households_2015"].fillna(0.0).to_numpy()
    columns = ["key_code", "ward_code", "ward", "name", "name_nfkc", "population",
               "households", "geometry"]
    frame = frame[columns].reset_index(drop=True)
    frame.attrs["population_missing"] = unknown
    return frame


@dataclass(frozen=True)
class PopulationCoverage:
    """How many of the 2015 census's residents the small areas' population figures hold.

    A small area without a figure counts as 0. Most such areas are uninhabited or counted
    in a neighbour's figure (e-Stat folds small areas into a neighbour), and then the
    figures still add up to the census total; residents of an area whose figure is missing
    are in no figure at all. The shortfall against the census total counts them, whichever
    areas they live in.

    Attributes
    ----------
    areas_without_figure
        Small areas whose population the source leaves empty.
    people_counted
        The small areas' population figures, summed.
    census_total
        ``CENSUS_2015_POPULATION``.
    """

    areas_without_figure: int
    people_counted: float
    census_total: int = CENSUS_2015_POPULATION

    @property
    def people_without_figure(self) -> int:
        """Residents of the census total that no small area's figure holds (at least 0)."""
        return max(0, round(self.census_total - self.people_counted))

    def notice(self, lang: str = "en") -> str:
        """One line for a screen or the command line, in ``ja`` or ``en``."""
        missing, total = self.people_without_figure, self.census_total
        share = 100 * missing / total
        if lang == "ja":
            return (f"人口：2015年国勢調査の{total:,}人のうち{missing:,}人（{share:.1f}%）は"
                    f"どの小地域の人口にも含まれず、ここでの数値にも入っていません"
                    f"（人口の値がない小地域：{self.areas_without_figure}、0人として計算）。")
        return (f"population: {missing:,} of the {total:,} residents of the 2015 census "
                f"({share:.1f} %) are in no small area's figure, so in no figure here "
                f"({self.areas_without_figure} small areas have no population figure and "
                f"count as 0)")


def population_coverage(small_areas: pd.DataFrame) -> PopulationCoverage:
    """Measure ``load_small_areas``'s figures against the census total (``PopulationCoverage``)."""
    return PopulationCoverage(
        areas_without_figure=int(small_areas.attrs.get("population_missing", 0)),
        people_counted=float(small_areas["population"].sum()))


def load_schools(
    data: str | os.PathLike[str] | None = None, *, current_only: bool = True
) -> gpd.GeoDataFrame:
    """Load elementary school points.

    Parameters
    ----------
    current_only
        Keep only schools whose ``status_guess`` is ``current`` (92 in 2026).

    Returns
    -------
    geopandas.GeoDataFrame
        ``school_id``, ``name`` (e.g. 一新小学校), ``ward``, ``ward_code``, ``status``,
        ``geometry`` (Point, EPSG:6670).
    """
    frame = _read_point_layer("schools", data,
                              ["portal_shelter_id", "name", "ward", "status_guess"],
                              label="school")
    frame = frame.rename(columns={"portal_shelter_id": "school_id", "status_guess": "status"})
    if current_only:
        frame = frame[frame["status"] == "current"]
    frame["ward_code"] = frame["ward_code"].astype(str)
    return frame[["school_id", "name", "ward", "ward_code", "status", "geometry"]].reset_index(
        drop=True)


def load_attendance_zones(data: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load the city's attendance-zone table (school -> town), effective 2026-04-01.

    Returns
    -------
    pandas.DataFrame
        ``school``, ``ward``, ``town``, ``residence``, ``lot``, ``kind`` (primary | secondary).
    """
    path = bundle_path("attendance_zones", data)
    check_file_size(path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
        frame = pd.DataFrame(rows)
    except OSError as e:
        msg = f"{path}: cannot be read ({e.strerror})"
        raise LayerError(msg) from e
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        msg = f"{path}: expected a UTF-8 JSON object with a 'rows' list ({e})"
        raise LayerError(msg) from e
    check_feature_count(path, len(frame))
    problems = _check_columns(frame, ["school", "ward", "town", "residence", "lot", "kind"])
    if problems:
        raise _problems_error(path, problems)
    bad_kind = ~frame["kind"].isin(["primary", "secondary"])
    problems = [f"row {i + 1}: kind {frame['kind'].iloc[i]!r} is not primary/secondary"
                for i in np.flatnonzero(bad_kind.to_numpy())]
    if problems:
        raise _problems_error(path, problems)
    return frame.fillna("")


def _parse_flag(value: object) -> bool | None:
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def load_offices(
    data: str | os.PathLike[str] | None = None, *, path: str | os.PathLike[str] | None = None,
    facts_path: str | os.PathLike[str] | None = None,
) -> gpd.GeoDataFrame:
    """Load the office register (ward offices, branches, annex, service corners).

    Parameters
    ----------
    path
        Read this CSV instead of the bundle's ``offices/offices.csv``.
    facts_path
        Read these facts instead of the project's ``data/offices/office_facts.csv``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``office_id``, ``name_ja``, ``name_en``, ``kind`` (one of ``OFFICE_KINDS``),
        ``ward``, ``address_ja``, ``precision``, ``counter_fy2015`` (bool),
        ``counter_now`` (bool; where the register says ``unknown``, the project's
        ``office_facts.csv`` decides, else the office is taken as open and
        ``counter_now_known`` is False), ``status_source`` (where today's status comes
        from), ``kind_now`` (today's kind: 龍田 is a general branch now), ``geometry``
        (Point, EPSG:6670).
    """
    csv_path = Path(path) if path is not None else bundle_path("offices", data)
    check_file_size(csv_path)
    try:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, nrows=max_features() + 1)
    except Exception as e:
        msg = f"{csv_path}: cannot be read as CSV ({e})"
        raise LayerError(msg) from e
    check_feature_count(csv_path, len(frame))
    required = ["office_id", "name_ja", "name_en", "kind", "ward", "lat", "lon",
                "counter_fy2015", "counter_now"]
    problems = _check_columns(frame, required)
    if problems:
        raise _problems_error(csv_path, problems)
    problems += _check_unique(frame, "office_id")
    lat = pd.to_numeric(frame["lat"], errors="coerce")
    lon = pd.to_numeric(frame["lon"], errors="coerce")
    for i in np.flatnonzero((lat.isna() | lon.isna()).to_numpy()):
        problems.append(f"row {i + 1}: unparsable coordinates lat={frame['lat'].iloc[i]!r} "
                        f"lon={frame['lon'].iloc[i]!r}")
    for i in np.flatnonzero((~frame["kind"].isin(OFFICE_KINDS)).to_numpy()):
        problems.append(f"row {i + 1}: unknown kind {frame['kind'].iloc[i]!r} "
                        f"(expected one of {', '.join(OFFICE_KINDS)})")
    for column in ("counter_fy2015", "counter_now"):
        parsed = frame[column].map(_parse_flag)
        bad = parsed.isna() & (frame[column].str.lower() != "unknown")
        for i in np.flatnonzero(bad.to_numpy()):
            problems.append(
                f"row {i + 1}: {column} {frame[column].iloc[i]!r} is not true/false/unknown")
    if problems:
        raise _problems_error(csv_path, problems)
    offices = gpd.GeoDataFrame(
        frame.drop(columns=["lat", "lon"]),
        geometry=gpd.points_from_xy(lon, lat), crs=DISPLAY_CRS,
    ).to_crs(METRIC_CRS)
    problems = _check_inside(offices.geometry, city_polygon(data), "office")
    if problems:
        raise _problems_error(csv_path, problems)
    offices["counter_fy2015"] = offices["counter_fy2015"].map(_parse_flag).astype(bool)
    stated = offices["counter_now"].map(_parse_flag)
    facts = load_office_facts(facts_path)
    by_fact = facts[facts["field"] == "counter_now"].set_index("office_id")["value"]
    from_fact = stated.isna() & offices["office_id"].isin(by_fact.index)
    stated = stated.where(~from_fact, offices["office_id"].map(by_fact).map(_parse_flag))
    offices["counter_now_known"] = stated.notna()
    offices["counter_now"] = stated.fillna(True).astype(bool)
    offices["status_source"] = np.where(from_fact, "office_facts.csv",
                                        np.where(stated.notna(), "register",
                                                 "unknown: taken as open"))
    kinds = facts[facts["field"] == "kind_now"].set_index("office_id")["value"]
    offices["kind_now"] = offices["office_id"].map(kinds).fillna(offices["kind"])
    for column in ("address_ja", "precision", "note"):
        if column not in offices.columns:
            offices[column] = ""
    columns = ["office_id", "name_ja", "name_en", "kind", "kind_now", "ward", "address_ja",
               "precision", "counter_fy2015", "counter_now", "counter_now_known",
               "status_source", "note", "geometry"]
    return offices[columns].reset_index(drop=True)


OFFICE_FACTS = PROJECT_DATA_DIR / "offices" / "office_facts.csv"
OFFICE_FACT_FIELDS = ("counter_now", "kind_now")


def load_office_facts(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read the project's typed facts about offices (``data/offices/office_facts.csv``).

    Returns
    -------
    pandas.DataFrame
        ``office_id, field, value, source``: ``counter_now`` (``true``/``false``, used
        where the register says ``unknown``) and ``kind_now`` (today's kind).
    """
    csv_path = Path(path) if path is not None else OFFICE_FACTS
    try:
        facts = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except Exception as e:
        msg = f"{csv_path}: cannot be read as CSV ({e})"
        raise LayerError(msg) from e
    problems = _check_columns(facts, ["office_id", "field", "value", "source"])
    if problems:
        raise _problems_error(csv_path, problems)
    for i, row in enumerate(facts.itertuples()):
        if row.field not in OFFICE_FACT_FIELDS:
            problems.append(f"row {i + 1}: unknown field {row.field!r} "
                            f"(expected one of {', '.join(OFFICE_FACT_FIELDS)})")
        elif row.field == "kind_now" and row.value not in OFFICE_KINDS:
            problems.append(f"row {i + 1}: unknown kind {row.value!r}")
        elif row.field == "counter_now" and _parse_flag(row.value) is None:
            problems.append(f"row {i + 1}: counter_now {row.value!r} is not true/false")
    if facts.duplicated(["office_id", "field"]).any():
        problems.append("an office has the same field twice")
    if problems:
        raise _problems_error(csv_path, problems)
    return facts


_STORE_COLUMNS: dict[str, dict[str, str | None]] = {
    "osm": {"id": "osm_id", "name": "name_repo", "brand": "brand"},
    "overture": {"id": "id", "name": "name", "brand": "brand"},
    "lawson2013": {"id": "ref", "name": "name", "brand": None},
}


def _load_store_source(source: str, data: str | os.PathLike[str] | None) -> gpd.GeoDataFrame:
    spec = _STORE_COLUMNS[source]
    id_column = str(spec["id"])
    # Overture repeats ids on duplicate points: they are merged by dedupe_stores instead
    frame = _read_point_layer(f"stores_{source}", data, [c for c in spec.values() if c],
                              label="store", unique=None if source == "overture" else id_column)
    brand = frame[spec["brand"]] if spec["brand"] else pd.Series("ローソン", index=frame.index)
    ids = source + ":" + frame[id_column].astype(str)
    repeat = ids.groupby(ids).cumcount()
    ids = ids.where(repeat == 0, ids + "#" + (repeat + 1).astype(str))
    return gpd.GeoDataFrame(
        {
            "store_id": ids,
            "name": frame[spec["name"]].fillna("").astype(str),
            "brand": brand.fillna("").astype(str),
            "source": source,
        },
        geometry=frame.geometry, crs=METRIC_CRS,
    )


def dedupe_stores(stores: gpd.GeoDataFrame, *, radius_m: float = STORE_DEDUP_RADIUS_M
                  ) -> gpd.GeoDataFrame:
    """Merge points of the same brand closer than ``radius_m`` (keep the first of each group).

    Groups are connected components of the "same brand and within radius" relation, so a
    chain of three points 30 m apart becomes one store.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    if stores.empty:
        return stores.copy()
    xy = np.column_stack([stores.geometry.x, stores.geometry.y])
    pairs = cKDTree(xy).query_pairs(radius_m, output_type="ndarray")
    brands = stores["brand"].to_numpy()
    pairs = pairs[brands[pairs[:, 0]] == brands[pairs[:, 1]]]
    n = len(stores)
    adjacency = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(adjacency, directed=False)
    keep = ~pd.Series(labels).duplicated(keep="first").to_numpy()
    return stores[keep].reset_index(drop=True)


def available_store_sources(data: str | os.PathLike[str] | None = None) -> list[str]:
    """The store sources whose files the data directory holds (``union`` needs OSM and
    Overture), in ``STORE_SOURCES`` order."""
    present = {s for s in ("osm", "overture", "lawson2013")
               if find_layer(f"stores_{s}", data) is not None}
    return [s for s in STORE_SOURCES
            if (s == "union" and {"osm", "overture"} <= present) or s in present]


def default_store_source(data: str | os.PathLike[str] | None = None) -> str:
    """``union`` where the data directory has both OSM and Overture stores, else ``osm``.

    A directory filled by ``python -m geo fetch`` has the OSM stores only (Overture has no
    fetch source yet), so its studies use OSM, and the screens say which layer is used.
    """
    available = available_store_sources(data)
    return "union" if "union" in available or not available else available[0]


def load_stores(data: str | os.PathLike[str] | None = None, *, source: str = "union"
                ) -> gpd.GeoDataFrame:
    """Load convenience stores that issue certificates with the My Number card.

    Parameters
    ----------
    source
        ``osm`` (OSM 2026-07-30, under-mapped), ``overture`` (Overture 2026-07, merged
        within 40 m of the same brand; no coverage north of 32.85°N), ``lawson2013``
        (one chain, 2013), or ``union`` (OSM 2026 and Overture 2026 merged within 40 m of
        the same brand; Lawson 2013 is left out as it is 13 years old).

    Returns
    -------
    geopandas.GeoDataFrame
        ``store_id`` (source-prefixed), ``name``, ``brand``, ``source``, ``geometry``
        (Point, EPSG:6670).
    """
    if source not in STORE_SOURCES:
        msg = f"unknown store source {source!r}; choose one of {', '.join(STORE_SOURCES)}"
        raise LayerError(msg)
    if source == "union":
        both = pd.concat([_load_store_source("osm", data), _load_store_source("overture", data)],
                         ignore_index=True)
        return dedupe_stores(gpd.GeoDataFrame(both, crs=METRIC_CRS))
    stores = _load_store_source(source, data)
    return dedupe_stores(stores) if source == "overture" else stores


def load_population_mesh(data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Load the 2020 census 500 m mesh population.

    Returns
    -------
    geopandas.GeoDataFrame
        ``mesh_code``, ``population`` (2020 total), ``share_65plus`` (0-1; e-Stat folds
        the age figures of a suppressed mesh into a neighbour, whose share the suppressed
        mesh then takes; NaN where no age figure exists), ``geometry`` (Polygon, EPSG:6670).
    """
    path = bundle_path("mesh", data)
    frame = _read_vector(path)
    problems = _check_columns(frame, ["mesh_code_500m", "pop_total", "share_65plus",
                                      "suppress_flag", "group_key"])
    problems += _check_geometry(frame, ("Polygon", "MultiPolygon"))
    problems += _check_unique(frame, "mesh_code_500m")
    if not problems:
        population, problems = check_counts(frame["pop_total"], "pop_total")
        share, found = check_counts(frame["share_65plus"], "share_65plus", upper=1)
        flag, flag_problems = check_counts(frame["suppress_flag"], "suppress_flag", upper=2)
        problems += found + flag_problems
    if problems:
        raise _problems_error(path, problems)
    frame = _to_metric(frame, path)
    if unknown := int(population.isna().sum()):
        logger.info("%s: %d mesh cell(s) have no population figure in the source; read as 0",
                    path, unknown)
    receivers = flag != 2
    group_share = share[receivers].groupby(frame.loc[receivers, "group_key"]).first()
    mesh = gpd.GeoDataFrame({
        "mesh_code": frame["mesh_code_500m"].astype(str),
        "population": population.fillna(0.0),
        "share_65plus": frame["group_key"].map(group_share).to_numpy(),
    }, geometry=frame.geometry, crs=METRIC_CRS)
    mesh.attrs["population_missing"] = unknown
    return mesh


def load_roads(data: str | os.PathLike[str] | None = None) -> gpd.GeoDataFrame:
    """Load the MLIT city-wide road lines (通れる道マップ) as LineStrings in EPSG:6670.

    MultiLineStrings are exploded into their parts; the lines carry no attributes.
    """
    path = bundle_path("roads", data)
    frame = _read_vector(path)
    problems = _check_geometry(frame, ("LineString", "MultiLineString"))
    if problems:
        raise _problems_error(path, problems)
    frame = _to_metric(frame, path)
    city = shapely.buffer(city_polygon(data), 5_000.0)
    shapely.prepare(city)
    outside = ~shapely.intersects(city, frame.geometry.to_numpy())
    if outside.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(outside)[:10])
        msg = (f"{path}: {int(outside.sum())} road line(s) lie wholly outside the city "
               f"(rows {rows}); check the coordinates and CRS")
        raise LayerError(msg)
    return frame[["geometry"]].explode(index_parts=False).reset_index(drop=True)
