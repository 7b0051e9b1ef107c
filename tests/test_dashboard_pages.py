"""The page scripts: no bare string or value a page would show by Streamlit's "magic"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

VIEWS = sorted((Path(__file__).resolve().parent.parent / "dashboard" / "views").glob("*.py"))


@pytest.mark.parametrize("page", VIEWS, ids=lambda path: path.name)
def test_a_page_script_shows_no_stray_value(page: Path):
    """Streamlit draws every bare expression of a page script: a constant's docstring there
    appeared on the 提案 page as an English developer note, and on the briefing page."""
    tree = ast.parse(page.read_text(encoding="utf-8"))
    stray = [node.lineno for node in tree.body[1:]
             if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call)]
    assert stray == [], f"{page.name}: bare expressions at lines {stray}"
