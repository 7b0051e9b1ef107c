"""The library's public surface."""

from __future__ import annotations

import subprocess
import sys

import geo


def test_import_geo_does_not_import_streamlit_or_folium():
    code = ("import sys, geo, geo.cli, geo.engine; "
            "bad = [m for m in ('streamlit', 'folium', 'streamlit_folium') if m in sys.modules]; "
            "print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_errors_are_value_errors():
    for name in ("DataMissingError", "LayerError", "CRSError", "UnknownOfficeError",
                 "UnreachableError"):
        assert issubclass(getattr(geo.errors, name), ValueError)


def test_version_is_exposed():
    assert isinstance(geo.__version__, str) and geo.__version__
