"""Benchmark of the driver-model core: fit, paired baseline SHAP, and shap's TreeExplainer.

Builds a 400 areas × 120 months × 20 drivers panel, fits a 200-tree HistGradientBoosting driver
model (one thread), and reports:

* fit time;
* one area's attribution (one pair, through ``attribute_change``), in ms;
* the whole (400 pairs, through ``attribute_change``), in ms;
* bulk explanations per second (pairs through the kernel, 4,000 pairs);
* shap's TreeExplainer on the same 400 rows: default (path-dependent) mode and interventional
  with a 100-row background, as time ratios against our whole.

Targets (issue brief): one area ≤ 20 ms, whole ≤ 200 ms, bulk ≥ 2,000 explanations/s.
Run: ``/work/venv/bin/python benchmarks/explain_core.py`` (``--numpy`` for the numpy kernel,
``--bootstrap 20`` to add the area bootstrap's fit time and the whole with intervals).
Machines are noisy (±25%): compare ratios within one run.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

log = logging.getLogger("benchmarks.explain_core")


def build_panel(n_areas: int = 400, n_periods: int = 120, n_drivers: int = 20, seed: int = 0) -> pd.DataFrame:
    """A monthly panel with a planted non-linear truth in a few drivers, noise in the rest."""
    rng = np.random.default_rng(seed)
    area = np.repeat([f"E{a:08d}" for a in range(n_areas)], n_periods)
    t = np.tile(np.arange(n_periods), n_areas)
    data = {"area": area, "period_ordinal": t, "season": t % 12 + 1}
    level = rng.normal(size=(n_areas, 1, n_drivers))
    walk = rng.normal(scale=0.1, size=(n_areas, n_periods, n_drivers)).cumsum(axis=1)
    x = (level + walk).reshape(-1, n_drivers)
    for j in range(n_drivers):
        data[f"d{j:02d}"] = x[:, j]
    y = (np.tanh(2 * x[:, 0]) * 3 + 2 * x[:, 1] + x[:, 2] * x[:, 3] + 0.5 * np.sin(2 * np.pi * data["season"] / 12)
         + 0.01 * t + rng.normal(scale=0.3, size=len(t)))
    data["y"] = y
    return pd.DataFrame(data)


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numpy", action="store_true", help="use the pure-numpy kernel instead of numba")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=0, metavar="N",
                        help="also fit N area-bootstrap refits and time the whole with intervals")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.numpy:
        os.environ["WHYTREND_NO_NUMBA"] = "1"

    import shap

    from explain.attribution import attribute_change, attribute_with_intervals
    from explain.drivers import DriverModel, fit_with_bootstrap, one_thread
    from explain.treeshap import baseline_shap, leaf_table, numba_available

    panel = build_panel()
    drivers = tuple(c for c in panel.columns if c.startswith("d"))
    model = DriverModel("gradient_boosting", drivers=drivers, pseudo_drivers=("trend", "seasonality"))
    t0 = time.perf_counter()
    model.fit(panel)
    fit_s = time.perf_counter() - t0
    est = model.estimator_
    t0 = time.perf_counter()
    table = leaf_table(est)
    table_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine_numba = numba_available()
    jit_s = time.perf_counter() - t0

    rows_a = panel[panel.period_ordinal == 60]
    rows_b = panel[panel.period_ordinal == 119]
    one_a, one_b = rows_a.iloc[:1], rows_b.iloc[:1]
    attribute_change(model, one_a, one_b)  # warm up
    one_ms = _median_time(lambda: attribute_change(model, one_a, one_b), args.repeats * 4) * 1e3
    whole_ms = _median_time(lambda: attribute_change(model, rows_a, rows_b), args.repeats) * 1e3

    rng = np.random.default_rng(1)
    design = model.design(panel)
    n_bulk = 4000
    xi, ri = rng.integers(0, len(design), n_bulk), rng.integers(0, len(design), n_bulk)
    bx, br = design[xi], design[ri]
    bulk_s = _median_time(lambda: baseline_shap(est, bx, br), args.repeats)
    bulk_rate = n_bulk / bulk_s

    d_b = model.design(rows_b)
    d_a = model.design(rows_a)
    with warnings.catch_warnings(), one_thread():
        warnings.simplefilter("ignore")
        path_exp = shap.TreeExplainer(est)
        path_s = _median_time(lambda: path_exp.shap_values(d_b, check_additivity=False), 1)
        bg = d_a[rng.choice(len(d_a), 100, replace=False)]
        masker = shap.maskers.Independent(bg, max_samples=len(bg))
        int_exp = shap.TreeExplainer(est, data=masker, feature_perturbation="interventional")
        int_s = _median_time(lambda: int_exp.shap_values(d_b, check_additivity=False), 1)

    boot_fit_s = intervals_ms = None
    if args.bootstrap:
        t0 = time.perf_counter()
        fitted = fit_with_bootstrap(model, panel, n_bootstrap=args.bootstrap)
        boot_fit_s = time.perf_counter() - t0
        attribute_with_intervals(fitted, rows_a, rows_b)  # builds each model's tree table once
        intervals_ms = _median_time(lambda: attribute_with_intervals(fitted, rows_a, rows_b), args.repeats) * 1e3

    whole_s = whole_ms / 1e3
    log.info("panel: %d rows (%d areas × %d periods), %d drivers + trend + seasonality",
             len(panel), panel.area.nunique(), panel.period_ordinal.nunique(), len(drivers))
    log.info("kernel: %s; leaf table %d leaves, %d constraints, built in %.0f ms; JIT/cache load %.0f ms",
             "numba" if engine_numba else "numpy", table.n_leaves, table.constraints.feature.shape[0], table_s * 1e3, jit_s * 1e3)
    log.info("fit (200 trees, 1 thread):          %8.2f s", fit_s)
    log.info("one area (1 pair):                  %8.2f ms   (target <= 20 ms)", one_ms)
    log.info("whole (400 pairs):                  %8.2f ms   (target <= 200 ms)", whole_ms)
    log.info("bulk:                               %8.0f explanations/s   (target >= 2,000)", bulk_rate)
    if boot_fit_s is not None:
        log.info("fit + %d bootstrap refits:           %8.2f s", args.bootstrap, boot_fit_s)
        log.info("whole with intervals (%d models):    %8.2f ms", args.bootstrap + 1, intervals_ms)
    log.info("shap TreeExplainer path-dependent, 400 rows: %8.2f s = %6.1f× our whole", path_s, path_s / whole_s)
    log.info("shap TreeExplainer interventional, 100-row bg, 400 rows: %8.2f s = %6.1f× our whole", int_s, int_s / whole_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
