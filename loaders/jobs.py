"""Who started each background job of the app (see ``dashapp.jobs``): kept in the store so every
web worker answers a job handle the same way, and pruned after a day."""
from __future__ import annotations

import time

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from . import schema as s
from .store import Store

#: job handles older than this are forgotten (a job's result is read within minutes)
KEEP_SECONDS = 24 * 3600


def record_job_owner(store: Store, handle: str, username: str) -> None:
    """Remember that ``username`` started the job behind ``handle`` (the first owner stays)."""
    now = time.time()
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(s.job_owners).values(handle=handle[:256], username=username, created_at=now))
    except IntegrityError:
        pass  # the same page asked for the same job again: the handle is already recorded
    if int(now) % 97 == 0:  # now and then, forget old handles
        with store.engine.begin() as conn:
            conn.execute(delete(s.job_owners).where(s.job_owners.c.created_at < now - KEEP_SECONDS))


def job_owner(store: Store, handle: str) -> str | None:
    """The user who started the job behind ``handle``, or None for a handle not recorded (or expired)."""
    with store.engine.connect() as conn:
        row = conn.execute(select(s.job_owners.c.username, s.job_owners.c.created_at)
                           .where(s.job_owners.c.handle == handle[:256])).first()
    if row is None or row.created_at < time.time() - KEEP_SECONDS:
        return None
    return row.username
