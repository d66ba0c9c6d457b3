"""Precomputed explanations: explanation objects in and out of the store's cache table.

The key carries the data vintage and the model version, and a read matches them against the
metric's current state (:mod:`loaders.freshness`) in the same query, so a lookup can never return
an explanation made from older data or another model: stale entries are simply not found (and are
pruned when a newer precompute runs). The SQL is in :mod:`loaders.explanation_store`.
"""
from __future__ import annotations

import json

from loaders import Store
from loaders import explanation_store as stored

from .results import Explanation


def get(store: Store, *, metric: str, area: str | None, period_from: str, period_to: str,
        by: str | None = None) -> Explanation | None:
    """The explanation made from the metric's current data and model, or None (one key lookup)."""
    payload = stored.current_payload(store, metric=metric, area=area, period_from=period_from,
                                     period_to=period_to, by=by)
    if not payload:
        return None
    data = json.loads(payload)
    if "outcome" not in (data.get("significance") or {}):
        return None  # made before the verdict judged the movement (issue 8): recompute rather than serve it
    return Explanation.from_dict(data)


def put_many(store: Store, explanations: list[Explanation], *, model_version: int, replace: bool = True) -> int:
    """Store explanations; returns how many were written (see :func:`loaders.explanation_store.put`)."""
    return stored.put(store, [dict(
        data_vintage=e.data_vintage, model_version=model_version, metric_code=e.metric, area_code=e.area,
        by=e.by, period_from=e.period_from, period_to=e.period_to, payload=json.dumps(e.to_dict()))
        for e in explanations], replace=replace)


prune = stored.prune
cached_pairs = stored.stored_pairs
