"""Folium layers for the dashboard: styling and symbols only, from geo/ results.

The base map (ward boundaries and labels, clustered stores, an optional tile layer) stays
the same across scenario changes, so streamlit-folium keeps the Leaflet map alive; the
scenario layers (coloured zones, blank districts, offices) are passed as feature groups
and swapped in place.
"""

from __future__ import annotations

import base64
import html
import math
import re

import branca.element
import folium
import folium.plugins
import jinja2
import numpy as np
import pandas as pd

from geo.colours import (
    UNREACHABLE_COLOUR,
    ColourScale,
    in_minutes,
    transit_threshold_min,
    travel_columns,
    zone_colouring,
)

from . import vendor_assets
from .i18n import lang, t

CITY_CENTRE = [32.80, 130.69]
UNREACHABLE = UNREACHABLE_COLOUR
NO_PEOPLE = "#ffffff"


def colour_label(colour_by: str, *, transit: bool) -> str:
    """The name of a colouring (``geo.colours.COLOUR_BY``), in minutes in transit mode."""
    return t(f"colour_{colour_by}_min" if transit else f"colour_{colour_by}")


def threshold_label(threshold_km: int, *, transit: bool) -> str:
    """``2 km``, or the minutes it reads as in transit mode (``30 分``)."""
    if transit:
        return f"{transit_threshold_min(threshold_km)} {t('minutes')}"
    return f"{threshold_km} km"


def zone_values(table: pd.DataFrame, colour_by: str, threshold_km: int
                ) -> tuple[pd.Series, ColourScale]:
    """``geo.colours.zone_colouring`` by zone id, in the interface's minute word."""
    values, scale = zone_colouring(table, colour_by, threshold_km=threshold_km,
                                   minutes_word=t("minutes"))
    return values.set_axis(table["zone_id"].astype(str)), scale


def legend_rows(scale: ColourScale, tables: list[pd.DataFrame]) -> list[tuple[str, str]]:
    """Legend of the zone colours of the maps drawn from ``tables``: the scale's classes,
    then the unreachable and no-resident fills only where a map has such a zone."""
    rows = scale.classes()
    after = [table[travel_columns(table)[1]].astype(float) for table in tables]
    if any(((table["population"] > 0) & ~np.isfinite(values)).any()
           for table, values in zip(tables, after, strict=True)):
        rows.append((UNREACHABLE, t("legend_unreachable")))
    if any((table["population"] <= 0).any() for table in tables):
        rows.append((NO_PEOPLE, t("legend_no_people")))
    return rows


def _number(value: float, digits: int = 2) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def quality_text(quality: str) -> str:
    """How a district boundary was built (districts.py quality flags), in words; '' if none."""
    parts = [part for part in quality.split("+") if part]
    words = {"exact": "quality_exact", "split-approx": "quality_split", "filled": "quality_filled"}
    return html.escape(" / ".join(t(words[p]) if p in words else p for p in parts))


def zone_fills(table: pd.DataFrame, colour_by: str, threshold_km: int) -> dict[str, str]:
    """Zone id -> fill colour: the scale's colour of ``zone_values``, white for a zone
    without residents, dark grey where some residents reach no counter."""
    values, scale = zone_values(table, colour_by, threshold_km)
    after = table[travel_columns(table)[1]].astype(float).to_numpy()
    fills = {}
    for zone_id, people, value, reached in zip(table["zone_id"].astype(str),
                                               table["population"].astype(float),
                                               values.astype(float), after, strict=True):
        fills[zone_id] = (NO_PEOPLE if people <= 0 else UNREACHABLE if not math.isfinite(reached)
                          else scale.colour(value))
    return fills


def zone_group(features: dict, table: pd.DataFrame, *, colour_by: str, threshold_km: int
               ) -> folium.FeatureGroup:
    """Zones coloured by the chosen measure (``zone_fills``), with an escaped tooltip."""
    fills = zone_fills(table, colour_by, threshold_km)
    rows = table.set_index(table["zone_id"].astype(str))
    transit = in_minutes(table)
    before_column, after_column = travel_columns(table)
    digits = 1 if transit else 2
    shown = []
    for feature in features["features"]:
        zone_id = feature["properties"]["zone_id"]
        if zone_id not in rows.index:
            continue
        row = rows.loc[zone_id]
        people = float(row["population"])
        before, after = float(row[before_column]), float(row[after_column])
        shown.append({
            "type": "Feature", "id": zone_id, "geometry": feature["geometry"],
            "properties": {
                "fill": fills[zone_id],
                "name": html.escape(f"{row['zone_name']}（{row['ward']}）"),
                "population": f"{people:,.0f}",
                "before": _number(before, digits),
                "after": (_number(after, digits) if math.isfinite(after)
                          else t("legend_unreachable")),
                "change": _number(after - before, digits),
                "farther": f"{float(row['people_farther']):,.0f}",
                "quality": quality_text(feature["properties"].get("quality", "")),
            },
        })
    group = folium.FeatureGroup(name=t("layer_zones"))
    fields = ["name", "population", "before", "after", "change", "farther", "quality"]
    unit = "_min" if transit else ""
    aliases = [t(k) for k in ("tooltip_zone", "tooltip_people", f"tooltip_before{unit}",
                              f"tooltip_after{unit}", f"tooltip_change{unit}", "tooltip_farther",
                              "tooltip_quality")]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": shown},
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.72,
                                  "color": "#555555", "weight": 0.6},
        highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[html.escape(a) for a in aliases]),
    ).add_to(group)
    return group


def blank_group(features: dict, blank_ids: frozenset[str]) -> folium.FeatureGroup:
    """Districts without a convenience store: red dashed outline."""
    group = folium.FeatureGroup(name=t("layer_blank"))
    chosen = [f for f in features["features"] if f["properties"]["zone_id"] in blank_ids]
    if chosen:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": chosen},
            style_function=lambda f: {"fill": False, "color": "#d7191c", "weight": 3,
                                      "dashArray": "6 4"},
        ).add_to(group)
    return group


KIND_SHAPES = {
    "ward_office": '<rect x="3" y="3" width="18" height="18" rx="2" {style}/>',
    "general_branch": '<circle cx="12" cy="12" r="9" {style}/>',
    "branch": '<polygon points="12,2 22,21 2,21" {style}/>',
    "annex": '<polygon points="12,2 22,12 12,22 2,12" {style}/>',
    "service_corner": '<polygon points="12,1.5 14.8,8.6 22.5,9.2 16.6,14.2 18.5,21.8 12,17.6 '
                      '5.5,21.8 7.4,14.2 1.5,9.2 9.2,8.6" {style}/>',
}
KIND_COLOURS = {"ward_office": "#08306b", "general_branch": "#2171b5", "branch": "#6a51a3",
                "annex": "#238b45", "service_corner": "#d94801"}
CROSS = '<path d="M6 6 L18 18 M18 6 L6 18" stroke="#c00000" stroke-width="3"/>'


def symbol_img(svg: str, size: int = 18) -> str:
    """An <img> with the SVG as a data URI (survives HTML sanitising in st.html)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" width="{size}" height="{size}" alt="">'


def office_symbol(kind: str, state: str, *, size: int = 24) -> str:
    """Inline SVG symbol for an office kind in a state (``open``, ``closed``, ``downgraded``)."""
    colour = KIND_COLOURS.get(kind, "#444444")
    if state == "closed":
        style = f'fill="#ffffff" fill-opacity="0.85" stroke="{colour}" stroke-width="2"'
    elif state == "downgraded":
        style = f'fill="{colour}" stroke="#fd8d3c" stroke-width="3.5"'
    else:
        style = f'fill="{colour}" stroke="#ffffff" stroke-width="1.5"'
    shape = KIND_SHAPES.get(kind, KIND_SHAPES["general_branch"]).format(style=style)
    extra = CROSS if state == "closed" else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 24 24">{shape}{extra}</svg>')


SEPARATION_PX = 16
"""How far apart (pixels) markers of offices near each other are drawn."""
NEAR_M = 1500.0
"""Offices closer than this overlap at city zoom (about 64 m a pixel at zoom 11)."""


def marker_offsets(lat: np.ndarray, lon: np.ndarray, *, near_m: float = NEAR_M,
                   separation_px: int = SEPARATION_PX) -> np.ndarray:
    """Pixel offsets (dx, dy) that draw offices near each other side by side.

    Offices closer than ``near_m`` (chains of them) form a group; a group of n > 1 is laid
    out on a circle of ``separation_px`` around the true points, in id order, so no marker
    hides another at city zoom. The markers keep their true coordinates (a click reports
    them); only the icon moves, by the same few pixels at every zoom.
    """
    metres_per_degree = 111_320.0
    y = np.asarray(lat, dtype=float) * metres_per_degree
    x = np.asarray(lon, dtype=float) * metres_per_degree * np.cos(np.radians(np.mean(lat)))
    group = np.arange(len(y))
    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) < near_m
    changed = True
    while changed:  # single-link groups: every office takes the smallest id it reaches
        merged = np.where(near, group[None, :], len(y)).min(axis=1)
        changed = bool((merged != group).any())
        group = merged[merged]
    offsets = np.zeros((len(y), 2))
    for label in np.unique(group):
        members = np.flatnonzero(group == label)
        if len(members) < 2:
            continue
        angles = 2 * np.pi * np.arange(len(members)) / len(members) + np.pi / 2
        offsets[members, 0] = separation_px * np.cos(angles)
        offsets[members, 1] = -separation_px * np.sin(angles)
    return np.rint(offsets).astype(int)


OFFICE_ID_COLOUR = "#595959"
"""The office id at the end of a marker's tooltip: 7.0:1 on white (``#888`` was 3.5:1)."""


def office_group(offices: pd.DataFrame, *, name_column: str) -> folium.FeatureGroup:
    """Office markers of the base set: symbol per kind, state from ``Result.offices``.

    ``offices`` is ``geo.study.Result.offices`` with WGS84 ``lat`` / ``lon``; offices whose
    ``state`` is ``not in base`` are not drawn. The tooltip ends with ``[office_id]`` so a
    click can be mapped back to the office; markers of nearby offices are drawn apart
    (``marker_offsets``).
    """
    group = folium.FeatureGroup(name=t("layer_offices"))
    shown = offices[offices["state"] != "not in base"].reset_index(drop=True)
    offsets = marker_offsets(shown["lat"].to_numpy(), shown["lon"].to_numpy())
    lats, lons = shown["lat"].to_numpy(dtype=float), shown["lon"].to_numpy(dtype=float)
    for row, lat, lon, (dx, dy) in zip(shown.itertuples(), lats, lons, offsets, strict=True):
        state = str(row.state)
        size = 30 if row.kind == "ward_office" else 24
        name = html.escape(getattr(row, name_column))
        kind = html.escape(t(f"kind_{row.kind}"))
        tooltip = (f"{name}（{kind}・{html.escape(t(f'state_{state}'))}） "
                   f"<span style='color:{OFFICE_ID_COLOUR}'>"
                   f"[{html.escape(str(row.office_id))}]</span>")
        popup = (f"<b>{name}</b><br>{html.escape(t('popup_kind'))}: {kind}<br>"
                 f"{html.escape(t('popup_ward'))}: {html.escape(str(row.ward))}<br>"
                 f"{html.escape(t('popup_address'))}: {html.escape(str(row.address_ja))}<br>"
                 f"{html.escape(t('popup_precision'))}: {html.escape(str(row.precision))}<br>"
                 f"{html.escape(t('popup_state'))}: {html.escape(t(f'state_{state}'))}")
        folium.Marker(
            [float(lat), float(lon)],
            icon=folium.DivIcon(html=office_symbol(str(row.kind), state, size=size),
                                icon_size=(size, size),
                                icon_anchor=(size // 2 - int(dx), size // 2 - int(dy)),
                                class_name=(f"office-marker office-{state} "
                                            f"office-id-{_css_id(str(row.office_id))}")),
            tooltip=folium.Tooltip(tooltip),
            popup=folium.Popup(popup, max_width=320),
            z_index_offset=1000 if row.kind == "ward_office" else 500,
            title=(f"{getattr(row, name_column)}（{t(f'kind_{row.kind}')}・"
                   f"{t(f'state_{state}')}）"),  # the focusable marker's accessible name
        ).add_to(group)
    return group


def _css_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(text))


STORE_DOT = ('<div style="width:7px;height:7px;border-radius:50%;background:#31a354;'
             'border:1px solid #fff"></div>')
"""A store marker, on the map and in the legend."""
STORE_CALLBACK = """
function (row) {
    var icon = L.divIcon({html: 'STORE_DOT', iconSize: [7, 7],
        iconAnchor: [4, 4], className: 'store-dot'});
    return L.marker(new L.LatLng(row[0], row[1]), {icon: icon, title: row[3]})
        .bindTooltip(row[2]);
}
""".replace("STORE_DOT", STORE_DOT)
"""One clustered store marker: ``row[2]`` is its tooltip (already HTML-escaped), ``row[3]``
the same label as text, the name of the focusable marker (set as a property, never parsed)."""


def feature_bounds(features: dict) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of a WGS84 FeatureCollection of polygons, for
    ``fit_bounds``; None when it has no coordinates."""
    rings = [
        np.asarray(ring, dtype=float).reshape(-1, 2)
        for feature in features["features"]
        for polygon in (feature["geometry"]["coordinates"]
                        if feature["geometry"]["type"] == "MultiPolygon"
                        else [feature["geometry"]["coordinates"]])
        for ring in polygon]
    if not rings:
        return None
    coordinates = np.concatenate(rings)
    west, south = coordinates.min(axis=0)
    east, north = coordinates.max(axis=0)
    return [[float(south), float(west)], [float(north), float(east)]]


def base_map(wards: dict, stores: pd.DataFrame, *, show_tiles: bool,
             ward_labels: pd.DataFrame) -> folium.Map:
    """Map with no tiles by default: ward boundaries and labels, clustered stores."""
    fmap = folium.Map(location=CITY_CENTRE, zoom_start=11, tiles=None,
                      minZoom=9, maxZoom=18,  # Leaflet options: markercluster needs maxZoom
                      control_scale=True, attribution_control=True)
    if show_tiles:
        folium.TileLayer("OpenStreetMap", name=t("layer_tiles"), overlay=True,
                         show=True).add_to(fmap)
    ward_layer = folium.FeatureGroup(name=t("layer_wards"))
    folium.GeoJson(
        wards, style_function=lambda f: {"fill": False, "color": "#222222", "weight": 2.2},
        interactive=False,
    ).add_to(ward_layer)
    for row in ward_labels.to_dict("records"):
        folium.Marker(
            [row["lat"], row["lon"]], interactive=False, keyboard=False,  # a label, no button
            icon=folium.DivIcon(
                html=(f'<div style="font-weight:bold;font-size:14px;color:#111;'
                      f'text-shadow:0 0 3px #fff,0 0 3px #fff;white-space:nowrap;'
                      f'transform:translate(-50%,-50%)">{html.escape(row["ward"])}</div>'),
                icon_size=(0, 0), class_name="ward-label"),
        ).add_to(ward_layer)
    ward_layer.add_to(fmap)
    page = fmap.get_root()
    assert isinstance(page, branca.element.Figure)  # a Map's root is its page
    page.header.add_child(folium.Element(LAYER_PANEL_CSS + MARKER_FOCUS_CSS), name="map_css")
    OfficeKeys().add_to(fmap)
    DocumentLanguage(lang()).add_to(fmap)
    bounds = feature_bounds(wards)
    if bounds is not None:
        fmap.fit_bounds(bounds)  # the whole city, north of 北区 included
    store_layer = folium.FeatureGroup(name=t("layer_stores"), show=True)
    labels = [" ".join(p for p in (b, n) if p) or i
              for i, b, n in zip(stores["store_id"], stores["brand"], stores["name"], strict=True)]
    folium.plugins.FastMarkerCluster(
        [[lat, lon, html.escape(label), label]
         for lat, lon, label in zip(stores["lat"], stores["lon"], labels, strict=True)],
        callback=STORE_CALLBACK,
        options={"showCoverageOnHover": False, "maxClusterRadius": 40,
                 "disableClusteringAtZoom": 16},
    ).add_to(store_layer)
    store_layer.add_to(fmap)
    vendor_assets.localise(fmap)
    return fmap


NARROW_MAP_PX = 700
"""Below this map width the layer panel is folded behind its button (tap to open)."""
LAYER_PANEL_CSS = f"""<style>
@media (min-width: {NARROW_MAP_PX}px) {{
  .leaflet-control-layers .leaflet-control-layers-list {{display: block; position: relative;}}
  .leaflet-control-layers .leaflet-control-layers-toggle {{display: none;}}
  .leaflet-control-layers {{padding: 6px 10px 6px 6px; color: #333; background: #fff;}}
}}
</style>"""
"""Shows a collapsed ``folium.LayerControl`` open on a wide map. streamlit-folium adds the
header to the map's own frame, so the media query measures the map, not the window."""


MARKER_FOCUS_CSS = """<style>
.office-marker:focus, .office-marker:focus-visible {
  outline: 3px solid #000; outline-offset: 2px; box-shadow: 0 0 0 5px #fff;
}
</style>"""
"""A visible ring round the office marker that has the keyboard focus."""


class OfficeKeys(branca.element.MacroElement):
    """Enter or Space on the focused office marker clicks it, as a mouse click does.

    Leaflet makes markers focusable buttons, but a key only opens the popup: its click
    event carries no position, so the map never reported it. A DOM click on the marker
    gives Leaflet's click with the marker's own position. Installed once per map frame.
    """

    _template = jinja2.Template("""{% macro script(this, kwargs) %}
if (!window.__madoguchiOfficeKeys) {
  window.__madoguchiOfficeKeys = true;
  document.addEventListener("keydown", function (event) {
    var marker = event.target.closest && event.target.closest(".office-marker");
    if (marker && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      marker.click();
    }
  });
}
{% endmacro %}""")


class DocumentLanguage(branca.element.MacroElement):
    """Mark the map's frame as written in the interface language (``<html lang>``): the
    frame's own page says ``lang="en"`` (streamlit-folium), so the names of the markers were
    read with an English voice."""

    _template = jinja2.Template("""{% macro script(this, kwargs) %}
document.documentElement.lang = {{ this.language|tojson }};
{% endmacro %}""")

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language


def localised(groups: list[folium.FeatureGroup]) -> list[folium.FeatureGroup]:
    """Point the groups' JS/CSS at the vendored copies (no CDN requests)."""
    for group in groups:
        vendor_assets.localise(group)
    return groups


def _legend_row(symbol: str, label: str) -> str:
    """One legend line: a symbol (HTML) and its label (escaped here)."""
    return (f'<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
            f'{symbol}<span>{html.escape(label)}</span></div>')


LEGEND_FONT = "0.85rem"
PROJECTED_LEGEND_FONT = "1.15rem"
"""Legend type on screen, and on a projected 1920x1080 screen (18 px: read from the back of a
room)."""


def legend_html(rows: list[tuple[str, str]], title: str, *, font_size: str = LEGEND_FONT) -> str:
    """A compact HTML legend (labels escaped)."""
    items = "".join(
        _legend_row(f'<span style="display:inline-block;width:18px;height:12px;'
                    f'background:{colour};border:1px solid #888"></span>', label)
        for colour, label in rows)
    return f'<div style="font-size:{font_size}"><b>{html.escape(title)}</b>{items}</div>'


STORE_CLUSTER = ('<span style="display:inline-flex;align-items:center;justify-content:center;'
                 'width:18px;height:18px;border-radius:50%;background:rgba(110,204,57,0.8);'
                 'font-size:10px;font-weight:700">12</span>')
"""How Leaflet.markercluster draws a group of stores (a count in a green circle)."""


def office_legend_html(name_of_kind, offices: pd.DataFrame, *, stores: bool,
                       blank: bool, font_size: str = LEGEND_FONT) -> str:
    """Legend of what a map draws besides the zones: the kinds of office among ``offices``
    (``Result.offices``: ``kind``, ``state``), the closed / downgraded symbols when one is,
    and the stores and blank-district outlines when drawn."""
    drawn = offices[offices["state"] != "not in base"]
    items = "".join(_legend_row(symbol_img(office_symbol(kind, "open", size=18)),
                                name_of_kind(kind))
                    for kind in KIND_SHAPES if kind in set(drawn["kind"]))
    if drawn["state"].isin(["closed", "downgraded"]).any():
        items += _legend_row(symbol_img(office_symbol("general_branch", "closed", size=18))
                             + symbol_img(office_symbol("general_branch", "downgraded",
                                                        size=18)),
                             t("legend_state"))
    if stores:
        items += _legend_row(STORE_DOT, t("layer_stores"))
        items += _legend_row(STORE_CLUSTER, t("legend_store_cluster"))
    if blank:
        items += _legend_row('<span style="display:inline-block;width:18px;height:0;'
                             'border-top:3px dashed #d7191c"></span>', t("legend_blank"))
    return f'<div style="font-size:{font_size}">{items}</div>'
