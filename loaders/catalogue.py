"""Reads of the store's reference tables for ``explain`` and the app: departments, model specs,
events, metric change logs, which sources wrote a metric, and load grades.

Why here: SQL lives in ``loaders`` only (``explain`` and ``dashapp`` never import SQLAlchemy), so a
change of schema is a change of this package alone. Every function returns plain Python values or
DataFrames.
"""
from __future__ import annotations

import json
from typing import Sequence

import pandas as pd
from sqlalchemy import func, select

from . import schema as s
from .store import Store


def departments(store: Store) -> dict[str, str]:
    """Department code -> name, ordered by code."""
    with store.engine.connect() as conn:
        return dict(conn.execute(select(s.departments.c.code, s.departments.c.name).order_by(s.departments.c.code)).all())


def model_spec(store: Store, metric: str) -> dict | None:
    """The manifest's ``[[model]]`` for ``metric`` (drivers, kind, pseudo_drivers), or None."""
    with store.engine.connect() as conn:
        row = conn.execute(select(s.model_specs).where(s.model_specs.c.metric_code == metric)).first()
    if row is None:
        return None
    return {"drivers": tuple(json.loads(row.drivers)), "kind": row.kind,
            "pseudo_drivers": tuple(json.loads(row.pseudo_drivers))}


def metrics_with_models(store: Store) -> list[str]:
    """Codes of the metrics the manifests give a ``[[model]]``."""
    with store.engine.connect() as conn:
        return [r[0] for r in conn.execute(select(s.model_specs.c.metric_code).order_by(s.model_specs.c.metric_code))]


def event_rows(store: Store) -> list[dict]:
    """Every event (period, title, description, metrics list, areas list), ordered by period; an
    event with no areas touches every area of its metrics."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.events).order_by(s.events.c.period)).mappings().all()
        areas: dict[tuple[str, str], list[str]] = {}
        for r in conn.execute(select(s.event_areas).order_by(s.event_areas.c.area_code)):
            areas.setdefault((r.period, r.title), []).append(r.area_code)
    return [{"period": r["period"], "title": r["title"], "description": r["description"],
             "metrics": json.loads(r["metrics"]), "areas": areas.get((r["period"], r["title"]), [])}
            for r in rows]


def metric_changes(store: Store, metric: str) -> pd.DataFrame:
    """The change log of a metric's definition (name, unit, formula ...), oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.metric_changes).where(s.metric_changes.c.metric_code == metric)
                            .order_by(s.metric_changes.c.id)).mappings().all()
    return pd.DataFrame(rows, columns=["id", "metric_code", "changed_at", "field", "old", "new"])


def sources_of(store: Store, metric: str) -> set[str]:
    """Ids of the sources that wrote ``metric`` in any vintage."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(s.loads.c.source_id).join(s.load_metrics, s.load_metrics.c.load_id == s.loads.c.id)
            .join(s.metrics, s.metrics.c.id == s.load_metrics.c.metric_id)
            .where(s.metrics.c.code == metric).group_by(s.loads.c.source_id)).all()
    return {r.source_id for r in rows}


def source_row(store: Store, source_id: str) -> dict | None:
    """A source's stored manifest entry (its spec), with its department and title; None if unknown."""
    with store.engine.connect() as conn:
        row = conn.execute(select(s.sources).where(s.sources.c.id == source_id)).first()
    if row is None:
        return None
    return json.loads(row.spec) | {"department": row.department_code, "title": row.title}


def latest_grade(store: Store, metrics: Sequence[str]) -> tuple[str, str]:
    """(grade, finished_at) of the newest load that wrote any of ``metrics``; ("", "") if none."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(s.loads.c.grade, s.loads.c.finished_at).join(s.load_metrics, s.load_metrics.c.load_id == s.loads.c.id)
            .join(s.metrics, s.metrics.c.id == s.load_metrics.c.metric_id).where(s.metrics.c.code.in_(list(metrics)))
            .order_by(s.loads.c.id.desc()).limit(1)).first()
    return (row.grade, row.finished_at) if row else ("", "")


def newest_load(store: Store, metrics: Sequence[str]) -> int:
    """The newest load that wrote any of ``metrics`` (0 if none)."""
    with store.engine.connect() as conn:
        value = conn.execute(
            select(func.max(s.load_metrics.c.load_id)).join(s.metrics, s.metrics.c.id == s.load_metrics.c.metric_id)
            .where(s.metrics.c.code.in_(list(metrics)))).scalar()
    return int(value or 0)
