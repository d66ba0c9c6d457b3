"""A money metric in cash, in real terms (prices of a stated year) or per head, with exact splits.

A metric declares a deflator (``deflator = "gdp_deflator"``, a price index loaded like any other
series, and ``prices_of``, the year whose prices real terms are in) and a population (``per_head =
"population"``). Then:

* **real terms**: ``real = cash × prices`` where ``prices = D(base) / D(t)`` (the deflator at the
  prices year over the deflator at the period). The real change splits exactly into the cash change
  and the change in prices, by the same Shapley accounting as any formula; and the *cash* change splits
  into the **real change** and **prices** (inflation): ``cash = real × D(t)/D(base)``, so ``real change
  + prices = cash change`` exactly (:func:`cash_split`).
* **per head**: ``per head = cash / population``, a ratio of sums: components cash and population,
  segments as mix and rate; the cash change splits into the per-head change and **population**.

:class:`MeasureContext` is a :class:`~explain.engine.MetricContext` whose values are the measured
ones and whose formula is ``cash * prices`` (or ``cash / population``), so every layer of an
explanation (verdict on the measured series, components, segments) runs unchanged and stays exact.
Driver models learn cash figures, so drivers are attributed only in cash.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from loaders.periods import PeriodError, parse_period
from loaders.series import split_code

from .data import WHOLE, metric_frame, metric_info
from .engine import MetricContext
from .errors import ExplainError
from .numbers import period_text
from .results import ComponentPart

CASH, REAL, PER_HEAD = "cash", "real", "per_head"
MEASURES = (CASH, REAL, PER_HEAD)
#: the measure in words, for choices and sentences
MEASURE_WORDS = {CASH: "cash", REAL: "real terms", PER_HEAD: "per head"}
#: the component names of the measured value's formula
PRICES, POPULATION, CASH_PART = "prices", "population", "cash"


def check_measure(measure: str | None) -> str:
    measure = (measure or CASH).strip().lower().replace("-", "_").replace(" ", "_")
    measure = {"real_terms": REAL, "perhead": PER_HEAD, "nominal": CASH}.get(measure, measure)
    if measure not in MEASURES:
        raise ExplainError(f"'{measure}' is not a measure: use cash, real (real terms) or per_head.")
    return measure


@dataclass(frozen=True)
class MeasureSpec:
    measure: str
    factor: str  # the deflator or population metric
    prices_of: str = ""  # real terms: the prices year, as a label of the deflator


#: money units in multiples of pounds: a per-head figure is written in pounds ('£m per month' -> '£ per
#: month per head', values times a million)
_MONEY_SCALES = (("£bn", 1e9), ("£m", 1e6), ("£k", 1e3), ("£000", 1e3))


def per_head_unit(unit: str) -> tuple[str, float]:
    """(unit of the per-head figure, factor from the cash unit to it): '£m per month' -> ('£ per month
    per head', 1e6); 'households' -> ('households per head', 1)."""
    for prefix, scale in _MONEY_SCALES:
        if unit.startswith(prefix) and (len(unit) == len(prefix) or unit[len(prefix)] == " "):
            return f"£{unit[len(prefix):]} per head", scale
    return (f"{unit} per head" if unit else "per head"), 1.0


def measured_formula(measure: str) -> str:
    """The formula a measured value splits by: 'cash * prices' (real terms) or 'cash / population'."""
    return f"{CASH_PART} * {PRICES}" if measure == REAL else f"{CASH_PART} / {POPULATION}"


class MeasureContext(MetricContext):
    """The values of ``cash`` (a context of the metric in cash) in real terms or per head."""

    def __init__(self, cash: MetricContext, measure: str, prices_of: str | None = None) -> None:
        measure = check_measure(measure)
        base = split_code(cash.info.code)[0]
        declared = cash.store.measures(base)
        factor = declared["deflator"] if measure == REAL else declared["per_head"]
        if not factor:
            key = "deflator" if measure == REAL else "per_head"
            raise ExplainError(f"{base} has no {key} in its manifest, so it cannot be shown "
                               f"{MEASURE_WORDS[measure]}. Add {key} = \"<metric code>\" to its [[metric]] entry.")
        try:
            self.factor_info = metric_info(cash.store, factor)
        except ExplainError:
            raise ExplainError(f"{base}'s {'deflator' if measure == REAL else 'population'} metric '{factor}' has "
                               "no data in this store. Load its source first.") from None
        self.cash, self.store, self.as_at = cash, cash.store, cash.as_at
        self.measure_spec = MeasureSpec(measure, factor, prices_of or declared["prices_of"])
        info = cash.info
        self.scale = 1.0
        if measure == REAL:
            self.prices_label = self._prices_label()
            measured = replace(info, name=f"{info.name} in real terms ({period_text(self.prices_label)} prices)",
                               aggregation="sum" if info.aggregation == "sum" else "formula",
                               formula=measured_formula(REAL))
        else:
            self.prices_label = ""
            unit, self.scale = per_head_unit(info.unit)
            measured = replace(info, name=f"{info.name} per head", unit=unit, aggregation="formula",
                               formula=measured_formula(PER_HEAD))
        super().__init__(cash.store, measured, cash.tree, cash.as_at, first_published=cash.first_published)

    # the factor -----------------------------------------------------------------------------
    @cached_property
    def _factor_frame(self) -> pd.DataFrame:
        frame = metric_frame(self.store, self.factor_info, as_at=self.as_at)
        if frame.empty:
            raise ExplainError(f"{self.measure_spec.factor} has no data in this store. Load its source first.")
        return frame

    def _prices_label(self) -> str:
        frame = self._factor_frame
        whole = frame[frame["area"] == WHOLE] if (frame["area"] == WHOLE).any() else frame
        latest = whole.sort_values("start")["period"].iloc[-1]
        return self.measure_spec.prices_of or str(latest)

    @cached_property
    def base_level(self) -> float:
        """The deflator in the prices year: its value there, or the mean of its values within it."""
        frame = self._factor_frame
        whole = frame[frame["area"] == WHOLE] if (frame["area"] == WHOLE).any() else frame
        exact = whole[whole["period"] == self.prices_label]
        if not exact.empty:
            return float(exact["value"].iloc[0])
        try:
            year = parse_period(self.prices_label, prefer=self.factor_info.frequency or None)
        except PeriodError:
            year = parse_period(self.prices_label)
        starts = pd.to_datetime(whole["start"]).dt.date
        inside = whole[(starts >= year.start) & (starts <= year.end)]
        if inside.empty:
            raise ExplainError(f"The deflator {self.measure_spec.factor} has no value in {self.prices_label}, the year whose "
                               "prices were asked for. Choose a year it covers.")
        return float(inside["value"].mean())

    def _factor_of(self, areas: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """prices (D(base)/D(t)) or population for each (area, period start): the factor period that
        contains the start; the deflator is the whole's (one price level), the population the area's own."""
        frame = self._factor_frame
        freq = self.factor_info.frequency
        mapped = {st: parse_period(st, prefer=freq).start.isoformat() if freq else st for st in set(starts.tolist())}
        keys = np.array([mapped[st] for st in starts], dtype=object)
        if self.measure_spec.measure == REAL:
            whole = frame[frame["area"] == WHOLE] if (frame["area"] == WHOLE).any() else frame
            level = dict(zip(whole["start"], whole["value"].astype(float)))
            return np.array([self.base_level / level[k] if level.get(k) else math.nan for k in keys])
        level = dict(zip(zip(frame["area"], frame["start"]), frame["value"].astype(float)))
        return np.array([level.get((a, k), math.nan) for a, k in zip(areas, keys)])

    # the measured values ---------------------------------------------------------------------
    @cached_property
    def values(self) -> pd.DataFrame:
        frame = self.cash.values
        factor = self._factor_of(frame["area"].to_numpy(), frame["start"].to_numpy())
        measured = frame["value"].to_numpy(dtype=float) * factor if self.measure_spec.measure == REAL \
            else frame["value"].to_numpy(dtype=float) * self.scale / factor
        out = frame.assign(value=measured)
        out = out[np.isfinite(out["value"].to_numpy(dtype=float))]
        if out.empty:
            raise ExplainError(f"{self.measure_spec.factor} has no values for the periods of {self.cash.info.code}, so it "
                               f"cannot be shown {MEASURE_WORDS[self.measure_spec.measure]}.")
        return out

    @cached_property
    def _factor_lookup(self) -> dict[tuple[str, str], float]:
        frame = self.values
        factor = self._factor_of(frame["area"].to_numpy(), frame["start"].to_numpy())
        return dict(zip(zip(frame["area"], frame["period"]), factor.tolist()))

    @cached_property
    def _component_lookup(self) -> dict[str, dict[tuple[str, str], float]]:
        name = PRICES if self.measure_spec.measure == REAL else POPULATION
        scale = self.scale
        cash = {key: v * scale for key, v in self.cash._lookup.items() if key in self._factor_lookup}
        return {CASH_PART: cash, name: dict(self._factor_lookup)}

    def breakdown_lookup(self, area: str, by: str) -> dict[tuple[str, str, str], float]:
        if self.measure_spec.measure == PER_HEAD:
            raise ExplainError("Population is not published by breakdown, so a per-head figure cannot be split by "
                               f"'{by}'. Split it by areas, or choose cash or real terms.")
        out = {}
        for (code, segment, period), value in self.cash.breakdown_lookup(area, by).items():
            if code != self.cash.info.code:
                continue
            k = self._factor_lookup.get((area, period))
            if k is None:
                continue
            out[(self.info.code, segment, period)] = value * k
            out[(CASH_PART, segment, period)] = value
            out[(PRICES, segment, period)] = k
        return out

    def first_value(self, area: str, period: str) -> float | None:
        return None

    def _metric_name(self, code: str) -> str:
        """The measured value's parts, in words: 'cash payments', 'prices', 'resident population'."""
        if code == CASH_PART:
            return "the cash figure"
        if code == PRICES:
            return "prices (inflation)"
        return super()._metric_name(self.measure_spec.factor if code == POPULATION else code)

    def _drivers(self, area, period_from, period_to, change, notes):
        if self.cash.model_version is not None:
            notes.append(f"The driver model learns {self.cash.info.name.lower()} in cash, so drivers are attributed "
                         "in the cash explanation only.")
        return (), change, None, (), ()

    def cash_split(self, area: str, period_from: str, period_to: str) -> tuple[ComponentPart, ...]:
        """The cash change of ``area`` split exactly into the measured change and the factor:
        real change + prices, or per-head change + population (two-factor Shapley)."""
        c_a, c_b = self.cash.value(area, period_from), self.cash.value(area, period_to)
        m_a, m_b = self.value(area, period_from), self.value(area, period_to)
        if None in (c_a, c_b, m_a, m_b):
            return ()
        scale = self.scale
        return cash_split(self.measure_spec.measure, c_a, c_b, m_a / scale, m_b / scale)

    def explain(self, area: str, period_from: str, period_to: str, *, by: str | None = None):
        result = super().explain(area, period_from, period_to, by=by)
        return measured_result(result, self.measure_spec, self.prices_label,
                               self.cash_split(area, period_from, period_to), self.cash.info.unit)


def cash_split(measure: str, c_a: float, c_b: float, m_a: float, m_b: float) -> tuple[ComponentPart, ...]:
    """``cash = measured × other``: the other factor is the price level relative to the prices year
    (real terms) or the population (per head). Shapley for a product of two: each factor's change
    times the mean of the other's two values; the parts add up to ``c_b - c_a``."""
    o_a, o_b = c_a / m_a, c_b / m_b
    first = (m_b - m_a) * (o_a + o_b) / 2
    second = (o_b - o_a) * (m_a + m_b) / 2
    names = ("Real change", "Prices") if measure == REAL else ("Change per head", "Population")
    return (ComponentPart(names[0], first, m_a, m_b), ComponentPart(names[1], second, o_a, o_b))


def measured_result(result, spec: MeasureSpec, prices_label: str, split: tuple[ComponentPart, ...],
                    cash_unit: str):
    """The explanation with its measure, prices year and cash split, and a sentence on the split."""
    from . import narrative

    parts = list(result.narrative_parts)
    if split and result.change is not None:
        cash_change = math.fsum(p.contribution for p in split)
        sentence = narrative.measure_sentence(spec.measure, split, cash_change, cash_unit)
        at = next((i for i, (name, _) in enumerate(parts) if name == "verdict"), len(parts) - 1) + 1
        parts.insert(at, ("measure", sentence))
    return replace(result, measure=spec.measure, prices_of=prices_label, measure_parts=split, cash_unit=cash_unit,
                   narrative_parts=tuple(parts), narrative=narrative.text_of(parts))


def measures_of(store, metric: str) -> dict[str, str]:
    """The measures ``metric`` can be shown in, each with its words for a choice: cash always, real
    terms when it declares a deflator ('real terms (2025-26 prices)'), per head when it declares a
    population."""
    declared = store.measures(metric)
    out = {CASH: "Cash"}
    if declared["deflator"]:
        year = f" ({period_text(declared['prices_of'])} prices)" if declared["prices_of"] else ""
        out[REAL] = f"Real terms{year}"
    if declared["per_head"]:
        out[PER_HEAD] = "Per head of population"
    return out
