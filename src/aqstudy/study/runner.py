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

from aqstudy.backends.lithops_config import build_lithops_config, concurrency, resolve_chunksize
from aqstudy.data.sources import DatasetError, source_from_config
from aqstudy.kernel.columns import ANALYSES
from aqstudy.measure import metrics as m
from aqstudy.measure.cost import gb_second_price
from aqstudy.storages.s3 import AwsSetupError
from aqstudy.study import cloud
from aqstudy.study.paths import lithops_home, point_lithops_at
from aqstudy.study.redaction import install_log_redaction, redact_text

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
    #: Known once staged; an interrupt needs them to derive metrics from the calls it cut short.
    input_bytes: int = 0
    effective_workers: int = 1
    objects: list[dict] = field(default_factory=list)


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
    from aqstudy.backends.engine import SPAWN_REDUCER_VALUES

    if cfg["backend"].get("spawn_reducer", 0) not in SPAWN_REDUCER_VALUES:
        raise StudyError(f"backend.spawn_reducer={cfg['backend']['spawn_reducer']!r} is not valid; pass 0 (the reducer "
                         "is submitted with the maps) or 100 (once they are all done)")
    if cfg["analysis"]["name"] not in ANALYSES:
        raise StudyError(f"analysis={cfg['analysis']['name']!r} is not known; choose {' or '.join(ANALYSES)}")
    try:
        gb_second_price(region=cfg["region"], architecture=cfg["backend"].get("architecture", "x86_64"))
    except ValueError as error:
        raise StudyError(str(error)) from None
    try:
        cloud.check_config(cfg)
    except AwsSetupError as error:
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


def find_finished_run(client, experiment_id: str, fingerprint: str) -> str | None:
    """The id of a FINISHED run with this config fingerprint, if the experiment has one."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.config_fingerprint = '{fingerprint}' "
                              "and attributes.status = 'FINISHED'", max_results=1)
    return runs[0].info.run_id if runs else None


#: Seconds a run stopped by SIGTERM has to record itself before the process exits regardless.
SIGTERM_GRACE_S = 30


#: Signals received and not yet acted on. Python raises a signal's exception wherever the main thread is;
#: inside a garbage-collector callback (SQLAlchemy registers some, MLflow triggers them) the exception is
#: printed and dropped, so the signal is also remembered here and acted on at the next check.
_RECEIVED: list[str] = []


def interrupt_on_signal(signum, frame) -> None:
    """Signal handler: Ctrl-C and SIGTERM end a run alike (measured calls kept, run KILLED, temp data
    cleaned, exit 130 or 143). ``src/run.py`` installs it for the whole process."""
    import signal
    import threading

    name = signal.Signals(signum).name
    _RECEIVED.append(name)
    if name == "SIGTERM":
        # Should the clean-up itself hang (an interrupted library holding a lock), the process still ends.
        import os

        watchdog = threading.Timer(SIGTERM_GRACE_S, os._exit, args=(143,))
        watchdog.daemon = True
        watchdog.start()
    raise Interrupted(name)


def raise_if_interrupted() -> None:
    """Act on a signal whose exception was dropped (see :data:`_RECEIVED`)."""
    if _RECEIVED:
        name = _RECEIVED[0]
        _RECEIVED.clear()
        raise Interrupted(name)


@contextmanager
def _signals_as_interrupt():
    """:func:`interrupt_on_signal` for SIGINT and SIGTERM while a run lasts; a signal whose exception was
    dropped stops the process once the run has ended."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, interrupt_on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        _RECEIVED.clear()  # delivered
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    raise_if_interrupted()


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signal_name`` says which."""

    def __init__(self, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.signal_name = signal_name


def run_study(cfg: dict, *, map_function=None, reduce_function=None, parent_run_id: str | None = None,
              tags: dict[str, str] | None = None) -> RunResult:
    """Run one study job described by the resolved config ``cfg`` and track it in MLflow.

    :param cfg: the composed Hydra config as a plain dict (``OmegaConf.to_container(resolve=True)``).
    :param map_function: replaces the map (tests inject failures through it).
    :param reduce_function: replaces the reduce (benchmarks run the original study's through it); it must
        return ``combined`` (Arrow IPC bytes of a partial table) and ``calls``, as the default does.
    :param parent_run_id: makes the tracked run a nested child (an Optuna trial under its study session).
    :param tags: extra tags set when the run is created (e.g. the Optuna study and trial number).
    :return: status, metrics and tags; never raises for a failed run, only for a config that cannot start
        and for an interrupt (after the run is marked KILLED).
    """
    from aqstudy.study import collector

    try:
        with _signals_as_interrupt():
            return _run_study(cfg, map_function=map_function, reduce_function=reduce_function,
                              parent_run_id=parent_run_id, tags=tags)
    finally:
        collector.resume()


def _run_study(cfg: dict, *, map_function, reduce_function, parent_run_id, tags) -> RunResult:
    from aqstudy.study.tracking import TrackedRun, redacted_yaml, resolve_tracking_uri
    from aqstudy.sweeps.fingerprint import code_version, config_fingerprint

    validate(cfg)
    install_log_redaction()
    point_lithops_at(lithops_home(cfg["lithops"].get("home")))
    tracking_uri = resolve_tracking_uri(cfg["mlflow"].get("tracking_uri"))
    source, source_error = None, None
    try:
        source = source_from_config(cfg["dataset"], data_size_gb=cfg.get("data_size"),
                                    progress=bool(cfg.get("progress", True)))
    except DatasetError as error:
        source_error = error
    fingerprint = config_fingerprint(cfg, dataset_fingerprint=source.fingerprint if source else "unavailable")
    if cfg.get("resume") and source is not None:
        from aqstudy.study.tracking import client_for, experiment_id

        client = client_for(tracking_uri)
        done = find_finished_run(client, experiment_id(client, cfg["mlflow"]["experiment"], tracking_uri),
                                 fingerprint)
        if done:
            log.info("resume: skipping %s, FINISHED as MLflow run %s", run_name(cfg), done)
            return RunResult(status="SKIPPED", run_id=done, summary=f"skipped: already FINISHED as run {done}")
    # Started before MLflow is opened: in a fresh process MLflow's import (~2 s) hides the runtime's (~0.35 s).
    runtime = ExitStack()
    runtime.enter_context(_fork_server(cfg, source_error))
    try:
        run = TrackedRun(tracking_uri=tracking_uri, experiment=cfg["mlflow"]["experiment"], run_name=run_name(cfg),
                         parent_run_id=parent_run_id,
                         tags={"config_fingerprint": fingerprint, "code_version": code_version(), **(tags or {})})
    except BaseException as error:
        runtime.close()
        if not isinstance(error, Exception):
            raise
        raise StudyError(f"the MLflow store {tracking_uri} cannot be used ({type(error).__name__}: {error}); "
                         "pass mlflow.tracking_uri=sqlite:///path/to/mlflow.db or a tracking server") from error
    result = RunResult(status="RUNNING", run_id=run.run_id)
    artifacts: dict[str, Any] = {"config.yaml": redacted_yaml(cfg)}
    try:
        with cloud.endpoint_env(cfg["storage"]), runtime:
            if source_error is not None:
                raise source_error
            _run(cfg, result, artifacts, source, map_function=map_function, reduce_function=reduce_function)
        result.status = "FINISHED"
    except (StudyError, DatasetError, AwsSetupError) as error:
        result.status, result.error = "FAILED", str(error)
    except KeyboardInterrupt as interrupt:
        from aqstudy.backends.engine import JobInterrupted

        if isinstance(interrupt, JobInterrupted):
            _record_calls(cfg, interrupt.outcome, result, artifacts, input_bytes=result.input_bytes,
                          workers=result.effective_workers, objects=result.objects)
        signal_name = getattr(interrupt, "signal_name", "SIGINT")
        result.status, result.error = "KILLED", f"interrupted by {signal_name}"
        raise Interrupted(signal_name) from interrupt
    except Exception as error:  # any other fault still ends as a FAILED run with what was measured
        log.exception("run failed")
        result.status, result.error = "FAILED", f"{type(error).__name__}: {error}"
    finally:
        if result.error:
            result.error = redact_text(result.error)
            result.tags["error"] = result.error
        run.log(params=result.params, metrics=result.metrics, tags=result.tags)
        run.log_artifacts(artifacts)
        run.end(result.status)
    return result


def _run(cfg: dict, result: RunResult, artifacts: dict, source, *, map_function=None, reduce_function=None) -> None:
    from aqstudy.analysis import finalize, result_sha256
    from aqstudy.backends import engine
    from aqstudy.data.staging import stage

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
    result.params |= params_of(cfg) | {"effective_workers": plan.effective}
    if source.skipped:
        artifacts["skipped_files.txt"] = "\n".join(source.skipped) + "\n"
    store = cloud.open_object_store(cfg, lithops_config)
    staged = stage(source, store, progress=bool(cfg.get("progress", True)))
    chunksize = resolve_chunksize(cfg["chunksize"], objects=len(staged.objects), workers=cfg["workers"])
    result.params |= {"objects": len(staged.objects), "input_bytes": staged.input_bytes,
                      "effective_chunksize": chunksize, "dataset_prefix": staged.prefix}
    result.tags |= {"dataset_sha256": staged.dataset_sha256, "dataset_reused": str(staged.reused).lower()}
    result.tags |= cloud.run_tags(cfg)
    result.metrics["staging_s"] = staged.staging_s
    result.input_bytes, result.effective_workers, result.objects = staged.input_bytes, plan.effective, staged.objects

    warm = cloud.warm_up(lithops_config, calls=plan.effective) if cfg.get("warm_up") else None
    if warm and warm.error:
        result.tags["warm_up_error"] = warm.error
    # The executor as a context manager: on the way out Lithops stops its monitor and invoker and kills
    # any runner it still has. Without that, an interrupt could leave the reducer's runner waiting for
    # maps that were killed, and the process could not exit while Lithops' job manager waited on it.
    with engine.make_executor(lithops_config) as executor:
        try:
            if cfg.get("force_cold_start"):
                result.tags["cold_start_method"] = cloud.force_cold_start(executor, cfg)
            outcome = engine.run_map_reduce(
                executor, bucket=staged.bucket, objects=staged.objects, chunksize=chunksize,
                retries=int(cfg.get("retries", 0)), verify_sha256=cfg.get("verify") == "sha256",
                spawn_reducer=int(cfg["backend"].get("spawn_reducer", 0)),
                reduce_poll_s=cfg["backend"].get("reduce_poll_s"),
                **({"map_function": map_function} if map_function else {}),
                **({"reduce_function": reduce_function} if reduce_function else {}),
            )
        finally:
            _clean(executor)
    _record_calls(cfg, outcome, result, artifacts, input_bytes=staged.input_bytes, workers=plan.effective,
                  objects=staged.objects, warm=warm)
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
    from aqstudy.backends.localhost.local_runtime import launcher

    preload = list(cfg["backend"].get("preload") or [])
    if not preload:
        return None
    return launcher(python=sys.executable, preload=preload, folder=lithops_home(cfg["lithops"].get("home")) / "runtime")


def _fork_server(cfg: dict, source_error: Exception | None):
    """The fork server for the run's Lithops localhost runners
    (:mod:`aqstudy.backends.localhost.fork_server`), if it has one.

    Started first thing, so its imports overlap the host's set-up, and kept for the process's next run with
    the same settings (a sweep's runs then all start their maps alike); a failed or interrupted run stops it.
    """
    from contextlib import nullcontext

    from aqstudy.backends.localhost import fork_server

    preload = list(cfg["backend"].get("preload") or [])
    if (cfg["backend"]["name"] != "localhost" or not preload or not cfg["backend"].get("fork_server", True)
            or source_error is not None):
        return nullcontext()
    return fork_server.kept(python=sys.executable, preload=preload,
                            preload_idle=list(cfg["backend"].get("preload_idle") or []))


def _clean(executor) -> None:
    try:
        executor.clean(clean_cloudobjects=False)
    except Exception as error:  # leftover temp data must not fail a measured run
        log.warning("Lithops could not clean its temporary data: %s", error)


def _record_calls(cfg: dict, outcome, result: RunResult, artifacts: dict, *, input_bytes: int, workers: int,
                  objects: list[dict], warm=None) -> None:
    from aqstudy.reports.figures import timeline

    result.metrics |= m.derive_metrics(calls=outcome.calls, submitted_at=outcome.submitted_at,
                                       finished_at=outcome.finished_at, effective_workers=workers,
                                       input_bytes=input_bytes)
    cost_metrics, cost_tags = cloud.cost_metrics(cfg, calls=outcome.calls, objects=objects, warm=warm,
                                                 invocation_durations_s=outcome.invocation_durations_s,
                                                 duration_s=result.metrics[m.DURATION_S])
    result.metrics |= cost_metrics
    result.tags |= cost_tags
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
    from aqstudy.sweeps import planning

    started = time.perf_counter()
    raise_if_interrupted()
    try:
        if planning.plan_or_refuse(cfg):
            return RunResult(status="PLANNED")
        result = run_study(cfg)
    except (StudyError, DatasetError, AwsSetupError, planning.BudgetError) as error:
        print(f"error: {redact_text(str(error))}", file=sys.stderr)
        return RunResult(status="FAILED", error=str(error))
    if result.status == "SKIPPED":
        print(result.summary)
    elif result.status == "FINISHED":
        print(result.summary)
        print(f"MLflow run {result.run_id} in {cfg['mlflow']['experiment']} ({time.perf_counter() - started:.1f} s); "
              "open it with `make ui`.")
    else:
        print(f"error: {result.error} (MLflow run {result.run_id} marked {result.status})", file=sys.stderr)
    return result
