"""Model-lab diagnostics (explain.diagnostics) on a small synthetic store with closed-form answers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explain import ModelError, fit_driver_model, get_version, list_versions, load_fitted, metric_frame
from explain import diagnostics as dg

N_AREAS, N_MONTHS = 16, 36
BETA = (3.0, -2.0)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """y = 50 + 3·x1 − 2·x2 + noise over 16 areas × 36 months (two regions), with a linear model."""
    from loaders import Store, load_manifest_file

    folder = tmp_path_factory.mktemp("diagnostics")
    rng = np.random.default_rng(7)
    areas = [f"A{i:02d}" for i in range(N_AREAS)]
    months = [f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in range(N_MONTHS)]
    rows = []
    for a in areas:
        x1 = 100 + rng.normal(0, 5, N_MONTHS).cumsum()
        x2 = 40 + rng.normal(0, 3, N_MONTHS).cumsum()
        y = 50 + BETA[0] * x1 + BETA[1] * x2 + rng.normal(0, 1, N_MONTHS)
        rows += [(m, a, round(v1, 3), round(v2, 3), round(v, 3)) for m, v1, v2, v in zip(months, x1, x2, y)]
    pd.DataFrame(rows, columns=["month", "area", "x1", "x2", "y"]).to_csv(folder / "data.csv", index=False)
    area_entries = "".join(
        f'\n[[area]]\ncode = "{a}"\nname = "Area {a}"\nlevel = "la"\nparent = "R{int(a[1:]) % 2}"\n' for a in areas)
    (folder / "m.toml").write_text(f"""
[[department]]
code = "D"
name = "Department"

[[area]]
code = "C"
name = "Country"
level = "country"

[[area]]
code = "R0"
name = "Region zero"
level = "region"
parent = "C"

[[area]]
code = "R1"
name = "Region one"
level = "region"
parent = "C"
{area_entries}
[[metric]]
code = "y"
name = "Outcome"
department = "D"
unit = "cases"

[[metric]]
code = "x1"
name = "Driver one"
department = "D"
unit = "people"

[[metric]]
code = "x2"
name = "Driver two"
department = "D"
unit = "people"

[[source]]
id = "s"
department = "D"
path = "data.csv"
period_column = "month"
area_column = "area"
value_columns = {{ "x1" = "x1", "x2" = "x2", "y" = "y" }}

[[model]]
metric = "y"
drivers = ["x1", "x2"]
kind = "linear"
""")
    store = Store(folder / "s.db")
    load_manifest_file(store, folder / "m.toml")
    fit_driver_model(store, "y", n_bootstrap=2)
    return store


def test_partial_dependence_of_a_linear_model_has_the_coefficient_as_slope(synthetic):
    fitted = load_fitted(synthetic, "y", 1).model
    beta = fitted.linear_coefficients()
    for k, driver in enumerate(("x1", "x2")):
        frame = dg.partial_dependence(synthetic, "y", 1, driver, grid=20)
        assert len(frame) == 20 and frame["n_rows"].iloc[0] == 12 * N_AREAS
        assert dg.linear_slope(frame) == pytest.approx(beta[k], rel=1e-9)
        steps = np.diff(frame["prediction"]) / np.diff(frame["value"])
        assert np.allclose(steps, beta[k], rtol=1e-9)
    assert beta == pytest.approx(BETA, abs=0.05)


def test_importance_is_the_mean_absolute_paired_attribution(synthetic):
    diag = dg.load_diagnosed(synthetic, "y")
    beta = diag.fitted.model.linear_coefficients()
    frame = dg.importance(diag, periods=12)
    panel = diag.panel
    labels = diag.periods[-13:]
    per_area = {d: [] for d in ("x1", "x2")}
    whole = {d: [] for d in ("x1", "x2")}
    for a, b in zip(labels[:-1], labels[1:]):
        rows_a = panel[panel["period"] == a].set_index("area")
        rows_b = panel[panel["period"] == b].set_index("area")
        for k, d in enumerate(("x1", "x2")):
            phi = beta[k] * (rows_b[d] - rows_a[d])
            per_area[d] += list(np.abs(phi))
            whole[d].append(phi.sum())
    got = frame.set_index("driver")
    for d in ("x1", "x2"):
        assert got.loc[d, "mean_abs"] == pytest.approx(np.mean(per_area[d]), rel=1e-9)
        assert got.loc[d, "mean_whole"] == pytest.approx(np.mean(whole[d]), rel=1e-9)
        assert got.loc[d, "mean_abs_whole"] == pytest.approx(np.mean(np.abs(whole[d])), rel=1e-9)
    assert frame["share"].sum() == pytest.approx(1.0)
    assert frame["mean_abs"].is_monotonic_decreasing and set(frame["n_pairs"]) == {12}


def test_residuals_are_actual_minus_predicted_of_the_whole(synthetic):
    diag = dg.load_diagnosed(synthetic, "y")
    frame = dg.residuals(diag)
    assert len(frame) == N_MONTHS and set(frame["n_areas"]) == {N_AREAS}
    assert np.allclose(frame["residual"], frame["actual"] - frame["predicted"])
    whole = metric_frame(synthetic, "y", areas=["ALL"]).set_index("period")["value"]
    assert np.allclose(frame.set_index("period")["actual"], whole.loc[frame["period"]])
    predicted = diag.fitted.model.predict(diag.panel)
    assert frame["predicted"].sum() == pytest.approx(predicted.sum(), rel=1e-12)
    assert frame["residual"].abs().mean() < 0.02 * frame["actual"].abs().mean()


def test_gradient_boosting_version_with_seasonality(synthetic):
    version = fit_driver_model(synthetic, "y", kind="gradient_boosting", pseudo_drivers=("seasonality",),
                               n_bootstrap=2, activate=False)
    assert get_version(synthetic, "y").version == 1        # not activated
    frame = dg.importance(synthetic, "y", version.version)
    assert set(frame["driver"]) == {"x1", "x2", "seasonality"}
    season = dg.partial_dependence(synthetic, "y", version.version, "seasonality")
    assert season["value"].tolist() == list(range(1, 13))
    res = dg.residuals(synthetic, "y", version.version)
    assert np.isfinite(res["residual"]).all()


def test_clear_errors(synthetic):
    with pytest.raises(ModelError, match="not a driver"):
        dg.partial_dependence(synthetic, "y", 1, "x9")
    with pytest.raises(ModelError, match="no version 99"):
        dg.importance(synthetic, "y", 99)
    with pytest.raises(ModelError, match="grid"):
        dg.partial_dependence(synthetic, "y", 1, "x1", grid=1)
    with pytest.raises(ModelError, match="Name the metric"):
        dg.residuals(synthetic)


def test_modelled_metrics_and_spec(synthetic):
    assert dg.modelled_metrics(synthetic) == ["y"]
    assert dg.model_spec(synthetic, "y")["drivers"] == ("x1", "x2")
    assert dg.model_spec(synthetic, "x1") is None
    assert [v.version for v in list_versions(synthetic, "y")][0] == 1
