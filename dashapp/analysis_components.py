"""Dash building blocks shared by the analysis pages (trends, explain, model lab) on top of
:mod:`dashapp.components`: the metric picker grouped by department, labelled period inputs,
an accessible progress block and the memoised reads the pages share.

Kept out of the page modules because Dash imports each page file as its own module (a page
importing another page would register it twice).
"""
from __future__ import annotations

from typing import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from loaders.errors import AccessDenied

from . import presenters_queries as pq
from . import state
from .analysis_ids import metric_group, progress_parts
from .components import radio_fieldset


# ----------------------------------------------------------------------------- memoised reads
@state.cached(lambda: "analysis-area-tree")
def area_tree():
    from explain import area_tree as read

    return read(state.get_store())


#: the name shown for a driver the user's department may not see (explain.sharing)
HIDDEN_DRIVER = "A driver not shared with your department"


@state.cached(lambda: "analysis-metric-names")
def _all_metric_names() -> dict[str, str]:
    from explain import list_metrics

    return {m.code: m.name for m in list_metrics(state.get_store())}


def metric_names() -> dict[str, str]:
    """Every metric's name by code as the current user may see it: a metric their department may not
    see as a driver is named :data:`HIDDEN_DRIVER` (driver and component labels come from here)."""
    from . import auth

    names = _all_metric_names()
    user = auth.current_user()
    if user is None or user.department is None:
        return names
    seen = auth.visible_drivers(user.department)
    return {code: (name if code in seen else HIDDEN_DRIVER) for code, name in names.items()}


@state.cached(lambda: "analysis-department-names")
def departments_by_code() -> dict[str, str]:
    """Department names by code (the legends of the metric picker's groups)."""
    from explain import departments

    return departments(state.get_store())


@state.cached(lambda metric: ("analysis-info", metric))
def metric_info(metric: str):
    from explain import metric_info as read

    return read(state.get_store(), metric)


@state.cached(lambda metric: ("analysis-periods", metric))
def metric_periods(metric: str) -> tuple[str, ...]:
    """The metric's periods with a value for the whole (else any area), oldest first."""
    from explain import WHOLE, metric_frame

    store = state.get_store()
    frame = metric_frame(store, metric_info(metric), areas=[WHOLE])
    if frame.empty:
        frame = metric_frame(store, metric_info(metric))
    frame = frame.dropna(subset=["value"]).drop_duplicates("period").sort_values("start")
    return tuple(frame["period"].tolist())


@state.cached(lambda metric: ("analysis-breakdowns", metric))
def breakdown_keys(metric: str) -> tuple[str, ...]:
    """Breakdown keys the metric has for the whole (else for any area)."""
    from explain import WHOLE, metric_frame

    store = state.get_store()
    frame = metric_frame(store, metric_info(metric), areas=[WHOLE], breakdown=None)
    if frame.empty:
        frame = metric_frame(store, metric_info(metric), breakdown=None)
    return tuple(sorted(set(frame["breakdown"].dropna())))


@state.cached(lambda metric, area, start, end, first, measure=None: ("analysis-trend", metric, area, start, end, first,
                                                                    measure))
def trend(metric: str, area: str | None, start: str | None, end: str | None, first: bool, measure: str | None = None):
    from explain import trend as read

    return read(state.get_store(), metric, area=area, start=start, end=end, as_first_published=first,
                measure=measure or "cash")


class _Miss(Exception):
    """Raised inside the memo on a cache miss, so misses are not memoised (exceptions never are)."""


@state.cached(lambda metric, a, b, area, by: ("analysis-cached-explanation", metric, a, b, area, by))
def _cached_hit(metric: str, a: str, b: str, area: str | None, by: str | None):
    from explain import cached_explanation as read

    found = read(state.get_store(), metric, a, b, area=area, by=by)
    if found is None:
        raise _Miss
    return found


def cached_explanation(metric: str, a: str, b: str, area: str | None, by: str | None):
    """The precomputed explanation or None. Never computes; hits are memoised per vintage and model
    versions, misses are not (a background computation may fill the cache a moment later)."""
    try:
        return _cached_hit(metric, a, b, area, by)
    except _Miss:
        return None


@state.cached(lambda metric: ("analysis-compare-choices", metric))
def compare_choices(metric: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """(plan and forecast series, measures with their words) the metric can be explained with."""
    from explain import measures_of, series_of

    store = state.get_store()
    return series_of(store, metric), measures_of(store, metric)


@state.cached(lambda metric, a, b, area, by, vs, measure: ("analysis-special", metric, a, b, area, by, vs, measure),
              max_entries=64)
def special_explanation(metric: str, a: str, b: str, area: str | None, by: str | None, vs: str | None,
                        measure: str | None):
    """An explanation against a plan, forecast or the first-published figure, or in real terms or per
    head: computed on request (a tenth of a second; not in the precomputed cache), memoised per vintage."""
    from explain import Point, explain_change, explain_points

    store = state.get_store()
    points = pq.vs_points(vs, b)
    if points is None:
        return explain_change(store, metric, a, b, area=area, by=by, measure=measure or "cash", use_cache=False,
                              fit_if_missing=False)
    first, second = (Point.from_dict(p) for p in points)
    return explain_points(store, metric, first, second, area=area, by=by, measure=measure or "cash")


@state.cached(lambda metric, period, area: ("analysis-revision", metric, period, area), max_entries=64)
def revision(metric: str, period: str, area: str | None):
    """How the latest figure for ``period`` differs from the first published one, split by areas
    (explain.revision_of), memoised per vintage."""
    from explain import revision_of

    return revision_of(state.get_store(), metric, period, area=area)


@state.cached(lambda metric, a, b, area: ("analysis-cross", metric, a, b, area), max_entries=64)
def cross_search(metric: str, a: str, b: str, area: str | None):
    """The search across areas and breakdown values (explain.cross_search), memoised per vintage."""
    from explain import cross_segments

    return cross_segments(state.get_store(), metric, a, b, area=area)


def root_children(tree) -> list[str]:
    """The areas one level below the top (regions under England), for comparisons."""
    from explain import WHOLE

    kids = tree.children(WHOLE)
    return tree.children(kids[0]) if len(kids) == 1 else kids


# ----------------------------------------------------------------------------- controls
def metric_picker(page_type: str, metrics: Sequence, value: str | None, *, legend: str = "Metric",
                  department_names: dict[str, str] | None = None) -> html.Fieldset:
    """A searchable select of the user's metrics grouped by department, built from parts axe passes
    (``dcc.Dropdown`` does not): a search box that filters the options as you type (assets/whytrend.js;
    a status line says how many match), then one fieldset of radios per department (legend = the
    department) in a scrolling list. Each group is a ``dbc.RadioItems`` with a pattern id
    (:func:`dashapp.analysis_ids.metric_group`); the page keeps one choice across groups."""
    names = department_names if department_names is not None else departments_by_code()
    groups: dict[str, list] = {}
    for info in metrics:
        groups.setdefault(info.department, []).append(info)
    inner = []
    for department, infos in groups.items():
        chosen = value if any(i.code == value for i in infos) else None
        inner.append(radio_fieldset(metric_group(page_type, department), names.get(department, department),
                                    [{"label": i.name, "value": i.code} for i in infos], chosen,
                                    legend_class="fieldset__legend--small"))
    search_id, status_id = f"{page_type}-search", f"{page_type}-search-status"
    search = html.Div([
        html.Label("Search metrics", htmlFor=search_id, className="form-label"),
        dcc.Input(id=search_id, type="search", autoComplete="off", className="form-input js-picker-search"),
        html.P("", id=status_id, className="picker-status", role="status"),
    ], className="form-group picker-search")
    return html.Fieldset([html.Legend(legend, className="fieldset__legend"), search,
                          html.Div(inner, className="metric-picker__options")],
                         className="fieldset metric-picker")


def chosen_metric(values: Sequence[str | None], triggered: dict | None, groups: Sequence[dict],
                  current: str | None) -> str | None:
    """The metric picked across department groups: the triggered group's value, else the current one."""
    if triggered and isinstance(triggered, dict):
        for group, value in zip(groups, values):
            if group.get("dept") == triggered.get("dept") and value:
                return value
    return current or next((v for v in values if v), None)


def period_input(id_: str, label: str, value: str | None, list_id: str, hint: str, *, hint_id: str | None = None,
                 error_id: str | None = None) -> html.Div:
    """A labelled text input of a period with suggestions. The hint (an example from the metric's own
    periods, updated with the metric through ``hint_id``) and the error message (``error_id``, empty
    until a typed period cannot be used) are part of the label, as ``dbc.Input`` takes no
    ``aria-describedby``: a screen reader hears the problem with the field's name."""
    hint_span = html.Span(f" – {hint}", className="label-hint", **({"id": hint_id} if hint_id else {}))
    error = html.Span("", id=error_id, className="field-error") if error_id else None
    return html.Div([
        html.Label([label, hint_span, error], htmlFor=id_, className="form-label"),
        dbc.Input(id=id_, type="text", value=value or "", list=list_id, autocomplete="off", debounce=True,
                  class_name="form-input form-input--period"),
    ], className="form-group form-group--inline")


def field_error(text: str | None) -> list:
    """The children of a field's error slot: 'Error: <text>' (the prefix for screen readers)."""
    if not text:
        return []
    return [html.Span("Error: ", className="visually-hidden"), text]


def period_datalist(list_id: str, periods: Sequence[str]) -> html.Datalist:
    return html.Datalist([html.Option(value=p) for p in periods], id=list_id)


def progress_block(prefix: str, label: str, *, cancel_id: str | None = None) -> html.Div:
    """A progress bar people and screen readers can follow: ``role="progressbar"`` with
    ``aria-valuenow`` and a name (``aria-labelledby`` its visible label), the percentage as text,
    and a polite live region for status messages. Hidden until a job runs (``running=``)."""
    part = progress_parts(prefix)
    children = [
        html.P(label, id=part["label"], className="progress-block__label"),
        html.Div(html.Div(id=part["bar"], role="progressbar", className="progress-bar", style={"width": "0%"},
                          **{"aria-valuenow": "0", "aria-valuemin": "0", "aria-valuemax": "100",
                             "aria-labelledby": part["label"]}),
                 className="progress"),
        html.P("", id=part["status"], role="status", className="progress-block__status",
               **{"aria-live": "polite"}),
    ]
    if cancel_id:
        children.append(html.Button("Cancel", id=cancel_id, type="button", n_clicks=0,
                                    className="button button--warning"))
    return html.Div(children, id=part["block"], className="progress-block", hidden=True)


def progress_values(stage) -> tuple[dict, str, str]:
    """(bar style, aria-valuenow, status text) for ``set_progress`` from an :class:`explain.Stage`."""
    pct = stage.percent
    return {"width": f"{pct}%"}, str(pct), f"{stage.label} ({pct}%)"


@state.cached(lambda metric: ("analysis-provenance", metric))
def provenance(metric: str) -> dict[str, str]:
    """Source titles, quality grade and last update of a metric (for About tabs)."""
    from explain import latest_grade, metric_sources

    store = state.get_store()
    grade, updated = latest_grade(store, metric)
    sources = metric_sources(store, metric)
    titles = "; ".join(f"{r['title']} ({r['source']})" for r in sources.to_dict("records")) if not sources.empty else ""
    return {"source": titles, "grade": grade, "updated": updated}


def about_metric(info, *, vintage: int | str | None = None, **extra: str) -> dict[str, str]:
    """The About tab of a chart about ``info``: definition, source, unit, last updated, vintage, grade, extras."""
    from .presenters import date_text

    facts = provenance(info.code)
    about = {
        "Definition": info.description or info.name,
        "Source": facts["source"],
        "Unit": info.unit,
        "Formula": info.formula,
        "Direction of improvement": {True: "Higher is better", False: "Lower is better"}.get(
            info.higher_is_better, "Neither (neutral metric)"),
        "Last updated": date_text(facts["updated"]),
        "Data vintage": "" if vintage in (None, "") else str(vintage),
        "Quality grade of the latest load": facts["grade"],
    }
    about.update({k: v for k, v in extra.items()})
    return about


# ----------------------------------------------------------------------------- background jobs
#: the role each kind of background job needs
JOB_ROLES = {"explain": "viewer", "fit": "analyst", "activate": "analyst"}


def issue_job(purpose: str, fields: dict) -> dict:
    """A ticket for a background job, made by a callback that has checked ``fields`` for the user.

    Only the fields of ``purpose`` travel (:data:`dashapp.jobs.PURPOSE_FIELDS`), never what else
    the browser sent; the guard re-checks them from the session on every request carrying the
    ticket, and :func:`authorise_job` again in the job's own process."""
    from . import auth
    from .jobs import PURPOSE_FIELDS, issue_ticket

    user = auth.current_user()
    if user is None:
        raise AccessDenied("You are not signed in. Sign in to continue.")
    chosen = {k: fields.get(k) for k in PURPOSE_FIELDS[purpose]}
    return issue_ticket(auth.job_ticket_key(), purpose, user.username, chosen)


def authorise_job(purpose: str, ticket) -> dict:
    """The fields of a job ticket, re-authorised for the user who asked, as the store has them now.

    Runs in the background job's process (no request, no session): the ticket names the user;
    their role, department and what they may see are read again, so a user removed or moved
    since cannot run the job. Raises :class:`dashapp.jobs.JobRefused`."""
    from loaders.accounts import get_user

    from . import access, auth
    from .jobs import JobRefused, open_ticket

    fields = open_ticket(auth.job_ticket_key(), purpose, ticket)
    user = get_user(state.get_store(), ticket["user"])
    if user is None or not auth.has_role(user, JOB_ROLES[purpose]):
        raise JobRefused("You do not have access to this job.")
    try:
        access.check_job_fields(purpose, fields, auth.viewer_for(user))
    except access.Refusal as refusal:
        raise JobRefused(refusal.message) from None
    return fields



def controls_panel(panel_id: str, text_id: str, text: str, controls, *, open_: bool = False) -> html.Details:
    """The page's controls folded under one line saying what is shown ('Households on Universal
    Credit · all areas · …'), so the answer comes first on the screen: a native ``<details>``, which
    every browser and screen reader knows how to open, with no script."""
    return html.Details([
        html.Summary([html.Span("Change what is shown", className="controls-panel__action"),
                      html.Span(": ", className="visually-hidden"),
                      html.Span(text, id=text_id, className="controls-panel__current")],
                     className="controls-panel__summary"),
        controls,
    ], id=panel_id, open=open_, className="controls-panel")
