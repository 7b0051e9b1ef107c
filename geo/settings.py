"""Locate the data directory and the cache directory."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "MADOGUCHI_DATA"
CACHE_ENV_VAR = "MADOGUCHI_CACHE"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "bundle"
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".cache"
PROJECT_DATA_DIR = PROJECT_ROOT / "data"
"""Files the project writes itself from facts (office register extras, counts)."""


def data_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory holding the public Kumamoto bundle.

    Parameters
    ----------
    path
        An explicit directory. When omitted, the environment variable
        ``MADOGUCHI_DATA`` is used, and failing that the git-ignored folder
        ``data/bundle`` inside the project.

    Returns
    -------
    pathlib.Path
        The directory (not checked for existence: see ``geo.layers.check_bundle``).
    """
    if path is not None:
        return Path(path).expanduser()
    env = os.environ.get(DATA_ENV_VAR)
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR


def cache_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """Return the (writable) cache directory, creating it when needed.

    The bundle directory may be read-only, so built graphs and downloads are
    cached separately: ``path``, else ``MADOGUCHI_CACHE``, else ``.cache`` in the project.
    """
    if path is not None:
        chosen = Path(path).expanduser()
    else:
        env = os.environ.get(CACHE_ENV_VAR)
        chosen = Path(env).expanduser() if env else DEFAULT_CACHE_DIR
    chosen.mkdir(parents=True, exist_ok=True)
    return chosen
