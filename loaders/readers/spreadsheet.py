"""Excel (.xlsx via openpyxl) and OpenDocument (.ods via pandas' odf engine) worksheets.

A sheet is read whole into lists of cells (sheets are bounded by Excel's row limit and
government workbooks are small), then the header is found and the rows are cut into chunks.

Formulas are never evaluated: openpyxl is opened with ``data_only=True`` so a formula cell
gives the value Excel cached when it last saved the file (None if it never did), and a text
cell that merely starts with "=" stays text. Cells come back as str, int, float, datetime or
None; booleans become the text Excel shows ("TRUE"/"FALSE"), times and durations their text.
Fully empty rows inside the data are kept so that ``first_row + i`` is the sheet row.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence

import pandas as pd

from loaders.errors import ReadError

from .base import ReadOptions, Source, TableChunk, TableInfo, chunks_from_rows, describe_dropped, footer_text
from .header import Where, find_header, is_blank, plan_columns

log = logging.getLogger(__name__)

Row = list[object]


def read_xlsx(location: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for ``format = "xlsx"`` (also .xlsm) files."""
    return read_spreadsheet_source(Source.from_path(location), options, "xlsx")


def read_ods(location: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for ``format = "ods"`` files."""
    return read_spreadsheet_source(Source.from_path(location), options, "ods")


def read_spreadsheet_source(
    source: Source, options: ReadOptions, kind: str, *, sha256: str | None = None
) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Read one sheet of a workbook from a file or downloaded bytes."""
    _check_zip(source, kind)
    load = _load_xlsx if kind == "xlsx" else _load_ods
    sheet, rows = load(source, options.sheet)
    return table_from_rows(rows, options, Where(source.name, sheet, letters=True), sha256=sha256)


def table_from_rows(
    rows: list[Row], options: ReadOptions, where: Where, *, sha256: str | None = None
) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Find the header in rows held in memory, drop notes rows below the data, plan columns."""
    numbers = range(1, len(rows) + 1)
    header = find_header(rows, numbers, expected=options.expected_columns, skip_rows=options.skip_rows, where=where)
    header_row = header.index + 1
    data = rows[header.index + 1 :]
    named = [i for i, cell in enumerate(header.cells) if not is_blank(cell)]
    first_col = named[0] if named else 0
    end, texts = len(data), []
    while end:
        row = data[end - 1]
        if all(is_blank(c) for c in row):
            end -= 1
            continue
        note = footer_text(row, first_col) if len(named) >= 2 else None
        if note is None:
            break
        texts.append((header_row + end, note))
        end -= 1
    data = data[:end]
    warnings: list[str] = []
    width = max([len(header.cells), *(len(r) for r in data)])
    plan = plan_columns(
        header.cells, data, width=width, expected=options.expected_columns, where=where, header_row=header_row
    )
    warnings.extend(plan.warnings)
    if texts:
        texts.reverse()
        first, last = texts[0][0], texts[-1][0]
        span = f"row {first}" if first == last else f"rows {first}-{last}"
        warnings.append(describe_dropped([t for _, t in texts], span, where))
    info = TableInfo(
        location=where.location,
        sheet=where.sheet,
        header_row=header_row,
        columns=tuple(plan.columns),
        notes=header.notes,
        warnings=tuple(warnings),
        sha256=sha256,
    )
    return info, chunks_from_rows(data, plan.positions, plan.columns, header_row + 1, options.chunk_rows)


def _check_zip(source: Source, kind: str) -> None:
    """Both formats are ZIP archives; say clearly when the bytes are something else."""
    where = Where(source.name)
    with source.open() as handle:
        head = handle.read(8)
    if not head:
        raise ReadError(f"{where} is empty (0 bytes). Check that the file was saved or downloaded completely.")
    if head.startswith(b"PK"):
        return
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(f"{where} is an old Excel .xls workbook, which whytrend cannot read. Save it as .xlsx in Excel.")
    other = "csv" if b"\x00" not in head else None
    hint = f' If it is CSV text, set format = "{other}" for this source.' if other else ""
    raise ReadError(f"{where} is not a valid .{kind} workbook (it is not a ZIP archive).{hint}")


def _cell(value: object) -> object:
    """Normalise one cell to str / int / float / datetime / None without interpreting text."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, (dt.time, dt.timedelta)):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str) and value == "":
        return None
    return value


def _pick_sheet(names: Sequence[str], wanted: str | None, where: Where) -> str:
    """The sheet asked for (exact, else a unique case/space-insensitive match)."""
    if not names:
        raise ReadError(f"{where} has no worksheets. Check that this is the right file.")
    if wanted is None:
        return names[0]
    if wanted in names:
        return wanted
    loose = [n for n in names if " ".join(n.split()).casefold() == " ".join(wanted.split()).casefold()]
    if len(loose) == 1:
        return loose[0]
    listed = ", ".join(f"'{n}'" for n in names)
    raise ReadError(f"Sheet '{wanted}' not found in {where}; the sheets are: {listed}. Set sheet in the manifest to one of these.")


def _damaged(where: Where, kind: str, exc: BaseException) -> ReadError:
    label = "Excel" if kind == "xlsx" else "OpenDocument"
    return ReadError(
        f"{where} cannot be read as an {label} workbook ({type(exc).__name__}: {exc}). "
        f"The file may be damaged or not really .{kind}; open it in a spreadsheet program and save it again."
    )


def _load_xlsx(source: Source, wanted: str | None) -> tuple[str, list[Row]]:
    import openpyxl

    where = Where(source.name)
    with source.open() as handle:
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False)
        except Exception as exc:  # zipfile, XML and openpyxl errors of many kinds on damaged files
            raise _damaged(where, "xlsx", exc) from None
        try:
            sheets = [ws.title for ws in book.worksheets]
            if wanted is not None and wanted not in sheets and wanted in book.sheetnames:
                listed = ", ".join(f"'{n}'" for n in sheets)
                raise ReadError(f"Sheet '{wanted}' of {where} is a chart, not a table. Set sheet to one of: {listed}.")
            name = _pick_sheet(sheets, wanted, where)
            sheet = book[name]
            sheet.reset_dimensions()  # dimensions written by some tools are wrong; read every cell
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(min_row=1, min_col=1, values_only=True)]
        except ReadError:
            raise
        except Exception as exc:  # damaged sheet XML surfaces only while iterating
            raise _damaged(Where(source.name, wanted), "xlsx", exc) from None
        finally:
            book.close()
    log.debug("%s sheet %s: %d rows", source.name, name, len(rows))
    return name, rows


def _load_ods(source: Source, wanted: str | None) -> tuple[str, list[Row]]:
    where = Where(source.name)
    with source.open() as handle:
        try:
            book = pd.ExcelFile(handle, engine="odf")
        except Exception as exc:  # odfpy and zipfile raise many kinds on damaged files
            raise _damaged(where, "ods", exc) from None
        with book:
            name = _pick_sheet(book.sheet_names, wanted, where)
            try:
                frame = pd.read_excel(book, sheet_name=name, header=None, dtype=object,
                                      keep_default_na=False, na_filter=False)
            except Exception as exc:
                raise _damaged(Where(source.name, name), "ods", exc) from None
    rows = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    log.debug("%s sheet %s: %d rows", source.name, name, len(rows))
    return name, rows
