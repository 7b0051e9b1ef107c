"""Shared fixtures: the real data bundle (skipped when absent) and the engine built on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from geo.settings import DATA_ENV_VAR


@pytest.fixture(scope="session")
def bundle_dir() -> Path:
    """The real Kumamoto bundle named by MADOGUCHI_DATA; skip the test when it is not set."""
    value = os.environ.get(DATA_ENV_VAR)
    if not value or not (Path(value) / "offices" / "offices.csv").is_file():
        pytest.skip(f"{DATA_ENV_VAR} does not point at the Kumamoto data bundle")
    return Path(value)


@pytest.fixture(scope="session")
def engine(bundle_dir: Path):
    """The coverage engine built once from the real bundle (MLIT roads, union stores)."""
    from geo.engine import load_engine

    return load_engine(bundle_dir)


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """File name -> bytes of every download button an AppTest run draws."""
    from streamlit.elements.widgets import button

    captured: dict[str, bytes] = {}
    original = button.marshall_file

    def capture(coordinates, data, proto, mimetype, file_name=None, **kwargs):
        captured[file_name] = data() if callable(data) else data
        return original(coordinates, data, proto, mimetype, file_name, **kwargs)

    monkeypatch.setattr(button, "marshall_file", capture)
    return captured


@pytest.fixture
def wards():
    """One ward (中央区, EPSG:6670) around the 1 km squares of the printed-page tests
    (test_briefing, test_leaflets)."""
    import geopandas as gpd
    from shapely.geometry import box

    return gpd.GeoDataFrame({"ward": ["中央区"]},
                            geometry=[box(-27_100, -20_100, -23_900, -18_900)],
                            crs="EPSG:6670")
