"""Sources page: every layer with source, year, licence and attribution; approximations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cache, components, state
from dashboard.i18n import t
from geo import layers
from geo.engine import MLIT_DEFECT
from geo.stores import REFERENCE_2015

asked = state.current()
study = cache.study(state.study_key(asked))
engine = study.engine

st.title(t("page_sources"))
st.subheader(t("sources_layers"))
root = engine.data


def layer_row(source: layers.BundleFile, present: bool) -> dict[str, str]:
    return {t("col_layer"): source.description, t("col_file"): source.relpath,
            t("col_source"): source.source, t("col_licence"): source.licence,
            t("col_attribution"): source.attribution, t("col_present"): "✓" if present else "✗"}


st.dataframe(  # the bundle's layers, then the GTFS feeds read (transit mode)
    [layer_row(f, layers.find_layer(f.key, root) is not None)
     for f in layers.BUNDLE_FILES.values()]
    + [layer_row(f, True) for f in study.transit_sources],
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
if study.districts is not None:
    items.append(t("approx_districts"))
    quality = study.districts.polygons["quality"].value_counts()
    items.append(t("approx_district_quality",
                   summary=", ".join(f"{k}: {v}" for k, v in quality.items())))
for item in items:
    st.markdown(f"- {item}")

st.subheader(t("network_check_heading"))
if asked.network == "mlit":
    st.warning(MLIT_DEFECT[st.session_state["lang"]])
check = cache.network_quality(state.study_key(asked))
st.dataframe(check.figures_table().rename(columns={"figure": t("col_figure"),
                                                  "value": t("col_value")}),
             hide_index=True, width="stretch")
st.caption(t("network_check_explain"))

st.subheader(t("blank_heading"))
reference = f"{REFERENCE_2015['stores']} / {REFERENCE_2015['blank_districts']}"
blank = {source: (study.blank_districts(source) if study.districts is not None
                  else pd.DataFrame({"population": []})) for source in study.store_sources}
components.show_table(pd.DataFrame({
    t("col_store_source"): [t(f"store_{source}") for source in study.store_sources],
    t("col_stores"): [len(study.stores[source]) for source in study.store_sources],
    t("col_blank"): [len(blank[source]) for source in study.store_sources],
    t("col_blank_people"): [round(blank[source]["population"].sum())
                            for source in study.store_sources],
    t("col_reference"): reference,
}))
st.caption(t("blank_explain"))
