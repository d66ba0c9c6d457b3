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


def _plain(value: float) -> str:
    """A magnitude for reading aloud: 3 significant figures, '4.24 million' above a million."""
    value = abs(value)
    if value >= 1e9:
        return f"{round_sig(value / 1e9):g} billion"
    if value >= 1e6:
        return f"{round_sig(value / 1e6):g} million"
    if value >= 1000:
        return f"{round_sig(value):,.0f}"
    return f"{round_sig(value):g}"


def _money(pounds: float) -> str:
    """Pounds as '£1.23bn', '£456m', '£12,300', '£45.6'."""
    pounds = abs(pounds)
    for limit, suffix in ((1e9, "bn"), (1e6, "m")):
        if pounds >= limit:
            return f"£{round_sig(pounds / limit):g}{suffix}"
    if pounds >= 1000:
        return f"£{round_sig(pounds):,.0f}"
    return f"£{round_sig(pounds):g}"


_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "bn": 1e9}


def is_percent(unit: str) -> bool:
    return unit.strip().lower() in _PERCENT_UNITS


def format_value(value: float | None, unit: str) -> str:
    """A level: '£1.2m', '85.3%', '12,300 households'."""
    if value is None or not math.isfinite(value):
        return "not available"
    sign = "-" if value < 0 else ""
    u = unit.strip()
    money = re.match(r"^£\s*(k|m|bn)?(?![a-z])(.*)$", u)
    if money:
        scale, rest = money.group(1) or "", money.group(2).strip()
        return f"{sign}{_money(abs(value) * _SCALE[scale])}{(' ' + rest) if rest else ''}"
    if is_percent(u):
        return f"{sign}{_plain(value)}%"
    return f"{sign}{_plain(value)}{(' ' + u) if u and u.lower() not in ('count', 'number') else ''}"


def format_change(change: float, unit: str) -> str:
    """A magnitude of change: percentages change in percentage points."""
    if is_percent(unit):
        return f"{_plain(change)} percentage point{'s' if round_sig(abs(change)) != 1 else ''}"
    return format_value(abs(change), unit)


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
) -> str:
    unit = info.unit
    names = driver_names or {}
    where = "" if area_name in ("", "All areas") else f" in {area_name}"
    sentences = []
    if change == 0:
        sentences.append(f"{info.name}{where} did not change between {period_from} and {period_to} "
                         f"({format_value(value_to, unit)}).")
    else:
        pct = ""
        if value_from and not is_percent(unit) and math.isfinite(value_from):
            pct = f", {abs(change) / abs(value_from):.1%}"
        sentences.append(f"{info.name}{where} {verb(change)} by {format_change(change, unit)}{pct} "
                         f"from {format_value(value_from, unit)} in {period_from} to {format_value(value_to, unit)} "
                         f"in {period_to}.")
    sentences.append(_significance_sentence(significance))
    parts = [c for c in components if abs(c.contribution) > 0]
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
            if d.ci_low is not None and d.ci_high is not None:
                interval = f" (range {signed(d.ci_low, unit)} to {signed(d.ci_high, unit)})"
            described.append(f"{names.get(d.driver, d.driver)} ({signed(d.contribution, unit)}{interval})")
        sentences.append("The movement is associated most with " + _join(described) + ".")
        share = unexplained / change if change else 0.0
        sentences.append(f"The driver model leaves {signed(unexplained, unit)} unexplained "
                         f"({abs(share):.0%} of the change).")
    elif change:
        sentences.append("No driver model is configured for this metric, so the whole change is unexplained "
                         "by drivers.")
    moved = [sg for sg in segments if abs(sg.contribution) > 0]
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
