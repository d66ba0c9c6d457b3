"""Frozen result objects returned by the public API.

They carry numbers only (no figures, no HTML) so the Dash app, the CLI and scripts share
one answer. ``to_dict()`` gives JSON-ready data; :meth:`Explanation.to_dict` is exactly the
object of the public contract (``whytrend explain --json``) plus documented extra keys.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from .identifiability import UncertainSplit
from .known_events import EventCause
from .verdict import Verdict


def _num(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class MetricInfo:
    code: str
    name: str
    department: str
    unit: str
    aggregation: str
    higher_is_better: bool | None
    formula: str
    description: str
    frequency: str = ""  # main frequency code in the store ('M', 'FY', ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AreaInfo:
    code: str
    name: str
    level: str
    parent: str | None


@dataclass(frozen=True)
class DriverContribution:
    driver: str
    contribution: float
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "contribution": _num(self.contribution),
                "ci_low": _num(self.ci_low), "ci_high": _num(self.ci_high)}


@dataclass(frozen=True)
class ComponentPart:
    component: str
    contribution: float
    value_from: float | None = None
    value_to: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"component": self.component, "contribution": _num(self.contribution),
                "value_from": _num(self.value_from), "value_to": _num(self.value_to)}


@dataclass(frozen=True)
class SegmentPart:
    segment: str               # area code, or the breakdown value with --by
    name: str                  # area name or breakdown value, for people
    contribution: float
    value_from: float | None = None
    value_to: float | None = None
    mix: float | None = None
    rate: float | None = None
    presence: str = "both"

    def to_dict(self, by: str | None = None) -> dict[str, Any]:
        key = "segment" if by else "area"
        return {key: self.segment, "name": self.name, "contribution": _num(self.contribution),
                "mix": _num(self.mix), "rate": _num(self.rate), "value_from": _num(self.value_from),
                "value_to": _num(self.value_to), "presence": self.presence}


@dataclass(frozen=True)
class ModelSummary:
    kind: str
    version: int
    cv_r2: float | None
    data_vintage: int
    drivers: tuple[str, ...] = ()
    baseline_r2: float | None = None
    cv_mae: float | None = None
    baseline_mae: float | None = None   # the naive forecast's, so a reader can tell whether the model beats it

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "cv_r2": _num(self.cv_r2),
                "data_vintage": str(self.data_vintage), "drivers": list(self.drivers),
                "baseline_r2": _num(self.baseline_r2), "cv_mae": _num(self.cv_mae),
                "baseline_mae": _num(self.baseline_mae)}


@dataclass(frozen=True)
class Explanation:
    """Why a metric moved between two periods, for one area or the whole."""

    metric: str
    area: str | None            # None = the whole
    period_from: str
    period_to: str
    value_from: float
    value_to: float
    change: float
    significance: dict[str, Any]
    drivers: tuple[DriverContribution, ...]
    unexplained: float
    model: ModelSummary | None
    components: tuple[ComponentPart, ...]
    segments: tuple[SegmentPart, ...]
    narrative: str
    data_vintage: int
    by: str | None = None
    unit: str = ""
    metric_name: str = ""
    area_name: str = ""
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    #: the narrative's sentences by name ((part, sentence), see explain.narrative.PARTS): shells read
    #: a part by name instead of cutting the text
    narrative_parts: tuple[tuple[str, str], ...] = ()
    #: known events inside the span that touch the metric: candidate causes (explain.known_events)
    events: tuple[EventCause, ...] = ()
    #: for a comparison of two points (explain.comparison): each point's period, series and vintage
    points: tuple[dict[str, Any], ...] = ()
    #: the earlier period's value as first published, when it has been revised since (else None)
    revised_from: float | None = None
    #: cash, real (real terms, in the prices of ``prices_of``) or per_head (explain.measures)
    measure: str = "cash"
    prices_of: str = ""
    #: real terms or per head: the cash change split exactly into the measured change and prices or population
    measure_parts: tuple[ComponentPart, ...] = ()
    #: the unit of the cash figures ``measure_parts`` are in ('' for cash: ``unit``)
    cash_unit: str = ""
    #: pairs of drivers whose split is uncertain over the span, with their combined contribution
    #: (explain.identifiability)
    uncertain_splits: tuple[UncertainSplit, ...] = ()

    def narrative_part(self, name: str) -> str:
        """One named sentence of the narrative ('' when this explanation has none of that kind)."""
        return next((text for part, text in self.narrative_parts if part == name), "")

    @property
    def sentence(self) -> str:
        """The one-sentence 'why' used on summary cards: the sentence saying how the metric moved."""
        return self.narrative_part("movement")

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "area": self.area,
            "period_from": self.period_from, "period_to": self.period_to,
            "value_from": _num(self.value_from), "value_to": _num(self.value_to), "change": _num(self.change),
            "significance": self.significance,
            "drivers": [d.to_dict() for d in self.drivers],
            "unexplained": _num(self.unexplained),
            "model": self.model.to_dict() if self.model else None,
            "components": [c.to_dict() for c in self.components],
            "segments": [s.to_dict(self.by) for s in self.segments],
            "narrative": self.narrative,
            "by": self.by, "unit": self.unit, "metric_name": self.metric_name, "area_name": self.area_name,
            "data_vintage": str(self.data_vintage), "warnings": list(self.warnings), "notes": list(self.notes),
            "narrative_parts": [{"part": part, "text": text} for part, text in self.narrative_parts],
            "events": [e.to_dict() for e in self.events],
            "points": [dict(p) for p in self.points],
            "revised_from": _num(self.revised_from),
            "measure": self.measure, "prices_of": self.prices_of, "cash_unit": self.cash_unit or self.unit,
            "measure_parts": [c.to_dict() for c in self.measure_parts],
            "uncertain_splits": [u.to_dict() for u in self.uncertain_splits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Explanation":
        by = data.get("by")
        key = "segment" if by else "area"
        model = data.get("model")
        return cls(
            metric=data["metric"], area=data["area"], period_from=data["period_from"], period_to=data["period_to"],
            value_from=data["value_from"], value_to=data["value_to"], change=data["change"],
            significance=data["significance"],
            drivers=tuple(DriverContribution(d["driver"], d["contribution"], d.get("ci_low"), d.get("ci_high"))
                          for d in data["drivers"]),
            unexplained=data["unexplained"],
            model=ModelSummary(model["kind"], model["version"], model.get("cv_r2"), int(model["data_vintage"]),
                               tuple(model.get("drivers", ())), model.get("baseline_r2"), model.get("cv_mae"),
                               model.get("baseline_mae"))
            if model else None,
            components=tuple(ComponentPart(c["component"], c["contribution"], c.get("value_from"), c.get("value_to"))
                             for c in data["components"]),
            segments=tuple(SegmentPart(s[key], s.get("name", s[key]), s["contribution"], s.get("value_from"),
                                       s.get("value_to"), s.get("mix"), s.get("rate"), s.get("presence", "both"))
                           for s in data["segments"]),
            narrative=data["narrative"], data_vintage=int(data.get("data_vintage", 0)), by=by,
            unit=data.get("unit", ""), metric_name=data.get("metric_name", ""), area_name=data.get("area_name", ""),
            warnings=tuple(data.get("warnings", ())), notes=tuple(data.get("notes", ())),
            narrative_parts=tuple((p["part"], p["text"]) for p in data.get("narrative_parts", ())),
            events=tuple(EventCause.from_dict(e) for e in data.get("events", ())),
            points=tuple(dict(p) for p in data.get("points", ())),
            revised_from=data.get("revised_from"),
            measure=data.get("measure", "cash"), prices_of=data.get("prices_of", ""),
            cash_unit=data.get("cash_unit", ""),
            uncertain_splits=tuple(UncertainSplit.from_dict(u) for u in data.get("uncertain_splits", ())),
            measure_parts=tuple(ComponentPart(c["component"], c["contribution"], c.get("value_from"), c.get("value_to"))
                                for c in data.get("measure_parts", ())),
        )


@dataclass(frozen=True)
class ModelVersion:
    metric: str
    version: int
    kind: str
    drivers: tuple[str, ...]
    pseudo_drivers: tuple[str, ...]
    params: dict[str, Any]
    scores: dict[str, Any]
    data_vintage: int
    training_hash: str
    created_at: str
    active: bool
    libraries: dict[str, str] = field(default_factory=dict)
    tuning: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrendPoint:
    period: str                # canonical label
    start: str                 # ISO date of the period start
    value: float | None
    status: str
    first_published: float | None
    vintage: int
    variation: str             # 'improvement' | 'concern' | 'neutral' | 'common_cause'
    rules: tuple[int, ...]


@dataclass(frozen=True)
class Trend:
    """A series with its XmR limits, special causes, provisional periods and revisions."""

    metric: str
    area: str
    area_name: str
    unit: str
    points: tuple[TrendPoint, ...]
    centre: float | None
    upper_limit: float | None
    lower_limit: float | None
    trial_limits: bool
    events: tuple[dict[str, str], ...] = ()
    #: the verdict on the movement into the last period shown (from the period before it), the same
    #: one the Summary and Explain pages give for that comparison (explain.verdict)
    verdict: Verdict | None = None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.points])


@dataclass(frozen=True)
class Headline:
    """One summary card: latest value, changes, the verdict on the latest movement, sparkline, the 'why'.

    ``spc_status`` is ``verdict.kind`` (the badge's word), kept as its own field for the card."""

    metric: MetricInfo
    area: str
    latest_period: str
    latest_value: float | None
    previous_period: str | None
    previous_value: float | None
    year_ago_period: str | None
    year_ago_value: float | None
    spc_status: str            # 'improvement' | 'concern' | 'neutral' | 'common_cause' | 'unknown'
    sparkline: tuple[float | None, ...]
    why: str
    data_vintage: int
    grade: str
    last_updated: str
    provisional: bool = False
    verdict: Verdict | None = None  # previous period -> latest (explain.verdict), as the Explain page gives it
    #: what moved it most, by kind, largest share first (explain.briefing.reasons of the cached explanation)
    reasons: tuple[Any, ...] = ()

    @property
    def change_previous(self) -> float | None:
        if self.latest_value is None or self.previous_value is None:
            return None
        return self.latest_value - self.previous_value

    @property
    def change_year(self) -> float | None:
        if self.latest_value is None or self.year_ago_value is None:
            return None
        return self.latest_value - self.year_ago_value


@dataclass(frozen=True)
class PrecomputeSummary:
    explanations: int
    metrics: int
    seconds: float
    skipped: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = (f"{self.explanations:,} explanation{'' if self.explanations == 1 else 's'} for {self.metrics} "
                f"metric{'' if self.metrics == 1 else 's'} in {self.seconds:.1f} s")
        if self.skipped:
            text += f" (skipped: {'; '.join(self.skipped)})"
        return text
