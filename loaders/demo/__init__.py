"""The bundled demo data set: real files, a manifest, and the truth planted in them.

Why this exists: an explanation engine can only be tested against movements whose causes
are known. This module writes a deterministic, realistic multi-department data set (CSV,
XLSX and ODS files as government publishes them, with title rows, notes, shorthand and a
few bad rows) plus ``manifest.toml`` and ``ground_truth.csv``, and it can say exactly how
much of any movement each planted driver caused (:func:`planted_contributions`).

Everything is synthetic. Areas are the real England hierarchy: England, the nine regions
and the 153 upper-tier local authorities (real GSS codes, 2023 boundaries; see
:mod:`loaders.demo.areas`). Monthly series run from 2017-01 to 2026-09 (117 months;
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

Plan and prices (issue 10): ``dwp_uc_forecast_la_monthly.csv`` is DWP's forecast (manifest ``series =
"forecast"``) of caseload, award and payments for the last twelve months: the first-published outturn
except that every award is £2.50 a month lower (``FORECAST_AWARD_GAP_PENCE``) and, in September 2026,
West Midlands caseloads are 4% lower (``FORECAST_CASELOAD_GAP``: the closure was not foreseen).
Outturn as first published minus forecast is therefore exactly those differences (``forecast_values``);
against the latest outturn it also carries the revision of the last three months.
``ons_gdp_deflator_fy.csv`` is the GDP deflator by financial year (``GDP_DEFLATOR``, 2024-25 = 100):
``uc_spend``, ``uc_avg_award`` and ``dwp_fy_spend`` declare it (real terms in 2025-26 prices) and
``uc_spend`` declares ``population`` for per-head figures.

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

The package, module by module: :mod:`~loaders.demo.areas` (the real England hierarchy),
:mod:`~loaders.demo.parameters` (calendar, planted parameters, bad cells),
:mod:`~loaders.demo.simulate` (the panel), :mod:`~loaders.demo.files` (CSV/XLSX/ODS writers),
:mod:`~loaders.demo.manifest` (``manifest.toml``), :mod:`~loaders.demo.truth` (ground truth and
planted contributions), :mod:`~loaders.demo.write` (the folder and its revision) and
:mod:`~loaders.demo.load` (loading it through the real loaders, two vintages).
"""
from __future__ import annotations

from .files import forecast_values
from .load import DemoSummary, run_demo
from .parameters import (
                         AE_FILE,
                         ASYLUM_BACKLOG_START,
                         BETA_CLAIMANT_COUNT,
                         BETA_POPULATION_16_64,
                         DEFLATOR_FILE,
                         DEMO_SEED,
                         DFE_FILE,
                         DWP_FILE,
                         EXPECTED_QUARANTINE,
                         FORECAST_AWARD_GAP_PENCE,
                         FORECAST_CASELOAD_GAP,
                         FORECAST_FILE,
                         FY_FILE,
                         GDP_DEFLATOR,
                         HO_FILE,
                         MONTHS,
                         ONS_FILE,
                         TAPER_CUT_GAIN,
)
from .truth import RECOMMENDED_WINDOWS, PlantedWindow, demo_series, ground_truth, planted_contributions
from .write import DemoFiles, revised_caseload, write_demo, write_revision

__all__ = [
    "AE_FILE", "ASYLUM_BACKLOG_START", "BETA_CLAIMANT_COUNT", "BETA_POPULATION_16_64", "DEFLATOR_FILE", "DEMO_SEED",
    "DFE_FILE", "FORECAST_AWARD_GAP_PENCE", "FORECAST_CASELOAD_GAP", "FORECAST_FILE", "GDP_DEFLATOR", "forecast_values",
    "DWP_FILE", "DemoFiles", "DemoSummary", "EXPECTED_QUARANTINE", "FY_FILE", "HO_FILE", "MONTHS", "ONS_FILE",
    "PlantedWindow", "RECOMMENDED_WINDOWS", "TAPER_CUT_GAIN", "demo_series", "ground_truth", "planted_contributions",
    "revised_caseload", "run_demo", "write_demo", "write_revision",
]
