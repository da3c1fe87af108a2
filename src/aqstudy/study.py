"""One study run, end to end: stage, map-reduce on Lithops, measure, price, track.

Every decision of a run lives here, behind :func:`run_study`, so tests and the Optuna driver reach the same
code as ``src/run.py``. A failure is data: the tracked run is marked FAILED with what was measured.
"""

from __future__ import annotations

import io
import logging
import platform
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from aqstudy import metrics as m
from aqstudy.cost import gb_second_price, lambda_cost
from aqstudy.datasets import DatasetError, source_from_config
from aqstudy.lithops_config import build_lithops_config, concurrency, resolve_chunksize
from aqstudy.paths import lithops_home, point_lithops_at
from aqstudy.redaction import redact_text
from aqstudy.schema import ANALYSES

log = logging.getLogger(__name__)


class StudyError(RuntimeError):
    """A run that cannot go on; the message names the cause and the fix."""


@dataclass
class RunResult:
    """What one run produced: its status, metrics and tags, and the MLflow run id."""

    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    error: str | None = None
    summary: str = ""


def validate(cfg: dict) -> None:
    """Reject bad axis values before anything starts, with the fix in the message."""
    if not isinstance(cfg.get("workers"), int) or cfg["workers"] < 1:
        raise StudyError(f"workers={cfg.get('workers')!r} is not valid; pass a whole number ≥ 1")
    if not isinstance(cfg.get("memory"), int) or not 128 <= cfg["memory"] <= 10240:
        raise StudyError(f"memory={cfg.get('memory')!r} is not valid; pass MB between 128 and 10240 (Lambda's range)")
    try:
        resolve_chunksize(cfg.get("chunksize"), objects=1, workers=1)
    except ValueError as error:
        raise StudyError(str(error)) from None
    if cfg["analysis"]["name"] not in ANALYSES:
        raise StudyError(f"analysis={cfg['analysis']['name']!r} is not known; choose {' or '.join(ANALYSES)}")
    try:
        gb_second_price(region=cfg["region"], architecture=cfg["backend"].get("architecture", "x86_64"))
    except ValueError as error:
        raise StudyError(str(error)) from None


def run_name(cfg: dict) -> str:
    """A run name made of the axes, e.g. ``day_average-w8-m2048-c auto-0.2GB``."""
    return (cfg["mlflow"].get("run_name") or
            f"{cfg['analysis']['name']}-w{cfg['workers']}-m{cfg['memory']}-c{cfg['chunksize']}-{cfg['data_size']}GB"
            + (f"-r{cfg['repeat']}" if cfg.get("repeat") else ""))


def params_of(cfg: dict) -> dict[str, Any]:
    """The run's axes and settings as MLflow params."""
    import lithops  # noqa: F401  (version below; already imported by the run)
    from lithops.version import __version__ as lithops_version

    return {
        "workers": cfg["workers"], "memory": cfg["memory"], "chunksize": cfg["chunksize"],
        "data_size": cfg["data_size"], "region": cfg["region"], "bucket_region": cfg["bucket_region"],
        "repeat": cfg.get("repeat", 0), "backend": cfg["backend"]["name"], "storage": cfg["storage"]["name"],
        "dataset": cfg["dataset"]["name"], "analysis": cfg["analysis"]["name"],
        "lithops_version": lithops_version, "python_version": platform.python_version(),
        **{f"backend.{k}": v for k, v in cfg["backend"].items() if k != "name"},
        **{f"dataset.{k}": v for k, v in cfg["dataset"].items() if k != "name"},
        "storage.bucket": cfg["storage"].get("bucket"),
    }


def _csv(rows: list[dict], columns) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def run_study(cfg: dict, *, map_function=None, reduce_function=None) -> RunResult:
    """Run one study job described by the resolved config ``cfg`` and track it in MLflow.

    :param cfg: the composed Hydra config as a plain dict (``OmegaConf.to_container(resolve=True)``).
    :param map_function: replaces the map (tests inject failures through it).
    :param reduce_function: replaces the reduce (benchmarks run the original study's through it); it must
        return ``combined`` (Arrow IPC bytes of a partial table) and ``calls``, as the default does.
    :return: status, metrics and tags; never raises for a failed run, only for a config that cannot start.
    """
    from aqstudy.tracking import TrackedRun, redacted_yaml, resolve_tracking_uri

    validate(cfg)
    point_lithops_at(lithops_home(cfg["lithops"].get("home")))
    tracking_uri = resolve_tracking_uri(cfg["mlflow"].get("tracking_uri"))
    run = TrackedRun(tracking_uri=tracking_uri, experiment=cfg["mlflow"]["experiment"], run_name=run_name(cfg))
    result = RunResult(status="RUNNING", run_id=run.run_id)
    artifacts: dict[str, Any] = {"config.yaml": redacted_yaml(cfg)}
    try:
        _run(cfg, run, result, artifacts, map_function=map_function, reduce_function=reduce_function)
        result.status = "FINISHED"
    except (StudyError, DatasetError) as error:
        result.status, result.error = "FAILED", str(error)
    except KeyboardInterrupt:
        result.status, result.error = "KILLED", "interrupted"
        raise
    except Exception as error:  # any other fault still ends as a FAILED run with what was measured
        log.exception("run failed")
        result.status, result.error = "FAILED", f"{type(error).__name__}: {error}"
    finally:
        if result.error:
            result.error = redact_text(result.error)
            result.tags["error"] = result.error
        run.log(metrics=result.metrics, tags=result.tags)
        run.log_artifacts(artifacts)
        run.end(result.status)
    return result


def _run(cfg: dict, run, result: RunResult, artifacts: dict, *, map_function=None, reduce_function=None) -> None:
    from aqstudy import engine
    from aqstudy.analysis import finalize, result_sha256
    from aqstudy.staging import LithopsObjectStore, stage

    plan = concurrency(workers=cfg["workers"], backend=cfg["backend"])
    if plan.capped_reason:
        log.warning(plan.capped_reason)
        result.tags["workers_capped"] = "true"
    local = cfg["backend"]["name"] == "localhost"
    if local:
        log.info("memory=%d MB is recorded for the cost model but not enforced on localhost", cfg["memory"])
        result.tags["memory_enforced"] = "false"
    lithops_config = build_lithops_config(
        backend=cfg["backend"], storage=cfg["storage"], effective_workers=plan.effective,
        memory_mb=cfg["memory"], region=cfg["region"], bucket_region=cfg["bucket_region"],
        log_level=cfg["lithops"].get("log_level", "WARNING"), python=_local_python(cfg) if local else None,
    )
    params = params_of(cfg) | {"effective_workers": plan.effective}
    source = source_from_config(cfg["dataset"], data_size_gb=cfg.get("data_size"))
    store = LithopsObjectStore(engine.make_storage(lithops_config), cfg["storage"]["bucket"])
    staged = stage(source, store, progress=bool(cfg.get("progress", True)))
    chunksize = resolve_chunksize(cfg["chunksize"], objects=len(staged.objects), workers=cfg["workers"])
    params |= {"objects": len(staged.objects), "input_bytes": staged.input_bytes, "effective_chunksize": chunksize,
               "dataset_prefix": staged.prefix}
    result.tags |= {"dataset_sha256": staged.dataset_sha256, "dataset_reused": str(staged.reused).lower()}
    run.log(params=params)
    result.metrics["staging_s"] = staged.staging_s

    executor = engine.make_executor(lithops_config)
    outcome = engine.run_map_reduce(
        executor, bucket=staged.bucket, objects=staged.objects, chunksize=chunksize,
        **({"map_function": map_function} if map_function else {}),
        **({"reduce_function": reduce_function} if reduce_function else {}),
    )
    _clean(executor)
    _record_calls(cfg, outcome, result, artifacts, input_bytes=staged.input_bytes, workers=plan.effective)
    if outcome.error:
        raise StudyError(f"a function failed: {outcome.error}")

    table = finalize(outcome.combined, analysis=cfg["analysis"]["name"])
    records = sum(row["records"] or 0 for row in outcome.calls if row["phase"] == "map")
    invalid = sum(row["invalid_records"] or 0 for row in outcome.calls if row["phase"] == "map")
    result.metrics |= {m.RECORDS: records, m.INVALID_RECORDS: invalid, m.RESULT_ROWS: table.num_rows}
    if table.num_rows == 0:
        raise StudyError(
            f"the dataset ({source.description}) has no valid reading ({records} records, {invalid} invalid); "
            "pass a dataset whose lines are OpenAQ JSON objects with a numeric value ≥ 0"
        )
    result.tags["result_sha256"] = result_sha256(table)
    artifacts["result.csv"] = _result_csv(table)
    result.summary = _summary(cfg, result, staged, plan.effective, chunksize)


def _local_python(cfg: dict) -> str | None:
    """The localhost runtime: this interpreter, with ``backend.preload`` imported once per worker if set."""
    from aqstudy.local_runtime import launcher

    preload = list(cfg["backend"].get("preload") or [])
    if not preload:
        return None
    return launcher(python=sys.executable, preload=preload, folder=lithops_home(cfg["lithops"].get("home")) / "runtime")


def _clean(executor) -> None:
    try:
        executor.clean(clean_cloudobjects=False)
    except Exception as error:  # leftover temp data must not fail a measured run
        log.warning("Lithops could not clean its temporary data: %s", error)


def _record_calls(cfg: dict, outcome, result: RunResult, artifacts: dict, *, input_bytes: int, workers: int) -> None:
    from aqstudy.plots import timeline

    result.metrics |= m.derive_metrics(calls=outcome.calls, submitted_at=outcome.submitted_at,
                                       finished_at=outcome.finished_at, effective_workers=workers,
                                       input_bytes=input_bytes)
    cost = lambda_cost(durations_s=outcome.invocation_durations_s, memory_mb=cfg["memory"], region=cfg["region"],
                       architecture=cfg["backend"].get("architecture", "x86_64"))
    result.metrics |= {m.COST_USD: cost.total_usd, "cost_compute_usd": cost.compute_usd,
                       "cost_requests_usd": cost.requests_usd, "billed_gb_s": cost.billed_gb_s,
                       "invocations": len(outcome.invocation_durations_s)}
    artifacts["calls.csv"] = _csv(outcome.calls, m.CALL_COLUMNS)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = timeline(outcome.calls, submitted_at=outcome.submitted_at, path=Path(folder) / "timeline.png",
                        title=f"{cfg['analysis']['name']}: {len(outcome.calls)} calls, {workers} workers")
        artifacts["timeline.png"] = path.read_bytes()


def _result_csv(table) -> str:
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return buffer.getvalue().decode()


def _summary(cfg: dict, result: RunResult, staged, workers: int, chunksize: int) -> str:
    metrics = result.metrics
    return (
        f"{cfg['analysis']['name']} over {len(staged.objects)} objects ({staged.input_bytes / 1e6:.0f} MB, "
        f"{'reused' if staged.reused else 'staged'}) on {cfg['backend']['name']} with {workers} workers, "
        f"chunksize {chunksize}: {metrics[m.DURATION_S]:.2f} s ({metrics.get(m.THROUGHPUT_MB_S, 0):.0f} MB/s), "
        f"{int(metrics[m.CALLS])} calls, {int(metrics[m.COLD_STARTS])} cold starts, peak "
        f"{metrics.get(m.PEAK_MEMORY_MB, 0):.0f} MB per call; {int(metrics[m.RECORDS])} records "
        f"({int(metrics[m.INVALID_RECORDS])} invalid) → {int(metrics[m.RESULT_ROWS])} rows, "
        f"result_sha256 {result.tags['result_sha256'][:12]}…; would cost ${metrics[m.COST_USD]:.6f} on AWS Lambda "
        f"at {cfg['memory']} MB in {cfg['region']}."
    )


def main_entry(cfg: dict) -> RunResult:
    """What ``src/run.py`` calls: run, print the summary or the one-line error."""
    started = time.perf_counter()
    try:
        result = run_study(cfg)
    except (StudyError, DatasetError) as error:
        print(f"error: {redact_text(str(error))}", file=sys.stderr)
        return RunResult(status="FAILED", error=str(error))
    if result.status == "FINISHED":
        print(result.summary)
        print(f"MLflow run {result.run_id} in {cfg['mlflow']['experiment']} ({time.perf_counter() - started:.1f} s); "
              "open it with `make ui`.")
    else:
        print(f"error: {result.error} (MLflow run {result.run_id} marked {result.status})", file=sys.stderr)
    return result
