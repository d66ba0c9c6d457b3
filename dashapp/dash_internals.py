"""Every use of Dash's private API, in one place, with why it is needed.

Checked against Dash 4.4 (setup.cfg caps ``dash<5``): a new major version may move these names,
and ``tests/test_dash_internals.py`` fails loudly if any of them is gone, so an upgrade breaks a
test, not the app.

* Dash keeps ``@callback``\\ s and pages in module-level registries and hands them to the first app
  that serves a request. whytrend builds an app per process with a factory (and tests build several
  in one process), so each app must take exactly its own pages and callbacks:
  :func:`reset_registries` before the pages are imported, :func:`adopt_callbacks` after.
* The Content-Security-Policy names the hashes of Dash's inline scripts, which exist only once the
  app has set itself up on its first request: :func:`has_set_up`.
"""
from __future__ import annotations

from typing import Any

#: (module or class, attribute) of every private name used here
PRIVATE_NAMES = (
    ("dash._callback", "GLOBAL_CALLBACK_LIST"),
    ("dash._callback", "GLOBAL_CALLBACK_MAP"),
    ("dash._callback", "GLOBAL_INLINE_SCRIPTS"),
    ("dash.Dash", "_callback_list"),
    ("dash.Dash", "_inline_scripts"),
    ("dash.Dash", "_got_first_request"),
)


def reset_registries() -> None:
    """Forget the callbacks and pages registered so far in this process (before building an app)."""
    import dash
    from dash import _callback

    _callback.GLOBAL_CALLBACK_LIST.clear()
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_INLINE_SCRIPTS.clear()
    dash.page_registry.clear()


def adopt_callbacks(app: Any) -> None:
    """Move the callbacks the pages just registered into ``app`` (and out of the registries)."""
    from dash import _callback

    for key in list(_callback.GLOBAL_CALLBACK_MAP):
        app.callback_map[key] = _callback.GLOBAL_CALLBACK_MAP.pop(key)
    app._callback_list.extend(_callback.GLOBAL_CALLBACK_LIST)
    _callback.GLOBAL_CALLBACK_LIST.clear()
    app._inline_scripts.extend(_callback.GLOBAL_INLINE_SCRIPTS)
    _callback.GLOBAL_INLINE_SCRIPTS.clear()


def has_set_up(app: Any) -> bool:
    """Whether ``app`` has set itself up on its first request (its inline scripts are then known)."""
    return bool(getattr(app, "_got_first_request", {}).get("setup_server"))
