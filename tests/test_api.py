"""The library's public surface."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geo


def test_import_geo_does_not_import_streamlit_or_folium():
    code = ("import sys, geo, geo.cli, geo.engine; "
            "bad = [m for m in ('streamlit', 'folium', 'streamlit_folium') if m in sys.modules]; "
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_import_geo_gives_every_library_module():
    """``import geo; geo.study`` works in a fresh interpreter, for every module but the entry
    points and the printed pages' report (they are imported by name)."""
    by_name = {"cli", "bench", "bench_optimise", "report"}
    modules = sorted(path.stem for path in Path(geo.__file__).parent.glob("*.py")
                     if not path.stem.startswith("_") and path.stem not in by_name)
    code = "import geo; " + "; ".join(f"geo.{name}" for name in modules)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(geo.__file__).parents[1], check=False)
    assert result.returncode == 0, result.stderr


def test_errors_are_value_errors():
    for name in ("DataMissingError", "LayerError", "CRSError", "UnknownOfficeError",
                 "UnreachableError"):
        assert issubclass(getattr(geo.errors, name), ValueError)


def test_version_is_exposed():
    assert isinstance(geo.__version__, str) and geo.__version__
