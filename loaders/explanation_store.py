"""Precomputed explanations in the store: the SQL behind ``explain.cache``.

Entries are keyed by (metric, area, by, periods, data vintage, model version). A read joins the
metric's current state (:mod:`loaders.freshness`), so it is one indexed lookup that can only find
an entry made from the data and model the store holds now: a stale entry is never served, even
before the refresh after a load has run. Payloads are JSON text; ``explain`` turns them into
result objects.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import and_, delete, select

from . import schema as s
from .store import Store, insert_if_absent, now
from .vocabulary import WHOLE_AREA

KEY = ("metric_code", "area_code", "by", "period_from", "period_to", "data_vintage", "model_version")


def current_payload(store: Store, *, metric: str, area: str | None, period_from: str, period_to: str,
                    by: str | None = None) -> str | None:
    """The JSON of the entry made from the metric's current data vintage and model version, or None."""
    t, m = s.explanations, s.metric_states
    query = select(t.c.payload).join(m, and_(
        m.c.metric_code == t.c.metric_code, m.c.data_vintage == t.c.data_vintage,
        m.c.model_version == t.c.model_version)).where(
        t.c.metric_code == metric, t.c.area_code == (area or WHOLE_AREA), t.c.by == (by or ""),
        t.c.period_from == period_from, t.c.period_to == period_to)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar()


def put(store: Store, rows: Sequence[Mapping], *, replace: bool = True) -> int:
    """Store entries (dicts with the :data:`KEY` fields and ``payload``); returns how many.

    ``replace=False`` when the caller knows none of the keys exists yet (the precompute checks
    first), which saves a delete per row. Two processes writing the same key at once store the
    same answer: the second is ignored, never an error."""
    if not rows:
        return 0
    t = s.explanations
    created = now()
    rows = [dict(row, area_code=row.get("area_code") or WHOLE_AREA, by=row.get("by") or "", created_at=created)
            for row in rows]
    with store.engine.begin() as conn:
        for row in rows if replace else ():
            conn.execute(delete(t).where(and_(*(t.c[k] == row[k] for k in KEY))))
        insert_if_absent(conn, t, rows, KEY)
    return len(rows)


def prune(store: Store, metric: str, *, keep_vintage: int, keep_model_version: int) -> int:
    """Delete a metric's entries made from other vintages or model versions."""
    t = s.explanations
    with store.engine.begin() as conn:
        result = conn.execute(delete(t).where(t.c.metric_code == metric).where(
            (t.c.data_vintage != keep_vintage) | (t.c.model_version != keep_model_version)))
    return result.rowcount or 0


def stored_pairs(store: Store, metric: str, *, data_vintage: int, model_version: int) -> set[tuple[str, str, str]]:
    """(area, period_from, period_to) of the area splits already stored for this vintage and model."""
    t = s.explanations
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.area_code, t.c.period_from, t.c.period_to).where(
            t.c.metric_code == metric, t.c.data_vintage == data_vintage, t.c.model_version == model_version,
            t.c.by == "")).all()
    return {(r.area_code, r.period_from, r.period_to) for r in rows}
