"""Shown instead of the dashboard when the data directory is missing or incomplete."""

from __future__ import annotations

import streamlit as st

from dashboard.i18n import t
from geo import layers

st.title(t("page_missing"))
st.warning(t("missing_intro"), icon="📂")
st.markdown(t("missing_howto"))
st.code("export MADOGUCHI_DATA=/path/to/kumamoto\nstreamlit run dashboard/app.py", language="bash")
st.subheader(t("missing_files"))
st.dataframe(
    [{t("col_file"): layers.BUNDLE_FILES[k].relpath,
      t("col_layer"): layers.BUNDLE_FILES[k].description,
      t("col_source"): layers.BUNDLE_FILES[k].source}
     for k in ("wards", "small_areas", "offices", "roads", "schools", "attendance_zones",
               "stores_osm", "stores_overture")],
    hide_index=True, width="stretch")
with st.expander(t("missing_detail")):
    st.text(st.session_state.get("data_error", ""))
