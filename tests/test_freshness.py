"""One cache policy (loaders.freshness): every metric's state — data vintage and model version — is
kept in the transaction that changes it, agrees with a brute-force recomputation, names exactly
the metrics a load made stale, and keys every cache so nothing stale is ever served. SQLite and
PostgreSQL (``db_url``)."""
from __future__ import annotations

import pandas as pd
import pytest

import explain
from explain.engine import MetricContext
from loaders import Store, load_manifest_file, model_store

from store_urls import SMALL_HIERARCHY, SPEND_VISITS_AND_UC

MANIFEST = SMALL_HIERARCHY + SPEND_VISITS_AND_UC + """
[[metric]]
code = "spend_per_visit"
name = "Spend per visit"
department = "DWP"
unit = "£"
aggregation = "formula"
formula = "spend / visits"

[[metric]]
code = "staff"
name = "Staff"
department = "DWP"
unit = "people"

[[model]]
metric = "staff"
drivers = ["caseload"]
kind = "linear"

[[source]]
id = "visits"
department = "DWP"
path = "visits.csv"
period_column = "month"
area_column = "area"
value_columns = { "Visits" = "visits" }

[[source]]
id = "staff"
department = "DWP"
path = "staff.csv"
period_column = "month"
area_column = "area"
value_columns = { "Staff" = "staff" }
"""

#: what each metric depends on, written out by hand for the brute force
INPUTS = {"caseload": set(), "award": set(), "spend": {"caseload", "award"}, "visits": set(),
          "spend_per_visit": {"spend", "visits"}, "staff": {"caseload"}}
AREAS = ("A1", "A2", "A3")
MONTHS = [f"{2023 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, 25)]  # 2023-01 .. 2024-12


def write(folder, name: str, header: str, shift: float = 0.0) -> None:
    rows = [f"{month},{area},{(i + 1) * 100 + m + shift:.1f}" + (f",{400 + i + m}" if name == "uc" else "")
            for m, month in enumerate(MONTHS) for i, area in enumerate(AREAS)]
    (folder / f"{name}.csv").write_text(header + "\n" + "\n".join(rows) + "\n")


def write_all(folder, shift: float = 0.0) -> None:
    write(folder, "uc", "month,area,Caseload,Award", shift)
    write(folder, "visits", "month,area,Visits", shift)
    write(folder, "staff", "month,area,Staff", shift)


def brute_force(store: Store) -> dict[str, tuple[int, int]]:
    """States recomputed from the loads of each metric and the hand-written dependencies."""
    loads = store.loads_frame()
    written: dict[str, int] = {}
    for code in INPUTS:
        sources = explain.metric_sources(store, code)
        written[code] = int(loads[loads["source_id"].isin(sources["source"])]["id"].max()) if len(sources) else 0

    def closure(code: str) -> set[str]:
        out = {code}
        for name in INPUTS[code]:
            out |= closure(name)
        return out

    active = model_store.active_versions(store)
    return {code: (max(written[c] for c in closure(code)), active.get(code, 0)) for code in INPUTS}


def states(store: Store) -> dict[str, tuple[int, int]]:
    return {code: state.key for code, state in store.metric_states().items()}


def load(store: Store, folder, *sources: str) -> list:
    outcomes = load_manifest_file(store, folder / "m.toml", only=list(sources))
    assert all(o.status == "loaded" for o in outcomes), [o.message for o in outcomes]
    assert states(store) == brute_force(store)
    return outcomes


@pytest.fixture
def loaded(db_url, tmp_path):
    (tmp_path / "m.toml").write_text(MANIFEST)
    write_all(tmp_path)
    store = Store(db_url)
    load(store, tmp_path, "uc", "visits", "staff")
    return store, tmp_path


def test_states_match_a_brute_force_pass_and_name_exactly_what_each_load_made_stale(loaded):
    store, folder = loaded
    generation = store.generation()
    write(folder, "uc", "month,area,Caseload,Award", shift=5)
    [outcome] = load(store, folder, "uc")
    # the formula metrics using caseload or award at any depth, and the model that uses caseload
    assert set(outcome.affected_metrics) == {"caseload", "award", "spend", "spend_per_visit", "staff"}
    assert store.generation() > generation

    write(folder, "visits", "month,area,Visits", shift=7)
    [outcome] = load(store, folder, "visits")
    assert set(outcome.affected_metrics) == {"visits", "spend_per_visit"}

    generation = store.generation()
    [same] = load_manifest_file(store, folder / "m.toml", only=["visits"])  # the same file again
    assert same.status == "unchanged" and same.affected_metrics == () and store.generation() == generation


def test_a_stale_explanation_is_never_served_even_before_the_refresh(loaded):
    store, folder = loaded
    first = explain.explain_change(store, "spend_per_visit", "2024-11", "2024-12")
    hit = explain.cached_explanation(store, "spend_per_visit", "2024-11", "2024-12")
    assert hit is not None and hit.to_dict() == first.to_dict()
    write(folder, "uc", "month,area,Caseload,Award", shift=50)  # a component two levels down changes
    load(store, folder, "uc")
    assert explain.cached_explanation(store, "spend_per_visit", "2024-11", "2024-12") is None
    fresh = explain.explain_change(store, "spend_per_visit", "2024-11", "2024-12")
    assert fresh.data_vintage > first.data_vintage and fresh.value_to != pytest.approx(first.value_to)
    again = explain.cached_explanation(store, "spend_per_visit", "2024-11", "2024-12")
    assert again is not None and again.to_dict() == fresh.to_dict()


def test_reading_a_metric_never_fits_or_writes_a_model(loaded):
    store, _ = loaded
    before = store.generation()
    ctx = MetricContext.load(store, "staff")
    assert ctx.spec is not None and ctx.model_version is None and ctx.fitted is None
    assert model_store.version_rows(store, "staff") == [] and store.generation() == before
    explain.explain_change(store, "staff", "2024-11", "2024-12")  # an explanation asked for: fits version 1
    assert [r.version for r in model_store.version_rows(store, "staff")] == [1]
    assert store.metric_state("staff").model_version == 1 and states(store) == brute_force(store)


def test_model_changes_move_the_state_and_inactive_fits_only_the_generation(loaded):
    store, _ = loaded
    explain.fit_driver_model(store, "staff", n_bootstrap=2)
    assert store.metric_state("staff").model_version == 1
    generation = store.generation()
    explain.fit_driver_model(store, "staff", n_bootstrap=2, activate=False)
    assert store.metric_state("staff").model_version == 1  # explanations still use version 1
    assert store.generation() > generation                 # but lists of versions must be re-read
    explain.activate_version(store, "staff", 2)
    assert store.metric_state("staff").model_version == 2 and states(store) == brute_force(store)


def test_a_store_made_before_metric_states_is_backfilled_by_the_migration(loaded):
    store, _ = loaded
    expected = states(store)
    from sqlalchemy import delete

    from loaders import schema as s

    with store.engine.begin() as conn:  # make it look like a schema-3 store
        conn.execute(s.metric_states.delete())
        conn.execute(delete(s.schema_version).where(s.schema_version.c.version >= 4))
        s.metric_states.drop(conn)
    assert Store(store.url).version() == s.CURRENT_VERSION
    assert states(Store(store.url)) == expected
    assert pd.Series(expected).notna().all()


def test_reading_a_cached_explanation_is_one_query(loaded):
    from sqlalchemy import event

    store, _ = loaded
    explain.precompute(store, metrics=["spend"])
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        hit = explain.cached_explanation(store, "spend", "2024-11", "2024-12", area="R1")
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)
    assert hit is not None and hit.area == "R1"
    assert len(statements) == 1 and "metric_states" in statements[0], statements
