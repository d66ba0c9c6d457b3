"""Driver models for a metric: estimators behind one small interface, time-aware validation, tuning
and an area bootstrap.

Why it looks like this:

* ``DriverModel`` follows scikit-learn conventions (params stored by ``__init__``, learned state
  ending in ``_``) so ``clone``, ``get_params`` and skops work on it unchanged.
* The linear model is a Ridge on standardised design columns inside a Pipeline: it stays exactly
  linear, so the attribution closed form φ_j = β_j·Δx_j holds in original units.
* Gradient boosting is ``HistGradientBoostingRegressor`` on numeric features only, without early
  stopping (no hidden random validation split across time).
* Every fit and predict runs with ONE OpenMP thread: docs/performance.md measured an 11× slowdown for
  a 2-thread HGB fit next to one busy process, while 1 thread was unaffected.
* Validation splits by period with an expanding window, never at random across time, and always
  scores the persistence baseline on the same rows so a score has something to beat.

The panel: one row per (area, period) with ``area``, ``period_ordinal``, ``season``, ``y`` and one
float column per driver. Rows with NaN in y or a used feature are dropped at fit (count logged).
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from explain.errors import ModelError
from explain.treeshap import tree_predict
from loaders.vocabulary import MODEL_KINDS, PSEUDO_DRIVER_COLUMNS, PSEUDO_DRIVERS

log = logging.getLogger(__name__)

__all__ = [
    "DriverModel",
    "CvScores",
    "FittedDrivers",
    "time_splits",
    "cross_validate_time",
    "tune",
    "fit_with_bootstrap",
    "training_hash",
]

_PSEUDO_COLUMN = PSEUDO_DRIVER_COLUMNS
#: Fewest training rows a model may be fitted on (after dropping rows with missing values).
MIN_TRAIN_ROWS = 10

# ----------------------------------------------------------------------------- threads

_CONTROLLER = None


@contextmanager
def one_thread() -> Iterator[None]:
    """Limit OpenMP/BLAS pools to one thread for the duration (see docs/performance.md on contention).

    A ``ThreadpoolController`` is built once (inspecting loaded libraries takes ~5 ms); applying
    its limit afterwards costs microseconds, so this can wrap every predict. Limits are
    process-wide, so in a threaded web worker an overlapping exit can briefly restore the default
    for another thread: run workers and background jobs with ``OMP_NUM_THREADS=1`` as well.
    Without threadpoolctl (it ships with scikit-learn) that variable is the only control.
    """
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController

            _CONTROLLER = ThreadpoolController()
        ctx = _CONTROLLER.limit(limits=1)
    except ImportError:  # pragma: no cover - threadpoolctl is a scikit-learn dependency
        yield
        return
    with ctx:
        yield


# ----------------------------------------------------------------------------- the model


class DriverModel(RegressorMixin, BaseEstimator):
    """A metric's driver model: ``y ~ f(drivers, trend, seasonality)`` on panel rows.

    Parameters are stored as given (scikit-learn convention); they are checked at ``fit``.
    ``kind`` is "linear" (Ridge with ``alpha``) or "gradient_boosting" (HistGradientBoosting with
    the remaining parameters). ``drivers`` are panel column names; ``pseudo_drivers`` a subset of
    ("trend", "seasonality").

    Learned attributes: ``estimator_``, ``feature_names_`` (drivers then pseudo-drivers),
    ``n_features_in_`` (len(feature_names_)), ``n_train_rows_``, ``design_groups_`` (for each
    design column, the index of the feature it belongs to; the linear model's seasonality is a
    group of one-hot columns) and ``season_levels_`` (the one-hot levels, linear only).
    """

    def __init__(
        self,
        kind: str = "gradient_boosting",
        *,
        drivers=(),
        pseudo_drivers=(),
        alpha: float = 1.0,
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_depth: int | None = 6,
        max_leaf_nodes: int | None = 31,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        random_state: int | None = 0,
    ):
        self.kind = kind
        self.drivers = drivers
        self.pseudo_drivers = pseudo_drivers
        self.alpha = alpha
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    # -- validation -----------------------------------------------------------------

    def _feature_names(self) -> list[str]:
        """Check the parameters that define features; return drivers + pseudo-drivers in order."""
        if self.kind not in MODEL_KINDS:
            raise ModelError(f"Unknown model kind {self.kind!r}; use one of: {', '.join(MODEL_KINDS)}")
        drivers = [self.drivers] if isinstance(self.drivers, str) else list(self.drivers)
        pseudo = [self.pseudo_drivers] if isinstance(self.pseudo_drivers, str) else list(self.pseudo_drivers)
        for p in pseudo:
            if p not in PSEUDO_DRIVERS:
                raise ModelError(f"Unknown pseudo-driver {p!r}; use one of: {', '.join(PSEUDO_DRIVERS)}")
        clash = sorted(set(drivers) & set(PSEUDO_DRIVERS))
        if clash:
            raise ModelError(f"A driver may not be called {clash[0]!r}: that name is a pseudo-driver")
        names = drivers + pseudo
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ModelError(f"Driver {dupes[0]!r} is listed more than once")
        if not names:
            raise ModelError("A driver model needs at least one driver or pseudo-driver")
        return names

    def _source_columns(self, names: list[str]) -> list[str]:
        return [_PSEUDO_COLUMN.get(n, n) for n in names]

    def _check_columns(self, X: pd.DataFrame, names: list[str]) -> None:
        if not isinstance(X, pd.DataFrame):
            raise ModelError("A driver model works on a panel DataFrame, not a bare array")
        missing = [n for n, c in zip(names, self._source_columns(names)) if c not in X.columns]
        if missing:
            cols = ", ".join(f"{n!r} (column {_PSEUDO_COLUMN.get(n, n)!r})" for n in missing)
            raise ModelError(f"The panel has no data for driver(s) {cols}")

    # -- design ---------------------------------------------------------------------

    def _raw_features(self, X: pd.DataFrame, names: list[str]) -> np.ndarray:
        """One float column per feature, in feature order (season as its ordinal number)."""
        cols = self._source_columns(names)
        sub = X[cols]
        if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in sub.dtypes):
            # Fast path (attribution calls this per request): one conversion for all columns.
            return np.array(sub.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64, order="C")
        out = np.empty((len(X), len(cols)), dtype=np.float64)
        for k, _c in enumerate(cols):
            out[:, k] = pd.to_numeric(sub.iloc[:, k], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def _design_from_raw(self, raw: np.ndarray, names: list[str], season_levels) -> tuple[np.ndarray, np.ndarray]:
        """Expand seasonality into one-hot columns for the linear model; return (design, groups)."""
        if self.kind != "linear" or "seasonality" not in names:
            return raw, np.arange(len(names))
        s = names.index("seasonality")
        season = raw[:, s]
        onehot = (season[:, None] == np.asarray(season_levels, dtype=np.float64)[None, :]).astype(np.float64)
        onehot[np.isnan(season)] = np.nan
        design = np.concatenate([raw[:, :s], onehot, raw[:, s + 1:]], axis=1)
        groups = np.concatenate([np.arange(s), np.full(len(season_levels), s), np.arange(s + 1, len(names))])
        return design, groups

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self, "estimator_")
        except NotFittedError as e:
            raise ModelError("The driver model has not been fitted yet") from e

    def design(self, X: pd.DataFrame) -> np.ndarray:
        """The feature matrix the fitted estimator sees for panel rows ``X`` (float64, NaN kept)."""
        self._check_fitted()
        names = list(self.feature_names_)
        self._check_columns(X, names)
        raw = self._raw_features(X, names)
        design, _ = self._design_from_raw(raw, names, getattr(self, "season_levels_", ()))
        return design

    # -- fit / predict ----------------------------------------------------------------

    def _make_estimator(self):
        if self.kind == "linear":
            return Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=self.alpha))])
        return HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            categorical_features=None,
            random_state=self.random_state,
        )

    def fit(self, X: pd.DataFrame, y=None) -> "DriverModel":
        """Fit on panel rows; ``y`` defaults to ``X['y']``. Rows missing y or a feature are dropped."""
        names = self._feature_names()
        self._check_columns(X, names)
        if y is None:
            if "y" not in X.columns:
                raise ModelError("The panel has no 'y' column to fit the driver model on")
            y = X["y"]
        y_arr = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
        yv = pd.to_numeric(pd.Series(y_arr), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if yv.shape[0] != len(X):
            raise ModelError(f"y has {yv.shape[0]} values for {len(X)} panel rows")
        raw = self._raw_features(X, names)
        keep = ~np.isnan(yv) & ~np.isnan(raw).any(axis=1)
        dropped = int((~keep).sum())
        if dropped:
            log.info("driver model: dropped %d of %d rows with a missing value in y or a driver", dropped, len(X))
        empty = [n for k, n in enumerate(names) if np.isnan(raw[:, k]).all()]
        if empty:
            raise ModelError(f"Driver {empty[0]!r} has no numeric values in the panel")
        raw, yv = raw[keep], yv[keep]
        if raw.shape[0] < MIN_TRAIN_ROWS:
            raise ModelError(
                f"Too little data to fit a driver model: {raw.shape[0]} complete rows "
                f"(after dropping {dropped} with missing values); at least {MIN_TRAIN_ROWS} are needed"
            )
        season_levels: tuple[float, ...] = ()
        if self.kind == "linear" and "seasonality" in names:
            season_levels = tuple(float(v) for v in np.unique(raw[:, names.index("seasonality")]))
            if season_levels == (0.0,):
                raise ModelError("Seasonality needs monthly or quarterly periods; this metric's periods have no season")
        design, groups = self._design_from_raw(raw, names, season_levels)
        est = self._make_estimator()
        with one_thread():
            est.fit(design, yv)
        self.estimator_ = est
        self.feature_names_ = tuple(names)
        self.n_features_in_ = len(names)
        self.n_train_rows_ = int(raw.shape[0])
        self.n_dropped_rows_ = dropped
        self.design_groups_ = groups
        self.season_levels_ = season_levels
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predictions for panel rows (linear: rows with a missing feature raise ModelError)."""
        return self.predict_design(self.design(X))

    def predict_design(self, design: np.ndarray) -> np.ndarray:
        """Predictions for an already built design matrix (used by attribution to avoid rebuilding).
        A boosted model's come from the flat trees the SHAP kernel walks (explain.treeshap.tree_predict),
        bit for bit scikit-learn's without its 2 ms of checks per call."""
        self._check_fitted()
        if self.kind == "linear" and np.isnan(design).any():
            raise ModelError("The linear driver model cannot predict rows with a missing driver value")
        with one_thread():
            if self.kind == "linear":
                return np.asarray(self.estimator_.predict(design), dtype=np.float64)
            return tree_predict(self.estimator_, design)

    def linear_coefficients(self) -> np.ndarray:
        """β per design column in ORIGINAL units (coef / scale): f(x) = b + Σ β_c x_c exactly."""
        self._check_fitted()
        if self.kind != "linear":
            raise ModelError("Only the linear driver model has coefficients")
        scale = self.estimator_.named_steps["scale"].scale_
        return self.estimator_.named_steps["ridge"].coef_ / scale

    def linear_intercept(self) -> float:
        """The intercept in original units, so f(x) = intercept + x @ linear_coefficients()."""
        sc = self.estimator_.named_steps["scale"]
        ridge = self.estimator_.named_steps["ridge"]
        return float(ridge.intercept_ - np.sum(ridge.coef_ * sc.mean_ / sc.scale_))


# ----------------------------------------------------------------------------- scoring helpers


def _clean_panel(model: DriverModel, panel: pd.DataFrame) -> pd.DataFrame:
    """The rows a fit would keep, so CV splits and the baseline see exactly the training rows."""
    names = model._feature_names()
    model._check_columns(panel, names)
    if "y" not in panel.columns:
        raise ModelError("The panel has no 'y' column")
    for col in ("area", "period_ordinal"):
        if col not in panel.columns:
            raise ModelError(f"The panel has no {col!r} column")
    used = ["y"] + model._source_columns(names)
    num = panel[used].apply(pd.to_numeric, errors="coerce")
    keep = num.notna().all(axis=1).to_numpy()
    return panel.loc[keep].reset_index(drop=True)


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    sst = float(np.sum((y - y.mean()) ** 2))
    return float("nan") if sst == 0 else 1.0 - float(np.sum((y - p) ** 2)) / sst


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def _explained_variance(y: np.ndarray, p: np.ndarray) -> float:
    vy = float(np.var(y))
    return float("nan") if vy == 0 else 1.0 - float(np.var(y - p)) / vy


@dataclass(frozen=True)
class CvScores:
    """Out-of-sample scores pooled over all test rows of the time splits, plus the naive baseline.

    Pooled (one R² over every out-of-sample prediction) rather than a mean of fold R²s: a test
    block of a few periods can have almost no variance, which makes single-fold R² erratic.
    ``baseline_*`` score persistence (each area's last training value) on the same rows.
    """

    r2: float
    mae: float
    explained_variance: float
    baseline_r2: float
    baseline_mae: float
    n_splits: int
    folds: tuple[dict, ...] = field(default_factory=tuple)

    @property
    def beats_baseline(self) -> bool:
        return bool(self.mae < self.baseline_mae)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["folds"] = [dict(f) for f in self.folds]
        return d


def time_splits(
    periods: np.ndarray,
    n_splits: int = 5,
    *,
    min_train_periods: int = 12,
    test_periods: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window splits by PERIOD: (train row indices, test row indices) per fold.

    ``periods`` is the per-row period ordinal. The last ``n_splits × test_periods`` distinct
    periods form consecutive test blocks; each fold trains on every row whose period precedes its
    block. ``test_periods`` defaults to an even share of the periods after the first
    ``min_train_periods``. Fewer folds are made (and logged) when the history is too short.
    """
    periods = np.asarray(periods)
    if n_splits < 1:
        raise ModelError("n_splits must be at least 1")
    uniq = np.unique(periods)
    available = len(uniq) - min_train_periods
    if available < 1:
        raise ModelError(
            f"Time-aware validation needs more than {min_train_periods} periods of history; "
            f"this panel has {len(uniq)}"
        )
    tp = test_periods if test_periods is not None else max(1, available // n_splits)
    if tp < 1:
        raise ModelError("test_periods must be at least 1")
    k = min(n_splits, available // tp)
    if k < 1:
        raise ModelError(
            f"Cannot hold out {tp} test periods after {min_train_periods} training periods: "
            f"the panel has only {len(uniq)} periods"
        )
    if k < n_splits:
        log.warning("time_splits: only %d of %d folds fit in %d periods", k, n_splits, len(uniq))
    splits = []
    first_test = len(uniq) - k * tp
    for f in range(k):
        lo = first_test + f * tp
        test_p = uniq[lo:lo + tp]
        train_idx = np.flatnonzero(periods < test_p[0])
        test_idx = np.flatnonzero(np.isin(periods, test_p))
        splits.append((train_idx, test_idx))
    return splits


def _persistence(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Each test row's area's last observed y in training; areas unseen in training get the
    mean of those last values (documented fallback, so the baseline is defined on every row)."""
    last = train.sort_values("period_ordinal").groupby("area", sort=False)["y"].last()
    pred = test["area"].map(last).to_numpy(dtype=np.float64, na_value=np.nan)
    fallback = float(last.mean()) if len(last) else float(train["y"].mean())
    return np.where(np.isnan(pred), fallback, pred)


def cross_validate_time(model: DriverModel, panel: pd.DataFrame, *, n_splits: int = 5) -> CvScores:
    """Out-of-sample R², MAE and explained variance over expanding-window splits by period, with
    the persistence baseline scored on the same test rows."""
    clean = _clean_panel(model, panel)
    splits = time_splits(clean["period_ordinal"].to_numpy(), n_splits)
    return _score_splits(model, clean, splits)


def _score_splits(model: DriverModel, clean: pd.DataFrame, splits, should_stop=None) -> CvScores:
    ys, ps, bs, folds = [], [], [], []
    per = clean["period_ordinal"].to_numpy()
    for k, (tr, te) in enumerate(splits):
        if should_stop is not None and should_stop():
            raise ModelError("Tuning was cancelled")
        train, test = clean.iloc[tr], clean.iloc[te]
        m = clone(model).fit(train)
        p = m.predict(test)
        b = _persistence(train, test)
        y = test["y"].to_numpy(dtype=np.float64)
        ys.append(y)
        ps.append(p)
        bs.append(b)
        folds.append({
            "fold": k,
            "train_periods": [int(per[tr].min()), int(per[tr].max())],
            "test_periods": [int(per[te].min()), int(per[te].max())],
            "n_train": int(len(tr)),
            "n_test": int(len(te)),
            "r2": _r2(y, p),
            "mae": _mae(y, p),
            "baseline_r2": _r2(y, b),
            "baseline_mae": _mae(y, b),
        })
    y, p, b = np.concatenate(ys), np.concatenate(ps), np.concatenate(bs)
    return CvScores(
        r2=_r2(y, p),
        mae=_mae(y, p),
        explained_variance=_explained_variance(y, p),
        baseline_r2=_r2(y, b),
        baseline_mae=_mae(y, b),
        n_splits=len(splits),
        folds=tuple(folds),
    )


# ----------------------------------------------------------------------------- tuning

_GBM_GRID = {
    "learning_rate": (0.03, 0.05, 0.1, 0.2),
    "max_depth": (3, 4, 6, 8),
    "max_iter": (100, 200, 400),
    "min_samples_leaf": (10, 20, 50),
    "l2_regularization": (0.0, 0.1, 1.0),
}


def _candidates(model: DriverModel, n_candidates: int, random_state: int) -> list[dict]:
    """The model's own params first, then an alpha grid (linear) or a seeded sample of the GBM grid."""
    n_candidates = max(1, int(n_candidates))
    if model.kind == "linear":
        alphas = [float(model.alpha)]
        for a in np.logspace(-3, 3, n_candidates):
            if not np.isclose(a, alphas[0]):
                alphas.append(float(a))
        return [{"alpha": a} for a in alphas[:n_candidates]]
    keys = list(_GBM_GRID)
    own = {k: getattr(model, k) for k in keys}
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(_GBM_GRID[k] for k in keys))]
    out = [own]
    for i in np.random.default_rng(random_state).permutation(len(grid)):
        if len(out) >= n_candidates:
            break
        if grid[i] != own:
            out.append(grid[i])
    return out


def tune(
    model: DriverModel,
    panel: pd.DataFrame,
    *,
    n_splits: int = 5,
    n_candidates: int = 12,
    random_state: int = 0,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[DriverModel, CvScores, list[dict]]:
    """Search hyperparameters on the SAME time splits for every candidate (so scores compare on
    the same test rows); pick the best pooled out-of-sample R² and refit it on all the data.

    Returns (best model refitted, its CvScores, one dict per candidate with its params, scores and
    rank). ``progress(done, total)`` is called after each candidate; ``should_stop()`` is polled
    before each candidate and fold, and a True answer raises ModelError("Tuning was cancelled").
    """
    clean = _clean_panel(model, panel)
    splits = time_splits(clean["period_ordinal"].to_numpy(), n_splits)
    cands = _candidates(model, n_candidates, random_state)
    table: list[dict] = []
    results: list[tuple[DriverModel, CvScores]] = []
    for i, params in enumerate(cands):
        if should_stop is not None and should_stop():
            raise ModelError("Tuning was cancelled")
        cand = clone(model).set_params(**params)
        t0 = time.perf_counter()
        scores = _score_splits(cand, clean, splits, should_stop)
        row = dict(params)
        row.update(r2=scores.r2, mae=scores.mae, explained_variance=scores.explained_variance,
                   seconds=round(time.perf_counter() - t0, 3))
        table.append(row)
        results.append((cand, scores))
        if progress is not None:
            progress(i + 1, len(cands))
    r2s = np.array([s.r2 if np.isfinite(s.r2) else -np.inf for _, s in results])
    best = int(np.argmax(r2s))
    for rank, i in enumerate(np.argsort(-r2s, kind="stable"), start=1):
        table[i]["rank"] = rank
    if should_stop is not None and should_stop():
        raise ModelError("Tuning was cancelled")
    best_model = clone(results[best][0]).fit(panel)
    log.info("tune: best of %d candidates has out-of-sample R² %.4f (%s)", len(cands), results[best][1].r2, cands[best])
    return best_model, results[best][1], table


# ----------------------------------------------------------------------------- bootstrap


def training_hash(model: DriverModel, panel: pd.DataFrame) -> str:
    """sha256 of the training rows (as a fit keeps them), sorted by area and period, over the used
    columns sorted by name. Built from raw column bytes so it does not depend on pandas' hashing."""
    clean = _clean_panel(model, panel)
    cols = sorted(set(["area", "period_ordinal", "y"] + model._source_columns(model._feature_names())))
    clean = clean.sort_values(["area", "period_ordinal"], kind="stable")
    h = hashlib.sha256()
    for c in cols:
        h.update(c.encode() + b"\x00")
        if c == "area":
            h.update("\x1f".join(clean[c].astype(str).tolist()).encode())
        else:
            h.update(np.ascontiguousarray(pd.to_numeric(clean[c]).to_numpy(dtype=np.float64)).tobytes())
        h.update(b"\x1e")
    return h.hexdigest()


@dataclass(frozen=True)
class FittedDrivers:
    """A fitted driver model with its area-bootstrap refits (for intervals) and provenance."""

    model: DriverModel
    bootstrap_models: tuple[DriverModel, ...]
    feature_names: tuple[str, ...]
    training_hash: str
    n_rows: int


def _block_length(panel: pd.DataFrame, n_periods: int) -> int:
    """A year of periods (12 months, 4 quarters, 52 weeks), else a quarter of the periods."""
    per_year = {12: 12, 4: 4, 52: 52}
    seasons = int(panel["season"].max()) if "season" in panel and len(panel) else 0
    return per_year.get(seasons, max(1, n_periods // 4))


def _period_blocks(sample: pd.DataFrame, periods: np.ndarray, length: int, rng: np.random.Generator) -> pd.DataFrame:
    """The rows of ``sample`` for blocks of ``length`` consecutive periods drawn with replacement until
    the panel's number of periods is reached (a moving-block bootstrap over time)."""
    starts = rng.integers(0, len(periods) - length + 1, int(np.ceil(len(periods) / length)))
    chosen = np.concatenate([periods[s:s + length] for s in starts])[: len(periods)]
    by_period = sample.groupby("period_ordinal", sort=False).indices
    parts = [by_period[p] for p in chosen if p in by_period]
    return sample.iloc[np.concatenate(parts)] if parts else sample


def fit_with_bootstrap(
    model: DriverModel,
    panel: pd.DataFrame,
    *,
    n_bootstrap: int = 20,
    random_state: int = 0,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    block: int | None = None,
) -> FittedDrivers:
    """Fit ``model`` on the panel, then refit it ``n_bootstrap`` times on a two-way block bootstrap:
    AREAS drawn with replacement (all periods of a drawn area come together, so within-area
    correlation is kept) and, for each refit, BLOCKS of ``block`` consecutive periods drawn with
    replacement (default: a year of the panel's periods), so shocks common to every area in a period
    (national weather, a recession) vary between refits as they would between samples. An area-only
    bootstrap treats those shocks as fixed and its intervals were too narrow: on the demo's planted
    truth they covered 10 of 19 contributions (benchmarks/interval_coverage.py). ``block=0`` draws areas only.

    Same seed → identical draws and models. Cost: (1 + n_bootstrap) fits with the SAME
    hyperparameters (no re-tuning). Measured for GBM at 48k rows × 22 features × 200 trees
    (benchmarks/explain_core.py): ~0.8–2.4 s per fit on one thread, so the default 20 refits take
    roughly 20–50 s, a background job rather than a request; a linear fit is milliseconds. Each
    bootstrap model is about as large as the main one in the saved artefact. ``progress(done, total)``
    after each fit; ``should_stop()`` before each, raising ModelError("Fitting was cancelled").
    """
    if n_bootstrap < 0:
        raise ModelError("n_bootstrap cannot be negative")
    clean = _clean_panel(model, panel)
    total = n_bootstrap + 1

    def stop() -> None:
        if should_stop is not None and should_stop():
            raise ModelError("Fitting was cancelled")

    stop()
    main = clone(model).fit(clean)
    if progress is not None:
        progress(1, total)
    areas = pd.unique(clean["area"])
    rows_of = clean.groupby("area", sort=False).indices
    rng = np.random.default_rng(random_state)
    periods = np.sort(pd.unique(clean["period_ordinal"])) if "period_ordinal" in clean else np.array([])
    length = _block_length(clean, len(periods)) if block is None else int(block)
    boots = []
    for b in range(n_bootstrap):
        stop()
        drawn = rng.integers(0, len(areas), len(areas))
        idx = np.concatenate([rows_of[areas[i]] for i in drawn])
        sample = clean.iloc[idx]
        if length and len(periods) > 2 * length:
            sample = _period_blocks(sample, periods, length, rng)
        boots.append(clone(model).fit(sample))
        if progress is not None:
            progress(b + 2, total)
    return FittedDrivers(
        model=main,
        bootstrap_models=tuple(boots),
        feature_names=tuple(main.feature_names_),
        training_hash=training_hash(model, clean),
        n_rows=int(main.n_train_rows_),
    )
