"""Errors of the explanation engine; all are user-facing WhytrendErrors (no traceback in shells)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from loaders.errors import WhytrendError

if TYPE_CHECKING:
    from .model_quality import ModelQuality


class ExplainError(WhytrendError):
    """A question the engine cannot answer as asked (unknown metric, area or period; no data)."""


class ModelError(WhytrendError):
    """A driver model cannot be fitted, loaded or used (too little data, version mismatch, unknown driver)."""


class ActivationRefused(ModelError):
    """Making a model version active was refused: it is not better than the naive forecast (each
    area's last value carried forward) on both out-of-sample R² and mean absolute error
    (:func:`explain.model_quality.judge`). Pass ``force=True`` (CLI ``--force``; the Model lab's
    "Activate anyway") to make it active all the same.

    ``quality``: the verdict and figures; ``active``: the version that stays active (None: none);
    ``saved``: True when the version was fitted and saved by the same call (it stays, inactive)."""

    def __init__(self, metric: str, version: int, quality: ModelQuality, *, active: int | None,
                 saved: bool = False) -> None:
        self.metric = metric
        self.version = version
        self.quality = quality
        self.active = active
        self.saved = saved
        done = (f"Saved version {version} of {metric} but did not make it active" if saved else
                f"Version {version} of {metric} was not made active")
        stays = (f"Version {active} stays active, so explanations are unchanged." if active is not None else
                 f"{metric} still has no active driver model, so explanations are unchanged.")
        super().__init__(f"{done}. {quality.sentence} {stays}")


class AdditivityError(RuntimeError):
    """Attributions failed to add up to the change: a bug, never a user error, so not a WhytrendError."""
