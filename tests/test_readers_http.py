"""The HTTP reader against a real local server (ThreadingHTTPServer on 127.0.0.1, port 0)."""
from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from loaders.errors import ReadError
from loaders.readers import ReadOptions, TableInfo, api, open_table

RESET = "reset"  # a response spec: close the connection without answering
SLOW = "slow"  # a response spec: wait before answering


@dataclass
class Server:
    """Routes ("/path?query" -> responses served in turn, the last one repeated) and the requests seen."""

    base: str = ""
    routes: dict[str, list[object]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str | object, status: int = 200,
            headers: dict[str, str | list[str]] | None = None) -> bytes:
        """Queue one response; JSON-able bodies are encoded. Returns the body bytes."""
        if isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.routes.setdefault(path, []).append((status, headers or {}, data))
        return data

    def add_special(self, path: str, kind: str) -> None:
        self.routes.setdefault(path, []).append(kind)

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.requests.append((self.path, dict(self.headers)))
            queue = state.routes.get(self.path)
            spec = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else (404, {}, b"no such page")
            if spec == RESET:
                self.close_connection = True
                return
            if spec == SLOW:
                time.sleep(1.0)
                spec = (200, {}, b"[]")
            status, headers, body = spec
            try:
                self.send_response(status)
                for name, value in headers.items():
                    for item in value if isinstance(value, list) else [value]:
                        self.send_header(name, item)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "RETRY_DELAYS", (0.01, 0.02))


def read(url: str, fmt: str = "json", **kw: object) -> tuple[TableInfo, pd.DataFrame, list[int]]:
    info, chunks = open_table(url, ReadOptions(format=fmt, **kw))
    listed = list(chunks)
    frame = pd.concat([c.frame for c in listed]) if listed else pd.DataFrame(columns=list(info.columns))
    return info, frame, [c.first_row for c in listed]


def sha(*bodies: bytes) -> str:
    return hashlib.sha256(b"".join(bodies)).hexdigest()


def test_json_with_next_path_relative_and_absolute(server: Server) -> None:
    b1 = server.add("/uc", {"data": [{"month": "2024-01", "value": 1}, {"month": "2024-02", "value": 2}],
                            "links": {"next": "/uc?page=2"}})
    b2 = server.add("/uc?page=2", {"data": [{"month": "2024-03", "value": 3, "area": {"code": "E1"}}],
                                   "links": {"next": server.url("/uc?page=3")}})
    b3 = server.add("/uc?page=3", {"data": [{"month": "2024-04", "value": None}], "links": {"next": None}})
    info, frame, firsts = read(server.url("/uc"), records_path="data", next_path="links.next",
                               expected_columns=("Month", "value"), chunk_rows=3)
    assert info.location == server.url("/uc") and info.header_row == 0
    assert info.columns == ("month", "value", "area.code")
    assert info.sha256 == sha(b1, b2, b3)
    assert firsts == [1, 4]
    assert frame.values.tolist() == [["2024-01", 1, None], ["2024-02", 2, None], ["2024-03", 3, "E1"],
                                     ["2024-04", None, None]]
    assert [p for p, _ in server.requests] == ["/uc", "/uc?page=2", "/uc?page=3"]
    assert all(h.get("User-Agent") == "whytrend" for _, h in server.requests)


def test_json_with_page_param_until_an_empty_page(server: Server) -> None:
    bodies = [server.add(f"/p?region=NE&page={n}", {"items": [{"n": n}, {"n": n * 10}]}) for n in (1, 2, 3)]
    bodies.append(server.add("/p?region=NE&page=4", {"items": []}))
    info, frame, _ = read(server.url("/p?region=NE"), records_path="items", page_param="page")
    assert frame["n"].tolist() == [1, 10, 2, 20, 3, 30]
    assert frame.index.tolist() == [1, 2, 3, 4, 5, 6]
    assert info.sha256 == sha(*bodies)


def test_json_with_link_header(server: Server) -> None:
    link = f'<{server.url("/l?cursor=x")}>; rel="next", <{server.url("/l?cursor=z")}>; rel="last"'
    b1 = server.add("/l", [{"a": 1}], headers={"Link": [link]})
    b2 = server.add("/l?cursor=x", [{"a": 2, "b": True}], headers={"Link": '</l?cursor=z>; rel="prev"'})
    info, frame, _ = read(server.url("/l"))
    assert info.columns == ("a", "b") and frame.values.tolist() == [[1, None], [2, "true"]]
    assert info.sha256 == sha(b1, b2)
    assert server.hits("/l?cursor=z") == 0


def test_csv_over_http_with_link_pages_repeating_the_header(server: Server) -> None:
    b1 = server.add("/c.csv", "Title\nmonth,value\n2024-01,1\n2024-02,2\n", headers={"Link": '</c.csv?page=2>; rel="next"'})
    b2 = server.add("/c.csv?page=2", "Title\nmonth,value\n2024-03,3\n")
    info, frame, firsts = read(server.url("/c.csv"), "csv", expected_columns=("value",))
    assert info.location == server.url("/c.csv") and info.header_row == 2 and info.notes == ("Title",)
    assert info.columns == ("month", "value") and info.sha256 == sha(b1, b2)
    assert frame.values.tolist() == [["2024-01", "1"], ["2024-02", "2"], ["2024-03", "3"]]
    assert frame.index.tolist() == [3, 4, 5] and firsts == [3]


def test_csv_pages_with_different_headers(server: Server) -> None:
    server.add("/c.csv", "month,value\n2024-01,1\n", headers={"Link": '</c2.csv>; rel="next"'})
    server.add("/c2.csv", "month,amount\n2024-02,2\n")
    with pytest.raises(ReadError, match=r"Page 2 of .* has columns 'month', 'amount' but page 1 has 'month', 'value'"):
        read(server.url("/c.csv"), "csv")


def test_workbook_over_http(server: Server, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["month", "value"])
    book.active.append(["2024-01", 5])
    book.save(tmp_path / "w.xlsx")
    body = server.add("/w.xlsx", (tmp_path / "w.xlsx").read_bytes())
    info, frame, _ = read(server.url("/w.xlsx"), "xlsx")
    assert frame.values.tolist() == [["2024-01", 5]] and info.sha256 == sha(body)


def test_404_names_status_and_url(server: Server) -> None:
    url = server.url("/missing.json")
    with pytest.raises(ReadError) as excinfo:
        read(url)
    assert str(excinfo.value) == f"GET {url} failed with HTTP 404 Not Found - check the url in the manifest."
    assert server.hits("/missing.json") == 1  # 4xx is not retried


def test_503_then_200_is_retried(server: Server) -> None:
    server.add("/flaky", "busy", status=503)
    server.add("/flaky", [{"a": 1}])
    _, frame, _ = read(server.url("/flaky"))
    assert frame.values.tolist() == [[1]] and server.hits("/flaky") == 2


def test_persistent_503_gives_up_after_three_attempts(server: Server) -> None:
    server.add("/down", "busy", status=503)
    with pytest.raises(ReadError) as excinfo:
        read(server.url("/down"))
    assert str(excinfo.value) == (
        f"GET {server.url('/down')} failed with HTTP 503 Service Unavailable after 3 attempts; the server is failing, try "
        "again later."
    )
    assert server.hits("/down") == 3


def test_dropped_connection_is_retried(server: Server) -> None:
    server.add_special("/reset", RESET)
    server.add("/reset", [{"a": 1}])
    _, frame, _ = read(server.url("/reset"))
    assert frame.values.tolist() == [[1]] and server.hits("/reset") == 2


def test_timeout(server: Server) -> None:
    server.add_special("/slow", SLOW)
    with pytest.raises(ReadError, match=r"GET .*/slow timed out after 0.2 s\. Try again later, or raise timeout"):
        read(server.url("/slow"), timeout=0.2)


def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ReadError, match=rf"GET http://127.0.0.1:{port}/x failed: .*refused.*Check the url"):
        read(f"http://127.0.0.1:{port}/x")


def test_non_json_body(server: Server) -> None:
    server.add("/html", "<!DOCTYPE html><html><body>Maintenance</body></html>", headers={"Content-Type": "text/html"})
    with pytest.raises(ReadError) as excinfo:
        read(server.url("/html"))
    assert str(excinfo.value) == (
        f"The response from {server.url('/html')} is not JSON (Content-Type text/html); it starts with "
        "'<!DOCTYPE html><html><body>Maintenance</body></html>'. Check the url, or set format = \"csv\" if the source is CSV."
    )


def test_records_path_missing_key_lists_the_keys(server: Server) -> None:
    server.add("/r", {"result": {"data": [], "meta": {}}})
    with pytest.raises(ReadError) as excinfo:
        read(server.url("/r"), records_path="result.items")
    assert str(excinfo.value) == (
        f"Key 'items' of records_path 'result.items' not found in the JSON from {server.url('/r')}: "
        "'result' is an object with keys 'data', 'meta'. Set records_path in the manifest to the key that holds the list of "
        "records."
    )


def test_body_object_without_records_path_suggests_one(server: Server) -> None:
    server.add("/o", {"meta": {}, "rows": [{"a": 1}]})
    with pytest.raises(ReadError, match=r"it is an object with keys 'meta', 'rows'\. Set records_path = \"rows\""):
        read(server.url("/o"))


def test_non_object_records(server: Server) -> None:
    server.add("/n", {"data": [{"a": 1}, 42]})
    with pytest.raises(ReadError) as excinfo:
        read(server.url("/n"), records_path="data")
    assert str(excinfo.value).startswith(
        f"Record 2 of the JSON from {server.url('/n')} is a number (42), not an object with named fields."
    )


def test_missing_expected_fields(server: Server) -> None:
    server.add("/f", [{"month": "2024-01", "amount": 1}])
    with pytest.raises(ReadError, match=r"Fields 'value' not found in the records of .*/f; the records have: 'month', 'amount'"):
        read(server.url("/f"), expected_columns=("month", "value"))


def test_empty_record_list_is_not_an_error(server: Server) -> None:
    server.add("/e", {"data": []})
    info, frame, firsts = read(server.url("/e"), records_path="data", expected_columns=("month",))
    assert info.columns == ("month",) and firsts == [] and info.warnings == (f"{server.url('/e')} has no records.",)


def test_max_pages_stops_with_a_message(server: Server) -> None:
    for n in range(1, 6):
        server.add(f"/m?page={n}", {"data": [{"n": n}], "next": f"/m?page={n + 1}"})
    with pytest.raises(ReadError) as excinfo:
        read(server.url("/m?page=1"), records_path="data", next_path="next", max_pages=3)
    assert str(excinfo.value).startswith(
        f"Stopped after 3 pages of {server.url('/m?page=1')}: the API still offers a next page ({server.url('/m?page=4')})."
    )


def test_next_link_loop_is_detected(server: Server) -> None:
    server.add("/loop", {"data": [{"n": 1}], "next": "/loop"})
    with pytest.raises(ReadError, match="which was already read; stopping to avoid a loop"):
        read(server.url("/loop"), records_path="data", next_path="next")


def test_link_header_parsing() -> None:
    from email.message import Message

    headers = Message()
    headers["Link"] = '<https://a.example/x?p=1>; rel="prev first", <https://a.example/x?p=3>; rel="next"; title="n"'
    assert api.next_link(headers) == "https://a.example/x?p=3"
    assert api.with_query("https://a.example/x?p=1&q=2", "p", 5) == "https://a.example/x?q=2&p=5"
