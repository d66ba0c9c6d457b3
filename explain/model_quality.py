"""How good a driver model is out of sample, judged against the naive forecast, in one place.

The naive forecast carries each area's last value forward (persistence: ``baseline_*`` in a
version's time-aware cross-validation scores, :class:`explain.drivers.CvScores`). A model level R²
near 1 says little on its own: areas differ far more from each other than from one period to the
next, so the naive forecast scores near 1 too. What matters is whether the model forecasts better
than "no change".

The rule, stated in every sentence that gives a verdict: a model is **better than the naive
forecast only when it is better on both measures**, a higher out-of-sample R² *and* a lower mean
absolute error. A model better on one and worse on the other is not better. When a figure is
missing the verdict is unknown (None), unless the figures there are already show it is worse on
one measure. Ties are not better, nor is a difference too small to show (R² at 6 decimal places,
errors at 7 significant figures).

:func:`judge` is pure: the Model lab, the CLI, the activation guard (:mod:`explain.operations`)
and the Explain page's "model in use" line all read their verdict and figures from it, so they
never disagree with each other or with the figures they show.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .numbers import format_value

__all__ = ["ModelQuality", "judge", "r2_text", "r2_pair", "NAIVE_FORECAST", "RULE"]

#: what the baseline is, in words
NAIVE_FORECAST = "the naive forecast (each area's last value carried forward)"
#: the rule, in words (said where a model is better on one measure and worse on the other)
RULE = "that needs both a higher R² and a lower mean absolute error"

_BETTER = "better than the naive forecast"
_NOT_BETTER = "not better than the naive forecast"
_UNKNOWN = "cannot be judged against the naive forecast"


def _number(value: Any) -> float | None:
    """A finite float, else None (missing, NaN, infinite, or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def r2_text(value: float | None, decimals: int = 3) -> str:
    """An R² at ``decimals`` places with a real minus sign ('0.962', '−0.751'); 'n/a' when missing."""
    value = _number(value)
    if value is None:
        return "n/a"
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        text = "−" + text[1:] if float(text) != 0 else text[1:]  # '-0.000' is '0.000'
    return text


def r2_pair(model: float | None, naive: float | None) -> tuple[str, str]:
    """Two R²s at 3 decimals, or as many more (up to 6) as it takes to show that they differ and that
    one short of 1 is not a perfect fit, so a sentence never says '0.962, below 0.962' or '1.000'."""
    model, naive = _number(model), _number(naive)
    decimals = 3

    def unclear() -> bool:
        if any(v is not None and v < 1 and r2_text(v, decimals) == r2_text(1.0, decimals) for v in (model, naive)):
            return True  # 0.99994 is not a perfect '1.000'
        return model is not None and naive is not None and model != naive \
            and r2_text(model, decimals) == r2_text(naive, decimals)

    while decimals < 6 and unclear():
        decimals += 1
    return r2_text(model, decimals), r2_text(naive, decimals)


def _mae_pair(model: float | None, naive: float | None, unit: str) -> tuple[str, str]:
    """Two mean absolute errors at 3 significant figures, or more (up to 7) until they differ."""
    digits = 3
    if model is not None and naive is not None:
        while digits < 7 and model != naive and format_value(model, unit, digits) == format_value(naive, unit, digits):
            digits += 1
    return format_value(model, unit, digits), format_value(naive, unit, digits)


def _compare(model: float | None, naive: float | None, shown: tuple[str, str], *,
             higher_is_better: bool) -> bool | None:
    """Better, or None when a figure is missing. A difference too small to show at the most places
    shown is level, and level is not better: the words never contradict the figures."""
    if model is None or naive is None:
        return None
    if shown[0] == shown[1]:
        return False
    return model > naive if higher_is_better else model < naive


def _relation(better: bool | None, shown: tuple[str, str], words: tuple[str, str]) -> str:
    return "level with" if shown[0] == shown[1] else (words[0] if better else words[1])


@dataclass(frozen=True)
class ModelQuality:
    """A model version's out-of-sample quality against the naive forecast (see the module doc).

    ``better_than_naive``: True only when better on both R² and mean absolute error; False when
    worse or level on either; None when a figure needed is missing. ``sentence`` states the
    figures, how each compares and the verdict."""

    r2: float | None
    baseline_r2: float | None
    mae: float | None
    baseline_mae: float | None
    better_r2: bool | None        # a higher out-of-sample R² than the naive forecast's
    better_mae: bool | None       # a lower out-of-sample mean absolute error than the naive forecast's
    better_than_naive: bool | None
    sentence: str

    @property
    def verdict(self) -> str:
        """'better than the naive forecast', 'not better than the naive forecast' or 'cannot be
        judged against the naive forecast'."""
        return {True: _BETTER, False: _NOT_BETTER}.get(self.better_than_naive, _UNKNOWN)

    @property
    def r2_texts(self) -> tuple[str, str]:
        """(model R², naive forecast's R²) as the sentence shows them."""
        return r2_pair(self.r2, self.baseline_r2)

    def to_dict(self) -> dict[str, Any]:
        return {"r2": self.r2, "baseline_r2": self.baseline_r2, "mae": self.mae, "baseline_mae": self.baseline_mae,
                "better_r2": self.better_r2, "better_mae": self.better_mae,
                "better_than_naive": self.better_than_naive, "verdict": self.verdict, "sentence": self.sentence}


def judge(scores: Mapping[str, Any] | None, *, unit: str = "") -> ModelQuality:
    """Judge a model version's stored scores (``r2``, ``baseline_r2``, ``mae``, ``baseline_mae``:
    pooled out-of-sample figures of its time-aware cross-validation) against the naive forecast.

    ``unit``: the metric's unit, for the mean absolute errors ('12,300 households'); optional.

    >>> judge({"r2": 0.962, "baseline_r2": 0.968, "mae": 827.1, "baseline_mae": 850.8}).verdict
    'not better than the naive forecast'
    """
    scores = scores or {}
    r2, base_r2 = _number(scores.get("r2")), _number(scores.get("baseline_r2"))
    mae, base_mae = _number(scores.get("mae")), _number(scores.get("baseline_mae"))
    better_r2 = _compare(r2, base_r2, r2_pair(r2, base_r2), higher_is_better=True)
    better_mae = _compare(mae, base_mae, _mae_pair(mae, base_mae, unit), higher_is_better=False)
    if better_r2 is False or better_mae is False:
        better: bool | None = False
    elif better_r2 and better_mae:
        better = True
    else:
        better = None
    return ModelQuality(r2, base_r2, mae, base_mae, better_r2, better_mae, better,
                        _sentence(r2, base_r2, mae, base_mae, better_r2, better_mae, better, unit))


def _sentence(r2, base_r2, mae, base_mae, better_r2, better_mae, better, unit: str) -> str:
    parts = []
    model_r2, naive_r2 = r2_pair(r2, base_r2)
    if r2 is not None and base_r2 is not None:
        where = _relation(better_r2, (model_r2, naive_r2), ("above", "below"))
        parts.append(f"out-of-sample R² {model_r2}, {where} the naive forecast's {naive_r2}")
    elif r2 is not None:
        parts.append(f"out-of-sample R² {model_r2} (the naive forecast's was not saved)")
    model_mae, naive_mae = _mae_pair(mae, base_mae, unit)
    if mae is not None and base_mae is not None:
        where = _relation(better_mae, (model_mae, naive_mae), ("lower than", "higher than"))
        parts.append(f"mean absolute error {model_mae}, {where} the naive forecast's {naive_mae}")
    elif mae is not None:
        parts.append(f"mean absolute error {model_mae} (the naive forecast's was not saved)")
    elif parts:
        parts.append("no mean absolute errors were saved")
    if parts and r2 is None and base_r2 is None:
        parts.insert(0, "no out-of-sample R² was saved")
    if not parts:
        return "No out-of-sample scores were saved for this version, so it cannot be judged against the naive forecast."
    figures = "; ".join(parts)
    figures = figures[:1].upper() + figures[1:]
    if better is True:
        verdict = f"{_BETTER} on both"
    elif better is False:
        if better_r2 is False and better_mae is False:
            verdict = f"{_NOT_BETTER} on either"
        elif better_r2 is None or better_mae is None:
            verdict = _NOT_BETTER
        else:  # better on one measure, worse (or level) on the other: say the rule
            verdict = f"{_NOT_BETTER} ({RULE})"
    else:
        verdict = f"{_UNKNOWN} ({RULE})"
    return f"{figures}: {verdict}."
