"""Narrative and numbers (issue 8): one rounding per sentence, no tiny residuals, no residual named
as what moved it most, no single-child list, intervals for every driver or none and never in
nested brackets, the vintage asked for, and incomplete wholes said. Exact expected sentences."""
from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from explain.narrative import narrate
from explain.numbers import movement_numbers, part_text
from explain.results import DriverContribution, MetricInfo, SegmentPart
from explain.verdict import Verdict


def info(unit="households", better=None):
    return MetricInfo("m", "Households on Universal Credit", "DWP", unit, "sum", better, "", "", "M")


WITHIN = Verdict("within", "neutral", 1.0, "This change is within the usual range: compared with the 30 earlier "
                 "changes over 1 month from January 2024 to July 2026, a change over 1 month would usually be from "
                 "−9,000 to +12,000 households, around +1,500 households (a range that holds 98% of usual "
                 "changes).").to_dict()


def parts(**kw):
    args = dict(info=info(), area_name=None, period_from="2026-08", period_to="2026-09", value_from=3_330_412.0,
                value_to=3_472_230.0, change=141_818.0, significance=WITHIN, drivers=(), unexplained=0.0,
                components=(), segments=(), model=None, data_vintage=7)
    args.update(kw)
    if "value_from" in kw or "value_to" in kw:
        args["change"] = args["value_to"] - args["value_from"]
    return dict(narrate(**args))


@pytest.mark.parametrize("a, b, unit, expected", [
    (3_330_412.0, 3_472_230.0, "households", ("3.33 million households", "3.47 million households",
                                              "140,000 households")),
    (4_430.4, 1_620.4, "people", ("4,430 people", "1,620 people", "2,810 people")),
    (1_465.0, 1_500.0, "count", ("1,465", "1,500", "35")),
    (85.312, 85.117, "%", ("85.31%", "85.12%", "0.19 percentage points")),
    (866.123, 870.5, "£m", ("£866.1m", "£870.5m", "£4.4m")),
])
def test_from_to_and_by_agree_under_one_rounding(a, b, unit, expected):
    shown_from, shown_to, shown_change, _ = movement_numbers(a, b, unit)
    assert (shown_from, shown_to, shown_change) == expected


def test_the_movement_sentence():
    assert parts()["movement"] == ("Households on Universal Credit rose by 140,000 households (4.3%) from "
                                   "3.33 million households in August 2026 to 3.47 million households in "
                                   "September 2026.")
    # levels keep 3 significant figures (never '3.4621 million'); the change, too small for them, its own 3
    small = parts(value_from=3_462_100.0, value_to=3_469_910.0)
    assert small["movement"] == ("Households on Universal Credit rose by 7,810 households (0.2%) from 3.46 million "
                                 "households in August 2026 to 3.47 million households in September 2026.")
    # levels that round to one number: the sentence gives the change between the periods and the level reached
    tiny = parts(value_from=8_680_650.0, value_to=8_681_000.0)
    assert tiny["movement"] == ("Households on Universal Credit rose by 350 households (less than 0.1%) between "
                                "August 2026 and September 2026, to 8.68 million households.")
    assert parts(provisional=True)["provisional"] == "The September 2026 value is provisional and may be revised."


def test_quarters_financial_years_and_temperatures():
    quarterly = MetricInfo("q", "Mean temperature", "MO", "°C", "mean", None, "", "", "Q")
    assert parts(info=quarterly, period_from="2025-Q4", period_to="2026-Q1", value_from=8.4, value_to=5.1)[
        "movement"] == ("Mean temperature fell by 3.3°C from 8.4°C in October to December 2025 to 5.1°C in "
                        "January to March 2026.")                          # no '(39.3%)' for a temperature
    yearly = MetricInfo("fy", "Spending", "HMT", "£m", "sum", None, "", "", "FY")
    assert parts(info=yearly, period_from="2010-11", period_to="2011-12", value_from=1_200.0, value_to=1_260.0)[
        "movement"] == "Spending rose by £60m (5.0%) from £1.20bn in 2010-11 to £1.26bn in 2011-12."
    rate = parts(info=info("%"), value_from=85.312, value_to=85.117)
    assert rate["movement"] == ("Households on Universal Credit fell by 0.19 percentage points from 85.31% in "
                                "August 2026 to 85.12% in September 2026.")


def test_the_verdict_sentence_in_plain_words():
    assert parts()["verdict"] == WITHIN["detail"]
    poisson = Verdict("beyond", "concern", 35.0, "The count moved by +35 (from 1,465 to 1,500). Allowing for chance "
                      "in counts this size, the change is likely (95%) to be from +12 to +58, which does not include "
                      "zero: an unusual change", method="poisson").to_dict()
    assert parts(significance=poisson)["verdict"] == poisson["detail"] + ". The change is a concern."
    unknown = Verdict("insufficient", "none", 1.0, "").to_dict()
    assert parts(significance=unknown)["verdict"] == ("There is not enough history to say whether this change is "
                                                      "unusual.")


def test_tiny_residuals_are_less_than_the_display_precision():
    assert part_text(-0.000000977, "%", 0.01) == "less than 0.005 percentage points"
    pp = parts(info=info("%"), value_from=85.312, value_to=85.117, unexplained=-0.000000977,
               drivers=(DriverContribution("temperature", -0.195),))
    assert pp["unexplained"] == "These drivers leave less than 0.005 percentage points unexplained (0% of the change)."


def test_residual_parts_are_never_what_moved_it_most_and_a_single_child_is_not_listed():
    segments = (SegmentPart("X", "Not allocated to a segment", 100_000.0, presence="residual"),
                SegmentPart("E1", "North East", 30_000.0), SegmentPart("E2", "London", 11_818.0))
    assert parts(segments=segments)["segments"] == ("The areas that moved it most: North East +30,000 households; "
                                                    "London +11,800 households.")
    only = (SegmentPart("E1", "England", 141_818.0),)
    assert "segments" not in parts(segments=only)


def test_driver_intervals_for_every_driver_or_none_and_never_nested():
    both = (DriverContribution("unemployment", 90_000.0, 80_000.0, 100_000.0),
            DriverContribution("population", 40_000.0, 30_000.0, 50_000.0))
    assert parts(drivers=both, unexplained=11_818.0)["drivers"] == (
        "The movement is associated most with unemployment (+90,000 households, range +80,000 to "
        "+100,000 households) and population (+40,000 households, range +30,000 to +50,000 households).")
    one = (both[0], DriverContribution("population", 40_000.0))
    assert parts(drivers=one, unexplained=11_818.0)["drivers"] == (
        "The movement is associated most with unemployment (+90,000 households) and population "
        "(+40,000 households).")


def test_an_incomplete_whole_is_said():
    """A segment present in only one period: the engine warns and the narrative says so."""
    from explain.engine import _incomplete

    segments = (SegmentPart("A", "Alpha", 5.0), SegmentPart("G", "Gamma", -7.0, presence="from_only"),
                SegmentPart("N", "Nova", 3.0, presence="to_only"))
    [warning] = _incomplete(segments, "2023", "2024")
    assert warning == ("The whole is incomplete: Gamma has no value in 2024; Nova has no value in 2023, so part of "
                       "the change is a change in what is reported, not in the areas reported in both periods")
    assert parts(warnings=(warning,))["warning"] == warning + "."


def test_as_at_names_the_vintage_asked_for_and_the_cli_lists_the_residual_under_drivers(demo_store):
    import explain
    from dashapp.cli import main

    store = demo_store
    first = int(store.loads_frame("dwp-uc-la-monthly")["id"].min())  # the demo's first vintage of the UC file
    latest = store.metric_state("uc_avg_award").data_vintage
    assert latest > first
    old = explain.explain_change(store, "uc_avg_award", "2024-02", "2024-03", as_at=first)
    assert old.data_vintage == first and old.narrative.endswith(f"Data vintage {first}.")
    head = explain.headline(store, "uc_caseload")
    out = CliRunner().invoke(main, ["explain", "uc_caseload", "--from", head.previous_period, "--to",
                                    head.latest_period, "--db", store.url])
    assert out.exit_code == 0, out.output
    text = out.output
    assert "Verdict: " in text
    if "Drivers:" in text:
        drivers, _, rest = text.partition("Drivers:")[2].partition("\n\n")
        assert "unexplained" in drivers and "unexplained" not in rest
    data = json.loads(CliRunner().invoke(main, ["explain", "uc_caseload", "--from", head.previous_period, "--to",
                                                head.latest_period, "--json", "--db", store.url]).output)
    assert math.isfinite(data["change"])
