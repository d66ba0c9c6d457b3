"""Tests for loaders.values: cells to (value, status, error), scalar and series forms."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from loaders import values as values_module
from loaders.values import (
    MISSING_STATUSES,
    STATUS_MEANINGS,
    ValueParse,
    parse_value,
    parse_value_series,
    unit_exponent,
)

NAN = math.nan
FORMULA = "formula-looking text"
NOT_NUMBER = "not a number"
NOT_FINITE = "not a finite number (NaN/inf)"
TOO_LARGE = "implausibly large (magnitude over 1e15)"

# (cell, unit, expected value or None, status, error prefix or None)
CASES = [
    # ordinary numbers
    ("12", "", 12.0, "", None),
    ("0", "", 0.0, "", None),
    ("-3.5", "", -3.5, "", None),
    ("+12", "", 12.0, "", None),
    (".5", "", 0.5, "", None),
    ("  42  ", "", 42.0, "", None),
    ("1.2e3", "", 1200.0, "", None),
    ("1.5E-2", "", 0.015, "", None),
    ("1,234", "", 1234.0, "", None),
    ("1,234,567", "", 1234567.0, "", None),
    ("1,234,567.89", "", 1234567.89, "", None),
    ("-1,234", "", -1234.0, "", None),
    ("1 234 567", "", 1234567.0, "", None),
    ("1\u00a0234", "", 1234.0, "", None),  # non-breaking space
    ("1\u202f234", "", 1234.0, "", None),  # narrow no-break space
    ("\u221212", "", -12.0, "", None),  # unicode minus
    ("\u201312", "", -12.0, "", None),  # en dash used as minus
    ("(1,234)", "", -1234.0, "", None),  # accounting negative
    ("(12.5)", "", -12.5, "", None),
    ("(£1,234)", "", -1234.0, "", None),
    # currency and percent
    ("£1,234", "", 1234.0, "", None),
    ("$5", "", 5.0, "", None),
    ("€5.50", "", 5.5, "", None),
    ("-£5", "", -5.0, "", None),
    ("£-5", "", -5.0, "", None),
    ("12.5%", "%", 12.5, "", None),
    ("-0.5 %", "%", -0.5, "", None),
    # magnitude suffixes, scaled to the metric's unit
    ("£1.2m", "", 1_200_000.0, "", None),
    ("£1.2m", "£m", 1.2, "", None),
    ("£1.2bn", "£m", 1200.0, "", None),
    ("£500k", "£m", 0.5, "", None),
    ("3.4bn", "", 3_400_000_000.0, "", None),
    ("3.4bn", "£bn", 3.4, "", None),
    ("£500m", "£bn", 0.5, "", None),
    ("£1.2m", "£k", 1200.0, "", None),
    ("£1.2m", "£000s", 1200.0, "", None),
    ("£1.2m", "£ thousand", 1200.0, "", None),
    ("£2.5m", "Pounds million", 2.5, "", None),
    ("1.2M", "£m", 1.2, "", None),
    ("£500K", "", 500_000.0, "", None),
    ("£1.2 m", "", 1_200_000.0, "", None),
    ("4mn", "£m", 4.0, "", None),
    ("£1.2m", "deaths per million", 1_200_000.0, "", None),
    ("(£1.2m)", "£m", -1.2, "", None),
    # blanks and shorthand (all missing)
    ("", "", None, "blank", None),
    ("   ", "", None, "blank", None),
    ("\u00a0", "", None, "blank", None),
    ("[note 3]", "", None, "blank", None),
    ("[c]", "", None, "c", None),
    ("[C]", "", None, "c", None),
    ("c", "", None, "c", None),
    ("(c)", "", None, "c", None),
    ("[x]", "", None, "x", None),
    ("x", "", None, "x", None),
    ("[z]", "", None, "z", None),
    ("Z", "", None, "z", None),
    ("[low]", "", None, "low", None),
    ("LOW", "", None, "low", None),
    ("..", "", None, "suppressed", None),
    ("*", "", None, "suppressed", None),
    ("-", "", None, "nil", None),
    ("\u2013", "", None, "nil", None),  # en dash
    (":", "", None, "na", None),
    ("n/a", "", None, "na", None),
    ("[u]", "", None, "u", None),
    ("u", "", None, "u", None),
    ("[c] [note 3]", "", None, "c", None),
    (" .. ", "", None, "suppressed", None),
    # markers that keep the value
    ("12.3 [u]", "", 12.3, "u", None),
    ("12.3 (u)", "", 12.3, "u", None),
    ("12 [p]", "", 12.0, "p", None),
    ("12 (p)", "", 12.0, "p", None),
    ("12 p", "", 12.0, "p", None),
    ("12[P]", "", 12.0, "p", None),
    ("[p] 12", "", 12.0, "p", None),
    ("12 [r]", "", 12.0, "r", None),
    ("12 (r)", "", 12.0, "r", None),
    ("12 [e]", "", 12.0, "e", None),
    ("12 (e)", "", 12.0, "e", None),
    ("12 [f]", "", 12.0, "f", None),
    ("12 [b]", "", 12.0, "b", None),
    ("12 [b] [p]", "", 12.0, "p", None),
    ("[w]", "", None, "w", None),
    ("12 [w]", "", None, "error", "a number together with a missing-value marker"),
    ("1,234 [r] [p]", "", 1234.0, "p", None),  # p outranks r
    ("12 [u] [p]", "", 12.0, "u", None),  # u outranks p
    ("(1,234) [p]", "", -1234.0, "p", None),
    ("£1.2m [e]", "£m", 1.2, "e", None),
    ("12.5% [r]", "%", 12.5, "r", None),
    # footnotes stripped anywhere
    ("12 [note 3]", "", 12.0, "", None),
    ("12 [Note 12]", "", 12.0, "", None),
    ("[note 1] 12", "", 12.0, "", None),
    ("12[fn1]", "", 12.0, "", None),
    ("1,2[note 3]34", "", None, "error", NOT_NUMBER),  # stripping must not glue digits
    ("12 [note 3] [p]", "", 12.0, "p", None),
    # hostile and invalid
    ("1e308", "", None, "error", TOO_LARGE),
    ("-1e308", "", None, "error", TOO_LARGE),
    ("1e400", "", None, "error", TOO_LARGE),
    ("1000000000000001", "", None, "error", TOO_LARGE),
    ("999999999999999", "", 999999999999999.0, "", None),
    ("99999999999999999999999999", "", None, "error", TOO_LARGE),
    ("£9,999,999bn", "", None, "error", TOO_LARGE),
    ("NaN", "", None, "error", NOT_FINITE),
    ("nan", "", None, "error", NOT_FINITE),
    ("inf", "", None, "error", NOT_FINITE),
    ("-inf", "", None, "error", NOT_FINITE),
    ("Infinity", "", None, "error", NOT_FINITE),
    ("#N/A", "", None, "error", "spreadsheet error value #N/A"),
    ("#DIV/0!", "", None, "error", "spreadsheet error value #DIV/0!"),
    ("#REF!", "", None, "error", "spreadsheet error value #REF!"),
    ("#value!", "", None, "error", "spreadsheet error value #VALUE!"),
    ("#hashtag", "", None, "error", NOT_NUMBER),
    ('=HYPERLINK("http://x","y")', "", None, "error", "formula-looking text (starts with '=')"),
    ("=1+1", "", None, "error", "formula-looking text (starts with '=')"),
    ("  =1+1", "", None, "error", "formula-looking text (starts with '=')"),
    ("@SUM(A1:A2)", "", None, "error", "formula-looking text (starts with '@')"),
    ("+cmd|' /C calc'!A0", "", None, "error", "formula-looking text (starts with '+')"),
    ("-2+3", "", None, "error", "formula-looking text (starts with '-')"),
    ("Robert'); DROP TABLE", "", None, "error", NOT_NUMBER),
    ("Robert'); DROP TABLE values;--", "", None, "error", NOT_NUMBER),
    ("<script>alert(1)</script>", "", None, "error", NOT_NUMBER),
    ("12 [c]", "", None, "error", "a number together with a missing-value marker"),
    ("[p]", "", None, "error", "status marker without a number"),
    ("1,2", "", None, "error", NOT_NUMBER),  # not thousands grouping (no decimal commas)
    ("1,23,456", "", None, "error", NOT_NUMBER),
    ("12.3.4", "", None, "error", NOT_NUMBER),
    ("1_000", "", None, "error", NOT_NUMBER),
    ("0x1F", "", None, "error", NOT_NUMBER),
    ("\u0661\u0662", "", None, "error", NOT_NUMBER),  # Arabic-Indic digits
    ("12.3p", "", None, "error", NOT_NUMBER),  # pence? ambiguous: rejected
    ("--5", "", None, "error", FORMULA),
    ("(-5)", "", None, "error", NOT_NUMBER),
    ("£", "", None, "error", NOT_NUMBER),
    ("twelve", "", None, "error", NOT_NUMBER),
    ("TRUE", "", None, "error", NOT_NUMBER),
    ("12 apples", "", None, "error", NOT_NUMBER),
]


def _check(result, value, status, error):
    got_value, got_status, got_error = result
    if value is None:
        assert got_value is None
    else:
        assert got_value == pytest.approx(value, rel=1e-12, abs=0)
    assert got_status == status
    if error is None:
        assert got_error is None
    else:
        assert got_error is not None and got_error.startswith(error)


@pytest.mark.parametrize("cell,unit,value,status,error", CASES, ids=[repr(c[0]) for c in CASES])
def test_parse_value(cell, unit, value, status, error):
    _check(parse_value(cell, unit=unit), value, status, error)


@pytest.mark.parametrize("unit", sorted({c[1] for c in CASES}))
def test_series_matches_scalar_for_every_case(unit):
    cases = [c for c in CASES if c[1] == unit]
    index = pd.Index([f"r{i}" for i in range(len(cases))], name="row")
    for dtype in (object, "str"):
        result = parse_value_series(pd.Series([c[0] for c in cases], index=index, dtype=dtype),
                                    unit=unit)
        for i, (_cell, _, value, status, error) in zip(index, cases):
            v = result.value[i]
            _check((None if math.isnan(v) else float(v), result.status[i], result.error[i]),
                   value, status, error)


def test_exact_scaling_without_float_noise():
    assert parse_value("£1.2bn", unit="£m")[0] == 1200.0
    assert parse_value("£0.1m", unit="")[0] == 100000.0
    assert parse_value("£0.3k", unit="£m")[0] == 0.0003
    assert parse_value("£1.1bn", unit="£k")[0] == 1100000.0


@pytest.mark.parametrize("cell,status,error", [
    (None, "blank", None), (NAN, "blank", None), (np.nan, "blank", None),
    (pd.NA, "blank", None), (pd.NaT, "blank", None),
    (True, "error", "true/false"), (False, "error", "true/false"),
    (np.bool_(True), "error", "true/false"),
    (float("inf"), "error", NOT_FINITE), (-np.inf, "error", NOT_FINITE),
    (1e308, "error", TOO_LARGE), (-1e16, "error", TOO_LARGE), (10**400, "error", TOO_LARGE),
    (dt.date(2024, 1, 1), "error", "a date or time"),
    (dt.datetime(2024, 1, 1), "error", "a date or time"),
    (pd.Timestamp("2024-01-01"), "error", "a date or time"),
    (np.datetime64("2024-01-01"), "error", "a date or time"),
    ([1, 2], "error", NOT_NUMBER), (b"12", "error", NOT_NUMBER), ({"a": 1}, "error", NOT_NUMBER),
])
def test_non_string_cells(cell, status, error):
    _check(parse_value(cell), None, status, error)


@pytest.mark.parametrize("cell,value", [(5, 5.0), (np.int64(7), 7.0), (2.5, 2.5),
                                        (np.float32(0.5), 0.5), (Decimal("1.25"), 1.25),
                                        (-0.0, 0.0), (10**15, 1e15)])
def test_numeric_cells_pass_through_unchanged(cell, value):
    assert parse_value(cell) == (value, "", None)
    assert parse_value(cell, unit="£m") == (value, "", None)  # no suffix: no scaling


def test_statuses_are_documented():
    produced = {c[3] for c in CASES}
    assert produced <= set(STATUS_MEANINGS)
    assert MISSING_STATUSES <= set(STATUS_MEANINGS)
    assert {"c", "x", "z", "w", "low", "suppressed", "nil", "na", "blank"} == set(MISSING_STATUSES)
    assert "u" not in MISSING_STATUSES and "error" not in MISSING_STATUSES
    for code in ("c", "x", "z", "low", "suppressed", "nil", "na", "u", "p", "r", "e", "error"):
        assert STATUS_MEANINGS[code]
    assert "confidential" in STATUS_MEANINGS["c"]
    for cell, _, value, status, _ in CASES:
        if status in MISSING_STATUSES:
            assert value is None, cell


@pytest.mark.parametrize("unit,exponent", [
    ("", 0), ("count", 0), ("%", 0), ("households", 0), ("£", 0), ("£m", 6), ("£ m", 6),
    ("£mn", 6), ("m", 6), ("£ million", 6), ("millions of pounds", 6), ("£m per year", 6),
    ("£bn", 9), ("billion", 9), ("£k", 3), ("£000s", 3), ("£'000", 3), ("£ thousand", 3),
    ("thousands", 3), ("deaths per million", 0), ("per 1,000 population", 0), ("£/head", 0),
])
def test_unit_exponent(unit, exponent):
    assert unit_exponent(unit) == exponent


# --- series form -----------------------------------------------------------------------------

def test_mixed_series_keeps_alignment_with_non_default_index():
    cells = ["1,234", 7, None, "[c]", 2.5, True, "12 [p]", np.nan, "#REF!", dt.date(2024, 1, 1),
             "=1+1", "", "-", "£1.2m", float("inf"), "x"]
    index = pd.Index([f"k{i:02d}" for i in range(len(cells))][::-1])
    result = parse_value_series(pd.Series(cells, index=index, dtype=object), unit="£m")
    assert isinstance(result, ValueParse)
    for s in (result.value, result.status, result.error):
        assert s.index.equals(index)
    assert result.value.dtype == np.float64
    expected = [
        (1234.0, "", None), (7.0, "", None), (None, "blank", None), (None, "c", None),
        (2.5, "", None), (None, "error", "true/false"), (12.0, "p", None), (None, "blank", None),
        (None, "error", "spreadsheet error value #REF!"), (None, "error", "a date or time"),
        (None, "error", FORMULA), (None, "blank", None), (None, "nil", None), (1.2, "", None),
        (None, "error", NOT_FINITE), (None, "x", None),
    ]
    for i, (value, status, error) in zip(index, expected):
        v = result.value[i]
        _check((None if math.isnan(v) else float(v), result.status[i], result.error[i]),
               value, status, error)


def test_float_series_fast_path():
    s = pd.Series([1.5, np.nan, np.inf, -np.inf, 1e308, -2.0, 0.0], index=list("abcdefg"))
    result = parse_value_series(s)
    assert result.value.tolist()[:1] == [1.5] and result.value["f"] == -2.0
    assert result.value[["b", "c", "d", "e"]].isna().all()
    assert result.status.tolist() == ["", "blank", "error", "error", "error", "", ""]
    assert result.error.tolist() == [None, None, NOT_FINITE, NOT_FINITE, TOO_LARGE, None, None]


def test_integer_and_nullable_series():
    ints = parse_value_series(pd.Series([1, 2, 10**16], dtype="int64"))
    assert ints.value.tolist()[:2] == [1.0, 2.0]
    assert ints.status.tolist() == ["", "", "error"]
    nullable = parse_value_series(pd.Series([1, None, 3], dtype="Int64"))
    assert nullable.value.tolist()[0] == 1.0 and nullable.value.tolist()[2] == 3.0
    assert nullable.status.tolist() == ["", "blank", ""]
    floats = parse_value_series(pd.Series([1.5, None], dtype="Float64"))
    assert floats.status.tolist() == ["", "blank"]


def test_bool_datetime_and_categorical_series():
    booleans = parse_value_series(pd.Series([True, False]))
    assert booleans.status.tolist() == ["error", "error"]
    assert booleans.value.isna().all()
    nullable = parse_value_series(pd.Series([True, None], dtype="boolean"))
    assert nullable.status.tolist() == ["error", "blank"]
    dates = parse_value_series(pd.Series(pd.to_datetime(["2024-01-01", None])))
    assert dates.status.tolist() == ["error", "blank"]
    assert dates.error[0].startswith("a date or time")
    cats = parse_value_series(pd.Series(["1", "[c]", "1"], dtype="category"))
    assert cats.value.tolist()[0] == 1.0 and cats.status.tolist() == ["", "c", ""]


def test_empty_and_all_missing_series():
    empty = parse_value_series(pd.Series([], dtype=object))
    assert len(empty.value) == len(empty.status) == len(empty.error) == 0
    missing = parse_value_series(pd.Series([None, np.nan, ""], dtype=object))
    assert missing.status.tolist() == ["blank"] * 3
    assert missing.error.tolist() == [None] * 3


def test_list_input_is_accepted():
    result = parse_value_series(["1", "2,000"])  # type: ignore[arg-type]
    assert result.value.tolist() == [1.0, 2000.0]


def test_leftovers_parsed_once_per_distinct_value(monkeypatch):
    calls: list[str] = []
    real = values_module._parse_text

    def counting(cell, unit_exp):
        calls.append(cell)
        return real(cell, unit_exp)

    monkeypatch.setattr(values_module, "_parse_text", counting)
    cells = np.array(["12", "[c]", "13", "£5", "14", "[x]", "1.5"] * 20_000, dtype=object)
    result = parse_value_series(pd.Series(cells))
    assert sorted(calls) == ["[c]", "[x]", "£5"]  # numbers took the to_numeric fast path
    assert result.value.iloc[3] == 5.0 and result.status.iloc[5] == "x"
    assert (result.status == "c").sum() == 20_000


def test_many_distinct_grouped_numbers_take_the_bulk_path():
    numbers = np.arange(1000, 41000) * 1001  # 40,000 distinct values >= 1,001,000
    cells = [f"{n:,}" for n in numbers] + ["[c]", "1,2", "£1,234", "-3,000.5"]
    result = parse_value_series(pd.Series(cells, dtype="str"), unit="£m")
    assert np.array_equal(result.value.to_numpy()[:40000], numbers.astype(float))
    assert result.status.tolist()[-4:] == ["c", "error", "", ""]
    assert result.value.tolist()[-2:] == [1234.0, -3000.5]
    assert (result.status == "").sum() == 40002


def test_mostly_text_column_matches_scalar_rules():
    cells = ["[c]"] * 500 + ["12"] * 10 + ["1,234 [p]"] * 500 + ["bad"]
    result = parse_value_series(pd.Series(cells, index=range(10_000, 10_000 + len(cells))))
    for i, cell in zip(result.value.index, cells):
        value, status, error = parse_value(cell)
        got = result.value[i]
        assert (None if math.isnan(got) else got) == value
        assert (result.status[i], result.error[i]) == (status, error)


def test_hostile_python_objects_in_series_do_not_raise():
    cells = [10**5000, 5, 2**64, "1" * 5000, "(" * 10_000, "[" * 10_000 + "c", "1e999999m", -(2**70)]
    result = parse_value_series(pd.Series(cells, dtype=object), unit="£m")
    assert result.status.tolist() == ["error", "", "error", "error", "error", "error", "error",
                                      "error"]
    assert result.value.tolist()[1] == 5.0
    assert result.error[0] == TOO_LARGE and result.error[7] == TOO_LARGE
    assert result.error[4] == NOT_NUMBER


@pytest.mark.parametrize("cell, value, status", [
    ("[n]", None, "na"), ("n", None, "na"), ("[Note 3]", None, "blank"), ("12~", 12.0, "r"), ("1,234 ~", 1234.0, "r"),
    ("*", None, "suppressed"), ("x", None, "x"), ("[x]", None, "x"),
])
def test_more_shorthand_of_real_tables_is_a_status_never_an_error(cell, value, status):
    got, got_status, error = parse_value(cell)
    assert (got, got_status, error) == (value, status, None)
