"""Plumbing of the printed pages: fonts fit for PDF, pages filled from the top, tables, the
zone maps with their legends, and PDF files with their metadata.

Shared by ``geo.briefing`` (the slide and the planners' handout) and ``geo.leaflets`` (the
residents' handout and the school-district leaflets). Only ``matplotlib.figure.Figure`` and
the Agg / PDF canvases are used: no pyplot, no figure registered anywhere.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import struct
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import geopandas as gpd
import matplotlib
import numpy as np
import shapely
from matplotlib import font_manager, patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure, SubFigure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from .cartography import label_points
from .colours import UNREACHABLE_COLOUR, ColourScale
from .errors import CRSError, LayerError
from .labels import language_index
from .layers import METRIC_CRS

logger = logging.getLogger(__name__)

A4_PORTRAIT_IN = (210 / 25.4, 297 / 25.4)
"""The handout and leaflet page, A4 portrait (595 x 842 pt)."""
LINE_SPACING = 1.4
"""Line height as a multiple of the font size."""
INK = "#111111"
GREY_INK = "#444444"
OPEN_COLOUR = "#1f3a93"
CLOSED_COLOUR = "#d62728"
STORE_COLOUR = "#e07b00"
DISTRICT_FILL = "#fff3b0"
"""Fill of the school district a leaflet is about."""
MAP_WORDS: dict[str, tuple[str, str]] = {
    "ward_office": ("区役所", "Ward office"),
    "branch": ("出張所など", "Branch office, corner"),
    "downgraded": ("サービスコーナー化", "Downgraded to service corner"),
    "closed": ("閉鎖", "Closed"),
    "ward_boundary": ("区境", "Ward boundary"),
    "unreachable": ("到達できる窓口なし", "No counter reachable"),
    "store": ("コンビニ", "Convenience store"),
    "district": ("この校区", "This school district"),
}
"""Words of the map symbols, Japanese and English: the dashboard's (閉鎖, not 廃止)."""
_OFFICE_SUFFIXES = ("市民サービスコーナー", "サービスコーナー", "総合出張所", "出張所", "分室",
                    " Citizen Service Corner", " General Branch Office", " Branch Office")
_LABEL_OFFSETS = ((6, 5, "left", "bottom"), (6, -5, "left", "top"), (-6, 5, "right", "bottom"),
                  (-6, -5, "right", "top"), (0, 9, "center", "bottom"), (0, -9, "center", "top"))
_TRUETYPE_SFNT = (b"\x00\x01\x00\x00", b"true")
_NO_LINE_START = set("、。，．・：；！？）」』】〕］｝〉》ー゛゜…‥%),.:;!?]}"
                     "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ")
_NO_LINE_END = set("（「『【〔［｛〈《([{")
_LATIN_RUN = re.compile(r"[\x21-\x7e\u00a0-\u024f\u2013\u2014]+ ?| ")


class Font(TypedDict):
    """Text keywords shared by every label: the CJK family, then a Latin fallback."""

    fontfamily: list[str]


def page_font(family: str) -> Font:
    """The keywords of every text on a page drawn in ``family``."""
    return Font(fontfamily=[family, "DejaVu Sans"])


def words(key: str, lang: str) -> str:
    """A map symbol's word (``MAP_WORDS``) in ``lang``."""
    return MAP_WORDS[key][language_index(lang)]


# -- fonts ---------------------------------------------------------------------------------

def truetype_outlines(family: str) -> bool:
    """Whether the regular and bold faces matplotlib picks for ``family`` are TrueType-outline
    (``glyf``) fonts.

    Matplotlib embeds a font in a PDF (``pdf.fonttype`` 42) as a TrueType font whatever its
    outlines. A CFF-outline OpenType font (Noto Sans CJK, Source Han Sans) then sits under a
    TrueType declaration: PDFium draws it, but MuPDF draws nothing and poppler warns "Mismatch
    between font type and embedded font file". Only a ``glyf`` font is embedded correctly.

    Parameters
    ----------
    family
        A family name matplotlib knows (``matplotlib.font_manager.fontManager``).

    Returns
    -------
    bool
        False also when the family is not installed.
    """
    for weight in ("normal", "bold"):
        properties = font_manager.FontProperties(family=family, weight=weight)
        try:
            path = font_manager.fontManager.findfont(properties, fallback_to_default=False)
        except ValueError:  # not installed
            return False
        if _sfnt_version(Path(path)) not in _TRUETYPE_SFNT:
            return False
    return True


def _sfnt_version(path: Path) -> bytes:
    """The outline tag of a font file (of the first font of a collection)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
            if head[:4] == b"ttcf" and len(head) == 16:
                handle.seek(struct.unpack(">I", head[12:16])[0])
                return handle.read(4)
    except OSError:
        return b""
    return head[:4]


# -- pages filled from the top -------------------------------------------------------------

def renderer(figure: Figure | SubFigure) -> RendererAgg:
    """The renderer of the Agg canvas a page is drawn on, to measure texts."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        msg = f"the page is measured on an Agg canvas, not {type(canvas).__name__}"
        raise TypeError(msg)
    # matplotlib's stub leaves FigureCanvasAgg.get_renderer unannotated
    drawer: RendererAgg = canvas.get_renderer()  # type: ignore[no-untyped-call]
    return drawer


def fit_text(text: Text, drawer: RendererAgg, width_px: float, *,
             smallest: float = 14.0) -> None:
    """Shrink a text until it fits ``width_px`` (figure pixels), never below ``smallest``."""
    size = float(text.get_fontsize())  # always set in points here, never as "large"
    while text.get_window_extent(drawer).width > width_px and size > smallest:
        size -= 1
        text.set_fontsize(size)


def _units(text: str) -> list[str]:
    """Pieces a line may break between: a Latin word with its space, or one CJK character
    (closing punctuation kept with the character before it, opening with the one after)."""
    pieces: list[str] = []
    position = 0
    while position < len(text):
        latin = _LATIN_RUN.match(text, position)
        piece = latin.group() if latin else text[position]
        position += len(piece)
        if pieces and (piece[0] in _NO_LINE_START or pieces[-1][-1] in _NO_LINE_END):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return pieces


@dataclass
class Page:
    """One page filled from the top: each block is measured, then placed under the last.

    Positions are points from the page's bottom-left corner (72 to the inch). Texts are
    drawn one line each, so a PDF reader extracts them line by line.

    Attributes
    ----------
    fig
        The page (``A4_PORTRAIT_IN`` by default), with an Agg canvas attached.
    font
        Family keywords of every text.
    margin
        Left, right and top margin, points.
    cursor
        Top of the room left, points from the bottom.
    bottom
        Bottom of the room left (raised by ``foot``).
    """

    fig: Figure
    font: Font
    margin: float
    cursor: float
    bottom: float

    @classmethod
    def new(cls, font: Font, *, size_in: tuple[float, float] = A4_PORTRAIT_IN,
            margin: float = 40.0) -> Page:
        """An empty page of ``size_in`` inches with ``margin`` points on every side."""
        fig = Figure(figsize=size_in, facecolor="white")
        FigureCanvasAgg(fig)
        return cls(fig=fig, font=font, margin=margin, cursor=size_in[1] * 72 - margin,
                   bottom=margin)

    @property
    def width(self) -> float:
        """Page width, points."""
        return float(self.fig.get_figwidth()) * 72

    @property
    def height(self) -> float:
        """Page height, points."""
        return float(self.fig.get_figheight()) * 72

    @property
    def text_width(self) -> float:
        """Width between the margins, points."""
        return self.width - 2 * self.margin

    @property
    def room(self) -> float:
        """Height left between the cursor and the bottom, points."""
        return self.cursor - self.bottom

    def measure(self, text: str, *, size: float, weight: str = "normal") -> float:
        """Width of one line of ``text``, points."""
        drawer = renderer(self.fig)
        properties = font_manager.FontProperties(family=self.font["fontfamily"], size=size,
                                                 weight=weight)
        # matplotlib's stub leaves RendererAgg.get_text_width_height_descent unannotated
        width, _, _ = drawer.get_text_width_height_descent(  # type: ignore[no-untyped-call]
            text, properties, ismath=False)
        return float(width) * 72 / self.fig.dpi

    def lines(self, text: str, *, size: float, width: float | None = None,
              weight: str = "normal") -> list[str]:
        """``text`` broken into lines no wider than ``width`` points (the text width)."""
        width = self.text_width if width is None else width
        lines: list[str] = []
        for paragraph in str(text).split("\n"):
            line = ""
            for unit in _units(paragraph):
                if line and self.measure(line + unit.rstrip(), size=size,
                                         weight=weight) > width:
                    lines.append(line.rstrip())
                    line = unit.lstrip()
                else:
                    line += unit
            lines.append(line.rstrip())
        return lines

    @staticmethod
    def line_height(size: float) -> float:
        """Height of one line of ``size`` points."""
        return size * LINE_SPACING

    def write(self, text: str, *, size: float, weight: str = "normal", colour: str = INK,
              indent: float = 0.0, before: float = 0.0, width: float | None = None
              ) -> list[Text]:
        """Write ``text`` under the cursor, wrapped to the width; the cursor moves under it."""
        self.cursor -= before
        width = (self.text_width - indent) if width is None else width
        drawn = []
        for line in self.lines(text, size=size, width=width, weight=weight):
            drawn.append(self.text_at(self.margin + indent, self.cursor, line, size=size,
                                      weight=weight, colour=colour, va="top"))
            self.cursor -= self.line_height(size)
        return drawn

    def text_at(self, x: float, y: float, text: str, *, size: float, weight: str = "normal",
                colour: str = INK, va: str = "top", ha: str = "left") -> Text:
        """One line of text at ``x``, ``y`` points (not moving the cursor)."""
        return self.fig.text(x / self.width, y / self.height, text, fontsize=size,
                             weight=weight, color=colour, va=va, ha=ha, **self.font)

    def foot(self, text: str, *, size: float, colour: str = GREY_INK) -> list[Text]:
        """Write ``text`` at the bottom of the page (wrapped); the room ends above it."""
        lines = self.lines(text, size=size)
        step = self.line_height(size)
        drawn = [self.text_at(self.margin, self.bottom + (len(lines) - 1 - i) * step, line,
                              size=size, colour=colour, va="bottom")
                 for i, line in enumerate(lines)]  # in reading order, for text extraction
        self.bottom += len(lines) * self.line_height(size) + 6
        return drawn

    def box(self, height: float, *, left: float | None = None, width: float | None = None
            ) -> tuple[float, float, float, float]:
        """Take ``height`` points under the cursor; the box in figure fractions for
        ``Figure.add_axes``."""
        left = self.margin if left is None else left
        width = self.text_width if width is None else width
        self.cursor -= height
        return (left / self.width, self.cursor / self.height, width / self.width,
                height / self.height)

    def place_legend(self, legend: Legend, *, left: float | None = None,
                     after: float = 4.0) -> float:
        """Move ``legend`` (``loc="upper left"``) under the cursor; returns its height,
        points. Place legends side by side with ``left``, then move the cursor with
        ``skip``."""
        left = self.margin if left is None else left
        legend.set_bbox_to_anchor((left / self.width, self.cursor / self.height),
                                  transform=self.fig.transFigure)
        box = legend.get_window_extent(renderer(self.fig))
        return float(box.height) * 72 / self.fig.dpi + after

    def skip(self, height: float) -> None:
        """Move the cursor down ``height`` points."""
        self.cursor -= height


class MapLegends:
    """The colour legend and the symbol legend of a page's map, measured before the map is
    drawn and placed under it afterwards: side by side when they fit, else stacked."""

    def __init__(self, page: Page, colour: Legend, symbols: Legend) -> None:
        self.colour, self.symbols = colour, symbols
        drawer = renderer(page.fig)
        boxes = [legend.get_window_extent(drawer) for legend in (colour, symbols)]
        scale = 72 / page.fig.dpi
        widths = [box.width * scale for box in boxes]
        heights = [box.height * scale for box in boxes]
        self.side_by_side = widths[0] + 12 + widths[1] <= page.text_width
        self.offset = widths[0] + 12
        self.height = (max(heights) if self.side_by_side else sum(heights)) + 8
        self.first_height = heights[0]

    def place(self, page: Page) -> None:
        """Put the legends under the cursor and move it under them."""
        page.place_legend(self.colour)
        if self.side_by_side:
            page.place_legend(self.symbols, left=page.margin + self.offset)
        else:
            page.skip(self.first_height)
            page.place_legend(self.symbols)
            page.skip(-self.first_height)
        page.skip(self.height)


def plan_map(page: Page, *, reserved: float, rest: float, limits: tuple[float, float]
             ) -> tuple[float, bool]:
    """The height of a page's map, and whether the blocks after it (``rest`` points) stay on
    this page: they do when the map keeps at least ``limits[0]`` points beside the
    ``reserved`` ones (legends, figures); the map then takes the room left, at most
    ``limits[1]``. Call it once the page's foot is written."""
    room = page.room - reserved
    one_page = room - rest >= limits[0]
    return min(limits[1], room - rest if one_page else room), one_page


def next_page(page: Page, heading: str, *, size: float, foot: str, foot_size: float) -> Page:
    """A new page in the same font with ``heading`` at its top and ``foot`` at its bottom."""
    following = Page.new(page.font, size_in=(page.fig.get_figwidth(), page.fig.get_figheight()),
                         margin=page.margin)
    following.write(heading, size=size, weight="bold")
    following.foot(foot, size=foot_size)
    return following


def figure_rows(page: Page, rows: Sequence[tuple[str, str]], *, label_size: float = 12.0,
                value_size: float = 14.0, indent: float = 12.0, measure_only: bool = False
                ) -> float:
    """Key figures as rows of a label and a bold value on one baseline, the values in one
    column; when one row does not fit so, every value goes under its label. Returns the
    height taken, points; with ``measure_only`` nothing is drawn and the cursor stays."""
    step = page.line_height(value_size)
    label_width = page.text_width - indent
    widest = max((page.measure(label, size=label_size) for label, _ in rows), default=0.0)
    column = page.margin + indent + widest + 10
    beside = widest <= label_width and all(
        column + page.measure(value, size=value_size, weight="bold") <= page.width - page.margin
        for _, value in rows)
    height = 0.0
    for label, value in rows:
        label_lines = [label] if beside else page.lines(label, size=label_size,
                                                        width=label_width)
        taken = step if beside else step * (len(label_lines) + 1) + 3
        if not measure_only:
            baseline = page.cursor - value_size
            for i, line in enumerate(label_lines):
                page.text_at(page.margin + indent, baseline - i * step, line, size=label_size,
                             va="baseline", colour=GREY_INK)
            x, y = ((column, baseline) if beside
                    else (page.margin + 2 * indent, baseline - len(label_lines) * step))
            page.text_at(x, y, value, size=value_size, weight="bold", va="baseline")
            page.cursor -= taken
        height += taken
    return height


# -- tables --------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableLayout:
    """A table measured for a page: column widths, wrapped headings, height (points)."""

    widths: list[float]
    header: list[list[str]]
    rows: list[list[str]]
    numeric: list[bool]
    size: float
    height: float

    @property
    def row_height(self) -> float:
        """Height of one body row, points."""
        return self.size * 1.7


def layout_table(page: Page, header: Sequence[str], rows: Sequence[Sequence[str]], *,
                 numeric: Sequence[bool], size: float = 9.0) -> TableLayout:
    """Measure a table of ``size``-point text for the page's width.

    Each column is as wide as its widest cell and its heading broken in two balanced lines
    (at least four characters); the width left over then goes to the headings that fit on
    one line with it, the shortest first.
    """
    pad = size * 0.8
    least = [max([page.measure(str(r[i]), size=size) for r in rows]
                 + [page.measure("人口人口", size=size, weight="bold")]) + pad
             for i in range(len(header))]
    heading = [page.measure(h, size=size, weight="bold") + pad for h in header]
    widths = [max(w, 0.55 * h + pad) for w, h in zip(least, heading, strict=True)]
    if sum(widths) > page.text_width:
        widths = least
    spare = page.text_width - sum(widths)
    for i in sorted(range(len(widths)), key=lambda i: heading[i] - widths[i]):
        extra = heading[i] - widths[i]
        if 0 < extra <= spare - 1:
            widths[i], spare = heading[i] + 1, spare - extra - 1
    header_lines = [page.lines(h, size=size, width=w - pad, weight="bold")
                    for h, w in zip(header, widths, strict=True)]
    body = [[str(cell) for cell in row] for row in rows]
    head_height = max((len(lines) for lines in header_lines), default=1) * size * LINE_SPACING
    height = head_height + size * 0.6 + len(body) * size * 1.7
    return TableLayout(widths=widths, header=header_lines, rows=body, numeric=list(numeric),
                       size=size, height=height)


def draw_table(page: Page, table: TableLayout) -> None:
    """Draw a measured table under the cursor: bold headings, a rule, one line per row."""
    size, pad = table.size, table.size * 0.4
    lefts = np.cumsum([page.margin, *table.widths[:-1]])
    right = page.margin + sum(table.widths)
    top = page.cursor
    for left, width, lines, numeric in zip(lefts, table.widths, table.header, table.numeric,
                                           strict=True):
        for i, line in enumerate(lines):
            x = left + width - pad if numeric else left + pad
            page.text_at(x, top - i * size * LINE_SPACING, line, size=size, weight="bold",
                         ha="right" if numeric else "left")
    y = top - max(len(lines) for lines in table.header) * size * LINE_SPACING - size * 0.3
    page.fig.add_artist(Line2D([page.margin / page.width, right / page.width],
                               [y / page.height] * 2, color="#666666", linewidth=0.8))
    y -= size * 0.3
    for row in table.rows:
        for left, width, cell, numeric in zip(lefts, table.widths, row, table.numeric,
                                              strict=True):
            x = left + width - pad if numeric else left + pad
            page.text_at(x, y - size * 0.25, cell, size=size, ha="right" if numeric else "left")
        y -= table.row_height
        page.fig.add_artist(Line2D([page.margin / page.width, right / page.width],
                                   [y / page.height] * 2, color="#cccccc", linewidth=0.5))
    page.cursor = top - table.height


# -- maps ----------------------------------------------------------------------------------

def metric(frame: gpd.GeoDataFrame, name: str, required: Iterable[str]) -> gpd.GeoDataFrame:
    """``frame`` in EPSG:6670, refused without a CRS or without the ``required`` columns."""
    if frame.crs is None:
        msg = f"the {name} layer has no CRS; set it (EPSG:6670) instead of letting it be guessed"
        raise CRSError(msg)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        msg = f"the {name} layer lacks column(s) {', '.join(missing)}"
        raise LayerError(msg)
    return frame.to_crs(METRIC_CRS)


def extent(*layers: gpd.GeoDataFrame, margin: float = 0.02
           ) -> tuple[float, float, float, float]:
    """The bounds of every layer given (EPSG:6670) with a ``margin`` share on each side."""
    bounds = np.vstack([layer.total_bounds for layer in layers if len(layer)])
    xmin, ymin = bounds[:, :2].min(axis=0)
    xmax, ymax = bounds[:, 2:].max(axis=0)
    pad = margin * max(xmax - xmin, ymax - ymin, 1.0)
    return (float(xmin - pad), float(ymin - pad), float(xmax + pad), float(ymax + pad))


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


def polygons(ax: Axes, geometries: Iterable[shapely.Geometry], **style: Any) -> PathCollection:
    """Draw polygons as one collection."""
    collection = PathCollection([_path(g) for g in geometries], **style)
    ax.add_collection(collection)
    return collection


def map_axes(ax: Axes, bounds: tuple[float, float, float, float]) -> None:
    """Set a map's extent (EPSG:6670 metres), equal scales and no axis; fixes its position
    now so labels can be measured on the page."""
    xmin, ymin, xmax, ymax = bounds
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.apply_aspect()


def draw_map(ax: Axes, zones: gpd.GeoDataFrame, values: np.ndarray, wards: gpd.GeoDataFrame,
             offices: gpd.GeoDataFrame, *, bounds: tuple[float, float, float, float],
             scale: ColourScale, after: bool, font: Font, stores: gpd.GeoDataFrame | None = None,
             label_open: Collection[str] = ()) -> None:
    """Zones coloured on ``scale``, ward boundaries and labels, the offices, and optionally
    the convenience stores (small orange diamonds) and the names of the open offices whose
    ids are in ``label_open``."""
    map_axes(ax, bounds)
    colours = [scale.colour(float(v)) for v in values]
    polygons(ax, zones.geometry, facecolors=colours, edgecolors="white", linewidths=0.4)
    polygons(ax, wards.geometry, facecolors="none", edgecolors="#222222", linewidths=1.6)
    if "label_point" in wards.columns:
        draw_ward_labels(ax, wards, font=font)
    if stores is not None:
        draw_stores(ax, stores)
    draw_offices(ax, offices, after=after, font=font, label_open=label_open)


def draw_stores(ax: Axes, stores: gpd.GeoDataFrame, *, size: float = 9) -> None:
    """Convenience stores as small orange diamonds with a white rim."""
    if stores.empty:
        return
    ax.scatter(stores.geometry.x, stores.geometry.y, s=size, marker="D", c=STORE_COLOUR,
               edgecolors="white", linewidths=0.5, zorder=3.5)


def with_label_points(wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The wards with a ``label_point`` clear of the office symbols
    (``geo.cartography.label_points``), placed once for every map of a page; unchanged when
    they have no ``ward`` names."""
    if "ward" not in wards.columns:
        return wards
    return wards.assign(label_point=label_points(wards[["ward", "geometry"]], offices).geometry)


def draw_ward_labels(ax: Axes, wards: gpd.GeoDataFrame, *, font: Font, size: float = 11
                     ) -> None:
    """Each ward's name at its ``label_point``, on a white halo."""
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    for point, name in zip(wards["label_point"], wards["ward"], strict=True):
        ax.text(point.x, point.y, str(name), ha="center", va="center", fontsize=size,
                color="#333333", path_effects=halo, zorder=3, **font)


def short_office_name(name: str) -> str:
    """Drop the office-type suffix for map labels: 大江出張所 -> 大江, Oe Branch Office -> Oe
    (the symbol tells the type)."""
    for suffix in _OFFICE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def place_labels(ax: Axes, points: np.ndarray, labels: Sequence[str], *, font: Font,
                 **style: Any) -> None:
    """Put each label at the first of a few offsets around its point that overlaps nothing."""
    drawer = renderer(ax.figure)
    placed = [t.get_window_extent(drawer) for t in ax.texts]  # e.g. ward names
    frame = ax.get_window_extent(drawer)
    for (x, y), label in zip(points, labels, strict=True):
        best: tuple[float, Text, Bbox] | None = None
        for dx, dy, ha, va in _LABEL_OFFSETS:
            text = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                               ha=ha, va=va, **style, **font)
            box = text.get_window_extent(drawer)
            outside = not (frame.x0 <= box.x0 and box.x1 <= frame.x1
                           and frame.y0 <= box.y0 and box.y1 <= frame.y1)
            clashes = sum(box.overlaps(other) for other in placed) + 0.5 * outside
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


def draw_offices(ax: Axes, offices: gpd.GeoDataFrame, *, after: bool, font: Font,
                 label_open: Collection[str] = (), label_size: float = 10) -> None:
    """Office symbols: squares for ward offices, dots for the others, hollow when
    downgraded, a red cross when closed (after only); closed offices are named in red, and
    the open ones whose ids are in ``label_open`` in blue."""
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
        ax.scatter(x[full], y[full], s=size, marker=marker, c=OPEN_COLOUR, edgecolors="white",
                   linewidths=1.2, zorder=4)
        hollow = rows & is_open & downgraded
        ax.scatter(x[hollow], y[hollow], s=size, marker=marker, c="white",
                   edgecolors=OPEN_COLOUR, linewidths=2.0, zorder=4)
    closed = ~is_open
    ax.scatter(x[closed], y[closed], s=120, marker="X", c=CLOSED_COLOUR, edgecolors="white",
               linewidths=1.0, zorder=5)
    if "name_ja" not in offices.columns:
        return
    halo = [patheffects.withStroke(linewidth=3, foreground="white")]
    names = np.array([short_office_name(str(n)) for n in offices["name_ja"]], dtype=object)
    for shown, colour in ((closed if after else np.zeros(len(offices), bool), CLOSED_COLOUR),
                          (is_open & offices["office_id"].isin(list(label_open)).to_numpy()
                           if "office_id" in offices.columns else np.zeros(len(offices), bool),
                           OPEN_COLOUR)):
        if shown.any():
            place_labels(ax, np.column_stack([x[shown], y[shown]]), list(names[shown]),
                         font=font, fontsize=label_size, color=colour, path_effects=halo,
                         zorder=6)


def office_handles(offices: gpd.GeoDataFrame, *, lang: str, stores: bool = False,
                   district: bool = False) -> list[Artist]:
    """Legend entries, in words, for the symbols a map draws: office kinds, closed and
    downgraded offices when there are any, ward boundaries, stores and the district."""
    def marker(symbol: str, label: str, face: str, edge: str, size: float = 10) -> Line2D:
        return Line2D([], [], linestyle="none", marker=symbol, markersize=size, label=label,
                      markerfacecolor=face, markeredgecolor=edge, markeredgewidth=1.5)

    handles: list[Artist] = [marker("s", words("ward_office", lang), OPEN_COLOUR, "white"),
                             marker("o", words("branch", lang), OPEN_COLOUR, "white")]
    if "downgraded" in offices.columns and offices["downgraded"].astype(bool).any():
        handles.append(marker("o", words("downgraded", lang), "white", OPEN_COLOUR))
    if (~offices["open"].astype(bool)).any():
        handles.append(marker("X", words("closed", lang), CLOSED_COLOUR, "white", 11))
    if stores:
        handles.append(marker("D", words("store", lang), STORE_COLOUR, "white", 7))
    if district:
        handles.append(Patch(facecolor=DISTRICT_FILL, edgecolor=INK, linewidth=2.0,
                             label=words("district", lang)))
    handles.append(Line2D([], [], color="#222222", linewidth=1.6,
                          label=words("ward_boundary", lang)))
    return handles


def colour_rows(scale: ColourScale, *, unreachable: bool, lang: str
                ) -> list[tuple[str, str]]:
    """``(colour, words)`` of every class a map on ``scale`` may draw, lowest first: the
    scale's classes, then no counter reachable."""
    rows = scale.classes()
    if unreachable:
        rows.append((UNREACHABLE_COLOUR, words("unreachable", lang)))
    return rows


def colour_legend(fig: Figure, scale: ColourScale, *, title: str, unreachable: bool,
                  lang: str, font: Font, anchor: tuple[float, float], ncols: int,
                  size: float = 10.0, loc: Literal["lower left", "upper left"] = "lower left"
                  ) -> Legend:
    """The zone colours as legend rows, each class named in words (the dashboard's
    classes)."""
    handles = [Patch(facecolor=colour, edgecolor="#888888", label=label)
               for colour, label in colour_rows(scale, unreachable=unreachable, lang=lang)]
    return fig.legend(handles=handles, loc=loc, bbox_to_anchor=anchor, ncols=ncols,
                      frameon=False, title=title, alignment="left",
                      prop={"family": font["fontfamily"], "size": size},
                      title_fontproperties={"family": font["fontfamily"], "size": size + 1})


# -- PDF files -----------------------------------------------------------------------------

@dataclass(frozen=True)
class PdfInfo:
    """What a PDF says about itself (its document information and catalogue).

    Attributes
    ----------
    title
        The scenario title; viewers show it instead of the file name.
    lang
        ``ja`` or ``en``: the catalogue's ``/Lang`` (read aloud and searched in it).
    author
        Who issues the file (e.g. 熊本市).
    subject
        One line on what the file holds.
    """

    title: str
    lang: str
    author: str
    subject: str = ""


@contextlib.contextmanager
def printing() -> Iterator[None]:
    """Settings for drawing and saving printed pages: fonts embedded as TrueType (CID) so
    text stays searchable, and no mathtext (a "$" in a title is printed as typed)."""
    with matplotlib.rc_context({"pdf.fonttype": 42, "text.parse_math": False}):
        yield


def pdf_bytes(pages: Sequence[Figure], info: PdfInfo) -> bytes:
    """Save ``pages`` as one PDF (a page each) with its metadata and language.

    The document information holds the title, author, subject, creator, producer and the
    creation date (now, or ``SOURCE_DATE_EPOCH``); the catalogue holds ``/Lang`` and asks
    viewers to show the title.
    """
    from . import __version__

    buffer = io.BytesIO()
    metadata = {"Title": info.title, "Author": info.author, "Subject": info.subject or None,
                "Creator": f"madoguchi {__version__}",
                "Producer": f"madoguchi {__version__} (Matplotlib {matplotlib.__version__})"}
    with printing(), PdfPages(buffer, metadata=metadata) as pdf:
        for page in pages:
            pdf.savefig(page)
    return _with_language(buffer.getvalue(), info.lang)


def _with_language(pdf: bytes, lang: str) -> bytes:
    """The PDF with ``/Lang`` and ``/ViewerPreferences << /DisplayDocTitle true >>`` in its
    catalogue (matplotlib writes neither)."""
    import pypdf
    from pypdf.generic import BooleanObject, DictionaryObject, NameObject, TextStringObject

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.root_object[NameObject("/Lang")] = TextStringObject(lang)
    writer.root_object[NameObject("/ViewerPreferences")] = DictionaryObject(
        {NameObject("/DisplayDocTitle"): BooleanObject(True)})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
