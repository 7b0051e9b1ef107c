"""Tests of geo.demand: the Huff demand model, its fit, load shifts and the FY2011 check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import demand
from geo.errors import DataMissingError, LayerError, PoorFitError, UnknownOfficeError
from geo.scenarios import AccessModel, Scenario

# Synthetic city: a 12 x 12 km grid of origins (1 km apart), offices at known points;
# "road" distance = straight-line distance, so the true model is known exactly.
OFFICES = [  # id, kind, x km, y km
    ("w1", "ward_office", 3.0, 3.0), ("w2", "ward_office", 9.0, 8.0),
    ("b1", "branch", 1.0, 10.0), ("b2", "general_branch", 6.0, 6.0),
    ("b3", "branch", 10.0, 1.0), ("b4", "general_branch", 2.0, 6.5),
    ("b5", "branch", 6.5, 10.5), ("b6", "annex", 11.0, 5.0),
    ("c1", "service_corner", 5.0, 1.5),
]
TRUE = demand.HuffParams(rate=1.3, beta_per_km=0.7,
                         attractiveness={"branch": 1.0, "ward_office": 4.0,
                                         "service_corner": 0.5})


def _model(offices: list[tuple[str, str, float, float]] = OFFICES, seed: int = 0) -> AccessModel:
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(12.0), np.arange(12.0))
    origin_xy = np.column_stack([gx.ravel(), gy.ravel()])
    office_xy = np.array([(x, y) for _, _, x, y in offices])
    diff = office_xy[:, None, :] - origin_xy[None, :, :]
    office_origin = 1000.0 * np.hypot(diff[..., 0], diff[..., 1])
    between = office_xy[:, None, :] - office_xy[None, :, :]
    office_office = 1000.0 * np.hypot(between[..., 0], between[..., 1])
    table = pd.DataFrame({
        "office_id": [o[0] for o in offices], "name_ja": [o[0] for o in offices],
        "kind": [o[1] for o in offices], "counter_fy2015": True, "counter_now": True,
    })
    origins = pd.DataFrame({"key_code": np.arange(len(origin_xy)).astype(str),
                            "population": rng.integers(100, 3000, len(origin_xy)).astype(float)})
    return AccessModel(
        offices=table, origins=origins, office_origin_m=office_origin.astype(np.float32),
        store_origin_m=np.zeros(len(origin_xy), np.float32),
        office_office_m=office_office, office_straight_m=office_office,
        office_snap=pd.DataFrame(), store_snap=pd.DataFrame(), store_source="none",
        graph_summary="synthetic grid",
    )


def _counts(model: AccessModel, params: demand.HuffParams, noise: float = 0.0,
            seed: int = 1) -> pd.DataFrame:
    classes = model.offices["kind"].map(demand.KIND_CLASSES).to_numpy()
    full = model.offices["kind"].ne("service_corner").to_numpy()
    load = demand.expected_load(params, model.office_origin_m,
                                model.origins["population"].to_numpy(), classes, full,
                                np.ones(len(full), bool))
    load = load * np.exp(np.random.default_rng(seed).normal(0.0, noise, len(load)))
    return pd.DataFrame({"office_id": model.offices["office_id"], "name_ja": "x",
                         "fy2011": np.nan, "fy2012": np.nan, "fy2013": load})


def test_fit_recovers_known_parameters_exactly():
    model = _model()
    fit = demand.fit_demand(model, _counts(model, TRUE))
    assert fit.params.beta_per_km == pytest.approx(TRUE.beta_per_km, rel=1e-4)
    assert fit.params.rate == pytest.approx(TRUE.rate, rel=1e-4)
    for name, weight in TRUE.attractiveness.items():
        assert fit.params.attractiveness[name] == pytest.approx(weight, rel=1e-3)
    assert fit.r2_log == pytest.approx(1.0, abs=1e-6)
    assert fit.ok


def test_fit_recovers_parameters_from_noisy_counts():
    model = _model(seed=3)
    fit = demand.fit_demand(model, _counts(model, TRUE, noise=0.05, seed=4))
    assert fit.params.beta_per_km == pytest.approx(TRUE.beta_per_km, rel=0.15)
    assert fit.params.attractiveness["ward_office"] == pytest.approx(4.0, rel=0.25)
    assert fit.ok


def test_fit_flags_counts_the_model_cannot_explain():
    # Offices in pairs at the same point and of the same kind get equal predictions, so counts
    # 100x apart within each pair leave large residuals whatever the parameters.
    offices = [(f"{k}{i}", "branch", x, y) for i, (x, y) in enumerate(
        [(2.0, 2.0), (9.0, 3.0), (4.0, 9.0), (10.0, 10.0)]) for k in "pq"]
    model = _model(offices)
    counts = pd.DataFrame({"office_id": model.offices["office_id"], "name_ja": "x",
                           "fy2011": np.nan, "fy2012": np.nan,
                           "fy2013": [100.0, 10_000.0] * 4})
    fit = demand.fit_demand(model, counts)
    assert not fit.ok
    assert "R2" in fit.summary()["problems"]
    with pytest.raises(PoorFitError, match="too poor"):
        demand.load_shift(fit, model, Scenario(base="fy2015", closed={"p0"}))
    shift = demand.load_shift(fit, model, Scenario(base="fy2015", closed={"p0"}),
                              allow_poor_fit=True)
    assert len(shift.table) == len(offices)


@settings(max_examples=25, deadline=None)
@given(closed=st.sets(st.sampled_from([o[0] for o in OFFICES]), max_size=6),
       store_share=st.floats(0.0, 1.0))
def test_demand_conserved_across_closure(closed, store_share):
    model = _model()
    fit = demand.fit_demand(model, _counts(model, TRUE))
    shift = demand.load_shift(fit, model, Scenario(base="fy2015", closed=closed),
                              store_share=store_share)
    before = shift.table["predicted_before"].sum()
    after = shift.table["predicted_after"].sum()
    assert after + shift.to_stores == pytest.approx(before, rel=1e-9)
    closed_before = shift.table.loc[shift.table["status"] == "closed", "predicted_before"].sum()
    # only the closed counters' certificate transactions can move to stores
    assert shift.to_stores <= store_share * closed_before * (1 + 1e-9) + 1e-6
    if not closed:
        assert shift.to_stores == pytest.approx(0.0, abs=1e-6)
    assert (shift.table.loc[shift.table["status"] == "closed", "predicted_after"] == 0).all()
    if store_share == 0.0:
        assert after == pytest.approx(before, rel=1e-9)


def test_store_share_applies_to_the_displaced_certificates_only():
    # two identical branches equally far from one origin: each takes half of its demand
    offices = [("a", "branch", 0.0, 0.0), ("b", "branch", 0.0, 0.0),
               ("w", "ward_office", 11.0, 11.0)]
    model = _model(offices)
    fit = demand.fit_demand(model, _counts(model, TRUE))
    share = 0.4
    # three counters cannot identify four parameters: the property holds for any fit
    shift = demand.load_shift(fit, model, Scenario(base="fy2015", closed={"a"}),
                              store_share=share, allow_poor_fit=True)
    rows = shift.table.set_index("office_id")
    certificates_at_a = fit.certificate_share * rows.loc["a", "predicted_before"]
    assert shift.to_stores == pytest.approx(share * certificates_at_a, rel=1e-6)
    kept = demand.load_shift(fit, model, Scenario(base="fy2015", closed={"a"}),
                             allow_poor_fit=True)
    gain = kept.table.set_index("office_id")["change"]
    moved = shift.table.set_index("office_id")["change"]
    assert gain.loc[["b", "w"]].sum() - moved.loc[["b", "w"]].sum() == pytest.approx(
        shift.to_stores, rel=1e-6)


def test_closure_sends_most_load_to_nearest_neighbours():
    model = _model()
    fit = demand.fit_demand(model, _counts(model, TRUE))
    for closed in model.offices["office_id"]:
        shift = demand.load_shift(fit, model, Scenario(base="fy2015", closed={closed}))
        table = shift.table.set_index("office_id")
        lost = table.loc[closed, "predicted_before"]
        row = model.office_index([closed])[0]
        others = [oid for oid in model.offices["office_id"] if oid != closed]
        nearest = sorted(others, key=lambda oid: model.office_office_m[
            row, model.office_index([oid])[0]])[:3]
        assert table.loc[nearest, "change"].sum() > 0.5 * lost
        assert (table.loc[others, "change"] >= -1e-6).all()


def test_downgrade_keeps_only_certificate_traffic():
    model = _model()
    fit = demand.fit_demand(model, _counts(model, TRUE))
    shift = demand.load_shift(fit, model, Scenario(base="fy2015", downgraded={"b2"}))
    row = shift.table.set_index("office_id").loc["b2"]
    assert row["status"] == "downgraded"
    assert 0 < row["predicted_after"] < fit.certificate_share * row["predicted_before"]
    assert shift.table["change"].sum() == pytest.approx(0.0, abs=1e-6)


def test_load_shift_rejects_bad_arguments():
    model = _model()
    fit = demand.fit_demand(model, _counts(model, TRUE))
    with pytest.raises(ValueError, match="store share"):
        demand.load_shift(fit, model, Scenario(base="fy2015"), store_share=1.5)
    with pytest.raises(UnknownOfficeError, match="nowhere"):
        demand.load_shift(fit, model, Scenario(base="fy2015", closed={"nowhere"}))


def test_counts_table_readings_match_the_brief_totals():
    city_totals = {"fy2011": 942_631, "fy2012": 970_422, "fy2013": 1_023_776}  # domain brief
    listed = demand.load_counts(reading="brief").set_index("office_id")
    swapped = demand.load_counts(reading="alternative").set_index("office_id")
    for year, total in city_totals.items():
        assert listed[year].sum() == total
        assert swapped[year].sum() == total
    pair = ["jonan-general-branch", "nanbu-branch"]
    years = list(city_totals)
    assert (listed.loc[pair, years].to_numpy() == swapped.loc[pair[::-1], years].to_numpy()).all()
    rest = listed.index.difference(pair)
    pd.testing.assert_frame_equal(listed.loc[rest, years], swapped.loc[rest, years])


def test_load_counts_reports_every_problem(tmp_path):
    path = tmp_path / "counts.csv"
    path.write_text(
        "office_id,name_ja,jonan_nanbu_reading,fy2011,fy2012,fy2013,source\n"
        "a,A,both,1,-2,3,s\na,A,both,1,2,3,s\nb,B,sideways,1,2,x,s\n", encoding="utf-8")
    with pytest.raises(LayerError, match=r"(?s)sideways.*row 1: fy2012.*row 3: fy2013.*twice"):
        demand.load_counts(path)
    with pytest.raises(ValueError, match="reading"):
        demand.load_counts(reading="upside-down")
    with pytest.raises(DataMissingError, match="not found"):
        demand.load_counts(tmp_path / "absent.csv")


# --- the real bundle -------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_model(engine):
    """Distances on the real bundle (``engine`` from conftest skips when it is absent)."""
    return engine.model


@pytest.mark.bundle
def test_counts_cover_the_fy2013_counters_of_the_register(real_model):
    counts = demand.load_counts()
    real_model.office_index(counts["office_id"])  # raises on an unknown id
    with_2013 = set(counts.loc[counts["fy2013"].notna(), "office_id"])
    register = real_model.offices
    assert with_2013 == set(register.loc[register["counter_fy2015"], "office_id"])


@pytest.mark.bundle
def test_real_fit_is_good_and_closing_oe_feeds_its_neighbours(real_model):
    fit = demand.fit_demand(real_model)
    assert fit.ok, fit.problems
    assert fit.params.attractiveness["ward_office"] > 1.0
    shift = demand.load_shift(fit, real_model, Scenario(base="fy2015", closed={"oe-branch"}))
    table = shift.table.set_index("office_id")
    row = real_model.office_index(["oe-branch"])[0]
    order = np.argsort(real_model.office_office_m[row])
    open_ids = set(table.index) - {"oe-branch"}
    nearest = [oid for oid in real_model.offices["office_id"].to_numpy()[order]
               if oid in open_ids][:3]
    assert table.loc[nearest, "change"].sum() > 0.5 * table.loc["oe-branch", "predicted_before"]
    assert table["predicted_after"].sum() == pytest.approx(table["predicted_before"].sum())


@pytest.mark.bundle
def test_out_of_sample_fy2011_shift(real_model):
    fit = demand.fit_demand(real_model)
    check = demand.validate_fy2011(fit, real_model)
    metrics = check.metrics
    assert metrics["n_offices"] == 19
    assert all(np.isfinite(v) for v in metrics.values())
    assert metrics["corr_log_change"] > 0.5
    table = check.table.set_index("office_id")
    # the ward offices opening halved traffic at 東部 and 秋津: the model must see a fall
    assert (table.loc[["tobu-branch", "akitsu-branch"], "predicted_change_pct"] < -20).all()
    assert np.isnan(table.loc["higashi-ward-office", "predicted_fy2011"])


def test_export_table_adds_a_total_row():
    model = _model()
    fit = demand.fit_demand(model, _counts(model, TRUE))
    shift = demand.load_shift(fit, model, Scenario(base="fy2015", closed={"b2"}), store_share=0.5)
    table = shift.export_table()
    assert list(table.columns) == ["office_id", "name", "kind", "status", "fy2013",
                                   "predicted_before", "predicted_after", "change", "change_pct"]
    total = table.iloc[-1]
    assert total["office_id"] == "total"
    assert abs(total["change"] + round(shift.to_stores)) <= len(table)  # rounding only
    assert abs(table["predicted_after"].iloc[:-1].sum() - total["predicted_after"]) <= len(table)


@pytest.mark.bundle
def test_cli_load_shift(engine, capsys, monkeypatch):
    from geo import cli

    monkeypatch.setattr(cli, "_load", lambda args: engine)  # reuse the session's engine
    code = cli.main(["load-shift", "--close", "oe-branch", "--store-share", "0.3"])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.lstrip("\ufeff").splitlines()
    assert lines[0] == ("office_id,name,kind,status,fy2013,predicted_before,predicted_after,"
                        "change,change_pct")
    assert lines[-1].startswith("total,")
    assert any(line.startswith("oe-branch,") and ",closed," in line for line in lines)
    assert "# beta_per_km," in captured.err and "# store_share,0.3" in captured.err
    assert cli.main(["load-shift", "--close", "nowhere"]) == 2
    assert cli.main(["load-shift", "--store-share", "1.5"]) == 2
    assert "between 0 and 1" in capsys.readouterr().err


def test_default_reading_gives_jonan_the_figures_its_change_column_fits():
    counts = demand.load_counts().set_index("office_id")
    jonan = counts.loc["jonan-general-branch"]
    assert (jonan["fy2011"], jonan["fy2012"], jonan["fy2013"]) == (24_791, 23_426, 23_920)
    # the source's change column: 城南 -3.5 % from FY2011 to FY2013
    assert round((jonan["fy2013"] / jonan["fy2011"] - 1) * 100, 1) == -3.5
