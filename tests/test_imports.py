"""``import geo`` stays free of the UI and plotting libraries (checked in a fresh interpreter)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_loaded_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in run.stdout.split()}


@pytest.mark.parametrize("heavy", ["streamlit", "matplotlib"])
def test_import_geo_does_not_load(heavy):
    assert heavy not in _modules_loaded_after("import geo, geo.study, geo.cli")


def test_briefing_loads_matplotlib_on_first_use():
    loaded = _modules_loaded_after("import geo\ngeo.briefing.render_briefing")
    assert "matplotlib" in loaded
    assert "streamlit" not in loaded
