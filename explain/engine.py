"""Assemble an explanation: significance, formula components, segments, drivers, residual,
narrative.

A :class:`MetricContext` reads everything about one metric once (all areas and periods,
its components, its active driver model) so that explaining many areas and period pairs
(the precompute after a load) costs arithmetic, not queries. Driver attributions are
computed once per period pair for every leaf area and summed up the hierarchy, which is
exact because baseline SHAP values of a sum are the sums of the parts.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from loaders import Store, model_store
from loaders.formula import parse_formula
from loaders.freshness import MetricState
from loaders.periods import from_key

from . import narrative, panel_cache
from .accounting import account, account_many
from .data import (
    WHOLE,
    AreaTree,
    area_tree,
    events,
    formula_components,
    leaf_areas,
    list_metrics,
    metric_frame,
    metric_info,
    model_spec,
    read_metric_frame,
)
from .errors import ExplainError
from .identifiability import span_paths, uncertain_splits
from .known_events import EventCause, candidate_events
from .model_quality import judge, r2_pair
from .results import ComponentPart, DriverContribution, Explanation, MetricInfo, ModelSummary, SegmentPart
from .segments import SegmentSplit, mean_segments, ratio_segments, sum_segments
from .significance import bootstrap_change_interval, count_change_interval
from .verdict import Outcome, Verdict, direction_of, judge_movement, verdict_ordinal

if TYPE_CHECKING:
    from .attribution import BootstrapAttribution

log = logging.getLogger(__name__)

FORMULA_GAP = "Difference from the formula"
_COUNT_WORDS = ("count", "number", "households", "people", "cases", "attendances", "admissions", "pupils",
                "applications", "decisions", "claimants", "patients", "staff")


@dataclass
class MetricContext:
    """Everything needed to explain one metric, read once."""

    store: Store
    info: MetricInfo
    tree: AreaTree
    as_at: int | None = None
    _attributions: dict = field(default_factory=dict)
    #: each value as first published instead of as at ``as_at`` (explain.comparison)
    first_published: bool = False
    #: (the metric's state when the panel was made, "store" or "built"): what keep_panel may keep
    _panel_source: tuple = field(default=(None, ""), repr=False)
    #: values as first published, per area, read one area at a time until a precompute reads them all
    _first_of_area: dict = field(default_factory=dict, repr=False)
    #: each area's values aligned to the periods, as asked for (:meth:`_series`)
    _area_series: dict = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, store: Store, metric: str, *, as_at: int | None = None,
             tree: AreaTree | None = None, first_published: bool = False) -> "MetricContext":
        """Read-only: a context never fits or writes anything (call :func:`explain.models.ensure_model`
        first where a missing model should be fitted)."""
        return cls(store, metric_info(store, metric), tree or area_tree(store), as_at,
                   first_published=first_published)

    # ------------------------------------------------------------- data
    @cached_property
    def values(self) -> pd.DataFrame:
        frame = metric_frame(self.store, self.info, as_at=self.as_at, first_published=self.first_published)
        if frame.empty:
            raise ExplainError(f"{self.info.code} has no data in {self.store.url}. Load its source first.")
        return frame

    @cached_property
    def periods(self) -> list[str]:
        starts = self.values.drop_duplicates("period").sort_values("start")
        return starts["period"].tolist()

    @cached_property
    def _lookup(self) -> dict[tuple[str, str], float]:
        frame = self.values
        return _by_area_and_period(frame)

    def _series(self, area: str) -> list[float]:
        """The area's values aligned to ``periods`` (NaN where missing), built when first asked for: one
        explanation in a fresh process needs one area's, a precompute every area's once."""
        series = self._area_series.get(area)
        if series is None:
            lookup = self._lookup
            series = self._area_series[area] = [lookup.get((area, p), math.nan) for p in self.periods]
        return series

    @cached_property
    def _status(self) -> dict[tuple[str, str], str]:
        frame = self.values[self.values["status"] != ""]
        return _by_area_and_period(frame, "status")

    def status(self, area: str, period: str) -> str:
        return self._status.get((area, period), "")

    def value(self, area: str, period: str) -> float | None:
        value = self._lookup.get((area, period))
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    @cached_property
    def _first_lookup(self) -> dict[tuple[str, str], float]:
        """Each value as first published (for the revisions sentence)."""
        frame = metric_frame(self.store, self.info, as_at=self.as_at, first_published=True)
        return _by_area_and_period(frame)

    def first_value(self, area: str, period: str) -> float | None:
        """The value of ``area`` in ``period`` as first published, when it has been revised since.
        Read for every area at once when a precompute has asked (:meth:`prepare`), else for this
        area alone: one explanation in a fresh process should not read the metric a second time."""
        lookup = self.__dict__.get("_first_lookup")
        if lookup is None:
            lookup = self._first_of_area.get(area)
            if lookup is None:
                frame = read_metric_frame(self.store, self.info, areas=[area], breakdown="", as_at=self.as_at,
                                          first_published=True)
                lookup = self._first_of_area[area] = _by_area_and_period(frame)
        first, latest = lookup.get((area, period)), self.value(area, period)
        if first is None or latest is None or math.isnan(first):
            return None
        return float(first) if abs(latest - first) > 1e-9 * max(1.0, abs(latest)) else None

    @cached_property
    def components(self) -> list[str]:
        return formula_components(self.info)

    @cached_property
    def _component_lookup(self) -> dict[str, dict[tuple[str, str], float]]:
        out = {}
        for code in self.components:
            frame = metric_frame(self.store, code, as_at=self.as_at, first_published=self.first_published)
            out[code] = _by_area_and_period(frame)
        return out

    def component_values(self, area: str, period: str) -> dict[str, float] | None:
        out = {}
        for code in self.components:
            value = self._component_lookup[code].get((area, period))
            if value is None or math.isnan(value):
                return None
            out[code] = float(value)
        return out

    @cached_property
    def state(self) -> MetricState:
        """The metric's data vintage and model version (loaders.freshness): what its cache keys carry."""
        return self.store.metric_state(self.info.code)

    @cached_property
    def vintage(self) -> int:
        """The data vintage the numbers come from: the one asked for (``as_at``), else the latest."""
        return self.state.data_vintage if self.as_at is None else min(self.as_at, self.state.data_vintage)

    @cached_property
    def breaks(self) -> list[str]:
        """Periods where the series breaks (the manifest's ``[[event]] break = true``)."""
        return self.store.series_breaks(self.info.code)

    @cached_property
    def spec(self) -> dict | None:
        return model_spec(self.store, self.info.code)

    @cached_property
    def model_version(self):
        """The active model version's metadata, or None (never fitted). A version fitted with explicit
        drivers for a metric with no ``[[model]]`` entry counts too: it is what the reader activated.
        scikit-learn and the model code are imported only for a metric that has one (a load of
        metrics without models never pays for them)."""
        if model_store.version_row(self.store, self.info.code) is None:
            return None
        from .models import get_version

        return get_version(self.store, self.info.code)

    @cached_property
    def fitted(self):
        version = self.model_version
        if not version:
            return None
        from .models import load_fitted

        return load_fitted(self.store, self.info.code, version.version)

    @cached_property
    def panel(self) -> pd.DataFrame | None:
        """The driver panel of the active model: as the last precompute kept it in the store when that
        is still current (explain.panel_cache), else built from the store's values."""
        if self.fitted is None:
            return None
        from .models import build_panel

        state = self.state  # read before the data: a panel is kept under the state it was built from
        drivers = self.model_version.drivers
        if self.as_at is None:
            stored = panel_cache.stored_panel(self.store, self.info.code, drivers)
            if stored is not None:
                self._panel_source = state, "store"
                return stored
        self._panel_source = state, "built"
        return build_panel(self.store, self.info, drivers, tree=self.tree, as_at=self.as_at)

    def keep_panel(self) -> bool:
        """Keep the driver panel in the store for fresh processes (the precompute calls this once it has
        built it); False when there is nothing new to keep or the metric changed meanwhile."""
        if self.as_at is not None or "panel" not in self.__dict__ or self.panel is None:
            return False
        state, source = self._panel_source
        return source == "built" and panel_cache.keep(self.store, self.info.code, state, self.panel)

    @cached_property
    def leaves(self) -> list[str]:
        return leaf_areas(self.values, self.tree)

    def leaves_under(self, area: str) -> list[str]:
        if area == WHOLE:
            return self.leaves
        path_members = set()
        for leaf in self.leaves:
            if area in self.tree.path(leaf):
                path_members.add(leaf)
        return sorted(path_members)

    @cached_property
    def _areas_with_values(self) -> set[str]:
        return set(self.values["area"].unique().tolist())

    def children(self, area: str) -> list[str]:
        """Children with data; the whole's single root (England) is looked through to its children."""
        kids = self.tree.children(area)
        if area == WHOLE and len(kids) == 1:
            return self.children(kids[0])
        if area == WHOLE and not kids:
            return []
        return [k for k in kids if k in self._areas_with_values]

    # --------------------------------------------------------- explanation
    def explain(self, area: str, period_from: str, period_to: str, *, by: str | None = None) -> Explanation:
        info = self.info
        for label in (period_from, period_to):
            if label not in self.periods:
                raise ExplainError(f"{info.code} has no value for {label}; periods with data: "
                                   f"{self.periods[0]} to {self.periods[-1]}.")
        value_from, value_to = self.value(area, period_from), self.value(area, period_to)
        if value_from is None or value_to is None:
            missing = period_from if value_from is None else period_to
            raise ExplainError(f"{info.code} has no value for {self.tree.name(area)} in {missing} "
                               "(missing or suppressed).")
        change = value_to - value_from
        notes: list[str] = []
        significance = self._significance(area, period_from, period_to)
        components = self._components(area, period_from, period_to, change, notes)
        segments = self._segments(area, period_from, period_to, change, by, notes)
        drivers, unexplained, model, warnings, uncertain = self._drivers(area, period_from, period_to, change, notes)
        warnings = list(warnings) + _incomplete(segments, period_from, period_to)
        causes = self._events(area, period_from, period_to, change, segments)
        earlier = min((period_from, period_to), key=self.periods.index)
        revised_from = self.first_value(area, earlier)
        names = {code: self._metric_name(code) for code in [d.driver for d in drivers] + [c.component for c in components]}
        parts = narrative.narrate(
            info=info, area_name=None if area == WHOLE else self.tree.name(area), period_from=period_from, period_to=period_to,
            value_from=value_from, value_to=value_to, change=change, significance=significance, drivers=drivers,
            unexplained=unexplained, components=components, segments=segments, model=model,
            data_vintage=self.vintage, by=by, driver_names=names, warnings=warnings,
            provisional=self.status(area, period_to) == "p", events=causes, uncertain=uncertain,
            revised=(earlier, revised_from) if revised_from is not None else None)
        return Explanation(
            metric=info.code, area=None if area == WHOLE else area, period_from=period_from, period_to=period_to,
            value_from=value_from, value_to=value_to, change=change, significance=significance,
            drivers=drivers, unexplained=unexplained, model=model, components=components, segments=segments,
            narrative=narrative.text_of(parts), data_vintage=self.vintage, by=by, unit=info.unit,
            metric_name=info.name, area_name=self.tree.name(area), warnings=tuple(warnings), notes=tuple(notes),
            narrative_parts=parts, events=causes, uncertain_splits=uncertain,
            revised_from=revised_from if earlier == period_from else None)

    @cached_property
    def _event_rows(self) -> list[dict]:
        return events(self.store, self.info.code)

    def _events(self, area: str, period_from: str, period_to: str, change: float,
                segments: tuple[SegmentPart, ...]) -> tuple[EventCause, ...]:
        """Known events inside the span that touch this metric (explain.known_events), each with the change
        in the areas it touches: summed from those areas' own values for an additive metric, else
        from the segments when the touched areas are exactly some of them."""
        if not self._event_rows:
            return ()
        by_segment = {sg.segment: sg.contribution for sg in segments}

        def change_in(codes: list[str]) -> float | None:
            if self.info.aggregation == "sum":
                pairs = [(self.value(c, period_from), self.value(c, period_to)) for c in codes]
                if pairs and all(a is not None and b is not None for a, b in pairs):
                    return math.fsum(b - a for a, b in pairs)
            if codes and all(c in by_segment for c in codes):
                return math.fsum(by_segment[c] for c in codes)
            return None

        return candidate_events(
            self._event_rows, metric=self.info.code, freq=self.info.frequency, period_from=period_from,
            period_to=period_to, area=None if area == WHOLE else area, change=change, path=self.tree.path,
            change_in=change_in, name=self.tree.name)

    @cached_property
    def _names(self) -> dict[str, str]:
        return {m.code: m.name for m in list_metrics(self.store)}

    def _metric_name(self, code: str) -> str:
        """A driver or component as people call it ('claimant count'), for the narrative."""
        name = self._names.get(code)
        return name[0].lower() + name[1:] if name and not name[:2].isupper() else (name or code.replace("_", " "))

    def _significance(self, area: str, period_from: str, period_to: str) -> dict:
        """The verdict on the movement (explain.verdict), the one every page reads. With too few earlier
        changes to judge, an interval on the change itself: exact Poisson for counts, else a bootstrap
        over the area's parts."""
        info = self.info
        verdict = self._verdict(area, period_from, period_to)
        if verdict.cause != "few":  # judged, or not judgeable at all (no value, a break between the periods)
            return verdict.to_dict()
        first, second = sorted((period_from, period_to), key=self.periods.index)
        a, b = self.value(area, first), self.value(area, second)
        pairs = [(self.value(k, first), self.value(k, second)) for k in self.children(area)]
        pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
        if self._is_count(a, b):
            result = count_change_interval(a, b, higher_is_better=info.higher_is_better, unit=info.unit)
        elif len(pairs) >= 2 and info.aggregation in ("sum", "mean"):
            result = bootstrap_change_interval([x for x, _ in pairs], [y for _, y in pairs],
                                               statistic="sum" if info.aggregation == "sum" else "mean",
                                               higher_is_better=info.higher_is_better, unit=info.unit)
        else:
            return verdict.to_dict()
        if result.beyond_normal_variation is None:
            return verdict.to_dict()
        change = verdict.change
        outcome: Outcome = "beyond" if result.beyond_normal_variation else "within"
        return Verdict(outcome, direction_of(change, info.higher_is_better), change, result.detail,
                       method=result.method, lower=result.ci_low, upper=result.ci_high,
                       span=verdict.span, n_changes=verdict.n_changes).to_dict()

    @cached_property
    def _ordinals(self) -> list[int]:
        """Each period's position on the calendar (a missing month is a gap), as explain.verdict counts."""
        freq = self.info.frequency
        firsts = self.values.drop_duplicates("period")
        starts = dict(zip(firsts["period"].tolist(), firsts["start"].tolist()))
        return [from_key(freq, starts[p]).ordinal for p in self.periods] if freq else list(range(len(self.periods)))

    @cached_property
    def _break_ordinals(self) -> list[int]:
        """The manifest's series breaks (``[[event]] break = true``) as calendar positions."""
        return [o for o in (verdict_ordinal(p, self.info.frequency) for p in self.breaks) if o is not None]

    @cached_property
    def _status_breaks(self) -> dict[str, list[int]]:
        """Per area, the positions of values published with status 'b' (a break in the series)."""
        position = dict(zip(self.periods, self._ordinals))
        out: dict[str, list[int]] = {}
        for (area, period), status in self._status.items():
            if status == "b":
                out.setdefault(area, []).append(position[period])
        return out

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.periods)}

    @cached_property
    def _ordinal_labels(self) -> dict[int, str]:
        return dict(zip(self._ordinals, self.periods))

    def _verdict(self, area: str, period_from: str, period_to: str) -> Verdict:
        """explain.verdict on this area's series, from the context's cached arrays (the same answer as
        series_verdict on the area's rows, without filtering the frame for every explanation)."""
        info = self.info
        ordinals = self._ordinals
        series = self._series(area)
        points = {o: v for o, v in zip(ordinals, series) if v == v and math.isfinite(v)}
        position = self._positions
        breaks = self._break_ordinals + self._status_breaks.get(area, [])
        labels = self._ordinal_labels
        return judge_movement(points, ordinals[position[period_from]], ordinals[position[period_to]],
                              label=lambda o: labels.get(o, str(o)), freq=info.frequency, unit=info.unit,
                              higher_is_better=info.higher_is_better, breaks=sorted(set(breaks)))

    def _is_count(self, a: float | None, b: float | None) -> bool:
        unit = self.info.unit.lower()
        whole = a is not None and b is not None and float(a).is_integer() and float(b).is_integer()
        return whole and a >= 0 and b >= 0 and any(word in unit for word in _COUNT_WORDS)

    def _components(self, area: str, period_from: str, period_to: str, change: float,
                    notes: list[str]) -> tuple[ComponentPart, ...]:
        if not self.info.formula:
            return ()
        formula = parse_formula(self.info.formula)
        leaves = self.leaves_under(area) if self.info.aggregation != "formula" else []
        if self.info.aggregation != "formula" and leaves and leaves != [area]:
            rows_a = {leaf: self.component_values(leaf, period_from) for leaf in leaves}
            rows_b = {leaf: self.component_values(leaf, period_to) for leaf in leaves}
            usable = [leaf for leaf in leaves if rows_a[leaf] and rows_b[leaf]]
            if not usable:
                notes.append("Formula components are not available for this area's parts.")
                return ()
            parts = account_many(formula, pd.DataFrame([rows_a[x] for x in usable], index=usable),
                                 pd.DataFrame([rows_b[x] for x in usable], index=usable))
            contributions = {c: float(parts[c].sum()) for c in formula.components}
            sums_a = {c: sum(rows_a[x][c] for x in usable) for c in formula.components}
            sums_b = {c: sum(rows_b[x][c] for x in usable) for c in formula.components}
            out = [ComponentPart(c, contributions[c], sums_a[c], sums_b[c]) for c in formula.components]
            formula_to = math.fsum(float(formula.evaluate(rows_b[x])) for x in usable)
        else:
            a, b = self.component_values(area, period_from), self.component_values(area, period_to)
            if not a or not b:
                notes.append("Formula components are not available for this area and these periods.")
                return ()
            result = account(formula, a, b)
            out = [ComponentPart(p.component, p.contribution, p.value_from, p.value_to) for p in result.components]
            formula_to = result.value_to
        gap = change - math.fsum(p.contribution for p in out)
        if abs(gap) > 1e-9 * max(1.0, abs(change)):
            out.append(ComponentPart(FORMULA_GAP, gap))
            published = self.value(area, period_to)
            level_gap = published - formula_to
            share = f" ({level_gap / published:+.1%} of the published value)" if published else ""
            unit = self.info.unit
            notes.append(f"In {period_to} the published value ({narrative.format_value(published, unit, 4)}) and the "
                         f"formula {self.info.formula} ({narrative.format_value(formula_to, unit, 4)}) differ by "
                         f"{narrative.signed(level_gap, unit)}{share}; the change in that difference, "
                         f"{narrative.signed(gap, unit)}, is shown as '{FORMULA_GAP}'.")
        return tuple(out)

    def _segments(self, area: str, period_from: str, period_to: str, change: float, by: str | None,
                  notes: list[str]) -> tuple[SegmentPart, ...]:
        if by:
            return self._breakdown_segments(area, period_from, period_to, change, by, notes)
        kids = self.children(area)
        if not kids:
            return ()
        names = {k: self.tree.name(k) for k in kids}
        split = self._split({k: self.value(k, period_from) for k in kids}, {k: self.value(k, period_to) for k in kids},
                            lambda k, p: self.component_values(k, p), kids, period_from, period_to, area, notes)
        return self._to_parts(split, names, change)

    def breakdown_lookup(self, area: str, by: str) -> dict[tuple[str, str, str], float]:
        """(metric or component code, value of ``by``, period label) -> value, for one area."""
        codes = [self.info.code] + self.components
        frame = self.store.observations(codes, areas=[area], breakdown=None, periods=None, as_at=self.as_at,
                                        first_published=self.first_published)
        prefix = f"{by}="
        frame = frame[frame["breakdown"].str.startswith(prefix) & ~frame["breakdown"].str.contains(";")]
        if frame.empty:
            return {}
        keys = frame[["freq", "period"]].drop_duplicates()
        labels = {start: from_key(f, start).label for f, start in zip(keys["freq"].tolist(), keys["period"].tolist())}
        frame = frame.assign(label=frame["period"].map(labels), segment=frame["breakdown"].str[len(prefix):])
        return {(m, sg, p): v for m, sg, p, v in zip(frame["metric"], frame["segment"], frame["label"], frame["value"])}

    def _breakdown_segments(self, area, period_from, period_to, change, by, notes) -> tuple[SegmentPart, ...]:
        lookup = self.breakdown_lookup(area, by)
        if not lookup:
            raise ExplainError(f"{self.info.code} has no breakdown by '{by}' for {self.tree.name(area)}.")
        segs = sorted({sg for _, sg, _ in lookup})

        def comps(segment, period):
            out = {c: lookup.get((c, segment, period)) for c in self.components}
            return None if any(v is None or math.isnan(v) for v in out.values()) else out

        split = self._split({sg: lookup.get((self.info.code, sg, period_from)) for sg in segs},
                            {sg: lookup.get((self.info.code, sg, period_to)) for sg in segs},
                            comps, segs, period_from, period_to, area, notes)
        return self._to_parts(split, {sg: sg for sg in segs}, change)

    def _split(self, values_from, values_to, comps, keys, period_from, period_to, area, notes) -> SegmentSplit | None:
        aggregation = self.info.aggregation
        parent_from, parent_to = self.value(area, period_from), self.value(area, period_to)
        clean_from = {k: v for k, v in values_from.items() if v is not None and not math.isnan(v)}
        clean_to = {k: v for k, v in values_to.items() if v is not None and not math.isnan(v)}
        if aggregation == "sum":
            return sum_segments(clean_from, clean_to, parent_from=parent_from, parent_to=parent_to)
        if aggregation == "mean":
            return mean_segments(clean_from, clean_to)
        parts = parse_formula(self.info.formula).ratio_parts()
        if parts is None:
            notes.append("Segments are not split for this formula (only ratios of sums split into mix and rate).")
            return None
        numerator, denominator, scale = parts
        num_from: dict[str, float] = {}
        den_from: dict[str, float] = {}
        num_to: dict[str, float] = {}
        den_to: dict[str, float] = {}
        for key in keys:
            for period, num, den in ((period_from, num_from, den_from), (period_to, num_to, den_to)):
                values = comps(key, period)
                if values:
                    num[key] = float(numerator.evaluate(values))
                    den[key] = float(denominator.evaluate(values))
        if not den_from or not den_to:
            return None
        return ratio_segments(num_from, den_from, num_to, den_to, scale=scale)

    def _to_parts(self, split: SegmentSplit | None, names: dict[str, str], change: float) -> tuple[SegmentPart, ...]:
        if split is None:
            return ()
        parts = [SegmentPart(sg.segment, names.get(sg.segment, sg.segment), sg.contribution, sg.value_from,
                             sg.value_to, sg.mix, sg.rate, sg.presence) for sg in split.segments]
        gap = change - math.fsum(p.contribution for p in parts)
        if abs(gap) > 1e-9 * max(1.0, abs(change)):
            parts.append(SegmentPart("other", "Not allocated to a segment", gap, presence="residual"))
        return tuple(parts)

    def _drivers(self, area, period_from, period_to, change, notes):
        """(drivers, unexplained, model summary, warnings, uncertain splits) for ``area``."""
        if self.fitted is None:
            return (), change, None, (), ()
        version = self.model_version
        model = ModelSummary(version.kind, version.version, version.scores.get("r2"), version.data_vintage,
                             version.drivers + version.pseudo_drivers, version.scores.get("baseline_r2"),
                             version.scores.get("mae"), version.scores.get("baseline_mae"))
        leaves = self.leaves_under(area)
        every = self._attribution(period_from, period_to, leaves)
        if every is None or not set(leaves) & set(every.point.areas):
            notes.append("The driver model has no complete driver values for these periods; nothing attributed.")
            return (), change, model, (), ()
        paired = [a for a in leaves if a in set(every.point.areas)]
        weights = np.full(len(paired), 1.0 / len(paired)) if self.info.aggregation == "mean" else None
        result = every.for_areas(paired, weights=weights)
        drivers = tuple(DriverContribution(f, result.whole[f], result.whole_low[f], result.whole_high[f])
                        for f in result.features)
        unexplained = change - math.fsum(d.contribution for d in drivers)
        if len(paired) < len(leaves):
            notes.append(f"{len(leaves) - len(paired)} areas lack driver values in one of the periods; their "
                         "movement is left in the unexplained part.")
        warnings = list(result.warnings)
        quality = judge(version.scores)
        if quality.better_than_naive is False:  # the gate: the split is shown, and said to be unreliable
            model_r2, naive_r2 = r2_pair(quality.r2, quality.baseline_r2)
            warnings.insert(0, "The driver model is not better than the naive forecast out of sample (R² "
                               f"{model_r2} against {naive_r2}), so treat the split between drivers as unreliable")
        uncertain = self._uncertain(result, period_from, period_to)
        return drivers, unexplained, model, tuple(warnings), uncertain

    def _uncertain(self, result, period_from: str, period_to: str):
        """Pairs of drivers whose split is uncertain over this span (explain.identifiability)."""
        features = list(result.features)
        key = ("paths", period_from, period_to)
        if key not in self._attributions:  # national paths: the same for every area of a period pair
            first, last = sorted((self._positions[period_from], self._positions[period_to]))
            self._attributions[key] = span_paths(self.panel, self.periods[first:last + 1], features) \
                if self.panel is not None else {}
        paths = self._attributions[key]
        return uncertain_splits(result.whole, features, np.asarray(result.bootstrap_whole), paths=paths,
                                confidence=result.confidence)

    def prepare(self, pairs) -> None:
        """Work out once what every area's explanation of these (from, to) pairs shares: the driver
        attribution of every leaf area, and every value as first published (a precompute explains them all)."""
        self._first_lookup  # noqa: B018  # one read for every area, not one per area
        if self.fitted is None:
            return
        for period_from, period_to in pairs:
            self._attribution(period_from, period_to)

    def _attribution(self, period_from: str, period_to: str,
                     leaves: list[str] | None = None) -> BootstrapAttribution | None:
        """The paired attribution of leaf areas under the model and its bootstrap refits: of every leaf
        area, once per pair (:meth:`prepare`); or, unless that is already worked out, of ``leaves`` alone
        (one area's explanation in a fresh process: attributing 400 areas under 11 models would be
        most of its cost). Each area's attribution is the same either way."""
        from .attribution import attribute_all

        key: tuple = (period_from, period_to)
        if key in self._attributions:
            return self._attributions[key]
        if leaves is not None and len(leaves) < len(self.leaves):
            key = (period_from, period_to, tuple(leaves))
            if key in self._attributions:
                return self._attributions[key]
        else:
            leaves = None
        panel = self.panel
        rows = panel.dropna(subset=list(self.model_version.drivers))
        if leaves is not None:
            rows = rows[rows["area"].isin(leaves)]
        rows_from = rows[rows["period"] == period_from]
        rows_to = rows[rows["period"] == period_to]
        common = sorted(set(rows_from["area"]) & set(rows_to["area"]))
        self._attributions[key] = None if not common else attribute_all(
            self.fitted, rows_from[rows_from["area"].isin(common)].sort_values("area"),
            rows_to[rows_to["area"].isin(common)].sort_values("area"))
        return self._attributions[key]


def _by_area_and_period(frame: pd.DataFrame, column: str = "value") -> dict:
    """A metric frame's ``column`` keyed by (area, period label)."""
    return dict(zip(zip(frame["area"].tolist(), frame["period"].tolist()), frame[column].tolist()))


def _incomplete(segments, period_from: str, period_to: str) -> list[str]:
    """A warning when the parts of the whole differ between the two periods (an area reported in
    only one of them): the change then mixes movement with coverage."""
    only_from = [sg.name for sg in segments if sg.presence == "from_only"]
    only_to = [sg.name for sg in segments if sg.presence == "to_only"]
    if not only_from and not only_to:
        return []
    said = []
    for names, period in ((only_from, period_to), (only_to, period_from)):
        if names:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            said.append(f"{shown} {'has' if len(names) == 1 else 'have'} no value in {period}")
    return [f"The whole is incomplete: {'; '.join(said)}, so part of the change is a change in what is "
            "reported, not in the areas reported in both periods"]
