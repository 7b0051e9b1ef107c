"""Saved scenarios in and out of files: the JSON export of a whole store, and phased plans.

``export_scenarios`` / ``import_scenarios`` move every scenario and version of a
``geo.scenariostore.ScenarioStore`` between databases through one JSON file
(``EXPORT_FORMAT``) without losing anything; an import is validated whole before anything
is merged. ``read_phases`` reads a phased plan from a JSON file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import SavedScenarioError, UnknownOfficeError
from .io import write_bytes
from .saved import (
    MAX_VERSION,
    Phase,
    SavedScenario,
    _phases_from_json,
    _shown,
    check_offices,
    normalise_name,
    parse_json,
)

if TYPE_CHECKING:  # the store imports this module for the export format
    from .scenariostore import ImportReport, ScenarioStore

EXPORT_FORMAT = "madoguchi-scenarios"
EXPORT_FORMAT_VERSION = 1


def _check_export_offices(entries: list[_ExportEntry], offices: pd.DataFrame) -> None:
    problems = []
    for entry in entries:
        for number, _, scenario in entry.versions:
            try:
                check_offices(scenario, offices)
            except UnknownOfficeError as e:
                problems.append(f"{entry.name!r} version {number}: {e}")
    if problems:
        raise UnknownOfficeError("import refused: " + "; ".join(problems))


@dataclass(frozen=True)
class _ExportEntry:
    name: str
    created_at: dt.datetime
    deleted_at: dt.datetime | None
    versions: tuple[tuple[int, dt.datetime, SavedScenario], ...]


def _parse_export(data: Mapping[str, Any]) -> list[_ExportEntry]:
    """Validate a whole export and report every problem at once."""
    if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
        raise SavedScenarioError(f"not a {EXPORT_FORMAT} export file")
    if data.get("format_version") != EXPORT_FORMAT_VERSION:
        msg = (f"unsupported export format version {data.get('format_version')!r} "
               f"(this program reads {EXPORT_FORMAT_VERSION})")
        raise SavedScenarioError(msg)
    items = data.get("scenarios")
    if not isinstance(items, list):
        raise SavedScenarioError("export file: 'scenarios' must be a list")
    entries, problems, seen = [], [], set()
    for i, item in enumerate(items):
        try:
            entry = _parse_entry(item)
        except SavedScenarioError as e:
            problems.append(f"scenarios[{i}]: {e}")
            continue
        if entry.name in seen:
            problems.append(f"scenarios[{i}]: name {entry.name!r} appears twice")
        seen.add(entry.name)
        entries.append(entry)
    if problems:
        raise SavedScenarioError("invalid export file: " + "; ".join(problems))
    return entries


def _parse_entry(item: object) -> _ExportEntry:
    if not isinstance(item, Mapping):
        raise SavedScenarioError("must be an object")
    name = normalise_name(item.get("name"))  # type: ignore[arg-type]
    if not name:
        raise SavedScenarioError("name must be non-empty text")
    versions, numbers = [], set()
    raw_versions = item.get("versions")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise SavedScenarioError(f"{name!r}: versions must be a non-empty list")
    for raw in raw_versions:
        if not isinstance(raw, Mapping):
            raise SavedScenarioError(f"{name!r}: each version must be an object")
        number = raw.get("version")
        if (isinstance(number, bool) or not isinstance(number, int)
                or not 1 <= number <= MAX_VERSION or number in numbers):
            raise SavedScenarioError(f"{name!r}: bad or repeated version number "
                                     f"{_shown(number)} (a whole number from 1 to "
                                     f"{MAX_VERSION:,})")
        numbers.add(number)
        content = raw.get("scenario")
        if not isinstance(content, Mapping) or "name" in content:
            raise SavedScenarioError(f"{name!r} version {number}: scenario must be an object "
                                     "without a name")
        scenario = SavedScenario.from_dict({**content, "name": name})
        versions.append((number, _timestamp(raw.get("saved_at"), "saved_at"), scenario))
    deleted = item.get("deleted_at")
    return _ExportEntry(name=name, created_at=_timestamp(item.get("created_at"), "created_at"),
                        deleted_at=None if deleted is None else _timestamp(deleted, "deleted_at"),
                        versions=tuple(sorted(versions, key=lambda v: v[0])))


def _timestamp(value: object, label: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)  # type: ignore[arg-type]
        utc = moment.astimezone(dt.UTC) if moment.tzinfo is not None else None
    except (TypeError, ValueError, OverflowError):
        msg = f"{label} must be an ISO date-time, not {_shown(value)}"
        raise SavedScenarioError(msg) from None
    if utc is None:
        raise SavedScenarioError(f"{label} must carry a time zone, not {_shown(value)}")
    return utc


def export_scenarios(store: ScenarioStore, path: str | os.PathLike[str]) -> int:
    """Write every scenario and version of ``store`` to the JSON file ``path``.

    Returns
    -------
    int
        The number of versions written.
    """
    exported = store.export()
    text = json.dumps(exported, ensure_ascii=False, indent=1)
    write_bytes(path, (text + "\n").encode("utf-8"))
    return sum(len(entry["versions"]) for entry in exported["scenarios"])


def import_scenarios(store: ScenarioStore, path: str | os.PathLike[str], *,
                     offices: pd.DataFrame | None = None) -> ImportReport:
    """Merge the JSON export file ``path`` into ``store`` (see ``ScenarioStore.merge``).

    Parameters
    ----------
    offices
        Office register every office id must be in (``None``: not checked).

    Raises
    ------
    SavedScenarioError
        The file cannot be read or is not a valid export.
    geo.errors.UnknownOfficeError
        A version names an office that ``offices`` lacks.
    """
    return store.merge(read_json(path), offices=offices)


def read_phases(path: str | os.PathLike[str]) -> tuple[Phase, ...]:
    """Read a phased plan from a JSON file.

    The file holds a list of steps such as ``{"date": "2016-04-01", "label": "第1段階",
    "closed": [], "downgraded": ["oe-branch"]}`` (the ``phases`` of an export file).

    Raises
    ------
    SavedScenarioError
        The file cannot be read or a step is malformed.
    """
    return _phases_from_json(read_json(path))


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file (an export or a phased plan) with ``parse_json``'s limits.

    Raises
    ------
    geo.errors.SavedScenarioError
        The file cannot be read, is not UTF-8 JSON or is nested too deeply.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise SavedScenarioError(f"cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise SavedScenarioError(f"{path} is not valid JSON: {e}") from e
    return parse_json(text, str(path))
