r"""Ingest benchmark: `whytrend load` against a raw sqlite3 executemany of the same rows.

Generates an N-row long CSV (default 5 million: 10 metrics x 1,000 areas x 500 months),
loads it with the real `whytrend load` command (validation on) in a child process, and in
the same run inserts the same rows with `sqlite3.executemany` in one transaction into a
plain table, and into a table clustered as the store's is (the layout's ceiling: integer keys,
sorted, no checks). Prints rows/s for each, the ratios, and peak memory (max RSS).

    .venv/bin/python benchmarks/ingest.py [--rows 5000000] [--keep DIR]

With ``--db-url postgresql+psycopg://postgres@127.0.0.1:5432/test`` it loads into a fresh schema of
that PostgreSQL database (whytrend writes observations with COPY) and, in the same run, compares
with ``psql \copy`` of the same CSV into a plain table on the same server.
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger("benchmarks.ingest")

METRICS, AREAS = 10, 1000


def write_csv(path: Path, rows: int, order: str = "area") -> None:
    """Rows sorted by area then period (as DWP's and the Home Office's LA files are) or by
    period then area."""
    months = max(1, -(-rows // (METRICS * AREAS)))
    written = 0
    outer, inner = (range(AREAS), range(months)) if order == "area" else (range(months), range(AREAS))
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["period", "area", "metric", "value"])
        for i in outer:
            for j in inner:
                a, m = (i, j) if order == "area" else (j, i)
                period = f"{1980 + m // 12}-{m % 12 + 1:02d}"
                for k in range(METRICS):
                    if written == rows:
                        return
                    out.writerow([period, f"E{a:08d}", f"metric_{k}", f"{(a * 7 + k * 13 + m) % 9973 + 0.25}"])
                    written += 1


def write_manifest(path: Path, data: Path) -> None:
    metrics = "\n".join(
        f'[[metric]]\ncode = "metric_{k}"\nname = "Metric {k}"\ndepartment = "BEN"\nunit = "count"\n'
        for k in range(METRICS))
    path.write_text(
        '[[department]]\ncode = "BEN"\nname = "Benchmark"\n\n' + metrics +
        f'\n[[source]]\nid = "bench"\ndepartment = "BEN"\npath = "{data.name}"\nperiod_column = "period"\n'
        'area_column = "area"\nmetric_column = "metric"\nvalue_column = "value"\n')


def raw_baseline(data: Path, db: Path) -> float:
    """Parse with csv and executemany into a plain table in one transaction: the floor to compare with."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE raw (period TEXT, area TEXT, metric TEXT, value REAL)")
    start = time.perf_counter()
    with data.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        with conn:
            conn.executemany("INSERT INTO raw VALUES (?, ?, ?, ?)", ((p, a, m, float(v)) for p, a, m, v in reader))
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def clustered_ceiling(data: Path, db: Path) -> float:
    """What the store's layout allows at best: parse with csv, map codes to integer ids and months to
    day numbers, sort into primary-key order and executemany into a table clustered like
    ``observations`` (WITHOUT ROWID, six-column key), in one transaction, with no validation, no
    vintage comparison and no metadata. Whatever whytrend adds, it cannot beat this."""
    import datetime as dt

    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE obs (metric_id INTEGER, area_id INTEGER, breakdown_id INTEGER, freq INTEGER, "
                 "period INTEGER, load_id INTEGER, value REAL, status TEXT, derived INTEGER, PRIMARY KEY (metric_id, "
                 "area_id, breakdown_id, freq, period, load_id)) WITHOUT ROWID")
    start = time.perf_counter()
    metrics: dict[str, int] = {}
    areas: dict[str, int] = {}
    days: dict[str, int] = {}
    epoch = dt.date(1970, 1, 1).toordinal()
    rows = []
    with data.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for p, a, m, v in reader:
            day = days.get(p)
            if day is None:
                day = days[p] = dt.date(int(p[:4]), int(p[5:7]), 1).toordinal() - epoch
            rows.append((metrics.setdefault(m, len(metrics) + 1), areas.setdefault(a, len(areas) + 1), 0, 3, day, 1,
                         float(v), "", 0))
    rows.sort()
    with conn:
        conn.executemany("INSERT INTO obs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def psql_copy_baseline(data: Path, url: str, schema: str) -> float:
    """``psql \\copy`` of the CSV into a plain table: PostgreSQL's own bulk path, the floor to compare with."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    env = os.environ | {"PGHOST": u.host or "127.0.0.1", "PGPORT": str(u.port or 5432), "PGUSER": u.username or "postgres",
                        "PGDATABASE": u.database or "postgres"}
    setup = f"CREATE TABLE {schema}.raw (period text, area text, metric text, value double precision);"
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-c", setup], check=True, env=env)
    start = time.perf_counter()
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"\\copy {schema}.raw FROM '{data}' WITH (FORMAT csv, HEADER true)"], check=True, env=env)
    return time.perf_counter() - start


def pg_schema(url: str, schema: str, *, drop: bool = False) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE" if drop else f"CREATE SCHEMA {schema}"))
    engine.dispose()


def child_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep the files")
    parser.add_argument("--order", choices=("area", "period"), default="area",
                        help="row order of the generated file (default: by area, then period)")
    parser.add_argument("--db-url", default=None,
                        help="a PostgreSQL URL: load there (COPY) and compare with psql \\copy of the same rows")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    work = args.keep or Path(tempfile.mkdtemp(prefix="whytrend-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    data, manifest = work / "long.csv", work / "manifest.toml"
    t0 = time.perf_counter()
    write_csv(data, args.rows, args.order)
    write_manifest(manifest, data)
    log.info("generated %s rows (%.0f MB) in %.1f s", f"{args.rows:,}", data.stat().st_size / 1e6, time.perf_counter() - t0)

    schema = f"whytrend_bench_{os.getpid()}"
    target = str(work / "whytrend.db")
    if args.db_url:
        pg_schema(args.db_url, schema)
        joiner = "&" if "?" in args.db_url else "?"
        target = f"{args.db_url}{joiner}options=-csearch_path%3D{schema}"
    whytrend = [sys.executable, "-m", "dashapp.cli", "load", str(manifest), "--db", target, "--no-precompute"]
    for db in ("whytrend.db", "raw.db", "clustered.db"):
        for suffix in ("", "-wal", "-shm"):
            (work / f"{db}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    done = subprocess.run(whytrend, capture_output=True, text=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    ours = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"whytrend load failed:\n{done.stdout}\n{done.stderr}")
    ours_peak = child_peak_rss_mb()

    if args.db_url:
        try:
            baseline = psql_copy_baseline(data, args.db_url, schema)
        finally:
            pg_schema(args.db_url, schema, drop=True)
        name = "psql \\copy (raw)"
        base_peak = child_peak_rss_mb()
        ceiling = None
    else:
        baseline = raw_baseline(data, work / "raw.db")
        name = "sqlite3 executemany (raw)"
        base_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ceiling = clustered_ceiling(data, work / "clustered.db")
    print(f"rows                       {args.rows:>12,}  (file ordered by {args.order})")
    print(f"whytrend load (validated)  {args.rows / ours:>12,.0f} rows/s  {ours:7.1f} s  peak RSS {ours_peak:,.0f} MB")
    print(f"{name:<26} {args.rows / baseline:>12,.0f} rows/s  {baseline:7.1f} s  peak RSS {base_peak:,.0f} MB")
    if ceiling is not None:
        print(f"clustered layout, no checks {args.rows / ceiling:>11,.0f} rows/s  {ceiling:7.1f} s  "
              "(the store's layout at best: integer keys, sorted, WITHOUT ROWID)")
    print(f"ratio whytrend / raw       {baseline / ours:>12.2f}   (target 0.7)")
    if ceiling is not None:
        print(f"ratio layout ceiling / raw {baseline / ceiling:>12.2f}   ratio whytrend / ceiling {ceiling / ours:.2f}")
    print(done.stdout.strip().splitlines()[0] if done.stdout.strip() else "")


if __name__ == "__main__":
    main()
