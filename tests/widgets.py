"""Find a dashboard widget in an AppTest run by the session value it is bound to.

``dashboard.state.bind`` gives a widget one key per way it is drawn
(``<name>__<lang>__<digest>``), so tests look a widget up by its bound name and language.
"""

from __future__ import annotations

import re
from typing import Any


def bound(widgets: Any, name: str, lang: str = "ja") -> Any:
    """The one widget of ``widgets`` (e.g. ``at.radio``) bound to session value ``name``."""
    prefix = f"{name}__{lang}__"
    found = [widget for widget in widgets if (widget.key or "").startswith(prefix)]
    if len(found) != 1:
        keys = [widget.key for widget in widgets]
        msg = f"expected one widget bound to {name!r} in {lang}, found {len(found)} among {keys}"
        raise AssertionError(msg)
    return found[0]


def as_shown(markdown: str) -> str:
    """The text a Markdown element shows: backslash escapes (``plain_markdown``) removed."""
    return re.sub(r"\\(.)", r"\1", markdown)
