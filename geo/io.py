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
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import CRSError, OutputError
from .layers import BUNDLE_FILES, DISPLAY_CRS, METRIC_CRS, NETWORK_FILES, BundleFile
from .scenarios import DEFAULT_THRESHOLDS_M, DEFAULT_THRESHOLDS_MIN, NO_FACILITY, SLOW_WALK_KMH
from .settings import PROJECT_DATA_DIR, data_dir

if TYPE_CHECKING:  # openpyxl is imported only when an Excel file is written
    from openpyxl.worksheet.worksheet import Worksheet

    from .scenarios import Scenario

logger = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by Excel / LibreOffice."""
EXCEL_SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_BOM = "\ufeff".encode("utf-8")
_SOURCE_COLUMNS = ["key", "file", "description", "source", "licence", "attribution"]


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


def _plain_table(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the geometry column of a GeoDataFrame: tables travel without shapes."""
    if isinstance(table, gpd.GeoDataFrame):
        return pd.DataFrame(table.drop(columns=table.geometry.name))
    return table


# -- CSV -----------------------------------------------------------------------------------

def to_csv_bytes(table: pd.DataFrame, *, lang: str | None = None) -> bytes:
    """Encode a table as CSV for Excel: UTF-8 with a byte-order mark, no index.

    Parameters
    ----------
    table
        The table; a GeoDataFrame loses its geometry column (export GeoJSON for shapes).
    lang
        ``ja`` or ``en``: headings and rounding of ``labelled_table`` (for readers outside
        the project); ``None``: column codes and full precision.

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


# -- column labels ---------------------------------------------------------------------------

class ColumnLabel(NamedTuple):
    """How one column is headed and explained in an export, and how it is rounded."""

    ja: str
    en: str
    explain_ja: str
    explain_en: str
    unit: str
    """``people``, ``count`` (transactions), ``km``, ``m``, ``min``, ``pct``, ``ratio`` or
    ``text``."""


DECIMALS = {"people": 0, "count": 0, "m": 0, "km": 2, "ratio": 2, "min": 1, "pct": 1}
"""Rounding per unit: whole persons, transactions and metres; km and ratios to 0.01;
minutes and % to 0.1."""
LANGUAGES = ("ja", "en")
_WHEN = {"before": ("変更前", "before", "閉鎖前", "before the closures"),
         "after": ("変更後", "after", "閉鎖後", "after the closures")}


_TRANSIT_NOTE = ("九州産交バスの時刻表がないため下限",
                 "a lower bound: the 九州産交バス timetable is missing")


def _transit_labels(thresholds_min: Iterable[int]) -> dict[str, ColumnLabel]:
    """Headings of the transit columns (``geo.study`` in transit mode)."""
    labels = {}
    for when, (ja, en, explain_ja, explain_en) in _WHEN.items():
        labels[f"transit_{when}_min"] = ColumnLabel(
            f"バス・電車＋徒歩の所要時間（{ja}, 分）", f"Minutes by bus/tram and on foot ({en})",
            f"{explain_ja}の最寄り窓口までの所要時間の平均（出発時刻帯の中央値、{_TRANSIT_NOTE[0]}）",
            f"Mean minutes to the nearest counter {explain_en} (median over the departure "
            f"window; {_TRANSIT_NOTE[1]})", "min")
        for minutes in thresholds_min:
            labels[f"transit_beyond_{minutes}min_{when}"] = ColumnLabel(
                f"バス・徒歩で{minutes}分超の人（{ja}）",
                f"People more than {minutes} min away by bus and on foot ({en})",
                f"{explain_ja}に最寄り窓口まで{minutes}分を超える人数（{_TRANSIT_NOTE[0]}）",
                f"Residents more than {minutes} minutes from the nearest counter "
                f"{explain_en} ({_TRANSIT_NOTE[1]})", "people")
            labels[f"transit_beyond_{minutes}min_{when}_65plus"] = ColumnLabel(
                f"バス・徒歩で{minutes}分超の65歳以上（{ja}）",
                f"Aged 65+ more than {minutes} min away by bus and on foot ({en})",
                "同上のうち65歳以上の推計人数", "Of those, residents aged 65 and over",
                "people")
    for minutes in thresholds_min:
        labels[f"people_within_{minutes}min"] = ColumnLabel(
            f"{minutes}分以内に来られる人", f"People within {minutes} min",
            f"バス・電車と徒歩でこの窓口まで{minutes}分以内の人数（{_TRANSIT_NOTE[0]}）",
            f"Residents who reach this counter within {minutes} minutes by bus, tram and on "
            f"foot ({_TRANSIT_NOTE[1]})", "people")
        labels[f"people_65plus_within_{minutes}min"] = ColumnLabel(
            f"{minutes}分以内に来られる65歳以上", f"Aged 65+ within {minutes} min",
            "同上のうち65歳以上の推計人数", "Of those, residents aged 65 and over", "people")
    labels["transit_lost_direct_ride_people"] = ColumnLabel(
        "乗り換えなしで窓口へ行けなくなる人", "People losing their only direct ride",
        "閉鎖前は乗り換えなしのバス・電車で窓口へ行けたが、閉鎖後は行けなくなる人数",
        "Residents who had a ride without a transfer to a counter before and have none "
        "after", "people")
    return labels


def _beyond_labels(thresholds_km: Iterable[float]) -> dict[str, ColumnLabel]:
    labels = {}
    for km in thresholds_km:
        for when, (ja, en, explain_ja, explain_en) in _WHEN.items():
            labels[f"beyond_{km:g}km_{when}"] = ColumnLabel(
                f"{km:g}kmより遠い人（{ja}）", f"People beyond {km:g} km ({en})",
                f"{explain_ja}に最寄りの窓口まで道路距離で{km:g}kmより遠い人数（到達できない人を含む）",
                f"Residents farther than {km:g} km by road from the nearest counter "
                f"{explain_en} (including those who can reach none)", "people")
            labels[f"beyond_{km:g}km_{when}_65plus"] = ColumnLabel(
                f"{km:g}kmより遠い65歳以上（{ja}）", f"Aged 65+ beyond {km:g} km ({en})",
                "同上のうち65歳以上の推計人数（2020年メッシュの65歳以上の割合から推計）",
                "Of those, residents aged 65 and over (estimated from the 2020 mesh's "
                "share aged 65+)", "people")
    return labels


COLUMN_LABELS: dict[str, ColumnLabel] = {
    # zone table and city summary (geo.scenarios.compare / summary)
    "zone_id": ColumnLabel("区域コード", "Zone id", "校区名・小地域コード・区コード",
                           "School-district name, small-area code or ward code", "text"),
    "zone_name": ColumnLabel("区域", "Zone", "小学校区・小地域・区の名称",
                             "Name of the school district, small area or ward", "text"),
    "ward": ColumnLabel("区", "Ward", "行政区", "Administrative ward", "text"),
    "population": ColumnLabel("人口", "Population", "2015年国勢調査の人口（人）",
                              "Residents, 2015 census", "people"),
    "population_65plus": ColumnLabel(
        "65歳以上人口", "Population aged 65+",
        "65歳以上の推計人口（2015年人口 × 2020年メッシュの65歳以上の割合）",
        "Residents aged 65+, estimated (2015 population x the 2020 mesh's share aged 65+)",
        "people"),
    "before_km": ColumnLabel("平均距離（変更前, km）", "Mean distance before (km)",
                             "閉鎖前の最寄りの窓口までの道路距離の人口加重平均",
                             "Population-weighted mean road distance to the nearest counter "
                             "before the closures", "km"),
    "after_km": ColumnLabel("平均距離（変更後, km）", "Mean distance after (km)",
                            "閉鎖後の最寄りの窓口までの道路距離の人口加重平均",
                            "Population-weighted mean road distance to the nearest counter "
                            "after the closures", "km"),
    "before_max_km": ColumnLabel("最大距離（変更前, km）", "Largest distance before (km)",
                                 "閉鎖前に最も遠い住民の道路距離",
                                 "Road distance of the farthest residents before the closures",
                                 "km"),
    "after_max_km": ColumnLabel("最大距離（変更後, km）", "Largest distance after (km)",
                                "閉鎖後に最も遠い住民の道路距離",
                                "Road distance of the farthest residents after the closures",
                                "km"),
    "delta_km": ColumnLabel("平均距離の増加（km）", "Increase in mean distance (km)",
                            "変更後の平均距離 − 変更前の平均距離",
                            "Mean distance after minus mean distance before", "km"),
    "people_farther": ColumnLabel("最寄り窓口が遠くなる人",
                                  "People whose nearest counter gets farther",
                                  "最寄りの窓口までの道路距離が1 mより長くなる人数",
                                  "Residents whose road distance to the nearest counter grows "
                                  "by more than 1 m", "people"),
    **_beyond_labels(km / 1000 for km in DEFAULT_THRESHOLDS_M),
    **_transit_labels(DEFAULT_THRESHOLDS_MIN),
    "status": ColumnLabel("状態", "Status",
                          "「到達できる窓口なし」は道路で窓口に行けない住民がいる区域",
                          "'no facility reachable': some residents reach no counter by road",
                          "text"),
    "before_min": ColumnLabel("徒歩時間（変更前, 分）", "Walking minutes before",
                              "平均距離を歩く時間（分速は設定の歩行速度）",
                              "Mean distance at the set walking speed, minutes", "min"),
    "after_min": ColumnLabel("徒歩時間（変更後, 分）", "Walking minutes after",
                             "平均距離を歩く時間（分速は設定の歩行速度）",
                             "Mean distance at the set walking speed, minutes", "min"),
    "before_min_slow": ColumnLabel("徒歩時間・75歳以上（変更前, 分）",
                                   "Walking minutes, aged 75+, before",
                                   f"平均距離を時速{SLOW_WALK_KMH:g}kmで歩く時間",
                                   f"Mean distance at {SLOW_WALK_KMH:g} km/h, minutes", "min"),
    "after_min_slow": ColumnLabel("徒歩時間・75歳以上（変更後, 分）",
                                  "Walking minutes, aged 75+, after",
                                  f"平均距離を時速{SLOW_WALK_KMH:g}kmで歩く時間",
                                  f"Mean distance at {SLOW_WALK_KMH:g} km/h, minutes", "min"),
    # office table (geo.scenarios.office_status) and load shift (LoadShift.export_table)
    "office_id": ColumnLabel("窓口ID", "Office id", "このシステムでの窓口の識別子",
                             "Identifier of the office in this system", "text"),
    "name": ColumnLabel("名称", "Name", "窓口または小地域の名称",
                        "Name of the office or the small area", "text"),
    "kind": ColumnLabel("種別", "Type", "区役所・総合出張所・出張所・分室・サービスコーナー",
                        "Ward office, general branch, branch, annex or service corner", "text"),
    "state": ColumnLabel("シナリオでの状態", "State in the scenario",
                         "存続・サービスコーナー化・閉鎖・対象外（基準の窓口にない）",
                         "Open, downgraded, closed, or not in the base office set", "text"),
    "fy2013": ColumnLabel("2013年度の件数", "FY2013 transactions",
                          "2013年度に窓口で扱った件数（実績）",
                          "Transactions the counter handled in FY2013 (recorded)", "count"),
    "predicted_before": ColumnLabel("推計件数（変更前, 件/年）",
                                    "Predicted transactions before (a year)",
                                    "需要モデルによる閉鎖前の年間件数",
                                    "Transactions a year before the closures, demand model",
                                    "count"),
    "predicted_after": ColumnLabel("推計件数（変更後, 件/年）",
                                   "Predicted transactions after (a year)",
                                   "需要モデルによる閉鎖後の年間件数",
                                   "Transactions a year after the closures, demand model",
                                   "count"),
    "change": ColumnLabel("件数の増減（件/年）", "Change (transactions a year)",
                          "推計件数（変更後）− 推計件数（変更前）",
                          "Predicted after minus predicted before", "count"),
    "change_pct": ColumnLabel("件数の増減率（%）", "Change (%)", "増減 ÷ 変更前の推計件数 × 100",
                              "Change divided by the prediction before, per cent", "pct"),
    # the offices against the 5 km rule (geo.reorganisation.branch_distances)
    "nearest_ward_office": ColumnLabel("最寄りの区役所", "Nearest ward office",
                                       "道路距離で最も近い区役所",
                                       "The ward office nearest by road", "text"),
    "road_km_to_ward_office": ColumnLabel(
        "区役所までの道路距離（km）", "Road distance to the ward office (km)",
        "最寄りの区役所までの道路距離（2015年の再編は5 km以内の出張所を閉鎖の候補とした）",
        "Road distance to the nearest ward office (the 2015 reorganisation made branches "
        "within 5 km candidates for closure)", "km"),
    "straight_km_to_ward_office": ColumnLabel(
        "区役所までの直線距離（km）", "Straight distance to the ward office (km)",
        "同じ区役所までの直線距離", "Straight-line distance to that ward office", "km"),
    "candidate": ColumnLabel("5 kmルールの候補（この計算）", "5 km rule candidate (computed)",
                             "区役所まで道路で5 km以内の出張所・総合出張所",
                             "A branch within 5 km of a ward office by road", "text"),
    "official_2015": ColumnLabel("2015年計画の候補", "Candidate in the 2015 plan",
                                 "2015年の再編計画が閉鎖の候補とした窓口",
                                 "An office the 2015 reorganisation plan listed for closure",
                                 "text"),
    # blank districts (geo.stores.blank_districts)
    "district": ColumnLabel("小学校区", "School district",
                               "小学校区（通学区域一覧から近似）",
                               "Elementary school district (approximated from the "
                               "attendance-zone table)", "text"),
    "nearest_store_km": ColumnLabel("最寄りのコンビニ（km）", "Nearest store (km)",
                                    "校区の住民から最寄りのコンビニまでの道路距離の平均",
                                    "Mean road distance from the district's residents to the "
                                    "nearest convenience store", "km"),
    # network check (geo.network_check.NetworkCheck): figures, walls, detours, far snaps
    "figure": ColumnLabel("項目", "Figure", "表の項目（見出しは他の表の列と同じ）",
                          "The figure (named as the other tables' columns)", "text"),
    "value": ColumnLabel("値", "Value", "項目の値（単位は項目名のとおり）",
                         "Value of the figure (in the unit its name gives)", "text"),
    "node_a": ColumnLabel("ノードA", "Node A", "道路網の交点の番号", "Road-network node number",
                          "text"),
    "node_b": ColumnLabel("ノードB", "Node B", "道路網の交点の番号", "Road-network node number",
                          "text"),
    **{f"{axis}_{end}": ColumnLabel(
        f"{axis.upper()}座標{end.upper()}（m）", f"{axis} of node {end.upper()} (m)",
        "平面直角座標系II系（EPSG:6670）の座標", "Coordinate in EPSG:6670 (JGD2011 / II)", "m")
       for end in ("a", "b") for axis in ("x", "y")},
    "gap_m": ColumnLabel("直線の間隔（m）", "Gap (m)", "2つの交点の直線距離",
                         "Straight-line distance between the two nodes", "m"),
    "road_m": ColumnLabel("道路での距離（m）", "By road (m)",
                          "2つの交点を道路でつなぐ最短距離（空欄はつながらない）",
                          "Shortest road distance between the two nodes (empty: not "
                          "connected)", "m"),
    "key_code": ColumnLabel("小地域コード", "Small-area code", "2015年国勢調査の小地域コード",
                            "2015 census small-area code", "text"),
    "road_km": ColumnLabel("道路距離（km）", "Road distance (km)",
                           "最寄りの窓口までの道路距離", "Road distance to the nearest counter",
                           "km"),
    "straight_km": ColumnLabel("直線距離（km）", "Straight distance (km)",
                               "同じ窓口までの直線距離", "Straight-line distance to that counter",
                               "km"),
    "detour": ColumnLabel("迂回率", "Detour index",
                          "道路距離 ÷ 直線距離（3以上は道路網の欠陥を疑う）",
                          "Road distance / straight distance (3 or more: suspect the network)",
                          "ratio"),
    "id": ColumnLabel("ID", "Id", "窓口IDまたは小地域コード", "Office id or small-area code",
                      "text"),
    "snap_m": ColumnLabel("道路までの距離（m）", "Distance to the road (m)",
                          "地点から最寄りの道路までの直線距離", "Straight-line distance from the "
                          "point to the nearest road", "m"),
}
"""Every column of the exported tables: Japanese and English heading, explanation, unit."""

VALUE_LABELS: dict[str, dict[Any, tuple[str, str]]] = {
    "status": {"ok": ("到達可", "ok"), NO_FACILITY: ("到達できる窓口なし", "no counter reachable")},
    "state": {"open": ("存続", "open"), "downgraded": ("サービスコーナー化", "downgraded"),
              "closed": ("閉鎖", "closed"), "not in base": ("対象外", "not in base")},
    "kind": {"ward_office": ("区役所", "Ward office"),
             "general_branch": ("総合出張所", "General branch"), "branch": ("出張所", "Branch"),
             "annex": ("分室", "Annex"), "service_corner": ("サービスコーナー", "Service corner"),
             "office": ("窓口", "Office"), "origin": ("居住地点", "Origin")},
    "measure": {"counter": ("窓口（住民異動・戸籍の届出）", "Full counters (registrations)"),
                "certificate": ("証明書（コンビニ交付を含む）",
                                "Certificates (incl. convenience stores)")},
    "base": {"fy2015": ("2015年度の窓口", "FY2015 office set"),
             "now": ("現在の窓口", "Today's office set")},
    "candidate": {True: ("候補", "candidate"), False: ("", "")},
    "official_2015": {True: ("候補", "candidate"), False: ("", "")},
}
"""Coded values written in words: the one vocabulary of the screen, the files and the paper
(an office's ``state``, its ``kind``, the ``measure``, the ``base`` office set...)."""
WARD_NAMES_EN = {"中央区": "Chuo", "東区": "Higashi", "西区": "Nishi", "南区": "Minami",
                 "北区": "Kita"}


def language_index(lang: str) -> int:
    """Position of ``lang`` in ``LANGUAGES`` (0 for ``ja``, 1 for ``en``).

    Raises
    ------
    ValueError
        For another language.
    """
    if lang not in LANGUAGES:
        msg = f"unknown language {lang!r}; choose ja or en"
        raise ValueError(msg)
    return LANGUAGES.index(lang)


def column_label(code: str, lang: str = "ja") -> str:
    """Heading of column ``code`` in ``lang`` (``ja`` or ``en``).

    Raises
    ------
    KeyError
        For a column ``COLUMN_LABELS`` does not describe.
    """
    return COLUMN_LABELS[code][language_index(lang)]


def labelled_table(table: pd.DataFrame, *, lang: str = "ja") -> pd.DataFrame:
    """Round a table by unit, write coded values in words and head its columns in ``lang``.

    People and transactions become whole numbers, km 0.01, minutes and percentages 0.1
    (``DECIMALS``); numbers stay numbers. ``status``, ``state`` and ``kind`` values become
    words (``VALUE_LABELS``), and in English ward names are romanised.

    Parameters
    ----------
    table
        Columns named as in ``COLUMN_LABELS``; a GeoDataFrame loses its geometry.
    lang
        ``ja`` or ``en``.

    Raises
    ------
    KeyError
        A column has no entry in ``COLUMN_LABELS`` (so no export goes out with a code as
        its heading).
    """
    index = language_index(lang)
    plain = _plain_table(table).copy()
    unknown = [c for c in plain.columns if c not in COLUMN_LABELS]
    if unknown:
        msg = (f"no export heading for column(s) {', '.join(map(str, unknown))}; add them to "
               f"COLUMN_LABELS")
        raise KeyError(msg)
    for column in plain.columns:
        unit = COLUMN_LABELS[column].unit
        if unit in DECIMALS:
            numbers = pd.to_numeric(plain[column], errors="coerce").round(DECIMALS[unit])
            numbers = numbers.where(np.isfinite(numbers))  # no infinity in a spreadsheet
            plain[column] = numbers.astype("Int64") if DECIMALS[unit] == 0 else numbers
        words = VALUE_LABELS.get(column)
        if words:
            plain[column] = plain[column].map(lambda v, w=words: w[v][index] if v in w else v)
        if column == "ward" and lang == "en":
            plain[column] = plain[column].map(lambda v: WARD_NAMES_EN.get(v, v))
    return plain.rename(columns={c: COLUMN_LABELS[c][index] for c in plain.columns})


def figures_table(values: Mapping[str, object], *, lang: str = "ja") -> pd.DataFrame:
    """One row per figure: ``figure`` headed in ``lang``, ``value`` rounded by its unit.

    ``values`` maps column codes (``COLUMN_LABELS``) to single values, e.g. the city figures
    of ``geo.study.Result.city``: the table is ``labelled_table`` of that one row, turned
    on its side (numbers stay numbers).
    """
    row = labelled_table(pd.DataFrame([dict(values)]), lang=lang).iloc[0]
    return pd.DataFrame({"figure": list(row.index),
                         "value": [None if pd.isna(v) else v for v in row.to_list()]})


def column_explanations(columns: Iterable[str], *, lang: str = "ja") -> pd.DataFrame:
    """The 項目説明 sheet: each column's heading and explanation, each column once."""
    index = language_index(lang)
    rows = [(COLUMN_LABELS[c][index], COLUMN_LABELS[c][index + 2])
            for c in dict.fromkeys(columns)]
    headers = (("項目", "説明"), ("Column", "Explanation"))[index]
    return pd.DataFrame(rows, columns=list(headers))


# -- data sources and scenario description ---------------------------------------------------

SOURCE_HEADERS = {
    "ja": ("データ", "ファイル", "内容", "提供元", "利用条件", "出典表記"),
    "en": ("Data", "File", "Description", "Source", "Licence", "Attribution"),
}
"""Headings of the sources sheet (the codes of ``_SOURCE_COLUMNS`` when no language is given)."""
DESCRIPTIONS_JA = {
    "wards": "行政区の境界（5区）",
    "small_areas": "2015年国勢調査の小地域（人口つき）",
    "schools": "小学校の位置",
    "attendance_zones": "小・中学校の通学区域（学校 → 町名）",
    "offices": "区役所・出張所・サービスコーナー（24か所）",
    "stores_osm": "コンビニ（OSM 2026-07-30）",
    "stores_overture": "コンビニ（Overture 2026-07）",
    "stores_lawson2013": "ローソンの店舗（2013年8月）",
    "mesh": "2020年国勢調査 500 mメッシュ人口（年齢階級別）",
    "roads": "市全域の道路（通行実績つき）",
    "osm_drive_chuo": "OSMの車道（中央区のみ）",
    "osm_city_drive_nodes": "OSMの車道網（市全域）：ノード",
    "osm_city_drive_edges": "OSMの車道網（市全域）：一方通行つきの有向リンク",
    "osm_walk_chuo": "OSMの全ての道（中央区のみ）",
}
"""Japanese descriptions of the bundle files (``BundleFile.description`` is English)."""
SOURCES_PREFIX = {"ja": "出典：", "en": "Sources: "}
_ATTRIBUTION_PREFIX = "出典："


def sources_table(sources: Iterable[str | BundleFile] | pd.DataFrame, *,
                  lang: str | None = None) -> pd.DataFrame:
    """Describe data sources, one row per bundle file, with its attribution text.

    Parameters
    ----------
    sources
        Keys of ``geo.layers.BUNDLE_FILES`` (e.g. ``["wards", "small_areas", "offices",
        "roads"]``), ``BundleFile`` objects, or a ready table (returned as is).
    lang
        ``ja`` or ``en``: headings (``SOURCE_HEADERS``) and descriptions in that language;
        ``None``: the column codes below. Attribution texts stay as the publishers require.

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
        description = (DESCRIPTIONS_JA.get(entry.key, entry.description) if lang == "ja"
                       else entry.description)
        rows.append([entry.key, entry.relpath, description, entry.source, entry.licence,
                     entry.attribution])
    if lang is not None:
        language_index(lang)
    headers = _SOURCE_COLUMNS if lang is None else list(SOURCE_HEADERS[lang])
    return pd.DataFrame(rows, columns=headers)


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


def sources_line(sources: Iterable[str | BundleFile], *, lang: str = "ja",
                 sep: str = " / ") -> str:
    """One 出典 line for a page or a map: the prefix once, then each attribution once.

    The publishers' texts begin with 「出典：」 themselves; it is dropped from each so the
    line never reads 「出典：出典：」.
    """
    texts = sources_table(list(sources))["attribution"].str.removeprefix(_ATTRIBUTION_PREFIX)
    language_index(lang)
    return SOURCES_PREFIX[lang] + sep.join(dict.fromkeys(texts))


def scenario_sources(*, measure: str = "counter", store_source: str = "union",
                     zones: str = "district", network: str = "osm-city-drive",
                     elderly: bool = False, stores: bool = False,
                     timetables: Sequence[BundleFile] = ()) -> list[str | BundleFile]:
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
    elderly
        The output shows 65+ figures (estimated from the 2020 mesh).
    stores
        The output uses convenience stores whatever the measure (e.g. blank districts).
    timetables
        The GTFS feeds of transit minutes (``geo.study.Study.transit_sources``), last.
    """
    keys: list[str | BundleFile] = ["wards", "small_areas", "offices",
                                    NETWORK_FILES[network][-1]]
    if elderly:
        keys.append("mesh")
    if zones == "district":
        keys.append("attendance_zones")
    if measure == "certificate" or stores:
        chosen = ["osm", "overture"] if store_source == "union" else [store_source]
        keys += [f"stores_{s}" for s in chosen]
    return [*keys, *timetables]


SCENARIO_WORDS = {
    "item": ("項目", "Item"), "value": ("内容", "Value"), "title": ("シナリオ", "Scenario"),
    "base": ("基準の窓口", "Base office set"), "closed": ("閉鎖", "Closed"),
    "downgraded": ("サービスコーナー化", "Downgraded to service corners"),
    "measure": ("指標", "Measure"), "stores": ("コンビニの出典", "Convenience-store source"),
    "date": ("作成日", "Date"), "none": ("なし", "none"),
    **VALUE_LABELS["base"], **VALUE_LABELS["measure"],
}
"""Wording of the scenario sheet, Japanese and English."""


def describe_scenario(
    scenario: Scenario, *, measure: str, store_source: str, offices: pd.DataFrame | None = None,
    date: _dt.date | str | None = None, title: str | None = None, lang: str | None = None,
) -> dict[str, str]:
    """Describe a ``geo.scenarios.Scenario`` for the scenario sheet of an export.

    Parameters
    ----------
    scenario
        The scenario (``base``, ``closed``, ``downgraded``).
    measure, store_source
        As passed to ``geo.scenarios.compare`` / ``geo.engine.load_engine``.
    offices
        Office register with ``office_id`` and ``name_ja`` (and ``name_en`` for English):
        closed / downgraded offices are listed by name as well as id.
    date
        Date of the export (default: today).
    title
        Optional scenario title shown first.
    lang
        ``ja`` or ``en`` for labels and values in that language only; ``None`` for Japanese
        labels with English in brackets.

    Returns
    -------
    dict
        Ordered label -> text.
    """
    index = None if lang is None else language_index(lang)

    def word(key: str) -> str:
        ja, en = SCENARIO_WORDS[key]
        return f"{ja} ({en})" if index is None else (ja, en)[index]

    name_column = "name_en" if lang == "en" else "name_ja"
    names = ({} if offices is None or name_column not in offices
             else dict(zip(offices["office_id"], offices[name_column], strict=False)))
    separator = ", " if lang == "en" else "、"

    def listing(ids: Iterable[str]) -> str:
        items = [f"{names[i]} ({i})" if i in names else i for i in sorted(ids)]
        return separator.join(items) if items else word("none")

    if lang is None:  # the labels and values of the original bilingual sheet
        labels = {k: f"{SCENARIO_WORDS[k][0]} ({_LEGACY_EN[k]})" for k in _LEGACY_EN}
        values = {"fy2015": "2015年度の窓口 (FY2015 office set)",
                  "now": "現在の窓口 (today's office set)",
                  "counter": "窓口 (full counter)",
                  "certificate": "証明書 (certificate: counters, corners, stores)"}
    else:
        labels = {k: word(k) for k in _LEGACY_EN}
        values = {k: word(k) for k in ("fy2015", "now", "counter", "certificate")}
    description = {labels["title"]: title} if title else {}
    description.update({
        labels["base"]: values.get(scenario.base, scenario.base),
        labels["closed"]: listing(scenario.closed),
        labels["downgraded"]: listing(scenario.downgraded),
        labels["measure"]: values.get(measure, measure),
        labels["stores"]: store_source,
        labels["date"]: str(date if date is not None else _dt.date.today().isoformat()),
    })
    return description


_LEGACY_EN = {"title": "scenario", "base": "base office set", "closed": "closed",
              "downgraded": "downgraded", "measure": "measure", "stores": "store source",
              "date": "date"}


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
        Label -> value (see ``describe_scenario``) or a ready table, written to the sheet
        ``シナリオ``.
    sources
        Bundle keys, ``BundleFile`` objects or a table (see ``sources_table``), written to the
        sheet ``出典`` with their attribution texts.
    lang
        ``ja`` or ``en``: a workbook for readers outside the project. Every table goes
        through ``labelled_table`` (headings in that language, numbers rounded by unit),
        a ``項目説明`` / ``Columns`` sheet explains each column, and the scenario and
        sources sheets are in that language. ``None``: tables as given (column codes).

    Returns
    -------
    bytes
        An ``.xlsx`` file (openpyxl). Header row frozen and bold, no index column, text
        cells defused (see ``defuse_formulas``); NaN becomes an empty cell and infinite
        values are written as empty cells too (Excel has no infinity).

    Raises
    ------
    KeyError
        With ``lang``: a column has no entry in ``COLUMN_LABELS``.
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
