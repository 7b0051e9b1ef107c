"""Render a static scenario briefing (PNG or PDF) for a projector or a printed handout.

One 16:9 page: the scenario title, before / after maps of the zones (or one map of the
change) coloured by road distance to the nearest counter on a shared scale, ward
boundaries, offices with open / downgraded / closed symbols, three large key figures and
a data-sources line. Japanese text needs a CJK font (Debian ``fonts-noto-cjk``).

Only ``matplotlib.figure.Figure`` and the Agg / PDF canvases are used: no pyplot, no
figure registered anywhere, so rendering from a web server thread leaves no state behind.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib import font_manager, patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .colours import (
    UNREACHABLE_COLOUR,
    ColourScale,
    in_minutes,
    travel_columns,
    zone_colouring,
)
from .errors import CRSError, FontMissingError, LayerError
from .io import (
    COLUMN_LABELS,
    DECIMALS,
    label_points,
    labelled_table,
    language_index,
    sources_line,
)
from .layers import METRIC_CRS, BundleFile
from .scenarios import office_status

if TYPE_CHECKING:
    from .reorganisation import Preset
    from .scenarios import Scenario


class _Font(TypedDict):
    """Text keywords shared by every label: the CJK family, then a Latin fallback."""

    fontfamily: list[str]

logger = logging.getLogger(__name__)

CJK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "Source Han Sans",
                "IPAexGothic", "IPAGothic", "Noto Sans CJK SC", "Noto Sans CJK TC")
"""Font families tried in order for Japanese text (the first is Debian fonts-noto-cjk)."""
DEFAULT_SOURCES = ("wards", "small_areas", "attendance_zones", "offices",
                   "osm_city_drive_edges")
"""Bundle layers behind a school-district briefing: shapes, people, offices, road distances."""
PAGE_SIZE_IN = (40 / 3, 7.5)
"""16:9 widescreen slide, 13.33 x 7.5 inches (2000 x 1125 px at 150 dpi)."""
A4_PORTRAIT_IN = (210 / 25.4, 297 / 25.4)
"""The handout page, A4 portrait (595 x 842 pt)."""
MAX_HANDOUT_LINES = 4
"""Key figures and assumptions beyond this many each are left out of the handout."""
NOTE_STEP = 0.034
"""Largest line height of the notes under the key figures (fraction of the page height)."""
NOTE_GAP = 0.012
MAX_NOTES = 5
"""Notes beyond this many would run into the legend; they are left out (with a log message)."""
FORMATS = ("png", "pdf")
LABELS: dict[str, tuple[str, str]] = {
    "farther": ("最寄り窓口が遠くなる人", "People whose nearest counter gets farther"),
    "beyond": ("{km} km より遠い人", "People beyond {km} km"),
    "beyond_65plus": ("{km} km より遠い65歳以上", "Aged 65+ beyond {km} km"),
    "mean": ("平均距離", "Mean distance"),
    "beyond_min": ("バス・徒歩で{minutes}分超の人", "More than {minutes} min by bus and on foot"),
    "beyond_min_65plus": ("バス・徒歩で{minutes}分超の65歳以上",
                          "Aged 65+ more than {minutes} min by bus and on foot"),
    "mean_min": ("平均所要時間（バス・電車・徒歩）", "Mean time by bus/tram and on foot"),
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
    "ward_office": ("区役所", "Ward office"),
    "branch": ("出張所など", "Branch office, corner"),
    "downgraded": ("サービスコーナー化", "Downgraded to service corner"),
    "closed": ("廃止", "Closed"),
    "ward_boundary": ("区境", "Ward boundary"),
    "unreachable": ("到達できる窓口なし", "No counter reachable"),
    "key_figures": ("主な数値", "Key figures"),
    "affected_district": ("影響の大きい校区", "Most affected school districts"),
    "affected_small-area": ("影響の大きい小地域", "Most affected small areas"),
    "affected_ward": ("影響の大きい区", "Most affected wards"),
    "assumptions": ("前提", "Assumptions"),
    "none": ("なし", "none"),
    "closed_count": ("閉鎖 {closed} か所・コーナー化 {downgraded} か所",
                     "{closed} closed, {downgraded} downgraded"),
}
"""Page wording, Japanese and English (``lang``); the screen uses the same words."""
PRESET_TITLES: dict[str, tuple[str, str]] = {
    "fy2015": ("2015年度の窓口（19か所＋分室・コーナー）", "FY2015 counters (19 + annex, corner)"),
    "plan2015": ("2015年の再編計画（候補8か所を閉鎖）", "2015 plan (its 8 candidates closed)"),
    "reorganisation": ("実際の再編：2015年度→現在", "What the reorganisation did: FY2015 -> today"),
    "now": ("現在の窓口", "Today's counters"),
}
"""Names of the ``geo.reorganisation`` presets, as the screen shows them."""
BASE_TITLES = {"fy2015": ("2015年度の窓口", "FY2015 counters"),
               "now": ("現在の窓口", "Today's counters")}
_OPEN_COLOUR = "#1f3a93"
_CLOSED_COLOUR = "#d62728"
_OFFICE_SUFFIXES = ("市民サービスコーナー", "サービスコーナー", "総合出張所", "出張所", "分室",
                    " Citizen Service Corner", " General Branch Office", " Branch Office")
_LABEL_OFFSETS = ((6, 5, "left", "bottom"), (6, -5, "left", "top"), (-6, 5, "right", "bottom"),
                  (-6, -5, "right", "top"), (0, 9, "center", "bottom"), (0, -9, "center", "top"))


# -- fonts ---------------------------------------------------------------------------------

def find_cjk_font(families: Sequence[str] = CJK_FAMILIES) -> str:
    """Return the family name of an installed font that draws Japanese text.

    Looks through matplotlib's font list first; if no family matches (matplotlib caches its
    list and misses fonts installed later), registers the files ``fc-list :lang=ja`` and
    the usual Debian folders report, then looks again.

    Parameters
    ----------
    families
        Family names in order of preference.

    Raises
    ------
    FontMissingError
        If none is installed, with the package to install.
    """
    found = _installed_family(families)
    if found is None:
        for path in _cjk_font_files():
            try:
                font_manager.fontManager.addfont(str(path))
            except (OSError, RuntimeError, ValueError) as e:  # unreadable font file
                logger.debug("cannot register font %s: %s", path, e)
        found = _installed_family(families)
    if found is None:
        msg = (f"no CJK font found for Japanese text (tried {', '.join(families)}); install "
               f"one, e.g. `apt-get install fonts-noto-cjk` on Debian/Ubuntu")
        raise FontMissingError(msg)
    return found


def _installed_family(families: Sequence[str]) -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in families if family in names), None)


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
            paths += sorted(p for p in folder.rglob("*") if "CJK" in p.name or "IPA" in p.name)
    return [p for p in dict.fromkeys(paths) if p.suffix.lower() in (".ttf", ".otf", ".ttc")]


# -- inputs --------------------------------------------------------------------------------

def _label(key: str, lang: str, **values: object) -> str:
    return LABELS[key][language_index(lang)].format(**values)


def key_figures(
    summary: Mapping[str, float | str], *, threshold_km: float = 2.0, lang: str = "ja",
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

    Returns
    -------
    dict
        Label -> formatted value, in display order: people whose counter got farther,
        people beyond ``threshold_km`` before -> after, the same for people aged 65+ (when
        the summary has them), mean distance before -> after.
    """
    if "transit_after_min" in summary:
        return _transit_figures(summary, lang)
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
        _label("farther", lang): f"{_people(summary['people_farther'])} {people}",
        _label("beyond", lang, km=km):
            f"{_people(beyond_before)} → {_people(beyond_after)} {people}",
    }
    elderly_before = summary.get(f"beyond_{label}_before_65plus")
    elderly_after = summary.get(f"beyond_{label}_after_65plus")
    if elderly_before is not None and elderly_after is not None:
        figures[_label("beyond_65plus", lang, km=km)] = \
            f"{_people(elderly_before)} → {_people(elderly_after)} {people}"
    figures[_label("mean", lang)] = f"{_km(summary['before_km'])} → {_km(summary['after_km'])} km"
    return figures


def _transit_figures(summary: Mapping[str, float | str], lang: str,
                     minutes: int = 45) -> dict[str, str]:
    """Headline figures of a transit study: minutes by bus, tram and on foot."""
    people = _label("people", lang)

    def change(before: str, after: str) -> str:
        return f"{_people(summary[before])} → {_people(summary[after])} {people}"

    beyond = f"transit_beyond_{minutes}min"
    figures = {
        _label("farther", lang): f"{_people(summary['people_farther'])} {people}",
        _label("beyond_min", lang, minutes=minutes): change(f"{beyond}_before",
                                                            f"{beyond}_after"),
    }
    if f"{beyond}_after_65plus" in summary:
        figures[_label("beyond_min_65plus", lang, minutes=minutes)] = change(
            f"{beyond}_before_65plus", f"{beyond}_after_65plus")
    before, after = (float(summary[f"transit_{when}_min"]) for when in ("before", "after"))
    figures[_label("mean_min", lang)] = f"{before:.0f} → {after:.0f} {_label('minutes', lang)}"
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
        if preset.scenario == scenario and key in PRESET_TITLES:
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


def _metric(frame: gpd.GeoDataFrame, name: str, required: Iterable[str]) -> gpd.GeoDataFrame:
    if frame.crs is None:
        msg = f"the {name} layer has no CRS; set it (EPSG:6670) instead of letting it be guessed"
        raise CRSError(msg)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        msg = f"the {name} layer lacks column(s) {', '.join(missing)}"
        raise LayerError(msg)
    return frame.to_crs(METRIC_CRS)


# -- drawing -------------------------------------------------------------------------------

def _path(geometry: shapely.Geometry) -> MplPath:
    """Matplotlib path of a (multi)polygon, holes included (rings oriented for nonzero fill)."""
    vertices, codes = [], []
    for part in getattr(geometry, "geoms", [geometry]):
        if part.geom_type != "Polygon" or part.is_empty:
            continue
        polygon = shapely.geometry.polygon.orient(part, 1.0)
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.asarray(ring.coords)[:, :2]
            vertices.append(xy)
            codes.append([MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2)
                         + [MplPath.CLOSEPOLY])
    if not vertices:
        return MplPath(np.empty((0, 2)))
    return MplPath(np.concatenate(vertices), np.concatenate(codes))


def _polygons(ax: Axes, geometries: Iterable[shapely.Geometry], **style: Any) -> PathCollection:
    collection = PathCollection([_path(g) for g in geometries], **style)
    ax.add_collection(collection)
    return collection


def _draw_map(ax: Axes, zones: gpd.GeoDataFrame, values: np.ndarray, wards: gpd.GeoDataFrame,
              offices: gpd.GeoDataFrame, *, extent: tuple[float, float, float, float],
              scale: ColourScale, after: bool, font: _Font) -> None:
    xmin, ymin, xmax, ymax = extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.apply_aspect()  # final position now, so labels can be measured on the page
    colours = [scale.colour(float(v)) for v in values]
    _polygons(ax, zones.geometry, facecolors=colours, edgecolors="white", linewidths=0.4)
    _polygons(ax, wards.geometry, facecolors="none", edgecolors="#222222", linewidths=1.6)
    if "label_point" in wards.columns:
        _draw_ward_labels(ax, wards, font=font)
    _draw_offices(ax, offices, after=after, font=font)


def _colour_legend(fig: Figure, scale: ColourScale, *, title: str, unreachable: bool,
                   lang: str, font: _Font, anchor: tuple[float, float], ncols: int) -> None:
    """The zone colours as legend rows, the same classes as the dashboard's legend."""
    rows = scale.classes() + ([(UNREACHABLE_COLOUR, _label("unreachable", lang))]
                              if unreachable else [])
    handles = [Patch(facecolor=colour, edgecolor="#888888", label=label)
               for colour, label in rows]
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=anchor, ncols=ncols,
               frameon=False, title=title, alignment="left",
               prop={"family": font["fontfamily"], "size": 10},
               title_fontproperties={"family": font["fontfamily"], "size": 11})


def _with_label_points(wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame
                       ) -> gpd.GeoDataFrame:
    """The wards with a ``label_point`` clear of the office symbols (``geo.io.label_points``),
    placed once for every map of a page; unchanged when they have no ``ward`` names."""
    if "ward" not in wards.columns:
        return wards
    return wards.assign(label_point=label_points(wards[["ward", "geometry"]], offices).geometry)


def _draw_ward_labels(ax: Axes, wards: gpd.GeoDataFrame, *, font: _Font) -> None:
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for point, name in zip(wards["label_point"], wards["ward"], strict=True):
        ax.text(point.x, point.y, str(name), ha="center", va="center", fontsize=11,
                color="#333333", path_effects=halo, zorder=3, **font)


def short_office_name(name: str) -> str:
    """Drop the office-type suffix for map labels: 大江出張所 -> 大江, Oe Branch Office -> Oe
    (the symbol tells the type)."""
    for suffix in _OFFICE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _place_labels(ax: Axes, points: np.ndarray, labels: Sequence[str], *, font: _Font,
                  **style: Any) -> None:
    """Put each label at the first of a few offsets around its point that overlaps nothing."""
    renderer = _renderer(ax.figure)
    placed = [t.get_window_extent(renderer) for t in ax.texts]  # e.g. ward names
    for (x, y), label in zip(points, labels, strict=True):
        best: tuple[int, Text, Bbox] | None = None
        for dx, dy, ha, va in _LABEL_OFFSETS:
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va, **style, **font)
            box = text.get_window_extent(renderer)
            clashes = sum(box.overlaps(other) for other in placed)
            if best is None or clashes < best[0]:
                if best is not None:
                    best[1].remove()
                best = (clashes, text, box)
            else:
                text.remove()
            if clashes == 0:
                break
        if best is not None:  # None only if there were no offsets to try
            placed.append(best[2])


def _draw_offices(ax: Axes, offices: gpd.GeoDataFrame, *, after: bool, font: _Font) -> None:
    if offices.empty:
        return
    is_open = offices["open"].astype(bool).to_numpy() if after else np.ones(len(offices), bool)
    downgraded = (offices["downgraded"].astype(bool).to_numpy()
                  if after and "downgraded" in offices.columns else np.zeros(len(offices), bool))
    ward_office = (offices["kind"] == "ward_office").to_numpy() if "kind" in offices.columns \
        else np.zeros(len(offices), bool)
    x, y = offices.geometry.x.to_numpy(), offices.geometry.y.to_numpy()
    for marker, size, rows in (("s", 110, ward_office), ("o", 60, ~ward_office)):
        full = rows & is_open & ~downgraded
        ax.scatter(x[full], y[full], s=size, marker=marker, c=_OPEN_COLOUR, edgecolors="white",
                   linewidths=1.2, zorder=4)
        hollow = rows & is_open & downgraded
        ax.scatter(x[hollow], y[hollow], s=size, marker=marker, c="white",
                   edgecolors=_OPEN_COLOUR, linewidths=2.0, zorder=4)
    closed = ~is_open
    ax.scatter(x[closed], y[closed], s=120, marker="X", c=_CLOSED_COLOUR, edgecolors="white",
               linewidths=1.0, zorder=5)
    if after and "name_ja" in offices.columns and closed.any():
        halo = [patheffects.withStroke(linewidth=3, foreground="white")]
        names = [short_office_name(str(n)) for n in offices["name_ja"].to_numpy()[closed]]
        _place_labels(ax, np.column_stack([x[closed], y[closed]]), names, font=font,
                      fontsize=10, color=_CLOSED_COLOUR, path_effects=halo, zorder=6)


def _legend_handles(offices: gpd.GeoDataFrame, *, lang: str) -> list[Artist]:
    def marker(symbol: str, label: str, face: str, edge: str, size: float = 10) -> Line2D:
        return Line2D([], [], linestyle="none", marker=symbol, markersize=size, label=label,
                      markerfacecolor=face, markeredgecolor=edge, markeredgewidth=1.5)

    handles: list[Artist] = [marker("s", _label("ward_office", lang), _OPEN_COLOUR, "white"),
               marker("o", _label("branch", lang), _OPEN_COLOUR, "white")]
    if "downgraded" in offices.columns and offices["downgraded"].astype(bool).any():
        handles.append(marker("o", _label("downgraded", lang), "white", _OPEN_COLOUR))
    if (~offices["open"].astype(bool)).any():
        handles.append(marker("X", _label("closed", lang), _CLOSED_COLOUR, "white", 11))
    handles.append(Line2D([], [], color="#222222", linewidth=1.6,
                          label=_label("ward_boundary", lang)))
    return handles


def _renderer(figure: Figure | SubFigure) -> RendererAgg:
    """The renderer of the Agg canvas the briefing is drawn on, to measure texts."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        msg = f"the briefing is measured on an Agg canvas, not {type(canvas).__name__}"
        raise TypeError(msg)
    # matplotlib's stub leaves FigureCanvasAgg.get_renderer unannotated
    renderer: RendererAgg = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return renderer


def _fit_text(text: Text, renderer: RendererAgg, width_px: float, *,
              smallest: float = 14.0) -> None:
    """Shrink a text until it fits ``width_px`` (figure pixels)."""
    size = float(text.get_fontsize())  # always set in points here, never as "large"
    while text.get_window_extent(renderer).width > width_px and size > smallest:
        size -= 1
        text.set_fontsize(size)


def _draw_figures(fig: Figure, figures: Mapping[str, str], *, left: float, font: _Font,
                  span: float = 0.6) -> None:
    renderer = _renderer(fig)
    width_px = (0.985 - left) * fig.bbox.width
    items = list(figures.items())
    step = span / max(len(items), 3)
    for i, (label, value) in enumerate(items):
        top = 0.82 - i * step
        heading = fig.text(left, top, str(label), fontsize=14, color="#555555", va="top",
                           **font)
        _fit_text(heading, renderer, width_px, smallest=9.0)
        shown = fig.text(left, top - 0.045, str(value), fontsize=30, weight="bold",
                         color="#111111", va="top", **font)
        _fit_text(shown, renderer, width_px)


def _draw_notes(fig: Figure, notes: Sequence[str], *, left: float, font: _Font) -> None:
    """Short lines in the right column between the key figures and the legend.

    The lines share the room left there (line height at most ``NOTE_STEP``, font at most
    12 pt), and each is shrunk to the column width.
    """
    if not notes:
        return
    renderer = _renderer(fig)
    height = fig.bbox.height
    above = min((t.get_window_extent(renderer).y0 for t in fig.texts
                 if t.get_position()[0] == left), default=0.6 * height)
    below = max((box.y1 for box in (lg.get_window_extent(renderer) for lg in fig.legends)
                 if box.x0 >= left * fig.bbox.width - 1), default=0.0)
    top, bottom = above / height - NOTE_GAP, below / height + NOTE_GAP
    step = min(NOTE_STEP, (top - bottom) / len(notes))
    size = min(12.0, 0.7 * step * fig.get_figheight() * 72)
    width_px = (0.985 - left) * fig.bbox.width
    for i, note in enumerate(notes):
        text = fig.text(left, top - i * step, str(note), fontsize=size, color="#222222",
                        va="top", **font)
        _fit_text(text, renderer, width_px, smallest=min(size, 7.0))


def _extent(zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame
            ) -> tuple[float, float, float, float]:
    """The whole city with a 2 % margin: every zone and ward, north of 北区 included."""
    bounds = np.vstack([zones.total_bounds, wards.total_bounds]) if len(wards) \
        else zones.total_bounds[None, :]
    xmin, ymin = bounds[:, :2].min(axis=0)
    xmax, ymax = bounds[:, 2:].max(axis=0)
    pad = 0.02 * max(xmax - xmin, ymax - ymin, 1.0)
    return (float(xmin - pad), float(ymin - pad), float(xmax + pad), float(ymax + pad))


# -- the page ------------------------------------------------------------------------------

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
        Scenario title, e.g. ``2015年 5 km ルール案：候補をすべて廃止``.
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
        Font for all text; default: ``find_cjk_font()``.
    notes
        Up to ``MAX_NOTES`` short lines printed under the key figures, e.g. where the
        closed counters' transactions go (``閉鎖により大江の約38,400件/年が中央区役所へ``).

    Returns
    -------
    matplotlib.figure.Figure
        16:9, ``PAGE_SIZE_IN`` inches, with an Agg canvas attached.

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
    zones = _metric(zones, "zones", ["before_km", "after_km"])
    minutes = in_minutes(zones)
    offices = _metric(offices, "offices", ["open"])
    wards = _with_label_points(_metric(wards, "wards", []), offices)
    font = _Font(fontfamily=[font_family or find_cjk_font(), "DejaVu Sans"])

    fig = Figure(figsize=PAGE_SIZE_IN, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(0.02, 0.965, title, fontsize=26, weight="bold", va="top", **font)
    if subtitle:
        fig.text(0.02, 0.895, subtitle, fontsize=14, color="#444444", va="top", **font)

    extent = _extent(zones, wards)
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
    for (heading, colour_by, after), box in zip(panels, boxes, strict=True):
        ax = fig.add_axes(box)
        values, scale = zone_colouring(zones, colour_by, minutes_word=word)
        array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        unreachable |= bool((~np.isfinite(array)).any())
        _draw_map(ax, zones, array, wards, offices, extent=extent, scale=scale, after=after,
                  font=font)
        ax.set_title(heading, fontsize=18, weight="bold", **font)

    sources_text = fig.text(0.02, 0.018, sources_line(sources, lang=lang), fontsize=9,
                            color="#444444", va="bottom", wrap=True, **font)
    # a long sources line wraps upwards: the legends start above it
    above_sources = sources_text.get_window_extent(_renderer(fig)).y1 / fig.bbox.height
    legend_bottom = max(0.06, above_sources + 0.012)
    _colour_legend(fig, scale, title=legend_title, unreachable=unreachable, lang=lang,
                   font=font, anchor=(0.02, legend_bottom), ncols=4)
    fig.legend(handles=_legend_handles(offices, lang=lang), loc="lower left",
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
    **options: Any,
) -> bytes:
    """Render the briefing page as PNG or PDF bytes.

    Parameters
    ----------
    zones, wards, offices, title, figures
        See ``build_briefing_figure``; further keyword ``options`` (``sources``,
        ``subtitle``, ``layout``, ``lang``, ``font_family``, ``notes``) are passed on to it.
    format
        ``png`` (raster, ``dpi`` dots per inch: 2000 x 1125 px at 150) or ``pdf`` (one
        vector page with the CJK font embedded as a subset).
    dpi
        Resolution of the PNG (and of hatching in the PDF).

    Returns
    -------
    bytes
        The file.
    """
    if format not in FORMATS:
        msg = f"unknown format {format!r}; choose png or pdf"
        raise ValueError(msg)
    buffer = io.BytesIO()
    metadata = {"Title": title} if format == "pdf" else {"Title": title, "Software": None}
    # TrueType/CID fonts: text stays searchable. No mathtext: a title or office name
    # holding "$" is printed as typed.
    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False}):
        fig = build_briefing_figure(zones, wards, offices, title=title, figures=figures,
                                    **options)
        fig.savefig(buffer, format=format, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


# -- the A4 handout ------------------------------------------------------------------------

def build_handout_figure(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame, *,
    title: str, figures: Mapping[str, str], affected: pd.DataFrame,
    assumptions: Sequence[str] = (), sources: Sequence[str | BundleFile] = DEFAULT_SOURCES,
    subtitle: str | None = None, lang: str = "ja", font_family: str | None = None,
    zone_kind: str = "district",
) -> Figure:
    """Draw the A4 portrait handout on a new ``Figure``: map, figures, table, assumptions.

    Parameters
    ----------
    zones
        Zone polygons with ``before_km`` and ``after_km`` (road distance to the nearest
        counter, NaN where none is reachable), drawn after the scenario; in minutes for a
        transit zone table. Any CRS; drawn in EPSG:6670.
    wards, offices, title, subtitle, sources, lang, font_family
        As for ``build_briefing_figure``.
    figures
        Label -> formatted value (``key_figures``); the first ``MAX_HANDOUT_LINES``.
    affected
        The most affected zones (``affected_zones``), drawn as a table with the workbook's
        headings (``geo.io.labelled_table``).
    assumptions
        Short lines (walking speed, store share, what "district" means...); the first
        ``MAX_HANDOUT_LINES``.
    zone_kind
        ``district``, ``small-area`` or ``ward``: names the zones in the table's heading.

    Returns
    -------
    matplotlib.figure.Figure
        ``A4_PORTRAIT_IN`` inches, with an Agg canvas attached.
    """
    _label("before", lang)
    zones = _metric(zones, "zones", ["before_km", "after_km"])
    offices = _metric(offices, "offices", ["open"])
    wards = _with_label_points(_metric(wards, "wards", []), offices)
    font = _Font(fontfamily=[font_family or find_cjk_font(), "DejaVu Sans"])
    fig = Figure(figsize=A4_PORTRAIT_IN, facecolor="white")
    FigureCanvasAgg(fig)
    renderer = _renderer(fig)
    heading = fig.text(0.05, 0.97, title, fontsize=18, weight="bold", va="top", **font)
    _fit_text(heading, renderer, 0.9 * fig.bbox.width, smallest=10.0)
    if subtitle:
        fig.text(0.05, 0.94, subtitle, fontsize=10, color="#444444", va="top", **font)

    ax = fig.add_axes((0.04, 0.56, 0.92, 0.36))
    after, scale = zone_colouring(zones, "after", minutes_word=_label("minutes", lang))
    values = pd.to_numeric(after, errors="coerce").to_numpy(dtype=float)
    _draw_map(ax, zones, values, wards, offices, extent=_extent(zones, wards),
              scale=scale, after=True, font=font)
    bar = "minutes_bar" if in_minutes(zones) else "distance_bar"
    _colour_legend(fig, scale, title=_label(bar, lang),
                   unreachable=bool((~np.isfinite(values)).any()), lang=lang, font=font,
                   anchor=(0.04, 0.485), ncols=4)
    fig.legend(handles=_legend_handles(offices, lang=lang), loc="lower left",
               bbox_to_anchor=(0.62, 0.485), ncols=2, frameon=False,
               prop={"family": font["fontfamily"], "size": 8})

    _section(fig, _label("key_figures", lang), [f"{label}：{value}" if lang == "ja"
                                                 else f"{label}: {value}"
                                                 for label, value in figures.items()],
             top=0.475, font=font)
    fig.text(0.05, 0.36, _label(f"affected_{zone_kind}", lang), fontsize=12, weight="bold",
             va="top", **font)
    _draw_table(fig, affected, box=(0.05, 0.17, 0.9, 0.17), lang=lang, font=font)
    _section(fig, _label("assumptions", lang), list(assumptions), top=0.155, font=font)
    fig.text(0.05, 0.015, sources_line(sources, lang=lang), fontsize=7, color="#444444",
             va="bottom", wrap=True, **font)
    return fig


def _section(fig: Figure, heading: str, lines: Sequence[str], *, top: float,
             font: _Font) -> None:
    """A bold heading and up to ``MAX_HANDOUT_LINES`` lines under it, each fitted to the page."""
    if not lines:
        return
    if len(lines) > MAX_HANDOUT_LINES:
        logger.warning("handout: %d lines under %s, only the first %d fit", len(lines), heading,
                       MAX_HANDOUT_LINES)
    renderer = _renderer(fig)
    fig.text(0.05, top, heading, fontsize=12, weight="bold", va="top", **font)
    for i, line in enumerate(lines[:MAX_HANDOUT_LINES], start=1):
        text = fig.text(0.07, top - 0.005 - i * 0.019, str(line), fontsize=10, va="top", **font)
        _fit_text(text, renderer, 0.88 * fig.bbox.width, smallest=6.0)


def _draw_table(fig: Figure, table: pd.DataFrame, *, box: tuple[float, float, float, float],
                lang: str, font: _Font) -> None:
    """The affected zones as a table with the workbook's headings and rounding."""
    ax = fig.add_axes(box)
    ax.set_axis_off()
    if table.empty:
        ax.text(0.02, 1.0, _label("none", lang), va="top", fontsize=10, **font)
        return
    shown = labelled_table(table, lang=lang)
    units = [COLUMN_LABELS[c].unit for c in table.columns]
    cells = [[_cell(v, unit) for v, unit in zip(row, units, strict=True)]
             for row in shown.itertuples(index=False)]
    drawn = ax.table(cellText=cells, colLabels=list(shown.columns), loc="upper center",
                     cellLoc="right", colLoc="center")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(7)
    for cell in drawn.get_celld().values():
        cell.get_text().set_fontfamily(font["fontfamily"])
        cell.set_edgecolor("#bbbbbb")
    drawn.auto_set_column_width(list(range(len(shown.columns))))


def _cell(value: object, unit: str) -> str:
    if unit not in DECIMALS:
        return str(value)
    if value is pd.NA or not isinstance(value, (int, float, np.number)) \
            or not math.isfinite(float(value)):
        return "—"
    return f"{float(value):,.{DECIMALS[unit]}f}"


def render_handout(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame, *,
    title: str, figures: Mapping[str, str], affected: pd.DataFrame, **options: Any,
) -> bytes:
    """Render the A4 portrait handout as one PDF page (see ``build_handout_figure``).

    Further keyword ``options`` (``assumptions``, ``sources``, ``subtitle``, ``lang``,
    ``font_family``, ``zone_kind``) are passed on. The CJK font is embedded as a subset; text stays
    searchable.
    """
    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False}):
        fig = build_handout_figure(zones, wards, offices, title=title, figures=figures,
                                   affected=affected, **options)
        fig.savefig(buffer, format="pdf", metadata={"Title": title})
    return buffer.getvalue()
