"""Explain the gap between any two points of a metric, where a point is (period, series, vintage).

The questions a spending team argues about most are not "this month against last month" but
*outturn against forecast* ("spend came in £1.2bn above the forecast: caseload or award?") and *this
figure against what the department first told us* (revisions). Each is a comparison of two points:

* **period**: a period label, as for any explanation;
* **series**: ``outturn`` (what happened, the default) or a plan or forecast the department sent
  (``forecast``, ``plan``, ``main_estimate`` … stored as companion metrics, loaders.series);
* **vintage**: ``latest`` (default), ``first`` (each value as first published) or a load number N
  (as at vintage N).

:class:`ComparisonContext` is a :class:`~explain.engine.MetricContext` whose two "periods" are the two
points: its value of an area at the first point is the first side's value, at the second point the
second side's. Every layer of an explanation then runs unchanged and stays exact: formula components
(outturn above forecast: how much from caseload, how much from the average award), segments (areas
or breakdowns, with mix and rate for ratios), drivers where a model exists (the forecast's driver
assumptions against the outturn drivers, when the department sends them as a series of the driver
metrics), and the unexplained part. A gap between two figures for one period is not a movement over
time, so it is not judged against the usual range; the verdict says so.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import pandas as pd

from loaders import Store
from loaders.errors import WhytrendError
from loaders.series import OUTTURN, normalise, series_code, series_words, split_code

from . import narrative
from .data import area_tree, metric_info, resolve_area, resolve_period
from .engine import MetricContext
from .errors import ExplainError
from .numbers import movement_numbers, percent_change_text, period_text
from .results import Explanation
from .verdict import Verdict, direction_of

LATEST, FIRST = "latest", "first"


@dataclass(frozen=True)
class Point:
    """One figure of a metric: a period, a series and a vintage."""

    period: str
    series: str = OUTTURN
    #: 'latest', 'first' (as first published) or a load number (as at that vintage)
    vintage: str | int = LATEST

    def __post_init__(self) -> None:
        object.__setattr__(self, "series", normalise(self.series))
        vintage = self.vintage
        if isinstance(vintage, str) and vintage.strip().lower() not in (LATEST, FIRST):
            text = vintage.strip()
            if not text.isdigit():
                raise ExplainError(f"'{vintage}' is not a vintage: use latest, first (as first published) or a "
                                   "load number such as 3 (whytrend loads SOURCE lists them).")
            vintage = int(text)
        elif isinstance(vintage, str):
            vintage = vintage.strip().lower()
        object.__setattr__(self, "vintage", vintage)

    def text(self, freq: str | None = None) -> str:
        """In words: 'the forecast for 2025-26', 'June 2026 as first published', 'June 2026 as at vintage 3'."""
        when = period_text(self.period, freq)
        out = when if self.series == OUTTURN else f"the {series_words(self.series)} for {when}"
        if self.vintage == FIRST:
            out += " as first published"
        elif isinstance(self.vintage, int):
            out += f" as at vintage {self.vintage}"
        return out

    def short_text(self) -> str:
        """A few words for a chart's end bars: 'Forecast', 'First published', 'Vintage 3', 'Latest'."""
        if self.series != OUTTURN:
            words = series_words(self.series)
            return words[0].upper() + words[1:]
        if self.vintage == FIRST:
            return "First published"
        if isinstance(self.vintage, int):
            return f"Vintage {self.vintage}"
        return "Latest"

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "series": self.series, "vintage": self.vintage}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Point":
        return cls(data["period"], data.get("series", OUTTURN), data.get("vintage", LATEST))


def side_context(store: Store, metric: str, point: Point, tree=None, measure: str = "cash",
                 prices_of: str | None = None) -> MetricContext:
    """The context that reads ``metric``'s values as ``point`` asks (series and vintage), in the
    measure asked for (cash, real terms or per head: explain.measures)."""
    from .measures import CASH, MeasureContext

    ctx = _side_context(store, metric, point, tree)
    return ctx if measure == CASH else MeasureContext(ctx, measure, prices_of)


def _side_context(store: Store, metric: str, point: Point, tree=None) -> MetricContext:
    code = series_code(metric, point.series)
    try:
        metric_info(store, code)
    except ExplainError:
        raise ExplainError(f"{metric} has no {series_words(point.series)} series in {store.shown_url}. Load a "
                           f"source with series = \"{point.series}\" (or a series column) first.") from None
    as_at = point.vintage if isinstance(point.vintage, int) else None
    return MetricContext.load(store, code, as_at=as_at, tree=tree, first_published=point.vintage == FIRST)


class ComparisonContext(MetricContext):
    """Two sides read as two "periods" labelled by the points' words, so the engine's accounting runs
    unchanged on them (see the module docstring)."""

    def __init__(self, store: Store, metric: str, a: Point, b: Point, *, measure: str = "cash",
                 prices_of: str | None = None) -> None:
        tree = area_tree(store)
        self.a, self.b, self.measure = a, b, measure
        self.side_a = side_context(store, metric, a, tree, measure, prices_of)
        self.side_b = side_context(store, metric, b, tree, measure, prices_of)
        info = replace(self.side_b.info, code=metric)
        super().__init__(store, info, tree)
        freq = self.info.frequency
        self.label_a, self.label_b = a.text(freq), b.text(freq)
        if self.label_a == self.label_b:
            raise ExplainError(f"Both points are {self.label_a}: choose a different period, series or vintage.")
        for side, point in ((self.side_a, a), (self.side_b, b)):
            if point.period not in side.periods:
                shown = f"{side.periods[0]} to {side.periods[-1]}" if side.periods else "none"
                raise ExplainError(f"{metric} has no value for {point.text(freq)}; its periods there: {shown}.")

    # the two sides, relabelled ------------------------------------------------------------
    def _relabelled(self, frame: pd.DataFrame, period: str, label: str) -> pd.DataFrame:
        rows = frame[frame["period"] == period]
        return rows.assign(period=label, metric=self.info.code) if "metric" in rows else rows.assign(period=label)

    @cached_property
    def values(self) -> pd.DataFrame:
        return pd.concat([self._relabelled(self.side_a.values, self.a.period, self.label_a),
                          self._relabelled(self.side_b.values, self.b.period, self.label_b)], ignore_index=True)

    @cached_property
    def periods(self) -> list[str]:
        return [self.label_a, self.label_b]

    @cached_property
    def _component_lookup(self) -> dict[str, dict[tuple[str, str], float]]:
        out: dict[str, dict[tuple[str, str], float]] = {code: {} for code in self.components}
        for side, point, label in ((self.side_a, self.a, self.label_a), (self.side_b, self.b, self.label_b)):
            for code, lookup in side._component_lookup.items():
                base = split_code(code)[0]
                out.setdefault(base, {}).update({(area, label): v for (area, p), v in lookup.items()
                                                 if p == point.period})
        return out

    def breakdown_lookup(self, area: str, by: str) -> dict[tuple[str, str, str], float]:
        out = {}
        for side, point, label in ((self.side_a, self.a, self.label_a), (self.side_b, self.b, self.label_b)):
            for (code, segment, period), value in side.breakdown_lookup(area, by).items():
                if period == point.period:
                    out[(split_code(code)[0], segment, label)] = value
        return out

    @cached_property
    def state(self):
        return self.side_b.state

    @cached_property
    def vintage(self) -> int:
        return max(self.side_a.vintage, self.side_b.vintage)

    @cached_property
    def breaks(self) -> list[str]:
        return []

    def first_value(self, area: str, period: str) -> float | None:
        return None  # a comparison names its vintages itself

    # the verdict, events and drivers --------------------------------------------------------
    def _significance(self, area: str, period_from: str, period_to: str) -> dict:
        change = (self.value(area, period_to) or 0.0) - (self.value(area, period_from) or 0.0)
        if self.a.period == self.b.period:
            what = ("a figure and its plan or forecast" if self.a.series != self.b.series
                    else "two vintages of one figure (a revision)")
            reason = (f"This compares {what} for one period, not a movement over time, so it is not judged "
                      "against the usual range.")
        else:
            reason = ("This compares figures of different series or vintages, so it is not judged against "
                      "the usual range of the series' own movements.")
        return Verdict("insufficient", direction_of(change, self.info.higher_is_better), change, reason,
                       method="none", cause="comparison").to_dict()

    def _events(self, area, period_from, period_to, change, segments):
        if self.a.period == self.b.period:
            return ()
        inner = MetricContext._events
        real = _Relabel(self, {self.label_a: self.a.period, self.label_b: self.b.period})
        return inner(real, area, self.a.period, self.b.period, change, segments)

    def _side_panel(self, side: MetricContext, point: Point) -> pd.DataFrame | None:
        """The side's driver values at its period: a forecast's own driver assumptions (the drivers'
        series of the same name) when the department sent them, else None."""
        from .models import build_panel

        drivers = tuple(self.model_version.drivers)
        codes = tuple(series_code(d, point.series) for d in drivers)
        try:
            panel = build_panel(self.store, side.info, codes, tree=self.tree,
                                as_at=point.vintage if isinstance(point.vintage, int) else None)
        except WhytrendError:  # a driver with no such series (or no values): the drivers are not attributed
            return None
        panel = panel.rename(columns=dict(zip(codes, drivers)))
        return panel[panel["period"] == point.period]

    def _drivers(self, area, period_from, period_to, change, notes):
        if self.measure != "cash":
            return self.side_b._drivers(area, period_from, period_to, change, notes)
        return super()._drivers(area, period_from, period_to, change, notes)

    def _attribution(self, period_from: str, period_to: str, leaves: list[str] | None = None):
        """Every leaf area's attribution between the two sides (``leaves`` is not used: a comparison
        has one pair of points, so every area's is worked out once)."""
        key = (period_from, period_to)
        if key not in self._attributions:
            from .attribution import attribute_all

            rows_from = self._side_panel(self.side_a, self.a)
            rows_to = self._side_panel(self.side_b, self.b)
            result = None
            if rows_from is not None and rows_to is not None:
                drivers = list(self.model_version.drivers)
                rows_from, rows_to = rows_from.dropna(subset=drivers), rows_to.dropna(subset=drivers)
                common = sorted(set(rows_from["area"]) & set(rows_to["area"]))
                if common:
                    result = attribute_all(self.fitted, rows_from[rows_from["area"].isin(common)].sort_values("area"),
                                           rows_to[rows_to["area"].isin(common)].sort_values("area"))
            self._attributions[key] = result
        return self._attributions[key]

    def explain_points(self, area: str, *, by: str | None = None) -> Explanation:
        result = self.explain(area, self.label_a, self.label_b, by=by)
        notes = list(result.notes)
        if result.model is not None and not result.drivers and self.a.series != self.b.series:
            notes.append(f"The {series_words(self.a.series if self.a.series != OUTTURN else self.b.series)} has no "
                         "driver assumptions for this model's drivers (send them as the same series of the driver "
                         "metrics), so no part of the gap is attributed to drivers.")
        parts = tuple((part, text) for part, text in result.narrative_parts
                      if part not in ("movement", "verdict", "provisional"))
        opening = (("movement", gap_sentence(self.info, result, self.a, self.b, self.info.frequency)),
                   ("verdict", result.significance["detail"]))
        parts = opening + parts
        result = replace(result, period_from=self.a.period, period_to=self.b.period,
                         points=(self.a.to_dict(), self.b.to_dict()), narrative=narrative.text_of(parts),
                         narrative_parts=parts, notes=tuple(notes))
        if self.measure == "cash":
            return result
        from .measures import cash_split, measured_result

        side_a, side_b = self.side_a, self.side_b
        c_a, c_b = side_a.cash.value(area, self.a.period), side_b.cash.value(area, self.b.period)  # type: ignore[attr-defined]
        scale = side_b.scale  # type: ignore[attr-defined]
        split = cash_split(self.measure, c_a, c_b, result.value_from / scale, result.value_to / scale) \
            if c_a is not None and c_b is not None else ()
        return measured_result(result, side_b.measure_spec, side_b.prices_label, split, side_b.cash.info.unit)  # type: ignore[attr-defined]


class _Relabel:
    """The context seen with the points' real periods (for events, which are dated)."""

    def __init__(self, ctx: ComparisonContext, periods: dict[str, str]) -> None:
        self._ctx, self._back = ctx, {v: k for k, v in periods.items()}

    def value(self, area: str, period: str) -> float | None:
        return self._ctx.value(area, self._back.get(period, period))

    def __getattr__(self, name: str):
        return getattr(self._ctx, name)


def gap_sentence(info, e: Explanation, a: Point, b: Point, freq: str | None) -> str:
    """'Universal Credit spend in 2025-26 was £1.2bn (2.4%) above the forecast for it (£50.0bn), at
    £51.2bn.' or, for a revision, 'The latest figure for June 2026, 3.47 million, is 12,000 (0.3%)
    above June 2026 as first published, 3.46 million.'"""
    unit = info.unit
    shown_from, shown_to, shown_change, _ = movement_numbers(e.value_from, e.value_to, unit)
    size = percent_change_text(e.value_from, e.value_to, unit)
    pct = f" ({size})" if size else ""
    where = f" in {e.area_name}" if e.area is not None else ""
    gap = shown_change.lstrip("+-−")
    side = "above" if e.change > 0 else "below" if e.change < 0 else "the same as"
    measure = f"{gap}{pct} {side}" if e.change else side
    return (f"{info.name}{where}, {b.text(freq)}, was {shown_to}: {measure} {a.text(freq)} "
            f"({shown_from}).")


def explain_points(store: Store, metric: str, a: Point, b: Point, *, area: str | None = None,
                   by: str | None = None, measure: str = "cash", prices_of: str | None = None) -> Explanation:
    """Why ``metric`` differs between points ``a`` and ``b`` (each a period, series and vintage), for
    ``area`` (None = the whole), in cash, real terms or per head. Exact in every layer; not cached
    (the cache keys are periods)."""
    from .measures import check_measure

    measure = check_measure(measure)
    info = metric_info(store, metric)
    periods = MetricContext.load(store, metric).periods
    a = Point(resolve_period(info, a.period, periods).label if a.series == OUTTURN else a.period, a.series, a.vintage)
    b = Point(resolve_period(info, b.period, periods).label if b.series == OUTTURN else b.period, b.series, b.vintage)
    ctx = ComparisonContext(store, metric, a, b, measure=measure, prices_of=prices_of)
    code = resolve_area(ctx.tree, area)
    if ctx.value(code, ctx.label_a) is None or ctx.value(code, ctx.label_b) is None:
        missing = a if ctx.value(code, ctx.label_a) is None else b
        raise ExplainError(f"{metric} has no value for {ctx.tree.name(code)} in {missing.text(info.frequency)}.")
    return ctx.explain_points(code, by=by)


def revision_of(store: Store, metric: str, period: str, *, area: str | None = None,
                by: str | None = None) -> Explanation:
    """How the latest figure for ``period`` differs from the one first published, split by the areas
    (or breakdown values) and formula components that were revised."""
    return explain_points(store, metric, Point(period, vintage=FIRST), Point(period), area=area, by=by)


def series_of(store: Store, metric: str) -> tuple[str, ...]:
    """The plan and forecast series ``metric`` has values in ('forecast', 'plan' …), for a choice."""
    from .data import list_metrics_with_series

    return tuple(sorted(split_code(code)[1] for code in list_metrics_with_series(store)
                        if split_code(code)[0] == metric))
