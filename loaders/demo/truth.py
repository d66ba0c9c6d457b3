"""The truth planted in the demo: the ground-truth table, the series with and without noise, and the
exact contribution of each planted driver to any movement (:func:`planted_contributions`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from .areas import (
    ENGLAND_CODE,
    LOCAL_AUTHORITIES,
)
from .parameters import (
    _LA_INDEX,
    _MONTH_INDEX,
    _MONTH_NAMES,
    AE_ADMIT_COLD,
    AE_ADMIT_TYPE1,
    AE_BASE_RATE,
    AE_COLD_GAMMA,
    AE_COVID,
    AE_FLU_BETA,
    AE_PRESSURE_KAPPA,
    AE_SEASONALITY,
    ASYLUM_CLEARANCE_PEAK,
    AWARD_UPRATING,
    BETA_CLAIMANT_COUNT,
    BETA_POPULATION_16_64,
    DEMO_SEED,
    MONTHS,
    N_LA,
    TAPER_CUT_GAIN,
    UPLIFT_20_A_WEEK,
)
from .simulate import _Simulation, _simulation

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
        bracket = AE_BASE_RATE + cast(np.ndarray, sum(sim.ae_terms.values()))[rows]
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
                  (("population_16_64", 0.10), ("claimant_count", 0.90), ("noise", 0.0)),
                  "population growth, managed migration and the September 2026 West Midlands closure "
                  "(change +534,359)"),
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
