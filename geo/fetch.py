"""Download the open sources online into the data-directory layout that ``geo.layers`` reads.

For a user with internet access and no copy of the Kumamoto bundle. Each source is
downloaded, converted to the columns the loaders expect and written atomically to the
relative path in ``geo.layers.BUNDLE_FILES``; a file already present is kept (the cache)
unless ``force`` is given. ``fetch_manifest.json`` in the data directory records, per file,
where it came from, when, and its SHA-256.

Sources (``SOURCES``):

``osm-stores``
    OSM ``shop=convenience`` through osmnx ``features_from_place`` -> ``stores_osm``.
``osm-roads``
    OSM drive network through osmnx ``graph_from_place`` -> GraphML ``osm_drive_city``
    (the engine's ``network="osm-city-drive"``).
``n03``
    国土数値情報 行政区域 N03 (2020-01-01) for Kumamoto Prefecture -> ``wards``.
``estat``
    e-Stat 2015 census small-area boundaries and the small-area table of population and
    households -> ``small_areas``.

The download addresses follow the patterns the publishers use and that public download
scripts use; they could not be tried from the development machine (no internet), so each
is a keyword parameter of ``fetch`` (``n03_url``, ``estat_boundary_url``,
``estat_table_url``) to be corrected without a code change if a publisher moves a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import requests
import shapely

from .errors import FetchError
from .layers import BUNDLE_FILES, DISPLAY_CRS, _check_columns
from .settings import data_dir

logger = logging.getLogger(__name__)

SOURCES = ("osm-stores", "osm-roads", "n03", "estat")
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
"""e-Stat 統計GIS: 2015 small-area table T000848 (男女別人口総数及び世帯総数), Kumamoto Prefecture."""
ESTAT_TABLE_ID = "T000848"
MANIFEST_NAME = "fetch_manifest.json"
TIMEOUT_S = 300.0
"""Seconds to wait for a server (connect and each read); the e-Stat zips are tens of MB."""
_MISSING_VALUES = ("", "-", "X", "x", "*", "…")
USER_AGENT = "madoguchi (Kumamoto service-counter dashboard; python-requests)"


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch`` did for one source."""

    source: str
    path: Path
    status: str
    """``fetched`` or ``cached`` (the file was present and kept)."""
    sha256: str


# --- plumbing -------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write ``target`` through a temporary file in the same folder, then rename it.

    A reader never sees a half-written file, and a failed write leaves any previous
    ``target`` untouched and no temporary file behind.

    Parameters
    ----------
    target
        Final path.
    write
        Called with the temporary path (same suffix as ``target``); must create it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}.{uuid.uuid4().hex}.part{target.suffix}")
    try:
        write(temporary)
        os.replace(temporary, target)
    except Exception:
        temporary.unlink(missing_ok=True)
        raise


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
    atomic_write(target, lambda tmp: frame.to_crs(DISPLAY_CRS).to_file(tmp, driver="GeoJSON"))


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


def population_from_estat_table(archive: zipfile.ZipFile, *, table_id: str = ESTAT_TABLE_ID
                                ) -> pd.DataFrame:
    """Read an e-Stat small-area table (CP932 CSV: column ids, then labels, then data).

    Returns
    -------
    pandas.DataFrame
        ``key_code`` (str), ``population_2015``, ``households_2015`` (float; NaN where the
        census suppresses or has no value: ``-``, ``X``, ``*``).
    """
    members = [n for n in archive.namelist() if n.lower().endswith((".txt", ".csv"))]
    if not members:
        msg = f"e-Stat table {table_id}: the archive holds no .txt/.csv file"
        raise FetchError(msg)
    raw = archive.read(members[0])
    try:
        text = raw.decode("cp932")
    except UnicodeDecodeError:
        text = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 3:
        msg = f"e-Stat table {table_id}: {members[0]} has no data rows"
        raise FetchError(msg)
    table = pd.DataFrame(rows[2:], columns=[c.strip() for c in rows[0]])
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
        return frame[key].fillna("").astype(str).str.strip()

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


# --- osmnx seams (monkeypatched in tests) ---------------------------------------------


def _osm_features(place: str, tags: dict[str, str]) -> gpd.GeoDataFrame:
    import osmnx as ox

    return ox.features_from_place(place, tags)


def _osm_graph(place: str, network_type: str) -> nx.MultiDiGraph:
    import osmnx as ox

    return ox.graph_from_place(place, network_type=network_type, simplify=True)


def _osmnx(what: str, call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as e:  # osmnx raises requests, geocoding and Overpass response errors
        msg = (f"could not download {what} from OpenStreetMap ({e}); this needs internet "
               f"access to Nominatim and Overpass")
        raise FetchError(msg) from e


def _save_graphml(graph: nx.MultiDiGraph, path: Path) -> None:
    import osmnx as ox

    ox.save_graphml(graph, filepath=path)


# --- manifest and driver --------------------------------------------------------------


def read_manifest(data: str | os.PathLike[str] | None = None) -> dict:
    """Return the fetch manifest of a data directory (``{"files": {}}`` when there is none)."""
    path = data_dir(data) / MANIFEST_NAME
    if not path.is_file():
        return {"files": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        msg = f"{path}: the fetch manifest is not valid JSON ({e}); delete it and fetch again"
        raise FetchError(msg) from e


def _record(root: Path, relpath: str, source: str, inputs: list[dict[str, str]]) -> str:
    manifest = read_manifest(root)
    sha = _sha256(root / relpath)
    manifest.setdefault("files", {})[relpath] = {
        "source": source,
        "inputs": inputs,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": sha,
        "bytes": (root / relpath).stat().st_size,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
    atomic_write(root / MANIFEST_NAME, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))
    return sha


def _input(url: str, content: bytes) -> dict[str, str]:
    return {"url": url, "sha256": hashlib.sha256(content).hexdigest()}


def parse_sources(only: str | Iterable[str] | None) -> tuple[str, ...]:
    """Return the chosen sources in ``SOURCES`` order; ``None`` means all of them."""
    if only is None:
        return SOURCES
    names = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        msg = (f"unknown source(s) {', '.join(unknown) or '(none)'}; "
               f"choose from {', '.join(SOURCES)}")
        raise FetchError(msg)
    return tuple(s for s in SOURCES if s in names)


def fetch(
    data: str | os.PathLike[str] | None = None, *,
    only: str | Iterable[str] | None = None,
    force: bool = False,
    session: requests.Session | None = None,
    timeout: float = TIMEOUT_S,
    place: str = PLACE,
    n03_url: str = N03_URL,
    estat_boundary_url: str = ESTAT_BOUNDARY_URL,
    estat_table_url: str = ESTAT_TABLE_URL,
) -> list[FetchResult]:
    """Download the open sources into ``data`` (needs internet).

    Parameters
    ----------
    data
        Target data directory (default ``MADOGUCHI_DATA`` or ``data/bundle``); it must be
        writable, so not the read-only shared bundle.
    only
        Sources to fetch, from ``SOURCES`` (a list or a comma-separated string).
    force
        Download again even when the file is present.
    session
        ``requests`` session for the N03 and e-Stat downloads (tests inject a fake one);
        osmnx makes its own requests.
    timeout
        Seconds to wait for a server.
    place
        Place name for osmnx (Nominatim).
    n03_url, estat_boundary_url, estat_table_url
        Download addresses (see the module docstring).

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
    session = session if session is not None else requests.Session()
    results = []
    for source in parse_sources(only):
        relpath = _relpath(source)
        target = root / relpath
        if target.is_file() and not force:
            logger.info("%s: %s is present, kept (use force to download again)", source, target)
            results.append(FetchResult(source, target, "cached", _sha256(target)))
            continue
        try:
            inputs = _FETCHERS[source](target, session=session, timeout=timeout, place=place,
                                       n03_url=n03_url, estat_boundary_url=estat_boundary_url,
                                       estat_table_url=estat_table_url)
            sha = _record(root, relpath, source, inputs)
        except OSError as e:
            msg = f"{source}: cannot write {target} ({e}); choose a writable --data directory"
            raise FetchError(msg) from e
        logger.info("%s: wrote %s", source, target)
        results.append(FetchResult(source, target, "fetched", sha))
    return results


def _relpath(source: str) -> str:
    key = {"osm-stores": "stores_osm", "osm-roads": "osm_drive_city", "n03": "wards",
           "estat": "small_areas"}[source]
    return BUNDLE_FILES[key].relpath


def _fetch_osm_stores(target: Path, *, place: str, **_) -> list[dict[str, str]]:
    tags = {"shop": "convenience"}
    features = _osmnx("convenience stores", lambda: _osm_features(place, tags))
    _write_geojson(stores_from_osm(features), target)
    return [{"url": f"osmnx features_from_place({place!r}, {tags}) via Overpass API"}]


def _fetch_osm_roads(target: Path, *, place: str, **_) -> list[dict[str, str]]:
    graph = _osmnx("the drive network", lambda: _osm_graph(place, "drive"))
    atomic_write(target, lambda tmp: _save_graphml(graph, tmp))
    call = f"osmnx graph_from_place({place!r}, network_type='drive')"
    return [{"url": f"{call} via Overpass API"}]


def _fetch_n03(target: Path, *, session, timeout, n03_url: str, **_) -> list[dict[str, str]]:
    content = download(session, n03_url, timeout=timeout)
    _write_geojson(wards_from_n03(_zip(content, n03_url)), target)
    return [_input(n03_url, content)]


def _fetch_estat(target: Path, *, session, timeout, estat_boundary_url: str,
                 estat_table_url: str, **_) -> list[dict[str, str]]:
    shapes = download(session, estat_boundary_url, timeout=timeout)
    table = download(session, estat_table_url, timeout=timeout)
    areas = small_areas_from_estat(_zip(shapes, estat_boundary_url), _zip(table, estat_table_url))
    _write_geojson(areas, target)
    return [_input(estat_boundary_url, shapes), _input(estat_table_url, table)]


_FETCHERS = {"osm-stores": _fetch_osm_stores, "osm-roads": _fetch_osm_roads,
             "n03": _fetch_n03, "estat": _fetch_estat}
