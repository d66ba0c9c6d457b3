"""Diagnostics of a fitted driver model version, for the model lab: driver importance, partial
dependence and residuals of the whole over time.

Each function loads the version's artefact and the training panel once and returns a plain
DataFrame (no figures; this package never imports dash or plotly). They read the data as it
is now (latest vintage), so a version fitted on older data is diagnosed on today's numbers;
the version's own ``data_vintage`` says what it was trained on.

* ``importance``: mean |φ| per driver over period-on-period pairs of the last ``periods``
  periods, using the same paired baseline SHAP as explanations (each area's row in B against
  the same area's row in A). Also the mean signed φ of the whole per pair, so a reader sees
  direction as well as size.
* ``partial_dependence``: the average prediction over the recent panel rows with one driver
  set to each value of a grid (5th to 95th percentile). For the linear model the slope is the
  driver's coefficient exactly.
* ``residuals``: actual minus predicted for the whole, by period (sum over the leaf areas with
  complete driver values; mean for metrics aggregated by mean).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from loaders import Store
from loaders.vocabulary import PSEUDO_DRIVER_COLUMNS

from .attribution import attribute_change
from .data import list_metrics, metric_info, metrics_with_models
from .data import model_spec as _model_spec
from .drivers import FittedDrivers
from .errors import ModelError
from .models import build_panel, get_version, list_versions, load_fitted
from .results import MetricInfo, ModelVersion

__all__ = ["Diagnosed", "importance", "partial_dependence", "residuals", "load_diagnosed", "modelled_metrics",
           "model_spec", "DEFAULT_PERIODS"]

#: How many recent periods importance and partial dependence look at (a year of months).
DEFAULT_PERIODS = 12
_PSEUDO_COLUMN = PSEUDO_DRIVER_COLUMNS


@dataclass(frozen=True)
class Diagnosed:
    """A model version with its fitted artefact and complete panel rows (read once, reused)."""

    info: MetricInfo
    version: ModelVersion
    fitted: FittedDrivers
    panel: pd.DataFrame          # rows with y and every driver present, sorted by period then area

    @property
    def periods(self) -> list[str]:
        return (self.panel.drop_duplicates("period").sort_values("start")["period"].tolist())

    def recent_rows(self, periods: int) -> pd.DataFrame:
        keep = set(self.periods[-periods:])
        return self.panel[self.panel["period"].isin(keep)]


def load_diagnosed(store: Store, metric: str, version: int | None = None) -> Diagnosed:
    """The version (active when None), its artefact and its complete panel rows."""
    info = metric_info(store, metric)
    meta = get_version(store, metric, version)
    if meta is None:
        which = f"version {version}" if version else "an active model version"
        raise ModelError(f"{metric} has no {which}. Fit a driver model first.")
    fitted = load_fitted(store, metric, meta.version)
    panel = build_panel(store, info, meta.drivers)
    panel = panel.dropna(subset=["y", *meta.drivers]).sort_values(["start", "area"]).reset_index(drop=True)
    if panel.empty:
        raise ModelError(f"{metric} has no rows with every driver of version {meta.version} present.")
    return Diagnosed(info, meta, fitted, panel)


def _diagnosed(store_or_diag, metric: str | None, version: int | None) -> Diagnosed:
    if isinstance(store_or_diag, Diagnosed):
        return store_or_diag
    if metric is None:
        raise ModelError("Name the metric whose model to diagnose.")
    return load_diagnosed(store_or_diag, metric, version)


def importance(store: Store | Diagnosed, metric: str | None = None, version: int | None = None, *,
               periods: int = DEFAULT_PERIODS) -> pd.DataFrame:
    """Mean |φ| per driver over the period-on-period pairs of the last ``periods`` periods.

    Columns: driver, mean_abs (mean over areas and pairs of |φ| of one area), mean_abs_whole
    (mean over pairs of |Σ_areas φ|), mean_whole (mean signed φ of the whole per pair), share
    (mean_abs as a share of its column's sum), n_pairs. Sorted by mean_abs, largest first.
    """
    diag = _diagnosed(store, metric, version)
    model = diag.fitted.model
    labels = diag.periods[-(periods + 1):]
    per_area, whole = [], []
    for a, b in zip(labels[:-1], labels[1:]):
        rows_a = diag.panel[diag.panel["period"] == a]
        rows_b = diag.panel[diag.panel["period"] == b]
        if not set(rows_a["area"]) & set(rows_b["area"]):
            continue
        result = attribute_change(model, rows_a, rows_b)
        per_area.append(np.abs(result.phi))
        whole.append(result.phi.sum(axis=0))
    features = list(model.feature_names_)
    if not per_area:
        raise ModelError(f"{diag.info.code} has no pair of consecutive periods with complete driver values.")
    stacked = np.vstack(per_area)
    wholes = np.vstack(whole)
    mean_abs = stacked.mean(axis=0)
    total = float(mean_abs.sum())
    frame = pd.DataFrame({
        "driver": features,
        "mean_abs": mean_abs,
        "mean_abs_whole": np.abs(wholes).mean(axis=0),
        "mean_whole": wholes.mean(axis=0),
        "share": mean_abs / total if total > 0 else np.zeros(len(features)),
        "n_pairs": len(per_area),
    })
    return frame.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)


def partial_dependence(store: Store | Diagnosed, metric: str | None = None, version: int | None = None,
                       driver: str = "", *, grid: int = 20, periods: int = DEFAULT_PERIODS) -> pd.DataFrame:
    """Average prediction over the last ``periods`` periods' rows with ``driver`` set to each grid
    value (``grid`` values evenly spaced from its 5th to its 95th percentile in those rows).

    Columns: value, prediction, n_rows. For seasonality the grid is the seasons present.
    """
    diag = _diagnosed(store, metric, version)
    model = diag.fitted.model
    features = list(model.feature_names_)
    if driver not in features:
        raise ModelError(f"'{driver}' is not a driver of {diag.info.code} version {diag.version.version}; "
                         f"its drivers are {', '.join(features)}.")
    if grid < 2:
        raise ModelError("The partial dependence grid needs at least 2 values.")
    rows = diag.recent_rows(periods).copy()
    column = _PSEUDO_COLUMN.get(driver, driver)
    observed = pd.to_numeric(rows[column], errors="coerce").dropna().to_numpy(dtype=np.float64)
    if driver == "seasonality":
        values = np.unique(observed)
    else:
        low, high = np.percentile(observed, [5, 95])
        values = np.unique(np.linspace(low, high, grid)) if high > low else np.array([low])
    predictions = []
    for value in values:
        rows[column] = value
        predictions.append(float(np.mean(model.predict(rows))))
    return pd.DataFrame({"value": values, "prediction": predictions, "n_rows": len(rows)})


def residuals(store: Store | Diagnosed, metric: str | None = None, version: int | None = None) -> pd.DataFrame:
    """Actual minus predicted for the whole, by period, over the areas with complete drivers.

    Columns: period, start, actual, predicted, residual, n_areas. Sum metrics add the areas;
    metrics aggregated by mean average them.
    """
    diag = _diagnosed(store, metric, version)
    panel = diag.panel.assign(predicted=diag.fitted.model.predict(diag.panel))
    how = "mean" if diag.info.aggregation == "mean" else "sum"
    grouped = panel.groupby(["start", "period"], sort=True).agg(
        actual=("y", how), predicted=("predicted", how), n_areas=("area", "size")).reset_index()
    grouped["residual"] = grouped["actual"] - grouped["predicted"]
    return grouped[["period", "start", "actual", "predicted", "residual", "n_areas"]]


def modelled_metrics(store: Store) -> list[str]:
    """Metrics with a driver model spec (a ``[[model]]`` entry) or at least one fitted version."""
    codes = set(metrics_with_models(store))
    codes.update(m.code for m in list_metrics(store) if m.code not in codes and list_versions(store, m.code))
    return sorted(codes)


def model_spec(store: Store, metric: str) -> dict | None:
    """The metric's configured model (drivers, kind, pseudo_drivers) or None."""
    return _model_spec(store, metric)


def linear_slope(frame: pd.DataFrame) -> float:
    """Least-squares slope of a partial dependence frame (a helper for checks and captions)."""
    if len(frame) < 2:
        return math.nan
    return float(np.polyfit(frame["value"].to_numpy(float), frame["prediction"].to_numpy(float), 1)[0])
