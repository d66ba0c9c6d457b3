"""L3 segments: sums with a residual, mix versus rate, means — exactness proved, not assumed."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explain.errors import ExplainError
from explain.segments import SegmentSplit, mean_segments, ratio_segments, sum_segments

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def total(split: SegmentSplit) -> float:
    return math.fsum(s.contribution for s in split.segments)


def assert_exact(split: SegmentSplit) -> None:
    scale = max(abs(split.change), abs(split.parent_from), abs(split.parent_to))
    assert abs(total(split) - split.change) <= 1e-9 * max(abs(split.change), 1e-6 * scale), (
        total(split), split.change)
    for seg in split.segments:
        if seg.mix is not None:
            assert seg.contribution == seg.mix + seg.rate


def by_name(split: SegmentSplit) -> dict:
    return {s.segment: s for s in split.segments}


# ----------------------------------------------------------------------------- sums
def test_sum_contribution_is_each_childs_change() -> None:
    split = sum_segments({"a": 10.0, "b": 5.0, "gone": 3.0}, {"a": 12.0, "b": 1.0, "new": 4.0})
    assert split.method == "sum"
    assert (split.parent_from, split.parent_to, split.change) == (18.0, 17.0, -1.0)
    seg = by_name(split)
    assert seg["a"].contribution == 2.0 and seg["a"].presence == "both"
    assert seg["b"].contribution == -4.0
    assert seg["gone"].contribution == -3.0 and seg["gone"].presence == "from_only" and seg["gone"].value_to is None
    assert seg["new"].contribution == 4.0 and seg["new"].presence == "to_only" and seg["new"].value_from is None
    assert [s.segment for s in split.segments] == ["b", "new", "gone", "a"]  # |contribution| desc, ties by name
    assert_exact(split)


def test_sum_with_a_published_parent_adds_one_residual() -> None:
    split = sum_segments({"a": 10.0, "b": 5.0}, {"a": 12.0, "b": 6.0}, parent_from=20.0, parent_to=21.0)
    residual = by_name(split)["Not allocated to a segment"]
    assert residual.presence == "residual"
    assert (residual.value_from, residual.value_to, residual.contribution) == (5.0, 3.0, -2.0)
    assert split.change == 1.0
    assert_exact(split)
    # only one side published: the other is the sum of the children
    one_side = sum_segments({"a": 10.0}, {"a": 12.0}, parent_to=13.0, residual_label="Unknown")
    assert by_name(one_side)["Unknown"].contribution == 1.0
    assert one_side.parent_from == 10.0 and one_side.change == 3.0
    assert_exact(one_side)


def test_sum_without_a_gap_has_no_residual() -> None:
    values_from = {f"s{i}": 0.1 * i for i in range(1, 30)}
    values_to = {f"s{i}": 0.2 * i for i in range(1, 30)}
    parent_from = sum(values_from.values())  # naive sum: differs from fsum by rounding only
    split = sum_segments(values_from, values_to, parent_from=parent_from, parent_to=sum(values_to.values()))
    assert all(s.presence != "residual" for s in split.segments)
    assert_exact(split)


def test_sum_randomised_identity_and_antisymmetry() -> None:
    rng = np.random.default_rng(40)
    for _ in range(200):
        names = [f"E{i}" for i in range(rng.integers(1, 30))]
        a = {n: float(rng.normal(100, 50)) for n in names if rng.random() > 0.1}
        b = {n: float(rng.normal(100, 50)) for n in names if rng.random() > 0.1}
        if not a and not b:
            continue
        parents = {"parent_from": math.fsum(a.values()) + float(rng.normal(0, 5)),
                   "parent_to": math.fsum(b.values()) + float(rng.normal(0, 5))}
        split = sum_segments(a, b, **parents)
        assert_exact(split)
        swapped = sum_segments(b, a, parent_from=parents["parent_to"], parent_to=parents["parent_from"])
        for name, seg in by_name(split).items():
            assert by_name(swapped)[name].contribution == -seg.contribution


def test_sum_errors() -> None:
    with pytest.raises(ExplainError):
        sum_segments({}, {})
    with pytest.raises(ExplainError, match="already called"):
        sum_segments({"Other": 1.0}, {"Other": 2.0}, parent_from=5.0, residual_label="Other")
    with pytest.raises(ExplainError, match="not a number"):
        sum_segments({"a": "ten"}, {"a": 1.0})


# ----------------------------------------------------------------------------- ratio: mix and rate
def test_ratio_mix_and_rate_by_hand() -> None:
    # A: seg x 80/100 (0.8), y 30/100 (0.3) -> R = 0.55; B: x 90/100 (0.9), y 60/300 (0.2) -> R = 0.375
    split = ratio_segments({"x": 80, "y": 30}, {"x": 100, "y": 100}, {"x": 90, "y": 60}, {"x": 100, "y": 300})
    assert split.method == "ratio"
    assert split.parent_from == pytest.approx(0.55) and split.parent_to == pytest.approx(0.375)
    r_bar = (0.55 + 0.375) / 2
    x, y = by_name(split)["x"], by_name(split)["y"]
    assert (x.weight_from, x.weight_to) == (0.5, 0.25)
    assert x.mix == pytest.approx((0.25 - 0.5) * ((0.8 + 0.9) / 2 - r_bar))
    assert x.rate == pytest.approx((0.9 - 0.8) * (0.5 + 0.25) / 2)
    assert y.mix == pytest.approx((0.75 - 0.5) * ((0.3 + 0.2) / 2 - r_bar))
    assert y.rate == pytest.approx((0.2 - 0.3) * (0.5 + 0.75) / 2)
    assert (x.value_from, x.value_to) == (0.8, 0.9)
    assert_exact(split)


def random_ratio_case(rng: np.random.Generator):
    names = [f"P{i}" for i in range(rng.integers(1, 25))]
    maps = [{}, {}, {}, {}]
    for name in names:
        for period in (0, 1):
            u = rng.random()
            if u < 0.12:
                continue  # absent in this period
            if u < 0.18:
                maps[2 * period][name], maps[2 * period + 1][name] = 0.0, 0.0  # zero weight
                continue
            den = float(rng.uniform(1, 1000))
            maps[2 * period][name] = float(den * rng.uniform(0, 1))
            maps[2 * period + 1][name] = den
    return maps


def test_ratio_identity_randomised_with_absent_and_zero_weight_segments() -> None:
    rng = np.random.default_rng(41)
    checked = one_sided = 0
    for _ in range(1000):
        num_a, den_a, num_b, den_b = random_ratio_case(rng)
        if not any(den_a.values()) or not any(den_b.values()):
            with pytest.raises(ExplainError, match="add up to zero"):
                ratio_segments(num_a, den_a, num_b, den_b, scale=100.0)
            continue
        split = ratio_segments(num_a, den_a, num_b, den_b, scale=100.0)
        assert split.parent_from == pytest.approx(100 * sum(num_a.values()) / sum(den_a.values()), rel=1e-12)
        assert_exact(split)
        for seg in split.segments:
            if seg.presence != "both":
                one_sided += 1
                assert seg.rate == 0.0  # its missing rate is the other period's: all mix
                assert (seg.weight_from == 0.0) == (seg.presence == "to_only")
            assert math.isclose(math.fsum(s.weight_from for s in split.segments), 1.0) or split.parent_from == 0
        checked += 1
    assert checked > 800 and one_sided > 100


def test_volume_only_shock_has_no_rate_effect() -> None:
    rng = np.random.default_rng(42)
    names = [f"T{i}" for i in range(12)]
    den_a = {n: float(rng.uniform(100, 5000)) for n in names}
    rate = {n: float(rng.uniform(0.6, 0.99)) for n in names}
    num_a = {n: rate[n] * den_a[n] for n in names}
    # every segment's denominator scales (by its own factor); rates stay
    growth = {n: float(rng.uniform(0.5, 2.0)) for n in names}
    den_b = {n: den_a[n] * growth[n] for n in names}
    num_b = {n: num_a[n] * growth[n] for n in names}
    split = ratio_segments(num_a, den_a, num_b, den_b)
    assert_exact(split)
    for seg in split.segments:
        assert abs(seg.rate) < 1e-12
    assert math.fsum(s.mix for s in split.segments) == pytest.approx(split.change, abs=1e-12)
    # a uniform shock moves nothing at all
    uniform = ratio_segments(num_a, den_a, {n: 3 * v for n, v in num_a.items()}, {n: 3 * v for n, v in den_a.items()})
    assert abs(uniform.change) < 1e-12
    assert all(abs(s.mix) < 1e-12 and abs(s.rate) < 1e-12 for s in uniform.segments)


def test_fixed_weights_have_no_mix_effect() -> None:
    split = ratio_segments({"a": 50, "b": 10}, {"a": 100, "b": 100}, {"a": 70, "b": 5}, {"a": 100, "b": 100})
    assert all(s.mix == 0.0 for s in split.segments)
    assert by_name(split)["a"].rate == pytest.approx(0.1)
    assert_exact(split)


def test_segment_in_one_period_only_is_all_mix() -> None:
    split = ratio_segments({"a": 50}, {"a": 100}, {"a": 50, "new": 90}, {"a": 100, "new": 100})
    new = by_name(split)["new"]
    assert new.presence == "to_only" and new.value_from is None and new.value_to == 0.9
    assert new.rate == 0.0 and new.weight_from == 0.0 and new.weight_to == 0.5
    r_bar = (0.5 + 0.7) / 2
    assert new.mix == pytest.approx(0.5 * (0.9 - r_bar))
    assert_exact(split)
    zero = ratio_segments({"a": 50, "z": 0}, {"a": 100, "z": 0}, {"a": 60, "z": 5}, {"a": 100, "z": 10})
    assert by_name(zero)["z"].presence == "to_only"  # 0/0 is absent, with weight 0
    assert_exact(zero)


def test_ratio_antisymmetry_and_order_invariance() -> None:
    rng = np.random.default_rng(43)
    for _ in range(100):
        num_a, den_a, num_b, den_b = random_ratio_case(rng)
        if not any(den_a.values()) or not any(den_b.values()):
            continue
        split = ratio_segments(num_a, den_a, num_b, den_b)
        back = ratio_segments(num_b, den_b, num_a, den_a)
        for name, seg in by_name(split).items():
            other = by_name(back)[name]
            assert other.mix == pytest.approx(-seg.mix, abs=1e-14)
            assert other.rate == pytest.approx(-seg.rate, abs=1e-14)
        order = list(rng.permutation(sorted(set(num_a) | set(num_b))))
        reordered = [{k: m[k] for k in order if k in m} for m in (num_a, den_a, num_b, den_b)]
        assert ratio_segments(*reordered) == split  # exactly equal, not just close


def test_ratio_scale_multiplies_every_part() -> None:
    args = ({"a": 3, "b": 4}, {"a": 10, "b": 20}, {"a": 5, "b": 2}, {"a": 12, "b": 10})
    plain, scaled = ratio_segments(*args), ratio_segments(*args, scale=100.0)
    for name, seg in by_name(plain).items():
        assert by_name(scaled)[name].mix == pytest.approx(100 * seg.mix, rel=1e-12)
        assert by_name(scaled)[name].rate == pytest.approx(100 * seg.rate, rel=1e-12)


def test_ratio_errors() -> None:
    with pytest.raises(ExplainError, match="add up to zero"):
        ratio_segments({"a": 0}, {"a": 0}, {"a": 1}, {"a": 2})
    with pytest.raises(ExplainError, match="no denominator"):
        ratio_segments({"a": 1, "b": 1}, {"a": 2}, {"a": 1}, {"a": 2})
    with pytest.raises(ExplainError, match="denominator of 0"):
        ratio_segments({"a": 1, "b": 1}, {"a": 2, "b": 0}, {"a": 1}, {"a": 2})


# ----------------------------------------------------------------------------- means
def test_mean_segments() -> None:
    split = mean_segments({"a": 1.0, "b": 3.0, "c": 5.0}, {"a": 2.0, "b": 3.0, "d": 9.0})
    assert split.method == "mean"
    assert split.parent_from == 3.0 and split.parent_to == pytest.approx(14 / 3)
    assert_exact(split)
    assert by_name(split)["b"].contribution == pytest.approx(0.0, abs=1e-15)  # average and unchanged
    assert by_name(split)["c"].presence == "from_only"
    same_as_ratio = ratio_segments({"a": 1.0, "b": 3.0, "c": 5.0}, dict.fromkeys("abc", 1.0),
                                   {"a": 2.0, "b": 3.0, "d": 9.0}, dict.fromkeys("abd", 1.0))
    assert [s.contribution for s in same_as_ratio.segments] == [s.contribution for s in split.segments]
    with pytest.raises(ExplainError):
        mean_segments({}, {"a": 1.0})


def test_mean_randomised_identity_with_missing_values() -> None:
    rng = np.random.default_rng(44)
    for _ in range(300):
        names = [f"L{i}" for i in range(rng.integers(2, 40))]
        a = {n: (float("nan") if rng.random() < 0.1 else float(rng.normal(50, 20))) for n in names}
        b = {n: float(rng.normal(55, 20)) for n in names if rng.random() > 0.1}
        split = mean_segments(a, b)
        finite_a = [v for v in a.values() if not math.isnan(v)]
        assert split.parent_from == pytest.approx(sum(finite_a) / len(finite_a), rel=1e-12)
        assert_exact(split)


def test_to_dict_is_json_ready_and_fixed_inputs_repeat() -> None:
    args = ({"a": 3, "b": 4}, {"a": 10, "b": 20}, {"a": 5}, {"a": 12})
    split = ratio_segments(*args)
    data = json.loads(json.dumps(split.to_dict()))
    assert data["method"] == "ratio" and len(data["segments"]) == 2
    assert data["segments"][1]["value_to"] is None and data["segments"][1]["presence"] == "from_only"
    assert ratio_segments(*args) == split


# ----------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_police_forces_sum_to_their_regions_and_ae_mix_rate_adds_up() -> None:
    police, ae = REAL / "homeoffice_police_workforce_force.csv", REAL / "nhse_ae_attendances.csv"
    if not police.exists() or not ae.exists():
        pytest.skip("shared real data not present")
    frame = pd.read_csv(police)
    forces = frame[frame["area_type"] == "force"]
    first, last = sorted(frame["as_at"].unique())[0], sorted(frame["as_at"].unique())[-1]
    split = sum_segments(
        forces[forces["as_at"] == first].set_index("area")["officers_fte"].to_dict(),
        forces[forces["as_at"] == last].set_index("area")["officers_fte"].to_dict(),
    )
    assert_exact(split)

    attend = pd.read_csv(ae)
    attend["seen_in_4h"] = attend["attendances"] - attend["breaches"]
    periods = sorted(attend["period"].unique())
    a = attend[attend["period"] == periods[0]].groupby("org_code")[["seen_in_4h", "attendances"]].sum()
    b = attend[attend["period"] == periods[-1]].groupby("org_code")[["seen_in_4h", "attendances"]].sum()
    split = ratio_segments(a["seen_in_4h"].to_dict(), a["attendances"].to_dict(),
                           b["seen_in_4h"].to_dict(), b["attendances"].to_dict(), scale=100.0)
    assert_exact(split)
    assert split.parent_from == pytest.approx(100 * a["seen_in_4h"].sum() / a["attendances"].sum())
