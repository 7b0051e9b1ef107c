"""Session-state defaults, office-set presets and the scenario the sidebar describes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from geo import demand, engine, layers, reorganisation, scenarios
from geo import study as study_module

from . import cache
from .i18n import t

logger = logging.getLogger(__name__)

PRESETS = reorganisation.PRESETS
NETWORKS = engine.NETWORKS
MODES = study_module.MODES
MEASURES = ("counter", "certificate")
COLOUR_BY = ("after", "before", "change", "beyond")
THRESHOLDS_KM = (2, 5)

DEFAULTS = {
    "lang": "ja",
    "preset": "fy2015",
    "base": "fy2015",
    "closed": [],
    "downgraded": [],
    "measure": "counter",
    "network": engine.DEFAULT_NETWORK,
    "mode": "drive",
    "zone_layer": "district",
    "colour_by": "change",
    "threshold_km": 2,
    "click_action": "close",
    "show_tiles": False,
    "briefing_layout": "side-by-side",
    "pending_toggles": [],
    "briefing_title": "",
    "briefing_present": False,  # typed by the planner; empty: the title follows the scenario
    "store_share_pct": 0,  # % of certificate transactions moving to convenience stores
    "demand_reading": "brief",  # geo.demand.DEFAULT_READING (城南/南部 counts)
    "phases": (),  # the plan's dated steps (geo.saved.Phase), edited on the 比較 page
}


@dataclass(frozen=True)
class Choice:
    """What the sidebar currently describes (all hashable, ready for cache keys)."""

    data: str
    base: str
    closed: tuple[str, ...]
    downgraded: tuple[str, ...]
    measure: str
    store_source: str
    zone_layer: str
    network: str = engine.DEFAULT_NETWORK
    mode: str = "drive"

    store_share: float = 0.0
    """Share (0-1) of the closed counters' certificates going to convenience stores."""
    reading: str = demand.DEFAULT_READING

    @property
    def study_key(self) -> cache.StudyKey:
        return cache.StudyKey(self.data, self.network, self.mode)

    @property
    def scenario(self) -> scenarios.Scenario:
        """The office set with the chosen closures and downgrades (``geo.scenarios``)."""
        return scenarios.Scenario(base=self.base, closed=frozenset(self.closed),
                                  downgraded=frozenset(self.downgraded))

    def result_key(self, zones: str | None = None, *, after: bool = True) -> cache.ResultKey:
        """The cache key of this choice's result on ``zones`` (default: the chosen layer).

        ``after=False`` gives the base set with nothing closed (the briefing's "before").
        """
        return cache.ResultKey(
            study=self.study_key, base=self.base, closed=self.closed if after else (),
            downgraded=self.downgraded if after else (), measure=self.measure,
            zones=zones or self.zone_layer, stores=self.store_source,
            store_share=self.store_share, reading=self.reading)


def bind(name: str, *, labels: Sequence[str] | None = None, options: Sequence[Any] = (),
         extent: Sequence[Any] = (), then: Callable[[], None] | None = None) -> dict:
    """Keyword arguments tying a widget to the canonical session value ``name`` (a code).

    Streamlit keeps a choice widget's value as its *formatted label*, so a widget whose
    labels change (another language, minutes instead of km in transit mode, a slider whose
    range grows) would hand back a label, or its default, instead of the code. Each widget
    therefore gets a key of its own for every way it can be drawn (the language, the
    ``labels`` of its ``options``, and ``extent``: e.g. a slider's range), seeded from the
    canonical code, and copies a value back only when it is one of ``options`` (for a
    choice widget, given ``labels``); ``then`` runs after a copy (e.g. a preset callback).
    A canonical value that is no longer an option becomes the first option (a list keeps
    the options it still holds). Use ``choose`` for choice widgets.
    """
    s = st.session_state
    shown: tuple[Any, ...] = (s.get("lang", "ja"), tuple(extent), tuple(labels or ()))
    allowed = list(options) if labels is not None else None
    if allowed is not None:
        _keep_choosable(name, allowed)
    digest = hashlib.sha1(repr(shown).encode("utf-8")).hexdigest()[:10]
    key = f"{name}__{shown[0]}__{digest}"
    if s.get(key, _UNSET) != s[name]:
        s[key] = s[name]

    def copy_back() -> None:
        value = s[key]
        if allowed is not None and not _is_choice(value, allowed):
            logger.warning("widget %s returned %r, not one of its options; kept %r",
                           key, value, s[name])
            return
        s[name] = value
        if then is not None:
            then()

    return {"key": key, "on_change": copy_back}


def choose(widget: Callable[..., Any], label: str, name: str, options: Sequence[Any], *,
           format_func: Callable[[Any], str] = str, then: Callable[[], None] | None = None,
           **kwargs: Any) -> Any:
    """Draw a choice widget (``st.radio``, ``st.selectbox``, ``st.multiselect``, or a
    column's) over ``options`` (codes) bound to the session value ``name`` (``bind``).

    The labels are made once, in this run's language, so the widget never formats an
    option in another language later."""
    options = list(options)
    labels = {option: format_func(option) for option in options}
    return widget(label, options, format_func=lambda option: labels.get(option, str(option)),
                  **bind(name, labels=list(labels.values()), options=options, then=then),
                  **kwargs)


def _is_choice(value: Any, allowed: list[Any]) -> bool:
    if isinstance(value, list):
        return all(item in allowed for item in value)
    return value in allowed


def _keep_choosable(name: str, allowed: list[Any]) -> None:
    s = st.session_state
    value = s[name]
    if isinstance(value, list):
        if not _is_choice(value, allowed):
            s[name] = [item for item in value if item in allowed]
    elif value not in allowed and allowed:
        s[name] = allowed[0]


_UNSET = object()


def pick_offices() -> dict[str, Any]:
    """Keyword arguments of every office multiselect: a Japanese / English placeholder
    instead of Streamlit's "Choose options", and no "Select all" (one click would close
    every counter)."""
    return {"placeholder": t("pick_offices"), "select_all": False}


def init_defaults() -> None:
    """Put every default into session state once (widgets then own their keys)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, list(value) if isinstance(value, list) else value)



def init_store_source() -> None:
    """Default store layer: ``union``, or ``osm`` where the data has no Overture stores.

    Reads the data directory, so it runs where data errors are shown as a page.
    """
    st.session_state.setdefault("store_source", layers.default_store_source(cache.data_dir()))


def apply_preset() -> None:
    """Widget callback: set the office set, closures and downgrades of the chosen preset."""
    choice = current()
    chosen = study_module.options(cache.study(choice.study_key), choice.base).presets[
        st.session_state["preset"]].scenario
    st.session_state["base"] = chosen.base
    st.session_state["closed"] = sorted(chosen.closed)
    st.session_state["downgraded"] = sorted(chosen.downgraded)


def request_toggle(office_id: str, action: str) -> None:
    """Queue a close / downgrade toggle from the map, applied before the sidebar is drawn.

    (A widget's state cannot change after the widget has been drawn in the same run.) Clicks
    queue in order, so several made while the app is updating are all applied.
    """
    st.session_state["pending_toggles"] = [*st.session_state.get("pending_toggles", []),
                                           (office_id, action)]


def apply_pending_toggles(open_ids: list[str]) -> list[str]:
    """Apply the queued map toggles, in click order, to the ``closed`` / ``downgraded`` state.

    Returns the ids of the offices toggled (a toggle of an office not open in the base set,
    e.g. after the base changed, is dropped).
    """
    queued = st.session_state.get("pending_toggles", [])
    st.session_state["pending_toggles"] = []
    applied = []
    for office_id, action in queued:
        if office_id not in open_ids:
            continue
        key, other = ("closed", "downgraded") if action == "close" else ("downgraded", "closed")
        chosen = list(st.session_state.get(key, []))
        if office_id in chosen:
            chosen.remove(office_id)
        else:
            chosen.append(office_id)
            st.session_state[other] = [o for o in st.session_state.get(other, [])
                                       if o != office_id]
        st.session_state[key] = chosen
        applied.append(office_id)
    return applied


def current() -> Choice:
    """The scenario and display choices in session state."""
    s = st.session_state
    return Choice(
        data=cache.data_dir(), base=s["base"],
        closed=tuple(sorted(s["closed"])), downgraded=tuple(sorted(s["downgraded"])),
        measure=s["measure"], store_source=s["store_source"], zone_layer=s["zone_layer"],
        network=s["network"], mode=s["mode"], store_share=s["store_share_pct"] / 100.0,
        reading=s["demand_reading"],
    )
