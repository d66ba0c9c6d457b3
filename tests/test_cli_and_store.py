"""The store's schema versions and the CLI as a user meets it: load output, hostile files
(clear message, exit 1, nothing written), sources/loads/users, an HTTP source, fit --tune."""
from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, inspect

from dashapp.cli import main
from loaders import Store, StoreError
from loaders import schema as s

from store_urls import query, store_fingerprint

MANIFEST = """
[[department]]
code = "HO"
name = "Home Office"

[[metric]]
code = "applications"
name = "Asylum applications"
department = "HO"
unit = "applications"

[[source]]
id = "apps"
department = "HO"
path = "apps.csv"
period_column = "Month"
area = "E92000001"
metric = "applications"
value_column = "Applications"
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def loaded(tmp_path, write, db_url):
    """The CLI's first load of a small source, into a SQLite file or a PostgreSQL schema."""
    write("m.toml", MANIFEST)
    write("apps.csv", "Month,Applications\nJanuary 2024,\"1,200\"\nFebruary 2024,1300\nMarch 2024,[x]\n")
    db = db_url
    result = run("load", tmp_path / "m.toml", "--db", db)
    assert result.exit_code == 0, result.output
    return tmp_path, db, result.output


def test_load_prints_a_per_source_summary_and_reload_is_a_noop(loaded):
    folder, db, output = loaded
    assert "loaded  apps: vintage 1; 3 rows read, 3 values loaded (3 new, 0 revised, 0 withdrawn), 0 rows quarantined" in output
    assert "quality grade" in output and "explanations refreshed" in output
    again = run("load", folder / "m.toml", "--db", db)
    assert again.exit_code == 0 and "same    apps: file and mapping unchanged since vintage 1" in again.output


def test_sources_and_loads_show_vintages_grades_and_reasons(loaded):
    folder, db, _ = loaded
    (folder / "apps.csv").write_text("Month,Applications\nJanuary 2024,1250\nFebruary 2024,1300\nMarch 2024,1400\n")
    run("load", folder / "m.toml", "--db", db)
    sources = run("sources", "--db", db).output
    assert "apps" in sources and "vintage 2" in sources and "2024-01..2024-03" in sources
    history = run("loads", "apps", "--db", db).output.splitlines()
    assert history[0].startswith("vintage    1") and any(line.startswith("vintage    2") for line in history)
    assert "2 revised" in "\n".join(history) and "timeliness" in "\n".join(history)  # a value and an [x] filled


@pytest.mark.parametrize("name, content, fragment", [
    ("empty", b"", "is empty"),
    ("binary", b"\x00\x01\x02PK\x00garbage" * 100, "binary"),
    ("xlsx-named-csv", b"PK\x03\x04" + b"\x00" * 200, "xlsx"),
    ("ragged", b"Month,Applications\nJanuary 2024,1,2\n", "has 3 cells but the header"),
    ("duplicate-header", b"Month,Applications,Applications\nJanuary 2024,1,2\n", "Applications"),
    ("wrong-columns", b"When,Count\nJanuary 2024,1\n", "'Month'"),
])
def test_hostile_files_fail_clearly_and_write_nothing(loaded, name, content, fragment):
    folder, db, _ = loaded
    before = store_fingerprint(db)
    (folder / "apps.csv").write_bytes(content)
    result = CliRunner().invoke(main, ["load", str(folder / "m.toml"), "--db", str(db)])
    assert result.exit_code == 1
    assert fragment in result.output and "Nothing of this source was written" in result.output
    assert "Traceback" not in result.output
    assert store_fingerprint(db) == before


def test_hostile_cells_are_quarantined_with_their_reason(loaded):
    folder, db, _ = loaded
    (folder / "apps.csv").write_text(
        'Month,Applications\nJanuary 2024,1e308\nFebruary 2024,NaN\nMarch 2024,"=HYPERLINK(""http://x"",""y"")"\n'
        "April 2024,\"O'Brien; DROP TABLE loads;--\"\nMay 2024,1500\n", encoding="cp1252")
    result = run("load", folder / "m.toml", "--db", db)
    assert "4 rows quarantined" in result.output
    reasons = " ".join(" ".join(json.loads(r)) for (r,) in query(db, "select reasons from quarantine"))
    assert "implausibly large" in reasons and "finite" in reasons and "formula-looking" in reasons
    assert "not a number" in reasons
    assert query(db, "select count(*) from loads") == [(2,)]


def test_manifest_errors_name_the_key_and_line(tmp_path, write):
    write("bad.toml", MANIFEST + '\n[[metric]]\ncode = "x"\nname = "X"\ndepartment = "HO"\ncolour = "red"\n')
    line = next(i for i, text in enumerate((tmp_path / "bad.toml").read_text().splitlines(), 1) if "colour" in text)
    result = CliRunner().invoke(main, ["load", str(tmp_path / "bad.toml"), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert f"unknown key 'colour' in [[metric]] number 2 (line {line})" in result.output
    assert "Traceback" not in result.output


def test_users_are_managed_from_the_cli_with_hashed_passwords(loaded):
    _, db, _ = loaded
    added = run("users", "add", "ana", "--role", "analyst", "--department", "HO", "--password", "correct horse",
                "--db", db)
    assert added.exit_code == 0 and "added ana (analyst, HO)" in added.output
    listing = run("users", "list", "--db", db).output
    assert "ana" in listing and "analyst" in listing
    [(stored,)] = query(db, "select password_hash from users")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    bad = CliRunner().invoke(main, ["users", "add", "bob", "--department", "NOPE", "--password", "12345678",
                                    "--db", str(db)])
    assert bad.exit_code == 1 and "Department 'NOPE'" in bad.output
    assert run("users", "remove", "ana", "--db", db).exit_code == 0
    assert "ana" not in run("users", "list", "--db", db).output


def test_schema_migrates_forward_and_refuses_a_newer_database(db_url):
    old = Store(db_url, migrate=False)
    old.migrate(target=1)  # a database made by the first release
    with old.engine.begin() as conn:
        conn.execute(insert(s.departments).values(code="HO", name="Home Office"))
    assert old.version() == 1
    opened = Store(db_url)  # this release opens it and migrates forward
    assert opened.version() == s.CURRENT_VERSION
    assert query(db_url, "select name from departments") == [("Home Office",)]
    assert {"users", "explanations", "job_runs"} <= set(inspect(opened.engine).get_table_names())
    assert query(db_url, "select count(*) from observations_readable") == [(0,)]  # the view, in either dialect
    if opened.engine.dialect.name == "sqlite":
        assert query(db_url, "pragma journal_mode") == [("wal",)]
    with opened.engine.begin() as conn:
        conn.execute(insert(s.schema_version).values(version=99, applied_at="future"))
    with pytest.raises(StoreError, match="schema version 99, newer than this whytrend"):
        Store(db_url)
    for store in (old, opened):
        store.engine.dispose()


def test_foreign_keys_are_enforced(db_url):
    store = Store(db_url)
    with pytest.raises(Exception, match="(?i)foreign key"):
        with store.engine.begin() as conn:
            conn.execute(insert(s.metrics).values(code="m", name="M", department_code="NOPE"))
    store.engine.dispose()


def test_json_api_source_with_pagination_over_real_http(tmp_path, write):
    pages = {
        "/api?page=1": {"data": [{"month": "2024-01", "n": 5}, {"month": "2024-02", "n": 6}], "next": "/api?page=2"},
        "/api?page=2": {"data": [{"month": "2024-03", "n": "7"}], "next": None},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps(pages[self.path]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api?page=1"
        write("m.toml", MANIFEST.split("[[source]]")[0] + f"""
[[source]]
id = "api"
department = "HO"
url = "{url}"
format = "json"
records_path = "data"
next_path = "next"
period_column = "month"
area = "E92000001"
metric = "applications"
value_column = "n"
""")
        store = Store(tmp_path / "api.db")
        from loaders import load_manifest_file

        [outcome] = load_manifest_file(store, tmp_path / "m.toml")
        assert outcome.status == "loaded", outcome.message
        frame = store.observations(["applications"], areas=["E92000001"])
        assert dict(zip(frame["period"], frame["value"])) == {"2024-01-01": 5, "2024-02-01": 6, "2024-03-01": 7}
        [again] = load_manifest_file(store, tmp_path / "m.toml")
        assert again.status == "unchanged"
    finally:
        server.shutdown()


def test_fit_with_tuning_saves_a_new_version_with_time_aware_scores(demo_store, tmp_path):
    import shutil

    db = tmp_path / "copy.db"
    with sqlite3.connect(demo_store.engine.url.database) as source, sqlite3.connect(db) as target:
        source.backup(target)
    result = run("fit", "uc_caseload", "--kind", "linear", "--tune", "--db", db)
    assert result.exit_code == 0, result.output
    assert "model version" in result.output and "time-aware CV" in result.output and "naive forecast" in result.output
    with sqlite3.connect(db) as conn:
        spec = json.loads(conn.execute("select spec from model_versions where metric_code='uc_caseload' "
                                       "order by version desc").fetchone()[0])
    assert len(spec["tuning"]) >= 2 and all("r2" in str(c) or "score" in str(c) for c in spec["tuning"])
    shutil.rmtree(tmp_path, ignore_errors=True)
