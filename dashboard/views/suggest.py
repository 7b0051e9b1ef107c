"""提案 (suggestions) page: which counters to keep, by location-allocation (geo.optimise).

The question (model, weight, office set, fixed / excluded offices, new sites, the number to
keep), the frontier with the city's real choices on it, the chosen set with its optimality,
near-ties, predicted counter loads and map, and one click to open it as a scenario.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Callable
from typing import cast

import altair as alt
import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from dashboard import cache, components, mapview, state, suggestions
from dashboard.components import md
from dashboard.i18n import name_column, t
from geo import optimise
from geo.errors import MadoguchiError
from geo.scenarios import BASES
from geo.study import Study

DEFAULTS = {"suggest_base": "fy2015", "suggest_model": "p-median",
            "suggest_weight": "population", "suggest_within_km": 5.0,
            "suggest_share_pct": 95.0, "suggest_open": None, "suggest_fix": None,
            "suggest_exclude": [], "suggest_sites": []}
# the frontier chart's panels: column -> label key (no bare string here: a page script
# would show it, by Streamlit's "magic")
FIGURES = {"mean_distance_km": "suggest_fig_mean", "people_beyond_5km": "suggest_fig_beyond5",
           "people_65plus_beyond_2km": "suggest_fig_elderly2"}
MAP_PAGE = "views/map.py"


# coordinates of a click on the suggestions map, waiting to fill the site field (no bare
# string here: a page script would show it, by Streamlit's "magic")
CLICKED_SITE = "suggest_site_clicked"
LAST_CLICK = "suggest_last_click"


def init_defaults() -> None:
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, list(value) if isinstance(value, list) else value)


def keep_valid(key: str, allowed: list[str]) -> None:
    """Drop ids no longer offered (another office set, a site removed) from a session list."""
    st.session_state[key] = [o for o in st.session_state[key] if o in allowed]


def question_controls() -> None:
    """Model, its parameter, weight and office set (written to session state via ``bind``)."""
    columns = st.columns(4)
    state.choose(columns[0].radio, t("suggest_base"), "suggest_base", BASES,
                 format_func=lambda b: t(f"suggest_base_{b}"))
    state.choose(columns[1].selectbox, t("suggest_model"), "suggest_model", optimise.MODELS,
                 format_func=lambda m: t(f"suggest_model_{m}"))
    state.choose(columns[2].radio, t("suggest_weight"), "suggest_weight", optimise.WEIGHTS,
                 format_func=lambda w: t(f"suggest_weight_{w}"))
    if st.session_state["suggest_model"] in ("coverage", "set-cover"):
        columns[3].number_input(t("suggest_within_km"), min_value=0.5, max_value=30.0,
                                step=0.5, **state.bind("suggest_within_km"))
    if st.session_state["suggest_model"] == "set-cover":
        columns[3].number_input(t("suggest_share"), min_value=1.0, max_value=100.0, step=1.0,
                                **state.bind("suggest_share_pct"))
    st.caption(t(f"suggest_explain_{st.session_state['suggest_model']}"))


def site_controls() -> None:
    """Type a new candidate site as lat,lon (or click the map) and a name; checked to be
    inside the city."""
    clicked = st.session_state.pop(CLICKED_SITE, None)
    if clicked:  # a click on the map (before the widget is drawn in this run)
        st.session_state["suggest_site_latlon"] = clicked
    with st.expander(t("suggest_site_heading"),
                     expanded=bool(st.session_state["suggest_sites"] or clicked)):
        st.caption(t("suggest_site_click"))
        left, middle, right = st.columns([2, 2, 1])
        name = left.text_input(t("suggest_site_name"), key="suggest_site_name")
        where = middle.text_input(t("suggest_site_latlon"), key="suggest_site_latlon",
                                  placeholder="32.8031,130.7079")
        right.write("")
        if right.button(t("suggest_site_add"), key="suggest_site_add"):
            add_site(name, where)
        for site_name, lat, lon in st.session_state["suggest_sites"]:
            st.text(f"{site_name}: {lat:.5f}, {lon:.5f}")
        if st.session_state["suggest_sites"] and st.button(t("suggest_site_clear"),
                                                           key="suggest_site_clear"):
            st.session_state["suggest_sites"] = []
            st.rerun()


def add_site(name: str, where: str) -> None:
    """Add the typed site to the candidates, or say plainly why not."""
    try:
        site = suggestions.parse_site(name, where)
    except ValueError as error:
        st.error(md("suggest_site_bad", error=error))
        return
    if any(site[0] == known for known, _, _ in st.session_state["suggest_sites"]):
        st.error(md("suggest_site_duplicate", name=site[0]))
        return
    try:
        suggestions.check_site(cache.study(state.study_key()), *site)
    except MadoguchiError:
        st.error(md("suggest_site_outside", name=site[0]))
        return
    st.session_state["suggest_sites"] = [*st.session_state["suggest_sites"], list(site)]


def office_controls(candidates: pd.DataFrame, names) -> None:
    """Fixed-open and excluded candidates (ward offices fixed by default)."""
    ids = candidates["office_id"].tolist()
    if st.session_state["suggest_fix"] is None:
        st.session_state["suggest_fix"] = candidates.loc[
            candidates["kind"] == "ward_office", "office_id"].tolist()
    keep_valid("suggest_fix", ids)
    keep_valid("suggest_exclude", [o for o in ids if o not in st.session_state["suggest_fix"]])
    left, right = st.columns(2)
    state.choose(left.multiselect, t("suggest_fix"), "suggest_fix",
                 [o for o in ids if o not in st.session_state["suggest_exclude"]],
                 format_func=names, **state.pick_offices())
    state.choose(right.multiselect, t("suggest_exclude"), "suggest_exclude",
                 [o for o in ids if o not in st.session_state["suggest_fix"]],
                 format_func=names, **state.pick_offices())


def count_control(low: int, high: int) -> None:
    """How many counters to keep, fixed ones included (default: 8 of the free ones)."""
    chosen = st.session_state["suggest_open"]
    st.session_state["suggest_open"] = min(max(chosen if chosen is not None else low + 8, low),
                                           high)
    if low == high:
        st.caption(t("suggest_open_fixed", n=low))
        return
    st.slider(t("suggest_open"), min_value=low, max_value=high,
              **state.bind("suggest_open", extent=(low, high)))
    st.caption(t("suggest_open_help", fixed=low))


def frontier_data(frontier: pd.DataFrame) -> pd.DataFrame:
    """The frontier's rows as the chart draws them: kept branch counters and three figures."""
    shown = frontier[["label", "branches_open", "open_count", "mean_distance_km",
                      "people_beyond_5km", "people_65plus_beyond_2km"]].copy()
    shown["name"] = [t("suggest_optimal") if label == "optimal" else t(f"suggest_ref_{label}")
                     for label in shown["label"]]
    return shown


def frontier_chart(frontier: pd.DataFrame) -> alt.HConcatChart:
    """Three panels against branch counters kept: the optimum as a line, real choices labelled."""
    panels = []
    for column, key in FIGURES.items():
        x = alt.X("branches_open:Q", title=t("suggest_branches_kept"),
                  axis=alt.Axis(tickMinStep=1))
        y = alt.Y(f"{column}:Q", title=t(key))
        tooltip = [alt.Tooltip("name:N", title=t("suggest_set")),
                   alt.Tooltip("branches_open:Q", title=t("suggest_branches_kept")),
                   alt.Tooltip(f"{column}:Q", title=t(key), format=",.2f")]
        optimal = alt.Chart().transform_filter(alt.datum.label == "optimal")
        real = alt.Chart().transform_filter(alt.datum.label != "optimal")
        panels.append(alt.layer(
            optimal.mark_line(point=True, color="#2171b5").encode(x=x, y=y, tooltip=tooltip),
            real.mark_point(size=110, filled=True, color="#d94801", shape="diamond").encode(
                x=x, y=y, tooltip=tooltip),
            real.mark_text(align="right", dx=-8, dy=-10, color="#d94801").encode(
                x=x, y=y, text="name:N"),
        ).properties(width=260, height=240, title=t(key)))
    return alt.hconcat(*panels, data=frontier_data(frontier))


def frontier_panel(question: suggestions.Request, key: cache.StudyKey) -> None:
    st.subheader(t("suggest_frontier_heading"))
    model = suggestions.FRONTIER_MODEL[question.model]
    try:
        frontier = cast(pd.DataFrame, cache.suggestion(
            key, dataclasses.replace(question, open_count=None, model=model, share=1.0)))
    except MadoguchiError as error:
        st.error(md("suggest_failed", error=error))
        return
    if model != question.model:
        st.caption(t("suggest_frontier_setcover"))
    st.altair_chart(frontier_chart(frontier), width="content")
    st.caption(t("suggest_frontier_help", solve_s=f"{frontier['solve_s'].sum():.1f}"))


def solution_panel(found: suggestions.Answer, names) -> None:
    """Optimality, the figures, the set and whom each counter serves."""
    solution = found.solution
    st.subheader(t("suggest_solution_heading"))
    proof = t("suggest_proof", method=t("suggest_method_milp"), gap=_percent(solution.gap),
              solve_s=f"{solution.solve_s:.2f}")
    if solution.optimal:
        st.success(f"{t('suggest_status_optimal')}：{proof}")
    else:
        st.warning(f"{md('suggest_status_stopped', status=solution.status)}："
                   f"{proof}")
    figures = solution.figures
    cards = st.columns(4)
    cards[0].metric(t("suggest_kept"), f"{figures['branches_open']:.0f}", border=True,
                    help=t("suggest_kept_help", n=f"{figures['open_count']:.0f}"))
    cards[1].metric(t("suggest_fig_mean"), f"{figures['mean_distance_km']:.2f} km",
                    border=True)
    cards[2].metric(t("suggest_fig_beyond5"), f"{figures['people_beyond_5km']:,.0f} {t('people')}",
                    border=True)
    cards[3].metric(t("suggest_fig_elderly2"),
                    f"{figures['people_65plus_beyond_2km']:,.0f} {t('people')}", border=True)
    table = found.table.assign(name=found.table["office_id"].map(names),
                               kind=found.table["kind"].map(lambda k: t(f"kind_{k}")))
    shown = table[["name", "kind", "selected", "fixed", "excluded", "people_served",
                   "people_65plus_served", "mean_distance_served_km"]]
    components.show_table(shown.assign(
        people_served=shown["people_served"].round().astype("Int64"),
        people_65plus_served=shown["people_65plus_served"].round().astype("Int64"),
        mean_distance_served_km=shown["mean_distance_served_km"].round(2),
    ).rename(columns=_columns()))


def _columns() -> dict[str, str]:
    return {"name": t("col_office"), "kind": t("col_kind"), "selected": t("col_kept"),
            "fixed": t("col_fixed"), "excluded": t("col_excluded"),
            "people_served": t("col_people_served"),
            "people_65plus_served": t("col_elderly_served"),
            "mean_distance_served_km": t("col_mean_served_km")}


def _percent(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{100 * value:.4f} %"


def ties_panel(found: suggestions.Answer, names) -> None:
    """Other sets within 1 % of the optimum, and how they were found."""
    st.subheader(t("suggest_ties_heading"))
    if found.ties is None:
        st.caption(t("suggest_ties_setcover"))
        return
    ties = found.ties
    method = t("suggest_ties_enumeration" if ties.method == "enumeration"
               else "suggest_ties_cuts")
    st.caption(t("suggest_ties_help", pct=f"{100 * ties.tolerance:g}", method=method)
               + ("" if ties.complete else " " + t("suggest_ties_incomplete")))
    table = ties.table
    optimum = found.solution.selected
    sets = [str(ids).split(",") for ids in table["selected"]]
    rows = pd.DataFrame({
        "rank": table["rank"],
        "opened": ["、".join(names(o) for o in ids if o not in optimum) or t("suggest_optimal")
                   for ids in sets],
        "closed": ["、".join(names(o) for o in optimum if o not in ids) for ids in sets],
        "above": table["above_optimum_pct"].round(3),
        "mean_km": table["mean_distance_km"].round(2),
        "beyond5": table["people_beyond_5km"].round().astype("Int64"),
        "elderly2": table["people_65plus_beyond_2km"].round().astype("Int64")})
    components.show_table(rows.rename(columns={
        "rank": t("col_rank"), "opened": t("col_ties_opened"), "closed": t("col_ties_closed"),
        "above": t("col_above_optimum"), "mean_km": t("suggest_fig_mean"),
        "beyond5": t("suggest_fig_beyond5"), "elderly2": t("suggest_fig_elderly2")}))


def loads_panel(found: suggestions.Answer, names) -> None:
    """Predicted annual transactions per counter, before and with the set; overloads flagged."""
    st.subheader(t("suggest_loads_heading"))
    if found.loads is None:
        st.info(t(f"suggest_loads_{found.loads_note}"))
        return
    loads = found.loads
    if loads["overloaded"].any():
        st.warning(md("suggest_overloaded", offices="、".join(
            names(o) for o in loads.loc[loads["overloaded"], "office_id"]),
            pct=f"{100 * optimise.MAX_GROWTH:.0f}"))
    else:
        st.caption(t("suggest_no_overload", pct=f"{100 * optimise.MAX_GROWTH:.0f}"))
    shown = loads.assign(name=loads["office_id"].map(names))[
        ["name", "selected", "predicted_before", "predicted_after", "change_pct", "overloaded"]]
    components.show_table(shown.assign(
        predicted_before=shown["predicted_before"].round().astype("Int64"),
        predicted_after=shown["predicted_after"].round().astype("Int64"),
        change_pct=shown["change_pct"].round(1),
    ).rename(columns={
        "name": t("col_office"), "selected": t("col_kept"),
        "predicted_before": t("col_predicted_before"), "predicted_after": t("col_predicted_after"),
        "change_pct": t("col_change_pct"), "overloaded": t("col_overloaded")}))


def solution_map(found: suggestions.Answer, key: cache.StudyKey) -> None:
    """The kept (open) and closed candidates; new sites as circles."""
    candidates = found.table
    points = cache.office_points(key)
    offices = points.merge(candidates[["office_id", "selected"]], on="office_id", how="left")
    offices["state"] = offices["selected"].map({True: "open", False: "closed"}).fillna(
        "not in base")
    groups = [mapview.office_group(offices, name_column=name_column()), site_group(found)]
    no_stores = cache.store_points(key, cache.study(key).default_store_source).iloc[0:0]
    fmap = mapview.base_map(cache.ward_features(key), no_stores, show_tiles=False,
                            ward_labels=cache.ward_labels(key))
    drawn = st_folium(fmap, key="suggest_map", height=480, use_container_width=True,
                      returned_objects=["last_clicked"],
                      feature_group_to_add=mapview.localised(groups))
    point = (drawn or {}).get("last_clicked")
    if point and point != st.session_state.get(LAST_CLICK):
        st.session_state[LAST_CLICK] = point
        st.session_state[CLICKED_SITE] = f"{point['lat']:.5f},{point['lng']:.5f}"
        st.rerun()


def site_group(found: suggestions.Answer) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=t("suggest_layer_sites"))
    chosen = set(found.solution.selected)
    for name, lat, lon in st.session_state["suggest_sites"]:
        kept = f"site:{name}" in chosen
        colour = "#d94801" if kept else "#888888"
        folium.CircleMarker([lat, lon], radius=10, color=colour, fill=True, fill_opacity=0.8,
                            tooltip=html.escape(f"{name}（{t('kind_new_site')}・"
                                                f"{t('state_open' if kept else 'state_closed')}）"),
                            ).add_to(group)
    return group


def open_as_scenario(found: suggestions.Answer) -> None:
    """Button: the solution's closures become the sidebar's scenario, then the map opens."""
    try:
        chosen = suggestions.question_of(found)
    except ValueError:
        st.button(t("suggest_open_scenario"), disabled=True, key="suggest_open_scenario")
        st.caption(t("suggest_open_scenario_site"))
        return
    if st.button(t("suggest_open_scenario"), type="primary", key="suggest_open_scenario"):
        st.session_state["question"] = state.current().with_offices(chosen)
        st.session_state["preset"] = chosen.base
        st.switch_page(MAP_PAGE)


def office_names(offices: pd.DataFrame) -> Callable[[str], str]:
    """Return office_id -> name in the current language; a new site by the name typed."""
    known = dict(zip(offices["office_id"], offices[name_column()], strict=True))
    return lambda office_id: known.get(office_id, office_id.removeprefix("site:"))


def candidate_kinds(study: Study, question: suggestions.Request) -> pd.DataFrame:
    """``office_id, kind`` of the question's candidates: the base set's counters, then its sites."""
    offices = optimise.problem_from_model(study.engine.model, base=question.base).candidates
    sites = pd.DataFrame({"office_id": [f"site:{name}" for name, _, _ in question.sites],
                          "kind": "new_site"})
    return pd.concat([offices[["office_id", "kind"]], sites], ignore_index=True)


init_defaults()
asked = state.current()
study = cache.study(state.study_key(asked))
names = office_names(study.engine.offices)
st.title(t("suggest_heading"))
st.caption(t("suggest_intro"))
question_controls()
site_controls()
base_question = suggestions.Request(
    base=st.session_state["suggest_base"], model=st.session_state["suggest_model"],
    weight=st.session_state["suggest_weight"],
    within_km=(float(st.session_state["suggest_within_km"])
               if st.session_state["suggest_model"] in ("coverage", "set-cover") else None),
    fix=(), exclude=(), sites=tuple((n, float(a), float(o))
                                    for n, a, o in st.session_state["suggest_sites"]),
    share=float(st.session_state["suggest_share_pct"]) / 100.0)
candidates = candidate_kinds(study, base_question)
office_controls(candidates, names)
question = dataclasses.replace(base_question, fix=tuple(sorted(st.session_state["suggest_fix"])),
                               exclude=tuple(sorted(st.session_state["suggest_exclude"])))
low = len(question.fix)
high = len(candidates) - len(question.exclude)
if question.model != "set-cover":
    count_control(low, high)
    question = dataclasses.replace(question, open_count=int(st.session_state["suggest_open"]))
frontier_panel(question, state.study_key(asked))
try:
    with st.spinner(t("suggest_solving")):
        found = cast(suggestions.Answer,
                     cache.suggestion(state.study_key(asked), question, reading=asked.reading))
except MadoguchiError as error:
    st.error(md("suggest_failed", error=error))
    st.stop()
solution_panel(found, names)
open_as_scenario(found)
ties_panel(found, names)
loads_panel(found, names)
solution_map(found, state.study_key(asked))
