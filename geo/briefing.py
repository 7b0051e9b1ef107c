"""Render a static scenario briefing: the 16:9 slide (PNG or PDF) for a projector and the
A4 handout (PDF) for the council file.

The slide: the scenario title, before / after maps of the zones (or one map of the change)
coloured by road distance to the nearest counter on a shared scale, ward boundaries,
offices with open / downgraded / closed symbols, three large key figures and a
data-sources line. The handout: the same map and figures, the most affected zones, the
assumptions and the sources, on one A4 page or two when they do not fit at their sizes.

Japanese text is drawn in BIZ UDPゴシック (Morisawa's universal-design face, Debian
``fonts-morisawa-bizud-gothic``) when installed: a TrueType-outline font, which every PDF
viewer draws once embedded (``geo._paper.truetype_outlines``). Only
``matplotlib.figure.Figure`` and the Agg / PDF canvases are used: no pyplot, no figure
registered anywhere, so rendering from a web server thread leaves no state behind.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import _paper
from ._paper import Font, Page, PdfInfo, page_font, renderer
from .colours import in_minutes, travel_columns, zone_colouring
from .errors import FontMissingError
from .labels import COLUMN_LABELS, DECIMALS, labelled_table, language_index
from .layers import BundleFile
from .provenance import sources_line
from .scenarios import office_status

if TYPE_CHECKING:
    from .reorganisation import Preset
    from .scenarios import Scenario

logger = logging.getLogger(__name__)

PRINT_FAMILIES = ("BIZ UDPGothic", "BIZ UDGothic", "IPAexGothic", "IPAGothic")
"""Japanese faces with TrueType outlines, in order: BIZ UDPゴシック first (Morisawa's
universal-design typeface, SIL OFL, Debian fonts-morisawa-bizud-gothic), the face many
Japanese municipalities print for residents in."""
CJK_FAMILIES = (*PRINT_FAMILIES, "Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP",
                "Source Han Sans", "Noto Sans CJK SC", "Noto Sans CJK TC")
"""Font families tried in order for Japanese text on screen images (PNG): the print faces,
then the CFF-outline ones (Debian fonts-noto-cjk), which are fine in a PNG but not in a
PDF."""
PRINT_FONT_PACKAGE = "fonts-morisawa-bizud-gothic"
A4_PORTRAIT_IN = _paper.A4_PORTRAIT_IN
"""The handout page, A4 portrait (595 x 842 pt)."""
short_office_name = _paper.short_office_name
DEFAULT_SOURCES = ("wards", "small_areas", "attendance_zones", "offices",
                   "osm_city_drive_edges")
"""Bundle layers behind a school-district briefing: shapes, people, offices, road distances."""
PAGE_SIZE_IN = (40 / 3, 7.5)
"""16:9 widescreen slide, 13.33 x 7.5 inches (2000 x 1125 px at 150 dpi; projected at
1920 x 1080, 1 pt = 2 px, so the smallest text, 9 pt, is 18 px)."""
SLIDE_SMALLEST_PT = 9.0
"""No text on the slide is smaller: 18 px when projected at 1920 x 1080."""
HANDOUT_SIZES = {"title": 18.0, "subtitle": 10.0, "heading": 12.0, "figure_label": 12.0,
                 "figure_value": 14.0, "body": 10.0, "table": 9.0, "legend": 9.0,
                 "sources": 8.0}
"""Font sizes of the handout, points: key figures (the before -> after lines) 12 and 14,
every other text at least 9, the sources 8 (the UD-font guidance for residents' print)."""
HANDOUT_MAP_PT = (260.0, 500.0)
"""Height of the handout's map: at least the first on a one-page handout (else the table
and assumptions go to a second page), at most the second."""
NOTE_STEP = 0.034
"""Largest line height of the notes under the key figures (fraction of the page height)."""
NOTE_GAP = 0.012
MAX_NOTES = 5
"""Notes beyond this many would run into the legend; they are left out (with a log message)."""
FORMATS = ("png", "pdf")
DEFAULT_AUTHOR = ("熊本市", "Kumamoto City")
"""The PDF's author unless another is given."""
LABELS: dict[str, tuple[str, str]] = {
    "farther": ("最寄り窓口が遠くなる人", "People whose nearest counter gets farther"),
    "beyond": ("{km} km より遠い人", "People beyond {km} km"),
    "beyond_65plus": ("{km} km より遠い65歳以上", "Aged 65+ beyond {km} km"),
    "mean": ("平均距離", "Mean distance"),
    "beyond_min": ("バス・徒歩で{minutes}分超の人", "More than {minutes} min by bus and on foot"),
    "beyond_min_65plus": ("バス・徒歩で{minutes}分超の65歳以上",
                          "Aged 65+ more than {minutes} min by bus and on foot"),
    "mean_min": ("平均所要時間（バス・電車・徒歩）", "Mean time by bus/tram and on foot"),
    "plain_farther": ("窓口が今より遠くなる人", "Counter gets farther for"),
    "plain_beyond": ("窓口まで {km} km より遠い人", "More than {km} km from a counter"),
    "plain_beyond_65plus": ("窓口まで {km} km より遠い65歳以上の人", "Aged 65+, more than {km} km"),
    "plain_mean": ("窓口までの道のり（平均）", "Average way to a counter"),
    "plain_beyond_min": ("バス・電車と歩きで{minutes}分より長くかかる人",
                         "More than {minutes} min by bus, tram, foot"),
    "plain_beyond_min_65plus": ("バス・電車と歩きで{minutes}分より長くかかる65歳以上の人",
                                "Aged 65+, more than {minutes} min"),
    "plain_mean_min": ("窓口までの時間（平均、バス・電車と歩き）",
                       "Average time to a counter (bus, tram, foot)"),
    "people": ("人", "people"),
    "minutes": ("分", "min"),
    "before": ("変更前", "Before"),
    "after": ("変更後", "After"),
    "change": ("距離の増加", "Increase in distance"),
    "distance_bar": ("最寄りの窓口までの道路距離", "Road distance to the nearest counter"),
    "change_bar": ("最寄りの窓口までの距離の増加",
                   "Increase in road distance to the nearest counter"),
    "change_min": ("所要時間の増加", "Increase in minutes"),
    "minutes_bar": ("最寄りの窓口までの所要時間（バス・電車＋徒歩）",
                    "Minutes to the nearest counter by bus/tram and on foot"),
    "minutes_change_bar": ("最寄りの窓口までの所要時間の増加（バス・電車＋徒歩）",
                           "Increase in minutes to the nearest counter by bus/tram and on foot"),
    "key_figures": ("主な数値", "Key figures"),
    "affected_district": ("影響の大きい校区", "Most affected school districts"),
    "affected_small-area": ("影響の大きい小地域", "Most affected small areas"),
    "affected_ward": ("影響の大きい区", "Most affected wards"),
    "assumptions": ("前提", "Assumptions"),
    "continued": ("（つづき）", " (continued)"),
    "none": ("なし", "none"),
    "closed_count": ("閉鎖 {closed} か所・コーナー化 {downgraded} か所",
                     "{closed} closed, {downgraded} downgraded"),
}
"""Page wording, Japanese and English (``lang``); the screen uses the same words (the map
symbols' words are ``geo._paper.MAP_WORDS``). The ``plain_`` labels word the same figures
for residents (``key_figures(..., plain=True)``)."""
PRESET_TITLES: dict[str, tuple[str, str]] = {
    "fy2015": ("2015年度の窓口（19か所＋分室・コーナー）", "FY2015 counters (19 + annex, corner)"),
    "plan2015": ("2015年の再編計画（候補8か所を閉鎖）", "2015 plan (its 8 candidates closed)"),
    "reorganisation": ("実際の再編：2015年度→現在", "What the reorganisation did: FY2015 -> today"),
    "now": ("現在の窓口", "Today's counters"),
}
"""Names of the ``geo.reorganisation`` presets, as the screen shows them."""
BASE_TITLES = {"fy2015": ("2015年度の窓口", "FY2015 counters"),
               "now": ("現在の窓口", "Today's counters")}


# -- fonts ---------------------------------------------------------------------------------

def find_cjk_font(families: Sequence[str] = CJK_FAMILIES, *, truetype: bool = False) -> str:
    """Return the family name of an installed font that draws Japanese text.

    Looks through matplotlib's font list first; if no family matches (matplotlib caches its
    list and misses fonts installed later), registers the files ``fc-list :lang=ja`` and
    the usual Debian folders report, then looks again.

    Parameters
    ----------
    families
        Family names in order of preference.
    truetype
        Only a family with TrueType (``glyf``) outlines counts: the fonts a PDF can embed
        so that MuPDF, poppler and PDFium all draw them (``geo._paper.truetype_outlines``).

    Raises
    ------
    FontMissingError
        If none is installed, with the package to install.
    """
    found = _installed_family(families, truetype=truetype)
    if found is None:
        for path in _cjk_font_files():
            try:
                font_manager.fontManager.addfont(str(path))
            except (OSError, RuntimeError, ValueError) as e:  # unreadable font file
                logger.debug("cannot register font %s: %s", path, e)
        found = _installed_family(families, truetype=truetype)
    if found is None:
        kind = "with TrueType outlines " if truetype else ""
        msg = (f"no Japanese font {kind}found (tried {', '.join(families)}); install BIZ "
               f"UDゴシック: `apt-get install {PRINT_FONT_PACKAGE}` on Debian/Ubuntu "
               "(scripts/setup.sh does)")
        if truetype:
            msg += ("; Noto Sans CJK has CFF outlines, which a PDF embeds under a TrueType "
                    "declaration that MuPDF and poppler cannot draw")
        raise FontMissingError(msg)
    return found


def print_font(family: str | None = None) -> str:
    """The family a printed file (PDF) is drawn in: ``family`` when it has TrueType
    outlines, else the first of ``PRINT_FAMILIES`` installed
    (``find_cjk_font(PRINT_FAMILIES, truetype=True)``).

    Raises
    ------
    FontMissingError
        None is installed (``apt-get install fonts-morisawa-bizud-gothic``), or ``family``
        has CFF outlines.
    """
    if family is None:
        return find_cjk_font(PRINT_FAMILIES, truetype=True)
    find_cjk_font((family,))  # registers it when matplotlib's cached list misses it
    if not _paper.truetype_outlines(family):
        msg = (f"{family} cannot be embedded in a PDF that every viewer draws: it has CFF "
               f"(PostScript) outlines or is not installed; use {PRINT_FAMILIES[0]} "
               f"(`apt-get install {PRINT_FONT_PACKAGE}`)")
        raise FontMissingError(msg)
    return family


def _installed_family(families: Sequence[str], *, truetype: bool = False) -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in families if family in names
                 and (not truetype or _paper.truetype_outlines(family))), None)


def _cjk_font_files() -> list[Path]:
    paths: list[Path] = []
    if shutil.which("fc-list"):
        try:
            listing = subprocess.run(["fc-list", ":lang=ja", "file"], capture_output=True,
                                     text=True, timeout=30, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            listing = ""
        paths += [Path(line.split(":")[0].strip()) for line in listing.splitlines() if line]
    for folder in (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype")):
        if folder.is_dir():
            paths += sorted(p for p in folder.rglob("*")
                            if any(tag in p.name for tag in ("CJK", "IPA", "BIZUD")))
    return [p for p in dict.fromkeys(paths) if p.suffix.lower() in (".ttf", ".otf", ".ttc")]



# -- inputs --------------------------------------------------------------------------------

# -- inputs --------------------------------------------------------------------------------

def _label(key: str, lang: str, **values: object) -> str:
    return LABELS[key][language_index(lang)].format(**values)


def key_figures(
    summary: Mapping[str, float | str], *, threshold_km: float = 2.0, lang: str = "ja",
    plain: bool = False,
) -> dict[str, str]:
    """Format the headline figures of a scenario from ``geo.scenarios.summary``.

    Parameters
    ----------
    summary
        City-wide figures (``people_farther``, ``beyond_<k>km_before`` / ``_after``,
        ``before_km``, ``after_km``, and ``beyond_<k>km_before_65plus`` / ``_after_65plus``
        when the study has the 2020 mesh's age shares).
    threshold_km
        Distance of the "people beyond" figures; ``compare`` must have been run with it.
    lang
        ``ja`` or ``en`` labels.
    plain
        Label the same values in plain words for residents (``plain_`` labels: no
        "mean distance", no "nearest counter").

    Returns
    -------
    dict
        Label -> formatted value, in display order: people whose counter got farther,
        people beyond ``threshold_km`` before -> after, the same for people aged 65+ (when
        the summary has them), mean distance before -> after.
    """
    def word(key: str, **values: object) -> str:
        return _label(f"plain_{key}" if plain else key, lang, **values)

    if "transit_after_min" in summary:
        return _transit_figures(summary, word, lang)
    label = f"{threshold_km:g}km"
    beyond_before = summary.get(f"beyond_{label}_before")
    beyond_after = summary.get(f"beyond_{label}_after")
    if beyond_before is None or beyond_after is None:
        msg = (f"the summary has no beyond_{label}_before/after figures; run compare() with "
               f"{threshold_km * 1000:g} m among its thresholds")
        raise ValueError(msg)
    people = _label("people", lang)
    km = f"{threshold_km:g}"
    figures = {
        word("farther"): f"{_people(summary['people_farther'])} {people}",
        word("beyond", km=km): f"{_people(beyond_before)} → {_people(beyond_after)} {people}",
    }
    elderly_before = summary.get(f"beyond_{label}_before_65plus")
    elderly_after = summary.get(f"beyond_{label}_after_65plus")
    if elderly_before is not None and elderly_after is not None:
        figures[word("beyond_65plus", km=km)] = \
            f"{_people(elderly_before)} → {_people(elderly_after)} {people}"
    figures[word("mean")] = f"{_km(summary['before_km'])} → {_km(summary['after_km'])} km"
    return figures


def _transit_figures(summary: Mapping[str, float | str], word: Callable[..., str], lang: str,
                     minutes: int = 45) -> dict[str, str]:
    """Headline figures of a transit study: minutes by bus, tram and on foot."""
    people = _label("people", lang)

    def change(before: str, after: str) -> str:
        return f"{_people(summary[before])} → {_people(summary[after])} {people}"

    beyond = f"transit_beyond_{minutes}min"
    figures = {
        word("farther"): f"{_people(summary['people_farther'])} {people}",
        word("beyond_min", minutes=minutes): change(f"{beyond}_before", f"{beyond}_after"),
    }
    if f"{beyond}_after_65plus" in summary:
        figures[word("beyond_min_65plus", minutes=minutes)] = change(
            f"{beyond}_before_65plus", f"{beyond}_after_65plus")
    before, after = (float(summary[f"transit_{when}_min"]) for when in ("before", "after"))
    figures[word("mean_min")] = f"{before:.0f} → {after:.0f} {_label('minutes', lang)}"
    return figures


def scenario_title(scenario: Scenario, presets: Mapping[str, Preset], lang: str = "ja",
                   custom: str | None = None) -> str:
    """The title of a scenario's briefing: a preset's name only while it is that preset.

    Parameters
    ----------
    scenario
        The scenario shown.
    presets
        ``geo.reorganisation.presets`` (or ``geo.study.options(...).presets``): key ->
        ``Preset`` with a ``scenario``.
    lang
        ``ja`` or ``en``.
    custom
        A title the planner typed; used as it is when not blank.

    Returns
    -------
    str
        ``custom``; else the preset's name (``PRESET_TITLES``) when ``scenario`` equals a
        preset's scenario; else the base set and the counts, e.g.
        ``現在の窓口：閉鎖 2 か所・コーナー化 1 か所``.
    """
    index = language_index(lang)
    if custom and custom.strip():
        return custom.strip()
    for key, preset in presets.items():
        if preset.question.scenario == scenario and key in PRESET_TITLES:
            return PRESET_TITLES[key][index]
    counts = _label("closed_count", lang, closed=len(scenario.closed),
                    downgraded=len(scenario.downgraded))
    return f"{BASE_TITLES[scenario.base][index]}{('：', ': ')[index]}{counts}"


def affected_zones(zone_table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` zones with the most people whose counter gets farther (then largest increase).

    Zones where nobody's counter gets farther are left out.

    Returns
    -------
    pandas.DataFrame
        ``zone_name, ward, population, people_farther``, then ``before_km, after_km,
        delta_km``, or ``transit_before_min, transit_after_min`` for a transit zone table.
    """
    before, after = travel_columns(zone_table)
    figures = [before, after] if in_minutes(zone_table) else [before, after, "delta_km"]
    increase = zone_table[after] - zone_table[before]
    hit = zone_table.assign(increase=increase).loc[zone_table["people_farther"] > 0]
    hit = hit.sort_values(["people_farther", "increase"], ascending=False).head(n)
    return hit[["zone_name", "ward", "population", "people_farther", *figures]] \
        .reset_index(drop=True)


def _people(value: float | str) -> str:
    number = float(value)
    return "—" if math.isnan(number) else f"{number:,.0f}"


def _km(value: float | str) -> str:
    number = float(value)
    return "—" if not math.isfinite(number) else f"{number:.2f}"


def mark_offices(offices: gpd.GeoDataFrame, scenario: Scenario) -> gpd.GeoDataFrame:
    """Return the offices of a scenario's base set with ``open`` and ``downgraded`` flags.

    Parameters
    ----------
    offices
        Office register (``geo.layers.load_offices``: ``office_id``, ``counter_fy2015``,
        ``counter_now``, ``geometry``).
    scenario
        A ``geo.scenarios.Scenario``: ``base``, ``closed``, ``downgraded``.
    """
    marked = office_status(offices, scenario)
    marked = marked[marked["in_base"]].copy()
    marked["open"] = marked["state"] != "closed"
    marked["downgraded"] = marked["state"] == "downgraded"
    return marked.reset_index(drop=True)


# -- the slide -----------------------------------------------------------------------------

def _draw_figures(fig: Figure, figures: Mapping[str, str], *, left: float, font: Font,
                  span: float = 0.6) -> None:
    drawer = renderer(fig)
    width_px = (0.985 - left) * fig.bbox.width
    items = list(figures.items())
    step = span / max(len(items), 3)
    for i, (label, value) in enumerate(items):
        top = 0.82 - i * step
        heading = fig.text(left, top, str(label), fontsize=14, color="#555555", va="top",
                           **font)
        _paper.fit_text(heading, drawer, width_px, smallest=SLIDE_SMALLEST_PT)
        shown = fig.text(left, top - 0.045, str(value), fontsize=30, weight="bold",
                         color="#111111", va="top", **font)
        _paper.fit_text(shown, drawer, width_px)


def _draw_notes(fig: Figure, notes: Sequence[str], *, left: float, font: Font) -> None:
    """Short lines in the right column between the key figures and the legend.

    The lines share the room left there (line height at most ``NOTE_STEP``, font 9 to
    12 pt); lines that would need a smaller font are left out (with a log message), and
    each line is shrunk to the column width down to 9 pt.
    """
    if not notes:
        return
    drawer = renderer(fig)
    height = fig.bbox.height
    above = min((t.get_window_extent(drawer).y0 for t in fig.texts
                 if t.get_position()[0] == left), default=0.6 * height)
    below = max((box.y1 for box in (lg.get_window_extent(drawer) for lg in fig.legends)
                 if box.x0 >= left * fig.bbox.width - 1), default=0.0)
    top, bottom = above / height - NOTE_GAP, below / height + NOTE_GAP
    page_pt = fig.get_figheight() * 72
    smallest_step = SLIDE_SMALLEST_PT / 0.7 / page_pt
    fitting = max(0, int((top - bottom) / smallest_step))
    if fitting < len(notes):
        logger.warning("briefing: room for %d of %d notes at %g pt", fitting, len(notes),
                       SLIDE_SMALLEST_PT)
        notes = notes[:fitting]
    if not notes:
        return
    step = min(NOTE_STEP, (top - bottom) / len(notes))
    size = max(SLIDE_SMALLEST_PT, min(12.0, 0.7 * step * page_pt))
    width_px = (0.985 - left) * fig.bbox.width
    for i, note in enumerate(notes):
        text = fig.text(left, top - i * step, str(note), fontsize=size, color="#222222",
                        va="top", **font)
        _paper.fit_text(text, drawer, width_px, smallest=SLIDE_SMALLEST_PT)


def build_briefing_figure(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame, *,
    title: str, figures: Mapping[str, str],
    sources: Sequence[str | BundleFile] = DEFAULT_SOURCES, subtitle: str | None = None,
    layout: str = "side-by-side", lang: str = "ja", font_family: str | None = None,
    notes: Sequence[str] = (),
) -> Figure:
    """Draw the briefing page on a new ``Figure`` (not registered with pyplot).

    Parameters
    ----------
    zones
        Zone polygons (school districts, small areas, wards) with ``before_km`` and
        ``after_km``, road distance to the nearest counter in km, NaN where none is
        reachable; a transit zone table is drawn in minutes by bus/tram and on foot
        (``geo.colours.zone_colouring``). Any CRS; drawn in EPSG:6670.
    wards
        Ward polygons (``ward`` column labels them when present).
    offices
        The base office set with an ``open`` flag (after the scenario); optional
        ``downgraded`` (bool), ``kind`` (``ward_office`` gets a square) and ``name_ja``
        (labels closed offices). See ``mark_offices``.
    title
        Scenario title, e.g. ``2015年 5 km ルール案：候補をすべて閉鎖``.
    figures
        Label -> formatted value, shown large on the right (see ``key_figures``).
    sources
        ``geo.layers.BUNDLE_FILES`` keys of the layers drawn; their attribution texts are
        printed at the foot of the page.
    subtitle
        Second line under the title (office set, measure, date...).
    layout
        ``side-by-side`` (before and after maps on one colour scale) or ``change`` (one map
        of the increase).
    lang
        ``ja`` or ``en`` for the page's own wording (headings, legend, colour bar).
    font_family
        Font for all text; default: ``find_cjk_font()`` (BIZ UDPゴシック when installed).
    notes
        Up to ``MAX_NOTES`` short lines printed under the key figures, e.g. where the
        closed counters' transactions go (``閉鎖により大江の約38,400件/年が中央区役所へ``).

    Returns
    -------
    matplotlib.figure.Figure
        16:9, ``PAGE_SIZE_IN`` inches, with an Agg canvas attached. No text is smaller
        than ``SLIDE_SMALLEST_PT``.

    Raises
    ------
    FontMissingError
        If no CJK font is installed.
    geo.errors.CRSError, geo.errors.LayerError
        If a layer has no CRS or lacks a column.
    """
    if layout not in ("side-by-side", "change"):
        msg = f"unknown layout {layout!r}; choose side-by-side or change"
        raise ValueError(msg)
    _label("before", lang)  # validates lang before any drawing
    zones = _paper.metric(zones, "zones", ["before_km", "after_km"])
    minutes = in_minutes(zones)
    offices = _paper.metric(offices, "offices", ["open"])
    wards = _paper.with_label_points(_paper.metric(wards, "wards", []), offices)
    font = page_font(font_family or find_cjk_font())

    fig = Figure(figsize=PAGE_SIZE_IN, facecolor="white")
    FigureCanvasAgg(fig)
    drawer = renderer(fig)
    heading = fig.text(0.02, 0.965, title, fontsize=26, weight="bold", va="top", **font)
    _paper.fit_text(heading, drawer, 0.96 * fig.bbox.width, smallest=18.0)
    if subtitle:
        fig.text(0.02, 0.895, subtitle, fontsize=14, color="#444444", va="top", **font)

    bounds = _paper.extent(zones, wards)
    word = _label("minutes", lang)
    if layout == "side-by-side":
        panels = [(_label("before", lang), "before", False), (_label("after", lang), "after", True)]
        boxes = [(0.01, 0.2, 0.345, 0.6), (0.36, 0.2, 0.345, 0.6)]
        legend_title = _label("minutes_bar" if minutes else "distance_bar", lang)
    else:
        panels = [(_label("change_min" if minutes else "change", lang), "change", True)]
        boxes = [(0.01, 0.2, 0.695, 0.6)]
        legend_title = _label("minutes_change_bar" if minutes else "change_bar", lang)
    unreachable = False
    for (panel, colour_by, after), box in zip(panels, boxes, strict=True):
        ax = fig.add_axes(box)
        values, scale = zone_colouring(zones, colour_by, minutes_word=word)
        array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        unreachable |= bool((~np.isfinite(array)).any())
        _paper.draw_map(ax, zones, array, wards, offices, bounds=bounds, scale=scale,
                        after=after, font=font)
        ax.set_title(panel, fontsize=18, weight="bold", **font)

    sources_text = fig.text(0.02, 0.018, sources_line(sources, lang=lang),
                            fontsize=SLIDE_SMALLEST_PT, color="#444444", va="bottom",
                            wrap=True, **font)
    # a long sources line wraps upwards: the legends start above it
    above_sources = sources_text.get_window_extent(drawer).y1 / fig.bbox.height
    legend_bottom = max(0.06, above_sources + 0.012)
    _paper.colour_legend(fig, scale, title=legend_title, unreachable=unreachable, lang=lang,
                         font=font, anchor=(0.02, legend_bottom), ncols=4)
    fig.legend(handles=_paper.office_handles(offices, lang=lang), loc="lower left",
               bbox_to_anchor=(0.72, legend_bottom), ncols=2 if lang == "ja" else 1,
               frameon=False, prop={"family": font["fontfamily"], "size": 11})
    _draw_figures(fig, figures, left=0.72, font=font, span=0.5 if notes else 0.6)
    if len(notes) > MAX_NOTES:
        logger.warning("briefing: %d notes, only the first %d fit", len(notes), MAX_NOTES)
    _draw_notes(fig, list(notes)[:MAX_NOTES], left=0.72, font=font)
    return fig


def render_briefing(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame, *,
    title: str, figures: Mapping[str, str], format: str = "png", dpi: int = 150,
    author: str | None = None, **options: Any,
) -> bytes:
    """Render the briefing page as PNG or PDF bytes.

    Parameters
    ----------
    zones, wards, offices, title, figures
        See ``build_briefing_figure``; further keyword ``options`` (``sources``,
        ``subtitle``, ``layout``, ``lang``, ``font_family``, ``notes``) are passed on to it.
    format
        ``png`` (raster, ``dpi`` dots per inch: 2000 x 1125 px at 150, 1920 x 1080 at 144)
        or ``pdf`` (one vector page, its font embedded as TrueType: see ``render_handout``).
    dpi
        Resolution of the PNG (and of hatching in the PDF).
    author
        The PDF's author (default ``DEFAULT_AUTHOR``).

    Returns
    -------
    bytes
        The file.

    Raises
    ------
    FontMissingError
        A PDF without a TrueType-outline Japanese font installed (or with a CFF-outline
        ``font_family``).
    """
    if format not in FORMATS:
        msg = f"unknown format {format!r}; choose png or pdf"
        raise ValueError(msg)
    if format == "pdf":
        options["font_family"] = print_font(options.get("font_family"))
    with _paper.printing():
        fig = build_briefing_figure(zones, wards, offices, title=title, figures=figures,
                                    **options)
        if format == "pdf":
            return _paper.pdf_bytes([fig], _pdf_info(title, options, author))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Title": title, "Software": None})
    return buffer.getvalue()


def _pdf_info(title: str, options: Mapping[str, Any], author: str | None) -> PdfInfo:
    lang = str(options.get("lang", "ja"))
    return PdfInfo(title=title, lang=lang,
                   author=author or DEFAULT_AUTHOR[language_index(lang)],
                   subject=str(options.get("subtitle") or ""))


# -- the A4 handout ------------------------------------------------------------------------

def build_handout_pages(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame, *,
    title: str, figures: Mapping[str, str], affected: pd.DataFrame,
    assumptions: Sequence[str] = (), sources: Sequence[str | BundleFile] = DEFAULT_SOURCES,
    subtitle: str | None = None, lang: str = "ja", font_family: str | None = None,
    zone_kind: str = "district",
) -> list[Figure]:
    """Draw the A4 portrait handout: title, map, legends, key figures, then the most
    affected zones and the assumptions, with the sources at the foot of every page.

    Sizes are ``HANDOUT_SIZES`` (key figures 12 / 14 pt, every other text at least 9 pt,
    the sources 8 pt). Long lines wrap instead of shrinking. When the table and the
    assumptions do not fit under a map of ``HANDOUT_MAP_PT[0]`` points, they go to a second
    page and the first keeps the map (up to ``HANDOUT_MAP_PT[1]``) and the figures.

    Parameters
    ----------
    zones
        Zone polygons with ``before_km`` and ``after_km`` (road distance to the nearest
        counter, NaN where none is reachable), drawn after the scenario; in minutes for a
        transit zone table. Any CRS; drawn in EPSG:6670.
    wards, offices, title, subtitle, sources, lang, font_family
        As for ``build_briefing_figure`` (``font_family`` default: ``find_cjk_font()``).
    figures
        Label -> formatted value (``key_figures``).
    affected
        The most affected zones (``affected_zones``), drawn as a table with the workbook's
        headings (``geo.labels.labelled_table``).
    assumptions
        Short lines (walking speed, store share, what "district" means...).
    zone_kind
        ``district``, ``small-area`` or ``ward``: names the zones in the table's heading.

    Returns
    -------
    list of matplotlib.figure.Figure
        One or two pages of ``A4_PORTRAIT_IN`` inches, each with an Agg canvas attached.
    """
    _label("before", lang)
    zones = _paper.metric(zones, "zones", ["before_km", "after_km"])
    offices = _paper.metric(offices, "offices", ["open"])
    wards = _paper.with_label_points(_paper.metric(wards, "wards", []), offices)
    size = HANDOUT_SIZES
    page = Page.new(page_font(font_family or find_cjk_font()))
    _page_heading(page, title, subtitle)
    after, scale = zone_colouring(zones, "after", minutes_word=_label("minutes", lang))
    values = pd.to_numeric(after, errors="coerce").to_numpy(dtype=float)
    bar = "minutes_bar" if in_minutes(zones) else "distance_bar"
    legends = _map_legends(page, scale, _paper.office_handles(offices, lang=lang),
                           title=_label(bar, lang), lang=lang,
                           unreachable=bool((~np.isfinite(values)).any()))
    rows = list(figures.items())
    figures_height = (page.line_height(size["heading"]) + 4
                      + _paper.figure_rows(page, rows, measure_only=True))
    table = _table_layout(page, affected, lang=lang)
    rest = (page.line_height(size["heading"]) + 8 + table.height
            + _section_height(page, assumptions))
    line = sources_line(sources, lang=lang)
    page.foot(line, size=size["sources"])
    map_height, one_page = _paper.plan_map(page, reserved=legends.height + figures_height + 8,
                                           rest=rest, limits=HANDOUT_MAP_PT)
    ax = page.fig.add_axes(page.box(map_height))
    _paper.draw_map(ax, zones, values, wards, offices, bounds=_paper.extent(zones, wards),
                    scale=scale, after=True, font=page.font)
    legends.place(page)
    page.write(_label("key_figures", lang), size=size["heading"], weight="bold", before=8)
    page.skip(4)
    _paper.figure_rows(page, rows, label_size=size["figure_label"],
                       value_size=size["figure_value"])
    pages = [page]
    if not one_page:
        page = _paper.next_page(page, title + _label("continued", lang), size=size["heading"],
                                foot=line, foot_size=size["sources"])
        pages.append(page)
    page.write(_label(f"affected_{zone_kind}", lang), size=size["heading"], weight="bold",
               before=8)
    page.skip(4)
    _paper.draw_table(page, table)
    _section(page, _label("assumptions", lang), assumptions)
    return [p.fig for p in pages]


def _page_heading(page: Page, title: str, subtitle: str | None) -> None:
    """The title (wrapped, never shrunk) and the subtitle under it."""
    page.write(title, size=HANDOUT_SIZES["title"], weight="bold")
    if subtitle:
        page.write(subtitle, size=HANDOUT_SIZES["subtitle"], colour=_paper.GREY_INK)
    page.skip(6)


def _map_legends(page: Page, scale: Any, handles: Sequence[Any], *, title: str, lang: str,
                 unreachable: bool) -> _paper.MapLegends:
    size = HANDOUT_SIZES["legend"]
    colour = _paper.colour_legend(page.fig, scale, title=title, unreachable=unreachable,
                                  lang=lang, font=page.font, anchor=(0, 0), ncols=3,
                                  size=size, loc="upper left")
    symbols = page.fig.legend(handles=list(handles), loc="upper left", bbox_to_anchor=(0, 0),
                              ncols=2, frameon=False,
                              prop={"family": page.font["fontfamily"], "size": size})
    return _paper.MapLegends(page, colour, symbols)


def _section_height(page: Page, lines: Sequence[str]) -> float:
    if not lines:
        return 0.0
    body = HANDOUT_SIZES["body"]
    wrapped = sum(len(page.lines(str(line), size=body, width=page.text_width - 14))
                  for line in lines)
    return page.line_height(HANDOUT_SIZES["heading"]) + 8 + wrapped * page.line_height(body)


def _section(page: Page, heading: str, lines: Sequence[str]) -> None:
    """A bold heading and its lines under it, each wrapped to the page."""
    if not lines:
        return
    page.write(heading, size=HANDOUT_SIZES["heading"], weight="bold", before=8)
    for line in lines:
        page.write(str(line), size=HANDOUT_SIZES["body"], indent=14)


def _table_layout(page: Page, table: pd.DataFrame, *, lang: str) -> _paper.TableLayout:
    """The affected zones with the workbook's headings and rounding (``なし`` when empty)."""
    if table.empty:
        return _paper.layout_table(page, [_label("none", lang)], [], numeric=[False],
                                   size=HANDOUT_SIZES["table"])
    shown = labelled_table(table, lang=lang)
    units = [COLUMN_LABELS[c].unit for c in table.columns]
    cells = [[_cell(v, unit) for v, unit in zip(row, units, strict=True)]
             for row in shown.itertuples(index=False)]
    return _paper.layout_table(page, list(shown.columns), cells,
                               numeric=[unit in DECIMALS for unit in units],
                               size=HANDOUT_SIZES["table"])


def _cell(value: object, unit: str) -> str:
    if unit not in DECIMALS:
        return str(value)
    if value is pd.NA or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):,.{DECIMALS[unit]}f}"


def render_handout(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame, *,
    title: str, figures: Mapping[str, str], affected: pd.DataFrame,
    author: str | None = None, **options: Any,
) -> bytes:
    """Render the A4 portrait handout as a PDF of one or two pages
    (``build_handout_pages``).

    Further keyword ``options`` (``assumptions``, ``sources``, ``subtitle``, ``lang``,
    ``font_family``, ``zone_kind``) are passed on. The font is embedded as a TrueType
    (CID) subset, so MuPDF, poppler and PDFium draw it and the text stays searchable; the
    PDF carries the title, ``/Lang``, ``author`` (default ``DEFAULT_AUTHOR``), the subtitle
    as subject, producer and creation date.

    Raises
    ------
    FontMissingError
        No TrueType-outline Japanese font is installed (or ``font_family`` has CFF
        outlines).
    """
    options["font_family"] = print_font(options.get("font_family"))
    with _paper.printing():
        pages = build_handout_pages(zones, wards, offices, title=title, figures=figures,
                                    affected=affected, **options)
        return _paper.pdf_bytes(pages, _pdf_info(title, options, author))
