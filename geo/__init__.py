"""madoguchi's geography library: layers, road graphs, distances and closure scenarios."""

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from . import cartography as cartography
from . import colours as colours
from . import demand as demand
from . import distance as distance
from . import districts as districts
from . import engine as engine
from . import errors as errors
from . import exchange as exchange
from . import fetch as fetch
from . import graph as graph
from . import gtfs as gtfs
from . import instant as instant
from . import io as io
from . import labels as labels
from . import layers as layers
from . import links as links
from . import network_check as network_check
from . import optimise as optimise
from . import prepare as prepare
from . import provenance as provenance
from . import question as question
from . import reorganisation as reorganisation
from . import saved as saved
from . import scenarios as scenarios
from . import scenariostore as scenariostore
from . import settings as settings
from . import stores as stores
from . import study as study
from . import studycache as studycache
from . import towns as towns
from . import transit as transit
from . import zones as zones

# The renderers of the printed pages need matplotlib: they are imported on first use
# (``geo.briefing`` or ``from geo import leaflets``) so that ``import geo`` stays free of
# plotting libraries.
_LAZY_MODULES = frozenset({"briefing", "leaflets"})


def __getattr__(name: str) -> object:
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


try:
    __version__ = _version("madoguchi")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
