"""Trends ("/trends?metric=&area=&from=&to=&compare=&vintage=latest|first").

A metric's series for the whole, a region or an area, as an XmR chart: centre and process
limits (dashed, labelled directly), special-cause points by colour, shape and words,
provisional periods shaded, events as annotated lines, revisions visible (the figures "as
first published" or the latest ones, with both in the table). Up to four areas can be
compared on one chart. Every selection is in the URL, so a link reproduces the view.
"""
from __future__ import annotations

from dataclasses import replace

import dash
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from dashapp import analysis_components as ac
from dashapp import analysis_ids as aid
from dashapp import auth, ids, state
from dashapp import figures as fg
from dashapp import presenters_explain as pe
from dashapp import presenters_parts as pp
from dashapp import presenters_queries as pq
from dashapp import presenters_trends as pt
from dashapp.components import (
    area_picker,
    chart_card,
    checklist_fieldset,
    error_boundary,
    frozen,
    message,
    page_header,
    radio_fieldset,
)
from dashapp.presenters import area_from_picker, date_text
from explain.numbers import period_text
from loaders.errors import AccessDenied
from loaders.vocabulary import is_whole

dash.register_page(__name__, path="/trends", name="Trends", title="Trends – whytrend", order=1,
                   description="A metric over time with its usual range, unusual points, provisional periods, "
                               "events and revisions.")

VINTAGE_OPTIONS = [{"label": "Latest figures (including revisions)", "value": "latest"},
                   {"label": "As first published", "value": "first"}]


class TrendsView:
    """What the page shows for one query: notes, the normalised URL query and the chart cards.

    (A plain class: Dash executes page files before registering them as modules, which
    dataclasses with postponed annotations cannot handle.)"""

    def __init__(self, query: pq.TrendsQuery, notes: list[str], periods: tuple[str, ...] = ()):
        self.query = query
        self.notes = notes
        self.cards: list = []
        self.periods = periods

    @property
    def search(self) -> str:
        return pq.query_string(self.query.to_query())


def build_view(query: dict) -> TrendsView:
    """Parse and check ``query`` for the current user, read the trends, build the chart cards."""
    auth.require_role("viewer")
    visible = [m.code for m in auth.visible_metrics()]
    metric = pq.default_metric(pq.first_value(query, "metric"), visible)
    if metric is None:
        raise AccessDenied("There are no metrics for you to see yet.")
    auth.require_metric(metric)
    tree = ac.area_tree()
    periods = ac.metric_periods(metric)
    q = pq.parse_trends_query({**query, "metric": metric}, visible=visible, areas=tree.by_code, periods=periods)
    measures = ac.compare_choices(metric)[1]
    q = replace(q, area=None if q.area is not None and is_whole(q.area) else q.area,
                measure=pq.clean_measure(q.measure, measures))
    view = TrendsView(q, list(q.notes), periods=periods)
    cards, notes = trend_cards(q.metric, q.area, q.start, q.end, tuple(q.compare), q.vintage, q.measure)
    view.cards.extend(cards)
    view.notes.extend(notes)
    return view


@state.cached(lambda metric, area, start, end, compare, vintage, measure=None: (
    "trends-cards", metric, area, start, end, compare, vintage, measure), max_entries=32)  # ~2 MB each
def trend_cards(metric: str, area: str | None, start: str | None, end: str | None, compare: tuple[str, ...],
                vintage: str, measure: str | None = None) -> tuple[list, list[str]]:
    """The chart cards of a checked query and notes about them, memoised per data vintage and serialised
    once (a long series' table is thousands of components): the same for everyone who may see the
    metric, so check access first."""
    q = pq.TrendsQuery(metric, area, start, end, compare, vintage, measure=measure)
    info = ac.metric_info(metric)
    if measure:  # real terms or per head: the measured series' own name and unit
        info = replace(info, name=pt.measured_name(info.name, measure, ac.compare_choices(metric)[1][measure]),
                       unit=ac.trend(metric, None, None, None, False, measure).unit)
    cards, notes = [], []
    latest = ac.trend(metric, q.area, q.start, q.end, False, measure)
    shown = ac.trend(metric, q.area, q.start, q.end, True, measure) if q.as_first_published else latest
    cards.append(answer(shown, info))
    cards.append(trend_card(shown, latest, info, q))
    revised_period = pt.latest_revised_period(latest) if not measure else None  # revisions are of cash figures
    if revised_period is not None:
        cards.append(revision_card(ac.revision(metric, revised_period, q.area), info))
    if q.compare:
        trends = [ac.trend(metric, code, q.start, q.end, q.as_first_published, measure) for code in q.compare]
        empty = [t.area_name for t in trends if not any(p.value is not None for p in t.points)]
        if empty:
            notes.append(f"No values of {info.name} for {', '.join(empty)}; not compared.")
        trends = [t for t in trends if any(p.value is not None for p in t.points)]
        if trends:
            cards.append(compare_card(trends, info, q))
    return [frozen(card) for card in cards], notes


def answer(shown, info) -> html.Section:
    """The page's answer, before any chart: which series, and what its latest movement was (with the
    verdict) in one sentence."""
    return html.Section([
        html.H2(f"{info.name}, {'all areas' if is_whole(shown.area) else shown.area_name}",
                id=aid.TRENDS_ANSWER + "-title"),
        html.P(pt.trend_caption(shown, metric_name=info.name, freq=info.frequency), className="lead answer__headline"),
    ], id=aid.TRENDS_ANSWER, className="answer", **{"aria-labelledby": aid.TRENDS_ANSWER + "-title"})


def trend_card(shown, latest, info, q: pq.TrendsQuery):
    headline = pt.trend_headline(shown, freq=info.frequency)
    figure = fg.trend_figure(shown, title=headline, subtitle=pt.trend_subtitle(shown), freq=info.frequency,
                             latest=latest, as_first_published=q.as_first_published)
    vintage = max((p.vintage for p in shown.points), default="")
    about = ac.about_metric(info, vintage=vintage, **{
        "Figures shown": "As first published" if q.as_first_published else "Latest (including revisions)",
        **(pt.XMR_ABOUT if shown.centre is not None else {"Usual range": "Too few points to set one"}),
        "Shaded periods": "Provisional figures, which may be revised",
    })
    return chart_card(card_id=aid.TRENDS_CARD, title=f"{info.name} over time, with its usual range",
                      heading_level=3,
                      caption=pt.trend_caption(shown, metric_name=info.name, freq=info.frequency),
                      figure=figure, table=pt.trend_table(shown, latest if q.as_first_published else None),
                      about=about, download_name=f"{info.code}-{shown.area}-trend")


def revision_card(e, info):
    """What revisions changed: the latest revised period's figure as first published against the latest,
    split by areas (exact: the parts add up to the revision)."""
    parts = pp.segment_parts(e)
    caption = pt.revision_caption(e, freq=info.frequency)
    figure = fg.segments_figure(parts, title=f"Revisions to {period_text(e.period_to, info.frequency)}",
                                subtitle="Each bar is one area's revision since the figure was first published; "
                                         "together they add up to the revision",
                                unit=e.unit, higher_is_better=info.higher_is_better)
    return chart_card(card_id=aid.TRENDS_REVISION_CARD, title="What revisions changed", heading_level=3,
                      caption=caption, figure=figure, table=pe.parts_table(parts, unit=e.unit),
                      about=ac.about_metric(info, vintage=e.data_vintage, **{
                          "Revision": "The latest figure against the figure first published for the same period, "
                                      "split by areas; the same split as Explain's 'compare with the figure first "
                                      "published'."}),
                      download_name=f"{info.code}-{e.period_to}-revisions")


def compare_card(trends, info, q: pq.TrendsQuery):
    names = ", ".join(t.area_name for t in trends)
    figure = fg.compare_figure(trends, title=f"{info.name} in {len(trends)} areas", subtitle=names,
                               freq=info.frequency)
    table = pd.concat([t.to_frame().assign(area=t.area_name)[["area", "period", "value", "status"]] for t in trends],
                      ignore_index=True)
    return chart_card(card_id=aid.TRENDS_COMPARE_CARD, title=f"{info.name}: areas compared",
                      caption=pt.compare_caption(trends, metric_name=info.name, freq=info.frequency),
                      figure=figure, table=table, about=ac.about_metric(info),
                      download_name=f"{info.code}-compared")


def notes_block(notes: list[str]):
    return [message(note, "warning") for note in notes]


def freshness(metric: str) -> str:
    """'Data vintage 7 · last updated 21 November 2026 21:06 UTC' for the page's metric."""
    facts = ac.provenance(metric)
    vintage = max((p.vintage for p in ac.trend(metric, None, None, None, False).points), default="–")
    return f"Data vintage {vintage} · last updated {date_text(facts['updated']) if facts['updated'] else 'unknown'}"


def layout(**query):
    view = build_view(query)  # a user error is shown by the layout guard (dashapp.auth.guard_layout)
    q = view.query
    return html.Div([
        dcc.Location(id=aid.TRENDS_URL, refresh=False),
        dcc.Store(id=aid.TRENDS_METRIC_STORE, data=q.metric),
        page_header("Trends"),
        ac.controls_panel(aid.TRENDS_PANEL, aid.TRENDS_SELECTION_TEXT, selection_text(q), controls(view)),
        html.Div(notes_block(view.notes), id=aid.TRENDS_MESSAGES, **{"aria-live": "polite"}),
        html.Div(view.cards, id=aid.TRENDS_RESULT, className="js-answer"),
        html.P(freshness(q.metric), id=aid.TRENDS_FRESHNESS, className="freshness"),
    ], className="page page--trends")


def controls(view: TrendsView) -> html.Section:
    q = view.query
    tree = ac.area_tree()
    regions = ac.root_children(tree)
    return html.Section([
        html.H2("Choose a series", className="visually-hidden", id=aid.TRENDS_CONTROLS_TITLE),
        ac.metric_picker(aid.TRENDS_METRIC, auth.visible_metrics(), q.metric),
        area_picker(aid.TRENDS_AREA, tree, q.area or ""),
        html.Fieldset([
            html.Legend("Periods shown", className="fieldset__legend"),
            ac.period_input(aid.TRENDS_FROM, "From", q.start, aid.TRENDS_PERIODS, from_hint(view.periods),
                            hint_id=aid.TRENDS_FROM_HINT, error_id=aid.TRENDS_FROM_ERROR),
            ac.period_input(aid.TRENDS_TO, "To", q.end, aid.TRENDS_PERIODS, "leave empty for the latest",
                            error_id=aid.TRENDS_TO_ERROR),
            html.Div(ac.period_datalist(aid.TRENDS_PERIODS, view.periods), id=aid.TRENDS_PERIODS_SLOT),
        ], className="fieldset"),
        radio_fieldset(aid.TRENDS_VINTAGE, "Figures", VINTAGE_OPTIONS, q.vintage),
        radio_fieldset(aid.TRENDS_MEASURE, "Show the figures in", pq.measure_options(ac.compare_choices(q.metric)[1]),
                       q.measure or "cash"),
        checklist_fieldset(aid.TRENDS_COMPARE, f"Compare areas (up to {pq.MAX_COMPARE})",
                           [{"label": tree.name(code), "value": code} for code in regions], list(q.compare),
                           hint="Draws the chosen areas on one chart."),
        html.P("", id=aid.TRENDS_COMPARE_MESSAGE, className="field-error", role="status"),
    ], className="controls", **{"aria-labelledby": aid.TRENDS_CONTROLS_TITLE})


def from_hint(periods) -> str:
    """'for example 2024-09': a period of the series itself, about two years before its end."""
    return f"for example {periods[max(0, len(periods) - 25)]}" if periods else "for example the first period"


def selection_text(q: pq.TrendsQuery) -> str:
    """What the page shows, for the controls panel's summary line."""
    info = ac.metric_info(q.metric)
    area = ac.area_tree().name(q.area) if q.area else "all areas"
    span = (f"{period_text(q.start, info.frequency) if q.start else 'the start'} to "
            f"{period_text(q.end, info.frequency) if q.end else 'the latest'}")
    figures = "as first published" if q.as_first_published else "latest figures"
    compared = f" · {len(q.compare)} areas compared" if q.compare else ""
    measure = f" · {ac.compare_choices(q.metric)[1][q.measure].lower()}" if q.measure else ""
    return f"{info.name} · {area} · {span} · {figures}{measure}{compared}"


@callback(
    Output(aid.TRENDS_METRIC_STORE, "data"),
    Output({"type": aid.TRENDS_METRIC, "dept": ALL}, "value"),
    Input({"type": aid.TRENDS_METRIC, "dept": ALL}, "value"),
    State({"type": aid.TRENDS_METRIC, "dept": ALL}, "id"),
    State(aid.TRENDS_METRIC_STORE, "data"),
    prevent_initial_call=True,
)
def pick_metric(values, groups, current):
    """One metric across the department groups: keep the one just picked, clear the others."""
    metric = ac.chosen_metric(values, ctx.triggered_id, groups, current)
    if not metric or not auth.can_see_metric(metric):
        raise PreventUpdate
    return metric, [metric if value == metric else None for value in values]


@callback(
    Output(aid.TRENDS_MESSAGES, "children"),
    Output(aid.TRENDS_URL, "search"),
    Output(aid.TRENDS_RESULT, "children"),
    Output(aid.TRENDS_PERIODS_SLOT, "children"),
    Output(aid.TRENDS_FROM, "value"),
    Output(aid.TRENDS_TO, "value"),
    Output(aid.TRENDS_FRESHNESS, "children"),
    Output(aid.TRENDS_SELECTION_TEXT, "children"),
    Output(aid.TRENDS_FROM_HINT, "children"),
    Output(aid.TRENDS_FROM_ERROR, "children"),
    Output(aid.TRENDS_TO_ERROR, "children"),
    Output(aid.TRENDS_FROM, "invalid"),
    Output(aid.TRENDS_TO, "invalid"),
    Output(aid.TRENDS_COMPARE, "value"),
    Output(aid.TRENDS_COMPARE_MESSAGE, "children"),
    Output(aid.TRENDS_MEASURE, "options"),
    Output(aid.TRENDS_MEASURE, "value"),
    Input(aid.TRENDS_METRIC_STORE, "data"),
    Input(ids.area_scope(aid.TRENDS_AREA), "value"),
    Input(ids.area_search(aid.TRENDS_AREA), "value"),
    Input(aid.TRENDS_FROM, "value"),
    Input(aid.TRENDS_TO, "value"),
    Input(aid.TRENDS_VINTAGE, "value"),
    Input(aid.TRENDS_COMPARE, "value"),
    Input(aid.TRENDS_MEASURE, "value"),
    prevent_initial_call=True,
)
@error_boundary
def update(metric, scope, search, start, end, vintage, compare, measure):
    new_metric = ctx.triggered_id == aid.TRENDS_METRIC_STORE
    compare, too_many = pq.limit_compare(compare)
    start, end, problems = typed_periods(metric, start, end, keep_quiet=new_metric)
    if problems:  # keep what the reader typed and the chart shown; say what is wrong beside the field
        return (*[no_update] * 9, ac.field_error(problems.get("from")), ac.field_error(problems.get("to")),
                "from" in problems, "to" in problems, compare if too_many else no_update, too_many, no_update,
                no_update)
    query, notes = selection_query(metric, scope, search, start, end, vintage, compare, measure)
    view = build_view(query)
    q = view.query
    return (notes_block(notes + view.notes), view.search, view.cards,
            ac.period_datalist(aid.TRENDS_PERIODS, view.periods), q.start or "", q.end or "",
            freshness(q.metric), selection_text(q), f" – {from_hint(view.periods)}", [], [], False, False,
            list(q.compare), too_many, pq.measure_options(ac.compare_choices(q.metric)[1]), q.measure or "cash")


def typed_periods(metric: str, start: str | None, end: str | None, *, keep_quiet: bool
                  ) -> tuple[str | None, str | None, dict[str, str]]:
    """The typed From and To as the series' labels (empty = the whole series) and what is wrong with
    them by field. After a change of metric a period the new series lacks is dropped quietly."""
    auth.require_metric(metric)
    info, periods = ac.metric_info(metric), ac.metric_periods(metric)
    out: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for key, typed, example in (("from", start, periods[max(0, len(periods) - 25)] if periods else ""),
                                ("to", end, periods[-1] if periods else "")):
        if not (typed or "").strip():
            out[key] = None
            continue
        label, problem = pq.read_period(typed, periods, info.frequency, example)
        out[key] = label
        if problem and not keep_quiet:
            problems[key] = problem
    if out["from"] and out["to"] and periods.index(out["from"]) > periods.index(out["to"]) and not keep_quiet:
        problems["to"] = f"'To' ({out['to']}) is before 'From' ({out['from']}): choose a later period."
    return out["from"], out["to"], problems


def selection_query(metric, scope, search, start, end, vintage, compare, measure=None) -> tuple[dict, list[str]]:
    """The controls' values as the page's URL query (plus a note when the area text matches nothing)."""
    notes = []
    area = area_from_picker(ac.area_tree(), scope, search)
    if area is None:
        notes.append(f"No region or area is called '{search}'; showing all areas. Choose a name from the list.")
    query = {"metric": metric, "area": None if is_whole(area) else area, "from": start or None,
             "to": end or None, "vintage": vintage, "compare": ",".join(compare or []),
             "measure": None if measure == "cash" else measure}
    return {k: v for k, v in query.items() if v}, notes
