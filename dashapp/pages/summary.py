"""Summary ("/"): one card per visible metric, grouped by department, for senior officials.

Each card: latest value and period, change against the previous period and a year earlier
(arrow coloured good/bad by the metric's direction of improvement, with the words too), SPC
status in words, a sparkline image with a text alternative, the one-sentence 'why' from the
precomputed explanation (never computed here), data vintage, quality grade, last updated,
and a link to the Explain page for the latest change. Prints on A4 (assets/print.css).
"""
from __future__ import annotations

import dataclasses
import logging
from urllib.parse import quote

import dash
from dash import dcc, html

from dashapp import auth, ids, state
from dashapp.components import frozen, message, page_header
from dashapp.presenters import HeadlineView, headline_view
from loaders.errors import WhytrendError

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/", name="Summary", title="Summary – whytrend", order=0,
                   description="Latest value, change and the reason for every metric you can see.")

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


def layout(**_query):
    codes = tuple(m.code for m in auth.visible_metrics())
    return summary_page(codes, tuple(c for c in codes if auth.hidden_drivers(c)))


@state.cached(lambda codes, quiet=(): ("summary-page", codes, quiet), max_entries=32)  # ~0.5 MB each
def summary_page(codes: tuple[str, ...], quiet: tuple[str, ...] = ()):
    """The page for the metrics ``codes`` (the ones the user may see, checked by the caller), memoised
    per data vintage and model versions: everyone who sees the same metrics gets the same components,
    so the page costs its serialisation only. ``quiet``: metrics whose 'why' may name a driver the
    reader may not see (their cards leave it out)."""
    from explain import list_metrics

    known = {m.code: m for m in list_metrics(state.get_store())}
    metrics = [known[code] for code in codes if code in known]
    if not metrics:
        return html.Div([page_header("Summary"),
                         message("There are no metrics for you to see yet. Ask an administrator to load your "
                                 "department's data or to check your account.", "info")], className="page")
    groups: dict[str, list] = {}
    for info in metrics:
        groups.setdefault(info.department, []).append(info)
    sections, problems = [], []
    names = department_names()
    for department, infos in groups.items():
        cards = []
        for info in infos:
            try:
                view = headline_view(headline_for(info.code))
                if info.code in quiet:
                    view = dataclasses.replace(view, why=HIDDEN_WHY)
            except WhytrendError as exc:
                problems.append(f"{info.name}: {exc}")
                continue
            cards.append(html.Li(_card(view), className="summary-grid__item"))
        heading_id = f"summary-dept-{department}"
        sections.append(html.Section([
            html.H2(names.get(department, department), id=heading_id, className="summary-section__title"),
            html.Ul(cards, className="summary-grid"),
        ], className="summary-section", **{"aria-labelledby": heading_id}))
    store = state.get_store()
    intro = html.P([
        "Latest figures for the metrics you can see, with the change against the previous period and a "
        "year earlier. Arrows are ", html.Strong("green when the change is better"), " and ",
        html.Strong("red when it is worse"), " for that metric; grey arrows are metrics with no better direction. ",
        f"Data vintage {store.latest_load_id()}."], className="lead")
    notes = [message("Some metrics could not be shown: " + "; ".join(problems), "warning")] if problems else []
    return frozen(html.Div([page_header("Summary"), intro, *notes,
                            html.Div(sections, id=ids.SUMMARY_CARDS)], className="page page--summary"))


#: the 'why' of a card whose explanation uses a driver not shared with the reader's department
HIDDEN_WHY = "The explanation of this change uses figures not shared with your department; see Explain."


def _card(view: HeadlineView) -> html.Article:
    title_id = f"card-{view.code}-title"
    changes = [html.Li([
        html.Span(change.arrow, className=f"arrow arrow--{change.tone}", **{"aria-hidden": "true"}),
        html.Span(f" {change.amount} {change.label}", **{"aria-hidden": "true"}),
        html.Span(f" – {_tone_word(change.tone)}", className=f"tone tone--{change.tone}",
                  **{"aria-hidden": "true"}) if change.tone != "neutral" else None,
        html.Span(f"{change.text}. {_tone_sentence(change.tone)}", className="visually-hidden"),
    ], className="change") for change in view.changes]
    period = view.period + (" (provisional)" if view.provisional else "")
    return html.Article([
        html.H3(view.name, id=title_id, className="metric-card__title"),
        html.P([html.Span(view.value, className="metric-card__value"),
                html.Span(period, className="metric-card__period")], className="metric-card__headline"),
        html.Ul(changes, className="metric-card__changes") if changes else
        html.P("No earlier period to compare with.", className="metric-card__changes"),
        html.P([html.Span("Statistical process control: ", className="visually-hidden"),
                html.Span(view.spc_label, className=f"badge spc spc--{view.spc}", title=view.spc_text)],
               className="metric-card__spc"),
        _sparkline(view),
        html.P(view.why, className="metric-card__why"),
        html.Dl([html.Dt("Data vintage"), html.Dd(view.vintage),
                 html.Dt("Quality grade"), html.Dd(view.grade),
                 html.Dt("Last updated"), html.Dd(view.updated)], className="metric-card__meta"),
        dcc.Link(["Explain this change", html.Span(f" in {view.name}", className="visually-hidden")],
                 href=view.href, className="metric-card__link") if view.href else None,
    ], className="metric-card", **{"aria-labelledby": title_id})


def _sparkline(view: HeadlineView):
    if not view.sparkline:
        return html.P(view.sparkline_text, className="metric-card__spark-text")
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='{SPARK_W}' height='{SPARK_H}' "
           f"viewBox='0 0 {SPARK_W} {SPARK_H}'><polyline fill='none' stroke='#12436D' stroke-width='2' "
           f"stroke-linejoin='round' stroke-linecap='round' points='{view.sparkline}'/></svg>")
    return html.Img(src="data:image/svg+xml;charset=utf-8," + quote(svg), alt=view.sparkline_text,
                    width=SPARK_W, height=SPARK_H, className="metric-card__spark")


def _tone_word(tone: str) -> str:
    return {"good": "better", "bad": "worse"}.get(tone, "")


def _tone_sentence(tone: str) -> str:
    return {"good": "This is better.", "bad": "This is worse."}.get(tone, "")
