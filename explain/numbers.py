"""How whytrend writes numbers, in one place: levels and changes with their units ("£1.2m",
"85.3%", "3.4 percentage points"), compact chart labels ("12.3k"), limits and intervals
("12,345", "0.0123") and percentage changes ("less than 0.1%").

Why one module: the narrative, the significance sentences, the pages and the charts all show the
same numbers side by side, and a reader who sees "0.0%" beside "less than 0.1%" stops trusting
both. Pure functions of a value (and its unit); no dash, no pandas.
"""
from __future__ import annotations

import math
import re

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


def signed(change: float, unit: str) -> str:
    """'+£1.2m' / '-3.4 percentage points' for lists of parts."""
    return ("+" if change > 0 else "-" if change < 0 else "") + format_change(change, unit)


def format_number(value: float, *, signed: bool = False) -> str:
    """Thousands separators and rounding a reader can take in: 12,345 / 123.4 / 12.35 / 0.0123."""
    if value is None or not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if round(magnitude) >= 1000:
        text = f"{magnitude:,.0f}"
    elif round(magnitude, 1) >= 100:
        text = f"{magnitude:.1f}"
    elif round(magnitude, 2) >= 1:
        text = f"{magnitude:.2f}"
    elif magnitude == 0:
        text = "0"
    else:
        text = f"{magnitude:.3g}"
    if "." in text and "e" not in text:
        text = text.rstrip("0").rstrip(".")
    if text == "0":
        return "0"
    sign = "-" if value < 0 else ("+" if signed else "")
    return sign + text


def short_number(value: float | None) -> str:
    """Compact, for bar labels: 1,234 / 12.3k / 4.56m / 0.0123."""
    if value is None or not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    if magnitude >= 1e9:
        return f"{sign}{round_sig(magnitude / 1e9):g}bn"
    if magnitude >= 1e6:
        return f"{sign}{round_sig(magnitude / 1e6):g}m"
    if magnitude >= 1e4:
        return f"{sign}{round_sig(magnitude / 1e3):g}k"
    if magnitude >= 100:
        return f"{sign}{magnitude:,.0f}"
    return f"{sign}{round_sig(magnitude):g}"


def signed_short(value: float) -> str:
    return ("+" if value > 0 else "") + short_number(value)


def percent_change(new: float | None, old: float | None) -> float | None:
    """Percentage change from ``old`` to ``new`` (None when undefined)."""
    if new is None or old is None or old == 0 or not math.isfinite(new) or not math.isfinite(old):
        return None
    return (new - old) / abs(old) * 100.0


def pct_text(pct: float) -> str:
    """A percentage change's size: '3.1%', 'less than 0.1%' (never a misleading '0.0%')."""
    size = abs(pct)
    if 0 < size < 0.05:
        return "less than 0.1%"
    return f"{size:.1f}%"


# ---------------------------------------------------------------- one rounding for a sentence
_MONEY_UNIT = re.compile(r"^£\s*(k|m|bn)?(?![a-z])(.*)$")


def _scale_of(largest: float, money: bool) -> tuple[float, str]:
    """The display scale for the larger level: (factor, suffix)."""
    for limit, word, short in ((1e9, " billion", "bn"), (1e6, " million", "m")):
        if largest >= limit:
            return limit, (short if money else word)
    return 1.0, ""


def movement_numbers(value_from: float, value_to: float, unit: str) -> tuple[str, str, str, float]:
    """The two levels and the change of one sentence under one rounding: (from, to, change magnitude,
    step). Both levels are shown to the same decimal place, chosen so that they keep 3 significant
    figures and the change 2, and the change shown is the difference of the levels shown, so "from X
    to Y" and "by Z" always agree. ``step`` is the smallest difference the sentence can show (in the
    metric's unit): a part smaller than half of it is "less than" it (:func:`part_text`)."""
    money = _MONEY_UNIT.match(unit.strip())
    base = _SCALE[money.group(1) or ""] if money else 1.0  # the unit's own scale (£m: a million pounds)
    rest = (money.group(2).strip() if money else unit.strip())
    a, b = value_from * base, value_to * base
    factor, suffix = _scale_of(max(abs(a), abs(b)), bool(money))
    shown_a = shown_b = 0.0
    places = 0
    for places in range(0, 7):
        shown_a, shown_b = round(a / factor, places), round(b / factor, places)
        level_ok = max(abs(shown_a), abs(shown_b)) >= 10 ** (2 - places) or max(abs(a), abs(b)) == 0
        moved = abs(shown_b - shown_a)
        change_ok = (moved >= 10 ** (1 - places)) or (a == b)
        if level_ok and change_ok:
            break
    step = 10.0 ** -places * factor
    moved_units = round((shown_b - shown_a) * factor / step) * step  # an exact multiple of the step

    def level(x: float) -> str:
        text = f"{abs(x):,.{places}f}"
        sign = "-" if x < 0 else ""
        if money:
            return f"{sign}£{text}{suffix}" + (f" {rest}" if rest else "")
        if is_percent(unit):
            return f"{sign}{text}%"
        tail = f" {rest}" if rest and rest.lower() not in ("count", "number") else ""
        return f"{sign}{text}{suffix}{tail}"

    magnitude = abs(moved_units)
    if magnitude >= factor:
        change_text = level(magnitude / factor).lstrip("-")
    else:  # a change below the levels' scale is written in plain units at the same precision
        digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
        plain = f"{magnitude:,.{digits}f}"
        change_text = (f"£{plain}" + (f" {rest}" if rest else "")) if money else plain + (
            f" {rest}" if rest and rest.lower() not in ("count", "number") and not is_percent(unit) else "")
    if is_percent(unit):
        points = f"{abs(shown_b - shown_a):,.{places}f}"
        change_text = f"{points} percentage point{'s' if points != '1' else ''}"
    return level(shown_a), level(shown_b), change_text, step / base


def part_text(value: float, unit: str, step: float) -> str:
    """A signed part of a change ('+£1.2m'), or 'less than …' when it is below half the smallest
    difference its sentence shows (never '-0.000000977 percentage points')."""
    if step > 0 and abs(value) < step / 2:
        half = round_sig(step / 2, 1)
        size = format_change(half, unit)
        return f"less than {size}"
    return signed(value, unit)
