"""The shell around every page, built per request for the signed-in user: header (service
name, user, sign out), navigation to the pages the user's role allows, ``<main>`` with the page
container, footer. The skip link is in the index template (first focusable element).
"""
from __future__ import annotations

import dash
from dash import dcc, html

from . import auth, ids

NAV_ORDER = ("/", "/trends", "/explain", "/metrics", "/model-lab", "/data")


def nav_pages(user) -> list[dict]:
    """Registered pages the user's role allows, in menu order (pages with ``nav=False`` left out)."""
    pages = [p for p in dash.page_registry.values()
             if p.get("nav", True) and not p["module"].endswith("not_found_404") and "<" not in p.get("path", "")]
    pages = [p for p in pages if auth.has_role(user, auth.page_role(p))]

    def rank(page):
        path = page.get("path", "/")
        return (NAV_ORDER.index(path) if path in NAV_ORDER else len(NAV_ORDER), page.get("order") or 0, path)

    return sorted(pages, key=rank)


def serve_layout():
    user = auth.current_user()
    return html.Div([
        _header(user),
        _nav(user),
        html.Main(dash.page_container, id=ids.MAIN, tabIndex=-1, className="site-main"),
        html.Footer(html.Div([
            html.P("whytrend: why did this departmental metric move? For HM Treasury spending teams."),
            html.P("Figures are official statistics and management information as supplied by departments; "
                   "each page states the data vintage and when it was last updated."),
        ], className="site-footer__inner"), className="site-footer"),
    ], className="app-shell")


def _header(user) -> html.Header:
    account = []
    if user is not None:
        scope = user.department or "all departments"
        account = [
            html.P([html.Span("Signed in as ", className="visually-hidden"), html.Strong(user.username),
                    f" ({user.role}, {scope})"], className="site-header__user"),
            html.Form([
                dcc.Input(type="hidden", name="csrf_token", value=auth.csrf_token(), id="signout-csrf"),
                html.Button("Sign out", type="submit", className="site-header__signout"),
            ], action="/logout", method="POST", className="site-header__form"),
        ]
    return html.Header(html.Div([
        html.Div([
            dcc.Link("whytrend", href="/", className="site-header__name"),
            html.Span("Why did this departmental metric move?", className="site-header__tagline"),
        ], className="site-header__brand"),
        html.Div(account, className="site-header__account"),
    ], className="site-header__inner"), className="site-header", id=ids.HEADER)


def _nav(user) -> html.Nav:
    links = [html.Li(dcc.Link(page.get("name") or page.get("title"), href=page["relative_path"],
                              className="site-nav__link"), className="site-nav__item")
             for page in nav_pages(user)] if user is not None else []
    return html.Nav(html.Ul(links, className="site-nav__list"), className="site-nav", id=ids.NAV,
                    **{"aria-label": "Main"})
