"""One store shared by every department (issue 7): an area named only by a label belongs to the
department that named it, GSS codes and declared areas are shared, names are matched to GSS areas
only when a file is a table of them, and no manifest changes another department's hierarchy."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from loaders import Store
from loaders.areas import is_gss
from loaders.vocabulary import WHOLE_AREA


def department(code: str) -> str:
    return f'[[department]]\ncode = "{code}"\nname = "{code} department"\n'


def metric(code: str, dept: str) -> str:
    return f'\n[[metric]]\ncode = "{code}"\nname = "{code}"\ndepartment = "{dept}"\nunit = "count"\n'


def source(sid: str, dept: str, path: str, code: str, extra: str = "") -> str:
    return f"""
[[source]]
id = "{sid}"
department = "{dept}"
path = "{path}"
layout = "single"
metric = "{code}"
period_column = "year"
area_column = "area"
value_column = "value"
{extra}"""


def load(folder, name: str, text: str, db):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return CliRunner().invoke(main, ["load", str(folder / name), "--db", str(db)])


def csv(path, rows, header="year,area,value"):
    path.parent.mkdir(exist_ok=True)
    path.write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")


def whole(db, code):
    frame = explain.metric_frame(Store(db), code)
    frame = frame[frame["area"] == WHOLE_AREA]
    return dict(zip(frame["period"], frame["value"]))


def test_gss_codes():
    assert is_gss("E08000025") and is_gss("W06000015") and is_gss("S12000033") and is_gss("E92000001")
    assert is_gss("K02000001") and is_gss("N09000001") and not is_gss("E0800002") and not is_gss("Birmingham")


def test_the_same_label_in_two_departments_is_two_areas(tmp_path, db_url):
    db = db_url  # SQLite and PostgreSQL
    csv(tmp_path / "dft" / "air.csv", [(2023, "Birmingham", 12), (2023, "Heathrow", 80),
                                       (2024, "Birmingham", 13), (2024, "Heathrow", 84)])
    assert load(tmp_path / "dft", "m.toml", department("DfT") + metric("passengers", "DfT")
                + source("air", "DfT", "air.csv", "passengers"), db).exit_code == 0
    csv(tmp_path / "la" / "hh.csv", [(2023, "Birmingham", 900), (2023, "Leeds", 400),
                                     (2024, "Birmingham", 950), (2024, "Leeds", 390)])
    result = load(tmp_path / "la", "m.toml", department("MHCLG") + metric("households", "MHCLG")
                  + source("hh", "MHCLG", "hh.csv", "households"), db)
    assert result.exit_code == 0, result.output
    assert "note: " in result.output and "'Birmingham'" in result.output and "MHCLG:Birmingham" in result.output
    areas = Store(db).areas_frame().set_index("code")
    assert areas.loc["Birmingham", "name"] == "Birmingham" and areas.loc["MHCLG:Birmingham", "name"] == "Birmingham (MHCLG)"
    # neither metric's whole or split mixes in the other's Birmingham
    assert whole(db, "passengers") == {"2023": 92.0, "2024": 97.0}
    assert whole(db, "households") == {"2023": 1300.0, "2024": 1340.0}
    data = json.loads(CliRunner().invoke(main, ["explain", "households", "--from", "2023", "--to", "2024", "--json",
                                                "--db", str(db)]).output)
    assert {s["name"]: s["contribution"] for s in data["segments"]} == pytest.approx(
        {"Birmingham (MHCLG)": 50.0, "Leeds": -10.0})
    # a second vintage of MHCLG's file keeps its own area (no withdrawals, no new area)
    csv(tmp_path / "la" / "hh.csv", [(2024, "Birmingham", 960), (2024, "Leeds", 390)])
    again = load(tmp_path / "la", "m.toml", (tmp_path / "la" / "m.toml").read_text(), db)
    assert again.exit_code == 0 and "0 withdrawn" in again.output and "1 revised" in again.output, again.output
    assert whole(db, "households")["2024"] == 1350.0


def test_names_are_matched_to_gss_areas_only_in_a_table_of_them(tmp_path, db_url):
    db = db_url
    councils = {"E08000025": "Birmingham", "E08000035": "Leeds", "E08000003": "Manchester", "E06000018": "Nottingham"}
    rows = [(y, code, name, 100 + i) for y in (2023, 2024) for i, (code, name) in enumerate(councils.items())]
    csv(tmp_path / "a" / "pop.csv", rows, header="year,area,name,value")
    assert load(tmp_path / "a", "m.toml", department("ONS") + metric("population", "ONS")
                + source("pop", "ONS", "pop.csv", "population", 'area_name_column = "name"\n'), db).exit_code == 0
    # a council table by name only: read as the GSS areas
    csv(tmp_path / "b" / "hh.csv", [(y, name, 10 * (i + 1) + (y - 2023)) for y in (2023, 2024)
                                    for i, name in enumerate(["Birmingham", "Leeds", "Manchester", "Nottingham",
                                                              "Isles of Nowhere"])])
    result = load(tmp_path / "b", "m.toml", department("MHCLG") + metric("households", "MHCLG")
                  + source("hh", "MHCLG", "hh.csv", "households"), db)
    assert result.exit_code == 0, result.output
    assert "4 area name(s) were matched" in result.output and "'Birmingham' = E08000025" in result.output
    frame = explain.metric_frame(Store(db), "households")
    assert {"E08000025", "E08000035", "E08000003", "E06000018", "Isles of Nowhere"} <= set(frame["area"])
    # an airports table that shares one name is not a table of councils
    csv(tmp_path / "c" / "air.csv", [(2023, "Birmingham", 12), (2023, "Heathrow", 80), (2023, "Gatwick", 40)])
    result = load(tmp_path / "c", "m.toml", department("DfT") + metric("passengers", "DfT")
                  + source("air", "DfT", "air.csv", "passengers"), db)
    assert result.exit_code == 0 and "matched" not in result.output, result.output
    assert "E08000025" not in set(explain.metric_frame(Store(db), "passengers")["area"])


AREAS = """
[[area]]
code = "E12000001"
name = "North East"
level = "region"
parent = "E92000001"

[[area]]
code = "E92000001"
name = "England"
level = "country"
"""


def test_a_manifest_may_not_change_another_departments_hierarchy(tmp_path, db_url):
    db = db_url
    csv(tmp_path / "a" / "x.csv", [(2023, "E12000001", 5)])
    first = department("DWP") + AREAS + metric("claims", "DWP") + source("x", "DWP", "x.csv", "claims")
    assert load(tmp_path / "a", "m.toml", first, db).exit_code == 0
    csv(tmp_path / "b" / "y.csv", [(2023, "E12000001", 7)])
    other = (department("DfE") + AREAS.replace('parent = "E92000001"', 'parent = "K02000001"')
             + '\n[[area]]\ncode = "K02000001"\nname = "United Kingdom"\nlevel = "country"\n'
             + metric("pupils", "DfE") + source("y", "DfE", "y.csv", "pupils"))
    result = load(tmp_path / "b", "m.toml", other, db)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "area 'E12000001' is declared by the manifest of DWP with parent 'E92000001'" in result.output
    assert "parent 'K02000001'" in result.output
    store = Store(db)
    assert store.areas_frame().set_index("code").loc["E12000001", "parent"] == "E92000001"
    assert "pupils" not in set(store.metrics_frame()["code"])  # nothing of the refused manifest was written
    # the same hierarchy from another department is fine; DWP may change its own
    same = department("DfE") + AREAS + metric("pupils", "DfE") + source("y", "DfE", "y.csv", "pupils")
    assert load(tmp_path / "b", "m.toml", same, db).exit_code == 0
    changed = first.replace('parent = "E92000001"', "").replace('level = "region"', 'level = "region"\n')
    result = load(tmp_path / "a", "m.toml", changed, db)
    assert result.exit_code == 0, result.output
    assert Store(db).areas_frame().set_index("code").loc["E12000001", "parent"] is None
