"""App benchmark: the demo served by the production server under 20 concurrent clients.

Serves the demo with gunicorn (``whytrend serve``, 2 workers) on 127.0.0.1, signs in (session
cookie), then drives ``--clients`` concurrent clients (threads, ``http.client``, loopback only),
each kind for ``--seconds`` or ``--max-requests`` requests, whichever comes first:

(a) the Summary page load, as the browser makes it: the HTML of "/", ``/_dash-layout``,
    ``/_dash-dependencies`` and the page-content callback Dash fires for "/" (captured from
    chromium: Dash pages' routing callback with the pathname and search);
(b) the Explain page's main callback (``explain-result.children``) for a precomputed explanation;
(c) the Explain page's content callback (the page as first shown, for the same explanation).

Prints p50/p95 latency per request kind and per Summary page load (the four requests in a row),
requests per second and the largest response (bytes), against the targets: p95 <= 150 ms per
request, no response over 300 KB. A sequential pass first warms both workers and gives the
single-client latency.

    .venv/bin/python benchmarks/app.py [--db whytrend.db] [--seconds 10] [--clients 20]

Without ``--db`` the demo is written and loaded into a temporary folder first (about 25 s).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

USER, PASSWORD = "treasury", "whytrend-treasury"
TARGET_P95_MS = 150.0
TARGET_MAX_BYTES = 300 * 1024
ROUTER_OUTPUT = ".._pages_content.children..._pages_store.data.."
EXPLAIN_REQUEST = {"metric": "uc_caseload", "area": None, "from": "2026-08", "to": "2026-09", "by": None}


def route_body(pathname: str, search: str = "") -> dict:
    """The routing callback exactly as Dash 4.4's renderer posts it (captured from chromium)."""
    return {"output": ROUTER_OUTPUT,
            "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname", "_pages_location.search"],
            "parsedChangedPropsIds": ["_pages_location.pathname", "_pages_location.search"]}


def explain_show_body() -> dict:
    return {"output": "explain-result.children", "outputs": {"id": "explain-result", "property": "children"},
            "inputs": [{"id": "explain-request", "property": "data", "value": EXPLAIN_REQUEST},
                       {"id": "explain-computed", "property": "data"}],
            "changedPropIds": ["explain-request.data"], "parsedChangedPropsIds": ["explain-request.data"]}


# ------------------------------------------------------------------------------ the server
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_demo(folder: Path) -> Path:
    from explain import ensure_demo_users, precompute
    from loaders import Store
    from loaders.demo import run_demo

    db = folder / "demo.db"
    store = Store(db)
    run_demo(store, folder / "files")
    ensure_demo_users(store)
    precompute(store)
    store.engine.dispose()
    return db


def start_server(db: Path, port: int, workers: int, folder: Path) -> subprocess.Popen:
    env = {**os.environ, "WHYTREND_SECRET_KEY": "benchmark-" + "b" * 40, "WHYTREND_CACHE_DIR": str(folder / "jobs"),
           "OMP_NUM_THREADS": "1"}
    log = open(folder / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "dashapp.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
                                "--port", str(port), "--workers", str(workers)],
                               stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(folder), start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited; see {folder / 'server.log'}")
        try:
            status, _, _ = request(port, "GET", "/login")
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.25)
    process.terminate()
    raise SystemExit("the server did not start within 120 s")


# ------------------------------------------------------------------------------ HTTP
def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            cookie: str = "") -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = dict(headers or {})
        if cookie:
            sent["Cookie"] = cookie
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        data = response.read()
        return response.status, data, response
    finally:
        conn.close()


def sign_in(port: int) -> str:
    """The session cookie of the demo user (through the sign-in form, CSRF token and all)."""
    status, page, response = request(port, "GET", "/login")
    anonymous = response.getheader("Set-Cookie", "").split(";", 1)[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    form = urlencode({"username": USER, "password": PASSWORD, "csrf_token": token, "next": "/"}).encode()
    status, _, response = request(port, "POST", "/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Origin": f"http://127.0.0.1:{port}"}, anonymous)
    if status != 302:
        raise SystemExit(f"sign-in failed ({status})")
    return response.getheader("Set-Cookie").split(";", 1)[0]


class Kind:
    """One kind of request: its steps (method, path, body) and what was measured."""

    def __init__(self, name: str, steps: list[tuple[str, str, bytes | None]]):
        self.name = name
        self.steps = steps
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.totals: list[float] = []
        self.largest: dict[str, int] = {}
        self.errors: list[str] = []

    def run_once(self, port: int, cookie: str) -> None:
        headers = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{port}",
                   "Accept": "application/json"}
        started = time.perf_counter()
        timings = []
        for method, path, body in self.steps:
            t0 = time.perf_counter()
            status, data, _ = request(port, method, path, body, headers if body else {}, cookie)
            timings.append((step_name(method, path, body), time.perf_counter() - t0, len(data), status))
        total = time.perf_counter() - started
        with self.lock:
            for name, seconds, size, status in timings:
                self.times.setdefault(name, []).append(seconds)
                self.largest[name] = max(self.largest.get(name, 0), size)
                if status != 200:
                    self.errors.append(f"{name}: HTTP {status}")
            self.totals.append(total)

    def reset(self) -> None:
        self.times, self.totals, self.largest, self.errors = {}, [], {}, []


def step_name(method: str, path: str, body: bytes | None) -> str:
    if body:
        output = json.loads(body)["output"]
        return "callback " + ("page content" if output == ROUTER_OUTPUT else output)
    return f"{method} {path}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def drive(kind: Kind, port: int, cookie: str, clients: int, seconds: float, max_requests: int) -> float:
    """``clients`` threads repeating the kind until the time or the request budget runs out."""
    kind.reset()
    deadline = time.monotonic() + seconds
    budget = [max_requests]
    lock = threading.Lock()

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= len(kind.steps)
            try:
                kind.run_once(port, cookie)
            except OSError as exc:
                with kind.lock:
                    kind.errors.append(repr(exc))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return time.perf_counter() - started


def report(kind: Kind, elapsed: float | None, clients: int) -> list[tuple[str, float, int]]:
    rows = []
    label = f"{clients} clients" if elapsed else "1 client"
    for name, values in kind.times.items():
        ms = [v * 1000 for v in values]
        rows.append((name, percentile(ms, 95), kind.largest[name]))
        rate = f"{len(values) / elapsed:7.1f}/s" if elapsed else ""
        print(f"  {name:<48} n={len(values):5d}  p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms"
              f"  max {max(ms):7.1f} ms  {rate}  largest {kind.largest[name]:,} B")
    if len(kind.steps) > 1 and kind.totals:
        ms = [v * 1000 for v in kind.totals]
        print(f"  {'whole ' + kind.name + ' (in a row)':<48} n={len(ms):5d}  p50 {percentile(ms, 50):7.1f} ms  "
              f"p95 {percentile(ms, 95):7.1f} ms  ({label})")
    if kind.errors:
        print(f"  errors: {len(kind.errors)}; first: {kind.errors[0]}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a demo database (users and explanations precomputed); default: build one")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0, help="per kind of request")
    parser.add_argument("--max-requests", type=int, default=5000, help="per kind of request")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        import orjson  # noqa: F401 - Dash serialises responses with it when installed
        print(f"orjson {orjson.__version__} is installed (Dash uses it for callback responses)")
    except ImportError:
        print("warning: orjson is not installed; Dash falls back to the slower json module")

    with tempfile.TemporaryDirectory(prefix="whytrend-bench-") as tmp:
        folder = Path(tmp)
        if args.db:
            db = args.db.resolve()
        else:
            started = time.perf_counter()
            db = prepare_demo(folder)
            print(f"demo loaded and precomputed in {time.perf_counter() - started:.0f} s")
        port = args.port or free_port()
        server = start_server(db, port, args.workers, folder)
        try:
            cookie = sign_in(port)
            summary = Kind("Summary page load", [
                ("GET", "/", None), ("GET", "/_dash-layout", None), ("GET", "/_dash-dependencies", None),
                ("POST", "/_dash-update-component", json.dumps(route_body("/")).encode())])
            show = Kind("Explain callback", [("POST", "/_dash-update-component", json.dumps(explain_show_body()).encode())])
            page = Kind("Explain page content", [
                ("POST", "/_dash-update-component", json.dumps(route_body("/explain", "?metric=uc_caseload")).encode())])
            kinds = [summary, show, page]
            print(f"gunicorn with {args.workers} workers on 127.0.0.1:{port}, database {db}")
            print("\nsequential (1 client; after warming both workers):")
            for kind in kinds:
                for _ in range(2 * args.workers):
                    kind.run_once(port, cookie)
                kind.reset()
                for _ in range(20):
                    kind.run_once(port, cookie)
                report(kind, None, 1)
            rows = []
            for kind in kinds:
                elapsed = drive(kind, port, cookie, args.clients, args.seconds, args.max_requests)
                print(f"\n{kind.name}: {args.clients} concurrent clients for {elapsed:.1f} s")
                rows += report(kind, elapsed, args.clients)
                if kind.errors:
                    return 1
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    worst = max(rows, key=lambda r: r[1])
    largest = max(rows, key=lambda r: r[2])
    ok = worst[1] <= TARGET_P95_MS and largest[2] <= TARGET_MAX_BYTES
    print(f"\nslowest p95: {worst[1]:.1f} ms ({worst[0]}; target <= {TARGET_P95_MS:.0f} ms); largest response: "
          f"{largest[2]:,} B ({largest[0]}; target <= {TARGET_MAX_BYTES:,} B): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
