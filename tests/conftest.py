"""Shared fixtures: a real SQLite file per test, manifest writing, the shared real data."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from store_urls import db_url  # noqa: F401 - the fixture, for every test module (SQLite and PostgreSQL)

os.environ.setdefault("OMP_NUM_THREADS", "1")

#: the services some cases need (markers set in store_urls and the modules): a run says how many ran
SERVICES = (("postgres", "PostgreSQL"), ("redis", "Redis"))


def pytest_terminal_summary(terminalreporter):
    """How many PostgreSQL and Redis cases ran, passed, failed or were skipped (CI must show they ran)."""
    for marker, name in SERVICES:
        counts = {"passed": 0, "failed": 0, "skipped": 0}
        for outcome in ("passed", "failed", "error", "skipped"):
            for report in terminalreporter.stats.get(outcome, []):
                if marker in getattr(report, "keywords", {}):
                    counts["failed" if outcome == "error" else outcome] += 1
        ran = counts["passed"] + counts["failed"]
        terminalreporter.write_line(f"{name} cases: {ran} ran ({counts['passed']} passed, {counts['failed']} failed), "
                                    f"{counts['skipped']} skipped")

REPO = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO.parent / "shared" / "data" / "real"


@pytest.fixture
def store(tmp_path):
    from loaders import Store

    return Store(tmp_path / "store.db")


@pytest.fixture
def write(tmp_path):
    """write(name, text) -> Path: a dedented text file in the test's folder."""

    def _write(name: str, text: str, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding=encoding)
        return path

    return _write


@pytest.fixture
def real_data() -> Path:
    """../shared/data/real beside the repo; tests using it skip cleanly when it is absent."""
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present")
    return SHARED_REAL


def real_file(name: str) -> Path:
    path = SHARED_REAL / name
    if not path.exists():
        pytest.skip(f"{path} is not present")
    return path


# --- demo store (shared by engine, app and browser tests) ---
@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    """The bundled demo loaded through the real loaders (two vintages), once per test session.

    Tests must not write to it (use their own store for that); model versions are fitted on
    first use and shared.
    """
    from loaders import Store
    from loaders.demo import run_demo

    folder = tmp_path_factory.mktemp("demo")
    store = Store(folder / "demo.db")
    run_demo(store, folder / "files")
    return store


@pytest.fixture(scope="session")
def pg_demo_store(tmp_path_factory):  # its tests are marked postgres by their parameter (POSTGRES_PARAM)
    """The bundled demo loaded into a fresh PostgreSQL schema, once per session (skipped, naming
    WHYTREND_TEST_PG_URL, where no server answers). Tests must not write to it."""
    from loaders import Store
    from loaders.demo import run_demo

    from store_urls import fresh_pg_schema

    with fresh_pg_schema() as url:
        store = Store(url)
        run_demo(store, tmp_path_factory.mktemp("pg-demo") / "files")
        yield store
        store.engine.dispose()


def copy_of(store, folder: Path, name: str):
    """A private copy of a SQLite store (``browser_support.copy_database``: the backup API)."""
    from loaders import Store

    from browser_support import copy_database

    return Store(copy_database(store.url.split("///", 1)[1], folder / f"{name}.db"))


# --- analysis fixtures ---
@pytest.fixture(scope="session")
def analysis_store(demo_store, tmp_path_factory):
    """A private copy of the demo store for the analysis pages' tests (they write: users, cached
    explanations, model versions), with users and the explanations of a few metrics precomputed."""
    from explain import precompute
    from loaders.accounts import add_user

    store = copy_of(demo_store, tmp_path_factory.mktemp("analysis"), "analysis")
    for name, role, department in (("treasury", "analyst", None), ("dwp_viewer", "viewer", "DWP"),
                                   ("dhsc_analyst", "analyst", "DHSC")):
        add_user(store, name, "password123", role=role, department=department, replace=True)
    precompute(store, metrics=["uc_caseload", "uc_spend", "ae_4h_pct"])
    return store


@pytest.fixture(scope="session")
def analysis_settings(analysis_store, tmp_path_factory):
    from dashapp.settings import Settings

    return Settings(db=analysis_store.url, cache_dir=tmp_path_factory.mktemp("analysis-jobs"),
                    secret_key="analysis-tests-" + "x" * 40)


# --- app fixtures ---
# The app shell's tests (test_app_shell.py, test_auth.py): a private copy of the demo store with
# the demo users (see explain.operations.DEMO_USERS: admin, analyst, treasury, dwp, nhs; password
# "whytrend-<name>") and one app built for the whole session.
@pytest.fixture(scope="session")
def shell_store(demo_store, tmp_path_factory):
    from explain import ensure_demo_users, precompute

    store = copy_of(demo_store, tmp_path_factory.mktemp("shell"), "shell")
    ensure_demo_users(store)
    precompute(store, metrics=["uc_caseload"])
    return store


@pytest.fixture(scope="session")
def shell_app(shell_store, tmp_path_factory):
    from dashapp import create_app
    from dashapp.settings import Settings

    settings = Settings(db=shell_store.url, cache_dir=tmp_path_factory.mktemp("shell-jobs"),
                        secret_key="shell-tests-" + "s" * 40)
    return create_app(settings)


@pytest.fixture
def signed_in(shell_app, shell_store):
    """signed_in(username) -> a Flask test client with a server-side session of that user (no password check)."""
    from dashapp.auth import SESSION_KEY
    from loaders.sessions import create_session

    def _client(username: str | None):
        client = shell_app.server.test_client()
        if username:
            with client.session_transaction() as session:
                session[SESSION_KEY] = create_session(shell_store, username)
                session["csrf"] = "test-csrf-token"
        return client

    return _client


# --- browser fixtures (test_browser.py, test_accessibility.py, test_screenshots.py) ---
# One production server (gunicorn via `whytrend serve`, 2 workers) on 127.0.0.1 for the whole
# session, on a private copy of the demo with its users and every explanation precomputed; one
# headless Debian chromium; a fresh browser context per test and user (sign-ins are done once
# through the form and their cookies reused). Helpers: tests/browser_support.py.
def _require_chromium() -> None:
    import browser_support

    if not Path(browser_support.CHROMIUM).exists():
        pytest.skip(f"{browser_support.CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; "
                    "tests/run does it) to run the browser tests")


@pytest.fixture(scope="session")
def live_app(demo_store, tmp_path_factory):
    """The demo app served by the production server: ``.url``, ``.db`` (the SQLite file), ``.stop()``."""
    import browser_support

    _require_chromium()
    if os.environ.get("WHYTREND_BROWSER_URL"):  # development: reuse a running demo server and its database
        yield browser_support.ExternalServer(os.environ["WHYTREND_BROWSER_URL"], Path(os.environ["WHYTREND_BROWSER_DB"]))
        return
    folder = tmp_path_factory.mktemp("live")
    db = browser_support.prepare_demo_database(folder / "live.db", source=demo_store.url.split("///", 1)[1])
    server = browser_support.LiveServer(db=db, workdir=folder).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian chromium driven by Playwright (never `playwright install`)."""
    import browser_support

    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_support.CHROMIUM,
                                             args=browser_support.LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def signed_in_state(live_app, chromium):
    """signed_in_state(username) -> Playwright storage state of that demo user, signed in once."""
    import browser_support

    states: dict[str, dict] = {}

    def _state(username: str) -> dict:
        if username not in states:
            context = chromium.new_context(base_url=live_app.url)
            page = context.new_page()
            browser_support.sign_in(page, username)
            assert "/login" not in page.url, f"{username} could not sign in"
            states[username] = context.storage_state()
            context.close()
        return states[username]

    return _state


@pytest.fixture(scope="session")
def _browser_contexts(live_app, chromium, signed_in_state):
    """Browser contexts shared by the session, one per (user, viewport): assets such as Plotly's 4.8 MB
    bundle are then fetched once per context instead of once per test."""
    contexts: dict[tuple, object] = {}

    def _context(username: str | None, width: int, height: int):
        key = (username, width, height)
        if key not in contexts:
            context = chromium.new_context(base_url=live_app.url, viewport={"width": width, "height": height},
                                           storage_state=signed_in_state(username) if username else None)
            context.set_default_timeout(30_000)
            contexts[key] = context
        return contexts[key]

    yield _context
    for context in contexts.values():
        context.close()


@pytest.fixture
def open_browser(live_app, chromium, _browser_contexts):
    """open_browser(username=None, width=1280, height=900, fresh=False) -> a new Page, signed in as
    ``username`` (else signed out). Pages share a context per user and size unless ``fresh`` (a context
    of their own, for tests that sign in or out); pages and fresh contexts are closed after the test."""
    opened = []

    def _open(username: str | None = None, width: int = 1280, height: int = 900, fresh: bool = False):
        if fresh or username is None:
            context = chromium.new_context(base_url=live_app.url, viewport={"width": width, "height": height})
            context.set_default_timeout(30_000)
            opened.append(context)
        else:
            context = _browser_contexts(username, width, height)
        page = context.new_page()
        opened.append(page)
        return page

    yield _open
    for item in reversed(opened):
        item.close()
