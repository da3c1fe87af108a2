"""Durations, start-up times, utilisation and stragglers derived from the calls' raw Lithops timestamps (pure).

Raw timestamps are kept in ``calls.csv``; every figure here is recomputable from that file alone (with the
run's effective workers and chunksize, logged as params). The same holds for predicted rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

from aqstudy.measure import invocations, stragglers
from aqstudy.measure.stats import percentile

#: Lithops stats copied verbatim into ``calls.csv`` (epoch seconds).
RAW_TIMESTAMPS = (
    "host_job_create_tstamp",
    "host_submit_tstamp",
    "worker_start_tstamp",
    "worker_func_start_tstamp",
    "worker_func_end_tstamp",
    "worker_end_tstamp",
    "host_status_done_tstamp",
    "host_result_done_tstamp",
)

#: Columns of ``calls.csv``, in order.
CALL_COLUMNS = (
    "phase", "call_id", "activation_id", "status", "attempts", "error", *RAW_TIMESTAMPS,
    "cold_start", "exec_s", "startup_s", "queued_s", "start_latency_s", "peak_memory_mb", "cpu_usage_pct",
    "net_recv_bytes",
    "net_sent_bytes", "worker_calls", "input_bytes", "records", "invalid_records", "slow_path_records",
)

#: Metric names, defined once: the run logs them and the reports read them.
DURATION_S = "duration_s"
MAP_DURATION_S = "map_duration_s"
REDUCE_DURATION_S = "reduce_duration_s"
JOB_SETUP_S = "job_setup_s"
COLD_STARTS = "cold_starts"
CALLS = "calls"
THROUGHPUT_MB_S = "throughput_mb_s"
UTILIZATION = "utilization"
PEAK_MEMORY_MB = "peak_memory_mb"
COST_USD = "cost_usd"
RECORDS = "records"
INVALID_RECORDS = "invalid_records"
RESULT_ROWS = "result_rows"
#: Map calls' time waiting for a free worker (summed, and the longest): apart from the start-up percentiles,
#: which are the platform's start latency alone.
QUEUED_S = "queued_s"
QUEUED_MAX_S = "queued_max_s"
QUEUED_CALLS = "queued_calls"


def startup_metric(kind: str, stat: str) -> str:
    """Name of a start-up statistic, e.g. ``startup_cold_p95_s``: the platform's start latency of map calls
    (function start − the later of submit and a worker free), queueing left out (:data:`QUEUED_S`)."""
    return f"startup_{kind}_{stat}_s"


def with_startup_split(calls: Sequence[dict], *, slots: int) -> list[dict]:
    """The rows with ``queued_s`` and ``start_latency_s`` filled in (:func:`aqstudy.measure.invocations.split_startup`).

    :param slots: functions that could run at once (effective workers).
    """
    out = []
    for row, split in zip(calls, invocations.split_startup(calls, slots=max(1, slots)), strict=True):
        queued, latency = split if split is not None else (None, None)
        out.append({**row, "queued_s": queued, "start_latency_s": latency})
    return out


def call_row(*, phase: str, call_id: str, status: str, error: str | None, stats: dict,
             output: dict | None = None, activation_id: str | None = None) -> dict:
    """One row of ``calls.csv`` from a future's ``stats`` (and the map's own counts when it returned).

    :param phase: ``map`` or ``reduce``.
    :param stats: the future's Lithops stats (may be partial for a call that failed).
    :param output: what the map call returned besides its partial (input bytes, record counts).
    """
    row = {name: stats.get(name) for name in RAW_TIMESTAMPS}
    start, submit = stats.get("worker_func_start_tstamp"), stats.get("host_submit_tstamp")
    cpu = stats.get("worker_func_cpu_usage")
    peak = stats.get("worker_peak_memory_end")
    output = output or {}
    row.update(
        phase=phase,
        call_id=call_id,
        activation_id=activation_id,
        status=status,
        error=error,
        cold_start=stats.get("worker_cold_start"),
        exec_s=stats.get("worker_exec_time"),
        startup_s=(start - submit) if start is not None and submit is not None else None,
        peak_memory_mb=peak / 2**20 if peak is not None else None,
        cpu_usage_pct=statistics.fmean(cpu) if cpu else None,
        net_recv_bytes=stats.get("worker_func_recv_net_io"),
        net_sent_bytes=stats.get("worker_func_sent_net_io"),
        worker_calls=stats.get("worker_calls"),
        input_bytes=output.get("input_bytes"),
        records=output.get("records"),
        invalid_records=output.get("invalid_records"),
        slow_path_records=output.get("slow_path_records"),
    )
    return {name: row.get(name) for name in CALL_COLUMNS}


def _present(rows: Iterable[dict], name: str) -> list:
    return [row[name] for row in rows if row.get(name) is not None]


def derive_metrics(*, calls: Sequence[dict], submitted_at: float, finished_at: float,
                   effective_workers: int, input_bytes: int, chunksize: int = 1) -> dict[str, float]:
    """The run's timing metrics from its calls, with its straggler and makespan metrics
    (:func:`aqstudy.measure.stragglers.straggler_metrics`).

    :param calls: rows as made by :func:`call_row`.
    :param submitted_at: host clock (epoch s) just before the job was submitted.
    :param finished_at: host clock when the reduced result was in hand (or the run ended).
    :param effective_workers: functions that could run at once.
    :param input_bytes: bytes of input the maps read.
    :param chunksize: map calls per invocation (with the workers, how many invocations could run at once).

    ``duration_s`` is submit → result; ``job_setup_s`` submit → first call handed to the backend;
    ``map_duration_s`` submit → last map call ended; ``reduce_duration_s`` last map ended → reduce ended
    (the reducer is spawned early and waits, so its own lifetime would overstate it).
    """
    calls = with_startup_split(calls, slots=effective_workers)
    maps = [row for row in calls if row["phase"] == "map"]
    reduces = [row for row in calls if row["phase"] == "reduce"]
    duration_s = finished_at - submitted_at
    metrics: dict[str, float] = {DURATION_S: duration_s, CALLS: len(calls)}
    submits = _present(maps, "host_submit_tstamp")
    if submits:
        metrics[JOB_SETUP_S] = min(submits) - submitted_at
    map_ends = _present(maps, "worker_end_tstamp")
    if map_ends:
        metrics[MAP_DURATION_S] = max(map_ends) - submitted_at
        reduce_ends = _present(reduces, "worker_end_tstamp")
        if reduce_ends:
            metrics[REDUCE_DURATION_S] = max(reduce_ends) - max(map_ends)
    metrics[COLD_STARTS] = sum(1 for row in calls if row.get("cold_start"))
    queued = [row["queued_s"] for row in maps if row.get("queued_s") is not None]
    if queued:
        metrics |= {QUEUED_S: sum(queued), QUEUED_MAX_S: max(queued),
                    QUEUED_CALLS: sum(1 for value in queued if value > 0)}
    for kind, cold in (("cold", True), ("warm", False)):
        startups = [row["start_latency_s"] for row in maps if row.get("start_latency_s") is not None
                    and bool(row.get("cold_start")) is cold]
        if startups:
            metrics[startup_metric(kind, "p50")] = percentile(startups, 50)
            metrics[startup_metric(kind, "p95")] = percentile(startups, 95)
            metrics[startup_metric(kind, "max")] = max(startups)
    if duration_s > 0:
        metrics[THROUGHPUT_MB_S] = input_bytes / 1e6 / duration_s
        busy_s = sum(
            row["worker_end_tstamp"] - row["worker_start_tstamp"]
            for row in calls
            if row.get("worker_end_tstamp") is not None and row.get("worker_start_tstamp") is not None
        )
        metrics[UTILIZATION] = busy_s / (effective_workers * duration_s)
    peaks = _present(calls, "peak_memory_mb")
    if peaks:
        metrics[PEAK_MEMORY_MB] = max(peaks)
    cpu = _present(calls, "cpu_usage_pct")
    if cpu:
        metrics["cpu_usage_mean_pct"] = statistics.fmean(cpu)
        metrics["cpu_usage_max_pct"] = max(cpu)
    for name in ("net_recv_bytes", "net_sent_bytes"):
        values = _present(calls, name)
        if values:
            metrics[name] = float(sum(values))
    map_invocations = invocations.map_invocations(objects=len(maps), chunksize=chunksize)
    metrics |= stragglers.straggler_metrics(calls, slots=max(1, min(effective_workers, map_invocations)))
    return metrics
