"""Figures of the analysis pages: pure functions checked by content (no browser)."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashapp import figures as fg
from dashapp import presenters_parts as pp
from explain.results import ComponentPart, DriverContribution, Explanation, ModelSummary, SegmentPart, Trend, TrendPoint


# ----------------------------------------------------------------------------- fixtures
def explanation(drivers=(("x1", 30.0, 25.0, 35.0), ("x2", -12.0, -15.0, -9.0)), *, value_from=1000.0,
                change=25.0, segments=(), components=(), model=True, unit="households") -> Explanation:
    parts = tuple(DriverContribution(d, c, lo, hi) for d, c, lo, hi in drivers)
    unexplained = change - math.fsum(d.contribution for d in parts)
    return Explanation(
        metric="m", area=None, period_from="2026-08", period_to="2026-09", value_from=value_from,
        value_to=value_from + change, change=change,
        significance={"method": "xmr", "beyond_normal_variation": True, "verdict": "concern", "detail": "d"},
        drivers=parts, unexplained=unexplained,
        model=ModelSummary("linear", 3, 0.91, 7, tuple(d for d, *_ in drivers), 0.5, 1.0) if model else None,
        components=tuple(components), segments=tuple(segments), narrative="n", data_vintage=7, unit=unit,
        metric_name="M", area_name="All areas")


def trend(values, *, status=None, first=None, rules=None, variation=None, events=(), centre=10.0, upper=14.0,
          lower=6.0, unit="cases") -> Trend:
    n = len(values)
    status = status or [""] * n
    first = first or list(values)
    rules = rules or [()] * n
    variation = variation or ["common_cause"] * n
    months = [f"{2025 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]
    points = tuple(TrendPoint(period=months[i], start=f"{months[i]}-01", value=v, status=s,
                              first_published=f, vintage=1, variation=var, rules=tuple(r))
                   for i, (v, s, f, r, var) in enumerate(zip(values, status, first, rules, variation)))
    return Trend(metric="m", area="E1", area_name="North East", unit=unit, points=points, centre=centre,
                 upper_limit=upper, lower_limit=lower, trial_limits=True, events=tuple(events))


def by_name(figure: go.Figure, name: str):
    matches = [t for t in figure.data if t.name == name]
    assert matches, f"no trace named {name!r} in {[t.name for t in figure.data]}"
    return matches[0]


# ----------------------------------------------------------------------------- contrast
@pytest.mark.parametrize("a, b, ratio", [
    ("#FFFFFF", "#000000", 21.0),
    ("#000000", "#FFFFFF", 21.0),
    ("#FFFFFF", "#FFFFFF", 1.0),
    ("#777777", "#FFFFFF", 4.48),   # the classic just-failing grey
    ("#767676", "#FFFFFF", 4.54),   # the lightest grey passing 4.5:1 on white
    ("#FF0000", "#FFFFFF", 4.00),
    ("#0000FF", "#FFFFFF", 8.59),
    ("#FFFF00", "#000000", 19.56),
])
def test_contrast_ratio_matches_known_wcag_pairs(a, b, ratio):
    assert fg.contrast_ratio(a, b) == pytest.approx(ratio, abs=0.01)


def test_relative_luminance_end_points_and_short_hex():
    assert fg.relative_luminance("#FFFFFF") == pytest.approx(1.0)
    assert fg.relative_luminance("#000") == 0.0
    assert fg.relative_luminance("#fff") == pytest.approx(1.0)
    with pytest.raises(ValueError):
        fg.relative_luminance("#12345")


def test_every_mark_colour_has_3_to_1_and_every_text_colour_4_5_to_1_against_white():
    for colour in fg.MARK_COLOURS:
        assert fg.contrast_ratio(colour) >= 3.0, colour
    for colour in fg.TEXT_COLOURS:
        assert fg.contrast_ratio(colour) >= 4.5, colour
    assert set(fg.PALETTE) == {"#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1"}


def test_light_sequential_blues_fail_3_to_1_as_ui_md_says_so_they_are_not_mark_colours():
    for colour in ("#6BACE6", "#ADD1F1"):
        assert fg.contrast_ratio(colour) < 3.0
        assert colour not in fg.MARK_COLOURS


def test_text_colour_for_keeps_dark_colours_and_replaces_light_ones():
    assert fg.text_colour_for(fg.DARK_BLUE) == fg.DARK_BLUE
    assert fg.text_colour_for(fg.TURQUOISE) == fg.TEXT     # 3.2:1 is a mark colour, not a text colour
    assert fg.text_colour_for(fg.ORANGE) == fg.TEXT


def test_direction_colours_follow_higher_is_better():
    assert fg.direction_colours(True) == (fg.GOOD, fg.BAD)
    assert fg.direction_colours(False) == (fg.BAD, fg.GOOD)
    assert fg.direction_colours(None) == (fg.DARK_BLUE, fg.ORANGE)


# ----------------------------------------------------------------------------- house style
def test_house_style_title_subtitle_grid_font_horizontal_labels():
    figure = fg.waterfall_figure(pp.driver_parts(explanation(), {}), start=("A", 1000.0), end=("B", 1025.0),
                                 title="Headline", subtitle="Statistics")
    layout = figure.layout
    assert layout.title.text == "Headline"
    long = fg.base_layout("A headline that is much too long to fit on a phone screen in one single line", "s")
    assert "<br>" in long["title"]["text"] and all(len(line) <= 36 for line in long["title"]["text"].split("<br>"))
    assert long["margin"]["t"] > 104 - 22
    assert layout.title.subtitle.text == "Statistics"
    assert "sans-serif" in layout.font.family
    assert layout.xaxis.gridcolor == fg.GRID and layout.xaxis.showgrid    # the value axis of a horizontal waterfall
    assert layout.xaxis.tickangle == 0 and layout.yaxis.tickangle == 0
    trend_layout = fg.trend_figure(trend([1, 2, 3]), title="t").layout
    assert trend_layout.yaxis.gridcolor == fg.GRID and trend_layout.yaxis.showgrid
    assert fg.GRAPH_CONFIG["displayModeBar"] is False


# ----------------------------------------------------------------------------- waterfall
def test_waterfall_bars_run_from_value_a_to_value_b_with_the_unexplained_bar():
    e = explanation()
    parts = pp.driver_parts(e, {"x1": "Driver one"})
    figure = fg.waterfall_figure(parts, start=(e.period_from, e.value_from), end=(e.period_to, e.value_to),
                                 title="t", unit=e.unit)
    bar = figure.data[0]
    assert bar.orientation == "h" and figure.layout.yaxis.autorange == "reversed"   # A at the top, B at the bottom
    heights, bases = list(bar.x), list(bar.base)
    # the two levels first and last, written as short period names; the parts between, largest first
    assert list(bar.y) == ["Aug 2026", "Driver one", "X2", "Unexplained", "Sep 2026"]
    assert heights[0] == e.value_from and bases[0] == 0
    assert heights[-1] == e.value_to and bases[-1] == 0
    # each change bar starts where the previous one ended; the last one ends at value B
    running = e.value_from
    for base, height in zip(bases[1:-1], heights[1:-1]):
        assert base == pytest.approx(running)
        running += height
    assert running == pytest.approx(e.value_to, abs=1e-9)
    assert heights[3] == pytest.approx(e.unexplained)
    assert e.value_from + math.fsum(heights[1:-1]) == pytest.approx(e.value_to, abs=1e-9)
    assert math.fsum(heights[1:-1]) == pytest.approx(e.change, abs=1e-12)   # the bars between sum to the change
    assert list(bar.hovertext) == ["August 2026: 1,000 households", "Driver one: +30 households (range +25 "
                                   "households to +35 households)", "X2: -12 households (range -15 households to "
                                   "-9 households)", "Unexplained: +7 households", "September 2026: 1,020 households"]


def test_waterfall_fits_a_phone_labels_outside_the_bars_unit_in_the_subtitle_few_distinct_ticks():
    e = explanation(value_from=3_463_933.0, change=7_812.0,
                    drivers=(("x1", 13_359.7, 13_353.5, 13_369.1), ("x2", 545.0, 544.8, 545.3)))
    figure = fg.waterfall_figure(pp.driver_parts(e, {}), start=(e.period_from, e.value_from),
                                 end=(e.period_to, e.value_to), title="t", subtitle="Bars", unit=e.unit)
    bar = figure.data[0]
    assert bar.textposition == "outside" and bar.cliponaxis is False
    assert list(bar.text) == ["3.46m", "+13.4k", "+545", "-6,093", "3.47m"]
    assert figure.layout.margin.r >= fg.BAR_LABEL_MARGIN            # room for the label beyond the longest bar
    assert figure.layout.title.subtitle.text == "Bars; values in households"
    assert not figure.layout.xaxis.title.text                        # no axis title under the ticks to clip
    ticks = list(figure.layout.xaxis.ticktext)
    assert 2 <= len(ticks) <= 4 and len(set(ticks)) == len(ticks)   # few, and never two the same
    low, high = figure.layout.xaxis.range
    assert all(low <= v <= high for v in figure.layout.xaxis.tickvals)
    assert all(len(t) <= 6 for t in ticks)                           # '3.465m', not '3,465,000'
    assert figure.layout.yaxis.automargin is True                    # long driver names push the margin


def test_waterfall_error_bars_come_from_the_intervals():
    e = explanation()
    parts = pp.driver_parts(e, {})
    bar = fg.waterfall_figure(parts, start=("A", e.value_from), end=("B", e.value_to), title="t").data[0]
    plus, minus = list(bar.error_x.array), list(bar.error_x.arrayminus)
    assert plus[1] == pytest.approx(35.0 - 30.0) and minus[1] == pytest.approx(30.0 - 25.0)
    assert plus[2] == pytest.approx(-9.0 - -12.0) and minus[2] == pytest.approx(-12.0 - -15.0)
    assert plus[3] == 0 and minus[3] == 0            # the unexplained part has no interval
    assert bar.error_x.symmetric is False


def test_waterfall_colours_by_sign_and_hatches_the_unexplained_part():
    e = explanation()
    parts = pp.driver_parts(e, {})
    bar = fg.waterfall_figure(parts, start=("A", e.value_from), end=("B", e.value_to), title="t",
                              higher_is_better=False).data[0]
    colours = list(bar.marker.color)
    assert colours[1] == fg.BAD     # a rise in a metric where lower is better
    assert colours[2] == fg.GOOD
    assert list(bar.marker.pattern.shape) == ["", "", "", "/", ""]


def test_waterfall_groups_small_drivers_and_keeps_at_most_six_bars_between_the_totals():
    drivers = [(f"d{i}", float(v), None, None) for i, v in enumerate([50, -20, 8, 3, -2, 1, 0.5])]
    e = explanation(drivers, change=45.0)
    parts = pp.driver_parts(e, {})
    figure = fg.waterfall_figure(parts, start=("A", e.value_from), end=("B", e.value_to), title="t")
    labels = list(figure.data[0].y)
    assert len(labels) - 2 <= 6
    assert labels[-3].startswith("Other drivers")
    assert labels[-2] == "Unexplained"
    heights = list(figure.data[0].x)
    assert e.value_from + math.fsum(heights[1:-1]) == pytest.approx(e.value_to, abs=1e-9)


def test_waterfall_axis_does_not_start_at_zero_when_the_change_is_small_and_says_so():
    e = explanation(value_from=3_463_933.0, change=7_812.0,
                    drivers=(("x1", 13_359.7, 13_353.5, 13_369.1), ("x2", 545.0, 544.8, 545.3)))
    figure = fg.waterfall_figure(pp.driver_parts(e, {}), start=("A", e.value_from), end=("B", e.value_to),
                                 title="t")
    low, high = figure.layout.xaxis.range
    assert low > 0 and low < min(e.value_from, e.value_to) and high > e.value_from + 13_359.7 + 545.0
    assert any("does not start at zero" in a.text for a in figure.layout.annotations)


def test_waterfall_starts_at_zero_when_the_change_is_large():
    e = explanation(value_from=10.0, change=30.0, drivers=(("x1", 30.0, None, None),))
    figure = fg.waterfall_figure(pp.driver_parts(e, {}), start=("A", 10.0), end=("B", 40.0), title="t")
    assert figure.layout.xaxis.range[0] <= 0
    assert not figure.layout.annotations


# ----------------------------------------------------------------------------- trends
def test_trend_lines_at_the_xmr_centre_and_limits_with_direct_labels():
    t = trend([9, 10, 11, 10, 12])
    figure = fg.trend_figure(t, title="t", freq="M")
    for name, value in (("Average", 10.0), ("Upper limit of the usual range", 14.0),
                        ("Lower limit of the usual range", 6.0)):
        line = by_name(figure, name)
        assert set(line.y) == {value}
        assert line.line.dash in ("dash", "dot")
    labels = [a.text for a in figure.layout.annotations]
    assert {"Average 10", "Upper 14", "Lower 6"} <= set(labels)
    assert list(figure.data[0].hovertext) == ["January 2025: 9 cases", "February 2025: 10 cases",
                                              "March 2025: 11 cases", "April 2025: 10 cases", "May 2025: 12 cases"]
    assert list(figure.layout.yaxis.ticktext) == ["6", "8", "10", "12", "14"]   # the data and the limits


def test_trend_shades_each_run_of_provisional_periods():
    t = trend([1, 2, 3, 4, 5, 6], status=["", "p", "", "", "p", "p"])
    figure = fg.trend_figure(t, title="t")
    rects = [s for s in figure.layout.shapes if s.type == "rect"]
    assert [(r.x0, r.x1) for r in rects] == [(0.5, 1.5), (3.5, 5.5)]
    assert sum(a.text == "Provisional" for a in figure.layout.annotations) == 2
    assert fg.provisional_spans(t) == [(1, 1), (4, 5)]


def test_trend_marks_unusual_points_by_colour_shape_and_words_never_rule_numbers():
    t = trend([1, 2, 3, 19], rules=[(), (), (), (1, 4)], variation=["common_cause"] * 3 + ["concern"])
    figure = fg.trend_figure(t, title="t", freq="M")
    concern = by_name(figure, "Unusual: a concern")
    assert list(concern.x) == [3] and list(concern.y) == [19]
    assert concern.marker.color == fg.BAD and concern.marker.symbol == "diamond"
    assert list(concern.hovertext) == ["April 2025: 19 cases. Unusual: a concern: a point above the usual range; "
                                       "7 points in a row above the average"]
    assert all(t.name != "Unusual: an improvement" for t in figure.data)
    assert not any("rule" in (trace.hovertemplate or "").lower() for trace in figure.data)


def test_trend_shows_revisions_both_ways():
    t = trend([1.0, 2.0, 3.0], first=[1.0, 2.5, 3.0])
    latest_view = fg.trend_figure(t, title="t")
    first = by_name(latest_view, "First published value")
    assert list(first.x) == [1] and list(first.y) == [2.5]
    shown_first = trend([1.0, 2.5, 3.0], first=[1.0, 2.5, 3.0])
    first_view = fg.trend_figure(shown_first, title="t", latest=t, as_first_published=True)
    revised = by_name(first_view, "Latest (revised) value")
    assert list(revised.x) == [1] and list(revised.y) == [2.0]


def test_trend_draws_events_in_the_series_as_annotated_lines_and_skips_others():
    events = [{"period": "2025-03", "title": "Policy change"}, {"period": "2030-01", "title": "Later"},
              {"period": "2019-01", "title": "Earlier"}]
    figure = fg.trend_figure(trend([1, 2, 3, 4], events=events), title="t")
    lines = [s for s in figure.layout.shapes if s.type == "line"]
    assert [(s.x0, s.x1) for s in lines] == [(2, 2)]
    assert any("Policy change" in a.text for a in figure.layout.annotations)
    assert not any("Later" in (a.text or "") for a in figure.layout.annotations)


def test_trend_ticks_are_few_horizontal_and_at_year_starts():
    t = trend(list(range(40)))                       # 2025-01 .. 2028-04
    figure = fg.trend_figure(t, title="t", freq="M")
    assert list(figure.layout.xaxis.tickvals) == [0, 12, 24, 36]
    assert list(figure.layout.xaxis.ticktext) == ["2025", "2026", "2027", "2028"]
    long = fg.trend_figure(trend(list(range(120))), title="t", freq="M")
    assert list(long.layout.xaxis.ticktext) == ["2025", "2027", "2029", "2031", "2033"]
    short = fg.trend_figure(trend(list(range(6))), title="t", freq="M")
    assert list(short.layout.xaxis.ticktext) == ["Jan 2025", "Feb 2025", "Mar 2025", "Apr 2025", "May 2025",
                                                 "Jun 2025"]
    assert not figure.layout.yaxis.title.text      # the unit is written horizontally instead
    assert any(a.name == "unit" and a.text == "cases" for a in figure.layout.annotations)


def test_trend_without_limits_has_no_limit_lines():
    figure = fg.trend_figure(trend([1, 2], centre=None, upper=None, lower=None), title="t")
    assert all(t.name not in ("Centre", "Upper process limit") for t in figure.data)


def test_compare_figure_draws_at_most_four_areas_labelled_directly():
    trends = [trend([i, i + 1, i + 2]) for i in range(4)]
    figure = fg.compare_figure(trends, title="t")
    assert len(figure.data) == 4
    assert [t.line.color for t in figure.data] == list(fg.PALETTE[:4])
    assert [a.text.strip() for a in figure.layout.annotations if a.name != "unit"] == ["North East"] * 4
    with pytest.raises(ValueError, match="At most 4"):
        fg.compare_figure(trends + [trend([1, 2, 3])], title="t")


# ----------------------------------------------------------------------------- segments
def test_segments_bars_by_sign_grouped_to_at_most_five():
    segments = [SegmentPart(f"A{i}", f"Area {i}", v) for i, v in enumerate([5.0, -3.0, 2.0, 1.0, 0.5, -0.25])]
    e = explanation(segments=segments, change=5.25)
    parts = pp.segment_parts(e)
    figure = fg.segments_figure(parts, title="t", higher_is_better=True)
    bar = figure.data[0]
    assert len(bar.y) == 5 and bar.y[0].startswith("Other areas")   # largest at the top, 'Other' at the bottom
    assert list(bar.y) == ["Other areas (2)", "Area 3", "Area 2", "Area 1", "Area 0"]
    assert bar.orientation == "h" and bar.textposition == "outside" and bar.cliponaxis is False
    assert math.fsum(bar.x) == pytest.approx(5.25, abs=1e-12)
    colours = dict(zip(bar.y, bar.marker.color))
    assert colours["Area 0"] == fg.GOOD and colours["Area 1"] == fg.BAD
    assert bar.hovertext[-1] == "Area 0: +5"
    titled = fg.segments_figure(parts, title="t", subtitle="Each bar", unit="households")
    assert titled.layout.title.subtitle.text == "Each bar; values in households" and not titled.layout.xaxis.title.text


def test_segments_mix_and_rate_stack_to_each_contribution():
    segments = [SegmentPart("A", "A", 0.3, mix=0.1, rate=0.2), SegmentPart("B", "B", -0.5, mix=0.2, rate=-0.7)]
    parts = pp.segment_parts(explanation(segments=segments, change=-0.2))
    figure = fg.segments_figure(parts, title="t", mix_rate=True)
    mix, rate, net = figure.data
    assert figure.layout.barmode == "relative"
    for m, r, n in zip(mix.x, rate.x, net.x):
        assert m + r == pytest.approx(n)


# ----------------------------------------------------------------------------- model lab
def test_cv_figure_pairs_each_fold_with_the_baseline():
    scores = {"folds": [{"fold": 0, "mae": 2.0, "baseline_mae": 3.0}, {"fold": 1, "mae": 1.0, "baseline_mae": 4.0}]}
    model, baseline = fg.cv_figure(scores, title="t").data
    assert list(model.x) == ["Fold 1", "Fold 2"] and list(model.y) == [2.0, 1.0]
    assert list(baseline.y) == [3.0, 4.0]


def test_importance_partial_dependence_and_residual_figures_carry_the_numbers():
    parts = [pp.Part("a", "A", 3.0), pp.Part("b", "B", 1.0)]
    importance = fg.importance_figure(parts, title="t")
    bar = importance.data[0]
    assert list(bar.y) == ["B", "A"] and list(bar.x) == [1.0, 3.0]
    assert bar.name == "Average size of contribution" and "φ" not in bar.name
    frame = pd.DataFrame({"value": [1.0, 2.0], "prediction": [5.0, 7.0]})
    line = fg.partial_dependence_figure(frame, driver_label="A", title="t").data[0]
    assert list(line.x) == [1.0, 2.0] and list(line.y) == [5.0, 7.0]
    res = pd.DataFrame({"period": ["2025-01", "2025-02"], "residual": [1.5, -0.5]})
    bars = fg.residuals_figure(res, title="t", unit="cases", freq="M").data[0]
    assert list(bars.y) == [1.5, -0.5] and list(bars.customdata) == ["2025-01", "2025-02"]
    assert list(bars.hovertext) == ["January 2025: +1.5 cases", "February 2025: -0.5 cases"]


def test_long_axis_titles_are_wrapped_so_a_phone_never_clips_them():
    frame = pd.DataFrame({"value": [1.0, 2.0], "prediction": [5.0, 7.0]})
    label = "Claimant count in the local authority, seasonally adjusted"
    figure = fg.partial_dependence_figure(frame, driver_label=label, title="t")
    lines = figure.layout.xaxis.title.text.split("<br>")
    assert len(lines) >= 2 and all(len(line) <= fg.AXIS_TITLE_WIDTH for line in lines)
    assert " ".join(lines) == label and figure.layout.xaxis.automargin is True


def test_a_seasonal_partial_dependence_names_its_months():
    frame = pd.DataFrame({"value": [float(m) for m in range(1, 13)], "prediction": [float(m % 5) for m in range(1, 13)]})
    figure = fg.partial_dependence_figure(frame, driver_label="Seasonality", title="t", unit="cases", seasonal=True,
                                          freq="M")
    # every other month: twelve names side by side collide at 375 px
    assert list(figure.layout.xaxis.ticktext) == ["Jan", "Mar", "May", "Jul", "Sep", "Nov"]
    assert list(figure.layout.xaxis.tickvals) == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    assert figure.data[0].hovertext[6] == "July: 2 cases"
    quarters = fg.partial_dependence_figure(frame.head(4), driver_label="Seasonality", title="t", seasonal=True,
                                            freq="FQ")
    assert list(quarters.layout.xaxis.ticktext) == ["Apr–Jun", "Jul–Sep", "Oct–Dec", "Jan–Mar"]
    assert quarters.data[0].hovertext[0] == "April to June: 1"


def test_figures_serialise_to_json():
    figure = fg.trend_figure(trend([1, 2, 3], status=["", "", "p"]), title="t")
    assert figure.to_json()


def test_components_waterfall_from_a_real_formula_split():
    components = [ComponentPart("caseload", 12.0, 100, 112), ComponentPart("award", -2.0, 10, 9.8)]
    e = explanation(components=components, change=10.0, model=False, drivers=())
    parts = pp.component_parts(e, {"caseload": "Caseload"})
    figure = fg.waterfall_figure(parts, start=("A", e.value_from), end=("B", e.value_to), title="t")
    assert list(figure.data[0].y) == ["A", "Caseload", "Award", "B"]
    assert e.value_from + math.fsum(figure.data[0].x[1:-1]) == pytest.approx(e.value_to)
