"""Sources page: every layer with source, year, licence and attribution; approximations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache, components, state
from dashboard.i18n import t
from geo import layers
from geo.engine import MLIT_DEFECT

choice = state.current()
engine = cache.engine(choice.engine_key)

st.title(t("page_sources"))
st.subheader(t("sources_layers"))
root = engine.data
st.dataframe(
    [{t("col_layer"): f.description, t("col_file"): f.relpath, t("col_source"): f.source,
      t("col_licence"): f.licence, t("col_attribution"): f.attribution,
      t("col_present"): "✓" if layers.find_layer(f.key, root) else "✗"}
     for f in layers.BUNDLE_FILES.values()],
    hide_index=True, width="stretch")

st.subheader(t("sources_approximations"))
items = [t("approx_roads"), t("approx_graph", summary=engine.model.graph_summary),
         t("approx_origins"), t("approx_offices"), t("approx_stores")]
far = engine.model.office_snap
far = far[far["far"]] if "far" in far.columns else far.iloc[0:0]
if len(far):
    items.append(t("approx_far_snaps", offices=", ".join(
        f"{components.plain_markdown(o)} ({m:.0f} m)"
        for o, m in zip(far["office_id"], far["snap_m"], strict=True))))
layer = cache.district_layer(choice.engine_key.data)
items.append(t("approx_districts"))
quality = layer.polygons["quality"].value_counts()
items.append(t("approx_district_quality",
               summary=", ".join(f"{k}: {v}" for k, v in quality.items())))
for item in items:
    st.markdown(f"- {item}")

st.subheader(t("network_check_heading"))
if choice.network == "mlit":
    st.warning(MLIT_DEFECT[st.session_state["lang"]])
check = cache.network_quality(choice.engine_key)
st.dataframe(check.figures_table().rename(columns={"figure": t("col_figure"),
                                                  "value": t("col_value")}),
             hide_index=True, width="stretch")
st.caption(t("network_check_explain"))

st.subheader(t("blank_heading"))
blank = cache.blank_summary(choice.engine_key.data)
st.dataframe(pd.DataFrame({
    t("col_store_source"): blank["source"].map(lambda source: t(f"store_{source}")),
    t("col_stores"): blank["stores"],
    t("col_blank"): blank["blank_districts"],
    t("col_blank_people"): blank["blank_population"].round(),
    t("col_reference"): [f"{a} / {b}" for a, b in zip(blank["reference_stores"],
                                                      blank["reference_blank_districts"],
                                                      strict=True)],
}), hide_index=True, width="stretch",
    column_config={t("col_blank_people"): st.column_config.NumberColumn(format="%d")})
st.caption(t("blank_explain"))
