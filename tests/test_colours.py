"""geo.colours: the classes of the map scales and the value each zone is coloured by."""

from __future__ import annotations

import math

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
