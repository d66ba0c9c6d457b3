"""Segments across dimensions (issue 14): the cells' exact parts add up to the change, the search
names the cells that moved it, labels overlaps, and names what stopped or started reporting."""
from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from dashapp.cli import main
from explain import cross_segments, explain_change
from explain.cross_search import CrossSegment, search
from explain.segments import ratio_segments
from loaders import Store, load_manifest_file

from store_urls import SMALL_HIERARCHY

SOURCE = """
[[source]]
id = "cases"
department = "DWP"
path = "cases.csv"
period_column = "month"
area_column = "area"
dimension_columns = ["kind"]
value_columns = { "Cases" = "caseload" }
"""
#: (area, kind) -> (January, February); A2's "y" stops reporting; A3 × x jumps
CELLS = {("A1", "x"): (100, 101), ("A1", "y"): (50, 52), ("A2", "x"): (80, 81), ("A2", "y"): (40, None),
         ("A3", "x"): (200, 290), ("A3", "y"): (60, 58)}


def setup(folder, url=None) -> Store:
    rows = [f"2024-0{m + 1},{a},{k},{v}" for (a, k), vs in CELLS.items() for m, v in enumerate(vs) if v is not None]
    (folder / "cases.csv").write_text("month,area,kind,Cases\n" + "\n".join(rows) + "\n")
    (folder / "m.toml").write_text(SMALL_HIERARCHY + SOURCE)
    store = Store(url or f"sqlite:///{folder / 'w.db'}")
    [outcome] = load_manifest_file(store, folder / "m.toml")
    assert outcome.status == "loaded", outcome.message
    return store


def test_the_search_names_the_cell_that_moved_and_what_stopped_reporting(tmp_path, db_url):
    store = setup(tmp_path, db_url)
    found = cross_segments(store, "caseload", "2024-01", "2024-02")
    change = sum((b or 0) - a for a, b in CELLS.values())
    assert found.change == change == explain_change(store, "caseload", "2024-01", "2024-02").change
    assert found.n_cells == len(CELLS) and found.dimensions == ("kind",)
    first = found.segments[0]
    assert first.dims in ((("area", "A3"),), (("area", "A3"), ("kind", "x")), (("kind", "x"),))
    assert first.contribution == pytest.approx(88 if first.dims == (("area", "A3"),) else
                                               90 if len(first.dims) == 2 else 92)
    # only the new parts add up; later segments say which earlier ones they overlap
    assert math.fsum(s.gain for s in found.segments) == pytest.approx(found.covered)
    keys = [(("area", a), ("kind", k)) for a, k in CELLS]

    def cells_of(segment):
        return {cell for cell in keys if set(segment.dims) <= set(cell)}

    for i, s in enumerate(found.segments):
        assert s.overlaps == tuple(e.name for e in found.segments[:i] if cells_of(e) & cells_of(s))
        assert s.gain == pytest.approx(sum((CELLS[(c[0][1], c[1][1])][1] or 0) - CELLS[(c[0][1], c[1][1])][0]
                                           for c in cells_of(s) - set().union(*map(cells_of, found.segments[:i]))))
    ended = [s for s in found.reporting_changes if s.presence == "from_only"]
    assert [(s.dims, s.name, s.contribution) for s in ended] == [
        ((("area", "A2"), ("kind", "y")), "Area two × kind y", -40)]  # A2 still reports x: only the cell ended


def test_ratio_cells_are_the_mix_and_rate_split():
    contributions = {(("area", "a"),): 0.0, (("area", "b"),): 0.0}
    split = ratio_segments({"a": 8, "b": 1}, {"a": 10, "b": 10}, {"a": 9, "b": 1}, {"a": 10, "b": 5})
    for s in split.segments:
        contributions[(("area", s.segment),)] = s.contribution
    chosen, covered = search(contributions, {}, change=split.change, name=lambda d: d[0][1], top=5)
    assert covered == pytest.approx(split.change, abs=1e-12)
    assert {c.name: c.contribution for c in chosen} == pytest.approx(
        {s.segment: s.contribution for s in split.segments if abs(s.contribution) >= 0.02 * abs(split.change)})


def test_a_pair_that_says_no_more_than_its_parent_is_left_out():
    contributions = {(("area", "A"), ("kind", "x")): -10.0, (("area", "A"), ("kind", "y")): -0.5,
                     (("area", "B"), ("kind", "x")): 1.0, (("area", "B"), ("kind", "y")): 0.5}
    chosen, _ = search(contributions, {}, change=-9.0, name=lambda d: " × ".join(v for _, v in d), top=4)
    names = [c.name for c in chosen]
    assert names[0] == "A" and "A × x" not in names  # A is nearly all A × x: the simpler is kept
    assert isinstance(chosen[0], CrossSegment) and chosen[0].contribution == -10.5


def test_the_cli_prints_the_search_and_says_it_is_not_additive(tmp_path):
    store = setup(tmp_path)
    run = CliRunner().invoke(main, ["explain", "caseload", "--from", "2024-01", "--to", "2024-02", "--cross",
                                    "--db", store.url])
    assert run.exit_code == 0, run.output
    assert "Segments across areas, kind (not additive where they overlap; 6 cells searched)" in run.output
    assert "no longer reported (merged or closed)" in run.output
