"""Keep a built study on disk, so that a restarted server or command is warm in seconds.

What is stored are arrays (``.npy``) and tables (GeoParquet / Parquet, JSON): the layers as
loaded, the distance matrices, the district layer and, in transit mode, the transit
minutes. No pickle is written or read. The folder's name is a key made of the SHA-256 of
every input file the study reads, of the ``geo`` source code and of the network and mode,
so a changed input or a new version of the code never reads an old result. The road graph
and the demand fits are rebuilt (under a second) rather than stored.

The cache lives in ``<cache dir>/studies/`` (``MADOGUCHI_CACHE``, default ``.cache`` in the
project); deleting that folder clears it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
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

FORMAT_VERSION = 1
"""Bumped when the layout of a cached study changes."""
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


def _read_frame(path: Path, *, geo: bool) -> pd.DataFrame:
    return gpd.read_parquet(path) if geo else pd.read_parquet(path)


def save(parts: dict[str, object], key: str, cache: str | os.PathLike[str] | None = None
         ) -> Path:
    """Write a study's parts (see ``geo.study.cache_parts``) under ``key``, atomically.

    The parts are written into a temporary sibling folder that is renamed into place, so a
    reader never sees half a study.
    """
    target = study_dir(key, cache)
    temporary = target.with_name(f".{key}.{uuid.uuid4().hex}.part")
    temporary.mkdir(parents=True)
    try:
        manifest: dict[str, object] = {"format": FORMAT_VERSION, "key": key,
                                       "created": dt.datetime.now(dt.UTC).isoformat(),
                                       "frames": {}, "arrays": [], "values": {}}
        for name, value in parts.items():
            if isinstance(value, pd.DataFrame):
                value.to_parquet(temporary / f"{name}.parquet", index=False)
                manifest["frames"][name] = isinstance(value, gpd.GeoDataFrame)  # type: ignore[index]
            elif isinstance(value, np.ndarray):
                np.save(temporary / f"{name}.npy", value, allow_pickle=False)
                manifest["arrays"].append(name)  # type: ignore[attr-defined]
            else:
                manifest["values"][name] = value  # type: ignore[index]
        (temporary / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False),
                                                 encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


def load(key: str, cache: str | os.PathLike[str] | None = None) -> dict[str, object] | None:
    """Read the parts of the study of ``key``, or None when it is not cached (or unreadable)."""
    folder = study_dir(key, cache)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT_VERSION or manifest.get("key") != key:
            return None
        parts: dict[str, object] = dict(manifest["values"])
        for name, is_geo in manifest["frames"].items():
            parts[name] = _read_frame(folder / f"{name}.parquet", geo=is_geo)
        for name in manifest["arrays"]:
            parts[name] = np.load(folder / f"{name}.npy", allow_pickle=False)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("cached study %s is unreadable (%s); building it again", folder, error)
        return None
    return parts


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
