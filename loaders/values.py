"""Government spreadsheet cells to numbers plus a status flag, never raising per cell.

Published tables mix numbers with shorthand (``[c]``, ``..``, ``-``), footnote markers,
currency, percent signs, thousands separators and the odd Excel error. Loaders need a
float (NaN when missing) and a status that says *why* a value is missing or how far to
trust it, and they need it fast: the series form sends the whole column through
``pd.to_numeric`` first and only the leftovers, one per distinct value, through the rules
below. Cells are never evaluated: formula-looking text is an error, not a calculation.

Status ``'error'`` marks cells that could not be read; ``error`` then holds a short
template message (the same text for the same kind of problem, so reports can group them;
it never repeats the cell, which may be hostile). ``'u'`` is deliberately not in
:data:`MISSING_STATUSES`: ``12.3 [u]`` keeps its value while a bare ``[u]`` has none.
When a cell carries several markers the status is the first of u, p, r, e, f, b. Also
read: the StatsWales/GSS ``[f]`` forecast and ``[b]`` break in series keep their
value and ``[w]`` none recorded is missing.
"""
from __future__ import annotations

import datetime as _dt
import functools
import logging
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

log = logging.getLogger(__name__)

STATUS_MEANINGS: dict[str, str] = {
    "": "ordinary value",
    "blank": "empty cell (no value given)",
    "c": "confidential (suppressed to protect individuals)",
    "x": "not available",
    "z": "not applicable",
    "low": "rounds to zero (less than half the smallest unit shown)",
    "suppressed": "suppressed by the publisher (shown as '..' or '*')",
    "nil": "nil (shown as '-': none, or too few to show)",
    "na": "not available (shown as ':', 'n/a' or '[n]')",
    "u": "low reliability (use with caution)",
    "p": "provisional (may be revised)",
    "r": "revised since first published",
    "e": "estimated",
    "f": "forecast (a projected, not observed, value)",
    "b": "break in time series (not comparable with earlier periods)",
    "w": "none recorded (no or too few data)",
    "error": "could not be read as a number (see the error message)",
}
MISSING_STATUSES: frozenset[str] = frozenset(
    {"blank", "c", "x", "z", "low", "suppressed", "nil", "na", "w"})

MAX_MAGNITUDE = 1e15
NOT_A_NUMBER = "not a number"
NOT_FINITE = "not a finite number (NaN/inf)"
TOO_LARGE = "implausibly large (magnitude over 1e15)"
BOOLEAN = "true/false value, not a number"
DATE = "a date or time, not a number"
MARKER_ONLY = "status marker without a number"
NUMBER_AND_MISSING = "a number together with a missing-value marker"

_SHORTHAND = {"c": "c", "x": "x", "z": "z", "w": "w", "low": "low", "u": "u", "n": "na", "..": "suppressed",
              "...": "suppressed", "\u2026": "suppressed", "*": "suppressed", "-": "nil",
              "\u2013": "nil", "\u2014": "nil", ":": "na", "n/a": "na", "na": "na"}
_EXCEL_ERRORS = {"#N/A", "#DIV/0!", "#REF!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!",
                 "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#GETTING_DATA", "#CONNECT!"}
_NON_FINITE = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}
_SPACES = {ord(c): " " for c in "\u00a0\u2007\u2009\u202f\t"}
_FOOTNOTE = re.compile(r"[\[(]\s*(?:note|fn|footnote)\s*\d+[a-z]?\s*[\])]", re.I)
_BRACKETED = re.compile(r"[\[(]\s*([^\[\]()]*?)\s*[\])]")
_MARKER = re.compile(r"[\[(]\s*(p|r|e|f|b|u|c|x|z|w|low)\s*[\])]|(?<=[\d%])\s+(p|r)$|(?<=[\d%])\s*(~)$", re.I)
_NUMBER = re.compile(r"""
    (?P<sign1>[+\-])?\s*(?P<cur>[£$€])?\s*(?P<sign2>[+\-])?\s*
    (?P<num>\d{1,3}(?:[,\s]\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)(?P<exp>e[+\-]?\d+)?\s*
    (?:(?P<suffix>k|thousand|mn|m|million|bn|b|billion)|(?P<pct>%))?""", re.X | re.I | re.ASCII)
_GROUPED = re.compile(r"\s*[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\s*", re.ASCII)
_SUFFIX_EXPONENT = {"k": 3, "thousand": 3, "m": 6, "mn": 6, "million": 6,
                    "b": 9, "bn": 9, "billion": 9}
_KEPT_MARKERS = ("u", "p", "r", "e", "f", "b")  # the first present becomes the status
_PLAIN = (str, float, int)
_NUMERIC_KINDS = {"string", "floating", "integer", "mixed-integer-float", "decimal", "empty"}


@dataclass(frozen=True)
class ValueParse:
    """Result of :func:`parse_value_series`, aligned to the input's index.

    ``value`` is float64 (NaN when missing or bad), ``status`` holds str codes from
    :data:`STATUS_MEANINGS`, ``error`` holds None or a template message (object dtype).
    """

    value: pd.Series
    status: pd.Series
    error: pd.Series


def unit_exponent(unit: str) -> int:
    """Power of ten a metric's unit is expressed in: '£m' -> 6, '£bn' -> 9, '£000s' -> 3.

    Only used to scale magnitude suffixes ('£1.2bn' in a £m metric is 1200). Whatever
    follows 'per' or '/' is ignored, so 'deaths per million' is in units.
    """
    u = re.split(r"\bper\b|/", (unit or "").strip().lower())[0]  # '£m per year' is £m
    compact = re.sub(r"[\s'’]", "", u).lstrip("£$€")
    if compact in ("m", "mn", "ms", "mns") or "million" in u:
        return 6
    if compact in ("b", "bn", "bns") or "billion" in u:
        return 9
    if compact in ("k", "000", "000s", "thousands") or "thousand" in u:
        return 3
    return 0


def _number(text: str, unit_exp: int) -> tuple[float, str | None]:
    """Read the number left once markers are gone; (value, None) or (nan, message)."""
    t = text.replace("\u2212", "-").strip()
    if t.lower() in _NON_FINITE:
        return math.nan, NOT_FINITE
    negative = t.startswith("(") and t.endswith(")")  # accounting negative: (1,234)
    if negative:
        t = t[1:-1].strip()
    if t.startswith("\u2013") and len(t) > 1:  # en dash used as a minus sign
        t = "-" + t[1:]
    m = _NUMBER.fullmatch(t)
    if not m or (m["sign1"] and m["sign2"]) or (negative and (m["sign1"] or m["sign2"])):
        return math.nan, NOT_A_NUMBER
    digits = re.sub(r"[,\s]", "", m["num"]) + (m["exp"] or "")
    try:
        if m["suffix"]:
            shift = _SUFFIX_EXPONENT[m["suffix"].lower()] - unit_exp
            value = float(Decimal(digits).scaleb(shift))  # exact: 1.2bn in £m is 1200.0
        else:
            value = float(digits)
    except (ArithmeticError, ValueError):  # decimal.Overflow/InvalidOperation, OverflowError
        return math.nan, TOO_LARGE
    if math.isinf(value):  # '1e400': a finite spelling too large for a float
        return math.nan, TOO_LARGE
    if "-" in ((m["sign1"] or "") + (m["sign2"] or "")) or negative:
        value = -value
    return _check_magnitude(value)


def _check_magnitude(value: float) -> tuple[float, str | None]:
    if not math.isfinite(value):
        return math.nan, NOT_FINITE
    if abs(value) > MAX_MAGNITUDE:
        return math.nan, TOO_LARGE
    return value, None


@functools.lru_cache(maxsize=16384)
def _parse_text(cell: str, unit_exp: int) -> tuple[float, str, str | None]:
    """The slow rules for one string cell: (value or nan, status, error or None)."""
    t = cell.translate(_SPACES).strip()
    if not t:
        return math.nan, "blank", None
    if t[0] in "=@":
        return math.nan, "error", f"formula-looking text (starts with {t[0]!r})"
    t = _FOOTNOTE.sub(" ", t).strip()
    if not t:
        return math.nan, "blank", None
    if t.startswith("#"):
        code = t.upper()
        return math.nan, "error", (f"spreadsheet error value {code}" if code in _EXCEL_ERRORS
                                   else NOT_A_NUMBER)
    low = t.lower()
    bracketed = _BRACKETED.fullmatch(low)
    key = bracketed[1] if bracketed else low
    if key in _SHORTHAND:
        return math.nan, _SHORTHAND[key], None
    markers = [(a or b or ("r" if c else "")).lower() for a, b, c in _MARKER.findall(t)]  # "12~": revised
    rest = _MARKER.sub(" ", t).strip() if markers else t
    status = next((s for s in _KEPT_MARKERS if s in markers), "")
    if set(markers) & MISSING_STATUSES:
        return math.nan, "error", NUMBER_AND_MISSING if rest else MARKER_ONLY
    if not rest:
        return (math.nan, "u", None) if status == "u" else (math.nan, "error", MARKER_ONLY)
    value, error = _number(rest, unit_exp)
    if error:
        if error == NOT_A_NUMBER and t[0] in "+-":  # '+cmd|...' and friends (CSV injection)
            error = f"formula-looking text (starts with {t[0]!r})"
        return math.nan, "error", error
    return value, status, None


def _parse_cell(cell: object, unit_exp: int) -> tuple[float, str, str | None]:
    """Any single cell (str, number, bool, date, None...) by the same rules as the series."""
    if isinstance(cell, str):
        return _parse_text(cell, unit_exp)
    if isinstance(cell, (bool, np.bool_)):
        return math.nan, "error", BOOLEAN
    if cell is None or cell is pd.NA or cell is pd.NaT:
        return math.nan, "blank", None
    if isinstance(cell, (int, float, np.integer, np.floating, Decimal, Fraction)):
        try:
            value = float(cell)
        except OverflowError:
            return math.nan, "error", TOO_LARGE
        if math.isnan(value):  # a NaN in a numeric column is an empty cell
            return math.nan, "blank", None
        value, error = _check_magnitude(value)
        return (math.nan, "error", error) if error else (value, "", None)
    if isinstance(cell, (_dt.date, _dt.time, _dt.timedelta, np.datetime64, np.timedelta64)):
        return math.nan, "error", DATE
    return math.nan, "error", NOT_A_NUMBER


def parse_value(cell: object, *, unit: str = "") -> tuple[float | None, str, str | None]:
    """Scalar form of :func:`parse_value_series`: (value or None, status, error or None)."""
    value, status, error = _parse_cell(cell, unit_exponent(unit))
    return (None if math.isnan(value) else value), status, error


def _numeric(arr: np.ndarray, value: np.ndarray, status: np.ndarray, error: np.ndarray) -> None:
    """Fast path for float arrays: NaN is blank, inf and huge magnitudes are errors."""
    blank = np.isnan(arr)
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(arr)
        huge = ~infinite & ~blank & (np.abs(arr) > MAX_MAGNITUDE)
    ok = ~(blank | infinite | huge)
    value[ok] = arr[ok]
    status[blank], status[infinite | huge] = "blank", "error"
    error[infinite], error[huge] = NOT_FINITE, TOO_LARGE


def _grouped(cells: np.ndarray) -> np.ndarray:
    """Plain '1,234,567' spellings (the common leftover) read in one tight loop; NaN if not."""
    match = _GROUPED.fullmatch
    return np.fromiter((float(c.replace(",", "")) if match(c) else np.nan for c in cells),
                       dtype="float64", count=len(cells))


def _slow(cells: np.ndarray, unit_exp: int, all_str: bool) -> tuple[np.ndarray, ...]:
    """The rules, once per distinct string (others one by one: they are rare)."""
    n = len(cells)
    value, status, error = np.full(n, np.nan), np.empty(n, dtype=object), np.empty(n, dtype=object)
    is_str = np.ones(n, dtype=bool) if all_str else \
        np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=n)
    if is_str.any():
        codes, uniques = pd.factorize(cells[is_str])
        uniques = np.asarray(uniques, dtype=object)
        u_value, u_status = _grouped(uniques), np.full(len(uniques), "", dtype=object)
        u_error = np.full(len(uniques), None, dtype=object)
        with np.errstate(invalid="ignore"):
            todo = np.flatnonzero(~(np.abs(u_value) <= MAX_MAGNITUDE))
        rules = _parse_text.__wrapped__ if len(todo) > 10_000 else _parse_text  # spare the cache
        for i in todo:
            u_value[i], u_status[i], u_error[i] = rules(uniques[i], unit_exp)
        if all_str:
            value, status, error = u_value[codes], u_status[codes], u_error[codes]
        else:
            value[is_str], status[is_str], error[is_str] = u_value[codes], u_status[codes], u_error[codes]
    for i in np.flatnonzero(~is_str):
        value[i], status[i], error[i] = _parse_cell(cells[i], unit_exp)
    return value, status, error


def _to_numeric(cells: np.ndarray) -> np.ndarray:
    """``pd.to_numeric`` as float64; all NaN (so: the per-value rules) if it cannot cope."""
    try:
        return np.asarray(pd.to_numeric(cells, errors="coerce"), dtype="float64")
    except (OverflowError, TypeError, ValueError):  # e.g. an int beyond float range
        return np.full(len(cells), np.nan)


def _mostly_numbers(cells: np.ndarray) -> bool:
    """Whether a spread sample of non-missing cells is mostly plain numbers."""
    sample = cells[:: max(1, len(cells) // 1000)]
    sample = sample[~pd.isna(sample)]
    if not len(sample):
        return False
    return bool(np.isfinite(_to_numeric(sample)).mean() >= 0.5)


def parse_value_series(values: pd.Series, *, unit: str = "") -> ValueParse:
    """Read a column of cells; aligned value/status/error series, never raising per cell."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    unit_exp, n, dtype = unit_exponent(unit), len(s), s.dtype
    value = np.full(n, np.nan)
    status = np.full(n, "", dtype=object)
    error = np.full(n, None, dtype=object)
    if isinstance(dtype, pd.CategoricalDtype):
        s, dtype = s.astype(object), np.dtype(object)
    if pd.api.types.is_bool_dtype(dtype):
        missing = s.isna().to_numpy()
        status[:], error[:] = "error", BOOLEAN
        status[missing], error[missing] = "blank", None
    elif pd.api.types.is_numeric_dtype(dtype):
        _numeric(s.to_numpy(dtype="float64", na_value=np.nan), value, status, error)
    elif dtype.kind in "mM" or isinstance(dtype, (pd.DatetimeTZDtype, pd.PeriodDtype)):
        missing = s.isna().to_numpy()
        status[:], error[:] = "error", DATE
        status[missing], error[missing] = "blank", None
    else:
        cells = s.to_numpy(dtype=object)
        kind = "string" if isinstance(dtype, pd.StringDtype) else infer_dtype(cells, skipna=True)
        all_str = kind in ("string", "empty")
        if kind in _NUMERIC_KINDS:
            idx = None  # only str, real numbers and missing: to_numeric is safe on all
        else:  # may hold bools (to_numeric would make them 1.0), dates, ...
            idx = np.flatnonzero(np.fromiter((type(c) in _PLAIN for c in cells), bool, count=n))
        candidates = cells if idx is None else cells[idx]
        if _mostly_numbers(candidates):
            nums = _to_numeric(candidates)
            with np.errstate(invalid="ignore"):
                good = np.flatnonzero(np.isfinite(nums) & (np.abs(nums) <= MAX_MAGNITUDE))
        else:  # to_numeric is slow on failures: go straight to the per-distinct-value rules
            nums, good = np.empty(0), np.empty(0, dtype=np.intp)
        if idx is None and len(good) == n:  # the common case: a clean numeric column
            value, rest = nums, good[:0]
        else:
            good_rows = good if idx is None else idx[good]
            value[good_rows] = nums[good]
            other = np.ones(n, dtype=bool)
            other[good_rows] = False
            rest = np.flatnonzero(other)
        missing = pd.isna(cells[rest])  # None, NaN, pd.NA, NaT: only among the leftovers
        status[rest[missing]] = "blank"
        rest = rest[~missing]
        if len(rest):
            value[rest], status[rest], error[rest] = _slow(cells[rest], unit_exp, all_str)
            log.debug("Parsed %d of %d value cells by the slow rules.", len(rest), n)
    return ValueParse(value=pd.Series(value, index=s.index, dtype="float64", copy=False),
                      status=pd.Series(status, index=s.index, dtype=object, copy=False),
                      error=pd.Series(error, index=s.index, dtype=object, copy=False))
