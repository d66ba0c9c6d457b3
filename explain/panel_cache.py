"""Driver panels kept in the store, so a fresh process explains without re-reading every driver.

Why: a metric's driver panel spreads each driver to every leaf area and period of the metric. On
the 400-area benchmark that is 20 drivers' full histories, about a million stored values, and
reading them is 3 s of a fresh web worker's first explanation, where the panel itself is 8 MB of
arrays that load in milliseconds. The precompute that follows every load and fit builds each panel
anyway; it keeps it here, keyed by the metric's data vintage and model version
(:mod:`loaders.panel_store`), so it is served only while it is exactly what a rebuild would give.

The payload is a numpy ``.npz`` of plain arrays (strings as codes into a table of distinct values),
read with ``allow_pickle=False``: like the model artefacts, nothing in the store can run code.
"""
from __future__ import annotations

import io
import logging
import zipfile

import numpy as np
import pandas as pd

from loaders import Store, panel_store
from loaders.freshness import MetricState

log = logging.getLogger(__name__)

#: what decoding bytes that are not a kept panel raises (not a zip, a member missing, a pickle refused)
UNREADABLE = (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile)

#: the panel's leading columns (explain.models.build_panel), then one column per driver
KEY_COLUMNS = ("area", "period", "start", "y", "period_ordinal", "season")


def encode(panel: pd.DataFrame) -> bytes:
    """The panel as .npz bytes: numeric columns as they are, text columns as codes and uniques."""
    arrays: dict[str, np.ndarray] = {"columns": np.array(list(panel.columns), dtype=str)}
    kinds = []
    for i, name in enumerate(panel.columns):
        column = panel[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
            arrays[f"values{i}"] = column.to_numpy()
            kinds.append("number")
        else:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            arrays[f"codes{i}"] = codes.astype(np.int32)
            arrays[f"uniques{i}"] = np.array([str(u) for u in uniques], dtype=str)
            kinds.append("object" if column.dtype == object else "text")
    arrays["kinds"] = np.array(kinds, dtype=str)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)
    return buf.getvalue()


def decode(payload: bytes) -> pd.DataFrame:
    """The panel :func:`encode` stored; one of :data:`UNREADABLE` for bytes it did not write."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as data:
        names = data["columns"].tolist()
        kinds = data["kinds"].tolist()
        if len(kinds) != len(names):
            raise ValueError("panel payload: columns and kinds differ in length")
        columns: dict[str, object] = {}
        for i, (name, kind) in enumerate(zip(names, kinds)):
            if kind == "number":
                columns[name] = data[f"values{i}"]
                continue
            codes, uniques = data[f"codes{i}"], data[f"uniques{i}"].astype(object)
            if len(codes) and (codes.min() < -1 or codes.max() >= len(uniques)):
                raise ValueError(f"panel payload: codes of column {name!r} out of range")
            missing = codes < 0
            values = uniques[np.where(missing, 0, codes)] if len(uniques) else np.full(len(codes), None, dtype=object)
            if missing.any():
                values[missing] = None
            columns[name] = pd.Series(values, dtype=object if kind == "object" else "str")
    return pd.DataFrame(columns)


def stored_panel(store: Store, metric: str, drivers: tuple[str, ...]) -> pd.DataFrame | None:
    """The metric's panel as the last precompute kept it, if it was built from the metric's current
    data and model (with these drivers); else None, and the caller builds it."""
    payload = panel_store.current_payload(store, metric)
    if payload is None:
        return None
    try:
        panel = decode(payload)
    except UNREADABLE as exc:  # unreadable: rebuild rather than fail the explanation
        log.warning("stored driver panel of %s is unreadable (%s); rebuilding it", metric, exc)
        return None
    if tuple(panel.columns) != KEY_COLUMNS + tuple(drivers):
        return None
    return panel


def keep(store: Store, metric: str, state: MetricState, panel: pd.DataFrame) -> bool:
    """Keep ``panel``, built from the metric's data and model as of ``state`` (read before the panel
    was built), for other processes; refused (False) if the metric has changed since."""
    return panel_store.put(store, metric, data_vintage=state.data_vintage, model_version=state.model_version,
                           payload=encode(panel))
