"""The words whytrend's layers share, each defined here once and imported everywhere else.

Why one module: the same word used to be spelled out in several places (``"ALL"`` in ten,
the model kinds in three, the roles in four), and a change in one copy broke the others
silently. ``loaders`` is the bottom layer, so ``explain`` and ``dashapp`` can import from here.

Display text is never a logic flag: test ``area is None`` or :func:`is_whole`, never compare
with :data:`WHOLE_AREA_NAME`.
"""
from __future__ import annotations

from typing import Final

#: The whole (every area together) is stored and addressed under this pseudo-area code.
WHOLE_AREA: Final = "ALL"
#: How the whole is named to people.
WHOLE_AREA_NAME: Final = "All areas"
#: Area level of the whole.
WHOLE_AREA_LEVEL: Final = "whole"

#: User roles, least to most powerful (a role can do everything the ones before it can).
ROLES: Final = ("viewer", "analyst", "admin")

#: Driver-model kinds a manifest's ``[[model]] kind`` may name.
MODEL_KINDS: Final = ("linear", "gradient_boosting")

#: Pseudo-drivers a model may use besides the metric's real drivers, and the panel column
#: each reads (``trend`` is the period's ordinal, ``seasonality`` its season number).
PSEUDO_DRIVER_COLUMNS: Final = {"trend": "period_ordinal", "seasonality": "season"}
PSEUDO_DRIVERS: Final = tuple(PSEUDO_DRIVER_COLUMNS)
#: and how people read them
PSEUDO_DRIVER_NAMES: Final = {"trend": "Trend", "seasonality": "Seasonality"}


def is_whole(area: str | None) -> bool:
    """True for every way callers name the whole: ``None``, ``""`` or :data:`WHOLE_AREA`."""
    return area in (None, "", WHOLE_AREA)


def role_at_least(role: str, needed: str) -> bool:
    """True when ``role`` may do what ``needed`` may (unknown roles may do nothing)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)
