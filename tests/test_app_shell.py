"""The app shell: factory, pages, index template, navigation by role, page guards, and the
Summary, Metrics and Data pages rendered for users of the demo store (no browser)."""
from __future__ import annotations

import base64
import json
import sys

import dash
import flask
import pytest
from dash import dcc, html

from dashapp import auth

from browser_support import copy_database

ORIGIN = {"Origin": "http://localhost"}
ROUTER = ".._pages_content.children..._pages_store.data.."


def walk(component):
    yield component
    children = getattr(component, "children", None)
    if children is None:
        return
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def text_of(component) -> str:
    parts = []
    for x in walk(component):
        kids = getattr(x, "children", None)
        for kid in kids if isinstance(kids, (list, tuple)) else [kids]:
            if isinstance(kid, (str, int, float)):
                parts.append(str(kid))
    return " ".join(parts)


def page(path: str) -> dict:
    return next(p for p in dash.page_registry.values() if p["path"] == path)


def render(app, username: str, path: str, **query):
    """A page's (guarded) layout as the user would get it."""
    with app.server.test_request_context("/"):
        auth.sign_in(username)  # a server-side session, as /login makes
        return page(path)["layout"](**query)


def route(client, path: str, search: str = ""):
    """The page content through Dash's routing callback, as the browser asks for it."""
    client.get("/")  # first request: Dash sets up its routes
    payload = {"output": ROUTER, "outputs": [{"id": "_pages_content", "property": "children"},
                                             {"id": "_pages_store", "property": "data"}],
               "inputs": [{"id": "_pages_location", "property": "pathname", "value": path},
                          {"id": "_pages_location", "property": "search", "value": search}],
               "changedPropIds": ["_pages_location.pathname"], "state": []}
    return client.post("/_dash-update-component", json=payload, headers=ORIGIN)


# ------------------------------------------------------------------------------ factory
def test_factory_builds_with_pages_at_their_paths(shell_app):
    paths = {p["module"].rsplit(".", 1)[-1]: p["path"] for p in dash.page_registry.values()}
    assert paths["summary"] == "/" and paths["metrics"] == "/metrics" and paths["data"] == "/data"
    assert shell_app.config.suppress_callback_exceptions and shell_app.title == "whytrend"
    assert shell_app.config.assets_folder.endswith("/assets")
    assert shell_app.server.config["SESSION_COOKIE_HTTPONLY"] and shell_app.server.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert shell_app.server.config["SECRET_KEY"].startswith("shell-tests-")
    assert all(getattr(p["layout"], "_whytrend_guarded", False) for p in dash.page_registry.values())


def test_dashapp_package_is_import_light():
    import subprocess

    code = "import sys, dashapp, dashapp.cli; print('dash' in sys.modules, 'flask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_index_has_lang_skip_link_and_assets(signed_in):
    text = signed_in("treasury").get("/").get_data(as_text=True)
    assert '<html lang="en-GB">' in text
    assert text.index('class="skip-link" href="#main-content"') < text.index('id="react-entry-point"')
    assert "whytrend.css" in text and "whytrend.print.css" in text and "whytrend.js" in text
    assert "<title>whytrend</title>" in text


def test_shell_layout_landmarks_user_and_nav_by_role(shell_app):
    from dashapp.layout import serve_layout

    def nav_and_header(username):
        with shell_app.server.test_request_context("/"):
            auth.sign_in(username)  # a server-side session, as /login makes
            flask.session["csrf"] = "t"
            shell = serve_layout()
        nav = next(x for x in walk(shell) if isinstance(x, html.Nav))
        header = next(x for x in walk(shell) if isinstance(x, html.Header))
        main = next(x for x in walk(shell) if isinstance(x, html.Main))
        links = [x.href for x in walk(nav) if isinstance(x, dcc.Link)]
        return links, header, main

    links, header, main = nav_and_header("treasury")
    assert main.id == "main-content"
    assert "/" in links and "/metrics" in links and "/data" not in links and "/model-lab" not in links
    assert "treasury" in text_of(header) and "Sign out" in text_of(header)
    form = next(x for x in walk(header) if isinstance(x, html.Form))
    assert form.action == "/logout" and form.method == "POST"
    assert any(getattr(x, "name", None) == "csrf_token" and x.value == "t" for x in walk(form))
    assert "/data" in nav_and_header("analyst")[0] and "/404" not in nav_and_header("admin")[0]


# ------------------------------------------------------------------------------ guards
def test_a_department_user_editing_the_url_sees_no_access_not_the_data(shell_app, signed_in):
    response = route(signed_in("dwp"), "/metrics", "?metric=ae_4h_pct")
    assert response.status_code == 200
    content = json.dumps(response.get_json())
    assert "You do not have access to this metric" in content
    assert "A&E" not in content                                     # nothing about the metric itself
    ok = json.dumps(route(signed_in("dwp"), "/metrics", "?metric=uc_caseload").get_json())
    assert "Households on Universal Credit" in ok


def test_pages_check_roles(shell_app):
    assert "needs the analyst role" in text_of(render(shell_app, "treasury", "/data"))
    assert "Sources" in text_of(render(shell_app, "analyst", "/data"))


# ------------------------------------------------------------------------------ summary
def test_summary_briefing_for_a_treasury_user(shell_app, demo_store):
    from explain import headline, list_metrics

    layout = render(shell_app, "treasury", "/")
    sections = [x for x in walk(layout) if isinstance(x, html.Section)]
    assert sections[0].id == "summary-briefing"
    beyond = {m.code for m in list_metrics(demo_store) if headline(demo_store, m.code).spc_status
              in ("concern", "improvement", "neutral")}
    items = [x for x in walk(sections[0]) if isinstance(x, html.Article)]
    assert {getattr(a, "data-metric") for a in items} == beyond and beyond
    uc = next(a for a in items if getattr(a, "data-metric") == "uc_caseload")
    text = text_of(uc)
    assert "households" in text and "compared with the previous month" in text
    assert "compared with the same month a year earlier" in text
    assert "claimant count" in text and "West Midlands" in text                       # the why names them
    arrows = [x for x in walk(uc) if "arrow" in (getattr(x, "className", "") or "")]
    assert arrows and all(a.className == "arrow arrow--neutral" for a in arrows)    # uc_caseload is neutral
    # every metric in the table, department names (not codes), a sparkline with a text alternative
    table = next(x for x in walk(layout) if isinstance(x, html.Table))
    rows = [x for x in walk(table) if isinstance(x, html.Tr) and getattr(x, "data-metric", None)]
    assert len(rows) == 22  # every metric of the demo, its GDP deflator included
    departments = {text_of(x) for x in walk(table) if isinstance(x, html.Td) and getattr(x, "data-label", "")
                   == "Department"}
    assert "Department for Work and Pensions" in departments and "DWP" not in departments
    uc_row = next(r for r in rows if getattr(r, "data-metric") == "uc_caseload")
    spark = next(x for x in walk(uc_row) if isinstance(x, html.Img))
    assert spark.src.startswith("data:image/svg+xml") and spark.alt.startswith("Trend over the last 24 periods")
    link = next(x for x in walk(uc_row) if isinstance(x, dcc.Link))
    assert link.href.startswith("/explain?metric=uc_caseload&area=ALL&from=") and "&to=" in link.href


def test_summary_is_scoped_to_the_department(shell_app):
    layout = render(shell_app, "nhs", "/")
    rows = [x for x in walk(layout) if isinstance(x, html.Tr) and getattr(x, "data-metric", None)]
    assert len(rows) == 4 and all(getattr(r, "data-metric").startswith("ae_") for r in rows)
    colours = {x.className for x in walk(layout) if (getattr(x, "className", "") or "").startswith("arrow ")}
    assert colours <= {"arrow arrow--good", "arrow arrow--bad", "arrow arrow--neutral"} and len(colours) >= 2


def test_summary_department_filter(shell_app):
    layout = render(shell_app, "treasury", "/", department="DWP")
    rows = [x for x in walk(layout) if isinstance(x, html.Tr) and getattr(x, "data-metric", None)]
    assert {getattr(r, "data-metric") for r in rows} == {"uc_caseload", "uc_spend", "uc_avg_award", "dwp_fy_spend"}
    assert text_of(next(x for x in walk(layout) if isinstance(x, html.H1))) == "Summary for Department for Work and Pensions"
    # a department the reader cannot see, or does not exist, is no filter
    assert len([x for x in walk(render(shell_app, "nhs", "/", department="DWP")) if isinstance(x, html.Tr)
                and getattr(x, "data-metric", None)]) == 4


# ------------------------------------------------------------------------------ metrics
def test_metrics_page_documents_a_metric(shell_app):
    layout = render(shell_app, "treasury", "/metrics", metric="ae_4h_pct")
    text = text_of(layout)
    for expected in ("A&E 4-hour performance", "Definition", "Unit", "Formula", "ae_within_4h / ae_attendances",
                     "Owner department", "DHSC", "Direction of improvement", "Higher is better", "Aggregation",
                     "Sources", "nhs-ae-la-monthly", "Change log", "Metric created", "Events"):
        assert expected in text, expected
    tables = [x for x in walk(layout) if isinstance(x, html.Table)]
    assert tables and all(any(isinstance(c, html.Caption) for c in walk(t)) for t in tables)
    index = text_of(render(shell_app, "dwp", "/metrics"))
    assert "Households on Universal Credit" in index and "A&E" not in index
    denied = text_of(render(shell_app, "dwp", "/metrics", metric="no_such_metric"))
    assert "You do not have access to this metric" in denied


# ------------------------------------------------------------------------------ data
def test_data_page_sources_history_and_quarantine(shell_app):
    layout = render(shell_app, "analyst", "/data", source="nhs-ae-la-monthly")
    text = text_of(layout)
    assert "Sources" in text and "Vintage history" in text and "Quarantined rows of nhs-ae-la-monthly" in text
    assert "=HYPERLINK" in text                              # the planted formula cell, shown as text
    assert "Upload a new file" not in text                    # analysts read only
    scoped = text_of(render(shell_app, "admin", "/data"))
    assert "Upload a new file" in scoped and "Which source is the file for?" in scoped
    assert "Users" in scoped and "whytrend users add" in scoped and "nhs" in scoped


# ------------------------------------------------------------------------------ upload
@pytest.fixture(scope="module")
def upload_app(shell_store, tmp_path_factory):
    """A second app on a private copy of the store (the upload test writes a vintage)."""
    from dashapp import create_app
    from dashapp.settings import Settings

    target = copy_database(shell_store.url.split("///", 1)[1], tmp_path_factory.mktemp("upload") / "upload.db")
    return create_app(Settings(db=f"sqlite:///{target}", cache_dir=tmp_path_factory.mktemp("upload-jobs"),
                               secret_key="upload-tests-" + "u" * 40))


def _data_url(text: str) -> str:
    return "data:text/csv;base64," + base64.b64encode(text.encode()).decode()


def test_upload_shows_the_report_first_and_a_bad_file_writes_nothing(upload_app, shell_store):
    from dashapp import state

    data = sys.modules["dashapp.pages.data"]
    original = (shell_store.url.split("///", 1)[1].rsplit("/", 1)[0])
    with upload_app.server.test_request_context("/"):
        auth.sign_in("admin")  # a server-side session, as /login makes
        store = state.get_store()
        before = store.latest_load_id()
        csv_text = "Month,Asylum applications (main applicants),Decisions made\nJanuary 2017,1,2\n"
        report, pending, disabled, _, _ = data.check_upload(_data_url(csv_text), "bad.csv", "ho-asylum-monthly")
        assert pending is None and disabled is True
        assert "cannot be loaded" in text_of(report) and "bad.csv" in text_of(report)
        assert original not in text_of(report)
        assert store.latest_load_id() == before

        good = ("Month,Asylum applications (main applicants),Initial decisions,"
                "Cases awaiting an initial decision (end of month)\n"
                "January 2017,\"1,999\",\"2,398\",\"25,601\"\nFebruary 2017,=1+2,\"2,206\",\"25,624\"\n")
        report, pending, disabled, _, _ = data.check_upload(_data_url(good), "good.csv", "ho-asylum-monthly")
        text = text_of(report)
        assert disabled is False and pending["source"] == "ho-asylum-monthly"
        assert "Nothing has been written yet" in text and "=1+2" in text and "Initial decisions" not in text[:0]
        assert store.latest_load_id() == before                # checking wrote nothing

        result, cleared, disabled, confirm_hidden = data.load_upload(1, pending)
        assert "Loaded ho-asylum-monthly as vintage" in text_of(result) and cleared is None and disabled is True
        assert confirm_hidden is True
        assert store.latest_load_id() == before + 1


def test_an_upload_that_would_withdraw_values_waits_for_confirmation(upload_app):
    """A partial file (one local authority where the source has many) is refused until the admin
    confirms the withdrawals; then it loads, and the withdrawn values are counted."""
    from dashapp import state

    data = sys.modules["dashapp.pages.data"]
    with upload_app.server.test_request_context("/"):
        auth.sign_in("admin")
        store = state.get_store()
        before = store.latest_load_id()
        months = [f"{y}-{m:02d}" for y in range(2017, 2027) for m in range(1, 13) if f"{y}-{m:02d}" <= "2026-09"]
        rows = [f"{month},E06000001,Hartlepool,{measure},{value}," for month in months
                for measure, value in (("uc_caseload", 5000), ("uc_avg_award", 600.5), ("uc_spend", 3.0))]
        partial = "month,la_code,la_name,measure,value,provisional\n" + "\n".join(rows) + "\n"
        _, pending, disabled, _, hidden = data.check_upload(_data_url(partial), "one_la.csv", "dwp-uc-la-monthly")
        assert pending is not None and disabled is False and hidden is True
        result, kept, disabled, confirm_hidden = data.load_upload(1, pending)
        text = text_of(result)
        assert "confirm the withdrawals" in text and "would withdraw" in text and "Withdraw them and load" in text
        assert kept == pending and confirm_hidden is False and store.latest_load_id() == before  # nothing written
        result, cleared, disabled, confirm_hidden = data.confirm_withdrawals(1, kept)
        text = text_of(result)
        assert "Loaded dwp-uc-la-monthly as vintage" in text and cleared is None and confirm_hidden is True
        assert store.latest_load_id() == before + 1
        withdrawn = int(store.loads_frame("dwp-uc-la-monthly").iloc[-1]["values_withdrawn"])
        assert withdrawn > 0 and f"{withdrawn:,} withdrawn" in text


def test_upload_refused_for_non_admins_and_forged_tokens(upload_app):
    data = sys.modules["dashapp.pages.data"]
    with upload_app.server.test_request_context("/"):
        auth.sign_in("analyst")  # a server-side session, as /login makes
        out = data.check_upload(_data_url("a,b\n1,2\n"), "x.csv", "ho-asylum-monthly")
        assert "needs the admin role" in text_of(out)
    with upload_app.server.test_request_context("/"):
        auth.sign_in("admin")  # a server-side session, as /login makes
        forged = {"token": "../../etc", "source": "ho-asylum-monthly", "file": "passwd"}
        result, _, _, _ = data.load_upload(1, forged)
        assert "no longer available" in text_of(result)


# ------------------------------------------------------------------------------ settings, demo users, colours
def test_settings_from_env(tmp_path):
    from dashapp.settings import Settings

    env = {"WHYTREND_DB": "sqlite:///x.db", "WHYTREND_SECRET_KEY": "k" * 40, "WHYTREND_SECURE_COOKIES": "true",
           "WHYTREND_CACHE_DIR": str(tmp_path), "WHYTREND_TRUSTED_ORIGINS": "https://a.example/, https://b.example"}
    settings = Settings.from_env(env)
    assert settings.db == "sqlite:///x.db" and settings.secure_cookies and settings.secret_key == "k" * 40
    assert settings.cache_dir == tmp_path and settings.trusted_origins == ("https://a.example", "https://b.example")
    assert "k" * 40 not in repr(settings)
    default = Settings.from_env({}, debug=True)
    assert default.db == "sqlite:///whytrend.db" and default.debug and not default.secure_cookies
    assert default.cache_dir.name == Settings.from_env({}).cache_dir.name      # one folder per database


def test_demo_users_exist_once_and_are_printed(shell_store, capsys):
    from dashapp.cli import _print_demo_users
    from explain import DEMO_USERS, ensure_demo_users
    from loaders.accounts import authenticate

    again = ensure_demo_users(shell_store)
    assert [user.created for user in again] == [False] * len(DEMO_USERS)
    assert authenticate(shell_store, "nhs", "whytrend-nhs").department == "DHSC"
    assert authenticate(shell_store, "dwp", "whytrend-dwp").department == "DWP"
    assert authenticate(shell_store, "analyst", "whytrend-analyst").role == "analyst"
    _print_demo_users(again)
    out = capsys.readouterr().out
    assert "admin     password whytrend-admin" in out and "DHSC metrics only" in out


def _contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_stylesheet_text_colours_meet_wcag_aa_contrast():
    import re
    from pathlib import Path

    css = (Path(__file__).resolve().parents[1] / "assets" / "whytrend.css").read_text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", css))
    white = "#ffffff"
    pairs = [("text", white), ("secondary", white), ("secondary", "light"), ("link", white), ("link", "light"),
             ("link-visited", white), ("error", white), ("success", white), ("text", "focus"), ("text", "light")]
    for fg, bg in pairs:
        a, b = colours.get(fg, fg), colours.get(bg, bg)
        assert _contrast(a, b) >= 4.5, (fg, bg, round(_contrast(a, b), 2))
    for badge in ("dark-blue", "error", "dark-pink"):        # white text on SPC badges and the header rule
        assert _contrast(white, colours[badge]) >= 4.5, badge


def test_a_load_that_fails_shows_its_report_and_writes_nothing(upload_app):
    from dashapp import state

    data = sys.modules["dashapp.pages.data"]
    header = ("Month,Asylum applications (main applicants),Initial decisions,"
              "Cases awaiting an initial decision (end of month)\n")
    clash = header + "January 2017,1,2,3\nJanuary 2017,5,2,3\n"          # the same key with two values
    with upload_app.server.test_request_context("/"):
        auth.sign_in("admin")  # a server-side session, as /login makes
        store = state.get_store()
        before = store.latest_load_id()
        report, pending, disabled, _, _ = data.check_upload(_data_url(clash), "clash.csv", "ho-asylum-monthly")
        if pending is None:                                                # caught at the check: fine too
            assert "cannot be loaded" in text_of(report)
        else:
            result, cleared, disabled, _ = data.load_upload(1, pending)
            assert "Nothing was written" in text_of(result) and "clash.csv" in text_of(result)
        assert store.latest_load_id() == before
