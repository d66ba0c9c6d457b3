"""Per-metric metadata (``metric_series``) kept by the loads, and page requests that never scan
``observations``.

The metadata must equal what a brute-force pass over every stored row says (latest vintage of
each key, withdrawn keys left out) after loads, revisions, withdrawals and a failed load, on
SQLite and PostgreSQL, reading in this process and streaming from a worker; the schema-3
migration must backfill it the same way for a database made before it existed. The Summary's
data functions (metric list, headline cards, grades) must answer from keyed searches only.
"""
from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import delete, event, select, text

import explain
from loaders import Store, load_manifest_file
from loaders import schema as s

from store_urls import SMALL_HIERARCHY, SPEND_VISITS_AND_UC

MANIFEST = SMALL_HIERARCHY + SPEND_VISITS_AND_UC + """
[[source]]
id = "visits"
department = "DWP"
path = "visits.csv"
period_column = "month"
area_column = "area"
metric_column = "measure"
value_column = "value"
dimension_columns = ["type"]

[[source]]
id = "annual"
department = "DWP"
path = "annual.csv"
period_column = "year"
area_column = "area"
value_columns = { "Visits" = "visits" }
"""

KEY = ["metric_id", "area_id", "breakdown_id", "freq", "period"]


@pytest.fixture(params=["in-process", "worker"])
def reading(request, monkeypatch):
    """Read in this process, or stream from a worker process (the path of large CSVs)."""
    if request.param == "worker":
        monkeypatch.setattr("loaders.stream.PARALLEL_BYTES", 0)
    return request.param


def brute_force(store: Store) -> pd.DataFrame:
    """metric_series recomputed from every row of observations, independently of the loader."""
    with store.engine.connect() as conn:
        rows = pd.DataFrame(conn.execute(text(
            "SELECT metric_id, area_id, breakdown_id, freq, period, load_id, status FROM observations")).all(),
            columns=KEY + ["load_id", "status"])
    rows = rows.sort_values(KEY + ["load_id"])
    touched = rows.groupby(["metric_id", "freq"])["load_id"].max()
    latest = rows.drop_duplicates(KEY, keep="last")
    live = latest[latest["status"] != "withdrawn"].groupby(["metric_id", "freq"])
    out = pd.DataFrame({"n_values": live.size(), "n_periods": live["period"].nunique(),
                        "period_min": live["period"].min(), "period_max": live["period"].max()})
    out["load_id"] = touched.reindex(out.index)
    return _tidy(out.reset_index())


def stored(store: Store) -> pd.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(select(s.metric_series.c.metric_id, s.metric_series.c.freq, s.metric_series.c.n_values,
                                   s.metric_series.c.n_periods, s.metric_series.c.period_min,
                                   s.metric_series.c.period_max, s.metric_series.c.load_id)).all()
    return _tidy(pd.DataFrame(rows, columns=["metric_id", "freq", "n_values", "n_periods", "period_min",
                                             "period_max", "load_id"]))


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype("int64").sort_values(["metric_id", "freq"]).reset_index(drop=True)


def write_files(folder, *, uc, visits, annual) -> None:
    (folder / "uc.csv").write_text("month,area,Caseload,Award\n" + "".join(f"{r}\n" for r in uc))
    (folder / "visits.csv").write_text("month,area,measure,type,value\n" + "".join(f"{r}\n" for r in visits))
    (folder / "annual.csv").write_text("year,area,Visits\n" + "".join(f"{r}\n" for r in annual))


def load(store, folder, *sources, expect="loaded"):
    """Load and check metric_series (withdrawals confirmed: they are what this file tests)."""
    outcomes = load_manifest_file(store, folder / "m.toml", only=list(sources), allow_withdrawals=True)
    assert [o.status for o in outcomes] == [expect] * len(sources), [o.message for o in outcomes]
    check(store)


def check(store):
    expected, got = brute_force(store), stored(store)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(got, expected)


def test_metric_series_matches_a_brute_force_pass_after_loads_revisions_and_withdrawals(db_url, tmp_path, reading):
    (tmp_path / "m.toml").write_text(MANIFEST)
    store = Store(db_url)
    uc = [f"2024-{m:02d},{a},{100 * i + m},{400 + 10 * i + m}" for m in (1, 2, 3) for i, a in enumerate(("A1", "A2", "A3"), 1)]
    visits = [f"2024-{m:02d},{a},visits,{t},{i * m + j}" for m in (1, 2, 3) for i, a in enumerate(("A1", "A2"), 1)
              for j, t in enumerate(("t1", "t2"))]
    annual = [f"2023,{a},{1000 * i}" for i, a in enumerate(("A1", "A2", "A3"), 1)]
    write_files(tmp_path, uc=uc, visits=visits, annual=annual)
    load(store, tmp_path, "uc", "visits", "annual")
    assert {m.code: m.frequency for m in explain.list_metrics(store)} == {
        "caseload": "M", "award": "M", "spend": "M", "visits": "M"}  # 3 months of visits against 1 year

    # revisions, a new month, and area A3 withdrawn from the monthly source
    uc2 = [r for r in uc if ",A3," not in r]
    uc2[1] = uc2[1].replace(",400", ",499")
    uc2 += ["2024-04,A1,150,450", "2024-04,A2,250,460"]
    write_files(tmp_path, uc=uc2, visits=visits, annual=annual)
    load(store, tmp_path, "uc")

    # a whole breakdown and one area-month withdrawn, a status change in the annual source
    visits2 = [r for r in visits if ",t2," not in r and not r.startswith("2024-01,A2")]
    annual2 = annual[:2] + ["2023,A3,[x]"]
    write_files(tmp_path, uc=uc2, visits=visits2, annual=annual2)
    load(store, tmp_path, "visits", "annual")

    # a failed load changes nothing; then A3 comes back for one month
    (tmp_path / "uc.csv").write_text("When,Count\n2024-01,1\n")
    load(store, tmp_path, "uc", expect="failed")
    write_files(tmp_path, uc=uc2 + ["2024-04,A3,350,470"], visits=visits2, annual=annual2)
    load(store, tmp_path, "uc")

    # the monthly source turns quarterly and replaces all it had: every monthly value of its metrics (and of
    # the formula) is withdrawn
    uc_block = 'value_columns = { "Caseload" = "caseload", "Award" = "award" }\n'
    (tmp_path / "m.toml").write_text(MANIFEST.replace(uc_block, uc_block + 'replace = "all"\n', 1))
    quarterly = [f"2024-Q{q},{a},{100 * i + q},{400 + i}" for q in (1, 2) for i, a in enumerate(("A1", "A2", "A3"), 1)]
    write_files(tmp_path, uc=quarterly, visits=visits2, annual=annual2[:1])
    load(store, tmp_path, "uc", "annual")
    series = store.series_frame(["caseload", "spend", "visits"])
    assert set(zip(series["metric"], series["freq"])) == {
        ("caseload", "Q"), ("spend", "Q"), ("visits", "M"), ("visits", "Y")}
    row = series[series["metric"] == "caseload"].iloc[0]
    assert (row["period_min"], row["period_max"], row["n_periods"]) == ("2024-01-01", "2024-04-01", 2)
    assert {m.code: m.frequency for m in explain.list_metrics(store)}["caseload"] == "Q"
    store.engine.dispose()


def test_the_schema_3_migration_backfills_metric_series(db_url, tmp_path):
    (tmp_path / "m.toml").write_text(MANIFEST)
    store = Store(db_url)
    uc = [f"2024-{m:02d},{a},{100 * i + m},{400 + 10 * i + m}" for m in (1, 2) for i, a in enumerate(("A1", "A3"), 1)]
    visits = ["2024-01,A1,visits,t1,5", "2024-02,A2,visits,t2,6"]
    write_files(tmp_path, uc=uc, visits=visits, annual=["2022,A1,7", "2023,A1,8"])
    load(store, tmp_path, "uc", "visits", "annual")
    write_files(tmp_path, uc=uc[:2], visits=visits, annual=["2022,A1,7", "2023,A1,9"])
    load(store, tmp_path, "uc", "annual")
    expected = stored(store)
    # the same database as a release before schema version 3 left it
    with store.engine.begin() as conn:
        for version in range(s.CURRENT_VERSION, 2, -1):
            for table in reversed(s.SCHEMA_STEPS[version]):
                table.drop(conn)
            conn.execute(delete(s.schema_version).where(s.schema_version.c.version == version))
    store.engine.dispose()
    assert Store(db_url, migrate=False).version() == 2
    migrated = Store(db_url)
    assert migrated.version() == s.CURRENT_VERSION
    pd.testing.assert_frame_equal(stored(migrated), expected)
    check(migrated)
    migrated.engine.dispose()


def test_the_demo_metadata_matches_a_brute_force_pass(demo_store):
    check(demo_store)
    frequencies = {m.code: m.frequency for m in explain.list_metrics(demo_store)}
    assert frequencies["dwp_fy_spend"] == "FY" and frequencies["uc_caseload"] == "M"
    assert all(frequencies.values())


def test_page_requests_never_scan_observations(demo_store):
    """What the Summary asks for (metric list, every card, grades, departments, the model token) and a
    trend: every statement touching observations is a search on its primary key (SQLite's plan)."""
    from explain import get_version

    statements: list[tuple[str, object]] = []

    def collect(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(demo_store.engine, "before_cursor_execute", collect)
    try:
        metrics = explain.list_metrics(demo_store)
        explain.departments(demo_store)
        for info in metrics:
            explain.metric_info(demo_store, info.code)
            explain.headline(demo_store, info.code)
            explain.latest_grade(demo_store, info.code)
            get_version(demo_store, info.code)
        explain.trend(demo_store, "uc_caseload")
    finally:
        event.remove(demo_store.engine, "before_cursor_execute", collect)
    reading = [(sql, params) for sql, params in statements if re.search(r"\bobservations\b", sql)]
    assert len(metrics) > 10 and len(reading) >= len(metrics)
    searches = 0
    with demo_store.engine.connect() as conn:
        for sql, params in reading:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            assert not any(re.match(r"SCAN observations\b", step) for step in plan), (sql, plan)
            searches += any(step.startswith("SEARCH observations USING PRIMARY KEY") for step in plan)
    assert searches == len(reading)
