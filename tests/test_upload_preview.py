"""The Data page's upload preview (issue 11): what loading a file would change (values new, revised and
withdrawn, by the load's own rules, writing nothing), every reason naming the uploaded file rather than
the server's saved copy, and the accepted period spellings said once rather than in every row."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner
from test_vintages import MANIFEST  # one source "uc": month, area, Caseload

from dashapp import presenters_data as pdata
from dashapp.cli import main
from loaders import Store, load_manifest, load_manifest_file, load_source, upload_preview
from loaders.periods import ACCEPTED_SPELLINGS


def csv(rows: list[tuple[str, str, object]]) -> str:
    return "month,area,Caseload\n" + "".join(f"{m},{a},{v}\n" for m, a, v in rows)


FIRST = [(f"2024-0{m}", a, 100 * i + m) for m in (1, 2, 3) for i, a in enumerate(("A1", "A2", "A3"), start=1)]


@pytest.fixture
def loaded(db_url, tmp_path):
    """A store holding one vintage of three months x three areas, and the manifest's source."""
    (tmp_path / "m.toml").write_text(MANIFEST)
    (tmp_path / "uc.csv").write_text(csv(FIRST))
    store = Store(db_url)
    [outcome] = load_manifest_file(store, tmp_path / "m.toml")
    assert outcome.status == "loaded"
    manifest = load_manifest(tmp_path / "m.toml")
    return store, manifest, manifest.sources[0], tmp_path


def observation_count(store: Store) -> int:
    from sqlalchemy import func, select

    from loaders import schema as s

    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(s.observations)).scalar_one()


def test_the_preview_lists_what_the_load_would_change_and_writes_nothing(loaded):
    store, manifest, source, folder = loaded
    # March revised for A1, A2 dropped from March (withdrawn), April new for every area
    rows = [r for r in FIRST if r[0] == "2024-03" and r[1] != "A2"]
    rows = [(m, a, 999 if a == "A1" else v) for m, a, v in rows] + [("2024-04", a, 50) for a in ("A1", "A2", "A3")]
    upload = folder / "saved" / "upload.csv"
    upload.parent.mkdir()
    upload.write_text(csv(rows))
    vintage, count = store.latest_load_id(), observation_count(store)

    preview = upload_preview(store, manifest, source, str(upload), shown_as="caseload-march.csv")
    assert preview.status == "preview" and preview.load_id is None
    assert store.latest_load_id() == vintage and observation_count(store) == count   # nothing written
    changes = {kind: frame[["area", "period", "old", "new"]].to_records(index=False).tolist()
               for kind, frame in preview.changes.items()}
    assert changes["revised"] == [("A1", "2024-03", 103.0, 999.0)]
    assert changes["withdrawn"] == [("A2", "2024-03", 203.0, pytest.approx(math.nan, nan_ok=True))]
    assert sorted(changes["new"]) == [("A1", "2024-04", pytest.approx(math.nan, nan_ok=True), 50.0),
                                      ("A2", "2024-04", pytest.approx(math.nan, nan_ok=True), 50.0),
                                      ("A3", "2024-04", pytest.approx(math.nan, nan_ok=True), 50.0)]
    # 1 withdrawal of 9 live values is over 5%: the real load would ask for confirmation
    assert preview.needs_confirmation
    refused = load_source(store, manifest, source, location=str(upload))
    assert refused.status == "failed" and refused.needs_confirmation
    # and the counts are the load's own
    done = load_source(store, manifest, source, location=str(upload), allow_withdrawals=True)
    assert (done.values_new, done.values_revised, done.values_withdrawn) == (
        preview.values_new, preview.values_revised, preview.values_withdrawn) == (3, 1, 1)


def test_an_unchanged_file_says_so(loaded):
    store, manifest, source, folder = loaded
    preview = upload_preview(store, manifest, source, str(folder / "uc.csv"))
    assert preview.status == "unchanged" and preview.load_id == store.latest_load_id()


def test_reasons_name_the_uploaded_file_and_the_spellings_are_said_once(loaded):
    store, manifest, source, folder = loaded
    upload = folder / "private-token" / "upload.csv"
    upload.parent.mkdir()
    upload.write_text(csv(FIRST[:3] + [("Marchh 2024", "A1", 1), ("Jun 2O24", "A2", 2), ("2024-02", "A3", "lots")]))
    preview = upload_preview(store, manifest, source, str(upload), shown_as="dwp caseload.csv")
    report = preview.report.to_dict()
    messages = [p["message"] for p in report["problems"]]
    assert len(messages) == 3
    assert all(m.startswith("dwp caseload.csv, row ") for m in messages)
    assert not any("private-token" in m or "upload.csv" in m for m in messages)
    assert not any("accepted spellings" in m or "Excel dates" in m for m in messages)   # not per row
    assert messages[0] == ("dwp caseload.csv, row 5, column 'month': Cannot read 'Marchh 2024' as a period "
                           "('marchh' is not a month name); the row was quarantined.")
    assert report["hints"] == {"bad-period": f"Periods can be written as {ACCEPTED_SPELLINGS}. Correct the cells "
                                             "named above and load the file again."}
    # the stored quarantine reasons of the real load name it too
    done = load_source(store, manifest, source, location=str(upload), shown_as="dwp caseload.csv",
                       allow_withdrawals=True)
    reasons = " ".join(store.quarantine_frame(done.load_id)["reasons"])
    assert "dwp caseload.csv" in reasons and "private-token" not in reasons and "Excel dates" not in reasons


def test_the_cli_says_the_spellings_once(tmp_path):
    (tmp_path / "m.toml").write_text(MANIFEST)
    (tmp_path / "uc.csv").write_text(csv(FIRST + [("Marchh 2024", "A1", 1), ("Aprill 2024", "A2", 2)]))
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "w.db"),
                                       "--no-precompute"])
    assert result.exit_code == 0, result.output
    assert result.output.count("Periods can be written as") == 1


# ------------------------------------------------------------------------------ the page's words
def outcome(**counts):
    from loaders import SourceOutcome

    return SourceOutcome("uc", "preview", **counts)


def test_change_counts_in_words():
    assert pdata.change_counts(outcome(values_new=3, values_revised=1, values_withdrawn=1)) == (
        "Loading this file would add 3 new values, revise 1 and withdraw 1.")
    assert pdata.change_counts(outcome(values_new=1, rows_quarantined=2)).endswith(
        "2 rows would be quarantined (the problems are listed below).")
    assert pdata.change_counts(outcome()).startswith("Loading this file would change no value")


def test_changes_table_names_metrics_and_areas_and_shows_breakdowns_only_when_there_are_any():
    frame = pd.DataFrame({"metric": ["caseload", "caseload"], "area": ["A1", "A2"], "breakdown": ["", ""],
                          "period": ["2024-03", "2024-04"], "old": [103.0, math.nan], "new": [1234.5, 50.0]})
    table = pdata.changes_table(frame, metric_names={"caseload": "UC caseload"}, area_names={"A1": "Leeds"})
    assert table.columns.tolist() == ["Metric", "Area", "Period", "Now", "In this file"]
    assert table.values.tolist() == [["UC caseload", "Leeds", "2024-03", "103", "1,234.5"],
                                     ["UC caseload", "A2", "2024-04", "–", "50"]]
    with_breakdown = pdata.changes_table(frame.assign(breakdown=["dept_type=Type 1", ""]), metric_names={},
                                         area_names={}, limit=1)
    assert with_breakdown["Breakdown"].tolist() == ["department type: Type 1"] and len(with_breakdown) == 1
