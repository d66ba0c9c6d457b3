"""The Data page's upload preview, as data: what loading a checked file would change.

An administrator deciding whether to load a department's new file needs to see what it would do to
the figures people already use (values added, revised, withdrawn), not the file's first rows. The
numbers come from :func:`loaders.upload_preview`, the load itself run and rolled back, so the preview
and the load always agree. Pure: unit-tested without a browser.
"""
from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from explain.wording import dimension_words

#: how many values of each kind the preview lists (the counts cover them all)
SHOWN = 50

#: the kinds of change, in the order the page shows them: (key, heading, what it means)
KINDS = (
    ("revised", "Revised values", "values the store has now that this file changes"),
    ("withdrawn", "Withdrawn values", "values the store has now, in periods this file covers, that the file no "
                                      "longer has (they stay in the earlier vintages' history)"),
    ("new", "New values", "values the store does not have yet"),
)


def change_counts(outcome) -> str:
    """'Loading this file would add 12 new values, revise 3 and withdraw 1 (rows quarantined: 2).'"""
    if not (outcome.values_new or outcome.values_revised or outcome.values_withdrawn):
        text = "Loading this file would change no value: every value it has is already in the store as it is."
    else:
        text = (f"Loading this file would add {outcome.values_new:,} new value{_s(outcome.values_new)}, "
                f"revise {outcome.values_revised:,} and withdraw {outcome.values_withdrawn:,}.")
    if outcome.rows_quarantined:
        text += (f" {outcome.rows_quarantined:,} row{_s(outcome.rows_quarantined)} would be quarantined "
                 "(the problems are listed below).")
    return text


def changes_table(frame: pd.DataFrame, *, metric_names: Mapping[str, str], area_names: Mapping[str, str],
                  limit: int = SHOWN) -> pd.DataFrame:
    """A kind of change as the page's table: Metric, Area, Breakdown (when any), Period, Now, In this file."""
    shown = frame.head(limit)
    table = pd.DataFrame({
        "Metric": [metric_names.get(m, m) for m in shown["metric"]],
        "Area": [area_names.get(a, a) for a in shown["area"]],
        "Breakdown": [_breakdown(b) for b in shown["breakdown"]],
        "Period": shown["period"].tolist(),
        "Now": [_number(v) for v in shown["old"]],
        "In this file": [_number(v) for v in shown["new"]],
    })
    if not any(table["Breakdown"]):
        table = table.drop(columns="Breakdown")
    return table


def _breakdown(key: str) -> str:
    """'dept_type=Type 1;sex=F' -> 'department type: Type 1, sex: F' ('' for the total)."""
    if not key:
        return ""
    parts = [p.split("=", 1) for p in str(key).split(";") if "=" in p]
    return ", ".join(f"{dimension_words(k)}: {v}" for k, v in parts)


def _number(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:,.6g}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
