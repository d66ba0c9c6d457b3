"""Users of the app and its persistent settings (the session secret).

Passwords are hashed with scrypt (hashlib, a standard memory-hard KDF) with a random salt;
only the hash is stored. Roles: viewer < analyst < admin. A user tied to a department sees
only that department's metrics; a user with none (Treasury) sees all.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from . import schema as s
from .errors import WhytrendError
from .store import Store, now

ROLES = ("viewer", "analyst", "admin")
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class User:
    username: str
    role: str
    department: str | None

    def can(self, role: str) -> bool:
        """Whether this user has at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)


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
        else:
            conn.execute(insert(s.users).values(username=username, created_at=now(), **values))
    return User(username, role, department)


def remove_user(store: Store, username: str) -> None:
    with store.engine.begin() as conn:
        result = conn.execute(delete(s.users).where(s.users.c.username == username))
    if not result.rowcount:
        raise WhytrendError(f"No user called '{username}'.")


def list_users(store: Store) -> list[User]:
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.users).order_by(s.users.c.username)).all()
    return [User(r.username, r.role, r.department_code) for r in rows]


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user when the password matches, else None (same work either way, to resist timing)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(s.users).where(s.users.c.username == username)).first()
    stored = row.password_hash if row else hash_password("timing-equaliser")
    ok = check_password(password, stored)
    return User(row.username, row.role, row.department_code) if row and ok else None


def get_user(store: Store, username: str) -> User | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(s.users).where(s.users.c.username == username)).first()
    return User(row.username, row.role, row.department_code) if row else None


def session_secret(store: Store) -> str:
    """The app's session secret: generated on first run and kept in the store, so every worker
    and every restart signs cookies with the same key."""
    with store.engine.begin() as conn:
        row = conn.execute(select(s.app_settings.c.value).where(s.app_settings.c.key == "session_secret")).first()
        if row:
            return row.value
        secret = secrets.token_urlsafe(48)
        conn.execute(insert(s.app_settings).values(key="session_secret", value=secret))
        return secret
