"""Exact baseline (single-reference interventional) Shapley values for HistGradientBoosting trees.

Why this module exists: whytrend explains f(x_B) − f(x_A) for each area with that area's own row
in period A as the *one-row* background. ``shap.TreeExplainer`` can do that, but only one
background per explainer, so a panel of 400 areas would need 400 explainers (far too slow).
Here the fitted ensemble is read once (cached per estimator) and each pair takes tens of
microseconds.

The maths. A leaf is reached by a point z iff, for every feature j split on along its path, z_j
satisfies all of that path's conditions on j (an interval ``lo < z_j <= hi``, or NaN when every
split on j sends missing values the path's way). For the hybrid point z = (x on S, r elsewhere):

* x and r both satisfy feature j's conditions → no constraint on j;
* only x does → j must be taken from x (j ∈ P);
* only r does → j must be taken from r (j ∈ N);
* neither does → no hybrid reaches the leaf (skip it).

So the leaf's value v enters the game as v·1[P ⊆ S, N ∩ S = ∅], whose Shapley values are
v·(|P|−1)!|N|!/(|P|+|N|)! for each i ∈ P and −v·|P|!(|N|−1)!/(|P|+|N|)! for each i ∈ N. Summing
over leaves and trees gives the exact interventional TreeSHAP with one background row. A leaf
with P = N = ∅ is reached by both points and cancels. Consequences used by tests: Σφ = f(x) − f(r)
exactly (up to float rounding); a feature with x_j == r_j (or both NaN) never enters P or N and
gets exactly 0.

Two kernels compute the same thing. The numba one walks each tree depth-first from the root,
following x and r together and branching only where they part (a split on j may branch only if j
is not already committed the other way), so it touches just the nodes some hybrid can reach;
it is compiled with ``cache=True`` (the JIT cost is paid once per machine) and runs on one
thread on purpose (docs/performance.md on contention). The numpy one evaluates the leaf table
vectorised over blocks of pairs; it is used when numba is missing (shap itself depends on numba,
so that is rare) or ``WHYTREND_NO_NUMBA=1`` is set, and is about 10× slower. Both are tested
against shap and against brute force over all 2^k coalitions.

Known shap difference: shap 0.51's TreeExplainer on HistGradientBoosting is not float64-exact
(~1e-8 relative) and can route a value lying exactly on a split threshold differently from
scikit-learn; HGB thresholds often equal training values, so on training rows shap's
interventional values can miss additivity by a visible amount. This module follows
scikit-learn's own rule (``z <= threshold`` goes left; NaN follows ``missing_go_to_left``).
"""
from __future__ import annotations

import logging
import math
import os
import weakref
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from explain.errors import ModelError

log = logging.getLogger(__name__)

__all__ = ["LeafConstraints", "LeafTable", "leaf_table", "baseline_shap", "numba_available", "tree_predict"]

# Pairs per block in the numpy kernel: (n_constraints × block) arrays stay cache-friendly (32 was
# fastest of 16–256 on the benchmark) and memory stays bounded.
_NUMPY_BLOCK = 32


@dataclass(frozen=True)
class LeafConstraints:
    """The trees as per-leaf feature constraints (see module docstring), for the numpy kernel.

    Constraint arrays are indexed by constraint c; constraints of leaf ℓ are
    ``leaf_start[ℓ]:leaf_start[ℓ+1]`` and each names a distinct feature.
    """

    leaf_value: np.ndarray     # (n_leaves,) float64, shrinkage already applied
    leaf_start: np.ndarray     # (n_leaves + 1,) int64
    feature: np.ndarray        # (n_constraints,) int64
    lo: np.ndarray             # (n_constraints,) float64, meaningful where has_lo
    hi: np.ndarray             # (n_constraints,) float64, meaningful where has_hi
    has_lo: np.ndarray         # (n_constraints,) bool: some split sent the path right (z > lo)
    has_hi: np.ndarray         # (n_constraints,) bool: some split sent the path left (z <= hi)
    nan_ok: np.ndarray         # (n_constraints,) bool: NaN follows the path at every split on it

    @property
    def n_leaves(self) -> int:
        return int(self.leaf_value.shape[0])


@dataclass(frozen=True)
class LeafTable:
    """A fitted tree ensemble as flat node arrays (all trees concatenated; children are global
    indices), walked by the numba kernel, which prunes to the nodes some hybrid of x and r can
    reach; and, built only when first asked for (the numpy kernel), as per-leaf constraints.

    Why the constraints wait: walking every root-to-leaf path is Python work (0.5 s for 2,200
    trees), while the node arrays are a few array operations; a web worker's first explanation
    under the numba kernel should not pay for a table it never reads.
    """

    n_features: int
    w_pos: np.ndarray          # (K+1, K+1) float64: (p−1)! n! / (p+n)!  (0 where p == 0)
    w_neg: np.ndarray          # (K+1, K+1) float64: p! (n−1)! / (p+n)!  (0 where n == 0)
    baseline: float            # the ensemble's constant raw prediction
    roots: np.ndarray          # (n_trees,) int64
    node_feature: np.ndarray   # (n_nodes,) int64 (−1 at leaves)
    node_threshold: np.ndarray  # (n_nodes,) float64: z <= threshold goes left
    node_left: np.ndarray      # (n_nodes,) int64 (−1 at leaves)
    node_right: np.ndarray     # (n_nodes,) int64 (−1 at leaves)
    node_missing_left: np.ndarray  # (n_nodes,) bool: NaN goes left
    node_is_leaf: np.ndarray   # (n_nodes,) bool
    node_value: np.ndarray     # (n_nodes,) float64
    max_depth: int

    @property
    def n_leaves(self) -> int:
        return int(self.node_is_leaf.sum())

    @cached_property
    def constraints(self) -> LeafConstraints:
        return _build_constraints(self)


def _shapley_weights(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Weight tables for leaves with |P| = p and |N| = n, p + n <= k (exact factorial ratios)."""
    w_pos = np.zeros((k + 1, k + 1))
    w_neg = np.zeros((k + 1, k + 1))
    for p in range(k + 1):
        for n in range(k + 1 - p):
            if p + n == 0:
                continue
            denom = math.factorial(p + n)
            if p > 0:
                w_pos[p, n] = math.factorial(p - 1) * math.factorial(n) / denom
            if n > 0:
                w_neg[p, n] = math.factorial(p) * math.factorial(n - 1) / denom
    return w_pos, w_neg


def _check_hgb(est) -> None:
    """Only fitted single-output, identity-link HGB regressors are supported, without categoricals."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    if not isinstance(est, HistGradientBoostingRegressor):
        raise ModelError(f"baseline SHAP for trees needs a HistGradientBoostingRegressor, not {type(est).__name__}")
    if not getattr(est, "_predictors", None):
        raise ModelError("the gradient boosting model is not fitted")
    if est.loss not in ("squared_error", "absolute_error", "quantile"):
        # poisson/gamma use a log link: the trees add up on the raw scale, not the prediction scale.
        raise ModelError(f"baseline SHAP supports identity-link losses only, not loss={est.loss!r}")
    if any(len(it) != 1 for it in est._predictors):
        raise ModelError("baseline SHAP supports single-output regressors only")


def _build_leaf_table(est) -> LeafTable:
    """Concatenate every tree's nodes into flat arrays (vectorised: no walk over the nodes)."""
    _check_hgb(est)
    trees = [iteration[0].nodes for iteration in est._predictors]
    sizes = np.fromiter((len(t) for t in trees), dtype=np.int64, count=len(trees))
    record = trees[0].dtype
    # joined as opaque records: np.concatenate re-derives a structured dtype for every one of the
    # arrays (30 ms for 2,200 trees), and every tree holds the same record type
    opaque = np.dtype((np.void, record.itemsize))
    nodes = np.concatenate([np.ascontiguousarray(t, dtype=record).view(opaque) for t in trees]).view(record)
    if np.any(nodes["is_categorical"]):
        raise ModelError("baseline SHAP does not support categorical splits")
    roots = (np.cumsum(sizes) - sizes).astype(np.int64)
    offset = np.repeat(roots, sizes)
    is_leaf = nodes["is_leaf"].astype(bool)
    max_depth = int(nodes["depth"].max())
    # p + n counts distinct features on a root-to-leaf path: at most its depth, and the features
    k = max(min(max_depth, int(est.n_features_in_)), 1)
    w_pos, w_neg = _shapley_weights(k)
    return LeafTable(
        n_features=int(est.n_features_in_),
        w_pos=w_pos,
        w_neg=w_neg,
        baseline=float(np.asarray(est._baseline_prediction).ravel()[0]),
        roots=roots,
        node_feature=np.where(is_leaf, -1, nodes["feature_idx"].astype(np.int64)),
        node_threshold=nodes["num_threshold"].astype(np.float64),
        node_left=np.where(is_leaf, -1, nodes["left"].astype(np.int64) + offset),
        node_right=np.where(is_leaf, -1, nodes["right"].astype(np.int64) + offset),
        node_missing_left=nodes["missing_go_to_left"].astype(np.bool_),
        node_is_leaf=is_leaf,
        node_value=nodes["value"].astype(np.float64),
        max_depth=max_depth,
    )


def _build_constraints(t: LeafTable) -> LeafConstraints:
    """Walk every tree once, collecting each leaf's merged per-feature interval and NaN rule."""
    values: list[float] = []
    starts: list[int] = [0]
    feats: list[int] = []
    los: list[float] = []
    his: list[float] = []
    has_los: list[bool] = []
    has_his: list[bool] = []
    nan_oks: list[bool] = []
    is_leaf, feature, thr = t.node_is_leaf.tolist(), t.node_feature.tolist(), t.node_threshold.tolist()
    left, right, mleft, value = (t.node_left.tolist(), t.node_right.tolist(), t.node_missing_left.tolist(),
                                 t.node_value.tolist())
    for root in t.roots.tolist():
        # Depth-first with explicit per-path state: {feature: [lo, hi, has_lo, has_hi, nan_ok]}.
        stack: list[tuple[int, dict[int, list]]] = [(root, {})]
        while stack:
            node, cons = stack.pop()
            if is_leaf[node]:
                values.append(value[node])
                for j in sorted(cons):
                    lo, hi, hlo, hhi, nok = cons[j]
                    feats.append(j)
                    los.append(lo)
                    his.append(hi)
                    has_los.append(hlo)
                    has_his.append(hhi)
                    nan_oks.append(nok)
                starts.append(len(feats))
                continue
            j = feature[node]
            cut = thr[node]
            base = cons.get(j, [-np.inf, np.inf, False, False, True])
            # left: z <= cut (NaN goes left iff missing_go_to_left)
            lcons = dict(cons)
            lcons[j] = [base[0], min(base[1], cut), base[2], True, base[4] and mleft[node]]
            # right: z > cut
            rcons = dict(cons)
            rcons[j] = [max(base[0], cut), base[1], True, base[3], base[4] and not mleft[node]]
            stack.append((right[node], rcons))
            stack.append((left[node], lcons))
    return LeafConstraints(
        leaf_value=np.asarray(values, dtype=np.float64),
        leaf_start=np.asarray(starts, dtype=np.int64),
        feature=np.asarray(feats, dtype=np.int64),
        lo=np.asarray(los, dtype=np.float64),
        hi=np.asarray(his, dtype=np.float64),
        has_lo=np.asarray(has_los, dtype=np.bool_),
        has_hi=np.asarray(has_his, dtype=np.bool_),
        nan_ok=np.asarray(nan_oks, dtype=np.bool_),
    )


# One table per fitted estimator object; refitting creates new tree objects, which we detect.
_TABLES: "weakref.WeakKeyDictionary[object, tuple[int, LeafTable]]" = weakref.WeakKeyDictionary()


def leaf_table(est) -> LeafTable:
    """The (cached) leaf table of a fitted HistGradientBoostingRegressor."""
    key = id(est._predictors[-1][0]) if getattr(est, "_predictors", None) else None
    cached = _TABLES.get(est)
    if cached is not None and cached[0] == key:
        return cached[1]
    table = _build_leaf_table(est)
    _TABLES[est] = (key, table)
    return table


# ----------------------------------------------------------------------------- numpy kernel


def _satisfies(t: LeafConstraints, vals: np.ndarray) -> np.ndarray:
    """vals: (n_constraints, n_pairs) feature values → whether each meets its constraint."""
    nan = np.isnan(vals)
    with np.errstate(invalid="ignore"):
        ok = (~t.has_lo[:, None] | (vals > t.lo[:, None])) & (~t.has_hi[:, None] | (vals <= t.hi[:, None]))
    return np.where(nan, t.nan_ok[:, None], ok)


def _shap_numpy(table: LeafTable, x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Vectorised over pairs with constraints along axis 0 (contiguous segment sums)."""
    n_pairs = x.shape[0]
    out = np.zeros((n_pairs, table.n_features))
    t = table.constraints
    if t.feature.shape[0] == 0 or n_pairs == 0:
        return out
    counts = np.diff(t.leaf_start)
    has_cons = counts > 0
    seg_start = t.leaf_start[:-1][has_cons]        # reduceat needs non-empty segments
    cleaf = (np.cumsum(has_cons) - 1)[np.repeat(np.arange(t.n_leaves), counts)]
    values = t.leaf_value[has_cons][:, None]
    base = table.w_pos.shape[0] + 1                # p, n < base: pack (p, n, dead) in one integer
    order = np.argsort(t.feature, kind="stable")   # constraints grouped by feature for the final sum
    feats, fstart = np.unique(t.feature[order], return_index=True)
    for s in range(0, n_pairs, _NUMPY_BLOCK):
        xs = _satisfies(t, x[s:s + _NUMPY_BLOCK].T[t.feature])
        rs = _satisfies(t, r[s:s + _NUMPY_BLOCK].T[t.feature])
        pos = xs & ~rs
        neg = rs & ~xs
        code = pos.astype(np.int64) + neg * base + (~xs & ~rs) * (base * base)
        packed = np.add.reduceat(code, seg_start, axis=0)
        p = packed % base
        n = (packed // base) % base
        live = packed < base * base
        wp = np.where(live, table.w_pos[p, n] * values, 0.0)
        wn = np.where(live, table.w_neg[p, n] * values, 0.0)
        contrib = np.where(pos, wp[cleaf], 0.0) - np.where(neg, wn[cleaf], 0.0)
        out[s:s + contrib.shape[1], feats] = np.add.reduceat(contrib[order], fstart, axis=0).T
    return out


# ----------------------------------------------------------------------------- numba kernel

def _kernel_py(x, r, roots, feature, threshold, left, right, missing_left, is_leaf, value,
               max_depth, w_pos, w_neg, n_features, out):  # pragma: no cover - compiled by numba
    """Per pair and tree, walk only the nodes some hybrid of x and r reaches, tracking which
    features must come from x (P) or r (N); credit each reachable leaf by the weight tables.

    Iterative DFS with an undo log: ``state[j]`` is 0 (free), 1 (in P) or 2 (in N) for the path
    to the node being processed; ``path_feat[d]`` is the feature assigned at depth d (or −1).
    """
    cap = 2 * (max_depth + 2)
    st_node = np.empty(cap, dtype=np.int64)
    st_depth = np.empty(cap, dtype=np.int64)
    st_p = np.empty(cap, dtype=np.int64)
    st_n = np.empty(cap, dtype=np.int64)
    st_feat = np.empty(cap, dtype=np.int64)
    st_sign = np.empty(cap, dtype=np.int8)
    path_feat = np.full(max_depth + 2, -1, dtype=np.int64)
    state = np.zeros(n_features, dtype=np.int8)
    for i in range(x.shape[0]):
        for t in range(roots.shape[0]):
            top = 0
            st_node[0] = roots[t]
            st_depth[0] = 0
            st_p[0] = 0
            st_n[0] = 0
            st_feat[0] = -1
            st_sign[0] = 0
            cur = 0  # path_feat[0:cur] is the current path's assignment log
            while top >= 0:
                node = st_node[top]
                d = st_depth[top]
                p = st_p[top]
                n = st_n[top]
                f = st_feat[top]
                sg = st_sign[top]
                top -= 1
                # undo the log back to this node's parent, then record the edge into this node
                keep = d - 1 if d > 0 else 0
                while cur > keep:
                    cur -= 1
                    if path_feat[cur] >= 0:
                        state[path_feat[cur]] = 0
                        path_feat[cur] = -1
                if d > 0:
                    path_feat[d - 1] = f
                    if f >= 0:
                        state[f] = sg
                cur = d
                if is_leaf[node]:
                    if p + n > 0:
                        v = value[node]
                        wp = v * w_pos[p, n]
                        wn = v * w_neg[p, n]
                        for k in range(d):
                            j = path_feat[k]
                            if j >= 0:
                                if state[j] == 1:
                                    out[i, j] += wp
                                else:
                                    out[i, j] -= wn
                    continue
                j = feature[node]
                xv = x[i, j]
                rv = r[i, j]
                if np.isnan(xv):
                    xl = missing_left[node]
                else:
                    xl = xv <= threshold[node]
                if np.isnan(rv):
                    rl = missing_left[node]
                else:
                    rl = rv <= threshold[node]
                if xl == rl:
                    top += 1
                    st_node[top] = left[node] if xl else right[node]
                    st_depth[top] = d + 1
                    st_p[top] = p
                    st_n[top] = n
                    st_feat[top] = -1
                    st_sign[top] = 0
                    continue
                s_j = state[j]
                if s_j != 2:  # x's way: j from x
                    top += 1
                    st_node[top] = left[node] if xl else right[node]
                    st_depth[top] = d + 1
                    if s_j == 0:
                        st_p[top] = p + 1
                        st_feat[top] = j
                        st_sign[top] = 1
                    else:
                        st_p[top] = p
                        st_feat[top] = -1
                        st_sign[top] = 0
                    st_n[top] = n
                if s_j != 1:  # r's way: j from r
                    top += 1
                    st_node[top] = left[node] if rl else right[node]
                    st_depth[top] = d + 1
                    st_p[top] = p
                    if s_j == 0:
                        st_n[top] = n + 1
                        st_feat[top] = j
                        st_sign[top] = 2
                    else:
                        st_n[top] = n
                        st_feat[top] = -1
                        st_sign[top] = 0
            # reset the state for the next tree
            while cur > 0:
                cur -= 1
                if path_feat[cur] >= 0:
                    state[path_feat[cur]] = 0
                    path_feat[cur] = -1
    return out


def _predict_py(x, roots, feature, threshold, left, right, missing_left, is_leaf, value, baseline,
                out):  # pragma: no cover - compiled by numba
    """The ensemble's raw prediction for each row: the baseline plus each tree's leaf value, added in
    tree order as scikit-learn adds them, so the result is the same to the last bit."""
    for i in range(x.shape[0]):
        acc = baseline
        for t in range(roots.shape[0]):
            node = roots[t]
            while not is_leaf[node]:
                v = x[i, feature[node]]
                if np.isnan(v):
                    go_left = missing_left[node]
                else:
                    go_left = v <= threshold[node]
                node = left[node] if go_left else right[node]
            acc += value[node]
        out[i] = acc
    return out


_NUMBA_KERNEL = None
_NUMBA_PREDICT = None
_NUMBA_FAILED = False


def _numba_kernel():
    """Compile (or load from the on-disk cache) the numba kernel; None when numba is unusable."""
    global _NUMBA_KERNEL, _NUMBA_PREDICT, _NUMBA_FAILED
    if _NUMBA_KERNEL is not None or _NUMBA_FAILED:
        return _NUMBA_KERNEL
    if os.environ.get("WHYTREND_NO_NUMBA", "") not in ("", "0"):
        _NUMBA_FAILED = True
        return None
    try:
        import numba
    except ImportError:  # pragma: no cover - depends on the environment
        log.info("numba is not installed; baseline SHAP uses the numpy kernel")
        _NUMBA_FAILED = True
        return None

    kernel = numba.njit(cache=True, nogil=True)(_kernel_py)
    predict = numba.njit(cache=True, nogil=True)(_predict_py)

    try:
        # Compile on a one-leaf tree so failures surface here, not in a user's request.
        z = np.zeros((1, 1))
        i1 = np.zeros(1, dtype=np.int64)
        b1 = np.ones(1, dtype=np.bool_)
        kernel(z, z, i1, i1 - 1, np.zeros(1), i1 - 1, i1 - 1, b1, b1, np.zeros(1), 0,
               np.zeros((2, 2)), np.zeros((2, 2)), 1, np.zeros((1, 1)))
        predict(z, i1, i1 - 1, np.zeros(1), i1 - 1, i1 - 1, b1, b1, np.zeros(1), 0.0, np.zeros(1))
    except Exception:  # pragma: no cover - depends on the environment
        log.warning("numba kernel failed to compile; baseline SHAP uses the numpy kernel", exc_info=True)
        _NUMBA_FAILED = True
        return None
    _NUMBA_KERNEL, _NUMBA_PREDICT = kernel, predict
    return kernel


def numba_available() -> bool:
    """Whether the numba kernel is in use (False with WHYTREND_NO_NUMBA=1 or without numba)."""
    return _numba_kernel() is not None


def baseline_shap(est, x: np.ndarray, r: np.ndarray, *, engine: str = "auto") -> np.ndarray:
    """Exact Shapley values of f(x_i) − f(r_i) for each row pair (x_i explained against r_i alone).

    ``est`` is a fitted HistGradientBoostingRegressor; ``x`` and ``r`` are (n_pairs, n_features)
    float arrays of the estimator's own features (NaN allowed, sent the way the trees send it).
    ``engine`` is "auto" (numba when available), "numba" or "numpy". Returns (n_pairs, n_features).
    Additivity is the caller's to assert against the estimator's own predictions.
    """
    table = leaf_table(est)
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    r = np.ascontiguousarray(np.asarray(r, dtype=np.float64))
    if x.ndim != 2 or x.shape != r.shape or x.shape[1] != table.n_features:
        raise ModelError(
            f"baseline SHAP needs two arrays of shape (n, {table.n_features}); got {x.shape} and {r.shape}"
        )
    if engine not in ("auto", "numba", "numpy"):
        raise ValueError(f"unknown engine {engine!r}")
    kernel = _numba_kernel() if engine in ("auto", "numba") else None
    if engine == "numba" and kernel is None:
        raise ModelError("the numba engine was asked for but numba is not available")
    if kernel is None:
        return _shap_numpy(table, x, r)
    out = np.zeros((x.shape[0], table.n_features))
    return kernel(x, r, table.roots, table.node_feature, table.node_threshold, table.node_left, table.node_right,
                  table.node_missing_left, table.node_is_leaf, table.node_value, table.max_depth,
                  table.w_pos, table.w_neg, table.n_features, out)


def tree_predict(est, x: np.ndarray) -> np.ndarray:
    """``est.predict(x)`` for a fitted HistGradientBoostingRegressor, the same to the last bit, from the
    flat node arrays SHAP already walks. Why: scikit-learn's predict costs 2 ms a call in checks and
    per-tree dispatch however few rows there are, and an area's explanation predicts 2 rows under 11
    models. Without the numba kernel it is scikit-learn's own predict."""
    table = leaf_table(est)
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if x.ndim != 2 or x.shape[1] != table.n_features:
        raise ModelError(f"predict needs an array of shape (n, {table.n_features}); got {x.shape}")
    if _numba_kernel() is None or _NUMBA_PREDICT is None:
        return np.asarray(est.predict(x), dtype=np.float64)
    return _NUMBA_PREDICT(x, table.roots, table.node_feature, table.node_threshold, table.node_left, table.node_right,
                          table.node_missing_left, table.node_is_leaf, table.node_value, table.baseline,
                          np.empty(x.shape[0]))
