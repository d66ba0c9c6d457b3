"""Helpers of the browser tests (tests/test_browser.py, test_accessibility.py, test_screenshots.py)
and of benchmarks/app.py: serve the demo with the production server, drive Debian's chromium.

The fixtures themselves live in ``conftest.py`` (``live_app``, ``chromium``, ``user_page``).
"""
from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = (1280, 375)
DESKTOP = {"width": 1280, "height": 900}
#: the demo's sign-ins (explain.operations.DEMO_USERS): password is "whytrend-<name>"
USERS = ("admin", "analyst", "treasury", "dwp", "nhs")


def password(username: str) -> str:
    return f"whytrend-{username}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------------ the demo database
def copy_database(source: str | Path, target: Path) -> Path:
    """A consistent copy of a SQLite database (the backup API, so WAL contents come along)."""
    with sqlite3.connect(str(source)) as src, sqlite3.connect(str(target)) as dst:
        src.backup(dst)
    return target


def prepare_demo_database(path: Path, source: str | Path | None = None) -> Path:
    """The demo data at ``path`` with its users and every precomputed explanation.

    ``source``: an already loaded demo database to copy (the test session's ``demo_store``);
    without it the demo is written and loaded from scratch (about 15 s)."""
    from explain import ensure_demo_users, precompute
    from loaders import Store

    if source is not None:
        copy_database(source, path)
        store = Store(path)
    else:
        from loaders.demo import run_demo

        store = Store(path)
        run_demo(store, path.parent / "demo-files")
    ensure_demo_users(store)
    precompute(store)
    store.engine.dispose()
    return path


def vintage_count(db: Path) -> int:
    """How many loads (vintages) the database holds, read straight from the file."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT count(*) FROM loads").fetchone()[0])


def model_versions(db: Path, metric: str) -> list[int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT mv.version FROM model_versions mv WHERE mv.metric_code = ? ORDER BY mv.version",
                            (metric,)).fetchall()
    return [int(r[0]) for r in rows]


# ------------------------------------------------------------------------------ the server
@dataclass
class LiveServer:
    """``whytrend serve`` (gunicorn, the production server) in a subprocess on 127.0.0.1."""

    db: Path
    workdir: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    def start(self, timeout: float = 90.0) -> "LiveServer":
        env = {**os.environ, "WHYTREND_SECRET_KEY": "browser-tests-" + "k" * 40,
               "WHYTREND_CACHE_DIR": str(self.workdir / "jobs"), "OMP_NUM_THREADS": "1",
               "WHYTREND_DEBUG": "0"}
        env.pop("WHYTREND_DB", None)
        command = [sys.executable, "-m", "dashapp.cli", "serve", "--db", str(self.db), "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", str(self.workers)]
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                        cwd=str(self.workdir), start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn's master: graceful shutdown of its workers
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def job_processes(self) -> list:
        """Live (non-zombie) background-job processes: children of the gunicorn workers."""
        import psutil

        if self.process is None:
            return []
        try:
            master = psutil.Process(self.process.pid)
            workers = master.children()
            jobs = [child for worker in workers for child in worker.children(recursive=True)]
            return [p for p in jobs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            return []


# ------------------------------------------------------------------------------ pages
#: true when Dash has rendered the page, no callback (or background job) is outstanding and every chart
#: shown is drawn
DASH_IDLE = """() => {
  const content = document.getElementById('_pages_content');
  if (!window.store || !content || !content.children.length) { return false; }
  if (document.querySelector('[data-dash-is-loading="true"], ._dash-loading')) { return false; }
  const state = window.store.getState();
  if (state.isLoading) { return false; }
  const callbacks = Object.assign({}, state.callbacks);
  delete callbacks.stored; delete callbacks.completed;
  if (!Object.values(callbacks).every(list => !list || !list.length)) { return false; }
  // every chart shown has been drawn by Plotly (it loads and draws after the callbacks)
  return Array.from(document.querySelectorAll('.dash-graph'))
    .every(graph => !graph.getClientRects().length || graph.querySelector('.main-svg'));
}"""


def settle(page, timeout: float = 30_000) -> None:
    """Wait until the Dash page is rendered and its callbacks have finished (plus a frame for Plotly)."""
    page.wait_for_function(DASH_IDLE, timeout=timeout, polling=50)
    page.wait_for_timeout(150)
    page.wait_for_function(DASH_IDLE, timeout=timeout, polling=50)


def open_page(page, path: str, timeout: float = 30_000) -> None:
    """Go to ``path`` of the app and wait for Dash to settle."""
    page.goto(path, wait_until="domcontentloaded")
    settle(page, timeout)


def sign_in(page, username: str, secret: str | None = None) -> None:
    """Sign in through the form (the page is left wherever the app sends it)."""
    page.goto("/login", wait_until="domcontentloaded")
    page.fill("#username", username)
    page.fill("#password", password(username) if secret is None else secret)
    with page.expect_navigation(wait_until="domcontentloaded"):
        page.click("form button[type=submit]")


def nav_names(page) -> list[str]:
    return [t.strip() for t in page.locator(".site-nav__link").all_inner_texts()]


def screenshot_name(name: str, width: int) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_-]+', '-', name).strip('-')}-{width}.png"


def axe_report(violations: list[dict]) -> str:
    """Violations as readable text: rule, impact, help, then each element with axe's summary."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{len(v['nodes'])} element(s)] {v.get('helpUrl', '')}")
        for node in v["nodes"][:10]:
            lines.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " | ")
            if summary:
                lines.append(f"       {summary[:400]}")
    return "\n".join(lines)


def run_axe(page) -> list[dict]:
    """axe-core's violations of the five WCAG tags on the page as shown."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    return results.response["violations"]


@dataclass
class ExternalServer:
    """A demo server started elsewhere (development only: WHYTREND_BROWSER_URL and WHYTREND_BROWSER_DB)."""

    url: str
    db: Path
    process: None = None

    def stop(self) -> None:
        pass

    def log_tail(self, lines: int = 60) -> str:
        return ""

    def job_processes(self) -> list:
        return []


# ------------------------------------------------------------------------------ hand-made callbacks
def callback_payload(dependencies: list[dict], output_prefix: str, inputs: list, state: list = (),
                     changed: list[str] = ()) -> dict:
    """The JSON body the Dash renderer POSTs to /_dash-update-component for the callback whose
    output starts with ``output_prefix`` (values in the order of its inputs and states)."""
    import json

    dep = next(d for d in dependencies if d["output"].startswith(output_prefix))

    def parse(cid: str):
        return json.loads(cid) if cid.startswith("{") else cid

    def spec(items, values):
        return [{"id": parse(i["id"]), "property": i["property"], "value": v} for i, v in zip(items, values)]

    outputs = []
    for part in dep["output"].strip(".").split("..."):
        cid, prop = part.rsplit(".", 1)
        outputs.append({"id": parse(cid), "property": prop.split("@")[0]})
    return {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": spec(dep["inputs"], inputs), "state": spec(dep["state"], state),
            "changedPropIds": list(changed) or [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}
