"""Categories a file reports unevenly: present in only some periods, or overlapping one another.

Both make a total or a split mislead without any number being wrong: an area or a breakdown value
missing from some periods turns up in a comparison as "new" or "ended" (a provider merged, a
category renamed); and overlapping categories ("of which" rows, "60 and over" beside "60-69")
count the same people twice in any sum over the breakdown. The load cannot tell which is meant,
so it says what it saw (warnings) and loads as published. Pure functions, tested without files.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

#: "of which", "o/w", "- of which:" and "including" rows are parts of the row above, not peers
_PART_OF = re.compile(r"^\W*(?:of\s+which|o/w|including|incl\.?)\b", re.IGNORECASE)
_RANGE = re.compile(r"^(?:aged\s+)?(\d+)\s*(?:-|–|to)\s*(\d+)\b", re.IGNORECASE)
_AND_OVER = re.compile(r"^(?:aged\s+)?(\d+)\s*(?:\+|and\s+over|and\s+above|or\s+over|or\s+more|plus)", re.IGNORECASE)
_UNDER = re.compile(r"^(?:aged\s+)?(?:under|less\s+than|below)\s+(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Partial:
    """A category reported in only some of the file's periods."""

    label: str
    present: int
    periods: int
    missing: tuple[str, ...]  # the periods it is missing from, in order


def partial_presence(periods_by_label: Mapping[str, set[str]], every: set[str] | None = None) -> list[Partial]:
    """Labels missing from some of the periods any label has (periods as sortable keys). ``every``: all
    the file's periods, when ``periods_by_label`` holds only some labels (the report passes those it
    already knows to be partial, so a large file never builds a set per label)."""
    if every is None:
        every = set().union(*periods_by_label.values()) if periods_by_label else set()
    out = []
    for label, periods in periods_by_label.items():
        if len(periods) < len(every):
            out.append(Partial(label, len(periods), len(every), tuple(sorted(every - periods))))
    return sorted(out, key=lambda p: (p.present, p.label))


def band(label: str) -> tuple[float, float] | None:
    """The numeric range a label such as "60-69", "16 to 24", "60 and over", "75+" or "under 16"
    covers, as [low, high) (None for anything else)."""
    text = " ".join(label.split())
    if match := _RANGE.match(text):
        low, high = int(match.group(1)), int(match.group(2))
        return (low, high + 1) if high >= low else None
    if match := _AND_OVER.match(text):
        return (int(match.group(1)), math.inf)
    if match := _UNDER.match(text):
        return (0, int(match.group(1)))
    return None


def overlaps(labels: Iterable[str]) -> list[tuple[str, str, str]]:
    """Pairs of categories that overlap, with why: a part ("of which …") beside its whole, or two
    bands that share values ("60 and over" and "60-69")."""
    labels = list(dict.fromkeys(labels))
    found: list[tuple[str, str, str]] = []
    parts = [label for label in labels if _PART_OF.match(label)]
    if parts and len(parts) < len(labels):
        found += [(label, "", "is a part of another category ('of which')") for label in parts]
    bands = [(label, band(label)) for label in labels]
    ranged = [(label, b) for label, b in bands if b is not None]
    for i, (a, (a_low, a_high)) in enumerate(ranged):
        for b, (b_low, b_high) in ranged[i + 1:]:
            if a_low < b_high and b_low < a_high:
                found.append((a, b, "cover some of the same values"))
    return found


def describe_partial(partial: Partial, shown: int = 4, name: Callable[[str], str] = str) -> str:
    """'label' is in n of m periods (not in …), periods written by ``name``."""
    missing = ", ".join(name(p) for p in partial.missing[:shown]) + (" …" if len(partial.missing) > shown else "")
    return f"'{partial.label}' is in {partial.present} of {partial.periods} periods (not in {missing})"


def describe_overlap(a: str, b: str, why: str) -> str:
    return f"'{a}' {why}" if not b else f"'{a}' and '{b}' {why}"
