"""Which rows below a published table's header are its data: blank rows, repeated headers,
section rows and the end of the table.

Government sheets stack several tables on one sheet, leave blank rows between blocks, head each
block with a label row ("Males", "Remand", "Sentenced"), repeat the header before each block and
write notes below. The readers find the header; :func:`apply_layout` then reads the data chunks
as a user would:

* a blank row is skipped;
* a row that repeats the header (any of its rows) is skipped;
* a label row (one text cell, in the first column) heads the rows below it: with
  ``section_column`` its text is carried into that column for every row beneath it, so the
  sections become a breakdown; without it the row is skipped and a warning says how to keep it;
* the table ends (``end = "auto"``) at a blank row followed by something other than more of the
  table (a title such as "Table 2: rates", a different header, notes): what follows is not read
  and a warning names where it stopped. ``end = "blank"`` stops at the first blank row after
  data, ``end = "sheet"`` reads to the end, and ``last_row`` stops after that row of the file.

Only a few rows need looking at one by one (those with a blank in the first two columns, that
start like the header, or that follow such a row), so a large streamed CSV pays a few vectorised
comparisons per chunk. A decision that needs the row after a chunk's last row waits for the next
chunk. Row numbers (the frames' index) are kept, so every message still names the file's rows.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from loaders.errors import ReadError

from .base import ReadOptions, TableChunk, TableInfo
from .header import Where, is_blank, is_header_like, is_label, name_key

BLANK, HEADER, LABEL, TEXT, DATA = "blank", "header", "label", "text", "data"
#: what ``end`` may say
ENDS = ("auto", "blank", "sheet")
#: formats whose tables have rows a person laid out (JSON records have none of this)
LAID_OUT = ("csv", "xlsx", "ods")
#: a label row that is a table's title or the start of notes ends the table whatever follows it
_TITLE = re.compile(r"(?:table|figure|chart)\s*[\w.]*\d|(?:sources?|notes?|footnotes?)\b", re.IGNORECASE)


def classify(row: Sequence[object], headers: Sequence[Sequence[str]]) -> str:
    """What one row below the header is (``headers``: the header's rows cut to the kept columns)."""
    filled = [i for i, cell in enumerate(row) if not is_blank(cell)]
    if not filled:
        return BLANK
    for header in headers:
        named = sum(1 for h in header if h)
        if len(filled) >= min(2, named) and all(
                i < len(header) and header[i] and name_key(row[i]) == name_key(header[i]) for i in filled):
            return HEADER
    if len(filled) == 1 and filled[0] == 0 and len(row) >= 2 and is_label(row[0]):
        return LABEL
    if len(filled) >= 2 and is_header_like(row):
        return TEXT
    return DATA


def _blankish(column: pd.Series) -> np.ndarray:
    """Cells that are empty (None, NaN, '' or a space), compared without Python per cell."""
    values = column.to_numpy()
    return (pd.isna(values) | (values == "") | (values == " ")).astype(bool)


class _Rows:
    """The state of one table's reading across its chunks."""

    def __init__(self, info: TableInfo, options: ReadOptions):
        self.options = options
        self.headers = info.header_cells
        self.firsts = {h[0] for h in self.headers if h and h[0]}
        # the label heading the rows being read: at first, a label row directly above the header
        # (a block's label before the header repeated in each block), unless it is the table's title
        above = info.label_above if not _TITLE.match(info.label_above) else ""
        self.above = above
        self.section = above if options.section_column else ""
        self.section_before = self.section  # ... when the chunk being split began
        self.after_blank = False  # the previous row was blank
        self.seen_data = False
        self.stopped = False
        self.repeats: list[int] = []
        self.unmapped: list[tuple[int, str]] = []
        self.stop_note: str | None = None

    # ------------------------------------------------------------------ per chunk
    def candidates(self, frame: pd.DataFrame) -> np.ndarray:
        """Positions of the rows to look at one by one."""
        first = frame.iloc[:, 0]
        odd = _blankish(first)
        if frame.shape[1] > 1:
            odd |= _blankish(frame.iloc[:, 1])
        if self.firsts:
            odd |= first.isin(self.firsts).to_numpy()
        follows = np.zeros_like(odd)
        follows[1:] = odd[:-1]
        follows[:1] = self.after_blank  # a blank row ended the previous chunk
        return np.flatnonzero(odd | follows)

    def split(self, frame: pd.DataFrame, final: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The rows of ``frame`` that are this table's data (a section column added when asked),
        and the tail to decide with the next chunk (None when everything was decided)."""
        n = len(frame)
        keep = np.ones(n, dtype=bool)
        section_at: dict[int, str] = {}
        positions = self.candidates(frame)
        kinds: dict[int, str] = {}
        if len(positions):
            cells = frame.to_numpy()[positions].tolist()
            kinds = {int(p): classify(row, self.headers) for p, row in zip(positions, cells)}
        numbers = frame.index
        previous = -1
        tail_from: int | None = None
        run_start: int | None = None  # first position of the blank run being read
        for p in map(int, positions):
            if p > previous + 1:  # data rows in between
                self.seen_data, self.after_blank, run_start = True, False, None
            previous = p
            kind = kinds[p]
            if kind == BLANK:
                keep[p] = False
                if not self.after_blank:
                    run_start = p
                self.after_blank = True
                if self.options.end == "blank" and self.seen_data:
                    self._stop(int(numbers[p]), frame, p)
                    keep[p:] = False
                    break
                continue
            if kind == HEADER:
                keep[p] = False
                self.repeats.append(int(numbers[p]))
                self.after_blank, run_start = False, None
                continue
            if kind in (LABEL, TEXT):
                ahead = self._next_kind(p, n, kinds)
                if ahead is None and not final:
                    tail_from = run_start if run_start is not None else p
                    break
                title = kind == LABEL and _TITLE.match(str(frame.iat[p, 0]).strip()) is not None
                ends_table = (self.after_blank and self.seen_data and self.options.end == "auto"
                              and (kind == TEXT or title or ahead not in (DATA, HEADER)))
                if ends_table:
                    stop_at = run_start if run_start is not None else p
                    self._stop(int(numbers[stop_at]), frame, p)
                    keep[stop_at:] = False
                    break
                if kind == TEXT:
                    self._data()
                    continue
                keep[p] = False
                label = str(frame.iat[p, 0]).strip()
                if self.options.section_column:
                    self.section = label
                    section_at[p] = label
                else:
                    self.unmapped.append((int(numbers[p]), label))
                self.after_blank, run_start = False, None
                continue
            self._data()
            run_start = None
        else:
            if previous < n - 1:
                self._data()
        if tail_from is not None:
            keep[tail_from:] = False
        body = frame[keep]
        if self.options.section_column:
            body = body.assign(**{self.options.section_column: self._sections(frame, keep, section_at)})
        tail = frame.iloc[tail_from:] if tail_from is not None else None
        return body, tail

    def _data(self) -> None:
        self.seen_data, self.after_blank = True, False

    @staticmethod
    def _next_kind(p: int, n: int, kinds: dict[int, str]) -> str | None:
        """The kind of the first non-blank row after ``p``: a row that was not looked at is data;
        None when the chunk ends first."""
        q = p + 1
        while q < n and kinds.get(q) == BLANK:
            q += 1
        return None if q >= n else kinds.get(q, DATA)

    def _sections(self, frame: pd.DataFrame, keep: np.ndarray, section_at: dict[int, str]) -> np.ndarray:
        """The section label of each kept row: the last label row above it."""
        labels = pd.Series([None] * len(frame), dtype=object)
        for p, label in section_at.items():
            labels.iat[p] = label
        carried = self.section_before
        filled = labels.ffill().fillna(carried if carried else "")
        return filled.to_numpy()[keep]

    def _stop(self, row: int, frame: pd.DataFrame, p: int) -> None:
        self.stopped = True
        following = next((" ".join(str(c) for c in r if not is_blank(c)) for r in frame.iloc[p:].to_numpy().tolist()
                          if any(not is_blank(c) for c in r)), "")
        what = f"; the next row reads '{following[:80]}'" if following else ""
        self.stop_note = (
            f"stopped reading at row {row}: the table ends there{what}, and nothing below it was read "
            "as data. If the rows below belong to this table, set end = \"sheet\" for this source (or "
            "rows = [first, last] to give the table's rows)."
        )

    # ------------------------------------------------------------------ whole stream
    def chunks(self, chunks: Iterator[TableChunk], info: TableInfo) -> Iterator[TableChunk]:
        last = self.options.last_row
        pending: pd.DataFrame | None = None
        source = iter(chunks)
        while not self.stopped:
            chunk = next(source, None)
            final = chunk is None
            if chunk is None:
                if pending is None:
                    break
                frame = pending
            else:
                frame = chunk.frame if pending is None else pd.concat([pending, chunk.frame])
            pending = None
            if last is not None and len(frame) and frame.index[-1] > last:
                frame = frame[frame.index <= last]
                final = True
            if not len(frame):
                if final:
                    break
                continue
            self.section_before = self.section
            body, pending = self.split(frame, final)
            if len(body):
                yield TableChunk(frame=body, first_row=int(body.index[0]))
            if final:
                break
        self._report(info)

    def _report(self, info: TableInfo) -> None:
        if self.unmapped and self.above:
            self.unmapped.insert(0, (info.header_row - 1, self.above))
        if self.repeats:
            rows = ", ".join(map(str, self.repeats[:10])) + (" …" if len(self.repeats) > 10 else "")
            info.late_warnings.append(f"the header is repeated in {len(self.repeats)} row(s) below it "
                                      f"(row {rows}); those rows were skipped.")
        if self.unmapped:
            shown = ", ".join(f"'{t}' (row {r})" for r, t in self.unmapped[:8])
            more = f" and {len(self.unmapped) - 8} more" if len(self.unmapped) > 8 else ""
            info.late_warnings.append(
                f"{len(self.unmapped)} row(s) hold only a label and head the rows below them: {shown}{more}. "
                "They were not read as data. To keep them as a breakdown, set section_column = \"<a name>\" for "
                "this source and add that name to dimension_columns.")
        if self.stop_note:
            info.late_warnings.append(self.stop_note)


def apply_layout(info: TableInfo, chunks: Iterator[TableChunk], options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """The table's description and data chunks with only its data rows (see the module docstring)."""
    if options.end not in ENDS:
        raise ReadError(f"end = \"{options.end}\" for {Where(info.location, info.sheet)} is not one of "
                        + ", ".join(f'"{e}"' for e in ENDS) + ".")
    if options.section_column:
        if info.column(options.section_column) is not None:
            raise ReadError(
                f"section_column = \"{options.section_column}\" for {Where(info.location, info.sheet)} is already "
                "the name of a column of the table; choose a name for the sections that the table does not use.")
        info = dataclasses.replace(info, columns=info.columns + (options.section_column,),
                                   positions=info.positions + (-1,))
    rows = _Rows(info, options)
    return info, rows.chunks(chunks, info)
