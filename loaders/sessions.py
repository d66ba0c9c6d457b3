"""Server-side sign-in sessions and sign-in rate limiting, kept in the store.

Why server-side: a signed cookie that *is* the sign-in (``{"user": "ana"}``) cannot be
revoked: a copy taken before sign-out or before a password change keeps working until the
secret changes. Here the cookie carries only a random session id (``secrets.token_urlsafe(32)``)
and the ``sessions`` table keeps its SHA-256 (so a copy of the database does not hand out
live cookies), with the user name, ``created_at``, ``last_seen`` (epoch seconds) and the
address it was created from. Deleting the row revokes every copy of the cookie:

* signing out deletes that session (:func:`revoke_session`);
* changing a user's password or removing the user (``loaders.accounts``) and
  ``whytrend users signout USER`` delete all of the user's sessions (:func:`revoke_sessions`).

Expiry (:func:`resolve_session`), both checked on the server at every request:

* **absolute**: ``max_age_seconds`` (``Settings.session_hours``) after ``created_at``; never
  renewed by use, so a stolen cookie dies on time even if it is used every minute;
* **idle**: ``idle_seconds`` (``Settings.session_idle_minutes``) after ``last_seen``.
  ``last_seen`` is written at most every :data:`TOUCH_SECONDS` per session, not per request
  (so idle expiry may come up to that much early).

Expired rows are deleted when found; :func:`prune` removes the rest (the app calls it on
every sign-in).

Rate limiting (:func:`lockout`, :func:`record_failure`), shared by every worker process
through the ``sign_in_failures`` table:

* :data:`USER_FAILURES` failed sign-ins for one submitted user name within
  :data:`FAILURE_WINDOW_SECONDS` lock that user name for :data:`LOCK_SECONDS`;
* :data:`ADDRESS_FAILURES` failures from one address within the window lock that address.

The user name is locked whether or not it exists, so a lock says nothing about which names
exist. While locked even the right password is refused (the app does not check it, and does
not record the refused attempt, so a locked name cannot be used to fill the table). A
successful sign-in clears its user name's failures (not its address's).
"""
from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from . import schema as s
from .store import Store

#: a session's ``last_seen`` is written at most this often (seconds)
TOUCH_SECONDS = 60.0
#: failed sign-ins of one user name, within the window, that lock it
USER_FAILURES = 5
#: failed sign-ins from one address, within the window, that lock it (higher: offices share addresses)
ADDRESS_FAILURES = 20
#: the window failures are counted in (seconds)
FAILURE_WINDOW_SECONDS = 15 * 60.0
#: how long a lock lasts after the failure that reached the limit (seconds)
LOCK_SECONDS = 15 * 60.0

_USERNAME_MAX = 128  # column sizes of the tables
_ADDRESS_MAX = 64


def _now() -> float:
    """Epoch seconds: the one clock of this module (tests replace it to move time forward)."""
    return time.time()


@dataclass(frozen=True)
class Session:
    """A live session row (without its id)."""

    username: str
    created_at: float
    last_seen: float
    address: str


@dataclass(frozen=True)
class Lockout:
    """Why sign-in is refused: ``scope`` is ``"user"`` (the user name) or ``"address"``;
    ``until`` is the epoch second the lock ends."""

    scope: str
    until: float

    def minutes_left(self, now: float | None = None) -> int:
        """Whole minutes until the lock ends, rounded up (at least 1), for the message."""
        now = _now() if now is None else now
        return max(1, math.ceil((self.until - now) / 60.0))


def hash_session_id(session_id: str) -> str:
    """The SHA-256 (hex) kept in the store: the id itself is a bearer secret and never stored."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------------------ sessions
def create_session(store: Store, username: str, address: str = "", *, now: float | None = None) -> str:
    """Start a session for ``username`` and return its id (to put in the cookie; only its hash is kept)."""
    now = _now() if now is None else now
    session_id = secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        conn.execute(insert(s.sessions).values(id_hash=hash_session_id(session_id), username=username,
                                               created_at=now, last_seen=now,
                                               address=(address or "")[:_ADDRESS_MAX]))
    return session_id


def resolve_session(store: Store, session_id: str | None, *, max_age_seconds: float, idle_seconds: float,
                    now: float | None = None) -> Session | None:
    """The live session of ``session_id``, or None (unknown, revoked or expired).

    An expired row is deleted when found. ``last_seen`` is moved forward only when it is at least
    :data:`TOUCH_SECONDS` old, so a busy page does not write to the store on every request;
    ``created_at`` is never changed, so the absolute expiry cannot be pushed back by use."""
    if not session_id or not isinstance(session_id, str):
        return None
    now = _now() if now is None else now
    key = hash_session_id(session_id)
    with store.engine.connect() as conn:
        row = conn.execute(select(s.sessions).where(s.sessions.c.id_hash == key)).first()
    if row is None:
        return None
    if now - row.created_at >= max_age_seconds or now - row.last_seen >= idle_seconds:
        with store.engine.begin() as conn:
            conn.execute(delete(s.sessions).where(s.sessions.c.id_hash == key))
        return None
    last_seen = row.last_seen
    if now - last_seen >= TOUCH_SECONDS:
        with store.engine.begin() as conn:
            conn.execute(update(s.sessions).where(s.sessions.c.id_hash == key).values(last_seen=now))
        last_seen = now
    return Session(row.username, row.created_at, last_seen, row.address)


def revoke_session(store: Store, session_id: str | None) -> bool:
    """End one session (signing out): every copy of its cookie stops working. True if it existed."""
    if not session_id or not isinstance(session_id, str):
        return False
    with store.engine.begin() as conn:
        result = conn.execute(delete(s.sessions).where(s.sessions.c.id_hash == hash_session_id(session_id)))
    return bool(result.rowcount)


def revoke_sessions(store: Store, username: str) -> int:
    """End every session of ``username`` (password change, removal, ``whytrend users signout``)."""
    with store.engine.begin() as conn:
        return revoke_sessions_in(conn, username)


def revoke_sessions_in(conn: Connection, username: str) -> int:
    """:func:`revoke_sessions` inside the caller's transaction (so a password change and the
    revocation commit together). Returns how many sessions ended."""
    return int(conn.execute(delete(s.sessions).where(s.sessions.c.username == username)).rowcount or 0)


def prune(store: Store, *, max_age_seconds: float, idle_seconds: float, now: float | None = None) -> int:
    """Delete expired sessions and failures too old to count towards any lock; returns rows deleted.

    Cheap (indexed deletes on small tables); the app calls it on every successful sign-in, so
    rows of browsers that never come back do not pile up."""
    now = _now() if now is None else now
    with store.engine.begin() as conn:
        gone = conn.execute(delete(s.sessions).where(or_(s.sessions.c.created_at <= now - max_age_seconds,
                                                         s.sessions.c.last_seen <= now - idle_seconds))).rowcount
        gone += conn.execute(delete(s.sign_in_failures)
                             .where(s.sign_in_failures.c.at < now - FAILURE_WINDOW_SECONDS - LOCK_SECONDS)).rowcount
    return int(gone or 0)


# ---------------------------------------------------------------------------- lockouts
def record_failure(store: Store, username: str, address: str = "", *, now: float | None = None) -> None:
    """Remember a failed sign-in for the submitted user name (existing or not) and the address."""
    now = _now() if now is None else now
    with store.engine.begin() as conn:
        conn.execute(insert(s.sign_in_failures).values(username=username[:_USERNAME_MAX],
                                                       address=(address or "")[:_ADDRESS_MAX], at=now))


def clear_failures(store: Store, username: str) -> None:
    """Forget the failures of ``username`` (after it signed in with the right password)."""
    with store.engine.begin() as conn:
        conn.execute(delete(s.sign_in_failures).where(s.sign_in_failures.c.username == username[:_USERNAME_MAX]))


def lockout(store: Store, username: str, address: str = "", *, now: float | None = None) -> Lockout | None:
    """The lock on this user name or address now, or None when a sign-in may be tried.

    The user-name lock is reported first (its message is the more useful one)."""
    now = _now() if now is None else now
    since = now - FAILURE_WINDOW_SECONDS - LOCK_SECONDS
    t = s.sign_in_failures
    with store.engine.connect() as conn:
        by_user = conn.execute(select(t.c.at).where(and_(t.c.username == username[:_USERNAME_MAX], t.c.at > since))
                               .order_by(t.c.at)).scalars().all()
        by_address = conn.execute(select(t.c.at).where(and_(t.c.address == (address or "")[:_ADDRESS_MAX],
                                                            t.c.at > since)).order_by(t.c.at)).scalars().all() \
            if address else []
    for scope, times, limit in (("user", by_user, USER_FAILURES), ("address", by_address, ADDRESS_FAILURES)):
        until = locked_until(times, limit)
        if until is not None and until > now:
            return Lockout(scope, until)
    return None


def locked_until(times: Sequence[float], limit: int, *, window: float = FAILURE_WINDOW_SECONDS,
                 lock: float = LOCK_SECONDS) -> float | None:
    """When the latest lock implied by failure ``times`` (ascending) ends: ``limit`` failures within
    ``window`` seconds lock for ``lock`` seconds from the one that reached the limit. None if none did."""
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= window:
            until = times[i] + lock
    return until
