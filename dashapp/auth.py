"""Sign-in, roles and department scoping, enforced on the server.

Roles (``loaders.accounts.ROLES``, each includes the ones before it):

=========  ===============================================================================
viewer     Summary, Trends, Explain, Metrics (documentation)
analyst    + Model lab, + Data (sources, vintages, quality grades, quarantined rows; read only)
admin      + uploading files on the Data page (and managing users with ``whytrend users``)
=========  ===============================================================================

A user tied to a department sees only that department's metrics (and, on the Data page,
its sources); a user without one (Treasury) sees all.

Enforcement is server-side and does not trust the browser:

* ``before_request`` guard (:func:`init_app`): page loads without a session redirect to
  ``/login``; other requests without a session (``/_dash-*``) get 401; every POST must carry
  an ``Origin`` (or ``Referer``) of this host, and Dash POSTs must be JSON, which a
  cross-site form cannot send.
* Callback guard (:func:`callback_violation`) on every ``/_dash-update-component`` POST,
  so it covers every callback, background ones and hand-made POSTs alike: a metric code the
  user may not see in any input or state value -> 403; component ids starting ``lab-``
  need analyst, ``upload-`` need admin -> 403. Values checked: strings, lists of strings,
  query strings (``?metric=...``) and, inside dicts (``dcc.Store`` data), values under the keys
  ``metric``, ``metrics`` and ``metric_code``. Other strings inside dicts (figures, stored
  explanations naming driver metrics) are not read as metric requests.
* Dash pages' routing callback (output ``_pages_content.children``) is exempt from the metric
  check only: its page layouts are wrapped by ``create_app`` and show a message instead.
* Background callbacks run their function in another process without the Flask request, so
  :func:`current_user` is None there: check access in a normal callback first or rely on the
  guard (which sees every background request and poll).
* Page layouts are wrapped by ``create_app`` (:func:`guard_layout`): a page needing a role the
  user lacks, or a URL naming a metric the user may not see, shows a message instead of the page.
"""
from __future__ import annotations

import hmac
import html
import logging
import re
import secrets
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

from . import state

log = logging.getLogger(__name__)

ROLES = ("viewer", "analyst", "admin")
NO_METRIC_ACCESS = "You do not have access to this metric."
METRIC_KEYS = frozenset({"metric", "metrics", "metric_code"})
ROLE_PREFIXES = (("upload-", "admin"), ("lab-", "analyst"))
#: pages that need more than a viewer, by path prefix (a page may also pass ``role=`` to register_page)
PAGE_ROLES = {"/model-lab": "analyst", "/lab": "analyst", "/data": "analyst"}
PUBLIC_PATHS = frozenset({"/login", "/_favicon.ico"})
PUBLIC_PREFIXES = ("/assets/",)
_MAX_NODES = 20_000


# ----------------------------------------------------------------------------------- who
def current_user():
    """The signed-in :class:`loaders.accounts.User` from the Flask session, or None.

    Read from the store once per request, so a removed user or a changed role takes effect
    at the next request."""
    import flask

    if not flask.has_request_context():
        return None
    if "whytrend_user" in flask.g:
        return flask.g.whytrend_user
    username = flask.session.get("user")
    user = None
    if username:
        from loaders.accounts import get_user

        user = get_user(state.get_store(), username)
    flask.g.whytrend_user = user
    return user


def has_role(user, role: str) -> bool:
    return user is not None and ROLES.index(user.role) >= ROLES.index(role)


@state.cached(lambda: "all-metrics")
def _all_metrics() -> tuple:
    from explain import list_metrics

    return tuple(list_metrics(state.get_store()))


def allowed_metrics(user) -> set[str]:
    """Metric codes ``user`` may see: all for a user without a department, else the department's."""
    if user is None:
        return set()
    return {m.code for m in _all_metrics() if user.department is None or m.department == user.department}


def all_metric_codes() -> set[str]:
    return {m.code for m in _all_metrics()}


def can_see_metric(metric: str) -> bool:
    return metric in allowed_metrics(current_user())


def require_metric(metric: str) -> None:
    """Raise PermissionError unless the current user may see ``metric`` (unknown codes too,
    so the message does not reveal which codes exist elsewhere)."""
    if not can_see_metric(metric):
        raise PermissionError(f"You do not have access to this metric ('{metric}'). "
                              "Choose one of your metrics from the Metrics page.")


def require_role(role: str) -> None:
    """Raise PermissionError unless the current user has at least ``role``."""
    user = current_user()
    if user is None:
        raise PermissionError("You are not signed in. Sign in to continue.")
    if not has_role(user, role):
        raise PermissionError(f"You do not have access to this: it needs the {role} role "
                              f"(you are signed in as {'an' if user.role[0] in 'aeiou' else 'a'} {user.role}).")


def visible_metrics() -> list:
    """``explain.list_metrics`` filtered for the current user (department order, then code)."""
    allowed = allowed_metrics(current_user())
    return [m for m in _all_metrics() if m.code in allowed]


def visible_department(department: str | None) -> bool:
    """Whether the current user may see things of ``department`` (sources on the Data page)."""
    user = current_user()
    return user is not None and (user.department is None or user.department == department)


def page_role(page: dict) -> str:
    """The role a registered page needs: its ``role`` entry, else :data:`PAGE_ROLES` by path."""
    if page.get("role"):
        return page["role"]
    path = page.get("path", "/")
    for prefix, role in PAGE_ROLES.items():
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return "viewer"


# ----------------------------------------------------------------------- callback guard
def callback_violation(payload: Any, user, allowed: set[str], known: set[str]) -> str | None:
    """Why a ``/_dash-update-component`` payload is refused for ``user`` (None when allowed).

    ``allowed``: metric codes the user may see; ``known``: every metric code in the store.
    """
    if not isinstance(payload, dict):
        return "The request is not a callback."
    for text in _component_ids(payload):
        for prefix, role in ROLE_PREFIXES:
            if re.search(r'(?:^|[."])' + re.escape(prefix), text) and not has_role(user, role):
                return f"This needs the {role} role."
    forbidden = known - allowed
    if forbidden and not _is_page_router(payload):
        for key in ("inputs", "state"):
            for value in _values(payload.get(key)):
                for code in _metric_candidates(value):
                    if code in forbidden:
                        return NO_METRIC_ACCESS
    return None


PAGES_ROUTER_OUTPUT = "_pages_content.children"


def _is_page_router(payload: dict) -> bool:
    """Dash pages' own routing callback: its page layouts are wrapped by :func:`guard_layout`, which
    shows "You do not have access to this metric" for a URL naming one (a 403 would blank the page)."""
    output = payload.get("output")
    if not isinstance(output, str):
        return False
    parts = {part for part in re.split(r"\.\.\.|^\.\.|\.\.$", output) if part}
    if parts != {PAGES_ROUTER_OUTPUT, "_pages_store.data"}:
        return False
    ids = [item.get("id") for key in ("inputs", "state") for item in _flat(payload.get(key))]
    return all(isinstance(i, str) and i.startswith("_pages_") for i in ids)


def _flat(items) -> Iterator[dict]:
    if isinstance(items, dict):
        yield items
    elif isinstance(items, list):
        for item in items:
            yield from _flat(item)


def _component_ids(payload: dict) -> Iterator[str]:
    """Every component id of the request as text (dict ids as JSON-ish text)."""
    import json

    output = payload.get("output")
    if isinstance(output, str):
        yield output

    def walk(items):
        if isinstance(items, dict):
            if "id" in items:
                ident = items["id"]
                yield ident if isinstance(ident, str) else json.dumps(ident, sort_keys=True)
        elif isinstance(items, list):
            for item in items:
                yield from walk(item)

    for key in ("outputs", "inputs", "state"):
        yield from walk(payload.get(key))


def _values(items) -> Iterator[Any]:
    if isinstance(items, dict):
        if "value" in items:
            yield items["value"]
    elif isinstance(items, list):
        for item in items:
            yield from _values(item)


def _metric_candidates(value: Any) -> Iterator[str]:
    """Strings in a callback value that could name a metric (see the module docstring)."""
    budget = [_MAX_NODES]

    def walk(node, in_metric_key: bool, depth: int):
        budget[0] -= 1
        if budget[0] < 0 or depth > 12:
            return
        if isinstance(node, str):
            if in_metric_key or depth <= 1:
                yield node.strip()
                yield from (part.strip() for part in node.split(",") if "," in node)
            if "?" in node or ("=" in node and depth <= 1):
                query = node.split("?", 1)[1] if "?" in node else node
                for _, v in parse_qsl(query.split("#", 1)[0], keep_blank_values=False):
                    yield v.strip()
                    yield from (part.strip() for part in v.split(","))
        elif isinstance(node, (list, tuple)):
            for item in node:
                yield from walk(item, in_metric_key, depth + 1)
        elif isinstance(node, dict):
            for key, item in node.items():
                yield from walk(item, in_metric_key or key in METRIC_KEYS, depth + 1)

    yield from walk(value, False, 0)


# ------------------------------------------------------------------------- page guard
def guard_layout(layout: Callable | Any, role: str) -> Callable:
    """Wrap a page's layout: check the role and any metric named in the URL before rendering."""
    from dash import html

    from loaders.errors import WhytrendError

    from .components import GENERIC_ERROR, message

    def guarded(**query):
        user = current_user()
        if user is None:
            return message("You are not signed in. Reload the page to sign in.", "error")
        if not has_role(user, role):
            return _denied(message(f"You do not have access to this page: it needs the {role} role.", "error"))
        forbidden = all_metric_codes() - allowed_metrics(user)
        for key, value in query.items():
            if isinstance(value, (str, list)) and any(code in forbidden for code in _metric_candidates(value)):
                return _denied(message(NO_METRIC_ACCESS + " Choose one of your metrics from the Metrics page.",
                                       "error"))
        if not callable(layout):
            return layout
        try:
            return layout(**query)
        except (WhytrendError, PermissionError) as exc:
            return html.Div([html.H1("This page could not be shown"), message(str(exc), "error")], className="page")
        except Exception:  # noqa: BLE001 - a page's bug must not blank the app
            log.exception("layout of a page failed for %s", user.username)
            return html.Div([html.H1("This page could not be shown"), message(GENERIC_ERROR, "error")],
                            className="page")

    guarded.__wrapped__ = layout  # type: ignore[attr-defined]
    return guarded


def _denied(alert):
    from dash import html

    return html.Div([html.H1("Access denied"), alert], className="page")


# --------------------------------------------------------------------- Flask wiring
def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    import flask

    token = flask.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        flask.session["csrf"] = token
    return token


def _csrf_ok(sent: str | None) -> bool:
    import flask

    expected = flask.session.get("csrf")
    return bool(expected and sent and hmac.compare_digest(str(expected), str(sent)))


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in ('/' for anything else)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    if parts.path in ("/login", "/logout"):
        return "/"
    return target


def origin_ok(origin: str | None, referer: str | None, host: str, trusted: Iterable[str] = ()) -> bool:
    """Whether a POST's Origin (or, without one, its Referer) names this host."""
    source = origin if origin and origin != "null" else referer
    if not source:
        return False
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if parts.netloc.lower() == host.lower():
        return True
    return f"{parts.scheme}://{parts.netloc}".lower() in {t.lower().rstrip("/") for t in trusted}


def init_app(server, settings) -> None:
    """Add /login, /logout, the request guard and security headers to the Flask server."""
    import flask

    @server.route("/login", methods=["GET", "POST"])
    def login():
        request = flask.request
        target = safe_next(request.values.get("next"))
        if request.method == "GET":
            if current_user() is not None:
                return flask.redirect(target)
            notice = "You have signed out." if request.args.get("signed_out") else ""
            return _login_page(target, notice=notice)
        username = (request.form.get("username") or "").strip()
        password = request.form.get("password") or ""
        errors = []
        if not _csrf_ok(request.form.get("csrf_token")):
            errors.append(("username", "Your sign-in form expired. Enter your user name and password again."))
        elif not username or not password:
            if not username:
                errors.append(("username", "Enter your user name"))
            if not password:
                errors.append(("password", "Enter your password"))
        else:
            from loaders.accounts import authenticate

            user = authenticate(state.get_store(), username, password)
            if user is None:
                errors.append(("username", "The user name or password is not right"))
                log.info("failed sign-in for %r from %s", username, request.remote_addr)
            else:
                flask.session.clear()  # rotate: nothing of the anonymous session survives
                flask.session.permanent = True
                flask.session["user"] = user.username
                flask.session["csrf"] = secrets.token_urlsafe(32)
                flask.g.pop("whytrend_user", None)
                log.info("%s signed in", user.username)
                return flask.redirect(target)
        return _login_page(target, username=username, errors=errors), 400

    @server.route("/logout", methods=["POST"])
    def logout():
        if not _csrf_ok(flask.request.form.get("csrf_token")):
            return flask.Response("The sign-out form expired; reload the page and try again.", 400,
                                  mimetype="text/plain")
        flask.session.clear()
        return flask.redirect("/login?signed_out=1")

    @server.before_request
    def guard():
        request = flask.request
        path = request.path
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            if not origin_ok(request.headers.get("Origin"), request.headers.get("Referer"), request.host,
                             settings.trusted_origins):
                return _refuse(403, "Cross-site request refused: the Origin does not match this site.")
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        user = current_user()
        if user is None:
            if request.method == "GET" and not path.startswith("/_"):
                query = request.query_string.decode("latin-1")
                return flask.redirect(f"/login?next={_quote(path + ('?' + query if query else ''))}")
            return _refuse(401, "Sign in first.")
        if path.startswith("/_dash-") and request.method == "POST":
            if not request.is_json:
                return _refuse(415, "Callbacks must be sent as JSON.")
            payload = request.get_json(silent=True)
            reason = callback_violation(payload, user, allowed_metrics(user), all_metric_codes())
            if reason:
                log.warning("refused callback for %s: %s", user.username, reason)
                return _refuse(403, reason)
        return None

    @server.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        path = flask.request.path
        if not path.startswith(PUBLIC_PREFIXES) and not path.startswith("/_dash-component-suites/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def _refuse(status: int, text: str):
    import flask

    return flask.Response(text, status, mimetype="text/plain")


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _login_page(target: str, *, username: str = "", errors: list[tuple[str, str]] = (), notice: str = "") -> str:
    e = html.escape
    token = csrf_token()
    error_for = dict(errors)
    summary = ""
    if errors:
        items = "".join(f'<li><a href="#{e(field)}">{e(text)}</a></li>' for field, text in errors)
        summary = ('<div class="error-summary" role="alert" tabindex="-1" autofocus aria-labelledby="error-summary-title" '
                   'id="error-summary">'
                   f'<h2 class="error-summary__title" id="error-summary-title">There is a problem</h2>'
                   f'<ul class="error-summary__list">{items}</ul></div>')
    status = f'<div class="notice" role="status">{e(notice)}</div>' if notice else ""

    def field(name: str, label: str, kind: str, autocomplete: str, value: str = "") -> str:
        error = error_for.get(name)
        described = f' aria-describedby="{name}-error" aria-invalid="true"' if error else ""
        message = (f'<p class="field-error" id="{name}-error"><span class="visually-hidden">Error:</span> '
                   f'{e(error)}</p>') if error else ""
        return (f'<div class="form-group{" form-group--error" if error else ""}">'
                f'<label class="form-label" for="{name}">{label}</label>{message}'
                f'<input class="form-input" id="{name}" name="{name}" type="{kind}" autocomplete="{autocomplete}" '
                f'spellcheck="false" value="{e(value)}"{described}>'
                f'</div>')

    title = ("Error: " if errors else "") + "Sign in – whytrend"
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<link rel="stylesheet" href="/assets/whytrend.css">
</head>
<body class="login-body">
<a class="skip-link" href="#main-content">Skip to main content</a>
<header class="site-header"><div class="site-header__inner">
<a class="site-header__name" href="/">whytrend</a>
<span class="site-header__tagline">Why did this departmental metric move?</span>
</div></header>
<main id="main-content" class="login-main" tabindex="-1">
{summary}{status}
<h1>Sign in</h1>
<p>Sign in with the user name and password your whytrend administrator gave you.</p>
<form method="post" action="/login" novalidate>
<input type="hidden" name="csrf_token" value="{e(token)}">
<input type="hidden" name="next" value="{e(target)}">
{field("username", "User name", "text", "username", username)}
{field("password", "Password", "password", "current-password")}
<button class="button" type="submit">Sign in</button>
</form>
</main>
<footer class="site-footer"><div class="site-footer__inner"><p>whytrend: why did this departmental metric move? For HM Treasury spending teams.</p></div></footer>
</body>
</html>"""
