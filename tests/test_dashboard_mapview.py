"""Map layers of the dashboard: escaping, offline assets, colour scales (no server, no data)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard import mapview, vendor_assets

EVIL = '<img src=x onerror="alert(1)">'


def _walk(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _offices() -> pd.DataFrame:
    return pd.DataFrame({
        "office_id": ["a", "b"], "name_ja": [EVIL, "東区役所"], "name_en": [EVIL, "East"],
        "kind": ["branch", "ward_office"], "ward": ["<b>中央区</b>", "東区"],
        "address_ja": ["<script>x()</script>", ""], "precision": ["building", "building"],
        "counter_fy2015": [True, True], "counter_now": [False, True],
        "state": ["closed", "open"], "lat": [32.80, 32.79], "lon": [130.70, 130.75]})


def _render(group) -> str:
    fmap = mapview.folium.Map(tiles=None)
    group.add_to(fmap)
    return fmap.get_root().render()


def test_office_names_and_data_text_are_escaped_in_tooltips_and_popups():
    page = _render(mapview.office_group(_offices(), name_column="name_ja"))
    assert EVIL not in page
    assert "<script>x()" not in page
    assert "&lt;img src=x" in page
    assert "[a]" in page  # the id a click is mapped back with


def test_zone_tooltips_are_escaped():
    features = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"zone_id": "z1"},
        "geometry": {"type": "Polygon", "coordinates": [[[130.7, 32.8], [130.71, 32.8],
                                                         [130.71, 32.81], [130.7, 32.8]]]}}]}
    table = pd.DataFrame({"zone_id": ["z1"], "zone_name": [EVIL], "ward": ["中央区"],
                          "population": [10.0], "before_km": [1.0], "after_km": [math.inf],
                          "delta_km": [math.nan], "people_farther": [10.0],
                          "beyond_2km_after": [10.0]})
    page = _render(mapview.zone_group(features, table, colour_by="after", threshold_km=2))
    assert EVIL not in page
    assert mapview.UNREACHABLE in page


def test_district_tooltips_say_how_the_boundary_was_built():
    features = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"zone_id": "z1", "quality": "split-approx+filled"},
        "geometry": {"type": "Polygon", "coordinates": [[[130.7, 32.8], [130.71, 32.8],
                                                         [130.71, 32.81], [130.7, 32.8]]]}}]}
    table = pd.DataFrame({"zone_id": ["z1"], "zone_name": ["大江小"], "ward": ["中央区"],
                          "population": [10.0], "before_km": [1.0], "after_km": [2.0],
                          "delta_km": [1.0], "people_farther": [10.0],
                          "beyond_2km_after": [0.0]})
    group = mapview.zone_group(features, table, colour_by="after", threshold_km=2)
    layer = next(e for e in _walk(group) if isinstance(e, mapview.folium.GeoJson))
    quality = layer.data["features"][0]["properties"]["quality"]
    assert "分割した町丁を含む" in quality and "隣接校区に編入" in quality
    tooltip = next(e for e in _walk(layer) if isinstance(e, mapview.folium.GeoJsonTooltip))
    assert "quality" in tooltip.fields
    assert mapview.quality_text("") == ""


def test_markers_show_the_state_of_the_result_and_skip_offices_outside_the_base():
    offices = _offices().assign(state=["downgraded", "not in base"])
    page = _render(mapview.office_group(offices, name_column="name_en"))
    assert "office-downgraded office-id-a" in page
    assert "office-id-b" not in page  # not a counter of the base set: not drawn


def test_offices_near_each_other_are_drawn_apart():
    # a and b 111 m apart (0.001 degree of latitude); c about 10 km away
    offsets = mapview.marker_offsets(np.array([32.800, 32.801, 32.890]),
                                     np.array([130.70, 130.70, 130.70]), separation_px=16)
    assert offsets[0].tolist() == [0, -16]  # first of the pair above, second below
    assert offsets[1].tolist() == [0, 16]
    assert offsets[2].tolist() == [0, 0]


def test_a_chain_of_near_offices_is_one_group():
    # a-b and b-c are 1.0 km apart, a-c 2.0 km: one group of three on a circle of 10 px
    offsets = mapview.marker_offsets(np.array([32.80, 32.80, 32.80]),
                                     np.array([130.70, 130.7107, 130.7214]),
                                     near_m=1500, separation_px=10)
    assert offsets.tolist() == [[0, -10], [-9, 5], [9, 5]]


def test_localised_maps_link_no_external_asset():
    stores = pd.DataFrame({"store_id": ["s"], "name": ["<i>x</i>"], "brand": ["ローソン"],
                           "lat": [32.8], "lon": [130.7]})
    labels = pd.DataFrame({"ward": ["中央区"], "lat": [32.8], "lon": [130.7]})
    wards = {"type": "FeatureCollection", "features": []}
    fmap = mapview.base_map(wards, stores, show_tiles=False, ward_labels=labels)
    links = [url for element in _walk(fmap)
             for attribute in ("default_js", "default_css")
             for _, url in getattr(element, attribute, [])]
    assert links, "folium lists its assets"
    assert all(url.startswith(vendor_assets.STATIC_URL) for url in links), links
    assert any(url.endswith("leaflet.markercluster.js") for url in links)
    assert "<i>x</i>" not in fmap.get_root().render()


def _contrast_on_white(colour: str) -> float:
    """WCAG contrast ratio of an ``#rrggbb`` text colour on white."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_the_office_id_in_a_marker_tooltip_is_readable():
    """axe-core cannot judge it (the tooltip lies over the map), so its contrast is checked
    here: WCAG AA asks 4.5:1 for text of this size."""
    page = _render(mapview.office_group(_offices(), name_column="name_ja"))
    assert f"color:{mapview.OFFICE_ID_COLOUR}'>[a]" in page
    assert _contrast_on_white(mapview.OFFICE_ID_COLOUR) >= 4.5


def test_ward_labels_are_not_keyboard_stops():
    """A label is no button: Leaflet makes a marker a focusable button unless told not to."""
    labels = pd.DataFrame({"ward": ["中央区", "東区"], "lat": [32.8, 32.79],
                           "lon": [130.7, 130.75]})
    empty = pd.DataFrame({"store_id": [], "name": [], "brand": [], "lat": [], "lon": []})
    fmap = mapview.base_map({"type": "FeatureCollection", "features": []}, empty,
                            show_tiles=False, ward_labels=labels)
    markers = [element for element in _walk(fmap) if isinstance(element, mapview.folium.Marker)]
    assert len(markers) == 2
    assert all(marker.options.get("keyboard") is False for marker in markers)


def test_the_map_frame_says_the_interface_language():
    """streamlit-folium's frame says ``lang="en"``; the map sets the chosen language."""
    labels = pd.DataFrame({"ward": [], "lat": [], "lon": []})
    empty = pd.DataFrame({"store_id": [], "name": [], "brand": [], "lat": [], "lon": []})
    fmap = mapview.base_map({"type": "FeatureCollection", "features": []}, empty,
                            show_tiles=False, ward_labels=labels)
    assert 'document.documentElement.lang = "ja";' in fmap.get_root().render()


def test_no_tile_layer_by_default():
    labels = pd.DataFrame({"ward": [], "lat": [], "lon": []})
    empty = pd.DataFrame({"store_id": [], "name": [], "brand": [], "lat": [], "lon": []})
    fmap = mapview.base_map({"type": "FeatureCollection", "features": []}, empty,
                            show_tiles=False, ward_labels=labels)
    assert "tile.openstreetmap" not in fmap.get_root().render()


def test_every_localised_url_is_a_vendored_file():
    if vendor_assets.missing_files():
        pytest.skip("web assets not installed (python -m dashboard.vendor_assets)")
    for url in vendor_assets.local_urls().values():
        relative = url.removeprefix(vendor_assets.STATIC_URL + "/")
        assert (vendor_assets.VENDOR_DIR / relative).is_file(), url


def test_maps_open_on_the_bounds_of_the_wards():
    square = {"type": "Feature", "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[130.5, 32.6], [130.9, 32.6],
                                                               [130.9, 33.0], [130.5, 32.6]]]}}
    pair = {"type": "Feature", "properties": {},
            "geometry": {"type": "MultiPolygon",
                         "coordinates": [[[[130.4, 32.7], [130.6, 32.7], [130.6, 32.8],
                                           [130.4, 32.7]]]]}}
    wards = {"type": "FeatureCollection", "features": [square, pair]}
    assert mapview.feature_bounds(wards) == [[32.6, 130.4], [33.0, 130.9]]
    assert mapview.feature_bounds({"type": "FeatureCollection", "features": []}) is None


def _zones(population, after_km):
    return pd.DataFrame({"zone_id": ["a", "b"], "population": population,
                         "before_km": [1.0, 1.0], "after_km": after_km})


def test_the_zone_legend_lists_the_unreachable_and_empty_fills_only_when_drawn():
    scale = mapview.zone_values(_zones([10.0, 20.0], [1.0, 2.0]), "after", 2)[1]
    plain = mapview.legend_rows(scale, [_zones([10.0, 20.0], [1.0, 2.0])])
    assert [colour for colour, _ in plain] == list(scale.colours)
    both = mapview.legend_rows(scale, [_zones([10.0, 20.0], [1.0, 2.0]),
                                       _zones([0.0, 20.0], [1.0, math.inf])])
    assert [colour for colour, _ in both[-2:]] == [mapview.UNREACHABLE, mapview.NO_PEOPLE]
    # nobody lives where no counter is reached: no unreachable row
    empty = mapview.legend_rows(scale, [_zones([0.0, 20.0], [math.inf, 2.0])])
    assert [colour for colour, _ in empty[-1:]] == [mapview.NO_PEOPLE]
    assert mapview.UNREACHABLE not in [colour for colour, _ in empty]


def test_the_office_legend_lists_only_the_kinds_states_and_layers_drawn():
    offices = pd.DataFrame({"kind": ["ward_office", "branch", "annex"],
                            "state": ["open", "open", "not in base"]})

    def legend(**drawn):
        return mapview.office_legend_html(lambda kind: f"<{kind}>", offices, **drawn)

    bare = legend(stores=False, blank=False)
    assert "&lt;ward_office&gt;" in bare and "&lt;branch&gt;" in bare
    assert "annex" not in bare and "service_corner" not in bare  # not drawn
    assert bare.count("display:flex") == 2  # two kinds; no state, store or blank rows
    closed = offices.assign(state=["open", "closed", "open"])
    full = mapview.office_legend_html(str, closed, stores=True, blank=True)
    assert full.count("display:flex") == 3 + 1 + 2 + 1  # kinds, states, stores, blank


class _StatusBox:
    """Records what a ``st.status`` box is told."""

    def __init__(self, label: str) -> None:
        self.labels, self.lines, self.state = [label], [], "running"

    def update(self, *, label: str, state: str | None = None, expanded: bool = True) -> None:
        self.labels.append(label)
        self.state = state or self.state

    def write(self, line: str) -> None:
        self.lines.append(line)


class _Place:
    def __init__(self) -> None:
        self.boxes: list[_StatusBox] = []

    def status(self, label: str, *, expanded: bool) -> _StatusBox:
        self.boxes.append(_StatusBox(label))
        return self.boxes[-1]


def test_build_progress_names_each_part_and_its_seconds(monkeypatch):
    from dashboard import components

    clock = iter([100.0, 100.5, 103.0, 163.0, 164.0])
    monkeypatch.setattr(components.time, "monotonic", lambda: next(clock))
    place = _Place()
    progress = components.BuildProgress(place)
    progress.finish()  # nothing built: nothing drawn
    assert place.boxes == []
    for stage in ("cache", "network", "transit", "zones"):
        progress(stage)
    progress.finish()
    (box,) = place.boxes
    assert box.labels[1:] == ["準備中：前回の計算結果の読み込み…",
                              "準備中：道路網と窓口からの距離…",
                              "準備中：バス・電車の時刻表からの所要時間（1分ほどかかります）…",
                              "準備中：集計単位とコンビニまでの距離…",
                              "準備ができました（64 秒）"]
    assert box.lines == ["✓ 前回の計算結果の読み込み（0.5 秒）",
                         "✓ 道路網と窓口からの距離（2.5 秒）",
                         "✓ バス・電車の時刻表からの所要時間（1分ほどかかります）（60.0 秒）",
                         "✓ 集計単位とコンビニまでの距離（1.0 秒）"]
    assert box.state == "complete"


def test_table_cells_never_read_none():
    import numpy as np
    import pandas as pd

    from dashboard.components import cell_text

    assert [cell_text(v) for v in (None, np.nan, pd.NA, float("inf"))] == ["—"] * 4
    assert [cell_text(v) for v in (740171, np.int64(8751), 1.96, np.float32(0.5))] == [
        "740,171", "8,751", "1.96", "0.5"]
    assert [cell_text(v) for v in (True, np.bool_(False), "大江出張所")] == ["✓", "", "大江出張所"]
