"""Tables as departments publish them (issue 7): a blank header cell, a header over several rows,
section rows with the header repeated before each block, a second table stacked below the first,
notes below, and a header with a blank corner above numbers such as 71218. Each fixture is built
in code in the published shape and loaded through ``whytrend load``; the published totals and the
splits are then checked through ``whytrend explain --json``."""
from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from loaders import Store
from loaders.readers import ReadOptions, open_table
from loaders.readers.header import column_reference, is_label, join_header_rows
from loaders.vocabulary import WHOLE_AREA

DEPARTMENT = """
[[department]]
code = "D"
name = "A department"
"""


def metric(code: str, unit: str = "count") -> str:
    return f'\n[[metric]]\ncode = "{code}"\nname = "{code}"\ndepartment = "D"\nunit = "{unit}"\n'


def sheet_file(path, rows, title="Table 1"):
    """An .xlsx (openpyxl) or .ods (odfpy, through pandas) sheet holding ``rows`` as published."""
    if str(path).endswith(".ods"):
        import pandas as pd

        width = max(len(r) for r in rows)
        padded = [list(r) + [None] * (width - len(r)) for r in rows]
        pd.DataFrame(padded).to_excel(path, engine="odf", header=False, index=False, sheet_name=title)
        return path
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def load(tmp_path, manifest: str, *extra: str):
    (tmp_path / "m.toml").write_text(manifest)
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db"), *extra])
    return result


def explained(tmp_path, code: str, start: str, end: str, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["explain", code, "--from", start, "--to", end, "--json",
                                       "--db", str(tmp_path / "s.db"), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def whole(tmp_path, code: str) -> dict[str, float]:
    frame = explain.metric_frame(Store(tmp_path / "s.db"), code)
    frame = frame[(frame["area"] == WHOLE_AREA) & (frame["breakdown"] == "")] if "breakdown" in frame else \
        frame[frame["area"] == WHOLE_AREA]
    return dict(zip(frame["period"], frame["value"]))


# ------------------------------------------------------------------ blank header cells


def test_references_by_letter_and_number():
    assert column_reference("column A") == 0 and column_reference("A") == 0 and column_reference("AB") == 27
    assert column_reference("column 3") == 2 and column_reference("Column c") == 2
    assert column_reference("age") is None and column_reference("Region") is None and column_reference("ABC") is None


@pytest.mark.parametrize("area, kind", [("column A", "name the reader gives"), ("A", "column letter")])
def test_a_column_with_a_blank_header_is_referable(tmp_path, area, kind):
    """ONS-style: the area labels sit under a blank header cell; a `where` and a breakdown on a
    second unnamed column, referred to the same way."""
    sheet_file(tmp_path / "t.xlsx", [
        ["Table 3: Claimants by area and sex"],
        [None, None, "2023", "2024"],
        ["North", "Men", 10, 12],
        ["North", "Women", 7, 9],
        ["South", "Men", 20, 15],
        ["South", "Women", 11, 11],
        ["Total", "Men", 30, 27],
        ["Total", "Women", 18, 20],
    ])
    other = "column B" if area == "column A" else "B"
    manifest = DEPARTMENT + metric("claimants") + f"""
[[source]]
id = "t"
department = "D"
path = "t.xlsx"
layout = "wide_by_period"
metric = "claimants"
area_column = "{area}"
dimension_columns = ["{other}"]
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 0, f"{kind}: {result.output}"
    assert whole(tmp_path, "claimants") == {"2023": 48.0, "2024": 47.0}  # the published totals
    data = explained(tmp_path, "claimants", "2023", "2024")
    parts = {s["name"]: s["contribution"] for s in data["segments"]}
    assert data["change"] == pytest.approx(-1.0)
    assert parts == pytest.approx({"North": 4.0, "South": -5.0})
    by_sex = explained(tmp_path, "claimants", "2023", "2024", "--by", "column B")  # as the reader names it
    assert {s["name"]: s["contribution"] for s in by_sex["segments"]} == pytest.approx({"Men": -3.0, "Women": 2.0})


def test_a_reference_beyond_the_table_is_a_clear_error(tmp_path):
    (tmp_path / "t.csv").write_text("year,area,value\n2023,N,1\n2024,N,2\n")
    manifest = DEPARTMENT + metric("m") + """
[[source]]
id = "t"
department = "D"
path = "t.csv"
layout = "single"
metric = "m"
period_column = "year"
area_column = "column F"
value_column = "value"
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "column 'column F' (manifest key 'area_column') is not in the header" in result.output


# ------------------------------------------------------------------ multi-row headers


NEET = [
    ["Table 2: Young people who were NEET, by age, England, thousands"],
    [None],
    [None, None, "Aged 16-17", None, "Aged 18-24", None],  # the group, merged across its measures
    [None, None, "NEET", None, "NEET", None],
    ["Period", "Region", "Total", "Unemployed", "Total", "Unemployed"],  # "Total" under two groups
    ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"],
    ["Jan-Mar 2024", "North", 10, 4, 50, 20],
    ["Jan-Mar 2024", "South", 12, 5, 60, 30],
    ["Apr-Jun 2024", "North", 11, 4, 55, 22],
    ["Apr-Jun 2024", "South", 10, 3, 58, 31],
    [None],
    ["Source: Labour Force Survey"],
]


def test_header_rows_are_joined_top_to_bottom():
    names = join_header_rows(NEET[2:6])
    assert names == ("Period", "Region", "Aged 16-17 / NEET / Total", "Aged 16-17 / NEET / Unemployed",
                     "Aged 18-24 / NEET / Total", "Aged 18-24 / NEET / Unemployed")


@pytest.mark.parametrize("found", ["expected names", "skip_rows"])
def test_a_multi_row_header_gives_unambiguous_names(tmp_path, found):
    sheet_file(tmp_path / "neet.xlsx", NEET)
    where = "skip_rows = 2\n" if found == "skip_rows" else ""
    manifest = DEPARTMENT + metric("neet_16_17", "thousands") + metric("neet_18_24", "thousands") + f"""
[[source]]
id = "neet"
department = "D"
path = "neet.xlsx"
{where}header_rows = 4
layout = "wide"
period_column = "Period"
period_frequency = "quarter"
area_column = "Region"
value_columns = {{ "Aged 16-17 / NEET / Total" = "neet_16_17", "Aged 18-24 / NEET / Total" = "neet_18_24" }}
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 0, result.output
    assert whole(tmp_path, "neet_16_17") == {"2024-Q1": 22.0, "2024-Q2": 21.0}
    assert whole(tmp_path, "neet_18_24") == {"2024-Q1": 110.0, "2024-Q2": 113.0}
    data = explained(tmp_path, "neet_18_24", "2024-Q1", "2024-Q2")
    assert {s["name"]: s["contribution"] for s in data["segments"]} == pytest.approx({"North": 5.0, "South": -2.0})


def test_a_single_header_row_with_a_duplicate_leaf_still_says_which(tmp_path):
    """Without header_rows the two "Total" columns are ambiguous; the message says what to set."""
    sheet_file(tmp_path / "neet.xlsx", NEET)
    manifest = DEPARTMENT + metric("neet", "thousands") + """
[[source]]
id = "neet"
department = "D"
path = "neet.xlsx"
layout = "wide"
period_column = "Period"
area_column = "Region"
value_columns = { "Total" = "neet" }
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "both called 'Total'" in result.output and "header_rows" in result.output


# ------------------------------------------------------------------ sections and repeated headers


PRISON = [
    ["Table 1.1: Prison population by sex and custody type, 30 June"],
    ["Number of people"],
    [None],
    ["Males"],
    ["Custody type", "2023", "2024"],
    ["Remand", 14_000, 15_500],
    ["Sentenced", 64_000, 65_000],
    ["Total", 78_000, 80_500],
    [None],
    ["Females"],
    ["Custody type", "2023", "2024"],
    ["Remand", 700, 800],
    ["Sentenced (1)", 2_800, 2_700],
    ["Total", 3_500, 3_500],
    [None],
    ["(1) Includes recalls."],
]


def prison_manifest(section: bool, suffix: str = "xlsx") -> str:
    extra = 'section_column = "Sex"\ndimension_columns = ["Sex", "Custody type"]\n' if section else \
        'dimension_columns = ["Custody type"]\n'
    return DEPARTMENT + metric("prisoners") + f"""
[[source]]
id = "prisons"
department = "D"
path = "prisons.{suffix}"
layout = "wide_by_period"
metric = "prisoners"
area = "E92000001"
{extra}"""


@pytest.mark.parametrize("suffix", ["xlsx", "ods"])
def test_section_rows_become_a_breakdown_and_repeated_headers_are_skipped(tmp_path, suffix):
    sheet_file(tmp_path / f"prisons.{suffix}", PRISON)
    result = load(tmp_path, prison_manifest(section=True, suffix=suffix))
    assert result.exit_code == 0, result.output
    assert "header is repeated in 1 row(s)" in result.output
    assert "quarantined" in result.output and "0 rows quarantined" in result.output
    assert whole(tmp_path, "prisoners") == {"2023": 81_500.0, "2024": 84_000.0}  # the two published totals
    by_sex = explained(tmp_path, "prisoners", "2023", "2024", "--by", "Sex")
    assert {s["name"]: s["contribution"] for s in by_sex["segments"]} == pytest.approx({"Males": 2_500.0,
                                                                                        "Females": 0.0})
    by_type = explained(tmp_path, "prisoners", "2023", "2024", "--by", "Custody type")
    assert {s["name"]: s["contribution"] for s in by_type["segments"]} == pytest.approx(
        {"Remand": 1_600.0, "Sentenced": 900.0})  # "Sentenced (1)" is Sentenced


def test_section_rows_without_a_section_column_are_named_in_a_warning(tmp_path):
    sheet_file(tmp_path / "prisons.xlsx", PRISON)
    result = load(tmp_path, prison_manifest(section=False))
    # Males and Females both have "Remand": without the sections the keys repeat, and the load says so
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "'Males' (row 4)" in result.output and "'Females' (row 10)" in result.output
    assert 'section_column = "<a name>"' in result.output


def test_a_section_column_may_not_reuse_a_column_name(tmp_path):
    sheet_file(tmp_path / "prisons.xlsx", PRISON)
    result = load(tmp_path, prison_manifest(section=True).replace('"Sex"', '"Custody type"'))
    assert result.exit_code == 1 and "already the name of a column" in result.output


# ------------------------------------------------------------------ stacked tables, notes, row ranges


STACKED = [
    ["Table 4a: Passengers (thousands)"],
    ["Year", "Airport", "Passengers"],
    ["2022", "Heathrow", 62_000],
    [None],  # a blank row inside the table
    ["2022", "Gatwick", 33_000],
    ["2023", "Heathrow", 79_000],
    ["2023", "Gatwick", 40_000],
    [None],
    ["Table 4b: Change on the previous year (per cent)"],
    ["Year", "Airport", "Passengers"],
    ["2023", "Heathrow", 27.4],
    ["2023", "Gatwick", 21.2],
    [None],
    ["Notes"],
    ["Figures are rounded."],
]


def stacked_manifest(extra: str = "") -> str:
    return DEPARTMENT + metric("passengers", "thousands") + f"""
[[source]]
id = "air"
department = "D"
path = "air.xlsx"
layout = "wide"
period_column = "Year"
area_column = "Airport"
value_columns = {{ "Passengers" = "passengers" }}
{extra}"""


def test_a_stacked_second_table_is_never_read_as_data(tmp_path):
    sheet_file(tmp_path / "air.xlsx", STACKED)
    result = load(tmp_path, stacked_manifest())
    assert result.exit_code == 0, result.output
    assert "stopped reading at row 8" in result.output and "Table 4b" in result.output
    assert whole(tmp_path, "passengers") == {"2022": 95_000.0, "2023": 119_000.0}
    data = explained(tmp_path, "passengers", "2022", "2023")
    assert {s["name"]: s["contribution"] for s in data["segments"]} == pytest.approx(
        {"Heathrow": 17_000.0, "Gatwick": 7_000.0})


def test_a_row_range_reads_only_the_rows_given(tmp_path):
    sheet_file(tmp_path / "air.xlsx", STACKED)
    result = load(tmp_path, stacked_manifest("rows = [10, 12]\n").replace('"passengers" }', '"growth" }')
                  .replace(metric("passengers", "thousands"), metric("growth", "%")))
    assert result.exit_code == 0, result.output
    frame = explain.metric_frame(Store(tmp_path / "s.db"), "growth")
    leaves = frame[frame["area"] != WHOLE_AREA]
    assert sorted(zip(leaves["area"], leaves["value"])) == [("Gatwick", 21.2), ("Heathrow", 27.4)]


def test_end_blank_stops_at_the_first_blank_row(tmp_path):
    sheet_file(tmp_path / "air.xlsx", STACKED)
    result = load(tmp_path, stacked_manifest('end = "blank"\n'))
    assert result.exit_code == 0, result.output
    assert whole(tmp_path, "passengers") == {"2022": 62_000.0}


def test_bad_table_keys_are_manifest_errors_with_their_line(tmp_path):
    sheet_file(tmp_path / "air.xlsx", STACKED)
    for extra, text in (('end = "bottom"\n', "end = 'bottom'"), ("rows = [12, 10]\n", "must be [first, last]"),
                        ("header_rows = 0\n", "header_rows = 0"), ("rows = [2]\nskip_rows = 1\n", "keep one of them")):
        result = load(tmp_path, stacked_manifest(extra))
        assert result.exit_code == 1 and text in result.output and "line " in result.output, (extra, result.output)


def test_a_stacked_table_in_a_csv_stops_too(tmp_path):
    lines = ["Year,Airport,Passengers", "2022,Heathrow,62000", "2022,Gatwick,33000", "", "Table 4b: growth",
             "Year,Airport,Passengers", "2023,Heathrow,27.4"]
    (tmp_path / "air.csv").write_text("\n".join(lines) + "\n")
    info, chunks = open_table(tmp_path / "air.csv", ReadOptions(format="csv"))
    rows = [r for c in chunks for r in c.frame.values.tolist()]
    assert rows == [["2022", "Heathrow", "62000"], ["2022", "Gatwick", "33000"]]
    assert any("stopped reading at row 4" in w for w in info.late_warnings)


def test_a_table_split_across_chunks_is_read_the_same(tmp_path):
    """The streamed CSV reader's chunks end anywhere: a blank run or a label row at a chunk's end
    is decided with the next chunk."""
    lines = ["Type,2023,2024", "Males,,"] + [f"T{i},{i},{i + 1}" for i in range(5)] + ["", "Females,,"] + \
        [f"T{i},{i * 2},{i * 2 + 1}" for i in range(5)] + ["", "Source: a survey"]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    seen = []
    for size in (1, 2, 3, 7, 100):
        info, chunks = open_table(tmp_path / "t.csv", ReadOptions(format="csv", chunk_rows=size, section_column="Sex"))
        frames = [c.frame for c in chunks]
        rows = [r for f in frames for r in f.values.tolist()]
        numbers = [n for f in frames for n in f.index.tolist()]
        seen.append((rows, numbers))
        assert info.columns == ("Type", "2023", "2024", "Sex")
    assert all(s == seen[0] for s in seen)
    rows, numbers = seen[0]
    assert len(rows) == 10 and {r[3] for r in rows[:5]} == {"Males"} and {r[3] for r in rows[5:]} == {"Females"}
    assert numbers == [3, 4, 5, 6, 7, 10, 11, 12, 13, 14]


# ------------------------------------------------------------------ header detection


def test_is_label():
    assert is_label("Region") and is_label("2016") and is_label(2016) and is_label("2016-17") and is_label("c")
    assert not is_label(71218) and not is_label("71,218") and not is_label("[x]") and not is_label("..")


def test_a_data_row_is_never_taken_for_the_header(tmp_path):
    """A header whose corner cell is blank has fewer cells than its data rows; the old rule took
    the first data row for the header and read 71218 as a period."""
    sheet_file(tmp_path / "la.xlsx", [
        ["Households in temporary accommodation, by local authority"],
        [None, "2016", "2017", "2018"],
        ["Birmingham", 71_218, 72_001, 73_500],
        ["Leeds", 30_000, 30_500, 29_000],
        ["Total", 101_218, 102_501, 102_500],
    ])
    manifest = DEPARTMENT + metric("households") + """
[[source]]
id = "la"
department = "D"
path = "la.xlsx"
layout = "wide_by_period"
metric = "households"
area_column = "A"
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 0, result.output
    assert whole(tmp_path, "households") == {"2016": 101_218.0, "2017": 102_501.0, "2018": 102_500.0}
    data = explained(tmp_path, "households", "2017", "2018")
    assert {s["name"]: s["contribution"] for s in data["segments"]} == pytest.approx(
        {"Birmingham": 1_499.0, "Leeds": -1_500.0})


def test_a_published_marginal_is_not_summed_into_the_whole():
    """Brute force: the whole is the sum of the finest cells only, whatever marginals are published."""
    import pandas as pd

    from loaders.rollup import breakdown_totals

    cells = {("M", "R"): 14.0, ("M", "S"): 64.0, ("F", "R"): 0.7, ("F", "S"): 2.8}
    keys = {i + 1: f"sex={a};type={b}" for i, (a, b) in enumerate(cells)}
    keys[5] = "sex=M"  # published "Males, all types" (a Total row in the Males block)
    ids = {k: i for i, k in keys.items()} | {"sex=F": 6, "type=R": 7, "type=S": 8}
    rows = [(1, 1, bid, 1, value) for bid, value in zip(range(1, 5), cells.values())] + [(1, 1, 5, 1, 78.0)]
    leaves = pd.DataFrame(rows, columns=["metric_id", "area_id", "breakdown_id", "pk", "value"]).assign(status="")
    out = breakdown_totals(leaves, keys, {1: "sum"}, ids)
    got = dict(zip(out["breakdown_id"], out["value"]))
    assert got[0] == pytest.approx(sum(cells.values()))
    assert got[6] == pytest.approx(sum(v for (a, _), v in cells.items() if a == "F"))
    for kind, bid in (("R", 7), ("S", 8)):
        assert got[bid] == pytest.approx(sum(v for (_, b), v in cells.items() if b == kind))
    assert 5 not in got  # the published marginal is kept as published, not derived again


# ------------------------------------------------------------------ frequency read from the data


def test_dates_on_the_first_of_each_month_are_months(tmp_path):
    months = [f"{2016 + (m // 12)}-{m % 12 + 1:02d}-01" for m in range(3, 3 + 36)]  # 2016-04-01 ... 2019-03-01
    lines = ["date,area,claimants"] + [f"{d},N,{100 + i}" for i, d in enumerate(months)] + \
        [f"{d},S,{200 + 2 * i}" for i, d in enumerate(months)]
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    manifest = DEPARTMENT + metric("claimants") + """
[[source]]
id = "c"
department = "D"
path = "c.csv"
layout = "single"
metric = "claimants"
period_column = "date"
area_column = "area"
value_column = "claimants"
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 0, result.output
    assert "note: " in result.output and "so they were read as months" in result.output and "2016-04-01" in result.output
    data = explained(tmp_path, "claimants", "2018-01", "2019-01")
    assert data["change"] == pytest.approx(12 + 24)  # N rises 1 a month, S 2
    assert {s["name"]: s["contribution"] for s in data["segments"]} == pytest.approx({"N": 12.0, "S": 24.0})


def test_dates_that_are_not_month_starts_stay_days():
    import pandas as pd

    from loaders.periods import parse_period_series

    days = parse_period_series(pd.Series(["2024-01-01", "2024-01-02", "2024-01-03"]))
    assert set(days.freq) == {"D"} and days.inferred is None
    ends = parse_period_series(pd.Series(["2024-01-31", "2024-02-29", "2024-03-31"]))
    assert set(ends.freq) == {"M"} and ends.inferred == "M" and list(ends.start) == ["2024-01-01", "2024-02-01",
                                                                                     "2024-03-01"]
    told = parse_period_series(pd.Series(["2024-01-01", "2024-02-01"]), prefer="D")
    assert set(told.freq) == {"D"} and told.inferred is None


# ------------------------------------------------------------------ uneven and overlapping categories


def test_category_helpers():
    from loaders.categories import band, overlaps, partial_presence

    assert band("60-69") == (60, 70) and band("60 and over") == (60, float("inf")) and band("75+") == (75, float("inf"))
    assert band("Under 16") == (0, 16) and band("16 to 24") == (16, 25) and band("Males") is None
    pairs = overlaps(["16-24", "25-59", "60-69", "60 and over", "Of which: aged 16-17", "Total"])
    assert ("60-69", "60 and over", "cover some of the same values") in pairs
    assert any(a == "Of which: aged 16-17" and "part of" in why for a, _, why in pairs)
    assert not any({a, b} == {"16-24", "25-59"} for a, b, _ in pairs)
    partial = partial_presence({"A": {"1", "2", "3"}, "B": {"1", "3"}, "C": {"3"}})
    assert [(p.label, p.present, p.missing) for p in partial] == [("C", 1, ("1", "2")), ("B", 2, ("2",))]


def test_uneven_and_overlapping_categories_are_warned_about(tmp_path):
    rows = ["year,provider,age,cases"]
    for year in ("2022", "2023", "2024"):
        for provider in ("Alpha", "Beta") + (("Gamma",) if year != "2024" else ()):  # Gamma merged in 2024
            for age, n in (("16-59", 10), ("60-69", 4), ("60 and over", 6)):
                rows.append(f"{year},{provider},{age},{n}")
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    manifest = DEPARTMENT + metric("cases") + """
[[source]]
id = "c"
department = "D"
path = "c.csv"
layout = "single"
metric = "cases"
period_column = "year"
area_column = "provider"
dimension_columns = ["age"]
value_column = "cases"
"""
    result = load(tmp_path, manifest)
    assert result.exit_code == 0, result.output
    assert "in 'area', 1 category is not in every period of the file: 'Gamma' is in 2 of 3 periods (not in 2024)" \
        in result.output
    assert "categories overlap: '60-69' and '60 and over' cover some of the same values" in result.output
    shown = CliRunner().invoke(main, ["loads", "c", "--db", str(tmp_path / "s.db")])
    assert "warning: " in shown.output and "'Gamma' is in 2 of 3 periods" in shown.output  # kept with the vintage
