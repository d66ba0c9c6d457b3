"""The demo's calendar, the parameters of the truth planted in it, the national profiles it is
built from, and the fixed places of its deliberately bad cells (see :mod:`loaders.demo`)."""
from __future__ import annotations

import numpy as np

from .areas import (
    LOCAL_AUTHORITIES,
    REGIONS,
    TYPE2_AREAS,
    TYPE3_ONLY_AREAS,
)

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
                 "2025-01": 62.0, "2026-08": 63.9, "2026-09": 69.0}  # September 2026: the new UTCs open
#: the forecast (loaders.series "forecast") of the last twelve months: the outturn, except that it did not
#: foresee the West Midlands closure (caseload 4% lower there in September 2026) and put every award
#: £2.50 a month lower (uprating assumed lower than it turned out), so outturn above forecast splits into
#: caseload (West Midlands) and award (everywhere) exactly
FORECAST_MONTHS = 12
FORECAST_CASELOAD_GAP = ("E12000005", "2026-09", 0.04)
FORECAST_AWARD_GAP_PENCE = 250
#: GDP deflator at market prices, financial years, 2024-25 = 100 (synthetic, close to the published path)
GDP_DEFLATOR = {"2016-17": 80.4, "2017-18": 81.9, "2018-19": 83.6, "2019-20": 85.6, "2020-21": 90.4,
                "2021-22": 90.1, "2022-23": 94.8, "2023-24": 98.7, "2024-25": 100.0, "2025-26": 102.6,
                "2026-27": 104.8}
#: a large employer closes in the West Midlands in September 2026: the region's claimant rate rises by half
#: that month (the briefing's planted concern; the A&E type 1 jump above is its improvement)
CLAIMANT_CLOSURE = ("E12000005", "2026-09", 0.5)
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
#: DWP's spring forecast of caseload, award and payments for the last year of the demo (series "forecast")
FORECAST_FILE = "dwp_uc_forecast_la_monthly.csv"
#: the GDP deflator by financial year (real terms)
DEFLATOR_FILE = "ons_gdp_deflator_fy.csv"
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
