"""How whytrend writes numbers (explain.numbers), against values worked out by hand."""
from __future__ import annotations

import math

import pytest

from explain import numbers as n
from explain import wording as w


@pytest.mark.parametrize(("value", "text"), [
    (12345.4, "12,345"), (999.96, "1,000"), (123.46, "123.5"), (12.345, "12.35"), (12.5, "12.5"),
    (1.0, "1"), (0.012345, "0.0123"), (-5.0, "-5"), (0.0, "0"), (float("nan"), "n/a"),
])
def test_format_number(value: float, text: str) -> None:
    assert n.format_number(value) == text


def test_format_number_signed() -> None:
    assert n.format_number(2500.0, signed=True) == "+2,500"
    assert n.format_number(-0.5, signed=True) == "-0.5"
    assert n.format_number(0.0, signed=True) == "0"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (1_234_567.0, "£", "£1.23m"), (4_560_000_000.0, "£", "£4.56bn"), (12_345.0, "£", "£12,300"),
    (45.67, "£", "£45.7"), (1.5, "£m", "£1.5m"), (2500.0, "£m", "£2.5bn"), (866.123, "£ per month", "£866 per month"),
    (85.34, "%", "85.3%"), (12_345.0, "households", "12,300 households"), (4_240_000.0, "count", "4.24 million"),
    (-3.2, "people", "-3.2 people"), (None, "£", "not available"), (math.inf, "%", "not available"),
])
def test_format_value_puts_units_and_scale_where_a_reader_expects_them(value, unit, text):
    assert n.format_value(value, unit) == text


def test_changes_of_percentages_are_in_percentage_points():
    assert n.format_change(-3.4, "%") == "3.4 percentage points"
    assert n.format_change(1.0, "%") == "1 percentage point"
    assert n.signed(-3.4, "%") == "-3.4 percentage points" and n.signed(1.2e6, "£") == "+£1.2m"
    assert n.signed(0.0, "£") == "£0"


def test_rounding_helpers():
    assert n.round_sig(123_456, 3) == 123_000 and n.round_sig(0.0012345, 2) == pytest.approx(0.0012)
    assert n.round_sig(0.0, 3) == 0.0 and math.isnan(n.round_sig(math.nan, 3))
    # enough digits for the levels to show their difference: 19.3 to 18.8, not 19 to 19
    assert n.level_digits(19.3, 18.8, -0.5) == 4 and n.level_digits(100.0, 200.0, 100.0) == 3
    assert n.level_digits(1e6, 1e6 + 1, 1.0) == n.MAX_LEVEL_DIGITS == 4   # never '8.68065 million'
    assert n.negligible(-4.5e-13, -3987.0) and not n.negligible(0.01, -3987.0)


def test_compact_chart_labels():
    assert n.short_number(3_463_933) == "3.46m" and n.short_number(13_359.7) == "13.4k"
    assert n.short_number(-545.0) == "-545" and n.short_number(0.012345) == "0.0123"
    assert n.short_number(2.5e9) == "2.5bn" and n.short_number(None) == "n/a"
    assert n.signed_short(2.5) == "+2.5" and n.signed_short(-2.5) == "-2.5"
    # with the unit's scale, for bar labels beside ticks that carry it
    assert n.short_value(30.0, "£m") == "£30m" and n.short_value(-1_234.0, "£") == "-£1,234"
    assert n.short_value(85.34, "%") == "85.3%" and n.short_value(0.19, "%", change=True) == "0.19"
    assert n.short_value(13_359.7, "households") == "13.4k" and n.short_value(None, "£") == "n/a"
    assert n.signed_short_value(30.0, "£m") == "+£30m" and n.signed_short_value(-6_093.0, "") == "-6,093"
    assert n.signed_short_value(0.19, "%") == "+0.19"      # a change of a percentage: points, no '%'


def test_percentage_changes_never_read_zero_when_they_are_not():
    assert n.percent_change(110, 100) == pytest.approx(10)
    assert n.percent_change(-110, -100) == pytest.approx(-10)
    assert n.percent_change(1, 0) is None and n.percent_change(None, 3) is None
    assert n.pct_text(0.04) == "less than 0.1%" and n.pct_text(-3.14) == "3.1%" and n.pct_text(0.0) == "0.0%"


# ----------------------------------------------------------------------------- levels and changes
def test_levels_have_three_significant_figures_never_more_than_four():
    assert n.format_value(866.123, "£") == "£866" and n.format_value(8_680_650.0, "households") == \
        "8.68 million households"
    assert n.format_value(3_470_000.0, "count") == "3.47 million"
    # a sentence may need a 4th figure to show its change, never a 5th: 8,680,650 -> 8,681,000 keeps 3
    a, b, change, step = n.movement_numbers(8_680_650.0, 8_681_000.0, "households")
    assert (a, b, change, step) == ("8.68 million households", "8.68 million households", "350 households", 1.0)
    a, b, change, _ = n.movement_numbers(866.123, 870.5, "£ per month")
    assert (a, b, change) == ("£866.1 per month", "£870.5 per month", "£4.4 per month")   # 4 figures: 4.4 shows


def test_a_change_is_at_the_precision_of_its_levels_or_its_own_when_they_cannot_show_it():
    # 3.33 -> 3.47 million: hundredths of a million, so the change is 140,000 (not 141,818)
    assert n.movement_numbers(3_330_412.0, 3_472_230.0, "households") == (
        "3.33 million households", "3.47 million households", "140,000 households", 10_000.0)
    # 7,810 on 3.46 million: 4 figures (3.462 -> 3.470, a change of 8,000) cannot show it; 3 of its own
    assert n.movement_numbers(3_462_100.0, 3_469_910.0, "households") == (
        "3.46 million households", "3.47 million households", "7,810 households", 10.0)
    # levels above 10,000 are rounded too: 123,456 -> 125,000 at 4 figures (123,500), change 1,500
    assert n.movement_numbers(123_456.0, 125_000.0, "") == ("123,500", "125,000", "1,500", 100.0)
    # a change below the levels' scale is at its own (£60m beside £1.2bn), never '£60,000,000'
    assert n.movement_numbers(1_200.0, 1_260.0, "£m") == ("£1.20bn", "£1.26bn", "£60m", 10.0)
    # trailing zeros both levels share are dropped: '8.4 to 5.1', not '8.40 to 5.10'
    assert n.movement_numbers(8.4, 5.1, "°C") == ("8.4°C", "5.1°C", "3.3°C", 0.1)


def test_parts_are_never_written_to_more_decimal_places_than_their_sentence():
    # levels £866.1 -> £870.5 show tenths: a part of £0.0621 is +£0.1, not +£0.0621
    assert n.part_text(0.0621, "£ per month", 0.1) == "+£0.1 per month"
    assert n.at_precision(0.0621, 0.1) == pytest.approx(0.1)
    # whole numbers keep 3 significant figures (a step of 10,000 does not round 11,818 to 10,000)
    assert n.part_text(11_818.0, "households", 10_000.0) == "+11,800 households"
    assert n.part_text(-0.000000977, "%", 0.01) == "less than 0.005 percentage points"
    assert n.at_precision(0.0, 0.1) == 0.0


def test_percentage_points_for_rates_and_no_percentage_change_for_a_temperature():
    assert n.movement_numbers(85.312, 85.117, "%")[2] == "0.19 percentage points"
    assert n.percent_change_text(85.312, 85.117, "%") is None
    assert n.percent_change_text(100.0, 103.14, "households") == "3.1%"
    assert n.percent_change_text(100.0, 100.04, "households") == "less than 0.1%"
    assert n.percent_change_text(0.0, 5.0, "households") is None
    for unit in ("°C", "degC", "degrees C", "Degrees Celsius", "celsius", "°F", "deg F", "fahrenheit"):
        assert n.is_interval_scale(unit), unit
        assert n.percent_change_text(10.0, 20.0, unit) is None, unit   # 20°C is not "100% warmer"
    for unit in ("households", "%", "£m", "cases", "degrees of freedom", "decimal"):
        assert not n.is_interval_scale(unit), unit
    assert n.format_value(12.34, "°C") == "12.3°C" and n.movement_numbers(12.3, 14.1, "°C")[2] == "1.8°C"


# ----------------------------------------------------------------------------- limits, intervals, slopes
def test_limits_and_intervals_carry_their_unit():
    assert n.format_limit(12_345.67, "households") == "12,300 households"
    assert n.format_limit(1_234_567.0, "£") == "£1.23m" and n.format_limit(85.34, "%") == "85.3%"
    assert n.format_limit(-2.14, "°C") == "-2.14°C"
    # one precision for both ends (3 figures of the larger), the unit once, a true minus sign
    assert n.format_interval(-9_023.0, 12_345.0, "households") == "\u22129,000 to +12,300 households"
    assert n.format_interval(0.462, 3.538, "%") == "+0.46 to +3.54 percentage points"
    assert n.format_interval(-1.2e6, 3.4e6, "£") == "\u2212£1.2m to +£3.4m"
    assert n.format_interval(0.462, 3.538, "") == "+0.46 to +3.54"
    assert n.interval_centre_text(2.0, 0.462, 3.538, "households") == "+2 households"
    # a range of levels (the usual range): one unit, one precision
    assert n.format_range(6.0, 14.0, "cases") == "6 to 14 cases"
    assert n.format_range(830.6, 900.0, "£m") == "£831m to £900m" and n.format_range(85.12, 86.34, "%") == "85.1% to 86.3%"
    assert n.format_range(3_380_000.0, 3_560_000.0, "households") == "3.38 million to 3.56 million households"
    assert n.format_range(11_083.4, 12_777.2, "", 4) == "11,080 to 12,780" and n.format_range(None, 1.0, "") == \
        "not available"
    assert n.signed_text(-0.19, "%") == "\u22120.19 percentage points" and n.signed_text(0.0, "") == "0"


def test_slopes_are_about_two_significant_figures_a_period():
    assert n.format_slope(62.13, "£", "month") == "about £62 a month"
    assert n.format_slope(-1_234.0, "households", "year") == "about 1,200 households a year"   # size only
    assert n.format_slope(0.0621, "£", "month") == "about £0.062 a month"
    assert n.format_slope(0.31, "%", "1% of unemployment") == "about 0.31 percentage points per 1% of unemployment"
    assert n.format_slope(5.0, "cases", "") == "about 5 cases"
    assert n.format_slope(0.0, "cases", "month") == "about 0 a month"


# ----------------------------------------------------------------------------- chart ticks
def test_axis_ticks_are_few_round_and_all_different():
    values, texts = n.axis_ticks(3_455_000.0, 3_475_000.0)
    assert values == [3_455_000.0, 3_460_000.0, 3_465_000.0, 3_470_000.0, 3_475_000.0]
    assert texts == ["3.455m", "3.460m", "3.465m", "3.470m", "3.475m"]   # '3.46m' twice would be a lie
    assert n.axis_ticks(0.0, 40.0, "£m") == ([0.0, 10.0, 20.0, 30.0, 40.0], ["£0", "£10m", "£20m", "£30m", "£40m"])
    assert n.axis_ticks(84.9, 85.4, "%") == ([85.0, 85.2, 85.4], ["85.0%", "85.2%", "85.4%"])
    assert n.axis_ticks(-3.0, 12.0) == ([0.0, 5.0, 10.0], ["0", "5", "10"])
    assert n.axis_ticks(-20_000.0, 30_000.0, most=4)[1] == ["-20k", "0", "20k"]
    assert n.axis_ticks(math.nan, 1.0) == ([], [])


# ----------------------------------------------------------------------------- periods in prose
@pytest.mark.parametrize(("label", "freq", "prose", "short"), [
    ("2026-09", None, "September 2026", "Sep 2026"),
    ("2026-09", "M", "September 2026", "Sep 2026"),
    ("2026-Q1", None, "January to March 2026", "Jan–Mar 2026"),
    ("2026-Q4", "Q", "October to December 2026", "Oct–Dec 2026"),
    ("2025-26 Q2", "FQ", "July to September 2025", "Jul–Sep 2025"),
    ("2025-26 Q4", "FQ", "January to March 2026", "Jan–Mar 2026"),
    ("2025-26", None, "2025-26", "2025-26"),
    ("2010-11", "FY", "2010-11", "2010-11"),      # the metric's frequency settles a month-or-year spelling
    ("2010-11", None, "November 2010", "Nov 2010"),
    ("2024", None, "2024", "2024"),
    ("2024-W05", "W", "the week beginning 29 January 2024", "w/c 29 Jan 2024"),
    ("2024-01-15", "D", "15 January 2024", "15 Jan 2024"),
    ("North East", None, "North East", "North East"),   # not a period: unchanged
    ("17", "M", "17", "17"),
    ("", None, "", ""),
])
def test_period_text(label, freq, prose, short):
    assert n.period_text(label, freq) == prose
    assert n.period_short_text(label, freq) == short


def test_season_names():
    assert n.season_text(7, "M") == "July" and n.season_text(1, "M") == "January"
    assert n.season_text(1, "Q") == "January to March" and n.season_text(1, "FQ") == "April to June"
    assert n.season_text(4, "FQ") == "January to March"
    assert n.season_text(7) == "July"              # above 4 without a frequency: a month
    assert n.season_text(2) == "quarter 2"         # whose quarters is not known
    assert n.season_text(5, "W") == "week 5" and n.season_text(40, "D") == "day 40 of the year"


# ----------------------------------------------------------------------------- plain words (explain.wording)
def test_one_vocabulary_for_the_verdict():
    assert w.verdict_headline("beyond", "concern") == "Unusual change: a concern"
    assert w.verdict_headline("beyond", "improvement") == "Unusual change: an improvement"
    assert w.verdict_headline("beyond", "neutral") == "Unusual change"
    assert w.verdict_headline("within", "concern") == "Within the usual range"
    assert w.verdict_headline("insufficient") == "Not enough history to judge"
    assert w.verdict_opening("beyond", "concern") == "This is an unusual change, and a concern"
    assert w.verdict_opening("within") == "This change is within the usual range"
    assert set(w.VERDICT_LABELS) == {"improvement", "concern", "neutral", "common_cause", "unknown"}
    everyday = " ".join([*(t for pair in w.VERDICT_LABELS.values() for t in pair), *w.POINT_WORDS.values(),
                         w.AVERAGE, w.UPPER_LIMIT, w.LOWER_LIMIT, w.COMPONENTS_SUBTITLE, w.DRIVERS_SUBTITLE]).lower()
    for jargon in ("special cause", "common cause", "normal variation", "shapley", "shap", "process limit", "rule "):
        assert jargon not in everyday, jargon
    # the technical names stay available for the About tabs
    assert "special cause" in w.XMR_METHOD and "common cause" in w.XMR_METHOD and "Rule 1" in w.XMR_METHOD
    assert "Shapley" in w.COMPONENTS_METHOD and "SHAP" in w.DRIVERS_METHOD


def test_xmr_rules_are_described_not_numbered():
    assert w.rule_words(1, up=True) == "a point above the usual range"
    assert w.rule_words(1, up=False) == "a point below the usual range"
    assert w.rule_words(2, up=True) == "7 points in a row each higher than the one before"
    assert w.rule_words(3, up=False) == "2 of 3 points in a row near the bottom of the usual range"
    assert w.rule_words(4, up=True, length=8) == "8 points in a row above the average"


@pytest.mark.parametrize(("code", "words"), [
    ("dept_type", "department type"), ("world_region", "world region"), ("Custody type", "custody type"),
    ("NHS_region", "NHS region"), ("ageBand", "age band"), ("la_code", "local authority code"), ("Phase", "phase"),
])
def test_dimension_codes_as_words(code, words):
    assert w.dimension_words(code) == words


def test_a_change_beside_one_level_is_never_more_than_two_digits_finer_than_it():
    from explain.numbers import change_beside

    assert change_beside(0.0621, 866.0621, "£ per month") == "£0.06 per month"
    assert change_beside(-4210.0, 140_000.0, "households") == "4,210 households"
    assert change_beside(71_823.0, 3_535_756.0, "households") == "71,800 households"
    assert change_beside(0.0621, None, "£ per month") == "£0.0621 per month"   # no level: its own 3 figures
