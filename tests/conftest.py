"""Shared fixtures: a real SQLite file per test, manifest writing, the shared real data."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

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
    from loaders.demo_load import run_demo

    folder = tmp_path_factory.mktemp("demo")
    store = Store(folder / "demo.db")
    run_demo(store, folder / "files")
    return store


# --- analysis fixtures ---
@pytest.fixture(scope="session")
def analysis_store(demo_store, tmp_path_factory):
    """A private copy of the demo store for the analysis pages' tests (they write: users, cached
    explanations, model versions), with users and the explanations of a few metrics precomputed."""
    import sqlite3

    from explain import precompute
    from loaders import Store
    from loaders.accounts import add_user

    source = demo_store.url.split("///", 1)[1]
    target = tmp_path_factory.mktemp("analysis") / "analysis.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    store = Store(target)
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
# the demo users (see dashapp.cli.DEMO_USERS: admin, analyst, treasury, dwp, nhs; password
# "whytrend-<name>") and one app built for the whole session.
@pytest.fixture(scope="session")
def shell_store(demo_store, tmp_path_factory):
    import sqlite3

    from dashapp.cli import ensure_demo_users
    from explain import precompute
    from loaders import Store

    source = demo_store.url.split("///", 1)[1]
    target = tmp_path_factory.mktemp("shell") / "shell.db"
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    store = Store(target)
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
def signed_in(shell_app):
    """signed_in(username) -> a Flask test client whose session is that user's (no password check)."""

    def _client(username: str | None):
        client = shell_app.server.test_client()
        if username:
            with client.session_transaction() as session:
                session["user"] = username
                session["csrf"] = "test-csrf-token"
        return client

    return _client
