"""Limits on what a file, download or manifest may make whytrend do (untrusted input).

Files and URLs named by a manifest, and files uploaded on the Data page, are untrusted: a
small file can expand to gigabytes (a zip bomb, a row of millions of empty cells, deeply
nested JSON) and a URL can answer slowly or forever. Every limit here is checked before or
while reading, and a breach is a :class:`loaders.errors.LimitError` whose message names the
file (and row or column where it applies), the limit and the environment variable that
raises it. The limits are set by whoever runs whytrend (environment variables), never by the
manifest, because the manifest is itself untrusted input.

Usage::

    limits = Limits.from_env()          # defaults overridden by WHYTREND_MAX_* variables
    limits.max_file_bytes               # 500 MB by default
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

MB = 1024 * 1024

#: Limit name -> environment variable that sets it.
ENV: dict[str, str] = {
    "max_file_mb": "WHYTREND_MAX_FILE_MB",
    "max_download_mb": "WHYTREND_MAX_DOWNLOAD_MB",
    "max_rows": "WHYTREND_MAX_ROWS",
    "max_columns": "WHYTREND_MAX_COLUMNS",
    "max_cells": "WHYTREND_MAX_CELLS",
    "max_cell_chars": "WHYTREND_MAX_CELL_CHARS",
    "max_unzipped_mb": "WHYTREND_MAX_UNZIPPED_MB",
    "max_zip_ratio": "WHYTREND_MAX_ZIP_RATIO",
    "max_zip_members": "WHYTREND_MAX_ZIP_MEMBERS",
    "max_ods_mb": "WHYTREND_MAX_ODS_MB",
    "max_nesting": "WHYTREND_MAX_NESTING",
    "http_timeout_s": "WHYTREND_HTTP_TIMEOUT",
    "http_deadline_s": "WHYTREND_HTTP_DEADLINE",
}
ALLOWED_DIRS_ENV = "WHYTREND_ALLOWED_DIRS"
#: The ratio limit applies to archive members at least this large once unpacked (small
#: members compress extremely well without being any danger).
ZIP_RATIO_FLOOR = 1 * MB


@dataclass(frozen=True)
class Limits:
    """What one source may cost; defaults suit government files on a 2-core server.

    ``max_file_mb``: size of a local file (and of a manifest's data file on disk).
    ``max_download_mb``: bytes downloaded for one URL source, all pages together (HTTP
    responses are held in memory). ``max_rows`` / ``max_columns``: of one table.
    ``max_cells``: rows x columns of a table held whole in memory (spreadsheets, JSON).
    ``max_cell_chars``: characters in one cell. ``max_unzipped_mb`` / ``max_zip_ratio``:
    .xlsx and .ods files are ZIP archives; their unpacked size, and how much any member
    expands; ``max_zip_members``: parts in one archive. ``max_ods_mb``: the unpacked
    ``content.xml`` of an .ods (odfpy holds about 25 bytes per byte of it in memory).
    ``max_nesting``: levels of nested lists/objects in JSON and in a manifest.
    ``http_timeout_s``: seconds to connect, or to wait for the next bytes of a response;
    ``http_deadline_s``: seconds for a whole URL source (every page and retry).
    """

    max_file_mb: float = 500.0
    max_download_mb: float = 100.0
    max_rows: int = 10_000_000
    max_columns: int = 16_384
    max_cells: int = 20_000_000
    max_cell_chars: int = 32_767
    max_unzipped_mb: float = 500.0
    max_zip_ratio: float = 200.0
    max_zip_members: int = 10_000
    max_ods_mb: float = 50.0
    max_nesting: int = 64
    http_timeout_s: float = 30.0
    http_deadline_s: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Limits":
        """Defaults, overridden by the WHYTREND_* variables of :data:`ENV` that are set."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = ENV[item.name]
            text = (env.get(name) or "").strip()
            if not text:
                continue
            kind = int if item.type in ("int", int) else float
            try:
                value = kind(text.replace("_", ""))
            except ValueError:
                value = None
            if value is None or not value > 0 or value != value or value == float("inf"):
                unit = "whole number" if kind is int else "number"
                raise ConfigError(
                    f"{name} = '{text}' is not a positive {unit}. Set it to a positive {unit} "
                    f"(default {getattr(cls, item.name):g}), or unset it to use the default."
                )
            values[item.name] = value
        return cls(**values)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def max_download_bytes(self) -> int:
        return int(self.max_download_mb * MB)

    @property
    def max_unzipped_bytes(self) -> int:
        return int(self.max_unzipped_mb * MB)

    @property
    def max_ods_bytes(self) -> int:
        return int(self.max_ods_mb * MB)


def setting(name: str) -> str:
    """The environment variable of a limit, for messages: ``setting("max_rows")``."""
    return ENV[name]


def megabytes(size: int | float) -> str:
    """A byte count as a short MB figure for messages ('3.2 MB', '0.001 MB')."""
    value = size / MB
    return f"{value:,.1f} MB" if value >= 0.1 else f"{value:.3g} MB"


def allowed_dirs_from_env(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """Extra folders manifests may read from: WHYTREND_ALLOWED_DIRS (os.pathsep-separated)."""
    env = os.environ if env is None else env
    text = env.get(ALLOWED_DIRS_ENV) or ""
    return tuple(Path(part).expanduser() for part in text.split(os.pathsep) if part.strip())
