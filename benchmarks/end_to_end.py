"""End-to-end benchmark: a whole study run vs the original pandas functions in the same Lithops setup.

    .venv/bin/python benchmarks/end_to_end.py [--reps 3] [--workers 2]

Both arms are ``aqstudy.study.runner.run_study`` on Lithops localhost with 2 workers over the same 400 MB (the
kernel benchmark's files, as ``dataset=local``), tracked in a temporary MLflow store with a temporary
Lithops home: only the map and reduce functions differ. ``study`` runs this project's; ``original`` passes
the original study's pandas map and reduce (:mod:`aqstudy.kernel.original`, ``day_average``). One warm-up run of
each stages the data and starts Lithops; then the arms alternate, ``--reps`` runs each, and the medians of
the run's wall time (``run_study`` from call to return: staging check, map-reduce, metrics, MLflow) are
compared. Each arm's Lithops workers import what its functions need once (``backend.preload``: the compiled
scanner for the study, pandas and pyarrow for the original), not once per call. As in ``src/run.py``, the
cyclic collector is paused until the first run has loaded everything (:mod:`aqstudy.study.collector`).
Last line: ``study_s=<a> original_s=<b> speedup=<b/a>``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _data import dataset_folder, ratio_line

from aqstudy.kernel import original
from aqstudy.study import collector

#: What each arm's functions import, imported once per Lithops worker (``backend.preload``): the study's
#: default for this project, the same treatment for the original's pandas.
PRELOAD = {"study": None, "original": "[pandas,pyarrow]"}


def compose(*, folder: Path, home: Path, workers: int, data_size_gb: float, preload: str | None = None):
    """The config objects of one arm, as ``src/run.py`` would compose them, pointed at temporary stores."""
    from aqstudy.config.schema import compose_config

    overrides = [
        "dataset=local", f"dataset.path={folder}", f"data_size={data_size_gb}", f"workers={workers}",
        "chunksize=auto", "analysis=day_average", "progress=false",
        f"mlflow.tracking_uri=sqlite:///{home / 'mlruns' / 'mlflow.db'}", "mlflow.experiment=end-to-end",
        f"lithops.home={home / 'lithops'}", "storage.bucket=bench",
        *([f"backend.preload={preload}"] if preload else []),
    ]
    return compose_config(overrides)


def one_run(cfg, arm: str):
    """One tracked run of ``arm``; its wall time and result."""
    from aqstudy.study.runner import run_study

    functions = {"map_function": original.map_object, "reduce_function": original.reduce_partials}
    started = time.perf_counter()
    result = run_study(cfg, **(functions if arm == "original" else {}))
    elapsed = time.perf_counter() - started
    if result.status != "FINISHED":
        raise SystemExit(f"the {arm} run failed: {result.error}")
    return elapsed, result


def describe(arm: str, elapsed: float, result) -> str:
    metrics = result.metrics
    return (f"{arm}: {elapsed:.2f} s run, map-reduce {metrics['duration_s']:.2f} s "
            f"(maps {metrics['map_duration_s']:.2f} s, reduce {metrics['reduce_duration_s']:.2f} s), "
            f"{int(metrics['calls'])} calls, "
            f"{int(metrics['cold_starts'])} cold, peak {metrics['peak_memory_mb']:.0f} MB per call, "
            f"result_sha256 {result.tags['result_sha256'][:12]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="measured runs per arm (median)")
    parser.add_argument("--workers", type=int, default=2, help="Lithops workers (default 2)")
    parser.add_argument("--data-gb", type=float, default=0.4, help="dataset size in GB (default 0.4)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    collector.pause()

    folder = dataset_folder(data_size_gb=args.data_gb)
    home = Path(tempfile.mkdtemp(prefix="aqstudy-bench-"))
    try:
        cfgs = {arm: compose(folder=folder, home=home, workers=args.workers, data_size_gb=args.data_gb,
                             preload=PRELOAD[arm]) for arm in PRELOAD}
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Lithops localhost, {args.workers} workers; "
              f"data: {folder.name} ({sum(f.stat().st_size for f in folder.glob('part-*')) / 1e6:.0f} MB)")
        times: dict[str, list[float]] = {"study": [], "original": []}
        for arm in times:  # warm-up: staging, Lithops' runtime metadata, the page cache
            print("warm-up", describe(arm, *one_run(cfgs[arm], arm)))
        for _ in range(args.reps):
            for arm in times:
                elapsed, result = one_run(cfgs[arm], arm)
                times[arm].append(elapsed)
                print(describe(arm, elapsed, result))
        print(ratio_line(times, ours="study", theirs="original", ratio="speedup"))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
