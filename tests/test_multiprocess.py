"""Several processes, one truth: the demo on PostgreSQL, served by gunicorn (2 workers) and a
second app process, with background jobs on a Celery worker through Redis.

* A Model lab fit started through one app process reports progress and finishes when polled only
  through the other (jobs and their results live in Redis; who owns a job lives in the store).
* A Celery worker killed mid-job leaves a failed job, shown on the page, which starts again once a
  worker is back.
* No stale explanation: after another process loads a revision, both app processes answer with the
  revised figures.

Driven over HTTP exactly as the Dash renderer does (sign-in form, ``/_dash-update-component`` with
the page's ``endId`` and the job handles of the first answer). Skipped, with the variable to set,
where no PostgreSQL ($WHYTREND_TEST_PG_URL) or Redis ($WHYTREND_TEST_REDIS_URL) answers.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import browser_support as bs
from store_urls import fresh_pg_schema, redis_test_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

FIT_RESULT = "..lab-fit-result.children...lab-fitted.data.."
SECRET = "multiprocess-tests-" + "m" * 40
LOST_AFTER = 4  # seconds without a heartbeat before a running job is declared lost


@dataclass
class Deployment:
    db: str
    store: object
    env: dict
    folder: Path
    manifest: Path
    servers: list
    worker: subprocess.Popen | None = None

    @property
    def a(self) -> str:
        return self.servers[0][1]

    @property
    def b(self) -> str:
        return self.servers[1][1]

    def start_worker(self) -> subprocess.Popen:
        log = open(self.folder / "worker.log", "a")
        self.worker = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "worker", "--db", self.db],
                                       env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self.worker

    def kill_worker(self) -> None:
        """SIGKILL the worker and its pool (no chance to tidy up, as when a machine dies)."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=10)

    def log(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:]
                         for p in sorted(self.folder.glob("*.log")))


def _serve(db: str, env: dict, folder: Path, name: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = bs.free_port()
    log = open(folder / f"{name}.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "serve", "--db", db, "--host", "127.0.0.1",
                                "--port", str(port), "--workers", str(workers)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server at {url} exited"
        try:
            if requests.get(url + "/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    from explain import ensure_demo_users
    from loaders import Store
    from loaders.demo import run_demo

    redis_url = redis_test_url()
    with fresh_pg_schema() as db:
        folder = tmp_path_factory.mktemp("deployment")
        store = Store(db)
        summary = run_demo(store, folder / "demo")
        ensure_demo_users(store)
        env = {**os.environ, "WHYTREND_REDIS_URL": redis_url, "WHYTREND_SECRET_KEY": SECRET,
               "WHYTREND_JOB_LOST_SECONDS": str(LOST_AFTER), "WHYTREND_CACHE_DIR": str(folder / "jobs"),
               "OMP_NUM_THREADS": "1", "WHYTREND_DEBUG": "0"}
        env.pop("WHYTREND_DB", None)
        servers = [_serve(db, env, folder, "gunicorn-2-workers", 2), _serve(db, env, folder, "second-app", 1)]
        deployment = Deployment(db, store, env, folder, summary.manifest, servers)
        try:
            deployment.start_worker()
            for process, url in servers:
                _wait_until_up(url, process)
            yield deployment
        finally:
            for process, _ in servers:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=30)
            if deployment.worker is not None and deployment.worker.poll() is None:
                os.killpg(deployment.worker.pid, signal.SIGTERM)
                deployment.worker.wait(timeout=30)
            store.engine.dispose()


class Browser:
    """What the Dash renderer does over HTTP: one signed-in session, sent to either app process
    (the session cookie names the host, not the port, as a load balancer in front would see it)."""

    def __init__(self, deployment: Deployment, username: str) -> None:
        import requests

        self.http = requests.Session()
        page = self.http.get(deployment.a + "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = self.http.post(deployment.a + "/login", data={"username": username, "password": bs.password(username),
                                                               "csrf_token": token, "next": "/"},
                                headers={"Origin": deployment.a}, allow_redirects=False)
        assert signed.status_code in (302, 303), signed.text[:300]
        self.dependencies = self.http.get(deployment.a + "/_dash-dependencies").json()
        config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                           self.http.get(deployment.a + "/model-lab?metric=uc_caseload").text, re.S)
        self.end_id = json.loads(config.group(1))["end_id"]

    def call(self, base: str, output: str, inputs: list, state: list = (), changed: list[str] = (), **handles):
        payload = bs.callback_payload(self.dependencies, output, inputs, state, changed)
        response = self.http.post(base + "/_dash-update-component", params={"endId": self.end_id, **handles},
                                  data=json.dumps(payload),
                                  headers={"Content-Type": "application/json", "Origin": base})
        assert response.status_code in (200, 204), f"{response.status_code}: {response.text[:500]}"
        return response.json() if response.status_code == 200 else {}

    def start_fit(self, base: str, *, tune: bool, kind: str) -> dict:
        """Press Fit (or Tune) on the Model lab through ``base``; the first answer of the background job."""
        asked = self.call(base, "..lab-fit-errors", [0 if tune else 1, 1 if tune else 0],
                          ["uc_caseload", ["driver:claimant_count", "driver:unemployment_rate"], kind, []],
                          changed=["lab-tune.n_clicks" if tune else "lab-fit.n_clicks"])
        ticket = asked["response"]["lab-fit-request"]["data"]
        first = self.call(base, FIT_RESULT, [ticket])
        assert set(first) >= {"cacheKey", "job"}, first
        return {"ticket": ticket, "cacheKey": first["cacheKey"], "job": first["job"]}

    def poll(self, base: str, job: dict) -> dict:
        return self.call(base, FIT_RESULT, [job["ticket"]], cacheKey=job["cacheKey"], job=job["job"])


def _poll_until_done(browser: Browser, bases: list[str], job: dict, timeout: float) -> tuple[dict, list]:
    """Poll as the renderer does (every half second) until the result comes; (result, progress seen)."""
    progress, deadline, turn = [], time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        answer = browser.poll(bases[turn % len(bases)], job)
        turn += 1
        if "progress" in answer:
            progress.append(answer["progress"])
        if "response" in answer:
            return answer["response"], progress
        time.sleep(0.5)
    raise AssertionError(f"no result within {timeout} s")


def _versions(store, metric: str) -> list[int]:
    from explain import list_versions

    return [v.version for v in list_versions(store, metric)]


def test_a_fit_started_through_one_process_finishes_when_polled_through_the_other(deployment):
    browser = Browser(deployment, "analyst")
    before = _versions(deployment.store, "uc_caseload")
    job = browser.start_fit(deployment.a, tune=False, kind="gradient_boosting")
    result, progress = _poll_until_done(browser, [deployment.b], job, timeout=240)  # only the other process
    text = json.dumps(result["lab-fit-result"])
    after = _versions(deployment.store, "uc_caseload")
    assert len(after) == len(before) + 1, deployment.log()
    assert f"Saved version {max(after)} (gradient boosting)" in text, text[:500]
    assert result["lab-fitted"]["data"] == {"metric": "uc_caseload", "version": max(after)}
    bars = [p["lab-progress-bar.aria-valuenow"] for p in progress if "lab-progress-bar.aria-valuenow" in p]
    assert bars and all(0 <= int(v) <= 100 for v in bars), progress  # progress, reported through Redis
    from loaders.jobs import job_run

    run = job_run(deployment.store, token=job["ticket"]["sig"][:64])
    assert run.state == "done" and run.username == "analyst" and run.worker.split(":")[0]


def test_a_worker_killed_mid_job_leaves_a_failed_job_that_can_be_started_again(deployment):
    from loaders.jobs import job_run

    browser = Browser(deployment, "analyst")
    before = _versions(deployment.store, "uc_caseload")
    job = browser.start_fit(deployment.a, tune=True, kind="gradient_boosting")  # a tune: long enough to kill
    token = job["ticket"]["sig"][:64]
    deadline = time.monotonic() + 60
    while (job_run(deployment.store, token=token) or job_run(deployment.store, job=token)).state != "running":
        assert time.monotonic() < deadline, deployment.log()
        browser.poll(deployment.b, job)
        time.sleep(0.5)
    time.sleep(1.0)
    deployment.kill_worker()

    result, _ = _poll_until_done(browser, [deployment.b, deployment.a], job, timeout=60)
    text = json.dumps(result["lab-fit-result"])
    assert "The background worker running this job stopped before it finished" in text, text[:500]
    assert "Start it again" in text and result["lab-fitted"]["data"] is None
    run = job_run(deployment.store, token=token)
    assert run.state == "failed" and "stopped before it finished" in run.message
    assert _versions(deployment.store, "uc_caseload") == before  # nothing half-saved
    listed = json.dumps(browser.call(deployment.a, "lab-jobs.children", [None, None]))  # the Model lab's jobs table
    assert "Fit a model" in listed and "Failed" in listed and "stopped before it finished" in listed, listed[:800]

    deployment.start_worker()  # a worker is back: the same fit, asked again, runs to the end
    again = browser.start_fit(deployment.b, tune=False, kind="linear")
    result, _ = _poll_until_done(browser, [deployment.a], again, timeout=180)
    after = _versions(deployment.store, "uc_caseload")
    assert len(after) == len(before) + 1
    assert f"Saved version {max(after)} (linear)" in json.dumps(result["lab-fit-result"])
    assert job_run(deployment.store, token=token).state == "failed"  # the lost job stays on record


def _explained(browser: Browser, base: str) -> str:
    request = {"metric": "uc_caseload", "area": None, "from": "2026-08", "to": "2026-09", "by": None}
    return json.dumps(browser.call(base, "explain-result.children", [request, None]))


def test_no_stale_explanation_after_another_process_loads(deployment):
    from explain import explain_change

    browser = Browser(deployment, "treasury")
    old = explain_change(deployment.store, "uc_caseload", "2026-08", "2026-09")
    for base in (deployment.a, deployment.a, deployment.b):  # both of gunicorn's workers, likely, and the other app
        shown = _explained(browser, base)
        assert old.narrative.split(". ")[0] in shown, shown[:800]

    # another process loads a revision: Hartlepool's September caseload up by 40,000
    csv = deployment.manifest.parent / "dwp_uc_la_monthly.csv"
    lines = csv.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("2026-09,E06000001,") and ",uc_caseload," in line:
            cells = line.split(",")
            cells[4] = str(int(cells[4]) + 40_000)
            lines[i] = ",".join(cells)
    csv.write_text("\n".join(lines) + "\n")
    loaded = subprocess.run([sys.executable, "-m", "dashapp.cli", "load", str(deployment.manifest), "--db", deployment.db],
                            env=deployment.env, capture_output=True, text=True, timeout=600)
    assert loaded.returncode == 0, loaded.stderr

    new = explain_change(deployment.store, "uc_caseload", "2026-08", "2026-09")
    assert new.change == pytest.approx(old.change + 40_000)
    first_sentence = new.narrative.split(". ")[0]
    assert first_sentence != old.narrative.split(". ")[0]
    for base in (deployment.a, deployment.a, deployment.b):
        shown = _explained(browser, base)
        assert first_sentence in shown and old.narrative.split(". ")[0] not in shown, shown[:800]
