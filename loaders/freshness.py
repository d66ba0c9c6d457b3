"""How fresh each metric is: the one cache policy of whytrend.

Every cache of whytrend — precomputed explanations in the store, metric frames and fitted models
kept per process, and the app's memo of page data — is keyed by a metric's **state**: the data
vintage its explanations depend on and the version of its active driver model. This module
keeps those states in the ``metric_states`` table, inside the same transaction as whatever
changed them (a load, a manifest sync, a model fit or activation), so a reader can never see new
data with an old key, and reading a key is one indexed lookup, not a walk over loads.

* ``data_vintage``: the newest load that wrote the metric, any metric its formula uses (at any
  depth) or any driver of its model (the manifest's ``[[model]]`` and the active version's).
* ``model_version``: the active driver-model version (0 when none).
* ``generation``: a store-wide counter, raised each time any state changes; a process that memoises
  anything derived from the store compares one number per request (:meth:`Store.generation`).

:func:`sync_states` recomputes every state (a grouped query over ``load_metrics`` and the formula
walk of :mod:`loaders.formula`) and writes only those that changed; what changed is exactly the set
of metrics whose explanations must be refreshed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from . import schema as s
from .formula import names as formula_names


@dataclass(frozen=True)
class MetricState:
    """What a metric's cached results are keyed by."""

    data_vintage: int = 0
    model_version: int = 0
    generation: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return self.data_vintage, self.model_version


def dependencies(conn: Connection) -> dict[str, set[str]]:
    """Each metric's direct inputs: its formula's components and its model's drivers (the manifest's
    ``[[model]]`` and the active version's, which a fit may have chosen differently)."""
    out: dict[str, set[str]] = {}
    for code, formula in conn.execute(select(s.metrics.c.code, s.metrics.c.formula)):
        out[code] = set(formula_names(formula)) if formula else set()
    for code, drivers in conn.execute(select(s.model_specs.c.metric_code, s.model_specs.c.drivers)):
        out.setdefault(code, set()).update(json.loads(drivers))
    active = select(s.model_versions.c.metric_code, s.model_versions.c.spec).where(s.model_versions.c.active)
    for code, spec in conn.execute(active):
        out.setdefault(code, set()).update(json.loads(spec).get("drivers", ()))
    return out


def closure(inputs: dict[str, set[str]], code: str) -> set[str]:
    """``code`` and everything it depends on, at any depth (a cycle, refused at manifest check, stops)."""
    seen, stack = {code}, [code]
    while stack:
        for name in inputs.get(stack.pop(), ()):
            if name not in seen:
                seen.add(name)
                stack.append(name)
    return seen


def computed_states(conn: Connection) -> dict[str, tuple[int, int]]:
    """Every metric's (data vintage, model version) as the loads and models in the store make them."""
    written = dict(conn.execute(
        select(s.metrics.c.code, func.max(s.load_metrics.c.load_id))
        .join(s.load_metrics, s.load_metrics.c.metric_id == s.metrics.c.id).group_by(s.metrics.c.code)).all())
    active = dict(conn.execute(select(s.model_versions.c.metric_code, s.model_versions.c.version)
                               .where(s.model_versions.c.active)).all())
    inputs = dependencies(conn)
    codes = [r[0] for r in conn.execute(select(s.metrics.c.code))]
    return {code: (max((int(written.get(c) or 0) for c in closure(inputs, code)), default=0),
                   int(active.get(code) or 0)) for code in codes}


def sync_states(conn: Connection) -> set[str]:
    """Bring ``metric_states`` in line with the store, in the caller's transaction; returns the metrics
    whose state changed (their cached explanations are stale and need refreshing)."""
    wanted = computed_states(conn)
    stored = {r.metric_code: (r.data_vintage, r.model_version) for r in conn.execute(select(s.metric_states))}
    changed = {code for code, key in wanted.items() if stored.get(code) != key}
    if not changed:
        return set()
    generation = int(conn.execute(select(func.max(s.metric_states.c.generation))).scalar() or 0) + 1
    for code in sorted(changed):
        vintage, version = wanted[code]
        values = dict(data_vintage=vintage, model_version=version, generation=generation)
        if code in stored:
            conn.execute(update(s.metric_states).where(s.metric_states.c.metric_code == code).values(**values))
        else:
            conn.execute(insert(s.metric_states).values(metric_code=code, **values))
    return changed


def touch(conn: Connection, metric: str) -> None:
    """Raise ``metric``'s generation without changing its key: something that lists of its models show
    changed (a new inactive version), though no explanation did."""
    generation = int(conn.execute(select(func.max(s.metric_states.c.generation))).scalar() or 0) + 1
    if not conn.execute(update(s.metric_states).where(s.metric_states.c.metric_code == metric)
                        .values(generation=generation)).rowcount:
        conn.execute(insert(s.metric_states).values(metric_code=metric, data_vintage=0, model_version=0,
                                                    generation=generation))
        sync_states(conn)


def read_states(conn: Connection, metrics: Iterable[str] | None = None) -> dict[str, MetricState]:
    """The stored states (all, or of ``metrics``)."""
    query = select(s.metric_states)
    if metrics is not None:
        query = query.where(s.metric_states.c.metric_code.in_(list(metrics)))
    return {r.metric_code: MetricState(r.data_vintage, r.model_version, r.generation) for r in conn.execute(query)}
