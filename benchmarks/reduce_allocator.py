"""Reduce benchmark: the reduce in a freshly forked process, with pyarrow's default pool (mimalloc) vs the system
allocator that :func:`aqstudy.kernel.aggregate.use_system_allocator` sets.

    .venv/bin/python benchmarks/reduce_allocator.py [--forks 9] [--data-gb 0.8]

Lithops runs every reduce in a process it forks (a JobRunner; on localhost the runner itself is a fork of the
fork server), so what counts is the first combine of a fresh fork, not a warm loop. For each allocator a fresh
interpreter computes the partials of the kernel benchmark's objects, runs one small reduce (as the fork server's
``warm_reduce`` does), then forks ``--forks`` children that each time one ``reduce_partials`` over all partials.
The allocators take turns, fork by fork, so a busy machine slows both alike. Last line:
``mimalloc_median_s=<a> system_median_s=<b> ratio=<a/b> mimalloc_max_s=<x> system_max_s=<y>`` (ratio > 1: the
system allocator is faster).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHILD = r"""
import json, os, sys, time
from pathlib import Path
from aqstudy.kernel import aggregate
from aqstudy.kernel import functions
allocator, folder, forks = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
if allocator == "mimalloc":  # the default pool, as before the project set the system allocator
    aggregate.use_system_allocator = lambda: None
partials = [aggregate.scan_bytes(path.read_bytes()).to_bytes() for path in sorted(folder.glob("part-*.ndjson"))]
functions.warm_reduce()
import pyarrow as pa
assert pa.default_memory_pool().backend_name == allocator, pa.default_memory_pool().backend_name
times = []
for _ in range(forks):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        started = time.perf_counter()
        functions.reduce_partials([{"partial": p} for p in partials])
        os.write(write, repr(time.perf_counter() - started).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    times.append(float(os.read(read, 64)))
    os.close(read)
print(json.dumps({"partials": len(partials), "times": times}))
"""


def run(allocator: str, folder: Path, forks: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, allocator, str(folder), str(forks)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    from _data import dataset_folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forks", type=int, default=9, help="forked reduces per allocator and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the allocators take turns")
    parser.add_argument("--data-gb", type=float, default=0.8, help="data whose partials are reduced (0.8 = 32)")
    args = parser.parse_args()
    folder = dataset_folder(data_size_gb=args.data_gb)
    times: dict[str, list[float]] = {"mimalloc": [], "system": []}
    partials = 0
    for index in range(args.rounds):
        order = ("mimalloc", "system") if index % 2 == 0 else ("system", "mimalloc")
        for allocator in order:
            result = run(allocator, folder, args.forks)
            partials = result["partials"]
            times[allocator] += result["times"]
    for allocator, values in times.items():
        print(f"{allocator:8s} {partials} partials, {len(values)} forks: median {statistics.median(values):.3f} s, "
              f"min {min(values):.3f} s, max {max(values):.3f} s")
    mimalloc, system = statistics.median(times["mimalloc"]), statistics.median(times["system"])
    print(f"mimalloc_median_s={mimalloc:.3f} system_median_s={system:.3f} ratio={mimalloc / system:.2f} "
          f"mimalloc_max_s={max(times['mimalloc']):.3f} system_max_s={max(times['system']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
