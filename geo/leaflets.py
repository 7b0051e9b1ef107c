"""Printed pages for residents, in plain words: the residents' handout (住民向け) and one
leaflet per school district for the briefings held district by district.

The residents' handout carries the planners' key figures (the same values, worded for
residents: ``geo.briefing.key_figures(..., plain=True)``), what the plan changes, a map of
the counters after it with the convenience stores, and per district the nearest counter now
and after with the stores inside. A district leaflet gives one district its map, its nearest
counter before and after, its stores and its people beyond 2 and 5 km (or 45 minutes).
Every figure comes from ``geo.study.evaluate`` and ``geo.study.zone_services``; nothing is
computed here but layout. Sizes follow the handout's (``RESIDENT_SIZES``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import _paper
from ._paper import Page, PdfInfo, page_font
from .briefing import DEFAULT_AUTHOR, DEFAULT_SOURCES, find_cjk_font, key_figures, print_font
from .colours import in_minutes, zone_colouring
from .labels import language_index
from .layers import BundleFile
from .provenance import sources_line

logger = logging.getLogger(__name__)

RESIDENT_SIZES = {"kicker": 12.0, "title": 18.0, "subtitle": 10.0, "heading": 13.0,
                  "figure_label": 12.0, "figure_value": 14.0, "body": 11.0, "table": 10.0,
                  "legend": 10.0, "sources": 8.0}
"""Font sizes of the residents' pages, points: figures 12 / 14, the rest at least 10, the
sources 8."""
RESIDENT_MAP_PT = (240.0, 440.0)
"""Height of the residents' handout map: at least the first on one page, at most the
second."""
LEAFLET_MAP_PT = (200.0, 360.0)
"""Height of a district leaflet's map, points."""
MAX_DISTRICT_ROWS = 20
"""Districts listed in the residents' handout (the most affected first)."""
WORDS: dict[str, tuple[str, str]] = {
    "kicker": ("住民のみなさまへ", "To residents"),
    "district_kicker": ("{district}校区のみなさまへ", "To the residents of {district}"),
    "changes": ("この案で変わること", "What this plan changes"),
    "closed": ("{name}（{ward}）の窓口を閉鎖します", "The counter at {name} ({ward}) closes"),
    "downgraded": ("{name}（{ward}）は証明書の交付だけの窓口（サービスコーナー）になります",
                   "{name} ({ward}) will only issue certificates (service corner)"),
    "no_change": ("窓口は今のままです", "Every counter stays as it is"),
    "numbers": ("数字で見ると（市全体）", "In numbers (the whole city)"),
    "district_numbers": ("この校区に住む人（{people} 人）", "People living here ({people})"),
    "way_note": ("道のりは、住まいの地区から窓口まで道路に沿って測った距離です。",
                 "The way is measured along the roads from where you live to the counter."),
    "map_colour": ("窓口までの道のり（見直し後）", "Way to the nearest counter (after)"),
    "map_minutes": ("窓口までの時間（見直し後、バス・電車と歩き）",
                    "Time to the nearest counter (after, by bus, tram and on foot)"),
    "by_district": ("窓口が遠くなる校区", "School districts whose counter gets farther"),
    "by_small-area": ("窓口が遠くなる地区", "Areas whose counter gets farther"),
    "by_ward": ("窓口が遠くなる区", "Wards whose counter gets farther"),
    "col_district": ("校区", "School district"),
    "col_small-area": ("地区", "Area"),
    "col_ward": ("区", "Ward"),
    "col_now": ("いまの最寄りの窓口", "Nearest counter now"),
    "col_after": ("見直し後の最寄りの窓口", "Nearest counter after"),
    "col_way": ("道のり（km）", "Way (km)"),
    "col_stores_district": ("校区内のコンビニ", "Stores in the district"),
    "col_stores_small-area": ("地区内のコンビニ", "Stores in the area"),
    "col_stores_ward": ("区内のコンビニ", "Stores in the ward"),
    "more_rows": ("ほか {n} か所", "and {n} more"),
    "none_farther": ("窓口が遠くなる人はいません", "Nobody's counter gets farther"),
    "counter": ("最寄りの窓口", "Your nearest counter"),
    "now": ("いま", "Now"),
    "after": ("見直し後", "After the change"),
    "counter_value": ("{name}（{km} km）", "{name} ({km} km)"),
    "no_counter": ("なし", "none"),
    "stores": ("コンビニ", "Convenience stores"),
    "stores_inside": ("校区の中のコンビニ：{n} 店（住まいから最寄りの店まで平均 {km} km）",
                      ("{n} convenience stores in the district (the nearest is {km} km away "
                       "on average)")),
    "stores_note": (("マイナンバーカードがあれば、住民票の写しなどの証明書はコンビニでも"
                     "取れます（6:30〜23:00）。"),
                    ("With a My Number card, certificates such as a copy of the residence "
                     "record can also be obtained at convenience stores (6:30 to 23:00).")),
    "places": ("窓口の場所", "Where the counters are"),
    "continued": ("（つづき）", " (continued)"),
    "leaflets": ("校区別のお知らせ（{n} 校区）", "Leaflets by school district ({n})"),
    "made": ("{date} 作成", "Made on {date}"),
}
"""Words of the residents' pages, Japanese and English: plain, with the dashboard's
vocabulary for what happens to a counter (閉鎖, サービスコーナー)."""
JARGON = ("origin", "measure", "指標", "居住地点", "小地域", "人口加重", "osm-", "network",
          "シナリオ", "変更前", "変更後", "平均距離")
"""Planners' words the residents' pages never print (outside the publishers' sources line)."""


def _word(key: str, lang: str, **values: object) -> str:
    return WORDS[key][language_index(lang)].format(**values)


def _km(value: float) -> str:
    return "—" if not math.isfinite(float(value)) else f"{float(value):.2f}"


def _people(value: float) -> str:
    return "—" if not math.isfinite(float(value)) else f"{float(value):,.0f}"


# -- what changes and where the counters are ---------------------------------------------

def change_lines(offices: pd.DataFrame, *, lang: str = "ja") -> list[str]:
    """One plain line per office the scenario closes or downgrades (``mark_offices``
    columns with ``name_ja`` and ``ward``); ``窓口は今のままです`` when none."""
    lines = []
    for row in offices.itertuples(index=False):
        ward = str(getattr(row, "ward", ""))
        if not bool(row.open):
            lines.append(_word("closed", lang, name=row.name_ja, ward=ward))
        elif bool(getattr(row, "downgraded", False)):
            lines.append(_word("downgraded", lang, name=row.name_ja, ward=ward))
    return lines or [_word("no_change", lang)]


def _names(offices: pd.DataFrame) -> dict[str, str]:
    return dict(zip(offices["office_id"], offices["name_ja"].astype(str), strict=True))


def _place_lines(offices: pd.DataFrame, ids: Sequence[str]) -> list[str]:
    """``name：address`` of each office in ``ids`` (in that order, each once)."""
    names = _names(offices)
    addresses = (dict(zip(offices["office_id"], offices["address_ja"].fillna("").astype(str),
                          strict=True)) if "address_ja" in offices.columns else {})
    return [f"{names[oid]}：{addresses[oid]}" if addresses.get(oid) else names[oid]
            for oid in dict.fromkeys(i for i in ids if i)]


def affected_services(services: pd.DataFrame, zone_table: pd.DataFrame) -> pd.DataFrame:
    """Zones whose nearest counter changes or gets farther, most people farther first.

    Parameters
    ----------
    services
        ``geo.study.zone_services``.
    zone_table
        ``Result.zone_table`` (``people_farther``).
    """
    merged = services.merge(zone_table[["zone_id", "people_farther"]], on="zone_id",
                            validate="one_to_one")
    hit = merged[(merged["people_farther"] > 0)
                 | (merged["counter_before"] != merged["counter_after"])]
    return hit.sort_values(["people_farther", "counter_after_km"], ascending=False) \
        .reset_index(drop=True)


# -- the residents' handout ----------------------------------------------------------------

def build_residents_pages(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame,
    stores: gpd.GeoDataFrame, *, title: str, figures: Mapping[str, str],
    services: pd.DataFrame, sources: Sequence[str | BundleFile] = DEFAULT_SOURCES,
    subtitle: str | None = None, lang: str = "ja", font_family: str | None = None,
    zone_kind: str = "district", notes: Sequence[str] = (),
) -> list[Figure]:
    """Draw the residents' handout: what changes, the figures, the map, then per zone the
    nearest counter now and after with the stores, where the counters are, and the
    certificates at convenience stores; on one A4 page or two.

    Parameters
    ----------
    zones
        Zone polygons with ``before_km`` / ``after_km`` (or transit minutes), drawn after
        the scenario. Any CRS; drawn in EPSG:6670.
    wards
        Ward polygons (``ward`` names them).
    offices
        ``geo.briefing.mark_offices`` with ``name_ja`` (the names printed), ``ward`` and
        ``address_ja``.
    stores
        Convenience-store points, drawn on the map.
    title, subtitle, sources, lang, font_family
        As for ``geo.briefing.build_handout_pages``.
    figures
        The city's figures in plain words (``key_figures(..., plain=True)``).
    services
        ``affected_services``: one row per zone whose counter changes or gets farther.
    zone_kind
        ``district``, ``small-area`` or ``ward``: names the zones.
    notes
        Extra plain lines under the figures (e.g. the timetable caveat of a transit study).

    Returns
    -------
    list of matplotlib.figure.Figure
        One or two A4 portrait pages.
    """
    size = RESIDENT_SIZES
    zones = _paper.metric(zones, "zones", ["before_km", "after_km"])
    offices = _paper.metric(offices, "offices", ["open", "name_ja"])
    wards = _paper.with_label_points(_paper.metric(wards, "wards", []), offices)
    stores = _paper.metric(stores, "stores", [])
    page = Page.new(page_font(font_family or find_cjk_font()))
    _heading(page, _word("kicker", lang), title, subtitle)
    _write_section(page, _word("changes", lang), change_lines(offices, lang=lang),
                   size=size["figure_label"])
    page.write(_word("numbers", lang), size=size["heading"], weight="bold", before=8)
    page.skip(2)
    _paper.figure_rows(page, list(figures.items()), label_size=size["figure_label"],
                       value_size=size["figure_value"])
    for note in notes:
        page.write(note, size=size["body"], indent=12)

    minutes = in_minutes(zones)
    after, scale = zone_colouring(zones, "after", minutes_word=("分", "min")[language_index(lang)])
    values = pd.to_numeric(after, errors="coerce").to_numpy(dtype=float)
    legends = _legends(page, scale, offices, lang=lang, stores=True,
                       title=_word("map_minutes" if minutes else "map_colour", lang),
                       unreachable=bool((~np.isfinite(values)).any()))
    table = _services_table(page, services, offices, lang=lang, zone_kind=zone_kind)
    places = _place_lines(offices, list(services["counter_after"]))
    rest = (_section_height(page, [_word(f"by_{zone_kind}", lang)], size["heading"])
            + table.height + _section_height(page, places, size["body"])
            + _section_height(page, [_word("stores_note", lang)], size["body"]))
    line = sources_line(sources, lang=lang)
    page.foot(line, size=size["sources"])
    map_height, one_page = _paper.plan_map(page, reserved=legends.height + 10, rest=rest,
                                           limits=RESIDENT_MAP_PT)
    ax = page.fig.add_axes(page.box(map_height))
    _paper.draw_map(ax, zones, values, wards, offices, bounds=_paper.extent(zones, wards),
                    scale=scale, after=True, font=page.font, stores=stores,
                    label_open=set(services["counter_after"]))
    legends.place(page)
    pages = [page]
    if not one_page:
        page = _paper.next_page(page, title + _word("continued", lang), size=size["heading"],
                                foot=line, foot_size=size["sources"])
        pages.append(page)
    page.write(_word(f"by_{zone_kind}", lang), size=size["heading"], weight="bold", before=8)
    page.skip(4)
    _paper.draw_table(page, table)
    if len(services) > MAX_DISTRICT_ROWS:
        page.write(_word("more_rows", lang, n=len(services) - MAX_DISTRICT_ROWS),
                   size=size["body"], indent=12)
    _write_section(page, _word("places", lang), places, size=size["body"])
    _write_section(page, _word("stores", lang), [_word("stores_note", lang)],
                   size=size["body"])
    return [p.fig for p in pages]


def _heading(page: Page, kicker: str, title: str, subtitle: str | None) -> None:
    size = RESIDENT_SIZES
    page.write(kicker, size=size["kicker"], weight="bold", colour=_paper.GREY_INK)
    page.write(title, size=size["title"], weight="bold")
    if subtitle:
        page.write(subtitle, size=size["subtitle"], colour=_paper.GREY_INK)
    page.skip(4)


def _write_section(page: Page, heading: str, lines: Sequence[str], *, size: float) -> None:
    page.write(heading, size=RESIDENT_SIZES["heading"], weight="bold", before=8)
    for line in lines:
        page.write(line, size=size, indent=12)


def _section_height(page: Page, lines: Sequence[str], size: float) -> float:
    heading = page.line_height(RESIDENT_SIZES["heading"]) + 8
    return heading + sum(len(page.lines(line, size=size, width=page.text_width - 12))
                         for line in lines) * page.line_height(size)


def _legends(page: Page, scale: Any, offices: gpd.GeoDataFrame, *, lang: str, stores: bool,
             title: str, unreachable: bool, district: bool = False) -> _paper.MapLegends:
    size = RESIDENT_SIZES["legend"]
    handles = _paper.office_handles(offices, lang=lang, stores=stores, district=district)
    if scale is None:
        colour = page.fig.legend(handles=handles[: len(handles) // 2], loc="upper left",
                                 bbox_to_anchor=(0, 0), frameon=False,
                                 prop={"family": page.font["fontfamily"], "size": size})
        handles = handles[len(handles) // 2:]
    else:
        colour = _paper.colour_legend(page.fig, scale, title=title, unreachable=unreachable,
                                      lang=lang, font=page.font, anchor=(0, 0), ncols=3,
                                      size=size, loc="upper left")
    symbols = page.fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 0),
                              ncols=2 if scale is not None else 1, frameon=False,
                              prop={"family": page.font["fontfamily"], "size": size})
    return _paper.MapLegends(page, colour, symbols)


def _services_table(page: Page, services: pd.DataFrame, offices: pd.DataFrame, *, lang: str,
                    zone_kind: str) -> _paper.TableLayout:
    """Zone | nearest counter now | after | way now -> after | stores inside."""
    size = RESIDENT_SIZES["table"]
    if services.empty:
        return _paper.layout_table(page, [_word("none_farther", lang)], [], numeric=[False],
                                   size=size)
    names = _names(offices)
    header = [_word(key, lang) for key in (f"col_{zone_kind}", "col_now", "col_after",
                                           "col_way", f"col_stores_{zone_kind}")]
    none = _word("no_counter", lang)
    rows = [[str(row["zone_name"]), names.get(str(row["counter_before"]), none),
             names.get(str(row["counter_after"]), none),
             f"{_km(float(row['counter_before_km']))} → {_km(float(row['counter_after_km']))}",
             str(int(row["stores"]))]
            for row in services.head(MAX_DISTRICT_ROWS).to_dict("records")]
    return _paper.layout_table(page, header, rows, numeric=[False, False, False, True, True],
                               size=size)


def render_residents(
    zones: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame,
    stores: gpd.GeoDataFrame, *, title: str, figures: Mapping[str, str],
    services: pd.DataFrame, author: str | None = None, **options: Any,
) -> bytes:
    """Render the residents' handout as a PDF (``build_residents_pages``), with the same
    font embedding and metadata as ``geo.briefing.render_handout``."""
    options["font_family"] = print_font(options.get("font_family"))
    with _paper.printing():
        pages = build_residents_pages(zones, wards, offices, stores, title=title,
                                      figures=figures, services=services, **options)
        return _paper.pdf_bytes(pages, _info(title, options, author))


def _info(title: str, options: Mapping[str, Any], author: str | None) -> PdfInfo:
    lang = str(options.get("lang", "ja"))
    return PdfInfo(title=title, lang=lang,
                   author=author or DEFAULT_AUTHOR[language_index(lang)],
                   subject=_word("kicker", lang))


# -- one leaflet per school district -------------------------------------------------------

def build_district_page(
    district: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame,
    offices: gpd.GeoDataFrame, stores: gpd.GeoDataFrame, *, title: str,
    figures: Mapping[str, str], service: Mapping[str, Any],
    sources: Sequence[str | BundleFile] = DEFAULT_SOURCES, subtitle: str | None = None,
    lang: str = "ja", font: _paper.Font | None = None,
) -> Figure:
    """Draw one school district's leaflet on an A4 page: its map, its nearest counter now
    and after, its convenience stores and its people beyond the distances.

    Parameters
    ----------
    district
        The district's polygon (one row, ``zone_name``).
    districts
        Every district's polygon, outlined around it.
    wards, offices, stores
        As for ``build_residents_pages``; only what lies in the map is drawn.
    title, subtitle, sources, lang
        As for ``build_residents_pages`` (the title is the plan's).
    figures
        The district's figures in plain words (``key_figures`` of its zone-table row with
        ``plain=True``, 2 and 5 km).
    service
        Its ``geo.study.zone_services`` row.
    font
        Family keywords (``geo._paper.page_font``); default ``find_cjk_font()``.

    Returns
    -------
    matplotlib.figure.Figure
        One A4 portrait page.
    """
    size = RESIDENT_SIZES
    district = _paper.metric(district, "district", ["zone_name"])
    districts = _paper.metric(districts, "districts", [])
    offices = _paper.metric(offices, "offices", ["open", "name_ja"])
    name = str(district["zone_name"].iloc[0])
    page = Page.new(font or page_font(find_cjk_font()))
    _heading(page, _word("district_kicker", lang, district=name), title, subtitle)
    names = _names(offices)
    counter_rows = [(_word(when, lang), _counter_value(service, when, names, lang))
                    for when in ("now", "after")]
    store_line = _word("stores_inside", lang, n=int(service["stores"]),
                       km=_km(float(service["store_km"])))
    places = _place_lines(offices, [str(service["counter_before"]),
                                    str(service["counter_after"])])
    rows = list(figures.items())
    below = (_section_height(page, [], size["heading"]) + 2
             + _paper.figure_rows(page, counter_rows, measure_only=True)
             + _section_height(page, [store_line, _word("stores_note", lang)], size["body"])
             + _section_height(page, [], size["heading"]) + 2
             + _paper.figure_rows(page, rows, measure_only=True)
             + _section_height(page, places, size["body"]))
    legends = _legends(page, None, offices, lang=lang, stores=True, title="",
                       unreachable=False, district=True)
    line = sources_line(sources, lang=lang)
    page.foot(line, size=size["sources"])
    room = page.room - legends.height - below
    if room < LEAFLET_MAP_PT[0]:
        logger.warning("leaflet %s: the map has %.0f pt, less than %.0f", name, room,
                       LEAFLET_MAP_PT[0])
    height = max(120.0, min(LEAFLET_MAP_PT[1], room))
    ax = page.fig.add_axes(page.box(height))
    _district_map(ax, district, districts, wards, offices, stores, service, font=page.font,
                  aspect=page.text_width / height)
    legends.place(page)
    page.write(_word("counter", lang), size=size["heading"], weight="bold", before=4)
    page.skip(2)
    _paper.figure_rows(page, counter_rows, label_size=size["figure_label"],
                       value_size=size["figure_value"])
    _write_section(page, _word("stores", lang), [store_line, _word("stores_note", lang)],
                   size=size["body"])
    people = _people(float(district["population"].iloc[0])) \
        if "population" in district.columns else "—"
    page.write(_word("district_numbers", lang, people=people), size=size["heading"],
               weight="bold", before=8)
    page.skip(2)
    _paper.figure_rows(page, rows, label_size=size["figure_label"],
                       value_size=size["figure_value"])
    _write_section(page, _word("places", lang), places, size=size["body"])
    return page.fig


def _counter_value(service: Mapping[str, Any], when: str, names: Mapping[str, str],
                   lang: str) -> str:
    key = "before" if when == "now" else "after"
    office = str(service[f"counter_{key}"])
    if not office:
        return _word("no_counter", lang)
    return _word("counter_value", lang, name=names.get(office, office),
                 km=_km(float(service[f"counter_{key}_km"])))


def _district_map(ax: Any, district: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
                  wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame,
                  stores: gpd.GeoDataFrame, service: Mapping[str, Any], *,
                  font: _paper.Font, aspect: float) -> None:
    """The district filled, its neighbours outlined, the counters it uses before and after
    in view, the offices named and the stores drawn."""
    used = offices[offices["office_id"].isin([service["counter_before"],
                                              service["counter_after"]])]
    xmin, ymin, xmax, ymax = _paper.extent(district, used, margin=0.12)
    width, height = max(xmax - xmin, 1.0), max(ymax - ymin, 1.0)
    if width / height < aspect:  # widen to the box's shape so the map fills it
        grow = (aspect * height - width) / 2
        xmin, xmax = xmin - grow, xmax + grow
    else:
        grow = (width / aspect - height) / 2
        ymin, ymax = ymin - grow, ymax + grow
    bounds = (xmin, ymin, xmax, ymax)
    _paper.map_axes(ax, bounds)
    _paper.polygons(ax, districts.geometry, facecolors="white", edgecolors="#aaaaaa",
                    linewidths=0.6)
    _paper.polygons(ax, district.geometry, facecolors=_paper.DISTRICT_FILL,
                    edgecolors=_paper.INK, linewidths=2.2)
    _paper.polygons(ax, wards.geometry, facecolors="none", edgecolors="#222222",
                    linewidths=1.2)
    point = district.geometry.iloc[0].representative_point()
    ax.text(point.x, point.y, str(district["zone_name"].iloc[0]), ha="center", va="center",
            fontsize=12, weight="bold", color="#555555", clip_on=True, zorder=2.5, **font)
    inside = offices.cx[xmin:xmax, ymin:ymax]
    _paper.draw_stores(ax, stores.cx[xmin:xmax, ymin:ymax], size=22)
    _paper.draw_offices(ax, inside, after=True, font=font, label_open=set(inside["office_id"]),
                        label_size=11)


def district_figures(row: Mapping[str, float | str], *, lang: str = "ja"
                     ) -> dict[str, str]:
    """A district's figures in plain words from its zone-table row: people whose counter
    gets farther, beyond 2 km (and 65+), beyond 5 km (and 65+), the mean way; in a transit
    study beyond 45 minutes instead (``geo.briefing.key_figures``)."""
    figures = key_figures(row, lang=lang, plain=True)
    if in_minutes(pd.DataFrame([row])) or "beyond_5km_before" not in row:
        return figures
    farther = key_figures(row, threshold_km=5, lang=lang, plain=True)
    items = list(figures.items())
    extra = [item for item in farther.items() if item not in items]
    return dict(items[:-1] + extra + items[-1:])


def render_district_leaflets(
    districts: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, offices: gpd.GeoDataFrame,
    stores: gpd.GeoDataFrame, *, title: str, figures: Mapping[str, Mapping[str, str]],
    services: pd.DataFrame, chosen: Sequence[str], author: str | None = None,
    sources: Sequence[str | BundleFile] = DEFAULT_SOURCES, subtitle: str | None = None,
    lang: str = "ja", font_family: str | None = None,
) -> bytes:
    """Render the leaflets of the ``chosen`` districts as one PDF, a page each.

    Parameters
    ----------
    districts
        Every district's polygon with ``zone_id``, ``zone_name`` and ``population``.
    figures
        District id -> its plain figures (see ``build_district_page``).
    services
        ``geo.study.zone_services`` (every district).
    chosen
        District ids, in page order.
    wards, offices, stores, title, author, sources, subtitle, lang, font_family
        As for ``render_residents``.

    Raises
    ------
    ValueError
        ``chosen`` is empty or names a district ``districts`` lacks.
    geo.errors.FontMissingError
        No TrueType-outline Japanese font is installed.
    """
    known = districts["zone_id"].astype(str)
    unknown = [d for d in chosen if d not in set(known)]
    if unknown or not chosen:
        msg = (f"unknown school district(s) {', '.join(unknown)}" if unknown
               else "no school district to print")
        raise ValueError(msg)
    font = page_font(print_font(font_family))
    rows = services.set_index(services["zone_id"].astype(str))
    shapes = _paper.metric(districts, "districts", ["zone_name"]).assign(zone_id=known)
    wards = _paper.metric(wards, "wards", [])
    stores = _paper.metric(stores, "stores", [])
    with _paper.printing():
        pages = [build_district_page(shapes[shapes["zone_id"] == d], shapes, wards, offices,
                                     stores, title=title, figures=figures[d],
                                     service={str(k): v for k, v in rows.loc[d].items()},
                                     sources=sources,
                                     subtitle=subtitle, lang=lang, font=font)
                 for d in chosen]
        info = PdfInfo(title=title, lang=lang,
                       author=author or DEFAULT_AUTHOR[language_index(lang)],
                       subject=_word("leaflets", lang, n=len(chosen)))
        return _paper.pdf_bytes(pages, info)
