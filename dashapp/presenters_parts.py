"""The parts of an explanation as charts and tables show them (drivers, components, segments,
small ones grouped), and the words for periods shared by the analysis pages. Pure helpers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from explain.numbers import period_text
from explain.wording import dimension_words
from loaders.vocabulary import PSEUDO_DRIVER_COLUMNS, PSEUDO_DRIVER_NAMES

#: Drivers shown on a waterfall before the rest are grouped as "Other drivers".
KEEP_DRIVERS = 3
KEEP_SEGMENTS = 4
OTHER_DRIVERS = "Other drivers"
UNEXPLAINED = "Unexplained"
_FREQ_WORD = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "FQ": "quarter", "Y": "year", "FY": "year"}


@dataclass(frozen=True)
class Part:
    """One bar of a waterfall or segment chart, as shown (possibly a group of several)."""

    key: str
    label: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    mix: float | None = None
    rate: float | None = None
    members: tuple[str, ...] = field(default_factory=tuple)


def group_small(parts: Sequence[Part], *, keep: int, other_label: str, other_key: str = "other") -> list[Part]:
    """The ``keep`` largest parts by |value| (in their original order of size), then one part
    summing the rest. The total is preserved exactly (``math.fsum``); a group has no interval
    (the bootstrap interval of a sum is not the sum of intervals). Nothing is grouped when at
    most ``keep + 1`` parts are given (a group of one would hide a name for nothing)."""
    ordered = sorted(parts, key=lambda p: -abs(p.value))
    if len(ordered) <= keep + 1:
        return list(ordered)
    shown, rest = ordered[:keep], ordered[keep:]
    mix = [p.mix for p in rest]
    rate = [p.rate for p in rest]
    other = Part(
        key=other_key, label=f"{other_label} ({len(rest)})", value=math.fsum(p.value for p in rest),
        mix=math.fsum(mix) if all(m is not None for m in mix) else None,
        rate=math.fsum(rate) if all(r is not None for r in rate) else None,
        members=tuple(p.key for p in rest))
    return [*shown, other]


#: a pseudo-driver's column ('season', 'period_ordinal') named as the pseudo-driver itself, so the
#: internal column never reaches a label
_PSEUDO_BY_COLUMN = {column: PSEUDO_DRIVER_NAMES[code] for code, column in PSEUDO_DRIVER_COLUMNS.items()}


def display_name(code: str, names: Mapping[str, str]) -> str:
    """A driver or component as people call it: the metric's name, 'Trend', 'Seasonality' (also for
    the pseudo-drivers' columns, 'season' and 'period_ordinal'), else the code in words ('dept_type'
    -> 'Department type')."""
    if code in names:
        return names[code]
    if code in PSEUDO_DRIVER_NAMES:
        return PSEUDO_DRIVER_NAMES[code]
    if code in _PSEUDO_BY_COLUMN:
        return _PSEUDO_BY_COLUMN[code]
    words = dimension_words(code)
    return words[:1].upper() + words[1:]


def dimension_label(code: str) -> str:
    """A breakdown dimension's code as words for the middle of a sentence ('dept_type' -> 'department
    type'; explain.wording.dimension_words). Capitalise it for a label or heading."""
    return dimension_words(code)


def driver_parts(explanation, names: Mapping[str, str], *, keep: int = KEEP_DRIVERS) -> list[Part]:
    """Driver bars (largest first, small ones grouped as 'Other drivers'), then 'Unexplained'.
    Their values add up to the change exactly as the engine's parts do."""
    drivers = [Part(d.driver, display_name(d.driver, names), float(d.contribution), d.ci_low, d.ci_high)
               for d in explanation.drivers]
    shown = group_small(drivers, keep=keep, other_label=OTHER_DRIVERS, other_key="other_drivers")
    return [*shown, Part("unexplained", UNEXPLAINED, float(explanation.unexplained))]


def component_parts(explanation, names: Mapping[str, str]) -> list[Part]:
    return [Part(c.component, display_name(c.component, names), float(c.contribution))
            for c in explanation.components]


def segment_parts(explanation, *, keep: int = KEEP_SEGMENTS) -> list[Part]:
    parts = [Part(s.segment, s.name, float(s.contribution), mix=s.mix, rate=s.rate) for s in explanation.segments]
    label = "Other values" if explanation.by else "Other areas"
    return group_small(parts, keep=keep, other_label=label, other_key="other_segments")


def has_mix_rate(explanation) -> bool:
    return bool(explanation.segments) and all(s.mix is not None and s.rate is not None
                                              for s in explanation.segments if s.presence != "residual")


# ----------------------------------------------------------------------------- periods and words
def period_name(label: str, freq: str = "") -> str:
    """A period in prose (explain.numbers.period_text): '2026-09' -> 'September 2026', '2026-Q1' ->
    'January to March 2026', '2023-24' stays '2023-24'. Pass the metric's frequency: without it
    '2010-11' is a month."""
    return period_text(label, freq or None)


def freq_word(freq: str) -> str:
    return _FREQ_WORD.get(freq, "period")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"

