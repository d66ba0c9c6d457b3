"""Several processes on one store at once, on SQLite (a real file) and PostgreSQL (a fresh schema):
opening a fresh store, two `whytrend load` of different sources, two loads of the same source,
and the session secret. Each process is a separate Python interpreter started at the same instant
(a shared start time), so the races are real; a load can be held open for a few seconds
(WT_LOAD_DELAY) to make two loads overlap for certain."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, insert, select

import loaders
from loaders import Store, StoreError, load_manifest_file
from loaders import schema as s

from store_urls import SMALL_HIERARCHY

REPO = Path(loaders.__file__).resolve().parents[1]

WORKER = r'''
import os, sys, time
mode, url = sys.argv[1], sys.argv[2]
from loaders import Store, pipeline
from loaders import store as store_module
from loaders.accounts import session_secret
from dashapp.cli import main
if os.environ.get("WT_BUSY_MS"):  # a short SQLite busy timeout: waiting for the write lock must retry
    store_module.BUSY_TIMEOUT_MS = int(os.environ["WT_BUSY_MS"])
delay = float(os.environ.get("WT_LOAD_DELAY") or 0)
if delay:  # hold the load open (inside its transaction) so that two loads surely overlap
    original = pipeline._Loader.run
    def run(self, stream):
        time.sleep(delay)
        return original(self, stream)
    pipeline._Loader.run = run
store = Store(url) if mode == "secret" else None  # opened before the start: only the secret races
if mode == "secret":  # making a secret takes a while, so every process has made one before any is stored
    import secrets
    make = secrets.token_urlsafe
    def slow_token(nbytes=None):
        time.sleep(0.3)
        return make(nbytes)
    secrets.token_urlsafe = slow_token
barrier = os.environ["WT_BARRIER"]  # say ready, then wait for the common start
open(os.path.join(barrier, f"ready.{os.getpid()}"), "w").close()
while not os.path.exists(os.path.join(barrier, "go")):
    time.sleep(0.001)
if mode == "open":
    print("version", Store(url).version())
elif mode == "secret":
    print("secret", session_secret(store))
elif mode == "load":
    main(["load", *sys.argv[3:], "--db", url, "--no-precompute"])
'''

MANIFEST = SMALL_HIERARCHY + """[[source]]
id = "north"
department = "DWP"
path = "north.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload", "Award" = "award" }

[[source]]
id = "west"
department = "DWP"
path = "west.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload" }
"""

MONTHS = [f"2023-{m:02d}" for m in range(1, 13)] + [f"2024-{m:02d}" for m in range(1, 13)]


def caseload(area: str, month: str) -> int:
    return 100 * int(area[1]) + MONTHS.index(month)


@pytest.fixture
def manifest(tmp_path) -> Path:
    (tmp_path / "m.toml").write_text(MANIFEST)
    north = ["month,area,Caseload,Award"] + [f"{m},{a},{caseload(a, m)},{400 + MONTHS.index(m)}"
                                             for a in ("A1", "A2") for m in MONTHS]
    west = ["month,area,Caseload"] + [f"{m},A3,{caseload('A3', m)}" for m in MONTHS]
    (tmp_path / "north.csv").write_text("\n".join(north) + "\n")
    (tmp_path / "west.csv").write_text("\n".join(west) + "\n")
    return tmp_path / "m.toml"


def run_together(tmp_path: Path, jobs: list[list[str]], *, delay: float = 0.0, busy_ms: int | None = None,
                 timeout: float = 180) -> tuple[list[tuple[int, str, float]], list[int]]:
    """Start one interpreter per job, all released at the same instant: (exit code, output, seconds after
    the release) of each, and their process ids."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    barrier = tmp_path / f"barrier-{time.monotonic_ns()}"
    barrier.mkdir()
    env = os.environ | {"PYTHONPATH": str(REPO), "WT_BARRIER": str(barrier), "WT_LOAD_DELAY": str(delay),
                        "OMP_NUM_THREADS": "1"}
    if busy_ms:
        env["WT_BUSY_MS"] = str(busy_ms)
    procs = [subprocess.Popen([sys.executable, str(script), *job], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env, cwd=tmp_path) for job in jobs]
    deadline = time.monotonic() + timeout
    while len(list(barrier.glob("ready.*"))) < len(procs):  # every interpreter has imported everything
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate()[0] for p in procs if p.poll() is not None]
        time.sleep(0.01)
    started = time.monotonic()
    (barrier / "go").touch()
    finished: dict[int, float] = {}
    while len(finished) < len(procs):  # outputs are small: they wait in the pipes
        for i, proc in enumerate(procs):
            if i not in finished and proc.poll() is not None:
                finished[i] = time.monotonic() - started
        assert time.monotonic() < deadline + timeout, "a worker hung"
        time.sleep(0.01)
    results = [(proc.returncode, proc.communicate()[0], finished[i], proc.pid) for i, proc in enumerate(procs)]
    return [(code, out, elapsed) for code, out, elapsed, _ in results], [r[3] for r in results]


# ----------------------------------------------------------------------------------- (a)
def test_six_processes_open_a_fresh_store_at_once(db_url, tmp_path):
    results, _ = run_together(tmp_path, [["open", db_url]] * 6)
    for code, output, _ in results:
        assert code == 0 and "Traceback" not in output, output
        assert output.strip().endswith(f"version {s.CURRENT_VERSION}"), output
    store = Store(db_url)
    with store.engine.connect() as conn:
        versions = [r[0] for r in conn.execute(select(s.schema_version.c.version).order_by(s.schema_version.c.version))]
        totals = conn.execute(select(s.breakdowns.c.id, s.breakdowns.c.key)).all()
    assert versions == list(range(1, s.CURRENT_VERSION + 1))  # each version once
    assert [tuple(r) for r in totals] == [(0, "")]
    store.engine.dispose()


# ----------------------------------------------------------------------------------- (b)
def test_two_loads_of_different_sources_at_once_both_succeed(db_url, tmp_path, manifest):
    Store(db_url).engine.dispose()  # the store exists: only the loads race
    results, _ = run_together(tmp_path, [["load", db_url, str(manifest), "--source", "north"],
                                         ["load", db_url, str(manifest), "--source", "west"]],
                              delay=2.5, busy_ms=300)
    for code, output, _ in results:
        assert code == 0 and "Traceback" not in output, output
        assert "loaded  " in output and "vintage" in output, output
    store = Store(db_url)
    loads = store.loads_frame()
    assert sorted(loads["source_id"]) == ["north", "west"] and set(loads["status"]) == {"ok"}
    frame = store.observations(["caseload", "award"])
    got = {(r.metric, r.area, r.period[:7]): r.value for r in frame.itertuples()}
    for month in MONTHS:
        for area in ("A1", "A2", "A3"):
            assert got[("caseload", area, month)] == caseload(area, month)
        for area in ("A1", "A2"):
            assert got[("award", area, month)] == 400 + MONTHS.index(month)
        # roll-ups cover both sources, whichever load committed first
        assert got[("caseload", "R1", month)] == caseload("A1", month) + caseload("A2", month)
        assert got[("caseload", "ALL", month)] == sum(caseload(a, month) for a in ("A1", "A2", "A3"))
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.load_locks)).scalar() == 0  # both leases released
        assert conn.execute(select(func.count()).select_from(s.departments)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(s.areas)).scalar() == 7  # six + the whole
    store.engine.dispose()


# ----------------------------------------------------------------------------------- (c)
def test_two_loads_of_the_same_source_at_once_one_fails_clearly_and_nothing_is_doubled(db_url, tmp_path, manifest):
    Store(db_url).engine.dispose()
    job = ["load", db_url, str(manifest), "--source", "north"]
    results, pids = run_together(tmp_path, [job, job], delay=4.0, busy_ms=300)
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    winner = next(i for i, (code, _, _) in enumerate(results) if code == 0)
    code, output, elapsed = results[1 - winner]
    assert "Traceback" not in output
    expected = (f"Source north is being loaded by another process (pid {pids[winner]} on host "
                f"{socket.gethostname()} since ")
    assert expected in " ".join(output.split()), output
    assert "wait for it to finish and run the load again" in " ".join(output.split())
    assert elapsed < 3.0, f"the second load waited {elapsed:.1f} s instead of failing at once"
    assert "loaded  north: vintage 1;" in results[winner][1]
    store = Store(db_url)
    assert len(store.loads_frame()) == 1
    with store.engine.connect() as conn:
        leaves = conn.execute(select(func.count()).select_from(s.observations)
                              .where(s.observations.c.derived == s.LEAF)).scalar()
        assert conn.execute(select(func.count()).select_from(s.load_locks)).scalar() == 0
    assert leaves == 2 * 2 * len(MONTHS)  # two metrics, two areas: each value once
    store.engine.dispose()


# ----------------------------------------------------------------------------------- (d)
def test_every_process_gets_the_same_session_secret(db_url, tmp_path):
    Store(db_url).engine.dispose()  # a fresh store, migrated, with no secret yet
    results, _ = run_together(tmp_path, [["secret", db_url]] * 6)
    secrets = set()
    for code, output, _ in results:
        assert code == 0 and "Traceback" not in output, output
        secrets.add(output.strip().splitlines()[-1])
    assert len(secrets) == 1 and len(secrets.pop()) > 40
    store = Store(db_url)
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.app_settings)).scalar() == 1
    store.engine.dispose()


# ------------------------------------------------------------------------- the lease itself
def _lease(store: Store, holder: str, acquired_at: float) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(s.load_locks).values(source_id="north", holder=holder, acquired_at=acquired_at))


def test_a_live_lease_refuses_the_load_and_writes_nothing(db_url, manifest):
    store = Store(db_url)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lease(store, f"{socket.gethostname()}:{sleeper.pid}", time.time() - 5)
        outcome = load_manifest_file(store, manifest, only=["north"])[0]
    finally:
        sleeper.kill()
        sleeper.wait()
    assert outcome.status == "failed"
    assert f"Source north is being loaded by another process (pid {sleeper.pid} on host {socket.gethostname()}" \
        in outcome.message and "Nothing of this source was written" in outcome.message
    assert store.loads_frame().empty and store.sources_frame().empty
    with store.engine.connect() as conn:
        assert conn.execute(select(s.load_locks.c.holder)).scalar() == f"{socket.gethostname()}:{sleeper.pid}"
    store.engine.dispose()


@pytest.mark.parametrize("holder, age, why", [
    ("dead", 5, "process gone"),
    ("elsewhere", 5, None),
    ("elsewhere", 7200, "timed out"),
])
def test_a_stale_lease_is_taken_over(db_url, manifest, monkeypatch, holder, age, why, caplog):
    monkeypatch.setenv("WHYTREND_LOAD_LOCK_TIMEOUT", "3600")
    store = Store(db_url)
    if holder == "dead":
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        holder = f"{socket.gethostname()}:{gone.pid}"
    else:
        holder = "another-host.example:4242"
    _lease(store, holder, time.time() - age)
    outcome = load_manifest_file(store, manifest, only=["north"])[0]
    if why is None:  # a fresh lease of a process on another host cannot be checked: it is respected
        assert outcome.status == "failed" and "pid 4242 on host another-host.example" in outcome.message
        assert store.loads_frame().empty
    else:
        assert outcome.status == "loaded", outcome.message
        assert "took over the load lease of north" in caplog.text
        with store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(s.load_locks)).scalar() == 0
    store.engine.dispose()


def test_the_lease_is_released_when_a_load_fails(db_url, manifest, tmp_path):
    (tmp_path / "north.csv").write_text("When,Count\n2024-01,1\n")  # wrong columns: a structural failure
    store = Store(db_url)
    outcome = load_manifest_file(store, manifest, only=["north"])[0]
    assert outcome.status == "failed" and "Nothing of this source was written" in outcome.message
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(s.load_locks)).scalar() == 0
    store.engine.dispose()


# ------------------------------------------------------------------------ opening errors
@pytest.mark.parametrize("kind", ["no-server", "not-a-database"])
def test_database_errors_while_opening_are_one_clear_paragraph(tmp_path, kind):
    from click.testing import CliRunner

    from dashapp.cli import main

    if kind == "no-server":
        db = "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"
        pytest.importorskip("psycopg")
    else:
        db = str(tmp_path / "notes.db")
        Path(db).write_text("these are my notes, not a database\n" * 200)
    result = CliRunner().invoke(main, ["sources", "--db", db])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith("Error: Cannot open database")
    assert len(result.output.strip().splitlines()) == 1
    if kind == "no-server":
        assert "Check that the server is running" in result.output and "SQLite" not in result.output
    with pytest.raises(StoreError):
        Store(db)


def test_a_store_that_another_program_made_is_still_refused(tmp_path):
    import sqlite3

    with sqlite3.connect(tmp_path / "other.db") as conn:
        conn.execute("create table customers (id integer primary key)")
    with pytest.raises(StoreError, match="already holds tables \\(customers\\) but is not a whytrend store"):
        Store(tmp_path / "other.db")


def test_the_same_sources_load_one_after_the_other(db_url, manifest):
    """The baseline of the concurrent cases: the same manifest loaded in one process."""
    store = Store(db_url)
    outcomes = load_manifest_file(store, manifest)
    assert [o.status for o in outcomes] == ["loaded", "loaded"]
    assert isinstance(store.loads_frame(), pd.DataFrame) and len(store.loads_frame()) == 2
    store.engine.dispose()
