"""Typed errors that the CLI and the app turn into one-paragraph messages.

Every error a user can cause derives from :class:`WhytrendError`; its ``str()`` is the
message a user sees (what, where, what to do), so the shells never add a traceback.
Programming errors stay ordinary exceptions.
"""
from __future__ import annotations


class WhytrendError(Exception):
    """Base of every error caused by user input or data (shown without a traceback)."""


class ManifestError(WhytrendError):
    """The manifest cannot be used: bad TOML, unknown key, missing or inconsistent field."""


class FormulaError(WhytrendError):
    """A metric formula that is not plain arithmetic over metric codes, or that depends on itself."""


class ReadError(WhytrendError):
    """A file or HTTP response cannot be read as a table (unreadable, empty, wrong format)."""


class PeriodError(WhytrendError):
    """A period spelling is not one whytrend knows."""


class StructuralError(WhytrendError):
    """A source fails as a whole (missing column, unknown metric, duplicate keys); nothing is written.

    ``report`` carries the full validation report when one exists, so callers can show every
    problem and not only the first.
    """

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class WithdrawalsRefused(StructuralError):
    """A file would withdraw more of its source's live values than a load may without the user's
    confirmation (``allow_withdrawals``); nothing was written."""

    def __init__(self, message: str, withdrawn: int, live: int) -> None:
        super().__init__(message)
        self.withdrawn, self.live = withdrawn, live


class StoreError(WhytrendError):
    """The database cannot be opened or is of an unknown or newer schema version."""


class LimitError(ReadError):
    """A file, download or table exceeds a configured limit (``loaders.limits``); the message names
    the file, the limit and the setting that raises it."""


class PathNotAllowedError(ManifestError):
    """A manifest names a file outside its own folder and the folders an administrator allowed."""


class AccessDenied(WhytrendError):
    """The signed-in user may not see or do this; the message can be shown to them (it never reveals
    what exists beyond their access)."""


class ConfigError(WhytrendError):
    """A setting (environment variable or option) has a value whytrend cannot use."""
