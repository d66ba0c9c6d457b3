"""whytrend loaders: government files and APIs into a vintaged SQLite store.

Public surface: :class:`Store` (open/migrate a database and read from it),
:func:`load_manifest` (parse a manifest), :func:`load_manifest_file` (load its sources),
and the typed errors in :mod:`loaders.errors`. This package never imports ``explain``
or ``dashapp``.
"""
from .errors import ManifestError, PeriodError, ReadError, StoreError, StructuralError, WhytrendError
from .manifest import Manifest, load_manifest
from .pipeline import SourceOutcome, load_manifest_file, load_source, preview_source, upload_preview
from .store import Store, database_url

__all__ = [
    "Manifest", "ManifestError", "PeriodError", "ReadError", "SourceOutcome", "Store", "StoreError",
    "StructuralError", "WhytrendError", "database_url", "load_manifest", "load_manifest_file", "load_source",
    "preview_source", "upload_preview",
]
