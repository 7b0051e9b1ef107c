"""A scenario in a link: the URL query parameters that reopen a view or a saved scenario.

``to_query_params`` / ``from_query_params`` put a ``geo.saved.SavedScenario`` (or a saved
name and version, ``SavedRef``) into a URL and read it back, checked as a saved scenario is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SavedScenarioError
from .saved import _LIST_FIELDS, MAX_VERSION, SavedScenario, _shown, normalise_name, parse_json


@dataclass(frozen=True)
class SavedRef:
    """A saved scenario named in a URL: its name and version (``None``: the latest)."""

    name: str
    version: int | None = None


_SAVED_KEYS = ("saved", "version")
_QUERY_KEYS = {"name": "name", "base": "base", "close": "closed", "downgrade": "downgraded",
               "measure": "measure", "stores": "store_source", "network": "network",
               "mode": "mode", "share": "store_share", "title": "briefing_title",
               "note": "note", "author": "author", "phases": "phases"}
"""URL parameter -> ``SavedScenario`` field."""


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
            params[key] = repr(value) if name == "store_share" else value
    return params


def from_query_params(params: Mapping[str, Any]) -> SavedScenario | SavedRef | None:
    """Read a scenario, or a saved name and version, back from URL query parameters.

    Parameters the app uses for other things are ignored. Returns ``None`` when there is
    no scenario parameter at all.

    Raises
    ------
    SavedScenarioError
        A value is malformed or invalid, or both a saved name and scenario fields are given.
    """
    ours = {key: value for key, value in params.items() if key in _QUERY_KEYS or key in _SAVED_KEYS}
    bad = sorted(key for key, value in ours.items() if not isinstance(value, str))
    if bad:
        raise SavedScenarioError(f"URL parameter(s) {', '.join(bad)} must be text")
    if not ours:
        return None
    if "saved" in ours or "version" in ours:
        return _saved_ref(ours)
    values: dict[str, Any] = {}
    for key, text in ours.items():
        name = _QUERY_KEYS[key]
        if name in _LIST_FIELDS:
            values[name] = [part.strip() for part in text.split(",") if part.strip()]
        elif name == "phases":
            values[name] = parse_json(text, "URL parameter phases")
        elif name == "store_share":
            values[name] = _float_param(text)
        else:
            values[name] = text
    return SavedScenario.from_dict(values)


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



def _float_param(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SavedScenarioError(f"URL parameter share is not a number: {text[:80]!r}") from None
