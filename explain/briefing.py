"""The one-sentence 'why' of a briefing: which component, area or driver moved a metric most.

A senior official reads one line per metric, so the line must name the thing that moved it (the
number of claimants, London, unemployment) with its share of the change, not restate the change.
The candidates come from a precomputed :class:`~explain.results.Explanation`, whose parts are exact
(components and segments add up to the change; drivers plus the unexplained part do too), so the
share quoted is the share the Explain page shows. Pure: no store, no pages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from loaders.vocabulary import PSEUDO_DRIVER_NAMES

from .numbers import format_change, is_percent, negligible, signed
from .results import Explanation

#: what each kind of reason is, for people (the summary table's column and the tests)
KINDS = {"component": "formula component", "area": "area", "segment": "breakdown value", "driver": "driver"}

#: below this share of the change the largest part is not "most" of it: the change was spread
SPREAD = 0.25


@dataclass(frozen=True)
class Reason:
    """A part of a change that a briefing can name: its kind (see :data:`KINDS`), code, name for
    people, contribution (in the metric's unit), share of the change and the sentence saying so."""

    kind: str
    code: str
    name: str
    contribution: float
    share: float
    text: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "code": self.code, "name": self.name, "contribution": self.contribution,
                "share": self.share, "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Reason":
        return cls(str(data["kind"]), str(data["code"]), str(data["name"]), float(data["contribution"]),
                   float(data["share"]), str(data["text"]))


def reasons(explanation: Explanation, names: Mapping[str, str] | None = None) -> tuple[Reason, ...]:
    """The largest part of each kind the explanation splits the change into, largest share first.

    Components and segments count only when there are at least two of them (a whole's only part
    says nothing); drivers only when a driver model split the change (the unexplained part is never
    a reason). ``names``: metric names for driver and component codes."""
    e = explanation
    if not e.change:
        return ()
    names = {**PSEUDO_DRIVER_NAMES, **(names or {})}
    candidates: list[tuple[str, str, str, float]] = []
    components = [c for c in e.components if not negligible(c.contribution, e.change)]
    if len(components) >= 2:
        top = _largest(components, e.change)
        candidates.append(("component", top.component, _common(names.get(top.component, _words(top.component))),
                           top.contribution))
    segments = [s for s in e.segments if s.presence != "residual"]
    moved = [s for s in segments if not negligible(s.contribution, e.change)]
    if len(segments) >= 2 and moved:
        top_segment = _largest(moved, e.change)
        candidates.append(("segment" if e.by else "area", top_segment.segment, top_segment.name,
                           top_segment.contribution))
    drivers = [d for d in e.drivers if not negligible(d.contribution, e.change)]
    if e.model is not None and drivers:
        top_driver = _largest(drivers, e.change)
        candidates.append(("driver", top_driver.driver, _common(names.get(top_driver.driver, _words(top_driver.driver))),
                           top_driver.contribution))
    out = [Reason(kind, code, name, value, value / e.change, _sentence(kind, name, value, e.change, e.unit))
           for kind, code, name, value in candidates]
    # a part that moved the metric the way it went comes before one that pulled against it
    return tuple(sorted(out, key=lambda r: (r.share < 0, -abs(r.share))))


def main_reason(found: tuple[Reason, ...], *, drivers_allowed: bool = True) -> Reason | None:
    """The reason a briefing gives: the part with the largest share (a driver only when the reader
    may see it)."""
    return next((r for r in found if drivers_allowed or r.kind != "driver"), None)


def why_sentence(found: tuple[Reason, ...], *, drivers_allowed: bool = True) -> str:
    """The briefing's line: the main reason, and where it happened when that is not the main reason
    and one area holds most of the change ('...; most of it in the West Midlands (92%).')."""
    main = main_reason(found, drivers_allowed=drivers_allowed)
    if main is None:
        return ""
    where = next((r for r in found if r.kind == "area" and r is not main and 0.5 <= r.share <= 1.0005), None)
    if where is None:
        return main.text
    return f"{main.text[:-1]}; most of it in {where.name} ({where.share:.0%})."


def _sentence(kind: str, name: str, value: float, change: float, unit: str) -> str:
    share = value / change
    part, whole = _part(value, unit), format_change(abs(change), unit)
    movement = "rise" if change > 0 else "fall"
    lead = {"driver": f"Associated most with {name}", "component": f"Mostly from {name}"}.get(kind, f"Mostly {name}")
    if share > 1.0005 and kind != "driver":
        lead = f"Driven by {name}"
    what = {"component": "components", "area": "areas", "segment": "values", "driver": "drivers"}[kind]
    if share < 0:
        return f"{_capital(name)} pulled the other way ({part} against a {movement} of {whole})."
    if share > 1.0005:
        return f"{lead}: {part}, more than the whole {movement} of {whole}, as other {what} pulled the other way."
    if share < SPREAD:
        return (f"The change was spread across {what}; the largest part was {name} "
                f"({part} of the {movement} of {whole}, {share:.0%}).")
    return f"{lead}: {part} of the {movement} of {whole} ({share:.0%})."


def _part(value: float, unit: str) -> str:
    """A part as a signed amount; a count's noun ('households') is left to the whole it is part of."""
    if is_percent(unit) or unit.strip().startswith("£"):
        return signed(value, unit)
    return signed(value, "")


def _largest(parts: list, change: float):
    """The part that moved the metric most the way it went (the largest against it when none did)."""
    along = [p for p in parts if p.contribution * change > 0]
    return max(along or parts, key=lambda p: abs(p.contribution))


def _common(name: str) -> str:
    """A metric's name inside a sentence: 'Claimant count' -> 'claimant count', but 'A&E attendances'
    and 'GDP deflator' keep their capitals."""
    first = name.split(" ", 1)[0]
    return name[:1].lower() + name[1:] if first[1:].islower() else name


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


def _words(code: str) -> str:
    return code.replace("_", " ")
