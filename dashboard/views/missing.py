"""Shown instead of the dashboard when the data directory is missing, unreadable or invalid."""

from __future__ import annotations

import streamlit as st

from dashboard import dataerror

dataerror.explain(st.session_state["data_error"],
                  missing=st.session_state.get("data_error_missing", True))
