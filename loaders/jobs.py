"""Who started each background job of the app (see ``dashapp.jobs``): kept in the store so every
web worker answers a job handle the same way, and pruned after a day."""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
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


# ------------------------------------------------------------------------------- job runs
# Each background job's life, kept in the store so that every web process and every worker agrees
# on it: queued by the web process that submits it, running (with a heartbeat) in the worker that
# takes it, then done or failed. A web process polling for a result reads the row to tell a job
# still running from one whose worker was lost (:func:`lost_reason`), which no job queue reports
# by itself: a Celery task whose worker was killed stays "started" for ever.

#: a job runs in this order of states; ``done``, ``failed`` and ``cancelled`` are final
JOB_STATES = ("queued", "running", "done", "failed", "cancelled")


@dataclass(frozen=True)
class JobRun:
    """One background job as the store has it (times are Unix seconds)."""

    token: str
    job: str
    username: str
    purpose: str
    subject: str
    state: str
    queued_at: float
    started_at: float | None
    beat_at: float | None
    finished_at: float | None
    worker: str
    message: str


def job_queued(store: Store, token: str, username: str, *, purpose: str = "", subject: str = "",
               now: float | None = None) -> None:
    """Record a job submitted for ``username`` to do ``purpose`` for ``subject`` (a metric); ``token``
    names it, and a token seen before starts over."""
    now = time.time() if now is None else now
    with store.engine.begin() as conn:
        conn.execute(delete(s.job_runs).where(s.job_runs.c.token == token))
        conn.execute(insert(s.job_runs).values(token=token, job="", username=username, purpose=purpose[:32],
                                               subject=subject[:64], state="queued", queued_at=now, worker="",
                                               message=""))
        if int(now) % 53 == 0:  # now and then, forget old jobs
            conn.execute(delete(s.job_runs).where(s.job_runs.c.queued_at < now - KEEP_SECONDS))


def job_submitted(store: Store, token: str, job: str) -> None:
    """Record the queue's own id for the job (a Celery task id, a process id)."""
    with store.engine.begin() as conn:
        conn.execute(update(s.job_runs).where(s.job_runs.c.token == token).values(job=str(job)[:256]))


def job_started(store: Store, token: str, worker: str, *, username: str = "", purpose: str = "", subject: str = "",
                now: float | None = None) -> None:
    """A worker took the job (recorded even if the submitting process's row is not there yet)."""
    now = time.time() if now is None else now
    values = dict(state="running", started_at=now, beat_at=now, worker=worker[:256])
    with store.engine.begin() as conn:
        if conn.execute(update(s.job_runs).where(s.job_runs.c.token == token).values(**values)).rowcount:
            return
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(s.job_runs).values(token=token, job="", username=username, purpose=purpose[:32],
                                                   subject=subject[:64], queued_at=now, message="", **values))
    except IntegrityError:  # the submitting process recorded it meanwhile
        with store.engine.begin() as conn:
            conn.execute(update(s.job_runs).where(s.job_runs.c.token == token).values(**values))


def job_beat(store: Store, token: str, *, now: float | None = None) -> bool:
    """The worker is still at it; False when the job is no longer running (declared lost, or finished)."""
    now = time.time() if now is None else now
    with store.engine.begin() as conn:
        return bool(conn.execute(update(s.job_runs).where(s.job_runs.c.token == token,
                                                          s.job_runs.c.state == "running")
                                 .values(beat_at=now)).rowcount)


def job_finished(store: Store, token: str, *, failure: str | None = None, now: float | None = None) -> None:
    """The job ended: done, or failed with ``failure`` (words a user can read). A job already
    declared failed (its worker was thought lost) stays failed: the user has been told so."""
    now = time.time() if now is None else now
    with store.engine.begin() as conn:
        conn.execute(update(s.job_runs).where(s.job_runs.c.token == token, s.job_runs.c.state != "failed")
                     .values(state="done" if failure is None else "failed", finished_at=now, beat_at=now,
                             message=failure or ""))


def job_failed(store: Store, token: str, message: str, *, now: float | None = None) -> str:
    """Declare a job that has not ended failed with ``message``; returns the message the store keeps
    (an earlier failure's, when another process declared it first)."""
    now = time.time() if now is None else now
    with store.engine.begin() as conn:
        conn.execute(update(s.job_runs).where(s.job_runs.c.token == token, s.job_runs.c.state.in_(("queued", "running")))
                     .values(state="failed", finished_at=now, message=message))
        row = conn.execute(select(s.job_runs.c.message).where(s.job_runs.c.token == token)).first()
    return row.message if row is not None and row.message else message


def job_cancelled(store: Store, job: str, *, now: float | None = None) -> None:
    """The user stopped the job with the queue's id ``job`` (Cancel, or a newer request in its place):
    it is not lost, and not a failure."""
    now = time.time() if now is None else now
    with store.engine.begin() as conn:
        conn.execute(update(s.job_runs).where(s.job_runs.c.job == str(job)[:256],
                                              s.job_runs.c.state.in_(("queued", "running")))
                     .values(state="cancelled", finished_at=now))


def job_run(store: Store, *, token: str | None = None, job: str | None = None) -> JobRun | None:
    """The job named by ``token``, or the latest with the queue's id ``job``; None when unknown."""
    query = select(s.job_runs)
    if token is not None:
        query = query.where(s.job_runs.c.token == token)
    elif job is not None:
        query = query.where(s.job_runs.c.job == str(job)[:256]).order_by(s.job_runs.c.queued_at.desc()).limit(1)
    else:
        raise ValueError("name the job by token or by job id")
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else JobRun(**dict(row))


def recent_job_runs(store: Store, *, username: str | None = None, limit: int = 20) -> tuple[JobRun, ...]:
    """The latest jobs (of ``username`` when given), newest first."""
    query = select(s.job_runs).order_by(s.job_runs.c.queued_at.desc()).limit(limit)
    if username is not None:
        query = query.where(s.job_runs.c.username == username)
    with store.engine.connect() as conn:
        return tuple(JobRun(**dict(row)) for row in conn.execute(query).mappings())


def lost_reason(run: JobRun, now: float, *, lost_after: float, queue_wait: float,
                queue_says_running: bool = True) -> str | None:
    """Why a job that has not ended will never end (words for the user), or None while it may.

    Lost: running, but no heartbeat for ``lost_after`` seconds, or the queue itself no longer
    runs it (``queue_says_running`` False: the process is gone, the task failed); queued, but no
    worker took it within ``queue_wait`` seconds. A failed job's own message is returned as is."""
    if run.state == "failed":
        return run.message or "The job failed."
    if run.state == "running":
        quiet = now - (run.beat_at or run.started_at or run.queued_at)
        if quiet > lost_after or not queue_says_running:
            return ("The background worker running this job stopped before it finished "
                    f"(nothing heard from it for {_seconds(quiet)}). Nothing was saved. "
                    "Start it again; if this keeps happening, the worker's log says why it stopped.")
        return None
    if run.state == "queued":
        waited = now - run.queued_at
        if waited > queue_wait or (not queue_says_running and waited > lost_after):
            return (f"No background worker took this job within {_seconds(waited)}. Check that a worker "
                    "is running (whytrend worker), then start the job again.")
    return None


def _seconds(seconds: float) -> str:
    whole = max(0, round(seconds))
    return f"{whole} second{'' if whole == 1 else 's'}"
