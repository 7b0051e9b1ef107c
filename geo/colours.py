"""Binned colour scales shared by the dashboard's maps and the printed briefing pages, and
the value each zone is coloured by.

Kept apart from ``geo.briefing`` (which needs matplotlib) so the dashboard can draw with the
same classes and colours without loading a plotting library.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .scenarios import HEADLINE_THRESHOLDS_KM, HEADLINE_THRESHOLDS_MIN

UNREACHABLE_COLOUR = "#2b2b2b"
"""Zones where some residents reach no counter (the same on screen and on paper)."""


@dataclass(frozen=True)
class ColourScale:
    """A binned colour scale shared by the dashboard map and the printed pages.

    Attributes
    ----------
    edges
        Upper bounds of the classes but the last; ``len(colours) == len(edges) + 1``.
    colours
        Hex colours, lowest class first.
    unit
        Shown after the numbers in the legend (``km``, ``%``).
    zero_colour
        Colour of exactly zero (no change, nobody beyond), its own class; None for none.
    """

    edges: tuple[float, ...]
    colours: tuple[str, ...]
    unit: str
    zero_colour: str | None = None

    def colour(self, value: float | None) -> str:
        """The colour of one value (``UNREACHABLE_COLOUR`` for NaN, inf or None)."""
        if value is None or not math.isfinite(value):
            return UNREACHABLE_COLOUR
        if self.zero_colour is not None and abs(value) < 1e-9:
            return self.zero_colour
        return self.colours[int(np.searchsorted(self.edges, value, side="left"))]

    def in_unit(self, unit: str) -> ColourScale:
        """The same classes and colours with another unit word (``分`` for ``min``)."""
        return dataclasses.replace(self, unit=unit)

    def classes(self) -> list[tuple[str, str]]:
        """Legend rows, ``(colour, label)``, lowest first: ``0–1 km`` ... ``> 8 km``."""
        rows = [(self.zero_colour, f"0 {self.unit}")] if self.zero_colour is not None else []
        lower, upper = [0.0, *self.edges], [*self.edges, None]
        for colour, low, high in zip(self.colours, lower, upper, strict=True):
            label = (f"{_bound(low)}–{_bound(high)} {self.unit}" if high is not None
                     else f"> {_bound(low)} {self.unit}")
            rows.append((colour, label))
        return rows


def _bound(value: float) -> str:
    return f"{value:g}" if value < 1 or value == int(value) else f"{value:.1f}"


DISTANCE_SCALE = ColourScale((1, 2, 3, 5, 8), ("#ffffd9", "#c7e9b4", "#7fcdbb", "#41b6c4",
                                               "#2c7fb8", "#253494"), "km")
"""Road distance to the nearest counter, km (maps before and after): ColorBrewer YlGnBu,
its lightest class from the 9-class scheme so that the first two classes stay apart for
readers with protanopia or deuteranopia (``CVD_MIN_DELTA_E``)."""
CHANGE_SCALE = ColourScale((0.5, 1, 2, 5), ("#fdd0c2", "#fcae91", "#fb6a4a", "#de2d26",
                                            "#a50f15"), "km", zero_colour="#eeeeee")
"""Increase in distance, km (decreases are drawn as zero): ColorBrewer Reds, its lightest
class darkened from #fee5d9, which protanopes could not tell from the grey of zero."""
SHARE_SCALE = ColourScale((10, 25, 50, 75), ("#d4d4e8", "#b0afd4", "#8f8ac0", "#6a51a3",
                                             "#4a1486"), "%", zero_colour="#f2f0f7")
"""Share of residents beyond a distance, per cent: ColorBrewer Purples, spaced wider than the
5-class scheme so that neighbouring classes stay apart (``CVD_MIN_DELTA_E``)."""
CVD_MIN_DELTA_E = 10.0
"""Smallest CIE76 colour difference (ΔE*ab) between neighbouring classes of a scale, and
between any class and the unreachable colour, for normal vision and under simulated
protanopia and deuteranopia (Machado et al. 2009, full severity): about four times the
just-noticeable difference of 2.3, so that classes stay apart on a printed map. Checked in
tests/test_colours.py."""
MINUTES_SCALE = ColourScale((10, 20, 30, 45, 60), DISTANCE_SCALE.colours, "min")
"""Minutes to the nearest counter by bus/tram and on foot (transit mode)."""
MINUTE_CHANGE_SCALE = ColourScale((2, 5, 10, 20), CHANGE_SCALE.colours, "min",
                                  zero_colour=CHANGE_SCALE.zero_colour)
"""Added minutes (transit mode; decreases are drawn as zero)."""
TRANSIT_THRESHOLD_MIN = dict(zip(HEADLINE_THRESHOLDS_KM, HEADLINE_THRESHOLDS_MIN, strict=True))
"""In transit mode each headline threshold in km (2, 5) reads as minutes (30, 45)."""
COLOUR_BY = ("before", "after", "change", "beyond")


def transit_threshold_min(threshold_km: float) -> int:
    """The minutes a headline threshold in km reads as in transit mode (2 km -> 30 min).

    Raises
    ------
    ValueError
        For a distance that is not a headline threshold (``HEADLINE_THRESHOLDS_KM``).
    """
    if threshold_km not in TRANSIT_THRESHOLD_MIN:
        known = ", ".join(f"{km} km" for km in TRANSIT_THRESHOLD_MIN)
        msg = f"no transit threshold for {threshold_km:g} km; choose {known}"
        raise ValueError(msg)
    return TRANSIT_THRESHOLD_MIN[int(threshold_km)]


def in_minutes(table: pd.DataFrame) -> bool:
    """Whether a zone table holds minutes by bus/tram and on foot (``geo.study.evaluate``
    in transit mode), which are then what its maps, legends and tables show."""
    return "transit_after_min" in table.columns


def travel_columns(table: pd.DataFrame) -> tuple[str, str]:
    """The zone table's columns of travel to the nearest counter, before and after: the
    transit minutes when ``in_minutes``, else road km."""
    if in_minutes(table):
        return "transit_before_min", "transit_after_min"
    return "before_km", "after_km"


def zone_colouring(table: pd.DataFrame, colour_by: str, *, threshold_km: float = 2,
                   minutes_word: str = "min") -> tuple[pd.Series, ColourScale]:
    """The value each zone is coloured by, and its scale.

    A zone table with transit columns (``geo.study.evaluate`` in transit mode) is coloured
    by minutes by bus/tram and on foot; any other by road km.

    Parameters
    ----------
    table
        A zone table: ``before_km``, ``after_km``, ``population`` and
        ``beyond_<k>km_after``, or the ``transit_`` minute columns.
    colour_by
        ``before``, ``after``, ``change`` (the increase; decreases are zero) or ``beyond``
        (per cent of residents beyond ``threshold_km``, or its minutes in transit mode).
    threshold_km
        2 or 5 (km); 30 or 45 minutes in transit mode (``TRANSIT_THRESHOLD_MIN``).
    minutes_word
        Unit word of the minute scales' legend (``分`` on Japanese pages).

    Returns
    -------
    values : pandas.Series
        Aligned with ``table``'s index; NaN or inf where no counter is reachable.
    scale : ColourScale
    """
    if colour_by not in COLOUR_BY:
        msg = f"unknown colouring {colour_by!r}; choose from {', '.join(COLOUR_BY)}"
        raise ValueError(msg)
    before, after = (table[column] for column in travel_columns(table))
    if in_minutes(table):
        level, change = MINUTES_SCALE.in_unit(minutes_word), \
            MINUTE_CHANGE_SCALE.in_unit(minutes_word)
        minutes = transit_threshold_min(threshold_km)
        beyond = f"transit_beyond_{minutes}min_after"
    else:
        level, change = DISTANCE_SCALE, CHANGE_SCALE
        beyond = f"beyond_{threshold_km:g}km_after"
    if colour_by in ("before", "after"):
        return (before if colour_by == "before" else after), level
    if colour_by == "change":
        return (after - before).clip(lower=0), change
    share = 100.0 * table[beyond] / table["population"].where(table["population"] > 0)
    return share, SHARE_SCALE
