"""whytrend's Dash app (pages, shared components) and the ``whytrend`` command.

Import-light: the CLI imports :mod:`dashapp.cli` without loading dash. ``create_app`` is
loaded on first use::

    from dashapp import create_app
    from dashapp.settings import Settings
    app = create_app(Settings(db="whytrend.db"))
"""
from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'dashapp' has no attribute {name!r}")
