"""How whytrend writes numbers (explain.numbers), against values worked out by hand."""
from __future__ import annotations

import math

import pytest

from explain import numbers as n


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
    assert n.level_digits(1e6, 1e6 + 1, 1.0) == 6
    assert n.negligible(-4.5e-13, -3987.0) and not n.negligible(0.01, -3987.0)


def test_compact_chart_labels():
    assert n.short_number(3_463_933) == "3.46m" and n.short_number(13_359.7) == "13.4k"
    assert n.short_number(-545.0) == "-545" and n.short_number(0.012345) == "0.0123"
    assert n.short_number(2.5e9) == "2.5bn" and n.short_number(None) == "n/a"
    assert n.signed_short(2.5) == "+2.5" and n.signed_short(-2.5) == "-2.5"


def test_percentage_changes_never_read_zero_when_they_are_not():
    assert n.percent_change(110, 100) == pytest.approx(10)
    assert n.percent_change(-110, -100) == pytest.approx(-10)
    assert n.percent_change(1, 0) is None and n.percent_change(None, 3) is None
    assert n.pct_text(0.04) == "less than 0.1%" and n.pct_text(-3.14) == "3.1%" and n.pct_text(0.0) == "0.0%"
