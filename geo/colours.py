"""Binned colour scales shared by the dashboard's maps and the printed briefing pages.

Kept apart from ``geo.briefing`` (which needs matplotlib) so the dashboard can draw with the
same classes and colours without loading a plotting library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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


DISTANCE_SCALE = ColourScale((1, 2, 3, 5, 8), ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4",
                                               "#2c7fb8", "#253494"), "km")
"""Road distance to the nearest counter, km (maps before and after)."""
CHANGE_SCALE = ColourScale((0.5, 1, 2, 5), ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26",
                                            "#a50f15"), "km", zero_colour="#eeeeee")
"""Increase in distance, km (decreases are drawn as zero)."""
SHARE_SCALE = ColourScale((10, 25, 50, 75), ("#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1",
                                             "#54278f"), "%", zero_colour="#f2f0f7")
"""Share of residents beyond a distance, per cent."""
