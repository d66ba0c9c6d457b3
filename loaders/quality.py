"""Quality grade of one load (A best to D worst), from documented rules.

Each rule gives its own grade from a measured figure; the load's grade is the worst of
them, and every rule below A becomes a reason shown beside the grade (``whytrend loads``,
the Data page). The thresholds are in :data:`RULES` so the README and the code cannot
disagree: the README table is generated from them in a test.

| rule | figure | A | B | C | else |
| --- | --- | --- | --- | --- | --- |
| completeness | share of expected values present: every series (metric, area, breakdown) the load has, over every period it has | ≥ 98% | ≥ 90% | ≥ 75% | D |
| quarantine | share of rows read that were quarantined | ≤ 0.1% | ≤ 1% | ≤ 5% | D |
| duplicates | share of rows that exactly repeat an earlier row | 0 | ≤ 0.1% | ≤ 1% | D |
| revisions | share of previously published values this load changed | ≤ 1% | ≤ 5% | ≤ 20% | D |
| outliers | share of period-on-period changes with robust z-score > 3.5 | ≤ 2% | ≤ 5% | ≤ 10% | D |
| timeliness | days from the end of the latest period to the load, against the expected lag | ≤ 1× | ≤ 2× | ≤ 4× | D |
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

#: rule -> (thresholds for A, B, C, whether lower is better)
RULES: dict[str, tuple[tuple[float, float, float], bool]] = {
    "completeness": ((0.98, 0.90, 0.75), False),
    "quarantine": ((0.001, 0.01, 0.05), True),
    "duplicates": ((0.0, 0.001, 0.01), True),
    "revisions": ((0.01, 0.05, 0.20), True),
    "outliers": ((0.02, 0.05, 0.10), True),
    "timeliness": ((1.0, 2.0, 4.0), True),
}
#: default expected publication lag in days by frequency code
EXPECTED_LAG_DAYS = {"D": 7, "W": 21, "M": 62, "Q": 120, "FQ": 120, "Y": 400, "FY": 400}
OUTLIER_Z = 3.5
GRADES = "ABCD"


@dataclass(frozen=True)
class QualityGrade:
    grade: str
    figures: Mapping[str, float]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"grade": self.grade, "figures": dict(self.figures), "reasons": list(self.reasons)}


def rule_grade(rule: str, figure: float) -> str:
    (a, b, c), lower_is_better = RULES[rule]
    for grade, limit in zip("ABC", (a, b, c)):
        if (figure <= limit) if lower_is_better else (figure >= limit):
            return grade
    return "D"


def completeness(leaves: pd.DataFrame) -> float:
    """Share of expected values present: each series (metric, area, breakdown) the load has is
    expected in every period the load has for that metric. A breakdown that does not exist
    for an area (no Type 2 department there) is not counted as missing; a gap in a series is."""
    if leaves.empty:
        return 0.0
    metric = leaves["metric_id"].to_numpy(dtype=np.int64)
    series = np.unique((metric << 42) | (leaves["area_id"].to_numpy(dtype=np.int64) << 16)
                       | leaves["breakdown_id"].to_numpy(dtype=np.int64))
    periods = np.unique((metric << 32) | leaves["pk"].to_numpy(dtype=np.int64))
    series_per_metric = pd.Series(series >> 42).value_counts()
    periods_per_metric = pd.Series(periods >> 32).value_counts()
    expected = float((series_per_metric * periods_per_metric.reindex(series_per_metric.index)).sum())
    present = float(leaves["value"].notna().sum())
    return present / expected if expected else 0.0


def outlier_share(leaves: pd.DataFrame, period_order: Mapping[int, int]) -> float:
    """Share of period-on-period changes whose robust z-score (median/MAD within the series) exceeds 3.5."""
    values = leaves["value"].to_numpy(dtype=float)
    keep = ~np.isnan(values)
    if keep.sum() < 3:
        return 0.0
    order_of = np.zeros(max(period_order, default=0) + 1, dtype=np.int64)
    for pk, rank in period_order.items():
        order_of[pk] = rank
    metric = leaves["metric_id"].to_numpy()[keep]
    area = leaves["area_id"].to_numpy()[keep]
    breakdown = leaves["breakdown_id"].to_numpy()[keep]
    when = order_of[leaves["pk"].to_numpy()[keep]]
    values = values[keep]
    order = np.lexsort((when, breakdown, area, metric))  # arrays, not a sorted copy of the frame
    metric, area, breakdown, values = metric[order], area[order], breakdown[order], values[order]
    same = (metric[1:] == metric[:-1]) & (area[1:] == area[:-1]) & (breakdown[1:] == breakdown[:-1])
    change = np.diff(values)[same]
    if not len(change):
        return 0.0
    # rows are sorted by series, so a series is a contiguous block: number the blocks
    block = np.cumsum(np.concatenate([[0], ~same]))[1:][same]
    median = pd.Series(change).groupby(block, sort=False).transform("median").to_numpy()
    spread = pd.Series(np.abs(change - median)).groupby(block, sort=False).transform("median").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = 0.6745 * (change - median) / spread
    flagged = np.isfinite(z) & (np.abs(z) > OUTLIER_Z)
    return float(flagged.sum()) / len(change)


def timeliness(latest_period_end: dt.date | None, loaded_on: dt.date, expected_lag_days: int) -> float:
    """Days from the end of the latest period to the load, as a multiple of the expected lag."""
    if latest_period_end is None:
        return 0.0
    return max(0, (loaded_on - latest_period_end).days) / max(1, expected_lag_days)


def grade_load(
    *,
    leaves: pd.DataFrame,
    period_order: Mapping[int, int],
    rows_read: int,
    rows_quarantined: int,
    exact_duplicates: int,
    values_revised: int,
    values_previously_published: int,
    latest_period_end: dt.date | None,
    latest_freq: str | None,
    loaded_on: dt.date,
    expected_lag_days: int | None = None,
) -> QualityGrade:
    """Apply every rule and combine: the worst rule sets the grade."""
    lag = expected_lag_days or EXPECTED_LAG_DAYS.get(latest_freq or "M", 62)
    figures = {
        "completeness": completeness(leaves),
        "quarantine": rows_quarantined / rows_read if rows_read else 0.0,
        "duplicates": exact_duplicates / rows_read if rows_read else 0.0,
        "revisions": values_revised / values_previously_published if values_previously_published else 0.0,
        "outliers": outlier_share(leaves, period_order),
        "timeliness": timeliness(latest_period_end, loaded_on, lag),
    }
    grades = {rule: rule_grade(rule, figure) for rule, figure in figures.items()}
    reasons = tuple(_reason(rule, figures[rule], grades[rule], lag) for rule in RULES if grades[rule] != "A")
    worst = max(grades.values(), key=GRADES.index)
    return QualityGrade(worst, figures, reasons)


def _reason(rule: str, figure: float, grade: str, lag: int) -> str:
    if rule == "timeliness":
        return f"timeliness {grade}: latest period ended {figure * lag:,.0f} days before the load (expected within {lag})"
    if rule == "completeness":
        return f"completeness {grade}: {figure:.1%} of the expected values are present"
    labels = {"quarantine": "of rows were quarantined", "duplicates": "of rows repeated an earlier row",
              "revisions": "of previously published values were revised",
              "outliers": "of period-on-period changes are outliers (robust z > 3.5)"}
    return f"{rule} {grade}: {figure:.2%} {labels[rule]}"
