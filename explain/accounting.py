"""L2: exact factor accounting — how much of a formula metric's change each component made.

Every split here is the Shapley value of the game "switch these components from period A
to period B", so the parts always add up to f(B) − f(A) and an unchanged component gets
exactly zero. For the common shapes the Shapley value has a closed form, which is cheaper
and free of the 2^K evaluations:

* linear (``a + b - 2 * c``): coefficient × Δ;
* ratio ``c * N / D`` with N linear and D linear in one component that N does not use:
  φ(x in N) = c·aₓ·Δx·½(1/Dᴬ + 1/Dᴮ), φ(D's component) = c·Δ(1/D)·½(Nᴬ + Nᴮ);
* product ``c * x1^p1 * … * xK^pK`` with K ≤ 3 (docs/method.md's K = 2 and K = 3 forms, applied
  to gᵢ = xᵢ^pᵢ, which is still exact Shapley because each factor depends on one player);
* anything else, products with K > 3 included: exact Shapley over the components with
  2^K evaluations (K ≤ 12).

A ratio whose denominator uses several components (``a / (b + c)``) or shares components
with the numerator (``100 * (capacity - pupils) / capacity``) goes to the exact Shapley
route: the two-part ratio formula would no longer be the Shapley value over components.
Constants are never players; a component used several times is one player.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from explain.errors import AdditivityError, ExplainError
from loaders.formula import Formula, parse_formula

__all__ = ["Accounting", "ComponentContribution", "account", "account_many", "MAX_SHAPLEY_COMPONENTS"]

MAX_SHAPLEY_COMPONENTS = 12
_RTOL = 1e-9

_Arrays = dict[str, np.ndarray]


@dataclass(frozen=True)
class ComponentContribution:
    """One component's values in the two periods and its share of the change."""

    component: str
    value_from: float
    value_to: float
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "value_from": _json_float(self.value_from),
            "value_to": _json_float(self.value_to),
            "contribution": _json_float(self.contribution),
        }


@dataclass(frozen=True)
class Accounting:
    """The exact split of a formula metric's change; Σ contributions = change."""

    formula: str
    value_from: float
    value_to: float
    change: float
    components: tuple[ComponentContribution, ...]
    method: str  # 'product' | 'ratio' | 'linear' | 'shapley'

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (floats, None for non-finite)."""
        return {
            "formula": self.formula,
            "method": self.method,
            "value_from": _json_float(self.value_from),
            "value_to": _json_float(self.value_to),
            "change": _json_float(self.change),
            "components": [c.to_dict() for c in self.components],
        }


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _as_formula(formula: str | Formula) -> Formula:
    if isinstance(formula, Formula):
        return formula
    if isinstance(formula, str):
        return parse_formula(formula)
    raise ExplainError(f"A formula must be text, not {type(formula).__name__}.")


# --------------------------------------------------------------------------- the splits
def _power(x: np.ndarray, p: float) -> np.ndarray:
    """x ** p with the formula's convention that a division by zero is nan."""
    if p == 1.0:
        return x
    with np.errstate(all="ignore"):
        if p < 0:
            return np.where(x == 0, np.nan, np.power(x, p))
        return np.power(x, p)


def _reciprocal(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(x == 0, np.nan, 1.0 / np.where(x == 0, 1.0, x))


def _linear_split(coefs: Mapping[str, float], A: _Arrays, B: _Arrays) -> _Arrays:
    return {name: coef * (B[name] - A[name]) for name, coef in coefs.items()}


def _simple_ratio(formula: Formula) -> tuple[Formula, Formula, float] | None:
    """ratio_parts when the two-part ratio formula equals the Shapley value over components."""
    parts = formula.ratio_parts()
    if parts is None:
        return None
    num, den, coef = parts
    if len(den.components) != 1 or den.components[0] in num.components or not num.components:
        return None
    return num, den, coef


def _ratio_split(num: Formula, den: Formula, coef: float, A: _Arrays, B: _Arrays) -> _Arrays:
    num_coefs, _ = num.linear_coefficients()  # linear by construction
    inv_a = _reciprocal(np.asarray(den.evaluate(A), dtype=float))
    inv_b = _reciprocal(np.asarray(den.evaluate(B), dtype=float))
    half_inv = 0.5 * (inv_a + inv_b)
    parts = {name: coef * a * (B[name] - A[name]) * half_inv for name, a in num_coefs.items()}
    num_mean = 0.5 * (np.asarray(num.evaluate(A), dtype=float) + np.asarray(num.evaluate(B), dtype=float))
    parts[den.components[0]] = coef * (inv_b - inv_a) * num_mean
    return parts


def _product_split(coef: float, powers: Mapping[str, float], A: _Arrays, B: _Arrays) -> _Arrays:
    """Closed-form Shapley for coef * Π gᵢ(xᵢ), gᵢ = xᵢ^pᵢ, with at most 3 active factors."""
    active = [name for name, p in powers.items() if p != 0]
    zero = np.zeros_like(next(iter(A.values()))) if A else np.zeros(0)
    parts: _Arrays = {name: zero.copy() for name in powers}
    ga = {name: _power(A[name], powers[name]) for name in active}
    gb = {name: _power(B[name], powers[name]) for name in active}
    with np.errstate(all="ignore"):
        if len(active) == 1:
            (x,) = active
            parts[x] = coef * (gb[x] - ga[x])
        elif len(active) == 2:
            x, y = active
            parts[x] = coef * (gb[x] - ga[x]) * 0.5 * (ga[y] + gb[y])
            parts[y] = coef * (gb[y] - ga[y]) * 0.5 * (ga[x] + gb[x])
        elif len(active) == 3:
            for i, name in enumerate(active):
                y, z = active[(i + 1) % 3], active[(i + 2) % 3]
                same = (ga[y] * ga[z] + gb[y] * gb[z]) / 3.0
                mixed = (ga[y] * gb[z] + gb[y] * ga[z]) / 6.0
                parts[name] = coef * (gb[name] - ga[name]) * (same + mixed)
        else:  # pragma: no cover - callers route K > 3 to _shapley_split
            raise ValueError("closed form only for K <= 3")
    return parts


def _shapley_weights(k: int) -> list[float]:
    """w(s) = s!(K−s−1)!/K!: the chance that exactly a given s others precede a player."""
    return [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]


def _shapley_split(formula: Formula, A: _Arrays, B: _Arrays) -> tuple[_Arrays, np.ndarray]:
    """Exact Shapley over the components: 2^K evaluations, each over whole arrays of rows.

    φᵢ = Σ over coalitions S without i of w(|S|)·(v(S ∪ {i}) − v(S)), where v(S) is the
    formula with the components in S at B and the rest at A. Each difference is taken
    before weighting, so a component unchanged in a row gets exactly 0 there (its two
    evaluations are identical), and every row is summed in the same fixed order whatever
    the number of rows. Rows are processed in chunks to keep 2^K values per row in memory.
    Returns the parts and the largest |v(S) − v(∅)| per row (the additivity check's scale).
    """
    names = formula.components
    k = len(names)
    if k > MAX_SHAPLEY_COMPONENTS:
        raise ExplainError(
            f"The formula '{formula.text}' has {k} components; an exact split is limited to "
            f"{MAX_SHAPLEY_COMPONENTS}. Group components into fewer metrics."
        )
    rows = len(next(iter(A.values())))
    parts: _Arrays = {name: np.zeros(rows) for name in names}
    scale = np.zeros(rows)
    weights = _shapley_weights(k)
    sizes = [mask.bit_count() for mask in range(1 << k)]
    chunk = max(1, 4_000_000 >> k)
    for first in range(0, rows, chunk):
        rows_slice = slice(first, min(rows, first + chunk))
        a = {name: A[name][rows_slice] for name in names}
        b = {name: B[name][rows_slice] for name in names}
        width = len(a[names[0]])
        values = []
        for mask in range(1 << k):
            env = {name: (b[name] if mask >> i & 1 else a[name]) for i, name in enumerate(names)}
            values.append(np.asarray(formula.evaluate(env), dtype=float) * np.ones(width))
        with np.errstate(all="ignore"):
            scale[rows_slice] = np.fmax.reduce([np.abs(v - values[0]) for v in values])
            for i, name in enumerate(names):
                bit = 1 << i
                total = np.zeros(width)
                for mask in range(1 << k):
                    if not mask & bit:
                        total = total + weights[sizes[mask]] * (values[mask | bit] - values[mask])
                parts[name][rows_slice] = total
    return parts, scale


def _split(formula: Formula, A: _Arrays, B: _Arrays) -> tuple[str, _Arrays, np.ndarray]:
    """Choose the cheapest exact route; returns (method, parts, extra scale for the check)."""
    no_scale = np.zeros_like(next(iter(A.values()))) if A else np.zeros(0)
    linear = formula.linear_coefficients()
    if linear is not None:
        return "linear", _linear_split(linear[0], A, B), no_scale
    ratio = _simple_ratio(formula)
    if ratio is not None:
        return "ratio", _ratio_split(*ratio, A, B), no_scale
    product = formula.product_powers()
    if product is not None and sum(1 for p in product[1].values() if p != 0) <= 3:
        return "product", _product_split(product[0], product[1], A, B), no_scale
    parts, scale = _shapley_split(formula, A, B)
    return "shapley", parts, scale


def _check_additivity(formula: Formula, change: np.ndarray, parts: _Arrays, value_from: np.ndarray,
                      value_to: np.ndarray, extra_scale: np.ndarray) -> None:
    """Raise AdditivityError (a bug, not a user error) when finite parts miss the change."""
    stacked = np.vstack([parts[name] for name in formula.components]) if parts else np.zeros((1, len(change)))
    total = stacked.sum(axis=0)
    scale = np.fmax.reduce(
        [np.abs(value_from), np.abs(value_to), np.abs(stacked).sum(axis=0), extra_scale, np.abs(change)]
    )
    finite = np.isfinite(total) & np.isfinite(change)
    gap = np.abs(total - change)
    bad = finite & (gap > _RTOL * scale + 1e-300)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise AdditivityError(
            f"Parts of '{formula.text}' add up to {total[row]!r}, not the change {change[row]!r} (row {row})."
        )


# --------------------------------------------------------------------------- public API
def _scalar(values: Mapping[str, float], name: str, side: str, formula: Formula) -> float:
    if name not in values:
        raise ExplainError(
            f"The formula '{formula.text}' needs a value for '{name}' in the {side} period, and there is none."
        )
    try:
        number = float(values[name])
    except (TypeError, ValueError):
        raise ExplainError(
            f"The formula '{formula.text}' needs a number for '{name}' in the {side} period, not {values[name]!r}."
        ) from None
    if not math.isfinite(number):
        raise ExplainError(
            f"The formula '{formula.text}' has no usable value for '{name}' in the {side} period ({number})."
        )
    return number


def account(formula: str | Formula, values_from: Mapping[str, float], values_to: Mapping[str, float]) -> Accounting:
    """Split f(B) − f(A) exactly among the formula's components (see the module docstring).

    Missing or non-finite component values, and a formula that has no value in either
    period (e.g. a zero denominator), are ExplainErrors: a split that cannot add up is not
    shown to a user.
    """
    f = _as_formula(formula)
    a = {name: np.array([_scalar(values_from, name, "from", f)]) for name in f.components}
    b = {name: np.array([_scalar(values_to, name, "to", f)]) for name in f.components}
    value_from = np.atleast_1d(np.asarray(f.evaluate(a), dtype=float))
    value_to = np.atleast_1d(np.asarray(f.evaluate(b), dtype=float))
    for side, value in (("from", value_from), ("to", value_to)):
        if not np.isfinite(value[0]):
            raise ExplainError(
                f"The formula '{f.text}' has no value in the {side} period "
                "(a denominator is zero or a power is undefined), so its change cannot be split."
            )
    method, parts, extra = _split(f, a, b) if f.components else ("linear", {}, np.zeros(1))
    change = value_to - value_from
    if not all(np.isfinite(parts[name][0]) for name in f.components):
        raise ExplainError(
            f"The change in '{f.text}' cannot be split exactly: mixing from and to values gives a "
            "zero denominator or an undefined power."
        )
    _check_additivity(f, change, parts, value_from, value_to, extra)
    return Accounting(
        formula=f.text,
        value_from=float(value_from[0]),
        value_to=float(value_to[0]),
        change=float(change[0]),
        components=tuple(
            ComponentContribution(name, float(a[name][0]), float(b[name][0]), float(parts[name][0]))
            for name in f.components
        ),
        method=method,
    )


def _frame_arrays(frame: pd.DataFrame, names: tuple[str, ...], side: str, formula: Formula) -> _Arrays:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ExplainError(
            f"The formula '{formula.text}' needs the column(s) {', '.join(missing)} in the {side} frame."
        )
    out: _Arrays = {}
    for name in names:
        try:
            out[name] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise ExplainError(f"The column '{name}' of the {side} frame is not numeric.") from None
    return out


def account_many(formula: str | Formula, frame_from: pd.DataFrame, frame_to: pd.DataFrame) -> pd.DataFrame:
    """Contributions per row (e.g. per area) for bulk precompute, vectorised over rows.

    ``frame_from`` and ``frame_to`` hold one column per component and share their index
    (the order may differ; the result follows ``frame_from``). Returns a frame with the same
    index and one column per component, in formula order. Unlike :func:`account`, a row
    with a missing value or an undefined formula gets nan parts rather than stopping the run.
    The route (linear, ratio, product, Shapley) is the one :func:`account` takes, on the
    same numpy operations, so each row equals ``account`` on that row.
    """
    f = _as_formula(formula)
    if not isinstance(frame_from, pd.DataFrame) or not isinstance(frame_to, pd.DataFrame):
        raise ExplainError("account_many needs two DataFrames (rows such as areas, one column per component).")
    if not frame_from.index.is_unique or not frame_to.index.is_unique:
        raise ExplainError("account_many needs each row label (e.g. area) at most once in each frame.")
    if not frame_from.index.equals(frame_to.index):
        if set(frame_from.index) != set(frame_to.index):
            raise ExplainError("account_many needs the same rows (e.g. areas) in the from and to frames.")
        frame_to = frame_to.reindex(frame_from.index)
    result = pd.DataFrame(index=frame_from.index, columns=list(f.components), dtype=np.float64)
    if len(frame_from) == 0 or not f.components:
        return result
    a = _frame_arrays(frame_from, f.components, "from", f)
    b = _frame_arrays(frame_to, f.components, "to", f)
    value_from = np.asarray(f.evaluate(a), dtype=float) * np.ones(len(frame_from))
    value_to = np.asarray(f.evaluate(b), dtype=float) * np.ones(len(frame_from))
    _method, parts, extra = _split(f, a, b)
    _check_additivity(f, value_to - value_from, parts, value_from, value_to, extra)
    for name in f.components:
        column = np.asarray(parts[name], dtype=float) * np.ones(len(frame_from))
        undefined = ~(np.isfinite(value_from) & np.isfinite(value_to))
        result[name] = np.where(undefined, np.nan, column)
    return result
