"""Sentences, captions and tables of the Trends page: runs, unusual points, the usual range (the XmR
chart's limits), revisions and comparisons of areas, in the plain words of :mod:`explain.wording`.
Pure helpers (figures live in :mod:`dashapp.figures`).
"""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from explain.numbers import format_limit, format_range, format_value, is_interval_scale, is_percent, movement_numbers, signed
from explain.wording import DIRECTION_WORDS, POINT_WORDS, RUN_LENGTH, WITHIN_USUAL_RANGE, XMR_METHOD, rule_words
from loaders.vocabulary import is_whole

from .presenters_parts import freq_word, period_name, plural

#: the About tab's entry for the level chart: the technical names live there, not on the chart
XMR_ABOUT = {"Method": XMR_METHOD}


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


def rule_points_up(rule: int, point, trend) -> bool:
    """Whether ``rule`` flags ``point`` upwards (above the range or the average, or rising): the
    direction its words take (explain.wording.rule_words)."""
    value = point.value
    if value is None:
        return False
    if rule == 1:
        return trend.upper_limit is not None and value > trend.upper_limit
    if rule == 2:
        index = trend.points.index(point)
        previous = next((p.value for p in reversed(trend.points[:index]) if p.value is not None), None)
        return previous is not None and value > previous
    return trend.centre is not None and value > trend.centre


def unusual_point_words(point, trend) -> str:
    """Why a point is unusual, from its highest-priority rule, in words and never by number: 'a point
    above the usual range', '7 points in a row each higher than the one before'."""
    if not point.rules:
        return ""
    top = min(point.rules)
    return rule_words(top, up=rule_points_up(top, point, trend), length=RUN_LENGTH)


def point_variation_text(point, trend) -> str:
    """A point's variation for the table: 'Within the usual range', or 'Unusual: a concern (a point
    above the usual range; 7 points in a row above the average)' with every rule that flags it."""
    if not point.rules:
        return POINT_WORDS["common_cause"]
    why = "; ".join(rule_words(rule, up=rule_points_up(rule, point, trend), length=RUN_LENGTH) for rule in point.rules)
    return f"{POINT_WORDS.get(point.variation, POINT_WORDS['neutral'])} ({why})"


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
    _, shown_to, shown_change, _ = movement_numbers(values[-2], values[-1], trend.unit)  # one rounding
    return f"{'rose' if rising else 'fell'} by {shown_change} to {shown_to} in {when}"


def _verdict_words(verdict) -> str:
    """'within the usual range', 'unusual, a concern', 'unusual' (explain.wording's vocabulary)."""
    if verdict.outcome == "within":
        return WITHIN_USUAL_RANGE
    tone = DIRECTION_WORDS.get(verdict.direction)
    return "unusual" + (f", {tone}" if tone else "")


def trend_headline(trend, *, freq: str) -> str:
    """A chart title stating the latest movement: 'Rose for 7 months in a row to September 2026 (…)'."""
    movement = _movement(trend, freq)
    if movement is None:
        return "No values in the periods chosen"
    return movement[0].upper() + movement[1:]


def trend_caption(trend, *, metric_name: str, freq: str) -> str:
    """The finding of a trend chart, e.g. 'Households on Universal Credit in North East rose for 7 months
    in a row to September 2026 (208,000 households); the latest change is within the usual range. On the
    chart the latest point is unusual: 7 points in a row each higher than the one before.'"""
    where = "" if is_whole(trend.area) else f" in {trend.area_name}"
    movement = _movement(trend, freq)
    if movement is None:
        return f"There are no values of {metric_name}{where} in the periods chosen."
    last = [p for p in trend.points if p.value is not None][-1]
    head = f"{metric_name}{where} {movement}"
    verdict = trend.verdict
    if verdict is None or verdict.outcome == "insufficient":
        tail = "; there is not enough history to judge the latest change"
    else:
        tail = f"; the latest change is {_verdict_words(verdict)}"
    level = ""
    if last.rules:  # the level chart's signal: a separate sentence, never the verdict on the movement
        level = f" On the chart the latest point is unusual: {unusual_point_words(last, trend)}."
    elif trend.centre is None:
        level = " There are too few points to set the usual range on the chart."
    return head + tail + "." + level


def trend_subtitle(trend) -> str:
    """The chart's statistical subtitle: 'Usual range 6 to 14 cases (average 10 cases; 5 points)', with
    the unit on the limits; 'tentative' below 12 points (the method is in the About tab)."""
    if trend.centre is None:
        return "Too few points to set the usual range"
    what = "Tentative usual range" if trend.trial_limits else "Usual range"
    unit = trend.unit
    return (f"{what} {format_range(trend.lower_limit, trend.upper_limit, unit)} "
            f"(average {format_limit(trend.centre, unit)}; {plural(len(trend.points), 'point')})")


def revised(latest: float | None, first: float | None) -> bool:
    if latest is None or first is None:
        return latest is not first
    return abs(latest - first) > 1e-9 * max(1.0, abs(latest), abs(first))


def trend_table(trend, latest=None) -> pd.DataFrame:
    """The chart's numbers: period (the canonical label: it is the raw data), latest and first-published
    values, whether revised, provisional flag, and the variation in words with why a point is unusual.
    ``latest`` is the latest-vintage trend when ``trend`` shows first-published values (so both values
    are in the table either way)."""
    latest_values = {p.period: p.value for p in (latest or trend).points}
    rows = []
    for p in trend.points:
        latest_value = latest_values.get(p.period, p.value)
        rows.append({
            "period": p.period, "latest": latest_value, "first_published": p.first_published,
            "revised": "yes" if revised(latest_value, p.first_published) else "",
            "provisional": "yes" if p.status == "p" else "",
            "variation": point_variation_text(p, trend)})
    return pd.DataFrame(rows, columns=["period", "latest", "first_published", "revised", "provisional", "variation"])


def compare_caption(trends: Sequence, *, metric_name: str, freq: str) -> str:
    """Which compared area moved most over the window (relative change; the change itself for a % (in
    points) or a temperature, whose percentage change means nothing)."""
    moves = []
    for t in trends:
        values = [p for p in t.points if p.value is not None]
        if len(values) >= 2:
            moves.append((t, values[0], values[-1]))
    if not moves:
        return f"There are not enough values of {metric_name} to compare areas."
    unit = trends[0].unit
    absolute = is_percent(unit) or is_interval_scale(unit)

    def size(item):
        _, a, b = item
        if absolute or not a.value:
            return b.value - a.value
        return (b.value - a.value) / abs(a.value)

    best = max(moves, key=lambda m: abs(size(m)))
    t, a, b = best
    how = (f"{signed(b.value - a.value, unit)}" if absolute or not a.value
           else f"{'+' if size(best) > 0 else '-'}{abs(size(best)):.1%}")
    return (f"Of the {plural(len(trends), 'area')} compared, {t.area_name} changed most between "
            f"{period_name(a.period, freq)} and {period_name(b.period, freq)} ({how}).")


def latest_revised_period(trend) -> str | None:
    """The latest period of ``trend`` (the latest figures) whose value differs from the one first
    published, or None when nothing shown has been revised."""
    for p in reversed(trend.points):
        if p.value is not None and p.first_published is not None and revised(p.value, p.first_published):
            return p.period
    return None


def revision_caption(explanation, *, freq: str) -> str:
    """'September 2026 was first published as 3.47 million households and is now 3.46 million: revised by
    −2,140 households. West Midlands accounts for most of the revision (−3,090 households).'"""
    from explain.numbers import period_text

    e = explanation
    when = period_text(e.period_to, freq)
    first, now, change, _ = movement_numbers(e.value_from, e.value_to, e.unit)  # one rounding for all three
    way = "up" if e.change > 0 else "down"
    text = f"{when} was first published as {first} and is now {now}: revised {way} by {change.lstrip('+-−')}."
    moved = [sg for sg in e.segments if sg.presence != "residual"]
    if moved and e.change:
        top = max(moved, key=lambda sg: abs(sg.contribution))
        text += f" {top.name} was revised most ({signed(top.contribution, e.unit)})."
    return text


def measured_name(name: str, measure: str | None, label: str) -> str:
    """'Universal Credit payments in real terms (2025-26 prices)', '… per head of population'."""
    if not measure:
        return name
    words = label[0].lower() + label[1:]
    return f"{name} in {words}" if measure == "real" else f"{name} {words}"
