"""Driver-model versions in the store: build the training panel, fit (and tune), save,
load, activate.

Every fit is a numbered version with its spec, time-aware CV scores beside a naive
baseline, the data vintage it saw and a hash of its training data. Artefacts are skops
bytes (never pickle), checked against library versions when loaded.
"""
from __future__ import annotations

import json
import logging
import weakref
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from loaders import Store, model_store
from loaders.catalogue import newest_load
from loaders.periods import from_key, parse_period
from loaders.vocabulary import MODEL_KINDS, PSEUDO_DRIVERS

from .data import WHOLE, AreaTree, area_tree, leaf_areas, metric_frame, metric_info, model_spec
from .drivers import DriverModel, FittedDrivers, cross_validate_time, fit_with_bootstrap, tune
from .errors import ModelError
from .persistence import dump_model, library_versions, load_model
from .progress import Plan, Report
from .results import MetricInfo, ModelVersion
from .sharing import check_drivers

log = logging.getLogger(__name__)

DEFAULT_BOOTSTRAP = {"linear": 30, "gradient_boosting": 10}
MIN_PANEL_ROWS = 30


def build_panel(store: Store, metric: MetricInfo, drivers: tuple[str, ...], *, tree: AreaTree | None = None,
                as_at: int | None = None) -> pd.DataFrame:
    """Rows = (leaf area, period): y and each driver's value for that area and period.

    A driver at another frequency is matched by the driver period containing the metric's
    period start (an annual population against monthly caseloads); a driver published only
    for a parent area (a regional rate) is used for each of its areas.
    """
    tree = tree or area_tree(store)
    values = metric_frame(store, metric, as_at=as_at)
    if values.empty:
        raise ModelError(f"{metric.code} has no data to fit a model on. Load it first.")
    leaves = leaf_areas(values, tree)
    panel = values[values["area"].isin(leaves)][["area", "period", "start", "value"]].rename(columns={"value": "y"})
    periods = {p: from_key(metric.frequency, start)
               for p, start in panel[["period", "start"]].drop_duplicates("period").itertuples(index=False)}
    panel["period_ordinal"] = panel["period"].map({k: v.ordinal for k, v in periods.items()}).astype(int)
    panel["season"] = panel["period"].map({k: v.season for k, v in periods.items()}).astype(int)
    rows = _RowKeys(*pd.factorize(panel["area"]), *pd.factorize(panel["start"]))
    for driver in drivers:
        panel[driver] = _driver_column(store, driver, rows, tree, as_at)
    return panel.reset_index(drop=True)


class _RowKeys(NamedTuple):
    """The panel's rows as codes into its distinct areas and period starts (lookups work on those)."""

    area_codes: np.ndarray
    areas: pd.Index
    start_codes: np.ndarray
    starts: pd.Index


def _driver_column(store: Store, driver: str, rows: _RowKeys, tree: AreaTree, as_at: int | None) -> np.ndarray:
    """The driver's value for each panel row: same area, else the nearest ancestor with a value
    (then the whole), at the driver period containing the row's period start. Vectorised: the
    lookups are made once per distinct area (per ancestor level) and period start, then spread."""
    info = metric_info(store, driver)
    frame = metric_frame(store, info, as_at=as_at)
    if frame.empty:
        raise ModelError(f"Driver '{driver}' has no data. Load its source before fitting.")
    grid_areas, grid_starts, grid = _value_grid(frame)
    if info.frequency:
        key_starts = [parse_period(st, prefer=info.frequency).start.isoformat() for st in rows.starts]
    else:
        key_starts = list(rows.starts)
    col = grid_starts.get_indexer(key_starts)[rows.start_codes]
    chains = [(list(reversed(tree.path(a))) or [a]) + [WHOLE] for a in rows.areas]
    out = np.full(len(rows.area_codes), np.nan)
    for level in range(max(len(c) for c in chains)):
        missing = np.isnan(out)
        if not missing.any():
            break
        row = grid_areas.get_indexer([c[level] if level < len(c) else None for c in chains])[rows.area_codes]
        take = missing & (row >= 0) & (col >= 0)
        out[take] = grid[row[take], col[take]]
    return out


#: value grids of the driver frames read lately: (a weak reference to the frame, its grid)
_GRIDS: dict[int, tuple[weakref.ref, tuple[pd.Index, pd.Index, np.ndarray]]] = {}


def _value_grid(frame: pd.DataFrame) -> tuple[pd.Index, pd.Index, np.ndarray]:
    """A metric frame's values on an (area x period start) grid (where a key repeats, the first row
    wins). Kept while the frame lives (``data.metric_frame`` keeps frames by vintage), as every
    explanation in a fresh context assembles its driver panel from the same frames."""
    kept = _GRIDS.get(id(frame))
    if kept is not None and kept[0]() is frame:
        return kept[1]
    grid_areas, grid_starts = pd.Index(frame["area"].unique()), pd.Index(frame["start"].unique())
    grid = np.full((len(grid_areas), len(grid_starts)), np.nan)
    rows, cols = grid_areas.get_indexer(frame["area"]), grid_starts.get_indexer(frame["start"])
    grid[rows[::-1], cols[::-1]] = frame["value"].to_numpy(dtype=float)[::-1]
    for key in [k for k, (ref, _) in _GRIDS.items() if ref() is None]:
        del _GRIDS[key]
    _GRIDS[id(frame)] = (weakref.ref(frame), (grid_areas, grid_starts, grid))
    return grid_areas, grid_starts, grid


def fit_plan(tuning: bool, n_bootstrap: int, report: Report | None = None) -> Plan:
    """The stages of a fit and their shares of the progress bar: building the panel, then tuning
    (the long part of a tune) or one cross-validation, then the fit with its bootstrap refits, then
    saving."""
    search = ("tune", "Tuning hyperparameters with time-aware splits", 45.0) if tuning else \
        ("cross_validate", "Cross-validating with expanding windows", 45.0)
    return Plan([("panel", "Building the training panel", 5.0), search,
                 ("fit", f"Fitting the model and {n_bootstrap} bootstrap refits", 48.0),
                 ("save", "Saved", 2.0)], report)


def fit_driver_model(
    store: Store,
    metric: str,
    *,
    drivers: tuple[str, ...] | list[str] | None = None,
    kind: str | None = None,
    pseudo_drivers: tuple[str, ...] | list[str] | None = None,
    tune_hyperparameters: bool = False,
    n_bootstrap: int | None = None,
    random_state: int = 0,
    progress: Report | None = None,
    should_stop: Callable[[], bool] | None = None,
    activate: bool = True,
    block: int | None = None,
) -> ModelVersion:
    """Fit the metric's driver model, score it time-aware, save it as the next version.

    ``block``: the period-block length of the bootstrap refits (default a year; 0 draws areas only:
    explain.drivers.fit_with_bootstrap).

    ``progress`` receives typed :class:`explain.progress.Stage` reports (see :func:`fit_plan`)."""
    info = metric_info(store, metric)
    spec = model_spec(store, metric) or {}
    drivers = tuple(drivers if drivers is not None else spec.get("drivers", ()))
    kind = kind or spec.get("kind") or "gradient_boosting"
    pseudo = tuple(pseudo_drivers if pseudo_drivers is not None else spec.get("pseudo_drivers", ()))
    if not drivers and not pseudo:
        raise ModelError(f"{metric} has no drivers configured. Add a [[model]] entry to the manifest or pass "
                         "--drivers a,b,c.")
    if kind not in MODEL_KINDS:
        raise ModelError(f"Model kind '{kind}' is not one of {', '.join(MODEL_KINDS)}.")
    unknown = [p for p in pseudo if p not in PSEUDO_DRIVERS]
    if unknown:
        raise ModelError(f"Pseudo-driver {', '.join(unknown)} is not one of {', '.join(PSEUDO_DRIVERS)}.")
    for driver in drivers:
        metric_info(store, driver)  # a clear error for an unknown driver
    check_drivers(store, info.department, drivers)  # a model never names a driver its metric's users cannot see
    boots = DEFAULT_BOOTSTRAP[kind] if n_bootstrap is None else n_bootstrap
    plan = fit_plan(tune_hyperparameters, boots, progress)
    plan.report("panel", 0, 1)
    panel = build_panel(store, info, drivers)
    usable = panel.dropna(subset=["y", *drivers])
    if len(usable) < MIN_PANEL_ROWS:
        raise ModelError(f"{metric} has only {len(usable)} complete rows of metric and drivers; at least "
                         f"{MIN_PANEL_ROWS} are needed to fit a driver model.")
    model = DriverModel(kind, drivers=drivers, pseudo_drivers=pseudo, random_state=random_state)
    tuning: list[dict] = []
    if tune_hyperparameters:
        plan.report("tune", 0, 1)
        model, scores, tuning = tune(model, usable, random_state=random_state, should_stop=should_stop,
                                     progress=plan.step("tune"))
    else:
        plan.report("cross_validate", 0, 1)
        scores = cross_validate_time(model, usable)
        plan.report("cross_validate", 1, 1)
    fitted = fit_with_bootstrap(model, usable, n_bootstrap=boots, random_state=random_state, should_stop=should_stop,
                                progress=plan.step("fit"), block=block)
    vintage = newest_load(store, [metric, *drivers])
    params = {k: v for k, v in fitted.model.get_params().items() if k not in ("drivers", "pseudo_drivers", "kind")}
    version = model_store.save_version(
        store, metric, kind=kind,
        spec=json.dumps({"drivers": list(drivers), "pseudo_drivers": list(pseudo), "params": params,
                         "n_bootstrap": boots, "bootstrap": "areas" if block == 0 else "areas and period blocks",
                         "tuning": tuning}, default=str),
        scores=json.dumps(scores.to_dict()), data_vintage=vintage, training_hash=fitted.training_hash,
        libraries=json.dumps(library_versions()), artefact=dump_model(fitted), activate=activate)
    _LOADED[(store.url, metric, version, fitted.training_hash)] = fitted  # explanations next need it
    log.info("fitted %s model version %d (%s): cv R² %.3f", metric, version, kind, scores.r2)
    plan.report("save", 1, 1)
    return get_version(store, metric, version)


def _row_to_version(row) -> ModelVersion:
    spec = json.loads(row.spec)
    return ModelVersion(
        metric=row.metric_code, version=row.version, kind=row.kind, drivers=tuple(spec.get("drivers", ())),
        pseudo_drivers=tuple(spec.get("pseudo_drivers", ())), params=spec.get("params", {}),
        scores=json.loads(row.scores), data_vintage=row.data_vintage, training_hash=row.training_hash,
        created_at=row.created_at, active=bool(row.active), libraries=json.loads(row.libraries),
        tuning=tuple(spec.get("tuning", ())),
    )


def list_versions(store: Store, metric: str) -> list[ModelVersion]:
    return [_row_to_version(r) for r in model_store.version_rows(store, metric)]


def get_version(store: Store, metric: str, version: int | None = None) -> ModelVersion | None:
    """A version's metadata (the active one when ``version`` is None)."""
    row = model_store.version_row(store, metric, version)
    return _row_to_version(row) if row else None


def ensure_model(store: Store, metric: str) -> ModelVersion | None:
    """The active model version of a metric whose manifest gives it a ``[[model]]``, fitting and
    activating version 1 first when none was ever fitted (None for a metric without a spec, and
    for one whose versions are all inactive: an analyst fitted one without making it active, or its
    activation was refused as not better than the naive forecast, and that choice stands).

    Explicit on purpose: reading a metric never fits or writes anything; the operations that may
    fit (an explanation asked for, the precompute after a load) call this first."""
    if model_spec(store, metric) is None:
        return None
    version = get_version(store, metric)
    if version is None and not model_store.version_rows(store, metric):
        log.info("no model version for %s: fitting version 1", metric)
        version = fit_driver_model(store, metric)
    return version


def prepare_process() -> bool:
    """Pay a long-lived process's one-off costs of explaining with a driver model before anyone waits
    for them: importing this module has imported scikit-learn and shap; this also loads the compiled
    SHAP kernel from numba's on-disk cache (0.4 s), then freezes the objects the process holds so far.

    Why freeze: those libraries leave a quarter of a million objects that live as long as the process,
    and every full collection of the cyclic garbage collector walks them all. Reading a metric's
    48,000 values creates enough objects to trigger such collections: 90 ms of a 140 ms read. Frozen
    objects are skipped (``gc.freeze``); nothing else changes. Web workers call this at start
    (dashapp.app.warm_up). Returns whether the numba kernel is in use."""
    import gc

    from .drivers import one_thread
    from .treeshap import numba_available

    available = numba_available()
    with one_thread():  # finds the process's OpenMP and BLAS libraries once (every predict limits them)
        pass
    gc.collect()  # what is garbage now is freed, not frozen
    gc.freeze()
    return available


_LOADED: dict[tuple[str, str, int, str], FittedDrivers] = {}


def load_fitted(store: Store, metric: str, version: int) -> FittedDrivers:
    """The fitted model of a version, kept per process: versions never change once saved (the
    training hash is part of the key), and loading a gradient-boosting artefact with its
    bootstrap refits takes seconds."""
    digest = model_store.training_hash(store, metric, version)
    key = (store.url, metric, version, digest or "")
    if digest and key in _LOADED:
        return _LOADED[key]
    blob = model_store.artefact(store, metric, version)
    if blob is None:
        raise ModelError(f"{metric} has no model version {version}.")
    fitted = load_model(blob, metric=metric)
    if len(_LOADED) > 32:
        _LOADED.clear()
    _LOADED[key] = fitted
    return fitted


def activate_version(store: Store, metric: str, version: int) -> ModelVersion:
    """Make ``version`` the one explanations use (callers then refresh the precomputed cache).

    Unguarded: the shells activate through :func:`explain.operations.activate_and_refresh`, which
    refuses a version not better than the naive forecast unless forced."""
    if not model_store.activate(store, metric, version):
        raise ModelError(f"{metric} has no model version {version}.")
    return get_version(store, metric, version)
