"""CSV files (and CSV bodies downloaded over HTTP), streamed in chunks.

Why it is built this way:

* A first pass over the bytes checks the encoding (BOM, else UTF-8 if every byte decodes,
  else cp1252 as Excel writes it) and counts lines; it holds one 1 MB block at a time.
* The first ~1,100 records are read with the ``csv`` module, which tolerates title rows of
  any width and reports physical line numbers; the header is found there.
* The data are then parsed by pandas' C engine in chunks of ``chunk_rows`` from a second
  handle positioned just after the header, so memory stays at about one chunk.
* Notes rows below the data ("Source: ...") are found by parsing only the file's last 64 KB,
  so ``TableInfo.warnings`` can name them before the stream starts.

Row numbers are file line numbers. A quoted cell that spans lines counts as one row in the
data, so numbers after such a cell are approximate (short by the extra lines). Fully empty
rows inside the data are kept (as rows of ``''``) so that ``first_row + i`` stays exact;
empty rows at the end are dropped. A file with a header but no data rows is not an error:
it yields no chunks. A 0-byte or blank-only file is a ``ReadError``.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from loaders.errors import LimitError, ReadError
from loaders.limits import Limits, setting

from .base import ReadOptions, Source, TableChunk, TableInfo, cell_too_long, describe_dropped, footer_text
from .header import LOOKAHEAD_ROWS, SCAN_ROWS, Where, find_header, header_cells, is_blank, plan_columns
from .text import TextFacts, first_pass, sniff, text_handle

log = logging.getLogger(__name__)

TAIL_BYTES = 64 * 1024
#: Data rows after the header read with the csv module to decide about unnamed columns.
DATA_SAMPLE_ROWS = 1000

_EXPECTED_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_STRING = re.compile(r"EOF inside string starting at row (\d+)")


def read_csv(location: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for ``format = "csv"`` files."""
    return read_csv_source(Source.from_path(location, options.limits), options)


def read_csv_source(
    source: Source, options: ReadOptions, *, sha256: str | None = None
) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Read CSV from a file or downloaded bytes; see the module docstring."""
    where = Where(source.name)
    limits = options.limits
    text = first_pass(source, options.encoding, where)
    delimiter = sniff(source, text.encoding, where)
    if text.longest >= limits.max_columns:  # only such a line can hold more cells than the limit
        _check_line_widths(source, text.encoding, delimiter, limits, where)
    records, starts, ends = _sample(source, text.encoding, delimiter, options, where)
    header = find_header(
        records, starts, expected=options.expected_columns, skip_rows=options.skip_rows, where=where,
        header_rows=options.header_rows,
    )
    header_row = starts[header.index]
    if text.lines - header_row > limits.max_rows:
        raise LimitError(
            f"{where} has about {text.lines - header_row:,} rows below its header, over the limit of "
            f"{limits.max_rows:,} rows in one table. Check that this is the right file; if it is, raise "
            f"{setting('max_rows')} where whytrend runs."
        )
    width = len(header.cells)
    sample = records[header.index + 1 : header.index + 1 + DATA_SAMPLE_ROWS]
    for row, number in zip(records[: header.index + 1 + DATA_SAMPLE_ROWS], starts):
        for pos, cell in enumerate(row):
            if len(cell) > limits.max_cell_chars:
                raise cell_too_long(where, number, str(pos + 1), len(cell), limits)
    for row, number in zip(sample, starts[header.index + 1 :]):
        _check_width(row, width, number, header_row, where)
    plan = plan_columns(
        header.cells, sample, width=width, expected=options.expected_columns, where=where, header_row=header_row
    )
    first_col = plan.positions[0] if plan.positions else 0
    dropped, footer_warnings = _footer(
        source, text, delimiter, ends[header.index], first_col, len(plan.positions), where
    )
    info = TableInfo(
        location=source.name,
        sheet=None,
        header_row=header_row,
        columns=tuple(plan.columns),
        notes=header.notes,
        warnings=text.warnings + tuple(plan.warnings) + footer_warnings,
        sha256=sha256,
        positions=tuple(plan.positions),
        header_cells=header_cells(header, plan.positions),
        label_above=header.above,
    )
    parse_width = max([width, *(len(r) for r in sample)])
    stream = _Stream(
        source=source, encoding=text.encoding, delimiter=delimiter, skip_lines=ends[header.index],
        width=parse_width, header_width=width, positions=plan.positions, columns=plan.columns,
        first_col=first_col, dropped=dropped, chunk_rows=options.chunk_rows, header_row=header_row, where=where,
        limits=limits, check_cells=text.quoted or text.longest > limits.max_cell_chars,
    )
    return info, iter(stream)


def _check_line_widths(source: Source, encoding: str, delimiter: str, limits: Limits, where: Where) -> None:
    """Refuse a line with more cells than ``max_columns`` before any parser builds that row (a line of
    millions of delimiters would otherwise become millions of cells). Counts delimiters, including any
    inside quotes, so it can only overestimate; only lines at least ``max_columns`` long are counted."""
    with text_handle(source, encoding) as handle:
        for number, line in enumerate(handle, start=1):
            if len(line) >= limits.max_columns and line.count(delimiter) + 1 > limits.max_columns:
                raise LimitError(
                    f"Row {number} of {where} has {line.count(delimiter) + 1:,} cells (separated by "
                    f"{delimiter!r}), over the limit of {limits.max_columns:,} columns. Check that this is the right "
                    f"file and that its rows are not run together; if the table really is that wide, raise "
                    f"{setting('max_columns')} where whytrend runs."
                )


def _sample(
    source: Source, encoding: str, delimiter: str, options: ReadOptions, where: Where
) -> tuple[list[list[str]], list[int], list[int]]:
    """The first records with the physical line each starts and ends on."""
    wanted = max(SCAN_ROWS, (options.skip_rows or 0) + 1) + LOOKAHEAD_ROWS + DATA_SAMPLE_ROWS
    records: list[list[str]] = []
    starts: list[int] = []
    ends: list[int] = []
    most = options.limits.max_cell_chars
    if csv.field_size_limit() <= most:  # the csv module's own cap (131,072) must not undercut the setting
        csv.field_size_limit(most + 1)
    with text_handle(source, encoding) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        previous = 0
        try:
            for record in reader:
                records.append(record)
                starts.append(previous + 1)
                ends.append(reader.line_num)
                previous = reader.line_num
                if len(records) >= wanted:
                    break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise LimitError(
                    f"Row {previous + 1} of {where} has a cell longer than {csv.field_size_limit():,} characters, "
                    f"over the limit of {most:,} characters in one cell. Check the file (a quote that is never "
                    f"closed can swallow many lines into one cell); if the cell is right, raise "
                    f"{setting('max_cell_chars')} where whytrend runs."
                ) from None
            raise ReadError(
                f"{where} cannot be read as CSV near row {reader.line_num}: {exc}. Check that it is CSV text."
            ) from None
    return records, starts, ends


def _check_width(row: Sequence[str], width: int, number: int, header_row: int, where: Where) -> None:
    """Cells beyond the header are an error unless empty (trailing delimiters)."""
    for pos in range(len(row) - 1, width - 1, -1):
        if not is_blank(row[pos]):
            raise _ragged(number, len(row), width, header_row, where)


def _ragged(row: int, cells: int, width: int, header_row: int, where: Where) -> ReadError:
    return ReadError(
        f"Row {row} of {where} has {cells} cells but the header (row {header_row}) has {width}. "
        "A cell containing the delimiter probably needs quotes; fix that row in the file."
    )


def _footer(
    source: Source, text: TextFacts, delimiter: str, header_end: int, first_col: int, ncols: int, where: Where
) -> tuple[int, tuple[str, ...]]:
    """Count the empty and notes rows at the end of the file from its last 64 KB."""
    size = source.size
    offset = max(0, size - TAIL_BYTES)
    offset -= offset % 4  # keep UTF-16/32 code units aligned
    with source.open() as handle:
        handle.seek(offset)
        raw = handle.read()
    decoded = codecs.decode(raw, text.encoding, errors="replace")
    lines = re.split(r"\r\n|\n", decoded)
    if lines and lines[-1] == "":
        lines.pop()
    if offset > 0 and lines:
        lines.pop(0)  # partial line
    count, texts, numbers = 0, [], []
    for back, line in enumerate(reversed(lines)):
        number = text.lines - back
        if number <= header_end:
            break
        cells = next(csv.reader([line], delimiter=delimiter), [])
        if all(is_blank(c) for c in cells):
            count += 1
            continue
        note = footer_text(cells, first_col) if ncols >= 2 else None
        if note is None:
            break
        count += 1
        texts.append(note)
        numbers.append(number)
    if not texts:
        return count, ()
    rows = f"row {numbers[0]}" if len(numbers) == 1 else f"rows {numbers[-1]}-{numbers[0]}"
    return count, (describe_dropped(texts[::-1], rows, where),)


@dataclass
class _Stream:
    """Iterates the data chunks; holds back the last ``dropped`` rows to remove notes rows.

    ``width`` is the number of cells pandas is told to expect (the header's, or more when the
    sample showed trailing empty cells); cells beyond ``header_width`` must be empty.
    """

    source: Source
    encoding: str
    delimiter: str
    skip_lines: int
    width: int
    header_width: int
    positions: list[int]
    columns: list[str]
    first_col: int
    dropped: int
    chunk_rows: int
    header_row: int
    where: Where
    limits: Limits = field(default_factory=Limits)
    check_cells: bool = True  # False when no line is longer than max_cell_chars and no cell spans lines
    unnamed: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.first_row = self.skip_lines + 1
        self.chunk_rows = max(1, self.chunk_rows)
        kept = set(self.positions)
        self.unnamed = [p for p in range(self.header_width) if p not in kept]

    def __iter__(self) -> Iterator[TableChunk]:
        with text_handle(self.source, self.encoding) as handle:
            for _ in range(self.skip_lines):
                handle.readline()
            try:
                yield from self._chunks(handle)
            except pd.errors.ParserError as exc:
                raise self._parser_error(exc) from None
            except UnicodeDecodeError as exc:
                raise ReadError(f"{self.where} stopped decoding as {self.encoding}: {exc.reason}. Set encoding in the "
                                "manifest.") from None

    def _chunks(self, handle: io.TextIOWrapper) -> Iterator[TableChunk]:
        reader = pd.read_csv(
            handle, sep=self.delimiter, header=None, names=list(range(self.width)), index_col=False,
            dtype=object, keep_default_na=False, na_filter=False, skip_blank_lines=False,
            engine="c", chunksize=self.chunk_rows,
        )
        carry: pd.DataFrame | None = None
        next_row = self.first_row
        with reader:
            for raw in reader:
                raw.index = pd.RangeIndex(next_row, next_row + len(raw))
                next_row += len(raw)
                self._check(raw)
                if self.dropped:
                    if carry is not None:
                        raw = pd.concat([carry, raw])
                    carry, raw = raw.iloc[-self.dropped :], raw.iloc[: -self.dropped]
                if len(raw):
                    yield self._shape(raw)
        if carry is not None:
            keep = len(carry)
            while keep and self._droppable(carry.iloc[keep - 1].tolist()):
                keep -= 1
            if keep:
                yield self._shape(carry.iloc[:keep])

    def _droppable(self, row: list[str]) -> bool:
        return all(is_blank(c) for c in row) or footer_text(row, self.first_col) is not None

    def _check(self, raw: pd.DataFrame) -> None:
        """Cells beyond the header must be empty; data under dropped unnamed columns is logged; no
        kept cell is longer than ``limits.max_cell_chars``."""
        most = self.limits.max_cell_chars
        for pos, name in zip(self.positions if self.check_cells else (), self.columns):
            cells = raw[pos].to_numpy()
            if len(cells) and max(map(len, cells)) > most:
                lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
                at = int(np.argmax(lengths > most))
                raise cell_too_long(self.where, int(raw.index[at]), f"'{name}'", int(lengths[at]), self.limits)
        for pos in range(self.header_width, self.width):
            filled = raw[pos].str.strip() != ""
            if filled.any():
                row = int(filled.idxmax())
                values = raw.loc[row].tolist()
                cells = max(i for i, v in enumerate(values) if not is_blank(v)) + 1
                raise _ragged(row, cells, self.header_width, self.header_row, self.where)
        for pos in list(self.unnamed):
            filled = raw[pos].str.strip() != ""
            if filled.any():
                log.warning("%s: column %d has no header and was empty in the first rows, but row %d has data; "
                            "that data is ignored", self.where, pos + 1, int(filled.idxmax()))
                self.unnamed.remove(pos)

    def _shape(self, raw: pd.DataFrame) -> TableChunk:
        frame = raw[self.positions]
        frame.columns = self.columns
        return TableChunk(frame=frame, first_row=int(frame.index[0]))

    def _parser_error(self, exc: Exception) -> ReadError:
        message = str(exc)
        match = _EXPECTED_FIELDS.search(message)
        if match:
            row = self.first_row + int(match.group(2)) - 1
            return _ragged(row, int(match.group(3)), self.header_width, self.header_row, self.where)
        match = _EOF_IN_STRING.search(message)
        if match:
            row = self.first_row + int(match.group(1))
            return ReadError(
                f"{self.where} has a quote (\") opened in row {row} that is never closed. "
                "Fix the quoting in that row of the file."
            )
        return ReadError(f"{self.where} cannot be read as CSV after row {self.header_row}: {message}. Check the file.")
