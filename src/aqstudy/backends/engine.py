"""The Lithops adapter: one executor, one map-reduce over the staged objects, every call's stats kept.

A failed call does not lose the others: the job is waited for without raising, and each future's stats
become a row of ``calls.csv`` whatever its outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aqstudy.kernel import aggregate as kernel
from aqstudy.kernel import functions
from aqstudy.measure.metrics import call_row
from aqstudy.study.signals import hold, pause_point, raise_if_interrupted

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    """What a map-reduce left behind: its calls, the combined partials (if it got that far), its clock."""

    calls: list[dict]
    submitted_at: float
    finished_at: float
    combined: pa.Table | None = None
    error: str | None = None


def make_executor(lithops_config: dict):
    """A ``FunctionExecutor`` for this run (import deferred: Lithops is heavy and sets up on import)."""
    import lithops

    return lithops.FunctionExecutor(config=lithops_config)


def make_storage(lithops_config: dict):
    """Lithops' storage client for the configured backend."""
    import lithops

    return lithops.Storage(config=lithops_config)


def _error_text(future) -> str | None:
    if not future.error:
        return None
    exception = getattr(future, "_exception", None)
    value = exception[1] if isinstance(exception, tuple) and len(exception) > 1 else exception
    return f"{type(value).__name__}: {value}"


class JobInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during the job; carries what was measured up to then."""

    def __init__(self, outcome: JobOutcome, signal_name: str = "SIGINT"):
        super().__init__(signal_name)
        self.outcome = outcome
        self.signal_name = signal_name


def _rows(phase: str, futures, outputs) -> list[dict]:
    rows = []
    for future, output in zip(futures, outputs, strict=True):
        inner = getattr(future, "response_future", future)  # a RetryingFuture wraps the last attempt
        stats = future.stats or {}
        status = "error" if future.error else ("ok" if stats.get("worker_end_tstamp") else "not_run")
        row = call_row(phase=phase, call_id=f"{inner.job_id}-{inner.call_id}", status=status,
                       error=_error_text(future), stats=stats, output=output,
                       activation_id=getattr(inner, "activation_id", None))
        # A RetryingFuture counts failures: a final failure is its last attempt, a success comes after them.
        failures = getattr(future, "failure_count", 0)
        row["attempts"] = max(1, failures) if future.error else failures + 1
        rows.append(row)
    return rows


#: When the reducer may be submitted (``spawn_reducer``): with the maps, or once every map is done.
SPAWN_REDUCER_VALUES = (0, 100)


def run_map_reduce(
    executor,
    *,
    bucket: str,
    objects: list[dict],
    chunksize: int,
    retries: int = 0,
    verify_sha256: bool = False,
    spawn_reducer: int = 0,
    reduce_poll_s: float | None = None,
    map_function: Callable = functions.map_object,
    reduce_function: Callable = functions.reduce_partials,
    reduce_on_host: bool = False,
) -> JobOutcome:
    """Run the study's map-reduce and collect every call's stats.

    :param executor: a Lithops ``FunctionExecutor``.
    :param bucket: bucket of the staged objects.
    :param objects: manifest entries (``key``, ``size``, ``sha256``) — one map call each.
    :param chunksize: map calls per function invocation.
    :param retries: times a failed map call is run again (Lithops' ``RetryingFunctionExecutor``); with
        retries the reduce runs after the maps, as with ``spawn_reducer=100``, since Lithops retries only
        plain maps.
    :param spawn_reducer: % of maps done before the reducer is submitted. 0 submits it with the maps
        (Lithops' ``map_reduce``): the reducer waits for them inside its function. 100 submits it once
        every map is done (:func:`_map_then_reduce`). Either way it reads their results from storage.
        Values in between are refused: Lithops waits for them inside ``map_reduce``, where a failing map
        raises and every other call is discarded, losing what they measured.
    :param reduce_poll_s: seconds between the host's checks while it waits; None leaves waiting to Lithops'
        ``wait``, whose loop sleeps 0.1 s on localhost (1 s on S3) between checks, so the job's end is seen
        up to that late, and the run's duration grows by it (:func:`wait_often`).
    :param verify_sha256: each map checks its object's sha256 against the manifest (costs ~14 ms per 25 MB).
    :param reduce_on_host: ``reduce=client``: no reducer function; the host downloads every map's output as it
        is ready (Lithops' ``get_result``, as the original study did) and runs the reduce itself
        (:func:`_map_then_reduce_on_host`). ``spawn_reducer`` does not apply.
    """
    if spawn_reducer not in SPAWN_REDUCER_VALUES:
        raise ValueError(f"spawn_reducer={spawn_reducer} is not supported; use 0 (with the maps) or 100 (after them)")
    iterdata = [{"bucket": bucket, "key": entry["key"], "size": entry["size"],
                 "sha256": entry["sha256"] if verify_sha256 else None} for entry in objects]
    submitted_at = time.time()
    job: dict = {"maps": [], "reduce": None, "result": None, "error": None}
    try:
        if reduce_on_host:
            _map_then_reduce_on_host(executor, job, iterdata, chunksize=chunksize, retries=retries,
                                     map_function=map_function, reduce_function=reduce_function)
        elif retries or spawn_reducer == 100:
            _map_then_reduce(executor, job, iterdata, chunksize=chunksize, retries=retries, poll_s=reduce_poll_s,
                             map_function=map_function, reduce_function=reduce_function)
        else:
            futures = executor.map_reduce(map_function, iterdata, reduce_function, chunksize=chunksize,
                                          spawn_reducer=0)
            job["maps"], job["reduce"] = futures[:-1], futures[-1]
            _wait(executor, futures, last=job["reduce"], poll_s=reduce_poll_s)
            _fetch_reduce(executor, job)
        hold()  # the job has ended: a signal from here on is acted on once the run is recorded
    except KeyboardInterrupt as interrupt:
        outcome = _outcome(job, submitted_at)
        outcome.error = "interrupted"
        raise JobInterrupted(outcome, getattr(interrupt, "signal_name", "SIGINT")) from interrupt
    return _outcome(job, submitted_at)


def wait_often(executor, futures, *, last, poll_s: float) -> None:
    """Lithops' ``wait``, checked every ``poll_s``, plus a read of the status of ``last``, the call that ends last.

    Lithops' wait loop sleeps 0.1 s between checks on localhost (1 s on S3) whatever its settings, so it sees
    a job end up to that late, and a run's duration grows by it. Each round here asks Lithops' wait for what
    its job monitor has seen (``return_when=ALWAYS``: fetch, never sleep), so statuses arrive as they would
    (an interrupt keeps every call measured so far), and reads ``last``'s status itself: the reduce waits for
    every map, so once its status is there the others are too. Without ``last`` the monitor's own checks
    (``monitoring_interval``) say when the calls end.
    """
    from lithops.wait import ALWAYS

    while True:
        done, pending = executor.wait(futures, throw_except=False, return_when=ALWAYS, clean_jobs=False,
                                      show_progressbar=False)
        if done:
            pause_point("job")  # a test's moment: a call is measured, the job is not over
        raise_if_interrupted()  # a signal whose exception was dropped (aqstudy.study.signals)
        if not pending:
            return
        if last is not None and not (last.success or last.done) and last.status(
                check_only=True, internal_storage=executor.internal_storage):
            last.status(throw_except=False, internal_storage=executor.internal_storage)
        else:
            time.sleep(poll_s)


def _wait(executor, futures, *, last=None, poll_s: float | None) -> None:
    """Wait for ``futures`` without raising for a failed call: :func:`wait_often` if ``poll_s`` is set."""
    if poll_s:
        wait_often(executor, futures, last=last, poll_s=poll_s)
    # clean_jobs=False: by default wait() deletes the job's data once every call is done, racing the read of
    # the reduce's result ("Unable to get the result"); the run cleans it afterwards. Once every call is done
    # this returns at its first check.
    executor.wait(futures, throw_except=False, clean_jobs=False, show_progressbar=_progressbar())


def _progressbar() -> bool:
    """Lithops' wait bar on a terminal only: elsewhere it would print just its leading blank line."""
    import sys

    return sys.stdout.isatty()


def _fetch_reduce(executor, job: dict) -> None:
    if job["reduce"] is None or job["reduce"].error:
        return
    try:
        job["result"] = executor.get_result(fs=[job["reduce"]], show_progressbar=False)
    except Exception as exc:  # the reduce's failure is the run's failure, kept as data
        job["error"] = f"{type(exc).__name__}: {exc}"


def _map_then_reduce(executor, job, iterdata, *, chunksize, retries, poll_s, map_function,
                     reduce_function) -> None:
    """The maps, then (if none failed) the reduce as a job of its own over their futures.

    The reduce job is what Lithops' ``map_reduce`` submits (the futures as its data, marked as a reduce job so
    its function is given their results); its futures are done by then, so the reducer reads their results
    from storage at its first look instead of sleeping 0.1 s first. The host reads statuses only: a future
    holding its result would carry it into the reduce job's data (Lithops caps that at 4 MiB), and Lithops
    cleans a job's data once its results are read.
    """
    from lithops.constants import REDUCE_JOB_ENV

    if retries:
        from lithops.retries import RetryingFunctionExecutor

        retrying = RetryingFunctionExecutor(executor)
        job["maps"] = retrying.map(map_function, iterdata, chunksize=chunksize, retries=retries)
        retrying.wait(job["maps"], throw_except=False, show_progressbar=_progressbar())
        map_futures = [future.response_future for future in job["maps"]]
    else:
        job["maps"] = map_futures = executor.map(map_function, iterdata, chunksize=chunksize)
        _wait(executor, map_futures, poll_s=poll_s)
    if any(future.error for future in job["maps"]):
        return
    job["reduce"] = executor.call_async(reduce_function, (list(map_futures),), extra_env={REDUCE_JOB_ENV: "True"})
    _wait(executor, [job["reduce"]], last=job["reduce"], poll_s=poll_s)
    _fetch_reduce(executor, job)


def _map_then_reduce_on_host(executor, job, iterdata, *, chunksize, retries, map_function, reduce_function) -> None:
    """``reduce=client``: the maps, every output downloaded to the host as it is ready (``get_result``, 64
    threads), then the reduce run here, on the host, over them. No reducer function is invoked."""
    if retries:
        from lithops.retries import RetryingFunctionExecutor

        retrying = RetryingFunctionExecutor(executor)
        job["maps"] = retrying.map(map_function, iterdata, chunksize=chunksize, retries=retries)
        retrying.wait(job["maps"], throw_except=False)
        futures = [future.response_future for future in job["maps"]]
        if any(future.error for future in job["maps"]):
            return
    else:
        job["maps"] = futures = executor.map(map_function, iterdata, chunksize=chunksize)
    try:
        outputs = executor.get_result(fs=futures, throw_except=False, show_progressbar=_progressbar())
    except Exception as exc:  # a failed map is in its future's row; the run fails with it
        job["error"] = f"{type(exc).__name__}: {exc}"
        return
    if any(future.error for future in job["maps"]) or len(outputs) != len(futures):
        return
    try:
        job["result"] = reduce_function(outputs)
    except Exception as exc:  # the host's reduce failing is the run's failure, kept as data
        job["error"] = f"{type(exc).__name__}: {exc}"


def _outcome(job: dict, submitted_at: float) -> JobOutcome:
    finished_at = time.time()
    result = job["result"]
    maps = list(job["maps"])
    outputs = (result or {}).get("calls") or [None] * len(maps)
    calls = _rows("map", maps, outputs)
    if job["reduce"] is not None:
        calls += _rows("reduce", [job["reduce"]], [None])
    errors = [row["error"] for row in calls if row["phase"] == "map" and row["error"]]
    errors += [row["error"] for row in calls if row["phase"] == "reduce" and row["error"]]
    error = (errors or [job["error"]])[0]
    combined = kernel.reduce_table(result) if result and not error else None
    return JobOutcome(calls=calls, submitted_at=submitted_at, finished_at=finished_at, combined=combined,
                      error=error)
