"""Plain-English narrative of an explanation, for senior officials.

Templated, short sentences; numbers rounded sensibly with units and signs right ("fell by
£1.2m", "rose by 3.4 percentage points"); drivers are "associated with" a movement, never
said to cause it. Every narrative ends with the data vintage and the model version so a
reader can trace the numbers.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

from .results import ComponentPart, DriverContribution, MetricInfo, ModelSummary, SegmentPart

_PERCENT_UNITS = {"%", "percent", "per cent", "percentage"}


def round_sig(value: float, digits: int = 3) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def _g(value: float, digits: int) -> str:
    """Rounded to ``digits`` significant figures, without an exponent or trailing zeros."""
    rounded = round_sig(value, digits)
    text = f"{rounded:,.{max(0, digits - 1 - int(math.floor(math.log10(abs(rounded)))))}f}" if rounded else "0"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _plain(value: float, digits: int = 3) -> str:
    """A magnitude for reading aloud: 3 significant figures, '4.24 million' above a million."""
    value = abs(value)
    if value >= 1e9:
        return f"{_g(value / 1e9, digits)} billion"
    if value >= 1e6:
        return f"{_g(value / 1e6, digits)} million"
    if value >= 1000:
        return f"{round_sig(value, digits):,.0f}"
    return _g(value, digits)


def _money(pounds: float, digits: int = 3) -> str:
    """Pounds as '£1.23bn', '£456m', '£12,300', '£45.6'."""
    pounds = abs(pounds)
    for limit, suffix in ((1e9, "bn"), (1e6, "m")):
        if pounds >= limit:
            return f"£{_g(pounds / limit, digits)}{suffix}"
    if pounds >= 1000:
        return f"£{round_sig(pounds, digits):,.0f}"
    return f"£{_g(pounds, digits)}"


_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "bn": 1e9}


def is_percent(unit: str) -> bool:
    return unit.strip().lower() in _PERCENT_UNITS


def format_value(value: float | None, unit: str, digits: int = 3) -> str:
    """A level: '£1.2m', '85.3%', '12,300 households'."""
    if value is None or not math.isfinite(value):
        return "not available"
    sign = "-" if value < 0 else ""
    u = unit.strip()
    money = re.match(r"^£\s*(k|m|bn)?(?![a-z])(.*)$", u)
    if money:
        scale, rest = money.group(1) or "", money.group(2).strip()
        return f"{sign}{_money(abs(value) * _SCALE[scale], digits)}{(' ' + rest) if rest else ''}"
    if is_percent(u):
        return f"{sign}{_plain(value, digits)}%"
    return f"{sign}{_plain(value, digits)}{(' ' + u) if u and u.lower() not in ('count', 'number') else ''}"


def format_change(change: float, unit: str) -> str:
    """A magnitude of change: percentages change in percentage points."""
    if is_percent(unit):
        return f"{_plain(change)} percentage point{'s' if round_sig(abs(change)) != 1 else ''}"
    return format_value(abs(change), unit)


def level_digits(value_from: float, value_to: float, change: float) -> int:
    """Significant figures for the two levels so that their difference shows ('19.3 to 18.8',
    not '19 to 19'), between 3 and 6."""
    if not change or not math.isfinite(change):
        return 3
    ratio = max(abs(value_from), abs(value_to)) / abs(change)
    return int(min(6, max(3, 2 + math.ceil(math.log10(max(ratio, 1.0))))))


def negligible(value: float, change: float) -> bool:
    """Floating-point noise next to the change (e.g. -4.5e-13 of a change of -3,987)."""
    return abs(value) <= 1e-9 * max(1.0, abs(change))


def verb(change: float) -> str:
    return "rose" if change > 0 else "fell" if change < 0 else "did not change"


def signed(change: float, unit: str) -> str:
    """'+£1.2m' / '-3.4 percentage points' for lists of parts."""
    return ("+" if change > 0 else "-" if change < 0 else "") + format_change(change, unit)


def narrate(
    *,
    info: MetricInfo,
    area_name: str,
    period_from: str,
    period_to: str,
    value_from: float,
    value_to: float,
    change: float,
    significance: dict,
    drivers: Sequence[DriverContribution],
    unexplained: float,
    components: Sequence[ComponentPart],
    segments: Sequence[SegmentPart],
    model: ModelSummary | None,
    data_vintage: int,
    by: str | None = None,
    driver_names: dict[str, str] | None = None,
    warnings: Sequence[str] = (),
    provisional: bool = False,
) -> str:
    unit = info.unit
    names = driver_names or {}
    where = "" if area_name in ("", "All areas") else f" in {area_name}"
    digits = level_digits(value_from, value_to, change)
    if negligible(unexplained, change):
        unexplained = 0.0
    sentences = []
    if change == 0:
        sentences.append(f"{info.name}{where} did not change between {period_from} and {period_to} "
                         f"({format_value(value_to, unit, digits)}).")
    else:
        pct = ""
        if value_from and not is_percent(unit) and math.isfinite(value_from):
            pct = f", {abs(change) / abs(value_from):.1%}"
        sentences.append(f"{info.name}{where} {verb(change)} by {format_change(change, unit)}{pct} "
                         f"from {format_value(value_from, unit, digits)} in {period_from} to "
                         f"{format_value(value_to, unit, digits)} in {period_to}.")
    if provisional:
        sentences.append(f"The {period_to} value is provisional and may be revised.")
    sentences.append(_significance_sentence(significance))
    parts = [c for c in components if not negligible(c.contribution, change)]
    if parts and change:
        ranked = sorted(parts, key=lambda c: -abs(c.contribution))[:3]
        listed = "; ".join(f"{names.get(c.component, c.component)} {signed(c.contribution, unit)}" for c in ranked)
        sentences.append(f"By component of the formula: {listed}.")
    if drivers and change:
        ranked = sorted(drivers, key=lambda d: -abs(d.contribution))
        top = [d for d in ranked if abs(d.contribution) >= 0.05 * abs(change)][:3] or ranked[:1]
        described = []
        for d in top:
            interval = ""
            low, high = (None, None) if d.ci_low is None or d.ci_high is None else (
                signed(d.ci_low, unit), signed(d.ci_high, unit))
            if low is not None and low != high:  # a range that rounds to one number says nothing
                interval = f" (range {low} to {high})"
            described.append(f"{names.get(d.driver, d.driver)} ({signed(d.contribution, unit)}{interval})")
        sentences.append("The movement is associated most with " + _join(described) + ".")
        share = unexplained / change if change else 0.0
        who = "The driver model" if model else "These drivers"
        if unexplained == 0.0:
            sentences.append(f"{who} account for the whole change." if not model else
                             f"{who} accounts for the whole change.")
        else:
            sentences.append(f"{who} {'leaves' if model else 'leave'} {signed(unexplained, unit)} unexplained "
                             f"({abs(share):.0%} of the change).")
    elif change:
        sentences.append("No driver model is configured for this metric, so the whole change is unexplained "
                         "by drivers.")
    moved = [sg for sg in segments if not negligible(sg.contribution, change)]
    if moved and change:
        ranked = sorted(moved, key=lambda sg: -abs(sg.contribution))[:3]
        what = f"values of {by}" if by else "areas"
        listed = "; ".join(f"{sg.name} {signed(sg.contribution, unit)}" for sg in ranked)
        sentences.append(f"The {what} that moved it most: {listed}.")
        if ranked[0].mix is not None and ranked[0].rate is not None:
            mix = sum(sg.mix or 0.0 for sg in moved)
            rate = sum(sg.rate or 0.0 for sg in moved)
            sentences.append(f"Changes in mix contributed {signed(mix, unit)} and changes in rates "
                             f"{signed(rate, unit)}.")
    for warning in warnings[:1]:
        sentences.append(warning if warning.endswith(".") else warning + ".")
    trace = f"Data vintage {data_vintage}"
    trace += f"; driver model version {model.version} ({model.kind.replace('_', ' ')})." if model else "."
    sentences.append(trace)
    return " ".join(s for s in sentences if s)


def _significance_sentence(significance: dict) -> str:
    """One or two short sentences: the verdict, then the XmR reason or the interval."""
    beyond = significance.get("beyond_normal_variation")
    method = significance.get("method")
    if beyond is None:
        return "There is not enough history to say whether this movement is beyond normal variation."
    head = ("This movement is beyond normal variation." if beyond
            else "This movement is within normal variation (common cause).")
    if method == "xmr":
        detail = (significance.get("detail") or "").strip()
        if beyond and detail:
            return f"{head} {detail if detail.endswith('.') else detail + '.'}"
        return head
    low, high = significance.get("ci_low"), significance.get("ci_high")
    if low is not None and high is not None:
        return f"{head} The 95% interval on the change runs from {round_sig(low):,g} to {round_sig(high):,g}."
    return head


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
