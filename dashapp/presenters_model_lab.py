"""Tables, captions and checked arguments of the Model lab: versions and their scores, importance,
residuals, partial dependence, the fit controls and the activation guard's confirmation; and the
"model in use" line the Explain page shows beside its driver chart. Pure helpers.

Every R² here is out of sample (time-aware cross-validation) and is labelled so; every verdict on
a model is :func:`explain.model_quality.judge`'s (better than the naive forecast only when better
on both R² and mean absolute error), never a second rule.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd

from explain.errors import ModelError
from explain.model_quality import ModelQuality, judge, r2_pair
from explain.numbers import format_slope, format_value, season_text, short_number, signed
from loaders.vocabulary import MODEL_KINDS, PSEUDO_DRIVERS

from .presenters_parts import OTHER_DRIVERS, Part, display_name, freq_word, group_small, period_name, plural

#: the score columns of the versions table, in words (the table shows headers as given)
OOS_R2 = "Out-of-sample R²"
NAIVE_R2 = "Naive forecast's out-of-sample R²"
OOS_MAE = "Out-of-sample mean absolute error"
NAIVE_MAE = "Naive forecast's mean absolute error"
BETTER = "Better than the naive forecast"
NAIVE = "Naive forecast"
VERDICT_WORDS = {True: "yes", False: "no", None: "cannot tell"}


def versions_frame(versions: Sequence) -> pd.DataFrame:
    """The versions table: version, kind, drivers, out-of-sample R² and mean absolute error beside
    the naive forecast's, whether it is better than the naive forecast, data vintage, created, active."""
    rows = []
    for v in versions:
        quality = judge(v.scores)
        rows.append({
            "version": v.version, "kind": v.kind.replace("_", " "),
            "drivers": ", ".join(v.drivers + v.pseudo_drivers),
            OOS_R2: _round(quality.r2), NAIVE_R2: _round(quality.baseline_r2), OOS_MAE: _round(quality.mae),
            NAIVE_MAE: _round(quality.baseline_mae), BETTER: VERDICT_WORDS[quality.better_than_naive],
            "data_vintage": v.data_vintage, "created": v.created_at, "active": "yes" if v.active else ""})
    return pd.DataFrame(rows, columns=["version", "kind", "drivers", OOS_R2, NAIVE_R2, OOS_MAE, NAIVE_MAE, BETTER,
                                       "data_vintage", "created", "active"])


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return round(float(value), digits)


def scores_frame(scores: Mapping[str, Any]) -> pd.DataFrame:
    """Model against the naive forecast (persistence), out of sample: R², MAE, explained variance."""
    return pd.DataFrame([
        {"measure": OOS_R2, "model": _round(scores.get("r2")), NAIVE: _round(scores.get("baseline_r2"))},
        {"measure": OOS_MAE, "model": _round(scores.get("mae")),
         NAIVE: _round(scores.get("baseline_mae"))},
        {"measure": "Out-of-sample explained variance", "model": _round(scores.get("explained_variance")),
         NAIVE: None},
    ])


def folds_frame(scores: Mapping[str, Any]) -> pd.DataFrame:
    """One row per time-aware fold: its periods and rows, and the model's and the naive forecast's
    scores on its test periods (all out of sample)."""
    rows = []
    for f in scores.get("folds", ()):
        rows.append({"fold": int(f["fold"]) + 1, "train_periods": f"{f['train_periods'][0]}–{f['train_periods'][1]}",
                     "test_periods": f"{f['test_periods'][0]}–{f['test_periods'][1]}", "n_train": f["n_train"],
                     "n_test": f["n_test"], OOS_R2: _round(f.get("r2")), OOS_MAE: _round(f.get("mae")),
                     NAIVE_R2: _round(f.get("baseline_r2")), NAIVE_MAE: _round(f.get("baseline_mae"))})
    return pd.DataFrame(rows, columns=["fold", "train_periods", "test_periods", "n_train", "n_test", OOS_R2, OOS_MAE,
                                       NAIVE_R2, NAIVE_MAE])


def scores_caption(scores: Mapping[str, Any], *, unit: str = "") -> str:
    """The version's quality in a sentence (:func:`explain.model_quality.judge`: better than the
    naive forecast only when better on both R² and mean absolute error), then what the naive
    forecast is."""
    return f"{judge(scores, unit=unit).sentence} The naive forecast carries each area's last value forward."


def quality_tone(quality: ModelQuality) -> str:
    """The message colour of a verdict: success (better), warning (not better), info (cannot tell)."""
    return {True: "success", False: "warning"}.get(quality.better_than_naive, "info")


def version_label(version) -> str:
    """A version's radio label: 'Version 3 (linear, active; not better than the naive forecast)'."""
    text = f"Version {version.version} ({version.kind.replace('_', ' ')}{', active' if version.active else ''}"
    quality = judge(version.scores)
    return text + ("; not better than the naive forecast)" if quality.better_than_naive is False else ")")


def fit_result_text(version) -> str:
    """What a fit in the lab saved, its quality, and that it is not active yet."""
    quality = judge(version.scores)
    text = f"Saved version {version.version} ({version.kind.replace('_', ' ')}). {quality.sentence} It is not active: "
    if quality.better_than_naive:
        return text + "inspect it below, then make it active if you want explanations to use it."
    return text + ("inspect it below. Making it active asks you to confirm, because it is "
                   f"{quality.verdict}.")


def activation_step(quality: ModelQuality, *, active: bool, confirmed: bool) -> str:
    """What a click on "Make this version active" does: ``"activate"`` (better than the naive
    forecast, already the active version, or confirmed with "Activate anyway") or ``"confirm"``
    (show the confirmation instead of activating at once)."""
    if quality.better_than_naive is True or active or confirmed:
        return "activate"
    return "confirm"


def confirm_text(version: int, quality: ModelQuality) -> str:
    """The confirmation shown instead of activating a version that is not better than the naive forecast."""
    return (f"Make version {version} active anyway? {quality.sentence} Explanations would then split changes into "
            "drivers with a model that forecasts no better than carrying each area's last value forward. Choose "
            "another version, or make it active anyway.")


def activated_text(version: int, refreshed, quality: ModelQuality) -> str:
    """The result of an activation; a caution when the version is not better than the naive forecast."""
    text = f"Version {version} is now active; {refreshed}."
    if quality.better_than_naive is not True:
        text += f" It is {quality.verdict}: treat its driver splits with caution."
    return text


def score_text(r2: float | None, unexplained_share: float | None = None) -> str:
    """A model's out-of-sample R² beside how much of one change it leaves unexplained, when that is
    most of it: 'Out-of-sample R² 1.000, but it leaves 79% of this change unexplained'. A high R²
    (of levels across areas) does not mean the model explains a given change."""
    text = f"Out-of-sample R² {r2_pair(r2, None)[0]}"
    return text + unexplained_note(unexplained_share)


def unexplained_note(unexplained_share: float | None) -> str:
    """', but it leaves 79% of this change unexplained' when a model leaves more than half of a
    change unexplained (the share is unexplained ÷ change; its size counts), else ''."""
    if unexplained_share is None or not math.isfinite(unexplained_share) or abs(unexplained_share) <= 0.5:
        return ""
    return f", but it leaves {abs(unexplained_share):.0%} of this change unexplained"


def model_in_use_text(model_summary, *, unexplained_share: float | None = None) -> str:
    """The Explain page's line beside its driver chart: which model version and kind split the
    change, its out-of-sample R² against the naive forecast's, and a caution when it is not better
    than the naive forecast (or cannot be judged at all). ``model_summary``: an
    :class:`explain.results.ModelSummary` (or None: no model). ``unexplained_share`` (unexplained ÷
    change of the explanation shown): said when more than half of the change is left unexplained.

    The verdict is :func:`explain.model_quality.judge`'s. A summary without the naive forecast's
    mean absolute error (``baseline_mae``, absent from explanations stored before it was kept) can only
    show a model is *not* better; it is then never called better, only given its figures."""
    if model_summary is None:
        return "No driver model is in use for this metric, so the change is not split into drivers."
    quality = judge({"r2": model_summary.cv_r2, "baseline_r2": model_summary.baseline_r2,
                     "mae": model_summary.cv_mae, "baseline_mae": model_summary.baseline_mae})
    text = f"Driver split by model version {model_summary.version} ({model_summary.kind.replace('_', ' ')})"
    if quality.r2 is None:
        return text + ": its out-of-sample scores were not saved, so treat the driver split with caution."
    model_r2, naive_r2 = quality.r2_texts
    text += f": out-of-sample R² {model_r2}"
    if quality.baseline_r2 is not None:
        text += f" against the naive forecast's {naive_r2}"
    text += unexplained_note(unexplained_share)
    if quality.better_than_naive is False:
        return text + "; not better than the naive forecast: treat the driver split with caution."
    if quality.better_than_naive is True:
        return text + "; better than the naive forecast."
    return text + "."


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
                               seasonal: bool = False, freq: str = "") -> str:
    """The partial dependence in a sentence. Seasons are named as months or quarters ('highest in
    July'), never 'season 7': pass the metric's frequency (without it, a season above 4 is a month)."""
    if frame.empty:
        return f"No partial dependence could be computed for {driver_label}."
    if seasonal:
        high = frame.loc[frame["prediction"].idxmax()]
        low = frame.loc[frame["prediction"].idxmin()]
        season_freq = freq or ("M" if frame["value"].max() > 4 else "")
        return (f"Holding the other drivers at their recent values, the average prediction is highest in "
                f"{season_text(int(high['value']), season_freq)} ({format_value(float(high['prediction']), unit)}) "
                f"and lowest in {season_text(int(low['value']), season_freq)} "
                f"({format_value(float(low['prediction']), unit)}).")
    first, last = frame.iloc[0], frame.iloc[-1]
    text = (f"Holding the other drivers at their recent values, moving {driver_label} from "
            f"{short_number(float(first['value']))} to {short_number(float(last['value']))} moves the average "
            f"prediction from {format_value(float(first['prediction']), unit)} to "
            f"{format_value(float(last['prediction']), unit)}")
    if slope is not None and math.isfinite(slope):
        if slope == 0:
            text += " (a straight line: the prediction does not move with it, the model's coefficient)"
        else:
            moves = "raises" if slope > 0 else "lowers"
            text += (f" (a straight line: each 1 more of {driver_label} {moves} the prediction by "
                     f"{format_slope(slope, unit, '')}, the model's coefficient)")
    return text + "."


#: a background job's purpose, in words
JOB_WORDS = {"fit": "Fit a model", "activate": "Make a version active", "explain": "Explain a change"}
#: a job's state, in words
STATE_WORDS = {"queued": "Waiting for a worker", "running": "Running", "done": "Finished", "failed": "Failed",
               "cancelled": "Cancelled"}


def jobs_frame(runs: Sequence, names: Mapping[str, str], *, now: float, lost_after: float,
               queue_wait: float) -> pd.DataFrame:
    """The user's recent background jobs: when, what, for which metric, how it stands and what happened.

    A job whose worker was lost shows as failed here even before a page polled for it (the page that
    started it may have been closed), with the same words the page would have shown."""
    from loaders.jobs import lost_reason

    rows = []
    for run in runs:
        reason = lost_reason(run, now, lost_after=lost_after, queue_wait=queue_wait) \
            if run.state in ("queued", "running") else None
        state = "failed" if reason else run.state
        rows.append({"started": _clock(run.queued_at), "job": JOB_WORDS.get(run.purpose, run.purpose or "Job"),
                     "metric": names.get(run.subject, run.subject), "state": STATE_WORDS.get(state, state),
                     "what happened": reason or run.message or ("" if state != "done" else "Done")})
    return pd.DataFrame(rows, columns=["started", "job", "metric", "state", "what happened"])


def _clock(seconds: float) -> str:
    """A Unix time as the day and time people read ("5 Dec 2026 09:12:03 UTC")."""
    import datetime as dt

    moment = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return f"{moment.day} {moment:%b %Y %H:%M:%S} UTC"

