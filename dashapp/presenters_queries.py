"""Reading the analysis pages' URL queries (Trends, Explain): what a link or a control asked for,
checked against what the user may see, with a note for anything that had to be changed. Pure: no
Dash, no store, so every rule is unit-tested without a browser.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import parse_qs, urlencode

from explain.numbers import period_text
from loaders.errors import AccessDenied

from .presenters_parts import freq_word

MAX_COMPARE = 4
VINTAGES = ("latest", "first")
COMPARISONS = ("previous", "year")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_PERIOD = re.compile(r"^[0-9A-Za-z\-/ ]{4,16}$")


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
    #: None for cash, else 'real' or 'per_head' (checked against the metric's manifest by the page)
    measure: str | None = None

    @property
    def as_first_published(self) -> bool:
        return self.vintage == "first"

    def to_query(self) -> dict[str, Any]:
        return {"metric": self.metric, "area": self.area, "from": self.start, "to": self.end,
                "compare": list(self.compare), "vintage": None if self.vintage == "latest" else self.vintage,
                "measure": self.measure}


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
        raise AccessDenied("No metric is available to you.")
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
    measure = first_value(query, "measure")
    return TrendsQuery(metric, area, start, end, compare, vintage, tuple(notes),
                       measure if measure in ("real", "per_head") else None)


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
    word = freq_word(freq)
    out = []
    if "previous" in pairs:
        a, b = pairs["previous"]
        out.append({"label": f"The previous {word}: {period_text(a, freq)} to {period_text(b, freq)}",
                    "value": "previous"})
    if "year" in pairs and pairs["year"] != pairs.get("previous"):
        a, b = pairs["year"]
        out.append({"label": f"A year earlier: {period_text(a, freq)} to {period_text(b, freq)}", "value": "year"})
    out.append({"label": "Other periods (choose below)", "value": "custom"})
    return out


def choose_periods(trigger: str, comparison: str | None, start: str | None, end: str | None,
                   pairs: Mapping[str, tuple[str, str]], periods: Sequence[str]) -> tuple[str, str, str, list[str]]:
    """(from, to, comparison choice, notes) after a control changed on the explain page.

    ``trigger``: 'metric' (the same comparison, or the same periods when the new series has them,
    else the default), 'comparison' (the radio), 'apply' (the typed
    periods) or anything else (keep the typed periods when this series has them)."""
    notes: list[str] = []
    default = pairs.get("previous") or ((periods[-1], periods[-1]) if periods else ("", ""))
    if trigger == "metric":  # a new metric keeps the comparison, or the typed periods where it has them
        if comparison in pairs:
            a, b = pairs[comparison]
            return a, b, comparison_choice(a, b, pairs), notes  # a year earlier is the previous year of a yearly series
        a, b = clean_period(start, periods), clean_period(end, periods)
        if a is not None and b is not None and a != b:
            return a, b, comparison_choice(a, b, pairs), notes
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


# ------------------------------------------------------------------ periods typed into the controls
def read_period(text: str | None, periods: Sequence[str], freq: str, example: str) -> tuple[str | None, str | None]:
    """A period typed by the reader as one of the series' labels: (label, None), or (None, the problem
    in words with an example from the series' own periods). Any spelling the loaders read is accepted
    ('September 2026', 'Sep-26', '2026-09'), as long as the series has that period."""
    from loaders.errors import PeriodError
    from loaders.periods import parse_period

    typed = (text or "").strip()
    span = f"{periods[0]} to {periods[-1]}" if periods else "none"
    if not typed:
        return None, f"Enter a period, for example {example}."
    if typed in periods:
        return typed, None
    try:
        label = parse_period(typed, prefer=freq or None).label
    except (PeriodError, ValueError):
        return None, f"'{typed}' is not a period we can read. Type one like {example} (this series runs {span})."
    if label in periods:
        return label, None
    read_as = f" ({label})" if label != typed else ""
    return None, f"'{typed}'{read_as} is not in this series, which runs {span}. Try {example}."


def read_period_pair(start: str | None, end: str | None, periods: Sequence[str], freq: str,
                     examples: tuple[str, str]) -> tuple[str | None, str | None, dict[str, str]]:
    """Both typed periods of the Explain page: (from, to, problems by field 'from'/'to'); the
    periods are None where there is a problem. Two equal periods, or From after To, are problems of
    the 'to' field."""
    a, problem_a = read_period(start, periods, freq, examples[0])
    b, problem_b = read_period(end, periods, freq, examples[1])
    problems = {k: v for k, v in (("from", problem_a), ("to", problem_b)) if v}
    if a is not None and b is not None:
        order = {p: i for i, p in enumerate(periods)}
        if a == b:
            problems["to"] = f"Choose a period after {a}, for example {examples[1]}."
        elif order[a] > order[b]:
            problems["to"] = f"'To' ({b}) is before 'From' ({a}): choose a later period, for example {examples[1]}."
    if problems:
        return (None if "from" in problems else a), (None if "to" in problems else b), problems
    return a, b, problems


def period_examples(periods: Sequence[str], pairs: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    """Example periods for the From and To hints, from the series itself (the default comparison)."""
    if "previous" in pairs:
        return pairs["previous"]
    if len(periods) >= 2:
        return periods[-2], periods[-1]
    return (periods[0], periods[0]) if periods else ("", "")


def limit_compare(chosen: Sequence[str] | None) -> tuple[list[str], str]:
    """At most :data:`MAX_COMPARE` ticked areas: (the first ones, '' or the message saying so). The
    page unticks the rest, so what is ticked is what is drawn."""
    chosen = list(chosen or [])
    if len(chosen) <= MAX_COMPARE:
        return chosen, ""
    return chosen[:MAX_COMPARE], (f"At most {MAX_COMPARE} areas can be compared on one chart: untick one "
                                  f"before choosing another.")


# ------------------------------------------------------------------ compare with, and the measure
#: the "compare with" radio's value for "an earlier period" (the ordinary movement) and for the
#: figure first published (a revision); any other value names a plan or forecast series
VS_PERIOD, VS_FIRST = "period", "first"


def vs_options(series: Sequence[str], period_to: str, freq: str) -> list[dict[str, str]]:
    """'Compare with' choices: an earlier period, the figure for the same period first published, and
    each plan or forecast series the metric has ('The forecast for September 2026')."""
    when = period_text(period_to, freq)
    out = [{"label": "An earlier period (choose below)", "value": VS_PERIOD},
           {"label": f"The figure for {when} as first published (what revisions changed)", "value": VS_FIRST}]
    out += [{"label": f"The {name.replace('_', ' ')} for {when}", "value": name} for name in series]
    return out


def clean_vs(value: str | None, series: Sequence[str]) -> str | None:
    """The 'compare with' choice of a URL or the radio: None for an earlier period (the default), else
    'first' or a series the metric has (anything else falls back to the default)."""
    if value in (VS_FIRST, *series):
        return value
    return None


def clean_measure(value: str | None, measures: Mapping[str, str]) -> str | None:
    """None for cash (the default), else a measure the metric declares."""
    return value if value in measures and value != "cash" else None


def measure_options(measures: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"label": label, "value": code} for code, label in measures.items()]


def vs_points(vs: str | None, period_to: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The two points (period, series, vintage) a 'compare with' choice asks for, or None for the
    ordinary movement between two periods."""
    if not vs:
        return None
    first = {"period": period_to, "series": "outturn", "vintage": "first"} if vs == VS_FIRST else \
        {"period": period_to, "series": vs, "vintage": "latest"}
    return first, {"period": period_to, "series": "outturn", "vintage": "latest"}
