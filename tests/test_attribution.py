"""Change attribution: closed forms, Shapley axioms, agreement with shap and brute force, intervals."""
from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.ensemble import HistGradientBoostingRegressor

import explain.attribution as attribution_module
from explain.attribution import (
    AttributionWithIntervals,
    PairedAttribution,
    attribute_change,
    attribute_groups,
    attribute_with_intervals,
)
from explain.drivers import DriverModel, fit_with_bootstrap
from explain.errors import AdditivityError, ModelError
from explain.treeshap import baseline_shap, leaf_table, numba_available
from loaders.errors import WhytrendError


def make_panel(n_areas=30, n_periods=36, *, beta=(3.0, -2.0, 0.0), noise=0.05, seed=0, seasonal=0.0):
    """A monthly panel y = Σ β_j x_j + seasonal·sin(2π·month/12) + noise; drivers are random walks."""
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(n_periods), n_areas)
    season = t % 12 + 1
    data = {"area": np.repeat([f"A{a:03d}" for a in range(n_areas)], n_periods), "period_ordinal": t, "season": season}
    y = seasonal * np.sin(2 * np.pi * season / 12) + rng.normal(scale=noise, size=len(t))
    for j, b in enumerate(beta, start=1):
        x = rng.normal(size=(n_areas, n_periods)).cumsum(axis=1).ravel() * 0.3 + rng.normal(size=n_areas).repeat(n_periods)
        data[f"x{j}"] = x
        y = y + b * x
    data["y"] = y
    return pd.DataFrame(data)


DRIVERS = ("x1", "x2", "x3")


def at(p: pd.DataFrame, period: int) -> pd.DataFrame:
    return p[p.period_ordinal == period]


@pytest.fixture(scope="module")
def linear_case():
    p = make_panel()
    m = DriverModel("linear", drivers=DRIVERS, alpha=1e-6).fit(p)
    return p, m


@pytest.fixture(scope="module")
def gbm_case():
    p = make_panel(n_areas=40)
    m = DriverModel("gradient_boosting", drivers=DRIVERS, pseudo_drivers=("trend", "seasonality"), max_iter=60).fit(p)
    return p, m


# ----------------------------------------------------------------------------- linear closed form


def test_linear_golden_case_per_area_and_whole(linear_case):
    p, m = linear_case
    a, b = at(p, 5), at(p, 30)
    att = attribute_change(m, a, b)
    assert isinstance(att, PairedAttribution)
    assert att.features == DRIVERS
    assert att.areas == tuple(sorted(a.area))
    beta = m.linear_coefficients()
    rows = (list(att.areas), list(DRIVERS))
    dx = b.set_index("area").loc[rows].to_numpy() - a.set_index("area").loc[rows].to_numpy()
    np.testing.assert_allclose(att.phi, dx * beta, rtol=1e-12, atol=1e-12)
    whole = att.total()
    n = len(att.areas)
    for j, f in enumerate(DRIVERS):
        assert whole[f] == pytest.approx(beta[j] * n * (b[f].mean() - a[f].mean()), rel=1e-9, abs=1e-9)
    # the fitted β recover the planted truth, so the whole does too
    truth = {f: bj * (b[f].sum() - a[f].sum()) for f, bj in zip(DRIVERS, (3.0, -2.0, 0.0))}
    for f in ("x1", "x2"):
        assert whole[f] == pytest.approx(truth[f], rel=0.01)


def test_efficiency_per_area_and_whole_and_unexplained(linear_case):
    p, m = linear_case
    att = attribute_change(m, at(p, 3), at(p, 33))
    np.testing.assert_allclose(att.phi.sum(axis=1), att.pred_to - att.pred_from, rtol=0, atol=1e-9)
    assert sum(att.total().values()) == pytest.approx(att.predicted_change(), abs=1e-9)
    assert sum(att.total().values()) + att.unexplained() == pytest.approx(att.actual_change(), abs=1e-9)
    np.testing.assert_allclose(
        att.unexplained_by_area(), (att.actual_to - att.actual_from) - (att.pred_to - att.pred_from)
    )
    frame = att.to_frame()
    assert list(frame.columns[:4]) == ["area", "x1", "x2", "x3"]
    assert frame["unexplained"].sum() == pytest.approx(att.unexplained())


def test_dummy_unchanged_driver_gets_exactly_zero_and_unused_driver_about_zero(linear_case):
    p, m = linear_case
    a = at(p, 4)
    b = at(p, 20).copy()
    b["x2"] = a.set_index("area").loc[b.area, "x2"].to_numpy()
    att = attribute_change(m, a, b)
    assert np.all(att.phi[:, 1] == 0.0)
    whole = att.total()
    assert abs(whole["x3"]) < 0.01 * (abs(whole["x1"]) + abs(whole["x2"]) + abs(whole["x3"]))


def test_antisymmetry(linear_case):
    p, m = linear_case
    fwd = attribute_change(m, at(p, 2), at(p, 25))
    back = attribute_change(m, at(p, 25), at(p, 2))
    np.testing.assert_array_equal(back.phi, -fwd.phi)
    assert back.unexplained() == pytest.approx(-fwd.unexplained())


def test_scale_invariance():
    p = make_panel()
    m1 = DriverModel("linear", drivers=DRIVERS, alpha=1e-9).fit(p)
    m2 = DriverModel("linear", drivers=DRIVERS, alpha=1e-9).fit(p.assign(y=p.y * 7))
    a1 = attribute_change(m1, at(p, 1), at(p, 30))
    a2 = attribute_change(m2, at(p, 1), at(p, 30))
    np.testing.assert_allclose(a2.phi, 7 * a1.phi, rtol=1e-6, atol=1e-9)


def test_seasonality_is_one_group():
    p = make_panel(seasonal=2.0)
    m = DriverModel("linear", drivers=DRIVERS, pseudo_drivers=("seasonality",), alpha=1e-6).fit(p)
    same_month = attribute_change(m, at(p, 12), at(p, 24))        # January against January
    assert same_month.features == ("x1", "x2", "x3", "seasonality")
    assert np.all(same_month.phi[:, 3] == 0.0)
    jan_apr = attribute_change(m, at(p, 12), at(p, 15))          # month 1 against month 4
    beta = m.linear_coefficients()
    expected = beta[3 + 3] - beta[3 + 0]                          # one-hot columns of April and January
    np.testing.assert_allclose(jan_apr.phi[:, 3], expected, rtol=1e-12)
    truth = 2.0 * (np.sin(2 * np.pi * 4 / 12) - np.sin(2 * np.pi * 1 / 12))
    assert jan_apr.phi[0, 3] == pytest.approx(truth, abs=0.05)
    np.testing.assert_allclose(jan_apr.phi.sum(axis=1), jan_apr.pred_to - jan_apr.pred_from, atol=1e-9)


def test_weights_give_the_mean_aggregation(linear_case):
    p, m = linear_case
    att = attribute_change(m, at(p, 0), at(p, 10))
    n = len(att.areas)
    mean = att.total(np.full(n, 1 / n))
    for j, f in enumerate(att.features):
        assert mean[f] == pytest.approx(att.phi[:, j].mean())
    assert att.predicted_change(np.full(n, 1 / n)) == pytest.approx(np.mean(att.pred_to - att.pred_from))
    with pytest.raises(ModelError, match="Got 2 weights for 30 areas"):
        att.total(np.ones(2))


def test_pairing_by_area(linear_case):
    p, m = linear_case
    a = at(p, 0)
    b = at(p, 10)
    b = b[b.area != "A003"]
    b = pd.concat([b, b.iloc[:1].assign(area="NEW")]).iloc[::-1]   # reversed order, one new area
    att = attribute_change(m, a, b)
    assert att.unpaired == ("A003", "NEW")
    assert len(att.areas) == 29 and "A003" not in att.areas
    ref = attribute_change(m, a[a.area != "A003"], at(p, 10))
    np.testing.assert_array_equal(att.phi, ref.phi)
    with pytest.raises(ModelError, match="more than one row for area 'A000'"):
        attribute_change(m, pd.concat([a, a.iloc[:1]]), b)
    with pytest.raises(ModelError, match="No area has rows in both periods"):
        attribute_change(m, a, b.assign(area="Z" + b.area))


def test_linear_refuses_missing_driver_values(linear_case):
    p, m = linear_case
    b = at(p, 10).copy()
    b.loc[b.area == "A002", "x2"] = np.nan
    with pytest.raises(ModelError, match="cannot explain area 'A002': driver 'x2' is missing in period to"):
        attribute_change(m, at(p, 0), b)


def test_results_are_read_only(linear_case):
    p, m = linear_case
    att = attribute_change(m, at(p, 0), at(p, 10))
    with pytest.raises(ValueError):
        att.phi[0, 0] = 1.0


# ----------------------------------------------------------------------------- gradient boosting


@pytest.fixture(scope="module")
def hgb_with_nans():
    """A raw HGB trained with missing values so both missing directions occur in its trees."""
    rng = np.random.default_rng(7)
    k = 5
    X = rng.normal(size=(4000, k))
    y = X[:, 0] * X[:, 1] + np.sin(3 * X[:, 2]) + np.where(np.isnan(X[:, 3]), 0, X[:, 3] ** 2) + 0.1 * X[:, 4]
    X[rng.random(X.shape) < 0.15] = np.nan
    y = np.where(np.isnan(X[:, 0]), 1.5, y)
    est = HistGradientBoostingRegressor(max_iter=40, max_leaf_nodes=15, early_stopping=False, random_state=0).fit(X, y)
    mleft = np.concatenate([p[0].nodes["missing_go_to_left"][p[0].nodes["is_leaf"] == 0] for p in est._predictors])
    assert mleft.min() == 0 and mleft.max() == 1
    return est, X


def _random_pairs(rng, n, k, nan_share=0.15):
    x = rng.normal(size=(n, k))
    r = rng.normal(size=(n, k))
    x[rng.random(x.shape) < nan_share] = np.nan
    r[rng.random(r.shape) < nan_share] = np.nan
    r[0] = x[0]                 # identical rows
    r[1, 2] = x[1, 2]           # one unchanged feature
    x[2, 1] = r[2, 1] = np.nan  # both missing
    return x, r


def _brute_force(est, x, r):
    """Shapley values of f over all 2^k coalitions of the hybrid z_S = (x on S, r elsewhere)."""
    k = len(x)
    coalitions = list(itertools.product([0, 1], repeat=k))
    z = np.array([np.where(np.array(S, bool), x, r) for S in coalitions])
    f = dict(zip(coalitions, est.predict(z)))
    phi = np.zeros(k)
    for S in coalitions:
        if not any(S):
            continue
        s = sum(S) - 1
        w = math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k)
        for i in range(k):
            if S[i]:
                without = tuple(0 if j == i else v for j, v in enumerate(S))
                phi[i] += w * (f[S] - f[without])
    return phi


ENGINES = ["numpy"] + (["numba"] if numba_available() else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_fast_baseline_shap_equals_brute_force_including_nans_and_ties(hgb_with_nans, engine):
    est, X = hgb_with_nans
    rng = np.random.default_rng(1)
    x, r = _random_pairs(rng, 25, X.shape[1])
    # Training rows too: their values can sit exactly on a split threshold.
    x = np.vstack([x, X[:10]])
    r = np.vstack([r, X[10:20]])
    phi = baseline_shap(est, x, r, engine=engine)
    for i in range(len(x)):
        np.testing.assert_allclose(phi[i], _brute_force(est, x[i], r[i]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(phi.sum(axis=1), est.predict(x) - est.predict(r), rtol=0, atol=1e-9)
    assert np.all(phi[0] == 0.0)
    assert phi[1, 2] == 0.0
    assert phi[2, 1] == 0.0


def test_fast_baseline_shap_equals_shap_interventional_one_row_background(hgb_with_nans):
    est, X = hgb_with_nans
    rng = np.random.default_rng(2)
    x, r = _random_pairs(rng, 30, X.shape[1])
    phi = baseline_shap(est, x, r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(len(x)):
            tree = shap.TreeExplainer(est, data=r[i:i + 1], feature_perturbation="interventional")
            np.testing.assert_allclose(phi[i], tree.shap_values(x[i:i + 1], check_additivity=False)[0], rtol=0, atol=1e-6)


@pytest.mark.slow
def test_fast_baseline_shap_equals_shap_exact_explainer(hgb_with_nans):
    """shap's model-agnostic Exact explainer with a one-row Independent masker (its first call
    compiles shap's own kernels, hence slow)."""
    est, X = hgb_with_nans
    x, r = _random_pairs(np.random.default_rng(2), 4, X.shape[1])
    phi = baseline_shap(est, x, r)
    for i in (2, 3):   # a pair with a feature missing in both rows, and a plain one
        exact = shap.explainers.Exact(est.predict, shap.maskers.Independent(r[i:i + 1], max_samples=1))
        np.testing.assert_allclose(phi[i], exact(x[i:i + 1], silent=True).values[0], rtol=0, atol=1e-9)


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
def test_numba_and_numpy_kernels_agree(gbm_case):
    p, m = gbm_case
    d = m.design(p)
    rng = np.random.default_rng(3)
    x, r = d[rng.integers(0, len(d), 300)], d[rng.integers(0, len(d), 300)]
    np.testing.assert_allclose(baseline_shap(m.estimator_, x, r, engine="numba"),
                               baseline_shap(m.estimator_, x, r, engine="numpy"), rtol=0, atol=1e-12)


def test_numpy_fallback_is_used_without_numba(gbm_case, monkeypatch):
    import explain.treeshap as ts

    p, m = gbm_case
    d = m.design(p.iloc[:50])
    expected = baseline_shap(m.estimator_, d[:25], d[25:], engine="numpy")
    monkeypatch.setattr(ts, "_NUMBA_KERNEL", None)
    monkeypatch.setattr(ts, "_NUMBA_FAILED", True)
    assert not ts.numba_available()
    np.testing.assert_array_equal(baseline_shap(m.estimator_, d[:25], d[25:]), expected)
    with pytest.raises(ModelError, match="numba engine was asked for"):
        baseline_shap(m.estimator_, d[:25], d[25:], engine="numba")


def test_leaf_table_is_cached_and_rejects_bad_shapes(gbm_case):
    _, m = gbm_case
    assert leaf_table(m.estimator_) is leaf_table(m.estimator_)
    with pytest.raises(ModelError, match="needs two arrays of shape"):
        baseline_shap(m.estimator_, np.zeros((2, 5)), np.zeros((2, 4)))


def test_gbm_attribution_is_additive_antisymmetric_and_zero_for_unchanged(gbm_case):
    p, m = gbm_case
    a = at(p, 6)
    b = at(p, 30).copy()
    b["x3"] = a.set_index("area").loc[b.area, "x3"].to_numpy()
    att = attribute_change(m, a, b)
    assert att.features == ("x1", "x2", "x3", "trend", "seasonality")
    np.testing.assert_allclose(att.phi.sum(axis=1), att.pred_to - att.pred_from, rtol=0, atol=1e-9)
    np.testing.assert_allclose(att.pred_to, m.predict(b.sort_values("area")))
    assert np.all(att.phi[:, 2] == 0.0)
    assert np.all(att.phi[:, 4] == 0.0)                        # month 7 against month 7
    back = attribute_change(m, b, a)
    np.testing.assert_allclose(back.phi, -att.phi, rtol=0, atol=1e-12)


def test_a_failed_additivity_check_is_a_bug_not_a_user_error(gbm_case, monkeypatch):
    p, m = gbm_case
    real = attribution_module.baseline_shap
    monkeypatch.setattr(attribution_module, "baseline_shap", lambda est, x, r: real(est, x, r) + 1e-3)
    with pytest.raises(AdditivityError, match="per area: contributions add up to") as e:
        attribute_change(m, at(p, 1), at(p, 2))
    assert not isinstance(e.value, WhytrendError)
    attribute_change(m, at(p, 1), at(p, 2), check_additivity=False)


def test_gbm_recovers_a_planted_nonlinear_truth():
    rng = np.random.default_rng(11)
    n_areas, n_periods = 150, 40
    t = np.tile(np.arange(n_periods), n_areas)
    drift1 = rng.uniform(0.0, 0.06, n_areas).repeat(n_periods)
    x1 = rng.normal(scale=0.8, size=n_areas).repeat(n_periods) + drift1 * t + rng.normal(scale=0.05, size=len(t))
    x2 = rng.normal(size=n_areas).repeat(n_periods) - 0.02 * t + rng.normal(scale=0.05, size=len(t))
    x3 = rng.normal(size=len(t))
    def g(v):
        return 3 * np.tanh(v) + 0.5 * v ** 2
    y = g(x1) + 2 * x2 + rng.normal(scale=0.1, size=len(t))
    p = pd.DataFrame({"area": np.repeat([f"A{a}" for a in range(n_areas)], n_periods), "period_ordinal": t,
                      "season": t % 12 + 1, "x1": x1, "x2": x2, "x3": x3, "y": y})
    m = DriverModel(drivers=DRIVERS).fit(p)
    a, b = at(p, 2), at(p, 38)
    att = attribute_change(m, a, b)
    whole = att.total()
    truth1 = float(np.sum(g(b.x1.to_numpy()) - g(a.x1.to_numpy())))
    truth2 = float(2 * (b.x2.sum() - a.x2.sum()))
    assert whole["x1"] == pytest.approx(truth1, rel=0.2)
    assert whole["x2"] == pytest.approx(truth2, rel=0.2)
    assert abs(whole["x3"]) < 0.1 * (abs(truth1) + abs(truth2))


# ----------------------------------------------------------------------------- unpaired groups


def test_groups_linear_closed_form(linear_case):
    p, m = linear_case
    a, b = at(p, 0), at(p, 30).iloc[:20]
    g = attribute_groups(m, a, b)
    beta = m.linear_coefficients()
    for j, f in enumerate(DRIVERS):
        assert g.total()[f] == pytest.approx(beta[j] * (b[f].mean() - a[f].mean()), rel=1e-9, abs=1e-12)
    assert sum(g.total().values()) == pytest.approx(g.mean_pred_to - g.mean_pred_from, abs=1e-9)
    assert g.n_from == 30 and g.n_to == 20
    assert g.unexplained() == pytest.approx((b.y.mean() - a.y.mean()) - (g.mean_pred_to - g.mean_pred_from))


def test_groups_gbm_exact_matches_shap_with_a_full_background(gbm_case):
    p, m = gbm_case
    rng = np.random.default_rng(5)
    # fresh rows (not training rows): shap's own traversal is exact away from split thresholds
    base = at(p, 10)
    a = pd.concat([base.assign(area=base.area + f"_{k}") for k in range(4)], ignore_index=True)   # 160 rows > 100
    for c in DRIVERS:
        a[c] = a[c] + rng.normal(scale=0.5, size=len(a))
    b = at(p, 25).copy()
    for c in DRIVERS:
        b[c] = b[c] + rng.normal(scale=0.5, size=len(b))
    exact = attribute_groups(m, a, b)
    via_shap = attribute_groups(m, a, b, engine="shap")
    np.testing.assert_allclose(exact.phi, via_shap.phi, rtol=0, atol=1e-6)
    assert exact.phi.sum() == pytest.approx(exact.mean_pred_to - exact.mean_pred_from, abs=1e-9)
    # the trap: shap's default masker keeps 100 of the 160 background rows, and the parts then
    # no longer add up to mean f(B) − mean f(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d_a, d_b = m.design(a), m.design(b)
        trapped = shap.TreeExplainer(m.estimator_, data=shap.maskers.Independent(d_a),
                                     feature_perturbation="interventional")
        assert trapped.data.shape[0] == 100
        phi_trapped = trapped.shap_values(d_b, check_additivity=False).mean(axis=0)
    assert abs(phi_trapped.sum() - (exact.mean_pred_to - exact.mean_pred_from)) > 1e-6


def test_groups_engine_must_be_known(linear_case):
    p, m = linear_case
    with pytest.raises(ModelError, match="Unknown engine"):
        attribute_groups(m, at(p, 0), at(p, 1), engine="kernel")


# ----------------------------------------------------------------------------- intervals


def test_intervals_are_deterministic_and_cover_a_planted_linear_truth():
    p = make_panel(n_areas=60, noise=0.5, seed=4)
    m = DriverModel("linear", drivers=DRIVERS)
    f1 = fit_with_bootstrap(m, p, n_bootstrap=30, random_state=0)
    f2 = fit_with_bootstrap(m, p, n_bootstrap=30, random_state=0)
    a, b = at(p, 3), at(p, 33)
    r1 = attribute_with_intervals(f1, a, b)
    r2 = attribute_with_intervals(f2, a, b)
    assert isinstance(r1, AttributionWithIntervals)
    assert r1.whole_low == r2.whole_low and r1.whole_high == r2.whole_high
    np.testing.assert_array_equal(r1.area_low, r2.area_low)
    truth = {f: bj * (b[f].sum() - a[f].sum()) for f, bj in zip(DRIVERS, (3.0, -2.0, 0.0))}
    for f in DRIVERS:
        assert r1.whole_low[f] <= truth[f] <= r1.whole_high[f], f
        assert r1.whole_low[f] <= r1.whole[f] <= r1.whole_high[f]
    assert r1.area_low.shape == r1.attribution.phi.shape == r1.area_high.shape
    assert np.all(r1.area_low <= r1.area_high)
    assert r1.bootstrap_whole.shape == (30, 3)
    assert r1.warnings == ()
    assert list(r1.whole) == list(DRIVERS)
    assert sum(r1.whole.values()) + r1.unexplained() == pytest.approx(r1.attribution.actual_change())


def test_intervals_with_weights():
    p = make_panel(n_areas=20, noise=0.5)
    f = fit_with_bootstrap(DriverModel("linear", drivers=DRIVERS), p, n_bootstrap=5)
    w = np.full(20, 1 / 20)
    r = attribute_with_intervals(f, at(p, 0), at(p, 30), weights=w)
    assert r.whole == r.attribution.total(w)
    assert r.unexplained() == pytest.approx(r.attribution.unexplained(w))


def test_instability_warning_on_collinear_drivers():
    # x2 is x1 plus a whisper of noise: the split of their joint effect is not identified, so the
    # bootstrap swings it across zero while each carries a large share of the movement.
    rng = np.random.default_rng(0)
    n_areas, n_periods = 40, 24
    t = np.tile(np.arange(n_periods), n_areas)
    x1 = rng.normal(size=n_areas).repeat(n_periods) + 0.1 * t + rng.normal(scale=0.3, size=len(t))
    x2 = x1 + rng.normal(scale=1e-3, size=len(t))
    y = x1 + x2 + rng.normal(scale=1.0, size=len(t))
    p = pd.DataFrame({"area": np.repeat([f"A{a}" for a in range(n_areas)], n_periods), "period_ordinal": t,
                      "season": t % 12 + 1, "x1": x1, "x2": x2, "y": y})
    f = fit_with_bootstrap(DriverModel("linear", drivers=("x1", "x2"), alpha=1e-9), p, n_bootstrap=30)
    r = attribute_with_intervals(f, at(p, 0), at(p, 23))
    assert r.warnings
    msg = r.warnings[0]
    assert "90% interval" in msg and "includes zero" in msg and "cannot say reliably" in msg
    assert "'x1'" in msg or "'x2'" in msg


def test_intervals_need_bootstrap_models(linear_case):
    p, m = linear_case
    f = fit_with_bootstrap(DriverModel("linear", drivers=DRIVERS), p, n_bootstrap=0)
    with pytest.raises(ModelError, match="at least 2 bootstrap refits"):
        attribute_with_intervals(f, at(p, 0), at(p, 1))
    with pytest.raises(ModelError, match="confidence must be between 0 and 1"):
        attribute_with_intervals(f, at(p, 0), at(p, 1), confidence=90)
