"""The operations the CLI and the pages share (explain.operations) and typed progress (explain.progress)."""
from __future__ import annotations

import pytest

import explain
from explain.progress import Plan, Stage
from loaders import Store, explanation_store

from test_freshness import MANIFEST, write, write_all


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "m.toml").write_text(MANIFEST)
    write_all(tmp_path)
    return tmp_path


def refreshed_metrics(store: Store) -> set[str]:
    """Metrics with an entry stored for their current state (what the pages will find)."""
    out = set()
    for code, state in store.metric_states().items():
        if explanation_store.stored_pairs(store, code, data_vintage=state.data_vintage,
                                          model_version=state.model_version):
            out.add(code)
    return out


def test_load_and_refresh_refreshes_exactly_the_metrics_the_load_made_stale(folder):
    store = Store(folder / "s.db")
    first = explain.load_and_refresh(store, folder / "m.toml")
    assert not first.failed and set(first.affected) == set(store.metric_states())
    assert refreshed_metrics(store) == set(first.affected)
    assert first.refreshed is not None and first.refreshed.metrics == len(first.affected)

    write(folder, "visits", "month,area,Visits", shift=3)
    second = explain.load_and_refresh(store, folder / "m.toml", only=["visits"])
    assert second.affected == ("spend_per_visit", "visits")
    assert second.refreshed.metrics == 2
    assert refreshed_metrics(store) == set(first.affected)  # all current again, the others untouched

    again = explain.load_and_refresh(store, folder / "m.toml", only=["visits"])  # same file: nothing to do
    assert again.affected == () and again.refreshed is None


def test_load_without_refresh_leaves_the_stale_metrics_unserved(folder):
    store = Store(folder / "s.db")
    explain.load_and_refresh(store, folder / "m.toml")
    write(folder, "visits", "month,area,Visits", shift=3)
    result = explain.load_and_refresh(store, folder / "m.toml", only=["visits"], refresh_explanations=False)
    assert result.refreshed is None and "visits" not in refreshed_metrics(store)


def test_fit_reports_typed_stages_in_order_and_never_goes_back(folder):
    store = Store(folder / "s.db")
    explain.load_and_refresh(store, folder / "m.toml", refresh_explanations=False)
    stages: list[Stage] = []
    change = explain.fit_and_refresh(store, "staff", tune=True, activate=False, progress=stages.append)
    assert change.refreshed is None and not change.version.active
    names = [s.name for s in stages]
    assert names[0] == "panel" and names[-1] == "save"
    assert [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n] == ["panel", "tune", "fit", "save"]
    percents = [s.percent for s in stages]
    assert percents == sorted(percents) and percents[-1] == 100
    assert len({p for s, p in zip(names, percents) if s == "tune"}) > 2  # the tune moves the bar itself

    active = explain.fit_and_refresh(store, "staff", activate=True)
    assert active.version.active and active.refreshed is not None and active.refreshed.metrics == 1
    back = explain.activate_and_refresh(store, "staff", change.version.version)
    assert back.version.version == change.version.version and store.metric_state("staff").model_version == 1


def test_plan_places_each_stage_on_the_whole_bar():
    seen: list[Stage] = []
    plan = Plan([("a", "First", 1.0), ("b", "Second", 3.0)], seen.append)
    assert plan.report("a", 1, 2).percent == 12          # half of the first quarter
    assert plan.report("b", 0, 4).percent == 25
    assert plan.report("b", 2, 4, "Half way").label == "Half way" and seen[-1].percent == 62
    assert plan.report("a", 0, 1).percent == 62          # an earlier step never moves the bar back
    plan.step("b")(4, 4)
    assert seen[-1].percent == 100 and seen[-1].label == "Second" and len(seen) == 5
    assert Stage("x", 5, 0, "empty").percent == 0 and Stage("x", 9, 3, "over").percent == 100
