"""Hydra callbacks that make a ``-m`` sweep one MLflow parent run with its jobs as nested child runs.

The parent run holds the command line in its tags and, once the sweep ends, ``sweep.csv`` and ``sweep.md``:
one row per job with its axes and main metrics, read back from the child runs (what was logged, not what
the callback saw). The MLflow UI then shows a sweep as one expandable row.
"""

from __future__ import annotations

import atexit
import logging
import shlex
import sys
import time
from typing import Any

from aqstudy.measure import metrics as m

try:
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover - hydra-core is a dependency
    Callback = object

log = logging.getLogger(__name__)

#: Tag marking a sweep's parent run (``aqstudy.kind`` is also used by the tuning session runs).
TAG_KIND = "aqstudy.kind"
KIND_SWEEP = "sweep"
TAG_COMMAND = "aqstudy.command"
#: Metrics shown per job in the sweep's table.
TABLE_METRICS = (m.DURATION_S, m.COST_USD, m.THROUGHPUT_MB_S, m.COLD_STARTS)

#: The running sweep in this process: (experiment name, parent run), set by the callback.
_CURRENT: dict[str, Any] = {}


def current_sweep_parent(*, experiment: str) -> str | None:
    """The parent run id of the sweep running in this process, when its jobs log to ``experiment``."""
    run = _CURRENT.get("run")
    return run.run_id if run is not None and _CURRENT.get("experiment") == experiment else None


def sweep_rows(children: list[dict], *, axes: list[str]) -> list[dict]:
    """One row per job of a sweep, in job order: its axes, status, main metrics and run id (pure).

    :param children: the child runs as records (``params``, ``metrics``, ``status``, ``run_id``, ``tags``).
    :param axes: the params that differ between jobs (the sweep's axes).
    """
    rows = []
    for child in sorted(children, key=lambda run: int(run["tags"].get("aqstudy.job", 0))):
        row = {"job": int(child["tags"].get("aqstudy.job", 0)),
               **{axis: child["params"].get(axis) for axis in axes}, "status": child["status"]}
        row |= {name: child["metrics"].get(name) for name in TABLE_METRICS}
        row["run_id"] = child["run_id"]
        rows.append(row)
    return rows


def swept_axes(children: list[dict]) -> list[str]:
    """Params whose value differs between the jobs, but the versions of the tools (pure)."""
    from aqstudy.sweeps.planning import varying_keys

    return [key for key in varying_keys([child["params"] for child in children])
            if not key.startswith(("lithops_", "python_"))]


class MlflowSweepCallback(Callback):
    """Opens the sweep's parent run before the first job and closes it, with its table, after the last."""

    def on_multirun_start(self, config, **kwargs) -> None:
        from aqstudy.study.tracking import TrackedRun, resolve_tracking_uri

        command = shlex.join(["python", *sys.argv])
        tracking_uri = resolve_tracking_uri(config.mlflow.tracking_uri)
        run = TrackedRun(tracking_uri=tracking_uri, experiment=config.mlflow.experiment,
                         run_name=f"sweep {time.strftime('%Y-%m-%d %H:%M:%S')}",
                         tags={TAG_KIND: KIND_SWEEP, TAG_COMMAND: command,
                               "hydra.sweep_dir": str(config.hydra.sweep.dir)})
        run.log(params={"command": command})
        _CURRENT.update(experiment=config.mlflow.experiment, run=run)
        atexit.register(_end_if_open, "KILLED")

    def on_job_end(self, config, **kwargs) -> None:
        from aqstudy.study.signals import pause_point

        pause_point("between_jobs")  # a test's moment: a job has ended, Hydra sets up the next

    def on_multirun_end(self, config, **kwargs) -> None:
        run = _CURRENT.get("run")
        if run is None:
            return
        try:
            rows = close_sweep(run)
            print_table(rows)
        finally:
            _end_if_open("FINISHED")


def close_sweep(run) -> list[dict]:
    """Write the sweep's table from its child runs onto the parent run; return the rows."""
    from aqstudy.reports import tables as r
    from aqstudy.reports.command import read_runs

    children = read_runs(run.client, run.experiment_id, f"tags.mlflow.parentRunId = '{run.run_id}'")
    axes = swept_axes(children)
    rows = sweep_rows(children, axes=axes)
    columns = ["job", *axes, "status", *TABLE_METRICS, "run_id"]
    table = r.Table("sweep", f"Sweep {run.run_id}: {len(rows)} jobs", columns, rows)
    run.log_artifacts({"sweep.csv": r.to_csv(table), "sweep.md": r.to_markdown(table)})
    finished = sum(row["status"] == "FINISHED" for row in rows)
    run.log(metrics={"jobs": len(rows), "jobs_finished": finished, "jobs_failed": len(rows) - finished})
    return rows


def print_table(rows: list[dict]) -> None:
    """The sweep's table on the console: one line per job."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "run_id"]
    shown = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in shown)) for i, c in enumerate(columns)]
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True)))
    for line in shown:
        print("  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)))


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return str(int(value))
        return f"{value:.6f}" if abs(value) < 0.01 else f"{value:.2f}"
    return str(value)


def _end_if_open(status: str) -> None:
    run = _CURRENT.pop("run", None)
    if run is not None:
        try:
            run.end(status)
        except Exception as error:  # the store may be gone at exit; the sweep's jobs are logged already
            log.warning("could not close the sweep's MLflow run: %s", error)
