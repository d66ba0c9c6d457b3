"""Values the store derives at load time: totals over breakdowns, parent areas, formula metrics.

They are computed once here and stored, so that a chart or an explanation reads a value by
its exact key instead of aggregating raw rows on every request. All functions are pure
(DataFrames in, DataFrames out) so they are tested without a database.

Frames use integer keys: ``metric_id, area_id, breakdown_id, pk`` (a period-key code) plus
``value`` (float, NaN when missing) and ``status``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from .formula import parse_formula
from .schema import AREA_ROLLUP, BREAKDOWN_TOTAL, FORMULA

log = logging.getLogger(__name__)

KEY = ["metric_id", "area_id", "breakdown_id", "pk"]
PROVISIONAL, INCOMPLETE = "p", "incomplete"
_BITS = (15, 22, 10, 16)  # metric, area, breakdown, period-key widths packed into one int64


def pack_keys(frame: pd.DataFrame) -> np.ndarray:
    """One int64 per row for the integer key, so membership tests and duplicate checks on
    millions of rows are numpy sorts instead of Python tuples."""
    packed = np.zeros(len(frame), dtype=np.int64)
    for column, bits in zip(KEY, _BITS):
        values = frame[column].to_numpy(dtype=np.int64)
        if len(values) and (values.min() < 0 or values.max() >= 1 << bits):
            raise OverflowError(f"{column} id exceeds {bits} bits; the store is larger than whytrend supports")
        packed = (packed << bits) | values
    return packed


def key_metric_ids(packed: np.ndarray) -> np.ndarray:
    """The metric id of each packed key (see :func:`pack_keys`)."""
    return (packed >> sum(_BITS[1:])).astype(np.int64)


def key_period_keys(packed: np.ndarray) -> np.ndarray:
    """The period-key code (``pk``) of each packed key."""
    return (packed & ((1 << _BITS[-1]) - 1)).astype(np.int64)


def unpack_keys(packed: np.ndarray) -> pd.DataFrame:
    columns = {}
    for column, bits in zip(reversed(KEY), reversed(_BITS)):
        columns[column] = (packed & ((1 << bits) - 1)).astype(np.int64)
        packed = packed >> bits
    return pd.DataFrame({c: columns[c] for c in KEY})


def _without(frame: pd.DataFrame, provided: np.ndarray) -> pd.DataFrame:
    """Rows of ``frame`` whose key is not among ``provided`` (packed keys)."""
    if frame.empty or not len(provided):
        return frame
    return frame[~np.isin(pack_keys(frame), provided)]


@dataclass(frozen=True)
class Hierarchy:
    """Parent of every area id (None for a root) and the id of the whole."""

    parent: Mapping[int, int | None]
    whole_id: int

    def depth(self) -> dict[int, int]:
        depth: dict[int, int] = {}
        for area in self.parent:
            d, current, seen = 0, self.parent.get(area), {area}
            while current is not None and current not in seen:
                seen.add(current)
                d += 1
                current = self.parent.get(current)
            depth[area] = d
        return depth


def _aggregate(frame: pd.DataFrame, by: list[str], how: str) -> pd.DataFrame:
    """Sum or mean of ``value`` by ``by``; status 'p' if any part is provisional, else
    'incomplete' if any part is missing (the value then covers the parts that exist).

    Group numbers once, then numpy bincounts: no copies of the frame, which matters when the
    frame is every leaf of a multi-million-row load.
    """
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in by}
                            | {"value": pd.Series(dtype=float), "status": pd.Series(dtype=object)})
    if list(by) == KEY:  # one packed int64 per row: factorising it is far lighter than a 4-column groupby
        group, _ = pd.factorize(pack_keys(frame))
    else:
        group = frame.groupby(by, sort=False, observed=True).ngroup().to_numpy()
    n = int(group.max()) + 1
    values = frame["value"].to_numpy(dtype=float)
    present = ~np.isnan(values)
    status = frame["status"].to_numpy(dtype=object)
    total = np.bincount(group, weights=np.where(present, values, 0.0), minlength=n)
    count = np.bincount(group, weights=present.astype(float), minlength=n)
    missing = np.bincount(group, weights=(~present | (status == INCOMPLETE)).astype(float), minlength=n) > 0
    provisional = np.bincount(group, weights=(status == PROVISIONAL).astype(float), minlength=n) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(count > 0, total if how == "sum" else total / count, np.nan)
    _, first = np.unique(group, return_index=True)
    out = pd.DataFrame({c: frame[c].to_numpy()[first] for c in by})
    out["value"] = value
    out["status"] = np.where(provisional, PROVISIONAL, np.where(missing, INCOMPLETE, ""))
    return out


def breakdown_totals(leaves: pd.DataFrame, breakdown_keys: Mapping[int, str], how: Mapping[int, str],
                     key_ids: Mapping[str, int]) -> pd.DataFrame:
    """Totals over breakdowns (id 0) and single-dimension marginals, where not provided, from each
    metric's finest breakdown keys.

    ``breakdown_keys`` maps breakdown id -> 'dim=value;dim2=value2'; ``key_ids`` maps a
    key back to its id (the caller creates ids for new marginal keys first: see
    :func:`marginal_keys`). ``how`` maps metric id -> 'sum' | 'mean'.
    """
    split = leaves[leaves["breakdown_id"] != 0]
    if split.empty:
        return _empty()
    provided = pack_keys(leaves)
    pieces = []
    dims = {bid: _parse_key(key) for bid, key in breakdown_keys.items()}
    # A published marginal (a "Total" row of one breakdown inside a block of another: "Males, all
    # custody types") is a value of that marginal, not one more leaf: only a metric's finest keys add up.
    depth = split["breakdown_id"].map(lambda bid: len(dims[int(bid)]))
    split = split[depth.to_numpy() == depth.groupby(split["metric_id"]).transform("max").to_numpy()]
    targets: dict[int, list[int]] = {}
    for bid in split["breakdown_id"].unique():
        parts = dims[int(bid)]
        out = [0]
        if len(parts) > 1:
            out += [key_ids[f"{d}={v}"] for d, v in parts.items()]
        targets[int(bid)] = out
    for target_position in range(max(len(t) for t in targets.values())):
        mapping = {bid: t[target_position] for bid, t in targets.items() if len(t) > target_position}
        part = split[split["breakdown_id"].isin(list(mapping))].copy()
        part["breakdown_id"] = part["breakdown_id"].map(mapping)
        for how_name, group in part.groupby(part["metric_id"].map(how), sort=False):
            pieces.append(_aggregate(group, KEY, how_name))
    if not pieces:
        return _empty()
    out = pd.concat(pieces, ignore_index=True)
    out = _without(out, provided).copy()
    out["derived"] = BREAKDOWN_TOTAL
    return out.reset_index(drop=True)


def marginal_keys(breakdown_keys: Mapping[int, str]) -> set[str]:
    """Single-dimension keys needed for marginals of multi-dimension breakdowns."""
    keys: set[str] = set()
    for key in breakdown_keys.values():
        parts = _parse_key(key)
        if len(parts) > 1:
            keys.update(f"{d}={v}" for d, v in parts.items())
    return keys


def area_rollups(values: pd.DataFrame, hierarchy: Hierarchy, how: Mapping[int, str]) -> pd.DataFrame:
    """Parent-area values bottom-up, and the whole over root areas.

    A parent's value is the source's own value when it gave one, else the aggregate of its
    direct children's values (given or rolled up), so every level sums (or averages) its
    children exactly. Works level by level on slices of ``values`` (no copy of all rows).
    """
    if values.empty:
        return _empty()
    depth = hierarchy.depth()
    size = max(max(hierarchy.parent, default=0), hierarchy.whole_id, int(values["area_id"].max())) + 1
    depth_of = np.zeros(size, dtype=np.int16)
    parent_of = np.full(size, -1, dtype=np.int64)
    for area, d in depth.items():
        depth_of[area] = d
    for area, parent in hierarchy.parent.items():
        parent_of[area] = -1 if parent is None else parent
    area_ids = values["area_id"].to_numpy()
    level_of = depth_of[area_ids]
    parents = np.array(sorted({p for p in hierarchy.parent.values() if p is not None} | {hierarchy.whole_id}))
    provided = pack_keys(values.loc[np.isin(area_ids, parents)])  # only parents can collide with roll-ups
    columns = KEY + ["value", "status"]
    pending: dict[int, list[pd.DataFrame]] = {}
    produced = []
    for level in range(int(level_of.max()), 0, -1):
        frames = [values.loc[level_of == level, columns], *pending.get(level, [])]
        rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if rows.empty:
            continue
        rows = rows.assign(area_id=parent_of[rows["area_id"].to_numpy()])
        rows = rows[rows["area_id"].to_numpy() >= 0]
        agg = _without(_by_method(rows, how), provided)
        if agg.empty:
            continue
        produced.append(agg)
        pending.setdefault(level - 1, []).append(agg)
    roots = [values.loc[(level_of == 0) & (area_ids != hierarchy.whole_id), columns], *pending.get(0, [])]
    roots = pd.concat(roots, ignore_index=True) if len(roots) > 1 else roots[0]
    if not roots.empty:
        whole = _without(_by_method(roots.assign(area_id=hierarchy.whole_id), how), provided)
        produced.append(whole)
    if not produced:
        return _empty()
    out = pd.concat(produced, ignore_index=True)
    out["derived"] = AREA_ROLLUP
    return out[KEY + ["value", "status", "derived"]].reset_index(drop=True)


def _by_method(rows: pd.DataFrame, how: Mapping[int, str]) -> pd.DataFrame:
    pieces = [_aggregate(group, KEY, name) for name, group in rows.groupby(rows["metric_id"].map(how), sort=False)]
    return pd.concat(pieces, ignore_index=True) if pieces else _empty()


def formula_values(components: pd.DataFrame, formula: str, codes: Mapping[str, int], metric_id: int) -> pd.DataFrame:
    """Evaluate a formula metric on every key where all its components have values.

    ``components``: rows of the component metrics (any areas, breakdowns, periods).
    Evaluation is vectorised and safe: :mod:`loaders.formula` parses the text into plain
    arithmetic (never ``eval``) and evaluates it over the component columns.
    """
    from_code = {v: k for k, v in codes.items()}
    parsed = parse_formula(formula)
    names = list(parsed.components)
    wide = components.assign(metric=components["metric_id"].map(from_code))
    wide = wide[wide["metric"].isin(names)]
    if wide.empty:
        return _empty()
    table = wide.pivot_table(index=["area_id", "breakdown_id", "pk"], columns="metric", values="value",
                             aggfunc="first", dropna=False)
    if any(n not in table.columns for n in names):
        return _empty()
    marks = wide.assign(p=wide["status"] == PROVISIONAL, i=wide["status"] == INCOMPLETE).groupby(
        ["area_id", "breakdown_id", "pk"])[["p", "i"]].any().reindex(table.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.asarray(parsed.evaluate({n: table[n].to_numpy(dtype=float) for n in names}), dtype=float)
    out = table.index.to_frame(index=False)
    out["value"] = np.where(np.isfinite(value), value, np.nan)
    out["status"] = np.where(marks["p"].to_numpy(), PROVISIONAL, np.where(marks["i"].to_numpy(), INCOMPLETE, ""))
    out["metric_id"] = metric_id
    out["derived"] = FORMULA
    out = out[out["value"].notna() | table.notna().all(axis=1).to_numpy()]
    return out[KEY + ["value", "status", "derived"]].reset_index(drop=True)


def _parse_key(key: str) -> dict[str, str]:
    if not key:
        return {}
    return dict(part.split("=", 1) for part in key.split(";"))


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64") for c in KEY}
                        | {"value": pd.Series(dtype=float), "status": pd.Series(dtype=object),
                           "derived": pd.Series(dtype="int64")})
