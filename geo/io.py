"""Export tables and layers: CSV (UTF-8 with BOM), Excel workbooks and GeoJSON.

Every exporter returns bytes (for download buttons) and leaves its input untouched. Text
cells that a spreadsheet would run as a formula are defused; numeric columns are never
changed. Excel workbooks carry a scenario sheet and a data-sources sheet, so a table sent
to another department keeps its context and attribution.

Every file is written through ``atomic_write`` (a temporary file in the same folder, then
a rename), after ``check_output_path`` has refused paths inside the data directory and
existing files of another format.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import logging
import math
import os
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CRSError, OutputError
from .layers import BUNDLE_FILES, DISPLAY_CRS, NETWORK_FILES, BundleFile
from .settings import PROJECT_DATA_DIR, data_dir

if TYPE_CHECKING:  # openpyxl is imported only when an Excel file is written
    from openpyxl.worksheet.worksheet import Worksheet

    from .scenarios import Scenario

logger = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by Excel / LibreOffice."""
EXCEL_SHEET_NAME_MAX = 31
SCENARIO_SHEET = "シナリオ"
SOURCES_SHEET = "出典"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_BOM = "\ufeff".encode("utf-8")
_SOURCE_COLUMNS = ["key", "file", "description", "source", "licence", "attribution"]


# -- writing files -------------------------------------------------------------------------

OUTPUT_FORMATS = ("csv", "geojson", "gpkg")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SNIFF_BYTES = 65_536


def atomic_write(target: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write ``target`` through a temporary file in the same folder, then rename it.

    A write that fails midway (full disk, killed process, an error in ``write``) leaves the
    old file as it was and no temporary file behind: ``os.replace`` swaps the complete file
    in one step.

    Parameters
    ----------
    target
        The file to create or replace.
    write
        Called with the temporary path (same suffix as ``target``); must create that file.

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    target = Path(target)
    temporary = target.with_name(f".{target.stem}.{uuid.uuid4().hex}.part{target.suffix}")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (see ``atomic_write``)."""
    return atomic_write(target, lambda temporary: temporary.write_bytes(data))


def check_output_path(
    target: str | os.PathLike[str], *, fmt: str,
    data: str | os.PathLike[str] | None = None,
) -> Path:
    """Refuse an output path that would destroy input data or a file of another format.

    Parameters
    ----------
    target
        The file about to be written.
    fmt
        What will be written there: ``csv``, ``geojson`` or ``gpkg``.
    data
        The data directory in use (default: ``geo.settings.data_dir()``).

    Returns
    -------
    pathlib.Path
        ``target``, resolved.

    Raises
    ------
    geo.errors.OutputError
        If ``target`` lies inside the data directory or the project's ``data/`` folder
        (inputs are never overwritten), is a folder, or is an existing file that is not
        ``fmt`` (e.g. a GeoPackage written onto a CSV file).
    """
    path = Path(target).expanduser().resolve()
    for protected in (data_dir(data), PROJECT_DATA_DIR):
        folder = protected.expanduser().resolve()
        if path == folder or path.is_relative_to(folder):
            msg = (f"{target} is inside the data directory {folder}; write outputs elsewhere "
                   f"(input data is never overwritten)")
            raise OutputError(msg)
    if path.is_file() and not _looks_like(path, fmt):
        msg = (f"{target} exists and is not a {fmt.upper()} file; refusing to replace it "
               f"(delete it or choose another name)")
        raise OutputError(msg)
    return path


def _looks_like(path: Path, fmt: str) -> bool:
    """Sniff the start of an existing file: is it ``fmt`` (an empty file passes)?"""
    if fmt not in OUTPUT_FORMATS:
        msg = f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}"
        raise ValueError(msg)
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if not head:
        return True
    if fmt == "gpkg":
        return head.startswith(_SQLITE_MAGIC)
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # a cut multi-byte character at the sniff boundary
        if e.start < len(head) - 4:
            return False
        text = head[:e.start].decode("utf-8-sig")
    return text.lstrip().startswith("{") if fmt == "geojson" else True


def write_geopackage(frame: gpd.GeoDataFrame, target: str | os.PathLike[str], *,
                     layer: str) -> Path:
    """Write ``frame`` as layer ``layer`` of a GeoPackage, atomically.

    The other layers of an existing GeoPackage are kept: it is copied to the temporary file
    first, and only the named layer is replaced.
    """
    target = Path(target)

    def write(temporary: Path) -> None:
        if target.exists() and target.stat().st_size:
            shutil.copyfile(target, temporary)
        frame.to_file(temporary, layer=layer, driver="GPKG")

    return atomic_write(target, write)


# -- shared cell handling ------------------------------------------------------------------

def defuse_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot be run as spreadsheet formulas.

    A string cell starting with ``= + - @`` (or a tab / carriage return) gets a leading
    apostrophe, the OWASP-recommended defence against CSV / formula injection. Only text
    columns (object, string or categorical dtype) are looked at; numbers, booleans and
    dates are left exactly as they are, so ``-0.5`` in a float column stays a number.

    Parameters
    ----------
    table
        Any table; not modified.

    Returns
    -------
    pandas.DataFrame
        A copy (same class, e.g. GeoDataFrame stays one).
    """
    out = table.copy()
    for column in _text_columns(out):
        out[column] = out[column].map(_defuse_cell, na_action="ignore")
    return out


def _text_columns(table: pd.DataFrame) -> list[str]:
    geometry = table.geometry.name if isinstance(table, gpd.GeoDataFrame) else None
    return [str(c) for c, dtype in table.dtypes.items()
            if c != geometry and (pd.api.types.is_object_dtype(dtype)
                                  or isinstance(dtype, (pd.StringDtype, pd.CategoricalDtype)))]


def _defuse_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _plain_table(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the geometry column of a GeoDataFrame: tables travel without shapes."""
    if isinstance(table, gpd.GeoDataFrame):
        return pd.DataFrame(table.drop(columns=table.geometry.name))
    return table


# -- CSV -----------------------------------------------------------------------------------

def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """Encode a table as CSV for Excel: UTF-8 with a byte-order mark, no index.

    Parameters
    ----------
    table
        The table; a GeoDataFrame loses its geometry column (export GeoJSON for shapes).

    Returns
    -------
    bytes
        CSV starting with the UTF-8 BOM, ``\\n`` line ends, floats at full precision,
        text cells defused (see ``defuse_formulas``). Read it back with
        ``pandas.read_csv(..., encoding="utf-8-sig")``.
    """
    text = defuse_formulas(_plain_table(table)).to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


def write_csv(
    table: pd.DataFrame, target: str | os.PathLike[str] | IO[str] | IO[bytes] | None = None, *,
    bom: bool = True,
) -> None:
    """Write a table as CSV (see ``to_csv_bytes``) to a file, a file object or stdout.

    Parameters
    ----------
    table
        The table.
    target
        A path; ``None``, ``""`` or ``"-"`` for standard output; or an open file object
        (text or binary).
    bom
        Start with the UTF-8 byte-order mark (so Excel picks the right encoding, also when
        stdout is redirected to a file); ``False`` for programs that do not expect one.
    """
    data = to_csv_bytes(table)
    if not bom:
        data = data.removeprefix(_BOM)
    if target is None or (isinstance(target, str) and target in ("", "-")):
        target = sys.stdout
    if isinstance(target, (str, os.PathLike)):
        write_bytes(target, data)
        logger.info("wrote %d rows to %s", len(table), target)
        return
    buffer = getattr(target, "buffer", None)
    if buffer is not None:  # a text stream over bytes, e.g. sys.stdout
        target.flush()
        buffer.write(data)
        buffer.flush()
    elif isinstance(target, io.TextIOBase):
        target.write(data.decode("utf-8"))
    else:  # text streams are io.TextIOBase at run time: what is left takes bytes
        cast("IO[bytes]", target).write(data)


# -- data sources and scenario description ---------------------------------------------------

def sources_table(sources: Iterable[str | BundleFile] | pd.DataFrame) -> pd.DataFrame:
    """Describe data sources, one row per bundle file, with its attribution text.

    Parameters
    ----------
    sources
        Keys of ``geo.layers.BUNDLE_FILES`` (e.g. ``["wards", "small_areas", "offices",
        "roads"]``), ``BundleFile`` objects, or a ready table (returned as is).

    Returns
    -------
    pandas.DataFrame
        ``key, file, description, source, licence, attribution``.

    Raises
    ------
    ValueError
        For a key that is not a bundle file.
    """
    if isinstance(sources, pd.DataFrame):
        return sources.copy()
    rows = []
    for item in sources:
        entry = item if isinstance(item, BundleFile) else _bundle_file(item)
        rows.append([entry.key, entry.relpath, entry.description, entry.source, entry.licence,
                     entry.attribution])
    return pd.DataFrame(rows, columns=_SOURCE_COLUMNS)


def _bundle_file(key: str) -> BundleFile:
    try:
        return BUNDLE_FILES[key]
    except KeyError as e:
        msg = f"unknown data source {key!r}; known sources are {', '.join(BUNDLE_FILES)}"
        raise ValueError(msg) from e


def attribution_text(sources: Iterable[str | BundleFile], *, sep: str = " / ") -> str:
    """Join the attribution texts of data sources into one line, each text once, in order.

    Parameters
    ----------
    sources
        Keys of ``geo.layers.BUNDLE_FILES`` or ``BundleFile`` objects.
    """
    texts = sources_table(list(sources))["attribution"]
    return sep.join(dict.fromkeys(texts))


def scenario_sources(*, measure: str = "counter", store_source: str = "union",
                     zones: str = "district", network: str = "osm-city-drive") -> list[str]:
    """Return the bundle keys a scenario result is computed from (for the sources sheet).

    Parameters
    ----------
    measure
        ``counter`` or ``certificate`` (certificate results also use convenience stores).
    store_source
        ``osm``, ``overture``, ``lawson2013`` or ``union`` (OSM + Overture).
    zones
        ``district`` (school districts: small areas + attendance zones), ``small-area``
        or ``ward``.
    network
        Road network (``geo.engine.NETWORKS``).
    """
    keys = ["wards", "small_areas", "offices", NETWORK_FILES[network][-1]]
    if zones == "district":
        keys.append("attendance_zones")
    if measure == "certificate":
        stores = ["osm", "overture"] if store_source == "union" else [store_source]
        keys += [f"stores_{s}" for s in stores]
    return keys


def describe_scenario(
    scenario: Scenario, *, measure: str, store_source: str, offices: pd.DataFrame | None = None,
    date: _dt.date | str | None = None, title: str | None = None,
) -> dict[str, str]:
    """Describe a ``geo.scenarios.Scenario`` for the scenario sheet of an export.

    Parameters
    ----------
    scenario
        The scenario (``base``, ``closed``, ``downgraded``).
    measure, store_source
        As passed to ``geo.scenarios.compare`` / ``geo.engine.load_engine``.
    offices
        Office register with ``office_id`` and ``name_ja``: closed / downgraded offices are
        listed by name as well as id.
    date
        Date of the export (default: today).
    title
        Optional scenario title shown first.

    Returns
    -------
    dict
        Ordered label -> text, Japanese labels with English in brackets.
    """
    names = ({} if offices is None
             else dict(zip(offices["office_id"], offices["name_ja"], strict=False)))

    def listing(ids: Iterable[str]) -> str:
        items = [f"{names[i]} ({i})" if i in names else i for i in sorted(ids)]
        return "、".join(items) if items else "なし (none)"

    base = {"fy2015": "2015年度の窓口 (FY2015 office set)",
            "now": "現在の窓口 (today's office set)"}.get(scenario.base, scenario.base)
    measure_text = {"counter": "窓口 (full counter)",
                    "certificate": "証明書 (certificate: counters, corners, stores)"}
    description = {"シナリオ (scenario)": title} if title else {}
    description.update({
        "基準の窓口 (base office set)": base,
        "廃止 (closed)": listing(scenario.closed),
        "サービスコーナー化 (downgraded)": listing(scenario.downgraded),
        "指標 (measure)": measure_text.get(measure, measure),
        "コンビニの出典 (store source)": store_source,
        "作成日 (date)": str(date if date is not None else _dt.date.today().isoformat()),
    })
    return description


# -- Excel ---------------------------------------------------------------------------------

def excel_sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """Make an Excel-safe sheet name: no ``[]:*?/\\``, at most 31 characters, unique.

    Parameters
    ----------
    name
        Wanted name.
    taken
        Names already used (compared case-insensitively, as Excel does).
    """
    clean = _SHEET_FORBIDDEN.sub("_", str(name)).strip().strip("'") or "Sheet"
    if clean.lower() == "history":  # reserved by Excel
        clean += "_"
    used = {t.lower() for t in taken}
    candidate = clean[:EXCEL_SHEET_NAME_MAX]
    counter = 2
    while candidate.lower() in used:
        suffix = f"_{counter}"
        candidate = clean[:EXCEL_SHEET_NAME_MAX - len(suffix)] + suffix
        counter += 1
    return candidate


def to_excel_bytes(
    tables: Mapping[str, pd.DataFrame], *,
    scenario_description: Mapping[str, object] | pd.DataFrame,
    sources: Sequence[str | BundleFile] | pd.DataFrame,
) -> bytes:
    """Write tables into one Excel workbook with a scenario sheet and a sources sheet.

    Parameters
    ----------
    tables
        Sheet name -> table, in order; names are made Excel-safe (``excel_sheet_name``).
        GeoDataFrames lose their geometry column.
    scenario_description
        Label -> value (see ``describe_scenario``) or a ready table, written to the sheet
        ``シナリオ``.
    sources
        Bundle keys, ``BundleFile`` objects or a table (see ``sources_table``), written to the
        sheet ``出典`` with their attribution texts.

    Returns
    -------
    bytes
        An ``.xlsx`` file (openpyxl). Header row frozen and bold, no index column, text
        cells defused (see ``defuse_formulas``); NaN becomes an empty cell and infinite
        values are written as empty cells too (Excel has no infinity).
    """
    sheets: dict[str, pd.DataFrame] = {}
    for name, table in tables.items():
        sheets[excel_sheet_name(name, sheets)] = _excel_ready(table)
    if isinstance(scenario_description, pd.DataFrame):
        scenario = scenario_description
    else:
        scenario = pd.DataFrame({"項目 (item)": list(scenario_description.keys()),
                                 "内容 (value)": [_text(v) for v in
                                                  scenario_description.values()]})
    sheets[excel_sheet_name(SCENARIO_SHEET, sheets)] = _excel_ready(scenario)
    sheets[excel_sheet_name(SOURCES_SHEET, sheets)] = _excel_ready(sources_table(sources))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=False)
            _format_sheet(writer.sheets[name], table)
    return buffer.getvalue()


def _text(value: object) -> str:
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(str(v) for v in sorted(value, key=str)) if value else "なし (none)"
    return "" if value is None else str(value)


def _excel_ready(table: pd.DataFrame) -> pd.DataFrame:
    plain = defuse_formulas(_plain_table(table))
    numeric = plain.select_dtypes(include="number").columns
    if len(numeric):
        values = plain[numeric]
        infinite = values.isin([np.inf, -np.inf])
        if infinite.any().any():
            plain = plain.copy()
            plain[numeric] = values.mask(infinite)
    return plain


def _format_sheet(sheet: Worksheet, table: pd.DataFrame) -> None:
    from openpyxl.styles import Font

    sheet.freeze_panes = "A2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(table.columns, start=1):
        sample = [str(column)] + [str(v) for v in table[column].head(200)]
        width = max(_display_width(s) for s in sample)
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)


def _display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: full-width (CJK) characters count twice."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


# -- GeoJSON -------------------------------------------------------------------------------

def to_geojson_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    """Encode a layer as RFC 7946 GeoJSON: WGS84 longitude/latitude, UTF-8, no escaping.

    Parameters
    ----------
    gdf
        Any CRS (typically EPSG:6670); reprojected to EPSG:4326 for the file.

    Returns
    -------
    bytes
        A FeatureCollection (no ``crs`` member, no feature ids); Japanese text written as
        UTF-8, not ``\\u`` escapes; NaN and infinite values become ``null``.

    Raises
    ------
    geo.errors.CRSError
        If the layer has no CRS (reprojecting it would be a guess).
    """
    if gdf.crs is None:
        msg = "cannot export a layer without a CRS to GeoJSON; set its CRS (e.g. EPSG:6670) first"
        raise CRSError(msg)
    frame = gdf.to_crs(DISPLAY_CRS)
    geometry = frame.geometry.name
    features = []
    records = pd.DataFrame(frame.drop(columns=geometry)).to_dict(orient="records")
    for properties, geom in zip(records, frame.geometry, strict=True):
        features.append({
            "type": "Feature",
            "properties": {str(k): _json_value(v) for k, v in properties.items()},
            "geometry": None if geom is None or geom.is_empty else geom.__geo_interface__,
        })
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _json_value(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (_dt.date, _dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(v) for v in value]
    return value


DISPLAY_DECIMALS = 5
"""Coordinates sent to a browser map are rounded to 1e-5 degrees (about 1 m)."""


def _require_display_crs(frame: gpd.GeoDataFrame) -> None:
    if frame.crs is None:
        msg = "the layer has no CRS; it cannot be shown on a WGS84 web map"
        raise CRSError(msg)


def to_display_features(frame: gpd.GeoDataFrame, columns: Sequence[str]) -> dict[str, Any]:
    """Return a GeoJSON-like FeatureCollection in WGS84 for a web map.

    Coordinates are rounded to ``DISPLAY_DECIMALS`` to keep the page light; only
    ``columns`` are kept as properties.
    """
    _require_display_crs(frame)
    shown = frame[[*columns, "geometry"]].to_crs(DISPLAY_CRS)
    shown["geometry"] = shapely.transform(shown.geometry.to_numpy(),
                                          lambda xy: np.round(xy, DISPLAY_DECIMALS))
    feature_collection: dict[str, Any] = shown.__geo_interface__
    return feature_collection


def to_display_points(frame: gpd.GeoDataFrame, *, label_points: bool = False) -> pd.DataFrame:
    """Return the attributes with WGS84 ``lat`` / ``lon`` columns, rounded for display.

    Parameters
    ----------
    label_points
        For polygons: use a point guaranteed inside each polygon (for labels).
    """
    _require_display_crs(frame)
    geometry = frame.geometry.representative_point() if label_points else frame.geometry
    shown = geometry.to_crs(DISPLAY_CRS)
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table["lat"] = shown.y.round(DISPLAY_DECIMALS).to_numpy()
    table["lon"] = shown.x.round(DISPLAY_DECIMALS).to_numpy()
    return table
