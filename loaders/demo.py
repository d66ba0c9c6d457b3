"""The bundled demo data set: real files, a manifest, and the truth planted in them.

Why this exists: an explanation engine can only be tested against movements whose causes
are known. This module writes a deterministic, realistic multi-department data set (CSV,
XLSX and ODS files as government publishes them, with title rows, notes, shorthand and a
few bad rows) plus ``manifest.toml`` and ``ground_truth.csv``, and it can say exactly how
much of any movement each planted driver caused (:func:`planted_contributions`).

Everything is synthetic. Areas are the real England hierarchy: England, the nine regions
and the 153 upper-tier local authorities (real GSS codes, 2023 boundaries; see
:mod:`loaders.demo_areas`). Monthly series run from 2017-01 to 2026-09 (117 months;
"today" is November 2026). The same seed gives byte-identical files.

Planted relationships (i = local authority, t = month; parameters are module constants)
======================================================================================

``uc_caseload`` (DWP, households): linear in two stored drivers, no area effects::

    uc_caseload = 0.045 * population_16_64 + 1.30 * claimant_count + noise

noise is N(0, 0.3% of the level) then rounding to whole households. ``rainfall_mm``
varies as much as the other drivers (and with the seasons) and has no effect.
``unemployment_rate`` is context only: correlated with the claimant count, not used.
The COVID jump (2020-04) and the managed-migration rise (2024 onwards) enter only
through ``claimant_count``.

``uc_avg_award`` (£ per month): ``base_i * uprating(t) + events(t) + noise`` with April
upratings (0% 2017-2019, then 1.7%, 0.5%, 3.1%, 10.1%, 6.7%, 1.7%, 3.8%), the £20 a
week uplift (+£86.67, 2020-04 to 2021-09) and the taper cut to 55% (+£42.00 from
2021-12); noise N(0, 0.4%) then rounding to pence. ``uc_spend`` (£m) =
``uc_caseload * uc_avg_award / 1000000`` exactly in every row (written to 8 decimals).
``dwp_fy_spend`` (£bn) = the sum over April-March of England's ``uc_spend`` / 1000,
rounded to 3 decimals, from 2017-18 (2015-16 is ``[x]``; 2016-17 is an estimate).

``ae_attendances`` (DHSC, all types): population scale times additive rates::

    ae_attendances = population / 1000 * (36 + s(month) + 0.12 * max(0, 8 - mean_temperature)**2
                                          + 0.05 * flu_index + covid(t)) * (1 + N(0, 1%))

then split into Type 1/2/3 and rounded per type. s is a fixed month-of-year profile
(seasonality); covid(t) is the 2020-03 to 2021-05 lockdown dip (event); rainfall has no
effect. Because population multiplies the bracket, the driver model needs ``population``
as a driver (a panel of areas hundreds of times apart in size cannot be explained by weather
alone); the manifest's ``[[model]]`` includes it. Contributions are the exact Shapley
split of that product: population gets ``Δpop/1000 * mean(bracket)``, every bracket term
gets ``mean(pop)/1000 * Δterm``, as baseline SHAP of a perfect model would.

``ae_within_4h``: the share seen within 4 hours falls with pressure
(``bracket / 36``): Type 1 ``base(t) + LA offset - 35 * (pressure - 1)`` percent (base
82% in 2017 falling to 60% in 2023, recovering to 64%), Type 2 about 96%, Type 3 about
98.5%. ``ae_4h_pct = 100 * ae_within_4h / ae_attendances`` is derived at load.
``ae_admissions`` = Type 1 attendances * (0.27 + 0.006 * max(0, 8 - temperature)), plus
6% of Type 2 attendances (counts of 1 to 4 are suppressed as ``[c]``); Type 3 admits none.

DfE: ``unfilled_places_pct = 100 * (school_capacity - pupils) / school_capacity``;
London rolls fall by about 1.2% a year from 2019/20 while capacity is cut only slowly,
so London's unfilled share rises (a pupils effect, not a capacity effect).

Home Office: ``asylum_backlog(t) = asylum_backlog(t-1) + asylum_applications(t) -
asylum_decisions(t)`` exactly (end-2016 stock 26,000); the legacy-backlog drive adds up
to 12,000 decisions a month in 2023 (event 2022-12).

Windows where the planted drivers clearly dominate the noise (default seed; shares of
the change in the written data; see ``RECOMMENDED_WINDOWS``, checked by the tests)
=========================================================================================

==============  =============  ===============  ==================================================
metric          area           window           planted shares of the change (rainfall 0 always)
==============  =============  ===============  ==================================================
uc_caseload     whole          2019-04→2021-04  claimant_count 0.99, population_16_64 0.01
uc_caseload     E08000025      2019-04→2021-04  claimant_count 0.99, population_16_64 0.01
uc_caseload     whole          2022-09→2026-09  claimant_count 0.87, population_16_64 0.13
uc_caseload     E10000016      2022-09→2026-09  claimant_count 0.90, population_16_64 0.13, noise -0.03
ae_attendances  whole          2021-12→2022-12  flu_index 0.49, mean_temperature 0.45, population 0.07
ae_attendances  E10000018      2021-12→2022-12  mean_temperature 0.51, flu_index 0.37, population 0.04
ae_attendances  whole          2018-02→2019-02  mean_temperature 0.77, flu_index 0.29, population -0.05
ae_attendances  E10000024      2022-12→2023-12  mean_temperature 0.70, flu_index 0.37, population -0.07
ae_attendances  E06000052      2021-12→2022-12  flu_index 0.76, mean_temperature 0.22, population 0.05
ae_attendances  whole          2024-07→2025-01  seasonality -3.07, flu_index 2.07, temperature 1.87
uc_avg_award    E08000025      2021-11→2021-12  event 1.00 (the taper cut)
==============  =============  ===============  ==================================================

Same-month windows (December to December) keep seasonality at exactly zero, so the
weather and flu effects are identified by year-to-year anomalies. Avoid 2020-03 to
2021-05 for A&E driver tests (the lockdown dip is an event no driver explains), and
windows whose change is small next to the noise (A&E noise is 1% of a month's level).

What a plain model achieves (a check, not a promise): scikit-learn's
HistGradientBoostingRegressor on the written A&E levels (600 trees) with exact baseline
Shapley, each area's row in B against its own row in A, puts every driver within 0.07 of
the change for the whole in the same-month windows above. For single areas, about 90% of
local authorities are within 0.20 (median worst driver 0.12). The largest areas (Kent,
Essex, Hampshire) sit at the edge of the population range where trees extrapolate the
population x rate interaction worst, so the single-area windows use mid-size areas. The
cross-season window (2024-07→2025-01) is hard for any model: temperature is itself
seasonal, so a model splits that change between seasonality and temperature differently
from the truth.

Deliberately bad rows (``EXPECTED_QUARANTINE``) sit in 2017-2021 cells of metrics whose
planted contributions are not asked for, so they never touch a recommended window.
"""
from __future__ import annotations

import csv
import logging
import math
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from xml.sax.saxutils import escape as _xml_escape

import numpy as np
import pandas as pd

from loaders.demo_areas import (
    CLIMATE_OVERRIDES,
    ENGLAND_CODE,
    ENGLAND_NAME,
    LOCAL_AUTHORITIES,
    REGIONS,
    TYPE2_AREAS,
    TYPE3_ONLY_AREAS,
)

__all__ = [
    "DEMO_SEED",
    "DemoFiles",
    "EXPECTED_QUARANTINE",
    "PlantedWindow",
    "RECOMMENDED_WINDOWS",
    "demo_series",
    "ground_truth",
    "planted_contributions",
    "write_demo",
    "write_revision",
]

logger = logging.getLogger(__name__)

DEMO_SEED: int = 20261121

# --------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------
FIRST_YEAR, LAST_YEAR, LAST_MONTH_OF_LAST_YEAR = 2017, 2026, 9
MONTHS: tuple[str, ...] = tuple(
    f"{y}-{m:02d}"
    for y in range(FIRST_YEAR, LAST_YEAR + 1)
    for m in range(1, 13)
    if (y, m) <= (LAST_YEAR, LAST_MONTH_OF_LAST_YEAR)
)
N_MONTHS = len(MONTHS)  # 117
_MONTH_INDEX = {m: i for i, m in enumerate(MONTHS)}
_MONTH_OF_YEAR = np.array([int(m[5:]) for m in MONTHS])
_YEARS = np.array([int(m[:4]) for m in MONTHS])
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
ACADEMIC_YEARS: tuple[int, ...] = tuple(range(2016, 2026))  # 2016/17 .. 2025/26
FINANCIAL_YEARS: tuple[int, ...] = tuple(range(2015, 2026))  # 2015-16 .. 2025-26

LA_CODES: tuple[str, ...] = tuple(la.code for la in LOCAL_AUTHORITIES)
N_LA = len(LA_CODES)
_LA_INDEX = {c: i for i, c in enumerate(LA_CODES)}
_KINDS = np.array([la.kind for la in LOCAL_AUTHORITIES])

# --------------------------------------------------------------------------------------
# Planted parameters: the truth the engine should recover
# --------------------------------------------------------------------------------------
BETA_POPULATION_16_64 = 0.045  # UC households per resident aged 16-64
BETA_CLAIMANT_COUNT = 1.30  # UC households per claimant
CASELOAD_NOISE = 0.003  # relative sd

AWARD_NOISE = 0.004
UPLIFT_20_A_WEEK = 86.67  # £ per month, 2020-04 .. 2021-09
TAPER_CUT_GAIN = 42.00  # £ per month on average, from 2021-12
AWARD_UPRATING = {2020: 1.017, 2021: 1.005, 2022: 1.031, 2023: 1.101, 2024: 1.067,
                  2025: 1.017, 2026: 1.038}  # April upratings (2017-2019: benefit freeze)
AWARD_BASE = {"L": 820.0, "O": 770.0, "C": 650.0, "U": 600.0, "S": 620.0, "R": 585.0}

AE_BASE_RATE = 36.0  # attendances per 1,000 residents per month
AE_COLD_GAMMA = 0.12  # per 1,000 per (°C below the threshold) squared
AE_COLD_THRESHOLD = 8.0  # °C
AE_FLU_BETA = 0.05  # per 1,000 per unit of flu_index
AE_NOISE = 0.01
AE_PRESSURE_KAPPA = 35.0  # Type 1 percentage points lost per unit of pressure above 1
AE_SEASONALITY_RAW = (-1.4, -3.4, 0.1, -0.4, 1.6, 1.6, 2.1, 0.1, 0.6, 0.9, -0.4, -0.9)
AE_SEASONALITY = tuple(round(v - sum(AE_SEASONALITY_RAW) / 12, 4) for v in AE_SEASONALITY_RAW)
AE_COVID = {  # change in attendances per 1,000 residents, by month
    "2020-03": -6.0, "2020-04": -20.0, "2020-05": -14.0, "2020-06": -9.0, "2020-07": -6.0,
    "2020-08": -5.0, "2020-09": -4.0, "2020-10": -6.0, "2020-11": -9.0, "2020-12": -8.0,
    "2021-01": -14.0, "2021-02": -12.0, "2021-03": -8.0, "2021-04": -4.0, "2021-05": -2.0,
}
AE_TYPE3_SHARE = {"L": 0.38, "O": 0.36, "C": 0.30, "U": 0.28, "S": 0.33, "R": 0.32}
AE_TYPE2_SHARE = 0.02
AE_ADMIT_TYPE1 = 0.27
AE_ADMIT_COLD = 0.006
AE_ADMIT_TYPE2 = 0.06

SHARE_16_64 = {"L": 0.72, "O": 0.65, "C": 0.66, "U": 0.62, "S": 0.61, "R": 0.56}
COVID_CLAIMANT_SENSITIVITY = {"L": 1.45, "O": 1.35, "C": 1.1, "U": 0.9, "S": 1.05, "R": 1.0}
CHILD_SHARE = {"L": 0.12, "O": 0.16, "C": 0.14, "U": 0.145, "S": 0.14, "R": 0.12}

ASYLUM_BACKLOG_START = 26_000  # cases awaiting an initial decision, end of December 2016
ASYLUM_CLEARANCE_PEAK = 12_000  # extra decisions a month at the height of the 2023 drive

# --------------------------------------------------------------------------------------
# National profiles (data tables; anchors are linearly interpolated between months)
# --------------------------------------------------------------------------------------
POPULATION_GROWTH = {2017: 0.006, 2018: 0.006, 2019: 0.0055, 2020: 0.004, 2021: 0.005,
                     2022: 0.012, 2023: 0.013, 2024: 0.011, 2025: 0.007, 2026: 0.005}
CLAIMANT_BASE = {"2017-01": 0.74, "2019-06": 1.0, "2020-02": 1.04, "2021-12": 1.08,
                 "2022-06": 1.10, "2024-03": 1.16, "2025-06": 1.32, "2026-09": 1.45}
CLAIMANT_COVID = {"2020-02": 0.0, "2020-03": 0.05, "2020-04": 0.80, "2020-05": 1.05,
                  "2020-08": 1.10, "2020-12": 0.95, "2021-03": 0.92, "2021-06": 0.72,
                  "2021-09": 0.45, "2021-12": 0.25, "2022-06": 0.12, "2022-12": 0.08,
                  "2023-06": 0.05, "2024-06": 0.0}
TEMPERATURE_ANOMALY = {  # national monthly anomalies that really happened (°C, rounded)
    "2018-02": -2.2, "2018-03": -1.9, "2018-07": 2.2, "2019-02": 2.3, "2020-02": 1.6,
    "2021-01": -1.2, "2021-12": 1.7, "2022-07": 1.6, "2022-12": -2.6, "2023-06": 2.5,
    "2023-12": 1.5, "2024-02": 2.6, "2025-01": -0.6, "2025-06": 1.8,
}
FLU_SEASONS = (  # (peak month, national peak ILI rate per 100,000, width in months)
    ("2017-01", 22.0, 0.9), ("2018-01", 55.0, 1.0), ("2019-01", 20.0, 0.9),
    ("2019-12", 25.0, 0.8), ("2022-03", 5.0, 0.8), ("2022-12", 70.0, 0.7),
    ("2024-01", 18.0, 0.9), ("2025-01", 45.0, 0.8), ("2025-12", 50.0, 0.7),
)
FLU_BASELINE, FLU_BASELINE_COVID = 3.0, 1.0  # summer level; during 2020-04..2021-11
AE_TYPE1_BASE = {"2017-01": 82.0, "2018-01": 78.5, "2019-01": 76.0, "2020-02": 72.5,
                 "2021-06": 70.0, "2022-06": 63.0, "2023-01": 60.0, "2024-01": 60.5,
                 "2025-01": 62.0, "2026-09": 64.0}
ASYLUM_APPLICATIONS = {"2017-01": 2200, "2018-06": 2300, "2019-06": 2900, "2020-02": 2900,
                       "2020-04": 1100, "2020-05": 1300, "2020-07": 2000, "2020-10": 2500,
                       "2021-06": 3600, "2021-12": 4800, "2022-06": 5600, "2022-10": 7600,
                       "2023-06": 6300, "2023-12": 5600, "2024-06": 6300, "2024-12": 7800,
                       "2025-06": 8800, "2026-09": 7600}
ASYLUM_DECISIONS = {"2017-01": 2200, "2018-06": 1900, "2019-06": 1600, "2020-02": 1500,
                    "2020-04": 420, "2020-07": 1000, "2021-06": 1200, "2022-06": 1500,
                    "2022-12": 2500, "2023-06": 3500, "2024-03": 5000, "2024-12": 8500,
                    "2025-06": 10000, "2026-09": 9000}
ASYLUM_CLEARANCE = {"2022-12": 0.0, "2023-03": 0.25, "2023-06": 0.6, "2023-09": 1.0,
                    "2023-12": 1.0, "2024-03": 0.0}
LEGACY_SPEND_BN = {  # England, £bn, 2015-16 .. 2025-26 (context rows of the ODS table)
    "Housing Benefit (working age)": (17.4, 16.9, 16.2, 15.0, 13.1, 11.2, 9.8, 8.6, 7.5, 6.1, 4.6),
    "Income-based Jobseeker's Allowance": (1.9, 1.6, 1.3, 0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05),
    "Income-related Employment and Support Allowance": (
        11.9, 11.8, 11.6, 11.3, 10.9, 10.4, 9.9, 9.6, 9.0, 7.4, 4.9),
    "Income Support": (2.4, 2.2, 2.0, 1.8, 1.5, 1.2, 1.0, 0.9, 0.7, 0.3, None),
}

# --------------------------------------------------------------------------------------
# Deliberately bad cells and shorthand: fixed places, independent of the seed
# --------------------------------------------------------------------------------------
DWP_FILE = "dwp_uc_la_monthly.csv"
ONS_FILE = "ons_drivers_la_monthly.csv"
AE_FILE = "nhs_ae_la_monthly.xlsx"
DFE_FILE = "dfe_school_places_la.csv"
HO_FILE = "ho_asylum_monthly.csv"
FY_FILE = "dwp_benefit_spend_fy.ods"

_DWP_MEASURES = ("uc_caseload", "uc_avg_award", "uc_spend")
_ONS_VARIABLES = ("population", "population_16_64", "claimant_count", "unemployment_rate",
                  "rainfall_mm", "mean_temperature", "flu_index")
_AE_TYPES = ("Type 1", "Type 2", "Type 3")
_AE_HEADER = ("Month", "LA code", "LA name", "dept_type", "Attendances",
              "Attendances within 4 hours [note 1]", "Emergency admissions")
_AE_TITLE_ROWS = 3  # title, notes, source: the header is spreadsheet row 4
_DFE_HEADER = ("time_period", "time_identifier", "geographic_level", "country_code",
               "country_name", "region_code", "region_name", "new_la_code", "la_name",
               "Pupils on roll", "School capacity")

_DWP_MONTH13_AFTER = "2018-12"  # an extra row with the period "Month 13" follows this month
_DWP_BLANK_AREA_AFTER = "2021-03"  # an extra row with a blank area code follows this month
_ONS_BAD = (("E06000012", "2017-03", "rainfall_mm", "n/a?"),
            ("E08000016", "2017-05", "rainfall_mm", "NaN"))
_AE_BAD = (("E08000021", "2017-04", "Type 1", 6, '=HYPERLINK("http://example.invalid","x")'),
           ("E06000005", "2017-06", "Type 1", 5, "n/a?"))  # column index into _AE_HEADER
_AE_NOTE_CELL = ("E06000001", "2017-02", "Type 3")  # attendances written as "1,234 [note 2]"
_AE_NOT_AVAILABLE = ("E06000053", ("2017-01", "2017-02", "2017-03"), "Type 3")  # [x] within 4h
_DFE_BAD = ("E06000010", 2018, '=HYPERLINK("http://example.invalid","x")')  # school capacity


def _ae_types_of(code: str) -> tuple[int, ...]:
    """Department types present for residents of an area (indices into _AE_TYPES)."""
    if code in TYPE3_ONLY_AREAS:
        return (2,)
    return (0, 1, 2) if code in TYPE2_AREAS else (0, 2)


_AE_ROWS_PER_MONTH = sum(len(_ae_types_of(c)) for c in LA_CODES)


def _ae_row_number(code: str, month: str, dept_type: str) -> int:
    """Spreadsheet row (1-based) of one area, month and type in the A&E sheet."""
    before = sum(len(_ae_types_of(c)) for c in LA_CODES[: _LA_INDEX[code]])
    k = _ae_types_of(code).index(_AE_TYPES.index(dept_type))
    return _AE_TITLE_ROWS + 1 + _MONTH_INDEX[month] * _AE_ROWS_PER_MONTH + before + k + 1


def _dwp_row_number_after(month: str) -> int:
    """File row (1-based, header = 1) of an extra row written after a month's block."""
    inserted_before = sum(1 for m in (_DWP_MONTH13_AFTER, _DWP_BLANK_AREA_AFTER) if m < month)
    return 1 + (_MONTH_INDEX[month] + 1) * N_LA * len(_DWP_MEASURES) + inserted_before + 1


def _ons_row_number(code: str, month: str, variable: str) -> int:
    """File row (1-based, header = 1) of one value in the long ONS file."""
    k = (_MONTH_INDEX[month] * N_LA + _LA_INDEX[code]) * len(_ONS_VARIABLES)
    return 1 + k + _ONS_VARIABLES.index(variable) + 1


def _dfe_row_number(code: str, year: int) -> int:
    """File row (1-based, header = 1) of a local authority's row in the DfE file."""
    rows_per_year = 1 + len(REGIONS) + N_LA
    within = 1  # the national row
    for region in REGIONS:
        within += 1
        for la in LOCAL_AUTHORITIES:
            if la.region != region.code:
                continue
            within += 1
            if la.code == code:
                return 1 + ACADEMIC_YEARS.index(year) * rows_per_year + within
    raise KeyError(code)


EXPECTED_QUARANTINE: tuple[tuple[str, int, str], ...] = (
    (DWP_FILE, _dwp_row_number_after(_DWP_MONTH13_AFTER), "period"),
    (DWP_FILE, _dwp_row_number_after(_DWP_BLANK_AREA_AFTER), "area"),
    (ONS_FILE, _ons_row_number(*_ONS_BAD[0][:3]), "value"),
    (ONS_FILE, _ons_row_number(*_ONS_BAD[1][:3]), "value"),
    (AE_FILE, _ae_row_number(*_AE_BAD[0][:3]), "formula"),
    (AE_FILE, _ae_row_number(*_AE_BAD[1][:3]), "value"),
    (DFE_FILE, _dfe_row_number(*_DFE_BAD[:2]), "formula"),
)
"""(file name, 1-based row as seen in the file, reason) of each deliberately bad row.

Rows count as a spreadsheet shows them (title rows included) or, for CSV, as lines with
the header on line 1. Reasons: ``period`` (``Month 13``), ``area`` (blank area code),
``value`` (``n/a?``, ``NaN``), ``formula`` (a ``=HYPERLINK(...)`` cell). Shorthand cells
(``[c]``, ``[x]``, ``[z]``) are not bad rows: they are missing values with a reason.
"""


# --------------------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Simulation:
    """Every number of the data set, as written (and the noise-free parts behind them).

    Arrays are (local authority, month) in ``LA_CODES`` x ``MONTHS`` order unless noted;
    "written" values equal what a reader parses from the files (NaN where a file holds
    shorthand or a bad cell).
    """

    seed: int
    drivers: dict[str, np.ndarray]  # written ONS values, keyed by metric code
    caseload: np.ndarray
    caseload_clean: np.ndarray
    award_pence: np.ndarray  # int64
    award_trend: np.ndarray
    award_event: np.ndarray
    award_clean: np.ndarray
    ae_present: np.ndarray  # (la, type) bool
    ae_att: np.ndarray  # (la, month, type) int64; 0 where absent
    ae_within: np.ndarray  # (la, month, type) float, NaN for shorthand / bad cells
    ae_adm: np.ndarray  # (la, month, type) float, NaN for shorthand / bad cells
    ae_clean: np.ndarray
    ae_terms: dict[str, np.ndarray]  # bracket terms per 1,000 residents
    pupils: np.ndarray  # (la, academic year) int64
    capacity: np.ndarray  # (la, academic year) int64; the file corrupts one cell (_DFE_BAD)
    asylum: dict[str, np.ndarray]  # national monthly series
    fy_uc_bn: tuple[float | None, ...]  # England UC spend by financial year, £bn


def _rng(seed: int, name: str) -> np.random.Generator:
    """An independent, stable random stream per component, so changing one leaves the rest."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _anchored(anchors: dict[str, float]) -> np.ndarray:
    """A monthly profile through dated anchors (linear between, flat beyond)."""
    xs = np.array([_MONTH_INDEX[k] for k in anchors], dtype=float)
    return np.interp(np.arange(N_MONTHS, dtype=float), xs, np.array(list(anchors.values()), float))


def _ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise along the last axis: persistence makes local series look real."""
    out = np.empty(shape)
    out[:, 0] = rng.normal(0.0, sd / math.sqrt(1 - rho * rho), shape[0])
    shocks = rng.normal(0.0, sd, shape)
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + shocks[:, t]
    return out


def _decimals(values: np.ndarray, places: int) -> np.ndarray:
    """Round as the file will show it; the result equals float() of the written text."""
    scale = 10**places
    return np.rint(values * scale) / scale + 0.0  # + 0.0 turns -0.0 into 0.0


def _kind_values(table: dict[str, float]) -> np.ndarray:
    return np.array([table[k] for k in _KINDS], dtype=float)


def _region_index() -> np.ndarray:
    codes = [r.code for r in REGIONS]
    return np.array([codes.index(la.region) for la in LOCAL_AUTHORITIES])


def _simulate_ons(seed: int) -> dict[str, np.ndarray]:
    """Population, labour market and weather drivers by local authority and month."""
    t = np.arange(N_MONTHS)
    region = _region_index()

    rng = _rng(seed, "population")
    monthly_growth = np.array([(1 + POPULATION_GROWTH[y]) ** (1 / 12) for y in _YEARS])
    index = np.cumprod(monthly_growth)
    index /= index[_MONTH_INDEX["2021-06"]]
    years_from_census = (t - _MONTH_INDEX["2021-06"]) / 12
    drift = rng.normal(0.0, 0.003, N_LA)
    base = np.array([la.population_k * 1000 for la in LOCAL_AUTHORITIES])
    population = base[:, None] * index[None, :] * (1 + drift[:, None]) ** years_from_census
    share = _kind_values(SHARE_16_64) + rng.normal(0.0, 0.01, N_LA)
    share_t = share[:, None] * (1 - 0.0012 * t / 12)[None, :]  # an ageing population
    pop16 = np.rint(population * share_t)
    population = np.rint(population)

    rng = _rng(seed, "claimant")
    rate2019 = np.array([la.claimant_rate for la in LOCAL_AUTHORITIES])
    kappa = _kind_values(COVID_CLAIMANT_SENSITIVITY) * np.exp(rng.normal(0.0, 0.1, N_LA))
    drift = rng.normal(0.0, 0.03, N_LA)
    years_from_2019 = (t - _MONTH_INDEX["2019-06"]) / 12
    wobble = _ar1(rng, (N_LA, N_MONTHS), rho=0.85, sd=0.012)
    rate = (rate2019[:, None] * (_anchored(CLAIMANT_BASE) + kappa[:, None] * _anchored(CLAIMANT_COVID))
            * (1 + drift[:, None] * years_from_2019) * np.exp(wobble))
    claimant = np.rint(pop16 * rate / 100)
    unemployment = _decimals(1.9 + 0.45 * 100 * claimant / pop16
                             + rng.normal(0.0, 0.15, (N_LA, N_MONTHS)), 1)

    rng = _rng(seed, "temperature")
    mean = np.array([REGIONS[r].temp_mean for r in region]) + np.where(_KINDS == "L", 0.3, 0.0) \
        + np.where(_KINDS == "C", 0.15, 0.0) + rng.normal(0.0, 0.15, N_LA)
    amplitude = np.array([REGIONS[r].temp_amplitude for r in region]) * np.where(_KINDS == "R", 0.92, 1.0)
    for i, la in enumerate(LOCAL_AUTHORITIES):
        if la.code in CLIMATE_OVERRIDES:
            mean[i], amplitude[i], _ = CLIMATE_OVERRIDES[la.code]
    climate = mean[:, None] - amplitude[:, None] * np.cos(2 * np.pi * (_MONTH_OF_YEAR - 1.3) / 12)[None, :]
    national = _ar1(rng, (1, N_MONTHS), rho=0.3, sd=1.1)[0]
    for month, anomaly in TEMPERATURE_ANOMALY.items():
        national[_MONTH_INDEX[month]] = anomaly
    regional = rng.normal(0.0, 0.45, (len(REGIONS), N_MONTHS))
    local = rng.normal(0.0, 0.2, (N_LA, N_MONTHS))
    temperature = _decimals(climate + national[None, :] + regional[region] + local, 1)

    rng = _rng(seed, "rainfall")
    monthly_mm = np.array([REGIONS[r].rain_mm for r in region]) * np.exp(rng.normal(0.0, 0.1, N_LA))
    for i, la in enumerate(LOCAL_AUTHORITIES):
        if la.code in CLIMATE_OVERRIDES:
            monthly_mm[i] = CLIMATE_OVERRIDES[la.code][2]
    seasonal = np.array([1.15, 0.85, 0.85, 0.75, 0.8, 0.85, 0.9, 1.0, 0.95, 1.2, 1.3, 1.25])
    seasonal /= seasonal.mean()
    log_noise = (0.3 * rng.normal(size=N_MONTHS)[None, :] + 0.2 * rng.normal(size=(len(REGIONS), N_MONTHS))[region]
                 + 0.25 * rng.normal(size=(N_LA, N_MONTHS)))
    rainfall = _decimals(monthly_mm[:, None] * seasonal[_MONTH_OF_YEAR - 1][None, :]
                         * np.exp(log_noise - (0.09 + 0.04 + 0.0625) / 2), 1)

    rng = _rng(seed, "flu")
    covid = (t >= _MONTH_INDEX["2020-04"]) & (t <= _MONTH_INDEX["2021-11"])
    winter = np.maximum(0.0, np.cos(2 * np.pi * (_MONTH_OF_YEAR - 1) / 12))
    baseline = np.where(covid, FLU_BASELINE_COVID, FLU_BASELINE) + 2.0 * winter * np.where(covid, 0.2, 1.0)
    shift = rng.uniform(-0.35, 0.35, len(REGIONS))
    curves = np.tile(baseline, (len(REGIONS), 1))
    for peak, height, width in FLU_SEASONS:
        intensity = height * np.exp(rng.normal(0.0, 0.15, len(REGIONS)))
        centre = _MONTH_INDEX[peak] + shift
        curves += intensity[:, None] * np.exp(-((t[None, :] - centre[:, None]) ** 2) / (2 * width**2))
    flu = _decimals(curves[region] * np.exp(rng.normal(0.0, 0.12, (N_LA, N_MONTHS))), 1)

    for code, month, variable, _text in _ONS_BAD:
        if variable == "rainfall_mm":
            rainfall[_LA_INDEX[code], _MONTH_INDEX[month]] = np.nan
    return {"population": population, "population_16_64": pop16, "claimant_count": claimant,
            "unemployment_rate": unemployment, "rainfall_mm": rainfall,
            "mean_temperature": temperature, "flu_index": flu}


def _uprating_index() -> np.ndarray:
    """Cumulative April upratings: the award's trend."""
    out = np.ones(N_MONTHS)
    for t, month in enumerate(MONTHS):
        year, m = int(month[:4]), int(month[5:])
        for up_year, factor in AWARD_UPRATING.items():
            if (year, m) >= (up_year, 4):
                out[t] *= factor
    return out


def _award_events() -> np.ndarray:
    """£ per month added by the 2020 uplift and the 2021 taper cut."""
    t = np.arange(N_MONTHS)
    uplift = (t >= _MONTH_INDEX["2020-04"]) & (t <= _MONTH_INDEX["2021-09"])
    taper = t >= _MONTH_INDEX["2021-12"]
    return UPLIFT_20_A_WEEK * uplift + TAPER_CUT_GAIN * taper


def _simulate(seed: int) -> _Simulation:
    drivers = _simulate_ons(seed)
    pop16, claimant = drivers["population_16_64"], drivers["claimant_count"]
    population, temperature, flu = drivers["population"], drivers["mean_temperature"], drivers["flu_index"]
    shape = (N_LA, N_MONTHS)

    rng = _rng(seed, "caseload")
    caseload_clean = BETA_POPULATION_16_64 * pop16 + BETA_CLAIMANT_COUNT * claimant
    caseload = np.rint(np.maximum(caseload_clean * (1 + rng.normal(0.0, CASELOAD_NOISE, shape)), 0.0))

    rng = _rng(seed, "award")
    base = _kind_values(AWARD_BASE) * np.exp(rng.normal(0.0, 0.05, N_LA))
    award_trend = base[:, None] * _uprating_index()[None, :]
    award_event = np.broadcast_to(_award_events(), shape).copy()
    award_clean = award_trend + award_event
    award_pence = np.rint(award_clean * (1 + rng.normal(0.0, AWARD_NOISE, shape)) * 100).astype(np.int64)

    # A&E: population scale times an additive bracket of rates per 1,000 residents.
    rng = _rng(seed, "ae")
    terms = {
        "seasonality": np.broadcast_to(np.array(AE_SEASONALITY)[_MONTH_OF_YEAR - 1], shape).copy(),
        "mean_temperature": AE_COLD_GAMMA * np.maximum(0.0, AE_COLD_THRESHOLD - temperature) ** 2,
        "flu_index": AE_FLU_BETA * flu,
        "event": np.broadcast_to(np.array([AE_COVID.get(m, 0.0) for m in MONTHS]), shape).copy(),
    }
    bracket = AE_BASE_RATE + sum(terms.values())
    ae_clean = population / 1000 * bracket
    noisy = ae_clean * (1 + rng.normal(0.0, AE_NOISE, shape))
    years = np.arange(N_MONTHS) / 12
    share3 = (_kind_values(AE_TYPE3_SHARE) + rng.normal(0.0, 0.02, N_LA))[:, None] + 0.006 * years[None, :]
    share2 = np.array([AE_TYPE2_SHARE if c in TYPE2_AREAS else 0.0 for c in LA_CODES])[:, None] + 0 * share3
    shares = np.stack([1 - share2 - share3, share2, share3], axis=-1)
    present = np.zeros((N_LA, 3), dtype=bool)
    for i, code in enumerate(LA_CODES):
        present[i, list(_ae_types_of(code))] = True
        if code in TYPE3_ONLY_AREAS:
            shares[i] = (0.0, 0.0, 1.0)
    att = np.rint(noisy[..., None] * shares).astype(np.int64) * present[:, None, :]

    pressure = bracket / AE_BASE_RATE
    type1_base = (_anchored(AE_TYPE1_BASE)[None, :] + rng.normal(0.0, 3.5, N_LA)[:, None]
                  + _ar1(rng, shape, rho=0.7, sd=1.2))
    pct = np.stack([
        np.clip(type1_base - AE_PRESSURE_KAPPA * (pressure - 1), 25.0, 99.0),
        np.clip(96.0 - 10.0 * (pressure - 1) + rng.normal(0.0, 1.0, shape), 50.0, 100.0),
        np.clip(98.5 - 4.0 * (pressure - 1) + rng.normal(0.0, 0.5, shape), 50.0, 100.0),
    ], axis=-1)
    within = np.rint(att * pct / 100)
    cold = np.maximum(0.0, AE_COLD_THRESHOLD - temperature)
    adm = np.stack([
        np.rint(att[..., 0] * (AE_ADMIT_TYPE1 + AE_ADMIT_COLD * cold) * (1 + rng.normal(0.0, 0.015, shape))),
        np.rint(att[..., 1] * AE_ADMIT_TYPE2 * (1 + rng.normal(0.0, 0.1, shape))),
        np.zeros(shape),
    ], axis=-1)
    adm[..., 1][(adm[..., 1] >= 1) & (adm[..., 1] <= 4)] = np.nan  # [c]: suppressed small counts
    code, months, dept = _AE_NOT_AVAILABLE
    for month in months:
        within[_LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept)] = np.nan  # [x]
    for code, month, dept, column, _text in _AE_BAD:
        target = adm if _AE_HEADER[column] == "Emergency admissions" else within
        target[_LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept)] = np.nan

    pupils, capacity = _simulate_dfe(seed, population)
    return _Simulation(
        seed=seed, drivers=drivers, caseload=caseload, caseload_clean=caseload_clean,
        award_pence=award_pence, award_trend=award_trend, award_event=award_event,
        award_clean=award_clean, ae_present=present, ae_att=att, ae_within=within, ae_adm=adm,
        ae_clean=ae_clean, ae_terms=terms, pupils=pupils, capacity=capacity,
        asylum=_simulate_asylum(seed), fy_uc_bn=_fy_uc_spend(caseload, award_pence),
    )


def _simulate_dfe(seed: int, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pupils on roll and school capacity each January census (academic years)."""
    rng = _rng(seed, "dfe")
    january = [_MONTH_INDEX[f"{y + 1}-01"] for y in ACADEMIC_YEARS]
    years = np.array(ACADEMIC_YEARS)
    national = np.array([1.0, 1.006, 1.011, 1.013, 1.010, 1.004, 0.994, 0.980, 0.968, 0.958])
    london = np.isin(_KINDS, ["L", "O"])
    falling_rolls = np.where(london[:, None], 1 - 0.012 * np.maximum(0, years - 2018)[None, :], 1.0)
    child = _kind_values(CHILD_SHARE) * np.exp(rng.normal(0.0, 0.05, N_LA))
    drift = (1 + rng.normal(0.0, 0.004, N_LA))[:, None] ** (years - years[0])[None, :]
    pupils = np.rint(population[:, january] * child[:, None] * national[None, :] * falling_rolls
                     * drift * (1 + rng.normal(0.0, 0.003, (N_LA, len(years))))).astype(np.int64)
    capacity = np.empty_like(pupils)
    capacity[:, 0] = np.rint(pupils[:, 0] * (1 + rng.uniform(0.05, 0.12, N_LA)))
    for y in range(1, len(years)):
        added = np.maximum(0, pupils[:, y] - pupils[:, y - 1]) * 1.05
        cut = np.where(london & (years[y] >= 2022), 0.004, 0.0) * capacity[:, y - 1]
        wobble = rng.normal(0.0, 0.002, N_LA) * capacity[:, y - 1]
        capacity[:, y] = np.rint(capacity[:, y - 1] + added - cut + wobble)
    return pupils, capacity


def _simulate_asylum(seed: int) -> dict[str, np.ndarray]:
    """National asylum flows and the stock they imply (stock-flow identity holds exactly)."""
    rng = _rng(seed, "asylum")
    seasonal = 1 + 0.08 * np.sin(2 * np.pi * (_MONTH_OF_YEAR - 5) / 12)
    applications = np.rint(_anchored(ASYLUM_APPLICATIONS) * seasonal
                           * np.exp(rng.normal(0.0, 0.06, N_MONTHS))).astype(np.int64)
    decisions = np.rint((_anchored(ASYLUM_DECISIONS) + ASYLUM_CLEARANCE_PEAK * _anchored(ASYLUM_CLEARANCE))
                        * np.exp(rng.normal(0.0, 0.07, N_MONTHS))).astype(np.int64)
    backlog = ASYLUM_BACKLOG_START + np.cumsum(applications - decisions)
    return {"asylum_applications": applications, "asylum_decisions": decisions, "asylum_backlog": backlog}


def _fy_uc_spend(caseload: np.ndarray, award_pence: np.ndarray) -> tuple[float | None, ...]:
    """England UC spend by financial year (£bn) from the monthly file, summed in whole pence."""
    pence = (caseload.astype(np.int64) * award_pence).sum(axis=0)  # per month, exact
    out: list[float | None] = []
    for fy in FINANCIAL_YEARS:
        if fy == 2015:
            out.append(None)  # [x]: not available
            continue
        if fy == 2016:  # only January-March 2017 are in the monthly file: a stated estimate
            q4 = int(pence[: _MONTH_INDEX["2017-03"] + 1].sum())
            out.append(round(q4 * 4 * 0.96 / 1e11, 1))
            continue
        start = _MONTH_INDEX[f"{fy}-04"]
        out.append(round(int(pence[start: start + 12].sum()) / 1e11, 3))
    return tuple(out)


@lru_cache(maxsize=4)
def _simulation(seed: int) -> _Simulation:
    """Cached: planted_contributions and the writers share one simulation per seed."""
    started = time.perf_counter()
    sim = _simulate(seed)
    for value in vars(sim).values():  # shared by every caller: make accidental edits fail loudly
        for array in (value.values() if isinstance(value, dict) else [value]):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
    logger.debug("simulated the demo data set (seed %d) in %.2f s", seed, time.perf_counter() - started)
    return sim


# --------------------------------------------------------------------------------------
# Text helpers: the exact spellings written to files
# --------------------------------------------------------------------------------------
def _int_text(values: np.ndarray) -> np.ndarray:
    return values.astype(np.int64).astype(str)


def _dp_text(values: np.ndarray, places: int) -> np.ndarray:
    return np.char.mod(f"%.{places}f", values)


def _pence_text(pence: int) -> str:
    pounds, p = divmod(int(pence), 100)
    return f"{pounds}.{p:02d}"


def _spend_text(total_pence: int) -> str:
    """caseload x award / 1e6 in £m, written exactly (8 decimals of £m = whole pence)."""
    whole, rest = divmod(int(total_pence), 10**8)
    return f"{whole}.{rest:08d}"


def _long_month(month: str) -> str:
    return f"{_MONTH_NAMES[int(month[5:]) - 1]} {month[:4]}"


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _write_zip(path: Path, members: Sequence[tuple[str, bytes, bool]]) -> None:
    """Write a zip with fixed timestamps and order, so the same content gives the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, compress in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6 if compress else None)


# --------------------------------------------------------------------------------------
# File writers
# --------------------------------------------------------------------------------------
def _write_dwp(sim: _Simulation, path: Path, caseload: np.ndarray) -> None:
    """DWP: long CSV (month, area, measure, value), provisional flag on the last three months."""
    names = [la.name for la in LOCAL_AUTHORITIES]
    caseload_text = _int_text(caseload)
    provisional = set(MONTHS[-3:])

    def rows() -> Iterator[list[str]]:
        for t, month in enumerate(MONTHS):
            flag = "Y" if month in provisional else ""
            for i, code in enumerate(LA_CODES):
                pence = int(sim.award_pence[i, t])
                yield [month, code, names[i], "uc_caseload", caseload_text[i, t], flag]
                yield [month, code, names[i], "uc_avg_award", _pence_text(pence), flag]
                yield [month, code, names[i], "uc_spend", _spend_text(int(caseload[i, t]) * pence), flag]
            if month == _DWP_MONTH13_AFTER:
                yield ["Month 13", LA_CODES[0], names[0], "uc_caseload", "1234", ""]
            if month == _DWP_BLANK_AREA_AFTER:
                yield [month, "", "", "uc_caseload", "1500", ""]

    _write_csv(path, ("month", "la_code", "la_name", "measure", "value", "provisional"), rows())


def _write_ons(sim: _Simulation, path: Path) -> None:
    """ONS-style drivers: long CSV keyed by ISO dates (first of the month)."""
    names = [la.name for la in LOCAL_AUTHORITIES]
    texts = {}
    for name in _ONS_VARIABLES:
        values = sim.drivers[name]
        texts[name] = (_int_text(values) if name in ("population", "population_16_64", "claimant_count")
                       else _dp_text(np.nan_to_num(values), 1))
    for code, month, variable, text in _ONS_BAD:
        texts[variable][_LA_INDEX[code], _MONTH_INDEX[month]] = text
    columns = [texts[name] for name in _ONS_VARIABLES]

    def rows() -> Iterator[list[str]]:
        for t, month in enumerate(MONTHS):
            date = f"{month}-01"
            for i, code in enumerate(LA_CODES):
                for name, column in zip(_ONS_VARIABLES, columns):
                    yield [date, code, names[i], name, column[i, t]]

    _write_csv(path, ("date", "geography_code", "geography", "variable", "value"), rows())


def _write_dfe(sim: _Simulation, path: Path) -> None:
    """DfE: explore-education-statistics style wide CSV with national and regional rows."""
    region_rows = {r.code: [i for i, la in enumerate(LOCAL_AUTHORITIES) if la.region == r.code] for r in REGIONS}
    bad_code, bad_year, bad_text = _DFE_BAD

    def rows() -> Iterator[list[str]]:
        for y, year in enumerate(ACADEMIC_YEARS):
            period = f"{year}/{(year + 1) % 100:02d}"
            cap = sim.capacity[:, y]
            yield [period, "Academic year", "National", ENGLAND_CODE, ENGLAND_NAME, "", "", "", "",
                   str(int(sim.pupils[:, y].sum())), str(int(cap.sum()))]
            for region in REGIONS:
                idx = region_rows[region.code]
                yield [period, "Academic year", "Regional", ENGLAND_CODE, ENGLAND_NAME, region.code,
                       region.name, "", "", str(int(sim.pupils[idx, y].sum())), str(int(cap[idx].sum()))]
                for i in idx:
                    la = LOCAL_AUTHORITIES[i]
                    capacity = bad_text if (la.code, year) == (bad_code, bad_year) else str(int(cap[i]))
                    yield [period, "Academic year", "Local authority", ENGLAND_CODE, ENGLAND_NAME,
                           region.code, region.name, la.code, la.name, str(int(sim.pupils[i, y])), capacity]

    _write_csv(path, _DFE_HEADER, rows())


def _write_home_office(sim: _Simulation, path: Path) -> None:
    """Home Office: national monthly wide CSV, months spelt out, thousands separators."""
    a = sim.asylum
    rows = ([_long_month(month), f"{a['asylum_applications'][t]:,}", f"{a['asylum_decisions'][t]:,}",
             f"{a['asylum_backlog'][t]:,}"] for t, month in enumerate(MONTHS))
    _write_csv(path, ("Month", "Asylum applications (main applicants)", "Initial decisions",
                      "Cases awaiting an initial decision (end of month)"), rows)


class _Xlsx:
    """A minimal, deterministic XLSX writer (shared strings, numbers, dates).

    Why not openpyxl: it stamps the current time into the package (so the bytes change on
    every run) and takes seconds for the A&E sheet; this writes the same Office Open XML,
    which openpyxl and pandas read back, in a fraction of the time.
    """

    _NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    _REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    DATE, BOLD = 1, 2  # style indices in styles.xml

    def __init__(self) -> None:
        self._strings: dict[str, int] = {}
        self._references = 0
        self._sheets: list[tuple[str, str]] = []

    def string(self, text: str) -> int:
        self._references += 1
        return self._strings.setdefault(text, len(self._strings))

    @staticmethod
    def column(index: int) -> str:
        return chr(ord("A") + index)  # up to 26 columns is all the demo needs

    def cell(self, ref: str, value: object, style: int = 0) -> str:
        s = f' s="{style}"' if style else ""
        if value is None:
            return ""
        if isinstance(value, str):
            return f'<c r="{ref}"{s} t="s"><v>{self.string(value)}</v></c>'
        return f'<c r="{ref}"{s}><v>{value}</v></c>'

    def add_sheet(self, name: str, rows_xml: str) -> None:
        self._sheets.append((name, rows_xml))

    def save(self, path: Path) -> None:
        n = len(self._sheets)
        sheets = "".join(f'<sheet name="{_xml_escape(name)}" sheetId="{k + 1}" r:id="rId{k + 1}"/>'
                         for k, (name, _rows) in enumerate(self._sheets))
        rels = "".join(f'<Relationship Id="rId{k + 1}" Type="{self._REL}/worksheet" '
                       f'Target="worksheets/sheet{k + 1}.xml"/>' for k in range(n))
        rels += (f'<Relationship Id="rId{n + 1}" Type="{self._REL}/styles" Target="styles.xml"/>'
                 f'<Relationship Id="rId{n + 2}" Type="{self._REL}/sharedStrings" Target="sharedStrings.xml"/>')
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{k + 1}.xml" ContentType="{ct}.worksheet+xml"/>'
                            for k in range(n))
        content_types = (
            f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>{overrides}'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>')
        root_rels = (f'{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     f'<Relationship Id="rId1" Type="{self._REL}/officeDocument" Target="xl/workbook.xml"/>'
                     '</Relationships>')
        workbook = (f'{head}<workbook xmlns="{self._NS}" xmlns:r="{self._REL}"><sheets>{sheets}</sheets></workbook>')
        workbook_rels = (f'{head}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         f'{rels}</Relationships>')
        styles = (
            f'{head}<styleSheet xmlns="{self._NS}">'
            '<numFmts count="1"><numFmt numFmtId="164" formatCode="mmm\\-yy"/></numFmts>'
            '<fonts count="2"><font><sz val="11"/><name val="Arial"/></font>'
            '<font><b/><sz val="11"/><name val="Arial"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
        strings = "".join(f'<si><t xml:space="preserve">{_xml_escape(s)}</t></si>' for s in self._strings)
        shared = (f'{head}<sst xmlns="{self._NS}" count="{self._references}" '
                  f'uniqueCount="{len(self._strings)}">{strings}</sst>')
        members = [("[Content_Types].xml", content_types), ("_rels/.rels", root_rels),
                   ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
                   ("xl/styles.xml", styles), ("xl/sharedStrings.xml", shared)]
        members += [(f"xl/worksheets/sheet{k + 1}.xml",
                     f'{head}<worksheet xmlns="{self._NS}"><sheetData>{rows}</sheetData></worksheet>')
                    for k, (_name, rows) in enumerate(self._sheets)]
        _write_zip(path, [(name, text.encode("utf-8"), True) for name, text in members])


def _excel_serial(month: str) -> int:
    """Excel's day number for the first of a month (1900 date system)."""
    return (pd.Timestamp(f"{month}-01") - pd.Timestamp("1899-12-30")).days


_AE_COVER = (
    "A&E attendances and emergency admissions by local authority of residence (demo)",
    "Synthetic data generated by whytrend for demonstration and testing; not official statistics.",
    "Table 1 has one row per month, local authority of residence and A&E department type.",
    "[note 1] Attendances completed (admitted, transferred or discharged) within 4 hours of arrival.",
    "[note 2] The figure was revised after publication by the submitting organisation.",
    "Shorthand: [c] suppressed to protect confidentiality (counts of 1 to 4); [x] not available.",
)


def _write_ae(sim: _Simulation, path: Path) -> None:
    """NHS A&E: XLSX with a cover sheet and 'Table 1' (title rows, notes, shorthand)."""
    book = _Xlsx()
    col = [book.column(k) for k in range(len(_AE_HEADER))]
    cover = "".join(f'<row r="{r + 1}">{book.cell(f"A{r + 1}", text, book.BOLD if r == 0 else 0)}</row>'
                    for r, text in enumerate(_AE_COVER))
    book.add_sheet("Cover", cover)

    title = ("Table 1: A&E attendances, attendances within 4 hours and emergency admissions by local "
             "authority of residence and department type, England, January 2017 to September 2026")
    notes = ("This worksheet contains one table. Some cells refer to notes, which are on the Cover sheet. "
             "Shorthand: [c] suppressed, [x] not available.")
    source = "Source: NHS England, A&E attendances and emergency admissions (synthetic demo data)."
    parts = [f'<row r="1">{book.cell("A1", title, book.BOLD)}</row>',
             f'<row r="2">{book.cell("A2", notes)}</row>', f'<row r="3">{book.cell("A3", source)}</row>']
    header_row = _AE_TITLE_ROWS + 1
    parts.append(f'<row r="{header_row}">' + "".join(
        book.cell(f"{col[k]}{header_row}", h, book.BOLD) for k, h in enumerate(_AE_HEADER)) + "</row>")

    special: dict[tuple[int, int, int, int], str] = {}
    for code, month, dept, column, text in _AE_BAD:
        special[(_LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept), column)] = text
    code, month, dept = _AE_NOTE_CELL
    i, t, k = _LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept)
    special[(i, t, k, 4)] = f"{int(sim.ae_att[i, t, k]):,} [note 2]"
    code, months, dept = _AE_NOT_AVAILABLE
    for month in months:
        special[(_LA_INDEX[code], _MONTH_INDEX[month], _AE_TYPES.index(dept), 5)] = "[x]"
    suppressed = np.argwhere(np.isnan(sim.ae_adm[..., 1]) & sim.ae_present[:, None, 1])
    for i, t in suppressed:
        special.setdefault((int(i), int(t), 1, 6), "[c]")

    names = [la.name for la in LOCAL_AUTHORITIES]
    types = [_ae_types_of(c) for c in LA_CODES]
    r = header_row
    for t, month in enumerate(MONTHS):
        serial = _excel_serial(month)
        for i, code in enumerate(LA_CODES):
            for k in types[i]:
                r += 1
                values = (int(sim.ae_att[i, t, k]), sim.ae_within[i, t, k], sim.ae_adm[i, t, k])
                cells = [f'<c r="A{r}" s="{book.DATE}"><v>{serial}</v></c>',
                         book.cell(f"B{r}", code), book.cell(f"C{r}", names[i]), book.cell(f"D{r}", _AE_TYPES[k])]
                for offset, value in enumerate(values):
                    c = 4 + offset
                    text = special.get((i, t, k, c))
                    cells.append(book.cell(f"{col[c]}{r}", text if text is not None else int(value)))
                parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    book.add_sheet("Table 1", "".join(parts))
    book.save(path)


_ODS_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
           'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
           'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
           'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"')


def _ods_row(values: Sequence[object]) -> str:
    cells = []
    for value in values:
        if isinstance(value, float):
            shown = f"{value:.3f}".rstrip("0").rstrip(".")
            cells.append(f'<table:table-cell office:value-type="float" office:value="{value!r}">'
                         f"<text:p>{shown}</text:p></table:table-cell>")
        else:
            cells.append(f'<table:table-cell office:value-type="string"><text:p>{_xml_escape(str(value))}'
                         "</text:p></table:table-cell>")
    return f"<table:table-row>{''.join(cells)}</table:table-row>"


def _write_ods(path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[object]]]]) -> None:
    """A minimal OpenDocument spreadsheet, written directly.

    Why not odfpy's writer: the namespaces it declares depend on what else the process has
    loaded before (global state), so its bytes are not reproducible. odfpy still reads it.
    """
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    tables = "".join(f'<table:table table:name="{_xml_escape(name)}">{"".join(_ods_row(r) for r in rows)}'
                     "</table:table>" for name, rows in sheets)
    content = (f'{head}<office:document-content {_ODS_NS} office:version="1.2"><office:body>'
               f"<office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>")
    styles = f'{head}<office:document-styles {_ODS_NS} office:version="1.2"/>'
    meta = (f'{head}<office:document-meta {_ODS_NS} office:version="1.2"><office:meta>'
            "<meta:generator>whytrend demo</meta:generator></office:meta></office:document-meta>")
    mime = "application/vnd.oasis.opendocument.spreadsheet"
    entries = "".join(f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>'
                      for name in ("content.xml", "styles.xml", "meta.xml"))
    manifest = (f'{head}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
                f'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
                f'manifest:media-type="{mime}"/>{entries}</manifest:manifest>')
    _write_zip(path, [("mimetype", mime.encode("ascii"), False),  # first and stored, as ODF requires
                      ("content.xml", content.encode("utf-8"), True),
                      ("styles.xml", styles.encode("utf-8"), True),
                      ("meta.xml", meta.encode("utf-8"), True),
                      ("META-INF/manifest.xml", manifest.encode("utf-8"), True)])


def _write_fy_spend(sim: _Simulation, path: Path) -> None:
    """DWP: financial-year expenditure, ODS, periods as column headers (wide by period)."""
    cover = [["Benefit expenditure by financial year, England (demo)"],
             ["Synthetic data generated by whytrend; not official statistics."],
             ["Shorthand: [x] not available; [z] not applicable."]]
    periods = [f"{fy}-{(fy + 1) % 100:02d}" for fy in FINANCIAL_YEARS]
    table: list[list[object]] = [
        ["Table 1: Benefit expenditure by financial year, England, £ billion, nominal prices"],
        ["Notes: Universal Credit from 2017-18 is the sum of monthly payments in the local authority "
         "file; 2016-17 is an estimate; 2015-16 is not available [x]."],
        ["Area code", "Area name", "Benefit", *periods],
        [ENGLAND_CODE, ENGLAND_NAME, "Universal Credit", *("[x]" if v is None else float(v) for v in sim.fy_uc_bn)],
    ]
    for benefit, values in LEGACY_SPEND_BN.items():
        table.append([ENGLAND_CODE, ENGLAND_NAME, benefit, *("[z]" if v is None else float(v) for v in values)])
    _write_ods(path, [("Cover", cover), ("Table_1", table)])


# --------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------
DEPARTMENTS = (
    ("DWP", "Department for Work and Pensions"),
    ("DHSC", "Department of Health and Social Care (NHS England)"),
    ("DfE", "Department for Education"),
    ("HO", "Home Office"),
    ("ONS", "Office for National Statistics (with Met Office and UKHSA series)"),
)

# code, name, department, unit, aggregation, higher_is_better (None = neutral), formula, description
_METRICS: tuple[tuple[str, str, str, str, str, bool | None, str, str], ...] = (
    ("uc_caseload", "Households on Universal Credit", "DWP", "households", "sum", None, "",
     "Households on Universal Credit, by local authority, monthly."),
    ("uc_avg_award", "Average Universal Credit award", "DWP", "£ per month", "mean", None, "",
     "Mean monthly award per household on Universal Credit."),
    ("uc_spend", "Universal Credit payments", "DWP", "£m per month", "sum", False,
     "uc_caseload * uc_avg_award / 1000000",
     "Monthly Universal Credit payments; equals caseload times average award in every row."),
    ("dwp_fy_spend", "Universal Credit expenditure by financial year", "DWP", "£bn", "sum", False, "",
     "Financial-year Universal Credit expenditure, England, nominal prices."),
    ("ae_attendances", "A&E attendances", "DHSC", "attendances", "sum", None, "",
     "A&E attendances by local authority of residence and department type."),
    ("ae_within_4h", "A&E attendances within 4 hours", "DHSC", "attendances", "sum", None, "",
     "Attendances admitted, transferred or discharged within 4 hours of arrival."),
    ("ae_admissions", "Emergency admissions via A&E", "DHSC", "admissions", "sum", None, "",
     "Emergency admissions following an A&E attendance."),
    ("ae_4h_pct", "A&E 4-hour performance", "DHSC", "%", "formula", True,
     "100 * ae_within_4h / ae_attendances",
     "Percentage of A&E attendances completed within 4 hours (operational standard 95%)."),
    ("pupils", "Pupils on roll", "DfE", "pupils", "sum", None, "",
     "Pupils on roll in state-funded primary and secondary schools, January census."),
    ("school_capacity", "School places", "DfE", "places", "sum", None, "",
     "Places (capacity) in state-funded primary and secondary schools."),
    ("unfilled_places_pct", "Unfilled school places", "DfE", "%", "formula", False,
     "100 * (school_capacity - pupils) / school_capacity",
     "Share of school places unfilled. Higher is treated as worse: surplus places cost money "
     "and signal falling rolls, although some spare capacity is needed for parental choice."),
    ("asylum_applications", "Asylum applications", "HO", "applications", "sum", None, "",
     "Asylum applications lodged by main applicants in the month."),
    ("asylum_decisions", "Initial asylum decisions", "HO", "decisions", "sum", True, "",
     "Initial decisions made on asylum applications (main applicants) in the month."),
    ("asylum_backlog", "Asylum cases awaiting an initial decision", "HO", "cases", "sum", False, "",
     "Cases awaiting an initial decision at the end of the month."),
    ("population", "Resident population", "ONS", "people", "sum", None, "",
     "Usual resident population, interpolated monthly from mid-year estimates."),
    ("population_16_64", "Residents aged 16 to 64", "ONS", "people", "sum", None, "",
     "Usual residents aged 16 to 64, interpolated monthly from mid-year estimates."),
    ("claimant_count", "Claimant count", "ONS", "people", "sum", False, "",
     "People claiming unemployment-related benefits (JSA and UC searching for work)."),
    ("unemployment_rate", "Unemployment rate", "ONS", "%", "mean", False, "",
     "Model-based unemployment rate, residents aged 16 to 64."),
    ("rainfall_mm", "Rainfall", "ONS", "mm", "mean", None, "",
     "Monthly rainfall total (Met Office gridded observations, area mean)."),
    ("mean_temperature", "Mean air temperature", "ONS", "°C", "mean", None, "",
     "Monthly mean air temperature (Met Office gridded observations, area mean)."),
    ("flu_index", "Influenza-like illness consultation rate", "ONS", "per 100,000", "mean", False, "",
     "GP consultations for influenza-like illness per 100,000 residents (UKHSA surveillance)."),
)

MODELS: tuple[dict[str, object], ...] = (
    {"metric": "uc_caseload", "drivers": ["population_16_64", "claimant_count", "rainfall_mm"],
     "kind": "linear"},
    {"metric": "ae_attendances", "drivers": ["population", "mean_temperature", "flu_index", "rainfall_mm"],
     "kind": "gradient_boosting", "pseudo_drivers": ["seasonality"]},
)

EVENTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("2020-03", "First national COVID-19 lockdown",
     "Stay-at-home order from 23 March 2020: A&E attendances fell by about half in April and the "
     "claimant count doubled by May; lockdowns returned in November 2020 and January 2021.",
     ("ae_attendances", "ae_admissions", "claimant_count", "asylum_applications", "asylum_decisions")),
    ("2020-04", "Universal Credit £20 a week uplift",
     "Standard allowance raised by £20 a week (£86.67 a month) from 6 April 2020.",
     ("uc_avg_award", "uc_spend")),
    ("2021-10", "Universal Credit £20 uplift withdrawn",
     "The temporary £20 a week uplift ended from 6 October 2021.", ("uc_avg_award", "uc_spend")),
    ("2021-12", "Universal Credit taper rate cut to 55%",
     "Taper rate cut from 63% to 55% and work allowances raised by £500 a year from 24 November "
     "2021; December is the first full month.", ("uc_avg_award", "uc_spend")),
    ("2022-12", "Commitment to clear the legacy asylum backlog",
     "Pledge to clear legacy asylum claims by the end of 2023; decision-making capacity rose "
     "through 2023.", ("asylum_decisions", "asylum_backlog")),
    ("2024-04", "Managed migration to Universal Credit",
     "Migration notices sent to remaining legacy benefit claimants; more people count as "
     "claimants on Universal Credit.", ("claimant_count",)),
)


def _toml(value: object) -> str:
    """A TOML value (strings via JSON escaping, which is valid TOML basic-string syntax)."""
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(str(k))} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _table(name: str, fields: dict[str, object]) -> str:
    lines = [f"[[{name}]]"]
    lines += [f"{key} = {_toml(value)}" for key, value in fields.items() if value is not None]
    return "\n".join(lines)


def _sources() -> list[dict[str, object]]:
    return [
        {"id": "dwp-uc-la-monthly", "department": "DWP",
         "title": "Universal Credit households, average award and payments by local authority",
         "path": DWP_FILE, "format": "csv", "layout": "long", "period_column": "month",
         "area_column": "la_code", "area_name_column": "la_name", "metric_column": "measure",
         "value_column": "value", "provisional_column": "provisional"},
        {"id": "dwp-benefit-spend-fy", "department": "DWP",
         "title": "Universal Credit expenditure by financial year, England",
         "path": FY_FILE, "format": "ods", "sheet": "Table_1", "skip_rows": 2, "layout": "wide_by_period",
         "area_column": "Area code", "area_name_column": "Area name", "metric": "dwp_fy_spend",
         "where": {"Benefit": "Universal Credit"}},
        {"id": "nhs-ae-la-monthly", "department": "DHSC",
         "title": "A&E attendances and emergency admissions by local authority of residence",
         "path": AE_FILE, "format": "xlsx", "sheet": "Table 1", "layout": "wide",
         "period_column": "Month", "period_frequency": "month", "area_column": "LA code",
         "area_name_column": "LA name", "dimension_columns": ["dept_type"],
         "value_columns": {"Attendances": "ae_attendances",
                           "Attendances within 4 hours": "ae_within_4h",  # header has "[note 1]"
                           "Emergency admissions": "ae_admissions"}},
        {"id": "dfe-school-places", "department": "DfE",
         "title": "Pupils on roll and school capacity by local authority",
         "path": DFE_FILE, "format": "csv", "layout": "wide", "period_column": "time_period",
         "area_column": "new_la_code", "area_name_column": "la_name",
         "where": {"geographic_level": "Local authority"},
         "value_columns": {"Pupils on roll": "pupils", "School capacity": "school_capacity"}},
        {"id": "ho-asylum-monthly", "department": "HO",
         "title": "Asylum applications, initial decisions and cases awaiting a decision",
         "path": HO_FILE, "format": "csv", "layout": "wide", "period_column": "Month",
         "area": ENGLAND_CODE,
         "value_columns": {"Asylum applications (main applicants)": "asylum_applications",
                           "Initial decisions": "asylum_decisions",
                           "Cases awaiting an initial decision (end of month)": "asylum_backlog"}},
        {"id": "ons-drivers-la-monthly", "department": "ONS",
         "title": "Population, labour market, weather and flu indicators by local authority",
         "path": ONS_FILE, "format": "csv", "layout": "long", "period_column": "date",
         "period_frequency": "month", "area_column": "geography_code", "area_name_column": "geography",
         "metric_column": "variable", "value_column": "value"},
    ]


def _manifest_text() -> str:
    blocks = ["# whytrend demo data set: synthetic figures, real area codes.\n"
              "# Written by loaders.demo.write_demo(); ground_truth.csv documents what was planted."]
    blocks += [_table("department", {"code": c, "name": n}) for c, n in DEPARTMENTS]
    blocks.append(_table("area", {"code": ENGLAND_CODE, "name": ENGLAND_NAME, "level": "country"}))
    blocks += [_table("area", {"code": r.code, "name": r.name, "level": "region", "parent": ENGLAND_CODE})
               for r in REGIONS]
    blocks += [_table("area", {"code": la.code, "name": la.name, "level": "local_authority",
                               "parent": la.region}) for la in LOCAL_AUTHORITIES]
    for code, name, dept, unit, aggregation, better, formula, description in _METRICS:
        blocks.append(_table("metric", {"code": code, "name": name, "department": dept, "unit": unit,
                                        "aggregation": aggregation, "higher_is_better": better,
                                        "formula": formula or None, "description": description,
                                        # ONS statistics are public: every department may use them as drivers
                                        "shared": True if dept == "ONS" else None}))
    blocks += [_table("source", source) for source in _sources()]
    blocks += [_table("model", model) for model in MODELS]
    blocks += [_table("event", {"period": p, "title": t, "description": d, "metrics": list(m)})
               for p, t, d, m in EVENTS]
    return "\n\n".join(blocks) + "\n"


# --------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------
GROUND_TRUTH_COLUMNS = ("metric", "driver", "relationship", "parameter", "period", "description")


def ground_truth(seed: int = DEMO_SEED) -> pd.DataFrame:
    """The relationships planted in the demo data, one row per (metric, driver or event).

    ``relationship`` is ``linear`` (contribution = parameter x change in the stored driver),
    ``nonlinear``, ``none`` (the driver has no effect), ``formula`` (an exact identity) or
    ``event`` (a dated step; ``period`` says when). The parameters do not depend on the
    seed; the argument is accepted so callers can pass the seed they wrote the files with.
    """
    del seed  # the structure and parameters are the same for every seed
    nan = float("nan")
    uprating = ", ".join(f"{y} x{f}" for y, f in AWARD_UPRATING.items())
    seasonality = ", ".join(f"{_MONTH_NAMES[k][:3]} {v:+.2f}" for k, v in enumerate(AE_SEASONALITY))
    rows = [
        ("uc_caseload", "population_16_64", "linear", BETA_POPULATION_16_64, "",
         "UC households per resident aged 16-64; no intercept and no area effects."),
        ("uc_caseload", "claimant_count", "linear", BETA_CLAIMANT_COUNT, "",
         "UC households per claimant; carries the COVID jump and the managed-migration rise."),
        ("uc_caseload", "rainfall_mm", "none", 0.0, "",
         "Irrelevant driver: varies by season, region and month as much as the others; no effect."),
        ("uc_avg_award", "trend", "nonlinear", nan, "",
         f"Area base award times cumulative April upratings ({uprating}); benefit freeze 2017-2019."),
        ("uc_avg_award", "event", "event", UPLIFT_20_A_WEEK, "2020-04",
         "£20 a week uplift: +£86.67 a month from 2020-04 to 2021-09."),
        ("uc_avg_award", "event", "event", -UPLIFT_20_A_WEEK, "2021-10", "£20 a week uplift withdrawn."),
        ("uc_avg_award", "event", "event", TAPER_CUT_GAIN, "2021-12",
         "Taper rate cut to 55% and higher work allowances: +£42.00 a month on average."),
        ("uc_spend", "uc_caseload", "formula", 1e-6, "",
         "uc_spend = uc_caseload * uc_avg_award / 1000000, exact in every row of the file."),
        ("uc_spend", "uc_avg_award", "formula", 1e-6, "",
         "uc_spend = uc_caseload * uc_avg_award / 1000000, exact in every row of the file."),
        ("dwp_fy_spend", "uc_spend", "formula", 0.001, "",
         "Sum over April-March of England's uc_spend / 1000 (rounded to 3 dp), 2017-18 onwards."),
        ("ae_attendances", "population", "nonlinear", AE_BASE_RATE, "",
         "Scale: attendances = population / 1000 x bracket (36 per 1,000 a month plus the terms "
         "below); contribution = change in population / 1000 x mean bracket of the two periods."),
        ("ae_attendances", "mean_temperature", "nonlinear", AE_COLD_GAMMA, "",
         "Cold weather: +0.12 x max(0, 8 - temperature)^2 per 1,000 residents; convex below 8°C, "
         "zero above."),
        ("ae_attendances", "flu_index", "nonlinear", AE_FLU_BETA, "",
         "+0.05 per 1,000 residents per unit of flu_index: linear at fixed population, but it "
         "enters as population x flu_index, an interaction."),
        ("ae_attendances", "rainfall_mm", "none", 0.0, "", "Irrelevant driver: no effect."),
        ("ae_attendances", "seasonality", "nonlinear", nan, "",
         f"Fixed month-of-year profile per 1,000 residents: {seasonality}."),
        ("ae_attendances", "event", "event", min(AE_COVID.values()), "2020-03",
         "COVID lockdowns 2020-03 to 2021-05: up to -20 per 1,000 residents (2020-04)."),
        ("ae_within_4h", "ae_attendances", "nonlinear", AE_PRESSURE_KAPPA, "",
         "Type 1 share within 4 hours = base(t) + area offset - 35 x (pressure - 1) points, "
         "pressure = bracket / 36; Type 2 about 96%, Type 3 about 98.5%."),
        ("ae_admissions", "ae_attendances", "linear", AE_ADMIT_TYPE1, "",
         "Type 1 attendances x (0.27 + 0.006 x max(0, 8 - temperature)); Type 2 x 0.06; Type 3 none."),
        ("ae_admissions", "mean_temperature", "nonlinear", AE_ADMIT_COLD, "",
         "Admission rate of Type 1 attendances rises 0.006 per (°C below 8)."),
        ("ae_4h_pct", "ae_within_4h", "formula", 100.0, "", "ae_4h_pct = 100 * ae_within_4h / ae_attendances."),
        ("ae_4h_pct", "ae_attendances", "formula", 100.0, "", "ae_4h_pct = 100 * ae_within_4h / ae_attendances."),
        ("unfilled_places_pct", "school_capacity", "formula", 100.0, "",
         "unfilled_places_pct = 100 * (school_capacity - pupils) / school_capacity."),
        ("unfilled_places_pct", "pupils", "formula", -100.0, "",
         "unfilled_places_pct = 100 * (school_capacity - pupils) / school_capacity."),
        ("pupils", "trend", "nonlinear", -0.012, "",
         "London boroughs lose 1.2% of their rolls a year from 2019/20 (falling rolls)."),
        ("asylum_backlog", "asylum_applications", "formula", 1.0, "",
         "backlog(t) = backlog(t-1) + applications(t) - decisions(t); 26,000 at the end of 2016."),
        ("asylum_backlog", "asylum_decisions", "formula", -1.0, "",
         "backlog(t) = backlog(t-1) + applications(t) - decisions(t); 26,000 at the end of 2016."),
        ("asylum_decisions", "event", "event", float(ASYLUM_CLEARANCE_PEAK), "2022-12",
         "Legacy backlog drive: extra decisions ramp up from 2023-01 to 12,000 a month by "
         "2023-09, hold to 2023-12 and stop by 2024-03."),
        ("claimant_count", "event", "event", nan, "2020-03",
         "COVID: the claimant count roughly doubles by 2020-05 (more in London) and unwinds by 2022."),
    ]
    return pd.DataFrame(rows, columns=list(GROUND_TRUTH_COLUMNS))


# --------------------------------------------------------------------------------------
# Planted contributions and series
# --------------------------------------------------------------------------------------
_SUM_METRICS = {"population", "population_16_64", "claimant_count", "uc_caseload", "uc_spend",
                "ae_attendances", "ae_within_4h", "ae_admissions"}
_MEAN_METRICS = {"unemployment_rate", "rainfall_mm", "mean_temperature", "flu_index", "uc_avg_award"}
_NATIONAL_METRICS = {"asylum_applications", "asylum_decisions", "asylum_backlog"}


def _month(period: str) -> int:
    try:
        return _MONTH_INDEX[period]
    except KeyError:
        raise ValueError(f"{period!r} is not a month of the demo data ({MONTHS[0]} to {MONTHS[-1]}, "
                         "canonical 'YYYY-MM')") from None


def _rows_of(area: str | None, metric: str) -> np.ndarray:
    """Indices of the leaf areas that make up an area (None or England = all of them)."""
    if area is None or area == ENGLAND_CODE:
        if metric in _MEAN_METRICS:
            raise ValueError(f"{metric} is averaged, not summed, over areas: ask for one local authority")
        return np.arange(N_LA)
    if area in _LA_INDEX:
        return np.array([_LA_INDEX[area]])
    rows = [i for i, la in enumerate(LOCAL_AUTHORITIES) if la.region == area]
    if not rows:
        raise ValueError(f"{area!r} is not an area of the demo data")
    if metric in _MEAN_METRICS:
        raise ValueError(f"{metric} is averaged, not summed, over areas: ask for one local authority")
    return np.array(rows)


def _written(sim: _Simulation, metric: str) -> np.ndarray:
    if metric in sim.drivers:
        return sim.drivers[metric]
    if metric == "uc_caseload":
        return sim.caseload
    if metric == "uc_avg_award":
        return sim.award_pence / 100
    if metric == "uc_spend":
        return sim.caseload * sim.award_pence / 1e8
    if metric == "ae_attendances":
        return sim.ae_att.sum(axis=-1).astype(float)
    if metric == "ae_within_4h":
        return np.where(sim.ae_present[:, None, :], sim.ae_within, 0.0).sum(axis=-1)
    if metric == "ae_admissions":
        return np.where(sim.ae_present[:, None, :], sim.ae_adm, 0.0).sum(axis=-1)
    raise ValueError(f"no monthly local-authority series for {metric!r}")


def demo_series(metric: str, *, area: str | None = None, noise_free: bool = False,
                seed: int = DEMO_SEED) -> pd.Series:
    """A monthly series of the demo data as written (or its noise-free part), by canonical month.

    ``area`` is a local authority, a region or None/England (the sum over local authorities;
    averaged metrics need one local authority). ``noise_free`` is available for the metrics
    with planted contributions (uc_caseload, uc_avg_award, ae_attendances). A&E totals are
    over department types; a total with a shorthand or bad cell among its types is NaN.
    """
    sim = _simulation(seed)
    if metric in _NATIONAL_METRICS:
        if area not in (None, ENGLAND_CODE) or noise_free:
            raise ValueError(f"{metric} is a national series without noise-free part")
        return pd.Series(sim.asylum[metric].astype(float), index=list(MONTHS), name=metric)
    if noise_free:
        clean = {"uc_caseload": sim.caseload_clean, "uc_avg_award": sim.award_clean,
                 "ae_attendances": sim.ae_clean}
        if metric not in clean:
            raise ValueError(f"no noise-free series is planted for {metric!r}")
        values = clean[metric]
    else:
        values = _written(sim, metric)
    rows = _rows_of(area, metric)
    return pd.Series(values[rows].sum(axis=0), index=list(MONTHS), name=metric)


def planted_contributions(metric: str, *, period_from: str, period_to: str, area: str | None = None,
                          seed: int = DEMO_SEED) -> dict[str, float]:
    """Each planted cause's share of the change in ``metric`` between two months, in its units.

    Keys are driver metric codes plus ``seasonality``, ``event`` and ``noise`` (and ``trend``
    for uc_avg_award); drivers planted with no effect are present with 0.0. For one local
    authority the parts are exact; for a region or the whole (``area`` None) they are sums
    over its local authorities, as baseline SHAP pairs an area with itself. Everything but
    ``noise`` adds up to the noise-free change; with ``noise`` (noise plus rounding) the
    values add up to the change in the written, vintage-1 data.

    Supported metrics: uc_caseload, ae_attendances (any area), uc_avg_award (one local
    authority: it is averaged, not summed).
    """
    sim = _simulation(seed)
    a, b = _month(period_from), _month(period_to)
    rows = _rows_of(area, metric)
    if metric == "uc_caseload":
        d = sim.drivers
        parts = {
            "population_16_64": BETA_POPULATION_16_64 * float((d["population_16_64"][rows, b]
                                                               - d["population_16_64"][rows, a]).sum()),
            "claimant_count": BETA_CLAIMANT_COUNT * float((d["claimant_count"][rows, b]
                                                           - d["claimant_count"][rows, a]).sum()),
            "rainfall_mm": 0.0, "seasonality": 0.0, "event": 0.0,
        }
    elif metric == "ae_attendances":
        pop = sim.drivers["population"][rows]
        bracket = AE_BASE_RATE + sum(sim.ae_terms.values())[rows]
        mean_pop = (pop[:, a] + pop[:, b]) / 2000
        parts = {"population": float(((pop[:, b] - pop[:, a]) / 1000 * (bracket[:, a] + bracket[:, b]) / 2).sum())}
        for name in ("mean_temperature", "flu_index"):
            term = sim.ae_terms[name][rows]
            parts[name] = float((mean_pop * (term[:, b] - term[:, a])).sum())
        parts["rainfall_mm"] = 0.0
        for name in ("seasonality", "event"):
            term = sim.ae_terms[name][rows]
            parts[name] = float((mean_pop * (term[:, b] - term[:, a])).sum())
    elif metric == "uc_avg_award":
        parts = {"trend": float((sim.award_trend[rows, b] - sim.award_trend[rows, a]).sum()),
                 "event": float((sim.award_event[rows, b] - sim.award_event[rows, a]).sum()),
                 "seasonality": 0.0}
    else:
        raise ValueError(f"no planted contributions for {metric!r}; "
                         "use uc_caseload, ae_attendances or uc_avg_award")
    written = _written(sim, metric)[rows]
    parts["noise"] = float((written[:, b] - written[:, a]).sum()) - sum(parts.values())
    return parts


@dataclass(frozen=True)
class PlantedWindow:
    """A window where planted drivers dominate the noise, with their shares of the change."""

    metric: str
    area: str | None
    period_from: str
    period_to: str
    shares: tuple[tuple[str, float], ...]  # (driver, contribution / written change), 2 dp
    note: str = ""


RECOMMENDED_WINDOWS: tuple[PlantedWindow, ...] = (
    PlantedWindow("uc_caseload", None, "2019-04", "2021-04",
                  (("population_16_64", 0.01), ("claimant_count", 0.99), ("noise", 0.0)),
                  "COVID: the claimant count more than doubles (change +1,218,367)"),
    PlantedWindow("uc_caseload", "E08000025", "2019-04", "2021-04",
                  (("population_16_64", 0.01), ("claimant_count", 0.99), ("noise", 0.0)),
                  "Birmingham, as above (change +60,983)"),
    PlantedWindow("uc_caseload", None, "2022-09", "2026-09",
                  (("population_16_64", 0.13), ("claimant_count", 0.87), ("noise", 0.0)),
                  "population growth and managed migration (change +405,631)"),
    PlantedWindow("uc_caseload", "E10000016", "2022-09", "2026-09",
                  (("population_16_64", 0.13), ("claimant_count", 0.90), ("noise", -0.03)),
                  "Kent, as above (change +13,207)"),
    PlantedWindow("ae_attendances", None, "2021-12", "2022-12",
                  (("population", 0.07), ("mean_temperature", 0.45), ("flu_index", 0.49), ("noise", 0.0)),
                  "a cold December and an early, severe flu season (change +386,096)"),
    PlantedWindow("ae_attendances", "E10000018", "2021-12", "2022-12",
                  (("population", 0.04), ("mean_temperature", 0.51), ("flu_index", 0.37), ("noise", 0.08)),
                  "Leicestershire, a mid-size area, as above (change +5,928)"),
    PlantedWindow("ae_attendances", None, "2018-02", "2019-02",
                  (("population", -0.05), ("mean_temperature", 0.77), ("flu_index", 0.29), ("noise", -0.01)),
                  "the Beast from the East and the 2017-18 flu season unwind (change -233,829)"),
    PlantedWindow("ae_attendances", "E10000024", "2022-12", "2023-12",
                  (("population", -0.07), ("mean_temperature", 0.70), ("flu_index", 0.37), ("noise", 0.01)),
                  "Nottinghamshire: a mild December with little flu (change -5,028)"),
    PlantedWindow("ae_attendances", "E06000052", "2021-12", "2022-12",
                  (("population", 0.05), ("mean_temperature", 0.22), ("flu_index", 0.76), ("noise", -0.02)),
                  "Cornwall: mild winters, so flu dominates the cold (change +2,866)"),
    PlantedWindow("ae_attendances", None, "2024-07", "2025-01",
                  (("population", 0.18), ("mean_temperature", 1.87), ("flu_index", 2.07),
                   ("seasonality", -3.07), ("noise", -0.05)),
                  "summer to winter: seasonality offsets cold and flu; a hard case (change +66,740)"),
    PlantedWindow("uc_avg_award", "E08000025", "2021-11", "2021-12",
                  (("event", 1.0), ("noise", 0.0)),
                  "Birmingham: the taper cut, an event with no driver (change +£41.90)"),
)
"""Windows for engine tests, with planted shares (default seed) of the written change.

Drivers not listed (rainfall_mm always; seasonality and event unless listed) have a
planted contribution of exactly 0. A test can demand, e.g., each listed driver within
0.10 (linear) or 0.20 (nonlinear) of the change and rainfall within a few percent of 0.
"""


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoFiles:
    """What :func:`write_demo` wrote."""

    directory: Path
    manifest: Path
    files: tuple[Path, ...]  # data files, in manifest source order
    revised_file: Path  # the file that write_revision() replaces
    ground_truth: Path = field(default=Path("ground_truth.csv"))


def write_demo(directory: str | Path, *, seed: int = DEMO_SEED) -> DemoFiles:
    """Write vintage 1 of the demo: six data files, ``manifest.toml`` and ``ground_truth.csv``.

    The same seed always gives byte-identical files (no timestamps anywhere, fixed zip
    member dates), so a second load of unchanged files is a no-op for the loaders.
    """
    started = time.perf_counter()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sim = _simulation(seed)
    paths = {name: directory / name for name in (DWP_FILE, FY_FILE, AE_FILE, DFE_FILE, HO_FILE, ONS_FILE)}
    _write_dwp(sim, paths[DWP_FILE], sim.caseload)
    _write_fy_spend(sim, paths[FY_FILE])
    _write_ae(sim, paths[AE_FILE])
    _write_dfe(sim, paths[DFE_FILE])
    _write_home_office(sim, paths[HO_FILE])
    _write_ons(sim, paths[ONS_FILE])
    manifest = directory / "manifest.toml"
    manifest.write_text(_manifest_text(), encoding="utf-8")
    truth = directory / "ground_truth.csv"
    ground_truth(seed).to_csv(truth, index=False, lineterminator="\n")
    logger.info("wrote the demo data set (seed %d) to %s in %.2f s", seed, directory,
                time.perf_counter() - started)
    return DemoFiles(directory=directory, manifest=manifest, files=tuple(paths.values()),
                     revised_file=paths[DWP_FILE], ground_truth=truth)


def revised_caseload(seed: int = DEMO_SEED) -> np.ndarray:
    """Vintage-2 caseload: the last three months revised by 1-3% up or down in every area."""
    sim = _simulation(seed)
    rng = _rng(seed, "revision")
    shape = (N_LA, 3)
    factor = 1 + rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.01, 0.03, size=shape)
    revised = sim.caseload.copy()
    old = revised[:, -3:]
    new = np.rint(old * factor)
    new = np.where(new == old, old + np.sign(factor - 1), new)  # tiny areas still change
    revised[:, -3:] = new
    return revised


def write_revision(directory: str | Path, *, seed: int = DEMO_SEED) -> Path:
    """Overwrite the DWP monthly file with vintage 2: only the last three months change.

    Caseload is revised and spend recomputed (the identity still holds in every row);
    award, earlier months, row order and every other file are untouched.
    """
    path = Path(directory) / DWP_FILE
    _write_dwp(_simulation(seed), path, revised_caseload(seed))
    logger.info("wrote vintage 2 of %s (last three months revised)", path)
    return path
