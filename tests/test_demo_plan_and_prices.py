"""The demo's forecast and deflator (issue 10): the planted differences between forecast and outturn,
and the price level behind real terms, are recovered exactly from the loaded store."""
from __future__ import annotations

import pytest

import explain
from explain import Point, explain_points
from loaders import demo
from loaders.demo.areas import LOCAL_AUTHORITIES

MONTH = "2026-09"
WEST_MIDLANDS = demo.FORECAST_CASELOAD_GAP[0]


@pytest.fixture(scope="module")
def forecast():
    months, caseload, award = demo.forecast_values()
    t = months.index(MONTH)
    codes = [la.code for la in LOCAL_AUTHORITIES]
    return ({c: int(caseload[i, t]) for i, c in enumerate(codes)},
            {c: int(award[i, t]) / 100 for i, c in enumerate(codes)})


@pytest.fixture(scope="module")
def first_published(demo_store):
    """Each local authority's caseload and award in September 2026 as first published."""
    frames = {m: explain.metric_frame(demo_store, m, first_published=True) for m in ("uc_caseload", "uc_avg_award")}
    codes = {la.code for la in LOCAL_AUTHORITIES}
    return tuple({r.area: r.value for r in f[(f["period"] == MONTH) & f["area"].isin(codes)].itertuples()}
                 for f in frames.values())


def test_caseload_above_forecast_is_the_unforeseen_closure_in_the_west_midlands(demo_store, forecast, first_published):
    caseload_fc, _ = forecast
    caseload_out, _ = first_published
    result = explain_points(demo_store, "uc_caseload", Point(MONTH, "forecast"), Point(MONTH, vintage="first"))
    planted = {la.code: caseload_out[la.code] - caseload_fc[la.code] for la in LOCAL_AUTHORITIES}
    assert result.change == sum(planted.values()) > 0
    regions = {sg.segment: sg.contribution for sg in result.segments}
    assert regions.pop(WEST_MIDLANDS) == sum(v for la, v in planted.items()
                                             if next(x for x in LOCAL_AUTHORITIES if x.code == la).region == WEST_MIDLANDS)
    assert set(regions.values()) == {0.0}  # every other region was forecast exactly
    # against the latest outturn the gap also carries the revision of the last three months
    latest = explain_points(demo_store, "uc_caseload", Point(MONTH, "forecast"), Point(MONTH))
    revision = explain.revision_of(demo_store, "uc_caseload", MONTH)
    assert latest.change == result.change + revision.change


def test_award_above_forecast_is_the_planted_uprating_gap_everywhere(demo_store):
    gap = demo.FORECAST_AWARD_GAP_PENCE / 100
    for area in (None, "E08000025", WEST_MIDLANDS):
        result = explain_points(demo_store, "uc_avg_award", Point(MONTH, "forecast"), Point(MONTH), area=area)
        assert result.change == pytest.approx(gap, abs=1e-9)


def test_payments_above_forecast_split_into_caseload_and_award_as_the_closed_form(demo_store, forecast,
                                                                                   first_published):
    caseload_fc, award_fc = forecast
    caseload_out, award_out = first_published
    result = explain_points(demo_store, "uc_spend", Point(MONTH, "forecast"), Point(MONTH, vintage="first"))
    codes = [la.code for la in LOCAL_AUTHORITIES]
    expected_caseload = sum((caseload_out[c] - caseload_fc[c]) * (award_fc[c] + award_out[c]) / 2 for c in codes) / 1e6
    expected_award = sum((award_out[c] - award_fc[c]) * (caseload_fc[c] + caseload_out[c]) / 2 for c in codes) / 1e6
    parts = {c.component: c.contribution for c in result.components}
    assert parts["uc_caseload"] == pytest.approx(expected_caseload, rel=1e-9)
    assert parts["uc_avg_award"] == pytest.approx(expected_award, rel=1e-9)
    assert abs(sum(parts.values()) - result.change) < 1e-9 * abs(result.value_to)
    assert "above the forecast for September 2026" in result.narrative_part("movement")


def test_real_terms_use_the_deflator_of_each_financial_year(demo_store):
    result = explain.explain_change(demo_store, "uc_spend", "2025-03", MONTH, measure="real")
    cash = explain.explain_change(demo_store, "uc_spend", "2025-03", MONTH)
    deflator = demo.GDP_DEFLATOR
    assert result.prices_of == "2025-26"
    assert result.value_from == pytest.approx(cash.value_from * deflator["2025-26"] / deflator["2024-25"], rel=1e-12)
    assert result.value_to == pytest.approx(cash.value_to * deflator["2025-26"] / deflator["2026-27"], rel=1e-12)
    real, prices = result.measure_parts
    assert abs(real.contribution + prices.contribution - cash.change) < 1e-9 * abs(cash.value_to)
    assert prices.contribution > 0  # prices rose across the span


def test_per_head_payments_are_in_pounds_per_resident(demo_store):
    per_head = explain.explain_change(demo_store, "uc_spend", "2025-09", MONTH, measure="per_head")
    cash = explain.explain_change(demo_store, "uc_spend", "2025-09", MONTH)
    people = explain.metric_frame(demo_store, "population", areas=[explain.WHOLE])
    residents = dict(zip(people["period"], people["value"]))
    assert per_head.unit == "£ per month per head"  # '£m per month' in pounds, not millions
    assert per_head.value_to == pytest.approx(cash.value_to * 1e6 / residents[MONTH], rel=1e-12)
    head, population = per_head.measure_parts
    assert abs(head.contribution + population.contribution - cash.change) < 1e-9 * abs(cash.value_to)
    assert per_head.cash_unit == "£m per month"


@pytest.mark.parametrize("unit, expected", [("£m per month", ("£ per month per head", 1e6)), ("£bn", ("£ per head", 1e9)),
                                            ("£", ("£ per head", 1.0)), ("households", ("households per head", 1.0)),
                                            ("£million", ("£million per head", 1.0))])
def test_per_head_units(unit, expected):
    from explain.measures import per_head_unit

    assert per_head_unit(unit) == expected
