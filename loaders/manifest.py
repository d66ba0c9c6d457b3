"""Parse and check a whytrend manifest (TOML) into frozen dataclasses.

The manifest is the public contract between a department's files and the store
(see the README). Every problem is reported with the key and, where TOML lets us find
it, the line, because the people who write manifests are analysts editing by hand.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ManifestError, PathNotAllowedError, ReadError
from .formula import IDENTIFIER, check_formulas
from .formula import names as formula_names
from .limits import ALLOWED_DIRS_ENV, Limits, allowed_dirs_from_env, setting
from .periods import FREQUENCY_NAMES
from .vocabulary import MODEL_KINDS, PSEUDO_DRIVERS

AGGREGATIONS = ("sum", "mean", "formula")
FORMATS = ("csv", "xlsx", "ods", "json")
LAYOUTS = ("long", "single", "wide", "wide_by_period")
REPLACE_MODES = ("periods", "all")
CODE_RE = re.compile(rf"^{IDENTIFIER}$")  # a metric code must be usable in formulas
#: Source ids name files and appear in URLs: letters, digits, '-', '_', '.', no leading dot, <= 128.
SOURCE_ID_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")
#: A manifest is a short text file; anything bigger is refused before it is parsed.
MANIFEST_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Department:
    code: str
    name: str


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    level: str = ""
    parent: str | None = None


@dataclass(frozen=True)
class Metric:
    code: str
    name: str
    department: str
    unit: str = ""
    aggregation: str = "sum"
    higher_is_better: bool | None = None
    formula: str = ""
    description: str = ""
    #: departments that may see this metric as a driver of their own metrics ('*' = every one);
    #: manifest key ``shared = true`` or ``shared = ["DWP", "HMT"]``
    shared_with: tuple[str, ...] = ()
    #: a price index metric (``deflator = "gdp_deflator"``): the metric can be shown in real terms
    deflator: str = ""
    #: the year whose prices real terms are in (a period of the deflator, e.g. "2024-25"; default its latest)
    prices_of: str = ""
    #: a population metric (``per_head = "population"``): the metric can be shown per head
    per_head: str = ""

    def visible_to(self, department: str | None) -> bool:
        """Whether users of ``department`` (None: unscoped) may see this metric as a driver."""
        return department is None or department == self.department or "*" in self.shared_with \
            or department in self.shared_with


@dataclass(frozen=True)
class Source:
    """One file or API endpoint and how its cells map to (metric, area, period, breakdown)."""

    id: str
    department: str
    title: str = ""
    path: str | None = None
    url: str | None = None
    format: str = "csv"
    sheet: str | None = None
    skip_rows: int | None = None
    layout: str = "long"
    period_column: str | None = None
    period: str | None = None  # one fixed period for a file that has no period column
    period_frequency: str | None = None  # frequency code ('M', 'FY', ...) used to read dates
    area_column: str | None = None
    area_name_column: str | None = None
    area: str | None = None
    metric_column: str | None = None
    value_column: str | None = None
    metric: str | None = None
    value_columns: tuple[tuple[str, str], ...] = ()  # (column header, metric code)
    dimension_columns: tuple[str, ...] = ()
    total_values: tuple[str, ...] = ()
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    provisional_column: str | None = None
    encoding: str | None = None
    records_path: str | None = None
    next_path: str | None = None
    page_param: str | None = None
    expected_lag_days: int | None = None
    #: what a new file of this source replaces: "periods" (the periods it contains; values of other
    #: periods stay live) or "all" (every value of the source; keys the file lacks are withdrawn)
    replace: str = "periods"
    #: published layouts (loaders/readers/layout.py): rows the header spans, the name of the column
    #: that carries section label rows, the table's first and last rows, and where it ends
    header_rows: int = 1
    section_column: str | None = None
    #: the series of every value (``series = "forecast"``, "plan", "main_estimate" …; default the outturn):
    #: stored under the companion metric ``code__forecast`` (loaders.series)
    series: str = ""
    #: or a column naming each row's series (blank or "outturn" for the outturn)
    series_column: str | None = None
    rows: tuple[int, ...] = ()
    end: str = "auto"
    base_dir: Path = field(default=Path("."), compare=False)

    @property
    def location(self) -> str:
        """Absolute file path or URL, as the readers want it."""
        if self.url:
            return self.url
        assert self.path is not None
        return str((self.base_dir / self.path).resolve())

    def metrics(self) -> tuple[str, ...]:
        """Metric codes this source can write (long layout: unknown until read)."""
        if self.layout in ("single", "wide_by_period"):
            return (self.metric,) if self.metric else ()
        if self.layout == "wide":
            return tuple(m for _, m in self.value_columns)
        return ()


@dataclass(frozen=True)
class ModelSpec:
    metric: str
    drivers: tuple[str, ...]
    kind: str = "gradient_boosting"
    pseudo_drivers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    period: str
    title: str
    description: str = ""
    metrics: tuple[str, ...] = ()
    #: ``break = true``: a change of definition; a movement across it is not judged, and the verdict on
    #: later movements uses only the points from it on (explain.verdict)
    is_break: bool = False
    #: area codes the event touches (``areas = [...]``); empty: every area of its metrics
    areas: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    path: Path
    departments: tuple[Department, ...] = ()
    areas: tuple[Area, ...] = ()
    metrics: tuple[Metric, ...] = ()
    sources: tuple[Source, ...] = ()
    models: tuple[ModelSpec, ...] = ()
    events: tuple[Event, ...] = ()
    #: folders besides the manifest's own that its source paths may point into (resolved);
    #: from ``load_manifest(allowed_dirs=...)`` / ``whytrend load --allow-dir`` and WHYTREND_ALLOWED_DIRS
    allowed_dirs: tuple[Path, ...] = field(default=(), compare=False)

    def metric(self, code: str) -> Metric | None:
        return next((m for m in self.metrics if m.code == code), None)


# key -> (type check, required)
_SPECS: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "department": {"code": ((str,), True), "name": ((str,), True)},
    "area": {
        "code": ((str,), True), "name": ((str,), True),
        "level": ((str,), False), "parent": ((str,), False),
    },
    "metric": {
        "code": ((str,), True), "name": ((str,), True), "department": ((str,), True),
        "unit": ((str,), False), "aggregation": ((str,), False),
        "higher_is_better": ((bool,), False), "formula": ((str,), False),
        "description": ((str,), False), "shared": ((bool, list), False),
        "deflator": ((str,), False), "prices_of": ((str,), False), "per_head": ((str,), False),
    },
    "source": {
        "id": ((str,), True), "department": ((str,), True), "title": ((str,), False),
        "path": ((str,), False), "url": ((str,), False), "format": ((str,), False),
        "sheet": ((str,), False), "skip_rows": ((int,), False), "layout": ((str,), False),
        "period_column": ((str,), False), "period": ((str,), False), "period_frequency": ((str,), False),
        "area_column": ((str,), False), "area_name_column": ((str,), False),
        "area": ((str,), False), "metric_column": ((str,), False),
        "value_column": ((str,), False), "metric": ((str,), False),
        "value_columns": ((dict,), False), "dimension_columns": ((list,), False),
        "total_values": ((list,), False), "where": ((dict,), False),
        "provisional_column": ((str,), False), "encoding": ((str,), False),
        "records_path": ((str,), False), "next_path": ((str,), False),
        "page_param": ((str,), False), "expected_lag_days": ((int,), False),
        "replace": ((str,), False), "header_rows": ((int,), False), "section_column": ((str,), False),
        "rows": ((list,), False), "end": ((str,), False), "series": ((str,), False),
        "series_column": ((str,), False),
    },
    "model": {
        "metric": ((str,), True), "drivers": ((list,), True), "kind": ((str,), False),
        "pseudo_drivers": ((list,), False),
    },
    "event": {
        "period": ((str,), True), "title": ((str,), True), "description": ((str,), False),
        "metrics": ((list,), False), "break": ((bool,), False), "areas": ((list,), False),
    },
}
_PLURAL = {"department": "departments", "area": "areas", "metric": "metrics",
           "source": "sources", "model": "models", "event": "events"}


class _Lines:
    """Finds the line of a ``[[table]]`` entry or key in the raw text, for messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def table(self, name: str, index: int) -> int | None:
        seen = -1
        pattern = re.compile(rf"^\s*\[\[\s*{re.escape(name)}\s*\]\]")
        for number, line in enumerate(self.lines, start=1):
            if pattern.match(line):
                seen += 1
                if seen == index:
                    return number
        return None

    def key(self, name: str, index: int, key: str) -> int | None:
        start = self.table(name, index)
        if start is None:
            return None
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start + 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if re.match(r"^\s*\[", line):
                return None
            if pattern.match(line):
                return number
        return None


def load_manifest(path: str | Path, *, allowed_dirs: Sequence[str | Path] | None = None) -> Manifest:
    """Read and check a manifest; raise ManifestError listing every problem found.

    Source paths must resolve (symlinks and ``..`` followed) inside the manifest's folder or one of
    ``allowed_dirs`` / WHYTREND_ALLOWED_DIRS; the manifest itself must be a regular file."""
    from .readers.base import open_regular

    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ManifestError(f"Manifest {path} does not exist. Check the path.") from None
    except OSError as exc:
        raise ManifestError(f"Manifest {path} cannot be read: {exc.strerror or exc}. Check the path.") from None
    if info.st_size > MANIFEST_MAX_BYTES:
        raise ManifestError(f"Manifest {path} is {info.st_size / 1024 / 1024:,.1f} MB, but a manifest is a short text "
                            f"file (at most {MANIFEST_MAX_BYTES // 1024 // 1024} MB). Check that this is the manifest.")
    try:
        with open_regular(path) as handle:
            raw = handle.read(MANIFEST_MAX_BYTES + 1)
        text = raw.decode("utf-8-sig")
    except ReadError as exc:
        raise ManifestError(f"Manifest {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"Manifest {path} cannot be read as UTF-8 text: {exc}.") from None
    return parse_manifest(text, base_dir=path.resolve().parent, path=path, allowed_dirs=allowed_dirs)


def parse_manifest(text: str, *, base_dir: Path, path: Path | None = None,
                   allowed_dirs: Sequence[str | Path] | None = None) -> Manifest:
    """Parse manifest text; ``base_dir`` anchors relative source paths and is the folder they must
    stay in, besides ``allowed_dirs`` and the folders of WHYTREND_ALLOWED_DIRS."""
    where = str(path) if path else "manifest"
    limits = Limits.from_env()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{where} is not valid TOML: {exc}. Fix the syntax and load again.") from None
    except RecursionError:
        raise _too_deep(where, limits, None) from None
    from .readers.records import nesting_depth

    depth = nesting_depth(data, limits.max_nesting)
    if depth > limits.max_nesting:
        raise _too_deep(where, limits, depth)
    extra_dirs = _resolved_dirs([*(allowed_dirs or ()), *allowed_dirs_from_env()])
    lines = _Lines(text)
    problems: list[str] = []

    for key in data:
        if key not in _SPECS:
            problems.append(
                f"unknown top-level key '{key}'"
                + _at(lines.table(key, 0))
                + f" (allowed: {', '.join('[[' + k + ']]' for k in _SPECS)})"
            )
    entries: dict[str, list[dict[str, Any]]] = {}
    for name, spec in _SPECS.items():
        raw = data.get(name, [])
        if not isinstance(raw, list):
            problems.append(f"'{name}' must be written as [[{name}]] tables")
            continue
        checked = []
        for index, entry in enumerate(raw):
            for key, value in entry.items():
                if key not in spec:
                    problems.append(
                        f"unknown key '{key}' in [[{name}]] number {index + 1}"
                        + _at(lines.key(name, index, key))
                        + f" (allowed: {', '.join(spec)})"
                    )
                    continue
                types, _ = spec[key]
                if not isinstance(value, types) or (int in types and isinstance(value, bool)):
                    problems.append(
                        f"'{key}' in [[{name}]] number {index + 1}{_at(lines.key(name, index, key))}"
                        f" must be {' or '.join(t.__name__ for t in types)}, not {type(value).__name__}"
                    )
            for key, (_, required) in spec.items():
                if required and key not in entry:
                    problems.append(f"[[{name}]] number {index + 1}{_at(lines.table(name, index))} has no '{key}'")
            checked.append(entry)
        entries[name] = checked
    if problems:
        raise ManifestError(_summary(where, problems))

    manifest = Manifest(
        path=path or base_dir / "manifest.toml",
        allowed_dirs=extra_dirs,
        departments=tuple(Department(**e) for e in entries["department"]),
        areas=tuple(Area(**e) for e in entries["area"]),
        metrics=tuple(_metric(e) for e in entries["metric"]),
        sources=tuple(_source(e, base_dir, problems, lines, i) for i, e in enumerate(entries["source"])),
        models=tuple(
            ModelSpec(
                metric=e["metric"], drivers=tuple(e["drivers"]),
                kind=e.get("kind", "gradient_boosting"), pseudo_drivers=tuple(e.get("pseudo_drivers", ())),
            )
            for e in entries["model"]
        ),
        events=tuple(
            Event(period=e["period"], title=e["title"], description=e.get("description", ""),
                  metrics=tuple(e.get("metrics", ())), is_break=bool(e.get("break", False)),
                  areas=tuple(str(a) for a in e.get("areas", ())))
            for e in entries["event"]
        ),
    )
    problems.extend(_cross_check(manifest, lines))
    untrusted, outside = _untrusted_problems(manifest, lines, extra_dirs)
    problems.extend(untrusted)
    if problems:
        raise (PathNotAllowedError if outside else ManifestError)(_summary(where, problems))
    return manifest


def _too_deep(where: str, limits: Limits, depth: int | None) -> ManifestError:
    levels = f"more than {limits.max_nesting:,} levels" if depth is not None else "hundreds of levels"
    return ManifestError(
        f"{where} nests arrays or inline tables {levels} deep, over the limit of {limits.max_nesting:,} levels "
        f"({setting('max_nesting')}); a manifest needs three or four. Check that this is the right file, fix the "
        "manifest and load again."
    )


def _resolved_dirs(dirs: Sequence[str | Path]) -> tuple[Path, ...]:
    out: list[Path] = []
    for folder in dirs:
        try:
            resolved = Path(folder).expanduser().resolve()
        except (OSError, RuntimeError):
            continue
        if resolved not in out:
            out.append(resolved)
    return tuple(out)


def path_problem(source: Source, allowed_dirs: Sequence[Path] = ()) -> str | None:
    """Why a source's file may not be read, or None: its path must resolve (following symlinks and
    ``..``) inside the manifest's folder (``source.base_dir``) or one of ``allowed_dirs``."""
    if not source.path:
        return None
    home = source.base_dir.resolve()
    try:
        target = Path(source.location)
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"source '{source.id}': path '{source.path}' cannot be resolved ({exc}). Fix the path"
    roots = (home, *allowed_dirs)
    if any(target == root or target.is_relative_to(root) for root in roots):
        return None
    others = f" or the allowed folders {', '.join(str(d) for d in allowed_dirs)}" if allowed_dirs else ""
    return (
        f"source '{source.id}': path '{source.path}' resolves to {target}, outside the manifest's folder "
        f"{home}{others}; a manifest may read only files in its own folder or below it. Move the file there, or, "
        f"if an administrator trusts that folder, allow it with `whytrend load --allow-dir FOLDER` or the "
        f"{ALLOWED_DIRS_ENV} environment variable"
    )


def check_source_path(source: Source, manifest: Manifest) -> None:
    """Raise PathNotAllowedError when a source's path (resolved now, so a symlink changed since the
    manifest was checked is caught too) leaves the folders its manifest may read."""
    problem = path_problem(source, manifest.allowed_dirs)
    if problem:
        raise PathNotAllowedError(problem + ". Nothing was read.")


def _untrusted_problems(manifest: Manifest, lines: _Lines, allowed_dirs: tuple[Path, ...]) -> tuple[list[str], bool]:
    """Source ids that are not simple names, and source paths outside the folders allowed (and
    whether there was one of those)."""
    problems, outside = [], False
    for index, source in enumerate(manifest.sources):
        if not SOURCE_ID_RE.match(source.id):
            shown = source.id if len(source.id) <= 80 else source.id[:80] + "..."
            problems.append(
                f"source id {shown!r}{_at(lines.key('source', index, 'id'))} must be a simple name: letters, "
                "digits, '-', '_' and '.', not starting with '.', at most 128 characters (ids name files and "
                "appear in links)"
            )
        problem = path_problem(source, allowed_dirs)
        if problem:
            outside = True
            problems.append(problem.replace("': path", f"'{_at(lines.key('source', index, 'path'))}: path", 1))
    return problems, outside


def _at(line: int | None) -> str:
    return f" (line {line})" if line else ""


def _summary(where: str, problems: list[str]) -> str:
    head = f"{where} has {len(problems)} problem{'s' if len(problems) != 1 else ''}: "
    return head + "; ".join(problems) + ". Fix the manifest and load again."


def _metric(entry: dict[str, Any]) -> Metric:
    values = {k: entry[k] for k in entry if k != "shared"}
    shared = entry.get("shared", False)
    values["shared_with"] = ("*",) if shared is True else tuple(str(d) for d in shared) if shared else ()
    return Metric(**values)


def _source(entry: dict[str, Any], base_dir: Path, problems: list[str], lines: _Lines, index: int) -> Source:
    values = dict(entry)
    label = f"source '{entry.get('id')}'"
    if "value_columns" in values:
        values["value_columns"] = tuple((str(k), str(v)) for k, v in values["value_columns"].items())
    if "where" in values:
        values["where"] = tuple(
            (str(k), tuple(str(x) for x in (v if isinstance(v, list) else [v])))
            for k, v in values["where"].items()
        )
    if "series" in values:
        from .series import OUTTURN, is_valid, normalise

        name = normalise(values["series"])
        if not is_valid(name):
            problems.append(f"{label}: series '{values['series']}'{_at(lines.key('source', index, 'series'))} is not "
                            "a series name: use letters, digits and underscores (forecast, plan, main_estimate)")
        values["series"] = "" if name == OUTTURN else name
    for key in ("dimension_columns", "total_values"):
        if key in values:
            values[key] = tuple(str(x) for x in values[key])
    if "period_frequency" in values:
        name = values["period_frequency"]
        if name not in FREQUENCY_NAMES:
            problems.append(
                f"{label}: period_frequency '{name}'{_at(lines.key('source', index, 'period_frequency'))}"
                f" is not one of {', '.join(FREQUENCY_NAMES)}"
            )
            values.pop("period_frequency")
        else:
            values["period_frequency"] = FREQUENCY_NAMES[name]
    if bool(values.get("path")) == bool(values.get("url")):
        problems.append(f"{label}{_at(lines.table('source', index))} needs exactly one of 'path' or 'url'")
    if "format" not in values:
        target = str(values.get("path") or values.get("url") or "")
        suffix = Path(target.split("?")[0]).suffix.lower().lstrip(".")
        values["format"] = {"xlsm": "xlsx", "txt": "csv"}.get(suffix, suffix) if suffix else "csv"
    if values["format"] not in FORMATS:
        problems.append(f"{label}: format '{values['format']}' is not one of {', '.join(FORMATS)}")
    if "layout" not in values:
        values["layout"] = _infer_layout(values)
    if values.get("replace", "periods") not in REPLACE_MODES:
        problems.append(f"{label}: replace '{values['replace']}'{_at(lines.key('source', index, 'replace'))} is not "
                        f"one of {', '.join(REPLACE_MODES)} ('periods': a new file replaces the periods it contains; "
                        "'all': it replaces every value of the source)")
    problems.extend(f"{label}: {p}" for p in _table_problems(values, lines, index))
    if values["layout"] not in LAYOUTS:
        problems.append(f"{label}: layout '{values['layout']}' is not one of {', '.join(LAYOUTS)}")
    else:
        problems.extend(f"{label}: {p}" for p in _layout_problems(values))
    if not values.get("area_column") and not values.get("area"):
        problems.append(f"{label} needs 'area_column' (a column of area codes) or 'area' (one fixed area code)")
    return Source(**values, base_dir=base_dir)


def _table_problems(values: dict[str, Any], lines: _Lines, index: int) -> list[str]:
    """Check the keys that say where the table is (``header_rows``, ``rows``, ``end``) and turn
    ``rows`` into a tuple."""
    from .readers.layout import ENDS

    problems = []
    header_rows = values.get("header_rows", 1)
    if not 1 <= header_rows <= 10:
        problems.append(f"header_rows = {header_rows}{_at(lines.key('source', index, 'header_rows'))} must be from 1 "
                        "to 10 (the rows the table's header spans, a row of column numbers included)")
    if "rows" in values:
        rows = values["rows"]
        at = _at(lines.key("source", index, "rows"))
        if (not 1 <= len(rows) <= 2 or not all(isinstance(r, int) and not isinstance(r, bool) and r >= 1 for r in rows)
                or (len(rows) == 2 and rows[1] <= rows[0])):
            problems.append(f"rows{at} must be [first, last]: the row numbers (from 1) of the table's first header row "
                            "and of its last data row, or [first] to read to the table's end")
        elif values.get("skip_rows") is not None:
            problems.append(f"rows{at} and skip_rows both say where the header is; keep one of them")
        values["rows"] = tuple(r for r in rows if isinstance(r, int))
    if values.get("end", "auto") not in ENDS:
        problems.append(f"end = '{values['end']}'{_at(lines.key('source', index, 'end'))} is not one of "
                        f"{', '.join(ENDS)} ('auto': the table ends at a blank row followed by something else; "
                        "'blank': at the first blank row; 'sheet': read to the end)")
    return problems


def _infer_layout(values: dict[str, Any]) -> str:
    if values.get("metric_column"):
        return "long"
    if values.get("value_columns"):
        return "wide"
    if values.get("metric") and values.get("value_column"):
        return "single"
    if values.get("metric"):
        return "wide_by_period"
    return "long"


def _layout_problems(values: dict[str, Any]) -> list[str]:
    layout = values["layout"]
    needs = {
        "long": ("metric_column", "value_column"),
        "single": ("metric", "value_column"),
        "wide": ("value_columns",),
        "wide_by_period": ("metric",),
    }[layout]
    problems = [f"layout '{layout}' needs '{key}'" for key in needs if not values.get(key)]
    if layout != "wide_by_period" and bool(values.get("period_column")) == bool(values.get("period")):
        problems.append(f"layout '{layout}' needs exactly one of 'period_column' (a column of periods) or "
                        "'period' (one fixed period for the whole file)")
    if values.get("period"):
        from .periods import PeriodError, parse_period

        try:
            parse_period(values["period"], prefer=values.get("period_frequency"))
        except PeriodError as exc:
            problems.append(f"'period': {exc}")
    return problems


def _cross_check(manifest: Manifest, lines: _Lines) -> list[str]:
    """Consistency across tables: duplicates, unknown references, formulas, models."""
    problems: list[str] = []
    for name, items, key in (
        ("department", manifest.departments, "code"), ("area", manifest.areas, "code"),
        ("metric", manifest.metrics, "code"), ("source", manifest.sources, "id"),
    ):
        seen: set[str] = set()
        for item in items:
            value = getattr(item, key)
            if value in seen:
                problems.append(f"{name} {key} '{value}' is declared twice")
            seen.add(value)
    departments = {d.code for d in manifest.departments}
    areas = {a.code for a in manifest.areas}
    metrics = {m.code: m for m in manifest.metrics}
    position = {m.code: i for i, m in enumerate(manifest.metrics)}
    formula_problems = check_formulas({m.code: m.formula for m in manifest.metrics})
    for area in manifest.areas:
        if area.parent and area.parent not in areas:
            problems.append(f"area '{area.code}' has parent '{area.parent}', which is not declared as an [[area]]")
    problems.extend(_cycles(manifest.areas))
    for metric in manifest.metrics:
        for dept in metric.shared_with:
            if dept != "*" and dept not in departments:
                problems.append(f"metric '{metric.code}' is shared with department '{dept}', which is not declared")
        if not CODE_RE.match(metric.code):
            problems.append(f"metric code '{metric.code}' must be letters, digits and underscores (it is used in formulas)")
        if metric.department not in departments:
            problems.append(f"metric '{metric.code}' names department '{metric.department}', which is not declared")
        if metric.aggregation not in AGGREGATIONS:
            problems.append(f"metric '{metric.code}' aggregation '{metric.aggregation}' is not one of {', '.join(AGGREGATIONS)}")
        if metric.aggregation == "formula" and not metric.formula:
            problems.append(f"metric '{metric.code}' has aggregation 'formula' but no formula")
        if metric.code in formula_problems:
            where = _at(lines.key("metric", position[metric.code], "formula"))
            problems.append(f"metric '{metric.code}' formula{where}: {formula_problems[metric.code]} Write it with "
                            "metric codes, numbers, + - * / ** and parentheses, e.g. 'spend / caseload'")
        elif metric.formula:
            unknown = [n for n in formula_names(metric.formula) if n not in metrics]
            if unknown:
                problems.append(f"metric '{metric.code}' formula{_at(lines.key('metric', position[metric.code], 'formula'))} "
                                f"uses {', '.join(repr(u) for u in unknown)}, not declared as metrics")
    for source in manifest.sources:
        if source.department not in departments:
            problems.append(f"source '{source.id}' names department '{source.department}', which is not declared")
        for code in source.metrics():
            if code not in metrics:
                problems.append(f"source '{source.id}' writes metric '{code}', which is not declared as a [[metric]]")
    for spec in manifest.models:
        if spec.metric not in metrics:
            problems.append(f"[[model]] for '{spec.metric}': no such metric")
        for driver in spec.drivers:
            if driver not in metrics:
                problems.append(f"[[model]] for '{spec.metric}': driver '{driver}' is not a declared metric")
            elif spec.metric in metrics and not metrics[driver].visible_to(metrics[spec.metric].department):
                problems.append(
                    f"[[model]] for '{spec.metric}': driver '{driver}' belongs to {metrics[driver].department} and is "
                    f"not shared with {metrics[spec.metric].department} (add shared = true, or "
                    f"shared = [\"{metrics[spec.metric].department}\"], to metric '{driver}')")
        if spec.kind not in MODEL_KINDS:
            problems.append(f"[[model]] for '{spec.metric}': kind '{spec.kind}' is not one of {', '.join(MODEL_KINDS)}")
        for pseudo in spec.pseudo_drivers:
            if pseudo not in PSEUDO_DRIVERS:
                problems.append(f"[[model]] for '{spec.metric}': pseudo-driver '{pseudo}' is not one of "
                                f"{', '.join(PSEUDO_DRIVERS)}")
    for event in manifest.events:
        if event.is_break and not event.metrics:
            problems.append(f"[[event]] '{event.title}' has break = true but names no metrics; list the metrics whose "
                            "series it breaks in metrics = [...]")
        for code in event.metrics:
            if code not in metrics:
                problems.append(f"[[event]] '{event.title}' names metric '{code}', which is not declared")
    return problems


def _cycles(areas: tuple[Area, ...]) -> list[str]:
    parent = {a.code: a.parent for a in areas}
    problems = []
    for code in parent:
        seen, current = set(), code
        while current is not None:
            if current in seen:
                problems.append(f"area hierarchy has a cycle through '{code}'")
                break
            seen.add(current)
            current = parent.get(current)
    return problems
