"""Component ids of the analysis pages: Trends (``trends-``), Explain (``explain-``) and the
Model lab (``lab-``: the server's callback guard requires the analyst role for any request
naming a ``lab-`` id, so every id of the lab, chart cards included, starts with it).

Ids are constants or built by the small functions below, never by string concatenation in
pages. Pattern-matching ids are dicts with a ``type`` key.
"""
from __future__ import annotations

# ----------------------------------------------------------------------------- trends
TRENDS_URL = "trends-url"
TRENDS_METRIC = "trends-metric"            # pattern type: {"type": TRENDS_METRIC, "dept": code}
TRENDS_METRIC_STORE = "trends-metric-store"
TRENDS_AREA = "trends-area"                # area_picker prefix (-scope, -search)
TRENDS_FROM = "trends-from"
TRENDS_TO = "trends-to"
TRENDS_PERIODS = "trends-periods"          # datalist of the metric's periods
TRENDS_PERIODS_SLOT = "trends-periods-slot"
TRENDS_CONTROLS_TITLE = "trends-controls-title"
TRENDS_VINTAGE = "trends-vintage"
TRENDS_COMPARE = "trends-compare"
TRENDS_MESSAGES = "trends-messages"
TRENDS_RESULT = "trends-result"
TRENDS_FRESHNESS = "trends-freshness"       # data vintage and last updated
TRENDS_CARD = "trends-chart"               # chart_card ids (letters, digits, - and _)
TRENDS_COMPARE_CARD = "trends-compare-chart"
TRENDS_MEASURE = "trends-measure"            # radio: cash | real | per_head
TRENDS_REVISION_CARD = "trends-revision-chart"  # what revisions changed in the latest revised period
TRENDS_PANEL = "trends-panel"              # the collapsible controls (html.Details)
TRENDS_SELECTION_TEXT = "trends-selection-text"  # what is shown, in the panel's summary line
TRENDS_FROM_ERROR = "trends-from-error"
TRENDS_TO_ERROR = "trends-to-error"
TRENDS_FROM_HINT = "trends-from-hint"
TRENDS_COMPARE_MESSAGE = "trends-compare-message"
TRENDS_ANSWER = "trends-answer"

# ----------------------------------------------------------------------------- explain
EXPLAIN_URL = "explain-url"
EXPLAIN_METRIC = "explain-metric"          # pattern type, as TRENDS_METRIC
EXPLAIN_METRIC_STORE = "explain-metric-store"
EXPLAIN_AREA = "explain-area"
EXPLAIN_COMPARISON = "explain-comparison"  # radio: previous | year | custom
EXPLAIN_FROM = "explain-from"
EXPLAIN_TO = "explain-to"
EXPLAIN_PERIODS = "explain-periods"
EXPLAIN_PERIODS_SLOT = "explain-periods-slot"
EXPLAIN_CONTROLS_TITLE = "explain-controls-title"
EXPLAIN_APPLY = "explain-apply"
EXPLAIN_BY = "explain-by"
EXPLAIN_VS = "explain-vs"                  # radio: period | first | a plan or forecast series
EXPLAIN_MEASURE = "explain-measure"        # radio: cash | real | per_head
EXPLAIN_MEASURE_SPLIT = "explain-measure-split"
EXPLAIN_CROSS = "explain-cross"            # checkbox: also search areas × breakdown values
EXPLAIN_CROSS_RESULT = "explain-cross-result"  # the search's segments  # the cash change split into real change and prices
EXPLAIN_MESSAGES = "explain-messages"
EXPLAIN_REQUEST = "explain-request"        # dcc.Store: the selection being shown
EXPLAIN_PENDING = "explain-pending"        # dcc.Store: a selection with no precomputed explanation
EXPLAIN_COMPUTED = "explain-computed"      # dcc.Store: written by the background computation
EXPLAIN_KICK = "explain-kick"              # dcc.Interval: starts the job for a layout with no cached result
EXPLAIN_PROGRESS = "explain-progress"      # progress block (bar, label, status)
EXPLAIN_CANCEL = "explain-cancel"
EXPLAIN_RESULT = "explain-result"
EXPLAIN_DRIVERS_CARD = "explain-drivers"
EXPLAIN_COMPONENTS_CARD = "explain-components"
EXPLAIN_SEGMENTS_CARD = "explain-segments"
EXPLAIN_PANEL = "explain-panel"            # the collapsible controls (html.Details)
EXPLAIN_SELECTION_TEXT = "explain-selection-text"
EXPLAIN_FROM_ERROR = "explain-from-error"
EXPLAIN_TO_ERROR = "explain-to-error"
EXPLAIN_FROM_HINT = "explain-from-hint"
EXPLAIN_TO_HINT = "explain-to-hint"

# ----------------------------------------------------------------------------- model lab
LAB_URL = "lab-url"
LAB_METRIC = "lab-metric"
LAB_DRIVERS = "lab-drivers"
LAB_KIND = "lab-kind"
LAB_PSEUDO = "lab-pseudo"
LAB_FIT = "lab-fit"
LAB_TUNE = "lab-tune"
LAB_CANCEL = "lab-cancel"
LAB_PROGRESS = "lab-progress"
LAB_FIT_RESULT = "lab-fit-result"
LAB_FIT_REQUEST = "lab-fit-request"        # dcc.Store: the signed job request of a fit
LAB_FIT_ERRORS = "lab-fit-errors"
LAB_FITTED = "lab-fitted"                  # dcc.Store: bumps when a fit saved a version
LAB_VERSION = "lab-version"                # radio: the version diagnosed / made active
LAB_VERSIONS = "lab-versions"              # the versions table
LAB_JOBS = "lab-jobs"                      # the analyst's recent background jobs
LAB_ACTIVATE = "lab-activate"
LAB_ACTIVATE_PROGRESS = "lab-activate-progress"
LAB_ACTIVATE_CANCEL = "lab-activate-cancel"
LAB_ACTIVATED = "lab-activated"            # dcc.Store: bumps when a version was made active
LAB_ACTIVATE_RESULT = "lab-activate-result"
LAB_ACTIVATE_REQUEST = "lab-activate-request"
LAB_ACTIVATE_ERRORS = "lab-activate-errors"
LAB_DIAGNOSTICS = "lab-diagnostics"
LAB_DIAGNOSTICS_STATUS = "lab-diagnostics-status"
LAB_PD_DRIVER = "lab-pd-driver"
LAB_PD = "lab-pd"
LAB_MESSAGES = "lab-messages"
LAB_CONTROLS_TITLE = "lab-controls-title"
LAB_CV_CARD = "lab-cv"
LAB_IMPORTANCE_CARD = "lab-importance"
LAB_PD_CARD = "lab-pd-chart"
LAB_RESIDUALS_CARD = "lab-residuals"


def metric_group(page_type: str, department: str) -> dict:
    """One department's metric radios (all groups of a page share ``page_type``)."""
    return {"type": page_type, "dept": department}


def progress_parts(prefix: str) -> dict[str, str]:
    """Ids of a progress block: wrapper, bar, visible label and the polite live status."""
    return {"block": prefix, "bar": f"{prefix}-bar", "label": f"{prefix}-label", "status": f"{prefix}-status"}

# ----------------------------------------------------------------------------- model lab: the activation guard
LAB_ACTIVATE_CONFIRM = "lab-activate-confirm"            # shown instead of activating a version no better than naive
LAB_ACTIVATE_CONFIRM_TEXT = "lab-activate-confirm-text"  # its message: the figures and the verdict
LAB_ACTIVATE_ANYWAY = "lab-activate-anyway"              # "Activate anyway" (needs a rule in dashapp/access.py)
