"""Reading the many ways government files spell a period, and arithmetic on periods.

Loaders see months as ``Jan-24``, Excel serial numbers, ISO dates, ``2023/24``, EES codes
such as ``201617`` and more. Everything downstream (storage keys, the explain engine, the
app) wants one canonical :class:`Period` per spelling, so this module is the single place
where spellings are interpreted. It is pure (no I/O) and the series form parses each
*distinct* value once, because a 5-million-row file rarely holds more than a few thousand
distinct periods.

Ambiguities resolved here (see also the tests):

* ``YYYY-NN`` where ``NN`` is both a month (01-12) and the year after ``YYYY`` (``2000-01``,
  ``2009-10``, ``2010-11``, ``2011-12``) is a month by default (the canonical month label),
  a financial year with ``prefer`` in FY/FQ/Y, and in the series form follows the rest of
  the column (financial years elsewhere, or two or more such values and no months -> FY).
* A six-digit code whose last two digits equal (first four + 1) mod 100 is a split year
  (``201617`` -> 2016-17); otherwise it is YYYYMM (``202401``). ``200910`` is therefore
  FY 2009-10 unless ``prefer='M'`` or the series holds unambiguous months.
* ``prefer`` only changes *dates* (ISO dates, datetimes, Excel serials, day-first dates): they
  become the period of that frequency containing the date. Spellings that already name a
  period are kept; in particular ``prefer='FY'`` does not turn ``2024`` into a financial
  year, because publishers disagree on whether that means 2023-24 or 2024-25.
"""
from __future__ import annotations

import datetime as _dt
import functools
import logging
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from loaders.errors import PeriodError

log = logging.getLogger(__name__)

FREQUENCIES: tuple[str, ...] = ("D", "W", "M", "Q", "FQ", "Y", "FY")
FREQUENCY_NAMES: dict[str, str] = {
    "day": "D", "week": "W", "month": "M", "quarter": "Q",
    "financial_quarter": "FQ", "year": "Y", "financial_year": "FY",
}
_FREQ_WORDS = {code: name.replace("_", " ") for name, code in FREQUENCY_NAMES.items()}
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_EXCEL_EPOCH = _dt.date(1899, 12, 30)  # 1900 date system, valid for serials >= 61
_EXCEL_MIN, _EXCEL_MAX = 20000, 80000
#: the spellings a period cell may take, said once per report (loaders.validate.HINTS) and in full
#: in the error of a single value (a manifest setting, a typed period)
ACCEPTED_SPELLINGS = ("2024-01, January 2024, Jan-24, 2024-Q1, Q1 2024, 2024, 2023-24, 2023/24, FY 2023-24, "
                      "2023-24 Q2, 2024-W05, 2024-01-15, 15/01/2024 (day first) and Excel dates")
_ACCEPTED = f"accepted spellings include {ACCEPTED_SPELLINGS}"
#: a cell of a period column: the row's own problem only (the report lists the spellings once)
_EMPTY_MESSAGE = "Missing period: the cell is empty"


def _align(freq: str, d: _dt.date) -> _dt.date:
    """First day of the ``freq`` period containing ``d``."""
    if freq == "D":
        return d
    if freq == "W":
        return d - _dt.timedelta(days=d.weekday())
    if freq == "M":
        return d.replace(day=1)
    if freq in ("Q", "FQ"):  # financial quarters start on calendar-quarter boundaries too
        return _dt.date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    if freq == "Y":
        return _dt.date(d.year, 1, 1)
    return _dt.date(d.year if d.month >= 4 else d.year - 1, 4, 1)  # FY


def _ordinal(freq: str, d: _dt.date) -> int:
    if freq == "D":
        return d.toordinal()
    if freq == "W":
        return (d.toordinal() - 1) // 7  # date(1, 1, 1) is a Monday with ordinal 1
    if freq == "M":
        return d.year * 12 + d.month - 1
    if freq in ("Q", "FQ"):
        return d.year * 4 + (d.month - 1) // 3
    return d.year  # Y, FY


def _start_from_ordinal(freq: str, k: int) -> _dt.date:
    try:
        if freq == "D":
            return _dt.date.fromordinal(k)
        if freq == "W":
            return _dt.date.fromordinal(7 * k + 1)
        if freq == "M":
            return _dt.date(k // 12, k % 12 + 1, 1)
        if freq in ("Q", "FQ"):
            return _dt.date(k // 4, k % 4 * 3 + 1, 1)
        return _dt.date(k, 1 if freq == "Y" else 4, 1)
    except (ValueError, OverflowError):
        raise PeriodError(f"Period number {k} of frequency {freq} is outside the dates whytrend "
                          "can represent.") from None


def _weeks_in_iso_year(year: int) -> int:
    return _dt.date(year, 12, 28).isocalendar()[1]


def _fy_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


@dataclass(frozen=True, order=True)
class Period:
    """One period: a frequency code and its first day (the storage key is ``(freq, start)``).

    Keying on the first day rather than the label makes periods of one frequency sort and
    join correctly as dates, and lets ``from_key`` rebuild a period without re-parsing text.
    """

    freq: str
    start: _dt.date

    def __post_init__(self) -> None:
        if self.freq not in FREQUENCIES:
            raise PeriodError(f"Unknown period frequency {self.freq!r}: use one of "
                              f"{', '.join(FREQUENCIES)}.")
        start = self.start
        if isinstance(start, _dt.datetime):  # includes pd.Timestamp; keep a plain date
            start = start.date()
            object.__setattr__(self, "start", start)
        elif not isinstance(start, _dt.date):
            raise PeriodError(f"A period starts on a date, not {start!r}.")
        if _align(self.freq, start) != start:
            raise PeriodError(f"{start.isoformat()} is not the first day of a "
                              f"{_FREQ_WORDS[self.freq]} ({self.freq}) period.")

    @property
    def label(self) -> str:
        """Canonical spelling, e.g. ``2024-01``, ``2024-Q1``, ``2023-24 Q2``."""
        d, f = self.start, self.freq
        if f == "D":
            return d.isoformat()
        if f == "W":
            year, week, _ = d.isocalendar()
            return f"{year}-W{week:02d}"
        if f == "M":
            return f"{d.year}-{d.month:02d}"
        if f == "Q":
            return f"{d.year}-Q{self.season}"
        if f == "FQ":
            return f"{_fy_label(d.year if d.month >= 4 else d.year - 1)} Q{self.season}"
        if f == "Y":
            return str(d.year)
        return _fy_label(d.year)

    @property
    def end(self) -> _dt.date:
        """Last day of the period (inclusive)."""
        return _start_from_ordinal(self.freq, self.ordinal + 1) - _dt.timedelta(days=1)

    @property
    def ordinal(self) -> int:
        """Consecutive integer within the frequency, so differences count periods."""
        return _ordinal(self.freq, self.start)

    @property
    def season(self) -> int:
        """Position within the year, for seasonal comparisons (0 for yearly frequencies)."""
        d, f = self.start, self.freq
        if f == "M":
            return d.month
        if f == "Q":
            return (d.month - 1) // 3 + 1
        if f == "FQ":
            return (d.month - 4) % 12 // 3 + 1
        if f == "W":
            return d.isocalendar()[1]
        if f == "D":
            return d.timetuple().tm_yday
        return 0

    def shift(self, n: int) -> Period:
        """The period ``n`` steps later (earlier when negative) of the same frequency."""
        return Period(self.freq, _start_from_ordinal(self.freq, self.ordinal + int(n)))

    def year_earlier(self) -> Period:
        """The same period one year before, for year-on-year comparisons.

        Days keep their calendar date (29 February becomes 28 February); ISO weeks keep
        their week number, and week 53 becomes week 52 when the previous ISO year has none.
        """
        d, f = self.start, self.freq
        if f == "D":
            try:
                return Period("D", d.replace(year=d.year - 1))
            except ValueError:  # 29 February
                return Period("D", _dt.date(d.year - 1, 2, 28))
        if f == "W":
            year, week, _ = d.isocalendar()
            week = min(week, _weeks_in_iso_year(year - 1))
            return Period("W", _dt.date.fromisocalendar(year - 1, week, 1))
        return self.shift({"M": -12, "Q": -4, "FQ": -4}.get(f, -1))

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class PeriodParse:
    """Result of :func:`parse_period_series`, aligned to the input's index.

    ``freq`` and ``start`` hold str (``start`` as ISO ``YYYY-MM-DD``) and None where the
    cell could not be read; ``error`` holds None where it could, else the user message.
    All three are object dtype so that None stays None.
    """

    freq: pd.Series
    start: pd.Series
    error: pd.Series
    #: the frequency read from the dates themselves when none was given (see :func:`_dates_are_months`)
    inferred: str | None = None


@dataclass(frozen=True)
class _Reading:
    """What a spelling says, before ``prefer`` and column context are applied."""

    period: Period
    is_date: bool = False  # a day that ``prefer`` may widen
    alternative: Period | None = None  # the other reading of an ambiguous spelling


def _show(value: object) -> str:
    try:
        text = repr(value)
    except ValueError:  # e.g. an int too long to print
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(value: object, reason: str) -> PeriodError:
    return PeriodError(f"Cannot read {_show(value)} as a period ({reason}); {_ACCEPTED}.")


def _year_ok(year: int, value: object) -> int:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise _bad(value, f"year {year} is outside {_MIN_YEAR}-{_MAX_YEAR}")
    return year


def _day(year: int, month: int, day: int, value: object) -> _Reading:
    _year_ok(year, value)
    try:
        return _Reading(Period("D", _dt.date(year, month, day)), is_date=True)
    except ValueError:
        raise _bad(value, f"there is no day {day:02d}/{month:02d}/{year} (read day first)") from None


def _fy(start_year: int, value: object) -> Period:
    return Period("FY", _dt.date(_year_ok(start_year, value), 4, 1))


def _month(year: int, month: int, value: object) -> Period:
    if not 1 <= month <= 12:
        raise _bad(value, f"{month} is not a month number")
    return Period("M", _dt.date(_year_ok(year, value), month, 1))


def _read_integer(n: int, value: object) -> _Reading:
    """Integers: calendar years, Excel serials, six-digit codes, YYYYMMDD."""
    if 1000 <= n <= 9999:
        return _Reading(Period("Y", _dt.date(_year_ok(n, value), 1, 1)))
    if _EXCEL_MIN <= n <= _EXCEL_MAX:
        d = _EXCEL_EPOCH + _dt.timedelta(days=n)
        return _day(d.year, d.month, d.day, value)
    if 100000 <= n <= 999999:
        year, last = divmod(n, 100)
        split, month = last == (year + 1) % 100, 1 <= last <= 12
        if split:  # split year wins; YYYYMM is the alternative (see module docstring)
            return _Reading(_fy(year, value), alternative=_month(year, last, value) if month else None)
        if month:
            return _Reading(_month(year, last, value))
        raise _bad(value, "a six-digit code is YYYYMM or a split year such as 201617")
    if 10000000 <= n <= 99999999:
        return _day(n // 10000, n // 100 % 100, n % 100, value)
    raise _bad(value, "this number is not a year, Excel date or period code")


_MONTHS = {"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
           "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8,
           "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10,
           "nov": 11, "november": 11, "dec": 12, "december": 12}
_MARKERS = re.compile(r"\[\s*(?:note|fn|footnote)?\s*\d+[a-z]?\s*\]"
                      r"|[\[(]\s*(?:p|r|e|provisional|revised|estimated?)\s*[\])]|[*\u2020]+\s*$"
                      r"|(?<=[0-9a-z])\(\d{1,2}\)\s*$", re.I)  # "30-Jun-09(1)": a footnote glued to the date
_TIME = r"(?:[t ](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?"
_SPLIT = r"(\d{4}) ?([-/]) ?(\d{1,4})"


def _month_number(name: str, value: object) -> int:
    if name not in _MONTHS:
        raise _bad(value, f"{name!r} is not a month name")
    return _MONTHS[name]


def _two_digit_year(text: str) -> int:
    """``Jan-24`` means 2024 and ``Jan-95`` 1995: 2000+yy below 70, else 1900+yy."""
    yy = int(text)
    return (2000 if yy < 70 else 1900) + yy if len(text) == 2 else yy


def _is_split(year: int, second: str) -> bool:
    """'24' or '2024' after 2023: the second year of a split (financial) year."""
    return int(second) == (year + 1 if len(second) == 4 else (year + 1) % 100) and len(second) in (2, 4)


def _split_or_month(m: re.Match, value: object) -> _Reading:
    fy, first, sep, second = m.group(1), m.group(2), m.group(3), m.group(4)
    year, num = int(first), int(second)
    is_split = _is_split(year, second)
    is_month = not fy and sep == "-" and len(second) <= 2 and 1 <= num <= 12
    if is_split and is_month:  # '2011-12': the canonical month label wins by default
        return _Reading(_month(year, num, value), alternative=_fy(year, value))
    if is_month or is_split:
        return _Reading(_month(year, num, value) if is_month else _fy(year, value))
    if not fy and sep == "-" and len(second) <= 2:
        raise _bad(value, f"{second} is neither a month nor the year after {first}")
    raise _bad(value, f"{second} is not the year after {first}")


def _fq(first: str, second: str, quarter: str, value: object) -> _Reading:
    if not _is_split(int(first), second):
        raise _bad(value, f"{second} is not the year after {first}")
    return _Reading(Period("FQ", _fy(int(first), value).start).shift(int(quarter) - 1))


def _raise(err: PeriodError) -> _Reading:
    raise err


def _number_text(m: re.Match, value: object) -> _Reading:
    digits, frac = m.group(1), m.group(2) or ""
    if len(digits) > 8:
        raise _bad(value, "too many digits for a period")
    if frac.strip("0") and not (len(digits) == 5 and _EXCEL_MIN <= int(digits) <= _EXCEL_MAX):
        raise _bad(value, "only Excel dates may have a fraction")
    return _read_integer(int(digits), value)


def _rolling_three_months(m: re.Match, value: object) -> _Reading:
    """``Aug-Oct 2011`` (the Labour Force Survey's rolling three months) is read as its last month: the
    series is monthly, each value covering the three months ending then. ``Jul-Sep 2011`` is read the
    same way unless the source's period_frequency is quarterly (then it is 2011-Q3)."""
    first, last = _month_number(m[1], value), _month_number(m[2], value)
    if (last - first) % 12 != 2:
        raise _bad(value, f"{m[1]} to {m[2]} is not three months")
    month = _month(_y(m[3]), last, value)
    if first in (1, 4, 7, 10):  # also a calendar quarter: read so where the source says it is quarterly
        return _Reading(month, alternative=_quarter(month.start.year, (first + 2) // 3, value).period)
    return _Reading(month)


def _short_financial_year(m: re.Match, value: object) -> _Reading:
    """``04/05`` or ``99/00``: a financial year written with two-digit years (2004-05, 1999-00)."""
    first, second = int(m[1]), int(m[2])
    if (first + 1) % 100 != second:
        raise _bad(value, f"{m[2]} is not the year after {m[1]}")
    return _Reading(_fy(_y(m[1]), value))


_y = _two_digit_year
_PATTERNS: list[tuple[re.Pattern, Callable[..., Any]]] = [(re.compile(p), h) for p, h in [
    (r"([a-z]{3,9}) ?- ?([a-z]{3,9}) (\d{4}|\d{2})", _rolling_three_months),
    (r"(\d{2}) ?/ ?(\d{2})", _short_financial_year),
    (r"(\d{1,2})-([a-z]{3,9})-(\d{2}|\d{4})",
     lambda m, v: _day(_y(m[3]) if len(m[3]) == 2 else int(m[3]), _month_number(m[2], v), int(m[1]), v)),
    (r"(\d{4})([-/])(\d{1,2})\2(\d{1,2})" + _TIME,
     lambda m, v: _day(int(m[1]), int(m[3]), int(m[4]), v)),
    (r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _TIME,
     lambda m, v: _day(int(m[4]), int(m[3]), int(m[1]), v)),
    (r"(\d{1,2}) ([a-z]+)\.? (\d{4})",
     lambda m, v: _day(int(m[3]), _month_number(m[2], v), int(m[1]), v)),
    (r"(\d{4}) ?-? ?w(\d{1,2})", lambda m, v: _week(int(m[1]), int(m[2]), v)),
    (r"(?:fy ?)?(\d{4}) ?[-/] ?(\d{2}|\d{4}) ?-? ?q([1-4])", lambda m, v: _fq(m[1], m[2], m[3], v)),
    (r"q([1-4]) ?-? ?(?:fy ?)?(\d{4}) ?[-/] ?(\d{2}|\d{4})", lambda m, v: _fq(m[2], m[3], m[1], v)),
    (r"(\d{4}) ?-? ?q([1-4])", lambda m, v: _quarter(int(m[1]), int(m[2]), v)),
    (r"q([1-4]) ?-? ?(\d{4})", lambda m, v: _quarter(int(m[2]), int(m[1]), v)),
    (r"(fy ?)?" + _SPLIT, _split_or_month),
    (r"fy ?(\d{4})", lambda m, v: _raise(_bad(v, "a financial year needs both years, e.g. FY 2023-24"))),
    (r"([a-z]+)\.?[ \-/.]?'?(\d{2}|\d{4})",
     lambda m, v: _Reading(_month(_y(m[2]), _month_number(m[1], v), v))),
    (r"(\d{4}) ([a-z]+)\.?", lambda m, v: _Reading(_month(int(m[1]), _month_number(m[2], v), v))),
    (r"(\d+)(?:\.(\d+))?", _number_text),
]]


def _week(year: int, week: int, value: object) -> _Reading:
    _year_ok(year, value)
    if not 1 <= week <= _weeks_in_iso_year(year):
        raise _bad(value, f"ISO year {year} has no week {week}")
    return _Reading(Period("W", _dt.date.fromisocalendar(year, week, 1)))


def _quarter(year: int, quarter: int, value: object) -> _Reading:
    return _Reading(Period("Q", _dt.date(_year_ok(year, value), quarter * 3 - 2, 1)))


@functools.lru_cache(maxsize=8192)
def _read_text(value: str) -> _Reading | PeriodError:
    """Read one string; returns (not raises) errors so that they are cached too."""
    text = _MARKERS.sub(" ", value).lower()
    text = " ".join(text.translate({0x2013: "-", 0x2014: "-", 0x2212: "-", 0xA0: " "}).split())
    if not text:
        return PeriodError(_EMPTY_MESSAGE)
    try:
        for pattern, handler in _PATTERNS:
            m = pattern.fullmatch(text)
            if m:
                return handler(m, value)
    except PeriodError as err:
        return err
    return _bad(value, "not a spelling whytrend knows")


def _read(value: object) -> _Reading | PeriodError:
    """Read any cell value; returns a PeriodError instead of raising (fast in bulk)."""
    try:
        if isinstance(value, str):
            return _read_text(value)
        if isinstance(value, Period):
            return _Reading(value, is_date=value.freq == "D")
        if value is None or value is pd.NaT or value is pd.NA:
            return PeriodError(_EMPTY_MESSAGE)
        if isinstance(value, (bool, np.bool_)):
            return _bad(value, "a true/false value is not a period")
        if isinstance(value, np.datetime64):
            value = pd.Timestamp(value)
            if value is pd.NaT:
                return PeriodError(_EMPTY_MESSAGE)
        if isinstance(value, _dt.date):  # date, datetime, pd.Timestamp
            return _day(value.year, value.month, value.day, value)
        if isinstance(value, (int, np.integer)):
            return _read_integer(int(value), value)
        if isinstance(value, (float, np.floating)):
            if math.isnan(value):
                return PeriodError(_EMPTY_MESSAGE)
            if math.isfinite(value) and (value.is_integer() or _EXCEL_MIN <= value <= _EXCEL_MAX):
                return _read_integer(math.floor(value), value)
            return _bad(value, "not a whole number")
        return _bad(value, f"a {type(value).__name__} is not a period")
    except PeriodError as err:
        return err


def _check_prefer(prefer: str | None) -> str | None:
    if prefer is None or prefer == "":
        return None
    code = FREQUENCY_NAMES.get(str(prefer).strip().lower(), str(prefer).strip().upper())
    if code not in FREQUENCIES:
        raise PeriodError(f"Unknown frequency {prefer!r}: use one of {', '.join(FREQUENCIES)} "
                          f"(or {', '.join(FREQUENCY_NAMES)}).")
    return code


def _resolve(reading: _Reading, prefer: str | None, lean: str | None = None) -> Period:
    """Apply ``prefer`` (widen dates; settle ambiguity) and the column's lean."""
    p = reading.period
    if reading.alternative is not None:  # a month, or the other reading (a financial year, a quarter)
        month, other = (p, reading.alternative) if p.freq == "M" else (reading.alternative, p)
        wants_other = prefer == other.freq or (other.freq == "FY" and prefer in ("FQ", "Y"))
        if prefer == "M" or (not wants_other and lean == "M"):
            p = month
        elif wants_other or lean == "FY":  # the column's lean "FY" means: not months
            p = other
    if reading.is_date and prefer and prefer != "D":
        p = Period(prefer, _align(prefer, p.start))
    return p


def parse_period(value: object, *, prefer: str | None = None) -> Period:
    """Read one period spelling (str, number, date, datetime, Timestamp or Period).

    Raises :class:`PeriodError` whose message names the value and the accepted spellings.
    """
    code = _check_prefer(prefer)
    reading = _read(value)
    if isinstance(reading, PeriodError):
        raise PeriodError(str(reading))
    return _resolve(reading, code)


def from_key(freq: str, start: str | _dt.date) -> Period:
    """Rebuild a period from its storage key ``(p.freq, p.start.isoformat())``."""
    if freq not in FREQUENCIES:
        raise PeriodError(f"Unknown period frequency {freq!r}: use one of {', '.join(FREQUENCIES)}.")
    if isinstance(start, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", start.strip()):
            raise PeriodError(f"Period start {start!r} is not an ISO date (YYYY-MM-DD).")
        try:
            start = _dt.date.fromisoformat(start.strip())
        except ValueError:
            raise PeriodError(f"Period start {start!r} is not a real date.") from None
    return Period(freq, start)


def periods_between(a: Period, b: Period) -> list[Period]:
    """Every period from ``a`` to ``b`` inclusive (empty when ``b`` is before ``a``)."""
    if a.freq != b.freq:
        raise PeriodError(f"Cannot list periods from {a} ({_FREQ_WORDS[a.freq]}) to {b} "
                          f"({_FREQ_WORDS[b.freq]}): the frequencies differ.")
    return [Period(a.freq, _start_from_ordinal(a.freq, k)) for k in range(a.ordinal, b.ordinal + 1)]


def _column_lean(readings: list[_Reading | PeriodError]) -> str | None:
    """Which reading the rest of a column suggests for its ambiguous spellings."""
    ambiguous = {r.period for r in readings if isinstance(r, _Reading) and r.alternative}
    if not ambiguous:
        return None
    seen = {r.period.freq for r in readings
            if isinstance(r, _Reading) and r.alternative is None and not r.is_date}
    has_fy, has_m = bool(seen & {"FY", "FQ"}), "M" in seen
    if has_fy != has_m:
        return "FY" if has_fy else "M"
    if not has_fy and len(ambiguous) >= 2:  # 2009-10, 2010-11 read as months would be odd
        return "FY"
    return None


def _dates_are_months(readings: list[_Reading | PeriodError]) -> bool:
    """True when every period read is a date, each the first (or each the last) day of its month,
    no two in one month: a monthly series written as dates (2016-04-01, 2016-05-01, …), which a
    user means as months, not as single days."""
    dates = [r.period.start for r in readings if isinstance(r, _Reading)]
    if not dates or not all(isinstance(r, PeriodError) or r.is_date for r in readings):
        return False
    firsts = all(d.day == 1 for d in dates)
    lasts = all((d + _dt.timedelta(days=1)).day == 1 for d in dates)
    return (firsts or lasts) and len({(d.year, d.month) for d in dates}) == len(dates)


def parse_period_series(values: pd.Series, *, prefer: str | None = None) -> PeriodParse:
    """Read a column of periods, parsing each distinct value once; never raises per cell.

    Ambiguous spellings (``2011-12``, ``200910``) follow ``prefer`` first, then the column's
    unambiguous values; the choice is logged at INFO so a user can see it. Without ``prefer``, a
    column of dates that are all the first (or last) of their months is read as months, and
    ``inferred`` says so (the loader reports it).
    """
    code = _check_prefer(prefer)
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    data = s
    if isinstance(data.dtype, pd.DatetimeTZDtype):
        data = data.dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(data.dtype):
        data = data.dt.normalize()  # the time of day never changes the period: fewer uniques
    codes, uniques = pd.factorize(data, use_na_sentinel=True)
    readings = [_read(u) for u in uniques]
    inferred = None
    if code is None and _dates_are_months(readings):
        code = inferred = "M"
    lean = None if code in ("FY", "FQ", "Y", "M") else _column_lean(readings)
    if lean:
        example = next(u for u, r in zip(uniques, readings)
                       if isinstance(r, _Reading) and r.alternative)
        log.info("Reading ambiguous period spellings such as %r as %ss, like the rest of the "
                 "column.", example, _FREQ_WORDS[lean])
    n = len(readings)
    freq_u, start_u, error_u = (np.empty(n + 1, dtype=object) for _ in range(3))
    for i, reading in enumerate(readings):
        if isinstance(reading, PeriodError):
            error_u[i] = str(reading).replace(f"; {_ACCEPTED}.", "")  # per row: the problem, not the spellings
        else:
            p = _resolve(reading, code, lean)
            freq_u[i], start_u[i] = p.freq, p.start.isoformat()
    error_u[n] = _EMPTY_MESSAGE  # factorize's -1 (missing) indexes this last slot
    if n and log.isEnabledFor(logging.DEBUG):
        log.debug("Parsed %d period cells (%d distinct values).", len(s), n)

    def aligned(arr: np.ndarray) -> pd.Series:
        return pd.Series(arr[codes], index=s.index, dtype=object, copy=False)

    return PeriodParse(freq=aligned(freq_u), start=aligned(start_u), error=aligned(error_u), inferred=inferred)
