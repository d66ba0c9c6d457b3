"""Identifiability warnings and the model-quality gate (issue 14): when two drivers move together over
the span, or the refits trade one against the other, the split between them is said to be uncertain,
with their combined contribution, which is well determined."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import explain
from explain.identifiability import span_paths, uncertain_splits
from loaders.demo import planted_contributions

CROSS_SEASON = ("2024-07", "2025-01")


def test_refits_that_trade_one_driver_against_another_flag_the_pair():
    rng = np.random.default_rng(3)
    swing = rng.normal(0, 50, 20)
    boot = np.column_stack([100 + swing, -40 - swing + rng.normal(0, 1, 20), 5 + rng.normal(0, 1, 20)])
    whole = {"a": 100.0, "b": -40.0, "c": 5.0}
    [pair] = uncertain_splits(whole, ["a", "b", "c"], boot, paths={})
    assert pair.drivers == ("a", "b") and pair.reason == "trade-off" and pair.correlation < -0.8
    assert pair.combined == 60.0 and pair.combined_low < 60.0 < pair.combined_high
    assert pair.combined_high - pair.combined_low < 0.2 * (boot[:, 0].std() * 2)  # the sum is well determined
    # a driver that did not change gets exactly 0 from paired SHAP: there is nothing to split
    assert uncertain_splits({**whole, "b": 0.0}, ["a", "b", "c"], boot, paths={}) == ()


def test_paths_over_the_span_measure_co_movement_with_the_season():
    months = pd.period_range("2020-01", periods=36, freq="M")
    rows = [{"area": a, "period": str(m), "period_ordinal": i, "season": m.month,
             "temperature": 10 - 8 * np.cos(2 * np.pi * (m.month - 7) / 12) + 0.1 * k,
             "flu": float(i % 5)} for k, a in enumerate("AB") for i, m in enumerate(months)]
    panel = pd.DataFrame(rows)
    span = [str(m) for m in months[30:36]]  # July to December: temperature falls with the season
    paths = span_paths(panel, span, ["temperature", "flu", "seasonality"])
    assert paths[("temperature", "seasonality")] == pytest.approx(1.0, abs=1e-9)
    assert abs(paths[("flu", "seasonality")]) < 0.9
    assert span_paths(panel, span[:2], ["temperature", "seasonality"]) == {}  # two periods: no path to judge


def test_the_cross_season_ae_window_says_temperature_and_season_cannot_be_told_apart(demo_store):
    e = explain.explain_change(demo_store, "ae_attendances", *CROSS_SEASON)
    [pair] = e.uncertain_splits
    assert set(pair.drivers) == {"mean_temperature", "seasonality"} and pair.reason == "co-movement"
    truth = planted_contributions("ae_attendances", period_from=CROSS_SEASON[0], period_to=CROSS_SEASON[1])
    together = truth["mean_temperature"] + truth["seasonality"]
    assert pair.combined_low <= together <= pair.combined_high  # the sum is right although the split is not
    sentence = e.narrative_part("uncertain")
    assert "The split between mean air temperature and seasonality is uncertain" in sentence
    assert "well determined" in sentence and sentence in e.narrative
    assert e.to_dict()["uncertain_splits"][0]["reason"] == "co-movement"
    # a same-month window keeps seasonality at exactly zero: nothing uncertain to say
    assert explain.explain_change(demo_store, "ae_attendances", "2021-12", "2022-12").uncertain_splits == ()


def test_a_model_not_better_than_the_naive_forecast_is_said_to_be_unreliable(demo_store):
    from explain.model_quality import judge

    e = explain.explain_change(demo_store, "ae_attendances", *CROSS_SEASON)
    quality = judge(explain.get_version(demo_store, "ae_attendances").scores)
    gated = [w for w in e.warnings if w.startswith("The driver model is not better than the naive forecast")]
    assert bool(gated) == (quality.better_than_naive is False)
    if gated:
        assert "treat the split between drivers as unreliable" in gated[0] and gated[0] in e.narrative
    uc = explain.explain_change(demo_store, "uc_caseload", "2025-09", "2026-09")
    assert judge(explain.get_version(demo_store, "uc_caseload").scores).better_than_naive
    assert not any("not better than the naive forecast" in w for w in uc.warnings)
