"""Pieces shared by several pages: metric cards, the unreachable warning, tables, legends."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from geo import labels, provenance, scenarios
from geo.colours import in_minutes
from geo.layers import BundleFile
from geo.study import Result, Study

from . import cache, mapview, state
from .i18n import lang, name_column, t

_MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'])")
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


def plain_markdown(text: object) -> str:
    """Return text to put inside Markdown so that it shows exactly as written.

    Office names and other data-supplied strings could otherwise hold Markdown (an image
    link makes the browser fetch an outside address), HTML, LaTeX (``$``) or Streamlit
    directives (``:red[...]``). Every ASCII punctuation mark those use is backslash-escaped
    (CommonMark shows an escaped mark as itself) and line breaks become spaces.
    """
    return _MARKDOWN_ACTIVE.sub(r"\\\1", " ".join(str(text).split()))


def md(key: str, **values: object) -> str:
    """``t(key, **values)`` for an element that renders Markdown (titles, captions, alerts,
    toasts): every value put into the sentence (names, notes, titles, labels, messages,
    from the data or from a planner) shows exactly as written (``plain_markdown``)."""
    return t(key, **{name: plain_markdown(value) for name, value in values.items()})


def served_on() -> str:
    """Where the app listens and who can open it (``server.address`` in .streamlit/config.toml)."""
    address = st.get_option("server.address") or ""
    shown = f"http://{address or '0.0.0.0'}:{st.get_option('server.port')}"
    who = "served_local" if address in LOCAL_ADDRESSES else "served_network"
    return f"{t('served_on', address=shown)} {t(who)}"


def page_language() -> None:
    """Mark the page as written in the interface language (``<html lang>``).

    Streamlit's page says ``lang="en"`` whatever it shows, so a screen reader read the
    Japanese pages with an English voice. The script runs again when the language changes.
    """
    st.html(f"<script>document.documentElement.lang = {json.dumps(lang())};</script>",
            unsafe_allow_javascript=True)


def office_name(offices: pd.DataFrame):
    """Return a function office_id -> display name in the current language."""
    names = dict(zip(offices["office_id"], offices[name_column()], strict=True))
    return lambda office_id: names.get(office_id, office_id)


class BuildProgress:
    """What part of a study is being built and how long each part took, in a status box
    drawn in ``place`` at the first part reported (nothing when the study is in memory).

    The first build of a walking or transit study takes seconds to a minute; the box says
    which part (``geo.study.BUILD_STAGES``) is under way and lists the parts done with
    their seconds.
    """

    def __init__(self, place) -> None:
        self.place = place
        self.box: Any = None
        self.stage: str | None = None
        self.started = self.stage_started = 0.0

    def __call__(self, stage: str, at: float | None = None) -> None:
        """Show that ``stage`` started (at monotonic time ``at``, default now)."""
        now = time.monotonic() if at is None else at
        if self.box is None:
            self.box = self.place.status(t("build_heading"), expanded=True)
            self.started = now
        self._close_stage(now)
        self.stage, self.stage_started = stage, now
        self.box.update(label=t("build_running", part=t(f"build_{stage}")))

    def _close_stage(self, now: float) -> None:
        if self.box is not None and self.stage is not None:
            self.box.write(t("build_part_done", part=t(f"build_{self.stage}"),
                             seconds=f"{now - self.stage_started:.1f}"))

    def finish(self) -> None:
        """Mark the build done (when one was shown), with its total time."""
        if self.box is None:
            return
        now = time.monotonic()
        self._close_stage(now)
        self.stage = None
        self.box.update(label=t("build_done", seconds=f"{now - self.started:.0f}"),
                        state="complete", expanded=False)


def download(place, label: str, make: Callable[[], bytes], *, file_name: str, mime: str,
             key: str | None = None) -> None:
    """A download button whose file ``make()`` builds when it is clicked.

    ``make`` runs outside the script run, where session state and the interface language
    cannot be read: pass a function of values taken in this run (``functools.partial``).
    """
    place.download_button(label, data=make, file_name=file_name, mime=mime, key=key,
                          on_click="ignore")


def _people(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:,.0f} {t('people')}"


def _km(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.2f} km"


def _walk(summary: dict, when: str) -> str:
    """The mean walking time (``evaluate``'s ``<when>_min``), with the km."""
    minutes, km = float(summary[f"{when}_min"]), float(summary[f"{when}_km"])
    if not math.isfinite(km):
        return "—"
    return f"{minutes:.0f} {t('minutes')} ({km:.2f} km)"


def _minutes(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.0f} {t('minutes')}"


@dataclass(frozen=True)
class Card:
    """One metric card: its label, how it reads (``farther``, ``km``, ``walk``,
    ``transit`` or ``people``), the city figures after and before, and its help text key."""

    label: str
    kind: str
    after: str
    before: str
    help_key: str | None


def cards(mode: str, *, elderly: bool) -> list[Card]:
    """The card row of a travel mode: people farther; the mean distance (minutes on foot
    in walk mode, by bus in transit mode); people beyond 2 km and 5 km and people aged 65+
    beyond 2 km (beyond 30 and 45 minutes, and 65+ beyond 45, in transit mode), after with
    before. ``elderly``: the figures hold the 65+ columns."""
    row = [Card(t("metric_farther"), "farther", "people_farther", "people_farther", None)]
    if mode == "transit":
        far_min = scenarios.HEADLINE_THRESHOLDS_MIN[-1]
        row.append(Card(t("metric_mean_transit"), "transit", "transit_after_min",
                        "transit_before_min", "metric_before"))
        row += [Card(t("metric_beyond_min", minutes=m), "people",
                     f"transit_beyond_{m}min_after", f"transit_beyond_{m}min_before",
                     "metric_before") for m in scenarios.HEADLINE_THRESHOLDS_MIN]
        return [*row, Card(t("metric_beyond_min_elderly", minutes=far_min), "people",
                           f"transit_beyond_{far_min}min_after_65plus",
                           f"transit_beyond_{far_min}min_before_65plus", "metric_elderly_help")]
    if mode == "walk":
        row.append(Card(t("metric_mean_walk"), "walk", "after_km", "before_km", "metric_before"))
    else:
        row.append(Card(t("metric_mean"), "km", "after_km", "before_km", "metric_before"))
    near_km = scenarios.HEADLINE_THRESHOLDS_KM[0]
    row += [Card(t("metric_beyond", km=km), "people", f"beyond_{km}km_after",
                 f"beyond_{km}km_before", "metric_before")
            for km in scenarios.HEADLINE_THRESHOLDS_KM]
    if elderly:
        row.append(Card(t("metric_beyond_elderly", km=near_km), "people",
                        f"beyond_{near_km}km_after_65plus", f"beyond_{near_km}km_before_65plus",
                        "metric_elderly_help"))
    return row


def has_elderly(summary: dict) -> bool:
    """Whether the city figures hold the people aged 65+ (the elderly card)."""
    return f"beyond_{scenarios.HEADLINE_THRESHOLDS_KM[0]}km_after_65plus" in summary


def card_text(card: Card, summary: dict) -> tuple[str, str | None, str | None]:
    """A card's value, its change (None when there is none to show) and its help text, as
    ``metric_cards`` writes them from ``summary`` (``geo.study.Result.city``)."""
    after, before = float(summary[card.after]), float(summary[card.before])
    if card.kind == "farther":
        return _people(after), None, None
    if card.kind in ("km", "walk"):
        delta = after - before if math.isfinite(after) and math.isfinite(before) else None
        delta = None if delta is not None and abs(delta) < 0.005 else delta
        if card.kind == "km":
            return (_km(after), None if delta is None else f"{delta:+.2f} km",
                    t("metric_before", value=_km(before)))
        minutes = (None if delta is None
                   else float(summary["after_min"]) - float(summary["before_min"]))
        return (_walk(summary, "after"),
                None if minutes is None else f"{minutes:+.1f} {t('minutes')}",
                t("metric_before", value=_walk(summary, "before")))
    if card.kind == "transit":
        change = after - before
        return (_minutes(after),
                f"{change:+.1f} {t('minutes')}" if abs(change) >= 0.05 else None,
                t("metric_before", value=_minutes(before)))
    assert card.help_key is not None
    return (_people(after), f"{after - before:+,.0f}" if abs(after - before) >= 0.5 else None,
            t(card.help_key, value=_people(before)))


def metric_cards(summary: dict, *, mode: str = "drive") -> None:
    """The card row of ``cards`` for the city figures ``summary``, after with before."""
    row = cards(mode, elderly=has_elderly(summary))
    for column, card in zip(st.columns(len(row)), row, strict=True):
        value, delta, help_text = card_text(card, summary)
        column.metric(card.label, value, delta=delta, delta_color="inverse", border=True,
                      help=help_text)


def transit_notice(study: Study) -> None:
    """In transit mode, the missing 産交バス timetable (figures are a lower bound) and the
    departure window, where the figures are: under a page's title."""
    if study.transit is None:
        return
    if caveat := study.transit.caveat[lang()]:
        st.warning(plain_markdown(caveat), icon="⚠️")
    st.caption(md("transit_window", window=study.transit.window_label(lang())))


def unreachable_notice(found: Result) -> bool:
    """Say plainly when some or all residents have no counter to reach. True if so."""
    if found.unreachable == "none":
        return False
    table = found.zone_table
    blocked = table[table["status"] == scenarios.NO_FACILITY]
    if found.unreachable == "all":
        st.error(t("no_counter"), icon="🚫")
    else:
        st.warning(t("no_counter_some", n=len(blocked),
                     people=f"{blocked['population'].sum():,.0f}"), icon="⚠️")
    return True


def cell_text(value: object) -> str:
    """How a table cell reads on screen: numbers with thousands separators as rounded, a
    missing value as "—" (never "None" or "nan"), yes / no as ✓ or nothing."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else ""
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if isinstance(value, (float, np.floating)):
        return "—" if not math.isfinite(value) else f"{float(value):,}"
    return str(value)


def show_table(frame: pd.DataFrame, **kwargs: Any) -> None:
    """Show a table, its cells written by ``cell_text`` (the values stay sortable; a column
    mixing numbers and words, such as a figure's value, is sent as its text)."""
    mixed = [column for column in frame.columns if frame[column].dtype == object
             and frame[column].map(type).nunique() > 1]
    shown = frame.assign(**{column: frame[column].map(cell_text) for column in mixed})
    st.dataframe(shown.style.format(cell_text), hide_index=True, width="stretch", **kwargs)


def readable_zone_table(table: pd.DataFrame) -> pd.DataFrame:
    """The zone table's main columns as the files head and round them (``geo.labels``)."""
    minutes = [c for c in ("before_min", "after_min", "transit_before_min", "transit_after_min")
               if c in table.columns]
    shown = table[["zone_name", "ward", "population", "before_km", "after_km", *minutes,
                   "delta_km", "people_farther", "status"]]
    return labels.labelled_table(shown, lang=lang())


def most_affected(table: pd.DataFrame, *, rows: int = 10) -> None:
    """Table of the zones with the most people whose counter got farther."""
    st.subheader(t("affected_heading"))
    affected = table[(table["people_farther"] > 0) | (table["status"] == scenarios.NO_FACILITY)]
    if affected.empty:
        st.info(t("nothing_changes"))
        return
    top = affected.sort_values(["people_farther", "delta_km"], ascending=False).head(rows)
    show_table(readable_zone_table(top))


def legends(colour_by: str, threshold_km: int, drawn: list[Result], *, stores: bool,
            blank: bool, side_by_side: bool = False, projected: bool = False) -> None:
    """Zone colour legend and office symbol legend of the maps of ``drawn`` (``stores``,
    ``blank``: whether they draw stores and blank-district outlines), listing only what
    those maps show; one under the other, or in two columns; in projection type size
    (``projected``)."""
    table = drawn[0].zone_table
    _, scale = mapview.zone_values(table, colour_by, threshold_km)
    transit = in_minutes(table)
    title = mapview.colour_label(colour_by, transit=transit)
    if colour_by == "beyond":
        title += f"（{mapview.threshold_label(threshold_km, transit=transit)}）"
    rows = mapview.legend_rows(scale, [found.zone_table for found in drawn])
    offices = pd.concat([found.offices[["kind", "state"]] for found in drawn])
    font = mapview.PROJECTED_LEGEND_FONT if projected else mapview.LEGEND_FONT
    zones_place, offices_place = st.columns(2) if side_by_side else (st, st)
    zones_place.html(mapview.legend_html(rows, title, font_size=font))
    offices_place.html(mapview.office_legend_html(lambda kind: t(f"kind_{kind}"), offices,
                                                  stores=stores, blank=blank, font_size=font))


def sources_line(keys: Sequence[str | BundleFile]) -> str:
    """One line of attribution texts for the layers a view uses (「出典：」 once), as plain
    text for a caption (a feed's agency name comes from its data)."""
    return plain_markdown(provenance.sources_line(keys, lang=lang()))


def scenario_sources_line(found: Result) -> str:
    """The sources line of a page showing ``found``'s figures: its layers, the network, the
    2020 mesh (the 65+ figures), the attendance-zone table when districts are shown,
    the stores drawn on the map and the GTFS feeds in transit mode."""
    asked = found.question
    return sources_line(provenance.scenario_sources(
        measure=asked.measure, store_source=found.store_source, zones=asked.zones,
        network=asked.network, elderly=True, stores=True,
        timetables=cache.study(state.study_key(asked)).transit_sources))
