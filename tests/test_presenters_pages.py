"""Pure helpers of the analysis pages: queries, grouping, periods, words, tables."""
from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest

from dashapp import presenters_explain as pe
from dashapp import presenters_model_lab as pm
from dashapp import presenters_parts as pp
from dashapp import presenters_queries as pq
from dashapp import presenters_trends as pt
from dashapp.presenters import date_text
from explain.errors import ModelError
from explain.results import DriverContribution, Explanation, ModelSummary, SegmentPart, Trend, TrendPoint
from loaders.errors import AccessDenied
from loaders.vocabulary import WHOLE_AREA, WHOLE_AREA_NAME

MONTHS = [f"{2024 + i // 12}-{i % 12 + 1:02d}" for i in range(30)]   # 2024-01 .. 2026-06
AREAS = {"ALL", "E92000001", "E12000001", "E12000002", "E12000003", "E12000004", "E12000005", "E06000001"}


# ----------------------------------------------------------------------------- URLs
def test_parse_search_and_query_string_round_trip():
    query = {"metric": "uc_caseload", "area": "E12000001", "compare": ["E12000002", "E12000003"], "by": None}
    text = pq.query_string(query)
    assert text == "?metric=uc_caseload&area=E12000001&compare=E12000002%2CE12000003"
    assert pq.parse_search(text) == {"metric": "uc_caseload", "area": "E12000001", "compare": "E12000002,E12000003"}
    assert pq.query_string({"a": None, "b": "", "c": []}) == ""
    assert pq.parse_search(None) == {} and pq.parse_search("?a=1&a=2") == {"a": "2"}


def test_first_value_takes_strings_and_lists():
    assert pq.first_value({"a": [" x ", "y"]}, "a") == "y"
    assert pq.first_value({"a": "  "}, "a") is None
    assert pq.first_value({}, "a") is None


def test_codes_and_periods_from_urls_are_checked():
    assert pq.clean_code("uc_caseload") == "uc_caseload"
    assert pq.clean_code("<script>") is None and pq.clean_code("a b") is None
    assert pq.clean_period("2025-03", MONTHS) == "2025-03"
    assert pq.clean_period("2031-01", MONTHS) is None and pq.clean_period("'; drop", MONTHS) is None


# ----------------------------------------------------------------------------- trends query
def test_trends_query_defaults_to_the_first_visible_metric_and_latest_figures():
    q = pq.parse_trends_query({}, visible=["a", "b"], areas=AREAS, periods=MONTHS)
    assert (q.metric, q.area, q.start, q.end, q.compare, q.vintage, q.notes) == ("a", None, None, None, (), "latest", ())
    assert not q.as_first_published


def test_trends_query_keeps_a_requested_metric_for_the_page_to_check():
    assert pq.parse_trends_query({"metric": "secret"}, visible=["a"]).metric == "secret"
    with pytest.raises(AccessDenied):
        pq.parse_trends_query({}, visible=[])


def test_trends_query_drops_unknown_areas_and_periods_with_notes_and_swaps_reversed_ranges():
    q = pq.parse_trends_query({"metric": "a", "area": "E99", "from": "2026-03", "to": "2024-05"},
                              visible=["a"], areas=AREAS, periods=MONTHS)
    assert q.area is None and (q.start, q.end) == ("2024-05", "2026-03")
    assert any("E99" in n for n in q.notes) and any("swapped" in n for n in q.notes)
    q = pq.parse_trends_query({"metric": "a", "from": "1999-01", "vintage": "oops"}, visible=["a"], periods=MONTHS)
    assert q.start is None and q.vintage == "latest" and len(q.notes) == 2


def test_trends_query_compares_at_most_four_known_distinct_areas():
    compare = "E12000001,E12000002,E12000001,E99,E12000003,E12000004,E12000005"
    q = pq.parse_trends_query({"metric": "a", "compare": compare, "vintage": "first"}, visible=["a"], areas=AREAS)
    assert q.compare == ("E12000001", "E12000002", "E12000003", "E12000004")
    assert q.as_first_published
    assert any("E99" in n for n in q.notes) and any("At most 4" in n for n in q.notes)
    assert pq.query_string(q.to_query()).count("E1200000") == 4


# ----------------------------------------------------------------------------- explain query and periods
def test_default_periods_previous_and_a_year_earlier():
    assert pq.default_periods(MONTHS, "M") == ("2026-05", "2026-06")
    assert pq.default_periods(MONTHS, "M", "year") == ("2025-06", "2026-06")
    assert pq.default_periods(MONTHS[:6], "M", "year") == ("2024-05", "2024-06")   # no year earlier: previous
    assert pq.default_periods(["2024-01"], "M") is None


def test_explain_query_defaults_and_validation():
    q = pq.parse_explain_query({}, visible=["m"], periods=MONTHS, freq="M", areas=AREAS, dimensions=["dept_type"])
    assert (q.metric, q.area, q.period_from, q.period_to, q.by) == ("m", None, "2026-05", "2026-06", None)
    q = pq.parse_explain_query({"metric": "m", "area": "E12000001", "from": "2025-06", "to": "2026-06",
                                "by": "dept_type"}, visible=["m"], periods=MONTHS, freq="M", areas=AREAS,
                               dimensions=["dept_type"])
    assert (q.area, q.period_from, q.period_to, q.by, q.notes) == ("E12000001", "2025-06", "2026-06", "dept_type", ())
    q = pq.parse_explain_query({"metric": "m", "from": "2019-01", "to": "2026-06", "by": "sex", "area": "X9"},
                               visible=["m"], periods=MONTHS, freq="M", areas=AREAS, dimensions=["dept_type"])
    assert (q.area, q.period_from, q.by) == (None, "2026-05", None) and len(q.notes) == 3


def test_choose_periods_after_each_control():
    pairs = {"previous": ("2026-05", "2026-06"), "year": ("2025-06", "2026-06")}
    # a new metric keeps the comparison, or the typed periods where the series has them
    assert pq.choose_periods("metric", "year", "2025-01", "2025-02", pairs, MONTHS) == (
        "2025-06", "2026-06", "year", [])
    assert pq.choose_periods("metric", "custom", "2025-01", "2025-02", pairs, MONTHS) == (
        "2025-01", "2025-02", "custom", [])
    assert pq.choose_periods("metric", "custom", "2019-01", "2025-02", pairs, MONTHS) == (
        "2026-05", "2026-06", "previous", [])
    assert pq.choose_periods("comparison", "year", None, None, pairs, MONTHS)[:3] == ("2025-06", "2026-06", "year")
    assert pq.choose_periods("apply", "custom", "2025-01", "2025-04", pairs, MONTHS)[:3] == (
        "2025-01", "2025-04", "custom")
    assert pq.choose_periods("apply", "custom", "2025-06", "2026-06", pairs, MONTHS)[2] == "year"
    a, b, choice, notes = pq.choose_periods("apply", "custom", "2025-01", "2025-01", pairs, MONTHS)
    assert (a, b, choice) == ("2026-05", "2026-06", "previous") and notes
    assert pq.choose_periods("other", "custom", "2025-01", "2025-03", pairs, MONTHS)[:3] == (
        "2025-01", "2025-03", "custom")


def test_comparison_options_name_the_periods():
    options = pq.comparison_options({"previous": ("2026-05", "2026-06"), "year": ("2025-06", "2026-06")}, "M")
    assert [o["value"] for o in options] == ["previous", "year", "custom"]
    assert options[0]["label"] == "The previous month: May 2026 to June 2026"
    assert [o["value"] for o in pq.comparison_options({"previous": ("a", "b")}, "FY")] == ["previous", "custom"]


def test_breakdown_dimensions_from_breakdown_keys():
    keys = ["", "dept_type=Type 1", "dept_type=Type 2", "age=0-4;sex=F", "sex=M", None, "junk"]
    assert pq.breakdown_dimensions(keys) == ["age", "dept_type", "sex"]
    assert pq.breakdown_dimensions([""]) == []


# ----------------------------------------------------------------------------- grouping
def test_group_small_preserves_the_total_exactly_and_keeps_the_largest():
    rng = random.Random(3)
    for _ in range(200):
        values = [rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-9, 1e3]) for _ in range(rng.randint(1, 12))]
        parts = [pp.Part(f"k{i}", f"K{i}", v) for i, v in enumerate(values)]
        grouped = pp.group_small(parts, keep=3, other_label="Other")
        assert math.fsum(p.value for p in grouped) == pytest.approx(math.fsum(values), rel=1e-12, abs=1e-12)
        assert len(grouped) <= 4
        if len(values) > 4:
            largest = sorted(values, key=abs, reverse=True)[:3]
            assert [p.value for p in grouped[:3]] == largest
            assert grouped[-1].label == f"Other ({len(values) - 3})" and len(grouped[-1].members) == len(values) - 3


def test_group_small_does_not_hide_a_single_part_and_sums_mix_and_rate():
    parts = [pp.Part("a", "A", 5), pp.Part("b", "B", -1), pp.Part("c", "C", 0.5), pp.Part("d", "D", 0.1)]
    assert [p.key for p in pp.group_small(parts, keep=3, other_label="Other")] == ["a", "b", "c", "d"]
    parts = [pp.Part(k, k, v, mix=v / 4, rate=3 * v / 4) for k, v in zip("abcdef", [6, -5, 4, 3, 2, 1])]
    other = pp.group_small(parts, keep=2, other_label="Other")[-1]
    assert other.value == 10 and other.mix == pytest.approx(2.5) and other.rate == pytest.approx(7.5)
    assert other.ci_low is None and other.ci_high is None


def explanation(drivers, change, *, segments=(), by=None, model=True, unit="households", significance=None):
    parts = tuple(DriverContribution(d, c, c - 1, c + 1) for d, c in drivers)
    return Explanation(
        metric="m", area="E12000001", period_from="2026-05", period_to="2026-06", value_from=1000.0,
        value_to=1000.0 + change, change=change, significance=significance or {"beyond_normal_variation": False},
        drivers=parts, unexplained=change - math.fsum(c for _, c in drivers),
        model=ModelSummary("gradient_boosting", 2, 0.873, 9, ()) if model else None, components=(),
        segments=tuple(segments), narrative="", data_vintage=9, by=by, unit=unit, area_name="North East")


def test_driver_parts_add_up_to_the_change_and_end_with_unexplained():
    e = explanation([("a", 10.0), ("b", -4.0), ("c", 1.0), ("d", 0.5), ("trend", 0.25), ("seasonality", -0.1)], 9.0)
    parts = pp.driver_parts(e, {"a": "Claimant count"})
    assert [p.label for p in parts] == ["Claimant count", "B", "C", "Other drivers (3)", "Unexplained"]
    assert math.fsum(p.value for p in parts) == pytest.approx(e.change, abs=1e-12)
    assert parts[-1].value == e.unexplained
    assert parts[0].ci_low == 9.0 and parts[0].ci_high == 11.0
    assert pp.display_name("seasonality", {}) == "Seasonality"
    # internal codes never reach a label: the pseudo-drivers' columns and codes in words
    assert pp.display_name("season", {}) == "Seasonality" and pp.display_name("period_ordinal", {}) == "Trend"
    assert pp.display_name("dept_type", {}) == "Department type"
    assert pp.dimension_label("dept_type") == "department type" and pp.dimension_label("world_region") == \
        "world region"


def test_segment_parts_and_mix_rate_detection():
    segs = [SegmentPart("A", "A", 0.2, mix=0.05, rate=0.15), SegmentPart("B", "B", -0.1, mix=0.0, rate=-0.1)]
    e = explanation([], 0.1, segments=segs)
    assert pp.has_mix_rate(e)
    assert not pp.has_mix_rate(explanation([], 0.1, segments=[SegmentPart("A", "A", 0.1)]))
    assert pp.segment_parts(explanation([], 1.0, segments=segs, by="dept_type"))[0].label == "A"


# ----------------------------------------------------------------------------- words
def trend(values, rules=None, variation=None, centre=10.0, upper=20.0, area="North East", unit="households",
          code="E1", verdict=None):
    rules = rules or [()] * len(values)
    variation = variation or ["common_cause"] * len(values)
    points = tuple(TrendPoint(MONTHS[i], f"{MONTHS[i]}-01", v, "", v, 1, var, tuple(r))
                   for i, (v, r, var) in enumerate(zip(values, rules, variation)))
    return Trend("m", code, area, unit, points, centre, upper, 0.0, False, verdict=verdict)


def movement(outcome, direction="concern"):
    from explain.verdict import Verdict

    return Verdict(outcome, direction, 1.0, "")


def test_trend_caption_counts_a_run_and_names_the_special_cause():
    t = trend([5, 4, 5, 6, 7, 8, 9, 10, 11], rules=[()] * 8 + [(2, 4)], variation=["common_cause"] * 8 + ["concern"],
              verdict=movement("within"))
    caption = pt.trend_caption(t, metric_name="Households on Universal Credit", freq="M")
    # the verdict on the latest movement first; the level chart's signal in its own sentence, in words
    assert caption == ("Households on Universal Credit in North East rose for 7 months in a row to September 2024 "
                       "(11 households); the latest change is within the usual range. On the chart the latest "
                       "point is unusual: 7 points in a row each higher than the one before.")
    assert pt.trend_headline(t, freq="M").startswith("Rose for 7 months in a row")


def test_trend_caption_single_moves_limits_and_common_cause():
    caption = pt.trend_caption(trend([5, 21], rules=[(), (1,)], variation=["common_cause", "improvement"],
                                     verdict=movement("beyond", "improvement")), metric_name="M", freq="M")
    assert caption == ("M in North East rose by 16 households to 21 households in February 2024; the latest change "
                       "is unusual, an improvement. On the chart the latest point is unusual: a point above the usual "
                       "range.")
    caption = pt.trend_caption(trend([5, 4], area=WHOLE_AREA_NAME, code=WHOLE_AREA, verdict=movement("within")),
                               metric_name="M", freq="M")
    assert caption == "M fell by 1 households to 4 households in February 2024; the latest change is within the usual range."
    assert pt.trend_caption(trend([5, 4]), metric_name="M", freq="M") == (
        "M in North East fell by 1 households to 4 households in February 2024; there is not enough history to "
        "judge the latest change.")
    assert pt.trend_caption(trend([1, 2], centre=None), metric_name="M", freq="M").endswith(
        " There are too few points to set the usual range on the chart.")
    assert "no values" in pt.trend_caption(trend([None, None]), metric_name="M", freq="M")


def test_a_run_never_spans_a_gap():
    gapped = trend([5, 6, 7, 8, None, 9, 10, 11], verdict=movement("within"))
    caption = pt.trend_caption(gapped, metric_name="M", freq="M")
    assert "rose for 2 months in a row to August 2024" in caption  # not 6 across the missing May
    after = pt.trend_caption(trend([5, 6, 7, None, 9], verdict=movement("insufficient")), metric_name="M", freq="M")
    assert "was 9 households in May 2024 (there is no value for April 2024)" in after


def test_trend_subtitle_gives_the_usual_range_with_its_unit():
    assert pt.trend_subtitle(trend([5, 6, 7])) == "Usual range 0 to 20 households (average 10 households; 3 points)"
    tentative = Trend("m", "E1", "North East", "£m", trend([1]).points, 866.123, 900.0, 830.6, True)
    assert pt.trend_subtitle(tentative) == "Tentative usual range £831m to £900m (average £866m; 1 point)"
    assert pt.trend_subtitle(trend([1, 2], centre=None)) == "Too few points to set the usual range"


def test_period_names_numbers_and_plurals():
    assert pp.period_name("2026-09", "M") == "September 2026"
    assert pp.period_name("2023-24", "FY") == "2023-24"
    assert pp.period_name("2026-Q1", "Q") == "January to March 2026"
    assert pp.period_name("2010-11", "FY") == "2010-11" and pp.period_name("2010-11") == "November 2010"
    assert pp.plural(1, "month") == "1 month" and pp.plural(7, "month") == "7 months"


def test_trend_table_has_both_values_and_flags_revisions():
    points = (TrendPoint("2026-01", "2026-01-01", 10.0, "", 10.0, 1, "common_cause", ()),
              TrendPoint("2026-02", "2026-02-01", 12.0, "p", 11.0, 7, "concern", (1,)))
    t = Trend("m", "E1", "North East", "cases", points, 10.0, 11.5, 8.5, True)
    table = pt.trend_table(t)
    assert table["revised"].tolist() == ["", "yes"] and table["provisional"].tolist() == ["", "yes"]
    assert table["first_published"].tolist() == [10.0, 11.0] and table["latest"].tolist() == [10.0, 12.0]
    assert table["variation"].tolist() == ["Within the usual range", "Unusual: a concern (a point above the usual range)"]
    assert table["period"].tolist() == ["2026-01", "2026-02"]      # the raw data keeps canonical labels
    both = Trend("m", "E1", "North East", "cases", (points[0], TrendPoint("2026-02", "2026-02-01", 7.0, "", 7.0, 7,
                                                                          "improvement", (1, 4))), 10.0, 11.5, 8.5, True)
    assert pt.trend_table(both)["variation"].tolist()[1] == (
        "Unusual: an improvement (a point below the usual range; 7 points in a row below the average)")
    first = Trend("m", "E1", "North East", "cases", tuple(p.__class__(**{**p.__dict__, "value": p.first_published})
                                                          for p in points), 10.0, 11.5, 8.5, True)
    assert pt.trend_table(first, t)["latest"].tolist() == [10.0, 12.0]


def test_verdict_trace_and_change_sentences():
    e = explanation([("a", 30.0)], 50.0, significance={"beyond_normal_variation": True, "verdict": "concern"})
    assert pe.verdict(e.significance) == ("Unusual change: a concern", "danger")
    assert pe.verdict({"beyond_normal_variation": None}) == ("Not enough history to judge", "secondary")
    assert pe.verdict({"beyond_normal_variation": False}) == ("Within the usual range", "secondary")
    assert pe.trace_line(e) == "Data vintage 9 · driver model version 2 (gradient boosting, out-of-sample R² 0.87)"
    assert pe.trace_line(explanation([], 1.0, model=False)) == "Data vintage 9 · no driver model"
    assert pe.change_sentence(e) == ("Rose by 50 households (5.0%) from 1,000 households in May 2026 to 1,050 "
                                     "households in June 2026.")
    assert pe.periods_text(e, "M") == "May 2026 to June 2026"
    parts = pp.driver_parts(e, {"a": "Claimant count"})
    assert pe.waterfall_caption(e, parts) == ("Claimant count is associated with the largest part of the change "
                                              "(+30 households); +20 households (40% of the change) is left unexplained.")


def test_change_sentences_round_once_and_skip_meaningless_percentages():
    award = SimpleNamespace(period_from="2026-08", period_to="2026-09", value_from=866.123, value_to=870.5,
                            change=870.5 - 866.123, unit="£ per month", drivers=(), unexplained=0.0)
    assert pe.change_sentence(award, "M") == ("Rose by £4.4 per month (0.5%) from £866.1 per month in August 2026 to "
                                              "£870.5 per month in September 2026.")
    assert pe.part_words(award, 0.0621) == "+£0.1 per month"        # never '+£0.0621 per month'
    cold = SimpleNamespace(period_from="2025-Q4", period_to="2026-Q1", value_from=8.4, value_to=5.1, change=-3.3,
                           unit="°C")
    assert pe.change_sentence(cold, "Q") == ("Fell by 3.3°C from 8.4°C in October to December 2025 to 5.1°C in "
                                             "January to March 2026.")                     # no percentage
    flat = SimpleNamespace(period_from="2026-08", period_to="2026-09", value_from=8_680_650.0, value_to=8_681_000.0,
                           change=350.0, unit="households")
    assert pe.change_sentence(flat) == ("Rose by 350 households (less than 0.1%) between August 2026 and September "
                                        "2026, to 8.68 million households.")


def test_explain_subtitles_keep_method_names_for_the_about_tab():
    e = explanation([("a", 30.0)], 50.0)
    assert pe.drivers_subtitle(e, "M") == ("May 2026 1,000 → Jun 2026 1,050. Each driver's share of the change, "
                                           "with a 90% range; hatched = not explained by the drivers")
    assert pe.components_subtitle("caseload * award") == ("Each component's share of the change (an exact split) of "
                                                          "caseload * award")
    segments = explanation([], 1.0, segments=[SegmentPart("A", "A", 1.0)], by="dept_type")
    assert pe.segments_subtitle(segments, False) == ("Each bar is the change in one of the values of department "
                                                     "type; together they add up to the change")
    assert pe.segments_caption(segments, pp.segment_parts(segments)) == (
        "The value of department type that moved it most is A (+1 households).")
    for text in (pe.drivers_subtitle(e), pe.components_subtitle("x"), pe.segments_subtitle(segments, True)):
        assert "shap" not in text.lower()
    assert "Shapley" in pe.COMPONENTS_ABOUT["Method"] and "SHAP" in pe.DRIVERS_ABOUT["Method"]


def test_compare_caption_names_the_area_that_moved_most():
    a = trend([100, 110], area="North East")
    b = trend([100, 150], area="London")
    assert pt.compare_caption([a, b], metric_name="M", freq="M") == (
        "Of the 2 areas compared, London changed most between January 2024 and February 2024 (+50.0%).")


# ----------------------------------------------------------------------------- model lab
def version(n, active=False):
    return SimpleNamespace(version=n, kind="gradient_boosting", drivers=("x1",), pseudo_drivers=("seasonality",),
                           scores={"r2": 0.912345678, "baseline_r2": 0.8, "mae": 12.5}, data_vintage=6,
                           created_at="2026-11-21T21:07:04+00:00", active=active)


def test_versions_scores_and_folds_tables():
    frame = pm.versions_frame([version(1), version(2, active=True)])
    assert frame.columns.tolist() == ["version", "kind", "drivers", "Out-of-sample R²", "Naive forecast's out-of-sample R²",
                                      "Out-of-sample mean absolute error", "Naive forecast's mean absolute error",
                                      "Better than the naive forecast", "data_vintage", "created", "active"]
    assert frame["active"].tolist() == ["", "yes"] and frame["drivers"][0] == "x1, seasonality"
    assert frame["Out-of-sample R²"][0] == 0.9123
    assert frame["Better than the naive forecast"][0] == "cannot tell"  # no naive forecast's error saved
    scores = {"r2": 0.9, "mae": 2.0, "explained_variance": 0.91, "baseline_r2": 0.5, "baseline_mae": 3.0,
              "folds": [{"fold": 0, "train_periods": [1, 12], "test_periods": [13, 14], "n_train": 120, "n_test": 20,
                         "r2": 0.8, "mae": 2.5, "baseline_r2": 0.4, "baseline_mae": 3.5}]}
    assert pm.scores_frame(scores)["Naive forecast"].tolist()[:2] == [0.5, 3.0]
    folds = pm.folds_frame(scores)
    assert folds.iloc[0]["fold"] == 1 and folds.iloc[0]["test_periods"] == "13–14"
    assert "better than the naive forecast on both" in pm.scores_caption(scores)
    assert "not better than the naive forecast" in pm.scores_caption({**scores, "mae": 4.0})


def test_lab_fit_arguments_are_checked_against_the_candidates_offered():
    args = pm.lab_fit_arguments(["a", "z"], "linear", ["trend", "bogus"], candidates=["a", "b"])
    assert args == {"drivers": ("a",), "kind": "linear", "pseudo_drivers": ("trend",)}
    with pytest.raises(ModelError, match="model kind"):
        pm.lab_fit_arguments(["a"], "forest", [], candidates=["a"])
    with pytest.raises(ModelError, match="at least one"):
        pm.lab_fit_arguments(["z"], "linear", [], candidates=["a"])


def test_driver_tokens_and_candidates():
    assert pm.driver_codes([pm.driver_token("population"), "population", None]) == ["population"]
    assert pm.candidate_drivers("m", visible=["m", "b", "a", "x"], configured=["a", "c"], exclude=["x"]) == [
        "a", "c", "b"]


def test_dates():
    assert date_text("2026-11-21T21:06:52+00:00") == "21 November 2026 21:06 UTC"
    assert date_text("") == "–"


def test_partial_dependence_and_residual_captions():
    import pandas as pd

    frame = pd.DataFrame({"value": [1.0, 2.0, 3.0], "prediction": [10.0, 30.0, 20.0]})
    assert pm.partial_dependence_caption(frame, driver_label="Seasonality", unit="cases", seasonal=True,
                                         freq="Q") == (
        "Holding the other drivers at their recent values, the average prediction is highest in April to June "
        "(30 cases) and lowest in January to March (10 cases).")
    months = pd.DataFrame({"value": [float(m) for m in range(1, 13)], "prediction": [float(m % 8) for m in range(1, 13)]})
    assert "highest in July (7 cases) and lowest in August (0 cases)" in pm.partial_dependence_caption(
        months, driver_label="Seasonality", unit="cases", seasonal=True)          # 12 seasons: months, not 'season 7'
    text = pm.partial_dependence_caption(frame, driver_label="Claimant count", unit="cases", slope=5.0)
    assert text == ("Holding the other drivers at their recent values, moving Claimant count from 1 to 3 moves the "
                    "average prediction from 10 cases to 20 cases (a straight line: each 1 more of Claimant count "
                    "raises the prediction by about 5 cases, the model's coefficient).")
    award = pm.partial_dependence_caption(frame, driver_label="Claimant count", unit="£ per month", slope=-0.0621)
    assert "lowers the prediction by about £0.062 per month" in award
    residuals = pd.DataFrame({"period": ["2026-01", "2026-02"], "residual": [2.0, -6.0]})
    assert pm.residuals_caption(residuals, unit="cases", freq="M") == (
        "Over the last 2 months, the model's prediction of the whole was off by 4 cases on average; most in "
        "February 2026 (-6 cases, actual minus predicted).")


def test_short_chart_headlines():
    e = explanation([("a", 10.0), ("b", -4.0)], 9.0)
    parts = pp.driver_parts(e, {"a": "Claimant count"})
    assert pe.waterfall_headline(e, parts) == "Most associated with Claimant count (+10)"
    assert pe.waterfall_headline(explanation([], 1.0), pp.driver_parts(explanation([], 1.0), {})) == (
        "Not split into drivers")
    assert pe.components_headline([pp.Part("x", "Caseload", -12_300.0)]) == "Largest component: Caseload (-12.3k)"
    assert pe.components_headline([pp.Part("x", "Unit cost", 30.0)], "£m") == "Largest component: Unit cost (+£30m)"
    assert pe.segments_headline(e, []) == "No segments"


# ------------------------------------------------------------------ issue 10: compare with, measures
def test_compare_with_choices_and_points():
    options = pq.vs_options(("forecast", "main_estimate"), "2026-09", "M")
    assert [o["value"] for o in options] == ["period", "first", "forecast", "main_estimate"]
    assert options[3]["label"] == "The main estimate for September 2026"
    assert pq.clean_vs("forecast", ("forecast",)) == "forecast"
    assert pq.clean_vs("plan", ("forecast",)) is None and pq.clean_vs("period", ()) is None
    assert pq.clean_vs("first", ()) == "first"
    assert pq.vs_points(None, "2026-09") is None
    first, latest = pq.vs_points("first", "2026-09")
    assert first == {"period": "2026-09", "series": "outturn", "vintage": "first"} and latest["vintage"] == "latest"
    assert pq.vs_points("forecast", "2026-09")[0]["series"] == "forecast"
    measures = {"cash": "Cash", "real": "Real terms (2025-26 prices)"}
    assert pq.clean_measure("real", measures) == "real"
    assert pq.clean_measure("cash", measures) is None and pq.clean_measure("per_head", measures) is None
    assert pq.measure_options(measures)[1] == {"label": "Real terms (2025-26 prices)", "value": "real"}


def test_point_words_on_headings_and_chart_ends():
    from dashapp import presenters_explain as pe
    from explain.results import Explanation

    base = dict(metric="m", area=None, value_from=1.0, value_to=2.0, change=1.0, significance={}, drivers=(),
                unexplained=1.0, model=None, components=(), segments=(), narrative="", data_vintage=1)
    forecast = Explanation(period_from="2026-09", period_to="2026-09", **base,
                           points=({"period": "2026-09", "series": "forecast", "vintage": "latest"},
                                   {"period": "2026-09", "series": "outturn", "vintage": "latest"}))
    assert pe.periods_text(forecast, "M") == "September 2026 against the forecast for September 2026"
    assert pe.end_labels(forecast) == ("Forecast", "Outturn")
    revision = Explanation(period_from="2026-09", period_to="2026-09", **base,
                           points=({"period": "2026-09", "series": "outturn", "vintage": "first"},
                                   {"period": "2026-09", "series": "outturn", "vintage": "latest"}))
    assert pe.end_labels(revision) == ("First published", "Latest")
    assert pe.periods_text(revision, "M") == "September 2026 against September 2026 as first published"
    plain = Explanation(period_from="2026-08", period_to="2026-09", **base)
    assert pe.end_labels(plain) == ("2026-08", "2026-09") and pe.periods_text(plain, "M") == "August 2026 to September 2026"


def test_measure_table_adds_up_to_the_cash_change():
    from dashapp import presenters_explain as pe
    from explain.measures import cash_split
    from explain.results import Explanation

    split = cash_split("per_head", 100.0, 130.0, 1.0, 1.2)
    e = Explanation(metric="m", area=None, period_from="a", period_to="b", value_from=1.0, value_to=1.2, change=0.2,
                    significance={}, drivers=(), unexplained=0.2, model=None, components=(), segments=(),
                    narrative="", data_vintage=1, unit="£ per head", measure="per_head", measure_parts=split,
                    cash_unit="£")
    table = pe.measure_table(e)
    assert table["Part of the cash change"].tolist() == ["Change per head", "Population", "Cash change"]
    assert table["Contribution"].iloc[-1] == "+£30"


def test_latest_revised_period_and_its_caption():
    from dashapp import presenters_trends as pt
    from explain.results import Explanation, SegmentPart, Trend, TrendPoint

    def point(period, value, first):
        return TrendPoint(period, period + "-01", value, "", first, 1, "common_cause", ())

    trend = Trend("m", "ALL", "All areas", "households",
                  (point("2026-07", 10.0, 9.0), point("2026-08", 11.0, 11.0), point("2026-09", 12.0, 12.0)),
                  None, None, None, False)
    assert pt.latest_revised_period(trend) == "2026-07"
    unrevised = Trend("m", "ALL", "All areas", "households", (point("2026-09", 12.0, 12.0),), None, None, None, False)
    assert pt.latest_revised_period(unrevised) is None
    e = Explanation(metric="m", area=None, period_from="2026-07", period_to="2026-07", value_from=9_000.0,
                    value_to=10_000.0, change=1_000.0, significance={}, drivers=(), unexplained=1_000.0, model=None,
                    components=(), segments=(SegmentPart("R1", "North", 1_200.0), SegmentPart("R2", "West", -200.0)),
                    narrative="", data_vintage=1, unit="households")
    assert pt.revision_caption(e, freq="M") == ("July 2026 was first published as 9,000 households and is now 10,000 "
                                                "households: revised up by 1,000 households. North was revised most "
                                                "(+1,200 households).")
