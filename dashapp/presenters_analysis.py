"""Pure helpers of the analysis pages (trends, explain, model lab): URL queries in, plain
values, tables and sentences out. No Dash, no store, no I/O, so every rule is unit-tested
without a browser (figures live in :mod:`dashapp.figures`).
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import parse_qs, urlencode

import pandas as pd

from explain.narrative import format_change, format_value, is_percent, round_sig, signed
from .presenters import date_text  # noqa: F401  (one date format for every page)

MAX_COMPARE = 4
#: Drivers shown on a waterfall before the rest are grouped as "Other drivers".
KEEP_DRIVERS = 3
KEEP_SEGMENTS = 4
OTHER_DRIVERS = "Other drivers"
OTHER_SEGMENTS = "Other"
UNEXPLAINED = "Unexplained"
PSEUDO_NAMES = {"trend": "Trend", "seasonality": "Seasonality"}
VINTAGES = ("latest", "first")
COMPARISONS = ("previous", "year")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_PERIOD = re.compile(r"^[0-9A-Za-z\-/ ]{4,16}$")
_FREQ_WORD = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "FQ": "quarter", "Y": "year", "FY": "year"}
_VARIATION_WORD = {"improvement": "improvement", "concern": "concern", "neutral": "special cause",
                   "common_cause": "common cause"}


# ----------------------------------------------------------------------------- URL queries
def first_value(query: Mapping[str, Any], key: str) -> str | None:
    """One string from a query mapping whose values may be strings or lists (parse_qs)."""
    value = query.get(key)
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else None
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def parse_search(search: str | None) -> dict[str, str]:
    """'?metric=a&area=b' -> {'metric': 'a', 'area': 'b'} (last value of a repeated key wins)."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    return {k: v[-1] for k, v in parsed.items() if v}


def query_string(params: Mapping[str, Any]) -> str:
    """'?a=1&b=x,y' from a mapping; None, '' and empty lists are left out; lists join with commas."""
    clean: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value if v not in (None, ""))
        if value is None or value == "" or value is False:
            continue
        clean[key] = str(value)
    return "?" + urlencode(clean) if clean else ""


def clean_code(value: str | None) -> str | None:
    """A metric or area code as typed in a URL, or None when it is not code-shaped."""
    if value is None:
        return None
    value = value.strip()
    return value if _CODE.match(value) else None


def clean_period(value: str | None, periods: Sequence[str]) -> str | None:
    """A period label the series has, or None (so a bad URL falls back to the default)."""
    if value is None or not _PERIOD.match(value.strip()):
        return None
    value = value.strip()
    return value if value in periods else None


@dataclass(frozen=True)
class TrendsQuery:
    metric: str
    area: str | None = None
    start: str | None = None
    end: str | None = None
    compare: tuple[str, ...] = ()
    vintage: str = "latest"
    notes: tuple[str, ...] = ()

    @property
    def as_first_published(self) -> bool:
        return self.vintage == "first"

    def to_query(self) -> dict[str, Any]:
        return {"metric": self.metric, "area": self.area, "from": self.start, "to": self.end,
                "compare": list(self.compare), "vintage": None if self.vintage == "latest" else self.vintage}


def default_metric(requested: str | None, visible: Sequence[str]) -> str | None:
    """The metric asked for (as given: access is checked by the page), else the first visible one."""
    code = clean_code(requested)
    if code:
        return code
    return visible[0] if visible else None


def _metric_and_area(query: Mapping[str, Any], visible: Sequence[str], areas: Iterable[str], notes: list[str],
                     fallback: str) -> tuple[str, str | None]:
    """The query's metric (one the user may see) and area (a known one, else the whole, with a note)."""
    metric = default_metric(first_value(query, "metric"), visible)
    if metric is None:
        raise ValueError("No metric is available to you.")
    known = set(areas)
    area = clean_code(first_value(query, "area"))
    if area is not None and known and area not in known:
        notes.append(f"Area '{area}' is not known; {fallback}.")
        area = None
    return metric, area


def parse_trends_query(query: Mapping[str, Any], *, visible: Sequence[str], areas: Iterable[str] = (),
                       periods: Sequence[str] = ()) -> TrendsQuery:
    """Validate the trends page's query. Unknown areas and periods are dropped with a note; at most
    :data:`MAX_COMPARE` areas are compared; ``vintage`` is 'latest' or 'first'."""
    notes: list[str] = []
    areas = set(areas)  # may be a generator: read it once
    metric, area = _metric_and_area(query, visible, areas, notes, "showing all areas")
    start, end = (clean_period(first_value(query, k), periods) for k in ("from", "to"))
    for key, value, parsed in (("from", first_value(query, "from"), start), ("to", first_value(query, "to"), end)):
        if value and parsed is None:
            notes.append(f"Period '{value}' is not in this series; showing the {'start' if key == 'from' else 'end'} "
                         "of the series instead.")
    if start and end and periods and periods.index(start) > periods.index(end):
        start, end = end, start
        notes.append("The 'from' period was after the 'to' period; they have been swapped.")
    compare = parse_compare(first_value(query, "compare"), areas, notes)
    vintage = first_value(query, "vintage") or "latest"
    if vintage not in VINTAGES:
        notes.append(f"Vintage '{vintage}' is not 'latest' or 'first'; showing the latest figures.")
        vintage = "latest"
    return TrendsQuery(metric, area, start, end, compare, vintage, tuple(notes))


def parse_compare(value: str | list | None, known: set[str], notes: list[str] | None = None) -> tuple[str, ...]:
    """Up to :data:`MAX_COMPARE` distinct known area codes from 'a,b,c' or a list."""
    notes = notes if notes is not None else []
    items = value if isinstance(value, (list, tuple)) else (value or "").split(",")
    out: list[str] = []
    for item in items:
        code = clean_code(str(item)) if item else None
        if code is None or code in out:
            continue
        if known and code not in known:
            notes.append(f"Area '{code}' is not known and is not compared.")
            continue
        out.append(code)
    if len(out) > MAX_COMPARE:
        notes.append(f"At most {MAX_COMPARE} areas can be compared; the first {MAX_COMPARE} are shown.")
        out = out[:MAX_COMPARE]
    return tuple(out)


@dataclass(frozen=True)
class ExplainQuery:
    metric: str
    area: str | None
    period_from: str
    period_to: str
    by: str | None = None
    notes: tuple[str, ...] = ()

    def to_query(self) -> dict[str, Any]:
        return {"metric": self.metric, "area": self.area, "from": self.period_from, "to": self.period_to,
                "by": self.by}


def default_periods(periods: Sequence[str], freq: str, which: str = "previous") -> tuple[str, str] | None:
    """(from, to) for the latest period against the previous one or ('year') a year earlier; the
    previous period when a year earlier is not in the series; None with fewer than 2 periods."""
    from explain import comparison_periods

    pairs = comparison_periods(list(periods), freq)
    return pairs.get(which) or pairs.get("previous")


def parse_explain_query(query: Mapping[str, Any], *, visible: Sequence[str], periods: Sequence[str], freq: str,
                        areas: Iterable[str] = (), dimensions: Sequence[str] = ()) -> ExplainQuery:
    """Validate the explain page's query; a missing or unknown period falls back to the latest
    period against the previous one, an unknown breakdown dimension to none."""
    notes: list[str] = []
    metric, area = _metric_and_area(query, visible, areas, notes, "explaining all areas")
    default = default_periods(periods, freq) or ((periods[0], periods[0]) if periods else ("", ""))
    raw_from, raw_to = first_value(query, "from"), first_value(query, "to")
    a, b = clean_period(raw_from, periods), clean_period(raw_to, periods)
    if (raw_from and a is None) or (raw_to and b is None):
        notes.append("A period in the link is not in this series; comparing the latest period with the "
                     "previous one instead.")
    if a is None or b is None or a == b:
        a, b = default
    by = clean_code(first_value(query, "by"))
    if by is not None and by not in dimensions:
        notes.append(f"This metric has no breakdown by '{by}'; segments are areas.")
        by = None
    return ExplainQuery(metric, area, a, b, by, tuple(notes))


def comparison_choice(period_from: str, period_to: str, pairs: Mapping[str, tuple[str, str]]) -> str:
    """'previous', 'year' or 'custom': which default comparison the chosen periods are."""
    for key in COMPARISONS:
        if pairs.get(key) == (period_from, period_to):
            return key
    return "custom"


def comparison_options(pairs: Mapping[str, tuple[str, str]], freq: str) -> list[dict[str, str]]:
    """Radio options: the previous period, a year earlier (when the series has it), other periods."""
    word = _FREQ_WORD.get(freq, "period")
    out = []
    if "previous" in pairs:
        a, b = pairs["previous"]
        out.append({"label": f"The previous {word}: {a} to {b}", "value": "previous"})
    if "year" in pairs and pairs["year"] != pairs.get("previous"):
        a, b = pairs["year"]
        out.append({"label": f"A year earlier: {a} to {b}", "value": "year"})
    out.append({"label": "Other periods (choose below)", "value": "custom"})
    return out


def choose_periods(trigger: str, comparison: str | None, start: str | None, end: str | None,
                   pairs: Mapping[str, tuple[str, str]], periods: Sequence[str]) -> tuple[str, str, str, list[str]]:
    """(from, to, comparison choice, notes) after a control changed on the explain page.

    ``trigger``: 'metric' (back to the default), 'comparison' (the radio), 'apply' (the typed
    periods) or anything else (keep the typed periods when this series has them)."""
    notes: list[str] = []
    default = pairs.get("previous") or ((periods[-1], periods[-1]) if periods else ("", ""))
    if trigger == "metric":
        return default[0], default[1], "previous", notes
    if trigger == "comparison" and comparison in pairs:
        a, b = pairs[comparison]
        return a, b, comparison, notes
    a, b = clean_period(start, periods), clean_period(end, periods)
    if a is None or b is None or a == b:
        if trigger in ("apply", "comparison"):
            shown = f"{periods[0]} to {periods[-1]}" if periods else "none"
            notes.append(f"Give two different periods this series has (from {shown}), for example "
                         f"{default[0]} and {default[1]}; showing the previous period instead.")
        return default[0], default[1], "previous", notes
    return a, b, comparison_choice(a, b, pairs), notes


def breakdown_dimensions(keys: Iterable[str]) -> list[str]:
    """Dimensions named by breakdown keys ('dept_type=Type 1', 'age=0-4;sex=F', '' = total)."""
    out: set[str] = set()
    for key in keys:
        if not isinstance(key, str) or not key:
            continue
        for part in key.split(";"):
            name = part.split("=", 1)[0].strip()
            if name and "=" in part:
                out.add(name)
    return sorted(out)


# ----------------------------------------------------------------------------- grouping
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


def display_name(code: str, names: Mapping[str, str]) -> str:
    """A driver or component as people call it: the metric's name, 'Trend', 'Seasonality'."""
    if code in names:
        return names[code]
    if code in PSEUDO_NAMES:
        return PSEUDO_NAMES[code]
    return code.replace("_", " ").capitalize()


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
    """'2026-09' -> 'September 2026' for months; other labels as they are ('2023-24', '2026-Q1')."""
    if freq == "M" or (not freq and re.fullmatch(r"\d{4}-\d{2}", label)):
        try:
            return _dt.date(int(label[:4]), int(label[5:7]), 1).strftime("%B %Y")
        except ValueError:
            return label
    return label


def freq_word(freq: str) -> str:
    return _FREQ_WORD.get(freq, "period")


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def short_number(value: float | None) -> str:
    """Compact, for bar labels: 1,234 / 12.3k / 4.56m / 0.0123."""
    if value is None or not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    sign = "-" if value < 0 else ""
    if magnitude >= 1e9:
        return f"{sign}{round_sig(magnitude / 1e9):g}bn"
    if magnitude >= 1e6:
        return f"{sign}{round_sig(magnitude / 1e6):g}m"
    if magnitude >= 1e4:
        return f"{sign}{round_sig(magnitude / 1e3):g}k"
    if magnitude >= 100:
        return f"{sign}{magnitude:,.0f}"
    return f"{sign}{round_sig(magnitude):g}"


def signed_short(value: float) -> str:
    return ("+" if value > 0 else "") + short_number(value)


# ----------------------------------------------------------------------------- trends
def _run_back(values: Sequence[float | None], rising: bool) -> int:
    """How many consecutive moves in one direction end at the last present value."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    n = 0
    for i in range(len(present) - 1, 0, -1):
        step = present[i] - present[i - 1]
        if (step > 0) if rising else (step < 0):
            n += 1
        else:
            break
    return n


def special_cause_words(point, trend) -> str:
    """The highest-priority rule of a point, in words ('rising trend', 'above the upper limit')."""
    if not point.rules:
        return ""
    top = min(point.rules)
    if top == 1:
        above = trend.upper_limit is not None and point.value is not None and point.value > trend.upper_limit
        return "above the upper process limit" if above else "below the lower process limit"
    if top == 2:
        values = [p.value for p in trend.points]
        index = trend.points.index(point)
        previous = next((v for v in reversed(values[:index]) if v is not None), None)
        return "rising trend" if previous is not None and point.value is not None and point.value > previous \
            else "falling trend"
    if top == 3:
        above = trend.centre is not None and point.value is not None and point.value > trend.centre
        return f"two of three points close to the {'upper' if above else 'lower'} limit"
    above = trend.centre is not None and point.value is not None and point.value > trend.centre
    return f"run of points {'above' if above else 'below'} the centre line"


def _movement(trend, freq: str) -> str | None:
    """'rose for 7 months in a row to September 2026 (208,000 households)' and the like (None: no values)."""
    points = [p for p in trend.points if p.value is not None]
    if not points:
        return None
    last = points[-1]
    when = period_name(last.period, freq)
    values = [p.value for p in points]
    if len(points) == 1:
        return f"was {format_value(last.value, trend.unit)} in {when}"
    change = values[-1] - values[-2]
    rising = change > 0
    run = _run_back(values, rising)
    if change == 0:
        return f"did not change in {when} ({format_value(last.value, trend.unit)})"
    if run >= 2:
        return (f"{'rose' if rising else 'fell'} for {plural(run, freq_word(freq))} in a row to {when} "
                f"({format_value(last.value, trend.unit)})")
    return (f"{'rose' if rising else 'fell'} by {format_change(change, trend.unit)} to "
            f"{format_value(last.value, trend.unit)} in {when}")


def trend_headline(trend, *, freq: str) -> str:
    """A chart title stating the latest movement: 'Rose for 7 months in a row to September 2026 (…)'."""
    movement = _movement(trend, freq)
    if movement is None:
        return "No values in the periods chosen"
    return movement[0].upper() + movement[1:]


def trend_caption(trend, *, metric_name: str, freq: str) -> str:
    """The finding of a trend chart in one sentence, e.g. 'Households on Universal Credit in the
    North East rose for 7 months in a row to September 2026 (special cause: rising trend, a concern).'"""
    where = "" if trend.area_name in ("", "All areas") else f" in {trend.area_name}"
    movement = _movement(trend, freq)
    if movement is None:
        return f"There are no values of {metric_name}{where} in the periods chosen."
    last = [p for p in trend.points if p.value is not None][-1]
    head = f"{metric_name}{where} {movement}"
    if last.rules:
        words = special_cause_words(last, trend)
        variation = {"improvement": ", an improvement", "concern": ", a concern"}.get(last.variation, "")
        tail = f" (special cause: {words}{variation})"
    elif trend.centre is None:
        tail = " (too few points to set process limits)"
    else:
        tail = " (within normal variation)"
    return head + tail + "."


def trend_subtitle(trend) -> str:
    if trend.centre is None:
        return "Too few points for process limits"
    limits = "Trial process limits" if trend.trial_limits else "Process limits"
    return (f"XmR chart: centre {short_number(trend.centre)}, {limits.lower()} {short_number(trend.lower_limit)} "
            f"to {short_number(trend.upper_limit)} ({len(trend.points)} points)")


def revised(latest: float | None, first: float | None) -> bool:
    if latest is None or first is None:
        return latest is not first
    return abs(latest - first) > 1e-9 * max(1.0, abs(latest), abs(first))


def trend_table(trend, latest=None) -> pd.DataFrame:
    """The chart's numbers: period, latest and first-published values, whether revised, provisional
    flag, variation with its rules. ``latest`` is the latest-vintage trend when ``trend``
    shows first-published values (so both values are in the table either way)."""
    latest_values = {p.period: p.value for p in (latest or trend).points}
    rows = []
    for p in trend.points:
        latest_value = latest_values.get(p.period, p.value)
        rows.append({
            "period": p.period, "latest": latest_value, "first_published": p.first_published,
            "revised": "yes" if revised(latest_value, p.first_published) else "",
            "provisional": "yes" if p.status == "p" else "",
            "variation": (_VARIATION_WORD.get(p.variation, p.variation) + f" (rules {' '.join(map(str, p.rules))})")
            if p.rules else "common cause"})
    return pd.DataFrame(rows, columns=["period", "latest", "first_published", "revised", "provisional", "variation"])


def compare_caption(trends: Sequence, *, metric_name: str, freq: str) -> str:
    """Which compared area moved most over the window (relative change, or points for a %)."""
    moves = []
    for t in trends:
        values = [p for p in t.points if p.value is not None]
        if len(values) >= 2:
            moves.append((t, values[0], values[-1]))
    if not moves:
        return f"There are not enough values of {metric_name} to compare areas."
    unit = trends[0].unit

    def size(item):
        _, a, b = item
        if is_percent(unit) or not a.value:
            return b.value - a.value
        return (b.value - a.value) / abs(a.value)

    best = max(moves, key=lambda m: abs(size(m)))
    t, a, b = best
    how = (f"{signed(b.value - a.value, unit)}" if is_percent(unit) or not a.value
           else f"{'+' if size(best) > 0 else '-'}{abs(size(best)):.1%}")
    return (f"Of the {plural(len(trends), 'area')} compared, {t.area_name} changed most between "
            f"{period_name(a.period, freq)} and {period_name(b.period, freq)} ({how}).")


# ----------------------------------------------------------------------------- explain
def verdict(significance: Mapping[str, Any]) -> tuple[str, str]:
    """(badge text, badge colour name) for a significance dict."""
    beyond = significance.get("beyond_normal_variation")
    kind = significance.get("verdict")
    if beyond is None:
        return "Not enough history", "secondary"
    if not beyond:
        return "Within normal variation", "secondary"
    return {"improvement": ("Beyond normal variation: improvement", "success"),
            "concern": ("Beyond normal variation: concern", "danger")}.get(
        kind, ("Beyond normal variation", "primary"))


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


# ----------------------------------------------------------------------------- model lab
def versions_frame(versions: Sequence) -> pd.DataFrame:
    """The versions table: version, kind, drivers, CV R², baseline R², data vintage, created, active."""
    rows = []
    for v in versions:
        rows.append({
            "version": v.version, "kind": v.kind.replace("_", " "),
            "drivers": ", ".join(v.drivers + v.pseudo_drivers),
            "cv_r2": _round(v.scores.get("r2")), "baseline_r2": _round(v.scores.get("baseline_r2")),
            "cv_mae": _round(v.scores.get("mae")), "data_vintage": v.data_vintage, "created": v.created_at,
            "active": "yes" if v.active else ""})
    return pd.DataFrame(rows, columns=["version", "kind", "drivers", "cv_r2", "baseline_r2", "cv_mae",
                                       "data_vintage", "created", "active"])


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(float(value), digits)


def scores_frame(scores: Mapping[str, Any]) -> pd.DataFrame:
    """Model against the naive (persistence) baseline: R², MAE, explained variance."""
    return pd.DataFrame([
        {"measure": "R² (out of sample)", "model": _round(scores.get("r2")),
         "naive baseline": _round(scores.get("baseline_r2"))},
        {"measure": "Mean absolute error", "model": _round(scores.get("mae")),
         "naive baseline": _round(scores.get("baseline_mae"))},
        {"measure": "Explained variance", "model": _round(scores.get("explained_variance")),
         "naive baseline": None},
    ])


def folds_frame(scores: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for f in scores.get("folds", ()):
        rows.append({"fold": int(f["fold"]) + 1, "train_periods": f"{f['train_periods'][0]}–{f['train_periods'][1]}",
                     "test_periods": f"{f['test_periods'][0]}–{f['test_periods'][1]}", "n_train": f["n_train"],
                     "n_test": f["n_test"], "r2": _round(f.get("r2")), "mae": _round(f.get("mae")),
                     "baseline_r2": _round(f.get("baseline_r2")), "baseline_mae": _round(f.get("baseline_mae"))})
    return pd.DataFrame(rows, columns=["fold", "train_periods", "test_periods", "n_train", "n_test", "r2", "mae",
                                       "baseline_r2", "baseline_mae"])


def scores_caption(scores: Mapping[str, Any]) -> str:
    r2, base = scores.get("r2"), scores.get("baseline_r2")
    mae, base_mae = scores.get("mae"), scores.get("baseline_mae")
    if r2 is None or mae is None or base_mae is None:
        return "No cross-validation scores were saved for this version."
    beats = mae < base_mae
    return (f"Out of sample, the model's mean absolute error is {short_number(mae)} against "
            f"{short_number(base_mae)} for the naive baseline (last value carried forward): it "
            f"{'beats' if beats else 'does not beat'} the baseline (R² {r2:.3f} against "
            f"{'n/a' if base is None else f'{base:.3f}'}).")


def importance_caption(frame: pd.DataFrame, names: Mapping[str, str]) -> str:
    if frame.empty:
        return "No driver importance could be computed."
    top = frame.iloc[0]
    return (f"{display_name(top['driver'], names)} moves the prediction most from one period to the next "
            f"({top['share']:.0%} of the mean absolute attribution over the last "
            f"{plural(int(top['n_pairs']), 'pair')} of periods).")


def lab_fit_arguments(drivers: Sequence[str] | None, kind: str | None, pseudo: Sequence[str] | None,
                      *, candidates: Sequence[str], kinds: Sequence[str] = ("linear", "gradient_boosting"),
                      pseudo_options: Sequence[str] = ("trend", "seasonality")) -> dict[str, Any]:
    """Checked arguments for ``explain.fit_driver_model`` from the lab's controls (ValueError with a
    message a person can act on when they make no model)."""
    chosen = [d for d in (drivers or []) if d in candidates]
    chosen_pseudo = [p for p in (pseudo or []) if p in pseudo_options]
    if kind not in kinds:
        raise ValueError(f"Choose a model kind: {' or '.join(k.replace('_', ' ') for k in kinds)}.")
    if not chosen and not chosen_pseudo:
        raise ValueError("Choose at least one driver or pseudo-driver to fit a model.")
    return {"drivers": tuple(chosen), "kind": kind, "pseudo_drivers": tuple(chosen_pseudo)}


def progress_state(done: int, total: int, message: str) -> tuple[int, str]:
    """(percent 0–100, label text) for a progress bar."""
    pct = 0 if total <= 0 else max(0, min(100, round(100 * done / total)))
    return pct, f"{message} ({pct}%)"


def driver_token(code: str) -> str:
    """A driver's checklist value in the model lab. Not the bare metric code: a driver may belong to
    another department (the model spec names it), and the page itself checks each token against
    the candidates it offered this user."""
    return f"driver:{code}"


def driver_codes(tokens: Sequence[str] | None) -> list[str]:
    return [t.split(":", 1)[1] for t in (tokens or []) if isinstance(t, str) and t.startswith("driver:")]


def candidate_drivers(metric: str, *, visible: Sequence[str], configured: Sequence[str] = (),
                      exclude: Sequence[str] = ()) -> list[str]:
    """Drivers the lab offers for ``metric``: the configured ones (spec and active version) first,
    then the user's other metrics; never the metric itself or ``exclude`` (e.g. metrics computed
    from it)."""
    out: list[str] = []
    for code in [*configured, *visible]:
        if code != metric and code not in exclude and code not in out:
            out.append(code)
    return out


def importance_parts(frame: pd.DataFrame, names: Mapping[str, str], *, keep: int = 4) -> list[Part]:
    parts = [Part(row.driver, display_name(row.driver, names), float(row.mean_abs)) for row in frame.itertuples()]
    return group_small(parts, keep=keep, other_label=OTHER_DRIVERS, other_key="other_drivers")


def residuals_caption(frame: pd.DataFrame, *, unit: str, freq: str, recent: int = 12) -> str:
    if frame.empty:
        return "There are no complete rows to compare the model's predictions with."
    tail = frame.tail(recent)
    worst = tail.loc[tail["residual"].abs().idxmax()]
    mean_abs = float(tail["residual"].abs().mean())
    return (f"Over the last {plural(len(tail), freq_word(freq))}, the model's prediction of the whole was off by "
            f"{format_value(mean_abs, unit)} on average; most in {period_name(worst['period'], freq)} "
            f"({signed(float(worst['residual']), unit)}, actual minus predicted).")


def partial_dependence_caption(frame: pd.DataFrame, *, driver_label: str, unit: str, slope: float | None = None,
                               seasonal: bool = False) -> str:
    if frame.empty:
        return f"No partial dependence could be computed for {driver_label}."
    if seasonal:
        high = frame.loc[frame["prediction"].idxmax()]
        low = frame.loc[frame["prediction"].idxmin()]
        return (f"Holding the other drivers at their recent values, the average prediction is highest in season "
                f"{int(high['value'])} ({format_value(float(high['prediction']), unit)}) and lowest in season "
                f"{int(low['value'])} ({format_value(float(low['prediction']), unit)}).")
    first, last = frame.iloc[0], frame.iloc[-1]
    text = (f"Holding the other drivers at their recent values, moving {driver_label} from "
            f"{short_number(float(first['value']))} to {short_number(float(last['value']))} moves the average "
            f"prediction from {format_value(float(first['prediction']), unit)} to "
            f"{format_value(float(last['prediction']), unit)}")
    if slope is not None and math.isfinite(slope):
        text += f" (a straight line: {round_sig(slope):g} per unit, the model's coefficient)"
    return text + "."
