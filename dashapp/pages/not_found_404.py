"""Page not found (Dash pages shows this for any unknown path)."""
from __future__ import annotations

import dash
from dash import dcc, html

dash.register_page(__name__, path="/404", name="Page not found", title="Page not found – whytrend", nav=False)


def layout(**_query):
    return html.Div([
        html.H1("Page not found"),
        html.P("If you typed the web address, check it is correct. If you pasted it, check you copied all of it."),
        html.P(dcc.Link("Go to the summary", href="/")),
    ], className="page")
