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
import struct
import zipfile
from collections.abc import Iterator, Sequence
from typing import BinaryIO
from xml.parsers import expat

import pandas as pd

from loaders.errors import LimitError, ReadError
from loaders.limits import ZIP_RATIO_FLOOR, Limits, megabytes, setting

from .base import (
    ReadOptions,
    RowGuard,
    Source,
    TableChunk,
    TableInfo,
    chunks_from_rows,
    describe_dropped,
    footer_text,
)
from .header import Where, find_header, header_cells, is_blank, plan_columns

log = logging.getLogger(__name__)

Row = list[object]


def read_xlsx(location: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for ``format = "xlsx"`` (also .xlsm) files."""
    return read_spreadsheet_source(Source.from_path(location, options.limits), options, "xlsx")


def read_ods(location: str, options: ReadOptions) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Reader for ``format = "ods"`` files."""
    return read_spreadsheet_source(Source.from_path(location, options.limits), options, "ods")


def read_spreadsheet_source(
    source: Source, options: ReadOptions, kind: str, *, sha256: str | None = None
) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Read one sheet of a workbook from a file or downloaded bytes (its ZIP archive checked against
    ``options.limits`` before openpyxl or odfpy unpacks anything)."""
    _check_zip(source, kind, options.limits)
    load = _load_xlsx if kind == "xlsx" else _load_ods
    sheet, rows = load(source, options.sheet, options.limits)
    return table_from_rows(rows, options, Where(source.name, sheet, letters=True), sha256=sha256)


def table_from_rows(
    rows: list[Row], options: ReadOptions, where: Where, *, sha256: str | None = None
) -> tuple[TableInfo, Iterator[TableChunk]]:
    """Find the header in rows held in memory, drop notes rows below the data, plan columns."""
    numbers = range(1, len(rows) + 1)
    header = find_header(rows, numbers, expected=options.expected_columns, skip_rows=options.skip_rows, where=where,
                         header_rows=options.header_rows)
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
        positions=tuple(plan.positions),
        header_cells=header_cells(header, plan.positions),
        label_above=header.above,
    )
    return info, chunks_from_rows(data, plan.positions, plan.columns, header_row + 1, options.chunk_rows)


def _check_zip(source: Source, kind: str, limits: Limits) -> None:
    """Both formats are ZIP archives; say clearly when the bytes are something else, and refuse an
    archive that would unpack to more than the limits allow (a zip bomb) from its directory alone."""
    where = Where(source.name)
    with source.open() as handle:
        head = handle.read(8)
        if head.startswith(b"PK"):
            _check_archive(handle, where, kind, limits)
    if not head:
        raise ReadError(f"{where} is empty (0 bytes). Check that the file was saved or downloaded completely.")
    if head.startswith(b"PK"):
        if kind == "ods":
            _check_ods_cells(source, where, limits)
        return
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(f"{where} is an old Excel .xls workbook, which whytrend cannot read. Save it as .xlsx in Excel.")
    other = "csv" if b"\x00" not in head else None
    hint = f' If it is CSV text, set format = "{other}" for this source.' if other else ""
    raise ReadError(f"{where} is not a valid .{kind} workbook (it is not a ZIP archive).{hint}")


_EOCD = b"PK\x05\x06"  # end of central directory record
_EOCD_SIZE = 22


def _archive_entries(handle: BinaryIO) -> int | None:
    """Entries in a ZIP archive from its end record (read before ``zipfile`` builds an object per
    entry), or None when no end record is found (``zipfile`` then reports the damage)."""
    handle.seek(0, 2)
    size = handle.tell()
    start = max(0, size - (_EOCD_SIZE + 0xFFFF))  # the record is followed by a comment of at most 64 KB
    handle.seek(start)
    tail = handle.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        return None
    entries = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    return None if entries == 0xFFFF else entries  # 0xFFFF: ZIP64, counted by zipfile below


def _check_archive(handle: BinaryIO, where: Where, kind: str, limits: Limits) -> None:
    """The archive's member count, unpacked size and expansion ratios against ``limits``.

    ``zipfile`` never unpacks more than the size a member declares in the directory (it stops there
    and checks the CRC), so these sums bound what openpyxl or odfpy can be made to read."""
    label = "Excel" if kind == "xlsx" else "OpenDocument"
    entries = _archive_entries(handle)
    if entries is not None and entries > limits.max_zip_members:
        raise _too_many_members(where, entries, label, limits)
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise _damaged(where, kind, exc) from None
    if len(members) > limits.max_zip_members:
        raise _too_many_members(where, len(members), label, limits)
    total = sum(member.file_size for member in members)
    if total > limits.max_unzipped_bytes:
        raise LimitError(
            f"{where} would unpack to {megabytes(total)}, over the limit of {limits.max_unzipped_mb:g} MB for an "
            f"unpacked {label} workbook. Check that this is the right file (a small file that unpacks to this much "
            f"is a 'zip bomb'); if it is, save the table as CSV, or raise {setting('max_unzipped_mb')} where "
            "whytrend runs."
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= ZIP_RATIO_FLOOR and ratio > limits.max_zip_ratio:
            raise LimitError(
                f"Part '{member.filename}' of {where} expands {ratio:,.0f} times when unpacked "
                f"({megabytes(member.compress_size)} to {megabytes(member.file_size)}), over the limit of "
                f"{limits.max_zip_ratio:g} times; real workbooks do not compress that well, 'zip bombs' do. Check "
                f"where the file came from; if it is genuine, raise {setting('max_zip_ratio')} where whytrend runs."
            )
    if kind == "ods":
        content = next((m for m in members if m.filename == "content.xml"), None)
        if content is not None and content.file_size > limits.max_ods_bytes:
            raise LimitError(
                f"The sheets of {where} unpack to {megabytes(content.file_size)} of XML, over the limit of "
                f"{limits.max_ods_mb:g} MB for an OpenDocument spreadsheet (it is read whole into memory, at about "
                f"25 times that size). Save the table as CSV or .xlsx, or raise {setting('max_ods_mb')} where "
                "whytrend runs."
            )


def _too_many_members(where: Where, entries: int, label: str, limits: Limits) -> LimitError:
    return LimitError(
        f"{where} is a ZIP archive of {entries:,} parts, over the limit of {limits.max_zip_members:,} for an "
        f"{label} workbook (which has tens). Check that this is the right file; if it is, raise "
        f"{setting('max_zip_members')} where whytrend runs."
    )


_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0 "


class _OdsCells:
    """Counts the rows and columns an .ods sheet expands to, as pandas' odf reader builds them.

    ODS compresses repeats into attributes (``number-rows-repeated``, ``number-columns-repeated``),
    so a few bytes can ask for billions of cells; this counts them from the XML, before odfpy does.
    Like pandas, empty cells and rows count only when something follows them, and rows are padded
    to the widest row of the sheet."""

    def __init__(self, where: Where, limits: Limits) -> None:
        self.where, self.limits = where, limits
        self.sheet = ""
        self._table(None)

    def _table(self, name: str | None) -> None:
        self.sheet = name or ""
        self.rows = self.empty_rows = self.widest = 0
        self.width = self.empty_cells = 0
        self.row_repeat = 1

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == _TABLE + "table":
            self._table(attrs.get(_TABLE + "name"))
        elif tag == _TABLE + "table-row":
            self.width = self.empty_cells = 0
            self.row_repeat = _repeat(attrs.get(_TABLE + "number-rows-repeated"))
        elif tag in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
            repeat = _repeat(attrs.get(_TABLE + "number-columns-repeated"))
            filled = _OFFICE + "value-type" in attrs and (
                tag == _TABLE + "table-cell" or _OFFICE + "value" in attrs)
            if not filled:
                self.empty_cells += repeat
                return
            self.width += self.empty_cells + repeat
            self.empty_cells = 0
            if self.width > self.limits.max_columns:
                raise LimitError(
                    f"Row {self.rows + self.empty_rows + 1} of {self._where()} has {self.width:,} cells or more, over "
                    f"the limit of {self.limits.max_columns:,} columns. Check that this is the right file; if the "
                    f"table really is that wide, raise {setting('max_columns')} where whytrend runs."
                )

    def end(self, tag: str) -> None:
        if tag != _TABLE + "table-row":
            return
        if self.width == 0:
            self.empty_rows += self.row_repeat
            return
        self.rows += self.empty_rows + self.row_repeat
        self.empty_rows = 0
        self.widest = max(self.widest, self.width)
        limits = self.limits
        if self.rows > limits.max_rows:
            raise LimitError(
                f"{self._where()} has {self.rows:,} rows or more, over the limit of {limits.max_rows:,} rows in one "
                f"table. Check that this is the right file; if it is, raise {setting('max_rows')} where whytrend runs."
            )
        if self.rows * self.widest > limits.max_cells:
            raise LimitError(
                f"{self._where()} expands to {self.rows:,} rows of {self.widest:,} cells or more, over the limit of "
                f"{limits.max_cells:,} cells for a table read whole into memory. Save the table as CSV, or raise "
                f"{setting('max_cells')} where whytrend runs."
            )

    def _where(self) -> Where:
        return Where(self.where.location, self.sheet or None)


def _repeat(text: str | None) -> int:
    try:
        return max(1, int(text)) if text else 1
    except ValueError:
        return 1


def _check_ods_cells(source: Source, where: Where, limits: Limits) -> None:
    """Stream ``content.xml`` through expat, counting the cells pandas would build (see
    :class:`_OdsCells`); XML that declares a DTD is refused (workbooks never need one)."""
    counter = _OdsCells(where, limits)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = counter.start
    parser.EndElementHandler = counter.end

    def doctype(*_args: object) -> None:
        raise ReadError(f"{where} declares a DTD in its sheets' XML, which no real OpenDocument spreadsheet does. "
                        "Open it in a spreadsheet program and save it again.")

    parser.StartDoctypeDeclHandler = doctype
    try:
        with source.open() as handle, zipfile.ZipFile(handle) as archive:
            try:
                member = archive.open("content.xml")
            except KeyError:
                return  # odfpy reports the damage
            with member:
                while block := member.read(1 << 20):
                    parser.Parse(block, False)
                parser.Parse(b"", True)
    except (expat.ExpatError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise _damaged(where, "ods", exc) from None


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
    raise ReadError(f"Sheet '{wanted}' not found in {where}; the sheets are: {listed}. Set sheet in the manifest to one of "
                    "these.")


def _damaged(where: Where, kind: str, exc: BaseException) -> ReadError:
    label = "Excel" if kind == "xlsx" else "OpenDocument"
    return ReadError(
        f"{where} cannot be read as an {label} workbook ({type(exc).__name__}: {exc}). "
        f"The file may be damaged or not really .{kind}; open it in a spreadsheet program and save it again."
    )


def _load_xlsx(source: Source, wanted: str | None, limits: Limits) -> tuple[str, list[Row]]:
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
            guard = RowGuard(Where(source.name, name, letters=True), limits)
            rows = []
            for number, values in enumerate(sheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
                row = [_cell(v) for v in values]
                guard.add(row, number)
                rows.append(row)
        except ReadError:
            raise
        except Exception as exc:  # damaged sheet XML surfaces only while iterating
            raise _damaged(Where(source.name, wanted), "xlsx", exc) from None
        finally:
            book.close()
    log.debug("%s sheet %s: %d rows", source.name, name, len(rows))
    return name, rows


def _load_ods(source: Source, wanted: str | None, limits: Limits) -> tuple[str, list[Row]]:
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
    guard = RowGuard(Where(source.name, name, letters=True), limits)
    for number, row in enumerate(rows, start=1):
        guard.add(row, number)
    log.debug("%s sheet %s: %d rows", source.name, name, len(rows))
    return name, rows
