"""The Summary page as a briefing, as data: which metrics need attention, why, and in what order.

A senior official reads the page top down and stops early, so the order is the message: metrics
whose latest movement is beyond their usual range come first (concerns, then improvements, then
unusual changes with no better direction), each with one sentence naming what moved it; every
metric is also in one sortable table. Pure: built from :class:`explain.Headline` objects, unit-tested
without a browser.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from explain.briefing import why_sentence
from explain.numbers import is_percent, percent_change
from explain.verdict import Verdict

from .presenters import SPC_LABELS, ChangeView, headline_view

#: the briefing's groups, in reading order: (verdict kind, heading, what it means)
GROUPS: tuple[tuple[str, str, str], ...] = (
    ("concern", "Needs attention", "Unusual changes in the worse direction for these metrics."),
    ("improvement", "Improving", "Unusual changes in the better direction for these metrics."),
    ("neutral", "Unusual, no better or worse direction",
     "Unusual changes in metrics that have no better direction (such as caseloads and drivers)."),
)
BEYOND_KINDS = tuple(kind for kind, _, _ in GROUPS)

#: the verdict in plain words for the table and the badges, by verdict kind
VERDICT_WORDS = {kind: label for kind, (label, _) in SPC_LABELS.items()}
#: the table's default order: unusual changes first, then the rest
_KIND_ORDER = {kind: i for i, kind in enumerate(("concern", "improvement", "neutral", "common_cause", "unknown"))}

#: the 'why' of a metric whose explanation names a driver its reader may not see
HIDDEN_WHY = "The explanation of this change uses figures not shared with your department; see Explain."
#: the 'why' when the precomputed explanation has nothing to split the change by
NO_SPLIT = ("Not split: this figure has no areas, formula components or driver model to split the change by; "
            "see Explain for the verdict and the history.")
NO_EXPLANATION = "No explanation has been precomputed for the latest change yet."


@dataclass(frozen=True)
class BriefingRow:
    """One metric in the briefing, as text, with the keys the table sorts by."""

    code: str
    name: str
    department: str
    department_name: str
    kind: str               # the verdict's kind (explain.verdict.Verdict.kind)
    verdict: str            # VERDICT_WORDS[kind]
    value: str
    period: str
    changes: tuple[ChangeView, ...]   # on the previous period and a year earlier, with arrows and tones
    why: str
    href: str
    sparkline: str          # SVG polyline points
    sparkline_text: str
    severity: float         # how far beyond the usual range (0 within it): the order inside a group
    change_sort: float      # the change as a percentage (or points for rates), for sorting
    vintage: int

    @property
    def beyond(self) -> bool:
        return self.kind in BEYOND_KINDS


def severity(verdict: Verdict | None) -> float:
    """How far a change lies beyond the usual range, in half-widths of the range from its edge
    (0 inside it): a change twice as far out as another ranks first."""
    if verdict is None or verdict.outcome != "beyond":
        return 0.0
    if verdict.lower is None or verdict.upper is None:
        return 1.0
    half = (verdict.upper - verdict.lower) / 2 or 1.0
    edge = verdict.upper if verdict.change > verdict.upper else verdict.lower
    return abs(verdict.change - edge) / abs(half)


def briefing_row(headline, *, department_name: str = "", drivers_allowed: bool = True) -> BriefingRow:
    """A metric's :class:`explain.Headline` as a briefing row (pure)."""
    view = headline_view(headline, department_name=department_name)
    kind = view.spc
    why = why_sentence(tuple(headline.reasons), drivers_allowed=drivers_allowed)
    if not why:
        if not drivers_allowed and any(r.kind == "driver" for r in headline.reasons):
            why = HIDDEN_WHY
        else:
            why = NO_SPLIT if headline.why else NO_EXPLANATION
    return BriefingRow(
        code=view.code, name=view.name, department=headline.metric.department, department_name=view.department,
        kind=kind, verdict=VERDICT_WORDS[kind], value=view.value,
        period=view.period + (" (provisional)" if view.provisional else ""), changes=view.changes, why=why,
        href=view.href, sparkline=view.sparkline, sparkline_text=view.sparkline_text,
        severity=severity(headline.verdict), change_sort=_change_key(headline), vintage=int(headline.data_vintage or 0))


def _change_key(headline) -> float:
    """The table's sort key for the change on the previous period: the percentage change (points for
    rates; 0 when there is none)."""
    change = headline.change_previous
    if change is None or not math.isfinite(change):
        return 0.0
    if is_percent(headline.metric.unit):
        return float(change)
    pct = percent_change(headline.latest_value, headline.previous_value)
    return float(pct) if pct is not None else 0.0


def groups(rows: Iterable[BriefingRow]) -> list[tuple[str, str, str, list[BriefingRow]]]:
    """The briefing's groups that have metrics: (kind, heading, meaning, rows furthest beyond first)."""
    rows = list(rows)
    out = []
    for kind, heading, meaning in GROUPS:
        members = sorted((r for r in rows if r.kind == kind), key=lambda r: (-r.severity, r.name))
        if members:
            out.append((kind, heading, meaning, members))
    return out


def table_order(rows: Iterable[BriefingRow]) -> list[BriefingRow]:
    """Every metric, unusual changes first (furthest beyond first), then by department and name."""
    return sorted(rows, key=lambda r: (_KIND_ORDER.get(r.kind, 9), -r.severity, r.department_name, r.name))


def headline_count(rows: Sequence[BriefingRow]) -> str:
    """The briefing's opening line: '3 of 21 metrics moved beyond their usual range in the latest period.'"""
    beyond = sum(r.beyond for r in rows)
    total = len(rows)
    metrics = "metric" if total == 1 else "metrics"
    if not beyond:
        return f"None of the {total} {metrics} moved beyond its usual range in the latest period."
    whose = "its" if beyond == 1 else "their"
    return f"{beyond} of {total} {metrics} moved beyond {whose} usual range in the latest period."


def department_choice(requested: str | None, departments: Mapping[str, str]) -> str | None:
    """The department filter from the URL: a department the reader can see, else None (all)."""
    return requested if requested in departments else None
