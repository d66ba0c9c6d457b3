"""Read and validate a source as a stream of events, in this process or in a worker process.

SQLite writes one row at a time and that, not parsing, bounds a load (docs/performance.md). For a
large CSV a worker process reads, validates and reshapes the next chunks while this process
inserts the current ones, so the two cores overlap. Events are ``("info", TableInfo)``, then
``("chunk", CleanChunk)`` any number of times, then ``("report", ValidationReport)``; a
failure is re-raised here as the same typed error.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
from typing import Iterator, cast

from .errors import ReadError, WhytrendError
from .manifest import Manifest, Source
from .readers import ReadOptions, open_table
from .validate import CleanChunk, ValidationReport, add_late_warnings, check_header, normalise_chunk, period_columns

log = logging.getLogger(__name__)

#: CSV files at least this large are read by a worker process
PARALLEL_BYTES = 16 * 1024 * 1024
_CATEGORICAL = ("metric", "area", "area_name", "breakdown", "freq", "period", "status")


def events(location: str, source: Source, manifest: Manifest, options: ReadOptions,
           shown_as: str | None = None) -> Iterator[tuple[str, object]]:
    """Read, validate and reshape in this process. ``shown_as``: the file's name for people, in every
    problem and quarantine reason (an upload is saved under a private path the user never chose)."""
    info, chunks = open_table(location, options)
    yield "info", info
    report = ValidationReport(source.id, shown_as or location, info.sheet)
    columns = check_header(info, source, report)
    if not report.failed():
        wide = period_columns(info, source) if source.layout == "wide_by_period" else None
        for chunk in chunks:
            yield "chunk", normalise_chunk(chunk, info, source, manifest, columns, report, wide)
        add_late_warnings(info, report)
    yield "report", report


def parallel_worth_it(location: str, source: Source) -> bool:
    if source.url or source.format != "csv" or "fork" not in mp.get_all_start_methods():
        return False
    try:
        return os.path.getsize(location) >= PARALLEL_BYTES
    except OSError:
        return False


def parallel_events(location: str, source: Source, manifest: Manifest,
                    options: ReadOptions, shown_as: str | None = None) -> Iterator[tuple[str, object]]:
    """The same events, produced by a forked worker process (bounded queue: at most a few
    chunks in flight, so memory stays flat)."""
    context = mp.get_context("fork")
    channel = context.Queue(maxsize=3)
    worker = context.Process(target=_produce, args=(channel, location, source, manifest, options, shown_as),
                             daemon=True)
    worker.start()
    try:
        while True:
            try:
                kind, payload = channel.get(timeout=5)
            except queue.Empty:
                if not worker.is_alive():
                    raise ReadError(f"Reading {location} stopped unexpectedly (worker exit code "
                                    f"{worker.exitcode}). Try again; if it repeats, report it with the file.") from None
                continue
            if kind == "error":
                raise payload
            yield kind, payload
            if kind == "report":
                return
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)


def _produce(channel, location: str, source: Source, manifest: Manifest, options: ReadOptions,
             shown_as: str | None = None) -> None:
    try:
        for kind, payload in events(location, source, manifest, options, shown_as):
            if kind == "chunk":
                payload = _compact(cast(CleanChunk, payload))
            channel.put((kind, payload))
    except WhytrendError as exc:
        channel.put(("error", exc))
    except Exception as exc:  # pragma: no cover - a bug: pass it on with its text
        log.exception("worker failed reading %s", location)
        channel.put(("error", ReadError(f"Reading {location} failed: {type(exc).__name__}: {exc}.")))
    finally:
        channel.close()
        channel.join_thread()


def _compact(chunk: CleanChunk) -> CleanChunk:
    """Text columns as categoricals: a chunk pickles as small integer codes, not 250k strings."""
    rows = chunk.rows.astype({c: "category" for c in _CATEGORICAL if c in chunk.rows})
    return CleanChunk(rows, chunk.quarantined)
