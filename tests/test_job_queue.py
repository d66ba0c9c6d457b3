"""Background jobs every process can see (loaders.jobs, dashapp.job_queue): each job's life in the
store, the rule that tells a lost job from a slow one, and what a poll answers for a lost job.
The end-to-end run with gunicorn, Celery and Redis is in test_multiprocess.py."""
from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from dashapp import state
from dashapp.job_queue import _OWN_FAILURE, _Liveness, failure_text, make_manager, running_job, ticket_token
from dashapp.settings import Settings
from loaders import Store
from loaders.errors import WhytrendError
from loaders.jobs import (
    JobRun,
    job_beat,
    job_failed,
    job_finished,
    job_queued,
    job_run,
    job_started,
    job_submitted,
    lost_reason,
    recent_job_runs,
)

TICKET = {"purpose": "fit", "user": "ana", "issued": 1, "fields": {"metric": "uc_caseload"}, "sig": "ab" * 32}


def run(state_: str, *, queued=100.0, started=None, beat=None, message="") -> JobRun:
    return JobRun("t", "j", "ana", "fit", "uc_caseload", state_, queued, started, beat, None, "w:1", message)


@pytest.mark.parametrize("job, now, running, lost", [
    (run("running", started=100, beat=140), 150, True, False),      # 10 s quiet, limit 30: still going
    (run("running", started=100, beat=140), 171, True, True),       # 31 s quiet: lost
    (run("running", started=100, beat=None), 129, True, False),     # no beat yet: counted from the start
    (run("running", started=100, beat=149), 150, False, True),      # the queue says its process is gone
    (run("queued"), 399, True, False),                              # waiting 299 s of 300
    (run("queued"), 401, True, True),                               # no worker took it in 300 s
    (run("queued"), 131, False, True),                              # the queue lost it, after the grace
    (run("queued"), 129, False, False),                             # ... but not before
    (run("done"), 10_000, False, False),                            # a finished job is never lost
])
def test_a_job_is_lost_only_when_it_can_no_longer_finish(job, now, running, lost):
    reason = lost_reason(job, now, lost_after=30, queue_wait=300, queue_says_running=running)
    assert (reason is not None) == lost
    if lost and job.state == "running":
        quiet = round(now - (job.beat_at or job.started_at))
        assert f"nothing heard from it for {quiet} second{'' if quiet == 1 else 's'})" in reason
        assert "Nothing was saved. Start it again" in reason
    if lost and job.state == "queued":
        assert "No background worker took this job" in reason and "whytrend worker" in reason


def test_a_failed_job_keeps_its_own_words():
    assert lost_reason(run("failed", message="The fit ran out of memory."), 0, lost_after=1, queue_wait=1) == \
        "The fit ran out of memory."


def test_a_job_runs_from_queued_to_done_and_a_late_finish_does_not_hide_a_failure(db_url):
    store = Store(db_url)
    job_queued(store, "tok1", "ana", purpose="fit", subject="uc_caseload", now=100)
    job_submitted(store, "tok1", "celery-id-1")
    assert job_run(store, job="celery-id-1").state == "queued"
    job_started(store, "tok1", "host:42", now=101)
    assert job_beat(store, "tok1", now=105)
    found = job_run(store, token="tok1")
    assert (found.state, found.worker, found.started_at, found.beat_at, found.purpose) == \
        ("running", "host:42", 101, 105, "fit")
    assert job_failed(store, "tok1", "worker lost", now=200) == "worker lost"
    assert not job_beat(store, "tok1", now=201)  # a job declared lost takes no more beats
    job_finished(store, "tok1", now=202)  # its worker was only slow: the user has been told it failed
    assert job_run(store, token="tok1").state == "failed"

    job_started(store, "tok2", "host:43", username="bo", purpose="explain", subject="ae_4h_pct", now=300)  # no queued row
    job_finished(store, "tok2", now=310)
    done = job_run(store, token="tok2")
    assert (done.state, done.username, done.finished_at) == ("done", "bo", 310)
    job_failed(store, "tok2", "too late")  # a poll that thought it lost comes after it finished: it stays done
    assert job_run(store, token="tok2").state == "done"
    assert [r.token for r in recent_job_runs(store)] == ["tok2", "tok1"]
    assert [r.token for r in recent_job_runs(store, username="ana")] == ["tok1"]
    store.engine.dispose()


@pytest.fixture
def configured(tmp_path):
    settings = Settings(db=f"sqlite:///{tmp_path / 'jobs.db'}", cache_dir=tmp_path / "cache", secret_key="k" * 40,
                        job_lost_seconds=30, job_queue_seconds=300)
    state.configure(settings)
    yield settings
    state.configure(Settings())


def test_running_job_records_done_or_a_failure(configured):
    store = state.get_store()
    with running_job(TICKET):
        assert job_run(store, token=ticket_token(TICKET)).state == "running"
    assert job_run(store, token=ticket_token(TICKET)).state == "done"
    broken = {**TICKET, "sig": "cd" * 32}
    with pytest.raises(RuntimeError), running_job(broken):
        raise RuntimeError("a bug in the job")
    failed = job_run(store, token=ticket_token(broken))
    assert failed.state == "failed" and "unexpected error" in failed.message


class _Queue:
    """A stand-in for a Dash manager's own methods (what _Liveness wraps)."""

    UNDEFINED = object()

    def __init__(self, alive: bool = True):
        self.alive, self.sent = alive, None

    def call_job_fn(self, key, job_fn, args, context):
        self.sent = context
        return 4242

    def get_result(self, key, job):
        return self.UNDEFINED

    def job_running(self, job):
        return self.alive

    def terminate_job(self, job):
        self.alive = False


class _Managed(_Liveness, _Queue):
    pass


def test_a_job_is_queued_in_the_store_and_sent_without_the_request_cookies(configured):
    manager = _Managed()
    job = manager.call_job_fn("key", None, [TICKET], {"cookies": {"whytrend_session": "secret"},
                                                      "headers": {"Cookie": "secret"}, "inputs_list": []})
    assert job == 4242 and manager.sent == {"inputs_list": []}
    queued = job_run(state.get_store(), job="4242")
    assert (queued.state, queued.username, queued.purpose, queued.subject) == ("queued", "ana", "fit", "uc_caseload")


def test_a_poll_for_a_lost_job_answers_with_its_failure(configured):
    store = state.get_store()
    manager = _Managed(alive=False)  # the queue no longer runs it: its process died
    manager.call_job_fn("key", None, [TICKET], {})
    job_started(store, ticket_token(TICKET), "host:1")
    answer = manager.get_result("key", 4242)
    message = answer["background_callback_error"]["msg"]
    assert message.startswith(_OWN_FAILURE) and "stopped before it finished" in message
    assert job_run(store, token=ticket_token(TICKET)).state == "failed"
    # what the page shows (its on_error), through Dash's wording of a background error
    from dash.exceptions import BackgroundCallbackError

    shown = failure_text(BackgroundCallbackError(f"An error occurred inside a background callback: {message}\n"))
    assert shown.startswith("The background worker running this job stopped") and _OWN_FAILURE not in shown
    assert "unexpected error" in failure_text(RuntimeError("KeyError: 'x'"))  # a bug: no internals shown

    cancelled = _Managed(alive=True)  # a job the user cancels is not lost: its poll answers nothing
    stopped = {**TICKET, "sig": "aa" * 32}
    cancelled.call_job_fn("key3", None, [stopped], {})
    job_started(store, ticket_token(stopped), "host:3")
    cancelled.terminate_job(4242)
    assert cancelled.get_result("key3", 4242) is cancelled.UNDEFINED
    assert job_run(store, token=ticket_token(stopped)).state == "cancelled"

    alive = _Managed(alive=True)  # a job still beating is left alone
    other = {**TICKET, "sig": "ef" * 32}
    alive.call_job_fn("key2", None, [other], {})
    job_submitted(store, ticket_token(other), "77")
    job_started(store, ticket_token(other), "host:2")
    assert alive.get_result("key2", "77") is alive.UNDEFINED


def test_the_disk_manager_reports_a_killed_job_process(configured):
    manager = make_manager(configured)
    process = subprocess.Popen(["sleep", "30"])
    manager_job = str(process.pid)
    job_queued(state.get_store(), ticket_token(TICKET), "ana", purpose="fit")
    job_submitted(state.get_store(), ticket_token(TICKET), manager_job)
    job_started(state.get_store(), ticket_token(TICKET), f"host:{process.pid}")
    assert manager.lost(process.pid) is None  # alive and beating
    process.kill()
    process.wait()
    assert "stopped before it finished" in manager.lost(process.pid)


def test_redis_settings_and_a_worker_without_redis(tmp_path):
    settings = Settings.from_env({"WHYTREND_REDIS_URL": " redis://cache:6379/2 ", "WHYTREND_JOB_LOST_SECONDS": "12"})
    assert settings.redis_url == "redis://cache:6379/2" and settings.job_lost_seconds == 12
    assert settings.job_queue.startswith("whytrend-") and settings.job_queue != Settings(db="sqlite:///other.db").job_queue
    assert "cache:6379" not in repr(settings)  # may hold a password
    with pytest.raises(WhytrendError, match="WHYTREND_JOB_LOST_SECONDS is 'soon'"):
        Settings.from_env({"WHYTREND_JOB_LOST_SECONDS": "soon"})
    from dashapp.cli import main

    result = CliRunner().invoke(main, ["worker", "--db", str(tmp_path / "w.db")], env={"WHYTREND_REDIS_URL": ""})
    assert result.exit_code == 1 and "whytrend worker needs WHYTREND_REDIS_URL" in result.output
    assert "Traceback" not in result.output


def test_celery_takes_json_only_on_a_queue_per_store():  # no server needed: the configuration only
    pytest.importorskip("celery")
    from dashapp.job_queue import celery_app

    app = celery_app("redis://127.0.0.1:6379/0", "whytrend-abc")
    assert app.conf.accept_content == ["json"] and app.conf.task_serializer == "json"
    assert app.conf.result_accept_content == ["json"] and app.conf.task_default_queue == "whytrend-abc"
    assert app.conf.task_acks_late is False  # a job whose worker died is reported, not silently run again
    assert celery_app("redis://127.0.0.1:6379/0", "whytrend-abc") is app


def test_the_jobs_command_lists_jobs_and_a_lost_one_as_failed(tmp_path, monkeypatch):
    from dashapp.cli import main

    store = Store(tmp_path / "j.db")
    job_queued(store, "t1", "ana", purpose="fit", subject="uc_caseload", now=1_000_000)
    job_started(store, "t1", "host:7", now=1_000_001)
    job_finished(store, "t1", now=1_000_030)
    job_queued(store, "t2", "bo", purpose="explain", subject="ae_4h_pct", now=1_000_100)
    job_started(store, "t2", "host:8", now=1_000_101)  # its worker died long ago: never beat again
    monkeypatch.setenv("WHYTREND_JOB_LOST_SECONDS", "60")
    result = CliRunner().invoke(main, ["jobs", "--db", str(tmp_path / "j.db")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "bo" in lines[0] and "explain" in lines[0] and "failed" in lines[0] and "host:8" in lines[0]
    assert "stopped before it finished" in lines[1]
    assert "ana" in lines[2] and "uc_caseload" in lines[2] and "done" in lines[2]
    only = CliRunner().invoke(main, ["jobs", "--db", str(tmp_path / "j.db"), "--user", "ana"]).output
    assert "ana" in only and "bo" not in only

