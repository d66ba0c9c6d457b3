"""Quality grade rules, checked on constructed loads, and the README table kept in step."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loaders import quality
from loaders.quality import RULES, completeness, grade_load, outlier_share, rule_grade, timeliness

README = Path(__file__).resolve().parents[1] / "README.md"


def leaves(n_areas=4, n_periods=12, values=None):
    rows = [(1, a, 0, p, float(values[a][p]) if values else 100.0 + a + p)
            for a in range(n_areas) for p in range(n_periods)]
    return pd.DataFrame(rows, columns=["metric_id", "area_id", "breakdown_id", "pk", "value"]).assign(status="")


@pytest.mark.parametrize("rule, figure, grade", [
    ("completeness", 1.0, "A"), ("completeness", 0.98, "A"), ("completeness", 0.9799, "B"), ("completeness", 0.5, "D"),
    ("quarantine", 0.0, "A"), ("quarantine", 0.001, "A"), ("quarantine", 0.0011, "B"), ("quarantine", 0.06, "D"),
    ("duplicates", 0.0, "A"), ("duplicates", 0.0005, "B"), ("revisions", 0.2, "C"), ("revisions", 0.21, "D"),
    ("timeliness", 1.0, "A"), ("timeliness", 4.0, "C"), ("timeliness", 4.01, "D"),
])
def test_rule_thresholds_are_inclusive_at_the_boundary(rule, figure, grade):
    assert rule_grade(rule, figure) == grade


def test_completeness_counts_gaps_in_series_but_not_absent_breakdowns():
    frame = leaves()
    assert completeness(frame) == 1.0
    frame.loc[frame.index[:3], "value"] = np.nan  # three suppressed values
    assert completeness(frame) == pytest.approx(45 / 48)
    gap = leaves().iloc[1:]  # one period missing from one series
    assert completeness(gap) == pytest.approx(47 / 48)
    extra = pd.concat([leaves(), leaves(n_areas=1).assign(breakdown_id=7)])  # a breakdown only one area has
    assert completeness(extra) == 1.0


def test_outlier_share_flags_a_jump_against_the_series_own_spread():
    rng = np.random.default_rng(1)
    values = {a: list(100 + np.cumsum(rng.normal(0, 1, 40))) for a in range(5)}
    values[2][20] += 60  # a spike: two extreme changes (up, then down)
    frame = leaves(5, 40, values)
    share = outlier_share(frame, {p: p for p in range(40)})
    flagged = 0
    for a in range(5):  # brute force: modified z-score of each series' own changes
        changes = np.diff(values[a])
        med = np.median(changes)
        mad = np.median(np.abs(changes - med))
        z = 0.6745 * (changes - med) / mad
        flagged += int((np.abs(z) > 3.5).sum())
        if a == 2:
            assert abs(z[19]) > 3.5 and abs(z[20]) > 3.5  # the spike's rise and fall
    assert share == pytest.approx(flagged / (5 * 39))


def test_timeliness_is_a_multiple_of_the_expected_lag():
    assert timeliness(dt.date(2026, 9, 30), dt.date(2026, 11, 30), 61) == pytest.approx(1.0)
    assert timeliness(None, dt.date(2026, 11, 30), 61) == 0.0


def test_grade_is_the_worst_rule_and_every_rule_below_a_is_a_reason():
    frame = leaves()
    result = grade_load(leaves=frame, period_order={p: p for p in range(12)}, rows_read=1000, rows_quarantined=20,
                        exact_duplicates=0, values_revised=3, values_previously_published=100,
                        latest_period_end=dt.date(2026, 9, 30), latest_freq="M", loaded_on=dt.date(2026, 10, 15))
    assert result.grade == "C"  # quarantine 2% -> C; revisions 3% -> B
    assert [r.split()[0] for r in result.reasons] == ["quarantine", "revisions"]
    assert "2.00% of rows were quarantined" in result.reasons[0]


def test_readme_quality_table_matches_the_rules():
    text = README.read_text()
    table = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \| [^|]+ \| ([^|]+\|[^|]+\|[^|]+)\|", text, re.M)}
    for rule, ((a, b, c), lower) in RULES.items():
        cells = [cell.strip() for cell in table[rule].split("|")]
        numbers = [float(re.sub(r"[^\d.]", "", cell)) for cell in cells]
        expected = [x * (1 if rule == "timeliness" else 100) for x in (a, b, c)]
        assert numbers == pytest.approx(expected), rule
        assert all(cell.startswith("≤" if lower else "≥") for cell in cells if cell != "0"), rule
    assert set(quality.EXPECTED_LAG_DAYS) == {"D", "W", "M", "Q", "FQ", "Y", "FY"}
