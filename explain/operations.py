"""The operations the CLI and the pages share, each written once: load and refresh, fit (and refresh
when the new version becomes active), activate and refresh, and setting up the demo with its users.

Activation is guarded: a version that is not better than the naive forecast on both out-of-sample
R² and mean absolute error (:func:`explain.model_quality.judge`) is not made active unless forced
(:class:`explain.errors.ActivationRefused`, carrying the verdict and figures).

Why here: the shells used to hold their own copies ("refresh everything" in the CLI, "refresh what
the source wrote" in the upload page, two "fit then refresh"), and they drifted. Refreshing after a
load follows one rule: the metrics the load made stale, as the store computed them in the load's
transaction (:attr:`loaders.SourceOutcome.affected_metrics`, from :mod:`loaders.freshness`).

Progress is reported as typed :class:`explain.progress.Stage` values, never as prose.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from loaders import Manifest, SourceOutcome, Store, load_manifest_file, load_source
from loaders.accounts import add_user, get_user
from loaders.manifest import Source

from .errors import ActivationRefused, ModelError
from .model_quality import ModelQuality, judge
from .progress import Report
from .results import ModelVersion, PrecomputeSummary

# The engine (explain.api, explain.models: scikit-learn, shap, numba) is imported inside the
# functions that need it, so loading data without a refresh stays light.

log = logging.getLogger(__name__)

#: (user name, password, role, department) of the demo's sign-ins; fixed so the demo is easy to try.
DEMO_USERS = (
    ("admin", "whytrend-admin", "admin", None),
    ("analyst", "whytrend-analyst", "analyst", None),
    ("treasury", "whytrend-treasury", "viewer", None),
    ("dwp", "whytrend-dwp", "viewer", "DWP"),
    ("nhs", "whytrend-nhs", "viewer", "DHSC"),
)


@dataclass(frozen=True)
class LoadResult:
    """What a load did: one outcome per source, the metrics it made stale, and the refresh."""

    outcomes: tuple[SourceOutcome, ...]
    affected: tuple[str, ...]
    refreshed: PrecomputeSummary | None

    @property
    def failed(self) -> tuple[SourceOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "failed")


@dataclass(frozen=True)
class ModelChange:
    """A fitted or activated model version, and the refresh of its metric's explanations (None when
    the version is not active, so nothing explanations read has changed)."""

    version: ModelVersion
    refreshed: PrecomputeSummary | None

    @property
    def quality(self) -> ModelQuality:
        """The version's out-of-sample quality against the naive forecast."""
        return judge(self.version.scores)


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    department: str | None
    created: bool  # False: the account existed already and was left as it was


@dataclass(frozen=True)
class DemoSetUp:
    lines: tuple[str, ...]
    users: tuple[DemoUser, ...]
    refreshed: PrecomputeSummary


def affected_by(outcomes: Iterable[SourceOutcome]) -> tuple[str, ...]:
    """The metrics whose explanations the loaded sources made stale (sorted, each once)."""
    return tuple(sorted({m for o in outcomes if o.status == "loaded" for m in o.affected_metrics}))


def refresh(store: Store, metrics: Sequence[str] | None, *, workers: int = 1,
            progress: Report | None = None) -> PrecomputeSummary | None:
    """Refresh the precomputed explanations of ``metrics`` (None: every metric; empty: none)."""
    if metrics is not None and not metrics:
        return None
    from .api import precompute

    return precompute(store, metrics=None if metrics is None else list(metrics), workers=workers, progress=progress)


def load_and_refresh(store: Store, manifest: Manifest | str | Path, *, only: Sequence[str] | None = None,
                     allowed_dirs: Sequence[Path] = (), on_source: Callable[[SourceOutcome], None] | None = None,
                     refresh_explanations: bool = True, workers: int = 1, allow_withdrawals: bool = False,
                     progress: Report | None = None) -> LoadResult:
    """Load a manifest's sources (each its own vintage, all or nothing per source), then refresh the
    explanations of the metrics the loads made stale. ``allow_withdrawals``: see
    :func:`loaders.load_manifest_file`."""
    outcomes = tuple(load_manifest_file(store, manifest, only=only, on_source=on_source, allowed_dirs=allowed_dirs,
                                        allow_withdrawals=allow_withdrawals))
    return _refreshed(store, outcomes, refresh_explanations, workers, progress)


def load_file_and_refresh(store: Store, manifest: Manifest, source: Source, location: str, *,
                          progress: Report | None = None, allow_withdrawals: bool = False,
                          shown_as: str | None = None) -> LoadResult:
    """Load one file as a new vintage of ``source`` (an upload), then refresh what it made stale.
    ``allow_withdrawals``: the user confirmed that the file may withdraw values (see load_source);
    ``shown_as``: the file's own name, for the problems and quarantine reasons."""
    outcome = load_source(store, manifest, source, location=location, allow_withdrawals=allow_withdrawals,
                          shown_as=shown_as)
    return _refreshed(store, (outcome,), True, 1, progress)


def _refreshed(store: Store, outcomes: tuple[SourceOutcome, ...], wanted: bool, workers: int,
               progress: Report | None) -> LoadResult:
    affected = affected_by(outcomes)
    summary = refresh(store, affected, workers=workers, progress=progress) if wanted else None
    return LoadResult(outcomes, affected, summary)


def fit_and_refresh(store: Store, metric: str, *, drivers: Sequence[str] | None = None, kind: str | None = None,
                    pseudo_drivers: Sequence[str] | None = None, tune: bool = False, activate: bool = True,
                    force: bool = False, progress: Report | None = None,
                    should_stop: Callable[[], bool] | None = None) -> ModelChange:
    """Fit (and optionally tune) a new model version; when it becomes active, refresh the metric's
    explanations. The Model lab fits inactive versions (``activate=False``) for inspection.

    With ``activate``, the new version becomes active only when it is better than the naive
    forecast (or ``force``); otherwise it stays saved but inactive, the previous active version
    stays active, and :class:`~explain.errors.ActivationRefused` (``saved=True``) says so."""
    from .models import fit_driver_model, get_version

    before = get_version(store, metric) if activate else None
    version = fit_driver_model(store, metric, drivers=None if drivers is None else tuple(drivers), kind=kind,
                               pseudo_drivers=None if pseudo_drivers is None else tuple(pseudo_drivers),
                               tune_hyperparameters=tune, progress=progress, should_stop=should_stop,
                               activate=False)
    if not activate:
        return ModelChange(version, None)
    return _activate(store, version, force=force, active=before.version if before else None, saved=True)


def activate_and_refresh(store: Store, metric: str, version: int, *, force: bool = False,
                         progress: Report | None = None) -> ModelChange:
    """Make a model version the active one, then refresh the metric's explanations.

    A version that is not better than the naive forecast is refused
    (:class:`~explain.errors.ActivationRefused`) unless ``force``; the active version itself is
    never refused (making it active again changes nothing but refreshes)."""
    from .models import get_version

    target = get_version(store, metric, version)
    if target is None:
        raise ModelError(f"{metric} has no model version {version}.")
    current = target if target.active else get_version(store, metric)
    return _activate(store, target, force=force, active=current.version if current else None, progress=progress)


def _activate(store: Store, version: ModelVersion, *, force: bool, active: int | None, saved: bool = False,
              progress: Report | None = None) -> ModelChange:
    """The one guarded activation: judge, refuse or activate, refresh."""
    from .models import activate_version

    quality = judge(version.scores)
    if quality.better_than_naive is not True and not force and active != version.version:
        raise ActivationRefused(version.metric, version.version, quality, active=active, saved=saved)
    if quality.better_than_naive is not True:
        log.info("%s model version %d made active although it is %s", version.metric, version.version,
                    quality.verdict)
    made = activate_version(store, version.metric, version.version)
    return ModelChange(made, refresh(store, [version.metric], progress=progress))


def ensure_demo_users(store: Store) -> tuple[DemoUser, ...]:
    """Create the demo users that do not exist yet (existing accounts are never changed; the password
    shown for one is the demo's default, which may have been changed since)."""
    out = []
    for username, password, role, department in DEMO_USERS:
        created = get_user(store, username) is None
        if created:
            add_user(store, username, password, role=role, department=department)
        out.append(DemoUser(username, password, role, department, created))
    return tuple(out)


def set_up_demo(store: Store, directory: Path, *, on_source: Callable[[SourceOutcome], None] | None = None,
                workers: int = 2, progress: Report | None = None) -> DemoSetUp:
    """Write the bundled demo files, load them through the real loaders (two vintages), refresh every
    explanation and create the demo's users."""
    from loaders.demo import run_demo

    summary = run_demo(store, directory, on_source=on_source)
    refreshed = refresh(store, None, workers=workers, progress=progress)
    return DemoSetUp(tuple(summary.lines()), ensure_demo_users(store), refreshed)
