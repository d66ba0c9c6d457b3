"""Safe driver-model artefacts: skops (never pickle) with an explicit allow-list and a version header.

Why: a stored model is loaded by the web app for every user, so loading must never run arbitrary
code (pickle can). skops.io stores objects as data and refuses types that are not trusted; we
trust exactly the types our artefacts contain (``ALLOWED_TYPES``) beyond skops' own safe
defaults, never ``trusted=True`` and never whatever ``get_untrusted_types`` reports.

The artefact is the skops zip plus one extra member, ``whytrend.json``: a small header (artefact
format version; scikit-learn, numpy and skops versions) that is read and checked BEFORE any object
is rebuilt, so a model from another library version fails with a clear "refit it" message rather
than an obscure error or, worse, silently different trees.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile

import numpy as np
import sklearn
import skops
import skops.io as sio

from explain.drivers import DriverModel, FittedDrivers
from explain.errors import ModelError

log = logging.getLogger(__name__)

__all__ = ["FORMAT", "FORMAT_VERSION", "ALLOWED_TYPES", "dump_model", "load_model", "read_header"]

FORMAT = "whytrend-driver-model"
FORMAT_VERSION = 1
HEADER_NAME = "whytrend.json"

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


def dump_model(fitted: FittedDrivers) -> bytes:
    """Serialise a fitted driver model (and its bootstrap refits) to bytes with skops."""
    if not isinstance(fitted, FittedDrivers):
        raise ModelError("dump_model expects a FittedDrivers object")
    payload = {
        "model": fitted.model,
        "bootstrap_models": list(fitted.bootstrap_models),
        "feature_names": list(fitted.feature_names),
        "training_hash": str(fitted.training_hash),
        "n_rows": int(fitted.n_rows),
    }
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **library_versions()}
    buf = io.BytesIO(sio.dumps(payload, compression=zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(buf, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(HEADER_NAME, json.dumps(header, sort_keys=True))
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
    if fv != FORMAT_VERSION:
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
        raise ModelError("The model artefact is damaged and cannot be read; refit the model") from e
    if not isinstance(payload, dict) or set(payload) != _PAYLOAD_KEYS:
        raise ModelError("The model artefact does not hold a whytrend driver model; refit the model")
    models = [payload["model"], *payload["bootstrap_models"]]
    if not all(isinstance(m, DriverModel) for m in models):
        raise ModelError("The model artefact does not hold a whytrend driver model; refit the model")
    return FittedDrivers(
        model=payload["model"],
        bootstrap_models=tuple(payload["bootstrap_models"]),
        feature_names=tuple(str(f) for f in payload["feature_names"]),
        training_hash=str(payload["training_hash"]),
        n_rows=int(payload["n_rows"]),
    )
