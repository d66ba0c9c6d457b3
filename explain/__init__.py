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
"""
from .api import cached_explanation, comparison_periods, explain_change, headline, precompute, trend
from .data import (
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
from .errors import AdditivityError, ExplainError, ModelError
from .models import activate_version, build_panel, ensure_model, fit_driver_model, get_version, list_versions, load_fitted
from .operations import (
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
from .progress import Plan, Stage
from .results import (
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
from .sharing import check_drivers, visible_driver_codes, visible_to

__all__ = [
    "WHOLE", "AdditivityError", "AreaInfo", "AreaTree", "ComponentPart", "DriverContribution", "ExplainError",
    "Explanation", "Headline", "MetricInfo", "ModelError", "ModelSummary", "ModelVersion", "PrecomputeSummary",
    "SegmentPart", "Trend", "TrendPoint", "activate_version", "area_tree", "build_panel",
    "cached_explanation", "comparison_periods", "departments", "events", "explain_change", "fit_driver_model", "get_version",
    "headline", "latest_grade", "list_metrics", "list_versions", "load_fitted", "metric_changes", "metric_frame",
    "metric_info", "metric_sources", "open_store", "precompute", "source_spec", "trend", "check_drivers",
    "visible_driver_codes", "visible_to", "DEMO_USERS", "DemoSetUp", "DemoUser", "LoadResult", "ModelChange",
    "activate_and_refresh", "ensure_demo_users", "ensure_model", "fit_and_refresh", "load_and_refresh",
    "load_file_and_refresh", "refresh", "set_up_demo", "Plan", "Stage", "formula_names",
]
