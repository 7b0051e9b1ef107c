"""Locate the data directory and the cache directory."""

from __future__ import annotations

import math
import os
from pathlib import Path

from .errors import MadoguchiError

DATA_ENV_VAR = "MADOGUCHI_DATA"
CACHE_ENV_VAR = "MADOGUCHI_CACHE"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "bundle"
DEFAULT_CACHE_DIR = PROJECT_ROOT / ".cache"
PROJECT_DATA_DIR = PROJECT_ROOT / "data"
"""Files the project writes itself from facts (office register extras, counts)."""
MAX_FILE_MB_ENV_VAR = "MADOGUCHI_MAX_FILE_MB"
MAX_FEATURES_ENV_VAR = "MADOGUCHI_MAX_FEATURES"
DEFAULT_MAX_FILE_MB = 200.0
"""Largest layer file read, in MB (the biggest bundle file, the MLIT roads, is 6.7 MB)."""
DEFAULT_MAX_FEATURES = 300_000
"""Most features read from one layer (the MLIT roads have 21,245 lines)."""


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


def max_file_bytes() -> int:
    """Return the largest layer file the loaders read, in bytes.

    ``MADOGUCHI_MAX_FILE_MB`` overrides the default of ``DEFAULT_MAX_FILE_MB``.
    """
    return int(_positive_env(MAX_FILE_MB_ENV_VAR, DEFAULT_MAX_FILE_MB) * 1_000_000)


def max_features() -> int:
    """Return the most features the loaders read from one layer.

    ``MADOGUCHI_MAX_FEATURES`` overrides the default of ``DEFAULT_MAX_FEATURES``.
    """
    return int(_positive_env(MAX_FEATURES_ENV_VAR, DEFAULT_MAX_FEATURES))


def _positive_env(name: str, default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        msg = f"{name}={text!r} must be a positive number"
        raise MadoguchiError(msg)
    return value
