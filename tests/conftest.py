"""Shared fixtures: the real data bundle (skipped when absent) and the engine built on it."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture
def bundle_copy(bundle_dir: Path, tmp_path: Path):
    """Make a data directory of links to the bundle's files, with real copies of the files
    named (relative paths) to edit: ``bundle_copy("offices/offices.csv")``."""
    def make(*copies: str) -> Path:
        data = tmp_path / "data"
        for source in bundle_dir.rglob("*"):
            if source.is_file():
                relative = source.relative_to(bundle_dir)
                target = data / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if relative.as_posix() in copies:
                    shutil.copy(source, target)
                else:
                    target.symlink_to(source)
        return data

    return make


@pytest.fixture(scope="session")
def engine(bundle_dir: Path):
    """The coverage engine built once from the real bundle (MLIT roads, union stores)."""
    from geo.engine import load_engine

    return load_engine(bundle_dir)


class _Downloads(dict):
    """File name -> bytes of the download buttons drawn; a file made on click (a callable)
    is made when read, after the run, as the server makes it: outside the script run."""

    def __getitem__(self, name: str) -> bytes:
        data = super().__getitem__(name)
        return data() if callable(data) else data


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """File name -> bytes of every download button an AppTest run draws."""
    from streamlit.elements.widgets import button

    captured = _Downloads()
    original = button.marshall_file

    def capture(coordinates, data, proto, mimetype, file_name=None, **kwargs):
        captured[file_name] = data
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
