"""Readers on local files: CSV, XLSX, ODS and JSON, including hostile input.

Fixtures are built in ``tmp_path`` so every test shows the bytes it reads.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from loaders.errors import ReadError, WhytrendError
from loaders.readers import (
    READERS,
    URL_READERS,
    ReadOptions,
    TableInfo,
    file_sha256,
    format_from_path,
    open_table,
)
from loaders.readers.header import clean_name, column_letter

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def read(path: Path, fmt: str = "csv", **kw: object) -> tuple[TableInfo, pd.DataFrame, list[int]]:
    """Read a whole table; return info, the concatenated frame and each chunk's first_row."""
    info, chunks = open_table(path, ReadOptions(format=fmt, **kw))
    listed = list(chunks)
    for chunk in listed:
        assert list(chunk.frame.columns) == list(info.columns)
        assert chunk.frame.index[0] == chunk.first_row
        assert all(dtype == object for dtype in chunk.frame.dtypes)  # noqa: E721 - numpy dtypes compare by value
    frame = pd.concat([c.frame for c in listed]) if listed else pd.DataFrame(columns=list(info.columns))
    return info, frame, [c.first_row for c in listed]


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def message(excinfo: pytest.ExceptionInfo[ReadError]) -> str:
    return str(excinfo.value)


# --- encodings and delimiters -------------------------------------------------------------


def test_utf8_csv_cells_are_text_and_rows_are_file_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "uc.csv", "month,la_code,value\n2024-01,E06000001,520\n2024-02,E06000001,\n")
    info, frame, firsts = read(path)
    assert info.columns == ("month", "la_code", "value")
    assert info.header_row == 1 and info.notes == () and info.warnings == () and info.sha256 is None
    assert firsts == [2]
    assert frame.values.tolist() == [["2024-01", "E06000001", "520"], ["2024-02", "E06000001", ""]]
    assert frame.index.tolist() == [2, 3]


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", b"\xef\xbb\xbfmonth,value\n2024-01,5\n")
    info, frame, _ = read(path, expected_columns=("month",))
    assert info.columns == ("month", "value")
    assert frame["month"].tolist() == ["2024-01"]


def test_cp1252_is_detected_when_not_utf8(tmp_path: Path) -> None:
    text = "area,spend\nCaf\u00e9 district,\u00a31,234\n".replace("\u00a31,234", '"\u00a31,234"')
    path = write(tmp_path, "spend.csv", text, "cp1252")
    assert b"\xa3" in path.read_bytes() and b"\xe9" in path.read_bytes()
    info, frame, _ = read(path)
    assert frame.values.tolist() == [["Caf\u00e9 district", "\u00a31,234"]]


def test_explicit_encoding_that_does_not_fit_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, "spend.csv", "area,spend\nCaf\u00e9,1\n", "cp1252")
    with pytest.raises(ReadError) as excinfo:
        read(path, encoding="utf-8")
    assert "is not valid utf-8 text: byte b'\\xe9' at offset 14" in message(excinfo)
    with pytest.raises(ReadError, match="Unknown encoding 'klingon'"):
        read(path, encoding="klingon")


def test_utf16_with_bom_from_excel_unicode_text(tmp_path: Path) -> None:
    path = write(tmp_path, "u16.txt", "month\tvalue\n2024-01\t\u00a35\n".encode("utf-16"))
    info, frame, _ = read(path)
    assert info.columns == ("month", "value")
    assert frame.values.tolist() == [["2024-01", "\u00a35"]]


def test_semicolon_delimited_with_decimal_commas(tmp_path: Path) -> None:
    path = write(tmp_path, "eu.csv", "month;area;rate\n2024-01;E1;1,5\n2024-02;E1;2,25\n2024-03;E2;3,0\n")
    info, frame, _ = read(path)
    assert info.columns == ("month", "area", "rate")
    assert frame["rate"].tolist() == ["1,5", "2,25", "3,0"]


def test_tab_delimited(tmp_path: Path) -> None:
    path = write(tmp_path, "t.txt", "month\tarea name\tvalue\n2024-01\tNorth East, England\t7\n")
    info, frame, _ = read(path)
    assert info.columns == ("month", "area name", "value")
    assert frame.values.tolist() == [["2024-01", "North East, England", "7"]]


def test_pipe_delimited(tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", "a|b|c\n1|2|3\n4|5|6\n")
    info, frame, _ = read(path)
    assert info.columns == ("a", "b", "c") and frame.values.tolist() == [["1", "2", "3"], ["4", "5", "6"]]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.csv", b"area,value\nA\x81B,1\n")
    info, frame, _ = read(path)
    assert frame["area"].tolist() == ["A\x81B"]
    assert info.warnings == (f"{path} is neither UTF-8 nor cp1252 text; read it as latin-1. "
                             "Set encoding in the manifest if some characters look wrong.",)


def test_header_cell_spanning_two_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "m.csv", 'month,"Spend\n(\u00a3m) [note 1]"\n2024-01,5\n2024-02,6\n')
    info, frame, firsts = read(path, expected_columns=("spend (\u00a3m)",))
    assert info.header_row == 1 and info.columns == ("month", "Spend (\u00a3m)")
    assert firsts == [3] and frame.index.tolist() == [3, 4]


# --- government layout: titles, notes, footnote markers, footers ---------------------------

GOV_ROWS = [
    ["Table 1: Households on Universal Credit [note 1]", None, None, None],
    ["Source: DWP Stat-Xplore, 2024", None, None, None],
    ["This table contains [x] where values are suppressed", None, None, None],
    ["Month", "Area  code", "Households [note 2]", "Status [Note 12]"],
    ["2024-01", "E06000001", "520", "final"],
    ["2024-02", "E06000001", "[x]", "final"],
    ["2024-03", "E06000001", "1,234", "provisional"],
    [None, None, None, None],
    ["Source: Department for Work and Pensions", None, None, None],
    ["Figures are rounded to the nearest 10", None, None, None],
]
GOV_NOTES = (
    "Table 1: Households on Universal Credit [note 1]",
    "Source: DWP Stat-Xplore, 2024",
    "This table contains [x] where values are suppressed",
)
GOV_COLUMNS = ("Month", "Area code", "Households", "Status")
GOV_DATA = [
    ["2024-01", "E06000001", "520", "final"],
    ["2024-02", "E06000001", "[x]", "final"],
    ["2024-03", "E06000001", "1,234", "provisional"],
]
GOV_WARNING = (
    "Dropped 2 text rows below the data of {where} (rows 9-10): 'Source: Department for Work and Pensions'; "
    "'Figures are rounded to the nearest 10'."
)


def gov_csv(tmp_path: Path) -> Path:
    buffer = io.StringIO()
    pd.DataFrame(GOV_ROWS).to_csv(buffer, header=False, index=False, lineterminator="\r\n")
    return write(tmp_path, "gov.csv", buffer.getvalue())


def gov_xlsx(tmp_path: Path) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Cover"
    book.active.append(["This workbook has one table"])
    sheet = book.create_sheet("Table_1")
    for row in GOV_ROWS:
        sheet.append(row)
    path = tmp_path / "gov.xlsx"
    book.save(path)
    return path


def gov_ods(tmp_path: Path) -> Path:
    path = tmp_path / "gov.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame([["This workbook has one table"]]).to_excel(writer, sheet_name="Cover", header=False, index=False)
        pd.DataFrame(GOV_ROWS).to_excel(writer, sheet_name="Table_1", header=False, index=False)
    return path


@pytest.mark.parametrize("fmt, make, sheet", [("csv", gov_csv, None), ("xlsx", gov_xlsx, "Table_1"), ("ods", gov_ods, "Table_1")])
def test_government_table_with_titles_markers_and_footer(tmp_path: Path, fmt: str, make, sheet: str | None) -> None:
    path = make(tmp_path)
    info, frame, firsts = read(path, fmt, sheet=sheet)
    assert info.header_row == 4
    assert info.columns == GOV_COLUMNS
    assert info.notes == GOV_NOTES
    assert info.sheet == sheet
    where = f"{path} (sheet Table_1)" if sheet else str(path)
    assert info.warnings == (GOV_WARNING.format(where=where),)
    assert firsts == [5]
    assert frame.index.tolist() == [5, 6, 7]
    assert frame.values.tolist() == GOV_DATA


@pytest.mark.parametrize("fmt, make", [("csv", gov_csv), ("xlsx", gov_xlsx), ("ods", gov_ods)])
def test_expected_columns_find_the_header_case_and_space_insensitively(tmp_path: Path, fmt: str, make) -> None:
    info, frame, _ = read(make(tmp_path), fmt, sheet="Table_1" if fmt != "csv" else None,
                          expected_columns=("month", "AREA CODE", "households"))
    assert info.header_row == 4 and info.columns == GOV_COLUMNS
    assert info.column("area   code") == "Area code" and info.column("nope") is None


@pytest.mark.parametrize("fmt, make", [("csv", gov_csv), ("xlsx", gov_xlsx)])
def test_missing_expected_columns_name_the_nearest_header(tmp_path: Path, fmt: str, make) -> None:
    path = make(tmp_path)
    sheet = "Table_1" if fmt == "xlsx" else None
    with pytest.raises(ReadError) as excinfo:
        read(path, fmt, sheet=sheet, expected_columns=("month", "value", "la_code"))
    where = f"{path} (sheet Table_1)" if sheet else str(path)
    assert message(excinfo) == (
        f"Columns 'value', 'la_code' not found in the first 10 rows of {where}; the nearest header row (row 4) has: "
        "'Month', 'Area code', 'Households', 'Status'. Check the column names in the manifest (case and spacing do not matter)."
    )


def test_skip_rows_names_the_header_row(tmp_path: Path) -> None:
    path = gov_csv(tmp_path)
    info, frame, _ = read(path, skip_rows=3)
    assert info.header_row == 4 and info.columns == GOV_COLUMNS and len(frame) == 3
    with pytest.raises(ReadError) as excinfo:
        read(path, skip_rows=2, expected_columns=("Month",))
    assert message(excinfo).startswith(
        f"Columns 'Month' not found in the header row of {path} (row 3, after skip_rows = 2); that row has: "
        "'This table contains where values are suppressed'."
    )
    with pytest.raises(ReadError, match=r"skip_rows = 50 but .* has only 10 rows"):
        read(path, skip_rows=50)


def test_clean_name_removes_markers_and_keeps_digits() -> None:
    assert clean_name("  Households\n[note 3] ") == "Households"
    assert clean_name("Value [Note 12][x]") == "Value"
    assert clean_name("Rate [notes 1 and 2] (%)") == "Rate (%)"
    assert clean_name("Households2") == "Households2"
    assert clean_name("Note book [c]") == "Note book"
    assert clean_name(dt.datetime(2024, 1, 1)) == "2024-01-01"
    assert clean_name(2023.0) == "2023" and clean_name(None) == ""
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


def test_notes_rows_below_data_need_only_first_cell(tmp_path: Path) -> None:
    """A last data row with several cells is kept; only one-cell text rows are footers."""
    path = write(tmp_path, "f.csv", "a,b\n1,2\nTotal,3\n\n\n")
    info, frame, _ = read(path)
    assert frame.values.tolist() == [["1", "2"], ["Total", "3"]] and info.warnings == ()


# --- chunking ------------------------------------------------------------------------------


def test_chunks_have_true_row_numbers_and_concatenate_to_the_whole(tmp_path: Path) -> None:
    lines = ["Title", "", "n,square"] + [f"{i},{i * i}" for i in range(10)]
    path = write(tmp_path, "c.csv", "\n".join(lines) + "\n")
    info, chunks = open_table(path, ReadOptions(format="csv", chunk_rows=3))
    listed = list(chunks)
    assert info.header_row == 3 and info.notes == ("Title",)
    assert [c.first_row for c in listed] == [4, 7, 10, 13]
    assert [len(c.frame) for c in listed] == [3, 3, 3, 1]
    whole = pd.concat([c.frame for c in listed])
    assert whole["n"].tolist() == [str(i) for i in range(10)]
    assert whole["square"].tolist() == [str(i * i) for i in range(10)]
    assert whole.index.tolist() == list(range(4, 14))
    assert lines[whole.index[6] - 1] == "6,36"  # row numbers are the lines a text editor shows


def test_footer_rows_are_dropped_across_chunk_boundaries(tmp_path: Path) -> None:
    lines = ["n,v"] + [f"{i},x" for i in range(7)] + ["Source: me", "", "Notes: rounded", ""]
    path = write(tmp_path, "c.csv", "\n".join(lines) + "\n")
    info, frame, firsts = read(path, chunk_rows=3)
    assert frame["n"].tolist() == [str(i) for i in range(7)]
    assert frame.index.tolist() == list(range(2, 9))
    assert info.warnings == (f"Dropped 2 text rows below the data of {path} (rows 9-11): 'Source: me'; 'Notes: rounded'.",)


def test_blank_rows_inside_the_data_are_skipped_and_numbers_stay_true(tmp_path: Path) -> None:
    path = write(tmp_path, "b.csv", "a,b\n1,2\n\n3,4\n")
    _, frame, _ = read(path)
    assert frame.values.tolist() == [["1", "2"], ["3", "4"]]
    assert frame.index.tolist() == [2, 4]  # the file's rows, so messages name the right one


def test_header_only_file_has_no_chunks(tmp_path: Path) -> None:
    for data in ("month,value\n", "month,value", "month,value\n\n\n"):
        info, chunks = open_table(write(tmp_path, "h.csv", data), ReadOptions(format="csv"))
        assert info.columns == ("month", "value") and list(chunks) == []


# --- hostile cells are text ----------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example")', "Robert'); DROP TABLE x;--", "1e308", "NaN", "NA", "null", "-"]


def test_csv_hostile_cells_are_returned_as_text(tmp_path: Path) -> None:
    buffer = io.StringIO()
    pd.DataFrame({"id": range(len(HOSTILE)), "cell": HOSTILE}).to_csv(buffer, index=False)
    _, frame, _ = read(write(tmp_path, "h.csv", buffer.getvalue()))
    assert frame["cell"].tolist() == HOSTILE
    # one column: the ';' in one cell does not make it semicolon-delimited
    buffer = io.StringIO()
    pd.DataFrame({"cell": HOSTILE}).to_csv(buffer, index=False)
    info, frame, _ = read(write(tmp_path, "one.csv", buffer.getvalue()))
    assert info.columns == ("cell",) and frame["cell"].tolist() == HOSTILE


def _set_cached_value(path: Path, formula: str, value: str) -> None:
    """openpyxl cannot write a formula's cached value; add it to the sheet XML as Excel would."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    name = "xl/worksheets/sheet1.xml"
    xml = files[name].decode()
    xml, count = re.subn(rf"<f>{re.escape(formula)}</f>\s*<v\s*/>|<f>{re.escape(formula)}</f>\s*<v></v>",
                         f"<f>{formula}</f><v>{value}</v>", xml)
    assert count == 1, xml
    files[name] = xml.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for item, data in files.items():
            archive.writestr(item, data)


def test_xlsx_dates_cached_formulas_and_text_that_looks_like_a_formula(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["Period", "Count", "Doubled", "Comment"])
    sheet.append([dt.datetime(2024, 1, 1), 5, "=B2*2", HOSTILE[0]])
    sheet["D2"].data_type = "s"  # a text cell whose text starts with '='
    sheet.append([dt.datetime(2024, 2, 1), 1.5, None, HOSTILE[1]])
    sheet.append(["2024-03", True, None, "NaN"])
    path = tmp_path / "f.xlsx"
    book.save(path)
    _set_cached_value(path, "B2*2", "10")
    info, frame, firsts = read(path, "xlsx")
    assert info.sheet == "Data" and info.columns == ("Period", "Count", "Doubled", "Comment")
    assert firsts == [2]
    assert frame.values.tolist() == [
        [dt.datetime(2024, 1, 1), 5, 10, HOSTILE[0]],
        [dt.datetime(2024, 2, 1), 1.5, None, HOSTILE[1]],
        ["2024-03", "TRUE", None, "NaN"],
    ]


def test_ods_cells_and_types(tmp_path: Path) -> None:
    rows = [["Title", None, None], [None, None, None], ["Period", "Count", "Comment"], [dt.datetime(2024, 1, 1), 5, HOSTILE[0]],
            ["2024-02", 2.5, "NaN"]]
    path = tmp_path / "f.ods"
    pd.DataFrame(rows).to_excel(path, engine="odf", header=False, index=False, sheet_name="S1")
    info, frame, firsts = read(path, "ods")
    assert info.header_row == 3 and info.notes == ("Title",) and info.columns == ("Period", "Count", "Comment")
    assert firsts == [4]
    assert frame.values.tolist() == [[dt.datetime(2024, 1, 1), 5, HOSTILE[0]], ["2024-02", 2.5, "NaN"]]
    assert type(frame.iloc[0, 0]) is dt.datetime


# --- columns: duplicates and unnamed -------------------------------------------------------


def test_duplicate_expected_column_names_both_positions(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["month", "area", "value", "x", "y", "Value"])
    book.active.append(["2024-01", "E1", 1, 2, 3, 4])
    path = tmp_path / "d.xlsx"
    book.save(path)
    with pytest.raises(ReadError) as excinfo:
        read(path, "xlsx", expected_columns=("month", "value"))
    assert "Columns C and F of" in message(excinfo)
    assert "are both called 'Value' (header row 1)" in message(excinfo)
    csv_path = write(tmp_path, "d.csv", "month,value,x,value\n2024-01,1,2,3\n")
    with pytest.raises(ReadError, match=r"Columns 2 and 4 of .*d\.csv are both called 'value'"):
        read(csv_path, expected_columns=("value",))


def test_duplicate_unused_column_is_renamed_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "month,total,value,Total,total\n2024-01,1,2,3,4\n")
    info, frame, _ = read(path, expected_columns=("month", "value"))
    assert info.columns == ("month", "total", "value", "Total (2)", "total (3)")
    assert info.warnings == (
        f"Columns 2 and 4 of {path} are both called 'Total'; column 4 is called 'Total (2)'.",
        f"Columns 2 and 5 of {path} are both called 'total'; column 5 is called 'total (3)'.",
    )
    assert frame.iloc[0].tolist() == ["2024-01", "1", "2", "3", "4"]


def test_empty_unnamed_columns_are_dropped_and_unnamed_with_data_kept(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "month,,value,,\n2024-01,,5,x,\n2024-02,,6,,\n")
    info, frame, _ = read(path, expected_columns=("month", "value"))
    assert info.columns == ("month", "value", "column 4")
    assert info.warnings == (f"Column 4 of {path} has data but no header (row 1); it is called 'column 4', "
                             "the name (or the column's letter or number) a manifest can use.",)
    assert frame.values.tolist() == [["2024-01", "5", "x"], ["2024-02", "6", ""]]


def test_spreadsheet_cell_right_of_the_table_becomes_a_named_column(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["month", "value", None, None])
    sheet.append(["2024-01", 1, None, "* provisional"])
    sheet.append(["2024-02", 2])
    path = tmp_path / "n.xlsx"
    book.save(path)
    info, frame, _ = read(path, "xlsx", expected_columns=("month",))
    assert info.columns == ("month", "value", "column D")
    assert info.warnings == (f"Column D of {path} (sheet Sheet) has data but no header (row 1); it is called 'column D', "
                             "the name (or the column's letter or number) a manifest can use.",)
    assert frame.values.tolist() == [["2024-01", 1, "* provisional"], ["2024-02", 2, None]]


def test_header_below_the_first_100_rows_needs_skip_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.csv", "\n" * 120 + "a,b\n1,2\n")
    with pytest.raises(ReadError, match="The first 100 rows of .* are empty, so no header was found. Set skip_rows"):
        read(path)
    info, frame, _ = read(path, skip_rows=120)
    assert info.header_row == 121 and frame.values.tolist() == [["1", "2"]] and frame.index.tolist() == [122]


def test_trailing_delimiters_on_every_line_are_harmless(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "a,b,\n1,2,\n3,4,,\n")
    info, frame, _ = read(path)
    assert info.columns == ("a", "b") and frame.values.tolist() == [["1", "2"], ["3", "4"]]


# --- hostile files --------------------------------------------------------------------------


def test_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as excinfo:
        read(write(tmp_path, "zero.csv", b""))
    assert message(excinfo) == (f"{tmp_path / 'zero.csv'} is empty (0 bytes). Check that the file was saved or "
                                "downloaded completely.")
    with pytest.raises(ReadError, match="is empty: there is no header row and no data"):
        read(write(tmp_path, "blank.csv", "\n\n  \n,,\n"))


def test_binary_junk_named_csv(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="looks like a binary file, not CSV text"):
        read(write(tmp_path, "junk.csv", bytes(range(256)) * 4))


def test_workbook_named_csv_suggests_the_format(tmp_path: Path) -> None:
    path = gov_xlsx(tmp_path).rename(tmp_path / "really.csv")
    with pytest.raises(ReadError) as excinfo:
        read(path)
    assert 'set format = "xlsx" for this source' in message(excinfo)
    ods = gov_ods(tmp_path).rename(tmp_path / "really2.csv")
    with pytest.raises(ReadError, match='Set format = "ods"'):
        read(ods)


def test_ragged_row_in_the_sample(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "Title\n\na,b,c,d\n1,2,3,4\n1,2,3,4\n5,6,7,8\n1,2,3,4,5\n")
    with pytest.raises(ReadError) as excinfo:
        read(path, expected_columns=("a", "d"))
    assert message(excinfo) == (
        f"Row 7 of {path} has 5 cells but the header (row 3) has 4. "
        "A cell containing the delimiter probably needs quotes; fix that row in the file."
    )


def test_ragged_row_deep_in_a_streamed_file(tmp_path: Path) -> None:
    lines = ["a,b,c,d"] + ["1,2,3,4"] * 3000 + ["1,2,3,4,5"] + ["1,2,3,4"] * 10
    path = write(tmp_path, "r.csv", "\n".join(lines) + "\n")
    info, chunks = open_table(path, ReadOptions(format="csv", chunk_rows=1000))
    with pytest.raises(ReadError, match=r"Row 3002 of .* has 5 cells but the header \(row 1\) has 4\."):
        list(chunks)


def test_unclosed_quote(tmp_path: Path) -> None:
    lines = ["a,b"] + ["1,2"] * 1500 + ['3,"oops', "4,5"]
    path = write(tmp_path, "q.csv", "\n".join(lines) + "\n")
    with pytest.raises(ReadError, match=r"has a quote \(\"\) opened in row 1502 that is never closed"):
        read(path)


def test_missing_and_bad_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReadError) as excinfo:
        read(Path("nope.csv"))
    assert message(excinfo).startswith(f"File not found: {tmp_path / 'nope.csv'} (given as 'nope.csv').")
    with pytest.raises(ReadError, match="is a folder, not a file"):
        read(tmp_path)


def test_corrupt_workbooks(tmp_path: Path) -> None:
    damaged = write(tmp_path, "bad.xlsx", b"PK\x03\x04" + b"\x00garbage" * 100)
    with pytest.raises(ReadError, match=r"cannot be read as an Excel workbook .*open it in a spreadsheet program"):
        read(damaged, "xlsx")
    with pytest.raises(ReadError, match=r"cannot be read as an OpenDocument workbook"):
        read(write(tmp_path, "bad.ods", b"PK\x03\x04" + b"\x00garbage" * 100), "ods")
    text = write(tmp_path, "text.xlsx", "a,b\n1,2\n")
    with pytest.raises(ReadError) as excinfo:
        read(text, "xlsx")
    assert message(excinfo) == (
        f'{text} is not a valid .xlsx workbook (it is not a ZIP archive). If it is CSV text, set format = "csv" for this source.'
    )
    # an .xlsx given as ods: a ZIP without content.xml
    with pytest.raises(ReadError, match="cannot be read as an OpenDocument workbook"):
        read(gov_xlsx(tmp_path), "ods")


@pytest.mark.parametrize("fmt, make", [("xlsx", gov_xlsx), ("ods", gov_ods)])
def test_missing_sheet_lists_the_sheets(tmp_path: Path, fmt: str, make) -> None:
    path = make(tmp_path)
    with pytest.raises(ReadError) as excinfo:
        read(path, fmt, sheet="Table_2")
    assert message(excinfo) == (
        f"Sheet 'Table_2' not found in {path}; the sheets are: 'Cover', 'Table_1'. Set sheet in the manifest to one of these."
    )
    info, _, _ = read(path, fmt, sheet="table_1")  # a unique case-insensitive match is accepted
    assert info.sheet == "Table_1"


def test_default_sheet_is_the_first(tmp_path: Path) -> None:
    info, frame, _ = read(gov_xlsx(tmp_path), "xlsx")
    assert info.sheet == "Cover" and info.columns == ("This workbook has one table",) and frame.empty


def test_errors_are_whytrend_errors_with_one_paragraph(tmp_path: Path) -> None:
    with pytest.raises(WhytrendError) as excinfo:
        read(write(tmp_path, "junk.csv", b"\x00\x01"))
    assert "\n" not in str(excinfo.value)


# --- API helpers -----------------------------------------------------------------------------


def test_format_from_path() -> None:
    assert [format_from_path(p) for p in ("a.csv", "B.TXT", "c.xlsx", "d.xlsm", "e.ods", "f.json")] == [
        "csv", "csv", "xlsx", "xlsx", "ods", "json"]
    assert format_from_path("https://example.org/data/x.csv?download=1") == "csv"
    with pytest.raises(ReadError) as excinfo:
        format_from_path("table.xls")
    assert message(excinfo).startswith("Cannot tell the format of 'table.xls' from its extension ('.xls'). Add format = \"csv\"")


def test_file_sha256_matches_hashlib(tmp_path: Path) -> None:
    data = b"x" * (3 * (1 << 20) + 17)
    path = write(tmp_path, "big.bin", data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_dispatch_is_a_dict(tmp_path: Path) -> None:
    assert set(READERS) == {"csv", "xlsx", "ods", "json"} and set(URL_READERS) == {"http", "https"}
    with pytest.raises(ReadError, match='Unknown format "xls"'):
        open_table(tmp_path / "a.xls", ReadOptions(format="xls"))
    with pytest.raises(ReadError, match="only http and https URLs"):
        open_table("ftp://example.org/a.csv", ReadOptions(format="csv"))


def test_json_file_records(tmp_path: Path) -> None:
    doc = {"data": [{"period": "2024-01", "area": {"code": "E1", "name": "North"}, "value": 5, "final": True},
                    {"period": "2024-02", "area": {"code": "E1"}, "value": None, "tags": ["a"], "final": False}]}
    path = write(tmp_path, "d.json", json.dumps(doc))
    info, frame, firsts = read(path, "json", records_path="data", expected_columns=("period", "VALUE"))
    assert info.header_row == 0 and firsts == [1]
    assert info.columns == ("period", "area.code", "area.name", "value", "final", "tags")
    assert frame.values.tolist() == [["2024-01", "E1", "North", 5, "true", None],
                                     ["2024-02", "E1", None, None, "false", '["a"]']]
    with pytest.raises(ReadError) as excinfo:
        read(path, "json", records_path="result.items")
    assert message(excinfo) == (
        f"Key 'result' of records_path 'result.items' not found in {path}: the top level is an object with keys 'data'. "
        "Set records_path in the manifest to the key that holds the list of records."
    )
    with pytest.raises(ReadError, match=r'it is an object with keys \'data\'. Set records_path = "data"'):
        read(path, "json")


# --- real government files -----------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real is absent")
def test_real_csv_files_read_every_row() -> None:
    files = sorted(REAL.glob("*.csv"))
    assert files
    for path in files:
        info, frame, _ = read(path, chunk_rows=5000)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            lines = handle.read().splitlines()
        assert info.header_row == 1 and info.warnings == (), path.name
        assert len(frame) == len(lines) - 1, path.name
        assert frame.index[-1] == len(lines), path.name


# --- memory -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_streaming_two_million_rows_keeps_memory_modest(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with open(path, "w") as handle:
        handle.write("month,la_code,measure,value\n")
        for i in range(2_000_000):
            handle.write(f"20{10 + i % 15}-{1 + i % 12:02d},E0600{i % 1000:04d},uc_households,{i * 7 % 100000}\n")
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a large pytest process would
    # report the parent's peak.
    script = (
        "import re, sys\n"
        "from loaders.readers import open_table, ReadOptions\n"
        "info, chunks = open_table(sys.argv[1], ReadOptions(format='csv'))\n"
        "n = sum(len(c.frame) for c in chunks)\n"
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024\n"
        "print(n, peak)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True)
    rows, peak_mb = map(int, out.stdout.split())
    print(f"2,000,000 rows streamed; peak RSS {peak_mb} MB")
    assert rows == 2_000_000
    assert peak_mb < 600
