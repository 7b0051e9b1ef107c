"""The load-shift panel: where closed counters' transactions go (``geo.demand``), fit and
assumptions."""

from __future__ import annotations

import math
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from geo import demand
from geo.labels import column_label
from geo.question import Question

from . import cache, components, state
from .i18n import lang, t

TOP_RECEIVERS = 3
_STATUS_COLOURS = {"closed": "#d62728", "downgraded": "#ff7f0e", "receiving": "#1f77b4",
                   "losing": "#9e9e9e", "unchanged": "#d9d9d9"}


@dataclass(frozen=True)
class Shift:
    """The demand fit and, when it can be shown, the load shift of the chosen scenario."""

    fit: demand.DemandFit | None
    check: demand.OutOfSample | None
    shift: demand.LoadShift | None
    problem: str | None
    """Why there are no predictions (poor fit, missing counts), else None."""

    def __post_init__(self) -> None:
        if (self.shift is None) == (self.problem is None):
            msg = "a load-shift result has either predictions or the reason there are none"
            raise ValueError(msg)


def result(asked: Question) -> Shift:
    """Fit, out-of-sample check and the load shift of ``geo.study.evaluate`` (all cached)."""
    found = cache.result(asked)
    fit = cache.study(state.study_key(asked)).demand_fits.get(asked.reading)
    if fit is None:
        return Shift(None, None, None, components.md("shift_unavailable",
                                                     error=found.load_shift_reason or ""))
    check = cache.demand_check(state.study_key(asked), asked.reading)
    if found.load_shift is None:
        return Shift(fit, check, None, components.md("shift_poor_fit",
                                                     problems=found.load_shift_reason))
    return Shift(fit, check, found.load_shift, None)


SHARE_STEP_PCT = 5
"""The store-share slider's step, per cent."""


def controls() -> None:
    """The adjustable assumptions: store share (slider, %) and the 城南/南部 reading."""
    st.slider(t("shift_store_share"), 0, 100, step=SHARE_STEP_PCT, format="%d%%",
              help=t("shift_store_share_help"), **state.bind("store_share_pct"))
    with st.expander(t("shift_change_assumptions")):
        state.choose(st.radio, t("shift_reading"), "reading", demand.READINGS,
                     format_func=lambda r: t(f"shift_reading_{r}"))


def _about(value: float) -> str:
    """Round a yearly count for a sentence: to 100 above 1,000, to 10 below."""
    step = 100 if abs(value) >= 1000 else 10 if abs(value) >= 100 else 1
    return f"{round(value / step) * step:,.0f}"


def _sources(table: pd.DataFrame, names) -> tuple[str, str]:
    """The verb (closing / downgrading) and the names of the counters losing their load."""
    closed = table.loc[table["status"] == "closed", "office_id"].tolist()
    downgraded = table.loc[table["status"] == "downgraded", "office_id"].tolist()
    verb = "both" if closed and downgraded else "closed" if closed else "downgraded"
    ids = closed + downgraded
    shown = (", " if lang() == "en" else "・").join(names(o) for o in ids[:2])
    if len(ids) > 2:
        shown = t("shift_sources_more", names=shown, n=len(ids))
    return t(f"shift_verb_{verb}"), shown


def receivers(shift: demand.LoadShift, *, top: int = TOP_RECEIVERS) -> pd.DataFrame:
    """The open counters gaining the most transactions, largest first."""
    return shift.receivers.head(top)


def receiver_lines(shift: demand.LoadShift, names) -> list[str]:
    """'閉鎖により大江出張所の約N件/年が中央区役所へ（+x%）' for the top receivers, as Markdown.

    The store share only diverts the closed counters' certificates, so every gain is a flow
    from the closed / downgraded counters. Office names are escaped: they show as written.
    """
    def plain_name(office_id: str) -> str:
        return components.plain_markdown(names(office_id))

    verb, source = _sources(shift.table, plain_name)
    return [t("shift_line", verb=verb, source=source, n=_about(row["change"]),
              target=plain_name(row["office_id"]), pct=f"{row['change_pct']:+.1f}%")
            for row in receivers(shift).to_dict("records")]


def receiver_figures(shift: demand.LoadShift, names) -> dict[str, str]:
    """Counter name -> '+N件/年（+x%）' for the top receivers (briefing cards)."""
    return {names(row["office_id"]): t("shift_figure", n=f"+{_about(row['change'])}",
                                    pct=f"{row['change_pct']:+.1f}%")
            for row in receivers(shift).to_dict("records")}


def has_changes(asked: Question) -> bool:
    return bool(asked.closed or asked.downgraded)


def chart(shift: demand.LoadShift, names) -> alt.Chart:
    """Horizontal bars of the change per counter, sorted, coloured by what happens to it."""
    table = shift.table.copy()
    table["office"] = table["office_id"].map(names)
    open_kind = np.select([table["office_id"].isin(shift.receivers["office_id"]),
                           table["change"] < 0], ["receiving", "losing"], "unchanged")
    kind = table["status"].where(table["status"] != "open", pd.Series(open_kind, table.index))
    labels = {"closed": t("state_closed"), "downgraded": t("state_downgraded"),
              "receiving": t("shift_chart_receiving"), "losing": t("shift_chart_losing"),
              "unchanged": t("shift_chart_unchanged")}
    table["state"] = kind.map(labels)
    shown = [k for k in _STATUS_COLOURS if (kind == k).any()]
    table = table.round({"predicted_before": 0, "predicted_after": 0, "change": 0,
                         "change_pct": 1})
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("change:Q", title=t("shift_chart_change"), axis=alt.Axis(format=",.0f")),
        y=alt.Y("office:N", sort="-x", title=None,
                axis=alt.Axis(labelLimit=220, labelOverlap=False)),
        color=alt.Color("state:N", title=t("shift_chart_legend"),
                        scale=alt.Scale(domain=[labels[k] for k in shown],
                                        range=[_STATUS_COLOURS[k] for k in shown]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("office:N", title=column_label("name", lang())),
                 *(alt.Tooltip(f"{code}:Q", title=column_label(code, lang()), format=form)
                   for code, form in (("predicted_before", ","), ("predicted_after", ","),
                                      ("change", "+,"), ("change_pct", "+.1f")))],
    ).properties(height=max(200, 24 * len(table)))


def fit_lines(fit: demand.DemandFit, check: demand.OutOfSample | None) -> list[str]:
    """The fit quality in words: R2 on log counts, decay, kind weights, FY2011 check."""
    separator, times = (", ", "x") if lang() == "en" else ("、", "")
    weights = separator.join(
        f"{t(f'shift_class_{name}')} {weight:.2f}{times}"
        for name, weight in sorted(fit.params.attractiveness.items(), key=lambda kv: -kv[1])
        if name != demand.REFERENCE_CLASS)
    lines = [t("shift_fit_r2", r2=f"{fit.r2_log_testable:.2f}", n=len(fit.residuals)),
             t("shift_fit_beta", beta=f"{fit.params.beta_per_km:.2f}",
               factor=f"{math.exp(-fit.params.beta_per_km):.2f}"),
             t("shift_fit_weights", weights=weights)]
    if check is not None:
        lines.append(t("shift_fit_fy2011", r2=f"{check.metrics['r2_log_change']:.2f}",
                       n=check.metrics["n_offices"]))
    return lines


def assumption_lines(fit: demand.DemandFit | None) -> list[str]:
    """The assumptions behind the estimate, as shown next to it."""
    share = fit.certificate_share if fit is not None else demand.CERTIFICATE_SHARE
    asked = state.current()
    return [t("shift_assume_store", pct=f"{100 * asked.store_share:g}"),
            t("shift_assume_certificate", pct=f"{100 * share:.0f}"),
            t("shift_assume_reading", reading=t(f"shift_reading_{asked.reading}")),
            t("shift_assume_base")]


def bullet_list(lines: list[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def totals(shift: demand.LoadShift) -> None:
    """Three cards: lost at closed / downgraded counters, net change elsewhere, to stores."""
    table = shift.table
    lost = -table.loc[table["status"] != "open", "change"].sum()
    net = table.loc[table["status"] == "open", "change"].sum()
    per_year = t("shift_per_year")
    columns = st.columns(3)
    columns[0].metric(t("shift_lost"), f"{lost:,.0f} {per_year}", border=True)
    columns[1].metric(t("shift_moved"), f"{net:+,.0f} {per_year}", border=True)
    columns[2].metric(t("shift_to_stores"), f"{shift.to_stores:,.0f} {per_year}", border=True)
    if shift.unserved > 0.5:
        st.error(t("shift_unserved", n=f"{shift.unserved:,.0f}"), icon="🚫")


@st.fragment
def panel() -> None:
    """The panel under the map; its own fragment, so its controls never redraw the map."""
    asked = state.current()  # the fragment's own controls change the asked
    st.subheader(t("shift_heading"))
    found = result(asked)
    names = components.office_name(cache.study(state.study_key(asked)).engine.offices)
    if found.shift is not None and has_changes(asked):
        totals(found.shift)
    left, right = st.columns([3, 2])
    with right:
        controls()
        if found.fit is not None:
            st.markdown(f"**{t('shift_fit_heading')}**\n\n" + bullet_list(
                fit_lines(found.fit, found.check)))
        st.markdown(f"**{t('shift_assumptions')}**\n\n" + bullet_list(
            assumption_lines(found.fit)))
    with left:
        if found.shift is None:
            st.error(found.problem, icon="⚠️")
        elif not has_changes(asked):
            st.info(t("shift_no_change"))
        else:
            lines = receiver_lines(found.shift, names)
            st.markdown(bullet_list(lines) if lines else t("shift_no_receivers"))
            st.altair_chart(chart(found.shift, names), width="stretch")


def fit_table(found: Shift) -> pd.DataFrame:
    """Fit summary, assumptions, totals and the FY2011 check as ``name, value`` rows."""
    if found.shift is not None:
        values = found.shift.summary()
    elif found.fit is not None:
        values = dict(found.fit.summary())
    else:
        values = {}
    if found.check is not None:
        values |= {f"fy2011_check_{k}": v for k, v in found.check.metrics.items()}
    return demand.summary_rows(values)
