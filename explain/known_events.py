"""Known events (policy changes, uprating dates, definition breaks, closures) as candidate causes.

A manifest's ``[[event]]`` carries a date, the metrics it touches and, optionally, the areas it
touches. An explanation of a movement whose span contains the event lists it beside the drivers,
with the part of the change in the areas the event touches. It is a *candidate*: the dates line
up and the areas moved by so much; whytrend does not claim the event caused it.

A movement from period A to period B *spans* an event dated E when start(A) < start(E) <= start(B):
the value of B was published after the event began, the value of A before it. An event dated in
A's own period is outside the span (A's value already reflects it).
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from loaders.periods import PeriodError, parse_period


@dataclass(frozen=True)
class EventCause:
    """An event inside the span of a movement."""

    period: str
    title: str
    description: str = ""
    #: the areas it touches (empty: every area)
    areas: tuple[str, ...] = ()
    #: the change in the touched areas (None: every area, or not computable for this aggregation)
    contribution: float | None = None
    #: ``contribution`` as a share of the whole change
    share: float | None = None
    #: names of the touched areas, for sentences
    area_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "title": self.title, "description": self.description,
                "areas": list(self.areas), "area_names": list(self.area_names),
                "contribution": _num(self.contribution), "share": _num(self.share)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EventCause":
        return cls(data["period"], data["title"], data.get("description", ""), tuple(data.get("areas", ())),
                   data.get("contribution"), data.get("share"), tuple(data.get("area_names", ())))


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def period_start(label: str, freq: str | None = None) -> _dt.date | None:
    """The first day of a period label (an event's or a metric's); None when it cannot be read."""
    for prefer in ((freq,) if freq else ("M", None)):  # an event's "2021-12" is a month, not 2021-22
        try:
            return parse_period(label, prefer=prefer).start
        except (PeriodError, ValueError):
            continue
    return None


def spans(event_period: str, period_from: str, period_to: str, freq: str | None) -> bool:
    """Whether the movement from ``period_from`` to ``period_to`` (either order) spans the event."""
    when = period_start(event_period)
    a, b = period_start(period_from, freq), period_start(period_to, freq)
    if when is None or a is None or b is None:
        return False
    low, high = min(a, b), max(a, b)
    return low < when <= high


def candidate_events(
    events: Sequence[dict],
    *,
    metric: str,
    freq: str | None,
    period_from: str,
    period_to: str,
    area: str | None,
    change: float,
    path: Callable[[str], list[str]],
    change_in: Callable[[list[str]], float | None],
    name: Callable[[str], str],
) -> tuple[EventCause, ...]:
    """The events touching ``metric`` whose date lies in the span, for ``area`` (None: the whole).

    ``path(code)`` lists an area and its ancestors; an event touching only areas outside the area
    explained (neither inside it nor containing it) is left out. ``change_in(codes)`` is the change
    of the metric summed over those areas (None where the metric's aggregation has no such sum), so
    the share is exact for additive metrics."""
    out = []
    for ev in events:
        if ev.get("metrics") and metric not in ev["metrics"]:
            continue
        if not spans(ev["period"], period_from, period_to, freq):
            continue
        touched = list(ev.get("areas") or ())
        contribution = share = None
        if touched and area is not None:
            inside = [a for a in touched if area in path(a)]  # touched areas within the one explained
            containing = [a for a in touched if a in path(area)]
            if not inside and not containing:
                continue
            if containing:  # the event touches all of the area explained
                touched_here: list[str] = []
            else:
                touched_here = inside
        else:
            touched_here = touched
        if touched_here:
            contribution = change_in(touched_here)
            share = contribution / change if contribution is not None and change else None
        out.append(EventCause(ev["period"], ev["title"], ev.get("description", ""), tuple(touched_here),
                              contribution, share, tuple(name(a) for a in touched_here)))
    return tuple(out)
