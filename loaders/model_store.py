"""Driver-model versions in the store: the SQL behind ``explain.models``.

A version is saved, activated and read here; fitting and scoring live in ``explain`` (which never
writes SQL). Saving an active version and activating one update the metric's state
(:mod:`loaders.freshness`) in the same transaction, so no cache can pair new model output with an
old key.
"""
from __future__ import annotations

from sqlalchemy import func, insert, select, update

from . import schema as s
from .freshness import sync_states, touch
from .store import Store, now

#: model_versions columns without the (large) artefact
_META = [c for c in s.model_versions.columns if c.name != "artefact"]


def save_version(store: Store, metric: str, *, kind: str, spec: str, scores: str, data_vintage: int,
                 training_hash: str, libraries: str, artefact: bytes, activate: bool) -> int:
    """Save the next version of ``metric``'s model (active when ``activate``); returns its number."""
    t = s.model_versions
    with store.engine.begin() as conn:
        version = int(conn.execute(select(func.max(t.c.version)).where(t.c.metric_code == metric)).scalar() or 0) + 1
        if activate:
            conn.execute(update(t).where(t.c.metric_code == metric).values(active=False))
        conn.execute(insert(t).values(
            metric_code=metric, version=version, kind=kind, spec=spec, scores=scores, data_vintage=data_vintage,
            training_hash=training_hash, libraries=libraries, artefact=artefact, created_at=now(), active=activate))
        if activate:
            sync_states(conn)
        else:
            touch(conn, metric)
    return version


def version_rows(store: Store, metric: str) -> list:
    """Every version's metadata row (no artefact), oldest first."""
    t = s.model_versions
    with store.engine.connect() as conn:
        return list(conn.execute(select(*_META).where(t.c.metric_code == metric).order_by(t.c.version)).all())


def version_row(store: Store, metric: str, version: int | None = None):
    """One version's metadata row (the active one when ``version`` is None), or None."""
    t = s.model_versions
    query = select(*_META).where(t.c.metric_code == metric)
    query = query.where(t.c.version == version) if version else query.where(t.c.active)
    with store.engine.connect() as conn:
        return conn.execute(query).first()


def training_hash(store: Store, metric: str, version: int) -> str | None:
    t = s.model_versions
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.training_hash).where(t.c.metric_code == metric, t.c.version == version)).scalar()


def artefact(store: Store, metric: str, version: int) -> bytes | None:
    t = s.model_versions
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.artefact).where(t.c.metric_code == metric, t.c.version == version)).scalar()


def activate(store: Store, metric: str, version: int) -> bool:
    """Make ``version`` the active one; False when it does not exist (nothing changes)."""
    t = s.model_versions
    with store.engine.begin() as conn:
        exists = conn.execute(select(t.c.id).where(t.c.metric_code == metric, t.c.version == version)).first()
        if exists is None:
            return False
        conn.execute(update(t).where(t.c.metric_code == metric).values(active=t.c.version == version))
        sync_states(conn)
    return True


def active_versions(store: Store) -> dict[str, int]:
    """Metric code -> active model version, for every metric that has one."""
    t = s.model_versions
    with store.engine.connect() as conn:
        return dict(conn.execute(select(t.c.metric_code, t.c.version).where(t.c.active)).all())
