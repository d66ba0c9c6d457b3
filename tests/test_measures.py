"""Real terms and per head (issue 10): every split equals its closed form, and real change + prices =
cash change (change per head + population = cash change) to 1e-9."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import explain
from dashapp.cli import main
from explain.errors import ExplainError
from explain.measures import cash_split
from loaders import Store, load_manifest_file

from store_urls import SMALL_HIERARCHY

MANIFEST = SMALL_HIERARCHY + """
[[metric]]
code = "spend"
name = "Spend"
department = "DWP"
unit = "£"
deflator = "deflator"
prices_of = "2024-25"
per_head = "population"

[[metric]]
code = "deflator"
name = "GDP deflator"
department = "DWP"
unit = "index"
aggregation = "mean"

[[metric]]
code = "population"
name = "Population"
department = "DWP"
unit = "people"

[[source]]
id = "spend"
department = "DWP"
path = "spend.csv"
period_column = "month"
area_column = "area"
value_columns = { "Spend" = "spend" }

[[source]]
id = "deflator"
department = "DWP"
path = "deflator.csv"
period_column = "year"
period_frequency = "financial_year"
area = "E"
value_columns = { "Index" = "deflator" }

[[source]]
id = "population"
department = "DWP"
path = "population.csv"
period_column = "year"
period_frequency = "year"
area_column = "area"
value_columns = { "People" = "population" }
"""
SPEND = {"A1": [1000.0, 1100.0, 1150.0], "A2": [2000.0, 1900.0, 2100.0], "A3": [500.0, 650.0, 640.0]}
MONTHS = ["2024-03", "2024-04", "2024-05"]  # March is in 2023-24, April and May in 2024-25
DEFLATOR = {"2023-24": 98.0, "2024-25": 100.0, "2025-26": 103.0}
POPULATION = {"A1": 10_000, "A2": 25_000, "A3": 4_000}


def setup(folder, url=None) -> Store:
    rows = [f"{m},{a},{v}" for a, vs in SPEND.items() for m, v in zip(MONTHS, vs)]
    (folder / "spend.csv").write_text("month,area,Spend\n" + "\n".join(rows) + "\n")
    (folder / "deflator.csv").write_text("year,Index\n" + "".join(f"{y},{v}\n" for y, v in DEFLATOR.items()))
    (folder / "population.csv").write_text("year,area,People\n" + "".join(f"2024,{a},{p}\n" for a, p in POPULATION.items()))
    (folder / "m.toml").write_text(MANIFEST)
    store = Store(url or f"sqlite:///{folder / 'w.db'}")
    for outcome in load_manifest_file(store, folder / "m.toml"):
        assert outcome.status == "loaded", outcome.message
    return store


def total(i: int) -> float:
    return sum(v[i] for v in SPEND.values())


def test_real_terms_split_the_cash_change_into_real_change_and_prices_exactly(tmp_path, db_url):
    store = setup(tmp_path, db_url)
    result = explain.explain_change(store, "spend", "2024-03", "2024-04", measure="real")
    k_a, k_b = 100.0 / 98.0, 1.0  # prices of 2024-25: March 2024 is in 2023-24
    r_a, r_b = total(0) * k_a, total(1) * k_b
    assert (result.value_from, result.value_to) == (pytest.approx(r_a, rel=1e-12), pytest.approx(r_b, rel=1e-12))
    assert result.measure == "real" and result.prices_of == "2024-25"
    real, prices = result.measure_parts
    p_a, p_b = 1 / k_a, 1 / k_b  # cash = real x prices index relative to 2024-25
    assert real.contribution == pytest.approx((r_b - r_a) * (p_a + p_b) / 2, abs=1e-9)
    assert prices.contribution == pytest.approx((p_b - p_a) * (r_a + r_b) / 2, abs=1e-9)
    assert abs(real.contribution + prices.contribution - (total(1) - total(0))) < 1e-9
    # the real change itself: cash and prices parts (Shapley of cash x k) and areas add up exactly
    parts = {c.component: c.contribution for c in result.components}
    assert abs(sum(parts.values()) - result.change) < 1e-9
    assert parts["prices"] == pytest.approx(sum((k_b - k_a) * (SPEND[a][0] + SPEND[a][1]) / 2 for a in SPEND), abs=1e-9)
    assert abs(sum(sg.contribution for sg in result.segments) - result.change) < 1e-9
    assert "Spend in real terms (2024-25 prices)" in result.narrative
    assert "from the real change" in result.narrative_part("measure") and "from prices (inflation)" in result.narrative


def test_the_prices_year_can_be_chosen(tmp_path):
    store = setup(tmp_path)
    result = explain.explain_change(store, "spend", "2024-03", "2024-05", measure="real", prices_of="2023-24")
    assert result.value_from == pytest.approx(total(0), rel=1e-12)  # March 2024 is in 2023-24: its own prices
    assert result.value_to == pytest.approx(total(2) * 98.0 / 100.0, rel=1e-12)
    with pytest.raises(ExplainError, match="no value in 2030-31"):
        explain.explain_change(store, "spend", "2024-03", "2024-05", measure="real", prices_of="2030-31")


def test_per_head_splits_into_cash_and_population_and_areas_by_mix_and_rate(tmp_path, db_url):
    store = setup(tmp_path, db_url)
    result = explain.explain_change(store, "spend", "2024-03", "2024-04", measure="per_head")
    people = sum(POPULATION.values())
    assert result.value_from == pytest.approx(total(0) / people, rel=1e-12)
    assert result.unit == "£ per head"
    parts = {c.component: c.contribution for c in result.components}
    assert set(parts) == {"cash", "population"} and abs(sum(parts.values()) - result.change) < 1e-12
    assert parts["population"] == pytest.approx(0.0, abs=1e-15)  # the population did not change within 2024
    assert abs(sum(sg.contribution for sg in result.segments) - result.change) < 1e-12
    assert all(sg.mix is not None and sg.rate is not None for sg in result.segments)
    head, population = result.measure_parts
    assert abs(head.contribution + population.contribution - (total(1) - total(0))) < 1e-9
    area = explain.explain_change(store, "spend", "2024-03", "2024-04", measure="per_head", area="A3")
    assert area.value_to == pytest.approx(650.0 / 4000, rel=1e-12)


@pytest.mark.parametrize("c_a, c_b, m_a, m_b", [(100.0, 130.0, 90.0, 110.0), (5e9, 4.2e9, 5.1e9, 4.0e9),
                                                 (1.0, 1.0, 2.0, 1.0)])
def test_cash_split_is_the_two_factor_shapley_value(c_a, c_b, m_a, m_b):
    first, second = cash_split("real", c_a, c_b, m_a, m_b)
    assert abs(first.contribution + second.contribution - (c_b - c_a)) < 1e-9 * max(1.0, abs(c_b))
    # brute force: the Shapley value of the two-player game v(S) = cash with the factors in S moved to b
    o_a, o_b = c_a / m_a, c_b / m_b
    v = {(): m_a * o_a, ("m",): m_b * o_a, ("o",): m_a * o_b, ("m", "o"): m_b * o_b}
    phi_m = ((v[("m",)] - v[()]) + (v[("m", "o")] - v[("o",)])) / 2
    phi_o = ((v[("o",)] - v[()]) + (v[("m", "o")] - v[("m",)])) / 2
    assert first.contribution == pytest.approx(phi_m, rel=1e-12, abs=1e-9)
    assert second.contribution == pytest.approx(phi_o, rel=1e-12, abs=1e-9)


def test_a_metric_without_a_deflator_says_what_to_add(tmp_path):
    store = setup(tmp_path)
    with pytest.raises(ExplainError, match='has no deflator in its manifest.*deflator = "<metric code>"'):
        explain.explain_change(store, "population", "2024", "2024", measure="real")
    run = CliRunner().invoke(main, ["explain", "spend", "--from", "2024-03", "--to", "2024-05", "--measure", "real",
                                    "--db", store.url, "--json"])
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["measure"] == "real" and len(data["measure_parts"]) == 2
    assert abs(sum(p["contribution"] for p in data["measure_parts"]) - (total(2) - total(0))) < 1e-9
