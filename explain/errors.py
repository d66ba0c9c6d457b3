"""Errors of the explanation engine; all are user-facing WhytrendErrors (no traceback in shells)."""
from __future__ import annotations

from loaders.errors import WhytrendError


class ExplainError(WhytrendError):
    """A question the engine cannot answer as asked (unknown metric, area or period; no data)."""


class ModelError(WhytrendError):
    """A driver model cannot be fitted, loaded or used (too little data, version mismatch, unknown driver)."""


class AdditivityError(RuntimeError):
    """Attributions failed to add up to the change: a bug, never a user error, so not a WhytrendError."""
