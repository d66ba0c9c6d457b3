"""Tests for loaders.periods: spellings, canonical labels, arithmetic and the series form."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from loaders import periods as periods_module
from loaders.errors import PeriodError, WhytrendError
from loaders.periods import (
    FREQUENCIES,
    FREQUENCY_NAMES,
    Period,
    PeriodParse,
    from_key,
    parse_period,
    parse_period_series,
    periods_between,
)

D = dt.date

# (spelling, canonical label, frequency)
SPELLINGS = [
    ("2024-01", "2024-01", "M"),
    ("2024-1", "2024-01", "M"),
    ("2024-12", "2024-12", "M"),
    ("2024-Q1", "2024-Q1", "Q"),
    ("2024-q4", "2024-Q4", "Q"),
    ("2024", "2024", "Y"),
    ("2024.0", "2024", "Y"),
    ("2023-24", "2023-24", "FY"),
    ("2023/24", "2023-24", "FY"),
    ("2023-2024", "2023-24", "FY"),
    ("2023/2024", "2023-24", "FY"),
    ("2023\u201324", "2023-24", "FY"),  # en dash
    ("1999-00", "1999-00", "FY"),
    ("FY 2023-24", "2023-24", "FY"),
    ("FY2023/24", "2023-24", "FY"),
    ("fy 2023/2024", "2023-24", "FY"),
    ("2024-W05", "2024-W05", "W"),
    ("2024W05", "2024-W05", "W"),
    ("2024-w5", "2024-W05", "W"),
    ("2024-01-15", "2024-01-15", "D"),
    ("2024-1-5", "2024-01-05", "D"),
    ("2024-01-15T00:00:00", "2024-01-15", "D"),
    ("2024-01-15 00:00:00", "2024-01-15", "D"),
    ("2024-01-15T13:45:10.123", "2024-01-15", "D"),
    ("2024/01/15", "2024-01-15", "D"),
    ("15/01/2024", "2024-01-15", "D"),
    ("05/01/2024", "2024-01-05", "D"),  # UK day first: 5 January, not 1 May
    ("5/1/2024", "2024-01-05", "D"),
    ("15-01-2024", "2024-01-15", "D"),
    ("15.01.2024", "2024-01-15", "D"),
    ("15/01/2024 00:00", "2024-01-15", "D"),
    ("15 January 2024", "2024-01-15", "D"),
    ("20240115", "2024-01-15", "D"),
    ("January 2024", "2024-01", "M"),
    ("JANUARY 2024", "2024-01", "M"),
    ("Jan 2024", "2024-01", "M"),
    ("Jan. 2024", "2024-01", "M"),
    ("Jan-24", "2024-01", "M"),
    ("Jan-95", "1995-01", "M"),
    ("Jan-69", "2069-01", "M"),
    ("Jan-70", "1970-01", "M"),
    ("Jan24", "2024-01", "M"),
    ("Jan 24", "2024-01", "M"),
    ("jan '24", "2024-01", "M"),
    ("Sept 2024", "2024-09", "M"),
    ("Sep 2024", "2024-09", "M"),
    ("September 2024", "2024-09", "M"),
    ("May 2024", "2024-05", "M"),
    ("2024 JAN", "2024-01", "M"),
    ("2024 Q1", "2024-Q1", "Q"),
    ("Q1 2024", "2024-Q1", "Q"),
    ("q3-2024", "2024-Q3", "Q"),
    ("2024Q1", "2024-Q1", "Q"),
    ("2023-24 Q2", "2023-24 Q2", "FQ"),
    ("2023/24 Q4", "2023-24 Q4", "FQ"),
    ("Q2 2023-24", "2023-24 Q2", "FQ"),
    ("Q1 FY 2023/24", "2023-24 Q1", "FQ"),
    ("201617", "2016-17", "FY"),
    ("199900", "1999-00", "FY"),
    ("202401", "2024-01", "M"),
    ("202412", "2024-12", "M"),
    ("45292", "2024-01-01", "D"),  # Excel serial, 1900 date system
    ("45292.0", "2024-01-01", "D"),
    ("45292.75", "2024-01-01", "D"),  # a time of day does not move the day
    # surrounding whitespace and footnote / status markers
    ("  2024-01  ", "2024-01", "M"),
    ("2024-01 [note 3]", "2024-01", "M"),
    ("2023-24 [Note 12]", "2023-24", "FY"),
    ("January 2024 [p]", "2024-01", "M"),
    ("2023-24 (p)", "2023-24", "FY"),
    ("2023-24 (r)", "2023-24", "FY"),
    ("2024 Q1 [r]", "2024-Q1", "Q"),
    ("2024[fn1]", "2024", "Y"),
    ("Jan\u00a02024", "2024-01", "M"),  # non-breaking space
]

NON_STRING_SPELLINGS = [
    (2024, "2024", "Y"),
    (np.int64(2024), "2024", "Y"),
    (2024.0, "2024", "Y"),
    (201617, "2016-17", "FY"),
    (202401, "2024-01", "M"),
    (45292, "2024-01-01", "D"),
    (45292.0, "2024-01-01", "D"),
    (np.float64(45292.5), "2024-01-01", "D"),
    (D(2024, 1, 15), "2024-01-15", "D"),
    (dt.datetime(2024, 1, 15, 23, 59), "2024-01-15", "D"),
    (pd.Timestamp("2024-01-15 08:00"), "2024-01-15", "D"),
    (pd.Timestamp("2024-01-15", tz="Europe/London"), "2024-01-15", "D"),
    (np.datetime64("2024-01-15"), "2024-01-15", "D"),
    (Period("M", D(2024, 1, 1)), "2024-01", "M"),
]

BAD_SPELLINGS = [
    "2024-13",  # neither a month nor a split year
    "2023-25",
    "2023/25",
    "2023-2025",
    "2024/01",  # a month needs a dash; with a slash it must be a split year
    "FY 2024",
    "FY2024-01",
    "2021-W53",  # 2021 has 52 ISO weeks
    "2024-W00",
    "2024-Q5",
    "Q0 2024",
    "Foo 2024",
    "Janvier 2024",
    "31/02/2024",
    "01/13/2024",  # US month-first is not accepted
    "2024-02-30",
    "1850",
    "2101",
    "1899-00",
    "January 2150",
    "2024.5",
    "12345",  # five digits but outside the Excel-serial range
    "99999",
    "202413",
    "1e3",
    "Robert'); DROP TABLE periods;--",
    "=HYPERLINK(\"http://x\",\"y\")",
    "next year",
    "2024-01-15T25:00",
]


def _ambiguous_label(p: Period) -> bool:
    """Labels that name both a month and a financial year (e.g. '2011-12')."""
    return p.freq in ("M", "FY") and p.label[5:].isdigit() and len(p.label) == 7 and \
        int(p.label[5:]) == (p.start.year + 1) % 100 and 1 <= int(p.label[5:]) <= 12


def _thirty_years(freq: str) -> list[Period]:
    first = parse_period("1995-01-01", prefer=freq)
    last = parse_period("2024-12-31", prefer=freq)
    return periods_between(first, last)


# --- spellings -----------------------------------------------------------------------------

@pytest.mark.parametrize("spelling,label,freq", SPELLINGS + NON_STRING_SPELLINGS,
                         ids=[repr(s[0]) for s in SPELLINGS + NON_STRING_SPELLINGS])
def test_spelling_gives_canonical_period(spelling, label, freq):
    p = parse_period(spelling)
    assert (p.label, p.freq) == (label, freq)
    assert str(p) == label


@pytest.mark.parametrize("spelling", BAD_SPELLINGS)
def test_bad_spelling_raises_period_error_naming_the_value(spelling):
    with pytest.raises(PeriodError) as info:
        parse_period(spelling)
    message = str(info.value)
    assert repr(spelling)[:50] in message or spelling[:40] in message
    assert "2023-24" in message and "Jan-24" in message  # lists accepted spellings
    assert isinstance(info.value, WhytrendError)


@pytest.mark.parametrize("value", [None, float("nan"), "", "   ", "[note 1]", pd.NaT, pd.NA,
                                   True, False, np.bool_(True), -5, 12, 1e20, float("inf"),
                                   [2024], b"2024", dt.time(12, 0)])
def test_non_period_values_raise(value):
    with pytest.raises(PeriodError):
        parse_period(value)


def test_long_bad_value_is_truncated_in_message():
    with pytest.raises(PeriodError) as info:
        parse_period("x" * 5000)
    assert len(str(info.value)) < 500


def test_excel_serial_boundaries():
    assert parse_period(20000).start == D(1899, 12, 30) + dt.timedelta(days=20000)
    assert parse_period(73050).start == D(2099, 12, 31)
    with pytest.raises(PeriodError):
        parse_period(19999)
    with pytest.raises(PeriodError, match="outside 1900-2100"):
        parse_period(80000)  # 2119: a serial, but beyond the supported years


# --- ambiguity -----------------------------------------------------------------------------

def test_ambiguous_dash_form_is_month_by_default_and_fy_when_preferred():
    assert parse_period("2011-12") == Period("M", D(2011, 12, 1))
    assert parse_period("2011-12", prefer="FY") == Period("FY", D(2011, 4, 1))
    assert parse_period("2011-12", prefer="financial_year") == Period("FY", D(2011, 4, 1))
    assert parse_period("2011-12", prefer="Y") == Period("FY", D(2011, 4, 1))
    assert parse_period("2011-12", prefer="M") == Period("M", D(2011, 12, 1))
    # slash and four-digit forms are never months
    assert parse_period("2011/12").freq == "FY"
    assert parse_period("2011-2012").freq == "FY"
    assert parse_period("FY 2011-12").freq == "FY"


def test_six_digit_code_split_year_wins_unless_month_preferred():
    assert parse_period("200910") == Period("FY", D(2009, 4, 1))
    assert parse_period(200910) == Period("FY", D(2009, 4, 1))
    assert parse_period("200910", prefer="M") == Period("M", D(2009, 10, 1))
    with pytest.raises(PeriodError):  # 13 is neither a month nor the year after 2009
        parse_period("200913")
    assert parse_period("200912") == Period("M", D(2009, 12, 1))


def test_series_resolves_ambiguity_from_the_rest_of_the_column():
    fy = parse_period_series(pd.Series(["2010-11", "2011-12", "2012-13"]))
    assert list(fy.freq) == ["FY"] * 3
    assert list(fy.start) == ["2010-04-01", "2011-04-01", "2012-04-01"]
    months = parse_period_series(pd.Series(["2011-11", "2011-12", "2012-01"]))
    assert list(months.freq) == ["M"] * 3
    only_ambiguous = parse_period_series(pd.Series(["2009-10", "2010-11", "2011-12"]))
    assert list(only_ambiguous.freq) == ["FY"] * 3
    single = parse_period_series(pd.Series(["2011-12", "2011-12"]))
    assert list(single.freq) == ["M", "M"]
    preferred = parse_period_series(pd.Series(["2011-11", "2011-12"]), prefer="FY")
    assert list(preferred.freq) == ["M", "FY"]  # prefer beats the column's lean
    codes = parse_period_series(pd.Series(["200908", "200909", "200910"]))
    assert list(codes.freq) == ["M"] * 3  # EES monthly codes stay months


# --- round trips and arithmetic -------------------------------------------------------------

@pytest.mark.parametrize("freq", FREQUENCIES)
def test_round_trips_over_thirty_years(freq):
    periods = _thirty_years(freq)
    expected = {"D": 10958, "W": 1567, "M": 360, "Q": 120, "FQ": 120, "Y": 30, "FY": 31}
    assert len(periods) == expected[freq]
    for p in periods:
        assert from_key(p.freq, p.start.isoformat()) == p
        assert from_key(p.freq, p.start) == p
        assert parse_period(p.label, prefer=p.freq) == p
        if not _ambiguous_label(p):
            assert parse_period(p.label) == p
    assert periods == sorted(periods)


@pytest.mark.parametrize("freq", FREQUENCIES)
def test_consecutive_periods_tile_time(freq):
    periods = _thirty_years(freq)
    for a, b in zip(periods, periods[1:]):
        assert a.end + dt.timedelta(days=1) == b.start
        assert b.ordinal == a.ordinal + 1
        assert a.shift(1) == b and b.shift(-1) == a
        assert a.start <= a.end


@pytest.mark.parametrize("freq", FREQUENCIES)
@pytest.mark.parametrize("n", [-1000, -53, -13, -12, -5, -4, -1, 0, 1, 4, 12, 52, 53, 999])
def test_shift_matches_ordinal(freq, n):
    p = parse_period("2016-02-29", prefer=freq)
    q = p.shift(n)
    assert q.ordinal == p.ordinal + n
    assert q.freq == freq
    assert q.shift(-n) == p
    assert len(periods_between(min(p, q), max(p, q))) == abs(n) + 1


@pytest.mark.parametrize("freq,season_range", [
    ("M", range(1, 13)), ("Q", range(1, 5)), ("FQ", range(1, 5)), ("W", range(1, 54)),
    ("D", range(1, 367)), ("Y", [0]), ("FY", [0])])
def test_season_stays_in_range_and_repeats_yearly(freq, season_range):
    periods = _thirty_years(freq)
    assert {p.season for p in periods} == set(season_range)
    if freq in ("M", "Q", "FQ", "Y", "FY"):
        for p in periods[:40]:
            assert p.year_earlier().season == p.season


def test_period_end_dates():
    assert parse_period("2024-02").end == D(2024, 2, 29)
    assert parse_period("2023-02").end == D(2023, 2, 28)
    assert parse_period("2024-Q4").end == D(2024, 12, 31)
    assert parse_period("2023-24").end == D(2024, 3, 31)
    assert parse_period("2023-24 Q4").end == D(2024, 3, 31)
    assert parse_period("2024-W01").end == D(2024, 1, 7)
    assert parse_period("2024").end == D(2024, 12, 31)
    assert parse_period("2024-01-15").end == D(2024, 1, 15)


def test_periods_between_rules():
    a, b = parse_period("2023-11"), parse_period("2024-02")
    assert [p.label for p in periods_between(a, b)] == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert periods_between(a, a) == [a]
    assert periods_between(b, a) == []
    with pytest.raises(PeriodError, match="frequencies differ"):
        periods_between(a, parse_period("2024-Q1"))


# --- financial years and quarters --------------------------------------------------------------

@pytest.mark.parametrize("day,fy,fq", [
    ("2024-03-31", "2023-24", "2023-24 Q4"),
    ("2024-04-01", "2024-25", "2024-25 Q1"),
    ("2024-06-30", "2024-25", "2024-25 Q1"),
    ("2024-07-01", "2024-25", "2024-25 Q2"),
    ("2024-12-31", "2024-25", "2024-25 Q3"),
    ("2025-01-01", "2024-25", "2024-25 Q4"),
    ("1999-12-31", "1999-00", "1999-00 Q3"),
])
def test_financial_year_and_quarter_boundaries(day, fy, fq):
    assert parse_period(day, prefer="FY").label == fy
    assert parse_period(day, prefer="FQ").label == fq
    assert parse_period(fq) == parse_period(day, prefer="FQ")


def test_financial_quarter_starts_and_seasons():
    quarters = [parse_period(f"2023-24 Q{q}") for q in range(1, 5)]
    assert [q.start for q in quarters] == [D(2023, 4, 1), D(2023, 7, 1), D(2023, 10, 1), D(2024, 1, 1)]
    assert [q.season for q in quarters] == [1, 2, 3, 4]
    assert quarters[3].shift(1).label == "2024-25 Q1"
    assert parse_period("2023-24").start == D(2023, 4, 1)


# --- ISO weeks ------------------------------------------------------------------------------------

@pytest.mark.parametrize("year", [2004, 2009, 2015, 2020, 2026])
def test_week_53_years(year):
    w53 = parse_period(f"{year}-W53")
    assert w53.season == 53
    assert w53.start.weekday() == 0
    assert w53.shift(1).label == f"{year + 1}-W01"
    assert w53.year_earlier().label == f"{year - 1}-W52"  # the year before has no week 53


@pytest.mark.parametrize("year", [2019, 2021, 2022, 2023, 2024, 2025])
def test_week_53_rejected_in_52_week_years(year):
    with pytest.raises(PeriodError, match="no week 53"):
        parse_period(f"{year}-W53")


def test_weeks_follow_iso_years_across_new_year():
    assert parse_period("2021-01-03", prefer="W").label == "2020-W53"
    assert parse_period("2024-12-30", prefer="W").label == "2025-W01"
    assert parse_period("2024-W01").start == D(2024, 1, 1)
    assert parse_period("2021-W10").year_earlier().label == "2020-W10"
    assert parse_period("2021-W52").year_earlier().label == "2020-W52"
    assert parse_period("2021-W01").year_earlier().label == "2020-W01"


# --- year_earlier --------------------------------------------------------------------------------

@pytest.mark.parametrize("label,earlier", [
    ("2024-01", "2023-01"), ("2024-Q1", "2023-Q1"), ("2023-24 Q2", "2022-23 Q2"),
    ("2024", "2023"), ("2023-24", "2022-23"), ("2000-01-01", "1999-01-01"),
    ("2024-02-29", "2023-02-28"), ("2024-03-01", "2023-03-01"), ("2020-W53", "2019-W52"),
])
def test_year_earlier(label, earlier):
    p = parse_period(label)
    assert p.year_earlier().label == earlier
    assert p.year_earlier().freq == p.freq


# --- prefer ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,prefer,label", [
    ("2016-04-01", "M", "2016-04"),
    ("2019-09-30", "Q", "2019-Q3"),
    ("2019-09-30", "FY", "2019-20"),
    ("2019-09-30", "FQ", "2019-20 Q2"),
    ("2019-09-30", "Y", "2019"),
    ("2019-09-30", "W", "2019-W40"),
    ("2019-09-30", "D", "2019-09-30"),
    ("2019-09-30", "month", "2019-09"),
    ("30/09/2019", "Q", "2019-Q3"),
    ("2019-09-30 00:00:00", "M", "2019-09"),
    (43738, "M", "2019-09"),  # Excel serial for 2019-09-30
    ("43738", "FY", "2019-20"),
    (pd.Timestamp("2019-09-30"), "Q", "2019-Q3"),
    (D(2019, 9, 30), "year", "2019"),
    # non-date spellings are kept
    ("2019/20", "Y", "2019-20"),
    ("2024", "FY", "2024"),
    ("2024-01", "Q", "2024-01"),
    ("2024-Q1", "M", "2024-Q1"),
    ("Jan 2024", "FY", "2024-01"),
])
def test_prefer(value, prefer, label):
    assert parse_period(value, prefer=prefer).label == label


def test_prefer_keeps_non_date_frequency():
    assert parse_period("2019/20", prefer="Y").freq == "FY"
    assert parse_period("2024", prefer="FY").freq == "Y"


def test_unknown_prefer_is_an_error():
    with pytest.raises(PeriodError, match="Unknown frequency 'fortnight'"):
        parse_period("2024-01", prefer="fortnight")
    with pytest.raises(PeriodError):
        parse_period_series(pd.Series(["2024-01"]), prefer="X")


def test_frequency_names_map_to_codes():
    assert set(FREQUENCY_NAMES.values()) == set(FREQUENCIES)
    for name, code in FREQUENCY_NAMES.items():
        assert parse_period("2019-09-30", prefer=name) == parse_period("2019-09-30", prefer=code)


# --- Period and from_key validation --------------------------------------------------------------

def test_period_rejects_misaligned_start_and_unknown_frequency():
    with pytest.raises(PeriodError, match="not the first day"):
        Period("M", D(2024, 1, 15))
    with pytest.raises(PeriodError, match="not the first day"):
        Period("FY", D(2024, 1, 1))
    with pytest.raises(PeriodError, match="not the first day"):
        Period("W", D(2024, 1, 2))  # a Tuesday
    with pytest.raises(PeriodError, match="Unknown period frequency"):
        Period("H", D(2024, 1, 1))
    with pytest.raises(PeriodError):
        Period("D", "2024-01-01")  # type: ignore[arg-type]


def test_period_normalises_datetime_start_and_is_hashable():
    p = Period("M", dt.datetime(2024, 1, 1, 0, 0))
    assert type(p.start) is D
    assert p == Period("M", D(2024, 1, 1))
    assert len({p, Period("M", D(2024, 1, 1))}) == 1


@pytest.mark.parametrize("freq,start", [("M", "2024-01-15"), ("X", "2024-01-01"),
                                        ("M", "2024/01/01"), ("D", "2024-02-30"),
                                        ("FY", "2024-01-01"), ("M", "")])
def test_from_key_rejects_bad_keys(freq, start):
    with pytest.raises(PeriodError):
        from_key(freq, start)


def test_from_key_examples():
    assert from_key("FQ", "2023-07-01").label == "2023-24 Q2"
    assert from_key("W", "2024-01-29").label == "2024-W05"
    assert from_key("FY", D(2023, 4, 1)).label == "2023-24"


# --- series form ------------------------------------------------------------------------------------

def test_series_matches_scalar_for_every_spelling():
    values = [s for s, _, _ in SPELLINGS + NON_STRING_SPELLINGS]
    index = pd.Index([f"row{i}" for i in range(len(values))])
    result = parse_period_series(pd.Series(values, index=index, dtype=object))
    assert isinstance(result, PeriodParse)
    for i, (spelling, _label, freq) in zip(index, SPELLINGS + NON_STRING_SPELLINGS):
        p = parse_period(spelling)
        assert result.freq[i] == p.freq == freq, spelling
        assert result.start[i] == p.start.isoformat(), spelling
        assert result.error[i] is None


def test_series_marks_bad_cells_and_keeps_the_index():
    values = pd.Series(["2024-01", "nonsense", None, "2024-13", 2024, True, "", "Jan-24"],
                       index=[70, 10, 30, 20, 60, 50, 40, 5], dtype=object)
    result = parse_period_series(values)
    for s in (result.freq, result.start, result.error):
        assert list(s.index) == [70, 10, 30, 20, 60, 50, 40, 5]
        assert s.dtype == object
    assert result.freq.tolist() == ["M", None, None, None, "Y", None, None, "M"]
    assert result.start.tolist() == ["2024-01-01", None, None, None, "2024-01-01", None, None,
                                     "2024-01-01"]
    assert result.error[70] is None and result.error[5] is None
    assert "'nonsense'" in result.error[10]
    assert "empty" in result.error[30] and "empty" in result.error[40]
    assert "'2024-13'" in result.error[20]
    assert "True" in result.error[50]
    assert result.error.notna().sum() == 5


def test_series_with_pandas_string_dtype_and_missing():
    values = pd.Series(["2024-01", None, "2024-02"], dtype="str")
    result = parse_period_series(values)
    assert result.freq.tolist() == ["M", None, "M"]
    assert result.error.isna().tolist() == [True, False, True]


def test_series_of_datetimes_with_prefer():
    values = pd.Series(pd.to_datetime(["2019-09-30 13:00", "2019-10-01", None], format="ISO8601"), index=[3, 2, 1])
    result = parse_period_series(values, prefer="FQ")
    assert result.freq.tolist() == ["FQ", "FQ", None]
    assert result.start.tolist() == ["2019-07-01", "2019-10-01", None]
    assert result.error.isna().tolist() == [True, True, False]
    aware = pd.Series(pd.to_datetime(["2024-03-31 23:30"]).tz_localize("Europe/London"))
    assert parse_period_series(aware, prefer="FY").start.tolist() == ["2023-04-01"]


def test_series_of_numbers_and_empty_series():
    result = parse_period_series(pd.Series([2023, 2024, np.nan, 45292.0]))
    assert result.freq.tolist() == ["Y", "Y", None, "D"]
    assert result.start.tolist() == ["2023-01-01", "2024-01-01", None, "2024-01-01"]
    empty = parse_period_series(pd.Series([], dtype=object))
    assert len(empty.freq) == len(empty.start) == len(empty.error) == 0


def test_series_accepts_list_input():
    result = parse_period_series(["2024-01", "2024-02"])  # type: ignore[arg-type]
    assert result.start.tolist() == ["2024-01-01", "2024-02-01"]


def test_series_parses_each_distinct_value_once(monkeypatch):
    calls: list[object] = []
    real = periods_module._read

    def counting(value):
        calls.append(value)
        return real(value)

    monkeypatch.setattr(periods_module, "_read", counting)
    labels = [f"{y}-{m:02d}" for y in range(2000, 2010) for m in range(1, 13)]
    values = pd.Series(np.array(labels, dtype=object)[np.arange(100_000) % len(labels)])
    result = parse_period_series(values)
    assert len(calls) == len(labels)
    assert result.error.isna().all()
    assert result.start.iloc[121] == "2000-02-01"  # row 121 holds labels[1]


@pytest.mark.parametrize("value", ["1" * 100_000, 10**5000, "(" * 100_000, "jan " * 30_000,
                                   "2024-" + "1" * 50_000, "1" * 5000 + "." + "2" * 5000, 1e300],
                         ids=["digits", "huge-int", "parens", "jan-jan", "month-digits",
                              "long-decimal", "1e300"])
def test_hostile_inputs_fail_cleanly(value):
    with pytest.raises(PeriodError) as info:
        parse_period(value)
    assert len(str(info.value)) < 500
    result = parse_period_series(pd.Series([value, "2024-01"], dtype=object))
    assert result.freq.tolist() == [None, "M"]


# --- spellings seen in real tables (issue 7) -------------------------------------------------------
@pytest.mark.parametrize("text, prefer, freq, label", [
    ("Jul-Sep 2011", None, "M", "2011-09"),        # labour-market rolling three months: the last month
    ("Nov-Jan 2012", None, "M", "2012-01"),
    ("Jul-Sep 2011", "Q", "Q", "2011-Q3"),         # a quarterly source: the calendar quarter
    ("04/05", None, "FY", "2004-05"),              # two-digit financial years
    ("99/00", None, "FY", "1999-00"),
    ("2009/10", None, "FY", "2009-10"),
    ("30-Jun-09(1)", None, "D", "2009-06-30"),     # a date with a note marker glued on
    ("2020 [Note 3]", None, "Y", "2020"),
])
def test_spellings_of_real_tables(text, prefer, freq, label):
    period = parse_period(text, prefer=prefer)
    assert (period.freq, period.label) == (freq, label)


@pytest.mark.parametrize("text, why", [("Jan-Apr 2012", "is not three months"), ("05/07", "is not the year after")])
def test_near_misses_say_why(text, why):
    with pytest.raises(PeriodError, match=why):
        parse_period(text)


def test_a_column_of_calendar_quarters_spelt_as_months_reads_as_quarters():
    parsed = parse_period_series(pd.Series(["Jan-Mar 2012", "Apr-Jun 2012", "Jul-Sep 2012"]))
    assert list(parsed.freq) == ["Q"] * 3
    rolling = parse_period_series(pd.Series(["Jul-Sep 2011", "Aug-Oct 2011", "Sep-Nov 2011"]))
    assert list(rolling.freq) == ["M"] * 3 and list(rolling.start) == ["2011-09-01", "2011-10-01", "2011-11-01"]
