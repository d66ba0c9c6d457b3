"""Tests of the bundled demo data set (the loaders.demo package).

The demo is the ground truth for the explanation engine's tests, so these tests check
the files as a reader would see them (opening them with pandas, openpyxl and odfpy),
not the generator's internals: identities hold in the written numbers, the planted
contributions add up to changes in the files, and a plain least-squares fit recovers
the planted coefficients.
"""
from __future__ import annotations

import csv
import hashlib
import math
import re
import time
import tomllib
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from loaders import demo
from loaders.demo.areas import LOCAL_AUTHORITIES, REGIONS
from loaders.demo.simulate import _simulation

REAL_REGIONS = {
    "E12000001": "North East", "E12000002": "North West", "E12000003": "Yorkshire and The Humber",
    "E12000004": "East Midlands", "E12000005": "West Midlands", "E12000006": "East of England",
    "E12000007": "London", "E12000008": "South East", "E12000009": "South West",
}
ALLOWED_KEYS = {
    "department": {"code", "name"},
    "area": {"code", "name", "level", "parent"},
    "metric": {"code", "name", "department", "unit", "aggregation", "higher_is_better", "formula",
               "description", "shared", "deflator", "prices_of", "per_head"},
    "source": {"id", "department", "title", "path", "format", "sheet", "skip_rows", "layout",
               "period_column", "period_frequency", "area_column", "area", "area_name_column",
               "metric_column", "value_column", "metric", "value_columns", "dimension_columns",
               "provisional_column", "where", "series"},
    "model": {"metric", "drivers", "kind", "pseudo_drivers"},
    "event": {"period", "title", "description", "metrics", "areas"},
}
SHORTHAND = {"[c]", "[x]", "[z]", "[u]", "[low]", "..", "-"}
LAST3 = demo.MONTHS[-3:]


# --------------------------------------------------------------------------------------
# Fixtures: write once, read each file once
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def written(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoFiles:
    return demo.write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def manifest(written: demo.DemoFiles) -> dict:
    with written.manifest.open("rb") as handle:
        return tomllib.load(handle)


def _read_csv(path: Path) -> pd.DataFrame:
    """Read as text, as a loader must, so shorthand and bad cells stay visible."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def dwp(written: demo.DemoFiles) -> pd.DataFrame:
    return _read_csv(written.directory / demo.DWP_FILE)


@pytest.fixture(scope="session")
def ons(written: demo.DemoFiles) -> pd.DataFrame:
    return _read_csv(written.directory / demo.ONS_FILE)


@pytest.fixture(scope="session")
def ae_rows(written: demo.DemoFiles) -> list[tuple]:
    """All rows of the A&E sheet as openpyxl sees them (row 1 = spreadsheet row 1)."""
    book = openpyxl.load_workbook(written.directory / demo.AE_FILE, read_only=True)
    try:
        return [tuple(row) for row in book["Table 1"].iter_rows(values_only=True)]
    finally:
        book.close()


def _number(cell: object) -> float:
    """A cell as a number the way the loaders are told to read it; NaN for shorthand."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    text = re.sub(r"\[note \d+\]", "", str(cell)).replace(",", "").replace("£", "").strip()
    if text in SHORTHAND:
        return math.nan
    return float(text)


def _caseload_panel(dwp: pd.DataFrame, ons: pd.DataFrame) -> pd.DataFrame:
    """(area, month) rows with caseload and its drivers, from the files."""
    case = dwp[(dwp.measure == "uc_caseload") & (dwp.la_code != "") & (dwp.month != "Month 13")]
    case = case.assign(uc_caseload=case.value.astype(float))[["month", "la_code", "uc_caseload"]]
    wide = ons.pivot(index=["date", "geography_code"], columns="variable", values="value").reset_index()
    wide["month"] = wide.date.str[:7]
    wide = wide.rename(columns={"geography_code": "la_code"})
    for name in ("population_16_64", "claimant_count", "rainfall_mm"):
        wide[name] = pd.to_numeric(wide[name], errors="coerce")
    return case.merge(wide[["month", "la_code", "population_16_64", "claimant_count", "rainfall_mm"]],
                      on=["month", "la_code"], how="inner")


# --------------------------------------------------------------------------------------
# Determinism, speed
# --------------------------------------------------------------------------------------
def _digests(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = demo.write_demo(tmp_path / "a")
    _simulation.cache_clear()  # a fresh simulation, not the cached arrays
    second = demo.write_demo(tmp_path / "b")
    assert _digests(first.directory) == _digests(second.directory)
    assert len(_digests(first.directory)) == 10  # eight data files, manifest, ground truth


def test_another_seed_changes_the_numbers_not_the_structure(tmp_path: Path, written: demo.DemoFiles) -> None:
    other = demo.write_demo(tmp_path / "other", seed=7)
    assert (other.directory / demo.DWP_FILE).read_bytes() != (written.directory / demo.DWP_FILE).read_bytes()
    assert other.manifest.read_bytes() == written.manifest.read_bytes()
    assert demo.planted_contributions("uc_caseload", period_from="2019-04", period_to="2021-04", seed=7) != \
        demo.planted_contributions("uc_caseload", period_from="2019-04", period_to="2021-04")


def test_generation_is_quick(tmp_path: Path) -> None:
    _simulation.cache_clear()
    started = time.perf_counter()
    demo.write_demo(tmp_path)
    elapsed = time.perf_counter() - started
    # About 1-2 s on an idle machine; generous because test machines are shared.
    assert elapsed < 15.0, f"writing the demo took {elapsed:.1f} s"


def test_demo_files_lists_every_data_file(written: demo.DemoFiles) -> None:
    assert {p.suffix for p in written.files} == {".csv", ".xlsx", ".ods"}
    assert all(p.is_file() and p.parent == written.directory for p in written.files)
    assert written.revised_file == written.directory / demo.DWP_FILE
    assert written.manifest.name == "manifest.toml"
    assert written.ground_truth.is_file()


# --------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------
def test_manifest_uses_only_known_keys(manifest: dict) -> None:
    assert set(manifest) <= set(ALLOWED_KEYS)
    for table, entries in manifest.items():
        for entry in entries:
            assert set(entry) <= ALLOWED_KEYS[table], (table, set(entry) - ALLOWED_KEYS[table])


def test_manifest_is_internally_consistent(manifest: dict, written: demo.DemoFiles) -> None:
    departments = {d["code"] for d in manifest["department"]}
    assert {"DWP", "DHSC", "DfE", "HO", "ONS"} <= departments
    metrics = {m["code"]: m for m in manifest["metric"]}
    for m in metrics.values():
        assert m["department"] in departments
        assert m["aggregation"] in {"sum", "mean", "formula"}
        for component in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.get("formula", "")):
            assert component in metrics, (m["code"], component)
    assert metrics["uc_spend"]["formula"] == "uc_caseload * uc_avg_award / 1000000"
    assert metrics["uc_spend"]["aggregation"] == "sum" and metrics["uc_spend"]["higher_is_better"] is False
    assert metrics["ae_4h_pct"]["formula"] == "100 * ae_within_4h / ae_attendances"
    assert metrics["ae_4h_pct"]["aggregation"] == "formula" and metrics["ae_4h_pct"]["higher_is_better"] is True
    assert metrics["unfilled_places_pct"]["aggregation"] == "formula"
    # ONS statistics are the drivers every department's models use: shared with all, and nothing else is
    assert {code for code, m in metrics.items() if m.get("shared")} == {
        code for code, m in metrics.items() if m["department"] == "ONS"}
    areas = {a["code"] for a in manifest["area"]}
    for a in manifest["area"]:
        assert a.get("parent") is None or a["parent"] in areas
    for source in manifest["source"]:
        assert source["department"] in departments
        assert (written.directory / source["path"]).is_file()
        declared = set(source.get("value_columns", {}).values()) | {source.get("metric")} - {None}
        assert declared <= set(metrics)
    for model in manifest["model"]:
        assert model["metric"] in metrics and set(model["drivers"]) <= set(metrics)
    for event in manifest["event"]:
        assert re.fullmatch(r"\d{4}-\d{2}", event["period"]) and set(event["metrics"]) <= set(metrics)
    by_metric = {m["metric"]: m for m in manifest["model"]}
    assert by_metric["uc_caseload"]["kind"] == "linear"
    assert set(by_metric["uc_caseload"]["drivers"]) == {"population_16_64", "claimant_count", "rainfall_mm"}
    assert by_metric["ae_attendances"]["kind"] == "gradient_boosting"
    assert {"mean_temperature", "flu_index", "rainfall_mm"} <= set(by_metric["ae_attendances"]["drivers"])
    assert by_metric["ae_attendances"]["pseudo_drivers"] == ["seasonality"]


def test_areas_are_the_real_england_hierarchy(manifest: dict) -> None:
    areas = manifest["area"]
    england = [a for a in areas if a["code"] == "E92000001"]
    assert england == [{"code": "E92000001", "name": "England", "level": "country"}]
    regions = {a["code"]: a for a in areas if a["level"] == "region"}
    assert {c: a["name"] for c, a in regions.items()} == REAL_REGIONS
    assert all(a["parent"] == "E92000001" for a in regions.values())
    las = [a for a in areas if a["level"] == "local_authority"]
    assert len(las) >= 100 and len({a["code"] for a in las}) == len(las)
    assert all(re.fullmatch(r"E0[689]\d{6}|E10\d{6}", a["code"]) and a["parent"] in regions for a in las)
    named = {a["code"]: a["name"] for a in las}
    assert named["E06000001"] == "Hartlepool" and named["E08000025"] == "Birmingham"
    assert named["E09000001"] == "City of London" and named["E10000016"] == "Kent"
    assert sum(1 for a in las if a["parent"] == "E12000007") == 33  # the London boroughs
    assert len(REGIONS) == 9 and len(LOCAL_AUTHORITIES) == len(las)


# --------------------------------------------------------------------------------------
# Files and layouts
# --------------------------------------------------------------------------------------
def test_every_source_names_columns_that_exist(manifest: dict, written: demo.DemoFiles,
                                               ae_rows: list[tuple]) -> None:
    headers = {
        demo.DWP_FILE: list(_read_csv(written.directory / demo.DWP_FILE).columns),
        demo.ONS_FILE: list(_read_csv(written.directory / demo.ONS_FILE).columns),
        demo.DFE_FILE: list(_read_csv(written.directory / demo.DFE_FILE).columns),
        demo.HO_FILE: list(_read_csv(written.directory / demo.HO_FILE).columns),
        demo.FORECAST_FILE: list(_read_csv(written.directory / demo.FORECAST_FILE).columns),
        demo.DEFLATOR_FILE: list(_read_csv(written.directory / demo.DEFLATOR_FILE).columns),
        demo.AE_FILE: list(ae_rows[3]),
        demo.FY_FILE: list(pd.read_excel(written.directory / demo.FY_FILE, sheet_name="Table_1",
                                         header=None, engine="odf").iloc[2]),
    }
    for source in manifest["source"]:
        # Readers drop footnote markers from headers: "Attendances within 4 hours [note 1]".
        header = [re.sub(r"\s*\[note \d+\]", "", str(h)).strip() for h in headers[source["path"]]]
        named = [source.get(k) for k in ("period_column", "area_column", "area_name_column",
                                         "metric_column", "value_column", "provisional_column")]
        named += list(source.get("value_columns", {})) + source.get("dimension_columns", [])
        named += list(source.get("where", {}))
        for column in filter(None, named):
            assert column in header, (source["id"], column)


def test_long_csv_sources(dwp: pd.DataFrame, ons: pd.DataFrame) -> None:
    assert set(dwp.measure) == {"uc_caseload", "uc_avg_award", "uc_spend"}
    months = sorted(set(dwp.month) - {"Month 13"})
    assert months == list(demo.MONTHS) and len(months) >= 96
    assert set(dwp.provisional) == {"", "Y"}
    assert set(dwp.loc[dwp.provisional == "Y", "month"]) == set(LAST3)
    assert set(ons.variable) == {"population", "population_16_64", "claimant_count", "unemployment_rate",
                                 "rainfall_mm", "mean_temperature", "flu_index"}
    assert ons.date.str.fullmatch(r"\d{4}-\d{2}-01").all()  # ISO dates, read with period_frequency month
    assert ons.geography_code.nunique() >= 100


def test_wide_csv_sources(written: demo.DemoFiles) -> None:
    dfe = _read_csv(written.directory / demo.DFE_FILE)
    assert set(dfe.time_period) == {f"{y}/{(y + 1) % 100:02d}" for y in range(2016, 2026)}
    assert set(dfe.geographic_level) == {"National", "Regional", "Local authority"}
    la = dfe[dfe.geographic_level == "Local authority"]
    assert la.new_la_code.nunique() >= 100
    ho = _read_csv(written.directory / demo.HO_FILE)
    assert ho.Month.iloc[0] == "January 2017" and ho.Month.iloc[-1] == "September 2026"
    assert len(ho) == len(demo.MONTHS)
    assert ho.iloc[:, 1:].apply(lambda c: c.str.contains(",")).any().any()  # thousands separators


def test_xlsx_has_cover_title_rows_notes_and_shorthand(written: demo.DemoFiles, ae_rows: list[tuple]) -> None:
    book = openpyxl.load_workbook(written.directory / demo.AE_FILE, read_only=True)
    assert book.sheetnames == ["Cover", "Table 1"]
    book.close()
    assert all(len([c for c in row if c is not None]) == 1 for row in ae_rows[:3])  # title and notes
    header = ae_rows[3]
    assert header == ("Month", "LA code", "LA name", "dept_type", "Attendances",
                      "Attendances within 4 hours [note 1]", "Emergency admissions")
    data = ae_rows[4:]
    assert {r[3] for r in data} == {"Type 1", "Type 2", "Type 3"}
    assert all(hasattr(r[0], "year") for r in data)  # real Excel dates
    assert {(r[0].year, r[0].month) for r in data} == {(int(m[:4]), int(m[5:])) for m in demo.MONTHS}
    cells = [c for r in data for c in r[4:]]
    assert cells.count("[c]") >= 1 and cells.count("[x]") >= 1
    assert any(isinstance(c, str) and c.endswith("[note 2]") for c in cells)


def test_ods_is_wide_by_period_with_title_notes_and_x(written: demo.DemoFiles) -> None:
    table = pd.read_excel(written.directory / demo.FY_FILE, sheet_name="Table_1", header=None, engine="odf")
    assert table.iloc[0, 0].startswith("Table 1") and table.iloc[1, 0].startswith("Notes")
    header = list(table.iloc[2])
    assert header[:3] == ["Area code", "Area name", "Benefit"]
    assert header[3:] == [f"{y}-{(y + 1) % 100:02d}" for y in range(2015, 2026)]
    uc = table[table[2] == "Universal Credit"].iloc[0]
    assert uc[3] == "[x]"
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in uc[4:])
    assert (table[3] == "[z]").sum() == 0 and (table[13] == "[z]").sum() == 1


# --------------------------------------------------------------------------------------
# Identities in the written numbers
# --------------------------------------------------------------------------------------
def test_spend_is_caseload_times_award_in_every_row(dwp: pd.DataFrame) -> None:
    clean = dwp[(dwp.la_code != "") & (dwp.month != "Month 13")]
    wide = clean.pivot(index=["month", "la_code"], columns="measure", values="value").astype(float)
    assert len(wide) == len(demo.MONTHS) * len(LOCAL_AUTHORITIES)
    expected = wide.uc_caseload * wide.uc_avg_award / 1e6
    assert np.allclose(wide.uc_spend, expected, rtol=1e-9, atol=0)


def test_asylum_backlog_is_stock_plus_flows(written: demo.DemoFiles) -> None:
    ho = _read_csv(written.directory / demo.HO_FILE)
    values = ho.iloc[:, 1:].apply(lambda c: c.str.replace(",", "").astype(int))
    apps, decisions, backlog = (values.iloc[:, k].to_numpy() for k in range(3))
    assert (backlog[1:] == backlog[:-1] + apps[1:] - decisions[1:]).all()
    assert backlog[0] == demo.ASYLUM_BACKLOG_START + apps[0] - decisions[0]
    assert backlog.min() > 0 and backlog.max() > 120_000  # the 2022 peak


def test_four_hour_percentage_is_computable(ae_rows: list[tuple]) -> None:
    frame = pd.DataFrame(ae_rows[4:], columns=ae_rows[3])
    attendances = frame["Attendances"].map(_number)
    within = frame["Attendances within 4 hours [note 1]"].map(
        lambda c: _number(c) if c != "n/a?" else math.nan)  # n/a? is an expected bad cell
    ok = within.notna()
    assert (~ok).sum() == 4  # three [x] cells and one bad cell
    assert ok.mean() > 0.999
    assert (within[ok] <= attendances[ok]).all() and (within[ok] >= 0).all()
    month = frame["Month"].map(lambda d: f"{d.year}-{d.month:02d}")
    national = 100 * within[ok].groupby(month[ok]).sum() / attendances[ok].groupby(month[ok]).sum()
    assert national.between(60, 97).all()
    assert national["2017-01"] > national["2022-12"] + 10  # the long decline in performance


def test_financial_year_spend_matches_the_monthly_file(dwp: pd.DataFrame, written: demo.DemoFiles) -> None:
    spend = dwp[(dwp.measure == "uc_spend") & (dwp.la_code != "") & (dwp.month != "Month 13")]
    monthly = spend.assign(v=spend.value.astype(float)).groupby("month").v.sum()
    table = pd.read_excel(written.directory / demo.FY_FILE, sheet_name="Table_1", header=2, engine="odf")
    uc = table[table.Benefit == "Universal Credit"].iloc[0]
    for fy in range(2017, 2026):
        months = [f"{fy}-{m:02d}" for m in range(4, 13)] + [f"{fy + 1}-{m:02d}" for m in range(1, 4)]
        assert uc[f"{fy}-{(fy + 1) % 100:02d}"] == pytest.approx(monthly[months].sum() / 1000, abs=6e-4)


def test_dfe_totals_and_unfilled_places(written: demo.DemoFiles) -> None:
    dfe = _read_csv(written.directory / demo.DFE_FILE)
    la = dfe[dfe.geographic_level == "Local authority"]
    national = dfe[dfe.geographic_level == "National"].set_index("time_period")
    pupils = la.assign(p=la["Pupils on roll"].astype(int)).groupby("time_period").p.sum()
    assert (pupils == national["Pupils on roll"].astype(int)).all()
    capacity = pd.to_numeric(la["School capacity"], errors="coerce")
    assert capacity.isna().sum() == 1  # the one bad cell
    unfilled = 100 * (capacity - la["Pupils on roll"].astype(int)) / capacity
    assert unfilled.dropna().between(0, 40).all()


# --------------------------------------------------------------------------------------
# Planted truth
# --------------------------------------------------------------------------------------
WINDOWS = (("2019-04", "2021-04"), ("2022-09", "2026-09"))
AE_WINDOWS = (("2021-12", "2022-12"), ("2018-02", "2019-02"))


def _file_change_caseload(dwp: pd.DataFrame, a: str, b: str, area: str | None) -> float:
    rows = dwp[(dwp.measure == "uc_caseload") & (dwp.la_code != "")]
    if area is not None:
        rows = rows[rows.la_code == area]
    totals = rows.assign(v=rows.value.astype(float)).groupby("month").v.sum()
    return float(totals[b] - totals[a])


def _file_change_ae(ae_rows: list[tuple], a: str, b: str, area: str | None) -> float:
    total = {a: 0.0, b: 0.0}
    for row in ae_rows[4:]:
        month = f"{row[0].year}-{row[0].month:02d}"
        if month in total and (area is None or row[1] == area):
            total[month] += _number(row[4])
    return total[b] - total[a]


@pytest.mark.parametrize("area", [None, "E08000025", "E06000001"])
@pytest.mark.parametrize("window", WINDOWS)
def test_caseload_contributions_add_up(area: str | None, window: tuple[str, str], dwp: pd.DataFrame) -> None:
    a, b = window
    parts = demo.planted_contributions("uc_caseload", period_from=a, period_to=b, area=area)
    assert set(parts) == {"population_16_64", "claimant_count", "rainfall_mm", "seasonality", "event", "noise"}
    assert parts["rainfall_mm"] == 0.0
    clean = demo.demo_series("uc_caseload", area=area, noise_free=True)
    noise_free_change = clean[b] - clean[a]
    assert sum(v for k, v in parts.items() if k != "noise") == pytest.approx(noise_free_change, rel=1e-9)
    change = _file_change_caseload(dwp, a, b, area)
    assert sum(parts.values()) == pytest.approx(change, rel=1e-9, abs=1e-6)
    assert abs(parts["noise"]) < (0.01 if area is None else 0.06) * abs(change)


@pytest.mark.parametrize("area", [None, "E10000016"])
@pytest.mark.parametrize("window", AE_WINDOWS)
def test_attendance_contributions_add_up(area: str | None, window: tuple[str, str],
                                         ae_rows: list[tuple]) -> None:
    a, b = window
    parts = demo.planted_contributions("ae_attendances", period_from=a, period_to=b, area=area)
    assert set(parts) == {"population", "mean_temperature", "flu_index", "rainfall_mm", "seasonality",
                          "event", "noise"}
    assert parts["rainfall_mm"] == 0.0 and parts["event"] == 0.0
    assert parts["seasonality"] == pytest.approx(0.0, abs=1e-6)  # same calendar month
    clean = demo.demo_series("ae_attendances", area=area, noise_free=True)
    assert sum(v for k, v in parts.items() if k != "noise") == pytest.approx(clean[b] - clean[a], rel=1e-9)
    change = _file_change_ae(ae_rows, a, b, area)
    assert sum(parts.values()) == pytest.approx(change, rel=1e-9, abs=1e-6)
    assert abs(parts["noise"]) < (0.02 if area is None else 0.08) * abs(change)
    assert abs(parts["mean_temperature"]) > 0.2 * abs(change)  # the non-linear driver matters


def test_award_event_is_the_whole_taper_cut_change() -> None:
    parts = demo.planted_contributions("uc_avg_award", period_from="2021-11", period_to="2021-12",
                                       area="E08000025")
    assert parts["event"] == pytest.approx(demo.TAPER_CUT_GAIN)
    assert parts["trend"] == 0.0
    with pytest.raises(ValueError, match="averaged"):
        demo.planted_contributions("uc_avg_award", period_from="2021-11", period_to="2021-12")


def test_contributions_are_antisymmetric() -> None:
    forward = demo.planted_contributions("ae_attendances", period_from="2021-12", period_to="2022-12")
    backward = demo.planted_contributions("ae_attendances", period_from="2022-12", period_to="2021-12")
    for key in forward:
        assert backward[key] == pytest.approx(-forward[key], rel=1e-9, abs=1e-6)


def test_planted_contributions_rejects_unknown_input() -> None:
    with pytest.raises(ValueError, match="not a month"):
        demo.planted_contributions("uc_caseload", period_from="2016-12", period_to="2020-01")
    with pytest.raises(ValueError, match="not an area"):
        demo.planted_contributions("uc_caseload", period_from="2019-01", period_to="2020-01", area="X1")
    with pytest.raises(ValueError, match="no planted"):
        demo.planted_contributions("pupils", period_from="2019-01", period_to="2020-01")


def test_least_squares_recovers_the_caseload_coefficients(dwp: pd.DataFrame, ons: pd.DataFrame) -> None:
    panel = _caseload_panel(dwp, ons).dropna()
    assert len(panel) > 100 * 96
    x = np.column_stack([panel.population_16_64, panel.claimant_count, panel.rainfall_mm, np.ones(len(panel))])
    beta, *_ = np.linalg.lstsq(x, panel.uc_caseload.to_numpy(), rcond=None)
    assert beta[0] == pytest.approx(demo.BETA_POPULATION_16_64, rel=0.05)
    assert beta[1] == pytest.approx(demo.BETA_CLAIMANT_COUNT, rel=0.05)
    # Rainfall varies as much as the real drivers, yet explains nothing.
    assert panel.rainfall_mm.std() / panel.rainfall_mm.mean() > 0.3
    assert abs(beta[2]) * panel.rainfall_mm.std() < 1e-3 * panel.uc_caseload.std()
    assert abs(beta[3]) < 1e-3 * panel.uc_caseload.mean()


def test_recommended_windows_match_the_planted_contributions() -> None:
    assert len(demo.RECOMMENDED_WINDOWS) >= 6
    for window in demo.RECOMMENDED_WINDOWS:
        parts = demo.planted_contributions(window.metric, period_from=window.period_from,
                                           period_to=window.period_to, area=window.area)
        change = sum(parts.values())
        for driver, share in window.shares:
            assert parts[driver] / change == pytest.approx(share, abs=0.006), (window, driver)
        assert parts.get("rainfall_mm", 0.0) == 0.0


def test_ground_truth_table(written: demo.DemoFiles, manifest: dict) -> None:
    truth = demo.ground_truth()
    assert list(truth.columns[:5]) == ["metric", "driver", "relationship", "parameter", "description"] or \
        {"metric", "driver", "relationship", "parameter", "description"} <= set(truth.columns)
    assert set(truth.relationship) <= {"linear", "nonlinear", "none", "formula", "event"}
    on_disk = pd.read_csv(written.ground_truth, dtype=str, keep_default_na=False)
    assert list(on_disk.columns) == list(truth.columns) and len(on_disk) == len(truth)
    for column in ("metric", "driver", "relationship", "period", "description"):
        assert on_disk[column].tolist() == truth[column].tolist()
    parameter = np.array([float(v) if v else math.nan for v in on_disk.parameter])
    assert np.allclose(parameter, truth.parameter, equal_nan=True)
    pairs = {(r.metric, r.driver): r for r in truth.itertuples()}
    for model in manifest["model"]:
        for driver in model["drivers"]:
            assert (model["metric"], driver) in pairs, (model["metric"], driver)
    assert pairs[("uc_caseload", "rainfall_mm")].relationship == "none"
    assert pairs[("uc_caseload", "claimant_count")].parameter == demo.BETA_CLAIMANT_COUNT
    assert pairs[("ae_attendances", "mean_temperature")].relationship == "nonlinear"
    event_periods = {e["period"] for e in manifest["event"]}
    assert set(truth.loc[truth.relationship == "event", "period"]) <= event_periods


def test_demo_series_agrees_with_the_files(ons: pd.DataFrame) -> None:
    rows = ons[(ons.geography_code == "E08000025") & (ons.variable == "claimant_count")]
    from_file = rows.value.astype(float).to_numpy()
    assert (demo.demo_series("claimant_count", area="E08000025").to_numpy() == from_file).all()
    england = demo.demo_series("uc_caseload")
    assert 1.5e6 < england.min() and england.max() < 7e6  # realistic magnitudes for England


# --------------------------------------------------------------------------------------
# Second vintage
# --------------------------------------------------------------------------------------
def test_revision_changes_only_the_last_three_months(tmp_path: Path) -> None:
    files = demo.write_demo(tmp_path)
    before = _digests(tmp_path)
    old_lines = files.revised_file.read_text(encoding="utf-8").splitlines()
    path = demo.write_revision(tmp_path)
    assert path == files.revised_file
    after = _digests(tmp_path)
    assert {k for k in before if before[k] != after[k]} == {demo.DWP_FILE}
    new_lines = path.read_text(encoding="utf-8").splitlines()
    assert len(new_lines) == len(old_lines)
    changed = [(old, new) for old, new in zip(old_lines, new_lines) if old != new]
    assert changed
    old_rows = list(csv.reader([old for old, _ in changed]))
    new_rows = list(csv.reader([new for _, new in changed]))
    assert {r[0] for r in old_rows + new_rows} <= set(LAST3)
    assert {r[3] for r in new_rows} == {"uc_caseload", "uc_spend"}
    n_areas = len(LOCAL_AUTHORITIES)
    assert sum(1 for r in new_rows if r[3] == "uc_caseload") == 3 * n_areas  # every area revised
    pairs = [(float(o[4]), float(n[4])) for o, n in zip(old_rows, new_rows) if n[3] == "uc_caseload"]
    assert all(new != old for old, new in pairs)
    big = [new / old for old, new in pairs if old > 1000]  # rounding dominates tiny areas
    assert big and all(0.969 <= r <= 1.031 and abs(r - 1) >= 0.009 for r in big)  # 1-3% up or down
    assert any(r > 1 for r in big) and any(r < 1 for r in big)
    revised = _read_csv(path)
    wide = revised[revised.month.isin(LAST3)].pivot(index=["month", "la_code"], columns="measure",
                                                     values="value").astype(float)
    assert np.allclose(wide.uc_spend, wide.uc_caseload * wide.uc_avg_award / 1e6, rtol=1e-9, atol=0)
    demo.write_revision(tmp_path)
    assert _digests(tmp_path) == after  # the revision itself is deterministic


# --------------------------------------------------------------------------------------
# Bad rows
# --------------------------------------------------------------------------------------
def _csv_row(path: Path, number: int) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        for k, row in enumerate(csv.reader(handle), start=1):
            if k == number:
                return row
    raise AssertionError(f"{path.name} has no row {number}")


def _is_bad(cell: object, reason: str) -> bool:
    text = "" if cell is None else str(cell)
    return {"period": text == "Month 13", "area": text == "", "value": text in {"n/a?", "NaN"},
            "formula": text.startswith("=HYPERLINK(")}[reason]


def test_expected_quarantine_rows_hold_the_bad_cells(written: demo.DemoFiles, ae_rows: list[tuple]) -> None:
    assert 5 <= len(demo.EXPECTED_QUARANTINE) <= 10
    assert {reason for _f, _r, reason in demo.EXPECTED_QUARANTINE} == {"period", "area", "value", "formula"}
    for name, number, reason in demo.EXPECTED_QUARANTINE:
        if name.endswith(".xlsx"):
            row = list(ae_rows[number - 1])
        else:
            row = _csv_row(written.directory / name, number)
        column = {"period": 0, "area": 1}.get(reason)
        cells = [row[column]] if column is not None else row
        assert any(_is_bad(c, reason) for c in cells), (name, number, reason, row)


def test_no_other_bad_cells(written: demo.DemoFiles, ae_rows: list[tuple]) -> None:
    expected = {(n, r) for n, r, _ in demo.EXPECTED_QUARANTINE}
    for name in (demo.DWP_FILE, demo.ONS_FILE, demo.DFE_FILE, demo.HO_FILE):
        with (written.directory / name).open(encoding="utf-8", newline="") as handle:
            for k, row in enumerate(csv.reader(handle), start=1):
                if k == 1 or (name, k) in expected:
                    continue
                assert not any(c in {"n/a?", "NaN", "Month 13"} or c.startswith("=") for c in row), (name, k)
                if name == demo.DWP_FILE:
                    assert row[1] != ""
                if name == demo.DFE_FILE and row[2] == "Local authority":
                    assert row[7] != "" and row[10].isdigit()
    for k, row in enumerate(ae_rows[4:], start=5):
        if (demo.AE_FILE, k) in expected:
            continue
        for cell in row[4:]:
            assert isinstance(cell, int) or cell in {"[c]", "[x]"} or str(cell).endswith("[note 2]"), (k, row)
