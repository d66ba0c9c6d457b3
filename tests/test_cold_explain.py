"""A fresh process's first explanation: driver panels kept in the store (SQLite and PostgreSQL), the
format-2 model artefact (trees as plain arrays), the one-area reads, and the bit-exact tree predictions
that replace scikit-learn's per-call overhead. Every shortcut must give exactly what the long way gives."""
from __future__ import annotations

import gc
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingRegressor
from sqlalchemy import update

import explain.persistence as persistence
from explain import panel_cache, precompute, prepare_process
from explain.data import WHOLE
from explain.drivers import DriverModel, fit_with_bootstrap
from explain.engine import MetricContext
from explain.errors import ModelError
from explain.models import build_panel
from explain.treeshap import numba_available, tree_predict
from loaders import Store, load_manifest_file, panel_store
from loaders import schema as s
from loaders.demo.write import write_demo, write_revision

from store_urls import POSTGRES_PARAM, fresh_pg_schema

MODELLED = ("uc_caseload", "ae_attendances")  # the demo's linear and gradient-boosting models


@pytest.fixture(scope="module", params=["sqlite", POSTGRES_PARAM])
def kept(request, tmp_path_factory):
    """A demo store (first vintage) whose modelled metrics have been precomputed, so their panels are kept."""
    folder = tmp_path_factory.mktemp(f"cold-{request.param}")
    files = write_demo(folder / "files")

    def prepared(url: str) -> tuple[Store, object]:
        store = Store(url)
        load_manifest_file(store, files.manifest)
        precompute(store, metrics=list(MODELLED))
        return store, files

    if request.param == "sqlite":
        yield prepared(f"sqlite:///{folder / 'cold.db'}")
        return
    with fresh_pg_schema() as url:
        store, manifest = prepared(url)
        yield store, manifest
        store.engine.dispose()


def fresh_context(store: Store, metric: str) -> MetricContext:
    """A context as a new process makes it: nothing of this metric in the process's caches."""
    from explain import data, models

    data._FRAMES.clear()
    models._LOADED.clear()
    return MetricContext.load(store, metric)


# ------------------------------------------------------------------ driver panels kept in the store


def test_a_panel_round_trips_exactly_with_missing_values_and_both_text_dtypes():
    panel = pd.DataFrame({
        "area": pd.array(["E1", "E2", None, "E1"], dtype="str"),
        "period": pd.array(["2024-01", "2024-01", "2024-02", "2024-02"], dtype="str"),
        "start": np.array(["2024-01-01", "2024-01-01", "2024-02-01", None], dtype=object),
        "y": [1.5, np.nan, -2.0, 1e300],
        "period_ordinal": np.array([24289, 24289, 24290, 24290], dtype=np.int64),
        "season": np.array([1, 1, 2, 2], dtype=np.int64),
        "claimant_count": [np.nan, 3.25, 0.0, -0.0],
    })
    back = panel_cache.decode(panel_cache.encode(panel))
    pd.testing.assert_frame_equal(back, panel, check_exact=True)
    assert np.signbit(back["claimant_count"].iloc[3])  # -0.0 stays -0.0: the bytes, not a rounding


def test_bytes_the_cache_did_not_write_are_refused_not_run():
    good = panel_cache.encode(pd.DataFrame({"area": pd.array(["a", "b"], dtype="str"), "y": [1.0, 2.0]}))
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    bad = io.BytesIO()
    np.save(bad, np.array([7, 0], dtype=np.int32))  # a code beyond the table of distinct values
    members["codes0.npy"] = bad.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="out of range"):
        panel_cache.decode(out.getvalue())
    with pytest.raises(panel_cache.UNREADABLE):
        panel_cache.decode(b"PK\x03\x04 not a panel")
    pickled = io.BytesIO()
    np.savez(pickled, columns=np.array(["area"], dtype=object), kinds=np.array(["text"]))  # an object array
    with pytest.raises(ValueError):
        panel_cache.decode(pickled.getvalue())


@pytest.mark.parametrize("metric", MODELLED)
def test_the_kept_panel_is_exactly_the_built_one_and_explains_the_same(kept, metric):
    store, _ = kept
    assert panel_store.current_payload(store, metric) is not None
    ctx = fresh_context(store, metric)
    assert ctx.panel is not None and ctx._panel_source[1] == "store"
    built = build_panel(store, ctx.info, ctx.model_version.drivers, tree=ctx.tree)
    pd.testing.assert_frame_equal(ctx.panel, built, check_exact=True)
    rebuilt = fresh_context(store, metric)
    rebuilt.__dict__["panel"] = built  # the long way, for comparison
    a, b = ctx.periods[-13], ctx.periods[-1]
    areas = [area for area in (ctx.leaves[0], "E12000001", WHOLE) if ctx.value(area, a) is not None]
    assert len(areas) >= 2
    for area in areas:
        assert ctx.explain(area, a, b).to_dict() == rebuilt.explain(area, a, b).to_dict(), area


def test_a_fresh_explanation_reads_no_driver_history_when_the_panel_is_kept(kept, monkeypatch):
    store, _ = kept
    seen: list[tuple[tuple[str, ...], object]] = []
    real = Store.observations

    def spy(self, metrics, **kw):
        if kw.get("conn") is None:  # a read, not its call on its own connection
            seen.append((tuple(metrics), kw.get("areas")))
        return real(self, metrics, **kw)

    monkeypatch.setattr(Store, "observations", spy)
    ctx = fresh_context(store, "ae_attendances")
    a, b = ctx.periods[-13], ctx.periods[-1]
    area = ctx.leaves[0]
    result = ctx.explain(area, a, b)
    assert result.drivers  # the model did attribute the change
    read = {m for metrics, _ in seen for m in metrics}
    assert read == {"ae_attendances"}, seen  # no driver's values were read
    # the values as first published were read for this one area, not the whole metric a second time
    assert sum(1 for metrics, areas in seen if areas is None) == 1


def test_a_load_that_changes_the_metric_makes_its_panel_unservable(tmp_path):
    files = write_demo(tmp_path / "files")
    store = Store(tmp_path / "s.db")
    load_manifest_file(store, files.manifest)
    precompute(store, metrics=list(MODELLED))
    before = {m: panel_store.current_payload(store, m) for m in MODELLED}
    assert all(before.values())
    old_state = store.metric_state("uc_caseload")
    write_revision(tmp_path / "files")  # revises the caseload only
    load_manifest_file(store, files.manifest)
    assert panel_store.current_payload(store, "uc_caseload") is None  # stale: never served
    assert panel_store.current_payload(store, "ae_attendances") == before["ae_attendances"]  # untouched metric
    ctx = fresh_context(store, "uc_caseload")
    assert ctx.panel is not None and ctx._panel_source[1] == "built"
    # a panel built from the older data may not be kept under it any more
    assert not panel_cache.keep(store, "uc_caseload", old_state, ctx.panel)
    assert panel_store.current_payload(store, "uc_caseload") is None
    assert ctx.keep_panel() and panel_store.current_payload(store, "uc_caseload") is not None
    pd.testing.assert_frame_equal(fresh_context(store, "uc_caseload").panel, ctx.panel, check_exact=True)


def test_an_unreadable_kept_panel_is_rebuilt_not_an_error(tmp_path):
    files = write_demo(tmp_path / "files")
    store = Store(tmp_path / "s.db")
    load_manifest_file(store, files.manifest)
    precompute(store, metrics=["uc_caseload"])
    with store.engine.begin() as conn:
        conn.execute(update(s.driver_panels).values(payload=b"PK\x03\x04 not a panel"))
    ctx = fresh_context(store, "uc_caseload")
    assert ctx.panel is not None and ctx._panel_source[1] == "built"
    a, b = ctx.periods[-2], ctx.periods[-1]
    assert ctx.explain("E12000001", a, b).drivers


def test_values_as_first_published_are_the_same_read_one_area_at_a_time(tmp_path):
    files = write_demo(tmp_path / "files")
    store = Store(tmp_path / "s.db")
    load_manifest_file(store, files.manifest)
    write_revision(tmp_path / "files")
    load_manifest_file(store, files.manifest)
    one = fresh_context(store, "uc_caseload")
    every = fresh_context(store, "uc_caseload")
    every.prepare([])  # as a precompute does: every area's first values in one read
    assert "_first_lookup" in every.__dict__ and "_first_lookup" not in one.__dict__
    a, b = one.periods[-13], one.periods[-1]  # the revision changed the last three months
    for area in (one.leaves[0], "E12000001", WHOLE):
        assert one.first_value(area, b) is not None  # revised since first published
        assert one.first_value(area, b) == every.first_value(area, b)
        assert one.first_value(area, a) is None and every.first_value(area, a) is None  # never revised
        assert one.explain(area, a, b).to_dict() == every.explain(area, a, b).to_dict()
    assert "_first_lookup" not in one.__dict__ and len(one._first_of_area) == 3


# ------------------------------------------------------------------ model artefacts, format 2


@pytest.fixture(scope="module")
def boosted():
    rng = np.random.default_rng(4)
    t = np.tile(np.arange(36), 10)
    panel = pd.DataFrame({"area": np.repeat([f"A{i}" for i in range(10)], 36), "period_ordinal": t,
                          "season": t % 12 + 1, "x1": rng.normal(size=len(t)), "x2": rng.normal(size=len(t))})
    panel["y"] = np.tanh(panel["x1"]) * 3 + panel["x2"] + rng.normal(scale=0.1, size=len(t))
    model = DriverModel("gradient_boosting", drivers=("x1", "x2"), pseudo_drivers=("trend",), max_iter=25)
    return fit_with_bootstrap(model, panel, n_bootstrap=2), panel


def _members(blob: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_format_2_keeps_the_trees_apart_and_leaves_the_fitted_model_untouched(boosted):
    fitted, panel = boosted
    before = fitted.model.predict(panel)
    blob = persistence.dump_model(fitted)
    header = json.loads(_members(blob)[persistence.HEADER_NAME])
    assert header["format_version"] == 2 and header["trees"] == [[25, 1]] * 3
    assert len(fitted.model.estimator_._predictors) == 25  # dumping did not strip the caller's model
    np.testing.assert_array_equal(fitted.model.predict(panel), before)
    # the skops part holds no tree: every tree is in the node table
    untrusted = sio.get_untrusted_types(data=blob)
    assert not any("TreePredictor" in t for t in untrusted)
    back = persistence.load_model(blob)
    for mine, theirs in zip((fitted.model, *fitted.bootstrap_models), (back.model, *back.bootstrap_models)):
        np.testing.assert_array_equal(theirs.predict(panel), mine.predict(panel))


def test_format_1_artefacts_still_load(boosted):
    fitted, panel = boosted
    payload = {"model": fitted.model, "bootstrap_models": list(fitted.bootstrap_models),
               "feature_names": list(fitted.feature_names), "training_hash": fitted.training_hash,
               "n_rows": fitted.n_rows}
    buf = io.BytesIO(sio.dumps(payload))
    header = {"format": persistence.FORMAT, "format_version": 1, **persistence.library_versions()}
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(persistence.HEADER_NAME, json.dumps(header))
    back = persistence.load_model(buf.getvalue())
    np.testing.assert_array_equal(back.model.predict(panel), fitted.model.predict(panel))


@pytest.mark.parametrize("tamper", ["child beyond its tree", "feature the model lacks", "object array",
                                    "counts that do not add up"])
def test_a_tampered_node_table_is_refused_before_any_tree_is_built(boosted, tamper):
    fitted, _ = boosted
    members = _members(persistence.dump_model(fitted))
    nodes = np.load(io.BytesIO(members[persistence.NODES_NAME]), allow_pickle=False)
    counts = np.load(io.BytesIO(members[persistence.COUNTS_NAME]), allow_pickle=False)
    split = int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
    buf = io.BytesIO()
    if tamper == "child beyond its tree":
        nodes["left"][split] = counts[0, 0] + 5
        np.save(buf, nodes)
    elif tamper == "feature the model lacks":
        nodes["feature_idx"][split] = 99
        np.save(buf, nodes)
    elif tamper == "object array":
        np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    else:
        counts = counts.copy()
        counts[0, 0] += 1
        np.save(buf, counts)
    members[persistence.COUNTS_NAME if tamper.startswith("counts") else persistence.NODES_NAME] = buf.getvalue()
    with pytest.raises(ModelError, match="damaged"):
        persistence.load_model(_zip(members))


# ------------------------------------------------------------------ predictions and the process's warm-up


@pytest.mark.skipif(not numba_available(), reason="numba not installed")
def test_tree_predictions_are_scikit_learns_to_the_last_bit_with_missing_values_and_ties():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(3000, 4)).round(1)  # coarse values: many rows sit exactly on a threshold
    y = X[:, 0] * X[:, 1] + np.sin(3 * X[:, 2])
    X[rng.random(X.shape) < 0.1] = np.nan
    est = HistGradientBoostingRegressor(max_iter=60, early_stopping=False, random_state=0).fit(X, y)
    probe = np.vstack([X[:500], rng.normal(size=(200, 4)), np.full((1, 4), np.nan)])
    np.testing.assert_array_equal(tree_predict(est, probe), est.predict(probe))
    with pytest.raises(ModelError, match=r"shape \(n, 4\)"):
        tree_predict(est, probe[:, :3])


def test_without_numba_predictions_are_scikit_learns_own(monkeypatch):
    import explain.treeshap as ts

    rng = np.random.default_rng(12)
    X = rng.normal(size=(400, 3))
    est = HistGradientBoostingRegressor(max_iter=10, early_stopping=False).fit(X, X[:, 0])
    monkeypatch.setattr(ts, "_NUMBA_KERNEL", None)
    monkeypatch.setattr(ts, "_NUMBA_PREDICT", None)
    monkeypatch.setattr(ts, "_NUMBA_FAILED", True)
    calls = []
    real = est.predict
    monkeypatch.setattr(est, "predict", lambda x: calls.append(len(x)) or real(x))
    np.testing.assert_array_equal(tree_predict(est, X[:7]), real(X[:7]))
    assert calls == [7]


def test_preparing_a_process_freezes_what_it_has_imported():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        assert prepare_process() is numba_available()
        assert gc.get_freeze_count() > 1000  # scikit-learn, shap and pandas objects are no longer walked
    finally:
        gc.unfreeze()


def test_an_observations_read_that_pins_columns_gives_what_a_wider_read_gives(kept):
    store, _ = kept
    pinned = store.observations(["uc_caseload"], freq="M")
    wide = store.observations(["uc_caseload", "uc_spend"], breakdown=None)
    wide = wide[(wide["metric"] == "uc_caseload") & (wide["breakdown"] == "") & (wide["freq"] == "M")]
    assert len(pinned) > 1000
    pd.testing.assert_frame_equal(pinned, wide.reset_index(drop=True), check_exact=True)
