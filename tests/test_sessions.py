"""Server-side sessions, their expiry, sign-in lockouts and timing (issue 13, finding 5).

Flask test clients of the shared shell app (tests/conftest.py). Every test here uses users of its
own (removed afterwards) and client addresses in 10.99.0.0/16, so its sessions and failed sign-ins
never lock or sign out the demo users other tests rely on.
"""
from __future__ import annotations

import itertools
import re
import statistics
import time

import pytest
from sqlalchemy import delete, select, update
from test_auth import ORIGIN, callback_payload, csrf_from

from dashapp import auth
from loaders import schema as s
from loaders import sessions
from loaders.accounts import add_user, authenticate, get_user, remove_user

ROUTER = ".._pages_content.children..._pages_store.data.."
COOKIE = "whytrend_session"
PASSWORD = "correct horse battery"
_addresses = itertools.count(1)
_names = itertools.count(1)


# ------------------------------------------------------------------------------ helpers
@pytest.fixture
def user(shell_store):
    """A fresh viewer with its own name; removed (sessions, failures and all) afterwards."""
    name = f"sessions-test-{next(_names)}-{time.monotonic_ns()}"
    add_user(shell_store, name, PASSWORD, role="viewer")
    yield name
    if get_user(shell_store, name) is not None:
        remove_user(shell_store, name)
    with shell_store.engine.begin() as conn:
        conn.execute(delete(s.sessions).where(s.sessions.c.username.like("sessions-test-%")))
        conn.execute(delete(s.sign_in_failures).where(s.sign_in_failures.c.address.like("10.99.%")))


@pytest.fixture
def client_at(shell_app):
    """client_at(address=None) -> a test client whose requests come from its own 10.99.x.y address."""

    def _client(address: str | None = None):
        client = shell_app.server.test_client()
        number = next(_addresses)
        client.environ_base["REMOTE_ADDR"] = address or f"10.99.{number // 250}.{number % 250 + 1}"
        return client

    return _client


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for loaders.sessions: ``clock.now`` epoch seconds, ``clock.advance(minutes)``."""

    class Clock:
        now = time.time()

        def advance(self, minutes: float) -> None:
            self.now += minutes * 60

    fake = Clock()
    monkeypatch.setattr(sessions, "_now", lambda: fake.now)
    return fake


def sign_in(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    form = {"username": username, "password": password, "csrf_token": csrf_from(page.get_data(as_text=True))}
    return client.post("/login", data=form, headers=ORIGIN)


def copy_of(client, shell_app):
    """Another client (another machine) holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "the client has no session cookie to copy"
    thief = shell_app.server.test_client()
    thief.environ_base["REMOTE_ADDR"] = "10.99.255.254"
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def callback_status(client) -> int:
    payload = callback_payload(ROUTER, [{"id": "_pages_location", "property": "pathname", "value": "/"}])
    return client.post("/_dash-update-component", json=payload, headers=ORIGIN).status_code


def dash_status(client) -> int:
    """Status of the cheapest signed-in request (Dash's callback list): 200, or 401 when not signed in."""
    return client.get("/_dash-dependencies").status_code


def signed_in_status(client) -> tuple[int, str]:
    """(status, Location) of a page GET: (200, '') while signed in, (302, '/login?next=...') when not."""
    response = client.get("/metrics")
    return response.status_code, response.headers.get("Location", "")


def session_rows(store, username: str) -> list:
    with store.engine.connect() as conn:
        return conn.execute(select(s.sessions).where(s.sessions.c.username == username)).all()


# ------------------------------------------------------------------------------ revocation
def test_cookie_holds_an_opaque_id_and_the_store_only_its_hash(shell_store, user, client_at):
    client = client_at("10.99.200.1")
    assert sign_in(client, user).status_code == 302
    with client.session_transaction() as session:
        session_id = session[auth.SESSION_KEY]
    assert user not in session_id and "user" not in dict(session)
    rows = session_rows(shell_store, user)
    assert [r.id_hash for r in rows] == [sessions.hash_session_id(session_id)]
    assert rows[0].id_hash != session_id and rows[0].address == "10.99.200.1"
    assert rows[0].created_at == rows[0].last_seen and abs(rows[0].created_at - time.time()) < 60


def test_a_cookie_copied_before_sign_out_stops_working(shell_app, shell_store, user, client_at):
    client = client_at()
    assert sign_in(client, user).status_code == 302
    thief = copy_of(client, shell_app)
    assert signed_in_status(thief) == (200, "") and callback_status(thief) not in (401, 403)
    with client.session_transaction() as session:
        token = session["csrf"]
    assert client.post("/logout", data={"csrf_token": token}, headers=ORIGIN).status_code == 302
    assert session_rows(shell_store, user) == []
    assert callback_status(thief) == 401
    status, location = signed_in_status(thief)
    assert status == 302 and location.startswith("/login")


def test_a_cookie_copied_before_a_password_change_stops_working(shell_app, shell_store, user, client_at):
    client, other_browser = client_at(), client_at()
    assert sign_in(client, user).status_code == 302 and sign_in(other_browser, user).status_code == 302
    thief = copy_of(client, shell_app)
    assert callback_status(thief) not in (401, 403)
    add_user(shell_store, user, "a brand new password", role="viewer", replace=True)   # whytrend users add --replace
    assert session_rows(shell_store, user) == []
    for stale in (thief, client, other_browser):
        assert callback_status(stale) == 401
        assert signed_in_status(stale)[0] == 302
    assert sign_in(client_at(), user, "a brand new password").status_code == 302   # the new password works


def test_removing_a_user_or_signing_it_out_from_the_cli_ends_its_sessions(shell_app, shell_store, user, client_at):
    from click.testing import CliRunner

    from dashapp.cli import main

    client = client_at()
    assert sign_in(client, user).status_code == 302 and sign_in(client_at(), user).status_code == 302
    thief = copy_of(client, shell_app)
    result = CliRunner().invoke(main, ["users", "signout", user, "--db", shell_store.url])
    assert result.exit_code == 0 and "2 sessions ended" in result.output
    assert callback_status(thief) == 401 and callback_status(client) == 401
    missing = CliRunner().invoke(main, ["users", "signout", "no-such-user", "--db", shell_store.url])
    assert missing.exit_code == 1 and "No user called 'no-such-user'" in missing.output
    assert "Traceback" not in missing.output

    again = client_at()
    assert sign_in(again, user).status_code == 302
    remove_user(shell_store, user)
    assert session_rows(shell_store, user) == [] and callback_status(again) == 401


def test_a_user_name_in_the_cookie_no_longer_signs_in(shell_app, user):
    """The old cookie format ({"user": name}, signed with the same secret) is not a sign-in any more;
    :func:`dashapp.auth.sign_in` (what /login and the page tests use) is."""
    import flask

    with shell_app.server.test_request_context("/"):
        flask.session["user"] = user
        assert auth.current_user() is None
    with shell_app.server.test_request_context("/"):
        session_id = auth.sign_in(user)
        assert flask.session[auth.SESSION_KEY] == session_id and auth.current_user().username == user
    with shell_app.server.test_request_context("/"):
        flask.session[auth.SESSION_KEY] = session_id + "x"                  # a forged or revoked id
        assert auth.current_user() is None and auth.SESSION_KEY not in flask.session


# ------------------------------------------------------------------------------ expiry
def test_a_session_expires_after_session_hours_even_when_used_every_minute(shell_app, shell_store, user,
                                                                           client_at, clock):
    hours = shell_app.whytrend_settings.session_hours
    assert hours == 8.0
    client = client_at()
    assert sign_in(client, user).status_code == 302
    created = session_rows(shell_store, user)[0].created_at
    minutes = 0
    while minutes < hours * 60 - 1:
        clock.advance(1)
        minutes += 1
        assert dash_status(client) == 200, f"refused after only {minutes} minutes"
    last_seen = session_rows(shell_store, user)[0].last_seen
    assert last_seen >= clock.now - 60 and session_rows(shell_store, user)[0].created_at == created  # never renewed
    clock.advance(1)                                                       # exactly session_hours after sign-in
    assert dash_status(client) == 401 and callback_status(client) == 401
    assert session_rows(shell_store, user) == []                           # the expired row is deleted when found
    assert signed_in_status(client)[0] == 302


def test_a_session_expires_after_session_idle_minutes_without_use(shell_app, shell_store, user, client_at, clock):
    idle = shell_app.whytrend_settings.session_idle_minutes
    assert idle == 60.0
    client, busy = client_at(), client_at()
    assert sign_in(client, user).status_code == 302 and sign_in(busy, user).status_code == 302
    clock.advance(idle - 2)
    assert signed_in_status(client) == (200, "")                          # used just in time: last_seen moves
    clock.advance(idle - 2)
    assert signed_in_status(client) == (200, "")
    clock.advance(idle + 1)
    assert callback_status(client) == 401                                  # idle for longer than allowed
    assert signed_in_status(busy)[0] == 302                                # the other one was never used again
    assert session_rows(shell_store, user) == []


def test_last_seen_is_written_at_most_once_a_minute(shell_store, user, client_at, clock):
    client = client_at()
    assert sign_in(client, user).status_code == 302
    first = session_rows(shell_store, user)[0].last_seen
    clock.advance(0.5)
    assert dash_status(client) == 200 and session_rows(shell_store, user)[0].last_seen == first
    clock.advance(0.6)
    assert dash_status(client) == 200 and session_rows(shell_store, user)[0].last_seen == pytest.approx(clock.now)


def test_prune_removes_expired_sessions_and_old_failures(shell_store, user, clock):
    live = sessions.create_session(shell_store, user, "10.99.0.1")
    old = sessions.create_session(shell_store, user, "10.99.0.1", now=clock.now - 9 * 3600)
    idle = sessions.create_session(shell_store, user, "10.99.0.1", now=clock.now - 2 * 3600)
    with shell_store.engine.begin() as conn:                    # used 61 minutes ago, created 2 hours ago
        conn.execute(update(s.sessions).where(s.sessions.c.id_hash == sessions.hash_session_id(idle))
                     .values(last_seen=clock.now - 61 * 60))
    sessions.record_failure(shell_store, user, "10.99.0.1", now=clock.now - 3600)
    sessions.record_failure(shell_store, user, "10.99.0.1", now=clock.now)
    assert sessions.prune(shell_store, max_age_seconds=8 * 3600, idle_seconds=3600) >= 3
    assert [r.id_hash for r in session_rows(shell_store, user)] == [sessions.hash_session_id(live)]
    assert sessions.resolve_session(shell_store, old, max_age_seconds=8 * 3600, idle_seconds=3600) is None
    with shell_store.engine.connect() as conn:
        assert len(conn.execute(select(s.sign_in_failures).where(s.sign_in_failures.c.username == user)).all()) == 1


# ------------------------------------------------------------------------------ lockouts
def test_five_wrong_passwords_lock_the_user_name_even_for_the_right_one(shell_store, user, client_at, clock):
    limit = sessions.USER_FAILURES
    assert limit == 5
    for _attempt in range(limit - 1):
        response = sign_in(client_at(), user, "wrong password")                 # from different addresses
        assert response.status_code == 400 and "The user name or password is not right" in response.get_data(as_text=True)
    locked = sign_in(client_at(), user, "wrong password")
    assert locked.status_code == 429
    message = "Too many failed sign-ins for this user name. Try again in 15 minutes."
    client = client_at()
    response = sign_in(client, user)                                            # the right password
    text = response.get_data(as_text=True)
    assert response.status_code == 429 and message in text and message in locked.get_data(as_text=True)
    assert 'role="alert"' in text and "<title>Error: Sign in" in text and int(response.headers["Retry-After"]) == 900
    with client.session_transaction() as session:
        assert auth.SESSION_KEY not in session
    assert session_rows(shell_store, user) == []

    clock.advance(10)
    assert "Try again in 5 minutes." in sign_in(client_at(), user).get_data(as_text=True)
    clock.advance(5.1)                                                           # the lock is over
    assert sign_in(client_at(), user).status_code == 302
    with shell_store.engine.connect() as conn:                                  # and success cleared the failures
        assert conn.execute(select(s.sign_in_failures).where(s.sign_in_failures.c.username == user)).all() == []


def test_an_unknown_user_name_is_locked_the_same_way(user, client_at):
    unknown = user + "-does-not-exist"
    known = [sign_in(client_at(), user, "wrong password") for _ in range(sessions.USER_FAILURES)]
    guesses = [sign_in(client_at(), unknown, "wrong password") for _ in range(sessions.USER_FAILURES)]
    assert [r.status_code for r in known] == [r.status_code for r in guesses] == [400] * 4 + [429]

    def page(response, name):                                   # the page without its name and CSRF token
        return re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True).replace(name, "X"))

    assert page(known[-1], user) == page(guesses[-1], unknown)
    assert "Too many failed sign-ins for this user name." in page(guesses[-1], unknown)


def test_twenty_failures_from_one_address_lock_the_address_across_user_names(shell_store, user, client_at):
    address = "10.99.201.1"
    limit = sessions.ADDRESS_FAILURES
    assert limit == 20
    statuses = [sign_in(client_at(address), f"{user}-guess-{i}", "wrong password").status_code for i in range(limit)]
    assert statuses == [400] * (limit - 1) + [429]                            # no single name reached its limit
    response = sign_in(client_at(address), user)                               # a real user, right password
    assert response.status_code == 429
    assert "Too many failed sign-ins from your network address. Try again in 15 minutes." in response.get_data(as_text=True)
    elsewhere = client_at("10.99.201.2")
    assert sign_in(elsewhere, user).status_code == 302 and signed_in_status(elsewhere) == (200, "")


def test_failures_are_shared_through_the_store_not_the_process(shell_store, user, client_at):
    """Another worker process writes the same table: failures it recorded count here."""
    for _ in range(sessions.USER_FAILURES):
        sessions.record_failure(shell_store, user, "10.99.202.9")
    assert sign_in(client_at(), user).status_code == 429


def test_locked_until():
    assert sessions.locked_until([0, 1, 2, 3], 5) is None
    assert sessions.locked_until([0, 1, 2, 3, 4], 5) == 4 + sessions.LOCK_SECONDS
    assert sessions.locked_until([0, 300, 600, 900, 901], 5) is None             # spread over more than 15 minutes
    assert sessions.locked_until([0, 300, 600, 899, 900], 5) == 900 + sessions.LOCK_SECONDS


def test_lockout_message():
    assert auth.lockout_message(sessions.Lockout("user", time.time() + 50)) == (
        "Too many failed sign-ins for this user name. Try again in 1 minute.")
    assert auth.lockout_message(sessions.Lockout("address", time.time() + 14 * 60 + 1)).endswith("in 15 minutes.")


# ------------------------------------------------------------------------------ timing
def test_unknown_and_known_user_names_take_the_same_time(store):
    add_user(store, "known", PASSWORD)
    authenticate(store, "nobody", "warm up")                     # the dummy hash is made once per process

    def seconds(name: str) -> float:
        started = time.perf_counter()
        assert authenticate(store, name, "wrong password") is None
        return time.perf_counter() - started

    known, unknown = [], []
    for _ in range(7):                                             # interleaved, so load on the machine hits both
        known.append(seconds("known"))
        unknown.append(seconds("no-such-user"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 <= ratio <= 1.6, (ratio, known, unknown)


# ------------------------------------------------------------------------------ settings
def test_session_idle_minutes_setting():
    from dashapp.settings import Settings
    from loaders.errors import WhytrendError

    assert Settings().session_idle_minutes == 60.0 and Settings().session_hours == 8.0
    assert Settings.from_env({"WHYTREND_SESSION_IDLE_MINUTES": "15"}).session_idle_minutes == 15.0
    with pytest.raises(WhytrendError, match="WHYTREND_SESSION_IDLE_MINUTES is 'soon'; set it to a number"):
        Settings.from_env({"WHYTREND_SESSION_IDLE_MINUTES": "soon"})
    with pytest.raises(WhytrendError):
        Settings.from_env({"WHYTREND_SESSION_IDLE_MINUTES": "0"})
