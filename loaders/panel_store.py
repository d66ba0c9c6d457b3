"""Stored driver panels: the SQL behind ``explain.panel_cache``.

One row per metric. A read joins the metric's current state (:mod:`loaders.freshness`), so it can
only find the panel built from the data and model the store holds now; a write is refused unless
the panel was built from that state, so a slow precompute of older data never replaces a newer
panel. Payloads are bytes that ``explain`` encodes and decodes.
"""
from __future__ import annotations

from sqlalchemy import and_, delete, select

from . import schema as s
from .sql import insert_if_absent
from .store import Store, now


def current_payload(store: Store, metric: str) -> bytes | None:
    """The panel built from the metric's current data vintage and model version, or None."""
    t, m = s.driver_panels, s.metric_states
    query = select(t.c.payload).join(m, and_(
        m.c.metric_code == t.c.metric_code, m.c.data_vintage == t.c.data_vintage,
        m.c.model_version == t.c.model_version)).where(t.c.metric_code == metric)
    with store.engine.connect() as conn:
        payload = conn.execute(query).scalar()
    return bytes(payload) if payload is not None else None


def put(store: Store, metric: str, *, data_vintage: int, model_version: int, payload: bytes) -> bool:
    """Keep ``payload`` as the metric's panel if (data_vintage, model_version) is still its current
    state; returns whether it was kept. Replaces the metric's earlier panel in the same transaction."""
    t, m = s.driver_panels, s.metric_states
    with store.engine.begin() as conn:
        state = conn.execute(select(m.c.data_vintage, m.c.model_version).where(m.c.metric_code == metric)).first()
        if state is None or (state.data_vintage, state.model_version) != (data_vintage, model_version):
            return False
        conn.execute(delete(t).where(t.c.metric_code == metric))
        insert_if_absent(conn, t, [dict(metric_code=metric, data_vintage=data_vintage, model_version=model_version,
                                        payload=payload, created_at=now())], ["metric_code"])
    return True
