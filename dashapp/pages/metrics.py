"""Metrics ("/metrics?metric=CODE"): the documentation page of each metric.

Definition, unit, formula, owner department, direction of improvement, aggregation, the sources
that feed it, its change log and its events; a list of the metrics the user can see to choose from.
"""
from __future__ import annotations

import dash
import pandas as pd
from dash import dcc, html

from dashapp import auth, ids, state
from dashapp.components import card_table, message, page_header, summary_list
from dashapp.presenters import date_text, explain_href, grade_reasons

dash.register_page(__name__, path="/metrics", name="Metrics", title="Metrics – whytrend", order=40,
                   description="What each metric means, where it comes from and how it changed.")

AGGREGATIONS = {
    "sum": "Sum over areas: a region's value is the sum of its areas'",
    "mean": "Mean over areas: a region's value is the average of its areas'",
    "formula": "Formula: a region's value is the formula applied to its rolled-up components",
}


@state.cached(lambda metric: ("metric-doc", metric))
def metric_documentation(metric: str) -> dict:
    """Everything the page shows about a metric (memoised per data vintage)."""
    from explain import events, formula_names, metric_changes, metric_info, metric_sources

    store = state.get_store()
    info = metric_info(store, metric)
    sources, via = metric_sources(store, metric), tuple[str, ...]()
    if sources.empty and info.formula:  # formula metrics are derived: show the sources of their parts
        via = tuple(code for code in formula_names(info.formula) if code in auth.all_metric_codes())
        frames = [metric_sources(store, code) for code in via]
        frames = [f for f in frames if not f.empty]
        if frames:
            sources = pd.concat(frames, ignore_index=True).drop_duplicates("source").reset_index(drop=True)
    from explain import measures_of, series_of

    return {"info": info, "sources": sources, "via": via, "changes": metric_changes(store, metric),
            "events": events(store, metric), "measures": measures_of(store, metric),
            "series": series_of(store, metric)}


def direction_text(higher_is_better: bool | None) -> str:
    if higher_is_better is None:
        return "Neither: a neutral metric (changes are not better or worse in themselves)"
    return "Higher is better" if higher_is_better else "Lower is better"


def layout(metric: str | None = None, **_query):
    visible = auth.visible_metrics()
    chosen = (metric or "").strip() or None
    if chosen is not None and not auth.can_see_metric(chosen):
        body = [page_header("Metrics"), message(auth.NO_METRIC_ACCESS + " Choose one of your metrics from the list.",
                                                "error")]
        return html.Div(body + [_metric_list(visible, None)], className="page")
    if chosen is None:
        return html.Div([
            page_header("Metrics", "What each metric means, where its numbers come from and how its definition "
                                   "has changed. Choose a metric."),
            _metric_list(visible, None, heading_level=2),
        ], className="page")
    doc = metric_documentation(chosen)
    return html.Div([
        page_header(doc["info"].name, caption="Metric"),
        html.Div([
            html.Div(_documentation(doc), id=ids.METRICS_BODY, className="metric-layout__main"),
            html.Div(_metric_list(visible, chosen), className="metric-layout__nav"),
        ], className="metric-layout"),
    ], className="page")


def _metric_list(visible, chosen: str | None, heading_level: int = 2) -> html.Nav:
    groups: dict[str, list] = {}
    for info in visible:
        groups.setdefault(info.department, []).append(info)
    heading = getattr(html, f"H{heading_level}")
    sub = getattr(html, f"H{heading_level + 1}")
    children = [heading("All metrics" if chosen else "Metrics you can see")]
    if not visible:
        children.append(html.P("There are no metrics for you to see yet."))
    for department, infos in groups.items():
        children.append(sub(department))
        children.append(html.Ul([html.Li(html.A(info.name, href=f"/metrics?metric={info.code}", **{"aria-current": "page"})
                                         if info.code == chosen else
                                         dcc.Link(info.name, href=f"/metrics?metric={info.code}"))
                                 for info in infos], className="metric-list"))
    return html.Nav(children, **{"aria-label": "Metrics"})


def _documentation(doc: dict) -> list:
    info = doc["info"]
    items = [
        ("Definition", info.description or "No description has been given in the manifest."),
        ("Code", html.Code(info.code)),
        ("Unit", info.unit or "none (a count)"),
        ("Formula", html.Code(info.formula) if info.formula else "None: the value is published directly"),
        ("Owner department", info.department),
        ("Direction of improvement", direction_text(info.higher_is_better)),
        ("Aggregation", AGGREGATIONS.get(info.aggregation, info.aggregation)),
        ("Frequency", _frequency(info.frequency)),
        ("Shown in", ", ".join(doc.get("measures", {}).values()) or "Cash"),
        ("Plans and forecasts", ", ".join(s.replace("_", " ") for s in doc.get("series", ())) or "None loaded"),
    ]
    links = html.P([
        dcc.Link(["See the trend", html.Span(f" of {info.name}", className="visually-hidden")],
                 href=f"/trends?metric={info.code}"),
        " · ",
        dcc.Link(["Explain a change", html.Span(f" in {info.name}", className="visually-hidden")],
                 href=explain_href(info.code, None, None)),
    ])
    return [
        html.H2("About this metric"),
        summary_list(items),
        links,
        html.H2("Sources"),
        html.P(f"{info.name} is calculated from {', '.join(doc['via'])}; these sources feed them.")
        if doc.get("via") else None,
        _sources(doc["sources"], info.name),
        html.H2("Change log"),
        _changes(doc["changes"], info.name),
        html.H2("Events"),
        _events(doc["events"], info.name),
    ]


def _frequency(code: str) -> str:
    return {"D": "Daily", "W": "Weekly", "M": "Monthly", "Q": "Quarterly", "FQ": "Financial quarters",
            "Y": "Calendar years", "FY": "Financial years (April to March)"}.get(code or "", "Not known yet")


def _sources(frame: pd.DataFrame, name: str):
    if frame is None or frame.empty:
        return html.P("No loaded source has written this metric yet.")
    table = pd.DataFrame({
        "Source": frame["source"], "Title": frame["title"], "Department": frame["department"],
        "Latest vintage": frame["vintage"], "Loaded": [date_text(v) for v in frame["loaded_at"]], "Quality grade": frame["grade"],
        "Grade reasons": ["; ".join(grade_reasons(r)) or "None" for r in frame["grade_reasons"]],
        "Periods": [f"{a} to {b}" if a and b else "" for a, b in zip(frame["period_min"], frame["period_max"])],
    })
    return card_table(table, caption=f"Sources that feed {name}")


def _changes(frame: pd.DataFrame, name: str):
    if frame is None or frame.empty:
        return html.P("No changes recorded.")
    table = pd.DataFrame({
        "When": [date_text(v) for v in frame["changed_at"]],
        "What": ["Metric created" if f == "created" else f.replace("_", " ") for f in frame["field"]],
        "Before": frame["old"].fillna(""), "After": frame["new"].fillna(""),
    })
    return card_table(table, caption=f"Changes to the definition of {name}")


def _events(events: list[dict], name: str):
    if not events:
        return html.P("No events recorded for this metric.")
    table = pd.DataFrame({"Period": [e["period"] for e in events], "Event": [e["title"] for e in events],
                          "Areas": [", ".join(e.get("areas") or ()) or "Every area" for e in events],
                          "Description": [e.get("description") or "" for e in events]})
    return card_table(table, caption=f"Events that affect {name}")

