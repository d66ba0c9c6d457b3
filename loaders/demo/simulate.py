"""Simulating the demo panel from its planted parameters: deterministic for a seed."""
from __future__ import annotations

import logging
import math
import time
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

import numpy as np

from .areas import (
    CLIMATE_OVERRIDES,
    LOCAL_AUTHORITIES,
    REGIONS,
    TYPE2_AREAS,
    TYPE3_ONLY_AREAS,
)
from .parameters import (
    _AE_BAD,
    _AE_HEADER,
    _AE_NOT_AVAILABLE,
    _AE_TYPES,
    _KINDS,
    _LA_INDEX,
    _MONTH_INDEX,
    _MONTH_OF_YEAR,
    _ONS_BAD,
    _YEARS,
    ACADEMIC_YEARS,
    AE_ADMIT_COLD,
    AE_ADMIT_TYPE1,
    AE_ADMIT_TYPE2,
    AE_BASE_RATE,
    AE_COLD_GAMMA,
    AE_COLD_THRESHOLD,
    AE_COVID,
    AE_FLU_BETA,
    AE_NOISE,
    AE_PRESSURE_KAPPA,
    AE_SEASONALITY,
    AE_TYPE1_BASE,
    AE_TYPE2_SHARE,
    AE_TYPE3_SHARE,
    ASYLUM_APPLICATIONS,
    ASYLUM_BACKLOG_START,
    ASYLUM_CLEARANCE,
    ASYLUM_CLEARANCE_PEAK,
    ASYLUM_DECISIONS,
    AWARD_BASE,
    AWARD_NOISE,
    AWARD_UPRATING,
    BETA_CLAIMANT_COUNT,
    BETA_POPULATION_16_64,
    CASELOAD_NOISE,
    CHILD_SHARE,
    CLAIMANT_BASE,
    CLAIMANT_CLOSURE,
    CLAIMANT_COVID,
    COVID_CLAIMANT_SENSITIVITY,
    FINANCIAL_YEARS,
    FLU_BASELINE,
    FLU_BASELINE_COVID,
    FLU_SEASONS,
    LA_CODES,
    MONTHS,
    N_LA,
    N_MONTHS,
    POPULATION_GROWTH,
    SHARE_16_64,
    TAPER_CUT_GAIN,
    TEMPERATURE_ANOMALY,
    UPLIFT_20_A_WEEK,
    _ae_types_of,
)

logger = logging.getLogger(__name__)


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


def _anchored(anchors: Mapping[str, float]) -> np.ndarray:
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
    closure_region, closure_month, closure_rise = CLAIMANT_CLOSURE
    in_region = np.array([REGIONS[r].code == closure_region for r in region])
    rate[in_region, _MONTH_INDEX[closure_month]:] *= 1 + closure_rise
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
