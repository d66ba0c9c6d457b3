"""The plain words whytrend uses for its verdicts and chart signals, in one place.

Why: the Summary, Explain and Trends pages, the narrative and the CLI all say whether a movement is
unusual; officials read them side by side, so they must use one vocabulary, and it must be plain
English. A movement is **an unusual change** (beyond the usual range) or **within the usual range**;
the statistical names (special cause and common cause variation, process limits, XmR rules, Shapley
values, SHAP) are kept for the About tabs (:data:`XMR_METHOD`, :data:`VERDICT_METHOD`,
:data:`COMPONENTS_METHOD`, :data:`DRIVERS_METHOD`), where analysts look for them.

Pure constants and functions of strings; no dash, no plotly.
"""
from __future__ import annotations

import re

# ---------------------------------------------------------------- the verdict on a movement
#: a movement beyond the usual range (what statistical process control calls special cause variation)
UNUSUAL_CHANGE = "an unusual change"
#: a movement inside it (common cause, normal variation)
WITHIN_USUAL_RANGE = "within the usual range"
BEYOND_USUAL_RANGE = "beyond the usual range"
USUAL_RANGE = "the usual range"
NOT_ENOUGH_HISTORY = "Not enough history to judge"
#: the direction of an unusual change, read with the metric's better direction (Verdict.direction)
DIRECTION_WORDS = {"improvement": "an improvement", "concern": "a concern"}

#: by ``Verdict.kind``: (badge, sentence) for summary cards and badges; dashapp.presenters.SPC_LABELS
#: can be this dict
VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "improvement": ("Unusual change: better", "Beyond the usual range for this metric: an improvement"),
    "concern": ("Unusual change: worse", "Beyond the usual range for this metric: a concern"),
    "neutral": ("Unusual change", "Beyond the usual range (neither better nor worse for this metric)"),
    "common_cause": ("Within the usual range", "Within the usual range for this metric"),
    "unknown": ("Not enough history", "Not enough history to judge the latest change"),
}


#: a comparison of two figures (a forecast and its outturn, two vintages): not a movement over time
NOT_JUDGED = "A comparison, not judged"


def verdict_headline(outcome: str, direction: str = "", cause: str = "") -> str:
    """The verdict in a few words: 'Unusual change: a concern', 'Unusual change', 'Within the usual
    range', 'Not enough history to judge' (``outcome``: 'beyond' / 'within' / 'insufficient'), or 'A
    comparison, not judged' (``cause`` 'comparison': explain.comparison)."""
    if cause == "comparison":
        return NOT_JUDGED
    if outcome == "beyond":
        tone = DIRECTION_WORDS.get(direction)
        return "Unusual change" + (f": {tone}" if tone else "")
    if outcome == "within":
        return WITHIN_USUAL_RANGE[0].upper() + WITHIN_USUAL_RANGE[1:]
    return NOT_ENOUGH_HISTORY


def verdict_opening(outcome: str, direction: str = "") -> str:
    """The start of a verdict sentence: 'This is an unusual change, and a concern', 'This is an
    unusual change', 'This change is within the usual range'."""
    if outcome == "beyond":
        tone = DIRECTION_WORDS.get(direction)
        return f"This is {UNUSUAL_CHANGE}" + (f", and {tone}" if tone else "")
    if outcome == "within":
        return f"This change is {WITHIN_USUAL_RANGE}"
    return "There is not enough history to say whether this change is unusual"


# ---------------------------------------------------------------- the level chart (XmR)
#: the XmR chart's lines, as the legend and captions name them
AVERAGE = "Average"
UPPER_LIMIT = "Upper limit of the usual range"
LOWER_LIMIT = "Lower limit of the usual range"
#: short labels written beside the lines on the chart
LINE_LABELS = {AVERAGE: "Average", UPPER_LIMIT: "Upper", LOWER_LIMIT: "Lower"}

#: by a point's ``variation`` (TrendPoint.variation): the legend's and table's words
POINT_WORDS = {
    "improvement": "Unusual: an improvement",
    "concern": "Unusual: a concern",
    "neutral": "Unusual (no better or worse direction)",
    "common_cause": "Within the usual range",
}

#: the number of points in a row that make a run or a trend (explain.significance.xmr_chart's default)
RUN_LENGTH = 7


def rule_words(rule: int, *, up: bool, length: int = RUN_LENGTH) -> str:
    """What an XmR rule found, without its number: 'a point above the usual range', '7 points in a row
    each higher than the one before', '2 of 3 points in a row near the top of the usual range', '7
    points in a row above the average'."""
    if rule == 1:
        return f"a point {'above' if up else 'below'} {USUAL_RANGE}"
    if rule == 2:
        return f"{length} points in a row each {'higher' if up else 'lower'} than the one before"
    if rule == 3:
        return f"2 of 3 points in a row near the {'top' if up else 'bottom'} of {USUAL_RANGE}"
    return f"{length} points in a row {'above' if up else 'below'} the average"


#: the rules by number, for analysts (About tabs only)
RULE_NAMES = {
    1: "Rule 1: a point beyond a process limit",
    2: "Rule 2: a trend of 7 points in a row each rising or each falling",
    3: "Rule 3: 2 of 3 points in a row beyond 2 sigma (near a process limit)",
    4: "Rule 4: a shift of 7 points in a row on one side of the centre line",
}

# ---------------------------------------------------------------- methods, for the About tabs
XMR_METHOD = (
    "XmR chart (statistical process control, as NHS 'Making Data Count' uses it). The usual range runs from "
    "the average − 2.66 × the mean moving range to the average + 2.66 × the mean moving range (the process "
    "limits); tentative (trial) limits below 12 points. A point flagged as unusual is what SPC calls special "
    "cause variation; everything else is common cause variation, shown as within the usual range. "
    + "; ".join(RULE_NAMES.values()) + "."
)
VERDICT_METHOD = (
    "The change is compared with the series' own earlier changes over the same span: their mean is the "
    "change expected, and a 98% prediction interval around it is the usual range of changes (Student's t, "
    "earlier special causes left out; month-on-month changes are compared with the same month in earlier "
    "years). A change outside it is an unusual change (beyond normal variation; special cause in SPC terms); "
    "with fewer than 3 earlier changes, an exact Poisson (MOVER) or bootstrap interval on the change."
)
COMPONENTS_METHOD = (
    "Exact Shapley values over the formula's components: each component's share of the change, averaged over "
    "every order of switching the components from the earlier period to the later one; they add up to the "
    "change exactly."
)
DRIVERS_METHOD = (
    "Paired baseline SHAP: each area's row in the later period against its own row in the earlier one; "
    "intervals from an area bootstrap. Small drivers are grouped as 'Other drivers'."
)
#: chart subtitles that say what the split is without naming the method
COMPONENTS_SUBTITLE = "Each component's share of the change (an exact split)"
DRIVERS_SUBTITLE = "Each driver's share of the change, with a 90% range; hatched = not explained by the drivers"


# ---------------------------------------------------------------- codes as words
#: parts of codes that are abbreviations, written out (or capitalised) for readers
_ABBREVIATIONS = {
    "dept": "department", "la": "local authority", "lad": "local authority district", "gor": "region",
    "org": "organisation", "num": "number", "no": "number", "pct": "percentage", "yr": "year",
    "fy": "financial year", "govt": "government", "gov": "government", "reg": "region", "cat": "category",
    "desc": "description", "imd": "deprivation", "nhs": "NHS", "uk": "UK", "ons": "ONS", "hmrc": "HMRC",
    "dwp": "DWP", "gp": "GP", "ae": "A&E", "icb": "ICB", "ccg": "CCG", "sen": "SEN", "fsm": "FSM",
}


def dimension_words(code: str) -> str:
    """A breakdown dimension's code as words for the middle of a sentence: 'dept_type' -> 'department
    type', 'world_region' -> 'world region', 'Custody type' -> 'custody type', 'NHS_region' -> 'NHS
    region'. Capitalise it yourself at the start of a sentence or a label."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(code).strip())  # camelCase
    words = [w for w in re.split(r"[\s_\-.]+", text) if w]
    out = []
    for word in words:
        known = _ABBREVIATIONS.get(word.lower())
        out.append(known if known else word if (word.isupper() and len(word) > 1) else word.lower())
    return " ".join(out)
