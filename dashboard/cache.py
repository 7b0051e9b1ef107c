"""The dashboard's one caching seam: a ``geo.study`` per study key, its results, its display layers.

``st.cache_resource`` holds the built ``Study`` (one per data directory, network and mode:
every store source's distances are inside it, so switching stores rebuilds nothing), the
``Result`` of each question asked (key: the data directory and the ``Question``; immutable,
shared, never pickled), and the WGS84 features and points the map draws. Pages only format
what these return.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from geo import cartography, instant, network_check, settings
from geo import demand as demand_module
from geo import study as study_module
from geo.question import Question

from . import suggestions

RESULTS_KEPT = 256
"""Evaluated scenarios kept in memory (each a few small tables)."""
SUGGESTIONS_KEPT = 64
"""Solved location-allocation questions and frontiers kept in memory."""


def data_dir() -> str:
    """The data directory as a string (cache key)."""
    return str(settings.data_dir())


@dataclass(frozen=True)
class StudyKey:
    """What a study is built from: data directory, road network, travel mode."""

    data: str
    network: str
    mode: str


@st.cache_resource(show_spinner=False, max_entries=4)
def study(key: StudyKey, _progress: Callable[[str], None] | None = None) -> study_module.Study:
    """``geo.study.build_study`` (raises DataMissingError / LayerError); ``_progress`` hears
    each part as it is built (only when the study is not yet in memory). It must not draw:
    a cached function replays what it draws (``study_showing_progress`` draws)."""
    return study_module.build_study(key.data, network=key.network, mode=key.mode,
                                    progress=_progress)


def study_showing_progress(key: StudyKey, show: Callable[[str, float], None]) -> (
        study_module.Study):
    """``study(key)``, built in a helper thread while this run calls ``show(stage, when)``
    for each part the build starts (nothing when the study is in memory)."""
    started: list[tuple[str, float]] = []
    outcome: dict[str, Any] = {}

    def build() -> None:
        try:
            outcome["study"] = study(key, lambda stage: started.append((stage,
                                                                         time.monotonic())))
        except BaseException as error:  # raised again in the run, which shows it
            outcome["error"] = error

    worker = threading.Thread(target=build, name="madoguchi-build", daemon=True)
    add_script_run_ctx(worker, get_script_run_ctx())
    worker.start()
    shown = 0
    while worker.is_alive() or shown < len(started):
        worker.join(timeout=0.2)
        for stage, when in started[shown:]:
            show(stage, when)
        shown = len(started)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["study"]


def result(asked: Question) -> study_module.Result:
    """``geo.study.evaluate`` of a question on its study (this data directory), cached."""
    return _evaluate(data_dir(), asked)


@st.cache_resource(show_spinner=False, max_entries=RESULTS_KEPT)
def _evaluate(data: str, asked: Question) -> study_module.Result:
    return study_module.evaluate(study(StudyKey(data, asked.network, asked.mode)), asked)


@st.cache_resource(show_spinner=False, max_entries=SUGGESTIONS_KEPT)
def suggestion(key: StudyKey, request: suggestions.Request, *, reading: str | None = None
               ) -> suggestions.Answer | pd.DataFrame:
    """The 提案 page's answer to ``request`` (loads from the ``reading`` demand fit), cached.

    Without ``reading``: the request's frontier (``suggestions.frontier_of``), which does not
    depend on the number of counters, so pass the request with ``open_count=None``.
    """
    if reading is None:
        return suggestions.frontier_of(study(key), request)
    return suggestions.answer(study(key), request, reading=reading)


@st.cache_resource(show_spinner=False)
def zone_features(key: StudyKey, kind: str) -> dict:
    """Zone layer ``kind`` as a WGS84 FeatureCollection with ``zone_id`` (and ``quality``)."""
    polygons = study(key).zones[kind].polygons
    shown = ["zone_id"] + (["quality"] if "quality" in polygons.columns else [])
    return cartography.to_display_features(polygons, shown)


@st.cache_resource(show_spinner=False)
def ward_features(key: StudyKey) -> dict:
    """Ward polygons as WGS84 GeoJSON with ``zone_id`` (ward code) and ``ward`` names."""
    wards = study(key).engine.wards.rename(columns={"ward_code": "zone_id"})
    return cartography.to_display_features(wards, ["zone_id", "ward"])


@st.cache_resource(show_spinner=False)
def ward_labels(key: StudyKey) -> pd.DataFrame:
    """One label point per ward (inside it, clear of the offices), WGS84 ``lat`` / ``lon``."""
    engine = study(key).engine
    return cartography.to_display_points(
        cartography.label_points(engine.wards[["ward", "geometry"]], engine.offices))


@st.cache_resource(show_spinner=False)
def office_points(key: StudyKey) -> pd.DataFrame:
    """Office register with WGS84 ``lat`` / ``lon`` for markers."""
    return cartography.to_display_points(study(key).engine.offices)


@st.cache_resource(show_spinner=False)
def store_points(key: StudyKey, source: str) -> pd.DataFrame:
    """Convenience stores of one store source with WGS84 ``lat`` / ``lon``."""
    return cartography.to_display_points(study(key).stores[source])


@st.cache_resource(show_spinner=False)
def demand_check(key: StudyKey, reading: str) -> demand_module.OutOfSample:
    """``geo.demand.validate_fy2011`` of the study's fit (the study holds no such check)."""
    fitted = study(key)
    return demand_module.validate_fy2011(fitted.demand_fits[reading], fitted.engine.model)


@st.cache_resource(show_spinner=False)
def network_quality(key: StudyKey) -> network_check.NetworkCheck:
    """``geo.network_check.check_network`` on the study's network (the sources page)."""
    return network_check.check_network(study(key).engine)


PAYLOAD_DIR = settings.cache_dir() / "instant-map"
"""Where the instant map's payloads are written, one file per content (``<sha256>.json``),
served to the browser by the ``dashboard.instant_map`` payload component."""


@st.cache_resource(show_spinner=False)
def browser_payload(key: StudyKey) -> str:
    """The file name of the study's ``geo.instant.browser_payload`` in ``PAYLOAD_DIR``,
    written once (through a temporary file, so a reader never sees half of it)."""
    data, digest = instant.payload_bytes(instant.browser_payload(study(key)))
    name = f"{digest}.json"
    target = PAYLOAD_DIR / name
    if not target.is_file():
        PAYLOAD_DIR.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{threading.get_ident()}.part")
        partial.write_bytes(data)
        partial.replace(target)
    return name
