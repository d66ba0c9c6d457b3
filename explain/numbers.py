"""How whytrend writes numbers and periods, in one place: levels and changes with their units
("£1.2m", "85.3%", "3.4 percentage points"), compact chart labels and axis ticks ("12.3k"), limits
and intervals with units ("12,300 households", "−9,000 to +12,000 households"), percentage changes
("less than 0.1%", never for a temperature), slopes ("about £62 a month") and periods in prose
("September 2026", "January to March 2026").

Why one module: the narrative, the significance sentences, the pages and the charts all show the
same numbers side by side, and a reader who sees "0.0%" beside "less than 0.1%", or "£866.123"
beside "£866", stops trusting both. Pure functions of a value (and its unit); no dash, no plotly.

The rules, each tested in tests/test_numbers.py:

* A level has 3 significant figures ("3.47 million", "£866"), and never more than
  :data:`MAX_LEVEL_DIGITS` (4), even when a sentence needs more to show a small change.
* A change in a sentence is written at the precision of the levels beside it, so "from X to Y" and
  "by Z" agree; when the levels cannot show it (a change of 7,810 on 3.46 million) the change keeps
  3 significant figures of its own (:func:`movement_numbers`). A part of a change is never written
  to more decimal places than its sentence's levels (:func:`part_text`: "+£0.1", not "+£0.0621").
* A change of a percentage is in percentage points; a temperature (an interval scale, see
  :func:`is_interval_scale`) never gets a percentage change.
* Limits and intervals carry their unit (:func:`format_limit`, :func:`format_interval`).
* Periods in prose are words (:func:`period_text`); canonical labels ("2026-09") stay in URLs,
  exports, tables' raw data and the CLI's ``--json``.
"""
from __future__ import annotations

import datetime as _dt
import functools
import math
import re

_PERCENT_UNITS = {"%", "percent", "per cent", "percentage"}
#: the most significant figures a level is ever written with (never '8.68065 million')
MAX_LEVEL_DIGITS = 4
#: the minus sign of ranges and intervals in prose (U+2212: read as "minus", never mistaken for a dash)
MINUS = "\u2212"

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")


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


_INTERVAL_SCALE = re.compile(
    r"^(?:°\s*[cf]|deg\s*[cf]|degrees?\s*[cf]|(?:degrees?\s+)?(?:celsius|centigrade|fahrenheit))\b", re.I)


def is_interval_scale(unit: str) -> bool:
    """True for units whose zero is arbitrary (temperatures: '°C', 'degC', 'degrees C', 'celsius', '°F').
    A percentage change of such a value means nothing (10°C to 20°C is not 'twice as warm'), so texts
    built on :func:`percent_change` skip these units."""
    return bool(_INTERVAL_SCALE.match(unit.strip()))


def _unit_tail(unit: str) -> str:
    """The unit written after a number: ' households', '°C' (no space before a degree sign), '' for
    plain counts."""
    u = unit.strip()
    if not u or u.lower() in ("count", "number"):
        return ""
    return u if u.startswith("°") else " " + u


def format_value(value: float | None, unit: str, digits: int = 3) -> str:
    """A level: '£1.2m', '85.3%', '12,300 households', '12.3°C'."""
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
    return f"{sign}{_plain(value, digits)}{_unit_tail(u)}"


def format_change(change: float, unit: str, digits: int = 3) -> str:
    """A magnitude of change: percentages change in percentage points."""
    if is_percent(unit):
        return f"{_plain(change, digits)} percentage point{'s' if round_sig(abs(change), digits) != 1 else ''}"
    return format_value(abs(change), unit, digits)


def level_digits(value_from: float, value_to: float, change: float) -> int:
    """Significant figures for the two levels so that their difference shows ('19.3 to 18.8',
    not '19 to 19'), between 3 and :data:`MAX_LEVEL_DIGITS`."""
    if not change or not math.isfinite(change):
        return 3
    ratio = max(abs(value_from), abs(value_to)) / abs(change)
    return int(min(MAX_LEVEL_DIGITS, max(3, 2 + math.ceil(math.log10(max(ratio, 1.0))))))


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


def short_value(value: float | None, unit: str = "", *, change: bool = False) -> str:
    """Compact with the unit's scale, for bar labels beside ticks that carry it: '£30m' for 30 in £m,
    '85.3%' for a level in %, '12.3k' for households (the unit itself is in the subtitle). A ``change``
    of a percentage is in points, so it gets no '%'."""
    if value is None or not math.isfinite(value):
        return "n/a"
    money = _MONEY_UNIT.match(unit.strip())
    if money:
        base = _SCALE[money.group(1) or ""]
        return ("-" if value < 0 else "") + "£" + short_number(abs(value) * base)
    if is_percent(unit) and not change:
        return short_number(value) + "%"
    return short_number(value)


def signed_short_value(value: float, unit: str = "") -> str:
    """A part of a change for a bar label: '+£30m', '-6,093', '+0.19' (points, for a percentage)."""
    return ("+" if value > 0 else "") + short_value(value, unit, change=True)


def percent_change(new: float | None, old: float | None) -> float | None:
    """Percentage change from ``old`` to ``new`` (None when undefined). Callers writing it for a
    metric check :func:`is_interval_scale` first, or use :func:`percent_change_text`."""
    if new is None or old is None or old == 0 or not math.isfinite(new) or not math.isfinite(old):
        return None
    return (new - old) / abs(old) * 100.0


def pct_text(pct: float) -> str:
    """A percentage change's size: '3.1%', 'less than 0.1%' (never a misleading '0.0%')."""
    size = abs(pct)
    if 0 < size < 0.05:
        return "less than 0.1%"
    return f"{size:.1f}%"


def percent_change_text(value_from: float | None, value_to: float | None, unit: str) -> str | None:
    """The size of the percentage change from ``value_from`` to ``value_to`` ('3.1%', 'less than
    0.1%'), or None when it would mislead: a percentage (its change is in points), an interval scale
    such as a temperature, a start at zero or a missing value."""
    if is_percent(unit) or is_interval_scale(unit):
        return None
    pct = percent_change(value_to, value_from)
    return None if pct is None else pct_text(pct)


# ---------------------------------------------------------------- one rounding for a sentence
_MONEY_UNIT = re.compile(r"^£\s*(k|m|bn)?(?![a-z])(.*)$")


def _scale_of(largest: float, money: bool) -> tuple[float, str]:
    """The display scale for the larger level: (factor, suffix)."""
    for limit, word, short in ((1e9, " billion", "bn"), (1e6, " million", "m")):
        if largest >= limit:
            return limit, (short if money else word)
    return 1.0, ""


def _leading(value: float) -> int:
    """The power of ten of the leading digit (866 -> 2, 0.0123 -> -2)."""
    return int(math.floor(math.log10(abs(value)))) if value else 0


def movement_numbers(value_from: float, value_to: float, unit: str) -> tuple[str, str, str, float]:
    """The two levels and the change of one sentence under one rounding: (from, to, change magnitude,
    step). Both levels are shown to the same decimal place, chosen so that the larger keeps 3
    significant figures (4 at most, :data:`MAX_LEVEL_DIGITS`) and the change 2, less any trailing
    zeros both levels share; the change shown is then the difference of the levels shown, so "from X
    to Y" and "by Z" always agree. When even 4 significant figures cannot show the change (7,810 on
    3.46 million) the levels keep 3 and the change is written with 3 of its own. ``step`` is the
    smallest difference the sentence shows (in the metric's unit): a part smaller than half of it is
    "less than" it (:func:`part_text`)."""
    money = _MONEY_UNIT.match(unit.strip())
    base = _SCALE[money.group(1) or ""] if money else 1.0  # the unit's own scale (£m: a million pounds)
    rest = (money.group(2).strip() if money else unit.strip())
    a, b = value_from * base, value_to * base
    factor, suffix = _scale_of(max(abs(a), abs(b)), bool(money))
    lead = _leading(max(abs(a), abs(b)) / factor)
    fewest, most = 2 - lead, MAX_LEVEL_DIGITS - 1 - lead  # decimal places for 3 and for 4 significant figures
    places = next((p for p in range(fewest, most + 1)
                   if a == b or abs(round(b / factor, p) - round(a / factor, p)) >= 10.0 ** (1 - p) * (1 - 1e-9)),
                  None)
    own_precision = places is None  # the levels cannot show the change: it keeps its own 3 figures
    if places is None:
        places = fewest
    shown_a, shown_b = round(a / factor, places), round(b / factor, places)
    while places > 0 and round(shown_a, places - 1) == shown_a and round(shown_b, places - 1) == shown_b:
        places -= 1  # trailing zeros both levels share say nothing: '8.4 to 5.1', not '8.40 to 5.10'

    def level(x: float) -> str:
        text = f"{abs(x):,.{max(0, places)}f}"
        sign = "-" if x < 0 else ""
        if money:
            return f"{sign}£{text}{suffix}" + (f" {rest}" if rest else "")
        if is_percent(unit):
            return f"{sign}{text}%"
        return f"{sign}{text}{suffix}{_unit_tail(rest)}"

    if own_precision:
        change = b - a
        step = 10.0 ** (_leading(change) - 2) if change else 10.0 ** -places * factor
        return level(shown_a), level(shown_b), format_change(change / base, unit), step / base
    step = 10.0 ** -places * factor
    moved_units = round((shown_b - shown_a) * factor / step) * step  # an exact multiple of the step
    magnitude = abs(moved_units)
    if magnitude >= factor:
        change_text = level(magnitude / factor).lstrip("-")
    else:  # a change below the levels' scale: at its own scale (£60m beside £1.2bn), the same precision
        own, own_suffix = _scale_of(magnitude, bool(money))
        digits = max(0, -int(math.floor(math.log10(step / own) + 1e-9)))
        plain = f"{magnitude / own:,.{digits}f}{own_suffix}"
        change_text = (f"£{plain}" + (f" {rest}" if rest else "")) if money else plain + (
            _unit_tail(rest) if not is_percent(unit) else "")
    if is_percent(unit):
        points = f"{abs(shown_b - shown_a):,.{max(0, places)}f}"
        change_text = f"{points} percentage point{'s' if points != '1' else ''}"
    return level(shown_a), level(shown_b), change_text, step / base


def at_precision(value: float, step: float) -> float:
    """``value`` rounded to 3 significant figures, and never to more decimal places than a sentence
    whose smallest shown difference is ``step`` (so +0.0621 beside levels of £866.1 is +0.1)."""
    if not value or not math.isfinite(value):
        return value
    quantum = 10.0 ** (_leading(value) - 2)
    if step > 0 and math.isfinite(step):
        quantum = max(quantum, min(step, 1.0))
    return round(value / quantum) * quantum


def change_beside(change: float, level: float | None, unit: str) -> str:
    """The size of a change shown beside one level (a summary card: '£866 per month', '+£0.06'):
    3 significant figures, and never more than two digits finer than the level's own 3 significant
    figures, so +0.0621 beside £866 is +£0.06 and +4,210 beside 140,000 stays +4,210."""
    if level is None or not level or not math.isfinite(level):
        return format_change(abs(change), unit)
    step = 10.0 ** (_leading(level) - 2) / 100
    return format_change(at_precision(abs(change), step), unit)


def part_text(value: float, unit: str, step: float) -> str:
    """A signed part of a change ('+£1.2m') at the precision of its sentence (:func:`at_precision`),
    or 'less than …' when it is below half the smallest difference its sentence shows (never
    '-0.000000977 percentage points')."""
    if step > 0 and abs(value) < step / 2:
        half = round_sig(step / 2, 1)
        size = format_change(half, unit)
        return f"less than {size}"
    return signed(at_precision(value, step), unit)


# ---------------------------------------------------------------- limits, intervals and slopes
def format_limit(value: float | None, unit: str, digits: int = 3) -> str:
    """A limit of a usual range, or any threshold on the level, with its unit: '12,300 households',
    '£1.2m', '85.3%', '-2.1°C' (never a bare '12,345.67')."""
    return format_value(value, unit, digits)


def signed_text(value: float, unit: str) -> str:
    """A signed change in prose, with its unit and a true minus sign: '+1,200 households', '−£1.2m',
    '−0.19 percentage points' (:func:`signed` writes '-' for compact lists and the CLI)."""
    sign = "+" if value > 0 else MINUS if value < 0 else ""
    return sign + format_change(value, unit)


def _quantum(*values: float) -> float:
    """The place of the 3rd significant figure of the largest of ``values`` (1 when all are zero)."""
    largest = max(abs(v) for v in values)
    return 10.0 ** (_leading(largest) - 2) if largest else 1.0


def format_interval(low: float, high: float, unit: str) -> str:
    """A range of changes with signs and one unit: '−9,000 to +12,000 households', '−£1.2m to +£3.4m',
    '+0.46 to +3.54 percentage points'. Both ends at one precision (3 significant figures of the
    larger), so the smaller never shows false precision."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "not available"
    quantum = _quantum(low, high)
    low_r, high_r = round(low / quantum) * quantum, round(high / quantum) * quantum
    low_text, high_text = signed_text(low_r, unit), signed_text(high_r, unit)
    shape = re.compile(r"^([+\u2212]?£?[\d,.]+(?:bn|m|k)?(?: (?:million|billion))?)( .+)$")
    a, b = shape.match(low_text), shape.match(high_text)
    if a and b and a.group(2) == b.group(2):  # the unit once, at the end
        low_text = a.group(1)
    return f"{low_text} to {high_text}"


def format_range(low: float | None, high: float | None, unit: str, digits: int = 3) -> str:
    """A range of levels with one unit and one precision (``digits`` significant figures of the larger
    end): '6 to 14 cases', '£831m to £900m', '85.1% to 86.3%', '3.38 million to 3.56 million households'."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "not available"
    largest = max(abs(low), abs(high))
    quantum = 10.0 ** (_leading(largest) - digits + 1) if largest else 1.0
    low_text = format_value(round(low / quantum) * quantum, unit, digits + 2)  # already rounded: no second rounding
    high_text = format_value(round(high / quantum) * quantum, unit, digits)
    tail = _unit_tail(unit) if not _MONEY_UNIT.match(unit.strip()) and not is_percent(unit) else ""
    if tail.startswith(" ") and low_text.endswith(tail) and high_text.endswith(tail):
        low_text = low_text[: -len(tail)]
    return f"{low_text} to {high_text}"


def interval_centre_text(centre: float, low: float, high: float, unit: str) -> str:
    """The centre of an interval at the interval's precision ('+2 households' beside '+0.46 to +3.54
    households'), so the three numbers read as one rounding."""
    if not math.isfinite(centre):
        return "not available"
    quantum = _quantum(low, high, centre)
    return signed_text(round(centre / quantum) * quantum, unit)


_PER_PERIOD = {"day", "week", "month", "quarter", "year"}


def format_slope(value: float, unit: str, per: str) -> str:
    """A rate of change in words, to 2 significant figures ('about' says it is rounded): 'about £62 a
    month', 'about 1,200 households a year', 'about 0.3 percentage points per 1% of unemployment'.
    The size only: the caller says whether it rises or falls."""
    per = per.strip()
    per_text = "" if not per else f" a {per}" if per in _PER_PERIOD else f" per {per}"
    if value == 0 or not math.isfinite(value):
        return f"about 0{per_text}" if value == 0 else "not available"
    return f"about {format_change(value, unit, 2)}{per_text}"


# ---------------------------------------------------------------- chart ticks
def _tick_label(value: float, step: float, scale: float, suffix: str, prefix: str, tail: str) -> str:
    decimals = 0
    while decimals < 6 and abs(step / scale * 10 ** decimals - round(step / scale * 10 ** decimals)) > 1e-6:
        decimals += 1
    text = f"{abs(value) / scale:,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return f"{prefix}0{tail}"
    return ("-" if value < 0 else "") + f"{prefix}{text}{suffix}{tail}"


def axis_ticks(low: float, high: float, unit: str = "", *, most: int = 5) -> tuple[list[float], list[str]]:
    """At most ``most`` round tick values covering [low, high] (steps of 1, 2, 2.5 or 5 × 10ⁿ) and
    compact labels that all differ ('3.46m', '3.465m'; '£2.5bn'; '85%'), so a value axis stays readable
    at 375 px where '3,465,000' labels would collide."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [], []
    if high < low:
        low, high = high, low
    if high == low:
        high, low = high + (abs(high) * 0.05 or 1.0), low - (abs(low) * 0.05 or 1.0)
    money = _MONEY_UNIT.match(unit.strip())
    base = _SCALE[money.group(1) or ""] if money else 1.0
    raw = (high - low) / max(1, most - 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10)
                if math.floor(high / (m * magnitude) + 1e-9) - math.ceil(low / (m * magnitude) - 1e-9) + 1 <= most)
    first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    values = [k * step for k in range(first, last + 1)]
    largest = max(abs(v) for v in values) * base
    scale, suffix = 1.0, ""
    for limit, factor, short in ((1e9, 1e9, "bn"), (1e6, 1e6, "m"), (1e4, 1e3, "k")):  # as short_number
        if largest >= limit:
            scale, suffix = factor, short
            break
    prefix, tail = ("£", "") if money else ("", "%" if is_percent(unit) else "")
    texts = [_tick_label(v * base, step * base, scale, suffix, prefix, tail) for v in values]
    return values, texts


# ---------------------------------------------------------------- periods in prose
def _period_prose(freq: str, start: _dt.date, label: str, short: bool) -> str:
    month = MONTH_NAMES[start.month - 1]
    if freq == "M":
        return f"{month[:3] if short else month} {start.year}"
    if freq in ("Q", "FQ"):
        last = MONTH_NAMES[start.month + 1]
        if short:
            return f"{month[:3]}–{last[:3]} {start.year}"
        return f"{month} to {last} {start.year}"
    if freq == "W":
        return f"w/c {start.day} {month[:3]} {start.year}" if short else \
            f"the week beginning {start.day} {month} {start.year}"
    if freq == "D":
        return f"{start.day} {month[:3] if short else month} {start.year}"
    if freq == "Y":
        return str(start.year)
    return label  # FY: '2025-26' is how the Treasury writes a financial year


@functools.lru_cache(maxsize=8192)
def _period_words(label: str, freq: str | None, short: bool) -> str:
    from loaders.errors import PeriodError  # loaders.periods brings pandas: imported when first needed
    from loaders.periods import parse_period

    text = str(label).strip()
    if not text:
        return text
    try:
        period = parse_period(text, prefer=freq or None)
    except (PeriodError, ValueError, TypeError, OverflowError):
        return text  # not a period label: written as it is
    return _period_prose(period.freq, period.start, period.label, short)


def period_text(label: str, freq: str | None = None) -> str:
    """A period label as stored, in prose: '2026-09' -> 'September 2026'; '2026-Q1' -> 'January to
    March 2026' (the ONS and GSS style for quarters, chosen over 'Q1 2026' because officials read it
    without knowing whose quarters are meant); '2025-26 Q2' (a financial quarter) -> 'July to September
    2025'; '2025-26' stays '2025-26' (a financial year); '2024' stays '2024'; '2024-W05' -> 'the week
    beginning 29 January 2024'; '2024-01-15' -> '15 January 2024'. ``freq`` (the metric's frequency
    code) settles spellings that are both a month and a financial year ('2010-11'); without it such a
    label is a month. A label that is not a period is returned unchanged. Labels stay canonical in
    URLs, exports, tables' raw data and the CLI's --json: this is for sentences only."""
    return _period_words(str(label), freq or None, False)


def period_short_text(label: str, freq: str | None = None) -> str:
    """A period label for chart ticks and bar labels: 'Sep 2026', 'Jan–Mar 2026', '2025-26', '2024'."""
    return _period_words(str(label), freq or None, True)


def season_text(season: int, freq: str | None = None) -> str:
    """A season number (``Period.season``) as people say it: 7 -> 'July' (monthly), 1 -> 'January to
    March' (quarterly), 1 -> 'April to June' (financial quarters), 'week 7', 'day 7 of the year'. Without
    a frequency, a number above 4 is a month and one up to 4 a quarter ('quarter 2': whose quarters is
    not known)."""
    n = int(season)
    freq = freq or ("M" if n > 4 else "")
    if freq == "M" and 1 <= n <= 12:
        return MONTH_NAMES[n - 1]
    if freq == "Q" and 1 <= n <= 4:
        return f"{MONTH_NAMES[3 * n - 3]} to {MONTH_NAMES[3 * n - 1]}"
    if freq == "FQ" and 1 <= n <= 4:
        first = (3 * n) % 12  # Q1 starts in April (index 3)
        return f"{MONTH_NAMES[first]} to {MONTH_NAMES[first + 2]}"
    if freq == "W":
        return f"week {n}"
    if freq == "D":
        return f"day {n} of the year"
    return f"quarter {n}" if not freq and 1 <= n <= 4 else str(n)
