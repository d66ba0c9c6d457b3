"""Segments across dimensions: the few cells (area × breakdown values) that explain most of a change.

The one-dimensional splits (areas, or the values of one breakdown) are exact and additive, but the
question is often "which providers' type 1 departments?": a change concentrated in a few cells of
area × type is spread thinly over either dimension alone. This search (in the spirit of wise-pizza)
works on the *finest cells* the store holds for the periods (each leaf area × each combination of
breakdown values):

1. **Cell contributions, exact.** Each cell's part of the change is its own change (sums), its mix
   plus rate (ratios R = ΣN/ΣD, explain.segments.ratio_segments) or the mean's split (means), so the
   cells add up exactly to the change of the whole over those cells.
2. **Candidate segments** are every single dimension value ("type 1", "provider RRK") and every pair
   of values across dimensions ("RRK × type 1"); a segment's contribution is the sum of its cells'.
3. **Ranking.** The candidates that move the change most come first (the simpler on a tie), up to
   ``top`` of them, leaving out one with the same cells as a segment already listed and a pair that
   says no more than its single-dimension parent. Segments may overlap (type 1 and "RRK × type 1"
   share cells): each says which earlier ones it overlaps, and only the *new* parts (``gain``) add
   up; the list is **not additive where they overlap**.
4. **Cells reported in one period only** are named for what they are: a provider with no values in
   the later period is "no longer reported (merged or closed)", one with none in the earlier period
   "newly reported", never folded silently into mix.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from loaders import Store
from loaders.formula import parse_formula
from loaders.periods import from_key

from .data import WHOLE
from .engine import MetricContext
from .errors import ExplainError
from .segments import mean_segments, ratio_segments, sum_segments
from .wording import dimension_words

AREA = "area"
#: stop when what is left to explain is below this share of the change
MIN_GAIN_SHARE = 0.02
ENDED, STARTED = "no longer reported (merged or closed)", "newly reported"


@dataclass(frozen=True)
class CrossSegment:
    """One segment of the search: a value of one dimension or of two."""

    dims: tuple[tuple[str, str], ...]  # (dimension, value); dimension 'area' for areas
    name: str
    contribution: float  # the sum of all its cells' parts of the change
    gain: float  # the part not in segments listed before it (these add up)
    share: float  # contribution / change
    overlaps: tuple[str, ...] = ()  # names of earlier segments sharing cells with it
    presence: str = "both"  # 'both', 'from_only' (no longer reported), 'to_only' (newly reported)

    def to_dict(self) -> dict[str, Any]:
        return {"dims": [list(d) for d in self.dims], "name": self.name, "contribution": _num(self.contribution),
                "gain": _num(self.gain), "share": _num(self.share), "overlaps": list(self.overlaps),
                "presence": self.presence}


@dataclass(frozen=True)
class CrossSearch:
    """The search's result: the segments in the order chosen, the ones that stopped (or started)
    reporting, and how much of the change the chosen segments' new parts cover."""

    metric: str
    area: str | None
    period_from: str
    period_to: str
    change: float
    dimensions: tuple[str, ...]
    segments: tuple[CrossSegment, ...]
    reporting_changes: tuple[CrossSegment, ...]
    covered: float  # Σ gain of the chosen segments
    n_cells: int

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "area": self.area, "period_from": self.period_from,
                "period_to": self.period_to, "change": _num(self.change), "dimensions": list(self.dimensions),
                "segments": [s.to_dict() for s in self.segments],
                "reporting_changes": [s.to_dict() for s in self.reporting_changes],
                "covered": _num(self.covered), "n_cells": self.n_cells, "additive": False}


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def cell_contributions(ctx: MetricContext, area: str, period_from: str, period_to: str
                       ) -> tuple[dict[tuple[tuple[str, str], ...], float], dict[tuple, str], tuple[str, ...]]:
    """(cell -> its exact part of the change, cell -> presence, breakdown dimensions): cells are the
    leaf areas under ``area`` × the finest breakdown keys the store holds for the two periods."""
    info = ctx.info
    leaves = ctx.leaves_under(area) or [area]
    codes = [info.code] + ctx.components
    starts = dict(zip(ctx.values["period"], ctx.values["start"]))
    frame = ctx.store.observations(codes, areas=leaves, breakdown=None, freq=info.frequency or None,
                                   periods=[starts[period_from], starts[period_to]], as_at=ctx.as_at)
    if frame.empty:
        raise ExplainError(f"{info.code} has no values for the areas of {ctx.tree.name(area)} in these periods.")
    depth = frame["breakdown"].map(lambda k: 0 if not k else k.count(";") + 1)
    frame = frame[depth == depth.max()]
    labels = {s: from_key(f, s).label for f, s in zip(frame["freq"], frame["period"])}
    frame = frame.assign(label=frame["period"].map(labels))
    dims = tuple(dict.fromkeys(part.split("=", 1)[0] for key in frame["breakdown"] if key for part in key.split(";")))

    def cell_of(area_code: str, key: str) -> tuple[tuple[str, str], ...]:
        parts = [(p.split("=", 1)[0], p.split("=", 1)[-1]) for p in key.split(";")] if key else []
        return ((AREA, area_code), *sorted(parts))

    values: dict[tuple[str, str], dict[tuple, float]] = defaultdict(dict)
    for metric, area_code, key, label, value in zip(frame["metric"], frame["area"], frame["breakdown"], frame["label"],
                                                    frame["value"]):
        if value == value:  # not NaN
            values[(metric, label)][cell_of(area_code, key)] = float(value)

    def side(metric: str, period: str) -> dict[tuple, float]:
        return values.get((metric, period), {})

    if info.aggregation == "sum":
        split = sum_segments(side(info.code, period_from), side(info.code, period_to))  # type: ignore[arg-type]
    elif info.aggregation == "mean":
        split = mean_segments(side(info.code, period_from), side(info.code, period_to))  # type: ignore[arg-type]
    else:
        parts = parse_formula(info.formula).ratio_parts() if info.formula else None
        if parts is None:
            raise ExplainError(f"{info.code} is neither a sum, a mean nor a ratio of sums, so its change cannot be "
                               "split into cells.")
        numerator, denominator, scale = parts
        sides = []
        for period in (period_from, period_to):
            comps = {c: side(c, period) for c in ctx.components}
            cells = set.intersection(*(set(v) for v in comps.values())) if comps else set()
            num = {cell: float(numerator.evaluate({c: comps[c][cell] for c in comps})) for cell in cells}
            den = {cell: float(denominator.evaluate({c: comps[c][cell] for c in comps})) for cell in cells}
            sides.append((num, den))
        split = ratio_segments(sides[0][0], sides[0][1], sides[1][0], sides[1][1], scale=scale)  # type: ignore[arg-type]
    by_text = {str(cell): cell for side_values in values.values() for cell in side_values}  # the splits key by text
    contributions = {by_text[s.segment]: s.contribution for s in split.segments if s.presence != "residual"}
    presence = {by_text[s.segment]: s.presence for s in split.segments if s.presence != "residual"}
    return contributions, presence, dims


def search(contributions: dict[tuple, float], presence: dict[tuple, str], *, change: float, name, top: int = 8,
           min_share: float = MIN_GAIN_SHARE, max_dims: int = 2, same: float = 0.2
           ) -> tuple[tuple[CrossSegment, ...], float]:
    """The segments that move the change most (module docstring, step 3): every candidate ranked by
    the size of its contribution, the simpler first on a tie; one whose cells are those of a segment
    already listed, or a pair that says no more than its single-dimension parent (within ``same`` of
    its contribution), is left out. ``name(dims)`` names one."""
    members: dict[tuple, list[tuple]] = defaultdict(list)
    for cell in contributions:
        for k in range(1, min(max_dims, len(cell)) + 1):
            for dims in combinations(cell, k):
                members[dims].append(cell)
    totals = {dims: math.fsum(contributions[c] for c in cells) for dims, cells in members.items()}
    scale = abs(change) if change else max((abs(v) for v in contributions.values()), default=0.0)
    ranked = sorted(members, key=lambda d: (-abs(totals[d]), len(d), str(d)))
    chosen: list[CrossSegment] = []
    chosen_cells: list[tuple[str, frozenset]] = []
    covered: set[tuple] = set()
    total_gain = 0.0
    for dims in ranked:
        if len(chosen) == top or scale == 0 or abs(totals[dims]) < min_share * scale:
            break
        cells = frozenset(members[dims])
        if any(cells == earlier for _, earlier in chosen_cells):
            continue
        if len(dims) > 1 and any(cells <= frozenset(members[(d,)]) and
                                 abs(totals[(d,)] - totals[dims]) <= same * abs(totals[dims]) for d in dims):
            continue  # "RRK × type 1" when RRK is nearly all type 1: RRK says it more simply
        gain = math.fsum(contributions[c] for c in cells if c not in covered)
        label = name(dims)
        overlaps = tuple(n for n, earlier in chosen_cells if earlier & cells)
        chosen.append(CrossSegment(dims, label, totals[dims], gain, totals[dims] / change if change else math.nan,
                                   overlaps, _presence(cells, presence)))
        chosen_cells.append((label, cells))
        covered |= cells
        total_gain += gain
    return tuple(chosen), total_gain


def _presence(cells, presence: dict[tuple, str]) -> str:
    kinds = {presence.get(c, "both") for c in cells}
    return kinds.pop() if len(kinds) == 1 else "both"


def reporting_changes(contributions: dict[tuple, float], presence: dict[tuple, str], *, change: float,
                      name, max_dims: int = 2) -> tuple[CrossSegment, ...]:
    """Segments (a provider, a type, a provider × type) whose every cell is reported in one period
    only, the simplest that says it: a provider that stopped reporting is named once, not with each
    of its types."""
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    for cell in contributions:
        for k in range(1, min(max_dims, len(cell)) + 1):
            for dims in combinations(cell, k):
                groups[dims].append(cell)
    out: list[CrossSegment] = []
    named: list[frozenset] = []
    for dims in sorted(groups, key=lambda d: (len(d), str(d))):
        cells = groups[dims]
        kind = _presence(cells, presence)
        if kind not in ("from_only", "to_only") or any(frozenset(cells) <= earlier for earlier in named):
            continue
        contribution = math.fsum(contributions[c] for c in cells)
        out.append(CrossSegment(dims, name(dims), contribution, contribution,
                                contribution / change if change else math.nan, (), kind))
        named.append(frozenset(cells))
    return tuple(sorted(out, key=lambda s: -abs(s.contribution)))


def cross_segments(store: Store, metric: str, period_from: str, period_to: str, *, area: str | None = None,
                   top: int = 8, ctx: MetricContext | None = None) -> CrossSearch:
    """Search areas × breakdown values for the few segments that explain most of the change of
    ``metric`` from ``period_from`` to ``period_to`` (module docstring)."""
    from .data import resolve_area, resolve_period

    ctx = ctx or MetricContext.load(store, metric)
    code = resolve_area(ctx.tree, area)
    a = resolve_period(ctx.info, period_from, ctx.periods).label
    b = resolve_period(ctx.info, period_to, ctx.periods).label
    contributions, presence, dims = cell_contributions(ctx, code, a, b)
    change = math.fsum(contributions.values())

    def name(values: tuple[tuple[str, str], ...]) -> str:
        text = " × ".join(ctx.tree.name(v) if d == AREA else value_words(d, v) for d, v in values)
        return text[0].upper() + text[1:] if text else text

    chosen, covered = search(contributions, presence, change=change, name=name, top=top)
    ended = reporting_changes(contributions, presence, change=change, name=name)
    return CrossSearch(metric, None if code == WHOLE else code, a, b, change, dims, chosen, ended, covered,
                       len(contributions))


def value_words(dimension: str, value: str) -> str:
    """A breakdown value in words: 'type 1' (dimension 'type', value '1'); 'Type 1' as it is when the
    value already says what it is (dimension 'dept_type', value 'Type 1')."""
    words = dimension_words(dimension)
    last = words.split()[-1].lower() if words else ""
    return value if last and value.lower().startswith(last) else f"{words} {value}"


def presence_words(presence: str) -> str:
    """'no longer reported (merged or closed)' / 'newly reported' / ''."""
    return {"from_only": ENDED, "to_only": STARTED}.get(presence, "")
