"""L1: is this movement real, or normal variation? One verdict, read by every page and the CLI.

A movement from period A to period B is judged against the changes the series itself showed over
the same span before A, never by asking whether the level at B is outside limits set before A (on a
trending series the latest level always is, so nearly every movement would be "beyond").

Method (a prediction interval for the change, from the series' own past changes):

1. Take every earlier change over the same number of periods, ``d_t = x_t - x_{t-k}`` with
   ``k = B - A`` and ``t`` up to A, skipping pairs with a missing end (a gap is never bridged) and
   points before the latest series break at or before A (``breaks``: a definition change).
2. The change expected over the span is their mean (the series' drift: a steady trend is normal).
   For a seasonal frequency, when the span is not a whole number of years and there are at least
   two earlier changes at B's season, the mean is that season's (month-on-month changes are
   compared with the same months' changes in earlier years).
3. Earlier changes that were special causes themselves (robust z over 3.5) are left out; the
   spread ``s`` of the others about that mean sets a 98% prediction interval,
   ``expected ± t(0.99, df) · s · sqrt(1 + 1/m)`` (``m``: changes behind the mean). Overlapping
   changes (``k > 1``) share periods, so ``df`` counts what they are worth independently.
4. Beyond normal variation when the change lies outside that range; the direction
   (improvement / concern) is the sign of the change read with ``higher_is_better``, so it always
   agrees with the arrow. Fewer than :data:`MIN_CHANGES` earlier changes: not enough history.
   Fewer than :data:`TRIAL_CHANGES`: a trial verdict, said in the reason.

The nominal false-alarm rate is 2% for a movement with no special cause (Gaussian changes);
``benchmarks/verdict.py`` measures it and the detection of planted steps on simulated series.
The XmR arithmetic of NHS "Making Data Count" stays on the level chart of the Trends page
(``explain.significance.xmr_chart``); it is quoted separately, never as this verdict.
"""
from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from .numbers import format_interval, interval_centre_text, period_text
from .wording import verdict_headline, verdict_opening

#: fewer earlier same-span changes than this: not enough history to judge
MIN_CHANGES = 3
#: fewer than this: a trial verdict (said in the reason)
TRIAL_CHANGES = 12
#: the prediction interval's coverage: a movement with no special cause is "beyond" 2% of the time
COVERAGE = 0.98
#: periods per year of the frequencies that have seasons
SEASONS = {"M": 12, "Q": 4, "FQ": 4}

Outcome = Literal["beyond", "within", "insufficient"]
Direction = Literal["improvement", "concern", "neutral", "none"]
SPAN_WORDS = {"M": "month", "Q": "quarter", "FQ": "quarter", "Y": "year", "FY": "year", "W": "week", "D": "day"}


@dataclass(frozen=True)
class Verdict:
    """The answer to "is this movement real?", with the figures it rests on.

    ``outcome``: 'beyond' (beyond normal variation), 'within' or 'insufficient' (not enough history).
    ``direction``: the change's sign read with ``higher_is_better`` ('improvement', 'concern'),
    'neutral' for a metric with no better direction, 'none' for no change. ``lower``/``upper``: the
    range of normal changes over this span; ``expected``: its centre.
    """

    outcome: Outcome
    direction: Direction
    change: float
    reason: str
    method: str = "same-span changes"  # or 'poisson' / 'bootstrap' (two periods only) or 'none'
    expected: float | None = None
    lower: float | None = None
    upper: float | None = None
    span: int = 0
    n_changes: int = 0
    trial: bool = False
    seasonal: bool = False
    #: why an 'insufficient' verdict could not judge: 'missing' (no value at A or B), 'break' (a series
    #: break between them) or 'few' (too few earlier changes; an interval on the change may still judge)
    cause: str = ""

    @property
    def beyond(self) -> bool | None:
        return None if self.outcome == "insufficient" else self.outcome == "beyond"

    @property
    def kind(self) -> str:
        """The badge's kind: 'improvement' / 'concern' / 'neutral' when beyond, 'common_cause' when
        within, 'unknown' without enough history (the summary, explain and trends pages' word)."""
        if self.outcome == "beyond":
            return self.direction if self.direction in ("improvement", "concern") else "neutral"
        return "common_cause" if self.outcome == "within" else "unknown"

    @property
    def headline(self) -> str:
        """The verdict in a few words (explain.wording): 'Unusual change: a concern', 'Within the usual
        range', 'Not enough history to judge'."""
        return verdict_headline(self.outcome, self.direction, self.cause)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the contract's keys (method, beyond_normal_variation, verdict, detail) and
        the figures behind them."""
        return {
            "method": self.method, "beyond_normal_variation": self.beyond, "verdict": self.kind,
            "detail": self.reason, "outcome": self.outcome, "direction": self.direction,
            "change": _finite(self.change), "expected": _finite(self.expected), "lower": _finite(self.lower),
            "upper": _finite(self.upper), "ci_low": _finite(self.lower), "ci_high": _finite(self.upper),
            "span": self.span, "n_changes": self.n_changes, "trial": self.trial, "seasonal": self.seasonal,
            **({"cause": self.cause} if self.cause == "comparison" else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """Back from :meth:`to_dict` (a stored explanation); an older record without ``outcome`` is
        read from its ``beyond_normal_variation``."""
        beyond = data.get("beyond_normal_variation")
        outcome = data.get("outcome") or ("insufficient" if beyond is None else "beyond" if beyond else "within")
        change = data.get("change")
        direction = data.get("direction") or (data.get("verdict") if data.get("verdict") in ("improvement", "concern")
                                              else "neutral")
        return cls(outcome=cast(Outcome, outcome), direction=cast(Direction, direction),
                   change=float(change) if change is not None else math.nan, reason=data.get("detail") or "",
                   method=data.get("method") or "none", expected=data.get("expected"),
                   lower=data.get("lower", data.get("ci_low")), upper=data.get("upper", data.get("ci_high")),
                   span=int(data.get("span") or 0), n_changes=int(data.get("n_changes") or 0),
                   trial=bool(data.get("trial")), seasonal=bool(data.get("seasonal")),
                   cause=data.get("cause") or "")


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _no_value(period: str, freq: str = "") -> Verdict:
    return Verdict("insufficient", "none", math.nan, f"There is no value for {period_text(period, freq)}, so the "
                   "change cannot be judged.", method="none", cause="missing")


def direction_of(change: float, higher_is_better: bool | None) -> Direction:
    """The change's sign read with the metric's better direction."""
    if change == 0 or not math.isfinite(change):
        return "none"
    if higher_is_better is None:
        return "neutral"
    return "improvement" if (change > 0) == bool(higher_is_better) else "concern"


def judge_movement(
    points: Mapping[int, float],
    a: int,
    b: int,
    *,
    label: Callable[[int], str],
    freq: str = "",
    unit: str = "",
    higher_is_better: bool | None = None,
    breaks: Sequence[int] = (),
) -> Verdict:
    """Judge the change from ordinal ``a`` to ordinal ``b`` of a series (ordinal -> value, present
    values only; ordinals count periods, so a missing period is a gap). See the module docstring."""
    if b < a:
        a, b = b, a
    k = b - a
    if a not in points or b not in points or k == 0:
        return _no_value(label(a) if a not in points else label(b), freq)

    def when(ordinal: int) -> str:  # a period in prose ('July 2022'); the labels stay canonical elsewhere
        return period_text(label(ordinal), freq)

    change = points[b] - points[a]
    direction = direction_of(change, higher_is_better)
    crossed = [x for x in breaks if a < x <= b]
    if crossed:
        return Verdict("insufficient", direction, change, f"The series has a break in {when(crossed[0])} (a change of "
                       "definition) between the two periods, so the change is not comparable and is not judged.",
                       method="none", span=k, cause="break")
    start = max([x for x in breaks if x <= a], default=min(points))
    changes = [(t, points[t] - points[t - k]) for t in sorted(points)
               if start <= t - k and t <= a and (t - k) in points]
    if k > 1:  # a past step in the level spoils k changes in a row, not one: judge on the points after it
        step = _last_step(points, start, a)
        later = [(t, d) for t, d in changes if t - k >= step] if step is not None else changes
        if step is not None and len(later) >= TRIAL_CHANGES:
            changes, start = later, step
    word = SPAN_WORDS.get(freq, "period")
    span_text = f"{k} {word}{'s' if k != 1 else ''}"
    since = f" since {when(start)}" if breaks and start > min(points) else ""
    if len(changes) < MIN_CHANGES:
        return Verdict("insufficient", direction, change,
                       f"There {'is' if len(changes) == 1 else 'are'} only {len(changes)} earlier change"
                       f"{'s' if len(changes) != 1 else ''} over {span_text} up to {when(a)}{since}, too few to say "
                       f"whether this one is unusual ({MIN_CHANGES} are needed).", method="none", span=k,
                       n_changes=len(changes), cause="few")
    season = SEASONS.get(freq)
    kept = _without_outliers(changes)
    expected, residuals, behind, seasonal = _centre(kept, b, k, season)
    n = len(kept)
    params = (len({t % season for t, _ in kept}) if seasonal and season else 1)
    sd_df = max(1, n - params)
    s = math.sqrt(math.fsum(r * r for r in residuals) / sd_df)
    effective = _effective_count(residuals, k)  # overlapping changes share periods
    t_df = max(1, min(sd_df, round(effective) - params))
    half = _t_quantile(t_df) * s * math.sqrt(1 + 1 / max(1.0, behind * effective / n))
    lower, upper = expected - half, expected + half
    outcome: Outcome = "beyond" if (change < lower or change > upper) else "within"
    trial = n < TRIAL_CHANGES
    reason = _reason(outcome, direction, unit, span_text, expected, lower, upper, n, when(kept[0][0] - k),
                     when(a), SEASON_WORDS.get(freq, "season") if seasonal else "", trial)
    return Verdict(outcome, direction, change, reason, expected=expected, lower=lower, upper=upper, span=k,
                   n_changes=n, trial=trial, seasonal=seasonal)


#: an earlier change further than this many robust standard deviations from the median is a special
#: cause of its own (a past step) and is left out of the spread
OUTLIER_Z = 3.5


def _without_outliers(changes: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """Earlier changes without those that were special causes of their own (a past step): a change is
    left out when it is over :data:`OUTLIER_Z` robust standard deviations (1.4826 × the median absolute
    deviation) from the median *and* over :data:`OUTLIER_Z` standard deviations of the other changes
    from their mean. The second test keeps an ordinary change that a small sample's MAD happens to
    make look extreme, so the interval's coverage is kept when there is no special cause."""
    values = [d for _, d in changes]
    n = len(values)
    median = statistics.median(values)
    mad = statistics.median(abs(d - median) for d in values)
    if mad == 0 or n < MIN_CHANGES + 2:
        return changes
    total, squares = math.fsum(values), math.fsum(d * d for d in values)
    kept = []
    for t, d in changes:
        if abs(d - median) > OUTLIER_Z * 1.4826 * mad:
            mean = (total - d) / (n - 1)
            var = max(0.0, (squares - d * d - (n - 1) * mean * mean) / (n - 2))
            if var > 0 and abs(d - mean) > OUTLIER_Z * math.sqrt(var):
                continue
        kept.append((t, d))
    return kept if len(kept) >= MIN_CHANGES else changes


@functools.lru_cache(maxsize=512)
def _t_quantile(df: int) -> float:
    """Student's t quantile for the interval's coverage (cached: the precompute asks for the same few).
    scipy.stats is imported here, not at module level: it costs ~0.6 s, and commands that never judge a
    movement (``whytrend load``) import this module through ``explain.results``."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + COVERAGE / 2, df))


def _last_step(points: Mapping[int, float], start: int, a: int) -> int | None:
    """The latest past step in the level up to ``a``: a one-period change that is a special cause on
    its own (:func:`_without_outliers`) and is not undone by the next change (that would be a spike)."""
    ones = [(t, points[t] - points[t - 1]) for t in sorted(points) if start < t <= a and (t - 1) in points]
    if len(ones) < MIN_CHANGES + 2:
        return None
    kept = {t for t, _ in _without_outliers(ones)}
    jumps = {t: d for t, d in ones if t not in kept}
    steps = [t for t, d in jumps.items() if not (t + 1 in jumps and jumps[t + 1] * d < 0)]
    return max(steps) if steps else None


def _effective_count(residuals: list[float], k: int) -> float:
    """How many independent changes the residuals are worth. Changes over ``k`` periods that overlap
    share ``k - 1`` periods: for a random walk neighbours correlate at (k-1)/k and only about n/k are
    independent; for noise about a trend they hardly correlate. So ``n / (1 + (k - 1) ρ₁)`` with ρ₁
    the neighbours' correlation (0 when negative)."""
    n = len(residuals)
    if k <= 1 or n < 3:
        return float(n)
    total = math.fsum(r * r for r in residuals)
    if total == 0:
        return float(n)
    rho = math.fsum(residuals[i] * residuals[i + 1] for i in range(n - 1)) / total
    return max(2.0, n / (1 + (k - 1) * max(0.0, rho)))


def _centre(changes: list[tuple[int, float]], b: int, k: int, season: int | None) -> tuple[float, list[float], int, bool]:
    """The expected change, the residuals about it, how many changes the expected one rests on, and
    whether it is seasonal (the mean of earlier changes ending in B's season)."""
    values = [d for _, d in changes]
    overall = math.fsum(values) / len(values)
    if not season or k % season == 0:
        return overall, [d - overall for d in values], len(values), False
    by_position: dict[int, list[float]] = {}
    for t, d in changes:
        by_position.setdefault(t % season, []).append(d)
    mine = by_position.get(b % season, [])
    if len(mine) < 2 or len(changes) < 2 * season:
        return overall, [d - overall for d in values], len(values), False
    means = {p: math.fsum(v) / len(v) for p, v in by_position.items()}
    residuals = [d - means[t % season] for t, d in changes]
    return means[b % season], residuals, len(mine), True


#: the season of a seasonal comparison, by frequency ('compared with the same month in earlier years')
SEASON_WORDS = {"M": "month", "Q": "quarter", "FQ": "quarter"}


def _reason(outcome: str, direction: str, unit: str, span_text: str, expected: float, lower: float,
            upper: float, n: int, first: str, last: str, season: str, trial: bool) -> str:
    """The verdict in plain words (explain.wording), then what it rests on: the usual range of changes
    over the span, with its unit, and the earlier changes it comes from."""
    basis = f"the {n} earlier changes over {span_text} from {first} to {last}"
    basis += f" (each compared with the same {season} in earlier years)" if season else ""
    typical = interval_centre_text(expected, lower, upper, unit)
    trial_text = (f" This is a tentative judgement: there are fewer than {TRIAL_CHANGES} earlier changes to compare "
                  "with." if trial else "")
    return (f"{verdict_opening(outcome, direction)}: compared with {basis}, a change over {span_text} would usually be "
            f"from {format_interval(lower, upper, unit)}, around {typical} (a range that holds "
            f"{COVERAGE:.0%} of usual changes).{trial_text}")


def series_verdict(rows: Any, period_from: str, period_to: str, *, freq: str, unit: str = "",
                   higher_is_better: bool | None = None, breaks: Sequence[str] = ()) -> Verdict:
    """The verdict on one area's movement from its rows (a frame with ``period``, ``start``, ``value``
    and ``status`` at one frequency, as ``explain.data.metric_frame`` gives): the one every page and
    the CLI read. A value with status 'b' (a break in the series) and the periods in ``breaks`` (the
    manifest's ``[[event]] break = true``) start a new series."""
    from loaders.periods import from_key

    labels: dict[int, str] = {}
    points: dict[int, float] = {}
    break_points: list[int] = []
    ordinal_of: dict[str, int] = {}
    for period, start, value, status in zip(rows["period"], rows["start"], rows["value"], rows["status"]):
        ordinal = from_key(freq, start).ordinal if freq else len(labels)
        labels[ordinal] = str(period)
        ordinal_of[str(period)] = ordinal
        if value is not None and value == value and math.isfinite(float(value)):
            points[ordinal] = float(value)
        if status == "b":
            break_points.append(ordinal)
    for period in breaks:
        ordinal = verdict_ordinal(period, freq)
        if ordinal is not None:
            labels.setdefault(ordinal, period)
            break_points.append(ordinal)
    if period_from not in ordinal_of or period_to not in ordinal_of:
        return _no_value(period_from if period_from not in ordinal_of else period_to, freq)
    return judge_movement(points, ordinal_of[period_from], ordinal_of[period_to],
                          label=lambda ordinal: labels.get(ordinal, str(ordinal)), freq=freq, unit=unit,
                          higher_is_better=higher_is_better, breaks=sorted(set(break_points)))


def verdict_ordinal(period: str, freq: str) -> int | None:
    """A break's period as an ordinal at the series' frequency (its first period there), or None when
    it cannot be read."""
    from loaders.errors import PeriodError
    from loaders.periods import from_key, parse_period

    if not freq:
        return None
    try:
        return from_key(freq, parse_period(period, prefer=freq).start.isoformat()).ordinal
    except (PeriodError, ValueError):
        return None
