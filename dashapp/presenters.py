"""Pure conversions between what pages show and what the library takes or returns.

No Dash, no Flask, no database: everything here is unit-tested without a browser.
Number formatting re-uses :mod:`explain.narrative` so the app and the narratives agree.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from explain.numbers import (
    change_beside,
    format_change,
    format_value,
    percent_change,
    percent_change_text,
    period_text,
)
from explain.wording import VERDICT_LABELS
from loaders.vocabulary import WHOLE_AREA

__all__ = [
    "ChangeView", "FREQ_WORDS", "HeadlineView", "SPC_LABELS", "SourceSpecError", "area_from_picker", "area_label",
    "arrow_and_colour", "change_text", "comparison_phrase", "date_text", "explain_href", "frame_to_csv",
    "grade_reasons", "headline_view", "neutralise_csv_cell",
    "parse_query", "problem_rows", "source_from_spec", "sparkline_points",
    "sparkline_text", "table_rows", "upload_suffix",
]

# ------------------------------------------------------------------------------ CSV
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(value: Any) -> str:
    """A cell as CSV text that a spreadsheet will not run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading single quote
    (OWASP's advice). Real numbers stay numbers (``-5.2`` is data, not a formula); missing
    values become empty cells.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) or _is_numpy_number(value):
        number = float(value)
        if not math.isfinite(number):
            return ""
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    text = str(value)
    if text in ("nan", "NaT", "<NA>") and _is_missing(value):
        return ""
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _is_numpy_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iuf"


def _is_numpy_float(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind == "f"


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def frame_to_csv(frame) -> str:
    """A DataFrame as CSV text (header row first) with every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise_csv_cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([neutralise_csv_cell(v) for v in row])
    return out.getvalue()


def table_rows(frame, *, unit_columns: Mapping[str, str] | None = None, max_rows: int = 500) -> list[list[str]]:
    """Cells of a DataFrame as display text (numbers with thousands separators, blanks for missing)."""
    unit_columns = unit_columns or {}
    rows = []
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, row):
            if value is None or (isinstance(value, float) and not math.isfinite(value)) or _is_missing_scalar(value):
                cells.append("")
            elif column in unit_columns and isinstance(value, (int, float)):
                cells.append(format_value(float(value), unit_columns[column]))
            elif isinstance(value, bool):
                cells.append("Yes" if value else "No")
            elif isinstance(value, int) or (_is_numpy_number(value) and value.dtype.kind in "iu"):
                cells.append(f"{int(value):,}")
            elif isinstance(value, float) or _is_numpy_float(value):
                cells.append(_plain_number(float(value)))
            else:
                cells.append(str(value))
        rows.append(cells)
    return rows


def _is_missing_scalar(value: Any) -> bool:
    return not isinstance(value, (str, bytes, list, tuple, dict)) and _is_missing(value)


def _plain_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:,.4g}"


# --------------------------------------------------------------------- headline figures
def arrow_and_colour(change: float | None, higher_is_better: bool | None) -> tuple[str, str]:
    """The arrow for a change and whether it is good: colour follows the metric's direction
    of improvement, never up or down alone. ('▲'|'▼'|'▶', 'good'|'bad'|'neutral')."""
    if change is None or (isinstance(change, float) and not math.isfinite(change)) or change == 0:
        return "▶", "neutral"
    arrow = "▲" if change > 0 else "▼"
    if higher_is_better is None:
        return arrow, "neutral"
    return arrow, "good" if (change > 0) == bool(higher_is_better) else "bad"


FREQ_WORDS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "FQ": "quarter", "Y": "year",
              "FY": "financial year"}


def comparison_phrase(freq: str, kind: str) -> str:
    """'the previous month' (kind 'previous') or 'the same month a year earlier' (kind 'year')."""
    word = FREQ_WORDS.get(freq, "period")
    if kind == "year":
        if freq in ("Y", "FY"):
            return f"the previous {word}"
        return f"the same {word} a year earlier"
    return f"the previous {word}"


def change_text(change: float | None, pct: float | None, period_word: str, unit: str = "",
                shown: str | None = None) -> str:
    """The text alternative of a change arrow.

    ``period_word`` is a period noun ('month' -> "compared with the previous month") or, when it
    has a space, the whole comparison ('the same month a year earlier'). ``unit`` (optional)
    formats the magnitude as :func:`explain.numbers.format_change` does; ``shown`` is the magnitude
    already written at the precision of the levels (:func:`explain.numbers.movement_numbers`).

    >>> change_text(4210, 3.1, "month")
    'Increase of 4,210 (3.1%) compared with the previous month'
    """
    against = period_word if " " in period_word.strip() else f"the previous {period_word.strip()}"
    if change is None or (isinstance(change, float) and not math.isfinite(change)):
        return f"No comparison with {against} is available"
    if change == 0:
        return f"No change compared with {against}"
    word = "Increase" if change > 0 else "Decrease"
    amount = shown or format_change(abs(change), unit)
    share = f" ({_pct_words(pct, unit)})" if _pct_words(pct, unit) else ""
    return f"{word} of {amount}{share} compared with {against}"


def _pct_words(pct: float | None, unit: str) -> str | None:
    """A percentage change's size, or None where it would mislead (a rate, a temperature)."""
    if pct is None or not math.isfinite(pct):
        return None
    return percent_change_text(100.0, 100.0 + pct, unit)


#: the verdict on the latest movement (explain.verdict), by Verdict.kind: (badge, sentence)
SPC_LABELS = VERDICT_LABELS


def sparkline_points(values: Iterable[float | None], *, width: float = 120, height: float = 32,
                     pad: float = 2) -> str:
    """SVG polyline points for a sparkline (missing values skipped), '' when fewer than 2 values."""
    values = list(values)
    known = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(float(v))]
    if len(known) < 2:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return " ".join(f"{pad + i * step:.1f},{pad + (height - 2 * pad) * (1 - (v - low) / span):.1f}" for i, v in known)


def sparkline_text(values: Iterable[float | None], unit: str, periods: int | None = None) -> str:
    """The text alternative of a sparkline: range and direction over the window."""
    known = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if len(known) < 2:
        return "Not enough values for a trend line"
    n = periods or len(known)
    direction = "rose" if known[-1] > known[0] else "fell" if known[-1] < known[0] else "ended where it started"
    return (f"Trend over the last {n} periods: {direction}, from {format_value(known[0], unit)} to "
            f"{format_value(known[-1], unit)}; lowest {format_value(min(known), unit)}, highest "
            f"{format_value(max(known), unit)}")


@dataclass(frozen=True)
class ChangeView:
    label: str           # 'vs previous month'
    arrow: str
    tone: str            # good | bad | neutral
    amount: str          # '+4,210' style text for display
    text: str            # full text alternative


@dataclass(frozen=True)
class HeadlineView:
    """Everything a summary card shows, as text."""

    code: str
    name: str
    department: str
    value: str
    period: str
    provisional: bool
    changes: tuple[ChangeView, ...]
    spc: str
    spc_label: str
    spc_text: str
    sparkline: str
    sparkline_text: str
    why: str
    vintage: str
    grade: str
    updated: str
    href: str


def headline_view(headline, *, department_name: str = "") -> HeadlineView:
    """A :class:`explain.Headline` as card text (pure; tested with hand-made headlines)."""
    info = headline.metric
    changes = []
    for kind, old_period, old_value, change in (
            ("previous", headline.previous_period, headline.previous_value, headline.change_previous),
            ("year", headline.year_ago_period, headline.year_ago_value, headline.change_year)):
        if old_period is None or (kind == "year" and old_period == headline.previous_period):
            continue
        arrow, tone = arrow_and_colour(change, info.higher_is_better)
        phrase = comparison_phrase(info.frequency, kind)
        pct = percent_change(headline.latest_value, old_value)
        # the change at the precision of the level beside it ('+£0.06', never '+£0.0621')
        shown_change = change_beside(change, headline.latest_value, info.unit) if change else ""
        amount = "no change" if not change else ("+" if change > 0 else "−") + shown_change
        share = percent_change_text(old_value, headline.latest_value, info.unit) if change else None
        if share:
            amount += f" ({share})"
        when = period_text(old_period, info.frequency)
        changes.append(ChangeView(f"on {when}", arrow, tone, amount,
                                  change_text(change, pct, phrase, info.unit, shown_change or None) + f" ({when})"))
    spc = headline.spc_status if headline.spc_status in SPC_LABELS else "unknown"
    label, spc_text = SPC_LABELS[spc]
    href = explain_href(info.code, headline.previous_period, headline.latest_period) if headline.latest_period else ""
    return HeadlineView(
        code=info.code, name=info.name, department=department_name or info.department,
        value=format_value(headline.latest_value, info.unit),
        period=period_text(headline.latest_period, info.frequency) if headline.latest_period else "no data",
        provisional=bool(headline.provisional), changes=tuple(changes), spc=spc, spc_label=label, spc_text=spc_text,
        sparkline=sparkline_points(headline.sparkline),
        sparkline_text=sparkline_text(headline.sparkline, info.unit, len(headline.sparkline)),
        why=headline.why or "No explanation has been precomputed for the latest change yet.",
        vintage=str(headline.data_vintage or "–"), grade=headline.grade or "–",
        updated=date_text(headline.last_updated), href=href)


def date_text(iso: str | None) -> str:
    """'2026-11-21T20:55:01+00:00' -> '21 November 2026 20:55 UTC' ('' stays '–')."""
    if not iso:
        return "–"
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    text = f"{moment.day} {moment:%B %Y}"
    if "T" in iso:
        text += f" {moment:%H:%M}" + (" UTC" if moment.utcoffset() is not None and not moment.utcoffset() else "")
    return text


def explain_href(metric: str, period_from: str | None, period_to: str | None, area: str = WHOLE_AREA) -> str:
    """The Explain page's shareable URL for a movement."""
    query = {"metric": metric, "area": area}
    if period_from:
        query["from"] = period_from
    if period_to:
        query["to"] = period_to
    return "/explain?" + urlencode(query)


# ------------------------------------------------------------------------------ URLs
_SAFE_TEXT = re.compile(r"^[\w\-. /:()£%,&']{1,200}$", re.UNICODE)


def parse_query(query: Mapping[str, Any], allowed: Mapping[str, Any]) -> dict:
    """Validated URL query-string values (a link reproduces a view; a hand-edited one cannot inject).

    ``allowed`` maps each accepted key to a set of allowed values, a predicate
    ``str -> bool``, or None (any short plain text). Unknown keys and invalid values are
    dropped, so pages fall back to their defaults; repeated keys use the first value.
    """
    out = {}
    for key, rule in allowed.items():
        value = query.get(key)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is None:
            continue
        value = str(value).strip()
        if not value or len(value) > 200:
            continue
        if isinstance(rule, (set, frozenset, list, tuple, dict)):
            ok = value in rule
        elif callable(rule):
            try:
                ok = bool(rule(value))
            except (ValueError, TypeError):
                ok = False
        else:
            ok = bool(_SAFE_TEXT.match(value))
        if ok:
            out[key] = value
    return out


# ----------------------------------------------------------------------------- areas
def area_label(info) -> str:
    """How an area appears in the picker's list: 'Leeds (E08000035)'."""
    return f"{info.name} ({info.code})"


def area_from_picker(tree, scope: str | None, text: str | None) -> str | None:
    """The area code chosen in :func:`dashapp.components.area_picker`.

    Returns ``explain.WHOLE`` for the whole, an area code for a recognised label, code or name
    (case-insensitive), and None when the text matches nothing (the page says so).
    """
    from explain import WHOLE

    if scope != "area":
        return WHOLE
    text = (text or "").strip()
    if not text:
        return None
    match = re.search(r"\(([^()]+)\)\s*$", text)
    if match and match.group(1) in tree.by_code:
        return match.group(1)
    if text in tree.by_code:
        return text
    folded = text.casefold()
    for info in tree.areas:
        if info.name.casefold() == folded:
            return info.code
    return None


# ---------------------------------------------------------------------------- sources
class SourceSpecError(ValueError):
    """A stored source spec cannot be turned back into a manifest Source."""


def source_from_spec(spec: Mapping[str, Any], *, source_id: str, base_dir: str = ".") -> "Any":
    """A :class:`loaders.manifest.Source` from ``explain.source_spec`` output (the stored manifest entry).

    Lists become tuples, ``value_columns`` and ``where`` tables become the Source's pairs, and
    keys the Source does not know are ignored (``title``/``department`` come with the spec).
    """
    from dataclasses import fields
    from pathlib import Path

    from loaders.manifest import Source

    known = {f.name for f in fields(Source)}
    values: dict[str, Any] = {}
    for key, value in spec.items():
        if key not in known or key == "base_dir":
            continue
        if key == "value_columns":
            value = tuple((str(h), str(m)) for h, m in (value.items() if isinstance(value, Mapping) else value))
        elif key == "where":
            items = value.items() if isinstance(value, Mapping) else value
            value = tuple((str(k), tuple(v) if isinstance(v, (list, tuple)) else (str(v),)) for k, v in items)
        elif isinstance(value, list):
            value = tuple(value)
        values[key] = value
    values["id"] = source_id
    if not values.get("department"):
        raise SourceSpecError(f"The stored spec of source '{source_id}' has no department.")
    values["base_dir"] = Path(base_dir)
    try:
        return Source(**values)
    except TypeError as exc:
        raise SourceSpecError(f"The stored spec of source '{source_id}' cannot be used: {exc}") from None


def upload_suffix(filename: str | None, spec_format: str | None) -> str:
    """The file suffix to save an upload under (the readers pick a reader by format/suffix)."""
    allowed = {"csv", "xlsx", "ods", "json"}
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    if suffix in allowed:
        return "." + suffix
    return "." + (spec_format if spec_format in allowed else "csv")


def problem_rows(report_dict: Mapping[str, Any]) -> list[dict[str, str]]:
    """The problems of a validation report (``ValidationReport.to_dict()``) as table rows."""
    rows = []
    for problem in report_dict.get("problems", []):
        rows.append({"severity": str(problem.get("severity") or ""),
                     "row": "" if problem.get("row") is None else f"{int(problem['row']):,}",
                     "column": str(problem.get("column") or ""),
                     "value": str(problem.get("value") or ""),
                     "message": str(problem.get("message") or "")})
    return rows


def grade_reasons(text: str | None) -> list[str]:
    """A load's stored ``grade_reasons`` (JSON list) as a list of strings."""
    import json

    if not text:
        return []
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return [str(text)]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
