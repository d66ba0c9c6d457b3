"""Model artefacts: skops round trip, version header, and the explicit type allow-list."""
from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import sklearn
import skops.io as sio

import explain.persistence as persistence
from explain.attribution import attribute_change
from explain.drivers import DriverModel, FittedDrivers, fit_with_bootstrap
from explain.errors import ModelError
from explain.persistence import ALLOWED_TYPES, FORMAT_VERSION, dump_model, load_model, read_header


def make_panel(n_areas=12, n_periods=24, seed=0):
    rng = np.random.default_rng(seed)
    t = np.tile(np.arange(n_periods), n_areas)
    x1 = rng.normal(size=len(t)).cumsum()
    x2 = rng.normal(size=len(t))
    return pd.DataFrame({
        "area": np.repeat([f"A{a:02d}" for a in range(n_areas)], n_periods),
        "period_ordinal": t, "season": t % 12 + 1, "x1": x1, "x2": x2,
        "y": np.tanh(x1) + 2 * x2 + rng.normal(scale=0.1, size=len(t)),
    })


@pytest.fixture(scope="module")
def panel():
    return make_panel()


@pytest.fixture(scope="module", params=["linear", "gradient_boosting"])
def fitted(request, panel):
    m = DriverModel(request.param, drivers=("x1", "x2"), pseudo_drivers=("trend", "seasonality"), max_iter=30)
    return fit_with_bootstrap(m, panel, n_bootstrap=3)


def _rewrite_header(blob: bytes, **changes) -> bytes:
    """Copy the artefact zip with some header fields changed."""
    src = zipfile.ZipFile(io.BytesIO(blob))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == persistence.HEADER_NAME:
                header = json.loads(data)
                header.update(changes)
                data = json.dumps(header).encode()
            dst.writestr(name, data)
    return out.getvalue()


def test_round_trip_gives_identical_predictions_and_attributions(fitted, panel):
    blob = dump_model(fitted)
    assert blob[:2] == b"PK"                     # a skops zip, not a pickle
    back = load_model(blob)
    assert isinstance(back, FittedDrivers)
    assert back.feature_names == fitted.feature_names
    assert back.training_hash == fitted.training_hash
    assert back.n_rows == fitted.n_rows
    assert len(back.bootstrap_models) == 3
    np.testing.assert_array_equal(back.model.predict(panel), fitted.model.predict(panel))
    for a, b in zip(back.bootstrap_models, fitted.bootstrap_models):
        np.testing.assert_array_equal(a.predict(panel), b.predict(panel))
    rows_a, rows_b = panel[panel.period_ordinal == 2], panel[panel.period_ordinal == 20]
    np.testing.assert_array_equal(attribute_change(back.model, rows_a, rows_b).phi,
                                  attribute_change(fitted.model, rows_a, rows_b).phi)
    assert back.model.get_params() == fitted.model.get_params()


def test_header_records_versions(fitted):
    h = read_header(dump_model(fitted))
    assert h["format"] == "whytrend-driver-model"
    assert h["format_version"] == FORMAT_VERSION
    assert h["scikit-learn"] == sklearn.__version__
    assert h["numpy"] == np.__version__
    assert set(h) >= {"skops"}


def test_tampered_sklearn_version_is_refused_with_a_clear_message(fitted):
    blob = _rewrite_header(dump_model(fitted), **{"scikit-learn": "1.5.0"})
    with pytest.raises(ModelError) as e:
        load_model(blob)
    assert str(e.value) == (
        f"this model was saved with scikit-learn 1.5.0 and this is {sklearn.__version__}; "
        "refit it with `whytrend fit METRIC`"
    )
    with pytest.raises(ModelError, match="refit it with `whytrend fit uc_households`"):
        load_model(blob, metric="uc_households")


def test_other_version_mismatches(fitted):
    blob = dump_model(fitted)
    with pytest.raises(ModelError, match="saved with numpy 1.26.4"):
        load_model(_rewrite_header(blob, numpy="1.26.4"))
    with pytest.raises(ModelError, match="saved with skops 99.0"):
        load_model(_rewrite_header(blob, skops="99.0"))
    with pytest.raises(ModelError, match="artefact format 99"):
        load_model(_rewrite_header(blob, format_version=99))


def test_disallowed_types_are_refused(fitted):
    payload = {
        "model": fitted.model,
        "bootstrap_models": [],
        "feature_names": list(fitted.feature_names),
        "training_hash": fitted.training_hash,
        "n_rows": fitted.n_rows,
        "extra": Sneaky(),
    }
    buf = io.BytesIO(sio.dumps(payload))
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(persistence.HEADER_NAME, json.dumps(read_header(dump_model(fitted))))
    with pytest.raises(ModelError, match="contains types that are not allowed.*Sneaky"):
        load_model(buf.getvalue())


def test_load_passes_only_the_explicit_allow_list(fitted, monkeypatch):
    seen = {}
    real = sio.loads

    def spy(data, trusted=None):
        seen["trusted"] = trusted
        return real(data, trusted=trusted)

    monkeypatch.setattr(persistence.sio, "loads", spy)
    load_model(dump_model(fitted))
    assert seen["trusted"] == list(ALLOWED_TYPES)
    assert seen["trusted"] is not True


@pytest.mark.parametrize("blob", [b"not a zip", b"PK\x03\x04garbage", pytest.param(None, id="no-header")])
def test_not_an_artefact(blob, fitted):
    if blob is None:
        blob = sio.dumps({"a": 1})
    with pytest.raises(ModelError, match="not a whytrend model artefact|damaged"):
        load_model(blob)


def test_payload_must_be_a_driver_model(fitted):
    header = json.dumps(read_header(dump_model(fitted)))
    buf = io.BytesIO(sio.dumps({"model": 1}))
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(persistence.HEADER_NAME, header)
    with pytest.raises(ModelError, match="does not hold a whytrend driver model"):
        load_model(buf.getvalue())


class Sneaky:
    """A type no whytrend artefact should contain."""

    def __reduce__(self):  # pragma: no cover - never called on load
        return (print, ("this must never run",))
