"""Reduce benchmark: the reduce in a freshly forked process, this project's compiled merge against pyarrow's
``group_by`` (the reduce until 2026-12-02), with the other core idle or busy.

    .venv/bin/python benchmarks/reduce.py [--forks 9] [--rounds 2] [--data-gb 0.8]

Lithops runs every reduce in a process it forks (a JobRunner; on localhost the runner itself is a fork of the
fork server), and on localhost the host and other calls keep the other core busy, so what counts is the first
reduce of a fresh fork beside a busy core, not a warm loop. For each arm a fresh interpreter computes the
partials of the kernel benchmark's objects, runs one small reduce (loading what the arm needs), then forks
``--forks`` children that each time one reduce over all partials, to the bytes handed back to the host:

- ``merge``: :func:`aqstudy.kernel.functions.reduce_partials` (``Groups.merge``, the output a zlib'd partial);
- ``group_by``: the partials wrapped in Arrow (``read_partial``), ``group_by``
  (:func:`aqstudy.kernel.aggregate.combine`) and zstd Arrow IPC (``to_ipc``), on the system allocator, as the
  reduce was.

Each round runs both arms twice: once with the other core idle, once while a process copies 200 MB back and
forth on it (``busy``). The arms take turns, so a slow spell of the machine hits both. Last line:
``merge_busy_max_s=<a> group_by_busy_max_s=<b> merge_busy_median_s=<c> group_by_busy_median_s=<d>
ratio_busy_max=<b/a>`` (> 1: the merge's slowest fork is quicker).
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
from aqstudy.kernel import aggregate, functions
arm, folder, forks = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
partials = [aggregate.scan_bytes(path.read_bytes()).to_bytes() for path in sorted(folder.glob("part-*.ndjson"))]
if arm == "merge":
    def reduce(payloads):
        return functions.reduce_partials([{"partial": p} for p in payloads])["partial"]
else:
    import pyarrow as pa
    pa.set_memory_pool(pa.system_memory_pool())
    def reduce(payloads):
        return aggregate.to_ipc(aggregate.combine([aggregate.read_partial(p) for p in payloads]))
row = aggregate.scan_bytes(b'{"value": 1}\n').to_bytes()
reduce([row, row])
times = []
for _ in range(forks):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        started = time.perf_counter()
        reduce(partials)
        os.write(write, repr(time.perf_counter() - started).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    times.append(float(os.read(read, 64)))
    os.close(read)
print(json.dumps({"partials": len(partials), "times": times}))
"""

#: The other core's load: a memory copy back and forth, until the benchmark closes its stdin.
BUSY = r"""
import sys, threading
a, b = bytearray(100 << 20), bytearray(100 << 20)
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
while not done.is_set():
    b[:] = a
    a[:] = b
"""


def run(arm: str, folder: Path, forks: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, arm, str(folder), str(forks)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    from _data import dataset_folder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forks", type=int, default=9, help="forked reduces per arm, round and condition")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the arms take turns")
    parser.add_argument("--data-gb", type=float, default=0.8, help="data whose partials are reduced (0.8 = 32)")
    args = parser.parse_args()
    folder = dataset_folder(data_size_gb=args.data_gb)
    times: dict[tuple[str, str], list[float]] = {}
    partials = 0
    for index in range(args.rounds):
        for condition in ("idle", "busy"):
            busy = None
            if condition == "busy":
                busy = subprocess.Popen([sys.executable, "-c", BUSY], stdin=subprocess.PIPE)
            try:
                for arm in ("merge", "group_by") if index % 2 == 0 else ("group_by", "merge"):
                    result = run(arm, folder, args.forks)
                    partials = result["partials"]
                    times.setdefault((arm, condition), []).extend(result["times"])
            finally:
                if busy is not None:
                    busy.stdin.close()
                    busy.wait()
    for (arm, condition), values in sorted(times.items()):
        print(f"{arm:8s} {condition:4s} {partials} partials, {len(values)} forks: median "
              f"{statistics.median(values):.3f} s, min {min(values):.3f} s, max {max(values):.3f} s")
    merge, group_by = times[("merge", "busy")], times[("group_by", "busy")]
    print(f"merge_busy_max_s={max(merge):.3f} group_by_busy_max_s={max(group_by):.3f} "
          f"merge_busy_median_s={statistics.median(merge):.3f} "
          f"group_by_busy_median_s={statistics.median(group_by):.3f} ratio_busy_max={max(group_by) / max(merge):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
