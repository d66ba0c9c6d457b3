"""File -> store -> query round trips, vintages, revisions, roll-ups, atomicity, hostile files.

Every test runs on a SQLite file and on a fresh PostgreSQL schema (``store_urls.db_url``)."""
from __future__ import annotations

import hashlib
import json
import sqlite3

import pandas as pd
import pytest
from sqlalchemy import text

from loaders import Store, load_manifest, load_manifest_file
from loaders.pipeline import preview_source

from store_urls import store_fingerprint

HEADER = """
[[department]]
code = "DWP"
name = "Department for Work and Pensions"

[[area]]
code = "E92000001"
name = "England"
level = "country"

[[area]]
code = "E12000001"
name = "North East"
level = "region"
parent = "E92000001"

[[area]]
code = "E12000002"
name = "North West"
level = "region"
parent = "E92000001"

[[area]]
code = "A1"
name = "Area one"
level = "la"
parent = "E12000001"

[[area]]
code = "A2"
name = "Area two"
level = "la"
parent = "E12000001"

[[area]]
code = "A3"
name = "Area three"
level = "la"
parent = "E12000002"

[[metric]]
code = "caseload"
name = "Caseload"
department = "DWP"
unit = "households"

[[metric]]
code = "award"
name = "Average award"
department = "DWP"
unit = "£ per month"
aggregation = "mean"

[[metric]]
code = "spend"
name = "Spend"
department = "DWP"
unit = "£"
aggregation = "formula"
formula = "caseload * award"
"""

WIDE_SOURCE = """
[[source]]
id = "uc"
department = "DWP"
path = "uc.csv"
period_column = "month"
area_column = "la"
value_columns = { "Caseload" = "caseload", "Award" = "award" }
"""

ROWS = [  # month, la, caseload, award
    ("2024-01", "A1", 100, 500), ("2024-01", "A2", 200, 400), ("2024-01", "A3", 300, 600),
    ("2024-02", "A1", 110, 510), ("2024-02", "A2", 190, 410), ("2024-02", "A3", 330, 590),
    ("2024-03", "A1", 120, 520), ("2024-03", "A2", 180, 420), ("2024-03", "A3", 360, 580),
]


@pytest.fixture(autouse=True, params=["in-process", "worker"])
def reading(request, monkeypatch):
    """Every test runs twice: reading in this process, and streaming from a worker process
    while chunks are inserted (the path large CSVs take)."""
    if request.param == "worker":
        monkeypatch.setattr("loaders.stream.PARALLEL_BYTES", 0)
    return request.param


def csv_text(rows, header="month,la,Caseload,Award") -> str:
    return header + "\n" + "\n".join(",".join(str(c) for c in r) for r in rows) + "\n"


@pytest.fixture
def store(db_url):
    """An empty store: a SQLite file, or a PostgreSQL schema."""
    opened = Store(db_url)
    yield opened
    opened.engine.dispose()


def is_sqlite(store) -> bool:
    return store.engine.dialect.name == "sqlite"


@pytest.fixture
def wide(tmp_path, write):
    manifest = write("m.toml", HEADER + WIDE_SOURCE)
    (tmp_path / "uc.csv").write_text(csv_text(ROWS))
    return manifest


def values(store, metric, area, **kw):
    frame = store.observations([metric], areas=[area], **kw)
    return dict(zip(frame["period"], frame["value"]))


def test_round_trip_leaf_values_and_rollups(store, wide):
    [outcome] = load_manifest_file(store, wide)
    assert outcome.status == "loaded" and outcome.load_id == 1
    assert outcome.rows_read == 9 and outcome.values_loaded == 18 and outcome.rows_quarantined == 0
    assert values(store, "caseload", "A1") == {"2024-01-01": 100, "2024-02-01": 110, "2024-03-01": 120}
    # sum roll-ups: region = its areas, country = regions, whole = roots
    assert values(store, "caseload", "E12000001") == {"2024-01-01": 300, "2024-02-01": 300, "2024-03-01": 300}
    assert values(store, "caseload", "E92000001") == {"2024-01-01": 600, "2024-02-01": 630, "2024-03-01": 660}
    assert values(store, "caseload", "ALL") == values(store, "caseload", "E92000001")
    # mean roll-up is the plain mean of children
    assert values(store, "award", "E12000001")["2024-01-01"] == pytest.approx(450)
    # formula metric: leaves are the formula of leaf components, parents the formula of rolled-up ones
    assert values(store, "spend", "A1")["2024-02-01"] == pytest.approx(110 * 510)
    assert values(store, "spend", "E12000001")["2024-01-01"] == pytest.approx(300 * 450)


def test_reload_identical_file_is_a_noop_that_says_so(store, wide):
    load_manifest_file(store, wide)
    before = store.loads_frame()
    [again] = load_manifest_file(store, wide)
    assert again.status == "unchanged"
    assert "unchanged since vintage 1" in again.message
    assert len(store.loads_frame()) == len(before) == 1


def test_revision_is_a_new_vintage_counted_and_as_at_queries_see_old_values(store, wide, tmp_path):
    load_manifest_file(store, wide)
    revised = [r if r[:2] != ("2024-03", "A1") else ("2024-03", "A1", 125, 520) for r in ROWS]
    (tmp_path / "uc.csv").write_text(csv_text(revised))
    [outcome] = load_manifest_file(store, wide)
    assert outcome.load_id == 2 and outcome.values_revised == 1 and outcome.values_new == 0
    assert values(store, "caseload", "A1")["2024-03-01"] == 125
    assert values(store, "caseload", "A1", as_at=1)["2024-03-01"] == 120
    assert values(store, "caseload", "E92000001")["2024-03-01"] == 665
    assert values(store, "caseload", "E92000001", as_at=1)["2024-03-01"] == 660
    first = store.observations(["caseload"], areas=["A1"], first_published=True)
    assert dict(zip(first["period"], first["value"]))["2024-03-01"] == 120
    # only the changed leaf and its ancestors' roll-ups and formula values were written as vintage 2
    with store.engine.connect() as conn:
        written = conn.execute(text("select count(*) from observations where load_id = 2")).scalar()
    assert written == 1 + 3 + 4  # caseload leaf; region, country, whole; spend at A1 + 3 ancestors
    history = store.revisions("caseload", "A1")
    assert history[history["period"] == "2024-03-01"]["value"].tolist() == [120, 125]


def test_rows_missing_from_a_new_vintage_are_withdrawn(store, wide, tmp_path):
    load_manifest_file(store, wide)
    (tmp_path / "uc.csv").write_text(csv_text([r for r in ROWS if r[1] != "A3"]))
    [refused] = load_manifest_file(store, wide)  # a third of the values: not without confirmation
    assert refused.status == "failed" and "would withdraw 6 of the 18 values" in refused.message
    assert values(store, "caseload", "A3") == {"2024-01-01": 300, "2024-02-01": 330, "2024-03-01": 360}
    [outcome] = load_manifest_file(store, wide, allow_withdrawals=True)
    assert outcome.values_withdrawn == 6  # 3 periods x 2 metrics
    assert values(store, "caseload", "A3") == {}
    assert values(store, "caseload", "A3", as_at=1) == {"2024-01-01": 300, "2024-02-01": 330, "2024-03-01": 360}
    assert values(store, "caseload", "E92000001")["2024-01-01"] == 300


def test_bad_rows_are_quarantined_with_reasons_and_shorthand_is_missing_not_error(store, write, tmp_path):
    manifest = write("m.toml", HEADER + WIDE_SOURCE)
    (tmp_path / "uc.csv").write_text(csv_text([
        ("2024-01", "A1", "\"1,200\"", "£500"), ("Month 13", "A2", 5, 5), ("2024-01", "A2", "[c]", 400),
        ("2024-01", "", 1, 1), ("2024-01", "A3", '"=HYPERLINK(""http://x"",""y"")"', "NaN"),
        ("2024-02", "A3", "..", "[x]"),
    ]))
    [outcome] = load_manifest_file(store, manifest)
    assert outcome.status == "loaded"
    assert outcome.rows_quarantined == 3
    q = store.quarantine_frame()
    assert q["row_number"].tolist() == [3, 5, 6]
    reasons = {row.row_number: " ".join(json.loads(row.reasons)) for row in q.itertuples()}
    assert "Month 13" in reasons[3] and "row 3" in reasons[3] and "'month'" in reasons[3]
    assert "area code is blank" in reasons[5]
    assert "formula-looking" in reasons[6] and "'Caseload'" in reasons[6] and "finite" in reasons[6]
    assert json.loads(q.iloc[0]["raw"])["month"] == "Month 13"
    frame = store.observations(["caseload"], areas=["A2", "A3"])
    status = dict(zip(zip(frame["area"], frame["period"]), frame["status"]))
    assert status[("A2", "2024-01-01")] == "c"
    assert status[("A3", "2024-02-01")] == "suppressed"
    assert values(store, "caseload", "A1") == {"2024-01-01": 1200}


def test_structural_failure_writes_nothing_and_reports_every_problem(store, wide, write, tmp_path):
    load_manifest_file(store, wide)
    before = _dump(store)
    (tmp_path / "uc.csv").write_text(csv_text(ROWS, header="month,la,Cases,Award"))
    [outcome] = load_manifest_file(store, wide)
    assert outcome.status == "failed"
    assert "'Caseload' not found" in outcome.message and "Nothing of this source was written" in outcome.message
    assert _dump(store) == before


def test_duplicate_keys_fail_the_source_exact_repeats_only_warn(store, write, tmp_path):
    manifest = write("m.toml", HEADER + WIDE_SOURCE)
    (tmp_path / "uc.csv").write_text(csv_text(ROWS + [ROWS[0]]))
    [outcome] = load_manifest_file(store, manifest)
    assert outcome.status == "loaded"
    assert any("repeats row 2 exactly" in p.message for p in outcome.report.problems)
    (tmp_path / "uc.csv").write_text(csv_text(ROWS + [("2024-01", "A1", 999, 500)]))
    before = _dump(store)
    [outcome] = load_manifest_file(store, manifest)
    assert outcome.status == "failed"
    assert "rows 2, 11" in outcome.message and "metric caseload, area A1, period 2024-01" in outcome.message
    assert _dump(store) == before


def test_failure_midway_through_a_large_file_rolls_back_whole(store, wide, tmp_path):
    """A ragged row far down a streamed file surfaces after chunks were written: all must roll back."""
    load_manifest_file(store, wide)
    before = _dump(store)
    wal_before = _file_bytes(store)
    rows = [(f"{2000 + (i // 1000) // 12}-{(i // 1000) % 12 + 1:02d}", f"X{i % 1000}", i, i) for i in range(300_000)]
    text = csv_text(rows) + "2024-01,A1,1,2,3\n"
    (tmp_path / "uc.csv").write_text(text)
    [outcome] = load_manifest_file(store, wide)
    assert outcome.status == "failed"
    assert "300002" in outcome.message  # the ragged line, as a user sees it in an editor
    assert _dump(store) == before
    assert _file_bytes(store) == wal_before


def test_long_layout_with_breakdowns_totals_and_marginals(store, write, tmp_path):
    manifest = write("m.toml", HEADER + """
[[source]]
id = "long"
department = "DWP"
path = "long.csv"
period_column = "period"
area_column = "area"
metric_column = "measure"
value_column = "value"
dimension_columns = ["type", "sex"]
total_values = ["All"]
""")
    lines = ["period,area,measure,type,sex,value"]
    for area, base in (("A1", 10), ("A2", 20)):
        for t, tv in (("t1", 1), ("t2", 2)):
            for sex, sv in (("F", 100), ("M", 200)):
                lines.append(f"2024-01,{area},caseload,{t},{sex},{base + tv + sv}")
    lines.append("2024-01,A3,caseload,All,All,5000")  # a provided total is kept as given
    (tmp_path / "long.csv").write_text("\n".join(lines) + "\n")
    [outcome] = load_manifest_file(store, manifest)
    assert outcome.status == "loaded", outcome.message
    total = store.observations(["caseload"], areas=["A1"], breakdown="")
    assert total["value"].tolist() == [4 * 10 + 2 * 3 + 2 * 300]
    by_type = store.observations(["caseload"], areas=["A1"], breakdown=None)
    marg = dict(zip(by_type["breakdown"], by_type["value"]))
    assert marg["type=t1"] == 10 + 1 + 100 + 10 + 1 + 200
    assert marg["sex=M"] == (10 + 1 + 200) + (10 + 2 + 200)
    assert marg["type=t1;sex=F"] == 111
    region = store.observations(["caseload"], areas=["E12000001"], breakdown="type=t2")
    assert region["value"].tolist() == [(10 + 2 + 100) + (10 + 2 + 200) + (20 + 2 + 100) + (20 + 2 + 200)]
    assert values(store, "caseload", "A3") == {"2024-01-01": 5000}
    whole = values(store, "caseload", "ALL")["2024-01-01"]
    assert whole == (4 * 10 + 6 + 600) + (4 * 20 + 6 + 600) + 5000


@pytest.mark.parametrize("layout_source, text", [
    ("""
[[source]]
id = "single"
department = "DWP"
path = "s.csv"
period_column = "When"
area = "A1"
metric = "caseload"
value_column = "Households"
""", "When,Households\nJanuary 2024,100\nFeb-24,110\n2024-03-01,120\n"),
    ("""
[[source]]
id = "wbp"
department = "DWP"
path = "s.csv"
area_column = "Code"
area_name_column = "Name"
metric = "caseload"
period_frequency = "month"
""", "Households on UC [note 1]\nSource: DWP\n\nCode,Name,2024-01,Feb 2024,March 2024\nA1,Area one,100,110,120\n"),
])
def test_single_and_wide_by_period_layouts(store, write, tmp_path, layout_source, text):
    manifest = write("m.toml", HEADER + layout_source)
    (tmp_path / "s.csv").write_text(text)
    [outcome] = load_manifest_file(store, manifest)
    assert outcome.status == "loaded", outcome.message
    assert values(store, "caseload", "A1") == {"2024-01-01": 100, "2024-02-01": 110, "2024-03-01": 120}


def test_undeclared_areas_are_created_with_names_and_no_parent(store, write, tmp_path):
    manifest = write("m.toml", HEADER + """
[[source]]
id = "x"
department = "DWP"
path = "x.csv"
period_column = "month"
area_column = "code"
area_name_column = "name"
metric = "caseload"
value_column = "n"
""")
    (tmp_path / "x.csv").write_text("month,code,name,n\n2024-01,Z9,\"O'Brien; DROP TABLE areas;--\",5\n2024-01,A1,Area one,7\n")
    load_manifest_file(store, manifest)
    areas = store.areas_frame().set_index("code")
    assert areas.loc["Z9", "name"] == "O'Brien; DROP TABLE areas;--"
    assert pd.isna(areas.loc["Z9", "parent"]) and not areas.loc["Z9", "declared"]
    assert values(store, "caseload", "ALL") == {"2024-01-01": 12}


def test_preview_validates_without_writing(store, wide, tmp_path):
    manifest = load_manifest(wide)
    (tmp_path / "bad.csv").write_text(csv_text([("2024-01", "A1", "oops", 1), ("2024-02", "A1", 5, 5)]))
    before = _dump(store)
    report, rows = preview_source(store, manifest, manifest.sources[0], str(tmp_path / "bad.csv"))
    assert report.rows_quarantined == 1 and "'oops' is not a number" in report.problems[0].message
    assert len(rows) == 3
    assert _dump(store) == before


def test_query_plans_read_only_the_clustered_primary_key(store, wide):
    """Both dashboard shapes are answered from the table's own B-tree: no scan, no temp sort."""
    if not is_sqlite(store):
        pytest.skip("the clustered (WITHOUT ROWID) layout is SQLite's; PostgreSQL plans by its own statistics")
    load_manifest_file(store, wide)
    with sqlite3.connect(store.engine.url.database) as conn:
        one_series = [r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT period, value, load_id FROM observations WHERE metric_id=1 AND area_id=2 "
            "AND breakdown_id=0 AND freq=3 ORDER BY period, load_id")]
        one_period = [r[3] for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT area_id, value, load_id FROM observations WHERE metric_id=1 "
            "AND area_id IN (1, 2, 3, 4) AND breakdown_id=0 AND freq=3 AND period=19723")]
    assert one_series == ["SEARCH observations USING PRIMARY KEY (metric_id=? AND area_id=? AND breakdown_id=? AND freq=?)"]
    assert one_period == ["SEARCH observations USING PRIMARY KEY (metric_id=? AND area_id=? AND breakdown_id=? AND freq=? "
                          "AND period=?)"]


def test_readable_view_decodes_keys(store, wide):
    load_manifest_file(store, wide)
    with store.engine.connect() as conn:  # the view people query with sqlite3 or psql
        row = conn.execute(text("SELECT metric, area, freq, period_start, vintage, value FROM observations_readable "
                                "WHERE metric='caseload' AND area='A1' ORDER BY period_start LIMIT 1")).one()
    assert tuple(row[:3]) == ("caseload", "A1", "M") and str(row[3]) == "2024-01-01" and tuple(row[4:]) == (1, 100.0)


def _dump(store) -> str:
    return store_fingerprint(store)


def _file_bytes(store) -> str | None:
    """The SQLite file's bytes after a checkpoint (a failed load must not even touch it); None on PostgreSQL."""
    if not is_sqlite(store):
        return None
    path = store.engine.url.database
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()
