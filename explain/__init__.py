"""whytrend's explanation engine: why did a metric move between two periods?

Public API (everything else is internal)::

    from explain import open_store, explain_change, fit_driver_model, precompute

    store = open_store("whytrend.db")
    result = explain_change(store, "uc_caseload", "2025-09", "2026-09", area="E12000001")
    result.to_dict()      # the JSON object of the public contract
    result.narrative      # plain English for senior officials

Operations that change the store and refresh what they made stale (load, fit, activate, the demo)
are in :mod:`explain.operations`, which the CLI and the pages both call. Results are frozen
dataclasses (:mod:`explain.results`). This package never imports dash or plotly, and never
SQLAlchemy: reads go through :class:`loaders.Store` and :mod:`loaders.catalogue`.

Names are imported on first use (PEP 562): ``import explain`` is cheap, so a shell that only loads
data (``whytrend load --no-precompute``) does not pay for scikit-learn, shap and numba.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: public name -> the submodule that defines it
_HOMES: dict[str, str] = {
    "cached_explanation": "api",
    "comparison_periods": "api",
    "explain_change": "api",
    "headline": "api",
    "precompute": "api",
    "trend": "api",
    "Reason": "briefing",
    "Point": "comparison",
    "CrossSearch": "cross_search",
    "cross_segments": "cross_search",
    "explain_points": "comparison",
    "revision_of": "comparison",
    "series_of": "comparison",
    "measures_of": "measures",
    "EventCause": "known_events",
    "main_reason": "briefing",
    "WHOLE": "data",
    "AreaTree": "data",
    "area_tree": "data",
    "departments": "data",
    "events": "data",
    "formula_names": "data",
    "latest_grade": "data",
    "list_metrics": "data",
    "metric_changes": "data",
    "metric_frame": "data",
    "metric_info": "data",
    "metric_sources": "data",
    "open_store": "data",
    "source_spec": "data",
    "ActivationRefused": "errors",
    "AdditivityError": "errors",
    "ExplainError": "errors",
    "ModelError": "errors",
    "activate_version": "models",
    "build_panel": "models",
    "ensure_model": "models",
    "fit_driver_model": "models",
    "get_version": "models",
    "list_versions": "models",
    "load_fitted": "models",
    "prepare_process": "models",
    "ModelQuality": "model_quality",
    "judge": "model_quality",
    "DEMO_USERS": "operations",
    "DemoSetUp": "operations",
    "DemoUser": "operations",
    "LoadResult": "operations",
    "ModelChange": "operations",
    "activate_and_refresh": "operations",
    "ensure_demo_users": "operations",
    "fit_and_refresh": "operations",
    "load_and_refresh": "operations",
    "load_file_and_refresh": "operations",
    "refresh": "operations",
    "set_up_demo": "operations",
    "Plan": "progress",
    "Stage": "progress",
    "AreaInfo": "results",
    "ComponentPart": "results",
    "DriverContribution": "results",
    "Explanation": "results",
    "Headline": "results",
    "MetricInfo": "results",
    "ModelSummary": "results",
    "ModelVersion": "results",
    "PrecomputeSummary": "results",
    "SegmentPart": "results",
    "Trend": "results",
    "TrendPoint": "results",
    "check_drivers": "sharing",
    "visible_driver_codes": "sharing",
    "visible_to": "sharing",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'explain' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # the names as static checkers and editors see them
    from .api import cached_explanation, comparison_periods, explain_change, headline, precompute, trend  # noqa: F401
    from .briefing import Reason, main_reason  # noqa: F401
    from .data import (  # noqa: F401
        WHOLE,
        AreaTree,
        area_tree,
        departments,
        events,
        formula_names,
        latest_grade,
        list_metrics,
        metric_changes,
        metric_frame,
        metric_info,
        metric_sources,
        open_store,
        source_spec,
    )
    from .errors import ActivationRefused, AdditivityError, ExplainError, ModelError  # noqa: F401
    from .model_quality import ModelQuality, judge  # noqa: F401
    from .models import (  # noqa: F401
        activate_version,
        build_panel,
        ensure_model,
        fit_driver_model,
        get_version,
        list_versions,
        load_fitted,
        prepare_process,
    )
    from .operations import (  # noqa: F401
        DEMO_USERS,
        DemoSetUp,
        DemoUser,
        LoadResult,
        ModelChange,
        activate_and_refresh,
        ensure_demo_users,
        fit_and_refresh,
        load_and_refresh,
        load_file_and_refresh,
        refresh,
        set_up_demo,
    )
    from .progress import Plan, Stage  # noqa: F401
    from .results import (  # noqa: F401
        AreaInfo,
        ComponentPart,
        DriverContribution,
        Explanation,
        Headline,
        MetricInfo,
        ModelSummary,
        ModelVersion,
        PrecomputeSummary,
        SegmentPart,
        Trend,
        TrendPoint,
    )
    from .sharing import check_drivers, visible_driver_codes, visible_to  # noqa: F401
