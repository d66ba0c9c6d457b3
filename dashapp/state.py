"""Per-process state of the app: the store and an in-process memo for page data.

* :func:`configure` is called once by ``create_app``; :func:`get_store` returns one
  :class:`loaders.Store` per process for ``settings.db`` (inside a request: the settings of the
  Flask app serving it, so several apps in one process each read their own database).
* :func:`cached` memoises pure read functions (headline cards, trends, metric lists) keyed by
  ``key_fn(*args, **kwargs)`` plus the store's generation (:meth:`loaders.Store.generation`: the
  latest load and the latest change of any metric's state, see :mod:`loaders.freshness`), so a
  load or a model activated by any process is seen by the next request, and pages never
  recompute per request. Values are shared by every user of the process: cache results that
  are the same for everyone and check access *before* calling the cached function.

The generation is read once per request (one query, kept on ``flask.g``). This is the app's side
of whytrend's one cache policy: everything is keyed by data vintage and model version.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Hashable

if TYPE_CHECKING:  # pragma: no cover
    from loaders import Store

    from .settings import Settings

log = logging.getLogger(__name__)

MAX_ENTRIES = 1024  # per cached function

_lock = threading.RLock()
_settings: "Settings | None" = None
_stores: dict[tuple[str, int], "Store"] = {}
_memos: list["OrderedDict[Hashable, Any]"] = []
SETTINGS_KEY = "WHYTREND_SETTINGS"  # the Flask config entry create_app sets


def configure(settings: "Settings") -> None:
    """Use ``settings`` (its database) from now on; drops every memo.

    Inside a request the settings of the Flask app serving it win (``create_app`` stores them in
    ``server.config[SETTINGS_KEY]``), so several apps in one process (tests) each use their own
    database."""
    global _settings
    with _lock:
        _settings = settings
    invalidate()


def settings() -> "Settings":
    """The settings of the app serving this request, else the configured ones (else from the env)."""
    global _settings
    try:
        import flask

        if flask.has_app_context():
            active = flask.current_app.config.get(SETTINGS_KEY)
            if active is not None:
                return active
    except ImportError:  # pragma: no cover
        pass
    if _settings is None:
        from .settings import Settings

        with _lock:
            if _settings is None:
                _settings = Settings.from_env()
    return _settings


def get_store() -> "Store":
    """One store per process for the active settings' database (opened and migrated on first use).

    Keyed by process id too: a background job forked from a web worker must not use the worker's
    pooled connections (SQLite file handles and PostgreSQL sockets are not to be shared across a
    fork), so it opens its own."""
    db = settings().db
    key = (db, os.getpid())
    store = _stores.get(key)
    if store is None:
        from loaders import Store

        with _lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = Store(db)
    return store


def app_secret() -> str:
    """The secret that signs session cookies and job tickets: ``Settings.secret_key``, else
    $WHYTREND_SECRET_KEY, else the one kept in the store (made once, shared by every worker)."""
    configured = settings().secret_key or os.environ.get("WHYTREND_SECRET_KEY")
    if configured:
        return configured
    from loaders.accounts import session_secret

    return session_secret(get_store())


def _forget_parent_connections() -> None:
    """In a forked child: drop the parent's pooled connections without closing them (closing would
    end the parent's PostgreSQL sessions); the child opens its own (see :func:`get_store`)."""
    for store in list(_stores.values()):
        store.forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_connections)


def invalidate() -> None:
    """Forget every memoised value (tests; a new configuration). Loads and model changes need no call:
    they change the store's generation, which every memo key carries."""
    with _lock:
        for memo in _memos:
            memo.clear()
    try:
        import flask

        if flask.has_request_context():
            flask.g.pop("whytrend_generation", None)
    except ImportError:  # pragma: no cover
        pass


def data_token() -> tuple:
    """(database, store generation): what a memoised value depends on. Read once per request."""
    try:
        import flask

        if flask.has_request_context():
            if "whytrend_generation" not in flask.g:
                flask.g.whytrend_generation = get_store().generation()
            return settings().db, flask.g.whytrend_generation
    except ImportError:  # pragma: no cover
        pass
    return settings().db, get_store().generation()


def cached(key_fn: Callable[..., Hashable], max_entries: int = MAX_ENTRIES) -> Callable[[Callable], Callable]:
    """Memoise a function in this process, keyed by ``key_fn(*args, **kwargs)`` and :func:`data_token`,
    keeping the ``max_entries`` most recently used values (lower it for large values such as pages).

    ::

        @state.cached(lambda metric, area=None: (metric, area))
        def headline_for(metric, area=None):
            return explain.headline(state.get_store(), metric, area=area)

    Exceptions are not cached. The wrapped function gains ``.cache_clear()``.
    """

    def decorate(fn: Callable) -> Callable:
        memo: OrderedDict[Hashable, Any] = OrderedDict()
        with _lock:
            _memos.append(memo)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            key = (key_fn(*args, **kwargs), data_token())
            with _lock:
                if key in memo:
                    memo.move_to_end(key)
                    return memo[key]
            value = fn(*args, **kwargs)
            with _lock:
                memo[key] = value
                while len(memo) > max_entries:
                    memo.popitem(last=False)
            return value

        wrapper.cache_clear = memo.clear  # type: ignore[attr-defined]
        return wrapper

    return decorate
