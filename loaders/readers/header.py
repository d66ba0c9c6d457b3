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
from loaders.values import parse_value

#: Rows searched for the header when ``skip_rows`` is not given.
SCAN_ROWS = 100
#: How the names of a multi-row header's rows are joined into one column name.
HEADER_JOIN = " / "
#: Whole numbers in this range may be header labels (years); any other number in a row makes it data.
YEARS = (1800, 2200)
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


_REFERENCE = re.compile(r"column\s+([A-Za-z]{1,3}|\d{1,5})|([A-Z]{1,2})", re.IGNORECASE)


def column_reference(name: str) -> int | None:
    """The 0-based position a manifest names by letter or number instead of by header:
    ``"column C"``, ``"C"`` (one or two capital letters) or ``"column 3"`` (CSV numbering, from 1).

    A column whose header is blank is called ``column C`` by the readers, so the name they give is
    always a reference too. A real header spelled the same way wins (see ``TableInfo.column``)."""
    text = " ".join(str(name).split())
    match = _REFERENCE.fullmatch(text)
    if not match:
        return None
    if match.group(2) is not None and not match.group(2).isupper():
        return None
    token = match.group(1) or match.group(2)
    if token.isdigit():
        return int(token) - 1 if int(token) >= 1 else None
    number = 0
    for letter in token.upper():
        number = number * 26 + (ord(letter) - 64)
    return number - 1


def _is_year(number: float) -> bool:
    return float(number).is_integer() and YEARS[0] <= number <= YEARS[1]


def is_label(cell: object) -> bool:
    """A cell a header row can hold: text that is not a number or shorthand, a date, or a whole
    number that reads as a year. ``71218`` or ``[x]`` is a value, so a row holding one is data."""
    if is_blank(cell):
        return False
    if isinstance(cell, bool):
        return True
    if isinstance(cell, (int, float)):
        return _is_year(cell)
    if isinstance(cell, (dt.date, dt.datetime)):
        return True
    text = str(cell).strip()
    if text.replace(" ", "").isalpha():  # words, and single letters such as a column called "c"
        return True
    value, status, error = parse_value(text)
    if error is not None:
        return True
    if value is None:
        return status == "blank"  # shorthand such as [x] or '..' is a value cell
    return _is_year(value) and text.replace(",", "").isdigit()


def is_column_numbers(row: Sequence[object], *, plain: bool = False) -> bool:
    """A row of column numbers under a header: ``(1) (2) (3) …`` (at least 2, consecutive), or with
    ``plain`` also ``1 2 3 …`` (only where a multi-row header is declared: a first data row can read
    1, 2, 3 too)."""
    cells = [clean_name(c) for c in row if not is_blank(c)]
    bracketed = all(len(c) > 2 and c[0] + c[-1] in ("()", "[]") for c in cells)
    texts = [c[1:-1] if bracketed else c for c in cells]
    return (len(texts) >= 2 and (bracketed or plain) and all(t.isdigit() for t in texts)
            and [int(t) for t in texts] == list(range(int(texts[0]), int(texts[0]) + len(texts))))


def is_header_like(row: Sequence[object]) -> bool:
    """True for a row that can be a header: every filled cell a label. (A row of column numbers
    is part of a header only directly below one: see ``find_header``.)"""
    filled = [c for c in row if not is_blank(c)]
    return bool(filled) and all(is_label(c) for c in filled)


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
    """The header found in a block of rows: the index of its last row in that block, the cells
    (one name per position; a multi-row header's rows joined), its raw rows and the notes above."""

    index: int
    cells: tuple[object, ...]
    notes: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...] = ()
    above: str = ""  # the label of a one-cell row directly above the header (a first section's label)


def header_cells(header: Header, positions: Sequence[int]) -> tuple[tuple[str, ...], ...]:
    """The header's rows cut to the kept cell positions, cleaned (for ``TableInfo.header_cells``)."""
    rows = header.rows or (tuple(header.cells),)
    return tuple(tuple(clean_name(row[p]) if p < len(row) else "" for p in positions) for row in rows)


def join_header_rows(rows: Sequence[Sequence[object]]) -> tuple[str, ...]:
    """One name per position for a header spread over several rows.

    Published tables put a group ("Aged 16-24") above its measures ("Total", "Unemployed"), often
    in a merged cell that only its first position holds. Each row but the last is carried to the
    right over blank cells (under which the last row names a column) until a row above it starts a
    new group; the names of a position are
    then joined top to bottom with :data:`HEADER_JOIN`, a name repeated from the row above (a
    vertically merged cell) once. A row of column numbers ("(1) (2) (3)") names nothing. So
    "Aged 16-24 / NEET / Total" and "Aged 25-34 / NEET / Total" are two columns, not one "Total"
    twice.
    """
    rows = [list(r) for r in rows if not is_column_numbers(r, plain=True)]
    width = max((len(r) for r in rows), default=0)
    grid = [[clean_name(r[p]) if p < len(r) else "" for p in range(width)] for r in rows]
    starts = [[bool(grid[i][p]) for p in range(width)] for i in range(len(grid))]
    for i in range(len(grid) - 1):
        for p in range(1, width):
            new_group_above = any(starts[j][p] for j in range(i))
            if not grid[i][p] and grid[i][p - 1] and grid[-1][p] and not new_group_above:
                grid[i][p] = grid[i][p - 1]
                starts[i][p] = False
    names = []
    for p in range(width):
        parts: list[str] = []
        for row in grid:
            if row[p] and (not parts or parts[-1] != row[p]):
                parts.append(row[p])
        names.append(HEADER_JOIN.join(parts))
    return tuple(names)


@dataclass
class ColumnPlan:
    """Which cell positions become which columns, and what was noticed doing so."""

    positions: list[int] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _quoted(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(f"'{n}'" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _next_filled(rows: Sequence[Sequence[object]], after: int) -> int | None:
    """Index of the first non-blank row after ``after`` that is not a row of column numbers."""
    for j in range(after + 1, len(rows)):
        if _filled(rows[j]) and not is_column_numbers(rows[j]):
            return j
    return None


def _auto_header(rows: Sequence[Sequence[object]]) -> int | None:
    """Index of the header row found without expected names.

    Only a header-like row (:func:`is_header_like`) with at least 2 filled cells can be the
    header, so a row of numbers or shorthand is never taken for it (nor a value such as 71218 read
    as a period later). The header is the first such row that has at least as many filled cells
    as each of the next 20 rows, or that the data directly follows (blank rows and a row of column
    numbers apart): a header with a blank cell above the row labels has fewer cells than its data.
    With no such row: the first row with >= 2 filled cells and at least as many as the next 20.
    """
    scanned = rows[: SCAN_ROWS + LOOKAHEAD_ROWS]
    counts = [_filled(row) for row in scanned]
    for i in range(min(SCAN_ROWS, len(counts))):
        if counts[i] < 2 or not is_header_like(scanned[i]):
            continue
        ahead = counts[i + 1 : i + 1 + LOOKAHEAD_ROWS]
        if counts[i] >= max(ahead, default=0):
            return i
        following = _next_filled(scanned, i)
        if following is not None and not is_header_like(scanned[following]):
            return i
    for i in range(min(SCAN_ROWS, len(counts))):
        ahead = counts[i + 1 : i + 1 + LOOKAHEAD_ROWS]
        if counts[i] >= 2 and counts[i] >= max(ahead, default=0):
            return i
    return next((i for i, c in enumerate(counts[:SCAN_ROWS]) if c), None)


def _names(block: Sequence[Sequence[object]]) -> tuple[object, ...]:
    """The header cells of a block of header rows: the row itself, or the rows joined."""
    return tuple(block[0]) if len(block) == 1 else join_header_rows(block)


def _missing(row: Sequence[object], expected: Sequence[str]) -> list[str]:
    """Expected names the row lacks; a reference by letter or number ("column C") is never missing
    here (its position is checked when the columns are named)."""
    present = {name_key(cell) for cell in row}
    return [name for name in expected if name_key(name) not in present and column_reference(name) is None]


def find_header(
    rows: Sequence[Sequence[object]],
    row_numbers: Sequence[int],
    *,
    expected: Sequence[str],
    skip_rows: int | None,
    where: Where,
    header_rows: int = 1,
) -> Header:
    """Locate the header among the first rows of a table.

    With ``skip_rows`` the header starts at the next row. Otherwise, within the first 100 rows:
    the first row (or block of ``header_rows`` rows, names joined by :func:`join_header_rows`)
    holding every expected column (compared by :func:`name_key`); with no expected column (or
    only references by letter), the row :func:`_auto_header` finds, as the last row of a
    multi-row header. A row of column numbers directly below the header is part of it. Non-empty
    rows above the header become ``notes``. ``row_numbers[i]`` is the number a user sees for
    ``rows[i]`` and is used only in messages.
    """
    if header_rows < 1:
        raise ReadError(f"header_rows = {header_rows} for {where} must be 1 or more.")
    if not any(_filled(row) for row in rows[: max(SCAN_ROWS, (skip_rows or 0) + 1)]):
        if any(_filled(row) for row in rows):
            raise ReadError(f"The first {SCAN_ROWS} rows of {where} are empty, so no header was found. Set skip_rows in the "
                            "manifest.")
        raise ReadError(f"{where} is empty: there is no header row and no data. Check that this is the right file.")
    named = [name for name in expected if column_reference(name) is None]
    if skip_rows is not None:
        if skip_rows < 0:
            raise ReadError(f"skip_rows = {skip_rows} for {where} must be 0 or more.")
        if skip_rows + header_rows > len(rows):
            raise ReadError(
                f"skip_rows = {skip_rows} but {where} has only {len(rows)} rows. "
                "Check skip_rows in the manifest, or remove it to find the header automatically."
            )
        start = skip_rows
        missing = _missing(_names(rows[start : start + header_rows]), named)
        if missing:
            names = [clean_name(c) for c in _names(rows[start : start + header_rows]) if not is_blank(c)]
            raise ReadError(
                f"Columns {_quoted(missing)} not found in the header row of {where} "
                f"(row {row_numbers[start]}, after skip_rows = {skip_rows}); that row has: {_quoted(names)}. "
                "Check skip_rows and the column names in the manifest."
            )
    elif named:
        scanned = rows[:SCAN_ROWS]
        found = next((i for i in range(len(scanned)) if _filled(rows[i])
                      and not _missing(_names(rows[i : i + header_rows]), named)), None)
        if found is None:
            raise _not_found(rows, row_numbers, named, where, header_rows)
        start = found
    else:
        auto = _auto_header(rows)
        assert auto is not None  # some row is filled (checked above)
        last = auto
        while last + 1 < len(rows) and is_column_numbers(rows[last + 1], plain=True) and header_rows > 1:
            last += 1
        start = max(0, last - header_rows + 1)
    block = rows[start : start + header_rows]
    index = start + header_rows - 1
    while index + 1 < len(rows) and is_column_numbers(rows[index + 1], plain=header_rows > 1) \
            and _filled(rows[index]) and not is_column_numbers(rows[index], plain=True):
        index += 1  # a row of column numbers under the header is part of it
    notes = []
    for row in rows[:start]:
        text = " ".join(" ".join(_cell_text(c).split()) for c in row if not is_blank(c))
        if text:
            notes.append(text)
    above = ""
    if start >= 1:
        filled = [c for c in rows[start - 1] if not is_blank(c)]
        if len(filled) == 1 and isinstance(filled[0], str) and is_label(filled[0]):
            above = clean_name(filled[0])
    return Header(index=index, cells=_names(block), notes=tuple(notes), rows=tuple(tuple(r) for r in block),
                  above=above)


def _not_found(
    rows: Sequence[Sequence[object]], row_numbers: Sequence[int], expected: Sequence[str], where: Where,
    header_rows: int = 1,
) -> ReadError:
    """The message for expected columns that no scanned row has, naming the closest row."""
    scanned = [_names(rows[i : i + header_rows]) for i in range(min(SCAN_ROWS, len(rows)))]
    scores = [len(expected) - len(_missing(row, expected)) for row in scanned]
    best = max(scores, default=0)
    auto = _auto_header(rows)
    if best == 0 and auto is not None:
        nearest = auto
    else:
        nearest = next(i for i, s in enumerate(scores) if s == best)
        if auto is not None and scores[auto] == best:
            nearest = auto
    names = [clean_name(c) for c in scanned[nearest] if not is_blank(c)]
    missing = _missing(scanned[nearest], expected)
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
                f"it is called '{name}', the name (or the column's letter or number) a manifest can use."
            )
        key = name.casefold()
        if key in first_seen:
            earlier = first_seen[key]
            if key in wanted:
                raise ReadError(
                    f"Columns {where.column(earlier)} and {where.column(pos)} of {where} are both called "
                    f"'{name}' (header row {header_row}), so it is not clear which one to use. If the header "
                    "spans several rows (a group such as 'Aged 16-24' above it), set header_rows to their number "
                    "and use the joined names ('Aged 16-24 / Total'); otherwise refer to the column by its position "
                    f"('column {where.column(pos)}')."
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
