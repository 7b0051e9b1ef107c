"""Export tables and layers: CSV (UTF-8 with BOM), Excel workbooks and GeoJSON.

Every exporter returns bytes (for download buttons) and leaves its input untouched. Text
cells that a spreadsheet would run as a formula are defused; numeric columns are never
changed. Excel workbooks carry a scenario sheet and a data-sources sheet, so a table sent
to another department keeps its context and attribution.

Every file is written through ``atomic_write`` (a temporary file in the same folder, then
a rename), after ``check_output_paths`` has refused paths inside the data directory,
existing files of another format, folders and sockets, and two outputs naming one file.
A device, a FIFO or ``-`` is streamed to, never renamed over (``output_kind``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CRSError, OutputError
from .labels import _plain_table, column_explanations, labelled_table, language_index
from .layers import DISPLAY_CRS, BundleFile
from .provenance import SCENARIO_WORDS, sources_table
from .settings import PROJECT_DATA_DIR, data_dir

if TYPE_CHECKING:  # openpyxl is imported only when an Excel file is written
    from openpyxl.worksheet.worksheet import Worksheet

logger = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by Excel / LibreOffice."""
EXCEL_SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_BOM = "\ufeff".encode("utf-8")


# -- writing files -------------------------------------------------------------------------

OUTPUT_FORMATS = ("csv", "geojson", "json", "gpkg", "xlsx", "pdf", "png")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_BINARY_MAGIC = {"gpkg": _SQLITE_MAGIC, "xlsx": b"PK\x03\x04", "pdf": b"%PDF-",
                 "png": b"\x89PNG\r\n\x1a\n"}
_SNIFF_BYTES = 65_536
_TEXT_OPENINGS: dict[str, tuple[str, ...]] = {"geojson": ("{",), "json": ("{", "[")}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


STDOUT = "-"
"""An output path meaning standard output."""


def output_kind(target: str | os.PathLike[str]) -> str:
    """Say how ``target`` is written: ``file`` (by rename) or ``stream`` (in place).

    A regular file, or a path where nothing exists yet, is a ``file``: written to a
    temporary file and renamed over it. A symlink is followed, so its target is written and
    the link kept. A character device (``/dev/null``), a FIFO and ``-`` (standard output)
    are ``stream`` targets: the bytes are written to them, never renamed over them.

    Raises
    ------
    geo.errors.OutputError
        ``target`` is a folder, a socket or a block device, or cannot be examined (a file
        name too long, a symlink loop, a folder without access).
    """
    if os.fspath(target) == STDOUT:
        return "stream"
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return "file"
    except OSError as e:
        msg = f"{target} cannot be written: {e.strerror or e}"
        raise OutputError(msg) from None
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return "stream"
    what = ("a folder" if stat.S_ISDIR(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a block device" if stat.S_ISBLK(mode) else "not a regular file")
    msg = f"{target} is {what}; refusing to write there (give a file name)"
    raise OutputError(msg)


def atomic_write(target: str | os.PathLike[str], write: Callable[[Path], object], *,
                 through_links: bool = True) -> Path:
    """Write ``target`` through a temporary file in the same folder, then rename it.

    A write that fails midway (full disk, killed process, an error in ``write``) leaves the
    old file as it was and no temporary file behind: ``os.replace`` swaps the complete file
    in one step. A symlink is written through (its target is replaced, the link kept); a
    device, FIFO or ``-`` (see ``output_kind``) gets the finished file's bytes streamed to
    it instead, so it is never replaced by a regular file.

    Parameters
    ----------
    target
        The file to create or replace.
    write
        Called with the temporary path (same suffix as ``target``); must create that file.
    through_links
        Write a symlink's target (outputs); ``False`` replaces the link itself by the new
        file, so that ``geo.fetch`` filling a data directory of links never writes into the
        folder they point to.

    Returns
    -------
    pathlib.Path
        ``target``.

    Raises
    ------
    geo.errors.OutputError
        ``target`` is a folder, socket or block device (see ``output_kind``).
    """
    target = Path(target)
    if not through_links and target.is_symlink():
        final = target
    elif output_kind(target) == "stream":
        with tempfile.TemporaryDirectory(prefix="madoguchi-") as folder:
            temporary = Path(folder) / f"output{target.suffix}"
            write(temporary)
            with temporary.open("rb") as source:
                _stream_to(target, source)
        return target
    else:
        final = Path(os.path.realpath(target))
    temporary = _temporary_path(final)
    try:
        write(temporary)
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def _temporary_path(target: Path) -> Path:
    return target.with_name(f".{target.stem}.{uuid.uuid4().hex}.part{target.suffix}")


def _stream_to(target: Path, source: IO[bytes]) -> None:
    """Copy ``source`` into a stream target: standard output, a device or a FIFO."""
    if os.fspath(target) == STDOUT:
        sys.stdout.flush()
        shutil.copyfileobj(source, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    with target.open("wb") as handle:
        shutil.copyfileobj(source, handle)


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (see ``atomic_write``)."""
    if output_kind(target) == "stream":
        _stream_to(Path(target), io.BytesIO(data))
        return Path(target)
    return atomic_write(target, lambda temporary: temporary.write_bytes(data))


def write_all(files: Mapping[str | os.PathLike[str], bytes]) -> list[Path]:
    """Write several files, all or none: each to a temporary file first, then rename them all.

    A failure while writing the temporary files (full disk, a missing folder) leaves every
    target as it was and no temporary file behind. Stream targets (``output_kind``) are
    written after every temporary file, before the renames.

    Returns
    -------
    list of pathlib.Path
        The targets, in order.
    """
    kinds = {Path(target): output_kind(target) for target in files}
    temporaries: dict[Path, Path] = {}
    try:
        for target, data in files.items():
            if kinds[Path(target)] == "file":
                final = Path(os.path.realpath(target))
                temporaries[final] = _temporary_path(final)
                temporaries[final].write_bytes(data)
        for target, data in files.items():
            if kinds[Path(target)] == "stream":
                _stream_to(Path(target), io.BytesIO(data))
        for final, temporary in temporaries.items():
            os.replace(temporary, final)
    finally:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
    return [Path(target) for target in files]


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
        What will be written there: one of ``OUTPUT_FORMATS``.
    data
        The data directory in use (default: ``geo.settings.data_dir()``).

    Returns
    -------
    pathlib.Path
        ``target``, resolved (``-``, standard output, as it is).

    Raises
    ------
    geo.errors.OutputError
        If ``target`` lies inside the data directory or the project's ``data/`` folder
        (inputs are never overwritten), is not something ``output_kind`` writes (a folder,
        a socket, a name too long), or is an existing file that is not ``fmt`` (e.g. a
        GeoPackage written onto a CSV file).
    """
    if os.fspath(target) == STDOUT:
        return Path(STDOUT)
    kind = output_kind(target)
    path = Path(target).expanduser().resolve()
    for protected in (data_dir(data), PROJECT_DATA_DIR):
        folder = protected.expanduser().resolve()
        if path == folder or path.is_relative_to(folder):
            msg = (f"{target} is inside the data directory {folder}; write outputs elsewhere "
                   f"(input data is never overwritten)")
            raise OutputError(msg)
    if kind == "file" and path.is_file() and not _looks_like(path, fmt):
        msg = (f"{target} exists and is not a {fmt.upper()} file; refusing to replace it "
               f"(delete it or choose another name)")
        raise OutputError(msg)
    return path


def check_output_paths(
    outputs: Mapping[str, tuple[str | os.PathLike[str], str]], *,
    data: str | os.PathLike[str] | None = None,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
) -> dict[str, Path]:
    """Check every output of one run together: each path, and that no two are one file.

    Each output goes through ``check_output_path``. Two outputs naming the same file (the
    same path, a link to it or a hard link; ``-`` twice) would overwrite each other, and an
    output naming an input file would destroy it: both are refused. Character devices such
    as ``/dev/null`` may take several outputs.

    Parameters
    ----------
    outputs
        Label (e.g. ``--out``) -> (path, format of ``OUTPUT_FORMATS``).
    data
        The data directory in use.
    inputs
        Label -> path of files the run reads besides the data directory.

    Returns
    -------
    dict
        Label -> path, resolved (see ``check_output_path``).

    Raises
    ------
    geo.errors.OutputError
        Naming the output's label (and the other label for a clash).
    """
    checked: dict[str, Path] = {}
    seen: dict[object, str] = {}
    for label, path in (inputs or {}).items():
        identity = _file_identity(path)
        if identity is not None:
            seen[identity] = label
    for label, (target, fmt) in outputs.items():
        try:
            checked[label] = check_output_path(target, fmt=fmt, data=data)
        except OutputError as e:
            raise OutputError(f"{label} {e}") from None
        identity = _file_identity(target)
        if identity is None:
            continue
        if identity in seen:
            where = "standard output" if os.fspath(target) == STDOUT else str(target)
            msg = (f"{seen[identity]} and {label} name the same file ({where}): one would "
                   f"overwrite the other; give each output its own file")
            raise OutputError(msg)
        seen[identity] = label
    return checked


def _file_identity(target: str | os.PathLike[str]) -> object | None:
    """What two paths naming one file share; ``None`` for a character device."""
    if os.fspath(target) == STDOUT:
        return STDOUT
    try:
        status = os.stat(target)
    except OSError:
        return os.path.realpath(target)
    return None if stat.S_ISCHR(status.st_mode) else (status.st_dev, status.st_ino)


def _looks_like(path: Path, fmt: str) -> bool:
    """Sniff the start of an existing file: is it ``fmt`` (an empty file passes)?"""
    if fmt not in OUTPUT_FORMATS:
        msg = f"unknown output format {fmt!r}; expected one of {', '.join(OUTPUT_FORMATS)}"
        raise ValueError(msg)
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError as e:
        msg = f"{path} cannot be read to check its format: {e.strerror or e}"
        raise OutputError(msg) from None
    if not head:
        return True
    if fmt in _BINARY_MAGIC:
        return head.startswith(_BINARY_MAGIC[fmt])
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # a cut multi-byte character at the sniff boundary
        if e.start < len(head) - 4:
            return False
        text = head[:e.start].decode("utf-8-sig")
    return text.lstrip().startswith(_TEXT_OPENINGS.get(fmt, ""))


def write_geopackage(frame: gpd.GeoDataFrame, target: str | os.PathLike[str], *,
                     layer: str) -> Path:
    """Write ``frame`` as layer ``layer`` of a GeoPackage, atomically.

    The other layers of an existing GeoPackage are kept: it is copied to the temporary file
    first, and only the named layer is replaced.
    """
    target = Path(target)

    def write(temporary: Path) -> None:
        if target.is_file() and target.stat().st_size:
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


# -- CSV -----------------------------------------------------------------------------------

def to_csv_bytes(table: pd.DataFrame, *, lang: str | None = None) -> bytes:
    """Encode a table as CSV for Excel: UTF-8 with a byte-order mark, no index.

    Parameters
    ----------
    table
        The table; a GeoDataFrame loses its geometry column (export GeoJSON for shapes).
    lang
        ``ja`` or ``en``: headings and rounding of ``geo.labels.labelled_table`` (for
        readers outside the project); ``None``: column codes and full precision.

    Returns
    -------
    bytes
        CSV starting with the UTF-8 BOM, ``\\n`` line ends, floats at full precision
        unless ``lang`` rounds them, text cells defused (see ``defuse_formulas``). Read it
        back with ``pandas.read_csv(..., encoding="utf-8-sig")``.
    """
    shown = _plain_table(table) if lang is None else labelled_table(table, lang=lang)
    text = defuse_formulas(shown).to_csv(index=False, lineterminator="\n")
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


SHEET_NAMES = {"scenario": ("シナリオ", "Scenario"), "sources": ("出典", "Sources"),
               "columns": ("項目説明", "Columns")}
"""Names of the sheets every workbook gets, Japanese and English."""


def to_excel_bytes(
    tables: Mapping[str, pd.DataFrame], *,
    scenario_description: Mapping[str, object] | pd.DataFrame,
    sources: Sequence[str | BundleFile] | pd.DataFrame, lang: str | None = None,
) -> bytes:
    """Write tables into one Excel workbook with a scenario sheet and a sources sheet.

    Parameters
    ----------
    tables
        Sheet name -> table, in order; names are made Excel-safe (``excel_sheet_name``).
        GeoDataFrames lose their geometry column.
    scenario_description
        Label -> value (see ``geo.provenance.describe_scenario``) or a ready table,
        written to the sheet ``シナリオ``.
    sources
        Bundle keys, ``BundleFile`` objects or a table (see ``geo.provenance.sources_table``),
        written to the sheet ``出典`` with their attribution texts.
    lang
        ``ja`` or ``en``: a workbook for readers outside the project. Every table goes
        through ``geo.labels.labelled_table`` (headings in that language, numbers rounded
        by unit), a ``項目説明`` / ``Columns`` sheet explains each column, and the scenario
        and sources sheets are in that language. ``None``: tables as given (column codes).

    Returns
    -------
    bytes
        An ``.xlsx`` file (openpyxl). Header row frozen and bold, no index column, text
        cells defused (see ``defuse_formulas``); NaN becomes an empty cell and infinite
        values are written as empty cells too (Excel has no infinity).

    Raises
    ------
    KeyError
        With ``lang``: a column has no entry in ``geo.labels.COLUMN_LABELS``.
    """
    index = 0 if lang is None else language_index(lang)
    sheets: dict[str, pd.DataFrame] = {}
    for name, table in tables.items():
        shown = table if lang is None else labelled_table(table, lang=lang)
        sheets[excel_sheet_name(name, sheets)] = _excel_ready(shown)
    if lang is not None:
        codes = [c for t in tables.values() for c in _plain_table(t).columns]
        sheets[excel_sheet_name(SHEET_NAMES["columns"][index], sheets)] = \
            column_explanations(codes, lang=lang)
    if isinstance(scenario_description, pd.DataFrame):
        scenario = scenario_description
    else:
        headers = (["項目 (item)", "内容 (value)"] if lang is None
                   else [SCENARIO_WORDS["item"][index], SCENARIO_WORDS["value"][index]])
        scenario = pd.DataFrame({headers[0]: list(scenario_description.keys()),
                                 headers[1]: [_text(v) for v in
                                              scenario_description.values()]})
    sheets[excel_sheet_name(SHEET_NAMES["scenario"][index], sheets)] = _excel_ready(scenario)
    sheets[excel_sheet_name(SHEET_NAMES["sources"][index], sheets)] = _excel_ready(
        sources_table(sources, lang=lang))
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
        A FeatureCollection (no ``crs`` member, no feature ids, polygon shells
        counter-clockwise); Japanese text written as UTF-8, not ``\\u`` escapes; NaN and
        infinite values become ``null``.

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
    frame[geometry] = shapely.orient_polygons(frame.geometry.to_numpy())  # RFC 7946: CCW shells
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
