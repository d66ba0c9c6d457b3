"""HTTP sources: JSON records or CSV with pagination, or a single workbook.

Everything is downloaded before the table is described, because ``TableInfo.sha256`` covers
all response bodies and the JSON columns are the union of the keys of every record. Only the
standard library is used (``urllib.request``), with a ``whytrend`` User-Agent, a timeout and
two retries with a short pause on 5xx answers and dropped connections.

Responses are untrusted: each body is streamed in 64 KB blocks and the download stops at
``Limits.max_download_mb`` (all pages of a source together), and one deadline
(``Limits.http_deadline_s``) covers every page and retry, so a server that trickles bytes
or sends without end cannot hold a load; ``Limits.http_timeout_s`` bounds each wait.

Pagination, in this order of preference: ``next_path`` (a dotted path to the next URL in the
JSON body; absolute or relative), ``page_param`` (a query parameter counted from 1 until a page
has no records), else an RFC 8288 ``Link: <...>; rel="next"`` header. CSV pages each repeat
the header; their rows are numbered as if the pages were one file with the header once.
JSON records become a table as in :mod:`loaders.readers.records`.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from email.message import Message
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pandas as pd

from loaders.errors import LimitError, ReadError
from loaders.limits import Limits, megabytes, setting

from .base import ReadOptions, Source, TableChunk, TableInfo
from .csv import read_csv_source
from .records import describe, dig, objects, parse_json, records_at, records_table
from .spreadsheet import read_spreadsheet_source

log = logging.getLogger(__name__)

USER_AGENT = "whytrend"
#: Pauses before the second and third attempts.
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0)
_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """One downloaded response: the URL it finally came from, its body and headers."""

    url: str
    body: bytes
    headers: Message


class Budget:
    """What one URL source may still cost: bytes (all pages together) and time (one deadline for
    every page and retry), from :class:`loaders.limits.Limits`."""

    def __init__(self, source: str, limits: Limits, timeout: float | None = None) -> None:
        self.source, self.limits = source, limits
        self.timeout = timeout if timeout is not None else limits.http_timeout_s
        self.started = time.monotonic()
        self.deadline = self.started + limits.http_deadline_s
        self.used = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check_time(self, url: str, slack: float = 0.0) -> None:
        """A LimitError once the deadline has passed (or is within ``slack`` seconds)."""
        if self.remaining() <= slack:
            raise LimitError(
                f"GET {url} did not finish: reading {self.source} took more than {self.limits.http_deadline_s:g} s "
                f"in all, the limit for one URL source. The server is too slow or sends without end; try again "
                f"later, or raise {setting('http_deadline_s')} (seconds) where whytrend runs."
            )

    def take(self, url: str, size: int, *, announced: bool = False) -> None:
        """Count ``size`` more bytes (``announced``: only check a Content-Length); over
        ``max_download_mb`` is a LimitError."""
        total = self.used + size
        if not announced:
            self.used = total
        if total > self.limits.max_download_bytes:
            done = f"announced {megabytes(size)}" if announced else f"stopped after {megabytes(total)}"
            raise LimitError(
                f"GET {url} {done}: {self.source} sends more than "
                f"{self.limits.max_download_mb:g} MB, the download limit for one URL source (every page counts). "
                f"Check the url and the pagination settings in the manifest; if the data really is that large, "
                f"download it and load the file, or raise {setting('max_download_mb')} where whytrend runs."
            )


def _read_body(response: http.client.HTTPResponse, url: str, budget: Budget) -> bytes:
    """The body in 64 KB blocks, stopping at the download limit or the deadline (each wait for bytes
    is bounded by the socket timeout, shortened to what is left of the deadline)."""
    declared = response.headers.get("Content-Length")
    if declared and declared.strip().isdigit():
        budget.take(url, int(declared), announced=True)  # refused before reading when the server says so
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    body = bytearray()
    while True:
        budget.check_time(url)
        if sock is not None and not response.isclosed():
            try:
                sock.settimeout(max(0.01, min(budget.timeout, budget.remaining())))
            except OSError:  # closed by http.client at the end of the body
                pass
        block = response.read1(1 << 16)  # what one recv gives: read() would wait to fill 64 KB of a trickle
        if not block:
            return bytes(body)
        budget.take(url, len(block))
        body += block


def fetch(url: str, timeout: float | None = None, budget: Budget | None = None) -> Page:
    """GET a URL, retrying 5xx answers and reset connections; every failure is a ReadError, and going
    over the download size or time limits of ``budget`` a LimitError."""
    budget = budget or Budget(url, Limits.from_env(), timeout)
    timeout = budget.timeout
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    attempts = len(RETRY_DELAYS) + 1
    for attempt in range(attempts):
        retry = attempt < len(RETRY_DELAYS)
        budget.check_time(url)
        wait = max(0.01, min(timeout, budget.remaining()))
        try:
            with urllib.request.urlopen(request, timeout=wait) as response:
                return Page(url=response.geturl(), body=_read_body(response, url, budget), headers=response.headers)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 and retry:
                log.info("GET %s: HTTP %s, retrying", url, exc.code)
            else:
                raise ReadError(_status_message(url, exc.code, str(exc.reason), attempt + 1)) from None
        except (ConnectionResetError, http.client.RemoteDisconnected, http.client.IncompleteRead) as exc:
            if not retry:
                raise ReadError(f"GET {url} failed: the server closed the connection ({exc}) {attempts} times. Try again "
                                "later.") from None
            log.info("GET %s: %s, retrying", url, exc)
        except TimeoutError:
            budget.check_time(url, slack=0.05)
            raise ReadError(_timed_out(url, timeout)) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                budget.check_time(url, slack=0.05)
                raise ReadError(_timed_out(url, timeout)) from None
            if isinstance(reason, ConnectionResetError) and retry:
                log.info("GET %s: %s, retrying", url, reason)
            else:
                raise ReadError(f"GET {url} failed: {reason}. Check the url in the manifest and the network "
                                "connection.") from None
        except (ValueError, OSError, http.client.HTTPException) as exc:
            raise ReadError(f"GET {url} failed: {type(exc).__name__} {exc}. Check the url in the manifest.") from None
        time.sleep(min(RETRY_DELAYS[attempt], max(0.0, budget.remaining())))
    raise AssertionError("unreachable")  # pragma: no cover


def _timed_out(url: str, timeout: float) -> str:
    return (f"GET {url} timed out after {timeout:g} s. Try again later, or raise timeout with "
            f"{setting('http_timeout_s')} (seconds to connect or to wait for more data) where whytrend runs.")


def _status_message(url: str, code: int, reason: str, attempts: int) -> str:
    if code >= 500:
        hint = f"after {attempts} attempts; the server is failing, try again later."
    elif code in (401, 403):
        hint = "- the server refused access (whytrend sends no credentials)."
    elif code == 429:
        hint = "- too many requests; try again later."
    else:
        hint = "- check the url in the manifest."
    return f"GET {url} failed with HTTP {code} {reason} {hint}"


def next_link(headers: Message) -> str | None:
    """The rel="next" target of RFC 8288 Link headers, or None."""
    for value in headers.get_all("Link") or []:
        for target, params in _LINK.findall(value):
            for param in params.split(";"):
                key, _, rel = param.strip().partition("=")
                if key.strip().lower() == "rel" and "next" in rel.strip().strip('"').lower().split():
                    return target
    return None


def with_query(url: str, name: str, value: int) -> str:
    """``url`` with query parameter ``name`` set to ``value`` (replacing any existing one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, str(value))])))


def crawl(start: str, options: ReadOptions, parse: Callable[[Page, int], tuple[T, int, Any]]) -> tuple[list[T], str]:
    """Fetch every page, returning each page's parsed result and the SHA-256 of all bodies.

    ``parse(page, number)`` returns (result, number of records, parsed JSON or None).
    """
    digest = hashlib.sha256()
    results: list[T] = []
    seen: set[str] = set()
    budget = Budget(start, options.limits, options.timeout)
    url = with_query(start, options.page_param, 1) if options.page_param else start
    number = 1
    while True:
        if url in seen:
            raise ReadError(f"The next page of {start} is {url} again, which was already read; stopping to avoid a loop. "
                            "Check next_path in the manifest.")
        seen.add(url)
        page = fetch(url, budget=budget)
        digest.update(page.body)
        result, count, doc = parse(page, number)
        if options.page_param and count == 0:
            if number == 1:
                results.append(result)  # keeps the header of an empty CSV
            break
        results.append(result)
        following = _following(page, doc, count, number, start, options)
        if following is None:
            break
        if number >= options.max_pages:
            raise ReadError(
                f"Stopped after {options.max_pages} pages of {start}: the API still offers a next page ({following}). "
                "Raise max_pages in the manifest if the data really has that many pages, or check the pagination settings."
            )
        number += 1
        url = following
    log.info("GET %s: %d page(s)", start, len(results))
    return results, digest.hexdigest()


def _following(page: Page, doc: Any, count: int, number: int, start: str, options: ReadOptions) -> str | None:
    if options.next_path:
        value = dig(doc, options.next_path) if doc is not None else None
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            raise ReadError(f"next_path '{options.next_path}' in the JSON from {page.url} is {describe(value)}, not a URL. "
                            "Check next_path in the manifest.")
        return urljoin(page.url, value)
    if options.page_param:
        return with_query(start, options.page_param, number + 1)
    target = next_link(page.headers)
    return urljoin(page.url, target) if target else None


def read_http(url: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for http(s) URLs: JSON or CSV with pagination, or a single workbook."""
    if options.format == "json":
        return _read_http_json(url, options)
    if options.format == "csv":
        return _read_http_csv(url, options)
    page = fetch(url, budget=Budget(url, options.limits, options.timeout))
    digest = hashlib.sha256(page.body).hexdigest()
    return read_spreadsheet_source(Source(name=url, data=page.body), options, options.format, sha256=digest)


def _read_http_json(url: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    def parse(page: Page, number: int) -> tuple[list[dict[str, Any]], int, Any]:
        origin = f"the JSON from {page.url}" + (f" (page {number})" if number > 1 else "")
        doc = parse_json(page.body, f"The response from {page.url}", page.headers.get("Content-Type"), options.limits)
        records = objects(records_at(doc, options.records_path, origin), origin)
        return records, len(records), doc

    pages, digest = crawl(url, options, parse)
    return records_table([r for page in pages for r in page], options, url, digest)


def _read_http_csv(url: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    if options.next_path:
        raise ReadError(f"next_path applies to JSON, but the source {url} has format = \"csv\". Remove next_path, or use "
                        "page_param.")

    def parse(page: Page, number: int) -> tuple[tuple[TableInfo, list[TableChunk]], int, None]:
        info, chunks = read_csv_source(Source(name=page.url, data=page.body), replace(options, chunk_rows=10**9))
        listed = list(chunks)
        return (info, listed), sum(len(c.frame) for c in listed), None

    pages, digest = crawl(url, options, parse)
    first = pages[0][0]
    frames: list[pd.DataFrame] = []
    next_row: int | None = None  # page 1 keeps its own row numbers; later pages continue them
    warnings = list(first.warnings)
    for number, (info, chunks) in enumerate(pages, start=1):
        if info.columns != first.columns:
            raise ReadError(f"Page {number} of {url} has columns {', '.join(map(repr, info.columns))} but page 1 has "
                            f"{', '.join(map(repr, first.columns))}. The pages must share one header.")
        warnings.extend(w for w in info.warnings if w not in warnings)
        for chunk in chunks:
            frame = chunk.frame
            if number > 1:
                frame = frame.copy()
                start = next_row or first.header_row + 1
                frame.index = pd.RangeIndex(start, start + len(frame))
            next_row = int(frame.index[-1]) + 1
            frames.append(frame)
    info = replace(first, location=url, warnings=tuple(warnings), sha256=digest)
    return info, _rechunk(frames, options.chunk_rows)


def _rechunk(frames: list[pd.DataFrame], chunk_rows: int) -> Iterator[TableChunk]:
    if not frames:
        return
    whole = pd.concat(frames)
    step = max(1, chunk_rows)
    for start in range(0, len(whole), step):
        frame = whole.iloc[start : start + step]
        yield TableChunk(frame=frame, first_row=int(frame.index[0]))
