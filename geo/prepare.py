"""First run: make sure the data directory holds what the default study needs.

``make app`` calls ``python -m geo prepare`` before it starts the dashboard. When layers are
missing and ``geo.fetch`` can download them, it asks once (or, with ``yes`` or
``MADOGUCHI_FETCH=1``, does not ask), fetches them and writes the manifest. Without internet
it raises one ``DataMissingError`` saying what is missing, where to put it, and that a copy of
the Kumamoto bundle works through ``MADOGUCHI_DATA``. Layers no source provides (the MLIT
road lines, the Overture stores) are reported, and the dashboard then shows its missing-data
page for them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import fetch as fetch_module
from . import layers
from .errors import DataMissingError, FetchError
from .settings import DATA_ENV_VAR, data_dir

FETCH_ENV_VAR = "MADOGUCHI_FETCH"
"""``1`` answers yes to the download question (for scripts and CI)."""
STUDY_LAYERS = ("wards", "small_areas", "offices", "schools", "attendance_zones", "mesh")
"""Layers every study reads besides its road network and store layer."""
_FETCHED_BY = {"wards": "n03", "small_areas": "estat", "mesh": "mesh", "stores_osm": "osm-stores",
               "osm_city_drive_nodes": "osm-roads", "osm_city_drive_edges": "osm-roads"}


@dataclass(frozen=True)
class Gap:
    """A layer the data directory lacks."""

    label: str
    """The file (relative to the data directory) or file pattern."""
    source: str | None
    """The ``geo.fetch`` source that downloads it, or None when no open download exists."""


def study_gaps(data: str | os.PathLike[str] | None = None, *, network: str = "osm-city-drive",
               stores: str | None = None) -> list[Gap]:
    """Return what the data directory lacks for a study on ``network`` with ``stores``.

    Parameters
    ----------
    data
        Data directory (default ``MADOGUCHI_DATA`` or ``data/bundle``).
    network
        Road network, as ``geo.engine.load_engine`` takes it.
    stores
        Store layer, as ``geo.layers.load_stores`` takes it (``union`` reads OSM and
        Overture); default: the OSM stores, the one store layer fetch provides (the study
        then uses ``geo.layers.default_store_source``).
    """
    root = data_dir(data)
    store_keys = (["stores_osm", "stores_overture"] if stores == "union"
                  else [f"stores_{stores or 'osm'}"])
    keys = (*STUDY_LAYERS, *store_keys, *layers.NETWORK_FILES[network])
    return [Gap(layers.BUNDLE_FILES[key].relpath, _FETCHED_BY.get(key))
            for key in keys if layers.find_layer(key, root) is None]


def ask_on_terminal(question: str) -> bool:
    """Ask on stderr, read stdin; anything but y/yes (or no terminal at all) means no."""
    print(question, end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):  # no terminal: end the question's line
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def prepare(
    data: str | os.PathLike[str] | None = None, *,
    network: str = "osm-city-drive",
    stores: str | None = None,
    yes: bool = False,
    ask: Callable[[str], bool] = ask_on_terminal,
    progress: Callable[[str], None] | None = None,
    **fetch_options: Any,
) -> list[fetch_module.FetchResult]:
    """Fetch what the study lacks and ``geo.fetch`` can download.

    Parameters
    ----------
    data, network, stores
        As in ``study_gaps``.
    yes
        Download without asking (also when ``MADOGUCHI_FETCH=1``).
    ask
        Asks the one question; returns True to download.
    progress
        Receives the progress lines of ``geo.fetch.fetch`` and the closing notes.
    **fetch_options
        Passed to ``geo.fetch.fetch`` (session, download addresses, ...).

    Returns
    -------
    list of FetchResult
        What was fetched (empty when nothing downloadable was missing).

    Raises
    ------
    DataMissingError
        The download was declined or failed (no internet): one message naming the missing
        files, where they go, and the ``MADOGUCHI_DATA`` alternative.
    """
    root = data_dir(data)
    say = progress or (lambda line: None)
    gaps = study_gaps(root, network=network, stores=stores)
    sources = [s for s in fetch_module.SOURCES if s in {g.source for g in gaps}]
    results = []
    if sources:
        question = (f"{root} lacks {', '.join(g.label for g in gaps if g.source)}. Download "
                    f"them now ({'; '.join(fetch_module.SOURCE_TITLES[s] for s in sources)})? "
                    f"[y/N] ")
        if not (yes or os.environ.get(FETCH_ENV_VAR) == "1" or ask(question)):
            reason = f"the download was declined (answer y, or set {FETCH_ENV_VAR}=1)"
            raise DataMissingError(_missing_message(root, gaps, reason))
        try:
            results = fetch_module.fetch(root, only=sources, progress=progress, **fetch_options)
        except FetchError as e:
            gaps = study_gaps(root, network=network, stores=stores)
            reason = f"they could not be downloaded: {e.__cause__ or e}"
            raise DataMissingError(_missing_message(root, gaps, reason)) from e
    unfetchable = [g.label for g in study_gaps(root, network=network, stores=stores)]
    if unfetchable:
        say(f"note: {root} still lacks {', '.join(unfetchable)}, which have no open download; "
            f"put them there or point {DATA_ENV_VAR} at the Kumamoto bundle (the dashboard "
            f"lists them too)")
    return results


def _missing_message(root: Path, gaps: list[Gap], reason: str) -> str:
    return (f"{root} lacks {', '.join(g.label for g in gaps)} and {reason}. Put these files "
            f"there (same folders as the Kumamoto bundle), or point {DATA_ENV_VAR} at a copy "
            f"of that bundle (for example ../shared/data/kumamoto) and run make app again.")
