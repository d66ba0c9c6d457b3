"""Honest model quality (issue 11): one verdict against the naive forecast (explain.model_quality.judge),
the activation guard in the library (fit and activate, ``force``), the CLI (``whytrend fit`` and
``whytrend activate``, ``--force``) on real SQLite stores, and the Model lab's texts and confirmation."""
from __future__ import annotations

import dataclasses
import json
import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import explain
from dashapp import presenters_model_lab as pm
from dashapp.cli import main
from explain import ActivationRefused, ModelError, ModelQuality, judge
from explain.results import ModelSummary
from loaders.errors import WhytrendError

from browser_support import copy_database

#: the demo's A&E model: a lower R² but a lower error too (the lab used to say it "beats the baseline")
MIXED = {"r2": 0.962137, "baseline_r2": 0.967866, "mae": 827.08, "baseline_mae": 850.75}
GOOD = {"r2": 0.99994, "baseline_r2": 0.90647, "mae": 62.3, "baseline_mae": 2456.15}
BAD = {"r2": 0.22, "baseline_r2": 0.93, "mae": 9775.0, "baseline_mae": 2456.0}
CAUTION = "not better than the naive forecast: treat the driver split with caution"


# ----------------------------------------------------------------------------- judge()
def test_better_than_the_naive_forecast_only_when_better_on_both():
    good, mixed, bad = judge(GOOD), judge(MIXED), judge(BAD)
    assert isinstance(good, ModelQuality)
    assert (good.better_than_naive, good.better_r2, good.better_mae) == (True, True, True)
    assert (mixed.better_than_naive, mixed.better_r2, mixed.better_mae) == (False, False, True)
    assert (bad.better_than_naive, bad.better_r2, bad.better_mae) == (False, False, False)
    assert mixed.sentence == ("Out-of-sample R² 0.962, below the naive forecast's 0.968; mean absolute error 827, "
                              "lower than the naive forecast's 851: not better than the naive forecast (that needs "
                              "both a higher R² and a lower mean absolute error).")
    assert good.sentence.endswith(": better than the naive forecast on both.")
    assert bad.sentence.endswith(": not better than the naive forecast on either.")
    assert (good.verdict, mixed.verdict) == ("better than the naive forecast", "not better than the naive forecast")
    assert mixed.to_dict()["better_than_naive"] is False and mixed.to_dict()["sentence"] == mixed.sentence


def test_ties_are_not_better_and_missing_figures_are_unknown_unless_one_shows_worse():
    tie = judge({"r2": 0.9, "baseline_r2": 0.9, "mae": 1.0, "baseline_mae": 2.0})
    assert tie.better_than_naive is False and "level with the naive forecast's 0.900" in tie.sentence
    assert judge({}).better_than_naive is None and judge(None).better_than_naive is None
    assert judge({}).sentence.startswith("No out-of-sample scores were saved")
    only_r2 = judge({"r2": 0.95, "baseline_r2": 0.67})
    assert only_r2.better_than_naive is None and "cannot be judged against the naive forecast" in only_r2.sentence
    assert "no mean absolute errors were saved" in only_r2.sentence
    assert judge({"r2": -0.75, "baseline_r2": 0.67}).better_than_naive is False    # worse on one: known
    assert judge({"mae": 5.0, "baseline_mae": 4.0}).better_than_naive is False
    odd = judge({"r2": float("nan"), "baseline_r2": "x", "mae": True, "baseline_mae": None})
    assert (odd.r2, odd.baseline_r2, odd.mae, odd.better_than_naive) == (None, None, None, None)
    assert judge({**GOOD, "baseline_mae": math.inf}).better_than_naive is None


def test_figures_are_shown_so_that_they_never_contradict_the_verdict():
    assert "R² −0.751, below" in judge({"r2": -0.751, "baseline_r2": 0.668}).sentence   # a real minus sign
    assert "R² 0.9999, above the naive forecast's 0.9065" in judge(GOOD).sentence         # not a perfect '1.000'
    close = judge({"r2": 0.96211, "baseline_r2": 0.96243, "mae": 827.08, "baseline_mae": 827.11})
    assert "R² 0.9621, below the naive forecast's 0.9624" in close.sentence
    assert "mean absolute error 827.08, lower than the naive forecast's 827.11" in close.sentence
    assert "827 attendances" in judge(MIXED, unit="attendances").sentence
    level = judge({"r2": 0.5, "baseline_r2": 0.5 - 1e-9, "mae": 1.0, "baseline_mae": 2.0})   # too small to show
    assert level.better_than_naive is False and "R² 0.500000, level with the naive forecast's 0.500000" in level.sentence
    rng = np.random.default_rng(11)
    for _ in range(500):  # whatever the figures, the words agree with the numbers shown, and the verdict with both
        base_r2, base_mae = rng.uniform(-1, 1), rng.uniform(1, 1000)
        scores = {"r2": base_r2 + rng.choice([-1, 1]) * 10 ** rng.uniform(-8, 0), "baseline_r2": base_r2,
                  "mae": base_mae * (1 + rng.choice([-1, 1]) * 10 ** rng.uniform(-9, -0.5)), "baseline_mae": base_mae}
        q = judge(scores)
        r2_shown = re.search(r"R² (\S+), (above|below|level with) the naive forecast's (\S+?);", q.sentence)
        mae_shown = re.search(r"error (\S+), (lower than|higher than|level with) the naive forecast's (\S+?):",
                              q.sentence)
        assert r2_shown and mae_shown, q.sentence
        model, word, naive = (float(r2_shown[1].replace("−", "-")), r2_shown[2], float(r2_shown[3].replace("−", "-")))
        assert word == ("above" if model > naive else "below" if model < naive else "level with"), q.sentence
        assert model == naive or (model > naive) == (scores["r2"] > base_r2), q.sentence
        model_mae, word, naive_mae = (float(mae_shown[1].replace(",", "")), mae_shown[2],
                                      float(mae_shown[3].replace(",", "")))
        assert word == ("lower than" if model_mae < naive_mae else "higher than" if model_mae > naive_mae
                        else "level with"), q.sentence
        assert model_mae == naive_mae or (model_mae < naive_mae) == (scores["mae"] < base_mae), q.sentence
        assert q.better_than_naive == (model > naive and model_mae < naive_mae), q.sentence
        assert q.sentence.endswith("better than the naive forecast on both.") == q.better_than_naive


def test_the_refusal_is_a_model_error_carrying_the_quality():
    quality = judge(BAD)
    refused = ActivationRefused("m", 3, quality, active=1)
    assert isinstance(refused, ModelError) and isinstance(refused, WhytrendError)
    assert (refused.metric, refused.version, refused.quality, refused.active, refused.saved) == ("m", 3, quality, 1, False)
    assert str(refused) == f"Version 3 of m was not made active. {quality.sentence} Version 1 stays active, so " \
                           "explanations are unchanged."
    first = ActivationRefused("m", 1, quality, active=None, saved=True)
    assert str(first).startswith("Saved version 1 of m but did not make it active.")
    assert "m still has no active driver model" in str(first)


# ----------------------------------------------------------------------------- a small real store
N_AREAS, N_MONTHS = 6, 36


def write_store(folder):
    """y = 50 + 3·x + noise over 6 areas × 36 months, x a random walk per area, z noise: a model on
    x forecasts far better than 'no change'; one on z far worse. The manifest's [[model]] is on x."""
    from loaders import Store, load_manifest_file

    rng = np.random.default_rng(3)
    areas = [f"A{i}" for i in range(N_AREAS)]
    months = [f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in range(N_MONTHS)]
    rows = []
    for i, a in enumerate(areas):
        x = 100 + 20 * i + rng.normal(0, 6, N_MONTHS).cumsum()
        y = 50 + 3 * x + rng.normal(0, 1, N_MONTHS)
        z = rng.normal(0, 1, N_MONTHS)
        rows += [(m, a, round(vx, 3), round(vz, 3), round(vy, 3)) for m, vx, vz, vy in zip(months, x, z, y)]
    pd.DataFrame(rows, columns=["month", "area", "x", "z", "y"]).to_csv(folder / "data.csv", index=False)
    area_entries = "".join(f'\n[[area]]\ncode = "{a}"\nname = "Area {a}"\nlevel = "la"\nparent = "C"\n' for a in areas)
    metrics = "".join(f'\n[[metric]]\ncode = "{c}"\nname = "{n}"\ndepartment = "D"\nunit = "cases"\n'
                      for c, n in (("y", "Outcome"), ("x", "Good driver"), ("z", "Noise")))
    (folder / "m.toml").write_text(f"""
[[department]]
code = "D"
name = "Department"

[[area]]
code = "C"
name = "Country"
level = "country"
{area_entries}{metrics}
[[source]]
id = "s"
department = "D"
path = "data.csv"
period_column = "month"
area_column = "area"
value_columns = {{ "x" = "x", "z" = "z", "y" = "y" }}

[[model]]
metric = "y"
drivers = ["x"]
kind = "linear"
""")
    store = Store(folder / "s.db")
    load_manifest_file(store, folder / "m.toml")
    return store


@pytest.fixture
def small(tmp_path):
    return write_store(tmp_path)


def fit(store, drivers, **options):
    return explain.fit_and_refresh(store, "y", drivers=drivers, kind="linear", **options)


def active_version(store) -> int | None:
    version = explain.get_version(store, "y")
    return version.version if version else None


def test_fit_makes_a_better_version_active_and_keeps_the_active_one_for_a_worse(small):
    first = fit(small, ["x"])
    assert first.version.active and first.quality.better_than_naive and first.refreshed is not None
    with pytest.raises(ActivationRefused) as refused:
        fit(small, ["z"])
    assert (refused.value.version, refused.value.active, refused.value.saved) == (2, 1, True)
    assert refused.value.quality.better_than_naive is False
    assert "Saved version 2 of y but did not make it active" in str(refused.value)
    assert "Version 1 stays active" in str(refused.value) and "Out-of-sample R²" in str(refused.value)
    assert [(v.version, v.active) for v in explain.list_versions(small, "y")] == [(1, True), (2, False)]
    assert active_version(small) == 1 and small.metric_state("y").model_version == 1   # explanations unchanged
    forced = fit(small, ["z"], force=True)
    assert forced.version.version == 3 and forced.version.active and not forced.quality.better_than_naive
    assert small.metric_state("y").model_version == 3 and forced.refreshed is not None
    inactive = fit(small, ["z"], activate=False)   # the Model lab's fits: never activated, never refused
    assert not inactive.version.active and inactive.refreshed is None and active_version(small) == 3


def test_activate_refuses_a_worse_version_unless_forced(small):
    fit(small, ["x"])
    fit(small, ["z"], activate=False)
    with pytest.raises(ActivationRefused) as refused:
        explain.activate_and_refresh(small, "y", 2)
    assert (refused.value.active, refused.value.saved) == (1, False) and active_version(small) == 1
    assert str(refused.value).startswith("Version 2 of y was not made active. Out-of-sample R² ")
    change = explain.activate_and_refresh(small, "y", 2, force=True)
    assert change.version.active and active_version(small) == 2 and change.refreshed is not None
    again = explain.activate_and_refresh(small, "y", 2)   # the active version itself: nothing to refuse
    assert again.version.version == 2
    assert explain.activate_and_refresh(small, "y", 1).version.active and active_version(small) == 1
    with pytest.raises(ModelError, match="no model version 9"):
        explain.activate_and_refresh(small, "y", 9)


def test_a_refused_first_version_leaves_no_model_and_explanations_do_not_fit_one_behind_it(small):
    with pytest.raises(ActivationRefused) as refused:
        fit(small, ["z"])
    assert refused.value.active is None and "y still has no active driver model" in str(refused.value)
    result = explain.explain_change(small, "y", "2025-11", "2025-12")   # ensure_model must not fit and activate v2
    assert result.model is None and [v.version for v in explain.list_versions(small, "y")] == [1]


# ----------------------------------------------------------------------------- the CLI
def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_fit_refuses_a_worse_version_says_how_to_force_and_activate_forces(small):
    db = small.url.split("///", 1)[1]
    good = run("fit", "y", "--drivers", "x", "--kind", "linear", "--db", db)
    assert good.exit_code == 0, good.output
    assert "y: model version 1 (linear) on drivers x" in good.output
    assert "Out-of-sample R² " in good.output and "better than the naive forecast on both" in good.output
    assert "explanations refreshed" in good.output and "CV R²" not in good.output

    bad = run("fit", "y", "--drivers", "z", "--kind", "linear", "--db", db)
    assert bad.exit_code == 1
    assert "y: model version 2 (linear) on drivers z" in bad.stdout                # what was saved, with its figures
    assert "not better than the naive forecast" in bad.stdout and "Out-of-sample R² " in bad.stdout
    assert bad.stderr.startswith("Error: Saved version 2 of y but did not make it active.")
    assert "Version 1 stays active" in bad.stderr and "`whytrend activate y 2 --force`" in bad.stderr
    assert "explanations refreshed" not in bad.output and active_version(small) == 1

    refused = run("activate", "y", "2", "--db", db)
    assert refused.exit_code == 1 and "Version 2 of y was not made active" in refused.stderr
    assert "--force" in refused.stderr and active_version(small) == 1
    forced = run("activate", "y", "2", "--force", "--db", db)
    assert forced.exit_code == 0, forced.output
    assert "y: model version 2 (linear) is now active" in forced.stdout
    assert "active with --force although it is not better than the naive forecast" in forced.stdout
    assert active_version(small) == 2
    back = run("activate", "y", "1", "--db", db)
    assert back.exit_code == 0 and "although" not in back.stdout and active_version(small) == 1

    fit_forced = run("fit", "y", "--drivers", "z", "--kind", "linear", "--force", "--db", db)
    assert fit_forced.exit_code == 0 and "active with --force" in fit_forced.stdout and active_version(small) == 3
    missing = run("activate", "y", "9", "--db", db)
    assert missing.exit_code == 1 and "no model version 9" in missing.stderr


# ----------------------------------------------------------------------------- page helpers (pure)
def version(n, scores, active=False, kind="linear"):
    return SimpleNamespace(version=n, kind=kind, drivers=("x1",), pseudo_drivers=(), scores=scores, data_vintage=6,
                           created_at="2026-11-21T21:07:04+00:00", active=active)


def test_lab_tables_label_every_r2_out_of_sample_and_say_the_verdict():
    frame = pm.versions_frame([version(1, GOOD, active=True), version(2, MIXED), version(3, {"r2": 0.5})])
    assert pm.OOS_R2 == "Out-of-sample R²" and frame[pm.BETTER].tolist() == ["yes", "no", "cannot tell"]
    assert frame[pm.OOS_R2].tolist()[:2] == [0.9999, 0.9621] and frame[pm.NAIVE_MAE][1] == 850.75
    scores = {**MIXED, "explained_variance": 0.96, "folds": [{"fold": 0, "train_periods": [1, 12],
              "test_periods": [13, 14], "n_train": 120, "n_test": 20, "r2": 0.8, "mae": 2.5, "baseline_r2": 0.4,
              "baseline_mae": 3.5}]}
    assert pm.scores_frame(scores)["measure"].tolist() == ["Out-of-sample R²", "Out-of-sample mean absolute error",
                                                           "Out-of-sample explained variance"]
    assert pm.folds_frame(scores)[pm.OOS_R2].tolist() == [0.8]
    labels = [*frame.columns, *pm.scores_frame(scores).columns, *pm.folds_frame(scores).columns]
    assert not [c for c in labels if "r2" in str(c).lower() or "CV" in str(c)]   # no 'CV R²' (components.COLUMN_LABELS)
    caption = pm.scores_caption(scores, unit="attendances")
    assert caption.startswith(judge(scores, unit="attendances").sentence) and "beat" not in caption
    assert "R² 0.962, below the naive forecast's 0.968" in caption


def test_lab_version_labels_fit_results_and_activation_texts():
    assert pm.version_label(version(2, MIXED)) == "Version 2 (linear; not better than the naive forecast)"
    assert pm.version_label(version(1, GOOD, active=True, kind="gradient_boosting")) == \
        "Version 1 (gradient boosting, active)"
    saved_good, saved_bad = pm.fit_result_text(version(4, GOOD)), pm.fit_result_text(version(5, BAD))
    assert saved_good.startswith("Saved version 4 (linear). Out-of-sample R² 0.9999") and "It is not active" in saved_good
    assert "Making it active asks you to confirm" in saved_bad and "confirm" not in saved_good
    text = pm.confirm_text(5, judge(BAD))
    assert text.startswith("Make version 5 active anyway? Out-of-sample R² 0.220, below")
    assert "make it active anyway" in text
    assert pm.activated_text(5, "3 explanations", judge(BAD)).endswith("treat its driver splits with caution.")
    assert pm.activated_text(1, "3 explanations", judge(GOOD)) == "Version 1 is now active; 3 explanations."
    assert [pm.quality_tone(judge(s)) for s in (GOOD, BAD, {})] == ["success", "warning", "info"]


@pytest.mark.parametrize("scores, active, confirmed, step", [
    (GOOD, False, False, "activate"),
    (MIXED, False, False, "confirm"),
    (BAD, False, False, "confirm"),
    ({}, False, False, "confirm"),        # cannot be judged: confirm too
    (BAD, False, True, "activate"),       # "Activate anyway"
    (BAD, True, False, "activate"),       # already the active version: nothing changes
])
def test_activation_step(scores, active, confirmed, step):
    assert pm.activation_step(judge(scores), active=active, confirmed=confirmed) == step


def test_a_score_beside_a_change_says_when_most_of_the_change_is_unexplained():
    assert pm.score_text(1.0, 0.79) == "Out-of-sample R² 1.000, but it leaves 79% of this change unexplained"
    assert pm.score_text(0.99994, -1.08) == "Out-of-sample R² 0.9999, but it leaves 108% of this change unexplained"
    assert pm.score_text(0.9, 0.5) == "Out-of-sample R² 0.900" and pm.score_text(None) == "Out-of-sample R² n/a"
    assert pm.unexplained_note(float("nan")) == "" and pm.unexplained_note(None) == ""


def test_model_in_use_text():
    mixed = ModelSummary("gradient_boosting", 2, MIXED["r2"], 7, ("a",), MIXED["baseline_r2"], MIXED["mae"])
    assert pm.model_in_use_text(mixed) == ("Driver split by model version 2 (gradient boosting): out-of-sample R² "
                                           f"0.962 against the naive forecast's 0.968; {CAUTION}.")
    good = ModelSummary("linear", 1, GOOD["r2"], 7, ("a",), GOOD["baseline_r2"], GOOD["mae"])
    # without the naive forecast's error a summary can show a model is not better, never that it is
    assert pm.model_in_use_text(good) == ("Driver split by model version 1 (linear): out-of-sample R² 0.9999 "
                                          "against the naive forecast's 0.9065.")
    with_mae = dataclasses.replace(good, baseline_mae=GOOD["baseline_mae"])
    assert pm.model_in_use_text(with_mae).endswith("0.9065; better than the naive forecast.")
    assert pm.model_in_use_text(good, unexplained_share=0.79) == (
        "Driver split by model version 1 (linear): out-of-sample R² 0.9999 against the naive forecast's 0.9065, "
        "but it leaves 79% of this change unexplained.")
    assert pm.model_in_use_text(mixed, unexplained_share=0.6).endswith(
        f"0.968, but it leaves 60% of this change unexplained; {CAUTION}.")
    unscored = ModelSummary("linear", 3, None, 7)
    assert pm.model_in_use_text(unscored).endswith("its out-of-sample scores were not saved, so treat the driver "
                                                   "split with caution.")
    assert pm.model_in_use_text(None).startswith("No driver model is in use")


# ----------------------------------------------------------------------------- the Model lab page
@pytest.fixture(scope="module")
def lab(analysis_store, tmp_path_factory):
    """The app on a private copy of the analysis store, with a version of uc_caseload that is not
    better than the naive forecast (rainfall alone), fitted inactive."""
    from dashapp import state
    from dashapp.app import create_app
    from dashapp.settings import Settings
    from loaders import Store

    folder = tmp_path_factory.mktemp("quality")
    store = Store(copy_database(analysis_store.url.split("///", 1)[1], folder / "quality.db"))
    explain.ensure_model(store, "uc_caseload")
    bad = explain.fit_and_refresh(store, "uc_caseload", drivers=["rainfall_mm"], kind="linear", activate=False)
    assert bad.quality.better_than_naive is False
    settings = Settings(db=store.url, cache_dir=folder / "jobs", secret_key="quality-tests-" + "q" * 40)
    app = create_app(settings)
    yield SimpleNamespace(app=app, store=store, bad=bad.version.version,
                          good=explain.get_version(store, "uc_caseload").version)
    state.invalidate()


@pytest.fixture
def analyst(monkeypatch, lab):
    from dashapp import auth
    from loaders.accounts import User

    monkeypatch.setattr(auth, "current_user", lambda: User("treasury", "analyst", None))


def texts(component) -> str:
    out, stack = [], [component]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        for child in children if isinstance(children, (list, tuple)) else [children]:
            if isinstance(child, str):
                out.append(child)
            elif hasattr(child, "to_plotly_json"):
                stack.append(child)
    return " ".join(out)


def test_lab_shows_the_verdict_and_asks_before_activating_a_worse_version(lab, analyst):
    import dash
    from dash import html

    from dashapp.pages import model_lab

    view = texts(html.Div(model_lab.diagnostics_view("uc_caseload", lab.bad)))
    assert "not better than the naive forecast on either" in view and "Out-of-sample R²" in view
    assert "beats" not in view and "CV R²" not in view
    labels = [o["label"] for o in model_lab.version_options(model_lab.versions("uc_caseload"))]
    assert f"Version {lab.bad} (linear; not better than the naive forecast)" in labels
    with lab.app.server.test_request_context():
        errors, ticket, hidden, confirm = model_lab.activation_outputs("uc_caseload", lab.bad, confirmed=False)
        assert ticket is dash.no_update and hidden is False and errors == []
        assert texts(confirm).startswith(f"Make version {lab.bad} active anyway? Out-of-sample R²")
        assert "not better than the naive forecast" in texts(confirm)
        _, ticket, hidden, _ = model_lab.activation_outputs("uc_caseload", lab.bad, confirmed=True)
        assert ticket["purpose"] == "activate" and ticket["fields"]["version"] == lab.bad and hidden is True
        _, ticket, hidden, _ = model_lab.activation_outputs("uc_caseload", lab.good, confirmed=False)
        assert ticket["fields"]["version"] == lab.good and hidden is True     # better: no confirmation
        missing, ticket, _, _ = model_lab.activation_outputs("uc_caseload", None, confirmed=False)
        assert ticket is dash.no_update and "Choose a version" in texts(missing)
    try:  # the job acts on a ticket issued after the confirmation: it activates, with a caution
        result, activated = model_lab.activate_job({"metric": "uc_caseload", "version": lab.bad})
        assert activated == {"metric": "uc_caseload", "version": lab.bad}
        assert "treat its driver splits with caution" in texts(result)
        assert explain.get_version(lab.store, "uc_caseload").version == lab.bad
    finally:
        model_lab.activate_job({"metric": "uc_caseload", "version": lab.good})
    assert explain.get_version(lab.store, "uc_caseload").version == lab.good


def _post(client, dependencies, input_id, inputs, state=()):
    """POST the callback whose first input is ``input_id``, as the Dash renderer does."""
    dep = next(d for d in dependencies if d["inputs"] and d["inputs"][0]["id"] == input_id)

    def spec(items, values):
        return [{"id": i["id"], "property": i["property"], "value": v} for i, v in zip(items, values)]

    outputs = [{"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1].split("@")[0]}
               for part in dep["output"].strip(".").split("...")]
    body = {"output": dep["output"], "outputs": outputs, "inputs": spec(dep["inputs"], inputs),
            "state": spec(dep["state"], state), "changedPropIds": [f"{input_id}.{dep['inputs'][0]['property']}"]}
    return client.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})


@pytest.fixture
def client(lab):
    from dashapp import state
    from dashapp.auth import SESSION_KEY
    from loaders.sessions import create_session

    client = lab.app.server.test_client()
    with client.application.app_context():
        session_id = create_session(state.get_store(), "treasury")
    with client.session_transaction() as session:
        session[SESSION_KEY] = session_id
    return client, client.get("/_dash-dependencies").get_json()


def test_the_make_active_button_shows_the_confirmation_over_http(client, lab):
    from dashapp import analysis_ids as aid

    http, dependencies = client
    response = _post(http, dependencies, aid.LAB_ACTIVATE, [1, lab.bad], ["uc_caseload"])
    assert response.status_code == 200, response.get_data(as_text=True)
    shown = response.get_json()["response"]
    assert shown[aid.LAB_ACTIVATE_CONFIRM]["hidden"] is False and aid.LAB_ACTIVATE_REQUEST not in shown
    assert "not better than the naive forecast" in json.dumps(shown[aid.LAB_ACTIVATE_CONFIRM_TEXT])
    better = _post(http, dependencies, aid.LAB_ACTIVATE, [1, lab.good], ["uc_caseload"]).get_json()["response"]
    assert better[aid.LAB_ACTIVATE_REQUEST]["data"]["fields"] == {"metric": "uc_caseload", "version": lab.good}


def test_activate_anyway_over_http(client, lab):
    from dashapp import access
    from dashapp import analysis_ids as aid

    if (aid.LAB_ACTIVATE_ANYWAY, "n_clicks") not in access.RULES:
        pytest.skip("dashapp/access.py RULES has no rule for the 'Activate anyway' button yet")
    http, dependencies = client
    response = _post(http, dependencies, aid.LAB_ACTIVATE_ANYWAY, [1], ["uc_caseload", lab.bad])
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()["response"]
    assert data[aid.LAB_ACTIVATE_REQUEST]["data"]["fields"] == {"metric": "uc_caseload", "version": lab.bad}
    assert data[aid.LAB_ACTIVATE_CONFIRM]["hidden"] is True
