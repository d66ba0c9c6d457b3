"""The public reads: explain a change, precompute the cache, and the views pages read (headline
cards and trends). Thin functions over :class:`explain.engine.MetricContext`; operations that change
the store and then refresh (load, fit, activate, the demo) are in :mod:`explain.operations`.
"""
from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from loaders import Store
from loaders.periods import from_key
from loaders.vocabulary import is_whole

from . import briefing, cache
from .data import (
    area_tree,
    events,
    latest_grade,
    list_metrics,
    metric_frame,
    metric_info,
    metrics_with_models,
    model_spec,
    resolve_area,
    resolve_period,
)
from .engine import MetricContext
from .errors import ExplainError
from .progress import Report, Stage
from .results import Explanation, Headline, PrecomputeSummary, Trend, TrendPoint
from .significance import xmr_chart
from .verdict import Verdict, series_verdict

log = logging.getLogger(__name__)
SPARK_POINTS = 24


def explain_change(
    store: Store,
    metric: str,
    period_from: str,
    period_to: str,
    *,
    area: str | None = None,
    by: str | None = None,
    as_at: int | None = None,
    use_cache: bool = True,
    fit_if_missing: bool = True,
    measure: str = "cash",
    prices_of: str | None = None,
) -> Explanation:
    """Why ``metric`` moved from ``period_from`` to ``period_to`` for ``area`` (None = the whole).

    Reads a precomputed explanation when one exists for the current data vintage and model
    version; otherwise computes it (fitting version 1 of the driver model first when the
    metric has a model spec but no fitted version) and caches it. ``measure``: cash (default), real
    (real terms, in the prices of ``prices_of`` or the manifest's year) or per_head
    (explain.measures; computed, not cached).
    """
    from .measures import CASH, MeasureContext, check_measure

    measure = check_measure(measure)
    if fit_if_missing:
        ensure_model(store, metric)  # imports scikit-learn only for a metric with a [[model]]
    ctx = MetricContext.load(store, metric, as_at=as_at)
    code = resolve_area(ctx.tree, area)
    a = resolve_period(ctx.info, period_from, ctx.periods).label
    b = resolve_period(ctx.info, period_to, ctx.periods).label
    if measure != CASH:
        return MeasureContext(ctx, measure, prices_of).explain(code, a, b, by=by)
    cacheable = use_cache and as_at is None
    if cacheable:
        hit = cache.get(store, metric=metric, area=code, period_from=a, period_to=b, by=by)
        if hit is not None:
            return hit
    result = ctx.explain(code, a, b, by=by)
    if cacheable:
        cache.put_many(store, [result], model_version=ctx.state.model_version)
    return result


def ensure_model(store: Store, metric: str):
    """explain.models.ensure_model, imported only when the metric has a ``[[model]]`` (so explaining
    and precomputing metrics without models never imports scikit-learn)."""
    if model_spec(store, metric) is None:
        return None
    from .models import ensure_model as ensure

    return ensure(store, metric)


def cached_explanation(store: Store, metric: str, period_from: str, period_to: str, *,
                       area: str | None = None, by: str | None = None) -> Explanation | None:
    """A precomputed explanation for the current vintage and model, or None (never computes).

    One key lookup: the entry must carry the metric's current state (loaders.freshness). ``area`` is
    an area code (None for the whole) and the periods are labels as stored (the pages pass labels
    they listed); anything else is simply not found."""
    return cache.get(store, metric=metric, area=None if is_whole(area) else area, period_from=period_from,
                     period_to=period_to, by=by)


def comparison_periods(periods: list[str], freq: str) -> dict[str, tuple[str, str]]:
    """The default comparisons for the latest period: previous period and a year earlier."""
    out: dict[str, tuple[str, str]] = {}
    if not periods:
        return out
    if not freq:
        if len(periods) >= 2:
            out["previous"] = (periods[-2], periods[-1])
        return out
    latest = from_key(freq, _start_of(periods[-1], freq))
    available = set(periods)
    previous = latest.shift(-1).label  # the period before, not the last one stored: a gap is not a month
    if previous in available:
        out["previous"] = (previous, periods[-1])
    year = latest.year_earlier().label
    if year in available and year != periods[-1]:
        out["year"] = (year, periods[-1])
    return out


def _start_of(label: str, freq: str) -> str:
    from loaders.periods import parse_period

    return parse_period(label, prefer=freq).start.isoformat()


def precompute(
    store: Store,
    *,
    metrics: list[str] | None = None,
    progress: Report | None = None,
    workers: int = 1,
) -> PrecomputeSummary:
    """Explain the latest period-on-period and year-on-year movement of every metric for every
    area, and store the results keyed by data vintage and model version (pages read these).

    ``workers`` > 1 shares the metrics among forked processes (the CLI uses both cores after a
    load; the app keeps one, as its workers already use the cores)."""
    started = time.perf_counter()
    infos = [m for m in list_metrics(store) if metrics is None or m.code in metrics]
    codes = [info.code for info in infos]
    workers = max(1, min(workers, len(codes), os.cpu_count() or 1))
    if workers > 1 and "fork" in mp.get_all_start_methods():
        # models are fitted here first (once), so no two workers fit the same metric
        for code in codes:
            ensure_model(store, code)
        context = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # one metric per task, biggest first, so a slow metric does not leave a core idle
            modelled = set(metrics_with_models(store))
            order = sorted(codes, key=lambda c: c not in modelled)
            results = list(pool.map(_precompute_share, [store.url] * len(order), [[c] for c in order]))
        written = sum(r[0] for r in results)
        done = sum(r[1] for r in results)
        skipped = tuple(x for r in results for x in r[2])
    else:
        written, done, skipped = _precompute_metrics(store, codes, progress)
    if progress:
        progress(Stage("refresh", len(codes), len(codes), "Done"))
    return PrecomputeSummary(written, done, time.perf_counter() - started, tuple(skipped))


def _precompute_share(url: str, codes: list[str]) -> tuple[int, int, tuple[str, ...]]:
    """A worker's share: its own engine (never one inherited through fork)."""
    return _precompute_metrics(Store(url), codes, None)


def _precompute_metrics(store: Store, codes: list[str], progress) -> tuple[int, int, tuple[str, ...]]:
    tree = area_tree(store)
    written, skipped, done = 0, [], 0
    for index, code in enumerate(codes):
        if progress:
            progress(Stage("refresh", index, len(codes), f"Explaining {code}"))
        try:
            ensure_model(store, code)
            ctx = MetricContext.load(store, code, tree=tree)
            if ctx.values.empty:
                continue
            pairs = comparison_periods(ctx.periods, ctx.info.frequency)
            model_version = ctx.state.model_version
            already = cache.cached_pairs(store, code, data_vintage=ctx.vintage, model_version=model_version)
            results = []
            ctx.prepare(dict.fromkeys(pairs.values()))
            ctx.keep_panel()
            for area in sorted(ctx._areas_with_values):
                for a, b in dict.fromkeys(pairs.values()):
                    if (area, a, b) in already:
                        continue
                    if ctx.value(area, a) is None or ctx.value(area, b) is None:
                        continue
                    results.append(ctx.explain(area, a, b))
            written += cache.put_many(store, results, model_version=model_version, replace=False)
            cache.prune(store, code, keep_vintage=ctx.vintage, keep_model_version=model_version)
            done += 1
        except ExplainError as exc:
            skipped.append(f"{code}: {exc}")
            log.warning("precompute skipped %s: %s", code, exc)
    return written, done, tuple(skipped)


def headline(store: Store, metric: str, *, area: str | None = None) -> Headline:
    """The summary card of a metric: latest value, changes, SPC status, sparkline and the cached 'why'."""
    info = metric_info(store, metric)
    tree = area_tree(store)
    code = resolve_area(tree, area)
    frame = metric_frame(store, info, areas=[code])
    frame = frame.dropna(subset=["value"]).sort_values("start")
    grade, updated = latest_grade(store, metric)
    if frame.empty:
        return Headline(info, code, "", None, None, None, None, None, "unknown", (), "", 0, grade, updated)
    labels, values = frame["period"].tolist(), frame["value"].astype(float).tolist()
    latest = labels[-1]
    pairs = comparison_periods(labels, info.frequency)
    lookup = dict(zip(labels, values))
    previous = pairs.get("previous", (None, None))[0]
    year = pairs.get("year", (None, None))[0]
    window = values[-SPARK_POINTS:]
    why, verdict = "", None
    reasons: tuple[briefing.Reason, ...] = ()
    if previous:
        try:
            cached = cached_explanation(store, metric, previous, latest, area=code)
        except ExplainError:
            cached = None
        why = cached.sentence if cached else ""
        reasons = briefing.reasons(cached, _metric_names(store)) if cached else ()
        vintage = cached.data_vintage if cached else 0
        # the verdict the Explain page gives for this comparison: the stored one, else the same function
        verdict = Verdict.from_dict(cached.significance) if cached else series_verdict(
            frame, previous, latest, freq=info.frequency, unit=info.unit, higher_is_better=info.higher_is_better,
            breaks=store.series_breaks(metric))
    else:
        vintage = 0
    if not vintage:
        vintage = int(frame["load_id"].max())
    return Headline(
        metric=info, area=code, latest_period=latest, latest_value=lookup[latest], previous_period=previous,
        previous_value=lookup.get(previous) if previous else None, year_ago_period=year,
        year_ago_value=lookup.get(year) if year else None, spc_status=verdict.kind if verdict else "unknown",
        sparkline=tuple(window), why=why, data_vintage=vintage, grade=grade, last_updated=updated,
        provisional=frame["status"].iloc[-1] == "p", verdict=verdict, reasons=reasons,
    )


def _metric_names(store: Store) -> dict[str, str]:
    """Metric names by code, for the drivers and components a reason names."""
    return {m.code: m.name for m in list_metrics(store)}


def trend(store: Store, metric: str, *, area: str | None = None, start: str | None = None, end: str | None = None,
          as_first_published: bool = False, measure: str = "cash", prices_of: str | None = None) -> Trend:
    """A series with XmR limits over the shown window, special causes, provisional flags and
    the first-published value beside the latest one (what revisions changed)."""
    from .measures import CASH, MeasureContext, check_measure

    info = metric_info(store, metric)
    tree = area_tree(store)
    code = resolve_area(tree, area)
    if check_measure(measure) != CASH:  # real terms or per head (explain.measures): the measured series
        measured = MeasureContext(MetricContext.load(store, metric, tree=tree), measure, prices_of)
        first_measured = MeasureContext(MetricContext.load(store, metric, tree=tree, first_published=True), measure,
                                        prices_of)
        latest = measured.values[measured.values["area"] == code].sort_values("start")
        first = first_measured.values[first_measured.values["area"] == code]
        info = measured.info
    else:
        latest = metric_frame(store, info, areas=[code]).sort_values("start")
        first = metric_frame(store, info, areas=[code], first_published=True)
    first_values = dict(zip(first["period"], first["value"]))
    frame = latest if not as_first_published else first.sort_values("start")
    if start:
        frame = frame[frame["start"] >= resolve_period(info, start).start.isoformat()]
    if end:
        frame = frame[frame["start"] <= resolve_period(info, end).start.isoformat()]
    rows = _with_gaps(frame, info.frequency)  # a missing period is a gap on the chart, never one step
    values = [float(v) if v == v else math.nan for v in rows["value"]]
    chart = xmr_chart(values, higher_is_better=info.higher_is_better) if sum(not math.isnan(v) for v in values) >= 3 \
        else None
    points = []
    for i, row in enumerate(rows.itertuples()):
        points.append(TrendPoint(
            period=row.period, start=row.start, value=None if math.isnan(values[i]) else values[i], status=row.status,
            first_published=_clean(first_values.get(row.period)), vintage=int(row.load_id),
            variation=chart.variation[i] if chart else "common_cause",
            rules=tuple(sorted(chart.rules[i])) if chart else ()))
    shown = [p.period for p in points if p.value is not None]
    verdict = None
    if shown and info.frequency:
        previous = from_key(info.frequency, _start_of(shown[-1], info.frequency)).shift(-1).label
        verdict = series_verdict(latest, previous, shown[-1], freq=info.frequency, unit=info.unit,
                                 higher_is_better=info.higher_is_better, breaks=store.series_breaks(metric))
    return Trend(metric=metric, area=code, area_name=tree.name(code), unit=info.unit, points=tuple(points),
                 centre=chart.centre if chart else None, upper_limit=chart.upper_limit if chart else None,
                 lower_limit=chart.lower_limit if chart else None, trial_limits=chart.trial_limits if chart else True,
                 events=tuple(events(store, metric)), verdict=verdict)


def _with_gaps(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    """The frame with a row (no value) for every period missing between its first and last."""
    if frame.empty or not freq:
        return frame
    present = dict(zip(frame["start"], range(len(frame))))
    period = from_key(freq, frame["start"].iloc[0])
    last = frame["start"].iloc[-1]
    rows = []
    while period.start.isoformat() <= last:
        start = period.start.isoformat()
        if start in present:
            rows.append(frame.iloc[present[start]].to_dict())
        else:
            rows.append({"period": period.label, "start": start, "value": math.nan, "status": "", "load_id": 0})
        period = period.shift(1)
    return pd.DataFrame(rows, columns=frame.columns)


def _clean(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
