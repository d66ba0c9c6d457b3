"""Users of the app and its persistent settings (the session secret).

Passwords are hashed with scrypt (hashlib, a standard memory-hard KDF) with a random salt;
only the hash is stored. Roles: viewer < analyst < admin. A user tied to a department sees
only that department's metrics; a user with none (Treasury) sees all.

Replacing a user (a new password) or removing one ends all of that user's sessions
(:mod:`loaders.sessions`), in the same transaction, so a cookie copied before the change stops
working at once.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from . import schema as s
from .errors import WhytrendError
from .sessions import revoke_sessions_in
from .store import Store, now
from .vocabulary import ROLES

_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    username: str
    role: str
    department: str | None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        name, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if name != "scrypt":
        return False
    computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                              dklen=len(base64.b64decode(digest)))
    return hmac.compare_digest(computed, base64.b64decode(digest))


def add_user(store: Store, username: str, password: str, *, role: str = "viewer",
             department: str | None = None, replace: bool = False) -> User:
    if role not in ROLES:
        raise WhytrendError(f"Role '{role}' is not one of {', '.join(ROLES)}.")
    if not username.strip() or len(password) < 8:
        raise WhytrendError("Give a user name and a password of at least 8 characters.")
    with store.engine.begin() as conn:
        if department is not None:
            known = conn.execute(select(s.departments.c.code).where(s.departments.c.code == department)).first()
            if known is None:
                raise WhytrendError(f"Department '{department}' is not in the store; load its manifest first.")
        exists = conn.execute(select(s.users.c.id).where(s.users.c.username == username)).first()
        values = dict(password_hash=hash_password(password), role=role, department_code=department)
        if exists and not replace:
            raise WhytrendError(f"User '{username}' already exists; remove it first or use --replace.")
        if exists:
            conn.execute(update(s.users).where(s.users.c.username == username).values(**values))
            revoke_sessions_in(conn, username)  # a cookie copied before the change must stop working
        else:
            conn.execute(insert(s.users).values(username=username, created_at=now(), **values))
    return User(username, role, department)


def remove_user(store: Store, username: str) -> None:
    """Remove a user and end all of its sessions."""
    with store.engine.begin() as conn:
        result = conn.execute(delete(s.users).where(s.users.c.username == username))
        revoke_sessions_in(conn, username)
    if not result.rowcount:
        raise WhytrendError(f"No user called '{username}'.")


def list_users(store: Store) -> list[User]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.users).order_by(s.users.c.username)).all()
    return [User(r.username, r.role, r.department_code) for r in rows]


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password with the current parameters, made once per process (lazily),
    to check unknown user names against: one scrypt run, as for a real user. (Hashing a fresh
    dummy per attempt cost two runs, so unknown names took twice as long as real ones.)"""
    return hash_password(secrets.token_urlsafe(16))


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user when the password matches, else None.

    Unknown and known user names cost the same (one scrypt run each), so the time taken does
    not tell which names exist."""
    with store.engine.connect() as conn:
        row = conn.execute(select(s.users).where(s.users.c.username == username)).first()
    stored = row.password_hash if row else _dummy_hash()
    ok = check_password(password, stored)
    return User(row.username, row.role, row.department_code) if row and ok else None


def get_user(store: Store, username: str) -> User | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(s.users).where(s.users.c.username == username)).first()
    return User(row.username, row.role, row.department_code) if row else None


def session_secret(store: Store) -> str:
    """The app's session secret: generated on first run and kept in the store, so every worker
    and every restart signs cookies with the same key.

    Workers starting at once each offer a secret with insert-if-absent and then read back the
    one stored: the first offer wins and every worker gets that one."""
    from .store import insert_if_absent

    query = select(s.app_settings.c.value).where(s.app_settings.c.key == "session_secret")
    with store.engine.connect() as conn:
        stored = conn.execute(query).scalar()
    if stored:
        return stored
    with store.engine.begin() as conn:
        insert_if_absent(conn, s.app_settings, [dict(key="session_secret", value=secrets.token_urlsafe(48))], ["key"])
        return conn.execute(query).scalar_one()
