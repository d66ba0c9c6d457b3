"""Cold-start benchmark: how long commands and a first explanation take in a fresh process.

Each command runs in a new Python process (the median of ``--repeats`` runs), beside the same
interpreter doing nothing (``python -c pass``), so the figures are the command's own cost on this
machine at this moment:

(a) ``whytrend --help``, ``whytrend sources``, ``whytrend loads`` (targets: never import
    scikit-learn, shap, numba or Dash; tests/test_cold_start.py checks the imports);
(b) ``import explain`` and ``import explain.engine``;
(c) ``whytrend explain`` of a metric with no driver model, and of one with a model: the whole
    command, start to answer;
(d) in a fresh process: the first ``explain_change`` of a metric with a model (store read + model
    load + the explanation; target <= 300 ms), with the model code still to import (a CLI command)
    and already imported (a web worker: ``dashapp.app.warm_up`` imports it at start).

It loads the bundled demo into a temporary SQLite file first (about 30 s, models fitted once).

    .venv/bin/python benchmarks/cold_start.py [--repeats 5] [--db whytrend.db]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FIRST_EXPLANATION = """
import time, sys
from loaders import Store
import explain
store = Store(sys.argv[1])
start = time.perf_counter()
if sys.argv[2] == "preloaded":  # as a web worker has it (dashapp.app.warm_up imports the model code)
    import explain.models
    start = time.perf_counter()
explain.explain_change(store, "uc_caseload", "2024-03", "2025-03", area="E12000005", use_cache=False)
print(time.perf_counter() - start)
"""


def timed(command: list[str], repeats: int) -> float:
    """Median wall time of ``command`` in a new process (seconds)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--db", default=None, help="a store holding the demo (default: load it into a temporary file)")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    db = args.db
    if db is None:
        from explain import ensure_model
        from loaders import Store
        from loaders.demo import run_demo

        folder = Path(tempfile.mkdtemp(prefix="whytrend-cold-"))
        store = Store(folder / "demo.db")
        run_demo(store, folder / "files")
        ensure_model(store, "uc_caseload")
        db = str(folder / "demo.db")
    python = sys.executable
    cli = [python, "-m", "dashapp.cli"]
    baseline = timed([python, "-c", "pass"], args.repeats)
    print(f"baseline: python -c pass                      {baseline * 1000:7.0f} ms")
    rows = [
        ("(a) whytrend --help", cli + ["--help"]),
        ("(a) whytrend sources", cli + ["sources", "--db", db]),
        ("(a) whytrend loads SOURCE", cli + ["loads", "dwp-uc-la-monthly", "--db", db]),
        ("(b) import explain", [python, "-c", "import explain"]),
        ("(b) import explain.engine", [python, "-c", "import explain.engine"]),
        # spans the load's precompute does not cover, so the explanation is worked out, not read
        ("(c) whytrend explain, no model (asylum applications)",
         cli + ["explain", "asylum_applications", "--from", "2024-03", "--to", "2025-03", "--db", db]),
        ("(c) whytrend explain, with a model (UC caseload)",
         cli + ["explain", "uc_caseload", "--from", "2024-03", "--to", "2025-03", "--db", db]),
    ]
    for name, command in rows:
        seconds = timed(command, args.repeats)
        print(f"{name:<47} {seconds * 1000:7.0f} ms   {seconds - baseline:6.2f} s above the baseline")
    for how, words in (("bare", "imports the model code too"), ("preloaded", "model code imported, as in a web worker")):
        firsts = [float(subprocess.run([python, "-c", FIRST_EXPLANATION, db, how], check=True, capture_output=True,
                                       text=True, cwd=REPO).stdout.strip().splitlines()[-1]) for _ in range(args.repeats)]
        print(f"(d) first explain_change, fresh process       {statistics.median(firsts) * 1000:7.0f} ms   ({words}; "
              "store read + model load + explanation; target <= 300 ms)")


if __name__ == "__main__":
    main()
