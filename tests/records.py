"""Saved scenarios for tests, written as flat fields (the question's and the record's)."""

from __future__ import annotations

from typing import Any

from geo import question
from geo.saved import SavedScenario


def record(**fields: Any) -> SavedScenario:
    """A ``SavedScenario`` of a ``Question`` of the question's fields and the other fields."""
    asked = {name: value for name, value in fields.items() if name in question.FIELDS}
    rest = {name: value for name, value in fields.items() if name not in asked}
    return SavedScenario(question=question.Question(**asked), **rest)
