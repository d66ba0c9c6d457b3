"""Where background jobs run, and how every process knows whether a job is still alive.

Two queues, one behaviour:

* **On one machine** (the default): Dash's disk-backed manager runs each job in a process forked
  from the web worker, with results in a JSON-only diskcache (:class:`dashapp.jobs.JSONOnlyDisk`).
* **Across processes and machines** (``WHYTREND_REDIS_URL`` set): Dash's Celery manager sends each
  job through Redis to ``whytrend worker`` processes and keeps results in Redis, so a fit started
  through one web worker can be polled, and finished, through another.

Both managers record each job's life in the store (:mod:`loaders.jobs`: queued, running with a
heartbeat, done or failed). No job queue says by itself that a worker was killed mid-job (a Celery
task whose worker died stays "started" for ever, and the page would poll for ever), so when a page
polls for a result that is not there, :meth:`_Liveness.get_result` asks the store whether the job
can still finish; when it cannot, the poll answers with a failure the page shows (its
``on_error``), and the job's buttons come back, so it can be started again.

Security: jobs carry only JSON (Celery's pickle serialiser is refused), and the callback context a
job is sent with loses the request's cookies and headers first, so no session cookie sits in Redis.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from .settings import Settings

log = logging.getLogger(__name__)

#: seconds between a running job's heartbeats
HEARTBEAT_SECONDS = 2.0
#: the prefix of a background-callback error Dash raises (its message follows)
_DASH_ERROR_PREFIX = "An error occurred inside a background callback: "
#: marks the failures whytrend itself declares, whose words are meant for the user
_OWN_FAILURE = "[whytrend job] "
#: request details Dash copies into a job's context that a job never needs (and that must not be
#: written to a queue): the session cookie is among them
_PRIVATE_CONTEXT = ("cookies", "headers")


# --------------------------------------------------------------------------- tickets as tokens
def ticket_token(ticket: Any) -> str | None:
    """The name of the job a signed ticket (:func:`dashapp.jobs.issue_ticket`) asks for: its signature,
    unique to one request of one user; None for anything that is not a ticket."""
    if isinstance(ticket, dict) and isinstance(ticket.get("sig"), str) and isinstance(ticket.get("user"), str):
        return ticket["sig"][:64]
    return None


def ticket_job(ticket: dict) -> dict[str, str]:
    """What a ticket's job is, as :func:`loaders.jobs.job_queued` records it: who, what, for which metric."""
    fields = ticket.get("fields") if isinstance(ticket.get("fields"), dict) else {}
    return {"username": str(ticket.get("user", "")), "purpose": str(ticket.get("purpose", "")),
            "subject": str(fields.get("metric") or "")}


def ticket_in(args: Any) -> dict | None:
    """The ticket among a background callback's arguments (list, tuple, dict or one value)."""
    values = args.values() if isinstance(args, dict) else args if isinstance(args, (list, tuple)) else [args]
    return next((v for v in values if ticket_token(v) is not None), None)


# --------------------------------------------------------------------------- the worker's side
@contextmanager
def running_job(ticket: dict) -> Iterator[None]:
    """Run a job's body as the job named by ``ticket``: recorded as running, with a heartbeat every
    :data:`HEARTBEAT_SECONDS` from a thread, then done, or failed if the body raises."""
    from loaders.jobs import job_beat, job_finished, job_started

    from . import state

    store, token = state.get_store(), ticket_token(ticket)
    if token is None:
        yield
        return
    job_started(store, token, f"{socket.gethostname()}:{os.getpid()}", **ticket_job(ticket))
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                if not job_beat(store, token):
                    return
            except Exception:  # noqa: BLE001 - a missed beat is not worth ending the job for
                log.warning("could not record the heartbeat of job %s", token[:12], exc_info=True)

    thread = threading.Thread(target=beat, name=f"job-heartbeat-{token[:8]}", daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        job_finished(store, token, failure="The job stopped with an unexpected error; the error was logged. "
                                           "Start it again, and tell the service team if it happens again.")
        raise
    else:
        job_finished(store, token)
    finally:
        stop.set()
        thread.join(timeout=HEARTBEAT_SECONDS)


# --------------------------------------------------------------------------- the web side
def failure_text(error: BaseException) -> str:
    """Words for a page when its background job failed (the ``on_error`` of a background callback):
    whytrend's own verdict on a lost job as it is, anything else as a humane sentence."""
    text = str(error)
    if text.startswith(_DASH_ERROR_PREFIX):
        text = text[len(_DASH_ERROR_PREFIX):]
    if text.startswith(_OWN_FAILURE):
        return text[len(_OWN_FAILURE):].split("\n", 1)[0]
    log.error("a background job failed: %s", text)
    return ("The job stopped with an unexpected error; the error was logged. Start it again, and tell the "
            "service team if it happens again.")


class _Liveness:
    """Mixed into a Dash background manager: records each job in the store, and answers a poll for a
    job that can no longer finish with a failure instead of "still running"."""

    lost_after: float = 45.0
    queue_wait: float = 300.0

    def call_job_fn(self, key, job_fn, args, context):
        context = {k: v for k, v in dict(context).items() if k not in _PRIVATE_CONTEXT}
        ticket = ticket_in(args)
        if ticket is None:
            return super().call_job_fn(key, job_fn, args, context)
        from loaders.jobs import job_queued, job_submitted

        from . import state

        token = ticket_token(ticket)
        assert token is not None
        job_queued(state.get_store(), token, **ticket_job(ticket))
        job = self._submit(key, job_fn, args, context, token)
        job_submitted(state.get_store(), token, str(job))
        return job

    def _submit(self, key, job_fn, args, context, token: str):
        return super().call_job_fn(key, job_fn, args, context)  # type: ignore[misc]

    def terminate_job(self, job):
        """Dash stops a job the user cancelled (or replaced with a newer request), and tidies up after
        a finished one: a job stopped before its end is recorded cancelled, so it is not taken for lost."""
        if job is not None:
            from loaders.jobs import job_cancelled

            from . import state

            job_cancelled(state.get_store(), str(job))
        return super().terminate_job(job)

    def get_result(self, key, job):
        result = super().get_result(key, job)
        if result is not self.UNDEFINED or job is None:
            return result
        reason = self.lost(job)
        if reason is None:
            return result
        return {"background_callback_error": {"msg": _OWN_FAILURE + reason, "tb": ""}}

    def lost(self, job) -> str | None:
        """Why the job behind ``job`` will never finish (and it is now recorded failed), or None."""
        from loaders.jobs import job_failed, job_run, lost_reason

        from . import state

        store = state.get_store()
        run = job_run(store, job=str(job))
        if run is None or run.state == "done":
            return None
        reason = lost_reason(run, time.time(), lost_after=self.lost_after, queue_wait=self.queue_wait,
                             queue_says_running=bool(super().job_running(job)))  # type: ignore[misc]
        if reason is None:
            return None
        if run.state != "failed":
            log.warning("job %s of %s is lost: %s", run.token[:12], run.username, reason)
        return job_failed(store, run.token, reason)


def make_manager(settings: "Settings"):
    """The app's background manager: Celery on Redis when ``settings.redis_url`` is set, else Dash's
    disk-backed manager over a JSON-only cache in a private folder."""
    if settings.redis_url:
        return _celery_manager(settings)
    return _disk_manager(settings)


def _disk_manager(settings: "Settings"):
    import diskcache
    from dash import DiskcacheManager

    from .jobs import JSONOnlyDisk, private_dir

    class Manager(_Liveness, DiskcacheManager):
        pass

    manager = Manager(diskcache.Cache(str(private_dir(settings.cache_dir)), disk=JSONOnlyDisk))
    manager.lost_after, manager.queue_wait = settings.job_lost_seconds, settings.job_queue_seconds
    return manager


_celery_apps: dict[tuple[str, str], Any] = {}


def celery_app(redis_url: str, queue: str):
    """One Celery application per Redis URL and queue in this process (JSON only; acknowledged when
    taken, so a job whose worker dies is not silently run again: it is reported failed and the user
    starts it again). ``queue``: one per store, so deployments sharing a Redis never take each
    other's jobs."""
    app = _celery_apps.get((redis_url, queue))
    if app is not None:
        return app
    try:
        from celery import Celery
    except ImportError:
        from loaders.errors import WhytrendError

        raise WhytrendError("WHYTREND_REDIS_URL is set but Celery is not installed. Install it with "
                            "pip install 'whytrend[workers]', or unset WHYTREND_REDIS_URL to run jobs on this "
                            "machine.") from None
    app = Celery("whytrend", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"], result_accept_content=["json"],
        task_acks_late=False, worker_prefetch_multiplier=1, result_expires=24 * 3600,
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        broker_transport_options={"visibility_timeout": 3600}, task_default_queue=queue,
    )
    _celery_apps[(redis_url, queue)] = app
    return app


def _celery_manager(settings: "Settings"):
    from dash import CeleryManager

    class Manager(_Liveness, CeleryManager):
        def _submit(self, key, job_fn, args, context, token: str):
            # the task's id is the job's token, so the store and the queue name a job alike
            job_fn.apply_async((key, self._make_progress_key(key), args, context), task_id=token)
            return token

    manager = Manager(celery_app(settings.redis_url, settings.job_queue))
    manager.lost_after, manager.queue_wait = settings.job_lost_seconds, settings.job_queue_seconds
    return manager


def run_worker(settings: "Settings", *, concurrency: int = 1, loglevel: str = "INFO") -> None:
    """Run a Celery worker for the app's background jobs until stopped (``whytrend worker``).

    It builds the app first: that registers every page's background callbacks as Celery tasks under
    the names the web processes send, and configures the store the jobs read and write."""
    if not settings.redis_url:
        from loaders.errors import WhytrendError

        raise WhytrendError("whytrend worker needs WHYTREND_REDIS_URL (or --redis-url): the Redis server the web "
                            "app sends its background jobs through.")
    os.environ["OMP_NUM_THREADS"] = "1"
    from .app import create_app

    app = create_app(settings)
    worker = app.whytrend_manager.handle  # the Celery app the callbacks are registered on
    log.info("background worker for %s on %s", settings.db, _shown(settings.redis_url))
    worker.worker_main(["worker", f"--concurrency={max(1, int(concurrency))}", f"--loglevel={loglevel}",
                        "--pool=prefork", "--without-gossip", "--without-mingle", "--hostname=whytrend@%h"])


def _shown(url: str) -> str:
    """A Redis URL without its password, for logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
