"""Which metrics a department may see as drivers: the one rule of cross-department sharing.

A user tied to a department sees that department's metrics. A metric of another department is
visible to them *as a driver* (its name in a model, its contributions, its values in the Model
lab) only when its department shares it: ``shared = true`` (every department) or
``shared = ["DWP", ...]`` on the metric in the manifest. The rule is enforced twice:

* when a model is fitted (:func:`check_drivers`): a metric's model may use only drivers its own
  department can see, so every explanation of a metric names only drivers that everyone who may
  see the metric may also see;
* by the app, which refuses requests naming a driver the user cannot see and never shows one.

Unscoped users (HM Treasury; ``department`` None) see every metric.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from loaders import Store

from .data import list_metrics
from .errors import ModelError

EVERY_DEPARTMENT = "*"


def visible_to(metric_department: str, shares: Iterable[str], department: str | None) -> bool:
    """Whether users of ``department`` may see a metric of ``metric_department`` shared with ``shares``."""
    if department is None or department == metric_department:
        return True
    shares = set(shares)
    return EVERY_DEPARTMENT in shares or department in shares


def visible_driver_codes(store: Store, department: str | None) -> frozenset[str]:
    """Every metric code users of ``department`` may see as a driver."""
    shares = store.metric_shares()
    return frozenset(m.code for m in list_metrics(store)
                     if visible_to(m.department, shares.get(m.code, ()), department))


def check_drivers(store: Store, metric_department: str, drivers: Iterable[str],
                  shares: Mapping[str, Iterable[str]] | None = None) -> None:
    """Raise :class:`ModelError` when a driver is not visible to the metric's own department."""
    shares = store.metric_shares() if shares is None else shares
    owners = {m.code: m.department for m in list_metrics(store)}
    hidden = [d for d in drivers if d in owners and not visible_to(owners[d], shares.get(d, ()), metric_department)]
    if hidden:
        listed = ", ".join(f"'{d}' ({owners[d]})" for d in hidden)
        raise ModelError(
            f"A model of a {metric_department} metric cannot use {listed}: "
            f"{'it is' if len(hidden) == 1 else 'they are'} not shared with {metric_department}. Ask the owning "
            f"department to add shared = true (or shared = [\"{metric_department}\"]) to the metric in its manifest, "
            "or choose other drivers.")
