"""Readers: turn a file or HTTP response into a table of raw cells.

No database access and no value parsing happen here: cells are returned as the source holds
them (CSV: always text) for ``loaders.values`` and ``loaders.periods`` to interpret. Every
problem a user can cause raises :class:`loaders.errors.ReadError` with a one-paragraph message.

Usage::

    info, chunks = open_table("uc.csv", ReadOptions(format="csv", expected_columns=("month", "value")))
    for chunk in chunks:           # chunk.frame: object dtype, columns == info.columns
        ...                        # chunk.first_row: file row of chunk.frame.iloc[0]

Errors in the data itself (a ragged row far down a CSV) can surface while iterating the chunks,
since large files are streamed.

Files and responses are untrusted: only regular files are opened (never a FIFO or a device), and
``ReadOptions.limits`` (:class:`loaders.limits.Limits`, from the environment by default) bounds
file and download sizes, rows, columns, cells, cell length, unzipped size and JSON nesting; a
breach is a :class:`loaders.errors.LimitError` naming the file, the limit and its setting.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from loaders.errors import ReadError

from .api import read_http
from .base import ReadOptions, TableChunk, TableInfo, check_regular_file, file_sha256, format_from_path
from .csv import read_csv
from .layout import LAID_OUT, apply_layout
from .records import read_json
from .spreadsheet import read_ods, read_xlsx

__all__ = [
    "READERS",
    "URL_READERS",
    "ReadOptions",
    "TableChunk",
    "TableInfo",
    "check_regular_file",
    "file_sha256",
    "format_from_path",
    "open_table",
]

Reader = Callable[[str, ReadOptions], tuple[TableInfo, Iterator[TableChunk]]]

#: Local files: format -> reader.
READERS: dict[str, Reader] = {
    "csv": read_csv,
    "xlsx": read_xlsx,
    "ods": read_ods,
    "json": read_json,
}

#: URLs: scheme -> reader (the HTTP reader handles json and csv, and single workbooks).
URL_READERS: dict[str, Reader] = {
    "http": read_http,
    "https": read_http,
}


def open_table(location: str | os.PathLike[str], options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Describe the table at ``location`` and return an iterator over its data chunks."""
    text = os.fspath(location)
    if options.format not in READERS:
        known = ", ".join(f'"{f}"' for f in READERS)
        raise ReadError(f"Unknown format \"{options.format}\" for {text}; use one of {known}.")
    if options.chunk_rows < 1:
        raise ReadError(f"chunk_rows must be at least 1 (got {options.chunk_rows}) for {text}.")
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme:
        if scheme not in URL_READERS:
            raise ReadError(f"Cannot read {text}: only http and https URLs are supported. Download it and give its path.")
        info, chunks = URL_READERS[scheme](text, options)
    else:
        info, chunks = READERS[options.format](text, options)
    if options.format in LAID_OUT:
        return apply_layout(info, chunks, options)
    return info, chunks
