"""Driver-model versions in the store: build the training panel, fit (and tune), save,
load, activate.

Every fit is a numbered version with its spec, time-aware CV scores beside a naive
baseline, the data vintage it saw and a hash of its training data. Artefacts are skops
bytes (never pickle), checked against library versions when loaded.
"""
from __future__ import annotations

import json
import logging
from typing import Callable

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, update

from loaders import Store
from loaders import schema as s
from loaders.periods import from_key, parse_period
from loaders.store import now

from .data import WHOLE, AreaTree, area_tree, data_vintage, metric_frame, metric_info, model_spec
from .drivers import KINDS, PSEUDO_DRIVERS, DriverModel, FittedDrivers, cross_validate_time, fit_with_bootstrap, tune
from .errors import ModelError
from .persistence import dump_model, library_versions, load_model
from .results import MetricInfo, ModelVersion
from .sharing import check_drivers

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
DEFAULT_BOOTSTRAP = {"linear": 30, "gradient_boosting": 10}
MIN_PANEL_ROWS = 30


def leaf_areas(values: pd.DataFrame, tree: AreaTree) -> list[str]:
    """Areas with values none of whose descendants have values: the rows a model learns from."""
    present = set(values["area"]) - {WHOLE}
    covered = set()
    for code in present:
        covered.update(a for a in tree.path(code)[:-1])
    return sorted(present - covered)


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
    periods = {p: from_key(metric.frequency, start) for p, start in zip(panel["period"], panel["start"])}
    panel["period_ordinal"] = panel["period"].map({k: v.ordinal for k, v in periods.items()}).astype(int)
    panel["season"] = panel["period"].map({k: v.season for k, v in periods.items()}).astype(int)
    for driver in drivers:
        panel[driver] = _driver_column(store, driver, panel, tree, as_at)
    return panel.reset_index(drop=True)


def _driver_column(store: Store, driver: str, panel: pd.DataFrame, tree: AreaTree, as_at: int | None) -> np.ndarray:
    """The driver's value for each panel row: same area, else the nearest ancestor with a value
    (then the whole), at the driver period containing the row's period start. Vectorised:
    one lookup per ancestor level, not one per row."""
    info = metric_info(store, driver)
    frame = metric_frame(store, info, as_at=as_at)
    if frame.empty:
        raise ModelError(f"Driver '{driver}' has no data. Load its source before fitting.")
    starts = pd.Series(panel["start"].unique())
    if info.frequency:
        mapped = {st: parse_period(st, prefer=info.frequency).start.isoformat() for st in starts}
    else:
        mapped = {st: st for st in starts}
    key_start = panel["start"].map(mapped).to_numpy()
    values = pd.Series(frame["value"].to_numpy(dtype=float),
                       index=pd.MultiIndex.from_arrays([frame["area"], frame["start"]]))
    values = values[~values.index.duplicated()]
    out = np.full(len(panel), np.nan)
    chains = {a: list(reversed(tree.path(a))) or [a] for a in panel["area"].unique()}
    depth = max(len(c) for c in chains.values()) + 1
    areas = panel["area"].to_numpy()
    for level in range(depth):
        missing = np.isnan(out)
        if not missing.any():
            break
        candidates = np.array([(chains[a] + [WHOLE])[level] if level < len(chains[a]) + 1 else None
                               for a in areas[missing]], dtype=object)
        index = pd.MultiIndex.from_arrays([candidates, key_start[missing]])
        found = values.reindex(index).to_numpy()
        out[np.flatnonzero(missing)] = found
    return out


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
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    activate: bool = True,
) -> ModelVersion:
    """Fit the metric's driver model, score it time-aware, save it as the next version."""
    info = metric_info(store, metric)
    spec = model_spec(store, metric) or {}
    drivers = tuple(drivers if drivers is not None else spec.get("drivers", ()))
    kind = kind or spec.get("kind") or "gradient_boosting"
    pseudo = tuple(pseudo_drivers if pseudo_drivers is not None else spec.get("pseudo_drivers", ()))
    if not drivers and not pseudo:
        raise ModelError(f"{metric} has no drivers configured. Add a [[model]] entry to the manifest or pass "
                         "--drivers a,b,c.")
    if kind not in KINDS:
        raise ModelError(f"Model kind '{kind}' is not one of {', '.join(KINDS)}.")
    unknown = [p for p in pseudo if p not in PSEUDO_DRIVERS]
    if unknown:
        raise ModelError(f"Pseudo-driver {', '.join(unknown)} is not one of {', '.join(PSEUDO_DRIVERS)}.")
    for driver in drivers:
        metric_info(store, driver)  # a clear error for an unknown driver
    check_drivers(store, info.department, drivers)  # a model never names a driver its metric's users cannot see
    report = progress or (lambda done, total, message: None)
    report(0, 3, "Building the training panel")
    panel = build_panel(store, info, drivers)
    usable = panel.dropna(subset=["y", *drivers])
    if len(usable) < MIN_PANEL_ROWS:
        raise ModelError(f"{metric} has only {len(usable)} complete rows of metric and drivers; at least "
                         f"{MIN_PANEL_ROWS} are needed to fit a driver model.")
    model = DriverModel(kind, drivers=drivers, pseudo_drivers=pseudo, random_state=random_state)
    tuning: list[dict] = []
    if tune_hyperparameters:
        report(1, 3, "Tuning hyperparameters with time-aware splits")
        model, scores, tuning = tune(model, usable, random_state=random_state, should_stop=should_stop,
                                     progress=lambda d, t: report(d, t, "Tuning hyperparameters"))
    else:
        report(1, 3, "Cross-validating with expanding windows")
        scores = cross_validate_time(model, usable)
    boots = DEFAULT_BOOTSTRAP[kind] if n_bootstrap is None else n_bootstrap
    fitted = fit_with_bootstrap(model, usable, n_bootstrap=boots, random_state=random_state, should_stop=should_stop,
                                progress=lambda d, t: report(d, t, f"Fitting the model and {boots} bootstrap refits"))
    vintage = data_vintage(store, [metric, *drivers])
    params = {k: v for k, v in fitted.model.get_params().items() if k not in ("drivers", "pseudo_drivers", "kind")}
    with store.engine.begin() as conn:
        version = int(conn.execute(select(func.max(s.model_versions.c.version))
                                   .where(s.model_versions.c.metric_code == metric)).scalar() or 0) + 1
        if activate:
            conn.execute(update(s.model_versions).where(s.model_versions.c.metric_code == metric).values(active=False))
        conn.execute(insert(s.model_versions).values(
            metric_code=metric, version=version, kind=kind,
            spec=json.dumps({"drivers": list(drivers), "pseudo_drivers": list(pseudo), "params": params,
                             "n_bootstrap": boots, "tuning": tuning}, default=str),
            scores=json.dumps(scores.to_dict()), data_vintage=vintage, training_hash=fitted.training_hash,
            libraries=json.dumps(library_versions()), artefact=dump_model(fitted), created_at=now(), active=activate))
    _LOADED[(store.url, metric, version, fitted.training_hash)] = fitted  # explanations next need it
    log.info("fitted %s model version %d (%s): cv R² %.3f", metric, version, kind, scores.r2)
    report(3, 3, "Saved")
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


_META = [c for c in s.model_versions.columns if c.name != "artefact"]


def list_versions(store: Store, metric: str) -> list[ModelVersion]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(*_META).where(s.model_versions.c.metric_code == metric)
                            .order_by(s.model_versions.c.version)).all()
    return [_row_to_version(r) for r in rows]


def get_version(store: Store, metric: str, version: int | None = None) -> ModelVersion | None:
    """A version's metadata (the active one when ``version`` is None)."""
    query = select(*_META).where(s.model_versions.c.metric_code == metric)
    query = query.where(s.model_versions.c.version == version) if version else query.where(s.model_versions.c.active)
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    return _row_to_version(row) if row else None


_LOADED: dict[tuple[str, str, int, str], FittedDrivers] = {}


def load_fitted(store: Store, metric: str, version: int) -> FittedDrivers:
    """The fitted model of a version, kept per process: versions never change once saved (the
    training hash is part of the key), and loading a gradient-boosting artefact with its
    bootstrap refits takes seconds."""
    with store.engine.connect() as conn:
        digest = conn.execute(select(s.model_versions.c.training_hash).where(
            s.model_versions.c.metric_code == metric, s.model_versions.c.version == version)).scalar()
    key = (store.url, metric, version, digest or "")
    if digest and key in _LOADED:
        return _LOADED[key]
    with store.engine.connect() as conn:
        blob = conn.execute(select(s.model_versions.c.artefact).where(
            s.model_versions.c.metric_code == metric, s.model_versions.c.version == version)).scalar()
    if blob is None:
        raise ModelError(f"{metric} has no model version {version}.")
    fitted = load_model(blob, metric=metric)
    if len(_LOADED) > 32:
        _LOADED.clear()
    _LOADED[key] = fitted
    return fitted


def activate_version(store: Store, metric: str, version: int) -> ModelVersion:
    """Make ``version`` the one explanations use (callers then refresh the precomputed cache)."""
    with store.engine.begin() as conn:
        exists = conn.execute(select(s.model_versions.c.id).where(
            s.model_versions.c.metric_code == metric, s.model_versions.c.version == version)).first()
        if exists is None:
            raise ModelError(f"{metric} has no model version {version}.")
        conn.execute(update(s.model_versions).where(s.model_versions.c.metric_code == metric)
                     .values(active=s.model_versions.c.version == version))
    return get_version(store, metric, version)
