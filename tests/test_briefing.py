"""The Summary briefing's pure parts: the 'why' line (explain.briefing), the order and grouping of
metrics (dashapp.presenters_summary), and reading periods typed on the Explain and Trends pages
(dashapp.presenters_queries). Hand-made explanations with known parts, so every share is exact."""
from __future__ import annotations

import pytest

from dashapp import presenters_queries as pq
from dashapp import presenters_summary as ps
from explain.briefing import Reason, main_reason, reasons, why_sentence
from explain.results import ComponentPart, DriverContribution, Explanation, Headline, MetricInfo, ModelSummary, SegmentPart
from explain.verdict import Verdict

INFO = MetricInfo("uc_caseload", "Households on Universal Credit", "DWP", "households", "sum", None,
                  "", "", "M")


def explanation(*, change=1000.0, components=(), segments=(), drivers=(), model=True, by=None, unit="households"):
    return Explanation(
        metric="m", area=None, period_from="2026-08", period_to="2026-09", value_from=10_000.0,
        value_to=10_000.0 + change, change=change, significance={}, drivers=tuple(drivers),
        unexplained=change - sum(d.contribution for d in drivers),
        model=ModelSummary("linear", 1, 0.9, 7) if model else None, components=tuple(components),
        segments=tuple(segments), narrative="", data_vintage=7, by=by, unit=unit)


def test_the_largest_part_of_each_kind_with_its_exact_share():
    e = explanation(
        segments=[SegmentPart("E1", "West Midlands", 700.0), SegmentPart("E2", "London", 200.0),
                  SegmentPart("E3", "North East", 100.0)],
        drivers=[DriverContribution("claimant_count", 600.0), DriverContribution("population", 150.0)],
        components=[])
    found = reasons(e, {"claimant_count": "Claimant count"})
    assert [(r.kind, r.code, r.share) for r in found] == [("area", "E1", 0.7), ("driver", "claimant_count", 0.6)]
    assert found[0].text == "Mostly West Midlands: +700 of the rise of 1,000 households (70%)."
    assert found[1].text == "Associated most with claimant count: +600 of the rise of 1,000 households (60%)."
    # a reader who may not see the driver gets the area
    assert main_reason(found, drivers_allowed=False).code == "E1"


def test_a_part_against_the_change_is_never_the_reason_when_one_went_its_way():
    e = explanation(change=-100.0, segments=[SegmentPart("A", "London", 300.0), SegmentPart("B", "Leeds", -250.0),
                                             SegmentPart("C", "Hull", -150.0)])
    found = reasons(e)
    assert found[0].code == "B" and found[0].share == pytest.approx(2.5)
    assert found[0].text == ("Driven by Leeds: -250, more than the whole fall of 100 households, as other areas "
                             "pulled the other way.")


def test_a_change_spread_thinly_says_so():
    parts = [SegmentPart(str(i), f"Area {i}", 100.0) for i in range(10)]
    found = reasons(explanation(segments=parts))
    assert found[0].share == pytest.approx(0.1)
    assert found[0].text.startswith("The change was spread across areas; the largest part was Area 0 (+100 of the "
                                    "rise of 1,000 households, 10%)")


def test_a_whole_with_one_part_an_unexplained_only_model_and_no_change_give_no_reason():
    assert reasons(explanation(segments=[SegmentPart("A", "England", 1000.0)])) == ()
    assert reasons(explanation(drivers=[], model=True)) == ()
    assert reasons(explanation(change=0.0, segments=[SegmentPart("A", "X", 0.0), SegmentPart("B", "Y", 0.0)])) == ()
    # residual segments ('not allocated') are not areas
    only = reasons(explanation(segments=[SegmentPart("A", "London", 900.0),
                                         SegmentPart("_residual", "Not allocated", 100.0, presence="residual")]))
    assert only == ()


def test_components_and_money_units_and_the_where_clause():
    e = explanation(unit="£m", change=114.0,
                    components=[ComponentPart("uc_caseload", 110.0), ComponentPart("uc_avg_award", 4.0)],
                    segments=[SegmentPart("E1", "West Midlands", 109.0), SegmentPart("E2", "London", 5.0)])
    found = reasons(e, {"uc_caseload": "Households on Universal Credit"})
    assert [r.kind for r in found] == ["component", "area"]   # 110/114 before 109/114
    assert why_sentence(found) == ("Mostly from households on Universal Credit: +£110m of the rise of £114m (96%); "
                                   "most of it in West Midlands (96%).")


def test_reasons_round_trip_through_dicts():
    r = Reason("area", "E1", "West Midlands", 700.0, 0.7, "Mostly West Midlands.")
    assert Reason.from_dict(r.to_dict()) == r


# ------------------------------------------------------------------------------ the briefing's order
def headline(code, kind, *, change=10.0, lower=-5.0, upper=5.0, reasons_=()):
    outcome = {"common_cause": "within", "unknown": "insufficient"}.get(kind, "beyond")
    direction = kind if kind in ("improvement", "concern") else "neutral"
    verdict = Verdict(outcome, direction, change, "", lower=lower, upper=upper)
    info = MetricInfo(code, code.title(), "DWP", "households", "sum", None, "", "", "M")
    return Headline(info, "ALL", "2026-09", 100.0 + change, "2026-08", 100.0, None, None, kind, (1.0, 2.0),
                    "A sentence.", 7, "A", "", verdict=verdict, reasons=tuple(reasons_))


def test_severity_is_distance_beyond_the_range_in_half_widths():
    assert ps.severity(headline("a", "concern", change=15.0).verdict) == pytest.approx(2.0)
    assert ps.severity(headline("a", "improvement", change=-10.0).verdict) == pytest.approx(1.0)
    assert ps.severity(headline("a", "common_cause", change=1.0).verdict) == 0.0


def test_groups_concerns_first_furthest_beyond_first_and_the_table_keeps_unusual_first():
    rows = [ps.briefing_row(h) for h in (
        headline("calm", "common_cause", change=1.0), headline("mild", "concern", change=6.0),
        headline("wild", "concern", change=20.0), headline("good", "improvement", change=-9.0),
        headline("odd", "neutral", change=8.0), headline("new", "unknown"))]
    groups = ps.groups(rows)
    assert [(kind, [r.code for r in members]) for kind, _, _, members in groups] == [
        ("concern", ["wild", "mild"]), ("improvement", ["good"]), ("neutral", ["odd"])]
    assert [r.code for r in ps.table_order(rows)] == ["wild", "mild", "good", "odd", "calm", "new"]
    assert ps.headline_count(rows) == "4 of 6 metrics moved beyond their usual range in the latest period."
    assert ps.headline_count(rows[:1]) == "None of the 1 metric moved beyond its usual range in the latest period."
    assert rows[1].verdict == "Unusual change: worse" and rows[0].verdict == "Within the usual range"


def test_the_why_falls_back_honestly():
    driver = Reason("driver", "x", "x", 5.0, 0.5, "Associated most with x.")
    assert ps.briefing_row(headline("a", "concern", reasons_=[driver])).why == "Associated most with x."
    assert ps.briefing_row(headline("a", "concern", reasons_=[driver]), drivers_allowed=False).why == ps.HIDDEN_WHY
    assert ps.briefing_row(headline("a", "concern")).why == ps.NO_SPLIT


def test_department_choice_only_accepts_a_department_the_reader_sees():
    assert ps.department_choice("DWP", {"DWP": "Work and Pensions"}) == "DWP"
    assert ps.department_choice("DHSC", {"DWP": "Work and Pensions"}) is None
    assert ps.department_choice(None, {"DWP": "Work and Pensions"}) is None


# ------------------------------------------------------------------------------ typed periods
MONTHS = ["2026-06", "2026-07", "2026-08", "2026-09"]


@pytest.mark.parametrize("typed, label", [("2026-08", "2026-08"), ("Aug 2026", "2026-08"),
                                          ("August 2026", "2026-08"), (" 2026-09 ", "2026-09")])
def test_any_spelling_of_a_period_the_series_has_is_read(typed, label):
    assert pq.read_period(typed, MONTHS, "M", "2026-08") == (label, None)


def test_a_period_that_cannot_be_used_says_why_with_an_example_from_the_series():
    assert pq.read_period("", MONTHS, "M", "2026-08") == (None, "Enter a period, for example 2026-08.")
    label, problem = pq.read_period("2026-13", MONTHS, "M", "2026-08")
    assert label is None and problem == ("'2026-13' is not a period we can read. Type one like 2026-08 "
                                         "(this series runs 2026-06 to 2026-09).")
    assert pq.read_period("2019-01", MONTHS, "M", "2026-08")[1] == (
        "'2019-01' is not in this series, which runs 2026-06 to 2026-09. Try 2026-08.")
    assert pq.read_period("Jan 2019", MONTHS, "M", "2026-08")[1].startswith("'Jan 2019' (2019-01) is not in")
    a, b, problems = pq.read_period_pair("2026-09", "2026-08", MONTHS, "M", ("2026-08", "2026-09"))
    assert (a, b) == ("2026-09", None) and list(problems) == ["to"] and "before 'From'" in problems["to"]
    assert pq.read_period_pair("2026-08", "2026-08", MONTHS, "M", ("2026-08", "2026-09"))[2] == {
        "to": "Choose a period after 2026-08, for example 2026-09."}


def test_at_most_four_areas_are_compared():
    assert pq.limit_compare(["a", "b"]) == (["a", "b"], "")
    kept, message = pq.limit_compare(["a", "b", "c", "d", "e"])
    assert kept == ["a", "b", "c", "d"] and message.startswith("At most 4 areas")
