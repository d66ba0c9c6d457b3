"""When a driver model cannot tell two drivers' effects apart over the span explained.

Over six months from July to January, temperature falls as the season turns: a model (any model)
sees two inputs moving together and splits their joint effect between them almost arbitrarily. On
the demo's planted truth every tool using the model was off by about 175% of the change for
temperature there, and said nothing. The *sum* of the two is well determined; the split is not.

Two signs, either enough (:func:`uncertain_splits`):

* **Co-movement over the span.** Per period of the span (at least three), the drivers' means over
  the areas: two drivers whose paths correlate (|r| ≥ :data:`CO_MOVEMENT`), a driver that moves with
  the season (its path against its own average seasonal profile) when the model has seasonality, or
  with time when it has a trend.
* **Trade-off in the refits.** Across the bootstrap refits the two contributions move in opposite
  directions (correlation ≤ −:data:`TRADE_OFF`): what one refit gives one driver, it takes from the
  other.

Only pairs of which one carries a real part of the change (:data:`MIN_SHARE` of the drivers' total
size) are reported, each with the pair's combined contribution and its interval: the model may have
given the other almost nothing, which is the uncertainty itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from loaders.vocabulary import PSEUDO_DRIVERS

CO_MOVEMENT = 0.9
TRADE_OFF = 0.8
MIN_SHARE = 0.1
MIN_REFITS = 5


@dataclass(frozen=True)
class UncertainSplit:
    """Two drivers whose split is uncertain, and their combined (well determined) contribution."""

    drivers: tuple[str, str]
    combined: float
    combined_low: float | None
    combined_high: float | None
    reason: str  # 'co-movement' (over the span) or 'trade-off' (in the refits)
    correlation: float

    def to_dict(self) -> dict[str, Any]:
        return {"drivers": list(self.drivers), "combined": _num(self.combined), "combined_low": _num(self.combined_low),
                "combined_high": _num(self.combined_high), "reason": self.reason,
                "correlation": _num(self.correlation)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "UncertainSplit":
        return cls(tuple(data["drivers"]), data["combined"], data.get("combined_low"),
                   data.get("combined_high"), data.get("reason", ""), data.get("correlation") or math.nan)


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def span_paths(panel: pd.DataFrame, periods: Sequence[str], features: Sequence[str]) -> dict[tuple[str, str], float]:
    """(driver, driver or pseudo-driver) -> correlation of their paths over ``periods`` (module docstring)."""
    wanted = set(periods)
    if len(wanted) < 3:
        return {}
    rows = panel[panel["period"].isin(wanted)]
    if rows["period"].nunique() < 3:
        return {}
    drivers = [f for f in features if f in panel.columns and f not in PSEUDO_DRIVERS]
    means = rows.groupby("period")[drivers + ["period_ordinal", "season"]].mean().sort_values("period_ordinal")
    paths = means[drivers].to_numpy(dtype=float)
    out: dict[tuple[str, str], float] = {}
    pairs = _columnwise(paths[:, :, None], paths[:, None, :])  # (driver, driver)
    for i, j in enumerate(drivers):
        for m in range(i + 1, len(drivers)):
            out[(j, drivers[m])] = float(pairs[i, m])
    if "seasonality" in features:
        profiles = panel.groupby("season")[drivers].mean()  # each driver's average seasonal profile, one pass
        seasonal = profiles.reindex(means["season"].to_numpy()).to_numpy(dtype=float)
        for j, r in zip(drivers, _columnwise(paths, seasonal)):
            out[(j, "seasonality")] = float(r)
    if "trend" in features:
        time = np.broadcast_to(means["period_ordinal"].to_numpy(dtype=float)[:, None], paths.shape)
        for j, r in zip(drivers, _columnwise(paths, time)):
            out[(j, "trend")] = float(r)
    return out


def _columnwise(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation along axis 0 (the periods), NaN where a column does not vary."""
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    denominator = np.sqrt((x * x).sum(axis=0) * (y * y).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (x * y).sum(axis=0) / denominator
    return np.where(denominator > 0, r, np.nan)


def uncertain_splits(whole: dict[str, float], features: Sequence[str], boot_whole: np.ndarray, *,
                     paths: dict[tuple[str, str], float], confidence: float = 0.9) -> tuple[UncertainSplit, ...]:
    """The pairs of drivers whose split is uncertain over this span (module docstring)."""
    from .attribution import centred_interval

    size = math.fsum(abs(v) for v in whole.values())
    if size == 0:
        return ()
    index = {f: i for i, f in enumerate(features)}
    found: dict[tuple[str, str], tuple[str, float]] = {}
    for (j, k), r in paths.items():
        if math.isfinite(r) and abs(r) >= CO_MOVEMENT:
            found[(j, k)] = ("co-movement", r)
    if boot_whole.shape[0] >= MIN_REFITS:
        columns = [index[f] for f in features]
        refits = np.asarray(boot_whole, dtype=float)[:, columns]
        pairs = _columnwise(refits[:, :, None], refits[:, None, :])  # every pair of drivers in one pass
        for a, b in zip(*np.nonzero(pairs <= -TRADE_OFF)):
            j, k = features[a], features[b]
            if a < b and (j, k) not in found and (k, j) not in found:
                found[(j, k)] = ("trade-off", float(pairs[a, b]))
    out = []
    for (j, k), (reason, r) in found.items():
        if j not in whole or k not in whole:
            continue
        if whole[j] == 0.0 or whole[k] == 0.0:
            continue  # an input that did not change between the two periods gets exactly 0: nothing to split
        if max(abs(whole[j]), abs(whole[k])) < MIN_SHARE * size:
            continue  # one of them is a large part (the model may have given the other almost nothing)
        combined = whole[j] + whole[k]
        low, high = centred_interval(np.array([combined]), (boot_whole[:, index[j]] + boot_whole[:, index[k]])[:, None],
                                     confidence)
        out.append(UncertainSplit((j, k), combined, float(low[0]), float(high[0]), reason, r))
    return tuple(sorted(out, key=lambda u: -abs(u.combined)))
