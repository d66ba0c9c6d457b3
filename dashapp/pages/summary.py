"""Summary ("/?department="): a briefing for senior officials.

Answers first: how many metrics moved beyond their usual range in the latest period, then those
metrics grouped as concerns, improvements and unusual changes with no better direction, each with
one sentence saying what moved it (the component, area or driver with the largest share, from the
precomputed explanation: never computed here) and a link to its explanation. Every metric follows in
one sortable table (latest value, change, verdict, why, a sparkline with a text alternative). A
department filter narrows both; the page prints as an A4 briefing with the date and data vintage
(assets/whytrend.print.css), which a private office can attach to a submission.
"""
from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import quote, urlencode

import dash
from dash import dcc, html

from dashapp import auth, ids, state
from dashapp import presenters_summary as ps
from dashapp.components import frozen, message, page_header
from dashapp.presenters import date_text
from loaders.errors import WhytrendError

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/", name="Summary", title="Summary – whytrend", order=0,
                   description="Which metrics moved beyond their usual range, and why.")

SPARK_W, SPARK_H = 120, 32


@state.cached(lambda metric: ("headline", metric))
def headline_for(metric: str):
    """The metric's headline (memoised per data vintage and model versions)."""
    from explain import headline

    return headline(state.get_store(), metric)


@state.cached(lambda: ("departments",))
def department_names() -> dict[str, str]:
    from explain import departments

    return departments(state.get_store())


def layout(department: str | None = None, **_query):
    codes = tuple(m.code for m in auth.visible_metrics())
    return summary_page(codes, tuple(c for c in codes if auth.hidden_drivers(c)), department or "",
                        dt.date.today().isoformat())


@state.cached(lambda codes, quiet=(), department="", today="": ("summary-page", codes, quiet, department, today),
              max_entries=64)
def summary_page(codes: tuple[str, ...], quiet: tuple[str, ...] = (), department: str = "", today: str = ""):
    """The briefing for the metrics ``codes`` (the ones the user may see, checked by the caller),
    memoised per data vintage and model versions. ``quiet``: metrics whose 'why' may name a driver the
    reader may not see (their line leaves it out). ``department``: the filter ('' for all); ``today``:
    the briefing's date (part of the memo's key, so a briefing is never dated yesterday)."""
    from explain import list_metrics

    known = {m.code: m for m in list_metrics(state.get_store())}
    metrics = [known[code] for code in codes if code in known]
    if not metrics:
        return html.Div([page_header("Summary"),
                         message("There are no metrics for you to see yet. Ask an administrator to load your "
                                 "department's data or to check your account.", "info")], className="page")
    names = department_names()
    shown_departments = {m.department: names.get(m.department, m.department) for m in metrics}
    chosen = ps.department_choice(department, shown_departments)
    rows, problems = [], []
    for info in metrics:
        if chosen and info.department != chosen:
            continue
        try:
            rows.append(ps.briefing_row(headline_for(info.code), department_name=shown_departments[info.department],
                                        drivers_allowed=info.code not in quiet))
        except WhytrendError as exc:
            problems.append(f"{info.name}: {exc}")
    store = state.get_store()
    vintage = store.latest_load_id()
    notes = [message("Some metrics could not be shown: " + "; ".join(problems), "warning")] if problems else []
    where = f" for {shown_departments[chosen]}" if chosen else ""
    return frozen(html.Div([
        page_header(f"Summary{where}", ps.headline_count(rows)),
        html.P(f"Briefing of {date_text(today or dt.date.today().isoformat())}, data vintage {vintage}.",
               className="briefing__stamp"),
        html.Div([_department_filter(shown_departments, chosen),
                  html.Button("Print or save as PDF", type="button", className="button button--secondary print-button",
                              **{"data-print": "1"})], className="briefing__tools"),
        *notes,
        _attention(rows),
        _table(rows),
    ], className="page page--summary"))


def _department_filter(departments: dict[str, str], chosen: str | None) -> html.Details:
    """Links, not a form: each filter is a shareable URL and works without script. Folded under one
    line naming the filter applied, so the briefing starts on the first screen of a phone."""
    items = [("", "All departments")] + sorted(departments.items(), key=lambda kv: kv[1])
    links = []
    for code, name in items:
        current = (code or None) == chosen
        href = "/?" + urlencode({"department": code}) if code else "/"
        links.append(html.Li(html.A(name, href=href, className="filter-link",
                                    **({"aria-current": "page"} if current else {}))))
    showing = departments[chosen] if chosen else "all departments"
    return html.Details([
        html.Summary([html.Span("Choose a department", className="filter__action"),
                      html.Span(f" (showing {showing})", className="filter__current")], className="filter__summary"),
        html.Nav(html.Ul(links, className="filter__list"), className="filter",
                 **{"aria-label": "Departments"}),
    ], className="filter-panel")


def _attention(rows: list[ps.BriefingRow]) -> html.Section:
    """The first section: the metrics beyond their usual range, by group, furthest beyond first."""
    groups = ps.groups(rows)
    body: list = []
    if not groups:
        body.append(html.P("No metric moved beyond its usual range in the latest period: every change is "
                           "within what the metric's own history makes usual. The table below lists them all.",
                           className="briefing__none"))
    for kind, heading, meaning, members in groups:
        heading_id = f"briefing-{kind}"
        body.append(html.Section([
            html.H3(f"{heading} ({len(members)})", id=heading_id, className="briefing__group-title"),
            html.P(meaning, className="briefing__group-meaning"),
            html.Ul([html.Li(_item(row), className="briefing__item") for row in members], className="briefing__list"),
        ], className=f"briefing__group briefing__group--{kind}", **{"aria-labelledby": heading_id}))
    return html.Section([html.H2("Unusual changes in the latest period", id="briefing-title"), *body],
                        id=ids.SUMMARY_BRIEFING, className="briefing", **{"aria-labelledby": "briefing-title"})


def _item(row: ps.BriefingRow) -> html.Article:
    title_id = f"briefing-{row.code}-title"
    return html.Article([
        html.H4(dcc.Link(row.name, href=row.href) if row.href else row.name, id=title_id,
                className="briefing-item__title"),
        html.P([html.Span(row.verdict, className=f"badge spc spc--{row.kind}"), " ",
                html.Span(f"{row.value} in {row.period}", className="briefing-item__value")],
               className="briefing-item__facts"),
        _changes(row.changes, "briefing-item__changes"),
        html.P(row.why, className="briefing-item__why"),
        html.P(f"{row.department_name} · data vintage {row.vintage}", className="briefing-item__meta"),
    ], className="briefing-item", **{"aria-labelledby": title_id, "data-metric": row.code})


_COLUMNS = (("name", "Metric", "text"), ("department", "Department", "text"), ("value", "Latest", "none"),
            ("change", "Change on the previous period", "number"), ("verdict", "Verdict", "number"),
            ("why", "Why it moved", "none"), ("trend", "Trend", "none"))


def _table(rows: list[ps.BriefingRow]) -> html.Section:
    """Every metric in one table; the column buttons sort it in the browser (assets/whytrend.js)."""
    head = []
    for key, label, sort in _COLUMNS:
        if sort == "none":
            head.append(html.Th(label, scope="col"))
        else:
            head.append(html.Th(html.Button([label, html.Span(className="sort-icon", **{"aria-hidden": "true"})],
                                            type="button", className="sort-button", **{"data-sort-key": key}),
                                scope="col", **{"aria-sort": "none", "data-sort-type": sort}))
    body = []
    for order, row in enumerate(ps.table_order(rows)):
        body.append(html.Tr([
            html.Th(dcc.Link(row.name, href=row.href) if row.href else row.name, scope="row",
                    **{"data-label": "Metric", "data-sort-value": row.name}),
            html.Td(row.department_name, **{"data-label": "Department", "data-sort-value": row.department_name}),
            html.Td([row.value, html.Br(), html.Span(row.period, className="table-period")],
                    **{"data-label": "Latest"}),
            html.Td(_changes(row.changes[:1], "table-changes"),
                    **{"data-label": "Change", "data-sort-value": f"{row.change_sort:.6g}"}),
            html.Td(html.Span(row.verdict, className=f"badge spc spc--{row.kind}"),
                    **{"data-label": "Verdict", "data-sort-value": str(order)}),
            html.Td(row.why, className="briefing-table__why", **{"data-label": "Why it moved"}),
            html.Td(_sparkline(row), **{"data-label": "Trend"}),
        ], **{"data-metric": row.code, "data-kind": row.kind}))
    return html.Section([
        html.H2("All metrics", id="summary-table-title"),
        html.P("Unusual changes first: a change is unusual when it lies beyond the range the metric's own "
               "history makes usual for a change over the same span (the verdict on the Explain page). "
               "Choose a column heading to sort by it.", className="briefing__hint"),
        html.P("", className="sort-status visually-hidden", role="status"),
        html.Div(html.Table([
            html.Caption("Every metric you can see: latest value, change on the previous period, verdict and why",
                         className="visually-hidden"),
            html.Thead(html.Tr(head)), html.Tbody(body)], className="data-table briefing-table sortable-table"),
            className="briefing-table__wrap"),
    ], id=ids.SUMMARY_TABLE, className="summary-table", **{"aria-labelledby": "summary-table-title"})


def _changes(changes, class_name: str):
    """Changes with arrows coloured by whether they are better or worse for the metric, in words too
    (the arrow and amount are hidden from screen readers, which read the full sentence instead)."""
    if not changes:
        return html.P("No earlier period to compare with.", className=class_name)
    return html.Ul([html.Li([
        html.Span(change.arrow, className=f"arrow arrow--{change.tone}", **{"aria-hidden": "true"}),
        html.Span(f" {change.amount} {change.label}", **{"aria-hidden": "true"}),
        html.Span(f" – {_TONE_WORDS[change.tone]}", className=f"tone tone--{change.tone}", **{"aria-hidden": "true"})
        if change.tone in _TONE_WORDS else None,
        html.Span(f"{change.text}.{_TONE_SENTENCES.get(change.tone, '')}", className="visually-hidden"),
    ], className="change") for change in changes], className=class_name)


_TONE_WORDS = {"good": "better", "bad": "worse"}
_TONE_SENTENCES = {"good": " This is better.", "bad": " This is worse."}


def _sparkline(row: ps.BriefingRow):
    if not row.sparkline:
        return html.Span(row.sparkline_text, className="table-spark-text")
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{SPARK_W}' height='{SPARK_H}' "
           f"viewBox='0 0 {SPARK_W} {SPARK_H}'><polyline fill='none' stroke='#12436D' stroke-width='2' "
           f"stroke-linejoin='round' stroke-linecap='round' points='{row.sparkline}'/></svg>")
    return html.Img(src="data:image/svg+xml;charset=utf-8," + quote(svg), alt=row.sparkline_text,
                    width=SPARK_W, height=SPARK_H, className="table-spark")
