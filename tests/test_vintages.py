"""Vintages never lose data: a new file replaces the periods it contains (or, by choice, all of its
source), a load that would withdraw much fails unless confirmed, an empty load fails and writes
nothing, and an unexpected error in the CLI is one paragraph pointing at a log (issue 7)."""
from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from loaders import Store, load_manifest_file

from store_urls import SMALL_HIERARCHY
from test_store_metadata import check as check_metric_series

MANIFEST = SMALL_HIERARCHY + """
[[source]]
id = "uc"
department = "DWP"
path = "uc.csv"
period_column = "month"
area_column = "area"
value_columns = { "Caseload" = "caseload" }
"""
AREAS = ("A1", "A2", "A3")


def write(folder, months, areas=AREAS, shift=0, header="month,area,Caseload", replace=None) -> None:
    rows = [f"2024-{m:02d},{a},{100 * (i + 1) + m + shift}" for m in months for i, a in enumerate(areas)]
    (folder / "uc.csv").write_text(header + "\n" + "".join(r + "\n" for r in rows))
    extra = f'replace = "{replace}"\n' if replace else ""
    (folder / "m.toml").write_text(MANIFEST + extra)


def live(store: Store) -> pd.DataFrame:
    """The whole and every area, every month, as the store answers now (latest vintage)."""
    frame = explain.metric_frame(store, "caseload")
    return frame.set_index(["area", "period"])["value"].sort_index()


def load(store, folder, **kwargs):
    [outcome] = load_manifest_file(store, folder / "m.toml", **kwargs)
    return outcome


def test_a_file_of_one_period_replaces_that_period_only(db_url, tmp_path):
    store = Store(db_url)
    write(tmp_path, range(1, 7))
    assert load(store, tmp_path).status == "loaded"
    before = live(store)
    write(tmp_path, [6], shift=1000)  # the department sends only its latest month, revised
    outcome = load(store, tmp_path)
    assert outcome.status == "loaded" and outcome.values_withdrawn == 0 and outcome.values_revised == 3
    after = live(store)
    assert after.index.equals(before.index)  # no value of months 1-5 was hidden
    months = after.index.get_level_values("period")
    assert (after[months != "2024-06"] == before[months != "2024-06"]).all()
    check_metric_series(store)  # the per-metric metadata agrees with a brute-force pass over observations
    revised = after.xs("2024-06", level="period") - before.xs("2024-06", level="period")
    assert (revised[list(AREAS)] == 1000).all() and revised["ALL"] == 3000
    whole = after.xs("ALL", level="area")  # the roll-ups of the untouched months are still the sums
    leaves = after[after.index.get_level_values("area").isin(AREAS)].groupby(level="period").sum()
    assert (whole == leaves).all()


def test_replace_all_withdraws_what_the_file_lacks_only_when_confirmed(db_url, tmp_path):
    store = Store(db_url)
    write(tmp_path, range(1, 7), replace="all")
    load(store, tmp_path)
    loads = len(store.loads_frame("uc"))
    write(tmp_path, [6], replace="all")
    refused = load(store, tmp_path)
    assert refused.status == "failed" and "--allow-withdrawals" in refused.message
    assert "15 of the 18 values" in refused.message
    assert len(store.loads_frame("uc")) == loads and live(store).notna().all()  # nothing written
    allowed = load(store, tmp_path, allow_withdrawals=True)
    assert allowed.status == "loaded" and allowed.values_withdrawn == 15
    assert set(live(store).index.get_level_values("period")) == {"2024-06"}


def test_a_partial_file_that_would_hide_many_values_fails_clearly(tmp_path):
    store = Store(tmp_path / "s.db")
    write(tmp_path, range(1, 4))
    load(store, tmp_path)
    write(tmp_path, range(1, 4), areas=("A1",))  # two of three areas missing in the periods it covers
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "would withdraw 6 of the 9 values" in result.output and "--allow-withdrawals" in result.output
    assert len(store.loads_frame("uc")) == 1
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db"),
                                       "--allow-withdrawals", "--no-precompute"])
    assert result.exit_code == 0, result.output and "6 withdrawn" in result.output


@pytest.mark.parametrize("body, fragment", [
    ("", "is empty (0 bytes)"),
    ("month,area,Caseload\n", "has no data rows"),
    ("month,area,Caseload\nnot a month,A1,5\nsoon,A2,6\n", "Every one of the 2 data rows was quarantined"),
])
def test_a_load_with_nothing_to_load_fails_and_writes_nothing(tmp_path, body, fragment):
    store = Store(tmp_path / "s.db")
    write(tmp_path, [1])
    (tmp_path / "uc.csv").write_text(body)
    result = CliRunner().invoke(main, ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 1 and fragment in result.output and "Traceback" not in result.output
    assert store.loads_frame("uc").empty and store.metrics_frame().empty  # not even the manifest's metrics


def test_the_default_replace_key_leaves_earlier_fingerprints_alone(tmp_path):
    from loaders import ManifestError, load_manifest
    from loaders.pipeline import source_fingerprint

    write(tmp_path, [1])
    default = load_manifest(tmp_path / "m.toml").sources[0]
    write(tmp_path, [1], replace="periods")
    explicit = load_manifest(tmp_path / "m.toml").sources[0]
    write(tmp_path, [1], replace="all")
    other = load_manifest(tmp_path / "m.toml").sources[0]
    assert source_fingerprint(default) == source_fingerprint(explicit) != source_fingerprint(other)
    (tmp_path / "m.toml").write_text(MANIFEST + 'replace = "everything"\n')
    line = len(MANIFEST.splitlines()) + 1
    with pytest.raises(ManifestError, match=f"replace 'everything' \\(line {line}\\) is not one of periods, all"):
        load_manifest(tmp_path / "m.toml")


def test_an_unexpected_error_is_one_paragraph_with_a_log_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug deep inside")

    monkeypatch.setattr(explain, "load_and_refresh", broken)
    monkeypatch.setenv("WHYTREND_LOG_DIR", str(tmp_path / "logs"))
    write(tmp_path, [1])
    args = ["load", str(tmp_path / "m.toml"), "--db", str(tmp_path / "s.db")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("Error: whytrend stopped on an unexpected problem (RuntimeError: a bug deep inside)")
    assert result.output.strip().count("\n") == 0
    [log] = (tmp_path / "logs").glob("whytrend-error-*.log")
    assert str(log) in result.output and "Traceback" in log.read_text() and "a bug deep inside" in log.read_text()
    debug = CliRunner().invoke(main, ["--debug", *args])
    assert debug.exit_code == 2 and "Traceback" in debug.output and "RuntimeError: a bug deep inside" in debug.output


def test_changing_the_area_hierarchy_and_loading_again_applies_it(tmp_path):
    store = Store(tmp_path / "s.db")
    write(tmp_path, range(1, 3))
    load(store, tmp_path)
    assert live(store).xs("2024-01", level="period")["R1"] == 101 + 201  # A1 and A2 are in R1
    moved = MANIFEST.replace('code = "A2"\nname = "Area two"\nlevel = "la"\nparent = "R1"',
                             'code = "A2"\nname = "Area two"\nlevel = "la"\nparent = "R2"')
    assert moved != MANIFEST
    (tmp_path / "m.toml").write_text(moved)
    outcome = load(store, tmp_path)  # the same file: the new hierarchy is applied, not "unchanged"
    assert outcome.status == "loaded" and outcome.values_new == 0 and outcome.values_revised == 0
    january = live(store).xs("2024-01", level="period")
    assert (january["R1"], january["R2"], january["ALL"]) == (101, 201 + 301, 101 + 201 + 301)
    assert load(store, tmp_path).status == "unchanged"
