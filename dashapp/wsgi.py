"""WSGI entry point: ``gunicorn --workers 2 --threads 1 dashapp.wsgi:server`` (settings from the
environment: WHYTREND_DB, WHYTREND_SECRET_KEY, WHYTREND_SECURE_COOKIES, WHYTREND_CACHE_DIR)."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from .app import create_app  # noqa: E402
from .settings import Settings  # noqa: E402

app = create_app(Settings.from_env())
server = app.server
