"""Turn raw table chunks into clean long rows plus a report of every problem.

Errors are data (as in frictionless): each problem is a :class:`Problem` made from a
message template that names the file, sheet, row, column and value. Row-level problems
quarantine the row (or, in wide layouts, the one bad cell) and loading goes on;
structural problems (missing columns, unknown metric codes, duplicate keys) make the
whole source fail so that nothing of it is written.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .categories import describe_overlap, describe_partial, overlaps, partial_presence
from .labels import normalise, strip_markers, strip_series, total_mask
from .manifest import Manifest, Source
from .periods import ACCEPTED_SPELLINGS, from_key, parse_period, parse_period_series
from .readers import TableChunk, TableInfo
from .readers.header import column_reference
from .series import is_valid as is_valid_series
from .series import normalise as normalise_series
from .series import series_code
from .values import parse_value_series
from .vocabulary import WHOLE_AREA

log = logging.getLogger(__name__)

STRUCTURAL, QUARANTINE, WARNING, NOTE = "structural", "quarantine", "warning", "note"
TRUTHY = {"true", "t", "yes", "y", "1", "p", "provisional"}
MAX_KEPT = 2000  # problems kept verbatim per report; the rest are counted by code

TEMPLATES: dict[str, tuple[str, str]] = {
    "missing-column": (STRUCTURAL, "{where}: column '{column}' (manifest key '{key}') is not in the header "
                                   "(row {header_row}), which has: {columns}. Fix the column name in the manifest or the file."),
    "unknown-metric": (STRUCTURAL, "{where}, row {row}, column '{column}': metric code '{value}' is not declared in the "
                                   "manifest. Declare it as a [[metric]], or drop such rows with 'where'."),
    "no-period-columns": (STRUCTURAL, "{where}: no column header reads as a period (layout 'wide_by_period'); headers are: "
                                      "{columns}. Check the layout and the header row (skip_rows)."),
    "duplicate-key": (STRUCTURAL, "{where}: rows {rows} give different values for the same metric, area, period and "
                                  "breakdown ({value}). Keep one of them and load again."),
    "exact-duplicate": (WARNING, "{where}: row {row} repeats row {value} exactly; the repeat was ignored."),
    "bad-value": (QUARANTINE, "{where}, row {row}, column '{column}': '{value}' is {reason}; quarantined."),
    "bad-period": (QUARANTINE, "{where}, row {row}, column '{column}': {reason}; the row was quarantined."),
    "blank-area": (QUARANTINE, "{where}, row {row}, column '{column}': the area code is blank; the row was quarantined."),
    "blank-dimension": (QUARANTINE, "{where}, row {row}, column '{column}': the breakdown value is blank; "
                                    "the row was quarantined."),
    "bad-series": (QUARANTINE, "{where}, row {row}, column '{column}': '{value}' is not a series name (use letters, "
                               "digits and underscores, such as forecast, plan or main_estimate; outturn for what "
                               "happened); the row was quarantined."),
    "blank-metric": (QUARANTINE, "{where}, row {row}, column '{column}': the metric code is blank; the row was quarantined."),
    "reader-warning": (WARNING, "{where}: {reason}"),
    "where-unmatched": (WARNING, "{where}: the filter where {column} = '{value}' matches no row, so nothing of it "
                                 "was loaded. Check the spelling against the file's values."),
    "category-partial": (WARNING, "{where}: in '{column}', {value} not in every period of the file: {reason}. A "
                                  "comparison across those periods counts them as new or ended (merged, renamed or not "
                                  "reported); check that this is what the department sent."),
    "category-overlap": (WARNING, "{where}: in '{column}', categories overlap: {reason}. A sum over '{column}' counts "
                                  "what they share twice; keep only one of them with 'where', or list the broader one "
                                  "in total_values if it is a total."),
    "area-note": (NOTE, "{where}: {reason}"),
    "period-inferred": (NOTE, "{where}: the period column '{column}' holds dates that are all the first (or all the "
                              "last) day of a month, such as {value}, so they were read as months. Set "
                              "period_frequency = \"day\" for this source if they are single days."),
    "parent-mismatch": (WARNING, "{where}: the published value for {value} differs from the sum of its areas by {reason}."),
}


#: what a report says once for all its problems of a code, instead of in every row
HINTS = {
    "bad-period": f"Periods can be written as {ACCEPTED_SPELLINGS}. Correct the cells named above and load the "
                  "file again.",
}


@dataclass(frozen=True)
class Problem:
    code: str
    severity: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "row": self.row, "column": self.column, "value": self.value}


@dataclass
class ValidationReport:
    """Every problem of one source read, plus the counts a load summary prints."""

    source_id: str
    location: str
    sheet: str | None = None
    problems: list[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    rows_read: int = 0
    rows_filtered: int = 0
    rows_quarantined: int = 0
    values_loaded: int = 0
    #: ``where`` values (normalised) that matched at least one row, per column
    where_matched: dict[str, set[str]] = field(default_factory=dict)
    #: (label, period start) pairs seen per column ('area' or a breakdown), deduplicated per chunk, and
    #: each period start's frequency: for check_categories at the end of the file
    categories: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    period_freq: dict[str, str] = field(default_factory=dict)

    def note_categories(self, column: str, labels: pd.Series, periods: pd.Series) -> None:
        """Remember which periods each label of ``column`` has (called per chunk; vectorised, so a
        streamed file of millions of rows pays one deduplication per chunk)."""
        pairs = pd.DataFrame({"label": labels.to_numpy(), "period": periods.to_numpy()}).drop_duplicates()
        self.categories.setdefault(column, []).append(pairs[pairs["label"] != ""])

    def check_categories(self) -> None:
        """Warn about categories missing from some periods, and about overlapping categories."""
        for column, frames in self.categories.items():
            seen = pd.concat(frames, ignore_index=True).drop_duplicates() if frames else pd.DataFrame()
            if seen.empty:
                continue
            every = set(seen["period"].unique().tolist())
            counts = seen.groupby("label", sort=False)["period"].nunique()
            thin = counts[counts < len(every)].sort_values(kind="stable")
            if len(thin):
                partial = partial_presence({str(label): set(seen.loc[seen["label"] == label, "period"].tolist())
                                            for label in thin.head(5).index}, every)
                noun = "1 category is" if len(thin) == 1 else f"{len(thin)} categories are"
                shown = "; ".join(describe_partial(p, name=self._period_label) for p in partial)
                shown += " …" if len(thin) > 5 else ""
                self.add("category-partial", column=column, value=noun, reason=shown)
            found = overlaps(str(label) for label in counts.index) if column != "area" else []
            if found:
                shown = "; ".join(describe_overlap(*o) for o in found[:5]) + (" …" if len(found) > 5 else "")
                self.add("category-overlap", column=column, reason=shown)

    def _period_label(self, start: str) -> str:
        """A period start as the user writes it ('2024-01')."""
        try:
            return from_key(self.period_freq.get(start, ""), start).label
        except Exception:  # a start this report did not record: show it as it is
            return start

    def check_where(self, source: Source) -> None:
        """Warn about every ``where`` value that matched no row of the whole file."""
        for column, allowed in source.where:
            matched = self.where_matched.get(column, set())
            for value in allowed:
                if normalise(value) not in matched:
                    self.add("where-unmatched", column=column, value=value)

    @property
    def where(self) -> str:
        return f"{self.location} (sheet {self.sheet})" if self.sheet else self.location

    def add(self, code: str, **fields: Any) -> Problem:
        severity, template = TEMPLATES[code]
        fields.setdefault("where", self.where)
        value = fields.get("value")
        if isinstance(value, str) and len(value) > 80:
            fields["value"] = value[:77] + "..."
        problem = Problem(code, severity, template.format(**fields), fields.get("row"), fields.get("column"),
                          None if value is None else str(fields["value"]))
        self.counts[code] += 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(problem)
        return problem

    @property
    def structural(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == STRUCTURAL]

    def failed(self) -> bool:
        return any(TEMPLATES[code][0] == STRUCTURAL for code in self.counts)

    def summary(self, limit: int = 5) -> str:
        """One paragraph: the structural problems first, then counts of the others."""
        first = self.structural or self.problems
        shown = " ".join(p.message for p in first[:limit])
        more = sum(self.counts.values()) - min(limit, len(first))
        if more > 0:
            shown += f" ({more} more problem{'s' if more != 1 else ''}: " + ", ".join(
                f"{n} {code}" for code, n in sorted(self.counts.items())) + ")"
        return shown

    @property
    def hints(self) -> dict[str, str]:
        """What to know once about the problems found (:data:`HINTS`), by problem code."""
        return {code: HINTS[code] for code in sorted(self.counts) if code in HINTS}

    def to_dict(self, limit: int = 200) -> dict[str, Any]:
        return {
            "source": self.source_id, "location": self.location, "sheet": self.sheet,
            "rows_read": self.rows_read, "rows_filtered": self.rows_filtered,
            "rows_quarantined": self.rows_quarantined, "values_loaded": self.values_loaded,
            "counts": dict(self.counts), "problems": [p.to_dict() for p in self.problems[:limit]],
            "hints": self.hints,
        }


@dataclass(frozen=True)
class CleanChunk:
    """Long rows ready for the store, and the rows set aside."""

    rows: pd.DataFrame  # row, metric, area, area_name, breakdown, freq, period, value, status
    quarantined: list[tuple[int, dict[str, Any], list[str]]]  # (row number, raw cells, reasons)


def expected_columns(source: Source) -> tuple[tuple[str, str], ...]:
    """(manifest key, column name) pairs the source needs in the header."""
    pairs: list[tuple[str, str]] = []
    for key in ("period_column", "area_column", "area_name_column", "metric_column", "value_column",
                "provisional_column", "series_column"):
        name = getattr(source, key)
        if name:
            pairs.append((key, name))
    pairs += [("value_columns", column) for column, _ in source.value_columns]
    pairs += [("dimension_columns", column) for column in source.dimension_columns]
    pairs += [("where", column) for column, _ in source.where]
    return tuple(pairs)


def check_header(info: TableInfo, source: Source, report: ValidationReport) -> dict[str, str]:
    """Map each needed manifest column to the file's spelling (or, for "column C", "C" or
    "column 3", the column at that position); report missing ones."""
    resolved: dict[str, str] = {}
    for key, name in expected_columns(source):
        actual = info.column(name)
        if actual is None:
            report.add("missing-column", column=name, key=key, header_row=info.header_row,
                       columns=", ".join(f"'{c}'" for c in info.columns[:30]))
        else:
            resolved[name] = actual
    for warning in info.warnings:
        report.add("reader-warning", reason=warning)
    if source.layout == "wide_by_period" and not period_columns(info, source):
        report.add("no-period-columns", columns=", ".join(f"'{c}'" for c in info.columns[:30]))
    return resolved


def dimension_name(name: str, column: str) -> str:
    """What a breakdown is called: as the manifest spells it, except that a column referred to by
    position ("C", "column C") is called by its header ("Sex"; "column C" if it has none)."""
    return column if column_reference(name) is not None else name


def add_late_warnings(info: TableInfo, report: ValidationReport) -> None:
    """Report what the reader noticed while the chunks were read (a table that ended early, repeated
    headers, label rows); call once every chunk has been read."""
    for warning in info.late_warnings:
        report.add("reader-warning", reason=warning)


def period_columns(info: TableInfo, source: Source) -> dict[str, tuple[str, str]]:
    """For wide_by_period: header -> (freq, period start) for each header that reads as a period."""
    used = {info.column(n) for _, n in expected_columns(source)}
    candidates = [c for c in info.columns if c not in used]
    parsed = parse_period_series(pd.Series(candidates, dtype=object), prefer=source.period_frequency)
    return {c: (f, p) for c, f, p, e in zip(candidates, parsed.freq, parsed.start, parsed.error) if e is None}


def normalise_chunk(
    chunk: TableChunk,
    info: TableInfo,
    source: Source,
    manifest: Manifest,
    columns: dict[str, str],
    report: ValidationReport,
    wide_periods: dict[str, tuple[str, str]] | None = None,
) -> CleanChunk:
    """Validate one chunk and reshape it to long rows; problems go to ``report``."""
    frame = chunk.frame
    rows = pd.Series(np.asarray(frame.index, dtype=np.int64), index=frame.index)  # the file's row numbers
    report.rows_read += len(frame)
    for column, allowed in source.where:
        # case, spaces and footnote markers do not matter ("TOTAL" = "Total"; "Education (6)" = "Education")
        cells = _text(frame[columns[column]]).map(normalise)
        wanted = {normalise(a) for a in allowed}
        keep = cells.isin(wanted)
        report.where_matched.setdefault(column, set()).update(set(pd.unique(cells[keep])))
        report.rows_filtered += int((~keep).sum())
        frame, rows = frame[keep], rows[keep]
    if frame.empty:
        return CleanChunk(_empty_rows(), [])

    reasons: dict[int, list[str]] = {}
    bad_row = pd.Series(False, index=frame.index)
    rows_by_index = dict(zip(frame.index, rows.to_numpy()))

    def flag(mask: pd.Series, code: str, column: str, detail: pd.Series | None = None) -> None:
        if not mask.any():
            return
        picked = mask.to_numpy()
        cells = frame[column].to_numpy()[picked] if column in frame else [""] * int(picked.sum())
        details = detail.to_numpy()[picked] if detail is not None else [None] * int(picked.sum())
        for idx, row, raw, why in zip(frame.index[picked], rows.to_numpy()[picked], cells, details):
            problem = report.add(code, row=int(row), column=column, value=_cell_text(raw), reason=why)
            reasons.setdefault(idx, []).append(problem.message)

    # keys shared by every value of a row
    if source.area:
        area = pd.Series(source.area, index=frame.index)
    else:
        area = _text(frame[columns[source.area_column]])
        blank = area == ""
        flag(blank, "blank-area", columns[source.area_column])
        bad_row |= blank
    area_name = (_text(frame[columns[source.area_name_column]]).map(strip_markers) if source.area_name_column
                 else pd.Series("", index=frame.index))
    if not source.area:
        # a published total in the area column ("Total", "England", "Column Total") is the whole's own
        # published value, never one more area (that would double the whole)
        declared = [name for a in manifest.areas for name in (a.code, a.name)]
        total = total_mask(area, source.total_values, declared=declared)
        country = total_mask(area, countries=True, declared=declared)
        if source.area_name_column:
            total |= total_mask(area_name, source.total_values, declared=declared) & (area != "")
            country |= total_mask(area_name, countries=True, declared=declared) & (area != "")
        if (~total & ~country & (area != "")).any():  # a country beside areas below it is their total
            total |= country
        if total.any():
            area = area.where(~total, WHOLE_AREA)
            area_name = area_name.where(~total, "")
        area = strip_series(area)  # "Birmingham (1)" is Birmingham: footnote markers are not part of a label
    breakdown = pd.Series("", index=frame.index)
    for dim in source.dimension_columns:
        text = _text(frame[columns[dim]])
        blank = text == ""
        flag(blank, "blank-dimension", columns[dim])
        bad_row |= blank
        part = (dimension_name(dim, columns[dim]) + "=" + text.map(strip_markers)).where(
            ~total_mask(text, source.total_values), "")
        breakdown = _join_keys(breakdown, part)
    if source.period_column:
        column = columns[source.period_column]
        parsed = parse_period_series(frame[column], prefer=source.period_frequency)
        if parsed.inferred and not report.counts["period-inferred"]:
            first = frame[column][parsed.error.isna()].iloc[0]
            report.add("period-inferred", column=column, value=_cell_text(first))
        bad_period = parsed.error.notna()
        flag(bad_period, "bad-period", column, parsed.error)
        bad_row |= bad_period
        freq, period = parsed.freq, parsed.start
    elif source.period:
        fixed = parse_period(source.period, prefer=source.period_frequency)
        freq = pd.Series(fixed.freq, index=frame.index, dtype=object)
        period = pd.Series(fixed.start.isoformat(), index=frame.index, dtype=object)
    else:
        freq = period = pd.Series("", index=frame.index)
    provisional = (_text(frame[columns[source.provisional_column]]).str.lower().isin(TRUTHY)
                   if source.provisional_column else pd.Series(False, index=frame.index))

    series_of = None  # a series column: each row's series (plan, forecast, outturn …), loaders.series
    if source.series_column:
        column = columns[source.series_column]
        series_of = _text(frame[column]).map(normalise_series)
        invalid = ~series_of.map(is_valid_series)
        flag(invalid, "bad-series", column)
        bad_row |= invalid

    # reshape to one row per value
    long = _melt(frame, source, columns, wide_periods or {})
    long = long[~long["index"].map(bad_row)]
    if source.layout == "long":
        codes = long["metric"]
        blank = codes == ""
        if blank.any():
            for src in long.loc[blank, "index"]:
                problem = report.add("blank-metric", row=int(rows_by_index[src]), column=columns[source.metric_column], value="")
                reasons.setdefault(src, []).append(problem.message)
            long = long[~blank]
        known = {m.code for m in manifest.metrics}
        unknown = ~long["metric"].isin(known)
        if unknown.any():
            first = long[unknown].drop_duplicates("metric")
            for src, code in zip(first["index"], first["metric"]):
                report.add("unknown-metric", row=int(rows_by_index[src]), column=columns[source.metric_column], value=code)
            long = long[~unknown]
    units = {m.code: m.unit for m in manifest.metrics}
    parts = []
    for code, group in long.groupby("metric", sort=False):
        values = parse_value_series(group["raw"], unit=units.get(code, ""))
        parts.append(group.assign(value=values.value.to_numpy(), status=values.status.to_numpy(),
                                  error=values.error.to_numpy()))
    long = pd.concat(parts) if parts else long.assign(value=np.nan, status="", error=None)
    bad_value = long["error"].notna()
    for src, col, raw, err in zip(long.loc[bad_value, "index"], long.loc[bad_value, "column"],
                                  long.loc[bad_value, "raw"], long.loc[bad_value, "error"]):
        problem = report.add("bad-value", row=int(rows_by_index[src]), column=col, value=_cell_text(raw), reason=err)
        reasons.setdefault(src, []).append(problem.message)
    long = long[~bad_value]

    src = long["index"]
    if source.series:  # values of a plan or forecast: stored under the companion metric (loaders.series)
        long = long.assign(metric=[series_code(m, source.series) for m in long["metric"]])
    elif series_of is not None:
        long = long.assign(metric=[series_code(m, sr) for m, sr in zip(long["metric"], series_of.reindex(src))])
    status = long["status"].where(~(provisional.reindex(src).to_numpy() & (long["status"] == "").to_numpy()), "p")
    if source.layout == "wide_by_period":
        freq_v, period_v = long["freq"].to_numpy(), long["period"].to_numpy()
    else:
        freq_v, period_v = freq.reindex(src).to_numpy(), period.reindex(src).to_numpy()
    out = pd.DataFrame({
        "row": rows.reindex(src).to_numpy(), "metric": long["metric"].to_numpy(),
        "area": area.reindex(src).to_numpy(), "area_name": area_name.reindex(src).to_numpy(),
        "breakdown": breakdown.reindex(src).to_numpy(), "freq": freq_v, "period": period_v,
        "value": long["value"].to_numpy(dtype="float64"), "status": status.to_numpy(),
    })
    _note_categories(report, out, source.dimension_columns, columns)
    bad = sorted(reasons)
    raw = frame.loc[bad].to_dict("records") if bad else []
    quarantined = [(int(rows_by_index[idx]), {str(k): _cell_text(v) for k, v in cells.items()}, reasons[idx])
                   for idx, cells in zip(bad, raw)]
    report.rows_quarantined += len(quarantined)
    report.values_loaded += len(out)
    return CleanChunk(out, quarantined)


def _note_categories(report: ValidationReport, out: pd.DataFrame, dimensions: tuple[str, ...],
                     columns: dict[str, str]) -> None:
    """Feed the report the periods each area and breakdown value has (periods by their start)."""
    if out.empty:
        return
    freqs = out["freq"].unique()
    if len(freqs) == 1:
        report.period_freq.update(dict.fromkeys(out["period"].unique().tolist(), str(freqs[0])))
    else:
        report.period_freq.update(out[["period", "freq"]].drop_duplicates().set_index("period")["freq"].to_dict())
    period = out["period"]
    areas = out["area"].where(out["area"] != WHOLE_AREA, "")
    report.note_categories("area", areas, period)
    if not dimensions:
        return
    keys = pd.DataFrame({"key": out["breakdown"].to_numpy(), "period": period.to_numpy()}).drop_duplicates()
    for dim in dimensions:
        name = dimension_name(dim, columns[dim])
        labels = keys["key"].map(lambda key, prefix=name + "=": next(
            (part[len(prefix):] for part in key.split(";") if part.startswith(prefix)), ""))
        report.note_categories(name, labels, keys["period"])


def _melt(frame: pd.DataFrame, source: Source, columns: dict[str, str],
          wide_periods: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """One row per value: index (source row label), column, metric, raw [, freq, period]."""
    index = frame.index.to_numpy()
    if source.layout == "long":
        return pd.DataFrame({"index": index, "column": columns[source.value_column],
                             "metric": _text(frame[columns[source.metric_column]]).to_numpy(),
                             "raw": frame[columns[source.value_column]].to_numpy()})
    if source.layout == "single":
        return pd.DataFrame({"index": index, "column": columns[source.value_column], "metric": source.metric,
                             "raw": frame[columns[source.value_column]].to_numpy()})
    if source.layout == "wide":
        pieces = [pd.DataFrame({"index": index, "column": columns[col], "metric": code,
                                "raw": frame[columns[col]].to_numpy()}) for col, code in source.value_columns]
        return pd.concat(pieces, ignore_index=True)
    pieces = [pd.DataFrame({"index": index, "column": col, "metric": source.metric, "raw": frame[col].to_numpy(),
                            "freq": f, "period": p}) for col, (f, p) in wide_periods.items()]
    return pd.concat(pieces, ignore_index=True)


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text ('' for empty); numbers that are whole print without '.0'."""
    if pd.api.types.is_string_dtype(series) or pd.api.types.infer_dtype(series, skipna=True) == "string":
        out = series.str.strip()
    else:
        out = series.map(_cell_text)
    return out.fillna("").astype(object)


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _join_keys(left: pd.Series, right: pd.Series) -> pd.Series:
    both = (left != "") & (right != "")
    return (left + np.where(both, ";", "") + right).astype(object)


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=["row", "metric", "area", "area_name", "breakdown", "freq", "period", "value", "status"])


def raw_json(cells: dict[str, Any]) -> str:
    return json.dumps(cells, ensure_ascii=False)
