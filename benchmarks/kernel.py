"""Kernel benchmark: this project's map+reduce vs DuckDB alone vs the original pandas code, on one core.

    .venv/bin/python benchmarks/kernel.py [--reps 5] [--original-objects 4] [--original-reps 3]

Generates (once) or reuses 400 MB of synthetic OpenAQ NDJSON in ``benchmarks/.data/`` (25 MB objects),
pins the process to one core, then measures side by side, repetitions interleaved, median time:

- ``kernel``: this project's map over every object (``scan_reader`` + ``Scan.to_bytes``, what a map call
  returns) and its reduce (``merge_partials``, read as the host reads it) — the combined sums, counts and
  maxima per key.
- ``duckdb``: DuckDB alone, one query over all objects with an explicit schema (``value DOUBLE``) and a
  GROUP BY of the same key: the fastest engine measured here, doing only the aggregation. Printed too, not in
  the last line: ``duckdb_per_object``, the same query once per object, as a map over objects must run it.
- ``original``: the original study's pandas map and reduce (:mod:`aqstudy.kernel.original`). It runs at ~15 MB/s,
  so it is timed on the first ``--original-objects`` objects; its figure is MB/s like the others.

Checks that the kernel's results (both analyses) equal DuckDB's by ``result_sha256``, says how far the
original's result is from the kernel's on the objects it ran on, and prints as its last line
``kernel_mb_s=<x> duckdb_mb_s=<y> original_mb_s=<z> vs_duckdb=<x/y> vs_original=<x/z>``, MB per CPU second
of this process (one core, one thread): on a machine shared with other work the wall clock also counts the
waits for the core; the wall-clock ratios are printed on the line before.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from _data import data_files, dataset_folder

from aqstudy.analysis import finalize, result_sha256
from aqstudy.kernel import aggregate as kernel
from aqstudy.kernel import original
from aqstudy.kernel.columns import ANALYSES, KEY_COLUMNS
from aqstudy.measure.startup import duckdb_partial_sql


def pin_to_one_core() -> str:
    """Run on one core, so every engine's figure is per core (DuckDB and pyarrow are told one thread too)."""
    import pyarrow as pa

    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    return f"core {core}"


def duckdb_reference(files: list[Path], connection):
    """DuckDB alone: one query, explicit schema, the same key; sums, counts and maxima of the valid values."""
    return connection.sql(duckdb_partial_sql(files)).to_arrow_table()


def kernel_map_reduce(files: list[Path], timings: dict | None = None):
    """This project's map (to the bytes a map call returns) over every object, then its reduce."""
    started = time.perf_counter()
    payloads = [_map(f) for f in files]
    mapped = time.perf_counter()
    combined = kernel.reduce_table({"partial": kernel.merge_partials(payloads)})  # as the host reads it
    if timings is not None:
        timings.setdefault("map_s", []).append(mapped - started)
        timings.setdefault("reduce_s", []).append(time.perf_counter() - mapped)
        timings["partial_bytes"] = [len(p) for p in payloads]
    return combined


def _map(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return kernel.scan_reader(handle).to_bytes()


def original_map_reduce(files: list[Path]) -> str:
    """The original's map over each object's bytes, then its reduce over the maps' JSON texts."""
    return original.day_average_reduce([original.day_average_map(f.read_bytes()) for f in files])


def measure(arms: dict, *, reps: int) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU seconds of each arm, ``reps`` times, arms interleaved so that a busy machine hits all.

    CPU seconds are this process's (one core, one thread): what the work costs whatever else the machine
    runs. Wall seconds also hold the waits for the core when other processes share it.
    """
    times = {name: {"wall": [], "cpu": []} for name in arms}
    for _ in range(reps):
        for name, run in arms.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def how_far_off(original_result: str, correct) -> str:
    """The original's day averages against the kernel's on the same objects, in a few numbers."""
    truth = {tuple(row[k] for k in KEY_COLUMNS): row for row in finalize(correct, analysis="day_average").to_pylist()}
    theirs: dict[tuple, list[float]] = {}
    for row in original.result_rows(original_result):
        theirs.setdefault(tuple(row[k] for k in KEY_COLUMNS), []).append(row["value"])
    readings = sum(row["count"] for row in truth.values())
    missing = [key for key in truth if key not in theirs]
    missing_readings = sum(truth[key]["count"] for key in missing)
    extra = [key for key in theirs if key not in truth]
    wrong, worst = 0, 0.0
    for key, values in theirs.items():
        if key in truth:
            expected = truth[key]["value"]
            error = max(abs(v - expected) for v in values) / max(abs(expected), 1e-12)
            if error > 1e-6 or len(values) > 1:
                wrong += 1
                worst = max(worst, error)
    return (f"{len(truth)} keys, {readings} valid readings; the original returns {sum(map(len, theirs.values()))} "
            f"rows for {len(theirs)} keys: {len(missing)} keys missing ({missing_readings / readings:.1%} of the "
            f"readings: null city or coordinates), {len(extra)} keys that should not exist, {wrong} keys with a wrong "
            f"or duplicated average (worst relative error {worst:.1%})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-gb", type=float, default=0.4, help="dataset size in GB (default 0.4)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of the kernel and DuckDB (median)")
    parser.add_argument("--original-objects", type=int, default=4, help="objects the original runs on")
    parser.add_argument("--original-reps", type=int, default=3, help="repetitions of the original (median)")
    args = parser.parse_args(argv)

    import duckdb

    files = data_files(dataset_folder(data_size_gb=args.data_gb))
    subset = files[: max(1, args.original_objects)]
    input_mb = sum(f.stat().st_size for f in files) / 1e6
    subset_mb = sum(f.stat().st_size for f in subset) / 1e6
    core = pin_to_one_core()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, using {core}; "
          f"Python {platform.python_version()}, DuckDB {duckdb.__version__}")
    print(f"data: {len(files)} objects, {input_mb:.0f} MB (original on {len(subset)} objects, {subset_mb:.0f} MB)")

    reference_connection = duckdb.connect()
    reference_connection.execute("SET threads=1")
    timings: dict = {}
    arms = {
        "kernel": lambda: kernel_map_reduce(files, timings),
        "duckdb": lambda: duckdb_reference(files, reference_connection),
        # Not in the last line: DuckDB's own cost of going object by object, as a map must.
        "duckdb_per_object": lambda: [duckdb_reference([f], reference_connection) for f in files],
    }
    for run in arms.values():  # warm: page cache, imports, DuckDB's JSON reader
        run()
    times = measure(arms, reps=args.reps)
    original_times = measure({"original": lambda: original_map_reduce(subset)}, reps=args.original_reps)

    ours, reference = kernel_map_reduce(files), duckdb_reference(files, reference_connection)
    for analysis in ANALYSES:
        mine = result_sha256(finalize(ours, analysis=analysis))
        theirs = result_sha256(finalize(reference, analysis=analysis))
        if mine != theirs:
            print(f"FAIL: {analysis} differs from DuckDB's: {mine[:12]} vs {theirs[:12]}", file=sys.stderr)
            return 1
        print(f"{analysis}: kernel == duckdb (result_sha256 {mine[:16]}…, {ours.num_rows} keys)")
    print("original vs kernel on its objects:", how_far_off(original_map_reduce(subset), kernel_map_reduce(subset)))

    times |= original_times
    sizes = {"kernel": input_mb, "duckdb": input_mb, "duckdb_per_object": input_mb, "original": subset_mb}
    rate = {clock: {name: sizes[name] / statistics.median(times[name][clock]) for name in times}
            for clock in ("cpu", "wall")}
    partial = statistics.mean(timings["partial_bytes"]) / statistics.mean(f.stat().st_size for f in files)
    map_s, reduce_s = statistics.median(timings["map_s"]), statistics.median(timings["reduce_s"])
    print(f"kernel: map {map_s:.3f} s + reduce {reduce_s:.3f} s (wall) per {input_mb:.0f} MB; map output "
          f"{statistics.mean(timings['partial_bytes']) / 1e3:.0f} KB per object ({partial:.2%} of its input)")
    for name, clocks in times.items():
        cpu_s, wall_s = statistics.median(clocks["cpu"]), statistics.median(clocks["wall"])
        print(f"{name}: median {cpu_s:.3f} CPU s, {wall_s:.3f} wall s over {len(clocks['cpu'])} runs of "
              f"{sizes[name]:.0f} MB = {rate['cpu'][name]:.0f} MB/s per CPU second, {rate['wall'][name]:.0f} MB/s wall")
    wall = rate["wall"]
    print(f"wall-clock ratios: vs_duckdb={wall['kernel'] / wall['duckdb']:.2f} "
          f"vs_original={wall['kernel'] / wall['original']:.1f}")
    cpu = rate["cpu"]
    print(f"kernel_mb_s={cpu['kernel']:.0f} duckdb_mb_s={cpu['duckdb']:.0f} original_mb_s={cpu['original']:.1f} "
          f"vs_duckdb={cpu['kernel'] / cpu['duckdb']:.2f} vs_original={cpu['kernel'] / cpu['original']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
