"""Two points, generalised (issue 10): outturn against a plan or forecast, and a figure against what was
first published. Every layer adds up exactly on hand-made data, against closed forms."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from explain import Point, explain_points, revision_of
from explain.errors import ExplainError
from loaders import Store, load_manifest_file

from store_urls import SMALL_HIERARCHY

SPEND = """
[[metric]]
code = "spend"
name = "Spend"
department = "DWP"
unit = "£"
aggregation = "formula"
formula = "caseload * award"
"""
OUTTURN = """
[[source]]
id = "uc"
department = "DWP"
path = "uc.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload", "Award" = "award" }
"""
FORECAST = """
[[source]]
id = "uc-forecast"
department = "DWP"
title = "Caseload and award forecast, spring"
path = "forecast.csv"
series = "forecast"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload", "Award" = "award" }
"""
PLAN = """
[[source]]
id = "uc-plan"
department = "DWP"
path = "plan.csv"
series_column = "Series"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload" }
"""
#: (caseload, award) by area for 2024-01 .. 2024-03, outturn
OUT = {"A1": [(100, 500.0), (102, 501.0), (104, 503.0)],
       "A2": [(200, 400.0), (198, 402.0), (197, 404.0)],
       "A3": [(300, 600.0), (305, 600.0), (330, 610.0)]}
#: the forecast for 2024-03: A3's caseload was forecast 20 lower, every award £2 higher
FORECAST_03 = {"A1": (104, 505.0), "A2": (197, 406.0), "A3": (310, 612.0)}


def write(folder, out=OUT, with_plan=False) -> None:
    rows = [f"2024-{m + 1:02d},{a},{c},{w}" for a, vs in out.items() for m, (c, w) in enumerate(vs)]
    (folder / "uc.csv").write_text("month,area,Caseload,Award\n" + "\n".join(rows) + "\n")
    rows = [f"2024-03,{a},{c},{w}" for a, (c, w) in FORECAST_03.items()]
    (folder / "forecast.csv").write_text("month,area,Caseload,Award\n" + "\n".join(rows) + "\n")
    manifest = SMALL_HIERARCHY + SPEND + OUTTURN + FORECAST
    if with_plan:
        (folder / "plan.csv").write_text("month,area,Series,Caseload\n2024-03,A1,Plan,90\n2024-03,A2,Plan,210\n"
                                         "2024-03,A3,Main Estimate,320\n2024-03,A1,Outturn,104\n"
                                         "2024-03,A2,Outturn,197\n2024-03,A3,Outturn,330\n2024-03,A3,fore cast!,1\n")
        manifest += PLAN
    (folder / "m.toml").write_text(manifest)


def setup(folder, url=None, **kwargs) -> Store:
    write(folder, **kwargs)
    store = Store(url or f"sqlite:///{folder / 'w.db'}")
    for outcome in load_manifest_file(store, folder / "m.toml"):
        assert outcome.status == "loaded", outcome.message
    return store


def shapley_product(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Closed form for x * y: each factor's change weighted by the mean of the other."""
    (x, y) = a
    return {x: (b[x] - a[x]) * (a[y] + b[y]) / 2, y: (b[y] - a[y]) * (a[x] + b[x]) / 2}


def test_outturn_against_forecast_adds_up_exactly_in_every_layer(tmp_path, db_url):
    store = setup(tmp_path, db_url)
    result = explain_points(store, "caseload", Point("2024-03", "forecast"), Point("2024-03"))
    assert result.value_from == sum(c for c, _ in FORECAST_03.values())
    assert result.value_to == sum(vs[2][0] for vs in OUT.values())
    assert result.change == 20
    by_area = {sg.segment: sg.contribution for sg in result.segments}
    assert by_area == {"R1": 0.0, "R2": 20.0}  # the regions: only West's area was mis-forecast
    assert result.significance["cause"] == "comparison" and result.significance["beyond_normal_variation"] is None
    assert result.points == ({"period": "2024-03", "series": "forecast", "vintage": "latest"},
                             {"period": "2024-03", "series": "outturn", "vintage": "latest"})
    assert result.narrative.startswith("Caseload, March 2024, was 631 households: 20 households (3.3%) above the forecast "
                                       "for March 2024 (611 households).")
    assert "not judged against the usual range" in result.narrative_part("verdict")

    spend = explain_points(store, "spend", Point("2024-03", "forecast"), Point("2024-03"), area="A3")
    a, b = {"caseload": 310.0, "award": 612.0}, {"caseload": 330.0, "award": 610.0}
    assert spend.value_from == 310 * 612 and spend.value_to == 330 * 610
    expected = shapley_product(a, b)
    got = {c.component: c.contribution for c in spend.components}
    assert got == pytest.approx(expected, abs=1e-9)
    assert sum(got.values()) == pytest.approx(spend.change, abs=1e-9)


def test_the_whole_of_a_formula_metric_splits_by_area_and_component_exactly(tmp_path):
    store = setup(tmp_path)
    spend = explain_points(store, "spend", Point("2024-03", "forecast"), Point("2024-03"))
    assert sum(c.contribution for c in spend.components) == pytest.approx(spend.change, abs=1e-9)
    # the whole of a formula metric is its formula of the rolled-up components (award: a mean of the regions)
    parts = {c.component: c for c in spend.components}
    a = {name: parts[name].value_from for name in ("caseload", "award")}
    b = {name: parts[name].value_to for name in ("caseload", "award")}
    assert a["caseload"] == sum(c for c, _ in FORECAST_03.values())
    assert a["award"] == pytest.approx(((505 + 406) / 2 + 612) / 2, abs=1e-12)
    assert spend.value_from == pytest.approx(a["caseload"] * a["award"], abs=1e-9)
    expected = shapley_product(a, b)
    assert {c.component: c.contribution for c in spend.components} == pytest.approx(expected, abs=1e-9)
    # the companion series is a metric of the store, but no reader lists it as one
    assert "spend__forecast" not in {m.code for m in explain.list_metrics(store)}
    assert explain.metric_info(store, "spend__forecast").formula == "caseload__forecast * award__forecast"


def test_a_series_column_routes_each_row_and_quarantines_a_bad_series(tmp_path):
    store = setup(tmp_path, with_plan=True)
    plan = explain_points(store, "caseload", Point("2024-03", "plan"), Point("2024-03"), area="R1")
    assert (plan.value_from, plan.value_to) == (300, 301)
    estimate = explain_points(store, "caseload", Point("2024-03", "main_estimate"), Point("2024-03"), area="A3")
    assert estimate.value_from == 320 and estimate.change == 10
    [load] = store.loads_frame("uc-plan").to_dict("records")
    assert load["rows_quarantined"] == 1
    assert "'fore cast!' is not a series name" in json.dumps(store.quarantine_frame(int(load["id"])).to_dict("records"))


def test_first_published_against_latest_splits_the_revision_by_area(tmp_path, db_url):
    store = setup(tmp_path, db_url)
    revised = {a: [*vs[:2], (vs[2][0] + (15 if a == "A3" else 0), vs[2][1])] for a, vs in OUT.items()}
    revised["A1"][1] = (110, 501.0)  # February revised too
    write(tmp_path, out=revised)
    [outcome, _] = load_manifest_file(store, tmp_path / "m.toml")
    assert outcome.values_revised == 2
    result = revision_of(store, "caseload", "2024-03")
    assert result.change == 15 and result.value_from == 631 and result.value_to == 646
    assert {sg.segment: sg.contribution for sg in result.segments} == {"R1": 0.0, "R2": 15.0}
    assert "as first published" in result.narrative_part("movement")
    # the vintage by number, and both points the same: refused with the reason
    first_load = int(store.loads_frame("uc")["id"].min())
    again = explain_points(store, "caseload", Point("2024-03", vintage=first_load), Point("2024-03"))
    assert again.change == 15
    with pytest.raises(ExplainError, match="Both points"):
        explain_points(store, "caseload", Point("2024-03"), Point("2024-03"))
    # a period-on-period movement whose earlier period was revised since first published says so
    move = explain.explain_change(store, "caseload", "2024-02", "2024-03", use_cache=False)
    sentence = move.narrative_part("revisions")
    assert "February 2024 was first published as 605 households" in sentence
    assert "revised by +8 households" in sentence and "the change is +41 households" in sentence
    assert move.revised_from == 605 and move.change == 646 - 613


def test_the_cli_compares_series_and_vintages(tmp_path):
    store = setup(tmp_path)
    run = CliRunner().invoke(main, ["explain", "caseload", "--period", "2024-03", "--from-series", "forecast",
                                    "--to-series", "outturn", "--db", store.url, "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["change"] == 20 and data["points"][0]["series"] == "forecast"
    run = CliRunner().invoke(main, ["explain", "caseload", "--period", "2024-03", "--from-vintage", "first",
                                    "--db", store.url])
    assert run.exit_code == 0 and "the same as March 2024 as first published (631 households)" in run.output
    run = CliRunner().invoke(main, ["explain", "caseload", "--period", "2024-03", "--from-series", "plan",
                                    "--db", store.url])
    assert run.exit_code != 0 and "caseload has no plan series" in run.output and "Traceback" not in run.output
    run = CliRunner().invoke(main, ["explain", "caseload", "--db", store.url])
    assert run.exit_code == 2 and "--period" in run.output


DRIVER_MANIFEST = SMALL_HIERARCHY + """
[[metric]]
code = "claimants"
name = "Claimants"
department = "DWP"
unit = "people"

[[source]]
id = "monthly"
department = "DWP"
path = "monthly.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload", "Claimants" = "claimants" }

[[source]]
id = "assumptions"
department = "DWP"
path = "assumptions.csv"
series = "forecast"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload", "Claimants" = "claimants" }

[[model]]
metric = "caseload"
drivers = ["claimants"]
kind = "linear"
"""


def test_a_forecasts_driver_assumptions_are_attributed_against_the_outturn_drivers(tmp_path):
    """caseload = 2 x claimants: the forecast assumed fewer claimants in A3, so the
    gap is associated with claimants, and the drivers and the unexplained part add up to it."""
    import numpy as np

    rng = np.random.default_rng(7)
    months = [f"{2022 + m // 12}-{m % 12 + 1:02d}" for m in range(36)]
    level = {"A1": 0.0, "A2": 0.0, "A3": 0.0}
    rows = []
    for area in level:
        claimants = 1000 + np.cumsum(rng.normal(0, 20, len(months)))
        for month, c in zip(months, claimants):
            rows.append((month, area, round(2 * c + level[area], 3), round(c, 3)))
    (tmp_path / "monthly.csv").write_text("month,area,Caseload,Claimants\n" + "".join(
        f"{m},{a},{y},{c}\n" for m, a, y, c in rows))
    last = {a: (y, c) for m, a, y, c in rows if m == months[-1]}
    assumed = {a: (y - (300 if a == "A3" else 0), c - (150 if a == "A3" else 0)) for a, (y, c) in last.items()}
    (tmp_path / "assumptions.csv").write_text("month,area,Caseload,Claimants\n" + "".join(
        f"{months[-1]},{a},{y},{c}\n" for a, (y, c) in assumed.items()))
    (tmp_path / "m.toml").write_text(DRIVER_MANIFEST)
    store = Store(f"sqlite:///{tmp_path / 'w.db'}")
    for outcome in load_manifest_file(store, tmp_path / "m.toml"):
        assert outcome.status == "loaded", outcome.message
    explain.fit_driver_model(store, "caseload", n_bootstrap=4)
    result = explain_points(store, "caseload", Point(months[-1], "forecast"), Point(months[-1]))
    assert result.change == pytest.approx(300, abs=1e-6)
    [claimants] = [d for d in result.drivers if d.driver == "claimants"]
    assert claimants.contribution == pytest.approx(2 * 150, rel=0.02)  # the model's slope is about 2
    total = sum(d.contribution for d in result.drivers) + result.unexplained
    assert total == pytest.approx(result.change, abs=1e-9)
    # without the forecast's driver assumptions, nothing is attributed and the note says why
    (tmp_path / "assumptions.csv").write_text("month,area,Caseload\n" + "".join(
        f"{months[-1]},{a},{y}\n" for a, (y, c) in assumed.items()))
    (tmp_path / "m.toml").write_text(DRIVER_MANIFEST.replace(
        'value_columns = { "Caseload" = "caseload", "Claimants" = "claimants" }\n\n[[model]]',
        'value_columns = { "Caseload" = "caseload" }\nreplace = "all"\n\n[[model]]'))
    load_manifest_file(store, tmp_path / "m.toml", allow_withdrawals=True)
    bare = explain_points(store, "caseload", Point(months[-1], "forecast"), Point(months[-1]))
    assert bare.drivers == () and bare.unexplained == pytest.approx(300, abs=1e-6)
    assert any("driver assumptions" in note for note in bare.notes)
