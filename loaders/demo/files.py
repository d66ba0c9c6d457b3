"""Writing the demo's files as departments publish them: CSV, XLSX (title rows, notes, shorthand) and
ODS, with the exact spellings real tables use."""
from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape as _xml_escape

import numpy as np
import pandas as pd

from .areas import (
    ENGLAND_CODE,
    ENGLAND_NAME,
    LOCAL_AUTHORITIES,
    REGIONS,
)
from .parameters import (
    _AE_BAD,
    _AE_HEADER,
    _AE_NOT_AVAILABLE,
    _AE_NOTE_CELL,
    _AE_TITLE_ROWS,
    _AE_TYPES,
    _DFE_BAD,
    _DFE_HEADER,
    _DWP_BLANK_AREA_AFTER,
    _DWP_MONTH13_AFTER,
    _LA_INDEX,
    _MONTH_INDEX,
    _MONTH_NAMES,
    _ONS_BAD,
    _ONS_VARIABLES,
    ACADEMIC_YEARS,
    DEMO_SEED,
    FINANCIAL_YEARS,
    FORECAST_AWARD_GAP_PENCE,
    FORECAST_CASELOAD_GAP,
    FORECAST_MONTHS,
    GDP_DEFLATOR,
    LA_CODES,
    LEGACY_SPEND_BN,
    MONTHS,
    _ae_types_of,
)
from .simulate import _Simulation


# --------------------------------------------------------------------------------------
# Text helpers: the exact spellings written to files
# --------------------------------------------------------------------------------------
def _int_text(values: np.ndarray) -> np.ndarray:
    return values.astype(np.int64).astype(str)


def _dp_text(values: np.ndarray, places: int) -> np.ndarray:
    return np.char.mod(f"%.{places}f", values)


def _pence_text(pence: int) -> str:
    pounds, p = divmod(int(pence), 100)
    return f"{pounds}.{p:02d}"


def _spend_text(total_pence: int) -> str:
    """caseload x award / 1e6 in £m, written exactly (8 decimals of £m = whole pence)."""
    whole, rest = divmod(int(total_pence), 10**8)
    return f"{whole}.{rest:08d}"


def _long_month(month: str) -> str:
    return f"{_MONTH_NAMES[int(month[5:]) - 1]} {month[:4]}"


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _write_zip(path: Path, members: Sequence[tuple[str, bytes, bool]]) -> None:
    """Write a zip with fixed timestamps and order, so the same content gives the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, compress in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6 if compress else None)


# --------------------------------------------------------------------------------------
# File writers
# --------------------------------------------------------------------------------------
def _write_dwp(sim: _Simulation, path: Path, caseload: np.ndarray) -> None:
    """DWP: long CSV (month, area, measure, value), provisional flag on the last three months."""
    names = [la.name for la in LOCAL_AUTHORITIES]
    caseload_text = _int_text(caseload)
    provisional = set(MONTHS[-3:])

    def rows() -> Iterator[list[str]]:
        for t, month in enumerate(MONTHS):
            flag = "Y" if month in provisional else ""
            for i, code in enumerate(LA_CODES):
                pence = int(sim.award_pence[i, t])
                yield [month, code, names[i], "uc_caseload", caseload_text[i, t], flag]
                yield [month, code, names[i], "uc_avg_award", _pence_text(pence), flag]
                yield [month, code, names[i], "uc_spend", _spend_text(int(caseload[i, t]) * pence), flag]
            if month == _DWP_MONTH13_AFTER:
                yield ["Month 13", LA_CODES[0], names[0], "uc_caseload", "1234", ""]
            if month == _DWP_BLANK_AREA_AFTER:
                yield [month, "", "", "uc_caseload", "1500", ""]

    _write_csv(path, ("month", "la_code", "la_name", "measure", "value", "provisional"), rows())


def _write_ons(sim: _Simulation, path: Path) -> None:
    """ONS-style drivers: long CSV keyed by ISO dates (first of the month)."""
    names = [la.name for la in LOCAL_AUTHORITIES]
    texts = {}
    for name in _ONS_VARIABLES:
        values = sim.drivers[name]
        texts[name] = (_int_text(values) if name in ("population", "population_16_64", "claimant_count")
                       else _dp_text(np.nan_to_num(values), 1))
    for code, month, variable, text in _ONS_BAD:
        texts[variable][_LA_INDEX[code], _MONTH_INDEX[month]] = text
    columns = [texts[name] for name in _ONS_VARIABLES]

    def rows() -> Iterator[list[str]]:
        for t, month in enumerate(MONTHS):
            date = f"{month}-01"
            for i, code in enumerate(LA_CODES):
                for name, column in zip(_ONS_VARIABLES, columns):
                    yield [date, code, names[i], name, column[i, t]]

    _write_csv(path, ("date", "geography_code", "geography", "variable", "value"), rows())


def _write_dfe(sim: _Simulation, path: Path) -> None:
    """DfE: explore-education-statistics style wide CSV with national and regional rows."""
    region_rows = {r.code: [i for i, la in enumerate(LOCAL_AUTHORITIES) if la.region == r.code] for r in REGIONS}
    bad_code, bad_year, bad_text = _DFE_BAD

    def rows() -> Iterator[list[str]]:
        for y, year in enumerate(ACADEMIC_YEARS):
            period = f"{year}/{(year + 1) % 100:02d}"
            cap = sim.capacity[:, y]
            yield [period, "Academic year", "National", ENGLAND_CODE, ENGLAND_NAME, "", "", "", "",
                   str(int(sim.pupils[:, y].sum())), str(int(cap.sum()))]
            for region in REGIONS:
                idx = region_rows[region.code]
                yield [period, "Academic year", "Regional", ENGLAND_CODE, ENGLAND_NAME, region.code,
                       region.name, "", "", str(int(sim.pupils[idx, y].sum())), str(int(cap[idx].sum()))]
                for i in idx:
                    la = LOCAL_AUTHORITIES[i]
                    capacity = bad_text if (la.code, year) == (bad_code, bad_year) else str(int(cap[i]))
                    yield [period, "Academic year", "Local authority", ENGLAND_CODE, ENGLAND_NAME,
                           region.code, region.name, la.code, la.name, str(int(sim.pupils[i, y])), capacity]

    _write_csv(path, _DFE_HEADER, rows())


def _write_home_office(sim: _Simulation, path: Path) -> None:
    """Home Office: national monthly wide CSV, months spelt out, thousands separators."""
    a = sim.asylum
    rows = ([_long_month(month), f"{a['asylum_applications'][t]:,}", f"{a['asylum_decisions'][t]:,}",
             f"{a['asylum_backlog'][t]:,}"] for t, month in enumerate(MONTHS))
    _write_csv(path, ("Month", "Asylum applications (main applicants)", "Initial decisions",
                      "Cases awaiting an initial decision (end of month)"), rows)


class _Xlsx:
    """A minimal, deterministic XLSX writer (shared strings, numbers, dates).

    Why not openpyxl: it stamps the current time into the package (so the bytes change on
    every run) and takes seconds for the A&E sheet; this writes the same Office Open XML,
    which openpyxl and pandas read back, in a fraction of the time.
    """

    _NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    _REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    DATE, BOLD = 1, 2  # style indices in styles.xml

    def __init__(self) -> None:
        self._strings: dict[str, int] = {}
        self._references = 0
        self._sheets: list[tuple[str, str]] = []

    def string(self, text: str) -> int:
        self._references += 1
        return self._strings.setdefault(text, len(self._strings))

    @staticmethod
    def column(index: int) -> str:
        return chr(ord("A") + index)  # up to 26 columns is all the demo needs

    def cell(self, ref: str, value: object, style: int = 0) -> str:
        s = f' s="{style}"' if style else ""
        if value is None:
            return ""
        if isinstance(value, str):
            return f'<c r="{ref}"{s} t="s"><v>{self.string(value)}</v></c>'
        return f'<c r="{ref}"{s}><v>{value}</v></c>'

    def add_sheet(self, name: str, rows_xml: str) -> None:
        self._sheets.append((name, rows_xml))

    def save(self, path: Path) -> None:
        n = len(self._sheets)
        sheets = "".join(f'<sheet name="{_xml_escape(name)}" sheetId="{k + 1}" r:id="rId{k + 1}"/>'
                         for k, (name, _rows) in enumerate(self._sheets))
        rels = "".join(f'<Relationship Id="rId{k + 1}" Type="{self._REL}/worksheet" '
                       f'Target="worksheets/sheet{k + 1}.xml"/>' for k in range(n))
        rels += (f'<Relationship Id="rId{n + 1}" Type="{self._REL}/styles" Target="styles.xml"/>'
                 f'<Relationship Id="rId{n + 2}" Type="{self._REL}/sharedStrings" Target="sharedStrings.xml"/>')
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{k + 1}.xml" ContentType="{ct}.worksheet+xml"/>'
                            for k in range(n))
        content_types = (
            f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>{overrides}'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>')
        root_rels = (f'{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     f'<Relationship Id="rId1" Type="{self._REL}/officeDocument" Target="xl/workbook.xml"/>'
                     '</Relationships>')
        workbook = (f'{head}<workbook xmlns="{self._NS}" xmlns:r="{self._REL}"><sheets>{sheets}</sheets></workbook>')
        workbook_rels = (f'{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         f'{rels}</Relationships>')
        styles = (
            f'{head}<styleSheet xmlns="{self._NS}">'
            '<numFmts count="1"><numFmt numFmtId="164" formatCode="mmm\\-yy"/></numFmts>'
            '<fonts count="2"><font><sz val="11"/><name val="Arial"/></font>'
            '<font><b/><sz val="11"/><name val="Arial"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
        strings = "".join(f'<si><t xml:space="preserve">{_xml_escape(s)}</t></si>' for s in self._strings)
        shared = (f'{head}<sst xmlns="{self._NS}" count="{self._references}" '
                  f'uniqueCount="{len(self._strings)}">{strings}</sst>')
        members = [("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
                   ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
                   ("xl/styles.xml", styles), ("xl/sharedStrings.xml", shared)]
        members += [(f"xl/worksheets/sheet{k + 1}.xml",
                     f'{head}<worksheet xmlns="{self._NS}"><sheetData>{rows}</sheetData></worksheet>')
                    for k, (_name, rows) in enumerate(self._sheets)]
        _write_zip(path, [(name, text.encode("utf-8"), True) for name, text in members])


def _excel_serial(month: str) -> int:
    """Excel's day number for the first of a month (1900 date system)."""
    return (pd.Timestamp(f"{month}-01") - pd.Timestamp("1899-12-30")).days


_AE_COVER = (
    "A&E attendances and emergency admissions by local authority of residence (demo)",
    "Synthetic data generated by whytrend for demonstration and testing; not official statistics.",
    "Table 1 has one row per month, local authority of residence and A&E department type.",
    "[note 1] Attendances completed (admitted, transferred or discharged) within 4 hours of arrival.",
    "[note 2] The figure was revised after publication by the submitting organisation.",
    "Shorthand: [c] suppressed to protect confidentiality (counts of 1 to 4); [x] not available.",
)


def _write_ae(sim: _Simulation, path: Path) -> None:
    """NHS A&E: XLSX with a cover sheet and 'Table 1' (title rows, notes, shorthand)."""
    book = _Xlsx()
    col = [book.column(k) for k in range(len(_AE_HEADER))]
    cover = "".join(f'<row r="{r + 1}">{book.cell(f"A{r + 1}", text, book.BOLD if r == 0 else 0)}</row>'
                    for r, text in enumerate(_AE_COVER))
    book.add_sheet("Cover", cover)

    title = ("Table 1: A&E attendances, attendances within 4 hours and emergency admissions by local "
             "authority of residence and department type, England, January 2017 to September 2026")
    notes = ("This worksheet contains one table. Some cells refer to notes, which are on the Cover sheet. "
             "Shorthand: [c] suppressed, [x] not available.")
    source = "Source: NHS England, A&E attendances and emergency admissions (synthetic demo data)."
    parts = [f'<row r="1">{book.cell("A1", title, book.BOLD)}</row>',
             f'<row r="2">{book.cell("A2", notes)}</row>', f'<row r="3">{book.cell("A3", source)}</row>']
    header_row = _AE_TITLE_ROWS + 1
    parts.append(f'<row r="{header_row}">' + "".join(
        book.cell(f"{col[k]}{header_row}", h, book.BOLD) for k, h in enumerate(_AE_HEADER)) + "</row>")

    special: dict[tuple[int, int, int, int], str] = {}
    for code, month, dept, column, text in _AE_BAD:
        special[(_LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept), column)] = text
    code, month, dept = _AE_NOTE_CELL
    i, t, k = _LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept)
    special[(i, t, k, 4)] = f"{int(sim.ae_att[i, t, k]):,} [note 2]"
    code, months, dept = _AE_NOT_AVAILABLE
    for month in months:
        special[(_LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept), 5)] = "[x]"
    suppressed = np.argwhere(np.isnan(sim.ae_adm[..., 1]) & sim.ae_present[:, None, 1])
    for i, t in suppressed:
        special.setdefault((int(i), int(t), 1, 6), "[c]")

    names = [la.name for la in LOCAL_AUTHORITIES]
    types = [_ae_types_of(c) for c in LA_CODES]
    r = header_row
    for t, month in enumerate(MONTHS):
        serial = _excel_serial(month)
        for i, code in enumerate(LA_CODES):
            for k in types[i]:
                r += 1
                values = (int(sim.ae_att[i, t, k]), sim.ae_within[i, t, k], sim.ae_adm[i, t, k])
                cells = [f'<c r="A{r}" s="{book.DATE}"><v>{serial}</v></c>',
                         book.cell(f"B{r}", code), book.cell(f"C{r}", names[i]), book.cell(f"D{r}", _AE_TYPES[k])]
                for offset, value in enumerate(values):
                    c = 4 + offset
                    text = special.get((i, t, k, c))
                    cells.append(book.cell(f"{col[c]}{r}", text if text is not None else int(value)))
                parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    book.add_sheet("Table 1", "".join(parts))
    book.save(path)


_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"')


def _ods_row(values: Sequence[object]) -> str:
    cells = []
    for value in values:
        if isinstance(value, float):
            shown = f"{value:.3f}".rstrip("0").rstrip(".")
            cells.append(f'<table:table-cell office:value-type="float" office:value="{value!r}">'
                         f"<text:p>{shown}</text:p></table:table-cell>")
        else:
            cells.append(f'<table:table-cell office:value-type="string"><text:p>{_xml_escape(str(value))}'
                         "</text:p></table:table-cell>")
    return f"<table:table-row>{''.join(cells)}</table:table-row>"


def _write_ods(path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
    """A minimal OpenDocument spreadsheet, written directly.

    Why not odfpy's writer: the namespaces it declares depend on what else the process has
    loaded before (global state), so its bytes are not reproducible. odfpy still reads it.
    """
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    tables = "".join(f'<table:table table:name="{_xml_escape(name)}">{"".join(_ods_row(r) for r in rows)}'
                     "</table:table>" for name, rows in sheets)
    content = (f'{head}<office:document-content {_ODS_NS} office:version="1.2"><office:body>'
               f"<office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>")
    styles = f'{head}<office:document-styles {_ODS_NS} office:version="1.2"/>'
    meta = (f'{head}<office:document-meta {_ODS_NS} office:version="1.2"><office:meta>'
            "<meta:generator>whytrend demo</meta:generator></office:meta></office:document-meta>")
    mime = "application/vnd.oasis.opendocument.spreadsheet"
    entries = "".join(f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>'
                      for name in ("content.xml", "styles.xml", "meta.xml"))
    manifest = (f'{head}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                f'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
                f'manifest:media-type="{mime}"/>{entries}</manifest:manifest>')
    _write_zip(path, [("mimetype", mime.encode("ascii"), False),  # first and stored, as ODF requires
                      ("content.xml", content.encode("utf-8"), True),
                      ("styles.xml", styles.encode("utf-8"), True),
                      ("meta.xml", meta.encode("utf-8"), True),
                      ("META-INF/manifest.xml", manifest.encode("utf-8"), True)])


def _write_fy_spend(sim: _Simulation, path: Path) -> None:
    """DWP: financial-year expenditure, ODS, periods as column headers (wide by period)."""
    cover = [["Benefit expenditure by financial year, England (demo)"],
             ["Synthetic data generated by whytrend; not official statistics."],
             ["Shorthand: [x] not available; [z] not applicable."]]
    periods = [f"{fy}-{(fy + 1) % 100:02d}" for fy in FINANCIAL_YEARS]
    table: list[list[object]] = [
        ["Table 1: Benefit expenditure by financial year, England, £ billion, nominal prices"],
        ["Notes: Universal Credit from 2017-18 is the sum of monthly payments in the local authority "
         "file; 2016-17 is an estimate; 2015-16 is not available [x]."],
        ["Area code", "Area name", "Benefit", *periods],
        [ENGLAND_CODE, ENGLAND_NAME, "Universal Credit", *("[x]" if v is None else float(v) for v in sim.fy_uc_bn)],
    ]
    for benefit, values in LEGACY_SPEND_BN.items():
        table.append([ENGLAND_CODE, ENGLAND_NAME, benefit, *("[z]" if v is None else float(v) for v in values)])
    _write_ods(path, [("Cover", cover), ("Table_1", table)])


def forecast_values(sim: _Simulation | int = DEMO_SEED) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The forecast's months, caseload and award (pence) by (area in LA_CODES order, month): the
    first-published outturn with the planted differences of :data:`FORECAST_CASELOAD_GAP` and
    :data:`FORECAST_AWARD_GAP_PENCE` (``sim``: a simulation or its seed)."""
    if isinstance(sim, int):
        from .simulate import _simulation

        sim = _simulation(sim)
    months = list(MONTHS[-FORECAST_MONTHS:])
    caseload = sim.caseload[:, -FORECAST_MONTHS:].astype(np.int64).copy()
    award = sim.award_pence[:, -FORECAST_MONTHS:].astype(np.int64) - FORECAST_AWARD_GAP_PENCE
    region, month, share = FORECAST_CASELOAD_GAP
    rows = [i for i, la in enumerate(LOCAL_AUTHORITIES) if la.region == region]
    t = months.index(month)
    caseload[rows, t] = np.rint(caseload[rows, t] * (1 - share)).astype(np.int64)
    return months, caseload, award


def _write_forecast(sim: _Simulation, path: Path) -> None:
    """DWP's forecast, as the outturn file is laid out (long CSV), for the last twelve months."""
    names = [la.name for la in LOCAL_AUTHORITIES]
    months, caseload, award = forecast_values(sim)

    def rows() -> Iterator[list[str]]:
        for t, month in enumerate(months):
            for i, code in enumerate(LA_CODES):
                pence = int(award[i, t])
                yield [month, code, names[i], "uc_caseload", str(int(caseload[i, t]))]
                yield [month, code, names[i], "uc_avg_award", _pence_text(pence)]
                yield [month, code, names[i], "uc_spend", _spend_text(int(caseload[i, t]) * pence)]

    _write_csv(path, ("month", "la_code", "la_name", "measure", "value"), rows())


def _write_deflator(path: Path) -> None:
    """The GDP deflator by financial year, England (one series)."""
    _write_csv(path, ("Financial year", "GDP deflator (2024-25 = 100)"),
               ([year, f"{value:.1f}"] for year, value in GDP_DEFLATOR.items()))
