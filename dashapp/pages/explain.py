"""Explain ("/explain?metric=&area=&from=&to=&by="): why did a metric move between two periods?

By default the latest period against the previous one, with a one-click switch to a year
earlier. Shows whether the movement is beyond normal variation (words and a badge), a driver
waterfall from value A to value B (contributions with bootstrap intervals, small drivers grouped,
then the unexplained part), the formula components, the segments (areas or the values of a
breakdown; mix and rate for ratio metrics), the narrative and a trace line naming the data
vintage and the driver model version.

Reads the precomputed explanation (:func:`explain.cached_explanation`); when there is none it
runs :func:`explain.explain_change` as a background callback with a progress bar and a Cancel
button (the result is cached by the engine, and the page then reads it from the cache).
"""
from __future__ import annotations

import logging
from dataclasses import replace

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import analysis_components as ac
from dashapp import analysis_ids as aid
from dashapp import auth, ids, state
from dashapp import figures as fg
from dashapp import presenters_explain as pe
from dashapp import presenters_model_lab as pm
from dashapp import presenters_parts as pp
from dashapp import presenters_queries as pq
from dashapp.components import (
    area_picker,
    card_table,
    chart_card,
    checklist_fieldset,
    error_boundary,
    frozen,
    message,
    page_header,
    radio_fieldset,
)
from dashapp.job_queue import failure_text, running_job
from dashapp.jobs import JobRefused
from dashapp.presenters import area_from_picker
from explain import Point
from explain.measures import measured_formula
from explain.numbers import period_text
from loaders.errors import AccessDenied, WhytrendError
from loaders.vocabulary import is_whole

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/explain", name="Explain", title="Explain a change – whytrend", order=2,
                   description="Why a metric moved: significance, drivers, formula components, segments.")

AREAS = "areas"      # the 'by' radio's value for "segments are the area's parts"
#: what a background explain job is given (a comparison or measure is never a job: see is_special)
JOB_KEYS = ("metric", "area", "from", "to", "by")
PROGRESS = aid.progress_parts(aid.EXPLAIN_PROGRESS)


# ----------------------------------------------------------------------------- selection
def selection(query: dict, *, trigger: str = "") -> dict:
    """The checked selection for ``query`` (URL or controls): metric, area, periods, by, notes, and
    the options the controls need. Raises AccessDenied for a metric the user may not see."""
    auth.require_role("viewer")
    visible = [m.code for m in auth.visible_metrics()]
    metric = pq.default_metric(pq.first_value(query, "metric"), visible)
    if metric is None:
        raise AccessDenied("There are no metrics for you to see yet.")
    auth.require_metric(metric)
    info = ac.metric_info(metric)
    periods = ac.metric_periods(metric)
    dims = pq.breakdown_dimensions(ac.breakdown_keys(metric))
    tree = ac.area_tree()
    q = pq.parse_explain_query({**query, "metric": metric}, visible=visible, periods=periods, freq=info.frequency,
                               areas=tree.by_code, dimensions=dims)
    pairs = _pairs(periods, info.frequency)
    a, b, choice, notes = pq.choose_periods(trigger, query.get("comparison"), q.period_from, q.period_to, pairs,
                                            periods)
    area = None if is_whole(q.area) else q.area
    series, measures = ac.compare_choices(metric)
    vs = pq.clean_vs(pq.first_value(query, "vs"), series)
    measure = pq.clean_measure(pq.first_value(query, "measure"), measures)
    cross = str(pq.first_value(query, "cross") or "").lower() in ("1", "true", "yes", "cross") and not vs and not measure
    return {"metric": metric, "area": area, "from": a, "to": b, "by": q.by, "comparison": choice,
            "notes": list(q.notes) + notes, "dims": dims, "pairs": pairs, "periods": periods, "info": info,
            "vs": vs, "measure": measure, "series": series, "measures": measures, "cross": cross}


def _pairs(periods, freq) -> dict:
    from explain import comparison_periods

    return comparison_periods(list(periods), freq)


def request_of(sel: dict) -> dict:
    """What the URL and the stores hold (JSON-ready, checked by the server guard on every callback)."""
    return {"metric": sel["metric"], "area": sel["area"], "from": sel["from"], "to": sel["to"], "by": sel["by"],
            "vs": sel["vs"], "measure": sel["measure"], "cross": sel["cross"] or None}


def is_special(request: dict) -> bool:
    """A comparison with a plan, forecast or first-published figure, or a measure other than cash:
    worked out on request, never precomputed."""
    return bool(request.get("vs") or request.get("measure"))


def find_explanation(request: dict):
    return ac.cached_explanation(request["metric"], request["from"], request["to"], request["area"], request["by"])


# ----------------------------------------------------------------------------- the view
#: shown instead of the driver split and the narrative when the model uses a driver the user may not see
HIDDEN_SPLIT = ("The driver split of this change uses figures of another department that are not shared with yours, "
                "so it is not shown. The formula components and segments below still add up to the change.")


def explanation_view(explanation, info, names: dict[str, str], *, hide_drivers: bool = False) -> list:
    """Every part of an explanation as components (pure given its inputs). ``hide_drivers``: leave out
    the driver split and the narrative (which names drivers) for a user who may not see a driver."""
    e = explanation
    if e.measure != "cash":  # real terms or per head: the measured figure's own name and unit
        info = replace(info, name=e.metric_name, unit=e.unit, formula=measured_formula(e.measure))
    badge_text, badge_colour = pe.verdict(e.significance)
    where = e.area_name if e.area is not None else "all areas"
    parts = [
        html.Section([
            html.H2(f"{info.name}, {where}: {pe.periods_text(e, info.frequency)}"),
            html.P(pe.change_sentence(e, info.frequency), className="lead"),
            html.P([html.Span("Is it an unusual change? ", className="visually-hidden"),
                    dbc.Badge(badge_text, color=badge_colour, class_name="verdict-badge")], className="verdict"),
            html.P(e.significance.get("detail") or "", className="verdict__detail"),
        ], className="explain-summary"),
    ]
    if hide_drivers:
        parts.append(message(HIDDEN_SPLIT, "info"))
    elif e.model is not None:
        share = e.unexplained / e.change if e.change else None
        parts.append(html.P(pm.model_in_use_text(e.model, unexplained_share=share), className="model-in-use"))
        parts.append(drivers_card(e, info, names))
        if e.uncertain_splits:  # two drivers the model cannot tell apart over this span: say so beside the chart
            parts.append(message(e.narrative_part("uncertain"), "warning"))
    else:
        parts.append(message("This metric has no driver model, so the change is not split into drivers; "
                             "the formula components and segments below still add up to it.", "info"))
    if e.components:
        parts.append(components_card(e, info, names))
    if e.segments:
        parts.append(segments_card(e, info))
    if e.measure_parts:
        parts.append(measure_section(e))
    if e.events:
        parts.append(events_section(e, info))
    parts.append(html.Section([
        html.H2("In words"),
        html.P(HIDDEN_SPLIT if hide_drivers else e.narrative, className="narrative"),
        *[message(w, "warning") for w in e.warnings],
        *[html.P(note, className="explain-note") for note in e.notes],
        html.P(pe.trace_line(e), className="trace-line"),
    ], className="explain-narrative"))
    return parts


def measure_section(e):
    """Real terms or per head: how the cash change splits into the measured change and prices (or
    population). A table: two numbers need no chart."""
    real = e.measure == "real"
    return html.Section([
        html.H2("The cash change: real change and prices" if real else "The cash change: per head and population"),
        html.P(e.narrative_part("measure")),
        card_table(pe.measure_table(e), caption=("How the change in cash splits into the change in real terms and "
                                                 "the change in prices (exact; the parts add up to the cash change)")
                   if real else ("How the change in cash splits into the change per head and the change in "
                                 "population (exact; the parts add up to the cash change)")),
    ], className="explain-measure", id=aid.EXPLAIN_MEASURE_SPLIT)


def cross_section(found, info):
    """The search across areas and breakdown values, beside the exact one-dimensional splits: a table
    (the list is not additive where segments overlap, so no chart adds them up)."""
    return html.Section([
        html.H2("Segments across areas and breakdowns"),
        html.P(pe.cross_intro(found)),
        card_table(pe.cross_table(found, info.unit), caption=f"The segments of {info.name} that moved it most, "
                   "across areas and breakdowns (not additive where they overlap)"),
        *([card_table(pe.reporting_table(found, info.unit), caption="Reported in one period only")]
          if found.reporting_changes else []),
    ], className="explain-cross", id=aid.EXPLAIN_CROSS_RESULT)


def events_section(e, info):
    """Known events inside the span that touch the metric: candidate causes, beside the drivers."""
    return html.Section([
        html.H2("Known events in this span"),
        html.P("These events are recorded for this metric and fall between the two periods. They are "
               "candidate causes: the dates line up, which alone does not show an event caused the change."),
        card_table(pe.events_table(e, info.frequency), caption=f"Known events between "
                   f"{pe.periods_text(e, info.frequency)}", row_headers=True),
    ], className="explain-events", id="explain-events")


def named_caption(e, info, finding: str) -> str:
    """A chart caption (the chart's accessible name) that says which metric, area and periods it is about
    before stating the finding."""
    where = f" in {e.area_name}" if e.area is not None else ""
    return f"{info.name}{where}, {pe.periods_text(e, info.frequency)}. {finding}"


def _about(e, info, **extra) -> dict:
    model = e.model
    names = ac.metric_names()  # a driver the reader may not see is named as such, never by its code
    drivers = ", ".join(dict.fromkeys(pp.display_name(d, names) for d in model.drivers)) if model else ""
    version = (f"Version {model.version} ({model.kind.replace('_', ' ')}; drivers: {drivers}; "
               f"data vintage {model.data_vintage})") if model else "No driver model"
    return ac.about_metric(info, vintage=e.data_vintage, **{"Driver model": version}, **extra)


def drivers_card(e, info, names):
    parts = pp.driver_parts(e, names)
    ends = pe.end_labels(e)
    figure = fg.waterfall_figure(parts, start=(ends[0], e.value_from), end=(ends[1], e.value_to),
                                 title=pe.waterfall_headline(e, parts), subtitle=pe.drivers_subtitle(e, info.frequency),
                                 unit=e.unit, higher_is_better=info.higher_is_better, freq=info.frequency)
    return chart_card(card_id=aid.EXPLAIN_DRIVERS_CARD, title="What the change is associated with",
                      caption=named_caption(e, info, pe.waterfall_caption(e, parts)), figure=figure,
                      table=pe.parts_table(parts, unit=e.unit),
                      about=_about(e, info, **pe.DRIVERS_ABOUT),
                      download_name=f"{e.metric}-{e.period_from}-{e.period_to}-drivers")


def components_card(e, info, names):
    parts = pp.component_parts(e, names)
    ends = pe.end_labels(e)
    figure = fg.waterfall_figure(parts, start=(ends[0], e.value_from), end=(ends[1], e.value_to),
                                 title=pe.components_headline(parts, e.unit),
                                 subtitle=pe.components_subtitle(info.formula), unit=e.unit,
                                 higher_is_better=info.higher_is_better, freq=info.frequency)
    return chart_card(card_id=aid.EXPLAIN_COMPONENTS_CARD, title="Formula components",
                      caption=named_caption(e, info, pe.components_caption(e, parts)), figure=figure,
                      table=pe.parts_table(parts, unit=e.unit),
                      about=_about(e, info, **pe.COMPONENTS_ABOUT),
                      download_name=f"{e.metric}-{e.period_from}-{e.period_to}-components")


def segments_card(e, info):
    parts = pp.segment_parts(e)
    mix_rate = pp.has_mix_rate(e)
    what = f"values of {pp.dimension_label(e.by)}" if e.by else "areas"
    figure = fg.segments_figure(parts, title=pe.segments_headline(e, parts), subtitle=pe.segments_subtitle(e, mix_rate),
                                unit=e.unit, higher_is_better=info.higher_is_better, mix_rate=mix_rate)
    return chart_card(card_id=aid.EXPLAIN_SEGMENTS_CARD, title=f"Which {what} moved it",
                      caption=named_caption(e, info, pe.segments_caption(e, parts)), figure=figure,
                      table=pe.parts_table(parts, unit=e.unit),
                      about=_about(e, info, Method="Sum metrics: each segment's own change. Ratio metrics: mix = "
                                                   "change in share × (segment rate − overall rate), rate = change "
                                                   "in rate × average share."),
                      download_name=f"{e.metric}-{e.period_from}-{e.period_to}-segments")


def render(request: dict | None, computed: dict | None) -> list:
    """The result area for a request: the cached explanation, an error from the background job, or a
    note that it is being worked out."""
    if not request:
        raise PreventUpdate
    auth.require_metric(request["metric"])
    view = cached_view(request)
    if view is not None:
        return view
    if computed and computed.get("key") == {k: request.get(k) for k in JOB_KEYS}:
        return [message(computed.get("error") or "The explanation was worked out but could not be read back from "
                        "the cache (the data or the model may have changed meanwhile). Choose again to retry.",
                        "error")]
    return [message("There is no precomputed explanation for this choice, so it is being worked out now. "
                    "This usually takes a few seconds; the progress bar above shows how far it has got, and "
                    "Cancel stops it.", "info")]


class _NotCached(Exception):
    """Raised inside the memo when there is no precomputed explanation (exceptions are never memoised)."""


@state.cached(lambda metric, a, b, area, by, viewer: ("explain-view", metric, a, b, area, by, viewer),
              max_entries=128)  # about 0.3 MB each
def _view(metric: str, a: str, b: str, area: str | None, by: str | None, viewer: tuple) -> list:
    """``viewer`` = (department, drivers hidden from it): the view names drivers, so it is memoised
    per what its reader may see."""
    explanation = ac.cached_explanation(metric, a, b, area, by)
    if explanation is None:
        raise _NotCached
    return [frozen(part) for part in explanation_view(explanation, ac.metric_info(metric), ac.metric_names(),
                                                      hide_drivers=bool(viewer[1]))]


def cached_view(request: dict) -> list | None:
    """The components of the precomputed explanation of ``request`` (None when there is none),
    memoised per data vintage and model versions: the same for everyone allowed to see the metric
    (check access first). A comparison with a plan, forecast or first-published figure, or real terms
    or per head, is worked out here (fast, and never precomputed)."""
    user = auth.current_user()
    viewer = (user.department if user else None, auth.hidden_drivers(request["metric"]))
    if is_special(request):
        try:
            explanation = ac.special_explanation(request["metric"], request["from"], request["to"], request["area"],
                                                 request["by"], request.get("vs"), request.get("measure"))
        except WhytrendError as exc:
            return [message(str(exc), "error")]
        return explanation_view(explanation, ac.metric_info(request["metric"]), ac.metric_names(),
                                hide_drivers=bool(viewer[1]))
    try:
        view = _view(request["metric"], request["from"], request["to"], request["area"], request["by"], viewer)
    except _NotCached:
        return None
    if request.get("cross"):
        try:
            found = ac.cross_search(request["metric"], request["from"], request["to"], request["area"])
        except WhytrendError as exc:
            return [*view, message(str(exc), "error")]
        return [*view, cross_section(found, ac.metric_info(request["metric"]))]
    return view


@state.cached(lambda codes, metric, area, a, b, by, comparison, vs, measure, cross: (
    "explain-controls", codes, metric, area, a, b, by, comparison, vs, measure, cross), max_entries=128)
def controls(codes: tuple[str, ...], metric: str, area: str | None, a: str, b: str, by: str | None,
             comparison: str, vs: str | None = None, measure: str | None = None, cross: bool = False) -> html.Section:
    """The page's controls for the visible metrics ``codes`` and a checked selection (memoised)."""
    from explain import list_metrics

    known = {m.code: m for m in list_metrics(state.get_store())}
    info = ac.metric_info(metric)
    periods = ac.metric_periods(metric)
    pairs = _pairs(periods, info.frequency)
    dims = pq.breakdown_dimensions(ac.breakdown_keys(metric))
    example_from, example_to = pq.period_examples(periods, pairs)
    series, measures = ac.compare_choices(metric)
    return frozen(html.Section([
        html.H2("Choose a change", className="visually-hidden", id=aid.EXPLAIN_CONTROLS_TITLE),
        ac.metric_picker(aid.EXPLAIN_METRIC, [known[c] for c in codes if c in known], metric),
        area_picker(aid.EXPLAIN_AREA, ac.area_tree(), area or ""),
        radio_fieldset(aid.EXPLAIN_COMPARISON, "Compare the latest period with",
                       pq.comparison_options(pairs, info.frequency), comparison),
        html.Fieldset([
            html.Legend("Other periods", className="fieldset__legend"),
            ac.period_input(aid.EXPLAIN_FROM, "From", a, aid.EXPLAIN_PERIODS, f"for example {example_from}",
                            hint_id=aid.EXPLAIN_FROM_HINT, error_id=aid.EXPLAIN_FROM_ERROR),
            ac.period_input(aid.EXPLAIN_TO, "To", b, aid.EXPLAIN_PERIODS, f"for example {example_to}",
                            hint_id=aid.EXPLAIN_TO_HINT, error_id=aid.EXPLAIN_TO_ERROR),
            html.Div(ac.period_datalist(aid.EXPLAIN_PERIODS, periods), id=aid.EXPLAIN_PERIODS_SLOT),
            html.Button("Explain these periods", id=aid.EXPLAIN_APPLY, type="button", n_clicks=0,
                        className="button button--secondary"),
        ], className="fieldset"),
        radio_fieldset(aid.EXPLAIN_VS, "Compare the later figure with", pq.vs_options(series, b, info.frequency),
                       vs or pq.VS_PERIOD, hint="A plan or forecast, or the figure first published, is compared with "
                       "the latest figure for the same period."),
        radio_fieldset(aid.EXPLAIN_MEASURE, "Show the figures in", pq.measure_options(measures), measure or "cash"),
        radio_fieldset(aid.EXPLAIN_BY, "Split the change into", by_options(dims), by or AREAS),
        checklist_fieldset(aid.EXPLAIN_CROSS, "Search further",
                           [{"label": "Also search combinations of areas and breakdowns for the few segments that "
                                      "moved it most", "value": "cross"}], ["cross"] if cross else []),
    ], className="controls", **{"aria-labelledby": aid.EXPLAIN_CONTROLS_TITLE}))


# ----------------------------------------------------------------------------- layout
def layout(**query):
    sel = selection(query)  # a user error is shown by the layout guard (dashapp.auth.guard_layout)
    request = request_of(sel)
    result = render(request, None)
    cached = cached_view(request) is not None
    codes = tuple(m.code for m in auth.visible_metrics())
    return html.Div([
        dcc.Location(id=aid.EXPLAIN_URL, refresh=False),
        dcc.Store(id=aid.EXPLAIN_METRIC_STORE, data=sel["metric"]),
        dcc.Store(id=aid.EXPLAIN_REQUEST, data=request),
        # no data=None: a dcc.Store given None sets its data again when mounted, which fires the
        # callbacks listening to it (here: a background job and a second render on every page view)
        dcc.Store(id=aid.EXPLAIN_PENDING),
        dcc.Store(id=aid.EXPLAIN_COMPUTED),
        # starts the background job once when there is nothing precomputed to show (a callback that
        # fired on load would drag the background job into Dash's initial chain on every page view)
        dcc.Interval(id=aid.EXPLAIN_KICK, interval=50, max_intervals=1, disabled=cached),
        page_header("Explain a change"),
        ac.controls_panel(aid.EXPLAIN_PANEL, aid.EXPLAIN_SELECTION_TEXT, selection_text(sel),
                          controls(codes, sel["metric"], sel["area"], sel["from"], sel["to"], sel["by"],
                                   sel["comparison"], sel["vs"], sel["measure"], sel["cross"])),
        ac.progress_block(aid.EXPLAIN_PROGRESS, "Working out the explanation", cancel_id=aid.EXPLAIN_CANCEL),
        html.Div([message(n, "warning") for n in sel["notes"]], id=aid.EXPLAIN_MESSAGES, **{"aria-live": "polite"}),
        html.Div(result, id=aid.EXPLAIN_RESULT, className="js-answer", **{"aria-busy": "false"}),
    ], className="page page--explain")


def selection_text(sel: dict) -> str:
    """What the page explains, for the controls panel's summary line."""
    area = ac.area_tree().name(sel["area"]) if sel["area"] else "all areas"
    split = f"split by {pp.dimension_label(sel['by'])}" if sel["by"] else "split by areas"
    freq = sel["info"].frequency
    when = f"{period_text(sel['from'], freq)} to {period_text(sel['to'], freq)}"
    if sel.get("vs"):
        points = pq.vs_points(sel["vs"], sel["to"])
        when = " against ".join(Point.from_dict(p).text(freq) for p in reversed(points))
    measure = f" · {sel['measures'][sel['measure']].lower()}" if sel.get("measure") else ""
    return f"{sel['info'].name} · {area} · {when}{measure} · {split}"


def by_options(dims) -> list[dict]:
    return [{"label": "Areas (the parts of the area chosen)", "value": AREAS}] + [
        {"label": f"Values of {pp.dimension_label(d)}", "value": d} for d in dims]


# ----------------------------------------------------------------------------- callbacks
@callback(
    Output(aid.EXPLAIN_METRIC_STORE, "data"),
    Output({"type": aid.EXPLAIN_METRIC, "dept": ALL}, "value"),
    Input({"type": aid.EXPLAIN_METRIC, "dept": ALL}, "value"),
    State({"type": aid.EXPLAIN_METRIC, "dept": ALL}, "id"),
    State(aid.EXPLAIN_METRIC_STORE, "data"),
    prevent_initial_call=True,
)
def pick_metric(values, groups, current):
    metric = ac.chosen_metric(values, ctx.triggered_id, groups, current)
    if not metric or not auth.can_see_metric(metric):
        raise PreventUpdate
    return metric, [metric if value == metric else None for value in values]


_TRIGGERS = {aid.EXPLAIN_METRIC_STORE: "metric", aid.EXPLAIN_COMPARISON: "comparison", aid.EXPLAIN_APPLY: "apply",
             aid.EXPLAIN_VS: "vs", aid.EXPLAIN_MEASURE: "measure", aid.EXPLAIN_CROSS: "cross"}


@callback(
    Output(aid.EXPLAIN_MESSAGES, "children"),
    Output(aid.EXPLAIN_URL, "search"),
    Output(aid.EXPLAIN_COMPARISON, "options"),
    Output(aid.EXPLAIN_COMPARISON, "value"),
    Output(aid.EXPLAIN_FROM, "value"),
    Output(aid.EXPLAIN_TO, "value"),
    Output(aid.EXPLAIN_PERIODS_SLOT, "children"),
    Output(aid.EXPLAIN_BY, "options"),
    Output(aid.EXPLAIN_BY, "value"),
    Output(aid.EXPLAIN_REQUEST, "data"),
    Output(aid.EXPLAIN_SELECTION_TEXT, "children"),
    Output(aid.EXPLAIN_FROM_HINT, "children"),
    Output(aid.EXPLAIN_TO_HINT, "children"),
    Output(aid.EXPLAIN_FROM_ERROR, "children"),
    Output(aid.EXPLAIN_TO_ERROR, "children"),
    Output(aid.EXPLAIN_FROM, "invalid"),
    Output(aid.EXPLAIN_TO, "invalid"),
    Output(aid.EXPLAIN_VS, "options"),
    Output(aid.EXPLAIN_VS, "value"),
    Output(aid.EXPLAIN_MEASURE, "options"),
    Output(aid.EXPLAIN_MEASURE, "value"),
    Input(aid.EXPLAIN_METRIC_STORE, "data"),
    Input(ids.area_scope(aid.EXPLAIN_AREA), "value"),
    Input(ids.area_search(aid.EXPLAIN_AREA), "value"),
    Input(aid.EXPLAIN_COMPARISON, "value"),
    Input(aid.EXPLAIN_APPLY, "n_clicks"),
    Input(aid.EXPLAIN_BY, "value"),
    Input(aid.EXPLAIN_VS, "value"),
    Input(aid.EXPLAIN_MEASURE, "value"),
    Input(aid.EXPLAIN_CROSS, "value"),
    State(aid.EXPLAIN_FROM, "value"),
    State(aid.EXPLAIN_TO, "value"),
    prevent_initial_call=True,
)
@error_boundary
def select(metric, scope, search, comparison, _apply, by, vs, measure, cross, start, end):
    trigger = _TRIGGERS.get(ctx.triggered_id, "other")
    problems = typed_period_problems(metric, start, end) if trigger == "apply" else {}
    if problems:  # keep what the reader typed and the answer shown; say what is wrong beside each field
        return (*[no_update] * 13, ac.field_error(problems.get("from")), ac.field_error(problems.get("to")),
                "from" in problems, "to" in problems, *[no_update] * 4)
    sel, notes = selection_from_controls(metric, scope, search, comparison, by, start, end, trigger, vs, measure,
                                         bool(cross))
    request = request_of(sel)
    examples = pq.period_examples(sel["periods"], sel["pairs"])
    return ([message(n, "warning") for n in notes + sel["notes"]], pq.query_string(request),
            pq.comparison_options(sel["pairs"], sel["info"].frequency), sel["comparison"], sel["from"], sel["to"],
            ac.period_datalist(aid.EXPLAIN_PERIODS, sel["periods"]), by_options(sel["dims"]), sel["by"] or AREAS,
            request, selection_text(sel), f" – for example {examples[0]}", f" – for example {examples[1]}",
            [], [], False, False, pq.vs_options(sel["series"], sel["to"], sel["info"].frequency),
            sel["vs"] or pq.VS_PERIOD, pq.measure_options(sel["measures"]), sel["measure"] or "cash")


def typed_period_problems(metric: str, start: str | None, end: str | None) -> dict[str, str]:
    """What is wrong with the periods typed for ``metric`` (by field), {} when both can be explained."""
    auth.require_metric(metric)
    info, periods = ac.metric_info(metric), ac.metric_periods(metric)
    examples = pq.period_examples(periods, _pairs(periods, info.frequency))
    return pq.read_period_pair(start, end, periods, info.frequency, examples)[2]


def selection_from_controls(metric, scope, search, comparison, by, start, end, trigger, vs=None,
                            measure=None, cross=False) -> tuple[dict, list[str]]:
    """The selection the controls ask for. A new metric keeps the area, the comparison (or the typed
    periods, where the new series has them) and the split, where the new metric has that breakdown."""
    notes = []
    area = area_from_picker(ac.area_tree(), scope, search)
    if area is None:
        notes.append(f"No region or area is called '{search}'; explaining all areas. Choose a name from the list.")
    if trigger == "apply":
        info, periods = ac.metric_info(metric), ac.metric_periods(metric)
        examples = pq.period_examples(periods, _pairs(periods, info.frequency))
        start, end, _ = pq.read_period_pair(start, end, periods, info.frequency, examples)
    if trigger == "metric":  # what the new series lacks is dropped quietly (the reader did not ask for it)
        periods = ac.metric_periods(metric)
        if start not in periods or end not in periods:
            start = end = None
        if by and by != AREAS and by not in pq.breakdown_dimensions(ac.breakdown_keys(metric)):
            by = None
    query = {"metric": metric, "area": area, "from": start, "to": end, "comparison": comparison,
             "by": None if by == AREAS else by, "vs": vs, "measure": measure, "cross": "1" if cross else None}
    return selection({k: v for k, v in query.items() if v}, trigger=trigger), notes


@callback(
    Output(aid.EXPLAIN_RESULT, "children"),
    Input(aid.EXPLAIN_REQUEST, "data"),
    Input(aid.EXPLAIN_COMPUTED, "data"),
    prevent_initial_call=True,
)
@error_boundary
def show(request, computed):
    return render(request, computed)


@callback(
    Output(aid.EXPLAIN_PENDING, "data"),
    Input(aid.EXPLAIN_REQUEST, "data"),
    Input(aid.EXPLAIN_KICK, "n_intervals"),
    State(aid.EXPLAIN_REQUEST, "data"),
    prevent_initial_call=True,
)
def need_computing(_changed, _kick, request):
    """Start the background job only for a request with no precomputed explanation: when the
    selection changes, or once after a page load that had nothing cached to show."""
    if not request or not auth.can_see_metric(request.get("metric", "")):
        raise PreventUpdate
    if is_special(request) or find_explanation(request) is not None:
        raise PreventUpdate
    return ac.issue_job("explain", {k: request[k] for k in JOB_KEYS})


@callback(
    Output(aid.EXPLAIN_RESULT, "children", allow_duplicate=True),
    Input(aid.EXPLAIN_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def cancelled(n_clicks):
    if not n_clicks or auth.current_user() is None:
        raise PreventUpdate
    return [message("Stopped. Choose the change again to start over.", "info")]


@callback(
    Output(aid.EXPLAIN_COMPUTED, "data"),
    Input(aid.EXPLAIN_PENDING, "data"),
    background=True,
    running=[(Output(PROGRESS["block"], "hidden"), False, True),
             (Output(aid.EXPLAIN_RESULT, "aria-busy"), "true", "false")],
    progress=[Output(PROGRESS["bar"], "style"), Output(PROGRESS["bar"], "aria-valuenow"),
              Output(PROGRESS["status"], "children")],
    cancel=[Input(aid.EXPLAIN_CANCEL, "n_clicks")],
    on_error=lambda error: {"key": None, "error": failure_text(error)},  # e.g. its worker was lost
    prevent_initial_call=True,
)
def compute(set_progress, ticket):
    """Explain a change with no precomputed result, in a background job (the engine caches it)."""
    if not ticket:
        raise PreventUpdate
    try:
        request = ac.authorise_job("explain", ticket)
    except JobRefused as exc:
        return {"key": None, "error": str(exc)}
    with running_job(ticket):
        return compute_explanation(request, set_progress)


def compute_explanation(request: dict, set_progress=None) -> dict:
    """Run :func:`explain.explain_change` for a verified request and report how it went (JSON-ready).

    Runs in a background job, without the request: the caller has authorised the request for the
    user who asked (:func:`dashapp.analysis_components.authorise_job`)."""
    from explain import Stage, explain_change

    key = {k: request.get(k) for k in JOB_KEYS}
    report = set_progress or (lambda value: None)
    report(ac.progress_values(Stage("explain", 1, 10, "Reading the data and the driver model")))
    try:
        explain_change(state.get_store(), request["metric"], request["from"], request["to"], area=request["area"],
                       by=request["by"])
    except WhytrendError as exc:
        return {"key": key, "error": str(exc)}
    except Exception:  # noqa: BLE001 - the job's boundary: log and say something humane
        log.exception("explaining %s failed", key)
        return {"key": key, "error": "The explanation could not be worked out; the error was logged."}
    report(ac.progress_values(Stage("explain", 10, 10, "Done")))
    return {"key": key, "done": True}
