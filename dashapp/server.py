"""Serving: gunicorn in production (in-process, so the settings pass straight through), the
Dash development server with ``debug=True``.

Production: ``workers`` processes (2 by default), one thread each, ``OMP_NUM_THREADS=1`` (model
fits and SHAP slow down badly under thread contention; see docs/performance.md). Each worker builds
its own app (its own SQLite connections) after the fork.
"""
from __future__ import annotations

import logging
import os

from .settings import Settings

log = logging.getLogger(__name__)


def serve(db: str | None = None, *, host: str = "127.0.0.1", port: int = 8050, debug: bool = False,
          workers: int = 2, settings: Settings | None = None) -> None:
    """Serve the app on ``host:port`` until interrupted."""
    os.environ["OMP_NUM_THREADS"] = "1"
    settings = settings or Settings.from_env(db=db, debug=debug or None)
    if settings.debug:
        from .app import create_app

        app = create_app(settings)
        app.run(host=host, port=port, debug=True)
        return
    _Gunicorn(settings, {
        "bind": f"{host}:{port}",
        "workers": max(1, int(workers)),
        "threads": 1,
        "worker_class": "sync",
        "timeout": 300,          # uploads are validated and loaded in the request
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": False,
    }).run()


def gunicorn_application(settings: Settings, options: dict):
    """The in-process gunicorn application (exposed for tests)."""
    return _Gunicorn(settings, options)


try:
    from gunicorn.app.base import BaseApplication
except ImportError:  # pragma: no cover - gunicorn is a dependency; Windows has no fork
    BaseApplication = object


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from .app import create_app, warm_up

        app = create_app(self.settings)
        warm_up(app)
        return app.server
