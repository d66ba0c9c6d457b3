"""L3: which segments (child areas, or values of a breakdown) moved the parent, and how.

* Sum metrics: a segment's contribution is its own change (a segment missing in a period
  counts as 0 there). If a published parent total differs from the sum of its children
  (suppression, rounding, unallocated records), one "residual" segment carries the gap so
  the parts still add up exactly to the published change.
* Ratio metrics, R = scale·ΣN/ΣD = Σ wᵢ rᵢ with wᵢ = Dᵢ/ΣD and rᵢ = scale·Nᵢ/Dᵢ: each
  segment's contribution is split into mix (its share of the denominator moved) and rate
  (its own rate moved): mixᵢ = Δwᵢ·(r̄ᵢ − R̄), rateᵢ = Δrᵢ·w̄ᵢ, bars being the averages of
  the two periods. Because Σwᵢ = 1 in both periods, Σ(mixᵢ + rateᵢ) = Rᴮ − Rᴬ exactly.
  Measuring mix against R̄ (not 0) means a segment that grows while having an average rate
  gets no credit: only moving weight towards above- or below-average segments shifts R.
* Mean metrics (parent = plain mean of the children) are the ratio case with Dᵢ = 1.

Sums use :func:`math.fsum` (exactly rounded), so the order in which segments arrive cannot
change any value; the output order (largest |contribution| first, ties by name) is only
for reading.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from explain.errors import ExplainError

__all__ = ["SegmentContribution", "SegmentSplit", "sum_segments", "ratio_segments", "mean_segments"]

_NOISE = 1e-9  # relative gap between a published parent and its children treated as rounding


@dataclass(frozen=True)
class SegmentContribution:
    """One segment's values and its part of the parent's change.

    For sum metrics ``value_from``/``value_to`` are the segment's values; for ratio and mean
    metrics they are the segment's own rate (None in a period where it is absent) and
    ``weight_from``/``weight_to`` its share of the denominator.
    """

    segment: str
    value_from: float | None
    value_to: float | None
    contribution: float
    mix: float | None = None
    rate: float | None = None
    weight_from: float | None = None
    weight_to: float | None = None
    presence: str = "both"  # 'both' | 'from_only' | 'to_only' | 'residual'

    def to_dict(self) -> dict[str, Any]:
        return {key: _json(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class SegmentSplit:
    """The parent's change split over segments; Σ contribution = change."""

    method: str  # 'sum' | 'ratio' | 'mean'
    parent_from: float
    parent_to: float
    change: float
    segments: tuple[SegmentContribution, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (None for missing or non-finite numbers)."""
        return {
            "method": self.method,
            "parent_from": _json(self.parent_from),
            "parent_to": _json(self.parent_to),
            "change": _json(self.change),
            "segments": [s.to_dict() for s in self.segments],
        }


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: Any, what: str) -> float | None:
    """float(value), None for missing (None or nan); a non-number is an ExplainError."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ExplainError(f"{what} is not a number ({value!r}).") from None
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise ExplainError(f"{what} is infinite.")
    return number


def _clean(values: Mapping[Any, Any], what: str) -> dict[str, float]:
    """Segment → finite value; missing values (None, nan) are dropped: the segment is absent."""
    out: dict[str, float] = {}
    for key, value in values.items():
        name = str(key)
        if name in out:
            raise ExplainError(f"The segment '{name}' appears twice in the {what}.")
        number = _number(value, f"The {what} for segment '{name}'")
        if number is not None:
            out[name] = number
    return out


def _presence(in_from: bool, in_to: bool) -> str:
    if in_from and in_to:
        return "both"
    return "from_only" if in_from else "to_only"


def _ordered(segments: list[SegmentContribution]) -> tuple[SegmentContribution, ...]:
    return tuple(sorted(segments, key=lambda s: (-abs(s.contribution), s.segment)))


def sum_segments(
    values_from: Mapping[str, float],
    values_to: Mapping[str, float],
    *,
    parent_from: float | None = None,
    parent_to: float | None = None,
    residual_label: str = "Not allocated to a segment",
) -> SegmentSplit:
    """Split a sum metric's change: contributionᵢ = Δ childᵢ (a missing side counts as 0).

    Without a published parent the parent is the sum of the children. With one (either
    side; the other defaults to the sum of children), a gap beyond rounding noise on either
    side adds one 'residual' segment whose values are the gaps, so the contributions add up
    to the published parent's change.
    """
    a = _clean(values_from, "from values")
    b = _clean(values_to, "to values")
    names = sorted(set(a) | set(b))
    if not names and parent_from is None and parent_to is None:
        raise ExplainError("There are no segment values to split the change over.")
    segments = [
        SegmentContribution(
            segment=name,
            value_from=a.get(name),
            value_to=b.get(name),
            contribution=b.get(name, 0.0) - a.get(name, 0.0),
            presence=_presence(name in a, name in b),
        )
        for name in names
    ]
    sum_from, sum_to = math.fsum(a.values()), math.fsum(b.values())
    p_from = _number(parent_from, "The published parent value (from)")
    p_to = _number(parent_to, "The published parent value (to)")
    p_from = sum_from if p_from is None else p_from
    p_to = sum_to if p_to is None else p_to
    gap_from, gap_to = p_from - sum_from, p_to - sum_to
    noise_from = _NOISE * max(abs(p_from), math.fsum(abs(v) for v in a.values()), 1e-300)
    noise_to = _NOISE * max(abs(p_to), math.fsum(abs(v) for v in b.values()), 1e-300)
    if abs(gap_from) > noise_from or abs(gap_to) > noise_to:
        if residual_label in names:
            raise ExplainError(f"A segment is already called '{residual_label}'; choose another residual label.")
        segments.append(
            SegmentContribution(
                segment=residual_label,
                value_from=gap_from,
                value_to=gap_to,
                contribution=gap_to - gap_from,
                presence="residual",
            )
        )
    return SegmentSplit("sum", p_from, p_to, p_to - p_from, _ordered(segments))


def _period(
    num: dict[str, float], den: dict[str, float], scale: float, side: str
) -> tuple[dict[str, float], dict[str, float], float, float]:
    """Rates and denominators of the segments present in one period, with the totals.

    A segment is present when it has a non-zero denominator. Zero over zero means absent
    (weight 0); a non-zero numerator over a zero denominator cannot be written as wᵢrᵢ,
    so it is an error rather than a silent break of the identity.
    """
    rates: dict[str, float] = {}
    dens: dict[str, float] = {}
    for name in sorted(set(num) | set(den)):
        if (name in num) != (name in den):
            which = "numerator" if name in num else "denominator"
            other = "denominator" if name in num else "numerator"
            raise ExplainError(f"The segment '{name}' has a {which} but no {other} in the {side} period.")
        n, d = num[name], den[name]
        if d == 0:
            if n != 0:
                raise ExplainError(
                    f"The segment '{name}' has a numerator of {n:,} over a denominator of 0 in the {side} period."
                )
            continue
        rates[name] = scale * n / d
        dens[name] = d
    total_den = math.fsum(dens.values())
    if total_den == 0:
        raise ExplainError(f"The denominators add up to zero in the {side} period, so the ratio has no value.")
    total_num = math.fsum(num[name] for name in dens)
    return rates, dens, total_num, total_den


def _mix_rate(method: str, num_from: Mapping[str, float], den_from: Mapping[str, float],
              num_to: Mapping[str, float], den_to: Mapping[str, float], scale: float) -> SegmentSplit:
    scale_value = _number(scale, "The scale")
    if scale_value is None:
        raise ExplainError("The scale must be a number.")
    rates_a, dens_a, n_a, d_a = _period(_clean(num_from, "from numerators"), _clean(den_from, "from denominators"),
                                        scale_value, "from")
    rates_b, dens_b, n_b, d_b = _period(_clean(num_to, "to numerators"), _clean(den_to, "to denominators"),
                                        scale_value, "to")
    parent_a = scale_value * n_a / d_a
    parent_b = scale_value * n_b / d_b
    parent_mean = 0.5 * (parent_a + parent_b)
    segments: list[SegmentContribution] = []
    for name in sorted(set(rates_a) | set(rates_b)):
        in_a, in_b = name in rates_a, name in rates_b
        # A segment absent in one period takes the other period's rate there: its effect is all mix.
        r_a = rates_a[name] if in_a else rates_b[name]
        r_b = rates_b[name] if in_b else rates_a[name]
        w_a = dens_a[name] / d_a if in_a else 0.0
        w_b = dens_b[name] / d_b if in_b else 0.0
        mix = (w_b - w_a) * (0.5 * (r_a + r_b) - parent_mean)
        rate = (r_b - r_a) * 0.5 * (w_a + w_b)
        segments.append(
            SegmentContribution(
                segment=name,
                value_from=rates_a.get(name),
                value_to=rates_b.get(name),
                contribution=mix + rate,
                mix=mix,
                rate=rate,
                weight_from=w_a,
                weight_to=w_b,
                presence=_presence(in_a, in_b),
            )
        )
    return SegmentSplit(method, parent_a, parent_b, parent_b - parent_a, _ordered(segments))


def ratio_segments(
    num_from: Mapping[str, float],
    den_from: Mapping[str, float],
    num_to: Mapping[str, float],
    den_to: Mapping[str, float],
    *,
    scale: float = 1.0,
) -> SegmentSplit:
    """Mix versus rate for R = scale·ΣN/ΣD over segments (see the module docstring).

    Segments with no values in a period, or 0/0, are absent there (weight 0; rate taken
    from the other period, so their whole effect is mix). A zero total denominator in
    either period is an ExplainError.
    """
    return _mix_rate("ratio", num_from, den_from, num_to, den_to, scale)


def mean_segments(values_from: Mapping[str, float], values_to: Mapping[str, float]) -> SegmentSplit:
    """Mix versus rate when the parent is the plain mean of its children (Dᵢ = 1).

    Here "mix" is the effect of a child joining or leaving (weights 1/n change), "rate"
    that of its value moving.
    """
    a = _clean(values_from, "from values")
    b = _clean(values_to, "to values")
    if not a or not b:
        side = "from" if not a else "to"
        raise ExplainError(f"There are no segment values in the {side} period, so the mean has no value.")
    return _mix_rate("mean", a, {name: 1.0 for name in a}, b, {name: 1.0 for name in b}, 1.0)
