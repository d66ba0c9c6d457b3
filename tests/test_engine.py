"""The engine on the demo store (SQLite and PostgreSQL): contract invariants, planted truth, hierarchy, antisymmetry,
caching by vintage and model version, and the CLI's JSON contract."""
from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from dashapp.cli import main
from explain import (
    ExplainError,
    cached_explanation,
    comparison_periods,
    explain_change,
    get_version,
    list_versions,
    metric_frame,
    metric_info,
    precompute,
)
from explain.engine import FORMULA_GAP
from loaders.demo.truth import RECOMMENDED_WINDOWS, ground_truth, planted_contributions
from loaders.formula import parse_formula

from store_urls import POSTGRES_PARAM

CONTRACT_KEYS = {"metric", "area", "period_from", "period_to", "value_from", "value_to", "change", "significance",
                 "drivers", "unexplained", "model", "components", "segments", "narrative"}


@pytest.fixture(params=["sqlite", POSTGRES_PARAM])
def engine_store(request):
    """The demo store on SQLite and on PostgreSQL: the engine must answer the same on both."""
    return request.getfixturevalue("demo_store" if request.param == "sqlite" else "pg_demo_store")


def assert_invariants(data: dict) -> None:
    tol = 1e-6 * max(1.0, abs(data["change"]))
    assert CONTRACT_KEYS <= set(data)
    assert data["value_to"] - data["value_from"] == pytest.approx(data["change"], abs=tol)
    assert math.fsum(d["contribution"] for d in data["drivers"]) + data["unexplained"] == pytest.approx(
        data["change"], abs=tol)
    if data["components"]:
        assert math.fsum(c["contribution"] for c in data["components"]) == pytest.approx(data["change"], abs=tol)
    if data["segments"]:
        assert math.fsum(s["contribution"] for s in data["segments"]) == pytest.approx(data["change"], abs=tol)
        for s in data["segments"]:
            if s["mix"] is not None:
                assert s["mix"] + s["rate"] == pytest.approx(s["contribution"], abs=tol)
    assert {"method", "beyond_normal_variation", "detail"} <= set(data["significance"])


def assert_nothing_left_to_residuals(data: dict, *, split: bool) -> None:
    """The demo's formulas hold exactly in every row and its hierarchies add up exactly, so no part of a
    change may be put down to 'Difference from the formula' or 'Not allocated to a segment'.

    The sums in :func:`assert_invariants` close by construction (a residual part absorbs any gap), so
    they cannot fail; this can: the named parts alone (residual parts left out) must add up to the
    change to 1e-9 of it (docs/method.md: L2 and L3), and no residual part may be shown. ``split``
    says the explanation must have segments (an area with children, or a breakdown), so an engine
    that drops them cannot pass by having nothing to check.
    """
    tight = 1e-9 * max(1.0, abs(data["change"]))
    gaps = [c for c in data["components"] if c["component"] == FORMULA_GAP]
    unallocated = [s for s in data["segments"] if s["presence"] == "residual"]
    assert gaps == [], f"'{FORMULA_GAP}' on exact demo data: {gaps}"
    assert unallocated == [], f"a residual segment on exact demo data: {unallocated}"
    assert not any(FORMULA_GAP in note for note in data.get("notes", [])), data.get("notes")
    if data["components"]:
        named = math.fsum(c["contribution"] for c in data["components"] if c["component"] != FORMULA_GAP)
        assert named == pytest.approx(data["change"], rel=0, abs=tight)
    assert bool(data["segments"]) == split, f"segments expected: {split}, got {len(data['segments'])}"
    if split:
        named = math.fsum(s["contribution"] for s in data["segments"] if s["presence"] != "residual")
        assert named == pytest.approx(data["change"], rel=0, abs=tight)


@pytest.mark.parametrize("metric, area, a, b, by, split", [
    ("uc_caseload", None, "2025-09", "2026-09", None, True),
    ("uc_caseload", "E12000002", "2026-08", "2026-09", None, True),
    ("uc_spend", None, "2025-09", "2026-09", None, True),
    ("uc_spend", "E08000025", "2025-09", "2026-09", None, False),  # a local authority: no children
    ("ae_4h_pct", None, "2025-01", "2026-01", None, True),
    ("ae_4h_pct", "E12000004", "2025-01", "2026-01", "dept_type", True),
    ("ae_attendances", None, "2021-12", "2022-12", "dept_type", True),
    ("uc_avg_award", None, "2021-11", "2021-12", None, True),
    ("asylum_backlog", None, "2025-09", "2026-09", None, False),  # national only
    ("unfilled_places_pct", None, "2022-23", "2023-24", None, True),
])
def test_contract_invariants_hold(engine_store, metric, area, a, b, by, split):
    result = explain_change(engine_store, metric, a, b, area=area, by=by)
    data = json.loads(json.dumps(result.to_dict()))
    assert_invariants(data)
    assert_nothing_left_to_residuals(data, split=split)
    assert data["metric"] == metric and data["area"] == area
    if by:
        assert all("segment" in s for s in data["segments"]) and len(data["segments"]) >= 2
    if metric == "ae_4h_pct":  # ratio of sums: segments carry mix and rate
        assert all(s["mix"] is not None for s in data["segments"] if s["presence"] != "residual")
    formula = metric_info(engine_store, metric).formula
    expected = list(parse_formula(formula).components) if formula else []  # exactly the formula's parts, in order
    assert [c["component"] for c in data["components"]] == expected


def test_formula_components_of_spend_split_volume_and_unit_cost(engine_store):
    result = explain_change(engine_store, "uc_spend", "2025-09", "2026-09")
    parts = {c.component: c.contribution for c in result.components}
    assert set(parts) == {"uc_caseload", "uc_avg_award"}  # the demo's spend is exactly the formula
    assert math.fsum(parts.values()) == pytest.approx(result.change, rel=1e-9)


def planted_drivers(metric: str) -> dict[str, str]:
    """The drivers the demo planted for a metric, with their relationship, from its ground-truth table:
    linear, nonlinear or 'none' (an irrelevant driver the model must still carry and leave near zero).
    Events and formula identities are not drivers: no driver model can or should attribute them."""
    truth = ground_truth()
    rows = truth[(truth["metric"] == metric) & truth["relationship"].isin(["linear", "nonlinear", "none"])]
    return dict(zip(rows["driver"], rows["relationship"]))


@pytest.mark.parametrize("window", [w for w in RECOMMENDED_WINDOWS if w.metric in ("uc_caseload", "ae_attendances")
                                    and "hard" not in w.note.lower()][:7], ids=lambda w: f"{w.metric}-{w.area}-{w.period_from}")
def test_planted_drivers_are_recovered(engine_store, window):
    """Every planted driver is in the model, whatever its effect in this window (a missing one fails, never
    skips); linear drivers within 10% of the change, non-linear within 20%, irrelevant ones near zero."""
    result = explain_change(engine_store, window.metric, window.period_from, window.period_to, area=window.area)
    truth = planted_contributions(window.metric, period_from=window.period_from, period_to=window.period_to,
                                  area=window.area)
    planted = planted_drivers(window.metric)
    found = {d.driver: d.contribution for d in result.drivers}
    assert planted and set(planted) <= set(truth), (planted, truth)
    missing = sorted(set(planted) - set(found))
    assert not missing, f"planted drivers missing from the model: {missing}"
    tolerance = 0.10 if window.metric == "uc_caseload" else 0.20
    for driver, relationship in planted.items():
        allowed = 0.05 if relationship == "none" else tolerance
        assert abs(found[driver] - truth[driver]) <= allowed * abs(result.change), (driver, found[driver],
                                                                                     truth[driver])


def test_whole_is_the_sum_of_its_regions(engine_store):
    whole = explain_change(engine_store, "uc_caseload", "2019-04", "2021-04")
    regions = [s.segment for s in whole.segments]
    assert len(regions) == 9
    parts = [explain_change(engine_store, "uc_caseload", "2019-04", "2021-04", area=r) for r in regions]
    for i, driver in enumerate(whole.drivers):
        assert driver.contribution == pytest.approx(math.fsum(p.drivers[i].contribution for p in parts), rel=1e-9)
    assert whole.change == pytest.approx(math.fsum(p.change for p in parts), rel=1e-12)
    assert {s.segment: s.contribution for s in whole.segments} == pytest.approx({p.area: p.change for p in parts})


def test_swapping_periods_negates_every_part(engine_store):
    forward = explain_change(engine_store, "ae_4h_pct", "2025-01", "2026-01", use_cache=False)
    back = explain_change(engine_store, "ae_4h_pct", "2026-01", "2025-01", use_cache=False)
    assert back.change == pytest.approx(-forward.change)
    assert [c.contribution for c in back.components] == pytest.approx([-c.contribution for c in forward.components])
    f = {s.segment: (s.mix, s.rate) for s in forward.segments}
    for s in back.segments:
        assert (s.mix, s.rate) == pytest.approx((-f[s.segment][0], -f[s.segment][1]))
    fd = explain_change(engine_store, "uc_caseload", "2024-01", "2025-01", use_cache=False)
    bd = explain_change(engine_store, "uc_caseload", "2025-01", "2024-01", use_cache=False)
    assert [d.contribution for d in bd.drivers] == pytest.approx([-d.contribution for d in fd.drivers])


def test_first_explain_fits_version_one_and_records_provenance(engine_store):
    explain_change(engine_store, "uc_caseload", "2026-08", "2026-09")
    version = get_version(engine_store, "uc_caseload")
    assert version is not None and version.active and version.version == min(v.version for v in
                                                                              list_versions(engine_store, "uc_caseload"))
    assert version.kind == "linear" and "claimant_count" in version.drivers
    assert len(version.training_hash) == 64 and version.data_vintage >= 1
    assert version.scores["r2"] > version.scores["baseline_r2"] - 1.0  # both reported
    assert {"r2", "mae", "baseline_r2", "baseline_mae", "n_splits"} <= set(version.scores)


def test_narrative_is_plain_english_with_vintage_and_model(engine_store):
    result = explain_change(engine_store, "uc_caseload", "2019-04", "2021-04")
    text = result.narrative
    assert text.startswith("Universal Credit") or text.split()[0][0].isupper()
    assert " rose by " in text and "associated" in text
    assert not any(word in text.lower() for word in (" caused ", " because of ", " due to ", " drove "))
    assert f"Data vintage {result.data_vintage}" in text and f"model version {result.model.version}" in text
    assert "This is an unusual change" in text or "This change is within the usual range" in text
    assert "in April 2019 to " in text and "in April 2021" in text        # periods in words, not "2019-04"
    for jargon in ("normal variation", "special cause", "common cause", "2019-04", "2021-04"):
        assert jargon not in text, jargon


def test_precomputed_entries_are_never_served_stale(tmp_path):
    from loaders import Store, load_manifest_file
    from loaders.demo.write import write_demo, write_revision

    store = Store(tmp_path / "s.db")
    files = write_demo(tmp_path / "files")
    load_manifest_file(store, files.manifest)
    summary = precompute(store, metrics=["uc_spend"])
    assert summary.explanations > 0
    latest = explain_change(store, "uc_spend", "2026-08", "2026-09")
    hit = cached_explanation(store, "uc_spend", "2026-08", "2026-09")
    assert hit is not None and hit.to_dict() == latest.to_dict()
    write_revision(tmp_path / "files")  # a new vintage revises the last three months
    load_manifest_file(store, files.manifest)
    assert cached_explanation(store, "uc_spend", "2026-08", "2026-09") is None
    fresh = explain_change(store, "uc_spend", "2026-08", "2026-09")
    assert fresh.data_vintage > latest.data_vintage and fresh.value_to != latest.value_to


def test_unknown_inputs_are_clear_errors(engine_store):
    with pytest.raises(ExplainError, match="Unknown metric 'nope'"):
        explain_change(engine_store, "nope", "2024-01", "2024-02")
    with pytest.raises(ExplainError, match="no value for 2031-01"):
        explain_change(engine_store, "uc_caseload", "2024-01", "2031-01")
    with pytest.raises(ExplainError, match="Unknown area"):
        explain_change(engine_store, "uc_caseload", "2024-01", "2024-02", area="XX")


def test_cli_explain_json_is_the_contract_object(engine_store):
    result = CliRunner().invoke(main, ["explain", "uc_caseload", "--from", "2025-09", "--to", "2026-09", "--area",
                                       "E12000001", "--json", "--db", engine_store.url])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert_invariants(data)
    assert data["area"] == "E12000001" and data["model"]["kind"] == "linear"


@pytest.mark.parametrize("args, fragment", [
    (["explain", "nope", "--from", "2024-01", "--to", "2024-02"], "Unknown metric 'nope'"),
    (["explain", "uc_caseload", "--from", "Smarch 2024", "--to", "2024-02"], "Smarch 2024"),
    (["loads", "no-such-source"], "No loads of source 'no-such-source'"),
    (["fit", "uc_caseload", "--drivers", "not_a_metric"], "Unknown metric 'not_a_metric'"),
])
def test_cli_user_errors_are_one_paragraph_without_traceback(engine_store, args, fragment):
    result = CliRunner().invoke(main, args + ["--db", engine_store.url])
    assert result.exit_code == 1
    assert fragment in result.output
    assert "Traceback" not in result.output and result.output.startswith("Error: ")
    assert result.output.strip().count("\n") == 0


def test_parallel_precompute_stores_the_same_answers_as_computing_directly(tmp_path):
    from loaders import Store, load_manifest_file
    from loaders.demo.write import write_demo

    store = Store(tmp_path / "p.db")
    files = write_demo(tmp_path / "files")
    load_manifest_file(store, files.manifest)
    summary = precompute(store, metrics=["uc_spend", "asylum_backlog", "ae_4h_pct"], workers=2)
    assert summary.metrics == 3 and summary.explanations > 100 and not summary.skipped
    for metric, area in (("uc_spend", "E12000003"), ("asylum_backlog", None), ("ae_4h_pct", "E08000025")):
        info = metric_info(store, metric)
        periods = metric_frame(store, info).drop_duplicates("period").sort_values("start")["period"].tolist()
        for a, b in comparison_periods(periods, info.frequency).values():
            stored = cached_explanation(store, metric, a, b, area=area)
            direct = explain_change(store, metric, a, b, area=area, use_cache=False)
            assert stored is not None and stored.to_dict() == direct.to_dict()
