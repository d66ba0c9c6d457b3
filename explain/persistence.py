"""Safe driver-model artefacts: skops (never pickle) with an explicit allow-list and a version header.

Why: a stored model is loaded by the web app for every user, so loading must never run arbitrary
code (pickle can). skops.io stores objects as data and refuses types that are not trusted; we
trust exactly the types our artefacts contain (``ALLOWED_TYPES``) beyond skops' own safe
defaults, never ``trusted=True`` and never whatever ``get_untrusted_types`` reports.

The artefact is the skops zip plus extra members: ``whytrend.json``, a small header (artefact
format version; scikit-learn, numpy and skops versions) that is read and checked BEFORE any object
is rebuilt, so a model from another library version fails with a clear "refit it" message rather
than an obscure error or, worse, silently different trees; and (format 2) the gradient-boosting
trees as three plain numpy arrays (``whytrend/*.npy``).

Why the trees are kept apart from skops: a 200-tree model with its 10 bootstrap refits holds 2,200
tree objects, and skops rebuilds each from its own members (about 7,000 arrays, 1.8 s of a fresh
web worker's first explanation). Stored as one node table, the trees load in milliseconds with
``np.load(allow_pickle=False)``, which can only produce plain arrays; their dtype and every child
and feature index are checked before scikit-learn's tree objects are rebuilt around them. Artefacts
in format 1 (every tree inside the skops file) still load.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass

import numpy as np
import sklearn
import skops
import skops.io as sio

from explain.drivers import DriverModel, FittedDrivers
from explain.errors import ModelError

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "FORMAT_VERSION", "ALLOWED_TYPES", "dump_model", "load_model", "read_header"]

FORMAT = "whytrend-driver-model"
FORMAT_VERSION = 2
#: formats this version reads (format 1 keeps the trees inside the skops file)
READABLE_VERSIONS = (1, 2)
HEADER_NAME = "whytrend.json"
#: what a load says of an artefact it cannot read
DAMAGED = "The model artefact is damaged and cannot be read; refit the model"
#: the zip members that hold the gradient-boosting trees (format 2)
NODES_NAME, BITSETS_NAME, COUNTS_NAME = "whytrend/nodes.npy", "whytrend/bitsets.npy", "whytrend/counts.npy"

#: Types beyond skops' safe defaults that a whytrend artefact may contain. Everything else in a
#: fitted DriverModel (Pipeline, StandardScaler, Ridge, HistGradientBoostingRegressor and its
#: loss/binning objects, numpy arrays, builtins) is trusted by skops itself.
ALLOWED_TYPES: tuple[str, ...] = (
    "explain.drivers.DriverModel",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

_PAYLOAD_KEYS = {"model", "bootstrap_models", "feature_names", "training_hash", "n_rows"}


def library_versions() -> dict[str, str]:
    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "skops": skops.__version__}


def _major_minor(v: str) -> tuple[int, ...]:
    parts = []
    for p in v.split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _boosted(model: DriverModel):
    """The model's fitted HistGradientBoosting estimator, or None (a linear model has no trees)."""
    est = getattr(model, "estimator_", None)
    return est if getattr(est, "_predictors", None) is not None else None


def _without_trees(model: DriverModel) -> DriverModel:
    """A shallow copy of ``model`` whose estimator holds no trees (they are stored apart); the
    model itself is not touched, since another thread may be explaining with it."""
    est = _boosted(model)
    if est is None:
        return model
    bare_est = object.__new__(type(est))
    bare_est.__dict__.update(est.__dict__, _predictors=[])
    bare = object.__new__(type(model))
    bare.__dict__.update(model.__dict__, estimator_=bare_est)
    return bare


@dataclass(frozen=True)
class _Trees:
    """Every tree of every model as one node table: ``counts`` has a row per tree (nodes, bitset rows)
    and ``layout`` gives, per model, (iterations, trees per iteration), (0, 0) for a linear model."""

    nodes: np.ndarray
    bitsets: np.ndarray   # (n, 2, 8) uint32: binned then raw left-category bitsets of each categorical split
    counts: np.ndarray    # (n_trees, 2) int64
    layout: list[tuple[int, int]]


def _gather_trees(models: list[DriverModel]) -> _Trees:
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    nodes: list[np.ndarray] = []
    bitsets: list[np.ndarray] = []
    counts: list[tuple[int, int]] = []
    layout: list[tuple[int, int]] = []
    for model in models:
        est = _boosted(model)
        if est is None:
            layout.append((0, 0))
            continue
        per_iteration = {len(it) for it in est._predictors} or {0}
        if len(per_iteration) != 1:
            raise ModelError("the gradient boosting model has a ragged tree layout and cannot be saved")
        layout.append((len(est._predictors), per_iteration.pop()))
        for iteration in est._predictors:
            for tree in iteration:
                binned = np.asarray(tree.binned_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8)
                raw = np.asarray(tree.raw_left_cat_bitsets, dtype=np.uint32).reshape(-1, 8)
                nodes.append(np.asarray(tree.nodes, dtype=PREDICTOR_RECORD_DTYPE))
                bitsets.append(np.stack([binned, raw], axis=1))
                counts.append((len(tree.nodes), len(binned)))
    return _Trees(
        nodes=np.concatenate(nodes) if nodes else np.zeros(0, dtype=PREDICTOR_RECORD_DTYPE),
        bitsets=np.concatenate(bitsets) if bitsets else np.zeros((0, 2, 8), dtype=np.uint32),
        counts=np.asarray(counts, dtype=np.int64).reshape(-1, 2), layout=layout)


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def dump_model(fitted: FittedDrivers) -> bytes:
    """Serialise a fitted driver model (and its bootstrap refits) to bytes: skops for the models
    without their trees, plain arrays for the trees (format 2, see the module docstring)."""
    if not isinstance(fitted, FittedDrivers):
        raise ModelError("dump_model expects a FittedDrivers object")
    models = [fitted.model, *fitted.bootstrap_models]
    trees = _gather_trees(models)
    payload = {
        "model": _without_trees(fitted.model),
        "bootstrap_models": [_without_trees(m) for m in fitted.bootstrap_models],
        "feature_names": list(fitted.feature_names),
        "training_hash": str(fitted.training_hash),
        "n_rows": int(fitted.n_rows),
    }
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "trees": trees.layout, **library_versions()}
    buf = io.BytesIO(sio.dumps(payload, compression=zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(HEADER_NAME, json.dumps(header, sort_keys=True))
        # the trees uncompressed: inflating them was a third of a fresh load (26 ms of 75 on the benchmark's
        # 2,200 trees), for an artefact about twice the size
        for name, array in ((NODES_NAME, trees.nodes), (BITSETS_NAME, trees.bitsets), (COUNTS_NAME, trees.counts)):
            zf.writestr(name, _npy(array), compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


def read_header(blob: bytes) -> dict:
    """The artefact's header (format and library versions) without rebuilding any object."""
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            raw = zf.read(HEADER_NAME)
        header = json.loads(raw)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
        raise ModelError("This is not a whytrend model artefact (no readable header); refit the model") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelError("This is not a whytrend model artefact (unknown format); refit the model")
    return header


def _check_versions(header: dict, metric: str | None) -> None:
    refit = f"refit it with `whytrend fit {metric or 'METRIC'}`"
    fv = header.get("format_version")
    if fv not in READABLE_VERSIONS:
        raise ModelError(
            f"This model was saved in whytrend artefact format {fv} and this version reads format "
            f"{FORMAT_VERSION}; {refit}"
        )
    now = library_versions()
    saved_sk = str(header.get("scikit-learn"))
    if saved_sk != now["scikit-learn"]:
        # Exact match: the trees live in private scikit-learn structures that change between releases.
        raise ModelError(f"this model was saved with scikit-learn {saved_sk} and this is {now['scikit-learn']}; {refit}")
    saved_np = str(header.get("numpy"))
    if _major_minor(saved_np)[:1] != _major_minor(now["numpy"])[:1]:
        raise ModelError(f"this model was saved with numpy {saved_np} and this is {now['numpy']}; {refit}")
    saved_sko = str(header.get("skops"))
    if _major_minor(saved_sko) > _major_minor(now["skops"]):
        raise ModelError(f"this model was saved with skops {saved_sko} and this is {now['skops']}; {refit}")


def _read_trees(blob: bytes, header: dict, n_models: int) -> _Trees:
    """The format-2 tree arrays, checked: plain arrays only, the expected dtypes and shapes, and
    counts that add up to the arrays' lengths and agree with the header's layout."""
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            nodes, bitsets, counts = (np.load(io.BytesIO(zf.read(name)), allow_pickle=False)
                                      for name in (NODES_NAME, BITSETS_NAME, COUNTS_NAME))
        layout = [(int(a), int(b)) for a, b in header["trees"]]
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as e:
        raise ModelError(DAMAGED) from e
    ok = (nodes.dtype == PREDICTOR_RECORD_DTYPE and nodes.ndim == 1 and bitsets.dtype == np.uint32
          and bitsets.ndim == 3 and bitsets.shape[1:] == (2, 8) and counts.dtype == np.int64 and counts.ndim == 2
          and counts.shape[1] == 2 and len(layout) == n_models and (counts >= 0).all()
          and counts.shape[0] == sum(a * b for a, b in layout)
          and counts[:, 0].sum() == len(nodes) and counts[:, 1].sum() == len(bitsets))
    if not ok:
        raise ModelError(DAMAGED)
    return _Trees(nodes=nodes, bitsets=bitsets, counts=counts, layout=layout)


def _attach_trees(models: list[DriverModel], trees: _Trees) -> None:
    """Rebuild each boosted model's tree objects around its slices of the node table, after checking
    that every split names a feature its model has and children inside its own tree (the trees are
    walked by compiled code that trusts those indices). The checks run once over the whole table."""
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    n_features = []
    for model, (iterations, per_iteration) in zip(models, trees.layout):
        est = getattr(model, "estimator_", None)
        if iterations and (est is None or getattr(est, "_predictors", None) != []):
            raise ModelError(DAMAGED)
        n_features += [int(getattr(est, "n_features_in_", 0))] * (iterations * per_iteration)
    node_counts, bitset_counts = trees.counts[:, 0], trees.counts[:, 1]
    if (node_counts == 0).any():
        raise ModelError(DAMAGED)
    nodes = trees.nodes
    size = np.repeat(node_counts, node_counts)
    split = nodes["is_leaf"] == 0
    bad = split & ((nodes["left"] >= size) | (nodes["right"] >= size) | (nodes["feature_idx"] < 0)
                   | (nodes["feature_idx"] >= np.repeat(np.asarray(n_features, dtype=np.int64), node_counts))
                   | ((nodes["is_categorical"] != 0) & (nodes["bitset_idx"] >= np.repeat(bitset_counts, node_counts))))
    if bad.any():
        raise ModelError(DAMAGED)
    node_ends, bitset_ends = np.cumsum(node_counts).tolist(), np.cumsum(bitset_counts).tolist()
    node_starts = [end - n for end, n in zip(node_ends, node_counts.tolist())]
    bitset_starts = [end - n for end, n in zip(bitset_ends, bitset_counts.tolist())]
    binned, raw = np.ascontiguousarray(trees.bitsets[:, 0]), np.ascontiguousarray(trees.bitsets[:, 1])
    tree_index = 0
    for model, (iterations, per_iteration) in zip(models, trees.layout):
        predictors = []
        for _ in range(iterations):
            iteration = []
            for _ in range(per_iteration):
                n0, n1 = node_starts[tree_index], node_ends[tree_index]
                b0, b1 = bitset_starts[tree_index], bitset_ends[tree_index]
                iteration.append(TreePredictor(nodes[n0:n1], binned[b0:b1], raw[b0:b1]))
                tree_index += 1
            predictors.append(iteration)
        if iterations:
            model.estimator_._predictors = predictors


def load_model(blob: bytes, *, metric: str | None = None) -> FittedDrivers:
    """Rebuild a FittedDrivers from ``dump_model`` bytes, refusing other library versions and
    any type outside skops' defaults and ``ALLOWED_TYPES``. ``metric`` only improves messages."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise ModelError("load_model expects the bytes of a model artefact")
    blob = bytes(blob)
    header = read_header(blob)
    _check_versions(header, metric)
    try:  # skops checks every type against the allow-list before it builds anything (one pass, not two)
        payload = sio.loads(blob, trusted=list(ALLOWED_TYPES))
    except sio.exceptions.UntrustedTypesFoundException as e:
        raise ModelError(f"The model artefact contains types that are not allowed, so it was not loaded: {e}") from e
    except Exception as e:
        raise ModelError(DAMAGED) from e
    if not isinstance(payload, dict) or set(payload) != _PAYLOAD_KEYS:
        raise ModelError("The model artefact does not hold a whytrend driver model; refit the model")
    models = [payload["model"], *payload["bootstrap_models"]]
    if not all(isinstance(m, DriverModel) for m in models):
        raise ModelError("The model artefact does not hold a whytrend driver model; refit the model")
    if header.get("format_version", 1) >= 2:
        _attach_trees(models, _read_trees(blob, header, len(models)))
    return FittedDrivers(
        model=payload["model"],
        bootstrap_models=tuple(payload["bootstrap_models"]),
        feature_names=tuple(str(f) for f in payload["feature_names"]),
        training_hash=str(payload["training_hash"]),
        n_rows=int(payload["n_rows"]),
    )
