"""L1 significance: XmR rules on hand-made series, runs of exactly 7, intervals for two periods."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from explain.errors import ExplainError
from explain.numbers import format_interval, format_limit, signed_text
from explain.significance import (
    assess_movement,
    bootstrap_change_interval,
    count_change_interval,
    xmr_chart,
)

# Baselines with centre exactly 10 and every moving range 2: limits 10 ± 5.32, near band 10 ± 3.54.
# BASE ends above the centre (11), BASE_LOW below it (9), so a run on the other side starts fresh.
BASE = [9.0, 11.0] * 6
BASE_LOW = [11.0, 9.0] * 6


def flagged(chart) -> dict[int, frozenset[int]]:
    return {i: r for i, r in enumerate(chart.rules) if r}


def chart_of(extra: list[float], base: list[float] = BASE, **kwargs):
    return xmr_chart(base + extra, baseline=(0, len(base)), **kwargs)


# ----------------------------------------------------------------------------- limits
def test_limits_by_hand() -> None:
    chart = chart_of([])
    assert chart.centre == 10.0 and chart.mr_bar == 2.0
    assert chart.upper_limit == pytest.approx(15.32) and chart.lower_limit == pytest.approx(4.68)
    assert chart.upper_near == pytest.approx(13.54) and chart.lower_near == pytest.approx(6.46)
    assert chart.baseline == (0, 12) and not chart.trial_limits
    assert flagged(chart) == {} and set(chart.variation) == {"common_cause"}


def test_moving_range_exclusion_by_hand() -> None:
    values = [10, 11, 10, 11, 10, 30, 10, 11, 10, 11, 10, 11]
    # moving ranges: 1,1,1,1,20,20,1,1,1,1,1 -> mean 49/11 = 4.45; 3.267 x 4.45 = 14.55,
    # so both ranges of 20 are left out and the mean is taken again over the nine 1s.
    chart = xmr_chart(values)
    assert chart.mr_bar == 1.0
    assert chart.centre == pytest.approx(145 / 12)
    assert chart.upper_limit == pytest.approx(145 / 12 + 2.66)
    assert flagged(chart)[5] == frozenset({1})  # the spike itself is a signal


@pytest.mark.parametrize(("last_range", "kept"), [(4.2, True), (4.25, False)])
def test_moving_range_exclusion_threshold(last_range: float, kept: bool) -> None:
    # ten ranges of 1 and one of x: x is left out when x >= 3.267 (10 + x) / 11, i.e. x >= 4.2247
    values = [10.0, 11.0] * 5 + [10.0, 10.0 + last_range]
    chart = xmr_chart(values)
    expected = (10 + last_range) / 11 if kept else 1.0
    assert chart.mr_bar == pytest.approx(expected, rel=1e-12)


def test_trial_limits_under_twelve_points() -> None:
    assert xmr_chart(BASE[:11]).trial_limits is True
    assert xmr_chart(BASE[:12]).trial_limits is False
    assert xmr_chart(BASE + [10.0], baseline=(1, 12)).trial_limits is True


# ----------------------------------------------------------------------------- rule 1
def test_rule_1_point_beyond_a_limit_and_colours() -> None:
    high = chart_of([16.0], higher_is_better=True)
    assert flagged(high) == {12: frozenset({1})}
    assert high.variation[12] == "improvement" and high.variation[11] == "common_cause"
    assert chart_of([16.0], higher_is_better=False).variation[12] == "concern"
    assert chart_of([16.0]).variation[12] == "neutral"
    low = chart_of([4.0], higher_is_better=True)
    assert flagged(low) == {12: frozenset({1})} and low.variation[12] == "concern"
    assert chart_of([4.0], higher_is_better=False).variation[12] == "improvement"
    assert flagged(chart_of([15.3])) == {}  # inside the limit


# ----------------------------------------------------------------------------- rule 2: trends
RISING_7 = [9.0, 9.3, 9.6, 9.9, 10.2, 10.5, 10.8]


def test_rule_2_trend_of_exactly_seven_is_flagged() -> None:
    chart = chart_of(RISING_7 + [9.2], higher_is_better=False)
    assert flagged(chart) == {i: frozenset({2}) for i in range(12, 19)}
    assert all(chart.variation[i] == "concern" for i in range(12, 19))
    assert chart.variation[19] == "common_cause"


def test_rule_2_trend_of_six_is_not_flagged() -> None:
    assert flagged(chart_of(RISING_7[1:] + [9.2])) == {}
    assert flagged(chart_of(RISING_7[1:] + [9.2], trend_length=6)) == {i: frozenset({2}) for i in range(12, 18)}


def test_rule_2_equal_pair_breaks_a_trend() -> None:
    assert flagged(chart_of([9.0, 9.3, 9.6, 9.6, 9.9, 10.2, 10.5, 10.8])) == {}


def test_rule_2_falling_trend_and_direction() -> None:
    falling = [11.0, 10.7, 10.4, 10.1, 9.8, 9.5, 9.2]  # 11.0 after the baseline's last 11 is not a fall
    chart = chart_of(falling, higher_is_better=True)
    assert flagged(chart) == {i: frozenset({2}) for i in range(12, 19)}
    assert chart.variation[12] == "concern"


def test_rule_2_peak_flagged_both_ways_takes_its_side_of_the_centre() -> None:
    up_down = RISING_7 + [10.5, 10.2, 9.9, 9.6, 9.3, 9.0]
    chart = chart_of(up_down, higher_is_better=True)
    assert flagged(chart) == {i: frozenset({2}) for i in range(12, 25)}
    assert chart.variation[18] == "improvement"  # the peak (10.8) is above the centre
    assert chart.variation[12] == "improvement" and chart.variation[24] == "concern"


# ----------------------------------------------------------------------------- rule 3: 2 of 3
def test_rule_3_two_of_three_beyond_the_near_band() -> None:
    chart = chart_of([14.0, 10.0, 14.0], higher_is_better=True)
    assert flagged(chart) == {12: frozenset({3}), 14: frozenset({3})}
    assert chart.variation[12] == "improvement" and chart.variation[13] == "common_cause"
    low = chart_of([6.0, 6.2], higher_is_better=True)
    assert flagged(low) == {12: frozenset({3}), 13: frozenset({3})} and low.variation[13] == "concern"


@pytest.mark.parametrize("extra", [[14.0, 10.0, 6.0], [14.0, 10.0, 10.0, 14.0], [14.0], [13.5, 14.0]])
def test_rule_3_not_flagged(extra: list[float]) -> None:
    assert flagged(chart_of(extra)) == {}


# ----------------------------------------------------------------------------- rule 4: runs
def test_rule_4_run_of_exactly_seven_above_the_centre() -> None:
    run = [10.5, 10.2, 10.5, 10.2, 10.5, 10.2, 10.5]
    chart = chart_of(run + [9.0], base=BASE_LOW, higher_is_better=True)
    assert flagged(chart) == {i: frozenset({4}) for i in range(12, 19)}
    assert all(chart.variation[i] == "improvement" for i in range(12, 19))
    below = chart_of([9.5, 9.8] * 3 + [9.5], higher_is_better=True)
    assert flagged(below) == {i: frozenset({4}) for i in range(12, 19)} and below.variation[12] == "concern"


def test_rule_4_run_of_six_is_not_flagged_unless_asked() -> None:
    run = [10.5, 10.2, 10.5, 10.2, 10.5, 10.2]
    assert flagged(chart_of(run + [9.0], base=BASE_LOW)) == {}
    assert flagged(chart_of(run + [9.0], base=BASE_LOW, run_length=6)) == {i: frozenset({4}) for i in range(12, 18)}


def test_rule_4_point_exactly_on_the_centre_breaks_the_run() -> None:
    assert flagged(chart_of([10.5, 10.2, 10.5, 10.0, 10.2, 10.5, 10.2, 10.5], base=BASE_LOW)) == {}


def test_priority_decides_the_colour() -> None:
    # a rising trend entirely below the lower limit: rule 1 (low) outranks rule 2 (rising)
    chart = chart_of([0.0, 1.0, 2.0, 3.0, 3.5, 4.0, 4.5], higher_is_better=True)
    assert chart.rules[18] == frozenset({1, 2, 3, 4})
    assert chart.variation[18] == "concern"


# ----------------------------------------------------------------------------- gaps
def test_missing_values_are_gaps_that_nothing_spans() -> None:
    values = [11.0, float("nan"), 9.0] + BASE_LOW[2:] + [10.5, 10.2, 10.5, None, 10.2, 10.5, 10.2, 10.5]
    chart = xmr_chart(values, baseline=(0, 13))
    ranges = [abs(b - a) for a, b in zip(values[:13], values[1:13]) if a == a and b == b]  # no range across the gap
    assert chart.centre == 10.0 and chart.mr_bar == pytest.approx(sum(ranges) / len(ranges))
    assert math.isnan(chart.values[1]) and math.isnan(chart.values[16])
    assert chart.rules[16] == frozenset() and chart.variation[16] == "common_cause"
    assert flagged(chart) == {}  # 3 points above the centre, a gap, then 4: no run of 7 spans the gap
    unbroken = xmr_chart(values[:16] + [10.2] + values[17:], baseline=(0, 13))
    assert set(flagged(unbroken)) == {13, 14, 15, 16, 17, 18, 19, 20}  # the same points with no gap: a run


def test_xmr_user_errors() -> None:
    with pytest.raises(ExplainError, match="at least 2"):
        xmr_chart([1.0, float("nan"), 3.0], baseline=(0, 2))
    with pytest.raises(ExplainError, match="baseline"):
        xmr_chart(BASE, baseline=(5, 50))
    with pytest.raises(ExplainError, match="run_length"):
        xmr_chart(BASE, run_length=1)
    with pytest.raises(ExplainError):
        xmr_chart(["a", "b"])


# ----------------------------------------------------------------------------- assess_movement
def monthly(n: int) -> list[str]:
    names = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]
    return [f"{names[i % 12]} {2020 + i // 12}" for i in range(n)]


def stable_series(n: int = 30) -> list[float]:
    rng = np.random.default_rng(5)
    return [float(v) for v in rng.normal(12_000, 300, n)]


def test_assess_point_beyond_the_upper_limit() -> None:
    values, labels = stable_series(), monthly(30)
    values[29] = 20_000.0
    result = assess_movement(values, labels, 28, 29, higher_is_better=False)
    assert (result.method, result.beyond_normal_variation, result.verdict) == ("xmr", True, "concern")
    chart = result.chart
    assert chart.baseline == (0, 24) and len(chart.values) == 25  # the chart starts at the baseline (point 5)
    assert result.detail == (
        f"June 2022 is above the usual range (upper limit {format_limit(chart.upper_limit, '', 4)}, set on the 24 "
        "periods from June 2020 to May 2022): an unusual change."
    )
    assert format_limit(chart.upper_limit, "", 4) == f"{round(chart.upper_limit, -1):,.0f}"   # 4 figures, e.g. 12,780
    with_unit = assess_movement(values, labels, 28, 29, higher_is_better=False, unit="households")
    assert with_unit.detail.startswith(f"June 2022 is above the usual range (upper limit "
                                       f"{format_limit(chart.upper_limit, '', 4)} households, set on")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["chart"]["baseline"] == [0, 24] and data["chart"]["trial_limits"] is False
    assert "values" not in data["chart"]


def test_assess_common_cause() -> None:
    values, labels = stable_series(), monthly(30)
    values[29] = values[28]
    result = assess_movement(values, labels, 28, 29, higher_is_better=True)
    assert (result.beyond_normal_variation, result.verdict) == (False, "common_cause")
    chart = result.chart
    assert result.detail == (
        f"The change is within the usual range: June 2022 lies between {format_limit(chart.lower_limit, '', 4)} and "
        f"{format_limit(chart.upper_limit, '', 4)}, the limits set on the 24 periods from June 2020 to May 2022.")


def test_assess_trial_limits_are_said() -> None:
    values, labels = stable_series(), monthly(30)
    result = assess_movement(values, labels, 8, 9)
    assert result.chart.trial_limits
    assert result.detail.endswith("the 9 periods from January 2020 to September 2020 (tentative limits, as there "
                                  "are fewer than 12).")


def test_assess_run_ending_at_the_later_period() -> None:
    values = BASE_LOW + [10.5, 10.2, 10.5, 10.2, 10.5, 10.2, 10.5]
    labels = monthly(len(values))
    result = assess_movement(values, labels, 11, 18, higher_is_better=True)
    assert (result.beyond_normal_variation, result.verdict) == (True, "improvement")
    assert result.detail == ("July 2021 ends a run of 7 points in a row above the average (10) set on the 12 periods "
                             "from January 2020 to December 2020, an unusual shift.")
    six = assess_movement(values[:18], labels[:18], 11, 17, higher_is_better=True)
    assert (six.beyond_normal_variation, six.verdict) == (False, "common_cause")


def test_assess_trend_and_near_band_details() -> None:
    values = BASE + RISING_7
    trend = assess_movement(values, monthly(len(values)), 11, 18)
    assert trend.verdict == "neutral" and trend.detail == (
        "July 2021 ends 7 points in a row each higher than the one before (January 2021 to July 2021), an unusual "
        "trend.")
    near = BASE + [14.0, 10.0, 14.0]
    result = assess_movement(near, monthly(15), 11, 14, higher_is_better=False)
    assert result.verdict == "concern"
    assert result.detail.startswith("March 2021 and January 2021 are 2 of 3 points in a row near the top of the usual "
                                    "range (above 13.54) set on")


def test_assess_without_enough_history() -> None:
    values, labels = stable_series(), monthly(30)
    result = assess_movement(values, labels, 0, 5)
    assert (result.method, result.beyond_normal_variation, result.verdict) == ("none", None, "unknown")
    assert result.detail == ("There are too few values up to January 2020 (1) to set the usual range, so whether "
                             "the change is unusual is not known.")
    gap = assess_movement([1.0, 2.0, float("nan")], ["a", "b", "c"], 1, 2)
    assert gap.method == "none" and gap.detail == "There is no value for c, so its change cannot be judged."


def test_assess_user_errors() -> None:
    with pytest.raises(ExplainError, match="in order"):
        assess_movement(BASE, monthly(12), 5, 5)
    with pytest.raises(ExplainError, match="labels"):
        assess_movement(BASE, monthly(11), 5, 6)


def test_assess_ignores_points_after_the_later_period() -> None:
    values, labels = stable_series(), monthly(30)
    a = assess_movement(values, labels, 20, 25)
    values[27] = 1e9
    b = assess_movement(values, labels, 20, 25)
    assert a == b


# ----------------------------------------------------------------------------- counts
def mover_by_hand(a: float, b: float, conf: float = 0.95) -> tuple[float, float]:
    alpha = 1 - conf
    lo = lambda k: 0.0 if k == 0 else stats.chi2.ppf(alpha / 2, 2 * k) / 2  # noqa: E731
    hi = lambda k: stats.chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2  # noqa: E731
    return (b - a - math.hypot(b - lo(b), hi(a) - a), b - a + math.hypot(hi(b) - b, a - lo(a)))


@pytest.mark.parametrize(("a", "b"), [(10, 20), (0, 3), (0, 0), (250, 180)])
def test_count_interval_matches_garwood_limits_via_chi_square(a: int, b: int) -> None:
    result = count_change_interval(a, b)
    low, high = mover_by_hand(a, b)
    assert result.ci_low == pytest.approx(low, rel=1e-9, abs=1e-9)
    assert result.ci_high == pytest.approx(high, rel=1e-9)
    assert result.method == "poisson" and "Allowing for chance in counts this size" in result.detail
    assert "MOVER" not in result.detail      # the method's name is for the About tab (explain.wording)


def test_count_interval_approaches_the_normal_interval_for_large_counts() -> None:
    result = count_change_interval(1234, 1456, higher_is_better=True)
    half = stats.norm.ppf(0.975) * math.sqrt(1234 + 1456)
    assert result.ci_low == pytest.approx(222 - half, rel=0.02)
    assert result.ci_high == pytest.approx(222 + half, rel=0.02)
    assert (result.beyond_normal_variation, result.verdict) == (True, "improvement")
    # one rounding: 3 significant figures for the counts, the change their difference
    assert result.detail == (f"The count rose by 230 (from 1,230 to 1,460). Allowing for chance in counts this "
                             f"size, the change is likely (95%) to be from {format_interval(result.ci_low, result.ci_high, '')}"
                             ", which does not include zero: an unusual change.")
    assert format_interval(result.ci_low, result.ci_high, "") == "+120 to +324"
    cases = count_change_interval(250, 180, unit="cases")
    assert cases.detail.startswith("The count fell by 70 cases (from 250 cases to 180 cases).") and \
        "from \u2212112 to \u221229 cases, which does not include zero" in cases.detail


def test_count_interval_coverage_by_simulation() -> None:
    rng = np.random.default_rng(9)
    for lam_a, lam_b in [(50, 50), (20, 40), (3, 5)]:
        draws = rng.poisson([lam_a, lam_b], size=(2000, 2))
        covered = 0
        for a, b in draws:
            result = count_change_interval(a, b)
            covered += result.ci_low <= lam_b - lam_a <= result.ci_high
        assert 0.93 <= covered / 2000 <= 0.99, (lam_a, lam_b, covered)


def test_count_interval_common_cause_and_errors() -> None:
    result = count_change_interval(0, 0)
    assert (result.beyond_normal_variation, result.verdict) == (False, "common_cause")
    assert count_change_interval(300, 150, higher_is_better=True).verdict == "concern"
    with pytest.raises(ExplainError):
        count_change_interval(-1, 3)
    with pytest.raises(ExplainError):
        count_change_interval(1, 3, confidence=1.5)


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(1)
    before = rng.normal(100, 10, 60)
    after = before + rng.normal(2, 5, 60)
    first = bootstrap_change_interval(before, after, random_state=3)
    assert first == bootstrap_change_interval(before, after, random_state=3)
    assert first != bootstrap_change_interval(before, after, random_state=4)
    assert first.ci_low <= float(np.sum(after - before)) <= first.ci_high
    assert first.method == "bootstrap" and "2,000 resamples of 60 segments, paired" in first.detail
    low, high = format_interval(first.ci_low, first.ci_high, "households"), signed_text(float(np.sum(after - before)),
                                                                                        "households")
    assert bootstrap_change_interval(before, after, random_state=3, unit="households").detail == (
        f"The change in the total, {high}, is likely (95%) to be from {low}, judging by how its segments vary "
        "(2,000 resamples of 60 segments, paired), which does not include zero: an unusual change.")


def test_bootstrap_width_matches_the_standard_error() -> None:
    rng = np.random.default_rng(2)
    before = rng.normal(50, 5, 200)
    diffs = rng.normal(1, 4, 200)
    result = bootstrap_change_interval(before, before + diffs, statistic="mean", n_boot=4000)
    se = diffs.std(ddof=0) / math.sqrt(200)
    assert result.ci_high - result.ci_low == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert (result.beyond_normal_variation, result.verdict) == (True, "neutral")


def test_bootstrap_same_shift_everywhere_and_unpaired() -> None:
    before = np.arange(10.0)
    result = bootstrap_change_interval(before, before + 5, higher_is_better=False)
    assert (result.ci_low, result.ci_high) == (50.0, 50.0) and result.verdict == "concern"
    unpaired = bootstrap_change_interval([1.0, 2.0, 3.0, float("nan")], [1.5, 2.5, 3.5, 2.0],
                                         paired=False, statistic="mean")
    assert unpaired.beyond_normal_variation is False and "resamples of 3 and 4 segments" in unpaired.detail


def test_bootstrap_too_few_segments_and_errors() -> None:
    assert bootstrap_change_interval([1.0], [2.0]).method == "none"
    with pytest.raises(ExplainError, match="same segments"):
        bootstrap_change_interval([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ExplainError):
        bootstrap_change_interval([1.0, 2.0], [1.0, 2.0], statistic="median")  # type: ignore[arg-type]

