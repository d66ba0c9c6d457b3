"""Sentences, captions and tables of the Explain page: the verdict, the change, the waterfall and
the component and segment splits. Pure helpers (figures live in :mod:`dashapp.figures`).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from explain.numbers import format_change, format_value, is_percent, signed, signed_short
from explain.verdict import Verdict

from .presenters_parts import Part, has_mix_rate


def verdict(significance: Mapping[str, Any]) -> tuple[str, str]:
    """(badge text, badge colour name) for an explanation's verdict (explain.verdict): the same words
    as the Summary card and the Trends caption."""
    judged = Verdict.from_dict(significance)
    colour = {"improvement": "success", "concern": "danger", "neutral": "primary"}.get(judged.kind, "secondary")
    return judged.headline, colour


def trace_line(explanation) -> str:
    """'Data vintage 7 · driver model version 1 (linear, CV R² 0.99)': where every number comes from."""
    text = f"Data vintage {explanation.data_vintage}"
    model = explanation.model
    if model is None:
        return text + " · no driver model"
    r2 = "n/a" if model.cv_r2 is None else f"{model.cv_r2:.2f}"
    return f"{text} · driver model version {model.version} ({model.kind.replace('_', ' ')}, CV R² {r2})"


def change_sentence(explanation) -> str:
    """'Rose by 7,810 households (0.2%) from 3.46 million in 2026-08 to 3.47 million in 2026-09.'"""
    e = explanation
    if e.change == 0:
        return f"No change between {e.period_from} and {e.period_to} ({format_value(e.value_to, e.unit)})."
    pct = ""
    if e.value_from and not is_percent(e.unit):
        pct = f" ({abs(e.change) / abs(e.value_from):.1%})"
    return (f"{'Rose' if e.change > 0 else 'Fell'} by {format_change(e.change, e.unit)}{pct} from "
            f"{format_value(e.value_from, e.unit)} in {e.period_from} to {format_value(e.value_to, e.unit)} "
            f"in {e.period_to}.")


def waterfall_caption(explanation, parts: Sequence[Part]) -> str:
    e = explanation
    drivers = [p for p in parts if p.key != "unexplained"]
    if not e.drivers:
        return "This metric has no driver model, so the whole change is unexplained by drivers."
    top = max(drivers, key=lambda p: abs(p.value))
    share = abs(e.unexplained) / abs(e.change) if e.change else 0.0
    return (f"{top.label} is associated with the largest part of the change ({signed(top.value, e.unit)}); "
            f"{signed(e.unexplained, e.unit)} ({share:.0%} of the change) is left unexplained.")


def _top(parts: Sequence[Part], skip: str = "") -> Part | None:
    chosen = [p for p in parts if p.key != skip]
    return max(chosen, key=lambda p: abs(p.value)) if chosen else None


def waterfall_headline(explanation, parts: Sequence[Part]) -> str:
    """A short chart title: 'Most associated with Claimant count (+13.4k)'."""
    top = _top(parts, skip="unexplained") if explanation.drivers else None
    if top is None:
        return "Not split into drivers"
    return f"Most associated with {top.label} ({signed_short(top.value)})"


def components_headline(parts: Sequence[Part]) -> str:
    top = _top(parts)
    return f"Largest component: {top.label} ({signed_short(top.value)})" if top else "No formula components"


def segments_headline(explanation, parts: Sequence[Part]) -> str:
    top = _top(parts)
    return f"Moved most: {top.label} ({signed_short(top.value)})" if top else "No segments"


def components_caption(explanation, parts: Sequence[Part]) -> str:
    if not parts:
        return "This metric has no formula components."
    top = max(parts, key=lambda p: abs(p.value))
    return (f"Of the formula's components, {top.label} accounts for most of the change "
            f"({signed(top.value, explanation.unit)}).")


def segments_caption(explanation, parts: Sequence[Part]) -> str:
    e = explanation
    if not parts:
        return "There are no segments to split this change into."
    top = max(parts, key=lambda p: abs(p.value))
    what = f"value of {e.by}" if e.by else "area"
    text = f"The {what} that moved it most is {top.label} ({signed(top.value, e.unit)})."
    if has_mix_rate(e):
        mix = math.fsum(s.mix or 0.0 for s in e.segments)
        rate = math.fsum(s.rate or 0.0 for s in e.segments)
        text += f" Changes in mix contributed {signed(mix, e.unit)} and changes in rates {signed(rate, e.unit)}."
    return text


def parts_table(parts: Sequence[Part], *, unit: str = "") -> pd.DataFrame:
    """A table alternative of grouped bars (members named, so nothing is hidden)."""
    return pd.DataFrame([{"part": p.label, "contribution": p.value, "ci_low": p.ci_low, "ci_high": p.ci_high,
                          "mix": p.mix, "rate": p.rate, "unit": unit, "includes": ", ".join(p.members)}
                         for p in parts])
