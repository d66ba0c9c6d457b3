"""Shared types of the readers: options, table description, chunks, and where bytes come from.

Kept apart from ``__init__`` so that every reader module can import them without a cycle.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from loaders.errors import LimitError, ReadError
from loaders.limits import Limits, megabytes, setting

from .header import column_reference, is_blank, name_key

#: File extensions and the format they imply (``format_from_path``).
EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".ods": "ods",
    ".json": "json",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read one source; built by the loader from a manifest ``[[source]]``."""

    format: str  # 'csv' | 'xlsx' | 'ods' | 'json'
    sheet: str | None = None  # spreadsheets: sheet name (default: the first worksheet)
    skip_rows: int | None = None  # rows above the header; None = find it
    expected_columns: tuple[str, ...] = ()  # names the caller needs: find the header, forbid duplicates
    header_rows: int = 1  # rows the header spans (names joined top to bottom: header.join_header_rows)
    section_column: str | None = None  # name of the column that carries section label rows (layout.py)
    last_row: int | None = None  # the table's last row in the file (rows below are not read)
    end: str = "auto"  # where the table ends: "auto" (layout.py), "blank" (first blank row), "sheet"
    encoding: str | None = None  # None = detect (BOM, UTF-8, cp1252)
    chunk_rows: int = 250_000
    # HTTP only
    records_path: str | None = None  # dotted path to the list of records in a JSON body ('result.items')
    next_path: str | None = None  # dotted path to the next page URL in a JSON body ('links.next')
    page_param: str | None = None  # query parameter counted from 1 until a page has no records
    timeout: float | None = None  # seconds to connect / wait for bytes; None = limits.http_timeout_s
    max_pages: int = 10_000
    #: what reading may cost (file size, rows, columns, cells, unzipped size, nesting, downloads)
    limits: Limits = field(default_factory=Limits.from_env)


@dataclass(frozen=True)
class TableInfo:
    """What was found before the data: header position and names, notes, warnings.

    ``columns`` are the cleaned names as spelled in the file, in file order; use
    :meth:`column` to find the one a manifest names (case- and whitespace-insensitive).
    ``header_row`` is 1-based (0 for JSON records). ``sha256`` covers the HTTP bodies; it is
    None for files, which the caller hashes with :func:`file_sha256`. ``positions`` are the cell
    positions the columns came from (for references by letter), ``header_cells`` the header's
    rows cut to those positions (to recognise a header repeated in the data), and
    ``late_warnings`` collects what is noticed while the chunks are read (a table that ends
    early, repeated headers), to be reported once they have been.
    """

    location: str
    sheet: str | None
    header_row: int
    columns: tuple[str, ...]
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    sha256: str | None
    positions: tuple[int, ...] = ()
    header_cells: tuple[tuple[str, ...], ...] = ()
    label_above: str = ""  # a one-cell label row directly above the header: the first section, if any
    late_warnings: list[str] = field(default_factory=list, compare=False)

    def column(self, name: str) -> str | None:
        """The column matching ``name`` the way expected columns match, else the column at the
        position ``name`` refers to ("column C", "C", "column 3": see ``header.column_reference``),
        or None."""
        wanted = name_key(name)
        for column in self.columns:
            if name_key(column) == wanted:
                return column
        position = column_reference(name)
        if position is not None and position in self.positions:
            return self.columns[self.positions.index(position)]
        return None


@dataclass(frozen=True)
class TableChunk:
    """A block of consecutive data rows.

    ``frame`` has object dtype and ``TableInfo.columns``; cells are str / int / float /
    datetime / None (CSV: always str, '' for empty). ``frame.index`` holds the 1-based row
    numbers too (``first_row + i``), so a consumer that filters rows keeps the numbers a user
    sees in Excel or a text editor.
    """

    frame: pd.DataFrame
    first_row: int


@dataclass(frozen=True)
class Source:
    """Bytes to read: a local file (``path``) or a downloaded body (``data``).

    ``name`` is the location as the user gave it and is what messages show.
    """

    name: str
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> BinaryIO:
        """A fresh binary stream positioned at the start (a path must still be a regular file)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None  # constructed by from_path or with data
        return open_regular(self.path, self.name)

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    @classmethod
    def from_path(cls, location: str | os.PathLike[str], limits: Limits | None = None) -> Source:
        """Check the path is a readable regular file within the size limit, so later errors are
        about content (and a FIFO or a device is refused before anything tries to read it)."""
        name = os.fspath(location)
        path = Path(name).expanduser()
        check_regular_file(path, name, limits or Limits.from_env())
        if not os.access(path, os.R_OK):
            raise ReadError(f"{path.resolve()} cannot be read: permission denied. Check the file's permissions.")
        return cls(name=name, path=path)


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int, resolved: Path) -> ReadError | None:
    """The message for anything but a regular file, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return ReadError(f"{resolved} is a folder, not a file. Give the path of the data file itself.")
    kind = next((label for test, label in _NOT_REGULAR if test(mode)), "not a regular file")
    return ReadError(
        f"{resolved} is {kind}, not a regular file; whytrend reads only regular files (a pipe or device could "
        "make a load wait forever or never end). Save the data to a file and give the path of that file."
    )


def check_regular_file(path: str | os.PathLike[str], name: str | None = None,
                       limits: Limits | None = None) -> os.stat_result:
    """``os.stat`` the path (which never blocks, unlike opening a FIFO) and refuse anything that is
    not a regular file within ``limits.max_file_mb``, with one paragraph saying what and where."""
    given = os.fspath(path) if name is None else name
    path = Path(path)
    resolved = path.resolve()
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ReadError(
            f"File not found: {resolved} (given as '{given}'). Check the path in the manifest; "
            "paths are relative to the manifest file."
        ) from None
    except PermissionError:
        raise ReadError(f"{resolved} cannot be read: permission denied. Check the file's permissions.") from None
    except OSError as exc:
        raise ReadError(f"{resolved} cannot be read: {exc.strerror or exc}. Check the path in the manifest.") from None
    problem = _not_regular(info.st_mode, resolved)
    if problem:
        raise problem
    limits = limits or Limits.from_env()
    if info.st_size > limits.max_file_bytes:
        raise LimitError(
            f"{resolved} is {megabytes(info.st_size)}, over the limit of {limits.max_file_mb:g} MB for one file. "
            f"Check that this is the right file; if it is, raise the limit with {setting('max_file_mb')} "
            "(in megabytes) where whytrend runs."
        )
    return info


def open_regular(path: str | os.PathLike[str], name: str | None = None) -> BinaryIO:
    """Open a regular file for reading without ever blocking: opened non-blocking (a FIFO would
    otherwise wait for a writer), then refused unless ``fstat`` says it is a regular file (which
    also covers a file swapped for a pipe since it was checked)."""
    resolved = Path(path).resolve()
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        given = os.fspath(path) if name is None else name
        raise ReadError(f"File not found: {resolved} (given as '{given}'). Check the path in the manifest; "
                        "paths are relative to the manifest file.") from None
    except PermissionError:
        raise ReadError(f"{resolved} cannot be read: permission denied. Check the file's permissions.") from None
    except OSError as exc:
        raise ReadError(f"{resolved} cannot be read: {exc.strerror or exc}. Check the path in the manifest.") from None
    try:
        problem = _not_regular(os.fstat(fd).st_mode, resolved)
        if problem:
            raise problem
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_sha256(path: str | os.PathLike[str], limits: Limits | None = None) -> str:
    """Hex SHA-256 of a file, read in 1 MB blocks so large files need no memory (only a regular file
    within the size limit is read: see :func:`check_regular_file`)."""
    check_regular_file(path, limits=limits)
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def format_from_path(path: str | os.PathLike[str]) -> str:
    """The format implied by a file name or URL path extension."""
    text = os.fspath(path)
    if "://" in text:
        from urllib.parse import urlsplit

        text = urlsplit(text).path
    suffix = Path(text).suffix.lower()
    try:
        return EXTENSIONS[suffix]
    except KeyError:
        known = ", ".join(sorted(set(EXTENSIONS.values())))
        raise ReadError(
            f"Cannot tell the format of '{os.fspath(path)}' from its extension "
            f"('{suffix or 'none'}'). Add format = \"csv\" (or one of {known}) to the source "
            "in the manifest."
        ) from None


def footer_text(row: Sequence[object], first_column: int) -> str | None:
    """The text of a notes row below the data (one non-empty cell, at or left of the table's
    first column), or None when the row is anything else."""
    filled = [i for i, cell in enumerate(row) if not is_blank(cell)]
    if len(filled) != 1 or filled[0] > first_column:
        return None
    cell = row[filled[0]]
    return cell.strip() if isinstance(cell, str) else None


def describe_dropped(texts: Sequence[str], rows: str, where: object) -> str:
    """Warning for notes rows dropped below the data."""
    shown = "; ".join(f"'{t[:80]}'" for t in texts[:5])
    more = f" and {len(texts) - 5} more" if len(texts) > 5 else ""
    noun = "row" if len(texts) == 1 else "rows"
    return f"Dropped {len(texts)} text {noun} below the data of {where} ({rows}): {shown}{more}."


def chunks_from_rows(
    rows: Sequence[Sequence[object]],
    positions: Sequence[int],
    columns: Sequence[str],
    first_row: int,
    chunk_rows: int,
) -> Iterator[TableChunk]:
    """Cut in-memory rows (spreadsheets, JSON) into object-dtype frames of the kept columns."""
    step = max(1, chunk_rows)
    for start in range(0, len(rows), step):
        block = rows[start : start + step]
        data = [[row[p] if p < len(row) else None for p in positions] for row in block]
        index = pd.RangeIndex(first_row + start, first_row + start + len(block))
        frame = pd.DataFrame(data, columns=list(columns), index=index, dtype=object)
        yield TableChunk(frame=frame, first_row=first_row + start)


class RowGuard:
    """Counts the rows and cells of a table held in memory (spreadsheets, JSON) as they are read,
    and stops with a :class:`LimitError` at the first row over ``limits``: more rows than
    ``max_rows``, a row wider than ``max_columns``, more cells in all than ``max_cells``, or a
    text cell longer than ``max_cell_chars``. ``where`` names the table (a ``header.Where``)."""

    def __init__(self, where: object, limits: Limits) -> None:
        self.where, self.limits = where, limits
        self.rows = 0
        self.cells = 0

    def add(self, row: Sequence[object], number: int) -> None:
        """Account for one row (``number``: the row as the user sees it)."""
        limits, where = self.limits, self.where
        self.rows += 1
        if self.rows > limits.max_rows:
            raise LimitError(
                f"{where} has more than {limits.max_rows:,} rows (stopped at row {number}), over the limit of "
                f"{limits.max_rows:,} rows in one table. Check that this is the right file; if it is, raise "
                f"{setting('max_rows')} where whytrend runs."
            )
        width = len(row)
        if width > limits.max_columns:
            raise LimitError(
                f"Row {number} of {where} has {width:,} cells, over the limit of {limits.max_columns:,} columns. "
                f"Check that this is the right file; if the table really is that wide, raise "
                f"{setting('max_columns')} where whytrend runs."
            )
        self.cells += width
        if self.cells > limits.max_cells:
            raise LimitError(
                f"{where} holds more than {limits.max_cells:,} cells by row {number}, over the limit for a table "
                f"read whole into memory. Load a smaller table (or save it as CSV, which is streamed); if it is "
                f"expected, raise {setting('max_cells')} where whytrend runs."
            )
        most = limits.max_cell_chars
        for index, cell in enumerate(row):
            if isinstance(cell, str) and len(cell) > most:
                raise cell_too_long(where, number, _column_label(where, index), len(cell), limits)


def _column_label(where: object, index: int) -> str:
    column = getattr(where, "column", None)
    return column(index) if callable(column) else str(index + 1)


def cell_too_long(where: object, row: int, column: str, length: int, limits: Limits) -> LimitError:
    """The message for a cell over ``max_cell_chars`` (shared by every reader)."""
    return LimitError(
        f"Row {row}, column {column} of {where} holds {length:,} characters, over the limit of "
        f"{limits.max_cell_chars:,} characters in one cell. Check the file (a quote that is never closed can "
        f"swallow many lines into one cell); if the cell is right, raise {setting('max_cell_chars')} where "
        "whytrend runs."
    )
