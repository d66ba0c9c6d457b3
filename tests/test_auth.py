"""Sign-in, CSRF, the request guard and the server-side callback guard (Flask test client)."""
from __future__ import annotations

import re

import pytest

from dashapp import auth

ORIGIN = {"Origin": "http://localhost"}
ROUTER = ".._pages_content.children..._pages_store.data.."


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, username, password, *, token=None, next_path=None, headers=ORIGIN):
    page = client.get("/login")
    form = {"username": username, "password": password, "csrf_token": token or csrf_from(page.get_data(as_text=True))}
    if next_path is not None:
        form["next"] = next_path
    return client.post("/login", data=form, headers=headers)


def callback_payload(output: str, inputs: list[dict], outputs=None, state=None) -> dict:
    return {"output": output, "outputs": outputs or {"id": output.split(".")[0], "property": "children"},
            "inputs": inputs, "state": state or [], "changedPropIds": []}


# ------------------------------------------------------------------------------ sign in
def test_login_page_is_accessible_html(shell_app):
    page = shell_app.server.test_client().get("/login")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="en-GB">' in text and 'href="#main-content"' in text and "<main" in text
    assert '<label class="form-label" for="username">User name</label>' in text
    assert '<label class="form-label" for="password">Password</label>' in text
    assert 'autocomplete="current-password"' in text


def test_wrong_password_shows_an_error_summary_and_sets_no_session(shell_app):
    client = shell_app.server.test_client()
    response = login(client, "treasury", "not-the-password")
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in text and "The user name or password is not right" in text
    assert 'role="alert"' in text and "<title>Error: Sign in" in text
    with client.session_transaction() as session:
        assert auth.SESSION_KEY not in session


def test_login_needs_the_csrf_token_of_the_session(shell_app):
    client = shell_app.server.test_client()
    response = login(client, "treasury", "whytrend-treasury", token="forged")
    assert response.status_code == 400 and "form expired" in response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert auth.SESSION_KEY not in session
    other = shell_app.server.test_client()
    assert login(other, "treasury", "whytrend-treasury", headers={"Origin": "https://evil.example"}).status_code == 403


def test_login_sets_the_session_rotates_it_and_follows_local_next_only(shell_app):
    client = shell_app.server.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        before = session["csrf"]
    response = login(client, "dwp", "whytrend-dwp", next_path="/metrics?metric=uc_caseload")
    assert response.status_code == 302 and response.headers["Location"] == "/metrics?metric=uc_caseload"
    with client.session_transaction() as session:
        assert session["csrf"] != before and session.permanent
        assert "user" not in session and len(session[auth.SESSION_KEY]) >= 40     # an opaque id, not the name
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/").status_code == 200
    evil = shell_app.server.test_client()
    assert login(evil, "dwp", "whytrend-dwp", next_path="//evil.example/x").headers["Location"] == "/"


@pytest.mark.parametrize("target, expected", [
    ("/explain?metric=x", "/explain?metric=x"), ("//evil.example", "/"), ("https://evil.example/", "/"),
    ("/\\evil.example", "/"), ("", "/"), (None, "/"), ("/login", "/"), ("relative", "/"),
])
def test_safe_next(target, expected):
    assert auth.safe_next(target) == expected


def test_logout_needs_post_with_csrf_and_clears_the_session(shell_app, signed_in):
    client = signed_in("treasury")
    client.get("/logout")                                   # a GET (a link, a prefetch) never signs out
    with client.session_transaction() as session:
        assert session[auth.SESSION_KEY]
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": "wrong"}, headers=ORIGIN).status_code == 400
    response = client.post("/logout", data={"csrf_token": "test-csrf-token"}, headers=ORIGIN)
    assert response.status_code == 302 and response.headers["Location"] == "/login?signed_out=1"
    with client.session_transaction() as session:
        assert auth.SESSION_KEY not in session
    assert client.get("/").status_code == 302


# ------------------------------------------------------------------------------ guard
def test_unauthenticated_pages_redirect_and_dash_requests_get_401(shell_app):
    client = shell_app.server.test_client()
    response = client.get("/metrics?metric=uc_caseload")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fmetrics%3Fmetric%3Duc_caseload"
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401
    payload = callback_payload(ROUTER, [{"id": "_pages_location", "property": "pathname", "value": "/"}])
    assert client.post("/_dash-update-component", json=payload, headers=ORIGIN).status_code == 401
    assert client.get("/assets/whytrend.css").status_code == 200


def test_posts_need_a_matching_origin_and_dash_posts_need_json(signed_in):
    client = signed_in("treasury")
    payload = callback_payload(ROUTER, [{"id": "_pages_location", "property": "pathname", "value": "/"}])
    assert client.post("/_dash-update-component", json=payload,
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/_dash-update-component", json=payload).status_code == 403           # neither header
    assert client.post("/_dash-update-component", json=payload,
                       headers={"Referer": "http://localhost/metrics"}).status_code != 403
    assert client.post("/_dash-update-component", data="output=x",
                       content_type="application/x-www-form-urlencoded", headers=ORIGIN).status_code == 415


# The callback guard's tests (every callback, every field, every role) are in tests/test_access.py.


def test_origin_ok():
    assert auth.origin_ok("http://localhost:8050", None, "localhost:8050")
    assert auth.origin_ok(None, "http://localhost:8050/data", "localhost:8050")
    assert not auth.origin_ok("http://localhost:8051", None, "localhost:8050")
    assert not auth.origin_ok("null", None, "localhost:8050")
    assert auth.origin_ok("https://whytrend.example", None, "10.0.0.5:8050", ("https://whytrend.example",))


def test_security_headers(signed_in):
    response = signed_in("treasury").get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
