"""Calibration of the movement verdict (explain.verdict): false alarms and detection on simulated series.

For each kind of series (a random walk with drift, a linear trend with noise, a seasonal series, a
series with an earlier planted step), it simulates many monthly series of 60 points and judges the
last movement month-on-month (span 1) and year-on-year (span 12):

* false-alarm rate: the share of movements with no planted change judged "beyond normal
  variation" (nominal: 2%, the 98% prediction interval);
* detection rate: the share found when a step of 3 standard deviations of the normal change over
  that span is planted at the last point.

    .venv/bin/python benchmarks/verdict.py [--series 2000] [--seed 0]

Prints one row per kind and span. ``simulate`` and ``rates`` are used by tests/test_verdict.py on
fixed seeds.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explain.verdict import COVERAGE, judge_movement  # noqa: E402

log = logging.getLogger("benchmarks.verdict")

KINDS = ("random walk", "trend", "seasonal", "earlier step")
POINTS = 60


def simulate(kind: str, rng: np.random.Generator, n: int = POINTS) -> tuple[np.ndarray, float, float]:
    """One monthly series, and the standard deviation of its normal change over 1 and over 12 months."""
    t = np.arange(n)
    sigma = 1.0
    if kind == "random walk":
        x = 100 + np.cumsum(0.3 + sigma * rng.standard_normal(n))
        return x, sigma, sigma * math.sqrt(12)
    noise = sigma * rng.standard_normal(n)
    if kind == "trend":
        return 50 + 0.4 * t + noise, sigma * math.sqrt(2), sigma * math.sqrt(2)
    if kind == "seasonal":
        return 80 + 0.1 * t + 5 * np.sin(2 * np.pi * t / 12) + noise, sigma * math.sqrt(2), sigma * math.sqrt(2)
    if kind == "earlier step":  # a step long before the movement judged: history with a special cause in it
        return 60 + noise + np.where(t >= n // 3, 6.0, 0.0), sigma * math.sqrt(2), sigma * math.sqrt(2)
    raise ValueError(kind)


def verdicts(kind: str, span: int, count: int, seed: int, step: float = 0.0) -> list[str]:
    """Outcomes of ``count`` simulated movements over ``span`` months ending at the last point."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x, sd1, sd12 = simulate(kind, rng)
        if step:
            x = x.copy()
            x[-1] += step * (sd1 if span == 1 else sd12)
        points = {i: float(v) for i, v in enumerate(x)}
        verdict = judge_movement(points, len(x) - 1 - span, len(x) - 1, label=str, freq="M")
        out.append(verdict.outcome)
    return out


def rates(kind: str, span: int, count: int, seed: int) -> tuple[float, float]:
    """(false-alarm rate, detection rate of a 3-SD step)."""
    quiet = verdicts(kind, span, count, seed)
    stepped = verdicts(kind, span, count, seed + 1, step=3.0)
    return quiet.count("beyond") / len(quiet), stepped.count("beyond") / len(stepped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=2000, help="simulated series per kind and span")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    log.info("%-14s %5s %12s %16s", "series", "span", "false alarms", "3-SD steps found")
    for kind in KINDS:
        for span in (1, 12):
            false_alarm, detection = rates(kind, span, args.series, args.seed)
            log.info("%-14s %5d %11.1f%% %15.1f%%", kind, span, 100 * false_alarm, 100 * detection)
    log.info("nominal false-alarm rate %.0f%%; %d series per row; %.1f s", 100 * (1 - COVERAGE), args.series,
             time.perf_counter() - started)


if __name__ == "__main__":
    main()
