"""Read-only access to the store for the engine and the app. Everything returns plain DataFrames
or result objects; the SQL itself lives in ``loaders`` (:class:`loaders.Store`,
:mod:`loaders.catalogue`): no module of ``explain`` imports SQLAlchemy.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from loaders import Store, catalogue
from loaders.formula import names
from loaders.periods import Period, PeriodError, from_key, parse_period
from loaders.vocabulary import WHOLE_AREA, WHOLE_AREA_NAME

from .errors import ExplainError
from .results import AreaInfo, MetricInfo

WHOLE = WHOLE_AREA


def open_store(db: str | None = None) -> Store:
    """A migrated store for ``db`` (URL or path; default $WHYTREND_DB or ./whytrend.db)."""
    return Store(db)


def departments(store: Store) -> dict[str, str]:
    """Department code -> name, for headings people read."""
    return catalogue.departments(store)


def list_metrics(store: Store, *, department: str | None = None) -> tuple[MetricInfo, ...]:
    frame = store.metrics_frame()
    if department:
        frame = frame[frame["department_code"] == department]
    freqs = _main_frequencies(store)
    return tuple(_info(row, freqs.get(row["code"], "")) for row in frame.to_dict("records"))


def list_metrics_with_series(store: Store) -> tuple[str, ...]:
    """Codes of the plan and forecast series (loaders.series) that hold values."""
    from loaders.series import is_companion

    frame = store.metrics_frame(include_series=True)
    codes = [c for c in frame["code"] if is_companion(c)]
    freqs = _main_frequencies(store, codes) if codes else {}
    return tuple(c for c in codes if freqs.get(c))


def metric_info(store: Store, code: str) -> MetricInfo:
    row = store.metric_row(code)
    if row is None:
        known = ", ".join(store.metrics_frame()["code"].tolist()) or "none loaded yet"
        raise ExplainError(f"Unknown metric '{code}'. Metrics in {store.url}: {known}.")
    return _info(row, _main_frequencies(store, [code]).get(code, ""))


def _info(row: dict, freq: str) -> MetricInfo:
    hib = row.get("higher_is_better")
    hib = None if hib is None or (isinstance(hib, float) and np.isnan(hib)) else bool(hib)
    return MetricInfo(code=row["code"], name=row["name"], department=row["department_code"], unit=row["unit"] or "",
                      aggregation=row["aggregation"], higher_is_better=hib, formula=row["formula"] or "",
                      description=row["description"] or "", frequency=freq)


def _main_frequencies(store: Store, metrics: list[str] | None = None) -> dict[str, str]:
    """Each metric's main frequency (the one with the most periods), from the per-metric metadata the
    loads keep (``metric_series``: a row per metric and frequency), never from a scan of observations."""
    return store.main_frequencies(metrics)


@dataclass(frozen=True)
class AreaTree:
    """The area hierarchy with helpers for children, leaves and names."""

    areas: tuple[AreaInfo, ...]

    @cached_property
    def by_code(self) -> dict[str, AreaInfo]:
        return {a.code: a for a in self.areas}

    @cached_property
    def _children(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = {}
        for a in self.areas:
            if a.code != WHOLE:
                out.setdefault(a.parent, []).append(a.code)
        return out

    def children(self, code: str) -> list[str]:
        """Direct children; the whole's children are the root areas."""
        if code == WHOLE:
            return sorted(self._children.get(None, []))
        return sorted(self._children.get(code, []))

    def leaves(self, code: str) -> list[str]:
        out, stack = [], [code]
        while stack:
            current = stack.pop()
            kids = self.children(current)
            if kids:
                stack.extend(kids)
            elif current != WHOLE:
                out.append(current)
        return sorted(out)

    def name(self, code: str | None) -> str:
        if code is None or code == WHOLE:
            return WHOLE_AREA_NAME
        area = self.by_code.get(code)
        return area.name if area else code

    def path(self, code: str) -> list[str]:
        out, current = [], code
        while current is not None and current in self.by_code:
            out.append(current)
            current = self.by_code[current].parent
        return list(reversed(out))


def area_tree(store: Store) -> AreaTree:
    frame = store.areas_frame()
    return AreaTree(tuple(AreaInfo(r.code, r.name, r.level or "", None if pd.isna(r.parent) else r.parent)
                          for r in frame.itertuples()))


def resolve_area(tree: AreaTree, area: str | None) -> str:
    if area in (None, "", WHOLE):
        return WHOLE
    if area in tree.by_code:
        return area
    lowered = {a.name.casefold(): a.code for a in tree.areas}
    if area.casefold() in lowered:
        return lowered[area.casefold()]
    raise ExplainError(f"Unknown area '{area}'. Give an area code (e.g. {', '.join(list(tree.by_code)[:3])}) "
                       "or leave --area out for the whole.")


def resolve_period(info: MetricInfo, text: str, available: list[str] | None = None) -> Period:
    """Parse a period as the metric's frequency reads it ('2011-12' is a month for a monthly metric)."""
    try:
        period = parse_period(text, prefer=info.frequency or None)
    except PeriodError as exc:
        raise ExplainError(str(exc)) from None
    if info.frequency and period.freq != info.frequency:
        raise ExplainError(f"Period '{text}' is a {_FREQ_NAMES.get(period.freq, period.freq)} but {info.code} is "
                           f"{_FREQ_NAMES.get(info.frequency, info.frequency)}ly data; give a period like "
                           f"'{(available or ['?'])[-1]}'.")
    if available is not None and period.label not in available:
        shown = f"{available[0]} to {available[-1]}" if available else "none"
        raise ExplainError(f"{info.code} has no value for {period.label}; periods with data: {shown}.")
    return period


_FREQ_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "FQ": "financial quarter", "Y": "year",
               "FY": "financial year"}


_FRAMES: "OrderedDict[tuple, pd.DataFrame]" = OrderedDict()
_FRAMES_KEPT = 64


def metric_frame(store: Store, metric: MetricInfo | str, *, areas: list[str] | None = None,
                 breakdown: str | None = "", as_at: int | None = None, first_published: bool = False) -> pd.DataFrame:
    """All values of a metric at its main frequency: area, breakdown, period (label), start, value, status, load_id.

    Kept per process, keyed by the metric's state (:mod:`loaders.freshness`): a load that did not
    touch this metric (or what it depends on) leaves the cached frame valid, so pages and the
    precompute after a load re-read only what changed. Callers must not modify the frame.
    """
    info = metric if isinstance(metric, MetricInfo) else metric_info(store, metric)
    vintage = data_vintage(store, info.code)
    key = (store.url, info.code, info.frequency, vintage, tuple(areas) if areas is not None else None, breakdown,
           as_at, first_published)
    if key in _FRAMES:
        _FRAMES.move_to_end(key)
        return _FRAMES[key]
    frame = read_metric_frame(store, info, areas=areas, breakdown=breakdown, as_at=as_at,
                               first_published=first_published)
    _FRAMES[key] = frame
    if len(_FRAMES) > _FRAMES_KEPT:
        _FRAMES.popitem(last=False)
    return frame


def read_metric_frame(store: Store, info: MetricInfo, *, areas: list[str] | None, breakdown: str | None,
                      as_at: int | None, first_published: bool) -> pd.DataFrame:
    """:func:`metric_frame` read from the store now, without the process's cache (for small one-off reads
    that should not push the frames pages share out of it)."""
    frame = store.observations([info.code], areas=areas, breakdown=breakdown, freq=info.frequency or None,
                               as_at=as_at, first_published=first_published)
    if frame.empty:
        return pd.DataFrame(columns=["area", "breakdown", "period", "start", "value", "status", "load_id"])
    keys = frame[["freq", "period"]].drop_duplicates()
    labels = {start: from_key(f, start).label for f, start in zip(keys["freq"].tolist(), keys["period"].tolist())}
    return pd.DataFrame({
        "area": frame["area"], "breakdown": frame["breakdown"],
        "period": frame["period"].map(labels), "start": frame["period"], "value": frame["value"],
        "status": frame["status"], "load_id": frame["load_id"],
    })


def data_vintage(store: Store, metric: str) -> int:
    """The metric's data vintage: the newest load that wrote it or anything it depends on (its formula's
    components, its model's drivers), as kept by :mod:`loaders.freshness`. Every cache keys on it."""
    return store.metric_state(metric).data_vintage


def formula_components(info: MetricInfo) -> list[str]:
    return formula_names(info.formula)


def formula_names(formula: str | None) -> list[str]:
    """The metric codes a formula uses, in order of first use ('a / b * a' -> ['a', 'b']); [] for none."""
    return names(formula) if formula else []


def model_spec(store: Store, metric: str) -> dict | None:
    """The manifest's ``[[model]]`` for ``metric``, or None."""
    return catalogue.model_spec(store, metric)


def metrics_with_models(store: Store) -> list[str]:
    return catalogue.metrics_with_models(store)


def events(store: Store, metric: str | None = None) -> list[dict]:
    """Events that apply to ``metric`` (those naming no metric apply to all), ordered by period."""
    return [e for e in catalogue.event_rows(store) if metric is None or not e["metrics"] or metric in e["metrics"]]


def metric_changes(store: Store, metric: str) -> pd.DataFrame:
    return catalogue.metric_changes(store, metric)


def metric_sources(store: Store, metric: str) -> pd.DataFrame:
    """Sources that wrote a metric, with their latest vintage and grade."""
    sources = store.sources_frame()
    if sources.empty:
        return sources
    return sources[sources["source"].isin(catalogue.sources_of(store, metric))].reset_index(drop=True)


def source_spec(store: Store, source_id: str) -> dict:
    spec = catalogue.source_row(store, source_id)
    if spec is None:
        raise ExplainError(f"Unknown source '{source_id}'.")
    return spec


def latest_grade(store: Store, metric: str) -> tuple[str, str]:
    """(grade, finished_at) of the newest load that wrote the metric or, for formula metrics, a component."""
    info = metric_info(store, metric)
    return catalogue.latest_grade(store, [metric] + formula_components(info))


def leaf_areas(values: pd.DataFrame, tree: AreaTree) -> list[str]:
    """Areas with values none of whose descendants have values: the rows a model learns from."""
    present = set(values["area"].unique().tolist()) - {WHOLE}
    covered: set[str] = set()
    for code in present:
        covered.update(a for a in tree.path(code)[:-1])
    return sorted(present - covered)
