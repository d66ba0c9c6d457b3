"""Pure helpers of the app shell (dashapp.presenters): no Dash, no database."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashapp import presenters as p
from explain.results import Headline, MetricInfo


# ------------------------------------------------------------------------------ CSV
@pytest.mark.parametrize("cell, expected", [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
    ("+44 20 7946 0000", "'+44 20 7946 0000"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1)", "'@SUM(1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("North East", "North East"),
    ("a=b", "a=b"),
    ("", ""),
    (None, ""),
])
def test_neutralise_csv_cell_text(cell, expected):
    assert p.neutralise_csv_cell(cell) == expected


@pytest.mark.parametrize("cell, expected", [
    (-5.25, "-5.25"), (3.0, "3"), (4210, "4210"), (np.int64(-7), "-7"), (np.float64(0.5), "0.5"),
    (float("nan"), ""), (math.inf, ""), (True, "TRUE"),
])
def test_neutralise_csv_cell_keeps_numbers_numbers(cell, expected):
    assert p.neutralise_csv_cell(cell) == expected


def test_frame_to_csv_neutralises_every_cell_and_header():
    frame = pd.DataFrame({"=area": ["=HYPERLINK(\"http://x\")", "Leeds"], "value": [-1.5, np.nan]})
    text = p.frame_to_csv(frame)
    assert text.splitlines() == ["'=area,value", "\"'=HYPERLINK(\"\"http://x\"\")\",-1.5", "Leeds,"]


# --------------------------------------------------------------------- arrows and text
@pytest.mark.parametrize("change, hib, expected", [
    (10, True, ("▲", "good")), (10, False, ("▲", "bad")), (10, None, ("▲", "neutral")),
    (-3, True, ("▼", "bad")), (-3, False, ("▼", "good")), (-3, None, ("▼", "neutral")),
    (0, True, ("▶", "neutral")), (None, False, ("▶", "neutral")), (float("nan"), True, ("▶", "neutral")),
])
def test_arrow_colour_follows_direction_of_improvement_not_up_or_down(change, hib, expected):
    assert p.arrow_and_colour(change, hib) == expected


def test_change_text_examples():
    assert p.change_text(4210, 3.1, "month") == "Increase of 4,210 (3.1%) compared with the previous month"
    assert p.change_text(-4210, -3.14, "month", "households") == \
        "Decrease of 4,210 households (3.1%) compared with the previous month"
    assert p.change_text(-12e6, -2.3, "quarter", "£") == "Decrease of £12m (2.3%) compared with the previous quarter"
    assert p.change_text(0, 0, "month") == "No change compared with the previous month"
    assert p.change_text(None, None, "month") == "No comparison with the previous month is available"
    # percentages change in percentage points, without a misleading percentage of a percentage
    assert p.change_text(1.25, 2.0, "the same month a year earlier", "%") == \
        "Increase of 1.25 percentage points compared with the same month a year earlier"
    assert p.change_text(5, None, "year") == "Increase of 5 compared with the previous year"
    assert p.change_text(5, 0.0123, "week") == "Increase of 5 (less than 0.1%) compared with the previous week"


def test_comparison_phrases():
    assert p.comparison_phrase("M", "previous") == "the previous month"
    assert p.comparison_phrase("M", "year") == "the same month a year earlier"
    assert p.comparison_phrase("FY", "year") == "the previous financial year"
    assert p.comparison_phrase("Q", "year") == "the same quarter a year earlier"


def _headline(**overrides):
    info = MetricInfo("uc_caseload", "Households on Universal Credit", "DWP", "households", "sum", False, "", "",
                      "M")
    values = dict(metric=info, area="ALL", latest_period="2026-09", latest_value=140_000.0,
                  previous_period="2026-08", previous_value=135_790.0, year_ago_period="2025-09",
                  year_ago_value=150_000.0, spc_status="concern", sparkline=(1.0, 2.0, None, 4.0), why="It rose.",
                  data_vintage=7, grade="B", last_updated="2026-11-21T20:55:01+00:00", provisional=True)
    values.update(overrides)
    return Headline(**values)


def test_headline_view_texts_and_tones():
    view = p.headline_view(_headline())
    assert view.value == "140,000 households"
    assert view.period == "September 2026" and view.provisional          # months in prose
    assert previous_label_is_prose(view)
    previous, year = view.changes
    assert (previous.arrow, previous.tone) == ("▲", "bad")       # lower is better, it rose
    assert (year.arrow, year.tone) == ("▼", "good")
    assert previous.text == ("Increase of 4,210 households (3.1%) compared with the previous month (August 2026)")
    assert year.text.startswith("Decrease of 10,000 households (6.7%) compared with the same month a year earlier")
    assert view.spc_label == "Unusual change: worse" and view.spc == "concern"
    assert view.href == "/explain?metric=uc_caseload&area=ALL&from=2026-08&to=2026-09"
    assert view.updated == "21 November 2026 20:55 UTC"
    assert view.sparkline.count(",") == 3                          # the missing value is skipped
    assert "rose, from 1 households to 4 households" in view.sparkline_text


def previous_label_is_prose(view) -> bool:
    return view.changes[0].label == "on August 2026"


def test_a_change_is_written_at_the_precision_of_the_levels():
    info = MetricInfo("award", "Average award", "DWP", "£ per month", "mean", None, "", "", "M")
    view = p.headline_view(_headline(metric=info, latest_value=866.0621, previous_value=866.0, year_ago_value=840.0))
    assert view.value == "£866 per month"
    assert view.changes[0].amount == "+£0.06 per month (less than 0.1%)"          # never '+£0.0621'
    assert view.changes[0].text.startswith("Increase of £0.06 per month (less than 0.1%)")


def test_a_temperature_gets_no_percentage_change():
    info = MetricInfo("t", "Mean temperature", "ONS", "°C", "mean", None, "", "", "M")
    view = p.headline_view(_headline(metric=info))
    assert all("%" not in c.amount and "%" not in c.text for c in view.changes)
    assert view.changes[0].amount.startswith("+")


def test_headline_view_annual_metric_shows_one_comparison():
    info = MetricInfo("spend", "Spend", "DWP", "£bn", "sum", None, "", "", "FY")
    view = p.headline_view(_headline(metric=info, latest_period="2025-26", previous_period="2024-25",
                                     year_ago_period="2024-25", year_ago_value=135_790.0, spc_status="odd"))
    assert len(view.changes) == 1 and view.changes[0].tone == "neutral"
    assert view.spc == "unknown"


# ------------------------------------------------------------------------------ URLs
def test_parse_query_keeps_valid_values_only():
    allowed = {"metric": {"uc_caseload", "uc_spend"}, "area": None, "from": lambda v: v[:4].isdigit(),
               "by": {"type"}}
    query = {"metric": "uc_caseload", "area": "E12000001", "from": "2026-08", "by": "<script>", "x": "1"}
    assert p.parse_query(query, allowed) == {"metric": "uc_caseload", "area": "E12000001", "from": "2026-08"}
    assert p.parse_query({"metric": "ae_4h_pct"}, allowed) == {}
    assert p.parse_query({"area": "<img src=x onerror=alert(1)>"}, allowed) == {}
    assert p.parse_query({"metric": ["uc_spend", "uc_caseload"]}, allowed) == {"metric": "uc_spend"}
    assert p.parse_query({"area": "x" * 300}, allowed) == {}
    assert p.parse_query({"from": "abcd"}, allowed) == {}


def test_explain_href_is_encoded():
    assert p.explain_href("a&b", "2024-25", "2025-26") == "/explain?metric=a%26b&area=ALL&from=2024-25&to=2025-26"


# ------------------------------------------------------------------------------ areas
def test_area_from_picker():
    from explain import WHOLE, AreaTree
    from explain.results import AreaInfo

    tree = AreaTree((AreaInfo(WHOLE, "All areas", "whole", None), AreaInfo("E12000001", "North East", "region", None),
                     AreaInfo("E06000001", "Hartlepool", "local_authority", "E12000001")))
    assert p.area_from_picker(tree, "whole", "Hartlepool (E06000001)") == WHOLE
    assert p.area_from_picker(tree, "area", "Hartlepool (E06000001)") == "E06000001"
    assert p.area_from_picker(tree, "area", "north east") == "E12000001"
    assert p.area_from_picker(tree, "area", "E06000001") == "E06000001"
    assert p.area_from_picker(tree, "area", "Atlantis") is None
    assert p.area_from_picker(tree, "area", "") is None


# ---------------------------------------------------------------------------- sources
def test_source_from_spec_round_trips_a_stored_manifest_entry():
    spec = {"id": "x", "department": "DfE", "title": "Places", "path": "places.csv", "url": None, "format": "csv",
            "layout": "wide", "period_column": "time_period", "area_column": "la",
            "value_columns": [["Pupils on roll", "pupils"]], "dimension_columns": [], "total_values": [],
            "where": [["geographic_level", ["Local authority"]]], "unknown_future_key": 1}
    source = p.source_from_spec(spec, source_id="dfe-places")
    assert source.id == "dfe-places" and source.department == "DfE"
    assert source.value_columns == (("Pupils on roll", "pupils"),)
    assert source.where == (("geographic_level", ("Local authority",)),)
    assert source.dimension_columns == ()
    with pytest.raises(p.SourceSpecError):
        p.source_from_spec({"path": "a.csv"}, source_id="nodept")


def test_upload_suffix_and_problem_rows_and_grade_reasons():
    assert p.upload_suffix("data.XLSX", "csv") == ".xlsx"
    assert p.upload_suffix("data.exe", "ods") == ".ods"
    assert p.upload_suffix(None, None) == ".csv"
    rows = p.problem_rows({"problems": [{"severity": "quarantine", "row": 1200, "column": "value", "value": "=1",
                                         "message": "bad"}]})
    assert rows == [{"severity": "quarantine", "row": "1,200", "column": "value", "value": "=1", "message": "bad"}]
    assert p.grade_reasons('["a", "b"]') == ["a", "b"]
    assert p.grade_reasons(None) == [] and p.grade_reasons("oops") == ["oops"]




def test_table_rows_formats_for_people():
    frame = pd.DataFrame({"area": ["Leeds", None], "value": [1234567.0, np.nan], "n": [3, 4]})
    assert p.table_rows(frame) == [["Leeds", "1,234,567", "3"], ["", "", "4"]]
