"""Sentences, captions and tables of the Trends page: runs, special causes, XmR limits, revisions
and comparisons of areas. Pure helpers (figures live in :mod:`dashapp.figures`).
"""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from explain.numbers import format_change, format_value, is_percent, short_number, signed
from loaders.vocabulary import is_whole

from .presenters_parts import freq_word, period_name, plural

_VARIATION_WORD = {"improvement": "improvement", "concern": "concern", "neutral": "special cause",
                   "common_cause": "common cause"}


def _run_back(values: Sequence[float | None], rising: bool) -> int:
    """How many consecutive moves in one direction end at the last present value."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    n = 0
    for i in range(len(present) - 1, 0, -1):
        step = present[i] - present[i - 1]
        if (step > 0) if rising else (step < 0):
            n += 1
        else:
            break
    return n


def special_cause_words(point, trend) -> str:
    """The highest-priority rule of a point, in words ('rising trend', 'above the upper limit')."""
    if not point.rules:
        return ""
    top = min(point.rules)
    if top == 1:
        above = trend.upper_limit is not None and point.value is not None and point.value > trend.upper_limit
        return "above the upper process limit" if above else "below the lower process limit"
    if top == 2:
        values = [p.value for p in trend.points]
        index = trend.points.index(point)
        previous = next((v for v in reversed(values[:index]) if v is not None), None)
        return "rising trend" if previous is not None and point.value is not None and point.value > previous \
            else "falling trend"
    if top == 3:
        above = trend.centre is not None and point.value is not None and point.value > trend.centre
        return f"two of three points close to the {'upper' if above else 'lower'} limit"
    above = trend.centre is not None and point.value is not None and point.value > trend.centre
    return f"run of points {'above' if above else 'below'} the centre line"


def _movement(trend, freq: str) -> str | None:
    """'rose for 7 months in a row to September 2026 (208,000 households)' and the like (None: no values).
    Only the latest unbroken stretch counts: a run never spans a period with no value."""
    shown = list(trend.points)
    while shown and shown[-1].value is None:
        shown.pop()
    if not shown:
        return None
    gap = next((i for i in range(len(shown) - 1, -1, -1) if shown[i].value is None), None)
    points = shown[gap + 1:] if gap is not None else shown
    last = points[-1]
    when = period_name(last.period, freq)
    values = [p.value for p in points]
    if len(points) == 1:
        before = (f" (there is no value for {period_name(shown[gap].period, freq)})"
                  if gap is not None and gap == len(shown) - 2 else "")
        return f"was {format_value(last.value, trend.unit)} in {when}{before}"
    change = values[-1] - values[-2]
    rising = change > 0
    run = _run_back(values, rising)
    if change == 0:
        return f"did not change in {when} ({format_value(last.value, trend.unit)})"
    if run >= 2:
        return (f"{'rose' if rising else 'fell'} for {plural(run, freq_word(freq))} in a row to {when} "
                f"({format_value(last.value, trend.unit)})")
    return (f"{'rose' if rising else 'fell'} by {format_change(change, trend.unit)} to "
            f"{format_value(last.value, trend.unit)} in {when}")


def trend_headline(trend, *, freq: str) -> str:
    """A chart title stating the latest movement: 'Rose for 7 months in a row to September 2026 (…)'."""
    movement = _movement(trend, freq)
    if movement is None:
        return "No values in the periods chosen"
    return movement[0].upper() + movement[1:]


def trend_caption(trend, *, metric_name: str, freq: str) -> str:
    """The finding of a trend chart in one sentence, e.g. 'Households on Universal Credit in the
    North East rose for 7 months in a row to September 2026 (special cause: rising trend, a concern).'"""
    where = "" if is_whole(trend.area) else f" in {trend.area_name}"
    movement = _movement(trend, freq)
    if movement is None:
        return f"There are no values of {metric_name}{where} in the periods chosen."
    last = [p for p in trend.points if p.value is not None][-1]
    head = f"{metric_name}{where} {movement}"
    verdict = trend.verdict
    if verdict is None or verdict.outcome == "insufficient":
        tail = " (not enough history to judge the latest change)"
    else:
        tail = f" (latest change: {verdict.headline[0].lower() + verdict.headline[1:]})"
    level = ""
    if last.rules:  # the level chart's signal: a separate sentence, never the verdict on the movement
        level = f" On the level chart the latest point is a special cause: {special_cause_words(last, trend)}."
    elif trend.centre is None:
        level = " There are too few points to set process limits on the level chart."
    return head + tail + "." + level


def trend_subtitle(trend) -> str:
    if trend.centre is None:
        return "Too few points for process limits"
    limits = "Trial process limits" if trend.trial_limits else "Process limits"
    return (f"XmR chart: centre {short_number(trend.centre)}, {limits.lower()} {short_number(trend.lower_limit)} "
            f"to {short_number(trend.upper_limit)} ({len(trend.points)} points)")


def revised(latest: float | None, first: float | None) -> bool:
    if latest is None or first is None:
        return latest is not first
    return abs(latest - first) > 1e-9 * max(1.0, abs(latest), abs(first))


def trend_table(trend, latest=None) -> pd.DataFrame:
    """The chart's numbers: period, latest and first-published values, whether revised, provisional
    flag, variation with its rules. ``latest`` is the latest-vintage trend when ``trend``
    shows first-published values (so both values are in the table either way)."""
    latest_values = {p.period: p.value for p in (latest or trend).points}
    rows = []
    for p in trend.points:
        latest_value = latest_values.get(p.period, p.value)
        rows.append({
            "period": p.period, "latest": latest_value, "first_published": p.first_published,
            "revised": "yes" if revised(latest_value, p.first_published) else "",
            "provisional": "yes" if p.status == "p" else "",
            "variation": (_VARIATION_WORD.get(p.variation, p.variation) + f" (rules {' '.join(map(str, p.rules))})")
            if p.rules else "common cause"})
    return pd.DataFrame(rows, columns=["period", "latest", "first_published", "revised", "provisional", "variation"])


def compare_caption(trends: Sequence, *, metric_name: str, freq: str) -> str:
    """Which compared area moved most over the window (relative change, or points for a %)."""
    moves = []
    for t in trends:
        values = [p for p in t.points if p.value is not None]
        if len(values) >= 2:
            moves.append((t, values[0], values[-1]))
    if not moves:
        return f"There are not enough values of {metric_name} to compare areas."
    unit = trends[0].unit

    def size(item):
        _, a, b = item
        if is_percent(unit) or not a.value:
            return b.value - a.value
        return (b.value - a.value) / abs(a.value)

    best = max(moves, key=lambda m: abs(size(m)))
    t, a, b = best
    how = (f"{signed(b.value - a.value, unit)}" if is_percent(unit) or not a.value
           else f"{'+' if size(best) > 0 else '-'}{abs(size(best)):.1%}")
    return (f"Of the {plural(len(trends), 'area')} compared, {t.area_name} changed most between "
            f"{period_name(a.period, freq)} and {period_name(b.period, freq)} ({how}).")
