"""Invocations as Lambda would run them, and a call's start-up split into queueing and start latency (pure).

Works on ``calls.csv`` rows (measured or predicted), from their raw timestamps.

- **Invocations follow the chunking.** Lambda runs ``chunksize`` map calls per invocation, one after another
  (Lithops' ``worker_processes`` is 1 there), and the reduce in one of its own. Activation ids cannot say
  this on every backend: Lithops 3.8's localhost gives all calls of a job one id. A call's place in its job
  (the number after the job id in ``call_id``) says which invocation it belongs to everywhere.
- **An invocation lasts as long as its calls ran**, one after another: the sum of their own execution times.
  Never the phase's wall-clock span: calls that ran side by side on this machine would run in separate
  invocations on Lambda, each billed.
- **Start-up = queued + start latency.** ``startup_s`` (function start − submit) includes waiting for a free
  worker. Replaying the calls in start order over ``slots`` workers gives when a worker became free for each
  call: before that the call was queued; after it, the platform was starting it.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence


def call_index(row: dict, fallback: int) -> int:
    """A call's place in its job: the number after the last ``-`` of ``call_id`` (``M000-00003`` → 3)."""
    tail = str(row.get("call_id") or "").rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else fallback


def _job_of(row: dict) -> str:
    call_id = str(row.get("call_id") or "")
    return call_id.rsplit("-", 1)[0] if "-" in call_id else ""


def invocation_groups(calls: Sequence[dict], *, chunksize: int) -> list[list[dict]]:
    """The calls that would share a Lambda invocation: map calls ``chunksize`` at a time within their job, each
    reduce call alone. Calls that never started are left out (nothing was billed for them).

    :param calls: ``calls.csv`` rows, maps in submit order.
    :param chunksize: map calls per invocation (the run's effective chunksize).
    """
    if chunksize < 1:
        raise ValueError(f"chunksize={chunksize} must be at least 1")
    groups: dict[tuple, list[dict]] = {}
    positions: dict[tuple, int] = {}
    for row in calls:
        phase, job = row.get("phase"), _job_of(row)
        position = positions.get((phase, job), 0)
        positions[(phase, job)] = position + 1
        if row.get("worker_start_tstamp") is None or row.get("worker_end_tstamp") is None:
            continue
        index = call_index(row, position)
        key = (phase, job, index // chunksize) if phase == "map" else (phase, job, index, row.get("call_id"))
        groups.setdefault(key, []).append(row)
    return list(groups.values())


def call_duration_s(row: dict) -> float:
    """How long one call ran: worker end − worker start (Lithops' ``worker_exec_time``)."""
    return float(row["worker_end_tstamp"]) - float(row["worker_start_tstamp"])


def invocation_durations_s(calls: Sequence[dict], *, chunksize: int) -> list[float]:
    """Duration of each invocation Lambda would bill: the sum of its calls' own execution times."""
    return [sum(call_duration_s(row) for row in group) for group in invocation_groups(calls, chunksize=chunksize)]


def map_invocations(*, objects: int, chunksize: int) -> int:
    """Map invocations a job of ``objects`` map calls makes at ``chunksize`` calls each."""
    return -(-objects // max(1, chunksize))


def split_startup(calls: Sequence[dict], *, slots: int) -> list[tuple[float, float] | None]:
    """Each call's start-up as ``(queued_s, start_latency_s)``, in the order of ``calls`` (None: not started).

    Calls are replayed in start order over ``slots`` workers: each takes the worker that became free first.
    ``queued_s`` is the time from its submit until that worker was free (0 when one was free at submit);
    ``start_latency_s`` the rest, until its function started: what the platform took to start it. The two add
    up to ``startup_s`` (function start − submit).

    :param calls: ``calls.csv`` rows of one phase (the maps); other phases are replayed on their own.
    :param slots: functions that could run at once (effective workers).
    """
    if slots < 1:
        raise ValueError(f"slots={slots} must be at least 1")
    out: list[tuple[float, float] | None] = [None] * len(calls)
    by_phase: dict[str, list[int]] = {}
    for position, row in enumerate(calls):
        if row.get("worker_start_tstamp") is not None and row.get("worker_end_tstamp") is not None:
            by_phase.setdefault(str(row.get("phase")), []).append(position)
    for positions in by_phase.values():
        free_at = [float("-inf")] * slots
        for position in sorted(positions, key=lambda p: float(calls[p]["worker_start_tstamp"])):
            row = calls[position]
            start = float(row["worker_start_tstamp"])
            submit = float(row["host_submit_tstamp"]) if row.get("host_submit_tstamp") is not None else start
            function_start = row.get("worker_func_start_tstamp")
            function_start = float(function_start) if function_start is not None else start
            worker_free = heapq.heappop(free_at)
            ready = min(start, max(submit, worker_free))
            out[position] = (max(0.0, ready - submit), max(0.0, function_start - ready))
            heapq.heappush(free_at, float(row["worker_end_tstamp"]))
    return out
