"""Writing the whole demo folder (files, manifest, ground truth) and its revision (a second vintage)."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import (
    _write_ae,
    _write_deflator,
    _write_dfe,
    _write_dwp,
    _write_forecast,
    _write_fy_spend,
    _write_home_office,
    _write_ons,
)
from .manifest import _manifest_text
from .parameters import (
    AE_FILE,
    DEFLATOR_FILE,
    DEMO_SEED,
    DFE_FILE,
    DWP_FILE,
    FORECAST_FILE,
    FY_FILE,
    HO_FILE,
    N_LA,
    ONS_FILE,
)
from .simulate import _rng, _simulation
from .truth import ground_truth

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoFiles:
    """What :func:`write_demo` wrote."""

    directory: Path
    manifest: Path
    files: tuple[Path, ...]  # data files, in manifest source order
    revised_file: Path  # the file that write_revision() replaces
    ground_truth: Path = field(default=Path("ground_truth.csv"))


def write_demo(directory: str | Path, *, seed: int = DEMO_SEED) -> DemoFiles:
    """Write vintage 1 of the demo: eight data files, ``manifest.toml`` and ``ground_truth.csv``.

    The same seed always gives byte-identical files (no timestamps anywhere, fixed zip
    member dates), so a second load of unchanged files is a no-op for the loaders.
    """
    started = time.perf_counter()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sim = _simulation(seed)
    paths = {name: directory / name for name in (DWP_FILE, FY_FILE, AE_FILE, DFE_FILE, HO_FILE, ONS_FILE,
                                                 FORECAST_FILE, DEFLATOR_FILE)}
    _write_dwp(sim, paths[DWP_FILE], sim.caseload)
    _write_forecast(sim, paths[FORECAST_FILE])
    _write_deflator(paths[DEFLATOR_FILE])
    _write_fy_spend(sim, paths[FY_FILE])
    _write_ae(sim, paths[AE_FILE])
    _write_dfe(sim, paths[DFE_FILE])
    _write_home_office(sim, paths[HO_FILE])
    _write_ons(sim, paths[ONS_FILE])
    manifest = directory / "manifest.toml"
    manifest.write_text(_manifest_text(), encoding="utf-8")
    truth = directory / "ground_truth.csv"
    ground_truth(seed).to_csv(truth, index=False, lineterminator="\n")
    logger.info("wrote the demo data set (seed %d) to %s in %.2f s", seed, directory,
                time.perf_counter() - started)
    return DemoFiles(directory=directory, manifest=manifest, files=tuple(paths.values()),
                     revised_file=paths[DWP_FILE], ground_truth=truth)


def revised_caseload(seed: int = DEMO_SEED) -> np.ndarray:
    """Vintage-2 caseload: the last three months revised by 1-3% up or down in every area."""
    sim = _simulation(seed)
    rng = _rng(seed, "revision")
    shape = (N_LA, 3)
    factor = 1 + rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.01, 0.03, size=shape)
    revised = sim.caseload.copy()
    old = revised[:, -3:]
    new = np.rint(old * factor)
    new = np.where(new == old, old + np.sign(factor - 1), new)  # tiny areas still change
    revised[:, -3:] = new
    return revised


def write_revision(directory: str | Path, *, seed: int = DEMO_SEED) -> Path:
    """Overwrite the DWP monthly file with vintage 2: only the last three months change.

    Caseload is revised and spend recomputed (the identity still holds in every row);
    award, earlier months, row order and every other file are untouched.
    """
    path = Path(directory) / DWP_FILE
    _write_dwp(_simulation(seed), path, revised_caseload(seed))
    logger.info("wrote vintage 2 of %s (last three months revised)", path)
    return path
