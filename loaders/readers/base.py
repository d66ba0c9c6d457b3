"""Shared types of the readers: options, table description, chunks, and where bytes come from.

Kept apart from ``__init__`` so that every reader module can import them without a cycle.
"""
from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from loaders.errors import ReadError

from .header import is_blank, name_key

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
    encoding: str | None = None  # None = detect (BOM, UTF-8, cp1252)
    chunk_rows: int = 250_000
    # HTTP only
    records_path: str | None = None  # dotted path to the list of records in a JSON body ('result.items')
    next_path: str | None = None  # dotted path to the next page URL in a JSON body ('links.next')
    page_param: str | None = None  # query parameter counted from 1 until a page has no records
    timeout: float = 30.0  # seconds per request
    max_pages: int = 10_000


@dataclass(frozen=True)
class TableInfo:
    """What was found before the data: header position and names, notes, warnings.

    ``columns`` are the cleaned names as spelled in the file, in file order; use
    :meth:`column` to find the one a manifest names (case- and whitespace-insensitive).
    ``header_row`` is 1-based (0 for JSON records). ``sha256`` covers the HTTP bodies; it is
    None for files, which the caller hashes with :func:`file_sha256`.
    """

    location: str
    sheet: str | None
    header_row: int
    columns: tuple[str, ...]
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    sha256: str | None

    def column(self, name: str) -> str | None:
        """The column matching ``name`` the way expected columns match, or None."""
        wanted = name_key(name)
        for column in self.columns:
            if name_key(column) == wanted:
                return column
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
        """A fresh binary stream positioned at the start."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None  # constructed by from_path or with data
        return open(self.path, "rb")

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size

    @classmethod
    def from_path(cls, location: str | os.PathLike[str]) -> Source:
        """Check the file exists and is a readable file, so later errors are about content."""
        name = os.fspath(location)
        path = Path(name).expanduser()
        resolved = path.resolve()
        if not path.exists():
            raise ReadError(
                f"File not found: {resolved} (given as '{name}'). Check the path in the manifest; "
                "paths are relative to the manifest file."
            )
        if path.is_dir():
            raise ReadError(f"{resolved} is a folder, not a file. Give the path of the data file itself.")
        if not os.access(path, os.R_OK):
            raise ReadError(f"{resolved} cannot be read: permission denied. Check the file's permissions.")
        return cls(name=name, path=path)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MB blocks so large files need no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
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
