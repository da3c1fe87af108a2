"""Whole-process benchmark: one ``python src/run.py`` against a bare DuckDB query process over the same files.

    .venv/bin/python benchmarks/whole_process.py [--reps 3] [--data-gb 0.8]

The run is the real command, as a user types it (``dataset=local`` over the benchmark's files, 2 workers, a
temporary MLflow store and Lithops home): interpreter start, Hydra, staging check, the Lithops map-reduce,
metrics, MLflow. One warm-up run stages the objects; then the two commands alternate, ``--reps`` times each,
and the medians of their wall times are compared. The reference is the fastest way to get the same answer
here: a Python process that runs one DuckDB query (explicit schema, all cores) over the files. Last line:
``process_s=<a> duckdb_s=<b> ratio=<a/b>`` (the guide aims at a ratio of at most ~4).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _data import data_files, dataset_folder, ratio_line

from aqstudy.study.paths import PROJECT_ROOT

_DUCKDB = """
import sys, duckdb
files = sys.argv[1:]
columns = ("{'date': 'STRUCT(utc VARCHAR)', 'parameter': 'VARCHAR', 'value': 'DOUBLE', 'unit': 'VARCHAR', "
           "'location': 'VARCHAR', 'city': 'VARCHAR', 'country': 'VARCHAR', "
           "'coordinates': 'STRUCT(latitude DOUBLE, longitude DOUBLE)'}")
rows = duckdb.sql(
    "SELECT country, city, location, coordinates.latitude, coordinates.longitude, parameter, unit, "
    "left(date.utc, 10) AS day, avg(value) AS value, count(value) AS count "
    f"FROM read_ndjson({files!r}, columns={columns}, format='newline_delimited') "
    "WHERE value >= 0 AND isfinite(value) GROUP BY ALL").fetchall()
print(len(rows), "rows")
"""


def timed(command: list[str], **kwargs) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{command[:3]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="measured runs of each command (median)")
    parser.add_argument("--data-gb", type=float, default=0.8, help="dataset size in GB (default 0.8)")
    args = parser.parse_args(argv)

    folder = dataset_folder(data_size_gb=args.data_gb)
    files = [str(f) for f in data_files(folder)]
    home = Path(tempfile.mkdtemp(prefix="aqstudy-process-"))
    python = sys.executable
    run = [python, str(PROJECT_ROOT / "src" / "run.py"), "dataset=local", f"dataset.path={folder}",
           f"data_size={args.data_gb}", "workers=2", "progress=false", "storage.bucket=bench",
           f"mlflow.tracking_uri=sqlite:///{home / 'mlruns' / 'mlflow.db'}", f"lithops.home={home / 'lithops'}",
           f"hydra.run.dir={home / 'outputs'}"]
    duckdb = [python, "-c", _DUCKDB, *files]
    try:
        print(f"machine: {os.cpu_count()} cores; data: {folder.name}, {len(files)} objects, "
              f"{sum(Path(f).stat().st_size for f in files) / 1e6:.0f} MB")
        print(f"warm-up (stages the objects): run {timed(run, cwd=home):.2f} s, duckdb {timed(duckdb):.2f} s")
        times: dict[str, list[float]] = {"process": [], "duckdb": []}
        for _ in range(args.reps):
            times["process"].append(timed(run, cwd=home))
            times["duckdb"].append(timed(duckdb))
            print(f"run {times['process'][-1]:.2f} s, duckdb {times['duckdb'][-1]:.2f} s")
        print(ratio_line(times, ours="process", theirs="duckdb", ratio="ratio", inverse=True))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
