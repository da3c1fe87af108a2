"""Cold-start benchmark: how soon a fresh interpreter has its first partial in hand, the map runtime vs DuckDB.

    .venv/bin/python benchmarks/cold_start.py [--runs 7] [--choices] [--function-python PATH]

Every figure is one fresh interpreter (``python -c``), timed from just before it is started until its output
is in hand, with its peak resident memory then (:mod:`aqstudy.measure.startup`):

- ``map``: this project's map entry point over the first 25 MB object of the kernel benchmark's data, to the
  partial it returns (the compiled scanner; neither numpy nor pyarrow is imported).
- ``duckdb``: a DuckDB + pyarrow function doing the same work: the same aggregation as one DuckDB query with
  an explicit schema, its result as zstd Arrow IPC bytes.
- ``reduce``: this project's reduce entry point over the map outputs of all 16 objects, to the partial it
  returns (the compiled scanner's table again; neither numpy nor pyarrow).
- with ``--choices``, the alternatives measured for the record: ``map_arrow`` (the same scanner with the
  partial sent as Arrow IPC, so pyarrow is imported in the map), ``numpy`` and ``pyarrow`` imported alone,
  and a bare ``python``.

``--function-python`` runs the map and the reduce with another interpreter: one whose environment holds only
``runtime/function-requirements.txt`` and the package, as the Lambda runtime does (no numpy, no pandas, which
pyarrow imports when they are installed). The runtimes take turns (each round starts each once, the order
reversed every other round), so a busy machine slows all alike; ``--runs`` rounds (at least 5), medians.
Last line:
``map_ready_s=<a> duckdb_ready_s=<b> ratio=<a/b> map_rss_mb=<x> duckdb_rss_mb=<y>`` (the target: ratio ≤ 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

from _data import data_files, dataset_folder

from aqstudy.measure import startup

#: The runtimes compared, and those recorded as the alternatives with --choices.
COMPARED = ("map", "duckdb", "reduce")
CHOICES = ("map_arrow", "numpy", "pyarrow", "python")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per runtime, at least 5 (median)")
    parser.add_argument("--choices", action="store_true", help="also measure the alternatives (see the docstring)")
    parser.add_argument("--function-python", help="interpreter for the map and the reduce (default: this one)")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error(f"--runs {args.runs} is too few for a median of cold starts; pass 5 or more")

    files = data_files(dataset_folder(data_size_gb=0.4))
    runtimes = COMPARED + (CHOICES if args.choices else ())
    with tempfile.TemporaryDirectory(prefix="aqstudy-cold-start-") as folder:
        inputs = startup.prepare_inputs(files, Path(folder))
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
              f"Python {platform.python_version()}; {args.runs} fresh interpreters per runtime, interleaved")
        object_mb = inputs.object_path.stat().st_size / 1e6
        print(f"data: map and duckdb read {inputs.object_path.name} ({object_mb:.0f} MB); "
              f"the reduce combines the map outputs of {inputs.reduce_objects} objects")
        pythons = {"map": args.function_python, "reduce": args.function_python} if args.function_python else None
        if pythons:
            print(f"map and reduce run in {args.function_python}")
        samples = startup.measure(runtimes, inputs, runs=args.runs, pythons=pythons)
    medians = {runtime: startup.median(samples[runtime]) for runtime in runtimes}
    for runtime in runtimes:
        m, ready = medians[runtime], sorted(s.ready_s for s in samples[runtime])
        print(f"{runtime}: imports {m.import_s:.3f} s, ready {m.ready_s:.3f} s (min {ready[0]:.3f}, "
              f"max {ready[-1]:.3f}), peak RSS {m.rss_mb:.0f} MB")
    ours, theirs = medians["map"], medians["duckdb"]
    print(f"map_ready_s={ours.ready_s:.3f} duckdb_ready_s={theirs.ready_s:.3f} "
          f"ratio={ours.ready_s / theirs.ready_s:.2f} map_rss_mb={ours.rss_mb:.0f} duckdb_rss_mb={theirs.rss_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
