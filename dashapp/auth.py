"""Sign-in, roles and department scoping, enforced on the server.

Roles (``loaders.vocabulary.ROLES``, each includes the ones before it):

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
* Callback guard (:func:`callback_refusal`; the rules live in :mod:`dashapp.access`) on every
  ``/_dash-update-component`` POST, background ones and their polls included: the request must
  name a callback of this app with exactly its declared inputs (else 400), ids starting ``lab-``
  need analyst and ``upload-`` admin (else 403), and every field passes its allow-list rule from
  the session (metrics and drivers the user may see, job tickets issued to this user for that
  job). Dash pages' router passes through; its page layouts are wrapped (below).
* Job handles (Dash's ``cacheKey``/``job``) are answered only for the user who started the job
  (:mod:`dashapp.jobs`).
* Background callbacks run their function in another process without the Flask request, so
  :func:`current_user` is None there: check access in a normal callback first or rely on the
  guard (which sees every background request and poll).
* Page layouts are wrapped by ``create_app`` (:func:`guard_layout`): a page needing a role the
  user lacks, or a URL naming a metric the user may not see, shows a message instead of the page.
"""
from __future__ import annotations

import hmac
import html
import json
import logging
import secrets
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import parse_qsl, urlsplit

from loaders.errors import AccessDenied, WhytrendError
from loaders.vocabulary import role_at_least

from . import dash_internals, state

log = logging.getLogger(__name__)

NO_METRIC_ACCESS = "You do not have access to this metric."
METRIC_KEYS = frozenset({"metric", "metrics", "metric_code"})
#: pages that need more than a viewer, by path prefix (a page may also pass ``role=`` to register_page)
PAGE_ROLES = {"/model-lab": "analyst", "/lab": "analyst", "/data": "analyst"}
PUBLIC_PATHS = frozenset({"/login", "/_favicon.ico"})
PUBLIC_PREFIXES = ("/assets/",)
#: the Flask session key holding the server-side session id (see :func:`current_user`)
SESSION_KEY = "sid"
_MAX_NODES = 20_000


# ----------------------------------------------------------------------------------- who
def current_user():
    """The signed-in :class:`loaders.accounts.User` of this request, or None.

    The cookie (Flask's signed session) carries only a random session id under
    :data:`SESSION_KEY`; the user comes from that id's row in the store (``loaders.sessions``). No
    live row -> not signed in, so signing out, a password change, removing the user or
    ``whytrend users signout`` ends every copy of the cookie, and a session expires
    ``Settings.session_hours`` after signing in (never renewed) or ``session_idle_minutes``
    after its last use. Read from the store once per request, so a removed user or a changed
    role takes effect at the next request."""
    import flask

    if not flask.has_request_context():
        return None
    if "whytrend_user" in flask.g:
        return flask.g.whytrend_user
    session_id = flask.session.get(SESSION_KEY)
    user = None
    if session_id:
        from loaders.accounts import get_user
        from loaders.sessions import resolve_session

        store = state.get_store()
        max_age, idle = _session_limits()
        found = resolve_session(store, session_id, max_age_seconds=max_age, idle_seconds=idle)
        user = get_user(store, found.username) if found else None
        if user is None:
            flask.session.pop(SESSION_KEY, None)  # a dead id: the browser stops sending it
    flask.g.whytrend_user = user
    return user


def sign_in(username: str) -> str:
    """Start a server-side session for ``username`` in this request's cookie (its password already
    checked) and return the session id.

    Rotates everything: a previous session of this cookie is revoked, nothing of the anonymous
    session survives and a new CSRF token is made. Also prunes expired sessions and stale
    failures (sign-ins are rare enough, and frequent enough, for that)."""
    import flask

    from loaders import sessions

    store = state.get_store()
    max_age, idle = _session_limits()
    sessions.revoke_session(store, flask.session.get(SESSION_KEY))
    sessions.prune(store, max_age_seconds=max_age, idle_seconds=idle)
    session_id = sessions.create_session(store, username, _address())
    flask.session.clear()
    flask.session.permanent = True
    flask.session[SESSION_KEY] = session_id
    flask.session["csrf"] = secrets.token_urlsafe(32)
    flask.g.pop("whytrend_user", None)
    return session_id


def _session_limits() -> tuple[float, float]:
    """(absolute, idle) session lifetimes in seconds from the settings of the app serving this request."""
    settings = state.settings()
    return settings.session_hours * 3600.0, settings.session_idle_minutes * 60.0


def _address() -> str:
    """The client's address as Flask sees it (the proxy's, behind a reverse proxy without ProxyFix)."""
    import flask

    return (flask.request.remote_addr or "") if flask.has_request_context() else ""


def has_role(user, role: str) -> bool:
    return user is not None and role_at_least(user.role, role)


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
    """Raise AccessDenied unless the current user may see ``metric`` (unknown codes too,
    so the message does not reveal which codes exist elsewhere)."""
    if not can_see_metric(metric):
        raise AccessDenied(f"You do not have access to this metric ('{metric}'). "
                              "Choose one of your metrics from the Metrics page.")


def require_role(role: str) -> None:
    """Raise AccessDenied unless the current user has at least ``role``."""
    user = current_user()
    if user is None:
        raise AccessDenied("You are not signed in. Sign in to continue.")
    if not has_role(user, role):
        raise AccessDenied(f"You do not have access to this: it needs the {role} role "
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

    from .components import GENERIC_ERROR, message

    def guarded(**query):
        user = current_user()
        if user is None:
            return message("You are not signed in. Reload the page to sign in.", "error")
        if not has_role(user, role):
            return _denied(message(f"You do not have access to this page: it needs the {role} role.", "error"))
        forbidden = all_metric_codes() - allowed_metrics(user)
        for _key, value in query.items():
            if isinstance(value, (str, list)) and any(code in forbidden for code in _metric_candidates(value)):
                return _denied(message(NO_METRIC_ACCESS + " Choose one of your metrics from the Metrics page.",
                                       "error"))
        if not callable(layout):
            return layout
        try:
            return layout(**query)
        except WhytrendError as exc:
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
            from loaders import sessions
            from loaders.accounts import authenticate

            store = state.get_store()
            address = _address()
            lock = sessions.lockout(store, username, address)
            if lock is None:  # while locked the password is not even checked (nor the attempt recorded)
                user = authenticate(store, username, password)
                if user is not None:
                    sessions.clear_failures(store, username)
                    sign_in(user.username)
                    log.info("%s signed in from %s", user.username, address)
                    return flask.redirect(target)
                sessions.record_failure(store, username, address)
                log.info("failed sign-in for %r from %s", username, address)
                lock = sessions.lockout(store, username, address)
                if lock is None:
                    errors.append(("username", "The user name or password is not right"))
            if lock is not None:
                log.warning("sign-in refused for %r from %s: too many failures for this %s", username, address,
                            "user name" if lock.scope == "user" else "address")
                response = flask.make_response(
                    _login_page(target, username=username, errors=[("username", lockout_message(lock))]), 429)
                response.headers["Retry-After"] = str(lock.minutes_left() * 60)
                return response
        return _login_page(target, username=username, errors=errors), 400

    @server.route("/logout", methods=["POST"])
    def logout():
        if not _csrf_ok(flask.request.form.get("csrf_token")):
            return flask.Response("The sign-out form expired; reload the page and try again.", 400,
                                  mimetype="text/plain")
        from loaders.sessions import revoke_session

        revoke_session(state.get_store(), flask.session.get(SESSION_KEY))  # every copy of the cookie stops working
        flask.session.clear()
        flask.g.pop("whytrend_user", None)
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
            try:
                payload = request.get_json(silent=True)
            except RecursionError:  # a deeply nested payload
                payload = None
            refusal = callback_refusal(payload, user)
            if refusal is not None:
                log.warning("refused callback for %s: %s (%d)", user.username, refusal.message, refusal.status)
                return _refuse(refusal.status, refusal.message)
        from .jobs import handle_refusal, requested_handles

        handles = requested_handles(request.args)
        if handles:
            reason = handle_refusal(state.get_store(), user.username, handles)
            if reason:
                log.warning("refused a job handle to %s: %s", user.username, reason)
                return _refuse(403, reason)
        return None

    @server.after_request
    def remember_job_owner(response):
        """Bind the job handles Dash hands out to the user who started the job (see dashapp.jobs)."""
        request = flask.request
        if (request.path.startswith("/_dash-update-component") and request.method == "POST"
                and response.status_code == 200 and not request.args.get("cacheKey")
                and response.mimetype == "application/json" and (response.content_length or 0) < 4096):
            from .jobs import handles_in, record_handles

            user = current_user()
            try:
                started = handles_in(json.loads(response.get_data(as_text=True)))
            except ValueError:
                started = []
            if started and user is not None:
                record_handles(state.get_store(), user.username, started)
        return response

    @server.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", content_security_policy(server))
        path = flask.request.path
        if not path.startswith(PUBLIC_PREFIXES) and not path.startswith("/_dash-component-suites/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def callback_refusal(payload: Any, user):
    """The :class:`dashapp.access.Refusal` of a callback request by ``user`` (None when allowed)."""
    import flask

    from . import access

    dash_app = flask.current_app.extensions.get("whytrend_dash")
    try:
        access.check_callback(payload, viewer_for(user), dash_app.callback_map if dash_app is not None else {})
    except access.Refusal as refusal:
        return refusal
    return None


def viewer_for(user):
    """What the callback guard and background jobs know of ``user``: role, metrics, drivers."""
    from .access import Viewer

    return Viewer(username=user.username, role=user.role, metrics=frozenset(allowed_metrics(user)),
                  drivers=visible_drivers(user.department), known=frozenset(all_metric_codes()),
                  ticket_key=job_ticket_key())


@state.cached(lambda department: ("visible-drivers", department))
def visible_drivers(department: str | None) -> frozenset[str]:
    """Metric codes users of ``department`` may see as drivers (:mod:`explain.sharing`)."""
    from explain import visible_driver_codes

    return visible_driver_codes(state.get_store(), department)


def hidden_drivers(metric: str) -> tuple[str, ...]:
    """Drivers of ``metric``'s active model that the current user may not see (normally none: a
    model is only fitted on drivers its metric's department may see; this catches older models)."""
    user = current_user()
    if user is None or user.department is None:
        return ()
    seen = visible_drivers(user.department)
    return tuple(d for d in _active_drivers(metric) if d not in seen)


@state.cached(lambda metric: ("active-drivers", metric))
def _active_drivers(metric: str) -> tuple[str, ...]:
    from explain import get_version

    version = get_version(state.get_store(), metric)
    return tuple(version.drivers) if version is not None else ()


def job_ticket_key() -> bytes:
    """The key job tickets are signed with, derived from the app's secret."""
    from .jobs import ticket_key

    return ticket_key(state.app_secret())


#: the policy's fixed part; script hashes of Dash's inline scripts are added per app
CSP = ("default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")


def content_security_policy(server) -> str:
    """Scripts only from this site (plus the hashes of Dash's own inline scripts), styles from this
    site (inline styles allowed: Dash and Plotly set style attributes), no plugins, no framing."""
    dash_app = server.extensions.get("whytrend_dash")
    hashes = server.extensions.get("whytrend_csp_hashes")
    if hashes is None and dash_app is not None and dash_internals.has_set_up(dash_app):
        hashes = server.extensions["whytrend_csp_hashes"] = " ".join(dash_app.csp_hashes())
    return CSP.format(hashes=" " + hashes if hashes else "")


def _refuse(status: int, text: str):
    import flask

    return flask.Response(text, status, mimetype="text/plain")


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def lockout_message(lock) -> str:
    """What the sign-in page says while a user name or address is locked (``loaders.sessions.Lockout``)."""
    minutes = lock.minutes_left()
    wait = f"Try again in {minutes} minute{'' if minutes == 1 else 's'}."
    if lock.scope == "user":
        return f"Too many failed sign-ins for this user name. {wait}"
    return f"Too many failed sign-ins from your network address. {wait}"


def _login_page(target: str, *, username: str = "", errors: Sequence[tuple[str, str]] = (), notice: str = "") -> str:
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
<footer class="site-footer"><div class="site-footer__inner">
<p>whytrend: why did this departmental metric move? For HM Treasury spending teams.</p></div></footer>
</body>
</html>"""
