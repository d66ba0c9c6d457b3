"""Plain-English narrative of an explanation, for senior officials.

Templated, short sentences; numbers rounded sensibly with units and signs right ("fell by
£1.2m", "rose by 3.4 percentage points", explain.numbers); periods in words ("from 3.46 million
in August 2026 to 3.47 million in September 2026"); the verdict in plain words ("an unusual
change", "within the usual range", explain.wording); drivers are "associated with" a movement,
never said to cause it. Every narrative ends with the data vintage and the model version so a
reader can trace the numbers.
"""
from __future__ import annotations

from typing import Sequence

from .identifiability import UncertainSplit
from .known_events import EventCause
from .numbers import (
    at_precision,
    format_change,
    format_interval,
    format_value,
    level_digits,
    movement_numbers,
    negligible,
    part_text,
    percent_change_text,
    period_text,
    signed,
)
from .results import ComponentPart, DriverContribution, MetricInfo, ModelSummary, SegmentPart
from .verdict import Verdict
from .wording import DIRECTION_WORDS, dimension_words, verdict_opening

__all__ = ["PARTS", "format_value", "narrate", "signed", "text_of", "verb"]  # format_value, signed: the engine's notes


def verb(change: float) -> str:
    return "rose" if change > 0 else "fell" if change < 0 else "did not change"


def narrate(
    *,
    info: MetricInfo,
    area_name: str | None,
    period_from: str,
    period_to: str,
    value_from: float,
    value_to: float,
    change: float,
    significance: dict,
    drivers: Sequence[DriverContribution],
    unexplained: float,
    components: Sequence[ComponentPart],
    segments: Sequence[SegmentPart],
    model: ModelSummary | None,
    data_vintage: int,
    by: str | None = None,
    driver_names: dict[str, str] | None = None,
    warnings: Sequence[str] = (),
    provisional: bool = False,
    events: Sequence[EventCause] = (),
    revised: tuple[str, float] | None = None,
    uncertain: Sequence[UncertainSplit] = (),
) -> tuple[tuple[str, str], ...]:
    """The narrative as named sentences, in reading order: (part, sentence) with part one of
    :data:`PARTS`. The full text is the sentences joined (:func:`text_of`); shells that need one
    part (the summary card's headline) read it by name, never by cutting the text."""
    unit = info.unit
    names = driver_names or {}
    where = f" in {area_name}" if area_name else ""  # None: the whole
    digits = level_digits(value_from, value_to, change)
    when_from, when_to = period_text(period_from, info.frequency), period_text(period_to, info.frequency)
    if negligible(unexplained, change):
        unexplained = 0.0
    sentences: list[tuple[str, str]] = []
    shown_from, shown_to, shown_change, step = movement_numbers(value_from, value_to, unit)
    if change == 0:
        sentences.append(("movement", f"{info.name}{where} did not change between {when_from} and {when_to} "
                         f"({format_value(value_to, unit, digits)})."))
    else:
        pct_size = percent_change_text(value_from, value_to, unit)  # none for a % or a temperature
        pct = f" ({pct_size})" if pct_size else ""
        if shown_from == shown_to:  # levels at 4 significant figures cannot show so small a change
            sentences.append(("movement", f"{info.name}{where} {verb(change)} by {shown_change}{pct} between "
                                          f"{when_from} and {when_to}, to {shown_to}."))
        else:  # one rounding for the sentence: "from X to Y" and "by Z" agree (explain.numbers.movement_numbers)
            sentences.append(("movement", f"{info.name}{where} {verb(change)} by {shown_change}{pct} "
                                          f"from {shown_from} in {when_from} to {shown_to} in {when_to}."))

    def part(value: float) -> str:
        return part_text(value, unit, step)

    if provisional:
        sentences.append(("provisional", f"The {when_to} value is provisional and may be revised."))
    if revised is not None and change:
        period, first = revised
        later = value_from if period == period_from else value_to
        since = value_to - first if period == period_from else first - value_from
        sentences.append(("revisions", f"{period_text(period, info.frequency)} was first published as "
                          f"{format_value(first, unit, digits)} and has since been revised by "
                          f"{part(later - first)}: against the first-published figure the change is "
                          f"{part(since)}, of which {part(later - first if period == period_from else first - later)} "
                          "is that revision."))
    sentences.append(("verdict", _significance_sentence(significance)))
    parts = [c for c in components if not negligible(c.contribution, change)]
    if parts and change:
        biggest = sorted(parts, key=lambda c: -abs(c.contribution))[:3]
        listed = "; ".join(f"{names.get(c.component, c.component)} {part(c.contribution)}" for c in biggest)
        sentences.append(("components", f"By component of the formula: {listed}."))
    if drivers and change:
        ranked = sorted(drivers, key=lambda d: -abs(d.contribution))
        top = [d for d in ranked if abs(d.contribution) >= 0.05 * abs(change)][:3] or ranked[:1]
        described = []
        # an interval for every driver listed, or for none (never brackets inside brackets)
        ranged = all(d.ci_low is not None and d.ci_high is not None for d in top)
        for d in top:
            interval = ""
            if ranged:
                low, high = at_precision(d.ci_low, step), at_precision(d.ci_high, step)
                if signed(low, unit) != signed(high, unit):  # a range that rounds to one number says nothing
                    interval = f", range {format_interval(low, high, unit)}"
            described.append(f"{names.get(d.driver, d.driver)} ({part(d.contribution)}{interval})")
        sentences.append(("drivers", "The movement is associated most with " + _join(described) + "."))
        if uncertain:
            sentences.append(("uncertain", _uncertain_sentence(uncertain, names, part, unit)))
        share = unexplained / change if change else 0.0
        who = "The driver model" if model else "These drivers"
        if unexplained == 0.0:
            sentences.append(("unexplained", f"{who} account for the whole change." if not model else
                              f"{who} accounts for the whole change."))
        else:
            sentences.append(("unexplained", f"{who} {'leaves' if model else 'leave'} {part(unexplained)} "
                              f"unexplained ({abs(share):.0%} of the change)."))
    elif change and model is not None:
        sentences.append(("unexplained", f"The driver model (version {model.version}) has no driver values for "
                          "these periods, so no part of the change is attributed to drivers."))
    elif change:
        sentences.append(("unexplained", "No driver model is configured for this metric, so the whole change is "
                          "unexplained by drivers."))
    # rounding residuals and "not allocated" parts are never "what moved it most"; nor is a whole's only part
    moved = [sg for sg in segments if not negligible(sg.contribution, change) and sg.presence != "residual"]
    if len([sg for sg in segments if sg.presence != "residual"]) < 2:
        moved = []
    if moved and change:
        top_segments = sorted(moved, key=lambda sg: -abs(sg.contribution))[:3]
        what = f"values of {dimension_words(by)}" if by else "areas"
        listed = "; ".join(f"{sg.name} {part(sg.contribution)}" for sg in top_segments)
        sentences.append(("segments", f"The {what} that moved it most: {listed}."))
        if top_segments[0].mix is not None and top_segments[0].rate is not None:
            mix = sum(sg.mix or 0.0 for sg in moved)
            rate = sum(sg.rate or 0.0 for sg in moved)
            sentences.append(("mix", f"Changes in mix contributed {part(mix)} and changes in rates "
                                     f"{part(rate)}."))
    if events:
        sentences.append(("events", _events_sentence(events, change, info.frequency, part)))
    if warnings:  # at most two, as one part
        sentences.append(("warning", " ".join(w if w.endswith(".") else w + "." for w in warnings[:2])))
    trace = f"Data vintage {data_vintage}"
    trace += f"; driver model version {model.version} ({model.kind.replace('_', ' ')})." if model else "."
    sentences.append(("trace", trace))
    return tuple((part, text) for part, text in sentences if text)


#: the named sentences of a narrative, in reading order (each appears at most once)
PARTS = ("movement", "provisional", "revisions", "verdict", "measure", "components", "drivers", "uncertain",
         "unexplained", "segments", "mix", "events", "warning", "trace")


def text_of(parts: Sequence[tuple[str, str]]) -> str:
    """The narrative as one paragraph."""
    return " ".join(text for _, text in parts)


def _significance_sentence(significance: dict) -> str:
    """The verdict on the movement (explain.verdict), with what it rests on, in plain words
    (explain.wording). An interval on the change (two periods only) says whether it is unusual; its
    direction is added here."""
    verdict = Verdict.from_dict(significance)
    reason = verdict.reason.strip()
    if reason and not reason.endswith("."):
        reason += "."
    if verdict.method in ("poisson", "bootstrap") and verdict.outcome == "beyond" and verdict.direction in DIRECTION_WORDS:
        return f"{reason} The change is {DIRECTION_WORDS[verdict.direction]}."
    if reason:
        return reason
    return verdict_opening("insufficient") + "."


def _uncertain_sentence(uncertain: Sequence[UncertainSplit], names: dict[str, str], part, unit: str) -> str:
    """'The split between mean temperature and seasonality is uncertain: they moved together over this
    span, so the model cannot tell their effects apart. Together they account for +4,100 (range …).'"""
    said = []
    for u in uncertain[:2]:
        a, b = (names.get(d, d.replace("_", " ")) for d in u.drivers)
        why = ("they moved together over this span" if u.reason == "co-movement" else
               "what the model's refits give one, they take from the other")
        interval = ""
        if u.combined_low is not None and u.combined_high is not None:
            interval = f" (range {format_interval(u.combined_low, u.combined_high, unit)})"
        said.append(f"The split between {a} and {b} is uncertain: {why}, so the model cannot tell their effects "
                    f"apart. Together they account for {part(u.combined)}{interval}, which is well determined.")
    return " ".join(said)


def measure_sentence(measure: str, split: Sequence[ComponentPart], cash_change: float, unit: str) -> str:
    """'In cash terms it rose by £2.1bn: +£1.4bn from the real change and +£0.7bn from prices (inflation).'"""
    first, second = split
    said = f"In cash terms it {verb(cash_change)}" + (f" by {format_change(abs(cash_change), unit)}" if cash_change else "")
    if measure == "real":
        return (f"{said}: {part_text(first.contribution, unit, 0.0)} from the real change and "
                f"{part_text(second.contribution, unit, 0.0)} from prices (inflation).")
    return (f"{said}: {part_text(first.contribution, unit, 0.0)} from the change per head and "
            f"{part_text(second.contribution, unit, 0.0)} from the change in population.")


def _events_sentence(events: Sequence[EventCause], change: float, freq: str, part) -> str:
    """"The movement spans the closure of … (September 2026); West Midlands, the area it touches,
    account for +101,000 of the change (92%)." A candidate cause, never said to be the cause."""
    said = []
    for ev in events[:3]:
        when = period_text(ev.period)
        text = f"{ev.title[0].lower() + ev.title[1:] if not ev.title[:2].isupper() else ev.title} ({when})"
        if ev.contribution is not None and ev.area_names and change:
            where = _join(list(ev.area_names[:3])) + (f" and {len(ev.area_names) - 3} more" if len(ev.area_names) > 3 else "")
            noun = "the area it touches, accounts" if len(ev.area_names) == 1 else "the areas it touches, account"
            share = f" ({ev.share:.0%})" if ev.share is not None and abs(ev.share) < 10 else ""
            text += f"; {where}, {noun} for {part(ev.contribution)} of the change{share}"
        said.append(text)
    more = f" and {len(events) - 3} more known events" if len(events) > 3 else ""
    return ("The movement spans " + "; and ".join(said) + more + ". This is a candidate cause: the dates line up, "
            "which alone does not show the event caused the change.")


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
