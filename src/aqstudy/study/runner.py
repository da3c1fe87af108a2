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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from aqstudy.backends import backend_named
from aqstudy.backends.lithops_config import build_lithops_config, resolve_chunksize
from aqstudy.config import ConfigError
from aqstudy.config.schema import as_dict
from aqstudy.config.validation import validate
from aqstudy.data.sources import DatasetError, source_from_config
from aqstudy.measure import metrics as m
from aqstudy.storages import storage_named
from aqstudy.storages.s3_client import AwsSetupError
from aqstudy.study.paths import lithops_home, point_lithops_at
from aqstudy.study.redaction import install_log_redaction, redact_text
from aqstudy.study.signals import KEPT_RUNS, Interrupted, handling, interruptible, pause_point, raise_if_interrupted

log = logging.getLogger(__name__)


class StudyError(RuntimeError):
    """A run that cannot go on; the message names the cause and the fix."""


@dataclass
class RunResult:
    """What one run produced: its status, metrics and tags, and the MLflow run id."""

    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    error: str | None = None
    summary: str = ""
    #: What the run is doing (``setting up``, ``staging``, ``the job``, ``recording``): an interrupt says it.
    phase: str = "setting up"
    #: Known once staged; an interrupt needs them to derive metrics from the calls it cut short.
    input_bytes: int = 0
    effective_workers: int = 1
    chunksize: int = 1
    objects: list[dict] = field(default_factory=list)


def run_name(cfg: Any) -> str:
    """A run name made of the axes, e.g. ``day_average-w8-m2048-cauto-0.2GB``."""
    return (cfg.mlflow.run_name or
            f"{cfg.analysis.name}-w{cfg.workers}-m{cfg.memory}-c{cfg.chunksize}-{cfg.data_size}GB"
            + (f"-r{cfg.repeat}" if cfg.repeat else ""))


def params_of(cfg: Any) -> dict[str, Any]:
    """The run's axes and settings as MLflow params (from the same object as the fingerprint and config.yaml)."""
    from lithops.version import __version__ as lithops_version

    values = as_dict(cfg)
    return {
        "workers": cfg.workers, "memory": cfg.memory, "chunksize": cfg.chunksize, "data_size": cfg.data_size,
        "region": cfg.region, "bucket_region": cfg.bucket_region, "repeat": cfg.repeat,
        "backend": cfg.backend.name, "storage": cfg.storage.name, "dataset": cfg.dataset.name,
        "analysis": cfg.analysis.name, "lithops_version": lithops_version,
        "python_version": platform.python_version(),
        **{f"backend.{k}": v for k, v in values["backend"].items() if k != "name"},
        **{f"dataset.{k}": v for k, v in values["dataset"].items() if k != "name"},
        "storage.bucket": cfg.storage.bucket,
    }


def _csv(rows: list[dict], columns) -> str:
    import csv

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def find_finished_run(client, experiment_id: str, fingerprint: str) -> str | None:
    """The id of a FINISHED run with this config fingerprint, if the experiment has one."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.config_fingerprint = '{fingerprint}' "
                              "and attributes.status = 'FINISHED'", max_results=1)
    return runs[0].info.run_id if runs else None


def run_study(cfg: Any, *, map_function=None, reduce_function=None, parent_run_id: str | None = None,
              tags: dict[str, str] | None = None) -> RunResult:
    """Run one study job described by ``cfg`` and track it in MLflow.

    :param cfg: the composed config object (:class:`aqstudy.config.schema.StudyConfig`).
    :param map_function: replaces the map (tests inject failures through it).
    :param reduce_function: replaces the reduce (benchmarks run the original study's through it); it must
        return ``calls`` and either ``partial`` (a map's format, as the default does) or ``combined`` (Arrow
        IPC bytes of a partial table): :func:`aqstudy.kernel.aggregate.reduce_table`.
    :param parent_run_id: makes the tracked run a nested child (a sweep's job, an Optuna trial).
    :param tags: extra tags set when the run is created (e.g. the Optuna study and trial number).
    :return: status, metrics and tags; never raises for a failed run, only for a config that cannot start
        and for an interrupt (:class:`~aqstudy.study.signals.Interrupted`, after the run is marked KILLED).
    """
    from aqstudy.study import collector

    sweep_parent = None if parent_run_id else _sweep_parent(cfg)
    if sweep_parent:
        tags = {**(tags or {}), "aqstudy.job": str(_job_number())}
    try:
        with handling():
            return _run_study(cfg, map_function=map_function, reduce_function=reduce_function,
                              parent_run_id=parent_run_id or sweep_parent, tags=tags)
    finally:
        collector.resume()


def _sweep_parent(cfg: Any) -> str | None:
    """The MLflow parent run of the ``-m`` sweep this job belongs to, if any (:mod:`aqstudy.sweeps.callbacks`)."""
    from aqstudy.sweeps.callbacks import current_sweep_parent

    return current_sweep_parent(experiment=cfg.mlflow.experiment)


def _job_number() -> int:
    from hydra.core.hydra_config import HydraConfig

    return int(HydraConfig.get().job.num) if HydraConfig.initialized() else 0


def _run_study(cfg: Any, *, map_function, reduce_function, parent_run_id, tags) -> RunResult:
    from aqstudy.study.tracking import TrackedRun, redacted_yaml, resolve_tracking_uri
    from aqstudy.sweeps.fingerprint import code_version, config_fingerprint

    runtime = ExitStack()
    try:
        with interruptible():  # no run exists yet: an interrupt leaves nothing behind
            try:
                validate(cfg)
            except (ConfigError, DatasetError) as error:
                raise StudyError(str(error)) from None
            started_at = time.time()
            install_log_redaction()
            point_lithops_at(lithops_home(cfg.lithops.home))
            tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri)
            backend = backend_named(cfg.backend.name)
            source, source_error = None, None
            if backend.runs_functions:  # a prediction reads the dataset's description only (backend.predict)
                try:
                    source = source_from_config(cfg.dataset, data_size_gb=cfg.data_size, progress=cfg.progress)
                except DatasetError as error:
                    source_error = error
            fingerprint = config_fingerprint(cfg, dataset_fingerprint=source.fingerprint if source else (
                "unavailable" if backend.runs_functions else "predicted"))
            if cfg.resume and source is not None:
                from aqstudy.study.tracking import client_for, experiment_id

                client = client_for(tracking_uri)
                done = find_finished_run(client, experiment_id(client, cfg.mlflow.experiment, tracking_uri),
                                         fingerprint)
                if done:
                    log.info("resume: skipping %s, FINISHED as MLflow run %s", run_name(cfg), done)
                    return RunResult(status="SKIPPED", run_id=done, summary=f"skipped: already FINISHED as run {done}")
            # Started before MLflow is opened: in a fresh process MLflow's import (~2 s) hides the runtime's (~0.35 s).
            if source_error is None:
                runtime.enter_context(backend.runtime(cfg))
            import mlflow.tracking  # noqa: F401  (its import, ~2 s in a fresh process, may be interrupted)
            params = params_of(cfg)
    except BaseException:
        runtime.close()
        raise
    # The run is created and the result made without interruption (a signal meanwhile is only recorded): an
    # interrupt cutting them short would leave a RUNNING run. A recorded signal raises at the work's start.
    try:
        run = TrackedRun(tracking_uri=tracking_uri, experiment=cfg.mlflow.experiment, run_name=run_name(cfg),
                         parent_run_id=parent_run_id, start_time=started_at,
                         tags={"config_fingerprint": fingerprint, "code_version": code_version(), **(tags or {})})
    except Exception as error:
        runtime.close()
        raise StudyError(f"the MLflow store {tracking_uri} cannot be used ({type(error).__name__}: {error}); "
                         "pass mlflow.tracking_uri=sqlite:///path/to/mlflow.db or a tracking server") from error
    result = RunResult(status="RUNNING", run_id=run.run_id, params=params)
    artifacts: dict[str, Any] = {"config.yaml": redacted_yaml(as_dict(cfg))}
    ended_at = None
    try:
        # Interruptible while it sets up, stages and runs the job; once the job has ended (signals.hold, in the
        # engine) the run is recorded whole, and a signal is acted on after.
        with _endpoint_environment(cfg), runtime, interruptible():
            if source_error is not None:
                raise source_error
            _run(cfg, result, artifacts, source, map_function=map_function, reduce_function=reduce_function)
        result.status = "FINISHED"
    except (StudyError, DatasetError, AwsSetupError, ConfigError) as error:
        result.status, result.error = "FAILED", str(error)
    except KeyboardInterrupt as interrupt:
        from aqstudy.backends.engine import JobInterrupted

        if isinstance(interrupt, JobInterrupted):
            _record_calls(cfg, interrupt.outcome, result, artifacts, input_bytes=result.input_bytes,
                          workers=result.effective_workers, chunksize=result.chunksize, objects=result.objects)
        signal_name = getattr(interrupt, "signal_name", "SIGINT")
        result.status, result.error = "KILLED", f"interrupted by {signal_name}"
        raise Interrupted(signal_name, run_id=run.run_id, phase=result.phase,
                          calls=int(result.metrics.get(m.CALLS, 0))) from interrupt
    except Exception as error:  # any other fault still ends as a FAILED run with what was measured
        log.exception("run failed")
        result.status, result.error = "FAILED", f"{type(error).__name__}: {error}"
    finally:
        # Outside the work, a signal is only recorded: the record is written whole, then the signal acted on.
        ended_at = time.time()
        if result.error:
            result.error = redact_text(result.error)
            result.tags["error"] = result.error
        pause_point("recording")
        run.log(params=result.params, metrics=result.metrics, tags=result.tags)
        run.log_artifacts(artifacts)
        run.end(result.status, end_time=ended_at)
        if result.status == "FINISHED":
            KEPT_RUNS.append(run.run_id)
    return result


@contextmanager
def _endpoint_environment(cfg: Any):
    """The storage's endpoint variables in the environment while the run lasts (every boto3 client made
    meanwhile, ours, Lithops' and its local workers', reads them); put back afterwards."""
    import os

    values = storage_named(cfg.storage.name).endpoint_environment(cfg.storage)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(cfg: Any, result: RunResult, artifacts: dict, source, *, map_function=None, reduce_function=None) -> None:
    from aqstudy.analysis import DIGEST_TAG, DIGEST_VERSION_TAG, RESULT_SHA256_VERSION, finalize, result_sha256
    from aqstudy.backends import engine
    from aqstudy.data.staging import stage
    from aqstudy.measure.invocations import map_invocations
    from aqstudy.study.conditions import run_conditions

    backend = backend_named(cfg.backend.name)
    if not backend.runs_functions:
        backend.predict(cfg, result=result, artifacts=artifacts)  # stages nothing, runs nothing
        return
    plan = backend.concurrency(workers=cfg.workers, backend=cfg.backend)
    if plan.capped_reason:
        log.warning(plan.capped_reason)
        result.tags["workers_capped"] = "true"
    if not backend.memory_enforced:
        log.info("memory=%d MB is recorded for the cost model but not enforced on %s", cfg.memory, backend.name)
    lithops_config = build_lithops_config(cfg, effective_workers=plan.effective, python=backend.local_python(cfg))
    result.params["effective_workers"] = plan.effective
    # What moves this run's numbers besides its config: the client, Lithops' invokers, the machine's load, limits.
    condition_params, condition_metrics = run_conditions(lithops_config)
    platform_metrics, platform_tags = backend.run_conditions(cfg)
    result.params |= condition_params
    result.metrics |= condition_metrics | platform_metrics
    result.tags |= platform_tags
    if source.skipped:
        artifacts["skipped_files.txt"] = "\n".join(source.skipped) + "\n"
    store = storage_named(cfg.storage.name).open_object_store(cfg, lithops_config)
    result.phase = "staging"
    staged = stage(source, store, progress=cfg.progress)
    chunksize = resolve_chunksize(cfg.chunksize, objects=len(staged.objects), workers=cfg.workers)
    result.params |= {"objects": len(staged.objects), "input_bytes": staged.input_bytes,
                      "effective_chunksize": chunksize, "dataset_prefix": staged.prefix}
    result.chunksize = chunksize
    invocations = map_invocations(objects=len(staged.objects), chunksize=chunksize)
    if cfg.workers > invocations:
        # More functions than the data gives work to: the extra ones cannot change the result.
        result.tags["workers_beyond_invocations"] = (f"workers={cfg.workers} but {len(staged.objects)} objects at "
                                                     f"chunksize {chunksize} make {invocations} map invocations")
        log.info(result.tags["workers_beyond_invocations"])
    result.tags |= {"dataset_sha256": staged.dataset_sha256, "dataset_reused": str(staged.reused).lower()}
    result.tags |= run_tags(cfg)
    result.metrics["staging_s"] = staged.staging_s
    result.input_bytes, result.effective_workers, result.objects = staged.input_bytes, plan.effective, staged.objects

    result.phase = "the job"
    warm, billing_source = None, None
    if cfg.warm_up:
        from aqstudy.backends.warm_up import warm_up

        warm = warm_up(lithops_config, calls=plan.effective)
        if warm.error:
            result.tags["warm_up_error"] = warm.error
    # The executor as a context manager: on the way out Lithops stops its monitor and invoker and kills
    # any runner it still has. Without that, an interrupt could leave the reducer's runner waiting for
    # maps that were killed, and the process could not exit while Lithops' job manager waited on it.
    with engine.make_executor(lithops_config) as executor:
        try:
            if cfg.force_cold_start:
                result.tags["cold_start_method"] = backend.force_cold_start(executor, cfg)
            outcome = engine.run_map_reduce(
                executor, bucket=staged.bucket, objects=staged.objects, chunksize=chunksize,
                retries=cfg.retries, verify_sha256=cfg.verify == "sha256",
                spawn_reducer=cfg.backend.spawn_reducer, reduce_poll_s=cfg.backend.reduce_poll_s,
                reduce_on_host=cfg.reduce == "client",
                **({"map_function": map_function} if map_function else {}),
                **({"reduce_function": reduce_function} if reduce_function else {}),
            )
            billing_source = backend.billing_source(executor, cfg)
        finally:
            _clean(executor)
    result.phase = "recording"
    _record_calls(cfg, outcome, result, artifacts, input_bytes=staged.input_bytes, workers=plan.effective,
                  chunksize=chunksize, objects=staged.objects, warm=warm)
    if billing_source is not None:  # what the platform billed, against the model (never fails the run)
        billed_metrics, billed_tags = backend.billed(billing_source, cfg, calls=outcome.calls,
                                                     cost_metrics=result.metrics, submitted_at=outcome.submitted_at)
        result.metrics |= billed_metrics
        result.tags |= billed_tags
    if outcome.error:
        raise StudyError(f"a function failed: {outcome.error}")

    table = finalize(outcome.combined, analysis=cfg.analysis.name)
    records = sum(row["records"] or 0 for row in outcome.calls if row["phase"] == "map")
    invalid = sum(row["invalid_records"] or 0 for row in outcome.calls if row["phase"] == "map")
    result.metrics |= {m.RECORDS: records, m.INVALID_RECORDS: invalid, m.RESULT_ROWS: table.num_rows}
    if table.num_rows == 0:
        raise StudyError(
            f"the dataset ({source.description}) has no valid reading ({records} records, {invalid} invalid); "
            "pass a dataset whose lines are OpenAQ JSON objects with a numeric value ≥ 0"
        )
    result.tags |= {DIGEST_TAG: result_sha256(table), DIGEST_VERSION_TAG: RESULT_SHA256_VERSION}
    artifacts["result.csv"] = _result_csv(table)
    result.summary = _summary(cfg, result, staged, plan.effective, chunksize)


def run_tags(cfg: Any) -> dict[str, str]:
    """Tags that say how the run was set up: locality, warm-up, forced cold starts, the backend's and the
    storage's own."""
    return {
        "data_locality": "same-region" if cfg.region == cfg.bucket_region else "cross-region",
        "warm_up": str(cfg.warm_up).lower(),
        "force_cold_start": str(cfg.force_cold_start).lower(),
        **backend_named(cfg.backend.name).run_tags(cfg),
        **storage_named(cfg.storage.name).run_tags(cfg),
    }


def _clean(executor) -> None:
    try:
        executor.clean(clean_cloudobjects=False)
    except Exception as error:  # leftover temp data must not fail a measured run
        log.warning("Lithops could not clean its temporary data: %s", error)


def _record_calls(cfg: Any, outcome, result: RunResult, artifacts: dict, *, input_bytes: int, workers: int,
                  chunksize: int, objects: list[dict], warm=None, title: str | None = None) -> None:
    import tempfile
    from pathlib import Path

    from aqstudy.measure.usage import cost_metrics
    from aqstudy.reports.figures import timeline

    calls = m.with_startup_split(outcome.calls, slots=workers)
    result.metrics |= m.derive_metrics(calls=calls, submitted_at=outcome.submitted_at,
                                       finished_at=outcome.finished_at, effective_workers=workers,
                                       input_bytes=input_bytes, chunksize=chunksize)
    costs, cost_tags = cost_metrics(cfg, calls=calls, chunksize=chunksize, objects=objects, warm=warm,
                                    duration_s=result.metrics[m.DURATION_S])
    result.metrics |= costs
    result.tags |= cost_tags
    # A function's exception text is data the run keeps, and it may quote a credential (a signed URL, a key).
    calls = [row | {"error": redact_text(row["error"])} if row["error"] else row for row in calls]
    artifacts["calls.csv"] = _csv(calls, m.CALL_COLUMNS)
    with tempfile.TemporaryDirectory() as folder:
        path = timeline(calls, submitted_at=outcome.submitted_at, path=Path(folder) / "timeline.png",
                        title=title or f"{cfg.analysis.name}: {len(calls)} calls, {workers} workers")
        artifacts["timeline.png"] = path.read_bytes()


def _result_csv(table) -> str:
    import pyarrow.csv as pacsv

    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer)
    return buffer.getvalue().decode()


def _summary(cfg: Any, result: RunResult, staged, workers: int, chunksize: int) -> str:
    metrics = result.metrics
    return (
        f"{cfg.analysis.name} over {len(staged.objects)} objects ({staged.input_bytes / 1e6:.0f} MB, "
        f"{'reused' if staged.reused else 'staged'}) on {cfg.backend.name} with {workers} workers, "
        f"chunksize {chunksize}: {metrics[m.DURATION_S]:.2f} s ({metrics.get(m.THROUGHPUT_MB_S, 0):.0f} MB/s), "
        f"{int(metrics[m.CALLS])} calls, {int(metrics[m.COLD_STARTS])} cold starts, peak "
        f"{metrics.get(m.PEAK_MEMORY_MB, 0):.0f} MB per call; {int(metrics[m.RECORDS])} records "
        f"({int(metrics[m.INVALID_RECORDS])} invalid) → {int(metrics[m.RESULT_ROWS])} rows, "
        f"result_sha256 {result.tags['result_sha256'][:12]}…; would cost ${metrics[m.COST_USD]:.6f} on AWS Lambda "
        f"at {cfg.memory} MB in {cfg.region}."
    )


def config_line(cfg: Any) -> str:
    """The one line a run prints first: what it is about to do."""
    return (f"run: {cfg.analysis.name} · backend={cfg.backend.name} storage={cfg.storage.name} "
            f"dataset={cfg.dataset.name} data_size={cfg.data_size} workers={cfg.workers} memory={cfg.memory} "
            f"chunksize={cfg.chunksize} region={cfg.region} bucket_region={cfg.bucket_region}")


def job_line(cfg: Any, result: RunResult) -> str:
    """A sweep job's one line: its axes and what it measured (or why it failed)."""
    axes = f"workers={cfg.workers} memory={cfg.memory} chunksize={cfg.chunksize} data_size={cfg.data_size}"
    if result.status == "FINISHED":
        metrics = result.metrics
        return (f"job {_job_number()}: {axes} → {metrics[m.DURATION_S]:.2f} s, ${metrics[m.COST_USD]:.6f}, "
                f"{int(metrics[m.COLD_STARTS])} cold starts (run {result.run_id})")
    return f"job {_job_number()}: {axes} → {result.status}: {result.error or result.summary}"


def main_entry(cfg: Any, *, in_sweep: bool = False) -> RunResult:
    """What ``src/run.py`` calls: check, run, print what a person reads (the config line, the summary or the
    one-line error; in a sweep, one line per job) and return the result."""
    from aqstudy.sweeps import planning

    started = time.perf_counter()
    raise_if_interrupted()
    try:
        validate(cfg)
        if planning.plan_or_refuse(cfg):
            return RunResult(status="PLANNED")
        if not in_sweep:
            print(config_line(cfg), flush=True)
        result = run_study(cfg)
    except (StudyError, DatasetError, AwsSetupError, ConfigError, planning.BudgetError) as error:
        print(f"error: {redact_text(str(error))}", file=sys.stderr)
        return RunResult(status="FAILED", error=str(error))
    if in_sweep:
        print(job_line(cfg, result), file=sys.stdout if result.status in ("FINISHED", "SKIPPED") else sys.stderr)
    elif result.status == "SKIPPED":
        print(result.summary)
    elif result.status == "FINISHED":
        print(result.summary)
        print(f"MLflow run {result.run_id} in {cfg.mlflow.experiment} ({time.perf_counter() - started:.1f} s); "
              "open it with `make ui`.")
    else:
        print(f"error: {result.error} (MLflow run {result.run_id} marked {result.status})", file=sys.stderr)
    return result
