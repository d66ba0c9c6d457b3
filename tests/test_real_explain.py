"""The explanation engine on real government data (../shared/data/real).

Each movement is explained through the public API (``explain_change``) on a store loaded from
tests/realdata/*.toml, and its parts are checked against figures computed independently from
the CSV with pandas, and against the JSON contract's invariants. Skipped cleanly when
../shared/data/real is absent.
"""
from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from explain import explain_change, headline, metric_frame, metric_info
from explain.engine import FORMULA_GAP
from explain.narrative import narrate, text_of
from explain.results import DriverContribution, Explanation, MetricInfo, SegmentPart
from explain.segments import ratio_segments, sum_segments
from loaders import Store, load_manifest, load_manifest_file
from loaders.periods import from_key
from loaders.vocabulary import WHOLE_AREA

pytestmark = pytest.mark.realdata

MANIFESTS = Path(__file__).resolve().parent / "realdata"
SHARED_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """loaded(name) -> Store: tests/realdata/NAME.toml loaded once into a fresh store."""
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present")
    done: dict[str, Store] = {}

    def _load(name: str) -> Store:
        if name not in done:
            store = Store(tmp_path_factory.mktemp(name) / "store.db")
            outcomes = load_manifest_file(store, MANIFESTS / f"{name}.toml", allowed_dirs=[SHARED_REAL])
            assert [o.status for o in outcomes] == ["loaded"] * len(outcomes), [o.message for o in outcomes]
            done[name] = store
        return done[name]

    return _load


def assert_contract(explanation: Explanation) -> dict:
    """The invariants of the public JSON contract, on the JSON form, to 1e-6 of max(1, |change|)."""
    data = json.loads(json.dumps(explanation.to_dict()))
    for key in ("metric", "area", "period_from", "period_to", "value_from", "value_to", "change", "significance",
                "drivers", "unexplained", "model", "components", "segments", "narrative"):
        assert key in data, key
    change = data["change"]
    tol = 1e-6 * max(1.0, abs(change))
    assert abs(data["value_to"] - data["value_from"] - change) <= tol
    assert abs(math.fsum(d["contribution"] for d in data["drivers"]) + data["unexplained"] - change) <= tol
    if data["components"]:
        assert abs(math.fsum(c["contribution"] for c in data["components"]) - change) <= tol
    if data["segments"]:
        assert abs(math.fsum(s["contribution"] for s in data["segments"]) - change) <= tol
        for part in data["segments"]:
            if part["mix"] is not None and part["rate"] is not None:
                assert abs(part["mix"] + part["rate"] - part["contribution"]) <= tol
    assert isinstance(data["significance"].get("beyond_normal_variation"), (bool, type(None)))
    assert data["narrative"]
    return data


def segment_map(explanation: Explanation) -> dict[str, SegmentPart]:
    return {s.segment: s for s in explanation.segments}


def value(store: Store, metric: str, area: str, label: str, breakdown: str = "") -> float:
    frame = store.observations([metric], areas=[area], breakdown=breakdown)
    labels = [from_key(f, p).label for f, p in zip(frame["freq"], frame["period"])]
    return float(frame.assign(label=labels).set_index("label").loc[label, "value"])


# ---------------------------------------------------- 1. asylum cost = WIP x unit cost
def test_asylum_cost_splits_exactly_into_volume_and_unit_cost(loaded, real_data):
    store = loaded("homeoffice_asylum_costs_productivity_annual")
    csv = pd.read_csv(real_data / "homeoffice_asylum_costs_productivity_annual.csv").set_index("Financial Year")
    wip_a, wip_b = csv.loc["2019/20", "Asylum WIP (new method)"], csv.loc["2022/23", "Asylum WIP (new method)"]
    unit_a, unit_b = csv.loc["2019/20", "Unit Cost"], csv.loc["2022/23", "Unit Cost"]
    published_a, published_b = csv.loc["2019/20", "Total Asylum Costs"], csv.loc["2022/23", "Total Asylum Costs"]

    e = explain_change(store, "asylum_cost_product", "2019-20", "2022-23")
    assert_contract(e)
    assert (e.period_from, e.period_to, e.area) == ("2019-20", "2022-23", None)
    # the file's own spelling reads as the same financial years
    assert explain_change(store, "asylum_cost_product", "2019/20", "2022/23", use_cache=False).to_dict() == e.to_dict()
    assert e.value_from == pytest.approx(wip_a * unit_a, rel=1e-12)
    assert e.value_to == pytest.approx(wip_b * unit_b, rel=1e-12)

    parts = {c.component: c.contribution for c in e.components}
    assert set(parts) == {"asylum_wip", "asylum_unit_cost"}
    assert abs(math.fsum(parts.values()) - e.change) <= 1e-9 * abs(e.change)
    # two-factor Shapley: volume = dWIP x mean unit cost, unit cost = dUnit x mean WIP
    assert parts["asylum_wip"] == pytest.approx((wip_b - wip_a) * (unit_a + unit_b) / 2, rel=1e-12)
    assert parts["asylum_unit_cost"] == pytest.approx((unit_b - unit_a) * (wip_a + wip_b) / 2, rel=1e-12)
    assert parts["asylum_unit_cost"] > parts["asylum_wip"] > 0  # unit cost more than volume
    assert e.significance["beyond_normal_variation"] is True

    # WIP x unit cost against the published total: equal in 2019/20, 2.6% short of it in 2022/23
    assert abs(published_a - e.value_from) <= 1e-9 * published_a
    gap = (published_b - e.value_to) / published_b
    assert 0.02 <= gap <= 0.04
    assert round(gap, 4) == 0.0256

    # The engine can say so when the published total carries the identity as its formula
    # (asylum_total_cost: aggregation 'sum', formula = WIP x unit cost): the same volume and
    # unit-cost parts plus a "Difference from the formula" part, stated in notes and narrative.
    t = explain_change(store, "asylum_total_cost", "2019-20", "2022-23")
    assert_contract(t)
    assert t.value_from == published_a and t.value_to == published_b
    published_parts = {c.component: c.contribution for c in t.components}
    assert set(published_parts) == {"asylum_wip", "asylum_unit_cost", FORMULA_GAP}
    assert published_parts["asylum_wip"] == pytest.approx(parts["asylum_wip"], rel=1e-12)
    assert published_parts["asylum_unit_cost"] == pytest.approx(parts["asylum_unit_cost"], rel=1e-12)
    assert published_parts[FORMULA_GAP] == pytest.approx((published_b - wip_b * unit_b) - (published_a - wip_a * unit_a),
                                                         rel=1e-9)
    assert published_parts[FORMULA_GAP] == pytest.approx(gap * published_b, rel=1e-9)  # 2019/20 gap is nil
    # the note states the level gap in the end year (product about 2.6% short of the published total)
    note = next(n for n in t.notes if "formula asylum_wip * asylum_unit_cost" in n)
    assert "In 2022-23 the published value" in note and "differ by +£102m (+2.6% of the published value)" in note
    assert "Difference from the formula +£102m" in t.narrative


# ------------------------------------------- 2. A&E 4-hour performance: providers, mix and rate
def _ae_counts(csv: pd.DataFrame, month: str, by: str) -> pd.DataFrame:
    rows = csv[csv["period"] == f"{month}-01"].groupby(by)[["attendances", "breaches"]].sum()
    return rows.assign(within=rows["attendances"] - rows["breaches"])


def test_ae_four_hour_performance_split_by_provider_into_mix_and_rate(loaded, real_data):
    store = loaded("nhse_ae_attendances")
    csv = pd.read_csv(real_data / "nhse_ae_attendances.csv")
    a, b = _ae_counts(csv, "2018-01", "org_code"), _ae_counts(csv, "2019-01", "org_code")

    e = explain_change(store, "ae_4h_pct", "2018-01", "2019-01")
    assert_contract(e)
    # the whole is 100 x (1 - sum of breaches / sum of attendances) over every provider and type
    assert e.value_from == pytest.approx(100 * (1 - a["breaches"].sum() / a["attendances"].sum()), rel=1e-12)
    assert e.value_to == pytest.approx(100 * (1 - b["breaches"].sum() / b["attendances"].sum()), rel=1e-12)
    assert round(e.value_from, 1) == 85.3 and round(e.value_to, 1) == 84.4

    # segments are the providers (undeclared areas are roots; the whole is all providers)
    segments = segment_map(e)
    assert set(segments) == set(a.index) | set(b.index)
    assert len(segments) == 240 and not any(s.presence == "residual" for s in e.segments)
    change = e.value_to - e.value_from
    assert abs(math.fsum(s.contribution for s in e.segments) - change) <= 1e-9 * max(1.0, abs(change))
    assert abs(math.fsum(s.mix + s.rate for s in e.segments) - change) <= 1e-9 * max(1.0, abs(change))
    # the same split computed from the CSV
    expected = ratio_segments(a["within"].to_dict(), a["attendances"].to_dict(), b["within"].to_dict(),
                              b["attendances"].to_dict(), scale=100.0)
    for part in expected.segments:
        got = segments[part.segment]
        assert got.mix == pytest.approx(part.mix, rel=1e-9, abs=1e-12), part.segment
        assert got.rate == pytest.approx(part.rate, rel=1e-9, abs=1e-12), part.segment
        assert got.presence == part.presence
    # providers that opened or closed in between: all mix, no rate
    one_sided = [s for s in e.segments if s.presence != "both"]
    assert one_sided and all(s.rate == 0.0 for s in one_sided)
    assert set(s.segment for s in one_sided) == set(a.index) ^ set(b.index)
    # the formula split (attendances up helps, breaches up hurts) adds up too
    components = {c.component: c.contribution for c in e.components}
    assert set(components) == {"attendances", "breaches"}
    assert components["breaches"] < 0 < components["attendances"]
    assert "Changes in mix contributed" in e.narrative


def test_ae_four_hour_performance_split_by_department_type(loaded, real_data):
    store = loaded("nhse_ae_attendances")
    csv = pd.read_csv(real_data / "nhse_ae_attendances.csv")
    a, b = _ae_counts(csv, "2018-01", "type"), _ae_counts(csv, "2019-01", "type")

    e = explain_change(store, "ae_4h_pct", "2018-01", "2019-01", by="type")
    data = assert_contract(e)
    assert {s["segment"] for s in data["segments"]} == {"1", "2", "other"}
    whole = explain_change(store, "ae_4h_pct", "2018-01", "2019-01")
    assert (e.value_from, e.value_to) == (whole.value_from, whole.value_to)
    expected = ratio_segments(a["within"].to_dict(), a["attendances"].to_dict(), b["within"].to_dict(),
                              b["attendances"].to_dict(), scale=100.0)
    segments = segment_map(e)
    for part in expected.segments:
        got = segments[part.segment]
        assert got.value_from == pytest.approx(part.value_from, rel=1e-12)
        assert got.value_to == pytest.approx(part.value_to, rel=1e-12)
        assert (got.mix, got.rate) == pytest.approx((part.mix, part.rate), rel=1e-9, abs=1e-12)
    # type 1 departments carry most of the fall, and mostly through their own rate
    assert segments["1"].contribution == min(s.contribution for s in e.segments)
    assert abs(segments["1"].rate) > abs(segments["1"].mix)
    # one provider, split by its own department types
    rrk = explain_change(store, "ae_4h_pct", "2018-01", "2019-01", area="RRK", by="type")
    assert_contract(rrk)
    assert {s.segment for s in rrk.segments} <= {"1", "2", "other"} and rrk.segments


# --------------------------------------------------------- 3. DfE teacher-need drivers waterfall
START, END, OVERALL = "2025/26 PGITT need", "2026/27 PGITT need", "Overall difference"
DRIVERS = ("Demand growth YOY", "Leavers", "Working hour losses", "Returners", "NTSF", "NQEs from other sources",
           "ITT-NQE conversion rate", "Under-supply adjustment")


def _need_drivers(real_data: Path) -> pd.DataFrame:
    frame = pd.read_csv(real_data / "dfe_twm_pgitt_need_drivers.csv")
    assert len(frame) == 220 and set(frame["Driver"]) == {START, END, OVERALL, *DRIVERS}
    return frame.pivot_table(index=["Phase", "Subject"], columns="Driver", values="Value", aggfunc="first")


def test_teacher_need_drivers_are_an_exact_waterfall(real_data):
    table = _need_drivers(real_data)
    assert len(table) == 20  # primary total + 18 secondary subjects + secondary total
    for (phase, subject), row in table.iterrows():
        start, end = row[START], row[END]
        # the waterfall: start, then each driver in the published order, lands on the end
        steps = list(itertools.accumulate([start, *(row[d] for d in DRIVERS)]))
        assert steps[-1] == pytest.approx(end, abs=1e-6), (phase, subject)  # SOURCE: "within 1 trainee"
        assert row[OVERALL] == pytest.approx(end - start, abs=1e-9), (phase, subject)
        # as segments of the published change: nothing is left unallocated
        split = sum_segments({d: 0.0 for d in DRIVERS}, {d: row[d] for d in DRIVERS}, parent_from=0.0,
                             parent_to=end - start)
        assert split.change == end - start
        assert not any(s.presence == "residual" for s in split.segments), (phase, subject)
        assert abs(math.fsum(s.contribution for s in split.segments) - split.change) <= 1e-9 * max(1.0, abs(end))
    # secondary subjects add up to the secondary total for every row of the waterfall
    secondary = table.loc["Secondary"]
    subjects = secondary.drop(index="Total").sum()
    assert subjects.to_dict() == pytest.approx(secondary.loc["Total"].to_dict(), abs=1e-6)


def test_teacher_need_waterfall_as_an_explanation(real_data):
    """Secondary Total, 19,263 -> 15,276: the official drivers as the explanation's drivers, the
    subjects as its segments, narrated by the engine's narrative; the contract invariants hold."""
    table = _need_drivers(real_data)
    total = table.loc[("Secondary", "Total")]
    start, end = total[START], total[END]
    assert (round(start), round(end), round(end - start)) == (19_263, 15_276, -3_987)  # SOURCE
    change = end - start
    drivers = tuple(DriverContribution(d, float(total[d])) for d in DRIVERS)
    unexplained = change - math.fsum(d.contribution for d in drivers)
    assert abs(unexplained) < 1e-9 * abs(start)
    subjects = table.loc["Secondary"].drop(index="Total")
    split = sum_segments(subjects[START].to_dict(), subjects[END].to_dict(), parent_from=start, parent_to=end)
    assert not any(s.presence == "residual" for s in split.segments)
    segments = tuple(SegmentPart(s.segment, s.segment, s.contribution, s.value_from, s.value_to)
                     for s in split.segments)
    info = MetricInfo(code="pgitt_need", name="Secondary postgraduate ITT trainee need", department="DfE",
                      unit="trainees", aggregation="sum", higher_is_better=None, formula="", description="",
                      frequency="FY")
    significance = {"method": "none", "beyond_normal_variation": None, "detail": "one published comparison"}
    text = text_of(narrate(info=info, area_name=None, period_from="2025/26", period_to="2026/27", value_from=start,
                   value_to=end, change=change, significance=significance, drivers=drivers, unexplained=unexplained,
                   components=(), segments=segments, model=None, data_vintage=0))
    explanation = Explanation(
        metric=info.code, area=None, period_from="2025/26", period_to="2026/27", value_from=start, value_to=end,
        change=change, significance=significance, drivers=drivers, unexplained=unexplained, model=None,
        components=(), segments=segments, narrative=text, data_vintage=0, unit=info.unit, metric_name=info.name)
    data = assert_contract(explanation)
    assert Explanation.from_dict(data).to_dict() == data
    # SOURCE: "the largest drivers are the under-supply adjustment (-2,586) and leavers (-983)"
    ranked = sorted(drivers, key=lambda d: -abs(d.contribution))
    assert [d.driver for d in ranked[:2]] == ["Under-supply adjustment", "Leavers"]
    assert (round(ranked[0].contribution), round(ranked[1].contribution)) == (-2_586, -983)
    # one rounding, levels at 3 significant figures (the source's 19,263 -> 15,276, -3,987), periods in words
    assert text.startswith("Secondary postgraduate ITT trainee need fell by 4,000 trainees (20.7%) from 19,300 "
                           "trainees in 2025-26 to 15,300 trainees in 2026-27.")
    assert "Under-supply adjustment (-2,590 trainees)" in text and "Leavers (-983 trainees)" in text
    assert "Physics" in text  # the subject that moved it most (-604)
    assert min(split.segments, key=lambda s: s.contribution).segment == "Physics"


def test_waterfall_narrative_does_not_print_float_noise(real_data):
    table = _need_drivers(real_data)
    total = table.loc[("Secondary", "Total")]
    change = total[END] - total[START]
    drivers = tuple(DriverContribution(d, float(total[d])) for d in DRIVERS)
    unexplained = change - math.fsum(d.contribution for d in drivers)
    assert 0 < abs(unexplained) < 1e-9  # exact to float rounding, as published
    info = MetricInfo(code="pgitt_need", name="Secondary PGITT need", department="DfE", unit="trainees",
                      aggregation="sum", higher_is_better=None, formula="", description="", frequency="FY")
    text = text_of(narrate(info=info, area_name=None, period_from="2025/26", period_to="2026/27", value_from=total[START],
                   value_to=total[END], change=change, significance={"beyond_normal_variation": None},
                   drivers=drivers, unexplained=unexplained, components=(), segments=(), model=None, data_vintage=0))
    assert "e-13" not in text and "e-1" not in text


def test_teacher_need_drivers_load_with_a_fixed_period(tmp_path, real_data):
    path = (real_data / "dfe_twm_pgitt_need_drivers.csv").resolve()
    codes = {d: "need_" + "".join(c if c.isalnum() else "_" for c in d.lower()) for d in DRIVERS}
    text = ['[[department]]\ncode = "DfE"\nname = "Department for Education"\n',
            '[[metric]]\ncode = "pgitt_need"\nname = "PGITT trainee need"\ndepartment = "DfE"\nunit = "trainees"\n']
    text += [f'[[metric]]\ncode = "{c}"\nname = "{d}"\ndepartment = "DfE"\nunit = "trainees"\n' for d, c in codes.items()]
    rows = [("start", START, "pgitt_need", "2025-26"), ("end", END, "pgitt_need", "2026-27")]
    rows += [(codes[d], d, codes[d], "2026-27") for d in DRIVERS]
    for source_id, driver, metric, period in rows:
        text.append(f'[[source]]\nid = "twm-{source_id}"\ndepartment = "DfE"\npath = "{path}"\nlayout = "single"\n'
                    f'metric = "{metric}"\nvalue_column = "Value"\nperiod = "{period}"\narea_column = "Subject"\n'
                    f'dimension_columns = ["Phase"]\nwhere = {{ Driver = "{driver}" }}\n')
    manifest = tmp_path / "drivers.toml"
    manifest.write_text("\n".join(text))
    store = Store(tmp_path / "store.db")
    outcomes = load_manifest_file(store, manifest, allowed_dirs=[SHARED_REAL])
    assert [o.status for o in outcomes] == ["loaded"] * len(rows)
    start = value(store, "pgitt_need", WHOLE_AREA, "2025-26", breakdown="Phase=Secondary")
    end = value(store, "pgitt_need", WHOLE_AREA, "2026-27", breakdown="Phase=Secondary")
    parts = [value(store, c, WHOLE_AREA, "2026-27", breakdown="Phase=Secondary") for c in codes.values()]
    assert start + math.fsum(parts) == pytest.approx(end, abs=1e-6)


# ------------------------------------------------------------ 4. police workforce segments
def test_police_officers_split_by_force_add_up_to_the_published_total(loaded, real_data):
    store = loaded("homeoffice_police_workforce_force")
    csv = pd.read_csv(real_data / "homeoffice_police_workforce_force.csv")
    forces = csv[csv["area_type"] == "force"]
    total = csv[csv["area"] == "Total 43 forces"].set_index("as_at")
    for metric, count in (("officers_fte", 43), ("staff_fte", 43), ("pcso_fte", 42)):  # Norfolk: no PCSOs
        e = explain_change(store, metric, "2018-09", "2019-09")
        assert_contract(e)
        # the whole is the roll-up of the forces, equal to the published total of 43 forces
        assert e.value_from == pytest.approx(total.loc["2018-09-30", metric], abs=1e-6)
        assert e.value_to == pytest.approx(total.loc["2019-09-30", metric], abs=1e-6)
        assert value(store, f"{metric}_total43", WHOLE_AREA, "2019-09") == total.loc["2019-09-30", metric]
        segments = segment_map(e)
        assert len(segments) == count and not any(s.presence == "residual" for s in e.segments)
        assert abs(math.fsum(s.contribution for s in e.segments) - e.change) <= 1e-9 * max(1.0, abs(e.change))
        a = forces[forces["as_at"] == "2018-09-30"].set_index("area")[metric]
        b = forces[forces["as_at"] == "2019-09-30"].set_index("area")[metric]
        delta = (b - a).dropna()
        assert set(segments) == set(delta.index)
        for force, expected in delta.items():
            assert segments[force].contribution == pytest.approx(expected, abs=1e-9), force
    officers = explain_change(store, "officers_fte", "2018-09", "2019-09")
    assert round(officers.change) == 2_378  # the start of the Police Uplift Programme
    assert officers.segments[0].segment == "Metropolitan Police"


REGION_NAMES = {"Eastern": "East of England"}  # the file's region label -> the manifest's name


def test_police_regions_then_forces_with_the_published_total_as_parent(loaded, real_data):
    # the manifest loads the published total before the forces: the other order hits the loaders
    # bug shown by test_real_data.py::test_police_published_total_can_follow_the_forces
    store = loaded("homeoffice_police_workforce_regions")
    csv = pd.read_csv(real_data / "homeoffice_police_workforce_force.csv")
    manifest = load_manifest(MANIFESTS / "homeoffice_police_workforce_regions.toml", allowed_dirs=[SHARED_REAL])
    regions = {a.name: a.code for a in manifest.areas if a.level == "region"}
    children = {code: sorted(a.code for a in manifest.areas if a.parent == code) for code in regions.values()}
    assert len(regions) == 10 and sum(len(v) for v in children.values()) == 43

    # the store's region roll-ups equal the file's own region rows at every date (checks the hierarchy)
    published_regions = csv[csv["area_type"] == "region"]
    assert len(published_regions) == 110
    for row in published_regions.itertuples():
        code = regions[REGION_NAMES.get(row.area, row.area)]
        label = row.as_at[:7]
        for metric in ("officers_fte", "staff_fte", "pcso_fte"):
            assert value(store, metric, code, label) == pytest.approx(getattr(row, metric), abs=1e-6), (row.area, label)

    total = csv[csv["area"] == "Total 43 forces"].set_index("as_at")
    e = explain_change(store, "officers_fte", "2018-09", "2019-09")
    assert_contract(e)
    # the whole is the published total (kept as published), and the regions add up to it exactly:
    # no residual segment
    assert (e.value_from, e.value_to) == (total.loc["2018-09-30", "officers_fte"], total.loc["2019-09-30", "officers_fte"])
    assert {s.segment for s in e.segments} == set(regions.values())
    assert not any(s.presence == "residual" for s in e.segments)
    regional = math.fsum(value(store, "officers_fte", code, "2019-09") for code in regions.values())
    assert regional == pytest.approx(e.value_to, abs=1e-6)
    assert segment_map(e)["E12000007"].name == "London" and e.segments[0].segment == "E12000007"
    # each region splits into its forces, exactly
    for code, forces in children.items():
        r = explain_change(store, "officers_fte", "2018-09", "2019-09", area=code)
        assert_contract(r)
        assert sorted(s.segment for s in r.segments) == forces
        assert abs(math.fsum(s.contribution for s in r.segments) - r.change) <= 1e-9 * max(1.0, abs(r.change))
        assert r.change == pytest.approx(segment_map(e)[code].contribution, abs=1e-9)


# ------------------------------------------------- 5. more real explanations, same invariants
def test_universal_credit_covid_surge_by_local_authority(loaded, real_data):
    store = loaded("dwp_uc_households_la_monthly")
    for a, b in (("2020-03", "2020-04"), ("2020-04", "2020-05"), ("2022-12", "2023-11")):
        e = explain_change(store, "uc_households", a, b)
        assert_contract(e)
        assert len(e.segments) == 351 and not any(s.presence == "residual" for s in e.segments)
        assert abs(math.fsum(s.contribution for s in e.segments) - e.change) <= 1e-9 * abs(e.change)
        published = (value(store, "uc_households_gb_published", WHOLE_AREA, a),
                     value(store, "uc_households_gb_published", WHOLE_AREA, b))
        assert e.value_from == pytest.approx(published[0], rel=1e-3)
        assert e.value_to == pytest.approx(published[1], rel=1e-3)
    surge = explain_change(store, "uc_households", "2020-03", "2020-04")
    assert round(surge.change / 1e6, 2) == 1.06 and surge.significance["beyond_normal_variation"] is True
    assert surge.segments[0].name == "Birmingham"
    with pytest.raises(Exception, match="no value for 2023-05"):  # Jan-Oct 2023 are not in the export
        explain_change(store, "uc_households", "2022-12", "2023-05")


def test_headline_previous_period_respects_gaps(loaded, real_data):
    store = loaded("dwp_uc_households_la_monthly")
    card = headline(store, "uc_households")
    assert card.latest_period == "2023-11" and card.provisional
    assert card.year_ago_period == "2022-11"
    assert card.previous_period in (None, "2023-10")


def test_pupil_teacher_ratio_split_by_phase(loaded, real_data):
    store = loaded("dfe_twm_pupil_teacher_numbers")
    e = explain_change(store, "twm_pupil_teacher_ratio", "2019-20", "2024-25")
    assert_contract(e)
    assert {s.segment for s in e.segments} == {"Primary", "Secondary"}
    assert {c.component for c in e.components} == {"twm_pupils", "twm_teachers"}
    csv = pd.read_csv(real_data / "dfe_twm_pupil_teacher_numbers.csv")
    sums = csv.groupby("Academic year")[["Pupil numbers", "Teacher numbers"]].sum()
    assert e.value_from == pytest.approx(sums.loc["2019/20", "Pupil numbers"] / sums.loc["2019/20", "Teacher numbers"])
    assert e.value_to == pytest.approx(sums.loc["2024/25", "Pupil numbers"] / sums.loc["2024/25", "Teacher numbers"])


def test_asylum_backlog_by_nationality_and_world_region(loaded, real_data):
    store = loaded("homeoffice_asylum_flows_nationality_quarterly")
    rise = explain_change(store, "backlog_initial", "2019-Q4", "2023-Q2")
    assert_contract(rise)
    assert (rise.value_from, rise.value_to) == (40_032, 134_046)
    assert abs(math.fsum(s.contribution for s in rise.segments) - rise.change) <= 1e-9 * abs(rise.change)
    assert {rise.segments[0].segment, rise.segments[1].segment} == {"Iran", "Afghanistan"}
    fall = explain_change(store, "backlog_initial", "2023-Q2", "2024-Q1", by="world_region")
    data = assert_contract(fall)
    assert (fall.value_from, fall.value_to) == (134_046, 86_460)
    assert len(data["segments"]) == 16 and data["segments"][0]["segment"] == "Middle East"
    assert abs(math.fsum(s.contribution for s in fall.segments) - fall.change) <= 1e-9 * abs(fall.change)


def test_small_movements_on_a_trending_real_series_are_within_normal_variation(loaded, real_data):
    """Issue 8: the old level test called nearly every month of a rising series "beyond normal
    variation". On Universal Credit households, every month-on-month movement under 1% is now within
    it, while the April 2020 surge stays beyond (checked above)."""
    from explain.verdict import series_verdict

    store = loaded("dwp_uc_households_la_monthly")
    info = metric_info(store, "uc_households")
    frame = metric_frame(store, "uc_households", areas=[WHOLE_AREA]).dropna(subset=["value"]).sort_values("start")
    values = dict(zip(frame["period"], frame["value"]))
    labels = frame["period"].tolist()
    small = [(a, b) for a, b in zip(labels[:-1], labels[1:]) if abs(values[b] / values[a] - 1) < 0.01]
    assert len(small) >= 10
    for a, b in small:
        verdict = series_verdict(frame, a, b, freq=info.frequency, unit=info.unit,
                                 higher_is_better=info.higher_is_better)
        assert verdict.outcome in ("within", "insufficient"), (a, b, verdict.reason)


def test_the_default_comparison_over_a_gap_is_the_latest_comparable_pair(loaded, real_data):
    """Jan-Oct 2023 are missing: the latest period (2023-11) has no previous month, so the default
    comparison is the year (2022-11 -> 2023-11), and it explains and judges without bridging the gap."""
    from explain.api import comparison_periods

    store = loaded("dwp_uc_households_la_monthly")
    frame = metric_frame(store, "uc_households", areas=[WHOLE_AREA]).dropna(subset=["value"]).sort_values("start")
    pairs = comparison_periods(frame["period"].tolist(), "M")
    assert "previous" not in pairs and pairs["year"] == ("2022-11", "2023-11")
    e = explain_change(store, "uc_households", *pairs["year"])
    assert e.significance["span"] == 12 and e.significance["outcome"] in ("beyond", "within")
    assert "2023-10" not in e.significance["detail"]  # no change ending in the gap is used


def test_ae_cross_dimension_search_finds_type_1_the_providers_and_the_merged_trust(loaded, real_data):
    """Issue 14: provider × type for January 2018 to January 2019, beside the exact one-dimensional
    splits. Type 1 departments carry the fall; the providers that moved it are named; RR1 (Heart of
    England, merged into University Hospitals Birmingham, RRK) stopped reporting and says so."""
    from explain import cross_segments

    store = loaded("nhse_ae_attendances")
    whole = explain_change(store, "ae_4h_pct", "2018-01", "2019-01")
    found = cross_segments(store, "ae_4h_pct", "2018-01", "2019-01")
    assert found.change == pytest.approx(whole.change, abs=1e-9)  # the cells add up to the change
    names = [s.name for s in found.segments]
    assert names[0] == "Type 1" and found.segments[0].contribution < 0
    by_type = {s.segment: s.contribution for s in explain_change(store, "ae_4h_pct", "2018-01", "2019-01",
                                                                 by="type").segments}
    assert found.segments[0].contribution == pytest.approx(by_type["1"], abs=1e-9)  # the exact 1-D split's value
    providers = [s for s in found.segments if s.dims[0][0] == "area"]
    assert "RRK" in {s.dims[0][1] for s in providers} and len(providers) >= 3
    assert all(s.overlaps for s in providers)  # each overlaps a type: not additive, and labelled so
    ended = {s.dims[0][1]: s for s in found.reporting_changes
             if s.presence == "from_only" and len(s.dims) == 1 and s.dims[0][0] == "area"}
    assert "RR1" in ended and ended["RR1"].contribution == max(s.contribution for s in ended.values())
    csv = pd.read_csv(real_data / "nhse_ae_attendances.csv")
    assert set(ended) == set(csv[csv["period"] == "2018-01-01"]["org_code"]) - set(
        csv[csv["period"] == "2019-01-01"]["org_code"])
    assert found.to_dict()["additive"] is False
