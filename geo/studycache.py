"""Keep a built study on disk, so that a restarted server or command is warm in seconds.

What is stored are arrays (``.npy``) and tables (GeoParquet / Parquet, JSON): the layers as
loaded, the distance matrices, the district layer and, in transit mode, the transit
minutes. No pickle is written or read. The folder's name is a key made of the SHA-256 of
every input file the study reads, of the ``geo`` source code and of the network and mode,
so a changed input or a new version of the code never reads an old result. The road graph
and the demand fits are rebuilt (under a second) rather than stored.

Nothing read back is trusted blindly: the manifest records each part's SHA-256 and its
shape (rows and columns of a table, shape and dtype of an array), and ``load`` checks
every part against it, so an edited, truncated or swapped file is built again instead of
being served.

The cache lives in ``<cache dir>/studies/`` (``MADOGUCHI_CACHE``, default ``.cache`` in the
project); deleting that folder clears it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import districts, gtfs, layers, settings
from . import io as gio
from .scenarios import AccessModel
from .transit import TransitAccess

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
"""Bumped when the layout of a cached study changes (2: checksums and shapes of every part)."""
_SOURCE_DIR = Path(__file__).resolve().parent


def input_files(data: Path, network: str, mode: str) -> list[Path]:
    """Every file a study on ``network`` and ``mode`` reads from the data directory and the
    project (the layers found, the project's typed facts, the GTFS feeds in transit mode)."""
    keys = [k for k in layers.BUNDLE_FILES if k not in
            {key for files in layers.NETWORK_FILES.values() for key in files}]
    files = [layers.find_layer(key, data) for key in (*keys, *layers.NETWORK_FILES[network])]
    files += [layers.OFFICE_FACTS, settings.PROJECT_DATA_DIR / "offices" /
              "counter_transactions.csv"]
    if mode == "transit":
        files += gtfs.feed_paths(data)
    return sorted({Path(f) for f in files if f is not None and Path(f).is_file()})


def study_key(data: Path, network: str, mode: str) -> str:
    """The cache key: SHA-256 over the inputs' contents, the ``geo`` code, network and mode."""
    digest = hashlib.sha256(f"{FORMAT_VERSION}|{network}|{mode}".encode())
    for path in input_files(data, network, mode):
        digest.update(f"{path.name}:{gio.sha256_file(path)}".encode())
    for source in sorted(_SOURCE_DIR.glob("*.py")):
        digest.update(f"{source.name}:{gio.sha256_file(source)}".encode())
    return digest.hexdigest()[:32]


def study_dir(key: str, cache: str | os.PathLike[str] | None = None) -> Path:
    """Where the study of ``key`` is (or would be) kept."""
    return settings.cache_dir(cache) / "studies" / key


def save(parts: dict[str, object], key: str, cache: str | os.PathLike[str] | None = None
         ) -> Path:
    """Write a study's parts (see ``geo.study.cache_parts``) under ``key``, atomically.

    The parts are written into a temporary sibling folder that is renamed into place, so a
    reader never sees half a study. Each table and array is recorded in the manifest with
    its SHA-256 and its shape, which ``load`` checks.
    """
    target = study_dir(key, cache)
    temporary = target.with_name(f".{key}.{uuid.uuid4().hex}.part")
    temporary.mkdir(parents=True)
    try:
        frames: dict[str, dict[str, object]] = {}
        arrays: dict[str, dict[str, object]] = {}
        values: dict[str, object] = {}
        for name, value in parts.items():
            if isinstance(value, pd.DataFrame):
                path = temporary / f"{name}.parquet"
                value.to_parquet(path, index=False)
                frames[name] = {"geo": isinstance(value, gpd.GeoDataFrame),
                                **_frame_shape(value), "sha256": gio.sha256_file(path)}
            elif isinstance(value, np.ndarray):
                path = temporary / f"{name}.npy"
                np.save(path, value, allow_pickle=False)
                arrays[name] = {**_array_shape(value), "sha256": gio.sha256_file(path)}
            else:
                values[name] = value
        manifest = {"format": FORMAT_VERSION, "key": key,
                    "created": dt.datetime.now(dt.UTC).isoformat(), "frames": frames,
                    "arrays": arrays, "values": values}
        (temporary / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False),
                                                 encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def _frame_shape(frame: pd.DataFrame) -> dict[str, object]:
    return {"rows": len(frame), "columns": [str(c) for c in frame.columns]}


def _array_shape(array: np.ndarray) -> dict[str, object]:
    return {"shape": list(array.shape), "dtype": array.dtype.str}


class _Mismatch(Exception):
    """A cached part differs from what the manifest records."""


def load(key: str, cache: str | os.PathLike[str] | None = None) -> dict[str, object] | None:
    """Read the parts of the study of ``key``, or None when it is not cached, unreadable or
    not what its manifest records (then a one-line warning says which part, and the
    caller builds the study again)."""
    folder = study_dir(key, cache)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
            return None
        parts: dict[str, object] = dict(manifest["values"])
        for name, recorded in manifest["frames"].items():
            data = _checked_bytes(folder / f"{name}.parquet", recorded)
            frame = (gpd.read_parquet if recorded["geo"] else pd.read_parquet)(io.BytesIO(data))
            _expect(name, _frame_shape(frame), recorded)
            parts[name] = frame
        for name, recorded in manifest["arrays"].items():
            array = np.load(io.BytesIO(_checked_bytes(folder / f"{name}.npy", recorded)),
                            allow_pickle=False)
            _expect(name, _array_shape(array), recorded)
            parts[name] = array
    except _Mismatch as mismatch:
        logger.warning("cached study %s: %s; building it again", folder, mismatch)
        return None
    except (OSError, ValueError, KeyError, TypeError) as error:
        logger.warning("cached study %s is unreadable (%s); building it again", folder, error)
        return None
    return parts


def _checked_bytes(path: Path, recorded: dict[str, object]) -> bytes:
    """The file's bytes, read once: the same bytes are checked and then parsed."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != recorded["sha256"]:
        raise _Mismatch(f"{path.name} does not match the checksum in its manifest")
    return data


def _expect(name: str, found: dict[str, object], recorded: dict[str, object]) -> None:
    for field, value in found.items():
        if recorded[field] != value:
            raise _Mismatch(f"{name} has {field} {value}, its manifest says {recorded[field]}")


def model_parts(model: AccessModel) -> dict[str, object]:
    """The arrays and tables of an ``AccessModel``, named for ``save``."""
    return {"model_offices": model.offices, "model_origins": model.origins,
            "office_origin_m": model.office_origin_m, "office_office_m": model.office_office_m,
            "office_straight_m": model.office_straight_m, "office_snap": model.office_snap,
            "store_snap": model.store_snap, "store_source": model.store_source,
            "graph_summary": model.graph_summary, "default_store_origin_m":
            model.store_origin_m}


def model_from(parts: dict[str, object]) -> AccessModel:
    """Rebuild the ``AccessModel`` written by ``model_parts``."""
    return AccessModel(
        offices=parts["model_offices"], origins=parts["model_origins"],  # type: ignore[arg-type]
        office_origin_m=parts["office_origin_m"],  # type: ignore[arg-type]
        store_origin_m=parts["default_store_origin_m"],  # type: ignore[arg-type]
        office_office_m=parts["office_office_m"],  # type: ignore[arg-type]
        office_straight_m=parts["office_straight_m"],  # type: ignore[arg-type]
        office_snap=parts["office_snap"], store_snap=parts["store_snap"],  # type: ignore[arg-type]
        store_source=str(parts["store_source"]), graph_summary=str(parts["graph_summary"]),
    )


def district_parts(layer: districts.DistrictLayer) -> dict[str, object]:
    """The tables of a district layer, named for ``save``."""
    return {"district_polygons": layer.polygons, "district_membership": layer.membership,
            "district_unmatched": layer.unmatched_towns,
            "district_unassigned": layer.unassigned_small_areas}


def districts_from(parts: dict[str, object]) -> districts.DistrictLayer:
    """Rebuild the district layer written by ``district_parts``."""
    return districts.DistrictLayer(
        polygons=parts["district_polygons"],
        membership=parts["district_membership"],  # type: ignore[arg-type]
        unmatched_towns=parts["district_unmatched"],  # type: ignore[arg-type]
        unassigned_small_areas=parts["district_unassigned"],  # type: ignore[arg-type]
    )


def transit_parts(access: TransitAccess) -> dict[str, object]:
    """The arrays of a transit precompute, named for ``save``."""
    return {"transit_minutes": access.minutes, "transit_walk_minutes": access.walk_minutes,
            "transit_direct_ride": access.direct_ride,
            "transit_departures_s": access.departures_s,
            "transit_counter_ids": list(access.counter_ids),
            "transit_service_date": access.service_date.isoformat(),
            "transit_caveat": access.caveat,
            "transit_sources": [dataclasses.asdict(source) for source in access.sources]}


def transit_from(parts: dict[str, object]) -> TransitAccess:
    """Rebuild the transit precompute written by ``transit_parts``."""
    return TransitAccess(
        minutes=parts["transit_minutes"],  # type: ignore[arg-type]
        walk_minutes=parts["transit_walk_minutes"],  # type: ignore[arg-type]
        direct_ride=parts["transit_direct_ride"],  # type: ignore[arg-type]
        departures_s=parts["transit_departures_s"],  # type: ignore[arg-type]
        counter_ids=tuple(parts["transit_counter_ids"]),  # type: ignore[arg-type]
        service_date=dt.date.fromisoformat(str(parts["transit_service_date"])),
        caveat=dict(parts["transit_caveat"]),  # type: ignore[call-overload]
        sources=tuple(layers.BundleFile(**source)
                      for source in parts["transit_sources"]),  # type: ignore[attr-defined]
    )
