"""Fast from cold (issue 12): the commands that only read or load data never import scikit-learn, shap,
numba or Dash (each costs a second or more), and a load's precompute of metrics without a driver
model does not either. Each command runs in a fresh interpreter, as a user would start it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from store_urls import SMALL_HIERARCHY, UC_CASELOAD_SOURCE

HEAVY = ("sklearn", "shap", "numba", "dash", "plotly")
SOURCE = UC_CASELOAD_SOURCE
RUN = """
import json, sys
from dashapp.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & set(%r))))
""" % (HEAVY,)


def heavy_modules(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cold")
    rows = [f"2024-{m:02d},{a},{100 + m + 10 * i}" for m in range(1, 13) for i, a in enumerate(("A1", "A2", "A3"))]
    (folder / "uc.csv").write_text("month,area,Caseload\n" + "\n".join(rows) + "\n")
    (folder / "m.toml").write_text(SMALL_HIERARCHY + SOURCE)
    return folder


@pytest.mark.parametrize("command", [["--help"], ["load", "--help"], ["explain", "--help"]])
def test_help_imports_nothing_heavy(command):
    assert heavy_modules(*command) == []


def test_load_with_its_precompute_then_sources_and_loads_import_nothing_heavy(store):
    db = f"sqlite:///{store / 'w.db'}"
    assert heavy_modules("load", str(store / "m.toml"), "--db", db) == []  # precompute included
    assert heavy_modules("sources", "--db", db) == []
    assert heavy_modules("loads", "uc", "--db", db) == []
    # and the precompute did run: the explanation is served from the cache
    from explain import cached_explanation
    from loaders import Store

    assert cached_explanation(Store(db), "caseload", "2024-11", "2024-12") is not None
