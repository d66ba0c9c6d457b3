"""The demo's departments, metrics, sources, models and events, written out as ``manifest.toml``."""
from __future__ import annotations

from .areas import (
    ENGLAND_CODE,
    ENGLAND_NAME,
    LOCAL_AUTHORITIES,
    REGIONS,
)
from .parameters import (
    AE_FILE,
    CLAIMANT_CLOSURE,
    DEFLATOR_FILE,
    DFE_FILE,
    DWP_FILE,
    FORECAST_FILE,
    FY_FILE,
    HO_FILE,
    ONS_FILE,
)

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
    ("gdp_deflator", "GDP deflator", "ONS", "index (2024-25 = 100)", "mean", None, "",
     "GDP deflator at market prices, financial years: the price level real terms are measured against."),
    ("rainfall_mm", "Rainfall", "ONS", "mm", "mean", None, "",
     "Monthly rainfall total (Met Office gridded observations, area mean)."),
    ("mean_temperature", "Mean air temperature", "ONS", "°C", "mean", None, "",
     "Monthly mean air temperature (Met Office gridded observations, area mean)."),
    ("flu_index", "Influenza-like illness consultation rate", "ONS", "per 100,000", "mean", False, "",
     "GP consultations for influenza-like illness per 100,000 residents (UKHSA surveillance)."),
)

#: real terms and per head (explain.measures): a money metric's deflator, prices year and population
MEASURES: dict[str, dict[str, str]] = {
    "uc_spend": {"deflator": "gdp_deflator", "prices_of": "2025-26", "per_head": "population"},
    "uc_avg_award": {"deflator": "gdp_deflator", "prices_of": "2025-26"},
    "dwp_fy_spend": {"deflator": "gdp_deflator", "prices_of": "2025-26"},
}

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
    ("2026-09", "Closure of a West Midlands car maker and its suppliers",
     "Tens of thousands of jobs lost across the West Midlands in September 2026; the region's claimant "
     "count rose by about half.",
     ("claimant_count", "uc_caseload", "uc_spend")),
    ("2026-09", "New urgent treatment centres open",
     "Urgent treatment centres beside major A&E departments take minor cases from September 2026.",
     ("ae_4h_pct", "ae_within_4h")),
)

#: the areas an event touches (events not listed touch every area of their metrics)
EVENT_AREAS: dict[str, tuple[str, ...]] = {
    "Closure of a West Midlands car maker and its suppliers": (CLAIMANT_CLOSURE[0],),
}


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
        {"id": "dwp-uc-forecast", "department": "DWP",
         "title": "Universal Credit forecast (spring): households, average award and payments by local authority",
         "path": FORECAST_FILE, "format": "csv", "layout": "long", "series": "forecast", "period_column": "month",
         "area_column": "la_code", "area_name_column": "la_name", "metric_column": "measure",
         "value_column": "value"},
        {"id": "ons-gdp-deflator", "department": "ONS", "title": "GDP deflator at market prices, financial years",
         "path": DEFLATOR_FILE, "format": "csv", "layout": "wide", "period_column": "Financial year",
         "period_frequency": "financial_year", "area": ENGLAND_CODE,
         "value_columns": {"GDP deflator (2024-25 = 100)": "gdp_deflator"}},
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
                                        "shared": True if dept == "ONS" else None, **MEASURES.get(code, {})}))
    blocks += [_table("source", source) for source in _sources()]
    blocks += [_table("model", model) for model in MODELS]
    blocks += [_table("event", {"period": p, "title": t, "description": d, "metrics": list(m),
                                "areas": list(EVENT_AREAS[t]) if t in EVENT_AREAS else None})
               for p, t, d, m in EVENTS]
    return "\n\n".join(blocks) + "\n"
