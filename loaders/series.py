"""Plan, forecast and estimate series of a metric, stored beside its outturn.

A department sends the outturn of ``uc_spend`` and, separately, a forecast of it (``series =
"forecast"`` on a source, or a ``series_column`` whose cells name the series). Each series other than
the outturn is stored as a *companion metric* ``uc_spend__forecast``: a row of ``metrics`` with the
base metric's department, unit and aggregation, and a formula over the same series of its components
(``uc_caseload__forecast * uc_avg_award__forecast``). So a forecast is loaded, validated, versioned
as vintages, rolled up to parent areas and evaluated through its formula by exactly the code that
handles outturn, and an explanation compares any two points (period, series, vintage) with the same
exact accounting (explain.comparison). Companion metrics are left out of metric lists: a reader sees
``uc_spend`` and chooses the series to compare with.
"""
from __future__ import annotations

import re

#: the series of the values a department publishes as what happened; the base metric's own values
OUTTURN = "outturn"
#: spellings read as the outturn in a series column
OUTTURN_WORDS = frozenset({"", "outturn", "actual", "actuals", "out-turn", "outturns"})
SEP = "__"
_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


def normalise(name: object) -> str:
    """A series name as stored: lower case, spaces and hyphens as underscores ('Main Estimate' ->
    'main_estimate'); any outturn spelling -> 'outturn'."""
    text = re.sub(r"[\s\-]+", "_", str(name or "").strip().lower())
    return OUTTURN if text in OUTTURN_WORDS or text.replace("_", "-") in OUTTURN_WORDS else text


def is_valid(name: str) -> bool:
    """Whether a normalised series name can be stored (letters, digits and underscores)."""
    return name == OUTTURN or (bool(_NAME.match(name)) and SEP not in name)


def series_code(metric: str, series: str) -> str:
    """The code values of ``metric`` in ``series`` are stored under."""
    series = normalise(series)
    return metric if series == OUTTURN else f"{metric}{SEP}{series}"


def split_code(code: str) -> tuple[str, str]:
    """(base metric, series) of a stored code."""
    base, sep, series = code.partition(SEP)
    return (base, series) if sep and series else (code, OUTTURN)


def is_companion(code: str) -> bool:
    return split_code(code)[1] != OUTTURN


def series_words(series: str) -> str:
    """'forecast_2024_spring' -> 'forecast 2024 spring'."""
    return normalise(series).replace("_", " ")


def companion_formula(formula: str, series: str) -> str:
    """The base formula over the same series of its components."""
    if not formula:
        return ""
    from .formula import parse_formula

    names = sorted(parse_formula(formula).components, key=len, reverse=True)
    if not names:
        return formula
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")
    return pattern.sub(lambda m: series_code(m.group(1), series), formula)
