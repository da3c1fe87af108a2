"""The Lithops adapter: one executor, one map-reduce over the staged objects, every call's stats kept.

A failed call does not lose the others: the job is waited for without raising, and each future's stats
become a row of ``calls.csv`` whatever its outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aqstudy import functions, kernel
from aqstudy.metrics import call_row

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
    invocation_durations_s: list[float] = field(default_factory=list)


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


def invocation_durations(calls: list[dict]) -> list[float]:
    """Execution time of each function invocation: calls packed together by ``chunksize`` share one.

    Lithops gives the calls of one invocation the same activation id. A lone call's duration is its
    ``worker_exec_time``; a packed invocation runs from its first call's start to its last call's end.
    """
    groups: dict[str, list[dict]] = {}
    for row in calls:
        if row.get("worker_start_tstamp") is None or row.get("worker_end_tstamp") is None:
            continue
        groups.setdefault(f"{row['phase']}:{row.get('activation_id') or row['call_id']}", []).append(row)
    durations = []
    for rows in groups.values():
        if len(rows) == 1 and rows[0].get("exec_s") is not None:
            durations.append(rows[0]["exec_s"])
        else:
            durations.append(max(r["worker_end_tstamp"] for r in rows) - min(r["worker_start_tstamp"] for r in rows))
    return durations


def run_map_reduce(
    executor,
    *,
    bucket: str,
    objects: list[dict],
    chunksize: int,
    map_function: Callable = functions.map_object,
    reduce_function: Callable = functions.reduce_partials,
) -> JobOutcome:
    """Run the study's map-reduce and collect every call's stats.

    :param executor: a Lithops ``FunctionExecutor``.
    :param bucket: bucket of the staged objects.
    :param objects: manifest entries (``key``, ``size``) — one map call each.
    :param chunksize: map calls per function invocation.
    """
    iterdata = [{"bucket": bucket, "key": entry["key"], "size": entry["size"]} for entry in objects]
    submitted_at = time.time()
    futures = executor.map_reduce(map_function, iterdata, reduce_function, chunksize=chunksize)
    executor.wait(futures, throw_except=False)
    reduce_future = futures[-1]
    map_futures = futures[:-1]
    result = None
    error = None
    if not reduce_future.error:
        try:
            result = executor.get_result(fs=[reduce_future])
        except Exception as exc:  # the reduce's failure is the run's failure, kept as data
            error = f"{type(exc).__name__}: {exc}"
    finished_at = time.time()
    outputs = (result or {}).get("calls") or [None] * len(map_futures)
    calls = []
    for phase, group, group_outputs in (("map", map_futures, outputs), ("reduce", [reduce_future], [None])):
        for future, output in zip(group, group_outputs, strict=True):
            text = _error_text(future)
            row = call_row(phase=phase, call_id=f"{future.job_id}-{future.call_id}",
                           status="error" if future.error else ("ok" if future.stats.get("worker_end_tstamp")
                                                                 else "not_run"),
                           error=text, stats=future.stats, output=output,
                           activation_id=getattr(future, "activation_id", None))
            calls.append(row)
    map_errors = [row["error"] for row in calls if row["phase"] == "map" and row["error"]]
    reduce_errors = [row["error"] for row in calls if row["phase"] == "reduce" and row["error"]]
    error = (map_errors or reduce_errors or [error])[0]
    combined = kernel.from_ipc(result["combined"]) if result and not error else None
    return JobOutcome(calls=calls, submitted_at=submitted_at, finished_at=finished_at, combined=combined,
                      error=error, invocation_durations_s=invocation_durations(calls))
