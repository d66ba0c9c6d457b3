"""L1: is the movement real, or within normal variation?

With history, an XmR (individuals and moving range) chart as NHS "Making Data Count" uses
it: limits come from a baseline of earlier points, and four special-cause rules decide
which points are signals. With two periods only, an interval on the change: Poisson-based
for counts, a bootstrap over segments otherwise.

Missing values (None, nan, ±inf) are gaps, never bridged: they stay in the chart's ``values``
(so indices keep matching period labels) but take no part in the centre, and a moving range, a
run, a trend or a 2-of-3 window never spans one (the points either side of a gap are not
neighbours). Missing points are reported with no rules and 'common_cause'.

The verdict on a movement is not made here but in ``explain.verdict``: this chart is the level
chart of the Trends page.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from explain.errors import ExplainError

from .numbers import MAX_LEVEL_DIGITS, format_interval, format_limit, movement_numbers, signed_text
from .wording import UNUSUAL_CHANGE, WITHIN_USUAL_RANGE

__all__ = [
    "XmrChart",
    "Significance",
    "xmr_chart",
    "assess_movement",
    "count_change_interval",
    "bootstrap_change_interval",
]

LIMIT_FACTOR = 2.66  # 3 sigma: 3 / d2 with d2 = 1.128 for moving ranges of 2
NEAR_FACTOR = 1.77  # about 2 sigma
MR_EXCLUDE_FACTOR = 3.267  # D4 for n = 2: a moving range this large is itself a signal
TRIAL_POINTS = 12

_Direction = Literal["up", "down"]


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class XmrChart:
    """An XmR chart: limits from the baseline, rules and variation for every point."""

    values: tuple[float, ...]
    centre: float
    mr_bar: float
    upper_limit: float
    lower_limit: float
    upper_near: float
    lower_near: float
    trial_limits: bool
    baseline: tuple[int, int]
    rules: tuple[frozenset[int], ...]
    variation: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        """The limits and the baseline (not every point), JSON-ready."""
        return {
            "centre": _json_float(self.centre),
            "mr_bar": _json_float(self.mr_bar),
            "upper_limit": _json_float(self.upper_limit),
            "lower_limit": _json_float(self.lower_limit),
            "upper_near": _json_float(self.upper_near),
            "lower_near": _json_float(self.lower_near),
            "trial_limits": self.trial_limits,
            "baseline": [self.baseline[0], self.baseline[1]],
            "n_points": len(self.values),
            "special_cause_points": [i for i, r in enumerate(self.rules) if r],
        }


@dataclass(frozen=True)
class Significance:
    """Whether a movement is beyond normal variation, how that was judged, and one sentence."""

    method: str  # 'xmr' | 'poisson' | 'bootstrap' | 'none'
    beyond_normal_variation: bool | None
    verdict: str  # 'improvement' | 'concern' | 'neutral' | 'common_cause' | 'unknown'
    detail: str
    ci_low: float | None = None
    ci_high: float | None = None
    chart: XmrChart | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; the chart is summarised by its limits."""
        return {
            "method": self.method,
            "beyond_normal_variation": self.beyond_normal_variation,
            "verdict": self.verdict,
            "detail": self.detail,
            "ci_low": _json_float(self.ci_low),
            "ci_high": _json_float(self.ci_high),
            "chart": None if self.chart is None else self.chart.summary(),
        }


def _json_float(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _variation_for(direction: _Direction | None, higher_is_better: bool | None) -> str:
    if direction is None or higher_is_better is None:
        return "neutral"
    good = (direction == "up") == bool(higher_is_better)
    return "improvement" if good else "concern"


# --------------------------------------------------------------------------- XmR
def _as_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == np.float64 and values.ndim == 1:
        array = values.copy()
        array[~np.isfinite(array)] = np.nan
        return array
    try:
        array = np.array([np.nan if v is None or v is pd.NA else v for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise ExplainError("A time series must contain only numbers (or gaps).") from None
    if array.ndim != 1:
        raise ExplainError("A time series must be a flat sequence of numbers.")
    array[~np.isfinite(array)] = np.nan
    return array


def _runs(flags: Sequence[bool]) -> list[tuple[int, int]]:
    """[start, stop) of every maximal run of True."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(flags)))
    return runs


def _moving_range_mean_of(ranges: np.ndarray) -> float:
    """Mean of moving ranges, after leaving out ranges ≥ 3.267 × the first mean (once)."""
    mr_bar = float(np.mean(ranges))
    if mr_bar > 0:
        kept = ranges[ranges < MR_EXCLUDE_FACTOR * mr_bar]
        mr_bar = float(np.mean(kept))  # never empty: the smallest range is at most the mean
    return mr_bar


def xmr_chart(
    values: Sequence[float] | np.ndarray,
    *,
    baseline: tuple[int, int] | None = None,
    higher_is_better: bool | None = None,
    run_length: int = 7,
    trend_length: int = 7,
) -> XmrChart:
    """Build an XmR chart and apply the special-cause rules to every point.

    Rules, in priority (a point's colour follows the highest-priority rule that flags it):
    (1) beyond a process limit; (2) ``trend_length`` points in a row each strictly above
    (or below) the one before; (3) 2 of 3 points in a row beyond the same near band
    (±1.77 mR̄; only the points beyond it are flagged); (4) ``run_length`` points in a row
    strictly on one side of the centre. Every point of a qualifying run is flagged. A
    point flagged both ways by its top rule (the peak of a rise then a fall) takes the
    next rule's direction, else its side of the centre.
    """
    x = _as_array(values)
    n = len(x)
    for name, length in (("run_length", run_length), ("trend_length", trend_length)):
        if not isinstance(length, (int, np.integer)) or length < 2:
            raise ExplainError(f"{name} must be a whole number of at least 2, not {length!r}.")
    start, stop = (0, n) if baseline is None else (int(baseline[0]), int(baseline[1]))
    if not 0 <= start < stop <= n:
        raise ExplainError(f"The baseline [{start}, {stop}) does not fit a series of {n} points.")
    present = np.flatnonzero(~np.isnan(x))
    base_points = x[[i for i in present if start <= i < stop]]
    if len(base_points) < 2:
        raise ExplainError(
            f"Process limits need at least 2 values in the baseline; there are {len(base_points)}."
        )
    centre = math.fsum(base_points) / len(base_points)
    base = x[start:stop]
    ranges = np.abs(np.diff(base))
    ranges = ranges[~np.isnan(ranges)]  # a range across a gap is not a moving range
    mr_bar = _moving_range_mean_of(ranges) if len(ranges) else 0.0
    ucl, lcl = centre + LIMIT_FACTOR * mr_bar, centre - LIMIT_FACTOR * mr_bar
    upper_near, lower_near = centre + NEAR_FACTOR * mr_bar, centre - NEAR_FACTOR * mr_bar

    y = x[present]
    m = len(y)
    # flags[k][rule] = set of directions that rule gives point k (of the present points)
    flags: list[dict[int, set[str]]] = [{} for _ in range(m)]

    def flag(k: int, rule: int, direction: str) -> None:
        flags[k].setdefault(rule, set()).add(direction)

    for k in range(m):
        if y[k] > ucl:
            flag(k, 1, "up")
        elif y[k] < lcl:
            flag(k, 1, "down")
    # blocks of present points with no gap between them: runs, trends and windows stay inside one
    cuts = [0] + [k for k in range(1, m) if present[k] != present[k - 1] + 1] + [m]
    for first, last in zip(cuts[:-1], cuts[1:]):
        block = y[first:last]
        diffs = np.diff(block)
        for direction, steps in (("up", diffs > 0), ("down", diffs < 0)):
            for s, e in _runs(list(steps)):
                if e - s + 1 >= trend_length:  # e - s steps join e - s + 1 points
                    for k in range(s, e + 1):
                        flag(first + k, 2, direction)
        for k in range(len(block) - 2):
            window = range(k, k + 3)
            for direction, beyond in (("up", [j for j in window if block[j] > upper_near]),
                                      ("down", [j for j in window if block[j] < lower_near])):
                if len(beyond) >= 2:
                    for j in beyond:
                        flag(first + j, 3, direction)
        for direction, side in (("up", block > centre), ("down", block < centre)):
            for s, e in _runs(list(side)):
                if e - s >= run_length:
                    for k in range(s, e):
                        flag(first + k, 4, direction)

    rules: list[frozenset[int]] = [frozenset()] * n
    variation: list[str] = ["common_cause"] * n
    for k, index in enumerate(present):
        if not flags[k]:
            continue
        rules[index] = frozenset(flags[k])
        heading: _Direction | None = None
        for rule in sorted(flags[k]):
            if len(flags[k][rule]) == 1:
                heading = cast(_Direction, next(iter(flags[k][rule])))
                break
        else:
            heading = "up" if y[k] > centre else ("down" if y[k] < centre else None)
        variation[index] = _variation_for(heading, higher_is_better)
    return XmrChart(
        values=tuple(float(v) for v in x),
        centre=centre,
        mr_bar=mr_bar,
        upper_limit=ucl,
        lower_limit=lcl,
        upper_near=upper_near,
        lower_near=lower_near,
        trial_limits=len(base_points) < TRIAL_POINTS,
        baseline=(start, stop),
        rules=tuple(rules),
        variation=tuple(variation),
    )


def _run_back(x: np.ndarray, index: int, inside: Callable[[float, float], bool]) -> list[int]:
    """Present indices of the run ending at ``index``: walk back while inside(earlier, later) holds."""
    present = [i for i in range(index + 1) if not np.isnan(x[i])]
    run = [present[-1]]
    for i in reversed(present[:-1]):
        if inside(x[i], x[run[-1]]):
            run.append(i)
        else:
            break
    return run[::-1]


def _limit(value: float, unit: str) -> str:
    """A limit a point is judged against, with its unit, to 4 significant figures: 3 could round it
    past the point it judges (12,777 as 12,800 beside a point of 12,790)."""
    return format_limit(value, unit, MAX_LEVEL_DIGITS)


def _describe_signal(chart: XmrChart, x: np.ndarray, labels: Sequence[str], index: int, basis: str,
                     unit: str = "") -> str:
    """The signal at ``index`` in plain words (explain.wording): which rule, never its number, with the
    limit or average it crossed and its unit."""
    rules = chart.rules[index]
    label = labels[index]
    value = x[index]
    top = min(rules)
    if top == 1:
        if value > chart.upper_limit:
            return (f"{label} is above the usual range (upper limit {_limit(chart.upper_limit, unit)}, set on "
                    f"{basis}): {UNUSUAL_CHANGE}.")
        return (f"{label} is below the usual range (lower limit {_limit(chart.lower_limit, unit)}, set on "
                f"{basis}): {UNUSUAL_CHANGE}.")
    if top == 2:
        before = [i for i in range(index) if not np.isnan(x[i])][-1]
        rising = value > x[before]
        run = _run_back(x, index, (lambda p, c: p < c) if rising else (lambda p, c: p > c))
        word = "higher" if rising else "lower"
        return (
            f"{label} ends {len(run)} points in a row each {word} than the one before ({labels[run[0]]} to {label}), "
            "an unusual trend."
        )
    if top == 3:
        upper = value > chart.upper_near
        near = chart.upper_near if upper else chart.lower_near
        present = [i for i in range(index + 1) if not np.isnan(x[i])][-3:]
        others = [i for i in present[:-1] if (x[i] > near if upper else x[i] < near)]
        side = "top" if upper else "bottom"
        beyond = "above" if upper else "below"
        with_other = f" and {labels[others[-1]]}" if others else ""
        return (
            f"{label}{with_other} are 2 of 3 points in a row near the {side} of the usual range ({beyond} "
            f"{_limit(near, unit)}) set on {basis}, {UNUSUAL_CHANGE}."
        )
    above = value > chart.centre
    run = _run_back(x, index, (lambda p, c: p > chart.centre) if above else (lambda p, c: p < chart.centre))
    side = "above" if above else "below"
    return (
        f"{label} ends a run of {len(run)} points in a row {side} the average "
        f"({_limit(chart.centre, unit)}) set on {basis}, an unusual shift."
    )


def assess_movement(
    values: Sequence[float] | np.ndarray,
    labels: Sequence[str],
    index_from: int,
    index_to: int,
    *,
    higher_is_better: bool | None = None,
    run_length: int = 7,
    max_baseline: int = 24,
    trend_length: int | None = None,
    unit: str = "",
) -> Significance:
    """Is the value at ``index_to`` beyond the normal variation of the history up to ``index_from``?
    (The detail says so in plain words, with ``unit`` on every limit.)

    Limits come from the last ``max_baseline`` present values up to and including
    ``index_from`` (fewer than 12: trial limits, said in the detail). The chart covers the
    baseline and the points after it up to ``index_to`` (later points are ignored), so the points after
    ``index_from`` are judged against limits set before them. The movement is beyond normal
    variation when ``index_to`` itself is flagged by a rule (for a run or trend, one that
    ends at it). Fewer than 2 baseline values, or no value at ``index_to``: method 'none',
    verdict 'unknown'. ``trend_length`` defaults to ``run_length``.
    """
    x = _as_array(values)
    n = len(x)
    if len(labels) != n:
        raise ExplainError(f"There are {n} values but {len(labels)} period labels.")
    if not (0 <= index_from < index_to < n):
        raise ExplainError(
            f"The periods compared must be in order and inside the series of {n} points "
            f"(got positions {index_from} and {index_to})."
        )
    if max_baseline < 2:
        raise ExplainError(f"max_baseline must be at least 2, not {max_baseline}.")
    labels = [str(label) for label in labels]
    if np.isnan(x[index_to]):
        detail = f"There is no value for {labels[index_to]}, so its change cannot be judged."
        return Significance("none", None, "unknown", detail)
    history = np.flatnonzero(~np.isnan(x[: index_from + 1]))[-max_baseline:].tolist()
    if len(history) < 2:
        return Significance(
            "none",
            None,
            "unknown",
            f"There are too few values up to {labels[index_from]} ({len(history)}) to set the usual range, "
            "so whether the change is unusual is not known.",
        )
    # The chart covers the baseline and the points after it (earlier history cannot change the
    # verdict on index_to except through runs longer than the baseline, which we do not count).
    offset = history[0]
    window, window_labels, at = x[offset: index_to + 1], labels[offset: index_to + 1], index_to - offset
    chart = xmr_chart(
        window,
        baseline=(0, index_from + 1 - offset),
        higher_is_better=higher_is_better,
        run_length=run_length,
        trend_length=run_length if trend_length is None else trend_length,
    )
    basis = f"the {len(history)} periods from {labels[history[0]]} to {labels[history[-1]]}"
    if chart.trial_limits:
        basis += f" (tentative limits, as there are fewer than {TRIAL_POINTS})"
    if chart.rules[at]:
        return Significance(
            "xmr", True, chart.variation[at], _describe_signal(chart, window, window_labels, at, basis, unit),
            chart=chart
        )
    detail = (
        f"The change is {WITHIN_USUAL_RANGE}: {labels[index_to]} lies between "
        f"{_limit(chart.lower_limit, unit)} and {_limit(chart.upper_limit, unit)}, the limits set on "
        f"{basis}."
    )
    return Significance("xmr", False, "common_cause", detail, chart=chart)


# --------------------------------------------------------------------------- two periods only
def _check_confidence(confidence: float) -> float:
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        raise ExplainError(f"The confidence level must be a number between 0 and 1, not {confidence!r}.") from None
    if not 0 < confidence < 1:
        raise ExplainError(f"The confidence level must be between 0 and 1 (e.g. 0.95), not {confidence}.")
    return confidence


def _interval_verdict(low: float, high: float, change: float, higher_is_better: bool | None) -> tuple[bool, str]:
    beyond = bool(low > 0 or high < 0)
    if not beyond:
        return False, "common_cause"
    return True, _variation_for("up" if change > 0 else "down", higher_is_better)


def _garwood(count: float, alpha: float) -> tuple[float, float]:
    """Exact (Garwood) Poisson limits for one count, through the gamma distribution."""
    from scipy import stats  # ~0.6 s: imported when a count's interval is first asked for, not with the module

    low = 0.0 if count == 0 else float(stats.gamma.ppf(alpha / 2, count))
    high = float(stats.gamma.ppf(1 - alpha / 2, count + 1))
    return low, high


def count_change_interval(
    count_from: float,
    count_to: float,
    *,
    confidence: float = 0.95,
    higher_is_better: bool | None = None,
    unit: str = "",
) -> Significance:
    """Interval on the change between two counts, each treated as a Poisson count (the detail in plain
    words, with ``unit``; the method's name is for the About tab: explain.wording.VERDICT_METHOD).

    Method: MOVER (method of variance estimates recovery; Zou & Donner 2008, as applied to
    Poisson differences by Li, Tang & Wong 2011) combining the exact Garwood limits of each
    count. It stays sensible for small and zero counts, where the plain normal interval
    (b − a ± z√(a + b)), which it approaches for large counts, does not. Non-integer counts
    (e.g. rounded published figures) use the continuous extension of the same limits.
    """
    conf = _check_confidence(confidence)
    a = _count(count_from, "from")
    b = _count(count_to, "to")
    alpha = 1 - conf
    low_a, high_a = _garwood(a, alpha)
    low_b, high_b = _garwood(b, alpha)
    change = b - a
    low = change - math.hypot(b - low_b, high_a - a)
    high = change + math.hypot(high_b - b, a - low_a)
    beyond, verdict = _interval_verdict(low, high, change, higher_is_better)
    pct = f"{conf * 100:g}%"
    shown_a, shown_b, shown_change, _ = movement_numbers(a, b, unit)  # one rounding: from, to and by agree
    moved = f"rose by {shown_change}" if change > 0 else f"fell by {shown_change}" if change < 0 else "did not change"
    detail = (
        f"The count {moved} (from {shown_a} to {shown_b}). Allowing for chance in counts this size, the change "
        f"is likely ({pct}) to be from {format_interval(low, high, unit)}, {_interval_outcome(beyond)}."
    )
    return Significance("poisson", beyond, verdict, detail, ci_low=low, ci_high=high)


def _interval_outcome(beyond: bool) -> str:
    """How an interval on a change reads: without zero it is an unusual change."""
    if beyond:
        return f"which does not include zero: {UNUSUAL_CHANGE}"
    return f"which includes zero: the change is {WITHIN_USUAL_RANGE}"


def _count(value: float, side: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ExplainError(f"The {side} count must be a number, not {value!r}.") from None
    if not math.isfinite(number) or number < 0:
        raise ExplainError(f"The {side} count must be zero or more, not {number}.")
    return number


def bootstrap_change_interval(
    values_from: Sequence[float],
    values_to: Sequence[float],
    *,
    paired: bool = True,
    n_boot: int = 2000,
    random_state: int = 0,
    confidence: float = 0.95,
    statistic: Literal["sum", "mean"] = "sum",
    higher_is_better: bool | None = None,
    unit: str = "",
) -> Significance:
    """Percentile bootstrap interval on the parent's change, resampling segments (the detail in plain
    words, with ``unit``).

    ``statistic`` says how segments make the parent: 'sum' (a total; the default, as most
    parents are sums of their areas) or 'mean'. Paired: the segments are the same in both
    periods (aligned by position) and whole segments are resampled, so each keeps its own
    before and after; a pair with a missing side is dropped. Unpaired: each period's
    segments are resampled on their own, missing values dropped. Fewer than 2 segments
    (in either period, unpaired) gives method 'none'. The same ``random_state`` gives the
    same interval.
    """
    conf = _check_confidence(confidence)
    if statistic not in ("sum", "mean"):
        raise ExplainError(f"The bootstrap statistic must be 'sum' or 'mean', not {statistic!r}.")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise ExplainError(f"n_boot must be a whole number of at least 10, not {n_boot!r}.")
    a = _as_array(values_from)
    b = _as_array(values_to)
    reduce = np.sum if statistic == "sum" else np.mean
    rng = np.random.default_rng(random_state)
    if paired:
        if len(a) != len(b):
            raise ExplainError(
                f"A paired bootstrap needs the same segments in both periods ({len(a)} and {len(b)} given)."
            )
        keep = ~(np.isnan(a) | np.isnan(b))
        diffs = b[keep] - a[keep]
        sizes: tuple[int, ...] = (len(diffs),)
        change = float(reduce(diffs))
    else:
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
        sizes = (len(a), len(b))
        change = float(reduce(b) - reduce(a))
    if min(sizes) < 2:
        return Significance(
            "none", None, "unknown",
            "There are too few segments to judge the change by resampling them.",
        )
    draws = np.empty(n_boot)
    per_chunk = max(1, 2_000_000 // max(sizes))
    for first in range(0, n_boot, per_chunk):
        count = min(per_chunk, n_boot - first)
        if paired:
            picks = rng.integers(0, sizes[0], size=(count, sizes[0]))
            draws[first:first + count] = reduce(diffs[picks], axis=1)
        else:
            picks_a = rng.integers(0, sizes[0], size=(count, sizes[0]))
            picks_b = rng.integers(0, sizes[1], size=(count, sizes[1]))
            draws[first:first + count] = reduce(b[picks_b], axis=1) - reduce(a[picks_a], axis=1)
    alpha = 1 - conf
    low, high = (float(q) for q in np.quantile(draws, [alpha / 2, 1 - alpha / 2]))
    beyond, verdict = _interval_verdict(low, high, change, higher_is_better)
    pct = f"{conf * 100:g}%"
    how = f"{n_boot:,} resamples of {sizes[0]:,} segments, paired" if paired else (
        f"{n_boot:,} resamples of {sizes[0]:,} and {sizes[1]:,} segments"
    )
    what = "total" if statistic == "sum" else "average"
    detail = (
        f"The change in the {what}, {signed_text(change, unit)}, is likely ({pct}) to be from "
        f"{format_interval(low, high, unit)}, judging by how its segments vary ({how}), {_interval_outcome(beyond)}."
    )
    return Significance("bootstrap", beyond, verdict, detail, ci_low=low, ci_high=high)
