"""The app factory: Flask server (sessions, sign-in, guards) + multi-page Dash.

``create_app(settings)`` builds everything; pages live in ``dashapp/pages`` (``register_page``
+ ``layout(**query)`` + ``@callback``) and never import this module.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from . import dash_internals, state
from .settings import Settings

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
PAGES = PACKAGE / "pages"
ASSETS = PACKAGE.parent / "assets"

INDEX_STRING = """<!DOCTYPE html>
<html lang="en-GB">
    <head>
        {%metas%}
        <title>{%title%}</title>
        {%favicon%}
        {%css%}
    </head>
    <body>
        <a class="skip-link" href="#main-content">Skip to main content</a>
        {%app_entry%}
        {%config%}
        {%scripts%}
        {%renderer%}
    </body>
</html>"""


def create_app(settings: Settings | None = None):
    """Build the whytrend Dash app for ``settings`` (default: ``Settings.from_env()``)."""
    import dash
    import flask

    from . import auth, components, job_queue, layout  # noqa: F401  (components registers the card download callback)

    settings = settings or Settings.from_env()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    state.configure(settings)

    server = flask.Flask("dashapp", static_folder=None)
    server.config.update(
        SECRET_KEY=state.app_secret(),
        SESSION_COOKIE_NAME="whytrend_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings.secure_cookies),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_hours),
        WHYTREND_SETTINGS=settings,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024 * 4 // 3 + 1024 * 1024,  # base64 in JSON
    )
    manager = job_queue.make_manager(settings)  # Celery on Redis, or this machine; JSON only, never unpickled
    dash_internals.reset_registries()
    components.register_callbacks()
    app = dash.Dash(
        "dashapp",
        server=server,
        use_pages=True,
        pages_folder=str(PAGES),
        assets_folder=str(ASSETS),
        background_callback_manager=manager,
        suppress_callback_exceptions=True,
        title="whytrend",
        update_title=None,
        index_string=INDEX_STRING,
        serve_locally=True,
    )
    app.layout = layout.serve_layout
    # after Dash, so that Dash's first-request set-up (the pages router) has run when the guard
    # checks a callback against the app's callbacks
    server.extensions["whytrend_dash"] = app
    auth.init_app(server, settings)
    dash_internals.adopt_callbacks(app)
    guard_pages()
    app.whytrend_settings = settings  # type: ignore[attr-defined]  # the settings this app serves (tests read them)
    app.whytrend_manager = manager  # type: ignore[attr-defined]  # its background manager (whytrend worker reads it)
    return app


def warm_up(app) -> float:
    """Import the driver-model code and compute the Summary page's headline cards once (about 1.5 s
    for the demo's 21 metrics), so the first visitor of a fresh worker waits for neither. Returns the
    seconds taken."""
    import sys
    import time

    from loaders.errors import WhytrendError

    started = time.perf_counter()
    from explain import prepare_process

    prepare_process()  # scikit-learn, shap and the numba kernel: once here, not in a visitor's first explanation

    summary = sys.modules.get("dashapp.pages.summary")
    if summary is None:
        return time.perf_counter() - started
    with app.server.app_context():
        from explain import list_metrics

        for info in list_metrics(state.get_store()):
            try:
                summary.headline_for(info.code)
            except WhytrendError:
                continue
    seconds = time.perf_counter() - started
    log.info("summary cards warmed in %.1f s", seconds)
    return seconds


def guard_pages() -> None:
    """Wrap every registered page's layout with the role and metric checks of :mod:`dashapp.auth`."""
    import dash

    from . import auth

    for page in dash.page_registry.values():
        current = page.get("layout")
        if getattr(current, "_whytrend_guarded", False):
            continue
        guarded = auth.guard_layout(current, auth.page_role(page))
        guarded._whytrend_guarded = True  # type: ignore[attr-defined]
        page["layout"] = guarded

