"""Load the bundled demo the way a department would: files, manifest, two vintages."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..pipeline import SourceOutcome, load_manifest_file
from ..store import Store
from .write import write_demo, write_revision


@dataclass(frozen=True)
class DemoSummary:
    directory: Path
    manifest: Path
    first: tuple[SourceOutcome, ...]
    revision: tuple[SourceOutcome, ...]
    database: str

    def lines(self) -> list[str]:
        loaded = [o for o in self.first + self.revision if o.status == "loaded"]
        return [
            f"Demo files and manifest: {self.manifest}",
            f"Database: {self.database}",
            f"{len(loaded)} vintages loaded from {len(self.first)} sources; "
            f"{sum(o.values_loaded for o in loaded):,} values, "
            f"{sum(o.rows_quarantined for o in loaded):,} rows quarantined, "
            f"{sum(o.values_revised for o in self.revision):,} values revised by the second vintage.",
        ]


def run_demo(store: Store, directory: str | Path, *, on_source: Callable[[SourceOutcome], None] | None = None) -> DemoSummary:
    """Write the demo files, load them, apply the published revision, load again.

    Loading twice is the point: the second load shows vintages, revisions and the
    byte-identical no-op for every file that did not change.
    """
    already = store.latest_load_id() > 0
    files = write_demo(Path(directory))
    if already:  # a second `whytrend demo` on the same database: bring the files to the final state only
        write_revision(Path(directory))
    first = load_manifest_file(store, files.manifest, on_source=on_source)
    revision: list[SourceOutcome] = []
    if not already:
        write_revision(Path(directory))
        revision = load_manifest_file(store, files.manifest, on_source=on_source)
    return DemoSummary(Path(directory), files.manifest, tuple(first), tuple(revision), store.url)
