"""The explanation shown instead of the dashboard when data is missing, unreadable or invalid.

Every data error (``geo.errors`` types and operating-system errors while reading) gets the
same page: what is wrong, in which file, and how to fix it. Server paths are left out: a
file is named relative to the data folder, as in the bundle's README.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from geo import layers, settings
from geo.errors import DataMissingError

from .i18n import t

REQUIRED_KEYS = ("wards", "small_areas", "offices", "roads", "schools", "attendance_zones",
                 "stores_osm", "stores_overture")
"""Files the dashboard needs, listed when the data folder is missing or incomplete."""
_ABSOLUTE_PATH = re.compile(r"(?<![^\s'\"(\[=])(?:/[^/\s:;,'\"()\[\]]+)+/([^/\s:;,'\"()\[\]]+)")
"""An absolute path (at the start, or after a space, quote, bracket or '='); group 1 is its
file name."""


def public_message(error: BaseException | str, data: str | Path | None = None) -> str:
    """Return the error's message without server paths.

    A file inside the data folder keeps its bundle path (``offices/offices.csv``), the data
    folder itself becomes ``$MADOGUCHI_DATA``, and any other absolute path its file name.
    """
    text = str(error)
    folder = settings.data_dir(data)
    for shown in {str(folder), str(folder.expanduser().resolve())}:
        text = text.replace(shown + "/", "").replace(shown, f"${settings.DATA_ENV_VAR}")
    text = text.replace(str(settings.PROJECT_ROOT) + "/", "")
    return _ABSOLUTE_PATH.sub(r"\1", text)


def files_named(message: str) -> list[str]:
    """Keys of the bundle files a message names (most specific path first)."""
    return [key for key, entry in layers.BUNDLE_FILES.items() if entry.relpath in message]


def remember(error: BaseException) -> None:
    """Keep a data error in the session for the explanation page (``views/missing.py``)."""
    st.session_state["data_error"] = str(error)
    st.session_state["data_error_missing"] = isinstance(error, DataMissingError)


def explain(error: str, *, missing: bool, data: str | Path | None = None) -> None:
    """Draw the explanation page for a data error (what, which file, how to fix).

    Parameters
    ----------
    error
        The error's message (server paths are removed before it is shown).
    missing
        The data folder or a file is absent (``DataMissingError``), rather than present
        and invalid or unreadable.
    data
        The data directory in use.
    """
    message = public_message(error, data)
    st.title(t("page_missing") if missing else t("page_data_error"))
    st.warning(t("missing_intro") if missing else t("data_error_intro"), icon="📂")
    if not missing:
        st.subheader(t("data_error_what"))
        st.text(message)
    st.subheader(t("missing_files") if missing else t("data_error_file"))
    keys = REQUIRED_KEYS if missing else files_named(message)
    if keys:
        st.dataframe([{t("col_file"): layers.BUNDLE_FILES[k].relpath,
                       t("col_layer"): layers.BUNDLE_FILES[k].description,
                       t("col_source"): layers.BUNDLE_FILES[k].source} for k in keys],
                     hide_index=True, width="stretch")
    else:
        st.text(t("data_error_no_file"))
    st.subheader(t("data_error_howto"))
    st.markdown(t("missing_howto") if missing else t("data_error_fix"))
    st.code("export MADOGUCHI_DATA=/path/to/kumamoto\npython -m dashboard"
            if missing else "python -m geo --data /path/to/kumamoto snaps", language="bash")
    if missing:
        with st.expander(t("missing_detail")):
            st.text(message)
