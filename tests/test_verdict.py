"""The verdict on a movement (issue 8): the change judged against the series' own same-span changes,
calibrated on simulated series, direction always the arrow's, gaps and breaks never bridged, and one
verdict read by the Summary, Explain and Trends pages and the CLI."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from explain.verdict import COVERAGE, MIN_CHANGES, TRIAL_CHANGES, direction_of, judge_movement

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import verdict as bench  # noqa: E402


def label(ordinal: int) -> str:
    return f"{2020 + ordinal // 12}-{ordinal % 12 + 1:02d}"


# ------------------------------------------------------------------ the arithmetic, closed form


def test_the_range_is_a_t_prediction_interval_on_past_changes():
    """Brute force: 20 earlier month-on-month changes, no season at span 1 of a non-seasonal series."""
    x = np.cumsum(0.5 + np.cos(1.7 * np.arange(22)))  # bounded changes: none is left out as a special cause
    points = dict(enumerate(map(float, x)))
    verdict = judge_movement(points, 20, 21, label=label, freq="Y")  # yearly: no seasons
    d = np.diff(x[:21])  # the 20 changes up to period A (index 20)
    mean, s = d.mean(), d.std(ddof=1)
    half = stats.t.ppf(0.5 + COVERAGE / 2, len(d) - 1) * s * math.sqrt(1 + 1 / len(d))
    assert verdict.n_changes == 20 and verdict.expected == pytest.approx(mean)
    assert (verdict.lower, verdict.upper) == pytest.approx((mean - half, mean + half))
    assert verdict.outcome == ("beyond" if not mean - half <= x[21] - x[20] <= mean + half else "within")


def test_a_steady_trend_is_normal_and_a_break_in_it_is_not():
    points = {t: 100 + 2.0 * t + (0.3 if t % 2 else -0.3) for t in range(30)}
    within = judge_movement(points, 28, 29, label=label, freq="Y")
    assert within.outcome == "within" and within.expected == pytest.approx(2.0, abs=0.05)
    # the level at the end is far above any earlier level, yet the movement is ordinary: the old test said "beyond"
    points[29] += 10
    beyond = judge_movement(points, 28, 29, label=label, freq="Y", higher_is_better=False)
    assert beyond.outcome == "beyond" and beyond.direction == "concern" and beyond.kind == "concern"
    assert beyond.headline == "Unusual change: a concern"
    # plain words, periods in words, one precision and the unit on the range
    assert beyond.reason == ("This is an unusual change, and a concern: compared with the 28 earlier changes over 1 "
                             "year from January 2020 to May 2022, a change over 1 year would usually be from +0.46 to "
                             "+3.54, around +2 (a range that holds 98% of usual changes).")
    households = judge_movement(points, 28, 29, label=label, freq="Y", unit="households")
    assert households.headline == "Unusual change" and households.reason.startswith("This is an unusual change: ")
    assert "would usually be from +0.46 to +3.54 households, around +2 households (" in households.reason
    assert within.headline == "Within the usual range" and within.reason == (
        "This change is within the usual range: compared with the 28 earlier changes over 1 year from January 2020 to "
        "May 2022, a change over 1 year would usually be from +0.46 to +3.54, around +2 (a range that holds 98% of "
        "usual changes).")   # the same 28 changes (t = 1..28) as the unusual one, which changed only the last point


@pytest.mark.parametrize("change, better, expected", [
    (1.0, True, "improvement"), (-1.0, True, "concern"), (1.0, False, "concern"), (-1.0, False, "improvement"),
    (1.0, None, "neutral"), (0.0, True, "none")])
def test_the_direction_is_always_the_arrows(change, better, expected):
    assert direction_of(change, better) == expected


def test_a_year_on_year_change_is_judged_against_earlier_year_on_year_changes():
    t = np.arange(60)
    season = 10 * np.sin(2 * np.pi * t / 12)
    points = {int(i): float(100 + 0.5 * i + season[i] + (0.2 if i % 3 else -0.2)) for i in t}
    yoy = judge_movement(points, 47, 59, label=label, freq="M")
    assert yoy.outcome == "within" and not yoy.seasonal and yoy.expected == pytest.approx(6.0, abs=0.2)
    # month on month, each month's change is compared with the same month's change in earlier years
    mom = judge_movement(points, 58, 59, label=label, freq="M")
    assert mom.seasonal and mom.outcome == "within" and "(each compared with the same month in earlier years)" in mom.reason
    assert mom.expected == pytest.approx(points[59] - points[58], abs=0.5)


def test_too_little_history_is_said_and_a_short_history_gives_a_trial_verdict():
    points = {0: 1.0, 1: 2.0, 2: 2.5}
    few = judge_movement(points, 1, 2, label=label, freq="M")
    assert few.outcome == "insufficient" and few.beyond is None and few.kind == "unknown"
    assert few.headline == "Not enough history to judge"
    assert few.reason == (f"There is only 1 earlier change over 1 month up to February 2020, too few to say whether "
                          f"this one is unusual ({MIN_CHANGES} are needed).")
    short = judge_movement({t: float(t % 3) for t in range(8)}, 6, 7, label=label, freq="Y")
    assert short.outcome != "insufficient" and short.trial
    assert short.reason.endswith(f" This is a tentative judgement: there are fewer than {TRIAL_CHANGES} earlier "
                                 "changes to compare with.")
    assert short.n_changes < TRIAL_CHANGES


def test_gaps_are_never_bridged():
    """Ten missing months: no earlier change spans them, and a movement across them is a 10-month span."""
    points = {t: float(t) for t in range(40) if not 20 <= t < 30}
    verdict = judge_movement(points, 38, 39, label=label, freq="Y")
    assert verdict.n_changes == 19 + 8  # ending at 1..19 before the gap and at 31..38 after it: none spans it
    assert judge_movement(points, 19, 30, label=label, freq="Y").span == 11
    missing = judge_movement(points, 24, 39, label=label, freq="Y")
    assert missing.outcome == "insufficient" and missing.reason == ("There is no value for January 2022, so the "
                                                                     "change cannot be judged.")


def test_a_break_in_the_series_starts_it_again():
    points = {t: float(t) + (50 if t >= 20 else 0) for t in range(40)}
    across = judge_movement(points, 15, 25, label=label, freq="Y", breaks=[20])
    assert across.outcome == "insufficient" and across.reason == (
        "The series has a break in September 2021 (a change of definition) between the two periods, so the change is "
        "not comparable and is not judged.")
    after = judge_movement(points, 38, 39, label=label, freq="Y", breaks=[20])
    assert after.outcome == "within" and after.n_changes == 18  # 21..38: none from before the break


# ------------------------------------------------------------------ calibration (fixed seeds)


@pytest.mark.parametrize("kind", bench.KINDS)
def test_false_alarms_are_near_the_nominal_rate_and_steps_are_found(kind):
    false_alarm, detection = bench.rates(kind, 1, 400, seed=11)
    nominal = 1 - COVERAGE
    assert false_alarm <= 2.5 * nominal, (kind, false_alarm)  # 2% nominal: at most 5% on 400 series
    assert detection >= 0.5, (kind, detection)                 # a 3-SD step: found most of the time


def test_a_past_step_in_the_level_does_not_blind_a_year_on_year_verdict():
    false_alarm, detection = bench.rates("earlier step", 12, 300, seed=7)
    assert false_alarm <= 0.05 and detection >= 0.2, (false_alarm, detection)  # before this rule: 0%


def test_year_on_year_false_alarms_stay_low():
    for kind in ("random walk", "trend", "seasonal"):
        false_alarm, _ = bench.rates(kind, 12, 300, seed=5)
        assert false_alarm <= 0.05, (kind, false_alarm)


# ------------------------------------------------------------------ one verdict everywhere (the demo)


def test_summary_explain_trends_and_the_cli_give_one_verdict(demo_store):
    import explain
    from dashapp.cli import main

    store = demo_store
    for metric in ("ae_4h_pct", "uc_caseload", "ae_attendances"):
        head = explain.headline(store, metric)
        e = explain.explain_change(store, metric, head.previous_period, head.latest_period)
        trend = explain.trend(store, metric)
        assert head.verdict is not None and trend.verdict is not None
        assert head.verdict.outcome == e.significance["outcome"] == trend.verdict.outcome, metric
        assert head.spc_status == e.significance["verdict"] == trend.verdict.kind, metric
        change = head.latest_value - head.previous_value
        if head.verdict.outcome == "beyond":
            better = explain.metric_info(store, metric).higher_is_better
            assert head.verdict.direction == direction_of(change, better)
        url = store.url
        result = CliRunner().invoke(main, ["explain", metric, "--from", head.previous_period, "--to",
                                           head.latest_period, "--json", "--db", url])
        assert json.loads(result.output)["significance"]["outcome"] == head.verdict.outcome


def test_trends_draw_a_missing_period_as_a_gap():
    import pandas as pd

    from dashapp.figures import trend_figure
    from explain.api import _with_gaps
    from explain.results import Trend, TrendPoint

    frame = pd.DataFrame({"period": ["2023-01", "2023-02", "2023-05"], "start": ["2023-01-01", "2023-02-01", "2023-05-01"],
                          "value": [1.0, 2.0, 5.0], "status": ["", "", ""], "load_id": [1, 1, 1]})
    rows = _with_gaps(frame, "M")
    assert rows["period"].tolist() == ["2023-01", "2023-02", "2023-03", "2023-04", "2023-05"]
    assert rows["value"].isna().tolist() == [False, False, True, True, False]
    points = tuple(TrendPoint(r.period, r.start, None if r.value != r.value else r.value, "", None, 1,
                              "common_cause", ()) for r in rows.itertuples())
    figure = trend_figure(Trend("m", "E1", "North East", "cases", points, None, None, None, True), title="t")
    line = figure.data[0]
    assert list(line.y) == [1.0, 2.0, None, None, 5.0] and line.connectgaps is False


BREAK_MANIFEST = """
[[department]]
code = "D"
name = "A department"

[[metric]]
code = "cases"
name = "Cases"
department = "D"
unit = "cases"

[[source]]
id = "c"
department = "D"
path = "c.csv"
layout = "single"
metric = "cases"
period_column = "month"
area = "E92000001"
value_column = "cases"
"""


def test_a_definition_break_in_the_manifest_is_never_compared_across(tmp_path, db_url):
    from dashapp.cli import main
    from loaders import Store

    months = [f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(48)]
    values = [1000 + 5 * m + (300 if m >= 30 else 0) + (3 if m % 2 else -3) for m in range(48)]  # +300: new counting
    (tmp_path / "c.csv").write_text("month,cases\n" + "\n".join(f"{p},{v}" for p, v in zip(months, values)) + "\n")
    event = '\n[[event]]\nperiod = "2022-07"\ntitle = "New counting rules"\nmetrics = ["cases"]\nbreak = true\n'
    (tmp_path / "m.toml").write_text(BREAK_MANIFEST + event)
    db = db_url  # SQLite and PostgreSQL
    assert CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", db]).exit_code == 0
    assert Store(db).series_breaks("cases") == ["2022-07"]

    def judged(a, b):
        out = CliRunner().invoke(main, ["explain", "cases", "--from", a, "--to", b, "--json", "--db", db])
        return json.loads(out.output)["significance"]

    across = judged("2022-06", "2022-07")
    assert across["outcome"] == "insufficient" and "break in July 2022" in across["detail"]
    after = judged("2023-11", "2023-12")
    assert after["outcome"] == "within" and after["n_changes"] == 16  # 2022-08 .. 2023-11: none from before
    # without the break the +300 step is an earlier special cause, left out of the spread
    (tmp_path / "m.toml").write_text(BREAK_MANIFEST)
    assert CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", db]).exit_code == 0
    assert Store(db).series_breaks("cases") == []
    assert judged("2022-06", "2022-07")["outcome"] == "beyond"
    missing = BREAK_MANIFEST + event.replace('metrics = ["cases"]\n', "")
    (tmp_path / "m.toml").write_text(missing)
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", db])
    assert result.exit_code == 1 and "has break = true but names no metrics" in result.output


def test_a_stored_explanation_from_before_the_movement_verdict_is_not_served(tmp_path):
    import explain
    from explain import cache
    from loaders import Store, load_manifest_file

    months = [f"{2020 + m // 12}-{m % 12 + 1:02d}" for m in range(24)]
    (tmp_path / "c.csv").write_text("month,cases\n" + "\n".join(f"{p},{100 + m}" for m, p in enumerate(months)) + "\n")
    (tmp_path / "m.toml").write_text(BREAK_MANIFEST)
    store = Store(tmp_path / "s.db")
    load_manifest_file(store, tmp_path / "m.toml")
    e = explain.explain_change(store, "cases", "2021-11", "2021-12")
    old = dict(e.to_dict(), significance={"method": "xmr", "beyond_normal_variation": True, "verdict": "concern",
                                          "detail": "above the upper process limit"})
    cache.put_many(store, [explain.Explanation.from_dict(old)], model_version=0)
    assert cache.get(store, metric="cases", area=None, period_from="2021-11", period_to="2021-12") is None
    cache.put_many(store, [e], model_version=0)
    hit = cache.get(store, metric="cases", area=None, period_from="2021-11", period_to="2021-12")
    assert hit is not None and hit.significance["outcome"] == "within"


def test_the_engine_and_series_verdict_agree_exactly(demo_store):
    """The engine judges from its cached arrays (fast precompute); series_verdict from a frame (Summary
    without a stored explanation, Trends): the same verdict, field for field."""
    import explain
    from explain.engine import MetricContext
    from explain.verdict import series_verdict

    for metric in ("uc_caseload", "ae_4h_pct", "asylum_backlog"):
        ctx = MetricContext.load(demo_store, metric)
        info = ctx.info
        for area in sorted(ctx._areas_with_values)[:4]:
            rows = ctx.values[ctx.values["area"] == area]
            for a, b in ((ctx.periods[-2], ctx.periods[-1]), (ctx.periods[-13], ctx.periods[-1]),
                         (ctx.periods[10], ctx.periods[11])):
                fast = ctx._verdict(area, a, b)
                slow = series_verdict(rows, a, b, freq=info.frequency, unit=info.unit,
                                      higher_is_better=info.higher_is_better, breaks=ctx.breaks)
                assert fast == slow, (metric, area, a, b)
    assert explain.metric_info(demo_store, "uc_caseload").frequency == "M"


def test_importing_the_verdict_costs_no_scipy():
    """``whytrend load`` reaches explain.verdict through explain.results; scipy.stats (~0.6 s) is
    imported only when a movement is judged."""
    import subprocess

    code = ("import sys, explain.results, explain.verdict; "
            "print('scipy.stats' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
