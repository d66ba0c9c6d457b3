"""How often the driver intervals cover the demo's planted truth (issue 14).

Loads the bundled demo, fits each driver model twice in the same run, with an area-only bootstrap
(the earlier method, with percentile intervals) and with the two-way block bootstrap and centred
intervals (now), and for every planted window (``loaders.demo.RECOMMENDED_WINDOWS``) and driver asks
whether the 90% interval holds the planted contribution (``planted_contributions``) and whether it
holds its own point estimate.

    .venv/bin/python benchmarks/interval_coverage.py
"""
from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

log = logging.getLogger("benchmarks.coverage")


def windows_covered(store, metric: str, *, percentile: bool) -> tuple[int, int, int, list[str]]:
    """(covered, inside their own interval, cases, lines) over the metric's planted windows."""
    from explain.engine import MetricContext
    from loaders.demo import RECOMMENDED_WINDOWS, planted_contributions

    covered = inside = cases = 0
    lines = []
    ctx = MetricContext.load(store, metric)
    for w in RECOMMENDED_WINDOWS:
        if w.metric != metric:
            continue
        truth = planted_contributions(metric, period_from=w.period_from, period_to=w.period_to, area=w.area)
        every = ctx._attribution(w.period_from, w.period_to)
        area = w.area or "ALL"
        result = every.for_areas(ctx.leaves_under(area) if area != "ALL" else None, confidence=0.9)
        for driver in result.features:
            if driver not in truth or abs(truth[driver]) < 1e-9:
                continue
            point, low, high = result.whole[driver], result.whole_low[driver], result.whole_high[driver]
            if percentile:
                index = result.features.index(driver)
                low, high = np.percentile(result.bootstrap_whole[:, index], [5, 95])
            cases += 1
            hit = low <= truth[driver] <= high
            covered += hit
            inside += low <= point <= high
            lines.append(f"  {metric:<15} {w.area or 'whole':<10} {w.period_from}→{w.period_to} {driver:<18} "
                         f"truth {truth[driver]:>12,.0f}  estimate {point:>12,.0f}  [{low:,.0f}, {high:,.0f}] "
                         f"{'covered' if hit else 'MISSED'}")
    return covered, inside, cases, lines


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    from explain import fit_driver_model
    from loaders import Store
    from loaders.demo import run_demo

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "demo.db")
        run_demo(store, Path(tmp) / "files")
        results = {}
        for label, block, percentile in (("before: areas only, percentile", 0, True),
                                         ("now: areas and period blocks, centred", None, False)):
            totals = [0, 0, 0]
            report = []
            for metric in ("uc_caseload", "ae_attendances"):
                fit_driver_model(store, metric, block=block, n_bootstrap=20)
                covered, inside, cases, lines = windows_covered(store, metric, percentile=percentile)
                totals = [totals[0] + covered, totals[1] + inside, totals[2] + cases]
                report += lines
            results[label] = totals
            print(f"\n{label}")
            print("\n".join(report))
        print()
        for label, (covered, inside, cases) in results.items():
            print(f"{label:<40} covered the planted truth in {covered} of {cases} cases (nominal 90%); "
                  f"{cases - inside} point estimates outside their own interval")


if __name__ == "__main__":
    main()
