"""Settings of the web app: one frozen object built from options or the environment.

Import-light on purpose (no dash, pandas or SQLAlchemy) so the CLI can build it cheaply.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DB = "sqlite:///whytrend.db"
_TRUE = {"1", "true", "yes", "on"}


def _default_cache_dir() -> Path:
    """This user's cache folder (``$XDG_CACHE_HOME/whytrend``, else ``~/.cache/whytrend``), not a
    shared temporary folder where another account could create it first."""
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache" if Path.home().is_dir() else None)
    return Path(base or tempfile.gettempdir()) / "whytrend"


@dataclass(frozen=True)
class Settings:
    """How the app runs.

    ``db``: SQLAlchemy URL or SQLite path. ``secret_key``: signs session cookies; when None the
    app uses the secret kept in the store (generated on first run, shared by all workers).
    ``secure_cookies``: mark the session cookie Secure (set behind HTTPS). ``cache_dir``: the
    diskcache folder of background callbacks. ``session_hours``: a signed-in session expires
    this long after signing in, however much it is used (checked server-side against the
    ``sessions`` table; see ``loaders.sessions``). ``session_idle_minutes``: it also expires
    after this long without a request (env WHYTREND_SESSION_IDLE_MINUTES). ``trusted_origins``:
    extra ``scheme://host[:port]`` origins accepted on POSTs besides the request's own host
    (e.g. a reverse proxy's public name). ``redis_url``: when set, background jobs go through
    Celery on this Redis to ``whytrend worker`` processes (see :mod:`dashapp.job_queue`), else
    they run on this machine. ``job_lost_seconds``: a running job silent this long is reported
    failed (its worker was lost); ``job_queue_seconds``: a job no worker took this long, too.
    """

    db: str = DEFAULT_DB
    debug: bool = False
    secure_cookies: bool = False
    cache_dir: Path = field(default_factory=_default_cache_dir)
    secret_key: str | None = field(default=None, repr=False)
    session_hours: float = 8.0
    session_idle_minutes: float = 60.0
    trusted_origins: tuple[str, ...] = ()
    max_upload_mb: int = 50
    redis_url: str | None = field(default=None, repr=False)
    job_lost_seconds: float = 45.0
    job_queue_seconds: float = 300.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        object.__setattr__(self, "trusted_origins", tuple(self.trusted_origins))

    @property
    def job_queue(self) -> str:
        """The name of this store's background-job queue (one per database)."""
        return f"whytrend-{_slug(self.db)}"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Settings from WHYTREND_DB, WHYTREND_SECRET_KEY, WHYTREND_SECURE_COOKIES,
        WHYTREND_CACHE_DIR, WHYTREND_DEBUG, WHYTREND_TRUSTED_ORIGINS (comma-separated),
        WHYTREND_SESSION_IDLE_MINUTES, WHYTREND_REDIS_URL, WHYTREND_JOB_LOST_SECONDS,
        WHYTREND_JOB_QUEUE_SECONDS; keyword ``overrides`` win (None values are ignored)."""
        env = dict(os.environ) if env is None else env
        values: dict = {"db": env.get("WHYTREND_DB") or DEFAULT_DB}
        if env.get("WHYTREND_SECRET_KEY"):
            values["secret_key"] = env["WHYTREND_SECRET_KEY"]
        if env.get("WHYTREND_SECURE_COOKIES"):
            values["secure_cookies"] = env["WHYTREND_SECURE_COOKIES"].strip().lower() in _TRUE
        if env.get("WHYTREND_DEBUG"):
            values["debug"] = env["WHYTREND_DEBUG"].strip().lower() in _TRUE
        if env.get("WHYTREND_TRUSTED_ORIGINS"):
            values["trusted_origins"] = tuple(o.strip().rstrip("/") for o in env["WHYTREND_TRUSTED_ORIGINS"].split(",")
                                              if o.strip())
        if env.get("WHYTREND_SESSION_IDLE_MINUTES"):
            values["session_idle_minutes"] = _positive_minutes(env["WHYTREND_SESSION_IDLE_MINUTES"])
        if env.get("WHYTREND_REDIS_URL"):
            values["redis_url"] = env["WHYTREND_REDIS_URL"].strip()
        for name, key in (("WHYTREND_JOB_LOST_SECONDS", "job_lost_seconds"),
                          ("WHYTREND_JOB_QUEUE_SECONDS", "job_queue_seconds")):
            if env.get(name):
                values[key] = _positive_seconds(name, env[name])
        if env.get("WHYTREND_CACHE_DIR"):
            values["cache_dir"] = Path(env["WHYTREND_CACHE_DIR"])
        else:
            values["cache_dir"] = _default_cache_dir() / _slug(values["db"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _positive_minutes(text: str) -> float:
    """WHYTREND_SESSION_IDLE_MINUTES as a number of minutes above zero (else a one-paragraph error)."""
    try:
        minutes = float(text.strip())
    except ValueError:
        minutes = float("nan")
    if not minutes > 0 or minutes == float("inf"):
        from loaders.errors import WhytrendError  # only on this error path: keeps the module import-light

        raise WhytrendError(f"WHYTREND_SESSION_IDLE_MINUTES is '{text}'; set it to a number of minutes above "
                            "zero (for example 60) or unset it for the default of 60.")
    return minutes


def _positive_seconds(name: str, text: str) -> float:
    """A number of seconds above zero from environment variable ``name`` (else a clear error)."""
    try:
        seconds = float(text.strip())
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        from loaders.errors import WhytrendError

        raise WhytrendError(f"{name} is '{text}'; set it to a number of seconds above zero or unset it.")
    return seconds


def _slug(db: str) -> str:
    """A short stable folder name per database, so two apps on one machine do not share jobs."""
    return hashlib.sha256(db.encode()).hexdigest()[:12]
