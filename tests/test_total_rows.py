"""Published totals in the area column are the whole, never one more area (issue 7): a "Column
Total" row, "England" beside its local authorities, a configured total spelled differently, and
totals and footnote markers in a breakdown column. Fixtures in the shapes departments publish."""
from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from loaders import Store, load_manifest_file
from loaders.labels import normalise, strip_markers
from loaders.vocabulary import WHOLE_AREA

HEAD = """
[[department]]
code = "DfT"
name = "Department for Transport"

[[metric]]
code = "passengers"
name = "Terminal passengers"
department = "DfT"
unit = "thousands"

[[source]]
id = "airports"
department = "DfT"
path = "airports.xlsx"
sheet = "Table 1"
layout = "wide"
period_column = "Year"
area_column = "Airport"
value_columns = { "Passengers (thousands)" = "passengers" }
"""
AIRPORTS = {"Heathrow": (80, 84), "Gatwick": (46, 41), "Birmingham (1)": (12, 13)}


def workbook(path, total_label="Column Total", gap=(0, 0), extra_rows=()):
    """A DfT-style sheet: title, a note, a blank row, the header, airports, the published total, notes."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Table 1"
    sheet.append(["Table 1: Terminal passengers at reporting airports, 2022 and 2023"])
    sheet.append(["Thousands; see notes below the table"])
    sheet.append([])
    sheet.append(["Year", "Airport", "Passengers (thousands)"])
    for i, year in enumerate(("2022", "2023")):
        for name, values in AIRPORTS.items():
            sheet.append([year, name, values[i]])
        for row in extra_rows:
            sheet.append([year, *row])
        sheet.append([year, total_label, sum(v[i] for v in AIRPORTS.values()) + gap[i]])
    sheet.append([])
    sheet.append(["Notes"])
    sheet.append(["(1) Birmingham airport, not the council."])
    book.save(path)


def load(tmp_path, manifest=HEAD):
    (tmp_path / "m.toml").write_text(manifest)
    store = Store(tmp_path / "s.db")
    [outcome] = load_manifest_file(store, tmp_path / "m.toml")
    assert outcome.status == "loaded", outcome.message
    return store, outcome


def whole(store, metric="passengers"):
    frame = explain.metric_frame(store, metric)
    return dict(zip(frame[frame["area"] == WHOLE_AREA]["period"], frame[frame["area"] == WHOLE_AREA]["value"]))


@pytest.mark.parametrize("label", ["Column Total", "Reporting airports total", "TOTAL", "Total [note 3]", "All airports"])
def test_a_total_row_is_the_whole_and_never_doubles_it(tmp_path, label):
    workbook(tmp_path / "airports.xlsx", label)
    manifest = HEAD + ('total_values = ["all airports"]\n' if label == "All airports" else "")
    store, outcome = load(tmp_path, manifest)
    assert whole(store) == {"2022": 138.0, "2023": 138.0}  # the published total, not twice it
    areas = set(explain.metric_frame(store, "passengers")["area"]) - {WHOLE_AREA}
    assert len(areas) == 3 and not any("total" in a.lower() for a in areas)
    assert "Birmingham" in set(store.areas_frame()["code"])  # the footnote marker is not part of the label
    assert not [p for p in outcome.report.problems if p.code == "parent-mismatch"]


def test_a_published_total_that_differs_is_kept_and_the_gap_reported(tmp_path):
    workbook(tmp_path / "airports.xlsx", gap=(2, 5))
    (tmp_path / "m.toml").write_text(HEAD)
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "differs from the sum of its areas by +5 in 2023" in result.output
    store = Store(tmp_path / "s.db")
    assert whole(store) == {"2022": 140.0, "2023": 143.0}
    data = json.loads(CliRunner().invoke(main, ["explain", "passengers", "--from", "2022", "--to", "2023", "--json",
                                                "--db", str(tmp_path / "s.db")]).output)
    assert data["change"] == pytest.approx(3.0)
    parts = {s["name"]: s["contribution"] for s in data["segments"]}
    assert parts == pytest.approx({"Heathrow": 4.0, "Gatwick": -5.0, "Birmingham": 1.0,
                                   "Not allocated to a segment": 3.0})
    assert [s["name"] for s in data["segments"] if s["presence"] == "residual"] == ["Not allocated to a segment"]


def test_england_beside_its_areas_is_their_total_unless_declared(tmp_path):
    workbook(tmp_path / "airports.xlsx", "England", extra_rows=[])
    store, _ = load(tmp_path)
    assert whole(store) == {"2022": 138.0, "2023": 138.0} and "England" not in set(store.areas_frame()["code"])
    declared = HEAD.replace("[[metric]]", '[[area]]\ncode = "England"\nname = "England"\nlevel = "country"\n\n[[metric]]', 1)
    other = tmp_path / "declared"
    other.mkdir()
    workbook(other / "airports.xlsx", "England")
    store, _ = load(other, declared)
    assert "England" in set(explain.metric_frame(store, "passengers")["area"])  # the manifest says it is an area


def test_totals_and_markers_in_a_breakdown_column(tmp_path):
    (tmp_path / "spend.csv").write_text(
        "year,area,function,spend\n"
        "2023,E1,Education (6),10\n2023,E1,Health,20\n2023,E1,Total [note 2],30\n"
        "2024,E1,Education (6),11\n2024,E1,Health,25\n2024,E1,TOTAL [note 2],36\n")
    manifest = """
[[department]]
code = "HMT"
name = "HM Treasury"

[[metric]]
code = "spend"
name = "Spend"
department = "HMT"
unit = "£m"

[[source]]
id = "spend"
department = "HMT"
path = "spend.csv"
period_column = "year"
area_column = "area"
dimension_columns = ["function"]
metric = "spend"
value_column = "spend"
"""
    store, outcome = load(tmp_path, manifest)
    frame = explain.metric_frame(store, "spend", breakdown=None)
    assert set(frame["breakdown"]) == {"", "function=Education", "function=Health"}
    assert dict(zip(frame[frame["breakdown"] == ""]["period"], frame[frame["breakdown"] == ""]["value"])) == {
        "2023": 30.0, "2024": 36.0}


def test_label_rules():
    assert normalise("  TOTAL [note 3] ") == "total" and normalise("Education (6)") == "education"
    assert normalise("Birmingham*") == "birmingham" and strip_markers("Education (6)") == "Education"
    assert strip_markers("Area (a) two") == "Area two"


def test_where_matches_ignoring_case_and_markers_and_warns_when_nothing_matches(tmp_path):
    (tmp_path / "forces.csv").write_text(
        "year,area_type,force,officers\n2023,FORCE,Avon,10\n2023,force (1),Bedford,20\n2023,region,South,30\n")
    manifest = """
[[department]]
code = "HO"
name = "Home Office"

[[metric]]
code = "officers"
name = "Officers"
department = "HO"
unit = "people"

[[source]]
id = "forces"
department = "HO"
path = "forces.csv"
period_column = "year"
area_column = "force"
metric = "officers"
value_column = "officers"
where = { area_type = ["force", "Forces"] }
"""
    (tmp_path / "m.toml").write_text(manifest)
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db"),
                                       "--no-precompute"])
    assert result.exit_code == 0, result.output
    assert "2 values loaded" in result.output  # FORCE and "force (1)" both match "force"
    assert "warning: " in result.output and "where area_type = 'Forces' matches no row" in result.output
