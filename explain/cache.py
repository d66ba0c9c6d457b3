"""Precomputed explanations, keyed by (metric, area, by, periods, data vintage, model version).

The key carries the data vintage and the model version, so a lookup with the current ones can
never return an explanation made from older data or another model: stale entries are simply
not found (and are pruned when a newer precompute runs).
"""
from __future__ import annotations

import json

from sqlalchemy import and_, delete, select

from loaders import Store
from loaders import schema as s
from loaders.store import insert_if_absent, now

from .results import Explanation

WHOLE = s.WHOLE_AREA


def get(store: Store, *, metric: str, area: str | None, period_from: str, period_to: str, data_vintage: int,
        model_version: int, by: str | None = None) -> Explanation | None:
    t = s.explanations
    with store.engine.connect() as conn:
        payload = conn.execute(select(t.c.payload).where(
            t.c.metric_code == metric, t.c.area_code == (area or WHOLE), t.c.by == (by or ""),
            t.c.period_from == period_from, t.c.period_to == period_to, t.c.data_vintage == data_vintage,
            t.c.model_version == model_version)).scalar()
    return Explanation.from_dict(json.loads(payload)) if payload else None


def put_many(store: Store, explanations: list[Explanation], *, model_version: int, replace: bool = True) -> int:
    """Store explanations; returns how many were written. ``replace=False`` when the caller
    knows none of the keys exists yet (the precompute checks first), which saves a delete
    per row."""
    if not explanations:
        return 0
    t = s.explanations
    created = now()
    rows = [dict(data_vintage=e.data_vintage, model_version=model_version, metric_code=e.metric,
                 area_code=e.area or WHOLE, by=e.by or "", period_from=e.period_from, period_to=e.period_to,
                 payload=json.dumps(e.to_dict()), created_at=created) for e in explanations]
    with store.engine.begin() as conn:
        for row in rows if replace else ():
            conn.execute(delete(t).where(and_(
                t.c.metric_code == row["metric_code"], t.c.area_code == row["area_code"], t.c.by == row["by"],
                t.c.period_from == row["period_from"], t.c.period_to == row["period_to"],
                t.c.data_vintage == row["data_vintage"], t.c.model_version == row["model_version"])))
        # insert-if-absent: two processes precomputing the same key at once (two loads, or a load and
        # a page's background job) store the same answer; the second must not fail on the key
        insert_if_absent(conn, t, rows, ("metric_code", "area_code", "by", "period_from", "period_to",
                                         "data_vintage", "model_version"))
    return len(rows)


def prune(store: Store, metric: str, *, keep_vintage: int, keep_model_version: int) -> int:
    """Delete a metric's entries made from other vintages or model versions."""
    t = s.explanations
    with store.engine.begin() as conn:
        result = conn.execute(delete(t).where(t.c.metric_code == metric).where(
            (t.c.data_vintage != keep_vintage) | (t.c.model_version != keep_model_version)))
    return result.rowcount or 0


def cached_pairs(store: Store, metric: str, *, data_vintage: int, model_version: int) -> set[tuple[str, str, str]]:
    """(area, period_from, period_to) already precomputed for the current vintage and model."""
    t = s.explanations
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.c.area_code, t.c.period_from, t.c.period_to).where(
            t.c.metric_code == metric, t.c.data_vintage == data_vintage, t.c.model_version == model_version,
            t.c.by == "")).all()
    return {(r.area_code, r.period_from, r.period_to) for r in rows}
