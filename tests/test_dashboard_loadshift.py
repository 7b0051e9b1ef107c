"""The load-shift chart names the same receiving counters as the lines and the slide."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from dashboard import loadshift
from geo import demand


def test_chart_calls_receiving_only_the_counters_the_lines_name():
    table = pd.DataFrame({"office_id": ["a", "b", "c", "d"],
                          "status": ["open", "open", "closed", "downgraded"],
                          "change": [300.0, 0.2, -250.0, -50.3],
                          "change_pct": [3.0, 0.0, -100.0, -40.0],
                          "predicted_before": [1e4, 1e3, 250.0, 120.0],
                          "predicted_after": [1.03e4, 1e3, 0.0, 69.7]})
    shift = SimpleNamespace(table=table)
    shift.receivers = demand.LoadShift.receivers.fget(shift)  # type: ignore[attr-defined]
    chart = loadshift.chart(shift, names=str.upper)
    states = dict(zip(chart.data["office_id"], chart.data["state"], strict=True))
    # b gains a fifth of a transaction a year: about the same, not a receiver
    assert states == {"a": "受付が増える", "b": "ほぼ変わらない（年0.5件未満）",
                      "c": "閉鎖", "d": "サービスコーナー化"}
    assert list(shift.receivers["office_id"]) == ["a"]
