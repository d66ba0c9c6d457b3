"""The loaders on real government files (../shared/data/real), checked against their SOURCE notes.

Each manifest in tests/realdata/ is loaded once per module into a fresh store; the tests then
compare what the store holds with facts stated in the file's ``.SOURCE.md`` (row counts,
period spans, suppressed and provisional cells, published totals) and with figures computed
independently from the CSV with pandas. Skipped cleanly when ../shared/data/real is absent.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from loaders import Store, load_manifest, load_manifest_file
from loaders.periods import from_key
from loaders.vocabulary import WHOLE_AREA

pytestmark = pytest.mark.realdata

MANIFESTS = Path(__file__).resolve().parent / "realdata"
SHARED_REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
#: the manifests read ../shared/data/real, outside their folder: allowed as an administrator would
ALLOWED = [SHARED_REAL]
RULES = ("completeness", "quarantine", "duplicates", "revisions", "outliers", "timeliness")

LOADABLE = (
    "nhse_ae_attendances",
    "dwp_uc_households_la_monthly",
    "homeoffice_asylum_costs_productivity_annual",
    "homeoffice_police_workforce_force",
    "homeoffice_police_workforce_regions",
    "dfe_twm_pupil_teacher_numbers",
    "homeoffice_asylum_flows_nationality_quarterly",
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """loaded(name) -> (store, outcomes): tests/realdata/NAME.toml loaded once into a fresh store."""
    if not SHARED_REAL.is_dir():
        pytest.skip("../shared/data/real is not present")
    done: dict[str, tuple[Store, list]] = {}

    def _load(name: str):
        if name not in done:
            store = Store(tmp_path_factory.mktemp(name) / "store.db")
            outcomes = load_manifest_file(store, MANIFESTS / f"{name}.toml", allowed_dirs=ALLOWED)
            assert [o.status for o in outcomes] == ["loaded"] * len(outcomes), [o.message for o in outcomes]
            done[name] = (store, outcomes)
        return done[name]

    return _load


def by_id(outcomes) -> dict:
    return {o.source_id: o for o in outcomes}


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Store observations with a canonical period label column."""
    labels = {(f, p): from_key(f, p).label for f, p in set(zip(frame["freq"], frame["period"]))}
    return frame.assign(label=[labels[(f, p)] for f, p in zip(frame["freq"], frame["period"])])


def series(store: Store, metric: str, area: str = WHOLE_AREA, breakdown: str = "") -> pd.DataFrame:
    """One series indexed by period label (value, status, derived...)."""
    return labelled(store.observations([metric], areas=[area], breakdown=breakdown)).set_index("label")


def leaves(store: Store, metric: str) -> pd.DataFrame:
    frame = labelled(store.observations([metric], breakdown=None))
    return frame[frame["derived"] == 0]


# ---------------------------------------------------------------------------------- A&E
def test_ae_loads_every_row_by_provider_and_type(loaded, real_data):
    store, outcomes = loaded("nhse_ae_attendances")
    csv = pd.read_csv(real_data / "nhse_ae_attendances.csv")
    (outcome,) = outcomes
    assert len(csv) == 12_765  # SOURCE: rows
    assert (outcome.rows_read, outcome.rows_quarantined, outcome.report.rows_filtered) == (12_765, 0, 0)
    assert outcome.values_loaded == outcome.values_new == 3 * 12_765  # attendances, breaches, admissions

    att = leaves(store, "attendances")
    months = pd.period_range("2016-04", "2019-03", freq="M").strftime("%Y-%m").tolist()
    assert sorted(att["label"].unique()) == months and len(months) == 36  # SOURCE: 36 months
    # providers are undeclared roots: 274 of them, 140 with a type 1 department (SOURCE)
    areas = store.areas_frame().set_index("code")
    providers = set(att["area"])
    assert len(providers) == 274 and providers == set(csv["org_code"])
    assert areas.loc[sorted(providers), "parent"].isna().all()
    assert not areas.loc[sorted(providers), "declared"].astype(bool).any()
    assert att.loc[att["breakdown"] == "type=1", "area"].nunique() == 140
    assert set(att["breakdown"]) == {"type=1", "type=2", "type=other"}

    # the whole and its breakdowns by type equal the CSV's sums, exactly (integer counts)
    csv["label"] = csv["period"].str[:7]
    for metric in ("attendances", "breaches", "admissions"):
        whole = series(store, metric)["value"]
        assert whole.to_dict() == csv.groupby("label")[metric].sum().astype(float).to_dict()
        for kind in ("1", "2", "other"):
            part = series(store, metric, breakdown=f"type={kind}")["value"]
            expected = csv[csv["type"] == kind].groupby("label")[metric].sum().astype(float)
            assert part.to_dict() == expected.to_dict(), (metric, kind)


def test_ae_four_hour_performance_matches_the_source_note(loaded, real_data):
    store, _ = loaded("nhse_ae_attendances")
    csv = pd.read_csv(real_data / "nhse_ae_attendances.csv")
    csv["label"] = csv["period"].str[:7]
    sums = csv.groupby("label")[["attendances", "breaches"]].sum()
    expected = 100 * (1 - sums["breaches"] / sums["attendances"])
    pct = series(store, "ae_4h_pct")
    assert (pct["derived"] == 3).all()  # a formula over the rolled-up counts, not a mean of providers
    assert len(pct) == 36
    for label, value in expected.items():
        assert pct.loc[label, "value"] == pytest.approx(value, rel=1e-12), label
    # SOURCE: "about 90% in summer ... about 84-85% in Jan-Mar 2018 and Jan-Feb 2019"
    for label in ("2016-06", "2016-07", "2016-08", "2017-06", "2017-07", "2017-08", "2018-06", "2018-07", "2018-08"):
        assert 89.0 <= pct.loc[label, "value"] <= 91.5, label
    for label in ("2018-01", "2018-02", "2018-03", "2019-01", "2019-02"):
        assert 84.0 <= pct.loc[label, "value"] < 85.5, label
    # by department type, and for one provider and type
    type1 = csv[csv["type"] == "1"].groupby("label")[["attendances", "breaches"]].sum()
    got = series(store, "ae_4h_pct", breakdown="type=1")["value"]
    assert got.to_dict() == pytest.approx((100 * (1 - type1["breaches"] / type1["attendances"])).to_dict(), rel=1e-12)
    row = csv[(csv["org_code"] == "RRK") & (csv["label"] == "2018-01") & (csv["type"] == "1")].iloc[0]
    one = series(store, "ae_4h_pct", area="RRK", breakdown="type=1")
    assert one.loc["2018-01", "value"] == pytest.approx(100 * (row["attendances"] - row["breaches"]) / row["attendances"])


# ------------------------------------------------------------------------ Universal Credit
def test_uc_rows_periods_suppression_and_provisional_month(loaded, real_data):
    store, outcomes = loaded("dwp_uc_households_la_monthly")
    csv = pd.read_csv(real_data / "dwp_uc_households_la_monthly.csv", dtype={"uc_households": float})
    assert len(csv) == 31_680 == 352 * 90  # SOURCE: 352 areas x 90 months
    sources = by_id(outcomes)
    for outcome in sources.values():
        assert outcome.rows_read == 31_680 and outcome.rows_quarantined == 0
    las, unknown, gb = (sources["dwp-uc-households-la"], sources["dwp-uc-households-unknown-la"],
                        sources["dwp-uc-households-gb"])
    assert (las.values_loaded, las.report.rows_filtered) == (350 * 90, 2 * 90)
    assert (unknown.values_loaded, gb.values_loaded) == (90, 90)

    # span 2015-08 to 2023-11; Jan-Oct 2023 are not in the export
    frame = leaves(store, "uc_households")
    labels = set(frame["label"])
    assert len(labels) == 90 and min(labels) == "2015-08" and max(labels) == "2023-11"
    assert {p for p in labels if p.startswith("2023")} == {"2023-11"} and "2022-12" in labels
    loads = store.loads_frame().set_index("source_id")
    assert (loads.loc["dwp-uc-households-la", "period_min"], loads.loc["dwp-uc-households-la", "period_max"]) == (
        "2015-08", "2023-11")

    # '..' (blank, suppressed = True) is a missing value with a status: not an error, not a zero
    suppressed = csv[csv["suppressed"] & csv["country"].isin(["England", "Scotland", "Wales"])]
    assert len(suppressed) == 406 and suppressed["uc_households"].isna().all()
    blank = frame[frame["status"] == "blank"]
    assert set(zip(blank["area"], blank["label"])) == set(zip(suppressed["la_code"], suppressed["month"]))
    assert blank["value"].isna().all()
    assert not (frame["value"] == 0).any()
    assert "bad-value" not in las.report.counts
    assert series(store, "uc_households").loc["2015-08", "status"] == "incomplete"  # 126 LAs suppressed

    # the provisional month is flagged provisional, leaves and roll-up alike, and nothing else is
    provisional = frame[frame["status"] == "p"]
    assert set(provisional["label"]) == {"2023-11"} and len(provisional) == 351  # 350 LAs + unknown
    assert series(store, "uc_households").loc["2023-11", "status"] == "p"
    assert series(store, "uc_households_gb_published", area=WHOLE_AREA).loc["2023-11", "status"] == "p"

    # a value spot check from the first CSV row
    assert frame.set_index(["area", "label"]).loc[("E06000001", "2015-08"), "value"] == 520
    assert store.areas_frame().set_index("code").loc["E06000001", "name"] == "Hartlepool"


def test_uc_rollup_against_the_published_gb_total(loaded, real_data):
    """The whole (350 LAs + unknown LA, rolled up by the store) against the published GB total
    (K03000001, "Total": the whole of its own metric): Stat-Xplore perturbs small counts, so they agree to
    within 0.1% in every month (largest gap 0.048%); the COVID-19 surge is as the SOURCE note gives it."""
    store, _ = loaded("dwp_uc_households_la_monthly")
    rollup = series(store, "uc_households")
    published = series(store, "uc_households_gb_published", area=WHOLE_AREA)
    assert list(rollup.index) == list(published.index) and len(rollup) == 90
    gap = (rollup["value"] / published["value"] - 1).abs()
    assert gap.max() < 1e-3
    # SOURCE: 2.70m (March 2020) -> 3.76m (April 2020) -> 4.24m (May 2020)
    assert published.loc[["2020-03", "2020-04", "2020-05"], "value"].tolist() == [2_699_668, 3_758_567, 4_244_571]
    for label, millions in (("2020-03", 2.70), ("2020-04", 3.76), ("2020-05", 4.24)):
        assert round(published.loc[label, "value"] / 1e6, 2) == millions
        assert round(rollup.loc[label, "value"] / 1e6, 2) == millions
    # the published total as a whole for its own metric is the same number
    assert series(store, "uc_households_gb_published").loc["2020-04", "value"] == 3_758_567


# ------------------------------------------------------------------------ asylum costs
def test_asylum_costs_financial_years_and_values(loaded, real_data):
    store, outcomes = loaded("homeoffice_asylum_costs_productivity_annual")
    (outcome,) = outcomes
    assert (outcome.rows_read, outcome.values_loaded, outcome.rows_quarantined) == (13, 13 * 7, 0)
    cost = series(store, "asylum_total_cost", area="K02000001")
    assert set(cost["freq"]) == {"FY"}
    assert list(cost.index) == [f"{y}-{(y + 1) % 100:02d}" for y in range(2010, 2023)]  # 2010/11 -> 2010-11
    assert cost["period"].tolist()[0] == "2010-04-01"  # a financial year starts in April
    # SOURCE: "cost went from £0.96bn to £3.97bn: WIP rose from 103k to 185k and unit cost from £9.3k to £20.9k"
    wip = series(store, "asylum_wip", area="K02000001")["value"]
    unit = series(store, "asylum_unit_cost", area="K02000001")["value"]
    assert round(cost.loc["2019-20", "value"] / 1e9, 2) == 0.96 and round(cost.loc["2022-23", "value"] / 1e9, 2) == 3.97
    assert round(wip["2019-20"] / 1e3) == 103 and round(wip["2022-23"] / 1e3) == 185
    assert round(unit["2019-20"] / 1e3, 1) == 9.3 and round(unit["2022-23"] / 1e3, 1) == 20.9
    # the WIP method changed in 2014/15: each series is blank (missing, status 'blank') where the other runs
    old = series(store, "asylum_wip_old_method", area="K02000001")
    assert wip[:"2013-14"].isna().all() and wip["2014-15":].notna().all()
    assert old.loc[:"2013-14", "value"].notna().all() and (old.loc["2014-15":, "status"] == "blank").all()
    # the formula metric is stored wherever both components exist, for the UK and the whole
    product = series(store, "asylum_cost_product", area="K02000001")["value"]
    both = wip.notna() & unit.notna()
    assert product.index.tolist() == wip.index[both].tolist()
    assert product.to_dict() == pytest.approx((wip * unit)[both].to_dict(), rel=1e-12)
    assert series(store, "asylum_cost_product")["value"].to_dict() == pytest.approx(product.to_dict(), rel=1e-12)


# ------------------------------------------------------------------------ police workforce
def test_police_forces_sum_to_the_published_total_at_every_date(loaded, real_data):
    store, outcomes = loaded("homeoffice_police_workforce_force")
    csv = pd.read_csv(real_data / "homeoffice_police_workforce_force.csv")
    assert len(csv) == 627  # SOURCE: rows
    sources = by_id(outcomes)
    forces, total = sources["ho-police-workforce-forces"], sources["ho-police-workforce-total43"]
    assert (forces.rows_read, forces.values_loaded, forces.report.rows_filtered) == (627, 43 * 11 * 5, 627 - 43 * 11)
    assert (total.values_loaded, total.report.rows_filtered) == (11 * 3, 627 - 11)
    officers = leaves(store, "officers_fte")
    assert officers["area"].nunique() == 43
    dates = sorted(officers["label"].unique())
    assert len(dates) == 11 and dates[0] == "2014-09" and dates[-1] == "2019-09"  # half-yearly snapshots
    assert {d[-2:] for d in dates} == {"03", "09"}

    for metric in ("officers_fte", "staff_fte", "pcso_fte"):
        rollup = series(store, metric)
        published = series(store, f"{metric}_total43", area=WHOLE_AREA)  # "Total 43 forces" is the whole
        assert list(rollup.index) == dates == list(published.index)
        for date in dates:  # SOURCE: "the 43 forces sum exactly to Total 43 forces at every date"
            assert abs(rollup.loc[date, "value"] - published.loc[date, "value"]) < 1e-6, (metric, date)
            assert round(rollup.loc[date, "value"], 2) == round(published.loc[date, "value"], 2)
    # Norfolk has had no PCSOs since 2018: blank there, so the roll-up says it is incomplete
    # although it still equals the published total (which counts Norfolk as none)
    pcso = series(store, "pcso_fte")
    assert (pcso.loc["2018-09":, "status"] == "incomplete").all() and (pcso.loc[:"2018-03", "status"] == "").all()
    norfolk = series(store, "pcso_fte", area="Norfolk")
    assert norfolk.loc["2018-09":, "value"].isna().all() and (norfolk.loc["2018-09":, "status"] == "blank").all()
    # spot check
    met = series(store, "officers_fte", area="Metropolitan Police")
    row = csv[(csv["area"] == "Metropolitan Police") & (csv["as_at"] == "2019-09-30")].iloc[0]
    assert met.loc["2019-09", "value"] == row["officers_fte"]
    assert round(met.loc["2019-09", "value"], 2) == 30_940.23


def test_police_published_total_can_follow_the_forces(tmp_path, real_data):
    store = Store(tmp_path / "store.db")
    manifest = MANIFESTS / "homeoffice_police_workforce_regions.toml"
    outcomes = [o for source in ("ho-police-workforce-forces", "ho-police-workforce-total43")
                for o in load_manifest_file(store, manifest, only=[source], allowed_dirs=ALLOWED)]
    assert [o.status for o in outcomes] == ["loaded", "loaded"]
    whole = series(store, "officers_fte")
    published = series(store, "officers_fte", area="Total 43 forces")
    assert whole["value"].to_dict() == pytest.approx(published["value"].to_dict(), rel=1e-12)
    assert (published["derived"] == 0).all()


# ------------------------------------------------------------------- DfE teacher workforce
def test_dfe_pupil_teacher_numbers(loaded, real_data):
    store, outcomes = loaded("dfe_twm_pupil_teacher_numbers")
    csv = pd.read_csv(real_data / "dfe_twm_pupil_teacher_numbers.csv")
    (outcome,) = outcomes
    assert (outcome.rows_read, outcome.values_loaded, outcome.rows_quarantined) == (36, 72, 0)
    ratio = series(store, "twm_pupil_teacher_ratio")
    # academic years 2010/11 .. 2027/28 are read as (financial) years 2010-11 .. 2027-28
    assert list(ratio.index) == [f"{y}-{(y + 1) % 100:02d}" for y in range(2010, 2028)]
    csv["label"] = csv["Academic year"].str.replace("/", "-")
    sums = csv.groupby("label")[["Pupil numbers", "Teacher numbers"]].sum()
    expected = sums["Pupil numbers"] / sums["Teacher numbers"]
    assert ratio["value"].to_dict() == pytest.approx(expected.to_dict(), rel=1e-12)
    primary = csv[csv["Phase"] == "Primary"].set_index("label")
    got = series(store, "twm_pupil_teacher_ratio", area="Primary")["value"]
    assert got.to_dict() == pytest.approx((primary["Pupil numbers"] / primary["Teacher numbers"]).to_dict(), rel=1e-12)


# --------------------------------------------------------------------- asylum flows
def test_asylum_flows_backlog_and_stock_flow_identity(loaded, real_data):
    store, outcomes = loaded("homeoffice_asylum_flows_nationality_quarterly")
    (outcome,) = outcomes
    assert (outcome.rows_read, outcome.rows_quarantined) == (14_165, 0)  # SOURCE: rows
    assert outcome.values_loaded == 14_165 * 11
    apps = leaves(store, "applications_main")
    assert apps["area"].nunique() == 218  # nationalities
    assert apps["breakdown"].nunique() == 16  # world regions
    backlog = series(store, "backlog_initial")
    quarters = sorted(set(apps["label"]), key=lambda q: (int(q[:4]), q[-1]))
    assert len(quarters) == 95 and quarters[0] == "2001-Q1" and quarters[-1] == "2024-Q3"
    # backlog columns only from 2010 Q2: before that the roll-up is missing, not zero
    assert backlog["value"].first_valid_index() == "2010-Q2"
    assert backlog.loc[:"2010-Q1", "value"].isna().all()
    # SOURCE: 40k (2019 Q4) -> 134k (2023 Q2) -> 86k (2024 Q1)
    assert backlog.loc[["2019-Q4", "2023-Q2", "2024-Q1"], "value"].tolist() == [40_032, 134_046, 86_460]

    # stock-flow identity backlog(t) ~ backlog(t-1) + applications(t) - outcomes(t), 2017 Q1 to 2024 Q3.
    # The SOURCE note says "within about 1-2% in every quarter"; in fact 26 of 31 quarters are within 2%
    # and all within 5% (2017 Q1: 4.5%, 2020 Q1: 3.5%, 2019 Q4: 2.8%).
    outflow = sum(series(store, m)["value"].reindex(backlog.index).fillna(0.0) for m in (
        "decisions_grant_protection", "decisions_grant_other_leave", "decisions_refused", "decisions_withdrawn",
        "decisions_administrative"))
    inflow = series(store, "applications_main")["value"].reindex(backlog.index)
    predicted = backlog["value"].shift(1) + inflow - outflow
    gap = (predicted / backlog["value"] - 1).loc["2017-Q1":"2024-Q3"].abs()
    assert len(gap) == 31 and gap.max() < 0.05 and (gap <= 0.02).mean() >= 0.8

    # the world-region breakdowns at the whole add up to the whole
    frame = labelled(store.observations(["applications_main"], areas=[WHOLE_AREA], breakdown=None))
    regions = frame[frame["breakdown"].str.startswith("world_region=")].groupby("label")["value"].sum()
    whole = frame[frame["breakdown"] == ""].set_index("label")["value"]
    assert regions.to_dict() == pytest.approx(whole.to_dict(), rel=1e-12)


# ----------------------------------------------------------- every manifest: reload and grade
@pytest.mark.parametrize("name", LOADABLE)
def test_reload_is_a_no_op_and_every_load_has_a_grade(loaded, real_data, name):
    store, outcomes = loaded(name)
    loads_before = len(store.loads_frame())
    again = load_manifest_file(store, MANIFESTS / f"{name}.toml", allowed_dirs=ALLOWED)
    assert [o.status for o in again] == ["unchanged"] * len(outcomes)
    assert all("unchanged" in o.message for o in again)
    assert [o.load_id for o in again] == [o.load_id for o in outcomes]
    assert len(store.loads_frame()) == loads_before
    loads = store.loads_frame().set_index("id")
    for outcome in outcomes:
        assert outcome.grade in ("A", "B", "C", "D")
        assert bool(outcome.grade_reasons) == (outcome.grade != "A")
        assert all(reason.split()[0] in RULES for reason in outcome.grade_reasons)
        # the worst reason sets the grade
        if outcome.grade_reasons:
            assert max(reason.split()[1].rstrip(":") for reason in outcome.grade_reasons) == outcome.grade
        assert loads.loc[outcome.load_id, "grade"] == outcome.grade
        assert json.loads(loads.loc[outcome.load_id, "grade_reasons"]) == list(outcome.grade_reasons)
        assert loads.loc[outcome.load_id, "status"] == "ok"


def test_reload_with_a_changed_mapping_is_not_a_no_op(tmp_path, real_data):
    manifest = MANIFESTS / "homeoffice_asylum_costs_productivity_annual.toml"
    text = manifest.read_text().replace("../../../shared/data/real/", str(real_data.resolve()) + "/")
    first = tmp_path / "costs.toml"
    first.write_text(text)
    store = Store(tmp_path / "store.db")
    assert [o.status for o in load_manifest_file(store, first, allowed_dirs=ALLOWED)] == ["loaded"]
    second = tmp_path / "costs_with_productivity.toml"
    second.write_text(text.replace('"Asylum Caseworking Staff" = "asylum_caseworkers" }',
                                   '"Asylum Caseworking Staff" = "asylum_caseworkers", '
                                   '"Productivity" = "asylum_productivity" }')
                      + '\n[[metric]]\ncode = "asylum_productivity"\nname = "Principal stages per caseworker '
                        'per month"\ndepartment = "HO"\nunit = "ratio"\naggregation = "mean"\n')
    assert load_manifest(second, allowed_dirs=ALLOWED).sources[0].value_columns[-1] == ("Productivity", "asylum_productivity")
    (outcome,) = load_manifest_file(store, second, allowed_dirs=ALLOWED)
    assert outcome.status == "loaded"
    assert series(store, "asylum_productivity", area="K02000001").loc["2022-23", "value"] == 5.0


def test_manifests_are_valid_and_point_at_the_shared_files(real_data):
    for path in sorted(MANIFESTS.glob("*.toml")):
        manifest = load_manifest(path, allowed_dirs=ALLOWED)
        for source in manifest.sources:
            assert source.path.startswith("../../../shared/data/real/"), (path.name, source.id)
            assert Path(source.location).exists(), (path.name, source.id)
