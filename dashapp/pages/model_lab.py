"""Model lab ("/model-lab?metric="; analysts): fit, compare and activate driver models.

For a metric with a model spec: choose candidate drivers, the model kind and pseudo-drivers;
"Fit" or "Tune" runs :func:`explain.fit_driver_model` as a background job with a progress bar
and a Cancel button, saving a new version that is NOT active. Each version shows its
out-of-sample (time-aware cross-validation) scores against the naive forecast, each area's last
value carried forward (with the per-fold table and the verdict of :func:`explain.judge`), driver
importance, the partial dependence of one driver and the residuals of the whole over time; "Make
this version active" calls :func:`explain.activate_and_refresh` (which refreshes the precomputed
explanations), also in the background. For a version that is not better than the naive forecast
it first shows a confirmation with the figures and an "Activate anyway" button
(:func:`dashapp.presenters_model_lab.activation_step`): an activate job's ticket is only issued
for a better version, the active one, or after "Activate anyway", so the job forces the activation.

Every component id starts with ``lab-``: the server refuses those callbacks to non-analysts.
"""
from __future__ import annotations

import logging

import dash
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashapp import analysis_components as ac
from dashapp import analysis_ids as aid
from dashapp import auth, state
from dashapp import figures as fg
from dashapp import presenters_model_lab as pm
from dashapp import presenters_parts as pp
from dashapp import presenters_queries as pq
from dashapp.components import card_table, chart_card, checklist_fieldset, error_boundary, message, page_header, radio_fieldset
from dashapp.job_queue import failure_text, running_job
from dashapp.jobs import JobRefused
from dashapp.presenters import date_text
from explain.model_quality import judge
from explain.wording import DRIVERS_METHOD
from loaders.errors import AccessDenied, WhytrendError

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/model-lab", name="Model lab", title="Model lab – whytrend", order=4,
                   role="analyst", description="Fit, tune, compare and activate driver models (analysts).")

KINDS = [{"label": "Linear (ridge regression; exactly additive)", "value": "linear"},
         {"label": "Gradient boosting (non-linear; interactions)", "value": "gradient_boosting"}]
PSEUDO = [{"label": "Trend (the period's position in time)", "value": "trend"},
          {"label": "Seasonality (month or quarter of the year)", "value": "seasonality"}]
FIT_PROGRESS = aid.progress_parts(aid.LAB_PROGRESS)
ACTIVATE_PROGRESS = aid.progress_parts(aid.LAB_ACTIVATE_PROGRESS)


# ----------------------------------------------------------------------------- reads (memoised)
@state.cached(lambda: "lab-modelled")
def modelled() -> tuple[str, ...]:
    from explain.diagnostics import modelled_metrics

    return tuple(modelled_metrics(state.get_store()))


def versions(metric: str) -> tuple:
    """Not memoised: a fit in a background job adds a version without changing the data token."""
    from explain import list_versions

    return tuple(list_versions(state.get_store(), metric))


@state.cached(lambda metric, version: ("lab-diagnosed", metric, version))
def diagnosed(metric: str, version: int):
    from explain.diagnostics import load_diagnosed

    return load_diagnosed(state.get_store(), metric, version)


@state.cached(lambda metric, version: ("lab-importance", metric, version))
def importance(metric: str, version: int):
    from explain.diagnostics import importance as compute

    return compute(diagnosed(metric, version))


@state.cached(lambda metric, version: ("lab-residuals", metric, version))
def residuals(metric: str, version: int):
    from explain.diagnostics import residuals as compute

    return compute(diagnosed(metric, version))


@state.cached(lambda metric, version, driver: ("lab-pd", metric, version, driver))
def partial_dependence(metric: str, version: int, driver: str):
    from explain.diagnostics import partial_dependence as compute

    return compute(diagnosed(metric, version), driver=driver)


# ----------------------------------------------------------------------------- pure-ish helpers
def lab_metrics() -> list:
    """The user's metrics that have a model spec or a fitted version."""
    have = set(modelled())
    return [m for m in auth.visible_metrics() if m.code in have]


def check_metric(metric: str | None) -> str:
    """The metric if the current analyst may work on its model (else AccessDenied)."""
    auth.require_role("analyst")
    if not metric:
        raise AccessDenied("Choose a metric.")
    auth.require_metric(metric)
    if metric not in modelled():
        raise AccessDenied(f"{metric} has no driver model to work on.")
    return metric


def defaults(metric: str) -> dict:
    """Driver candidates and the controls' starting values: the active version's, else the spec's."""
    from explain import formula_names, get_version
    from explain.diagnostics import model_spec

    store = state.get_store()
    spec = model_spec(store, metric) or {}
    active = get_version(store, metric)
    source = active or None
    drivers = tuple(source.drivers if source else spec.get("drivers", ()))
    pseudo = tuple(source.pseudo_drivers if source else spec.get("pseudo_drivers", ()))
    kind = (source.kind if source else spec.get("kind")) or "gradient_boosting"
    info = ac.metric_info(metric)
    derived = [m.code for m in auth.visible_metrics() if metric in formula_names(m.formula)]
    seen = auth.visible_drivers(info.department)  # a model may use only drivers its department may see
    user = auth.current_user()
    if user is not None and user.department is not None:
        seen = seen & auth.visible_drivers(user.department)
    own = [m.code for m in auth.visible_metrics()]
    candidates = pm.candidate_drivers(metric, visible=[*own, *sorted(seen - set(own))],
                                      configured=[d for d in (*spec.get("drivers", ()), *drivers) if d in seen],
                                      exclude=[*derived, *formula_names(info.formula)])
    drivers = tuple(d for d in drivers if d in seen)
    return {"candidates": candidates, "drivers": list(drivers), "pseudo": list(pseudo), "kind": kind,
            "active": active.version if active else None}


def driver_options(candidates) -> list[dict]:
    names = ac.metric_names()
    return [{"label": pp.display_name(code, names), "value": pm.driver_token(code)} for code in candidates]


def version_options(items) -> list[dict]:
    return [{"label": pm.version_label(v), "value": v.version} for v in items]


def versions_block(metric: str) -> html.Div:
    items = versions(metric)
    frame = pm.versions_frame(items)
    if not frame.empty:  # for people: driver names and dates rather than codes and timestamps
        names = ac.metric_names()
        frame["drivers"] = [", ".join(pp.display_name(d, names) for d in v.drivers + v.pseudo_drivers) for v in items]
        frame["created"] = [date_text(v.created_at) for v in items]
    if frame.empty:
        return html.Div(message("No version has been fitted yet. Fit one above.", "info"))
    return card_table(frame, caption=f"Driver model versions of {ac.metric_info(metric).name}")


def jobs_block() -> html.Div:
    """This analyst's ten latest background jobs, failed ones included (a page closed mid-job loses
    nothing: the job's end is shown here)."""
    import time

    from loaders.jobs import recent_job_runs

    user = auth.current_user()
    runs = recent_job_runs(state.get_store(), username=user.username, limit=10) if user else ()
    if not runs:
        return html.Div(message("You have not started a background job yet.", "info"))
    settings = state.settings()
    frame = pm.jobs_frame(runs, ac.metric_names(), now=time.time(), lost_after=settings.job_lost_seconds,
                          queue_wait=settings.job_queue_seconds)
    return card_table(frame, caption="Your recent background jobs, newest first")


def default_version(items, prefer: int | None = None) -> int | None:
    numbers = [v.version for v in items]
    if prefer in numbers:
        return prefer
    active = [v.version for v in items if v.active]
    return active[0] if active else (numbers[-1] if numbers else None)


def diagnostics_view(metric: str, version: int) -> list:
    """The cards of one version: CV against the baseline, importance, residuals."""
    from explain import get_version

    meta = get_version(state.get_store(), metric, version)
    if meta is None:
        return [message(f"{metric} has no version {version}.", "error")]
    info = ac.metric_info(metric)
    names = ac.metric_names()
    about = ac.about_metric(info, vintage=meta.data_vintage, **{
        "Model version": f"{meta.version} ({meta.kind.replace('_', ' ')}), fitted {date_text(meta.created_at)}",
        "Drivers": ", ".join(pp.display_name(d, names) for d in meta.drivers + meta.pseudo_drivers),
        "Training data hash": meta.training_hash[:16]})
    quality = judge(meta.scores, unit=info.unit)
    cv = chart_card(card_id=aid.LAB_CV_CARD, title="Out-of-sample accuracy against the naive forecast",
                    caption=pm.scores_caption(meta.scores, unit=info.unit),
                    figure=fg.cv_figure(meta.scores, title="Out-of-sample mean absolute error by time-aware fold",
                                        subtitle="Expanding-window splits by period; naive forecast = each area's "
                                                 "last value carried forward"),
                    table=pm.folds_frame(meta.scores), about=about, download_name=f"{metric}-v{version}-cv")
    imp = importance(metric, version)
    parts = pm.importance_parts(imp, names)
    importance_card = chart_card(
        card_id=aid.LAB_IMPORTANCE_CARD, title="Driver importance", caption=pm.importance_caption(imp, names),
        figure=fg.importance_figure(parts, title="What moves the prediction most",
                                    subtitle=f"Average size of each driver's contribution to an area's change, over "
                                             f"the last {int(imp['n_pairs'].iloc[0])} period-on-period pairs",
                                    unit=info.unit),
        table=imp, about={**about, "Method": DRIVERS_METHOD}, download_name=f"{metric}-v{version}-importance")
    res = residuals(metric, version)
    residuals_card = chart_card(
        card_id=aid.LAB_RESIDUALS_CARD, title="Residuals of the whole over time",
        caption=pm.residuals_caption(res, unit=info.unit, freq=info.frequency),
        figure=fg.residuals_figure(res, title="Actual minus predicted, all areas",
                                   subtitle="In-sample: the fitted model on the latest data", unit=info.unit,
                                   freq=info.frequency),
        table=res, about=about, download_name=f"{metric}-v{version}-residuals")
    summary = card_table(pm.scores_frame(meta.scores),
                         caption=f"Version {version}: out-of-sample scores over all test folds")
    verdict = message(quality.sentence, pm.quality_tone(quality))
    return [html.H2(f"Version {version}: how good is it?"), verdict, summary, cv, importance_card, residuals_card]


def pd_view(metric: str, version: int, driver: str) -> list:
    from explain import get_version

    meta = get_version(state.get_store(), metric, version)
    if meta is None or driver not in (*meta.drivers, *meta.pseudo_drivers):
        raise PreventUpdate
    info = ac.metric_info(metric)
    label = pp.display_name(driver, ac.metric_names())
    frame = partial_dependence(metric, version, driver)
    slope = None
    if meta.kind == "linear" and driver != "seasonality":
        from explain.diagnostics import linear_slope

        slope = linear_slope(frame)
    seasonal = driver == "seasonality"
    axis = "Month or quarter of the year" if seasonal else label
    subtitle = ("Each season present, over the last 12 periods' rows" if seasonal else
                "Over the last 12 periods' rows; from the 5th to the 95th percentile of the driver")
    card = chart_card(card_id=aid.LAB_PD_CARD, title=f"Partial dependence on {label}",
                      caption=pm.partial_dependence_caption(frame, driver_label=label, unit=info.unit, slope=slope,
                                                            seasonal=seasonal, freq=info.frequency),
                      figure=fg.partial_dependence_figure(frame, driver_label=axis,
                                                          title=f"Average prediction as {label.lower()} varies",
                                                          subtitle=subtitle, unit=info.unit, seasonal=seasonal,
                                                          freq=info.frequency),
                      table=frame, about=ac.about_metric(info, vintage=meta.data_vintage),
                      download_name=f"{metric}-v{version}-pd-{driver}")
    return [card]


# ----------------------------------------------------------------------------- layout
def layout(**query):
    # the layout guard (dashapp.auth.guard_layout) has checked the analyst role and shows user errors
    metrics = lab_metrics()
    if not metrics:
        return html.Div([page_header("Model lab"), message(
            "None of your metrics has a driver model. Add a [[model]] entry to the manifest and load it.",
            "info")], className="page")
    metric = check_metric(pq.default_metric(pq.first_value(query, "metric"), [m.code for m in metrics]))
    start = defaults(metric)
    items = versions(metric)
    chosen = default_version(items)
    return html.Div([
        dcc.Location(id=aid.LAB_URL, refresh=False),
        dcc.Store(id=aid.LAB_FIT_REQUEST), dcc.Store(id=aid.LAB_FITTED),
        dcc.Store(id=aid.LAB_ACTIVATE_REQUEST), dcc.Store(id=aid.LAB_ACTIVATED),
        page_header("Model lab", "Fit and compare driver models. A new version is not used by explanations "
                                 "until you make it active."),
        html.Section([
            html.H2("Fit a model", id=aid.LAB_CONTROLS_TITLE),
            radio_fieldset(aid.LAB_METRIC, "Metric", [{"label": m.name, "value": m.code} for m in metrics], metric),
            checklist_fieldset(aid.LAB_DRIVERS, "Candidate drivers", driver_options(start["candidates"]),
                               [pm.driver_token(d) for d in start["drivers"]],
                               hint="Ticked: the active version's drivers."),
            radio_fieldset(aid.LAB_KIND, "Model kind", KINDS, start["kind"]),
            checklist_fieldset(aid.LAB_PSEUDO, "Pseudo-drivers", PSEUDO, start["pseudo"]),
            html.Div([
                html.Button("Fit", id=aid.LAB_FIT, type="button", n_clicks=0, className="button"),
                html.Button("Tune and fit", id=aid.LAB_TUNE, type="button", n_clicks=0,
                            className="button button--secondary"),
            ], className="button-group"),
            html.Div(id=aid.LAB_FIT_ERRORS, **{"aria-live": "polite"}),
            ac.progress_block(aid.LAB_PROGRESS, "Fitting the driver model", cancel_id=aid.LAB_CANCEL),
            html.Div(id=aid.LAB_FIT_RESULT, **{"aria-live": "polite"}),
            html.Div(id=aid.LAB_MESSAGES, **{"aria-live": "polite"}),
        ], className="controls", **{"aria-labelledby": aid.LAB_CONTROLS_TITLE}),
        html.Section([
            html.H2("Versions"),
            html.Div(versions_block(metric), id=aid.LAB_VERSIONS),
            radio_fieldset(aid.LAB_VERSION, "Version to inspect or make active", version_options(items), chosen),
            html.Button("Make this version active", id=aid.LAB_ACTIVATE, type="button", n_clicks=0,
                        className="button button--warning"),
            html.Div(id=aid.LAB_ACTIVATE_ERRORS, **{"aria-live": "polite"}),
            html.Div([  # shown instead of activating a version that is not better than the naive forecast
                html.Div(id=aid.LAB_ACTIVATE_CONFIRM_TEXT),
                html.Button("Activate anyway", id=aid.LAB_ACTIVATE_ANYWAY, type="button", n_clicks=0,
                            className="button button--warning"),
            ], id=aid.LAB_ACTIVATE_CONFIRM, hidden=True, className="lab-confirm"),
            ac.progress_block(aid.LAB_ACTIVATE_PROGRESS, "Making the version active and refreshing explanations",
                              cancel_id=aid.LAB_ACTIVATE_CANCEL),
            html.Div(id=aid.LAB_ACTIVATE_RESULT, **{"aria-live": "polite"}),
        ], className="lab-versions"),
        html.Section([
            html.H2("Background jobs"),
            html.Div(jobs_block(), id=aid.LAB_JOBS),
        ], className="lab-jobs"),
        html.Section([
            html.P("", id=aid.LAB_DIAGNOSTICS_STATUS, role="status", className="status-text"),
            html.Div(id=aid.LAB_DIAGNOSTICS),
            radio_fieldset(aid.LAB_PD_DRIVER, "Partial dependence: choose a driver", [], None, inline=True),
            html.Div(id=aid.LAB_PD),
        ], className="lab-diagnostics"),
    ], className="page page--lab")


# ----------------------------------------------------------------------------- callbacks
@callback(
    Output(aid.LAB_MESSAGES, "children"),
    Output(aid.LAB_URL, "search"),
    Output(aid.LAB_DRIVERS, "options"),
    Output(aid.LAB_DRIVERS, "value"),
    Output(aid.LAB_KIND, "value"),
    Output(aid.LAB_PSEUDO, "value"),
    Input(aid.LAB_METRIC, "value"),
    prevent_initial_call=True,
)
@error_boundary
def pick_metric(metric):
    start = defaults(check_metric(metric))
    return ([], pq.query_string({"metric": metric}), driver_options(start["candidates"]),
            [pm.driver_token(d) for d in start["drivers"]], start["kind"], start["pseudo"])


@callback(
    Output(aid.LAB_VERSIONS, "children"),
    Output(aid.LAB_VERSION, "options"),
    Output(aid.LAB_VERSION, "value"),
    Input(aid.LAB_METRIC, "value"),
    Input(aid.LAB_FITTED, "data"),
    Input(aid.LAB_ACTIVATED, "data"),
    prevent_initial_call=True,
)
@error_boundary
def show_versions(metric, fitted, activated):
    check_metric(metric)
    news = {aid.LAB_FITTED: fitted, aid.LAB_ACTIVATED: activated}.get(ctx.triggered_id)
    prefer = news.get("version") if news and news.get("metric") == metric else None
    items = versions(metric)
    return versions_block(metric), version_options(items), default_version(items, prefer)


@callback(
    Output(aid.LAB_JOBS, "children"),
    Input(aid.LAB_FIT_RESULT, "children"),
    Input(aid.LAB_ACTIVATE_RESULT, "children"),
    prevent_initial_call=True,
)
@error_boundary
def show_jobs(_fit_result, _activate_result):
    """A job ended (or failed): show it among the analyst's jobs."""
    return jobs_block()


@callback(
    Output(aid.LAB_DIAGNOSTICS, "children"),
    Output(aid.LAB_PD_DRIVER, "options"),
    Output(aid.LAB_PD_DRIVER, "value"),
    Input(aid.LAB_METRIC, "value"),
    Input(aid.LAB_VERSION, "value"),
    running=[(Output(aid.LAB_DIAGNOSTICS_STATUS, "children"),
              "Working out the diagnostics of the chosen version (up to a few seconds the first time)…", "")],
)
@error_boundary
def diagnose(metric, version):
    check_metric(metric)
    if not version:
        return message("No version to inspect yet.", "info"), [], None
    hidden = ac.metric_names()
    drivers = [d.driver for d in importance(metric, int(version)).itertuples()
               if hidden.get(d.driver) != ac.HIDDEN_DRIVER]  # never offer a driver the user may not see
    names = hidden
    options = [{"label": pp.display_name(d, names), "value": d} for d in drivers]
    return diagnostics_view(metric, int(version)), options, drivers[0] if drivers else None


@callback(
    Output(aid.LAB_PD, "children"),
    Input(aid.LAB_PD_DRIVER, "value"),
    State(aid.LAB_METRIC, "value"),
    State(aid.LAB_VERSION, "value"),
    prevent_initial_call=True,
)
@error_boundary
def show_partial_dependence(driver, metric, version):
    check_metric(metric)
    if not driver or not version:
        raise PreventUpdate
    return pd_view(metric, int(version), driver)


@callback(
    Output(aid.LAB_FIT_ERRORS, "children"),
    Output(aid.LAB_FIT_REQUEST, "data"),
    Input(aid.LAB_FIT, "n_clicks"),
    Input(aid.LAB_TUNE, "n_clicks"),
    State(aid.LAB_METRIC, "value"),
    State(aid.LAB_DRIVERS, "value"),
    State(aid.LAB_KIND, "value"),
    State(aid.LAB_PSEUDO, "value"),
    prevent_initial_call=True,
)
@error_boundary
def request_fit(_fit, _tune, metric, driver_tokens, kind, pseudo):
    """Check the choice for this analyst and sign the job request the background fit acts on."""
    metric = check_metric(metric)
    try:
        arguments = pm.lab_fit_arguments(pm.driver_codes(driver_tokens), kind, pseudo,
                                         candidates=defaults(metric)["candidates"])
    except WhytrendError as exc:
        return message(str(exc), "error"), None
    request = {"metric": metric, "drivers": list(arguments["drivers"]), "kind": arguments["kind"],
               "pseudo": list(arguments["pseudo_drivers"]), "tune": ctx.triggered_id == aid.LAB_TUNE}
    return [], ac.issue_job("fit", request)


@callback(
    Output(aid.LAB_FIT_RESULT, "children"),
    Output(aid.LAB_FITTED, "data"),
    Input(aid.LAB_FIT_REQUEST, "data"),
    background=True,
    running=[(Output(FIT_PROGRESS["block"], "hidden"), False, True),
             (Output(aid.LAB_FIT, "disabled"), True, False),
             (Output(aid.LAB_TUNE, "disabled"), True, False)],
    progress=[Output(FIT_PROGRESS["bar"], "style"), Output(FIT_PROGRESS["bar"], "aria-valuenow"),
              Output(FIT_PROGRESS["status"], "children")],
    cancel=[Input(aid.LAB_CANCEL, "n_clicks")],
    interval=500,  # progress twice a second (a linear fit takes about a second)
    on_error=lambda error: (message(failure_text(error), "error"), None),  # e.g. its worker was lost
    prevent_initial_call=True,
)
def fit(set_progress, ticket):
    if not ticket:
        raise PreventUpdate
    try:
        request = ac.authorise_job("fit", ticket)
    except JobRefused as exc:
        return message(str(exc), "error"), None
    with running_job(ticket):
        return fit_job(request, set_progress)


def fit_job(request: dict, set_progress=None) -> tuple:
    """Fit (and tune) a new, inactive version for a verified request; (result message, fitted marker)."""
    from explain import fit_and_refresh

    report = set_progress or (lambda value: None)
    try:
        version = fit_and_refresh(state.get_store(), request["metric"], drivers=request["drivers"],
                                  kind=request["kind"], pseudo_drivers=request["pseudo"], tune=bool(request["tune"]),
                                  activate=False, progress=lambda stage: report(ac.progress_values(stage))).version
    except WhytrendError as exc:
        return message(str(exc), "error"), None
    tone = "success" if judge(version.scores).better_than_naive else "warning"
    return message(pm.fit_result_text(version), tone), {"metric": version.metric, "version": version.version}


@callback(
    Output(aid.LAB_ACTIVATE_ERRORS, "children"),
    Output(aid.LAB_ACTIVATE_REQUEST, "data"),
    Output(aid.LAB_ACTIVATE_CONFIRM, "hidden"),
    Output(aid.LAB_ACTIVATE_CONFIRM_TEXT, "children"),
    Input(aid.LAB_ACTIVATE, "n_clicks"),
    Input(aid.LAB_VERSION, "value"),
    State(aid.LAB_METRIC, "value"),
    prevent_initial_call=True,
)
@error_boundary
def request_activation(n_clicks, version, metric):
    metric = check_metric(metric)
    if ctx.triggered_id == aid.LAB_VERSION:  # another version chosen: a confirmation shown was for the last one
        return [], dash.no_update, True, []
    if not n_clicks:
        raise PreventUpdate
    return activation_outputs(metric, version, confirmed=False)


@callback(
    Output(aid.LAB_ACTIVATE_ERRORS, "children", allow_duplicate=True),
    Output(aid.LAB_ACTIVATE_REQUEST, "data", allow_duplicate=True),
    Output(aid.LAB_ACTIVATE_CONFIRM, "hidden", allow_duplicate=True),
    Output(aid.LAB_ACTIVATE_CONFIRM_TEXT, "children", allow_duplicate=True),
    Input(aid.LAB_ACTIVATE_ANYWAY, "n_clicks"),
    State(aid.LAB_METRIC, "value"),
    State(aid.LAB_VERSION, "value"),
    prevent_initial_call=True,
)
@error_boundary
def activate_anyway(n_clicks, metric, version):
    metric = check_metric(metric)
    if not n_clicks:
        raise PreventUpdate
    return activation_outputs(metric, version, confirmed=True)


def activation_outputs(metric: str, version, *, confirmed: bool) -> tuple:
    """(errors, activate ticket, confirmation hidden, confirmation) for a click: a ticket for a
    version better than the naive forecast, the active one, or one ``confirmed`` with "Activate
    anyway"; else the confirmation with the figures (:func:`pm.activation_step`)."""
    chosen = next((v for v in versions(metric) if version is not None and v.version == int(version)), None)
    if chosen is None:
        return message("Choose a version to make active.", "error"), dash.no_update, True, []
    quality = judge(chosen.scores, unit=ac.metric_info(metric).unit)
    if pm.activation_step(quality, active=chosen.active, confirmed=confirmed) == "confirm":
        return [], dash.no_update, False, message(pm.confirm_text(chosen.version, quality), "warning")
    return [], ac.issue_job("activate", {"metric": metric, "version": chosen.version}), True, []


@callback(
    Output(aid.LAB_ACTIVATE_RESULT, "children"),
    Output(aid.LAB_ACTIVATED, "data"),
    Input(aid.LAB_ACTIVATE_REQUEST, "data"),
    background=True,
    running=[(Output(ACTIVATE_PROGRESS["block"], "hidden"), False, True),
             (Output(aid.LAB_ACTIVATE, "disabled"), True, False),
             (Output(aid.LAB_ACTIVATE_ANYWAY, "disabled"), True, False)],
    progress=[Output(ACTIVATE_PROGRESS["bar"], "style"), Output(ACTIVATE_PROGRESS["bar"], "aria-valuenow"),
              Output(ACTIVATE_PROGRESS["status"], "children")],
    cancel=[Input(aid.LAB_ACTIVATE_CANCEL, "n_clicks")],
    on_error=lambda error: (message(failure_text(error), "error"), None),
    prevent_initial_call=True,
)
def activate(set_progress, ticket):
    if not ticket:
        raise PreventUpdate
    try:
        request = ac.authorise_job("activate", ticket)
    except JobRefused as exc:
        return message(str(exc), "error"), None
    with running_job(ticket):
        return activate_job(request, set_progress)


def activate_job(request: dict, set_progress=None) -> tuple:
    """Make a version active and refresh the metric's precomputed explanations.

    Forced: the page issues an activate ticket only for a version better than the naive forecast,
    the active one, or after the analyst's "Activate anyway" (:func:`activation_outputs`), so the
    library's guard has been applied, with the confirmation, before the job starts."""
    from explain import Plan, activate_and_refresh

    report = set_progress or (lambda value: None)
    plan = Plan([("activate", f"Making version {request['version']} active", 1.0),
                 ("refresh", "Refreshing explanations", 9.0)], lambda stage: report(ac.progress_values(stage)))
    plan.report("activate", 0, 1)
    try:
        change = activate_and_refresh(state.get_store(), request["metric"], int(request["version"]), force=True,
                                      progress=lambda stage: plan.report("refresh", stage.done, stage.total, stage.label))
    except WhytrendError as exc:
        return message(str(exc), "error"), None
    quality = change.quality
    return (message(pm.activated_text(int(request["version"]), change.refreshed, quality), pm.quality_tone(quality)),
            {"metric": request["metric"], "version": int(request["version"])})
