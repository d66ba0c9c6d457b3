"""The analysis pages (trends, explain, model lab): layouts, access checks, callback helpers, and
the callbacks' wiring through the Flask test client (no browser; Playwright tests come later)."""
from __future__ import annotations

import json
import math
import sys

import pytest
from dash import dcc, html

from loaders.accounts import User
from loaders.errors import AccessDenied

PAGES = ("dashapp.pages.trends", "dashapp.pages.explain", "dashapp.pages.model_lab")
TREASURY = User("treasury", "analyst", None)
DWP_VIEWER = User("dwp_viewer", "viewer", "DWP")
DHSC_ANALYST = User("dhsc_analyst", "analyst", "DHSC")


@pytest.fixture(scope="module")
def app(analysis_settings):
    from dashapp import state
    from dashapp.app import create_app

    app = create_app(analysis_settings)
    yield app
    state.invalidate()


@pytest.fixture(scope="module")
def pages(app):
    """The page modules, with ``layout`` as the app serves it: wrapped by the layout guard, which checks
    the role and the metrics a URL names and shows user errors (dashapp.auth.guard_layout)."""
    from types import SimpleNamespace

    from dashapp import auth

    out = {}
    for name in PAGES:
        module = sys.modules[name]
        role = "analyst" if name.endswith("model_lab") else "viewer"
        out[name.rsplit(".", 1)[1]] = SimpleNamespace(**{**vars(module), "layout": auth.guard_layout(module.layout, role)})
    return out


@pytest.fixture
def as_user(monkeypatch, app):
    from dashapp import auth

    def use(user):
        monkeypatch.setattr(auth, "current_user", lambda: user)

    use(TREASURY)
    return use


# ----------------------------------------------------------------------------- tree helpers
def walk(component, ancestors=()):
    yield component, ancestors
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child, ancestors + (component,))


def find(component, kind=None, id=None):
    return [c for c, _ in walk(component) if (kind is None or isinstance(c, kind))
            and (id is None or getattr(c, "id", None) == id)]


def texts(component) -> str:
    out = []
    for c, _ in walk(component):
        children = getattr(c, "children", None)
        for child in children if isinstance(children, (list, tuple)) else [children]:
            if isinstance(child, str):
                out.append(child)
    return " ".join(out)


def ids(component) -> list[str]:
    out = []
    for c, _ in walk(component):
        ident = getattr(c, "id", None)
        if isinstance(ident, dict):
            out.append(json.dumps(ident, sort_keys=True))
        elif ident:
            out.append(ident)
    return out


def guarded_as_lab(ident: str) -> bool:
    """Whether the server guard sees this id as a model-lab id (string prefix, or '"lab-' in a dict id)."""
    return ident.startswith("lab-") or (ident.startswith("{") and '"lab-' in ident)


def graph_figure(component, card_id):
    graphs = find(component, dcc.Graph, id=f"{card_id}--graph")
    assert graphs, f"no chart card {card_id}"
    figure = graphs[0].figure
    if isinstance(figure, dict) and "data" in figure:   # chart cards hold figures as plain dicts
        import plotly.graph_objects as go

        figure = go.Figure(figure)
    return figure if hasattr(figure, "data") else None


def assert_accessible_controls(layout):
    """One h1; no dcc.Dropdown or dcc.RadioItems; every radio group and checklist in a fieldset
    with a legend; every graph in a figure with a caption."""
    import dash_bootstrap_components as dbc

    assert len(find(layout, html.H1)) == 1
    assert not find(layout, dcc.Dropdown) and not find(layout, dcc.RadioItems)
    for component, ancestors in walk(layout):
        if isinstance(component, (dbc.RadioItems, dbc.Checklist)):
            fieldset = next((a for a in reversed(ancestors) if isinstance(a, html.Fieldset)), None)
            assert fieldset is not None and isinstance(fieldset.children[0], html.Legend), component.id
        if isinstance(component, dcc.Graph):
            figure = next((a for a in reversed(ancestors) if isinstance(a, html.Figure)), None)
            assert figure is not None and find(figure, html.Figcaption), component.id


# ----------------------------------------------------------------------------- trends
def test_trends_layout_for_a_permitted_user(pages, as_user):
    from dashapp import analysis_ids as aid

    layout = pages["trends"].layout(metric="uc_caseload", area="E12000001", compare="E12000002,E12000003")
    assert_accessible_controls(layout)
    assert "Data vintage 9 · last updated" in texts(layout)
    figure = graph_figure(layout, aid.TRENDS_CARD)
    names = [t.name for t in figure.data]
    assert {"Average", "Upper limit of the usual range", "Lower limit of the usual range"} <= set(names)
    assert any(s.type == "rect" for s in figure.layout.shapes)            # provisional months are shaded
    assert "Households on Universal Credit in North East" in texts(layout)
    compare = graph_figure(layout, aid.TRENDS_COMPARE_CARD)
    assert [t.name for t in compare.data] == ["North West", "Yorkshire and The Humber"]
    assert not any(i.startswith("lab-") for i in ids(layout))


def test_trends_refuses_a_metric_outside_the_users_department(pages, as_user):
    as_user(DWP_VIEWER)
    layout = pages["trends"].layout(metric="ae_4h_pct")
    assert "do not have access" in texts(layout)
    assert not find(layout, dcc.Graph)
    assert "ae_4h_pct" not in json.dumps([i for i in ids(layout)])


def test_trends_view_round_trips_through_its_url(pages, as_user):
    from dashapp import presenters_queries as pq

    trends = pages["trends"]
    view = trends.build_view({"metric": "uc_caseload", "area": "E12000001", "from": "2024-01", "vintage": "first",
                              "compare": "E12000002,E99"})
    assert view.search == "?metric=uc_caseload&area=E12000001&from=2024-01&compare=E12000002&vintage=first"
    again = trends.build_view(pq.parse_search(view.search))
    assert again.search == view.search and any("E99" in n for n in view.notes)


def test_trends_as_first_published_shows_what_revisions_changed(pages, as_user):
    view = pages["trends"].build_view({"metric": "uc_caseload", "area": "E12000001", "vintage": "first"})
    answer, card = view.cards[:2]
    assert texts(answer).startswith("Households on Universal Credit, North East")  # the answer comes first
    figure = graph_figure(card, "trends-chart")
    assert "Latest (revised) value" in [t.name for t in figure.data]
    table = find(card, html.Table)[0]
    assert "First published" in texts(table) and "yes" in texts(table)


def test_trends_compare_is_limited_to_four_areas(pages, as_user):
    codes = ",".join(f"E1200000{i}" for i in range(1, 7))
    view = pages["trends"].build_view({"metric": "uc_caseload", "compare": codes})
    assert len(graph_figure(html.Div(view.cards), "trends-compare-chart").data) == 4
    assert any("At most 4" in n for n in view.notes)


def test_trends_selection_query_from_the_controls(pages, as_user):
    query, notes = pages["trends"].selection_query("uc_caseload", "area", "North East (E12000001)", "2024-01", "",
                                                   "latest", ["E12000002"])
    assert query == {"metric": "uc_caseload", "area": "E12000001", "from": "2024-01", "vintage": "latest",
                     "compare": "E12000002"} and notes == []
    query, notes = pages["trends"].selection_query("uc_caseload", "area", "Atlantis", None, None, "first", [])
    assert "area" not in query and "Atlantis" in notes[0]


# ----------------------------------------------------------------------------- explain
def test_explain_layout_reads_the_precomputed_explanation(pages, as_user):
    from dashapp import analysis_ids as aid
    from dashapp import state
    from explain import cached_explanation

    layout = pages["explain"].layout(metric="uc_caseload")
    assert_accessible_controls(layout)
    hit = cached_explanation(state.get_store(), "uc_caseload", "2026-08", "2026-09")
    assert hit is not None
    bar = graph_figure(layout, aid.EXPLAIN_DRIVERS_CARD).data[0]
    assert bar.x[-1] == hit.value_to and bar.x[0] == hit.value_from
    assert bar.x[-2] == pytest.approx(hit.unexplained)
    assert hit.value_from + math.fsum(bar.x[1:-1]) == pytest.approx(hit.value_to, abs=1e-6)
    text = texts(layout)
    assert f"Data vintage {hit.data_vintage} · driver model version {hit.model.version} (linear, out-of-sample R²" in text
    assert hit.narrative in text
    assert getattr(find(layout, dcc.Store, id=aid.EXPLAIN_PENDING)[0], "data", None) is None
    assert graph_figure(layout, aid.EXPLAIN_SEGMENTS_CARD) is not None


def test_explain_ratio_metric_shows_components_and_mix_rate(pages, as_user):
    from dashapp import analysis_ids as aid

    layout = pages["explain"].layout(metric="ae_4h_pct", area="ALL", **{"from": "2025-09", "to": "2026-09"})
    components = graph_figure(layout, aid.EXPLAIN_COMPONENTS_CARD)
    assert [y for y in components.data[0].y][1:3] == ["A&E attendances within 4 hours", "A&E attendances"]
    segments = graph_figure(layout, aid.EXPLAIN_SEGMENTS_CARD)
    assert segments.layout.barmode == "relative" and len(segments.data) == 3
    assert "no driver model" in texts(layout)


def test_explain_without_a_precomputed_result_runs_in_the_background(pages, as_user):
    from dashapp import analysis_components as ac
    from dashapp import analysis_ids as aid

    explain = pages["explain"]
    sel = explain.selection({"metric": "ae_4h_pct", "by": "dept_type", "area": "E12000001"})
    assert sel["dims"] == ["dept_type"] and sel["by"] == "dept_type"
    request = explain.request_of(sel)
    assert explain.find_explanation(request) is None
    waiting = explain.render(request, None)
    assert "being worked out" in texts(html.Div(waiting))
    ticket = ac.issue_job("explain", {**request, "drivers": ["ae_attendances"]})  # only the explain fields travel
    assert ticket["user"] == "treasury" and ticket["purpose"] == "explain" and set(ticket["fields"]) == set(explain.JOB_KEYS)
    progress = []
    outcome = explain.compute_explanation(ac.authorise_job("explain", ticket), progress.append)
    assert outcome == {"key": {k: v for k, v in request.items() if k in explain.JOB_KEYS}, "done": True}
    assert progress[-1][2] == "Done (100%)" and progress[-1][1] == "100"
    shown = html.Div(explain.render(request, outcome))
    segments = graph_figure(shown, aid.EXPLAIN_SEGMENTS_CARD)
    assert {label for label in segments.data[0].y} == {"Type 1", "Type 2", "Type 3"}


def test_explain_background_job_reports_user_errors(pages, as_user):
    explain = pages["explain"]
    request = {"metric": "ae_4h_pct", "area": None, "from": "2026-09", "to": "2031-01", "by": None}
    outcome = explain.compute_explanation(request)
    assert outcome["key"] == request and "2031-01" in outcome["error"]
    assert "2031-01" in texts(html.Div(explain.render(request, outcome)))


def test_job_tickets_are_made_by_the_server_for_one_purpose_and_user(app, as_user, monkeypatch):
    import time

    from dashapp import analysis_components as ac
    from dashapp.jobs import TICKET_SECONDS, JobRefused

    ticket = ac.issue_job("activate", {"metric": "uc_caseload", "version": 1, "drivers": ["x"]})
    assert ac.authorise_job("activate", ticket) == {"metric": "uc_caseload", "version": 1}
    forged = {**ticket, "fields": {"metric": "ae_4h_pct", "version": 1}}
    for bad, purpose in ((forged, "activate"), (ticket, "fit"), (ticket, "explain"), ({"metric": "uc_caseload"},
                                                                                        "activate"), (None, "activate")):
        with pytest.raises(JobRefused):
            ac.authorise_job(purpose, bad)
    monkeypatch.setattr(time, "time", lambda: ticket["issued"] + TICKET_SECONDS + 1)
    with pytest.raises(JobRefused, match="expired"):
        ac.authorise_job("activate", ticket)


def test_explain_refuses_other_departments_metrics(pages, as_user):
    as_user(DWP_VIEWER)
    layout = pages["explain"].layout(metric="ae_4h_pct")
    assert "do not have access" in texts(layout) and not find(layout, dcc.Graph)
    with pytest.raises(AccessDenied):
        pages["explain"].render({"metric": "ae_4h_pct", "area": None, "from": "2026-08", "to": "2026-09",
                                 "by": None}, None)


def test_explain_controls_switch_to_a_year_earlier_and_carry_over_to_a_new_metric(pages, as_user):
    explain = pages["explain"]
    sel, notes = explain.selection_from_controls("uc_caseload", "whole", "", "year", "areas", "2026-08", "2026-09",
                                                 "comparison")
    assert (sel["from"], sel["to"], sel["comparison"], notes) == ("2025-09", "2026-09", "year", [])
    sel, _ = explain.selection_from_controls("pupils", "whole", "", "year", "areas", "2025-09", "2026-09", "metric")
    assert (sel["from"], sel["to"], sel["comparison"], sel["notes"]) == ("2024-25", "2025-26", "previous", [])
    # a monthly metric keeps typed periods it has, and a split by a breakdown it has
    sel, _ = explain.selection_from_controls("ae_attendances", "whole", "", "custom", "dept_type", "2025-01",
                                             "2025-06", "metric")
    assert (sel["from"], sel["to"], sel["comparison"], sel["by"], sel["notes"]) == (
        "2025-01", "2025-06", "custom", "dept_type", [])
    sel, _ = explain.selection_from_controls("uc_caseload", "whole", "", "custom", "dept_type", "2025-01",
                                             "2025-06", "metric")
    assert (sel["from"], sel["to"], sel["by"]) == ("2025-01", "2025-06", None)
    assert explain.by_options([])[0]["value"] == "areas"
    assert explain.by_options(["dept_type"])[1]["label"] == "Values of department type"


# ----------------------------------------------------------------------------- model lab
def test_model_lab_needs_an_analyst(pages, as_user):
    as_user(DWP_VIEWER)
    assert "analyst role" in texts(pages["model_lab"].layout(metric="uc_caseload"))
    assert "analyst role" in texts(pages["model_lab"].layout())


def test_model_lab_layout_ids_all_start_with_lab(pages, as_user):
    from dashapp import analysis_ids as aid

    layout = pages["model_lab"].layout(metric="uc_caseload")
    assert_accessible_controls(layout)
    assert all(guarded_as_lab(i) for i in ids(layout)), ids(layout)
    drivers = find(layout, id=aid.LAB_DRIVERS)[0]
    assert drivers.value == ["driver:population_16_64", "driver:claimant_count", "driver:rainfall_mm"]
    assert "driver:uc_spend" not in [o["value"] for o in drivers.options]   # computed from the metric
    assert find(layout, id=aid.LAB_KIND)[0].value == "linear"


def test_model_lab_offers_only_the_users_modelled_metrics(pages, as_user):
    from dashapp import analysis_ids as aid

    as_user(DHSC_ANALYST)
    layout = pages["model_lab"].layout()
    assert [o["value"] for o in find(layout, id=aid.LAB_METRIC)[0].options] == ["ae_attendances"]
    assert "do not have access" in texts(pages["model_lab"].layout(metric="uc_caseload"))


def test_model_lab_diagnostics_of_a_version(pages, as_user):
    from dashapp import analysis_ids as aid
    from dashapp import state
    from explain import load_fitted

    lab = pages["model_lab"]
    view = html.Div(lab.diagnostics_view("uc_caseload", 1))
    assert all(guarded_as_lab(i) for i in ids(view)), ids(view)
    cv = graph_figure(view, aid.LAB_CV_CARD)
    assert [t.name for t in cv.data] == ["Model", "Naive forecast (last value carried forward)"]
    assert graph_figure(view, aid.LAB_IMPORTANCE_CARD).data[0].y[-1] == "Claimant count"
    assert graph_figure(view, aid.LAB_RESIDUALS_CARD) is not None
    assert "naive forecast" in texts(view)
    pd_card = html.Div(lab.pd_view("uc_caseload", 1, "claimant_count"))
    line = graph_figure(pd_card, aid.LAB_PD_CARD).data[0]
    slope = (line.y[-1] - line.y[0]) / (line.x[-1] - line.x[0])
    beta = load_fitted(state.get_store(), "uc_caseload", 1).model.linear_coefficients()[1]
    assert slope == pytest.approx(beta, rel=1e-9)
    assert "the model's coefficient" in texts(pd_card)


def test_model_lab_fit_then_activate_in_background_jobs(pages, as_user):
    from dashapp import state
    from explain import cached_explanation, get_version

    lab = pages["model_lab"]
    store = state.get_store()
    progress = []
    result, fitted = lab.fit_job({"metric": "uc_caseload", "drivers": ["claimant_count"], "kind": "linear",
                                  "pseudo": ["trend"], "tune": False}, progress.append)
    assert fitted["metric"] == "uc_caseload" and "is not active" in texts(result)
    assert progress and progress[-1][1] == "100"
    new = get_version(store, "uc_caseload", fitted["version"])
    assert not new.active and new.drivers == ("claimant_count",) and new.pseudo_drivers == ("trend",)
    state.invalidate()
    table = lab.versions_block("uc_caseload")
    assert str(fitted["version"]) in texts(table)
    try:
        message, activated = lab.activate_job({"metric": "uc_caseload", "version": fitted["version"]})
        assert activated == fitted and get_version(store, "uc_caseload").version == fitted["version"]
        hit = cached_explanation(store, "uc_caseload", "2026-08", "2026-09")
        assert hit is not None and hit.model.version == fitted["version"]   # explanations were refreshed
    finally:
        lab.activate_job({"metric": "uc_caseload", "version": 1})
        state.invalidate()
    assert get_version(store, "uc_caseload").version == 1
    error, nothing = lab.fit_job({"metric": "uc_caseload", "drivers": ["no_such_metric"], "kind": "linear",
                                  "pseudo": [], "tune": False})
    assert nothing is None and "no_such_metric" in texts(error)


# ----------------------------------------------------------------------------- callbacks over HTTP
@pytest.fixture(scope="module")
def client(app):
    return app.server.test_client()


@pytest.fixture(scope="module")
def dependencies(client):
    login(client, "treasury")
    return client.get("/_dash-dependencies").get_json()


def call(client, dependencies, output_prefix, inputs, state=(), changed=()):
    """POST one callback as the Dash renderer does."""
    dep = next(d for d in dependencies if d["output"].startswith(output_prefix))

    def spec(items, values):
        return [{"id": json.loads(i["id"]) if i["id"].startswith("{") else i["id"], "property": i["property"],
                 "value": v} for i, v in zip(items, values)]

    outputs = []
    for part in dep["output"].strip(".").split("..."):
        cid, prop = part.rsplit(".", 1)
        outputs.append({"id": json.loads(cid) if cid.startswith("{") else cid, "property": prop.split("@")[0]})
    body = {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": spec(dep["inputs"], inputs), "state": spec(dep["state"], state),
            "changedPropIds": list(changed)}
    return client.post("/_dash-update-component", json=body, headers={"Origin": "http://localhost"})


def login(client, name):
    """Give ``client`` a server-side session of ``name`` (as /login makes), without the password."""
    from dashapp import state
    from dashapp.auth import SESSION_KEY
    from loaders.sessions import create_session

    with client.application.app_context():
        store = state.get_store()
    with client.session_transaction() as session:
        session[SESSION_KEY] = create_session(store, name)


def test_trends_callback_updates_the_url_and_the_chart(client, dependencies):
    login(client, "treasury")
    response = call(client, dependencies, "..trends-messages",
                    ["uc_caseload", "area", "North East (E12000001)", "", "", "latest", ["E12000002"], "cash"],
                    changed=["trends-area-search.value"])
    assert response.status_code == 200
    data = response.get_json()["response"]
    assert data["trends-url"]["search"] == "?metric=uc_caseload&area=E12000001&compare=E12000002"
    assert "trends-chart" in json.dumps(data["trends-result"]["children"])


def test_explain_callbacks_select_then_show(client, dependencies):
    login(client, "treasury")
    response = call(client, dependencies, "..explain-messages",
                    ["uc_caseload", "whole", "", "year", 0, "areas", "period", "cash", []], ["2026-08", "2026-09"],
                    changed=["explain-comparison.value"])
    data = response.get_json()["response"]
    request = data["explain-request"]["data"]
    assert request == {"metric": "uc_caseload", "area": None, "from": "2025-09", "to": "2026-09", "by": None,
                       "vs": None, "measure": None, "cross": None}
    assert data["explain-url"]["search"] == "?metric=uc_caseload&from=2025-09&to=2026-09"
    shown = call(client, dependencies, "explain-result.children", [request, None], changed=["explain-request.data"])
    assert shown.status_code == 200 and "explain-drivers" in shown.get_data(as_text=True)


def test_server_guard_refuses_forbidden_metrics_and_the_lab_to_viewers(client, dependencies):
    login(client, "dwp_viewer")
    request = {"metric": "ae_4h_pct", "area": None, "from": "2026-08", "to": "2026-09", "by": None}
    assert call(client, dependencies, "explain-result.children", [request, None]).status_code == 403
    assert call(client, dependencies, "..lab-diagnostics", ["uc_caseload", 1]).status_code == 403
    login(client, "treasury")


def test_lab_fit_request_is_checked_and_signed(client, dependencies, app):
    from dashapp import analysis_components as ac

    login(client, "treasury")
    refused = call(client, dependencies, "..lab-fit-errors", [1, 0],
                   ["uc_caseload", ["driver:claimant_count", "driver:not_offered"], "linear", []],
                   changed=["lab-fit.n_clicks"])
    assert refused.status_code == 403  # the guard refuses a driver that is not a metric the user may see
    response = call(client, dependencies, "..lab-fit-errors", [1, 0],
                    ["uc_caseload", ["driver:claimant_count"], "linear", []], changed=["lab-fit.n_clicks"])
    data = response.get_json()["response"]
    ticket = data["lab-fit-request"]["data"]
    with client.application.app_context():
        body = ac.authorise_job("fit", ticket)
    assert body == {"metric": "uc_caseload", "drivers": ["claimant_count"], "kind": "linear", "pseudo": [],
                    "tune": False}
    assert ticket["user"] == "treasury"
    empty = call(client, dependencies, "..lab-fit-errors", [1, 0], ["uc_caseload", [], "linear", []],
                 changed=["lab-fit.n_clicks"]).get_json()["response"]
    assert empty["lab-fit-request"]["data"] is None
    assert "at least one driver" in json.dumps(empty["lab-fit-errors"])


# ----------------------------------------------------------------------------- issue 10: compare with, measures
def test_explain_compares_the_outturn_with_the_forecast_from_the_url(pages, as_user):
    explain = pages["explain"]
    sel = explain.selection({"metric": "uc_spend", "vs": "forecast"})
    request = explain.request_of(sel)
    assert request["vs"] == "forecast" and explain.is_special(request)
    view = html.Div(explain.cached_view(request))
    text = texts(view)
    assert f"against the forecast for {pe_text(sel['to'])}" in text and "A comparison, not judged" in text
    assert "above the forecast" in text or "below the forecast" in text
    assert find(view, id="explain-components-card") or "Formula components" in text
    # the controls offer the forecast (the metric has one) and the first-published figure
    layout = explain.layout(metric="uc_spend", vs="forecast")
    [radios] = [c for c in find(layout) if getattr(c, "id", None) == "explain-vs"]
    assert {o["value"] for o in radios.options} == {"period", "first", "forecast"} and radios.value == "forecast"
    # a metric with no forecast falls back to the ordinary movement
    plain = explain.selection({"metric": "ae_4h_pct", "vs": "forecast"})
    assert plain["vs"] is None


def test_explain_in_real_terms_shows_the_cash_split(pages, as_user):
    explain = pages["explain"]
    sel = explain.selection({"metric": "uc_spend", "measure": "real", "from": "2025-09", "to": "2026-09"})
    request = explain.request_of(sel)
    view = html.Div(explain.cached_view(request))
    text = texts(view)
    assert "in real terms (2025-26 prices)" in text and "The cash change: real change and prices" in text
    [table] = [t for t in find(view, html.Table) if "Real change" in texts(t)]
    assert "Prices" in texts(table) and "Cash change" in texts(table)
    # a measure the metric does not declare is ignored
    assert explain.selection({"metric": "ae_4h_pct", "measure": "real"})["measure"] is None
    assert "real terms" in explain.selection_text(sel)


def test_explain_comparison_errors_are_messages_not_tracebacks(pages, as_user):
    explain = pages["explain"]
    request = {"metric": "uc_spend", "area": None, "from": "2016-01", "to": "2017-01", "by": None, "vs": "forecast",
               "measure": None}
    text = texts(html.Div(explain.cached_view(request)))
    assert "no value for the forecast for January 2017" in text


def test_trends_shows_what_revisions_changed(pages, as_user):
    layout = pages["trends"].layout(metric="uc_caseload")
    text = texts(layout)
    assert "What revisions changed" in text and "was first published as" in text
    assert "revised down by" in text or "revised up by" in text


def pe_text(period):
    from explain.numbers import period_text

    return period_text(period, "M")


def test_trends_in_real_terms(pages, as_user):
    layout = pages["trends"].layout(metric="uc_spend", measure="real")
    text = texts(layout)
    assert "Universal Credit payments in real terms (2025-26 prices)" in text
    [radios] = [c for c in find(layout) if getattr(c, "id", None) == "trends-measure"]
    assert radios.value == "real" and {o["value"] for o in radios.options} == {"cash", "real", "per_head"}
    assert "What revisions changed" not in text  # revisions are of the published (cash) figures
    plain = pages["trends"].layout(metric="ae_4h_pct", measure="real")  # no deflator: cash
    [radios] = [c for c in find(plain) if getattr(c, "id", None) == "trends-measure"]
    assert radios.value == "cash"


def test_explain_searches_across_areas_and_breakdowns_on_request(pages, as_user):
    explain = pages["explain"]
    sel = explain.selection({"metric": "ae_4h_pct", "from": "2025-09", "to": "2026-09", "cross": "true"})
    request = explain.request_of(sel)
    assert request["cross"] is True and not explain.is_special(request)
    view = html.Div(explain.cached_view(request) or [])
    text = texts(view)
    assert "Segments across areas and breakdowns" in text and "not additive where they overlap" in text
    assert "Type 1" in text
    assert "cross" not in explain.request_of(explain.selection({"metric": "ae_4h_pct"})) or \
        explain.request_of(explain.selection({"metric": "ae_4h_pct"}))["cross"] is None
