"""Driver models: the estimator interface, time-aware validation, tuning and the area bootstrap."""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from explain.drivers import (
    CvScores,
    DriverModel,
    FittedDrivers,
    cross_validate_time,
    fit_with_bootstrap,
    one_thread,
    time_splits,
    training_hash,
    tune,
)
from explain.errors import ModelError
from loaders.vocabulary import MODEL_KINDS


def make_panel(n_areas=30, n_periods=36, *, beta=(3.0, -2.0, 0.0), noise=0.05, seed=0, seasonal=0.0, y=None):
    """A monthly panel y = Σ β_j x_j + seasonal·sin(2π·month/12) + noise, drivers x1.. random walks."""
    rng = np.random.default_rng(seed)
    area = np.repeat([f"A{a:03d}" for a in range(n_areas)], n_periods)
    t = np.tile(np.arange(n_periods), n_areas)
    season = t % 12 + 1
    data = {"area": area, "period_ordinal": t, "season": season}
    yv = seasonal * np.sin(2 * np.pi * season / 12) + rng.normal(scale=noise, size=len(t))
    for j, b in enumerate(beta, start=1):
        x = rng.normal(size=(n_areas, n_periods)).cumsum(axis=1).ravel() * 0.3 + rng.normal(size=n_areas).repeat(n_periods)
        data[f"x{j}"] = x
        yv = yv + b * x
    data["y"] = yv if y is None else y(rng, len(t))
    return pd.DataFrame(data)


DRIVERS = ("x1", "x2", "x3")


# ----------------------------------------------------------------------------- the model


def test_init_stores_params_only_and_clones():
    m = DriverModel("linear", drivers=("a", "b"), pseudo_drivers=("trend",), alpha=0.5)
    assert m.get_params()["drivers"] == ("a", "b")
    assert m.get_params()["alpha"] == 0.5
    assert not hasattr(m, "estimator_")
    c = clone(m)
    assert c.get_params() == m.get_params()


def test_fit_learned_attributes_and_drops_incomplete_rows(caplog):
    p = make_panel()
    p.loc[3, "y"] = np.nan
    p.loc[7, "x2"] = np.nan
    p.loc[9, "season"] = np.nan
    with caplog.at_level(logging.INFO, logger="explain.drivers"):
        m = DriverModel("gradient_boosting", drivers=DRIVERS, pseudo_drivers=("trend", "seasonality"), max_iter=10).fit(p)
    assert m.feature_names_ == ("x1", "x2", "x3", "trend", "seasonality")
    assert m.n_features_in_ == 5
    assert m.n_train_rows_ == len(p) - 3
    assert "dropped 3 of" in caplog.text
    d = m.design(p.iloc[:4])
    assert d.shape == (4, 5)
    np.testing.assert_array_equal(d[:, 3], p.period_ordinal.iloc[:4])
    np.testing.assert_array_equal(d[:, 4], p.season.iloc[:4])
    assert m.predict(p).shape == (len(p),)


def test_fit_with_explicit_y():
    p = make_panel()
    m = DriverModel("linear", drivers=DRIVERS).fit(p.drop(columns="y"), p["y"].to_numpy() * 2)
    assert m.linear_coefficients()[0] == pytest.approx(6.0, rel=0.01)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "forest", "drivers": DRIVERS}, "Unknown model kind 'forest'"),
        ({"drivers": ("x1", "nope")}, "The panel has no data for driver(s) 'nope'"),
        ({"drivers": ("x1",), "pseudo_drivers": ("weather",)}, "Unknown pseudo-driver 'weather'"),
        ({"drivers": ("x1", "x1")}, "Driver 'x1' is listed more than once"),
        ({"drivers": ()}, "at least one driver"),
    ],
)
def test_user_errors(kwargs, message):
    with pytest.raises(ModelError) as e:
        DriverModel(**kwargs).fit(make_panel())
    assert message in str(e.value)


def test_driver_named_like_a_pseudo_driver_is_refused():
    p = make_panel().assign(trend=1.0)
    with pytest.raises(ModelError, match="may not be called 'trend'"):
        DriverModel(drivers=("trend",)).fit(p)


def test_unfitted_and_non_numeric_drivers():
    with pytest.raises(ModelError, match="has not been fitted yet"):
        DriverModel(drivers=DRIVERS).predict(make_panel())
    with pytest.raises(ModelError, match="Driver 'x2' has no numeric values"):
        DriverModel(drivers=DRIVERS).fit(make_panel().assign(x2="n/a"))


def test_too_little_data():
    p = make_panel(n_areas=1, n_periods=8)
    with pytest.raises(ModelError, match="Too little data to fit a driver model: 8 complete rows"):
        DriverModel("linear", drivers=DRIVERS).fit(p)


def test_seasonality_needs_seasons_for_linear():
    p = make_panel().assign(season=0)
    with pytest.raises(ModelError, match="Seasonality needs monthly or quarterly periods"):
        DriverModel("linear", drivers=DRIVERS, pseudo_drivers=("seasonality",)).fit(p)


def test_linear_is_exactly_linear_with_a_seasonal_group():
    p = make_panel(seasonal=1.0)
    m = DriverModel("linear", drivers=DRIVERS, pseudo_drivers=("seasonality", "trend"), alpha=1e-3).fit(p)
    # 3 drivers, 12 one-hot months (group 3), trend (group 4)
    assert list(m.design_groups_) == [0, 1, 2] + [3] * 12 + [4]
    d = m.design(p)
    assert d.shape == (len(p), 16)
    np.testing.assert_array_equal(d[:, 3:15].sum(axis=1), 1.0)
    np.testing.assert_allclose(m.predict(p), m.linear_intercept() + d @ m.linear_coefficients(), rtol=0, atol=1e-9)
    with pytest.raises(ModelError, match="missing driver value"):
        m.predict(p.iloc[:2].assign(x1=np.nan))


def test_gbm_has_no_early_stopping_and_numeric_features():
    m = DriverModel(drivers=DRIVERS, max_iter=15).fit(make_panel())
    assert m.estimator_.early_stopping is False
    assert m.estimator_.n_iter_ == 15
    assert m.estimator_.is_categorical_ is None


def test_one_thread_limits_openmp():
    from threadpoolctl import threadpool_info

    with one_thread():
        infos = [i for i in threadpool_info() if i["user_api"] == "openmp"]
        assert infos  # scikit-learn's OpenMP runtime is loaded
        assert all(i["num_threads"] == 1 for i in infos)


# ----------------------------------------------------------------------------- time splits


def test_time_splits_expanding_by_period_without_leakage():
    rng = np.random.default_rng(0)
    # unequal numbers of rows per period, shuffled row order
    periods = rng.permutation(np.repeat(np.arange(30), rng.integers(1, 5, 30)))
    splits = time_splits(periods, 4, min_train_periods=10)
    assert len(splits) == 4
    prev_train = -1
    prev_test_max = None
    for train, test in splits:
        tr_p, te_p = set(periods[train]), set(periods[test])
        assert max(tr_p) < min(te_p)                      # every train period precedes every test period
        assert not (tr_p & te_p)                          # no period on both sides
        assert set(np.flatnonzero(np.isin(periods, list(te_p)))) == set(test)   # whole periods, not rows
        assert set(np.flatnonzero(np.isin(periods, list(tr_p)))) == set(train)
        assert tr_p == set(range(min(te_p)))              # expanding window: everything before
        assert len(train) > prev_train
        prev_train = len(train)
        if prev_test_max is not None:
            assert min(te_p) == prev_test_max + 1         # consecutive test blocks
        prev_test_max = max(te_p)
    assert prev_test_max == 29
    assert all(len(set(periods[te])) == 5 for _, te in splits)   # (30 − 10) // 4


def test_time_splits_test_periods_and_short_history():
    periods = np.arange(20)
    s = time_splits(periods, 5, min_train_periods=12, test_periods=3)
    assert len(s) == 2                                    # only 2 blocks of 3 fit after 12 periods
    assert [list(te) for _, te in s] == [[14, 15, 16], [17, 18, 19]]
    with pytest.raises(ModelError, match="more than 12 periods of history; this panel has 12"):
        time_splits(np.arange(12), 5)


# ----------------------------------------------------------------------------- cross-validation


def test_cross_validation_scores_a_linear_panel_near_perfectly():
    p = make_panel(noise=0.01)
    s = cross_validate_time(DriverModel("linear", drivers=DRIVERS, alpha=1e-3), p)
    assert isinstance(s, CvScores)
    assert s.r2 > 0.999
    assert s.explained_variance > 0.999
    assert s.mae < s.baseline_mae / 5
    assert s.beats_baseline
    assert s.n_splits == 5 == len(s.folds)
    f = s.folds[0]
    assert f["train_periods"][1] < f["test_periods"][0]
    json.dumps(s.to_dict())


def test_cross_validation_on_noise_shows_no_skill():
    p = make_panel(y=lambda rng, n: rng.normal(size=n))
    s = cross_validate_time(DriverModel("linear", drivers=DRIVERS), p)
    assert s.r2 < 0.05


def test_cross_validation_random_walk_does_not_beat_persistence():
    # y is a per-area random walk unrelated to the drivers: persistence is the best forecast.
    n_areas, n_periods = 30, 36
    p = make_panel(n_areas, n_periods, y=lambda rng, n: rng.normal(size=(n_areas, n_periods)).cumsum(axis=1).ravel())
    for kind in MODEL_KINDS:
        s = cross_validate_time(DriverModel(kind, drivers=DRIVERS, max_iter=50), p)
        assert not s.beats_baseline, kind
        assert s.baseline_r2 > s.r2


def test_baseline_is_each_areas_last_training_value():
    p = make_panel(n_areas=2, n_periods=16)
    s = cross_validate_time(DriverModel("linear", drivers=DRIVERS), p, n_splits=1)
    train = p[p.period_ordinal < 12]
    test = p[p.period_ordinal >= 12]
    last = train[train.period_ordinal == 11].set_index("area")["y"]
    expected = np.mean(np.abs(test.y.to_numpy() - test.area.map(last).to_numpy()))
    assert s.baseline_mae == pytest.approx(expected)


# ----------------------------------------------------------------------------- tuning


def test_tune_linear_picks_the_best_on_the_same_splits():
    p = make_panel(noise=0.3)
    calls = []
    best, scores, table = tune(DriverModel("linear", drivers=DRIVERS), p, n_candidates=5,
                               progress=lambda d, t: calls.append((d, t)))
    assert len(table) == 5
    assert calls == [(i, 5) for i in range(1, 6)]
    top = max(table, key=lambda r: r["r2"])
    assert top["rank"] == 1
    assert best.alpha == top["alpha"]
    assert scores.r2 == top["r2"]
    assert best.n_train_rows_ == len(p)          # refit on all the data
    assert sorted(r["rank"] for r in table) == [1, 2, 3, 4, 5]


def test_tune_gbm_is_seeded():
    p = make_panel(n_areas=10, n_periods=24)
    m = DriverModel(drivers=DRIVERS, max_iter=20)
    _, _, t1 = tune(m, p, n_splits=2, n_candidates=3, random_state=5)
    _, _, t2 = tune(m, p, n_splits=2, n_candidates=3, random_state=5)
    def strip(t):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in t]
    assert strip(t1) == strip(t2)
    assert t1[0]["max_iter"] == 20             # the model's own params are candidate 1
    assert {"learning_rate", "max_depth", "max_iter", "min_samples_leaf", "l2_regularization"} <= set(t1[1])


def test_tune_can_be_cancelled():
    p = make_panel()
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(ModelError, match="^Tuning was cancelled$"):
        tune(DriverModel("linear", drivers=DRIVERS), p, n_candidates=6, should_stop=stop)


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_deterministic_for_a_seed():
    p = make_panel(n_areas=12, n_periods=24)
    m = DriverModel(drivers=DRIVERS, max_iter=20)
    a = fit_with_bootstrap(m, p, n_bootstrap=4, random_state=3)
    b = fit_with_bootstrap(m, p, n_bootstrap=4, random_state=3)
    c = fit_with_bootstrap(m, p, n_bootstrap=4, random_state=4)
    assert isinstance(a, FittedDrivers)
    assert a.feature_names == ("x1", "x2", "x3")
    assert a.n_rows == len(p)
    for ma, mb in zip(a.bootstrap_models, b.bootstrap_models):
        np.testing.assert_array_equal(ma.predict(p), mb.predict(p))
    assert any(not np.array_equal(ma.predict(p), mc.predict(p)) for ma, mc in zip(a.bootstrap_models, c.bootstrap_models))
    assert a.training_hash == b.training_hash


def test_bootstrap_resamples_whole_areas():
    p = make_panel(n_areas=8, n_periods=20)
    f = fit_with_bootstrap(DriverModel("linear", drivers=DRIVERS), p, n_bootstrap=5, random_state=0)
    # each refit sees whole areas: its row count is a multiple of the periods per area
    assert all(m.n_train_rows_ % 20 == 0 for m in f.bootstrap_models)
    assert len({m.n_train_rows_ for m in f.bootstrap_models}) == 1      # same number of areas drawn
    assert len({tuple(m.linear_coefficients().round(12)) for m in f.bootstrap_models}) > 1


def test_bootstrap_progress_and_cancel():
    p = make_panel(n_areas=6, n_periods=20)
    calls = []
    fit_with_bootstrap(DriverModel("linear", drivers=DRIVERS), p, n_bootstrap=3, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    with pytest.raises(ModelError, match="Fitting was cancelled"):
        fit_with_bootstrap(DriverModel("linear", drivers=DRIVERS), p, n_bootstrap=3, should_stop=lambda: True)


def test_training_hash_ignores_row_and_column_order_but_not_values():
    p = make_panel(n_areas=5, n_periods=15)
    m = DriverModel("linear", drivers=DRIVERS)
    h = training_hash(m, p)
    shuffled = p.sample(frac=1.0, random_state=1)[list(reversed(p.columns))]
    assert training_hash(m, shuffled) == h
    changed = p.copy()
    changed.loc[0, "x1"] += 1e-9
    assert training_hash(m, changed) != h
    assert len(h) == 64
