"""geo.colours: the classes of the map scales and the value each zone is coloured by."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from geo import colours


def test_colour_scale_classes_and_values():
    scale = colours.DISTANCE_SCALE
    assert scale.colour(0.4) == scale.colours[0] and scale.colour(1.0) == scale.colours[0]
    assert scale.colour(1.01) == scale.colours[1] and scale.colour(9.0) == scale.colours[-1]
    assert scale.colour(float("nan")) == colours.UNREACHABLE_COLOUR
    assert scale.colour(math.inf) == colours.UNREACHABLE_COLOUR
    assert [label for _, label in scale.classes()] == [
        "0–1 km", "1–2 km", "2–3 km", "3–5 km", "5–8 km", "> 8 km"]
    assert colours.CHANGE_SCALE.colour(0.0) == colours.CHANGE_SCALE.zero_colour
    assert colours.CHANGE_SCALE.classes()[0] == ("#eeeeee", "0 km")


ROAD = pd.DataFrame({"zone_id": ["a", "b"], "population": [100.0, 0.0],
                     "before_km": [1.5, 2.5], "after_km": [3.5, 2.0],
                     "beyond_2km_after": [100.0, 0.0]}, index=[7, 8])


def test_road_tables_are_coloured_by_km():
    values, scale = colours.zone_colouring(ROAD, "after")
    assert values.tolist() == [3.5, 2.0] and list(values.index) == [7, 8]
    assert scale is colours.DISTANCE_SCALE
    increase, scale = colours.zone_colouring(ROAD, "change")
    assert increase.tolist() == [2.0, 0.0]  # a decrease is drawn as no change
    assert scale is colours.CHANGE_SCALE
    share, scale = colours.zone_colouring(ROAD, "beyond", threshold_km=2)
    assert share.iloc[0] == 100.0 and math.isnan(share.iloc[1])  # nobody lives in b
    assert scale is colours.SHARE_SCALE


def test_transit_tables_are_coloured_by_minutes_in_the_pages_word():
    table = ROAD.assign(transit_before_min=[25.0, 50.0], transit_after_min=[47.0, 50.0],
                        transit_beyond_30min_after=[100.0, 0.0],
                        transit_beyond_45min_after=[40.0, 0.0])
    values, scale = colours.zone_colouring(table, "before", minutes_word="分")
    assert values.tolist() == [25.0, 50.0]
    assert scale.edges == colours.MINUTES_SCALE.edges and scale.unit == "分"
    assert scale.classes()[0][1] == "0–10 分"
    assert scale.colour(47.0) == colours.MINUTES_SCALE.colours[4]  # 45–60
    increase, scale = colours.zone_colouring(table, "change")
    assert increase.tolist() == [22.0, 0.0] and scale.unit == "min"
    assert scale.colour(22.0) == colours.MINUTE_CHANGE_SCALE.colours[-1]  # > 20
    share, _ = colours.zone_colouring(table, "beyond", threshold_km=5)  # 45 minutes
    assert share.iloc[0] == 40.0


def test_an_unknown_colouring_is_refused():
    with pytest.raises(ValueError, match="unknown colouring 'farther'"):
        colours.zone_colouring(ROAD, "farther")


# -- colour-vision deficiencies ---------------------------------------------------------------
# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of
# color vision deficiency", IEEE TVCG 15(6): severity 1.0 matrices, applied to linear RGB.
MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
D65 = np.array([0.95047, 1.0, 1.08883])
PRINTED_SCALES = {"distance": colours.DISTANCE_SCALE, "change": colours.CHANGE_SCALE,
                  "share": colours.SHARE_SCALE, "minutes": colours.MINUTES_SCALE,
                  "minute_change": colours.MINUTE_CHANGE_SCALE}


def _lab(hex_colour: str, vision: str) -> np.ndarray:
    """CIELAB (D65) of a colour as seen with ``vision`` (normal or a MACHADO_2009 key)."""
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    if vision != "normal":
        linear = np.clip(MACHADO_2009[vision] @ linear, 0.0, 1.0)
    t = (SRGB_TO_XYZ @ linear) / D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a: str, b: str, vision: str) -> float:
    return float(np.linalg.norm(_lab(a, vision) - _lab(b, vision)))


def test_the_simulation_is_sound():
    # greys stay grey (each matrix row sums to 1), and matplotlib's red and green are far
    # apart for normal vision but close for a deuteranope
    for matrix in MACHADO_2009.values():
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-5)
    assert _delta_e("#808080", "#808080", "deuteranopia") == 0.0
    assert _delta_e("#d62728", "#2ca02c", "normal") > 100
    assert _delta_e("#d62728", "#2ca02c", "deuteranopia") < colours.CVD_MIN_DELTA_E
    # the distance scale's old lightest class was too close to the next for protanopes
    assert _delta_e("#ffffcc", "#c7e9b4", "protanopia") < colours.CVD_MIN_DELTA_E


@pytest.mark.parametrize("vision", ["normal", "protanopia", "deuteranopia"])
@pytest.mark.parametrize("name", sorted(PRINTED_SCALES))
def test_neighbouring_classes_stay_apart_for_colour_blind_readers(name, vision):
    """Each class differs from the next, and from the unreachable colour, by at least
    CVD_MIN_DELTA_E (CIE76) under simulated protanopia and deuteranopia."""
    rows = PRINTED_SCALES[name].classes()
    hexes = [colour for colour, _ in rows]
    for (a, label_a), (b, label_b) in itertools.pairwise(rows):
        difference = _delta_e(a, b, vision)
        assert difference >= colours.CVD_MIN_DELTA_E, (label_a, label_b, round(difference, 1))
    nearest = min(_delta_e(colour, colours.UNREACHABLE_COLOUR, vision) for colour in hexes)
    assert nearest >= colours.CVD_MIN_DELTA_E


def test_every_class_is_named_in_words():
    for scale in PRINTED_SCALES.values():
        labels = [label for _, label in scale.classes()]
        assert all(label.strip() for label in labels)
        assert len(set(labels)) == len(labels)  # no two classes share a name


def test_transit_thresholds_read_the_headline_km_as_minutes():
    assert [colours.transit_threshold_min(km) for km in (2, 5)] == [30, 45]
    with pytest.raises(ValueError, match="3 km"):
        colours.transit_threshold_min(3)
