"""Known events as candidate causes (issue 10): an ``[[event]]`` inside the span of a movement that
touches the metric is listed in the explanation and its narrative, with the exact change in the areas
it touches; one outside the span, or for another metric or other areas, is not."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from explain.known_events import spans
from explain.results import Explanation
from loaders import Store, load_manifest_file

from store_urls import SMALL_HIERARCHY, UC_CASELOAD_SOURCE

SOURCE = UC_CASELOAD_SOURCE
CLOSURE = """
[[event]]
period = "2024-05"
title = "Closure of a factory in the West"
metrics = ["caseload"]
areas = [{areas}]
"""
OTHERS = """
[[event]]
period = "2024-02"
title = "An earlier uprating"
metrics = ["caseload"]

[[event]]
period = "2024-05"
title = "A change to the award only"
metrics = ["award"]
"""
#: caseload by area and month: A3 (in region R2, "West") jumps by 50 in May
VALUES = {"A1": [100, 101, 102, 103, 104, 105], "A2": [200, 202, 204, 206, 208, 210],
          "A3": [300, 300, 301, 301, 351, 352]}


def setup(folder, areas='"R2"', url: str | None = None) -> Store:
    rows = [f"2024-{m + 1:02d},{a},{v}" for a, vs in VALUES.items() for m, v in enumerate(vs)]
    (folder / "uc.csv").write_text("month,area,Caseload\n" + "\n".join(rows) + "\n")
    (folder / "m.toml").write_text(SMALL_HIERARCHY + SOURCE + CLOSURE.replace("{areas}", areas) + OTHERS)
    store = Store(url or f"sqlite:///{folder / 'w.db'}")
    [outcome] = load_manifest_file(store, folder / "m.toml")
    assert outcome.status == "loaded", outcome.message
    return store


def change(area: str, a: int, b: int) -> int:
    return VALUES[area][b - 1] - VALUES[area][a - 1]


def test_an_event_inside_the_span_is_a_candidate_cause_with_its_exact_share(tmp_path, db_url):
    store = setup(tmp_path, url=db_url)
    result = explain.explain_change(store, "caseload", "2024-04", "2024-05")
    [event] = result.events
    assert event.title == "Closure of a factory in the West" and event.areas == ("R2",)
    whole = sum(change(a, 4, 5) for a in VALUES)
    assert result.change == whole
    assert event.contribution == change("A3", 4, 5) == 50
    assert event.share == pytest.approx(50 / whole, abs=1e-12)
    sentence = result.narrative_part("events")
    assert "closure of a factory in the West (May 2024)" in sentence and "West, the area it touches" in sentence
    assert "+50" in sentence and f"{50 / whole:.0%}" in sentence and "candidate cause" in sentence
    assert sentence in result.narrative


def test_events_outside_the_span_or_for_other_metrics_are_not_listed(tmp_path):
    store = setup(tmp_path)
    titles = {e.title for e in explain.explain_change(store, "caseload", "2024-01", "2024-06").events}
    assert titles == {"Closure of a factory in the West", "An earlier uprating"}  # not the award's
    assert explain.explain_change(store, "caseload", "2024-05", "2024-06").events == ()  # May is the start
    early = explain.explain_change(store, "caseload", "2024-02", "2024-04")
    assert early.events == () and early.narrative_part("events") == ""
    # either order of the periods: the span is the same
    assert {e.title for e in explain.explain_change(store, "caseload", "2024-06", "2024-01").events} == titles


def test_an_event_is_listed_only_for_areas_it_touches(tmp_path):
    store = setup(tmp_path)
    assert explain.explain_change(store, "caseload", "2024-04", "2024-05", area="R1").events == ()
    [inside] = explain.explain_change(store, "caseload", "2024-04", "2024-05", area="A3").events
    assert inside.areas == () and inside.contribution is None  # it touches all of A3: the whole change is in it
    [whole] = explain.explain_change(store, "caseload", "2024-04", "2024-05", area="R2").events
    assert whole.title.startswith("Closure")


def test_an_event_naming_local_areas_sums_their_change(tmp_path):
    store = setup(tmp_path, areas='"A2", "A3"')
    [event] = explain.explain_change(store, "caseload", "2024-04", "2024-05").events
    assert event.contribution == change("A2", 4, 5) + change("A3", 4, 5)
    assert event.area_names == ("Area two", "Area three")
    [in_north] = explain.explain_change(store, "caseload", "2024-04", "2024-05", area="R1").events
    assert in_north.areas == ("A2",) and in_north.contribution == change("A2", 4, 5)


def test_changing_an_events_areas_replaces_stored_explanations(tmp_path, db_url):
    store = setup(tmp_path, url=db_url)
    first = explain.explain_change(store, "caseload", "2024-04", "2024-05")
    assert first.events[0].contribution == 50
    (tmp_path / "m.toml").write_text(SMALL_HIERARCHY + SOURCE + CLOSURE.replace("{areas}", '"R1"') + OTHERS)
    load_manifest_file(store, tmp_path / "m.toml")  # an unchanged file: only the manifest changed
    again = explain.explain_change(store, "caseload", "2024-04", "2024-05")
    assert again.events[0].areas == ("R1",)
    assert again.events[0].contribution == change("A1", 4, 5) + change("A2", 4, 5)


def test_events_survive_the_json_contract_and_the_cli(tmp_path):
    store = setup(tmp_path)
    result = explain.explain_change(store, "caseload", "2024-04", "2024-05")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["events"][0]["contribution"] == 50 and data["events"][0]["areas"] == ["R2"]
    assert Explanation.from_dict(data).events == result.events
    out = CliRunner().invoke(main, ["explain", "caseload", "--from", "2024-04", "--to", "2024-05",
                                    "--db", store.url])
    assert out.exit_code == 0, out.output
    assert "Known events in this span" in out.output and "Closure of a factory in the West — West: +50" in out.output


@pytest.mark.parametrize("event, a, b, freq, inside", [
    ("2024-05", "2024-04", "2024-05", "M", True),
    ("2024-05", "2024-05", "2024-06", "M", False),   # the start period already has it
    ("2024-05", "2024-06", "2024-04", "M", True),    # either order
    ("2026-04", "2025-26", "2026-27", "FY", True),   # an April uprating inside a financial-year pair
    ("2026-04", "2024-25", "2025-26", "FY", False),
    ("2021-12", "2021-11", "2021-12", "M", True),    # '2021-12' is a month, not the year 2021-22
    ("2024-Q2", "2024-03", "2024-04", "M", True),
    ("not a date", "2024-03", "2024-04", "M", False),
])
def test_spans(event, a, b, freq, inside):
    assert spans(event, a, b, freq) is inside
