"""The model backend's speed: the simulation alone, and a predicted run as a whole process.

    .venv/bin/python benchmarks/model.py [--reps 3]

1. ``simulate()`` of a 1,000-call job (1,000 objects of 25 MB, 500 workers, chunksize 2, the reducer with the
   maps) on the Lambda platform from the committed calibration: the median of ``--reps`` (the issue asks for
   well under a second).
2. ``python src/run.py backend=model workers=512 data_size=40 memory=2048`` as a user types it (a temporary
   MLflow store; the first run creates it and is not counted): the median wall time of ``--reps`` (the issue
   asks for a few seconds).

Last line: ``simulate_1000_calls_s=<a> whole_process_512x40_s=<b>``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aqstudy.backends.model import calibration as cal
from aqstudy.backends.model.platforms import build_platform
from aqstudy.backends.model.simulator import JobSpec, simulate
from aqstudy.study.paths import PROJECT_ROOT


def simulation_s(reps: int) -> float:
    platform, _ = build_platform(cal.load(PROJECT_ROOT / cal.DEFAULT_PATH), platform="aws_lambda", kernel="project")
    spec = JobSpec(object_bytes=(25_000_000,) * 1000, chunksize=2, workers=500, memory_mb=2048)
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        prediction = simulate(spec, platform)
        times.append(time.perf_counter() - started)
    assert len(prediction.calls) == 1001
    return statistics.median(times)


def whole_process_s(reps: int) -> float:
    with tempfile.TemporaryDirectory(prefix="aqstudy-bench-model-") as tmp:
        command = [sys.executable, str(PROJECT_ROOT / "src" / "run.py"), "backend=model", "workers=512",
                   "data_size=40", "memory=2048", f"mlflow.tracking_uri=sqlite:///{Path(tmp) / 'mlflow.db'}",
                   f"hydra.run.dir={tmp}/outputs"]
        times = []
        for index in range(reps + 1):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=PROJECT_ROOT)
            if index:
                times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    simulate_s = simulation_s(args.reps)
    print(f"simulate(): 1,000 calls in {simulate_s:.3f} s (median of {args.reps})", file=sys.stderr)
    process_s = whole_process_s(args.reps)
    print(f"src/run.py backend=model workers=512 data_size=40: {process_s:.2f} s", file=sys.stderr)
    print(f"simulate_1000_calls_s={simulate_s:.3f} whole_process_512x40_s={process_s:.2f}")


if __name__ == "__main__":
    main()
