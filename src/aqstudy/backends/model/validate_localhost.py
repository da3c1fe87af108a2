"""Validation a: ``backend=model backend.platform=localhost`` against measured localhost runs.

    python -m aqstudy.backends.model.validate_localhost [--full] [--out reports/lambda-model/validation_localhost.md]

First the grid's data is staged (each size once, then flushed to disk) and ``calibrate.LOCALHOST_WARM_UP_RUNS``
runs are made and dropped (the first runs of a process and of its fork server). Then every config (workers 1–4 ×
data 0.1–0.8 GB × chunksize 1/auto with ``--full``, a subset otherwise) is run three times for real, the configs
taking turns, and this machine's localhost figures are measured as ``make calibrate`` measures them (one worker,
one and two per core, 8 and 24 objects of 25 MB: no config of the grid) four times: before the first pass of
the configs, between the passes and after the last, so that the figures (their medians) and the runs see the
same machine. Every config is then predicted through ``src/run.py``'s path with ``backend=model
backend.platform=localhost`` from those figures. Nothing is fitted to the grid. The machine may be shared: the
load average is recorded beside each row.

On localhost ``chunksize`` changes nothing (Lithops' localhost backend queues every call to its process pool;
chunks only group invocations on a FaaS backend), so the two rows of a (workers, data) pair are the same job
measured twice: their spread is the measurement's own noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aqstudy.backends.model.calibrate import LOCALHOST_WARM_UP_RUNS

#: The issue's grid: workers 1–4 × data 0.1–0.8 GB × chunksize 1/auto.
FULL_GRID = tuple((w, d, c) for d in (0.1, 0.2, 0.4, 0.8) for w in (1, 2, 3, 4) for c in ("1", "auto"))
#: The test's subset: every worker count and data size once, both chunksizes.
SUBSET = ((1, 0.1, "auto"), (2, 0.2, "1"), (3, 0.4, "auto"), (4, 0.8, "1"), (4, 0.1, "auto"), (1, 0.8, "1"))
TOLERANCE_PCT = 20.0
REPEATS = 3


@dataclass
class Row:
    workers: int
    data_gb: float
    chunksize: str
    measured_s: list[float] = field(default_factory=list)
    predicted_s: float = 0.0
    loads_1m: list[float] = field(default_factory=list)  # the load average before each measured run

    @property
    def median_s(self) -> float:
        return statistics.median(self.measured_s)

    @property
    def load_1m(self) -> float:
        return statistics.mean(self.loads_1m)

    @property
    def error_pct(self) -> float:
        return 100 * (self.predicted_s - self.median_s) / self.median_s

    @property
    def passes(self) -> bool:
        return abs(self.error_pct) <= TOLERANCE_PCT

    def axes(self) -> list[str]:
        return [f"workers={self.workers}", f"data_size={self.data_gb}", f"chunksize={self.chunksize}"]

    def command(self) -> str:
        axes = f"workers={self.workers} data_size={self.data_gb} chunksize={self.chunksize}"
        return f"python src/run.py -m {axes} repeat=0,1,2  vs  python src/run.py backend=model " \
               f"backend.platform=localhost {axes}"


def validate(configs, *, folder: Path, calibration_path: Path, repeats: int = REPEATS,
             echo=print) -> tuple[list[Row], dict]:
    """Measure and predict every config; return the rows and the localhost figures predicted from (see the
    module's docstring): ``repeats`` passes of the configs, the figures measured before each and after the
    last."""
    from aqstudy.backends.model import calibration as cal
    from aqstudy.backends.model.calibrate import measure_localhost
    from aqstudy.backends.model.plugin import forget_warm_environments
    from aqstudy.config.schema import compose_config
    from aqstudy.study.paths import point_lithops_at
    from aqstudy.study.runner import run_study

    point_lithops_at(folder / "lithops")
    base = json.loads(Path(calibration_path).read_text())
    store = [f"mlflow.tracking_uri=sqlite:///{folder / 'mlruns' / 'mlflow.db'}", f"lithops.home={folder / 'lithops'}",
             "progress=false", "storage.bucket=validation", "mlflow.experiment=validation-localhost"]

    def run(*overrides):
        result = run_study(compose_config([*store, *overrides]))
        if result.status != "FINISHED":
            raise RuntimeError(f"run {overrides} failed: {result.error}")
        return result

    for data_gb in sorted({data_gb for _, data_gb, _ in configs}):  # stages the grid's data: not measured
        run("workers=1", f"data_size={data_gb}", "repeat=99")
    rows = [Row(workers, data_gb, chunksize) for workers, data_gb, chunksize in configs]

    def measured_pass(number: int) -> None:
        # The configs take turns (every config once, then every config again): a slow spell of the machine lands
        # in one run of several configs, which their medians drop, instead of in two runs of one config.
        for row in rows:
            row.loads_1m.append(os.getloadavg()[0])
            row.measured_s.append(run(*row.axes(), f"repeat={number - 1}").metrics["duration_s"])
        echo(f"measured pass {number} of {repeats}")

    project = base["kernels"]["project"]
    # It first makes and drops runs too (calibrate.LOCALHOST_WARM_UP_RUNS): the fork server's and the process's.
    localhost = measure_localhost(folder, repeats + 1, project["reduce_mb_s"], project["output_ratio"],
                                  between_repeats=measured_pass)
    fresh_path = folder / "calibration.json"
    fresh_path.write_text(cal.to_json({**base, "localhost": localhost}))
    echo(f"localhost figures: {_figures(localhost)}")
    echo("  reduce samples (s): " + "; ".join(
        f"{name} " + ", ".join(f"{value:.3f}" for value in localhost["samples"][name])
        for name in ("reduce_func_s", "reduce_func_large_s")))
    for row in rows:
        forget_warm_environments()
        predicted = run(*row.axes(), "backend=model", "backend.platform=localhost",
                        f"backend.calibration={fresh_path}")
        row.predicted_s = predicted.metrics["duration_s"]
        echo(f"workers={row.workers} data_size={row.data_gb} chunksize={row.chunksize}: measured "
             f"{', '.join(f'{s:.2f}' for s in row.measured_s)} s (median {row.median_s:.2f}), predicted "
             f"{row.predicted_s:.2f} s, {row.error_pct:+.0f}% (load {row.load_1m:.1f})")
    return rows, localhost


def _figures(local: dict) -> str:
    cores = ", ".join(f"{processes} processes {got:.2f}" for processes, got in local["cores_by_processes"])
    return (f"cores the workers got: {cores}; map {local['map_mb_s']:.0f} MB/s; per call "
            f"{1000 * (local['call_pre_s'] + local['call_post_s'] + local['call_idle_s']):.0f} ms; first call "
            f"{1000 * local['cold_start_s']:.0f} ms; reduce starts {1000 * local['reduce_start_s']:.0f} ms after the "
            f"last map, {1000 * local['reduce_fixed_s']:.0f} ms + partials at {local['reduce_mb_s']:.0f} MB/s")


def markdown(rows: list[Row], localhost: dict, *, machine: str, started: str) -> str:
    passed = sum(row.passes for row in rows)
    errors = [abs(row.error_pct) for row in rows]
    lines = [
        "# Validation a: the model of this machine against measured localhost runs\n",
        f"Made {started} on {machine} by `python -m aqstudy.backends.model.validate_localhost"
        f"{' --full' if len(rows) == len(FULL_GRID) else ''}`. The grid's data was staged and "
        f"{LOCALHOST_WARM_UP_RUNS} runs made and dropped; then this machine's localhost figures were measured "
        f"{len(localhost['samples']['reduce_func_s'])} times, before, between and after the measured passes of "
        "the configs (one worker, one and two per core, 8 and 24 objects of 25 MB: no config of the grid, nothing "
        "fitted to it); their medians:\n",
        f"> {_figures(localhost)}\n",
        "Each row: three measured runs (`duration_s`, their median; the configs take turns, every config once "
        "before any config again) and the prediction of `backend=model "
        "backend.platform=localhost` from those figures. Tolerance ±20% on the median. On localhost `chunksize` "
        "changes nothing (Lithops' localhost backend queues every call to its process pool), so the two rows of a "
        "(workers, data) pair are the same job measured twice: their difference is the measurement's own noise. "
        "The machine may be shared: the load average is beside each row.\n",
        f"**{passed} of {len(rows)} within ±{TOLERANCE_PCT:.0f}%**; mean absolute error "
        f"{statistics.mean(errors):.0f}%, largest {max(errors):.0f}%.\n",
        "| workers | data GB | chunksize | measured s (3 runs) | median s | predicted s | error | load (1 min) | "
        "within 20% |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.workers} | {row.data_gb} | {row.chunksize} | "
                     f"{', '.join(f'{s:.2f}' for s in row.measured_s)} | {row.median_s:.2f} | {row.predicted_s:.2f} | "
                     f"{row.error_pct:+.0f}% | {row.load_1m:.1f} | "
                     f"{'yes' if row.passes else 'no'} |")
    lines.append("\nReproduce one row: " + (rows[0].command() if rows else "") + ".\n")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from aqstudy.backends.model import calibration as cal
    from aqstudy.backends.model.calibrate import machine_facts
    from aqstudy.study.paths import PROJECT_ROOT

    parser = argparse.ArgumentParser(description="Validation a: the localhost model against measured runs.")
    parser.add_argument("--full", action="store_true", help="the whole grid (32 configs, ~4 min)")
    parser.add_argument("--out", default=None, help="write the table here (markdown)")
    parser.add_argument("--calibration", default=str(PROJECT_ROOT / cal.DEFAULT_PATH))
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    facts = machine_facts()
    with tempfile.TemporaryDirectory(prefix="aqstudy-validate-") as tmp:
        rows, localhost = validate(FULL_GRID if args.full else SUBSET, folder=Path(tmp),
                                   calibration_path=Path(args.calibration))
    text = markdown(rows, localhost, machine=f"{facts['cpu_model']}, {facts['cores']} cores", started=started)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0 if all(row.passes for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
