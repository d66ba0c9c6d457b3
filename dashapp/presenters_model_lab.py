"""Tables, captions and checked arguments of the Model lab: versions and their scores, importance,
residuals, partial dependence, and the fit controls. Pure helpers.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from explain.errors import ModelError
from explain.numbers import format_value, round_sig, short_number, signed
from loaders.vocabulary import MODEL_KINDS, PSEUDO_DRIVERS

from .presenters_parts import OTHER_DRIVERS, Part, display_name, freq_word, group_small, period_name, plural


def versions_frame(versions: Sequence) -> pd.DataFrame:
    """The versions table: version, kind, drivers, CV R², baseline R², data vintage, created, active."""
    rows = []
    for v in versions:
        rows.append({
            "version": v.version, "kind": v.kind.replace("_", " "),
            "drivers": ", ".join(v.drivers + v.pseudo_drivers),
            "cv_r2": _round(v.scores.get("r2")), "baseline_r2": _round(v.scores.get("baseline_r2")),
            "cv_mae": _round(v.scores.get("mae")), "data_vintage": v.data_vintage, "created": v.created_at,
            "active": "yes" if v.active else ""})
    return pd.DataFrame(rows, columns=["version", "kind", "drivers", "cv_r2", "baseline_r2", "cv_mae",
                                       "data_vintage", "created", "active"])


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(float(value), digits)


def scores_frame(scores: Mapping[str, Any]) -> pd.DataFrame:
    """Model against the naive (persistence) baseline: R², MAE, explained variance."""
    return pd.DataFrame([
        {"measure": "R² (out of sample)", "model": _round(scores.get("r2")),
         "naive baseline": _round(scores.get("baseline_r2"))},
        {"measure": "Mean absolute error", "model": _round(scores.get("mae")),
         "naive baseline": _round(scores.get("baseline_mae"))},
        {"measure": "Explained variance", "model": _round(scores.get("explained_variance")),
         "naive baseline": None},
    ])


def folds_frame(scores: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for f in scores.get("folds", ()):
        rows.append({"fold": int(f["fold"]) + 1, "train_periods": f"{f['train_periods'][0]}–{f['train_periods'][1]}",
                     "test_periods": f"{f['test_periods'][0]}–{f['test_periods'][1]}", "n_train": f["n_train"],
                     "n_test": f["n_test"], "r2": _round(f.get("r2")), "mae": _round(f.get("mae")),
                     "baseline_r2": _round(f.get("baseline_r2")), "baseline_mae": _round(f.get("baseline_mae"))})
    return pd.DataFrame(rows, columns=["fold", "train_periods", "test_periods", "n_train", "n_test", "r2", "mae",
                                       "baseline_r2", "baseline_mae"])


def scores_caption(scores: Mapping[str, Any]) -> str:
    r2, base = scores.get("r2"), scores.get("baseline_r2")
    mae, base_mae = scores.get("mae"), scores.get("baseline_mae")
    if r2 is None or mae is None or base_mae is None:
        return "No cross-validation scores were saved for this version."
    beats = mae < base_mae
    return (f"Out of sample, the model's mean absolute error is {short_number(mae)} against "
            f"{short_number(base_mae)} for the naive baseline (last value carried forward): it "
            f"{'beats' if beats else 'does not beat'} the baseline (R² {r2:.3f} against "
            f"{'n/a' if base is None else f'{base:.3f}'}).")


def importance_caption(frame: pd.DataFrame, names: Mapping[str, str]) -> str:
    if frame.empty:
        return "No driver importance could be computed."
    top = frame.iloc[0]
    return (f"{display_name(top['driver'], names)} moves the prediction most from one period to the next "
            f"({top['share']:.0%} of the mean absolute attribution over the last "
            f"{plural(int(top['n_pairs']), 'pair')} of periods).")


def lab_fit_arguments(drivers: Sequence[str] | None, kind: str | None, pseudo: Sequence[str] | None,
                      *, candidates: Sequence[str], kinds: Sequence[str] = MODEL_KINDS,
                      pseudo_options: Sequence[str] = PSEUDO_DRIVERS) -> dict[str, Any]:
    """Checked arguments for ``explain.fit_driver_model`` from the lab's controls (ValueError with a
    message a person can act on when they make no model)."""
    chosen = [d for d in (drivers or []) if d in candidates]
    chosen_pseudo = [p for p in (pseudo or []) if p in pseudo_options]
    if kind not in kinds:
        raise ModelError(f"Choose a model kind: {' or '.join(k.replace('_', ' ') for k in kinds)}.")
    if not chosen and not chosen_pseudo:
        raise ModelError("Choose at least one driver or pseudo-driver to fit a model.")
    return {"drivers": tuple(chosen), "kind": kind, "pseudo_drivers": tuple(chosen_pseudo)}


def driver_token(code: str) -> str:
    """A driver's checklist value in the model lab. Not the bare metric code: a driver may belong to
    another department (the model spec names it), and the page itself checks each token against
    the candidates it offered this user."""
    return f"driver:{code}"


def driver_codes(tokens: Sequence[str] | None) -> list[str]:
    return [t.split(":", 1)[1] for t in (tokens or []) if isinstance(t, str) and t.startswith("driver:")]


def candidate_drivers(metric: str, *, visible: Sequence[str], configured: Sequence[str] = (),
                      exclude: Sequence[str] = ()) -> list[str]:
    """Drivers the lab offers for ``metric``: the configured ones (spec and active version) first,
    then the user's other metrics; never the metric itself or ``exclude`` (e.g. metrics computed
    from it)."""
    out: list[str] = []
    for code in [*configured, *visible]:
        if code != metric and code not in exclude and code not in out:
            out.append(code)
    return out


def importance_parts(frame: pd.DataFrame, names: Mapping[str, str], *, keep: int = 4) -> list[Part]:
    parts = [Part(row.driver, display_name(row.driver, names), float(row.mean_abs)) for row in frame.itertuples()]
    return group_small(parts, keep=keep, other_label=OTHER_DRIVERS, other_key="other_drivers")


def residuals_caption(frame: pd.DataFrame, *, unit: str, freq: str, recent: int = 12) -> str:
    if frame.empty:
        return "There are no complete rows to compare the model's predictions with."
    tail = frame.tail(recent)
    worst = tail.loc[tail["residual"].abs().idxmax()]
    mean_abs = float(tail["residual"].abs().mean())
    return (f"Over the last {plural(len(tail), freq_word(freq))}, the model's prediction of the whole was off by "
            f"{format_value(mean_abs, unit)} on average; most in {period_name(worst['period'], freq)} "
            f"({signed(float(worst['residual']), unit)}, actual minus predicted).")


def partial_dependence_caption(frame: pd.DataFrame, *, driver_label: str, unit: str, slope: float | None = None,
                               seasonal: bool = False) -> str:
    if frame.empty:
        return f"No partial dependence could be computed for {driver_label}."
    if seasonal:
        high = frame.loc[frame["prediction"].idxmax()]
        low = frame.loc[frame["prediction"].idxmin()]
        return (f"Holding the other drivers at their recent values, the average prediction is highest in season "
                f"{int(high['value'])} ({format_value(float(high['prediction']), unit)}) and lowest in season "
                f"{int(low['value'])} ({format_value(float(low['prediction']), unit)}).")
    first, last = frame.iloc[0], frame.iloc[-1]
    text = (f"Holding the other drivers at their recent values, moving {driver_label} from "
            f"{short_number(float(first['value']))} to {short_number(float(last['value']))} moves the average "
            f"prediction from {format_value(float(first['prediction']), unit)} to "
            f"{format_value(float(last['prediction']), unit)}")
    if slope is not None and math.isfinite(slope):
        text += f" (a straight line: {round_sig(slope):g} per unit, the model's coefficient)"
    return text + "."
