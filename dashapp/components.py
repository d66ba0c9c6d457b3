"""Shared, accessible building blocks for every page.

* :func:`chart_card` - every chart sits in one: Chart | Table | Download (CSV) | About tabs.
* :func:`message` - an accessible alert; :func:`error_boundary` turns errors into one.
* :func:`radio_fieldset`, :func:`checklist_fieldset` - controls in a fieldset with a legend
  (never ``dcc.Dropdown``, never ``dcc.RadioItems``).
* :func:`area_picker` - the whole, or a region or area found by typing (input + datalist).

Tabs are buttons with ``role="tab"`` and panels with ``role="tabpanel"``; a small script
switches them in the browser (``assets/whytrend.js``: arrow keys, Home/End; no server round trip).
dbc.Tabs is not used: with dbc 2.0 it renders duplicate ids and unfocusable tabs.
"""
from __future__ import annotations

import functools
import json
import logging
import re
from typing import Any, Callable

import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from loaders.errors import WhytrendError
from loaders.vocabulary import WHOLE_AREA_NAME, is_whole

from . import ids
from .presenters import frame_to_csv, table_rows

log = logging.getLogger(__name__)

VIEWS = (("chart", "Chart"), ("table", "Table"), ("download", "Download"), ("about", "About"))
MAX_TABLE_ROWS = 500
GENERIC_ERROR = ("Something went wrong and this part of the page could not be shown. The error was logged; "
                 "try again, or tell the whytrend team what you did.")
_KINDS = {"info": "info", "success": "success", "warning": "warning", "error": "danger", "danger": "danger"}


# ------------------------------------------------------------------------------ messages
def message(text: Any, kind: str = "info", *, title: str | None = None) -> html.Div:
    """An accessible message: ``role="alert"`` for errors and warnings, ``role="status"`` otherwise.

    Styled like a Bootstrap alert (``alert alert-<colour>``). A ``html.Div`` rather than a
    ``dbc.Alert``, because dbc.Alert always renders ``role="alert"`` (too assertive for news).
    """
    colour = _KINDS.get(kind, "info")
    role = "alert" if colour in ("danger", "warning") else "status"
    children = [html.P(html.Strong(title), className="message__title")] if title else []
    children.append(text if not isinstance(text, str) else html.P(text, className="message__text"))
    return html.Div(children, role=role, className=f"alert alert-{colour} message message--{kind}")


def error_boundary(fn: Callable) -> Callable:
    """Wrap a callback so a user error shows as a message in its FIRST output (others unchanged).

    ``WhytrendError`` (``AccessDenied`` among them) shows its own text; any other exception is
    logged with its traceback and shows a generic message. ``PreventUpdate`` passes through.
    Put it under ``@callback``::

        @callback(Output("x-message", "children"), Output("x-graph", "figure"), Input(...))
        @error_boundary
        def update(...): ...
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PreventUpdate:
            raise
        except WhytrendError as exc:
            return _first_output(message(str(exc), "error"))
        except Exception:  # noqa: BLE001 - the boundary: log, then show something humane
            log.exception("callback %s failed", getattr(fn, "__name__", fn))
            return _first_output(message(GENERIC_ERROR, "error"))

    return wrapper


def _first_output(value: Any) -> Any:
    try:
        outputs = ctx.outputs_list
    except Exception:  # noqa: BLE001 - outside a callback context
        return value
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], (dict, list)):
        return [value] + [no_update] * (len(outputs) - 1)
    return value


# ------------------------------------------------------------------------------ fieldsets
def _name_of(component_id: Any) -> str:
    return component_id if isinstance(component_id, str) else json.dumps(component_id, sort_keys=True)


def radio_fieldset(id, legend: str, options: list[dict], value, inline: bool = False, *,
                   hint: str | None = None, legend_class: str = "") -> html.Fieldset:
    """Radios in a fieldset with a legend (``dbc.RadioItems`` with a shared ``name``, so arrow keys
    move between them). ``options``: ``[{"label": ..., "value": ...}]``."""
    children = [html.Legend(legend, className=f"fieldset__legend {legend_class}".strip())]
    if hint:
        children.append(html.P(hint, className="fieldset__hint"))
    children.append(dbc.RadioItems(id=id, options=options, value=value, inline=inline, name=_name_of(id),
                                   class_name="radios"))
    return html.Fieldset(children, className="fieldset")


def checklist_fieldset(id, legend: str, options: list[dict], value: list, *, hint: str | None = None,
                       inline: bool = False) -> html.Fieldset:
    """Checkboxes in a fieldset with a legend (``dbc.Checklist``)."""
    children = [html.Legend(legend, className="fieldset__legend")]
    if hint:
        children.append(html.P(hint, className="fieldset__hint"))
    children.append(dbc.Checklist(id=id, options=options, value=list(value or []), inline=inline,
                                  name=_name_of(id), class_name="checkboxes"))
    return html.Fieldset(children, className="fieldset")


def area_picker(id_prefix: str, areas, value: str) -> html.Div:
    """Choose the whole, or a region or area by typing its name (keyboard operable, no dcc.Dropdown).

    A radio (:func:`dashapp.ids.area_scope`: 'whole' | 'area') and a labelled text input
    (:func:`dashapp.ids.area_search`) with a ``<datalist>`` of regions, then areas, as
    'Name (CODE)'. Turn the two values into a code with :func:`dashapp.presenters.area_from_picker`.
    ``areas`` is an :class:`explain.AreaTree`; ``value`` an area code or ``explain.WHOLE``/'ALL'/''.
    """
    from explain import WHOLE

    from .presenters import area_label

    whole = is_whole(value)
    chosen = None if whole else areas.by_code.get(value)
    levels = {"country": 0, "region": 1}
    ordered = sorted((a for a in areas.areas if a.code != WHOLE),
                     key=lambda a: (levels.get(a.level, 2), a.name.casefold()))
    list_id = ids.area_list(id_prefix)
    search_id = ids.area_search(id_prefix)
    return html.Div([
        radio_fieldset(ids.area_scope(id_prefix), "Area",
                       [{"label": f"{WHOLE_AREA_NAME} (the whole)", "value": "whole"},
                        {"label": "A region or area", "value": "area"}],
                       "whole" if whole else "area"),
        html.Div([
            html.Label([
                "Region or area name or code",
                html.Span(" (type to search, for example a region or a local authority)", className="label-hint"),
            ], htmlFor=search_id, className="form-label"),
            dbc.Input(id=search_id, type="text", list=list_id, autocomplete="off",
                      value=area_label(chosen) if chosen else "", debounce=True, class_name="area-picker__input"),
            html.Datalist([html.Option(value=area_label(a), label=a.level.replace("_", " ") if a.level else None)
                           for a in ordered], id=list_id),
        ], className="form-group area-picker__search"),
    ], className="area-picker", id=f"{id_prefix}-picker")


# ------------------------------------------------------------------------------ chart card
def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")
    return slug[:80] or "whytrend"


#: column headers of the analysis tables in words (other snake_case names: underscores become spaces)
COLUMN_LABELS = {
    "ci_low": "Interval low", "ci_high": "Interval high", "first_published": "First published",
    "r2": "R²", "mae": "Mean absolute error", "cv_r2": "CV R²", "cv_mae": "CV mean absolute error",
    "baseline_r2": "Baseline R²", "baseline_mae": "Baseline mean absolute error",
    "train_periods": "Training periods", "test_periods": "Test periods", "n_train": "Training rows",
    "n_test": "Test rows", "n_pairs": "Pairs of periods", "n_rows": "Rows", "n_areas": "Areas",
    "mean_abs": "Mean absolute contribution per area", "mean_abs_whole": "Mean absolute contribution, all areas",
    "mean_whole": "Mean contribution, all areas",
}


def column_label(name) -> str:
    """A table column's header for people: 'ci_low' -> 'Interval low', 'data_vintage' -> 'Data vintage'
    (headers already in words are kept; the CSV download keeps the original names)."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if text != text.lower() or " " in text:
        return text
    words = text.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def card_table(frame, *, caption: str, max_rows: int = MAX_TABLE_ROWS, row_headers: bool = True,
               unit_columns: dict[str, str] | None = None, class_name: str = "data-table") -> html.Div:
    """A real HTML table of a DataFrame: caption, ``th scope="col"`` headers and, with
    ``row_headers``, the first cell of each row as ``th scope="row"``. Scrolls sideways in a
    focusable region when wide."""
    head = html.Thead(html.Tr([html.Th(column_label(c), scope="col") for c in frame.columns]))
    body = []
    for cells in table_rows(frame, unit_columns=unit_columns, max_rows=max_rows):
        row = []
        for i, cell in enumerate(cells):
            numeric = bool(re.match(r"^[−\-+£]?[\d,.]+[%a-z ]*$", cell)) and i > 0
            if i == 0 and row_headers:
                row.append(html.Th(cell, scope="row"))
            else:
                row.append(html.Td(cell, className="num" if numeric else None))
        body.append(html.Tr(row))
    note = []
    if len(frame) > max_rows:
        note = [html.P(f"Showing the first {max_rows:,} of {len(frame):,} rows; download the CSV for all of them.",
                       className="table-note")]
    # the caption's text in a span that stays in view (and wraps) when a wide table scrolls sideways
    table = html.Table([html.Caption(html.Span(caption, className="data-table__caption")), head, html.Tbody(body)],
                       className=class_name)
    return html.Div([html.Div(table, className="table-scroll", tabIndex=0, role="region",
                              **{"aria-label": caption}), *note])


def chart_card(*, card_id: str, title: str, caption: str, figure, table, about: dict[str, str],
               download_name: str, subtitle: str = "", heading_level: int = 2,
               table_caption: str | None = None) -> dbc.Card:
    """A chart with its four views: Chart | Table | Download (CSV) | About.

    ``caption`` states the finding (it is the figure's ``<figcaption>`` and names the chart for
    screen readers through ``role="img"`` + ``aria-labelledby``). ``table`` holds the same numbers
    as the chart; the Download tab serves it as CSV (formula injection neutralised) through the one
    generic callback below, from a ``dcc.Store`` inside the card, so the file is exactly what the
    page rendered after its own access checks. ``about``: definition, source, unit, last updated,
    data vintage, model version ... (shown in the order given). ``card_id``: letters, digits, ``-``
    and ``_`` only (it builds the ids of the parts).
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", card_id):
        raise ValueError(f"card_id must be letters, digits, '-' or '_' and start with a letter: {card_id!r}")
    part = functools.partial(ids.card_part, card_id)
    if hasattr(figure, "to_plotly_json"):
        # a plain dict from here on: plotly's Figure copies itself deeply every time it is serialised,
        # which more than doubles the cost of sending a memoised view (docs/performance.md, Dash)
        figure = figure.to_plotly_json()
    heading = getattr(html, f"H{min(max(heading_level, 2), 6)}")
    caption_id = part("caption")
    columns = [str(c) for c in table.columns]
    rows = [[_jsonable(v) for v in row] for row in table.itertuples(index=False, name=None)]

    tabs = html.Div([
        html.Button(label, id=part(f"tab-{view}"), type="button", role="tab", className="card-tab",
                    **{"aria-selected": "true" if view == "chart" else "false",
                       "aria-controls": part(f"panel-{view}"), "data-card": card_id},
                    tabIndex=0 if view == "chart" else -1)
        for view, label in VIEWS], role="tablist", className="card-tabs", **{"aria-label": f"Views of {title}"})

    # A responsive dcc.Graph ignores the figure's height and fills its box (else Plotly's 450 px default
    # spills over the caption): the box gets the height the figure was designed with.
    height = ((figure or {}).get("layout") or {}).get("height") if isinstance(figure, dict) else None
    chart_panel = html.Figure([
        html.Div(dcc.Graph(id=part("graph"), figure=figure, responsive=True,
                           config={"displayModeBar": False, "responsive": True, "displaylogo": False,
                                   "scrollZoom": False}, className="chart-card__graph",
                           style={"height": f"{int(height)}px"} if height else None),
                 role="img", className="chart-card__plot", **{"aria-labelledby": caption_id}),
        html.Figcaption([caption, html.Span(" The Table tab has the same numbers.", className="visually-hidden")],
                        id=caption_id, className="chart-card__caption"),
    ], className="chart-card__figure")
    table_panel = card_table(table, caption=table_caption or f"{title}: the numbers in the chart")
    download_panel = html.Div([
        html.P(f"The numbers in this chart as a CSV file ({len(rows):,} row{'s' if len(rows) != 1 else ''}, "
               f"columns: {', '.join(columns)})."),
        html.Button("Download CSV", id=ids.card_download_button(card_id), type="button",
                    className="button button--secondary", n_clicks=0),
        dcc.Download(id=ids.card_download(card_id)),
        dcc.Store(id=ids.card_data(card_id), data={"columns": columns, "rows": rows,
                                                   "filename": _slug(download_name) + ".csv"}),
    ])
    about_panel = html.Dl([item for key, value in about.items() if value not in (None, "")
                           for item in (html.Dt(key), html.Dd(str(value)))], className="about-list")

    panels = []
    for (view, _label), content in zip(VIEWS, (chart_panel, table_panel, download_panel, about_panel)):
        panels.append(html.Div(content, id=part(f"panel-{view}"), role="tabpanel", className="card-panel",
                               hidden=view != "chart", tabIndex=0,
                               **{"aria-labelledby": part(f"tab-{view}"), "data-view": view}))

    header = [heading(title, className="chart-card__title")]
    if subtitle:
        header.append(html.P(subtitle, className="chart-card__subtitle"))
    return dbc.Card([html.Div(header, className="chart-card__header"), tabs, *panels],
                    id=card_id, class_name="chart-card")


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def card_csv(stored: dict | None) -> dict:
    """The ``dcc.Download`` payload for a card's stored table (pure; CSV cells neutralised)."""
    import pandas as pd

    if not stored or "columns" not in stored:
        raise PreventUpdate
    frame = pd.DataFrame(stored.get("rows") or [], columns=stored["columns"])
    filename = _slug(str(stored.get("filename") or "whytrend").removesuffix(".csv")) + ".csv"
    return {"content": "\ufeff" + frame_to_csv(frame), "filename": filename, "type": "text/csv"}


def download_card_csv(n_clicks, stored):
    """The one download callback of every chart card (registered by :func:`register_callbacks`)."""
    if not n_clicks:
        raise PreventUpdate
    return card_csv(stored)


def register_callbacks() -> None:
    """Register this module's callbacks with ``dash.callback`` (done at import; ``create_app``
    calls it again after clearing Dash's global registry, so every app built in a process has it)."""
    callback(
        Output({"type": ids.CARD_DOWNLOAD, "card": MATCH}, "data"),
        Input({"type": ids.CARD_DOWNLOAD_BUTTON, "card": MATCH}, "n_clicks"),
        State({"type": ids.CARD_DATA, "card": MATCH}, "data"),
        prevent_initial_call=True,
    )(download_card_csv)


register_callbacks()


# ------------------------------------------------------------------------------ serialising once
def frozen(component):
    """``component``, serialised once: from now on Dash sends the same JSON text for it (an
    ``orjson.Fragment`` returned by its ``to_plotly_json``) instead of walking the whole tree again on
    every request, which is most of the cost of a memoised page. Only for memoised components that
    are never changed afterwards; the tree stays inspectable (``children`` and props are untouched).
    Without orjson (Dash's fast path) the component is returned as it is."""
    try:
        from orjson import Fragment
        from plotly.io.json import to_json_plotly
    except ImportError:  # pragma: no cover - orjson is a dependency
        return component
    if not hasattr(component, "to_plotly_json"):
        return component
    fragment = Fragment(to_json_plotly(component, engine="orjson"))
    component.to_plotly_json = lambda: fragment  # an instance attribute shadows the class's method
    return component


# ------------------------------------------------------------------------------ small bits
def page_header(title: str, lead: str | None = None, *, caption: str | None = None) -> html.Div:
    """The page's H1 (with an optional caption above and lead paragraph below)."""
    children = []
    if caption:
        children.append(html.Span(caption, className="page-caption"))
    children.append(html.H1(title))
    if lead:
        children.append(html.P(lead, className="lead"))
    return html.Div(children, className="page-header")


def summary_list(items: list[tuple[str, Any]], class_name: str = "summary-list") -> html.Dl:
    """Key-value pairs as a description list."""
    return html.Dl([part for key, value in items for part in (html.Dt(key), html.Dd(value))], className=class_name)
