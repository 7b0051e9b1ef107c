"""The instant map: the map page's scenario map, answering a click in the browser.

A Streamlit component (``frontend/``: Leaflet from the app's vendored copy, no bundler).
Once per study it fetches ``geo.instant.browser_payload`` (a content-named file served by
a second component whose folder is ``dashboard.cache.PAYLOAD_DIR``, so the large arrays
never travel with a rerun). A click on an office toggles it by the sidebar's rules,
evaluates the question with ``frontend/evaluator.js`` (``geo.study.evaluate``'s
arithmetic), recolours the zones in place and updates the component's own cards, marked
計算中／未確認 (unconfirmed); then it reports the new office set. The server applies it
(``dashboard.state.apply_map_offices``), runs ``evaluate``, draws the page from it and passes
the same figures back (``confirmed``): the mark goes once they are for the map's own office
set, and where they differ from the browser's, the server's are shown.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit.components.v1 as components

from geo.colours import in_minutes, transit_threshold_min
from geo.study import Result

from .. import cache, mapview
from ..components import card_text, cards, has_elderly
from ..i18n import lang, name_column, t

FRONTEND = __file__.rsplit("/", 1)[0] + "/frontend"
_map = components.declare_component("instant_map", path=FRONTEND)
cache.PAYLOAD_DIR.mkdir(parents=True, exist_ok=True)  # the payload component serves it
_payloads = components.declare_component("payloads", path=str(cache.PAYLOAD_DIR))
HEIGHT_PX = 640
"""Height of the map itself (the component adds its card row above it)."""
QUESTION_FIELDS = ("base", "closed", "downgraded", "measure", "zones", "store_source",
                   "walk_kmh", "mode")
"""What the browser's evaluation depends on, and what tells it the server's figures are
those of its own question."""
LABEL_KEYS = (
    "layer_zones", "layer_wards", "layer_offices", "layer_stores", "layer_blank",
    "layer_tiles", "tooltip_zone", "tooltip_people", "tooltip_farther", "legend_unreachable",
    "popup_kind", "popup_ward", "popup_address", "popup_state", "map_unconfirmed",
    "map_unconfirmed_help", "map_confirmed", "map_mismatch", "map_key_hint", "map_loading",
    "people", "minutes", "metric_before", "metric_elderly_help", "click_close",
    "click_downgrade", "state_open", "state_closed", "state_downgraded")


def payload_url(file_name: str) -> str:
    """The payload's address as the map's frame reads it (the components' route)."""
    return f"../{_payloads.name}/{file_name}"


def question_args(found: Result) -> dict[str, Any]:
    """The fields of ``found``'s question the browser evaluates (office ids sorted)."""
    values = found.question.to_dict()
    return {field: values[field] for field in QUESTION_FIELDS} | {
        "store_source": found.store_source}


def office_args(found: Result, points: pd.DataFrame) -> list[dict[str, Any]]:
    """Every office of the register with what its marker shows: name, kind and address in
    the current language, position and pixel offset (``mapview.marker_offsets``)."""
    table = found.offices.drop(columns="geometry", errors="ignore").merge(
        points[["office_id", "lat", "lon"]], on="office_id")
    offsets = mapview.marker_offsets(table["lat"].to_numpy(), table["lon"].to_numpy())
    names = name_column()
    return [{"id": str(row["office_id"]), "name": str(row[names]),
             "kind": str(row["kind"]), "kind_label": t(f"kind_{row['kind']}"),
             "ward": str(row["ward"]), "address": str(row["address_ja"]),
             "lat": float(row["lat"]), "lon": float(row["lon"]), "dx": int(dx), "dy": int(dy),
             "size": 30 if row["kind"] == "ward_office" else 24,
             "z": 1000 if row["kind"] == "ward_office" else 500}
            for row, (dx, dy) in zip(table.to_dict("records"), offsets, strict=True)]


def _numbers(figures: dict[str, float | str]) -> dict[str, float | str | None]:
    """City figures for JSON: NaN and infinities (no JSON number) as None."""
    return {name: value if isinstance(value, str) or math.isfinite(value) else None
            for name, value in figures.items()}


def draw(found: Result, key: cache.StudyKey, *, colour_by: str, threshold_km: int,
         click_action: str, show_tiles: bool, applied_seq: int, blank_ids: frozenset[str],
         widget_key: str, on_change: Any) -> None:
    """Draw the instant map of ``found`` (the server's answer to the session's question).

    Parameters
    ----------
    found
        ``geo.study.evaluate`` of the question shown: its figures confirm the browser's.
    key
        The study the question is answered on (its payload is fetched once).
    colour_by, threshold_km
        The zone colouring (``geo.colours.COLOUR_BY``) and the threshold of ``beyond``.
    click_action
        ``close`` or ``downgrade``: what a click on an office does.
    show_tiles
        Draw the OSM background (online only).
    applied_seq
        The last click report of the map that the question holds
        (``dashboard.state.apply_map_offices``).
    blank_ids
        Districts without a store of the question's store source.
    widget_key, on_change
        The component's widget key and change callback (``dashboard.state.request_offices``).
    """
    transit = in_minutes(found.zone_table)
    _, scale = mapview.zone_values(found.zone_table, colour_by, threshold_km)
    row = cards(found.question.mode, elderly=has_elderly(found.city))
    shown = [card_text(card, found.city) for card in row]
    _map(
        payload={"url": payload_url(cache.browser_payload(key))},
        question=question_args(found), applied_seq=applied_seq,
        view={"colour_by": colour_by, "threshold_km": threshold_km,
              "threshold_min": transit_threshold_min(threshold_km) if transit else None,
              "click_action": click_action, "show_tiles": show_tiles, "height": HEIGHT_PX},
        scale={"edges": list(scale.edges), "colours": list(scale.colours),
               "zero_colour": scale.zero_colour},
        offices=office_args(found, cache.office_points(key)),
        symbols={kind: {state: mapview.office_symbol(kind, state, size=30)
                        for state in ("open", "closed", "downgraded")}
                 for kind in mapview.KIND_SHAPES},
        cards=[{"label": card.label, "kind": card.kind, "after": card.after,
                "before": card.before, "help_key": card.help_key} for card in row],
        lang=lang(),
        labels={name: t(name) for name in LABEL_KEYS} | {"store_dot": mapview.STORE_DOT},
        blank_ids=sorted(blank_ids),
        confirmed={"question": question_args(found), "city": _numbers(found.city),
                   "fills": mapview.zone_fills(found.zone_table, colour_by, threshold_km),
                   "cards": [{"value": value, "delta": delta, "help": help_text}
                             for value, delta, help_text in shown]},
        transit=transit, key=widget_key, on_change=on_change, default=None,
        height=HEIGHT_PX + 110)

