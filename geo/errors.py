"""Error types raised by the madoguchi library.

Every error subclasses ``ValueError`` so a caller can catch bad input in one place,
and carries a message that names the file, row and problem where there is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .saved import PhaseProblem


class MadoguchiError(ValueError):
    """Base class of every error raised by ``geo``."""


class DataMissingError(MadoguchiError):
    """The data directory or one of its files is absent."""


class LayerError(MadoguchiError):
    """A layer file is present but its content is invalid."""


class CRSError(LayerError):
    """A layer has no coordinate reference system, or the wrong one."""


class InputTooLargeError(LayerError):
    """A layer file exceeds the stated size limit (bytes per file or features per layer)."""


class OutputError(MadoguchiError):
    """An output path would overwrite input data or an existing file of another format."""


class UnknownOfficeError(MadoguchiError):
    """An office id does not exist in the office register."""


class UnreachableError(MadoguchiError):
    """No open facility can be reached from an origin."""


class FetchError(MadoguchiError):
    """Downloading or unpacking an open-data source failed."""


class PoorFitError(MadoguchiError):
    """The demand model fits the observed counts too poorly to predict from."""


class FontMissingError(MadoguchiError):
    """No font able to draw Japanese text is installed, or none a PDF can embed so that
    every viewer draws it (TrueType outlines; Debian: fonts-morisawa-bizud-gothic)."""


class InfeasibleError(MadoguchiError):
    """No set of counters satisfies a location model (e.g. a cover that cannot be reached)."""


class SiteError(MadoguchiError):
    """A candidate site for a new counter is unusable (e.g. outside the city)."""


class FeedError(MadoguchiError):
    """A GTFS feed is missing a required file or holds unreadable values."""


class QuestionError(MadoguchiError):
    """A planner's question (``geo.question.Question``) has an invalid field."""


class SavedScenarioError(MadoguchiError):
    """A saved scenario, export file or URL is invalid, or names no saved scenario."""


class PhasePlanError(SavedScenarioError):
    """A step of a phased plan goes back: ``problems`` holds each (``geo.saved.PhaseProblem``)
    for a message in the reader's language."""

    def __init__(self, problems: Sequence[PhaseProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid phased plan: " + "; ".join(map(str, self.problems)))


class ScenarioNotFoundError(SavedScenarioError):
    """No saved scenario (or version) has the requested name (or number)."""


class ScenarioStoreError(MadoguchiError):
    """The scenario database cannot be opened or written."""
