"""Shared components (dashapp.components) built and inspected without a browser."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import dcc, html
from dash.exceptions import PreventUpdate

from dashapp import components as c
from dashapp import ids
from loaders.errors import AccessDenied


def walk(component):
    """Every component in a tree, depth first (the root included)."""
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def find(component, kind=None, **props):
    return [x for x in walk(component) if (kind is None or isinstance(x, kind))
            and all(getattr(x, k, None) == v for k, v in props.items())]


def prop(component, name):
    return component.to_plotly_json()["props"].get(name)


def text_of(component) -> str:
    parts = []
    for x in walk(component):
        kids = getattr(x, "children", None)
        for kid in kids if isinstance(kids, (list, tuple)) else [kids]:
            if isinstance(kid, (str, int, float)):
                parts.append(str(kid))
    return " ".join(parts)


@pytest.fixture
def card():
    table = pd.DataFrame({"Period": ["2026-08", "2026-09"], "Value": [100.0, -5.5], "Note": ["=cmd|x", "ok"]})
    figure = go.Figure(go.Scatter(x=table["Period"], y=table["Value"]))
    return c.chart_card(card_id="trend-uc", title="Households on Universal Credit", caption="It rose by 4%.",
                        figure=figure, table=table, subtitle="Monthly, England",
                        about={"Definition": "Households", "Source": "DWP", "Unit": "households",
                               "Last updated": "21 November 2026", "Data vintage": "7", "Model version": ""},
                        download_name="uc trend/2026")


def test_chart_card_graph_sits_in_a_figure_named_by_its_caption(card):
    figure = find(card, html.Figure)[0]
    graph = find(figure, dcc.Graph)[0]
    assert graph.config["displayModeBar"] is False and graph.config["responsive"] is True
    caption = find(figure, html.Figcaption)[0]
    assert "It rose by 4%." in text_of(caption)
    img = [x for x in walk(figure) if prop(x, "role") == "img"][0]
    assert prop(img, "aria-labelledby") == caption.id
    assert find(img, dcc.Graph) == [graph]


def test_chart_card_has_four_tabs_controlling_four_panels(card):
    tablist = [x for x in walk(card) if prop(x, "role") == "tablist"][0]
    tabs = [x for x in walk(tablist) if prop(x, "role") == "tab"]
    assert [t.children for t in tabs] == ["Chart", "Table", "Download", "About"]
    assert [prop(t, "aria-selected") for t in tabs] == ["true", "false", "false", "false"]
    panels = {x.id: x for x in walk(card) if prop(x, "role") == "tabpanel"}
    for tab in tabs:
        panel = panels[prop(tab, "aria-controls")]
        assert prop(panel, "aria-labelledby") == tab.id
    assert [bool(getattr(p, "hidden", False)) for p in panels.values()] == [False, True, True, True]
    assert prop(tablist, "aria-label") == "Views of Households on Universal Credit"


def test_chart_card_table_view_is_a_real_table(card):
    table = find(card, html.Table)[0]
    assert "Households on Universal Credit" in text_of(find(table, html.Caption)[0])
    head_cells = find(find(table, html.Thead)[0], html.Th)
    assert [th.children for th in head_cells] == ["Period", "Value", "Note"]
    assert all(th.scope == "col" for th in head_cells)
    body = find(table, html.Tbody)[0]
    row_headers = find(body, html.Th)
    assert [th.children for th in row_headers] == ["2026-08", "2026-09"] and all(th.scope == "row" for th in row_headers)
    assert [td.children for td in find(body, html.Td)] == ["100", "=cmd|x", "-5.5", "ok"]


def test_chart_card_download_and_about(card):
    button = find(card, html.Button, id=ids.card_download_button("trend-uc"))[0]
    assert button.children == "Download CSV"
    assert find(card, dcc.Download, id=ids.card_download("trend-uc"))
    stored = find(card, dcc.Store, id=ids.card_data("trend-uc"))[0].data
    assert stored["columns"] == ["Period", "Value", "Note"] and stored["filename"] == "uc-trend-2026.csv"
    about = find(card, html.Dl)[0]
    assert [dt.children for dt in find(about, html.Dt)] == ["Definition", "Source", "Unit", "Last updated",
                                                            "Data vintage"]      # empty values left out
    assert find(card, html.H2)[0].children == "Households on Universal Credit"


def test_download_callback_serves_neutralised_csv(card):
    stored = find(card, dcc.Store, id=ids.card_data("trend-uc"))[0].data
    payload = c.download_card_csv(1, stored)
    assert payload["filename"] == "uc-trend-2026.csv" and payload["type"] == "text/csv"
    lines = payload["content"].lstrip("\ufeff").splitlines()
    assert lines == ["Period,Value,Note", "2026-08,100,'=cmd|x", "2026-09,-5.5,ok"]
    with pytest.raises(PreventUpdate):
        c.download_card_csv(0, stored)
    with pytest.raises(PreventUpdate):
        c.download_card_csv(1, None)


def test_chart_card_rejects_ids_that_would_break_its_parts():
    with pytest.raises(ValueError):
        c.chart_card(card_id="has space", title="t", caption="c", figure={}, table=pd.DataFrame({"a": [1]}),
                     about={}, download_name="x")


def test_message_roles():
    info = c.message("Saved.")
    error = c.message("Broken.", "error")
    assert info.role == "status" and "alert-info" in info.className
    assert error.role == "alert" and "alert-danger" in error.className
    assert c.message("Careful", "warning").role == "alert"


def test_error_boundary_turns_errors_into_messages():
    from loaders.errors import WhytrendError

    @c.error_boundary
    def user_error():
        raise WhytrendError("Unknown metric 'x'.")

    @c.error_boundary
    def denied():
        raise AccessDenied("You do not have access to this metric.")

    @c.error_boundary
    def bug():
        raise KeyError("oops")

    @c.error_boundary
    def nothing():
        raise PreventUpdate

    assert user_error().role == "alert" and "Unknown metric 'x'." in text_of(user_error())
    assert "You do not have access" in text_of(denied())
    assert text_of(bug()) == c.GENERIC_ERROR
    with pytest.raises(PreventUpdate):
        nothing()


def test_fieldsets_have_legends_and_grouped_inputs():
    radios = c.radio_fieldset("trend-freq", "Frequency", [{"label": "Month", "value": "M"}], "M", inline=True)
    assert isinstance(radios, html.Fieldset)
    assert find(radios, html.Legend)[0].children == "Frequency"
    items = radios.children[-1]
    assert items.id == "trend-freq" and items.name == "trend-freq" and items.value == "M" and items.inline
    checks = c.checklist_fieldset({"type": "x", "i": 1}, "Show", [{"label": "Events", "value": "events"}], ["events"])
    assert find(checks, html.Legend)[0].children == "Show"
    assert checks.children[-1].name == '{"i": 1, "type": "x"}' and checks.children[-1].value == ["events"]


def test_area_picker_is_labelled_and_searchable_without_a_dropdown():
    from explain import WHOLE, AreaTree
    from explain.results import AreaInfo

    tree = AreaTree((AreaInfo(WHOLE, "All areas", "whole", None), AreaInfo("E92000001", "England", "country", None),
                     AreaInfo("E12000001", "North East", "region", "E92000001"),
                     AreaInfo("E06000001", "Hartlepool", "local_authority", "E12000001")))
    picker = c.area_picker("trend-area", tree, "E06000001")
    assert not [x for x in walk(picker) if type(x).__name__ == "Dropdown"]
    scope = find(picker, id=ids.area_scope("trend-area"))[0]
    assert scope.value == "area"
    search = find(picker, id=ids.area_search("trend-area"))[0]
    assert search.value == "Hartlepool (E06000001)" and search.list == ids.area_list("trend-area")
    label = find(picker, html.Label)[0]
    assert label.htmlFor == search.id
    options = [o.value for o in find(picker, html.Option)]
    assert options == ["England (E92000001)", "North East (E12000001)", "Hartlepool (E06000001)"]
    assert c.area_picker("p", tree, "ALL").children[0].children[-1].value == "whole"


def test_card_table_notes_truncation():
    frame = pd.DataFrame({"a": range(5)})
    out = c.card_table(frame, caption="Numbers", max_rows=2)
    assert len(find(out, html.Tr)) == 3       # header + 2 rows
    assert "first 2 of 5 rows" in text_of(out)


def test_frozen_component_sends_the_same_json_and_stays_inspectable():
    import json

    import numpy as np
    import plotly.graph_objects as go
    from dash._utils import to_json

    figure = go.Figure(go.Bar(x=np.array([1.5, 2.0]), y=["a </script>", "b"]))
    table = pd.DataFrame({"Period": ["2026-08", "2026-09"], "Value": [1.5, 2.0]})
    card = c.chart_card(card_id="frozen", title="T", caption="Caption", figure=figure, table=table,
                        about={"Unit": "£m"}, download_name="t")
    assert isinstance(find(card, dcc.Graph)[0].figure, dict)   # figures are kept as plain dicts
    before = to_json(card)
    assert c.frozen(card) is card
    assert to_json(card) == before and "</script>" not in before
    assert json.loads(to_json({"wrapped": [card]}))["wrapped"][0] == json.loads(before)
    assert find(card, html.Figcaption)[0].id == "frozen--caption"          # still a component tree


def test_state_cached_keeps_at_most_max_entries(shell_app):
    from dashapp import state

    calls = []

    @state.cached(lambda n: ("test-max-entries", n), max_entries=2)
    def square(n):
        calls.append(n)
        return n * n

    with shell_app.server.test_request_context("/"):
        assert [square(n) for n in (1, 2, 1, 3, 1, 2)] == [1, 4, 1, 9, 1, 4]
    assert calls == [1, 2, 3, 2]     # 2 was the least recently used when 3 came in


def test_table_headers_are_words_and_the_csv_keeps_the_names():
    frame = pd.DataFrame({"period": ["2026-09"], "ci_low": [1.0], "data_vintage": [7], "Latest vintage": [7]})
    table = c.card_table(frame, caption="Numbers")
    assert [th.children for th in find(find(table, html.Thead)[0], html.Th)] == [
        "Period", "Interval low", "Data vintage", "Latest vintage"]
    card = c.chart_card(card_id="named", title="T", caption="C", figure={}, table=frame, about={}, download_name="n")
    assert find(card, id=ids.card_data("named"))[0].data["columns"] == ["period", "ci_low", "data_vintage",
                                                                         "Latest vintage"]
