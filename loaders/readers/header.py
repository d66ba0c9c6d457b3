"""Finding the header row and cleaning column names, the same way for every format.

Government tables put titles, notes and blank rows above the header and footnote markers
(``[note 3]``, ``[x]``) in names, so the header is searched for rather than assumed to be row 1.
The functions here work on plain lists of cells and never touch files, which keeps them
easy to test and shared by the CSV, spreadsheet and JSON readers.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from loaders.errors import ReadError

#: Rows searched for the header when ``skip_rows`` is not given.
SCAN_ROWS = 100
#: Rows after a candidate that its non-empty cell count is compared with.
LOOKAHEAD_ROWS = 20

# "[note 3]", "[Notes 1 and 2]", "[footnote 4]" and single-letter GSS markers "[x]", "[c]", "[z]".
_FOOTNOTE = re.compile(r"\[\s*(?:(?:foot)?notes?\b[^\]]*|(?:foot)?notes?\d[^\]]*|[a-z])\s*\]", re.IGNORECASE)


def _cell_text(cell: object) -> str:
    """A header cell as text: dates as ISO dates, integral floats without '.0'."""
    if cell is None:
        return ""
    if isinstance(cell, float):
        if cell != cell:
            return ""
        if cell.is_integer():
            return str(int(cell))
    if isinstance(cell, dt.datetime):
        return cell.date().isoformat() if cell.time() == dt.time(0) else cell.isoformat(sep=" ")
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell)


def clean_name(cell: object) -> str:
    """Strip, collapse whitespace (line breaks in Excel headers too) and drop footnote markers.

    Trailing superscript-like digits ("Households2") are left alone: they are too often part
    of the real name to remove safely.
    """
    text = _FOOTNOTE.sub(" ", _cell_text(cell))
    return " ".join(text.split())


def name_key(name: object) -> str:
    """The key column names are compared by: cleaned and case-folded."""
    return clean_name(name).casefold()


def column_letter(index: int) -> str:
    """Spreadsheet letters for a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def is_blank(cell: object) -> bool:
    """True for cells that hold nothing: None, NaN, or a string of only whitespace."""
    if cell is None:
        return True
    if isinstance(cell, float) and cell != cell:
        return True
    return isinstance(cell, str) and not cell.strip()


def _filled(row: Sequence[object]) -> int:
    return sum(1 for cell in row if not is_blank(cell))


@dataclass(frozen=True)
class Where:
    """Names the table in messages: file (and sheet), with column labels as the user sees them."""

    location: str
    sheet: str | None = None
    letters: bool = False

    def __str__(self) -> str:
        return f"{self.location} (sheet {self.sheet})" if self.sheet else self.location

    def column(self, index: int) -> str:
        """'C' in a spreadsheet, '3' in CSV (1-based)."""
        return column_letter(index) if self.letters else str(index + 1)


@dataclass(frozen=True)
class Header:
    """The header found in a block of rows: its index in that block, raw cells and the notes above."""

    index: int
    cells: tuple[object, ...]
    notes: tuple[str, ...]


@dataclass
class ColumnPlan:
    """Which cell positions become which columns, and what was noticed doing so."""

    positions: list[int] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _quoted(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _auto_header(rows: Sequence[Sequence[object]]) -> int | None:
    """First row with >= 2 filled cells and at least as many as any of the next 20 rows."""
    counts = [_filled(row) for row in rows[: SCAN_ROWS + LOOKAHEAD_ROWS]]
    for i in range(min(SCAN_ROWS, len(counts))):
        ahead = counts[i + 1 : i + 1 + LOOKAHEAD_ROWS]
        if counts[i] >= 2 and counts[i] >= max(ahead, default=0):
            return i
    return next((i for i, c in enumerate(counts[:SCAN_ROWS]) if c), None)


def _missing(row: Sequence[object], expected: Sequence[str]) -> list[str]:
    present = {name_key(cell) for cell in row}
    return [name for name in expected if name_key(name) not in present]


def find_header(
    rows: Sequence[Sequence[object]],
    row_numbers: Sequence[int],
    *,
    expected: Sequence[str],
    skip_rows: int | None,
    where: Where,
) -> Header:
    """Locate the header among the first rows of a table.

    With ``skip_rows`` the header is the next row. Otherwise, within the first 100 rows: the
    first row holding every expected column (compared by :func:`name_key`); with no expected
    columns, the first row whose count of filled cells is >= 2 and >= that of each of the next
    20 rows (so a title or a two-cell notes row above a wider table is skipped). Non-empty
    rows above the header become ``notes``. ``row_numbers[i]`` is the number a user sees for
    ``rows[i]`` and is used only in messages.
    """
    if not any(_filled(row) for row in rows[: max(SCAN_ROWS, (skip_rows or 0) + 1)]):
        if any(_filled(row) for row in rows):
            raise ReadError(f"The first {SCAN_ROWS} rows of {where} are empty, so no header was found. Set skip_rows in the "
                            "manifest.")
        raise ReadError(f"{where} is empty: there is no header row and no data. Check that this is the right file.")
    if skip_rows is not None:
        if skip_rows < 0:
            raise ReadError(f"skip_rows = {skip_rows} for {where} must be 0 or more.")
        if skip_rows >= len(rows):
            raise ReadError(
                f"skip_rows = {skip_rows} but {where} has only {len(rows)} rows. "
                "Check skip_rows in the manifest, or remove it to find the header automatically."
            )
        index = skip_rows
        missing = _missing(rows[index], expected)
        if missing:
            names = [clean_name(c) for c in rows[index] if not is_blank(c)]
            raise ReadError(
                f"Columns {_quoted(missing)} not found in the header row of {where} "
                f"(row {row_numbers[index]}, after skip_rows = {skip_rows}); that row has: {_quoted(names)}. "
                "Check skip_rows and the column names in the manifest."
            )
    elif expected:
        scanned = rows[:SCAN_ROWS]
        found = next((i for i, row in enumerate(scanned) if not _missing(row, expected)), None)
        if found is None:
            raise _not_found(rows, row_numbers, expected, where)
        index = found
    else:
        auto = _auto_header(rows)
        assert auto is not None  # some row is filled (checked above)
        index = auto
    notes = []
    for row in rows[:index]:
        text = " ".join(" ".join(_cell_text(c).split()) for c in row if not is_blank(c))
        if text:
            notes.append(text)
    return Header(index=index, cells=tuple(rows[index]), notes=tuple(notes))


def _not_found(
    rows: Sequence[Sequence[object]], row_numbers: Sequence[int], expected: Sequence[str], where: Where
) -> ReadError:
    """The message for expected columns that no scanned row has, naming the closest row."""
    scanned = rows[:SCAN_ROWS]
    scores = [len(expected) - len(_missing(row, expected)) for row in scanned]
    best = max(scores, default=0)
    auto = _auto_header(rows)
    if best == 0 and auto is not None:
        nearest = auto
    else:
        nearest = next(i for i, s in enumerate(scores) if s == best)
        if auto is not None and scores[auto] == best:
            nearest = auto
    names = [clean_name(c) for c in rows[nearest] if not is_blank(c)]
    missing = _missing(rows[nearest], expected)
    return ReadError(
        f"Columns {_quoted(missing)} not found in the first {min(SCAN_ROWS, len(rows))} rows of {where}; "
        f"the nearest header row (row {row_numbers[nearest]}) has: {_quoted(names)}. "
        "Check the column names in the manifest (case and spacing do not matter)."
    )


def plan_columns(
    header: Sequence[object],
    data: Sequence[Sequence[object]],
    *,
    width: int,
    expected: Sequence[str],
    where: Where,
    header_row: int,
) -> ColumnPlan:
    """Name every cell position up to ``width``: drop empty unnamed columns, name unnamed ones
    with data after their position, and resolve duplicate names.

    ``data`` is the data rows (all of them, or a sample for streamed CSV) used to decide
    whether an unnamed column is empty.
    """
    plan = ColumnPlan()
    wanted = {name_key(name) for name in expected}
    first_seen: dict[str, int] = {}
    for pos in range(width):
        name = clean_name(header[pos]) if pos < len(header) else ""
        if not name:
            if not any(pos < len(row) and not is_blank(row[pos]) for row in data):
                continue
            name = f"column {where.column(pos)}"
            plan.warnings.append(
                f"Column {where.column(pos)} of {where} has data but no header (row {header_row}); "
                f"it is called '{name}'."
            )
        key = name.casefold()
        if key in first_seen:
            earlier = first_seen[key]
            if key in wanted:
                raise ReadError(
                    f"Columns {where.column(earlier)} and {where.column(pos)} of {where} are both called "
                    f"'{name}' (header row {header_row}), so it is not clear which one to use. "
                    "Rename one of them in the file."
                )
            number = 2
            while f"{key} ({number})" in first_seen:
                number += 1
            renamed = f"{name} ({number})"
            plan.warnings.append(
                f"Columns {where.column(earlier)} and {where.column(pos)} of {where} are both called "
                f"'{name}'; column {where.column(pos)} is called '{renamed}'."
            )
            name, key = renamed, renamed.casefold()
        first_seen[key] = pos
        plan.positions.append(pos)
        plan.columns.append(name)
    return plan
