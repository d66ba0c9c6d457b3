"""Background jobs without trust in the browser: JSON-only results in a private folder, job
requests as typed tickets, and job handles bound to the user who started them.

Why each part exists (issue 13 of the security probe):

* **No pickles.** Dash's disk-backed manager keeps job results and progress in a diskcache,
  whose default ``Disk`` unpickles what it reads back: whoever can write that folder can make a
  worker run code. :class:`JSONOnlyDisk` writes JSON (Dash components and figures through
  plotly's encoder) and refuses, rather than unpickles, any entry stored as a pickle.
  :func:`private_dir` keeps the folder the process's own (mode 0700, owner checked).
* **Tickets, not signatures over browser content.** A job's arguments are built by a page's
  callback from fields it checked, for one *purpose* (``explain``, ``fit``, ``activate``) and one
  user; :func:`issue_ticket` signs exactly those fields and no others. The server's guard
  re-authorises a ticket's fields from the session on every request that carries it
  (:mod:`dashapp.access`), and the job re-checks them against the store in its own process
  (:func:`redeem_ticket`), so a ticket for one purpose or user is useless for another.
* **Handles bound to users.** Dash hands the browser a signed ``cacheKey`` and ``job`` per
  background job; anyone holding them (they appear in access logs) could read the result.
  :func:`record_handles` remembers who started each job (in the store, so every worker
  agrees) and :func:`handle_refusal` refuses the handles to anybody else.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import stat
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import diskcache

log = logging.getLogger(__name__)

#: request-string arguments through which Dash's renderer sends job handles back
HANDLE_ARGS = ("cacheKey", "job", "oldJob", "cancelJob")
#: how long a ticket stays valid (seconds): enough for a queued job, short enough that an old one
#: cannot be replayed much later
TICKET_SECONDS = 3600


class JobRefused(Exception):
    """A job ticket or handle that this user may not use (the message can be shown)."""


# --------------------------------------------------------------------------- result store
class JSONOnlyDisk(diskcache.Disk):
    """A diskcache ``Disk`` that stores values as JSON and never unpickles.

    Keys must be strings (Dash's are). Values go through plotly's JSON encoder, so Dash
    components and figures are stored as the JSON the browser receives anyway; reading one back
    gives plain dicts and lists, which Dash serialises identically.
    """

    def put(self, key):
        if not isinstance(key, str):
            raise TypeError(f"job store keys must be strings, not {type(key).__name__}")
        return super().put(key)

    def get(self, key, raw):
        if not raw:
            raise ValueError("refusing a pickled key in the job store")
        return super().get(key, raw)

    def store(self, value, read, key=diskcache.core.UNKNOWN):
        if read:
            raise TypeError("the job store does not take file handles")
        from plotly.io.json import to_json_plotly

        return super().store(to_json_plotly(value).encode("utf-8"), False, key=key)

    def fetch(self, mode, filename, value, read):
        if mode == diskcache.core.MODE_PICKLE:
            raise ValueError("refusing a pickled entry in the job store (it was not written by whytrend)")
        if read:
            raise ValueError("the job store does not hand out file handles")
        data = super().fetch(mode, filename, value, False)
        if isinstance(data, (bytes, bytearray)):
            data = data.decode("utf-8")
        return json.loads(data) if isinstance(data, str) else data


class UnsafeJobFolder(RuntimeError):
    """The background-job folder could be written by someone else."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as this user's private folder, mode 0700.

    An existing folder must belong to this user (its mode is then tightened to 0700), and its
    parent must belong to this user or root and not be writable by everyone unless it is sticky
    (as /tmp is): otherwise another account could swap the folder for one of its own."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeJobFolder(f"The background-job folder {path} is not a plain folder. Set WHYTREND_CACHE_DIR "
                              "to a folder of your own.")
    if info.st_uid != os.getuid():
        raise UnsafeJobFolder(f"The background-job folder {path} belongs to another user (uid {info.st_uid}). "
                              "Set WHYTREND_CACHE_DIR to a folder of your own.")
    if stat.S_IMODE(info.st_mode) != 0o700:
        path.chmod(0o700)
    parent = path.resolve().parent.stat()
    if parent.st_uid not in (os.getuid(), 0) or (parent.st_mode & 0o002 and not parent.st_mode & stat.S_ISVTX):
        raise UnsafeJobFolder(f"The folder above {path} belongs to another user or can be changed by anyone, so the "
                              "job folder could be swapped. Set WHYTREND_CACHE_DIR to a folder of your own.")
    return path


# ------------------------------------------------------------------------------- tickets
#: the fields each purpose's ticket carries, and nothing else
PURPOSE_FIELDS: dict[str, frozenset[str]] = {
    "explain": frozenset({"metric", "area", "from", "to", "by"}),
    "fit": frozenset({"metric", "drivers", "kind", "pseudo", "tune"}),
    "activate": frozenset({"metric", "version"}),
}


def _canonical(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(body), "sha256").hexdigest()


def ticket_key(secret: str) -> bytes:
    """The ticket-signing key, derived from the app's secret (never the secret itself)."""
    return hashlib.sha256(b"whytrend job ticket v2\x00" + secret.encode()).digest()


def issue_ticket(key: bytes, purpose: str, username: str, fields: Mapping[str, Any], *,
                 now: float | None = None) -> dict:
    """A ticket for ``purpose`` carrying exactly its fields (checked by the caller), for ``username``."""
    allowed = PURPOSE_FIELDS[purpose]
    if set(fields) != allowed:
        raise ValueError(f"a {purpose} ticket carries {sorted(allowed)}, not {sorted(fields)}")
    body = {"purpose": purpose, "user": username, "issued": int(now if now is not None else time.time()),
            "fields": dict(fields)}
    return {**body, "sig": _mac(key, body)}


def open_ticket(key: bytes, purpose: str, ticket: Any, *, username: str | None = None,
                now: float | None = None) -> dict:
    """The fields of a ticket this server issued for ``purpose`` (and ``username`` when given).

    Raises :class:`JobRefused` for anything else: a forged or altered ticket, one issued for
    another purpose or user, extra or missing fields, or one older than :data:`TICKET_SECONDS`."""
    if not isinstance(ticket, dict) or set(ticket) != {"purpose", "user", "issued", "fields", "sig"}:
        raise JobRefused("This request to run a job was not made by this page.")
    body = {k: ticket[k] for k in ("purpose", "user", "issued", "fields")}
    if not isinstance(ticket["sig"], str) or not hmac.compare_digest(_mac(key, body), ticket["sig"]):
        raise JobRefused("This request to run a job was not made by this page.")
    if ticket["purpose"] != purpose or not isinstance(ticket["fields"], dict) \
            or set(ticket["fields"]) != PURPOSE_FIELDS[purpose]:
        raise JobRefused("This request was made for another kind of job.")
    if username is not None and ticket["user"] != username:
        raise JobRefused("This request to run a job was made by someone else.")
    age = (now if now is not None else time.time()) - ticket["issued"] if isinstance(ticket["issued"], int) else None
    if age is None or age > TICKET_SECONDS or age < -60:
        raise JobRefused("This request has expired. Make your choice again to start the job.")
    return dict(ticket["fields"])


# ------------------------------------------------------------------------------- handles
def handles_in(response_json: Any) -> list[str]:
    """The job handles Dash hands out in a background callback's first response."""
    if not isinstance(response_json, dict):
        return []
    return [str(response_json[k]) for k in ("cacheKey", "job") if isinstance(response_json.get(k), str)]


def requested_handles(args: Any) -> list[str]:
    """Every job handle a request names in its query string (``args`` is a werkzeug MultiDict)."""
    out: list[str] = []
    for name in HANDLE_ARGS:
        out.extend(v for v in args.getlist(name) if v)
    return out


def record_handles(store, username: str, handles: Iterable[str]) -> None:
    from loaders.jobs import record_job_owner

    for handle in handles:
        record_job_owner(store, handle, username)


def handle_refusal(store, username: str, handles: Iterable[str]) -> str | None:
    """Why ``username`` may not use one of ``handles`` (None when every handle is theirs)."""
    from loaders.jobs import job_owner

    for handle in handles:
        owner = job_owner(store, handle)
        if owner != username:
            return ("This job was started by someone else." if owner else
                    "This job is not known here (it may have expired). Start it again.")
    return None
