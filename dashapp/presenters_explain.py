"""Sentences, captions, subtitles and tables of the Explain page: the verdict, the change, the
waterfall and the component and segment splits, with numbers from :mod:`explain.numbers` (parts at
the precision of the levels, periods in words) and the plain words of :mod:`explain.wording` (the
method names are for the About tabs: :data:`DRIVERS_ABOUT`, :data:`COMPONENTS_ABOUT`). Pure helpers
(figures live in :mod:`dashapp.figures`).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from explain.numbers import (
    format_value,
    movement_numbers,
    part_text,
    percent_change_text,
    period_short_text,
    period_text,
    short_value,
    signed,
    signed_short_value,
)
from explain.verdict import Verdict
from explain.wording import COMPONENTS_METHOD, COMPONENTS_SUBTITLE, DRIVERS_METHOD, DRIVERS_SUBTITLE, VERDICT_METHOD
from loaders.vocabulary import WHOLE_AREA_NAME

from .presenters_parts import Part, dimension_label, has_mix_rate

#: the About tabs' method entries (the technical names: Shapley, SHAP, the verdict's interval)
DRIVERS_ABOUT = {"Method": DRIVERS_METHOD, "Is it unusual?": VERDICT_METHOD}
COMPONENTS_ABOUT = {"Method": COMPONENTS_METHOD}


def verdict(significance: Mapping[str, Any]) -> tuple[str, str]:
    """(badge text, badge colour name) for an explanation's verdict (explain.verdict): the same words
    as the Summary card and the Trends caption."""
    judged = Verdict.from_dict(significance)
    colour = {"improvement": "success", "concern": "danger", "neutral": "primary"}.get(judged.kind, "secondary")
    return judged.headline, colour


def trace_line(explanation) -> str:
    """'Data vintage 7 · driver model version 1 (linear, out-of-sample R² 0.99)': where every number
    comes from."""
    text = f"Data vintage {explanation.data_vintage}"
    model = explanation.model
    if model is None:
        return text + " · no driver model"
    r2 = "n/a" if model.cv_r2 is None else f"{model.cv_r2:.2f}"
    return f"{text} · driver model version {model.version} ({model.kind.replace('_', ' ')}, out-of-sample R² {r2})"


def point_texts(explanation, freq: str | None = None) -> tuple[str, str]:
    """The two figures compared, in words: 'August 2026' and 'September 2026', or for a comparison of
    points (explain.comparison) 'the forecast for September 2026' and 'September 2026'."""
    e = explanation
    if getattr(e, "points", ()):
        from explain import Point

        first, second = (Point.from_dict(p).text(freq) for p in e.points)
        return first, second
    return period_text(e.period_from, freq), period_text(e.period_to, freq)


def end_labels(explanation) -> tuple[str, str]:
    """The labels of a waterfall's first and last bars: the periods, or for a comparison of points
    their short names ('Forecast' and 'Outturn', 'First published' and 'Latest')."""
    e = explanation
    if not getattr(e, "points", ()):
        return e.period_from, e.period_to
    from explain import Point

    first, second = (Point.from_dict(p) for p in e.points)
    later = "Outturn" if first.series != second.series and second.series == "outturn" else second.short_text()
    return first.short_text(), later


def periods_text(explanation, freq: str | None = None) -> str:
    """'August 2026 to September 2026': the two periods of an explanation in words, for headings and
    captions (pass the metric's frequency: without it '2010-11' is read as a month); 'September 2026
    against the forecast for September 2026' for a comparison of points."""
    first, second = point_texts(explanation, freq)
    return f"{second} against {first}" if getattr(explanation, "points", ()) else f"{first} to {second}"


def measure_table(explanation) -> pd.DataFrame:
    """Real terms or per head: the cash change split exactly into the measured change and prices or
    population, with the two values of each factor (explain.measures)."""
    e = explanation
    unit = e.cash_unit or e.unit
    rows = [{"Part of the cash change": p.component, "Contribution": signed(p.contribution, unit)}
            for p in e.measure_parts]
    rows.append({"Part of the cash change": "Cash change",
                 "Contribution": signed(math.fsum(p.contribution for p in e.measure_parts), unit)})
    return pd.DataFrame(rows, columns=["Part of the cash change", "Contribution"])


def _step(explanation) -> float:
    """The smallest difference the change sentence shows: parts are written at that precision."""
    e = explanation
    return movement_numbers(e.value_from, e.value_to, e.unit)[3]


def part_words(explanation, value: float) -> str:
    """A part of the change ('+13,400 households') at the precision of the change sentence's levels
    (explain.numbers.part_text): never '+£0.0621 per month' beside '£866 per month'."""
    return part_text(value, explanation.unit, _step(explanation))


def change_sentence(explanation, freq: str | None = None) -> str:
    """'Rose by 7,810 households (0.2%) from 3.46 million households in August 2026 to 3.47 million
    households in September 2026.' One rounding for the levels and the change (explain.numbers
    .movement_numbers); no percentage for a % or a temperature."""
    e = explanation
    if getattr(e, "points", ()):  # a comparison of two figures for one period: the narrative's own first sentence
        return e.narrative_part("movement")
    when_from, when_to = period_text(e.period_from, freq), period_text(e.period_to, freq)
    if e.change == 0:
        return f"No change between {when_from} and {when_to} ({format_value(e.value_to, e.unit)})."
    shown_from, shown_to, shown_change, _ = movement_numbers(e.value_from, e.value_to, e.unit)
    size = percent_change_text(e.value_from, e.value_to, e.unit)
    pct = f" ({size})" if size else ""
    verb = "Rose" if e.change > 0 else "Fell"
    if shown_from == shown_to:  # the levels cannot show so small a change
        return f"{verb} by {shown_change}{pct} between {when_from} and {when_to}, to {shown_to}."
    return f"{verb} by {shown_change}{pct} from {shown_from} in {when_from} to {shown_to} in {when_to}."


def drivers_subtitle(explanation, freq: str | None = None) -> str:
    """The driver waterfall's subtitle: the two levels with their periods, then what the bars are
    (no method names: those are in :data:`DRIVERS_ABOUT`)."""
    e = explanation
    first, second = (point_texts(e, freq) if e.points else
                     (period_short_text(e.period_from, freq), period_short_text(e.period_to, freq)))
    return (f"{first} {short_value(e.value_from, e.unit)} → "
            f"{second} {short_value(e.value_to, e.unit)}. {DRIVERS_SUBTITLE}")


def components_subtitle(formula: str = "") -> str:
    """The components waterfall's subtitle: each component's share, and the formula it splits."""
    return f"{COMPONENTS_SUBTITLE} of {formula}" if formula else COMPONENTS_SUBTITLE


def segments_subtitle(explanation, mix_rate: bool) -> str:
    """The segments chart's subtitle, naming a breakdown dimension in words ('department type')."""
    if mix_rate:
        return "Mix (changing shares) and rate (changing values within each segment) add up to each bar"
    what = f"values of {dimension_label(explanation.by)}" if explanation.by else "areas"
    return f"Each bar is the change in one of the {what}; together they add up to the change"


def waterfall_caption(explanation, parts: Sequence[Part]) -> str:
    e = explanation
    drivers = [p for p in parts if p.key != "unexplained"]
    if not e.drivers:
        if e.model is not None:
            return (f"The driver model (version {e.model.version}) has no driver values for these periods, so no "
                    "part of the change is attributed to drivers.")
        return "This metric has no driver model, so the whole change is unexplained by drivers."
    top = max(drivers, key=lambda p: abs(p.value))
    share = abs(e.unexplained) / abs(e.change) if e.change else 0.0
    return (f"{top.label} is associated with the largest part of the change ({part_words(e, top.value)}); "
            f"{part_words(e, e.unexplained)} ({share:.0%} of the change) is left unexplained.")


def _top(parts: Sequence[Part], skip: str = "") -> Part | None:
    chosen = [p for p in parts if p.key != skip]
    return max(chosen, key=lambda p: abs(p.value)) if chosen else None


def waterfall_headline(explanation, parts: Sequence[Part]) -> str:
    """A short chart title: 'Most associated with Claimant count (+13.4k)' ('+£30m' for money)."""
    top = _top(parts, skip="unexplained") if explanation.drivers else None
    if top is None:
        return "Not split into drivers"
    return f"Most associated with {top.label} ({signed_short_value(top.value, explanation.unit)})"


def components_headline(parts: Sequence[Part], unit: str = "") -> str:
    top = _top(parts)
    return f"Largest component: {top.label} ({signed_short_value(top.value, unit)})" if top else "No formula components"


def segments_headline(explanation, parts: Sequence[Part]) -> str:
    top = _top(parts)
    return f"Moved most: {top.label} ({signed_short_value(top.value, explanation.unit)})" if top else "No segments"


def components_caption(explanation, parts: Sequence[Part]) -> str:
    if not parts:
        return "This metric has no formula components."
    top = max(parts, key=lambda p: abs(p.value))
    return (f"Of the formula's components, {top.label} accounts for most of the change "
            f"({part_words(explanation, top.value)}).")


def segments_caption(explanation, parts: Sequence[Part]) -> str:
    e = explanation
    if not parts:
        return "There are no segments to split this change into."
    top = max(parts, key=lambda p: abs(p.value))
    what = f"value of {dimension_label(e.by)}" if e.by else "area"
    text = f"The {what} that moved it most is {top.label} ({part_words(e, top.value)})."
    if has_mix_rate(e):
        mix = math.fsum(s.mix or 0.0 for s in e.segments)
        rate = math.fsum(s.rate or 0.0 for s in e.segments)
        text += (f" Changes in mix contributed {part_words(e, mix)} and changes in rates "
                 f"{part_words(e, rate)}.")
    return text


def parts_table(parts: Sequence[Part], *, unit: str = "") -> pd.DataFrame:
    """A table alternative of grouped bars (members named, so nothing is hidden)."""
    return pd.DataFrame([{"part": p.label, "contribution": p.value, "ci_low": p.ci_low, "ci_high": p.ci_high,
                          "mix": p.mix, "rate": p.rate, "unit": unit, "includes": ", ".join(p.members)}
                         for p in parts])


def events_table(e, freq: str | None = None) -> pd.DataFrame:
    """The known events inside the span (candidate causes), one row each, in words: when, what, the
    areas it touches and the part of the change in them."""
    rows = []
    for ev in e.events:
        rows.append({
            "Event": ev.title, "When": period_text(ev.period),
            "Areas it touches": ", ".join(ev.area_names) or WHOLE_AREA_NAME,
            "Change in those areas": signed(ev.contribution, e.unit) if ev.contribution is not None else "",
            "Share of the change": f"{ev.share:.0%}" if ev.share is not None else "",
        })
    return pd.DataFrame(rows, columns=["Event", "When", "Areas it touches", "Change in those areas",
                                       "Share of the change"])


def cross_intro(found) -> str:
    """What the search did, in a sentence: how many cells, and that the list is not additive."""
    from explain.wording import dimension_words

    dims = " and ".join(["areas", *(dimension_words(d) for d in found.dimensions)])
    share = found.covered / found.change if found.change else None
    covered = f" Together (counting shared parts once) they account for {share:.0%} of the change." \
        if share is not None and math.isfinite(share) else ""
    return (f"Searched {found.n_cells} combinations of {dims} for the few segments that moved the change most. "
            "A segment may overlap one listed before it (a provider's type 1 department is part of type 1), so "
            f"the list is not additive where they overlap; the exact splits above are.{covered}")


def cross_table(found, unit: str) -> pd.DataFrame:
    from explain.cross_search import presence_words

    rows = [{"Segment": s.name, "Change": signed(s.contribution, unit),
             "Share of the change": f"{s.share:.0%}" if math.isfinite(s.share) else "",
             "Overlaps": ", ".join(s.overlaps), "Note": presence_words(s.presence)} for s in found.segments]
    return pd.DataFrame(rows, columns=["Segment", "Change", "Share of the change", "Overlaps", "Note"])


def reporting_table(found, unit: str, limit: int = 10) -> pd.DataFrame:
    from explain.cross_search import presence_words

    rows = [{"Segment": s.name, "Change": signed(s.contribution, unit), "Reporting": presence_words(s.presence)}
            for s in found.reporting_changes[:limit]]
    return pd.DataFrame(rows, columns=["Segment", "Change", "Reporting"])
