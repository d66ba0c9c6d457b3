"""L4/L5 change attribution: paired baseline SHAP, bootstrap intervals, and the unexplained part.

Why paired: each area's row in period B is explained against the SAME area's row in period A as
a one-row background. Then, per area, Σ_j φ_j = f(x_B) − f(x_A) exactly; a driver whose value did
not change gets exactly 0; the whole is the (weighted) sum over areas and inherits exactness; it
costs one pair per area; and differences BETWEEN areas stay out of the answer (docs/method.md, L4).

* Linear model: φ_j = β_j·(x_Bj − x_Aj) in original units (the seasonality one-hot columns are
  summed into one 'seasonality' part).
* Gradient boosting: exact single-reference interventional TreeSHAP (``explain.treeshap``).
* Every call asserts additivity against the model's own predictions and raises AdditivityError
  (a bug, not a user error) if it fails.

The unpaired general form (``attribute_groups``) uses shap with an Independent masker that keeps
EVERY background row: shap's plain-array default silently keeps 100 rows, after which the parts
no longer add up (the "SHAP trap" in docs/method.md).
"""
from __future__ import annotations

import functools
import logging
import warnings as _warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explain.drivers import DriverModel, FittedDrivers
from explain.errors import AdditivityError, ModelError
from explain.treeshap import baseline_shap

log = logging.getLogger(__name__)

__all__ = [
    "PairedAttribution",
    "AttributionWithIntervals",
    "GroupAttribution",
    "attribute_change",
    "attribute_with_intervals",
    "attribute_groups",
    "UNSTABLE_SHARE",
]

#: A feature whose interval spans zero is flagged when its share of the movement exceeds this.
UNSTABLE_SHARE = 0.25


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape[0] != n:
        raise ModelError(f"Got {w.shape[0]} weights for {n} areas")
    return w


@dataclass(frozen=True)
class PairedAttribution:
    """Per-area contributions of each feature to f(x_B) − f(x_A), with predictions and actuals.

    Arrays are aligned with ``areas`` (sorted by name); ``phi`` is (n_areas, n_features).
    ``unpaired`` names areas present in only one of the two periods (left out).
    """

    features: tuple[str, ...]
    areas: tuple[str, ...]
    phi: np.ndarray
    pred_from: np.ndarray
    pred_to: np.ndarray
    actual_from: np.ndarray
    actual_to: np.ndarray
    unpaired: tuple[str, ...] = field(default_factory=tuple)

    def total(self, weights: np.ndarray | None = None) -> dict[str, float]:
        """The whole: Σ_i w_i·φ_ij per feature (w = 1 for a sum metric, 1/n for a mean)."""
        w = _weights(weights, len(self.areas))
        return {f: float(v) for f, v in zip(self.features, w @ self.phi)}

    def predicted_change(self, weights: np.ndarray | None = None) -> float:
        """Σ_i w_i·(f(x_Bi) − f(x_Ai)): what the parts of ``total`` add up to."""
        w = _weights(weights, len(self.areas))
        return float(w @ (self.pred_to - self.pred_from))

    def actual_change(self, weights: np.ndarray | None = None) -> float:
        """Σ_i w_i·(y_Bi − y_Ai) (NaN if an actual is missing)."""
        w = _weights(weights, len(self.areas))
        return float(w @ (self.actual_to - self.actual_from))

    def unexplained_by_area(self) -> np.ndarray:
        """(y_B − y_A) − (f(x_B) − f(x_A)) per area, in the metric's units (L5)."""
        return (self.actual_to - self.actual_from) - (self.pred_to - self.pred_from)

    def unexplained(self, weights: np.ndarray | None = None) -> float:
        """(Σ actual change) − (Σ predicted change) for the whole, in the metric's units (L5).

        By construction ``sum(total(w).values()) + unexplained(w) == actual_change(w)``.
        """
        return self.actual_change(weights) - self.predicted_change(weights)

    def to_frame(self) -> pd.DataFrame:
        """One row per area: contributions per feature plus predictions, actuals, unexplained."""
        df = pd.DataFrame(self.phi, columns=list(self.features))
        df.insert(0, "area", list(self.areas))
        df["pred_from"] = self.pred_from
        df["pred_to"] = self.pred_to
        df["actual_from"] = self.actual_from
        df["actual_to"] = self.actual_to
        df["unexplained"] = self.unexplained_by_area()
        return df


def _areas_of(rows: pd.DataFrame, label: str) -> np.ndarray:
    if not isinstance(rows, pd.DataFrame) or "area" not in rows.columns:
        raise ModelError(f"rows_{label} must be a panel DataFrame with an 'area' column")
    areas = rows["area"].astype(str).to_numpy(dtype=object)
    uniq, counts = np.unique(areas, return_counts=True)
    if np.any(counts > 1):
        raise ModelError(
            f"rows_{label} has more than one row for area {uniq[counts > 1][0]!r}: give one period's rows only"
        )
    return areas


def _pair(rows_from: pd.DataFrame, rows_to: pd.DataFrame):
    """Rows of the areas present in both frames, in area-name order, plus the unpaired names."""
    fa = _areas_of(rows_from, "from")
    fb = _areas_of(rows_to, "to")
    common, ia, ib = np.intersect1d(fa, fb, assume_unique=True, return_indices=True)
    unpaired = tuple(sorted(set(fa) ^ set(fb)))
    if unpaired:
        log.info("attribution: %d area(s) present in only one period were left out", len(unpaired))
    if len(common) == 0:
        raise ModelError("No area has rows in both periods, so there is no change to attribute")
    return rows_from.iloc[ia], rows_to.iloc[ib], tuple(str(c) for c in common), unpaired


def _actuals(rows: pd.DataFrame) -> np.ndarray:
    if "y" not in rows.columns:
        return np.full(len(rows), np.nan)
    return pd.to_numeric(rows["y"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _group(model: DriverModel, phi_design: np.ndarray) -> np.ndarray:
    """Sum design columns into features (the linear seasonality one-hot group)."""
    groups = np.asarray(model.design_groups_)
    if phi_design.shape[1] == model.n_features_in_ and np.array_equal(groups, np.arange(model.n_features_in_)):
        return phi_design
    out = np.zeros((phi_design.shape[0], model.n_features_in_))
    for c, g in enumerate(groups):
        out[:, g] += phi_design[:, c]
    return out


def _check_linear_complete(design: np.ndarray, areas, features, groups, label: str) -> None:
    bad = np.isnan(design)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        raise ModelError(
            f"The linear driver model cannot explain area {areas[i]!r}: driver {features[groups[c]]!r} "
            f"is missing in period {label}"
        )


def _pair_phi(model: DriverModel, d_from: np.ndarray, d_to: np.ndarray) -> np.ndarray:
    if model.kind == "linear":
        return _group(model, (d_to - d_from) * model.linear_coefficients()[None, :])
    return baseline_shap(model.estimator_, d_to, d_from)


def _assert_additive(parts_sum: np.ndarray, change: np.ndarray, scale: np.ndarray, tolerance: float, what: str) -> None:
    err = np.abs(parts_sum - change)
    bad = err > tolerance * scale
    if np.any(bad):
        i = int(np.argmax(err / scale))
        raise AdditivityError(
            f"{what}: contributions add up to {parts_sum[i]!r} but the predicted change is {change[i]!r} "
            f"(error {err[i]:.3g}, tolerance {tolerance:g} × {scale[i]:.3g})"
        )


def attribute_change(
    model: DriverModel,
    rows_from: pd.DataFrame,
    rows_to: pd.DataFrame,
    *,
    check_additivity: bool = True,
    tolerance: float = 1e-6,
) -> PairedAttribution:
    """Paired baseline SHAP: each area's row in ``rows_to`` explained against its row in ``rows_from``.

    Areas are paired by the 'area' column (one row per area in each frame); areas in one frame
    only are dropped and listed in ``unpaired``. With ``check_additivity`` (default), asserts
    Σ_j φ_ij = f(x_Bi) − f(x_Ai) for every area and for the whole, to ``tolerance`` ×
    max(1, |f(x_A)|, |f(x_B)|), raising AdditivityError otherwise.
    """
    a, b, areas, unpaired = _pair(rows_from, rows_to)
    return _attribute_paired(model, a, b, areas, unpaired, model.design(a), model.design(b),
                             check_additivity=check_additivity, tolerance=tolerance)


def _attribute_paired(model: DriverModel, a: pd.DataFrame, b: pd.DataFrame, areas: tuple[str, ...],
                      unpaired: tuple[str, ...], d_from: np.ndarray, d_to: np.ndarray, *,
                      check_additivity: bool = True, tolerance: float = 1e-6) -> PairedAttribution:
    """:func:`attribute_change` on rows already paired and their design matrices."""
    if model.kind == "linear":
        _check_linear_complete(d_from, areas, model.feature_names_, model.design_groups_, "from")
        _check_linear_complete(d_to, areas, model.feature_names_, model.design_groups_, "to")
    preds = model.predict_design(np.vstack([d_from, d_to]))
    n = len(areas)
    pred_from, pred_to = preds[:n], preds[n:]
    phi = _pair_phi(model, d_from, d_to)
    if check_additivity:
        scale = np.maximum(1.0, np.maximum(np.abs(pred_from), np.abs(pred_to)))
        _assert_additive(phi.sum(axis=1), pred_to - pred_from, scale, tolerance, "per area")
        _assert_additive(np.array([phi.sum()]), np.array([np.sum(pred_to - pred_from)]),
                         np.array([scale.sum()]), tolerance, "whole")
    return PairedAttribution(
        features=tuple(model.feature_names_),
        areas=areas,
        phi=_readonly(phi),
        pred_from=_readonly(pred_from),
        pred_to=_readonly(pred_to),
        actual_from=_readonly(_actuals(a)),
        actual_to=_readonly(_actuals(b)),
        unpaired=unpaired,
    )


# ----------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class AttributionWithIntervals:
    """A point attribution with bootstrap percentile intervals per feature, whole and per area.

    ``whole`` / ``whole_low`` / ``whole_high`` map feature → value for the whole (weighted by
    ``weights``); ``area_low`` / ``area_high`` are (n_areas, n_features); ``bootstrap_whole`` is
    (n_bootstrap, n_features). ``warnings`` holds plain-English messages about unstable features.
    """

    attribution: PairedAttribution
    confidence: float
    whole: dict[str, float]
    whole_low: dict[str, float]
    whole_high: dict[str, float]
    area_low: np.ndarray
    area_high: np.ndarray
    bootstrap_whole: np.ndarray
    warnings: tuple[str, ...]
    weights: np.ndarray | None = None

    @property
    def features(self) -> tuple[str, ...]:
        return self.attribution.features

    def unexplained(self) -> float:
        return self.attribution.unexplained(self.weights)


def centred_interval(point: np.ndarray, boot: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval around the point estimate: ``point ± t(B−1) × sd`` of the refits' values (axis 0).

    Centred on the model's own estimate, so it always contains it (percentiles of the refits need
    not: three point estimates lay outside their own interval), and the t quantile widens it honestly
    when there are few refits (10 for a gradient-boosting model). See benchmarks/interval_coverage.py."""
    n = boot.shape[0]
    spread = boot.std(axis=0, ddof=1) if n > 1 else np.zeros_like(point, dtype=float)
    half = _t_quantile(confidence, max(1, n - 1)) * spread
    return point - half, point + half


@functools.lru_cache(maxsize=64)
def _t_quantile(confidence: float, df: int) -> float:
    """Student's t quantile (scipy.stats imported on first use: it costs about 0.6 s)."""
    from scipy.stats import t as student_t

    return float(student_t.ppf((1 + confidence) / 2, df))


def _instability_warnings(whole: dict, low: dict, high: dict, confidence: float) -> tuple[str, ...]:
    """Flag features whose interval includes zero although they carry a large share of the movement.

    Share = |φ_j| / Σ_k |φ_k| (of the whole): robust when parts offset each other and the net
    predicted change is near zero.
    """
    denom = sum(abs(v) for v in whole.values())
    if denom == 0:
        return ()
    out = []
    for f, v in whole.items():
        share = abs(v) / denom
        if share > UNSTABLE_SHARE and low[f] <= 0.0 <= high[f]:
            out.append(
                f"The contribution of '{f}' ({v:+.4g}, {share:.0%} of the explained movement) is uncertain: "
                f"its {confidence:.0%} interval runs from {low[f]:.4g} to {high[f]:.4g} and includes zero, "
                f"so the model cannot say reliably whether '{f}' pushed the metric up or down."
            )
    return tuple(out)


@dataclass(frozen=True)
class BootstrapAttribution:
    """Per-area attributions of the same pairs under the model and each bootstrap refit.

    Computed once per period pair for every area; any group of areas (a region, the whole)
    then gets its point attribution and interval by summing rows, which is exact because
    paired baseline SHAP of a sum is the sum of the areas' values.
    """

    point: PairedAttribution
    boot_phi: np.ndarray  # (n_bootstrap, n_areas, n_features)

    def for_areas(self, areas=None, *, weights: np.ndarray | None = None,
                  confidence: float = 0.9) -> AttributionWithIntervals:
        """Intervals for the areas named (default all), weighted like ``PairedAttribution.total``."""
        if not 0.0 < confidence < 1.0:
            raise ModelError("confidence must be between 0 and 1, for example 0.9")
        point = self.point
        if areas is not None:
            position = {a: i for i, a in enumerate(point.areas)}
            index = np.array([position[a] for a in areas if a in position], dtype=int)
            point = PairedAttribution(
                features=point.features, areas=tuple(point.areas[i] for i in index),
                phi=_readonly(point.phi[index]), pred_from=_readonly(point.pred_from[index]),
                pred_to=_readonly(point.pred_to[index]), actual_from=_readonly(point.actual_from[index]),
                actual_to=_readonly(point.actual_to[index]), unpaired=point.unpaired)
            boot_phi = self.boot_phi[:, index, :]
        else:
            boot_phi = self.boot_phi
        w = None if weights is None else _weights(weights, len(point.areas))
        boot_whole = boot_phi.sum(axis=1) if w is None else np.einsum("bnk,n->bk", boot_phi, w)
        whole = point.total(w)
        area_low, area_high = centred_interval(point.phi, boot_phi, confidence)
        w_low, w_high = centred_interval(np.array([whole[f] for f in point.features]), boot_whole, confidence)
        whole_low = {f: float(v) for f, v in zip(point.features, w_low)}
        whole_high = {f: float(v) for f, v in zip(point.features, w_high)}
        msgs = _instability_warnings(whole, whole_low, whole_high, confidence)
        return AttributionWithIntervals(
            attribution=point, confidence=float(confidence), whole=whole, whole_low=whole_low,
            whole_high=whole_high, area_low=_readonly(area_low), area_high=_readonly(area_high),
            bootstrap_whole=_readonly(boot_whole), warnings=msgs, weights=None if w is None else _readonly(w))


def attribute_all(fitted: FittedDrivers, rows_from: pd.DataFrame, rows_to: pd.DataFrame) -> BootstrapAttribution:
    """Paired attributions of every area under the model and every bootstrap refit."""
    if len(fitted.bootstrap_models) < 2:
        raise ModelError(
            "Intervals need a model fitted with at least 2 bootstrap refits; refit it with bootstrapping"
        )
    a, b, areas, unpaired = _pair(rows_from, rows_to)
    designs: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def attribute(model: DriverModel) -> PairedAttribution:
        # the rows are paired once, and each design matrix built once for all models that share it
        # (every refit of a boosted model sees the same features)
        key = (model.kind, tuple(model.feature_names_), tuple(getattr(model, "season_levels_", ())))
        if key not in designs:
            designs[key] = model.design(a), model.design(b)
        return _attribute_paired(model, a, b, areas, unpaired, *designs[key])

    point = attribute(fitted.model)
    boot_phi = []
    for m in fitted.bootstrap_models:
        if tuple(m.feature_names_) != point.features:
            raise ModelError("The bootstrap models do not have the same drivers as the model; refit it")
        boot_phi.append(attribute(m).phi)
    return BootstrapAttribution(point, _readonly(np.stack(boot_phi)))


def attribute_with_intervals(
    fitted: FittedDrivers,
    rows_from: pd.DataFrame,
    rows_to: pd.DataFrame,
    *,
    confidence: float = 0.9,
    weights: np.ndarray | None = None,
) -> AttributionWithIntervals:
    """Point attribution from ``fitted.model``; intervals from the bootstrap models' attributions of
    the SAME pairs (percentile method). Needs at least 2 bootstrap models."""
    if not 0.0 < confidence < 1.0:
        raise ModelError("confidence must be between 0 and 1, for example 0.9")
    result = attribute_all(fitted, rows_from, rows_to).for_areas(weights=weights, confidence=confidence)
    for m in result.warnings:
        log.info("attribution: %s", m)
    return result


# ----------------------------------------------------------------------------- unpaired groups


@dataclass(frozen=True)
class GroupAttribution:
    """Φ_j for mean f(B) − mean f(A) with B's rows explained against ALL of A's rows as background."""

    features: tuple[str, ...]
    phi: np.ndarray                 # (n_features,)
    mean_pred_from: float
    mean_pred_to: float
    mean_actual_from: float
    mean_actual_to: float
    n_from: int
    n_to: int

    def total(self) -> dict[str, float]:
        return {f: float(v) for f, v in zip(self.features, self.phi)}

    def unexplained(self) -> float:
        """(ȳ_B − ȳ_A) − (f̄_B − f̄_A), in the metric's units (L5)."""
        return (self.mean_actual_to - self.mean_actual_from) - (self.mean_pred_to - self.mean_pred_from)


def attribute_groups(
    model: DriverModel,
    rows_from_group: pd.DataFrame,
    rows_to_group: pd.DataFrame,
    *,
    engine: str = "exact",
    tolerance: float = 1e-6,
) -> GroupAttribution:
    """The unpaired general form (docs/method.md, L4): B's rows explained against ALL of A's rows as
    background, so Σ_j Φ_j = mean f(B) − mean f(A); additivity is asserted.

    Linear model: ``shap.LinearExplainer`` with ``shap.maskers.Independent(bg, max_samples=len(bg))``
    (never shap's silent 100-row default). Gradient boosting, ``engine="exact"`` (default):
    interventional SHAP is linear in the background, so Φ is the mean of the single-reference
    baseline SHAP over all |A| × |B| pairs, computed by ``explain.treeshap`` in float64 (about 3 s
    for 400 × 400 rows). ``engine="shap"`` uses ``shap.TreeExplainer`` with the same full-background
    masker instead; it is slower and, in shap 0.51 on HistGradientBoosting, not float64-exact: it
    routes values lying exactly on a split threshold (common, since HGB thresholds are often data
    values) differently from scikit-learn, so its parts can miss the change by more than the
    tolerance, which then raises AdditivityError.
    """
    if engine not in ("exact", "shap"):
        raise ModelError(f"Unknown engine {engine!r}; use 'exact' or 'shap'")
    if len(rows_from_group) == 0 or len(rows_to_group) == 0:
        raise ModelError("Both groups need at least one row")
    d_from = model.design(rows_from_group)
    d_to = model.design(rows_to_group)
    if model.kind == "linear":
        _check_linear_complete(d_from, _labels(rows_from_group), model.feature_names_, model.design_groups_, "from")
        _check_linear_complete(d_to, _labels(rows_to_group), model.feature_names_, model.design_groups_, "to")
        values = _shap_values(model, d_from, d_to)
        phi = _group(model, values).mean(axis=0)
    elif engine == "shap":
        phi = _group(model, _shap_values(model, d_from, d_to)).mean(axis=0)
    else:
        acc = np.zeros(d_to.shape[1])
        for j in range(d_from.shape[0]):
            ref = np.broadcast_to(d_from[j], d_to.shape)
            acc += baseline_shap(model.estimator_, d_to, ref).sum(axis=0)
        phi = acc / (d_from.shape[0] * d_to.shape[0])
    preds = model.predict_design(np.vstack([d_from, d_to]))
    pf, pt = float(preds[: len(d_from)].mean()), float(preds[len(d_from):].mean())
    scale = max(1.0, abs(pf), abs(pt))
    _assert_additive(np.array([phi.sum()]), np.array([pt - pf]), np.array([scale]), tolerance, "groups")
    return GroupAttribution(
        features=tuple(model.feature_names_),
        phi=_readonly(phi),
        mean_pred_from=pf,
        mean_pred_to=pt,
        mean_actual_from=_mean_actual(rows_from_group),
        mean_actual_to=_mean_actual(rows_to_group),
        n_from=len(d_from),
        n_to=len(d_to),
    )


def _labels(rows: pd.DataFrame) -> list[str]:
    return [str(v) for v in rows["area"]] if "area" in rows.columns else [str(i) for i in range(len(rows))]


def _mean_actual(rows: pd.DataFrame) -> float:
    y = _actuals(rows)
    return float(np.mean(y)) if len(y) and not np.isnan(y).all() else float("nan")


def _shap_values(model: DriverModel, d_from: np.ndarray, d_to: np.ndarray) -> np.ndarray:
    """shap with every background row kept (Independent masker, max_samples = len(bg))."""
    import shap

    masker = shap.maskers.Independent(d_from, max_samples=len(d_from))
    if model.kind == "linear":
        explainer = shap.LinearExplainer((model.linear_coefficients(), model.linear_intercept()), masker)
        values = explainer.shap_values(d_to)
    else:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # shap's advice to subsample the background is the trap itself
            explainer = shap.TreeExplainer(model.estimator_, data=masker, feature_perturbation="interventional")
            values = explainer.shap_values(d_to, check_additivity=False)
    if explainer_bg_rows(explainer) != len(d_from):
        raise AdditivityError("shap did not keep every background row")
    return np.asarray(values, dtype=np.float64)


def explainer_bg_rows(explainer) -> int:
    """How many background rows a shap explainer actually kept (guards against silent sampling)."""
    data = getattr(explainer, "data", None)
    if data is None:
        data = getattr(getattr(explainer, "masker", None), "data", None)
    return int(np.asarray(data).shape[0]) if data is not None else -1
