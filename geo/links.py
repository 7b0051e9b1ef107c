"""A scenario in a link: the URL query parameters that reopen a view or a saved scenario.

``to_query_params`` / ``from_query_params`` put a ``geo.saved.SavedScenario`` (its
``geo.question.Question`` and record fields) or a saved name and version (``SavedRef``)
into a URL and read it back (``Link``), checked as a saved scenario is. A link spells out
only what differs from the default question, so a field it lacks is the default, also in
links written before that field existed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import SavedScenarioError
from .saved import _LIST_FIELDS, MAX_VERSION, SavedScenario, _shown, normalise_name, parse_json


@dataclass(frozen=True)
class SavedRef:
    """A saved scenario named in a URL: its name and version (``None``: the latest)."""

    name: str
    version: int | None = None


@dataclass(frozen=True)
class Link:
    """What a URL says about the view.

    Attributes
    ----------
    saved
        A saved scenario's name and version, when the URL names one.
    scenario
        Otherwise the scenario it spells out (its question, name, title, note, author,
        phases), or None when it has no scenario parameter.
    ignored
        Parameters neither a scenario nor the app (``view_keys``) knows, ignored: the
        page says so.
    """

    saved: SavedRef | None = None
    scenario: SavedScenario | None = None
    ignored: tuple[str, ...] = ()


_SAVED_KEYS = ("saved", "version")
_QUESTION_KEYS = {"base": "base", "close": "closed", "downgrade": "downgraded",
                  "measure": "measure", "zones": "zones", "stores": "store_source",
                  "share": "store_share", "reading": "reading", "network": "network",
                  "mode": "mode", "walk": "walk_kmh"}
"""URL parameter -> ``Question`` field."""
_RECORD_KEYS = {"name": "name", "title": "briefing_title", "note": "note", "author": "author",
                "phases": "phases"}
"""URL parameter -> ``SavedScenario`` field besides the question."""
_QUERY_KEYS = _QUESTION_KEYS | _RECORD_KEYS
_NUMBERS = ("store_share", "walk_kmh")


def to_query_params(scenario: SavedScenario | SavedRef) -> dict[str, str]:
    """Return the URL query parameters that reopen ``scenario``.

    A ``SavedRef`` gives ``saved`` (and ``version``); a scenario gives ``base`` and every
    field that differs from its default (id lists comma-separated, phases as JSON).
    """
    if isinstance(scenario, SavedRef):
        params = {"saved": scenario.name}
        if scenario.version is not None:
            params["version"] = str(scenario.version)
        return params
    values, defaults = scenario.to_dict(), SavedScenario().to_dict()
    params = {}
    for key, name in _QUERY_KEYS.items():
        value = values[name]
        if value == defaults[name] and name != "base":
            continue
        if name in _LIST_FIELDS:
            params[key] = ",".join(value)
        elif name == "phases":
            params[key] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            params[key] = repr(value) if name in _NUMBERS else value
    return params


def from_query_params(params: Mapping[str, str | Sequence[str]], *,
                      view_keys: Iterable[str] = ()) -> Link:
    """Read a scenario, or a saved name and version, back from URL query parameters.

    Parameters
    ----------
    params
        Parameter -> value, or every value of a parameter (``st.query_params.get_all``).
    view_keys
        Parameters the app uses for its own view (not a scenario's); any other unknown
        parameter is reported in ``Link.ignored``.

    Raises
    ------
    SavedScenarioError
        A value is malformed or invalid, a parameter is given twice, or both a saved name
        and scenario fields are given.
    """
    single: dict[str, str] = {}
    for key, value in params.items():
        given = [value] if isinstance(value, str) else list(value)
        if len(given) > 1:
            msg = (f"URL parameter {_shown(key)} is given {len(given)} times; give it once "
                   f"(ids together, comma-separated)")
            raise SavedScenarioError(msg)
        if given:
            single[key] = given[0]
    known = set(_QUERY_KEYS) | set(_SAVED_KEYS) | set(view_keys)
    ignored = tuple(sorted(key for key in single if key not in known))
    ours = {key: value for key, value in single.items() if key in _QUERY_KEYS or key in _SAVED_KEYS}
    bad = sorted(key for key, value in ours.items() if not isinstance(value, str))
    if bad:
        raise SavedScenarioError(f"URL parameter(s) {', '.join(bad)} must be text")
    if not ours:
        return Link(ignored=ignored)
    if "saved" in ours or "version" in ours:
        return Link(saved=_saved_ref(ours), ignored=ignored)
    values: dict[str, Any] = {}
    for key, text in ours.items():
        name = _QUERY_KEYS[key]
        if name in _LIST_FIELDS:
            values[name] = [part.strip() for part in text.split(",") if part.strip()]
        elif name == "phases":
            values[name] = parse_json(text, "URL parameter phases")
        elif name in _NUMBERS:
            values[name] = _float_param(key, text)
        else:
            values[name] = text
    scenario = SavedScenario.from_dict(values)
    return Link(scenario=dataclasses.replace(scenario, defaulted=()), ignored=ignored)


def _saved_ref(params: Mapping[str, str]) -> SavedRef:
    extra = sorted(set(params) - set(_SAVED_KEYS))
    if extra:
        msg = f"URL names a saved scenario and also scenario fields ({', '.join(extra)})"
        raise SavedScenarioError(msg)
    name = normalise_name(params.get("saved", ""))
    if not name:
        raise SavedScenarioError("URL parameter 'version' needs 'saved' (the scenario name)")
    text = params.get("version")
    if text is None:
        return SavedRef(name)
    if (not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_VERSION))
            or not 1 <= int(text) <= MAX_VERSION):
        msg = (f"URL parameter version must be a whole number from 1 to {MAX_VERSION:,}, "
               f"not {_shown(text)}")
        raise SavedScenarioError(msg)
    return SavedRef(name, int(text))



def _float_param(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SavedScenarioError(f"URL parameter {key} is not a number: {text[:80]!r}") from None
