"""Which calls held the job back: makespan, spread of submits, tail of call durations, idle workers (pure).

Computed from ``calls.csv`` rows alone (raw timestamps), so they work alike on measured and predicted runs.
A straggler is a map call that ran more than :data:`STRAGGLER_FACTOR` times the median map call: the
definition of the Lithops team's straggler figures quoted in REFERENCE.md ("calls over 1.5× the median").
"""

from __future__ import annotations

from collections.abc import Sequence

from aqstudy.measure.invocations import call_duration_s
from aqstudy.measure.stats import percentile

#: A map call slower than this many times the median map call is a straggler.
STRAGGLER_FACTOR = 1.5

#: Metric names, defined once: the run logs them, the reports and the timeline read them.
MAKESPAN_S = "makespan_s"
INVOCATION_SPREAD_S = "invocation_spread_s"
CALL_P50_S = "call_p50_s"
CALL_P99_S = "call_p99_s"
TAIL_RATIO = "tail_ratio"
STRAGGLER_CALLS = "straggler_calls"
IDLE_FRACTION = "idle_fraction"
METRICS = (MAKESPAN_S, INVOCATION_SPREAD_S, CALL_P50_S, CALL_P99_S, TAIL_RATIO, STRAGGLER_CALLS, IDLE_FRACTION)


def _ran(row: dict) -> bool:
    return row.get("worker_start_tstamp") is not None and row.get("worker_end_tstamp") is not None


def straggler_flags(calls: Sequence[dict]) -> list[bool]:
    """For each row, whether it is a straggler: a map call over ``STRAGGLER_FACTOR`` × the median map call."""
    durations = [call_duration_s(row) for row in calls if row.get("phase") == "map" and _ran(row)]
    if not durations:
        return [False] * len(calls)
    threshold = STRAGGLER_FACTOR * percentile(durations, 50)
    return [row.get("phase") == "map" and _ran(row) and call_duration_s(row) > threshold for row in calls]


def straggler_metrics(calls: Sequence[dict], *, slots: int) -> dict[str, float]:
    """The run's makespan and straggler metrics (the names in :data:`METRICS`); those with no data left out.

    :param calls: ``calls.csv`` rows (maps and reduce, measured or predicted).
    :param slots: map invocations that could run at once: the smaller of the effective workers and the map
        invocations the chunking makes (a worker never given an invocation is an axis problem, warned about
        apart, not idleness).

    - ``makespan_s``: first call submitted → last call ended (maps and reduce): the job on the platform, without
      the host's job creation and result download.
    - ``invocation_spread_s``: first → last map submit (how long the client took to launch them).
    - ``call_p50_s``, ``call_p99_s``, ``tail_ratio`` (= p99 / p50): map call durations (worker start → end).
    - ``straggler_calls``: map calls over ``STRAGGLER_FACTOR`` × the median.
    - ``idle_fraction``: share of the map phase's worker time (``slots`` × first map start → last map end)
      in which no map ran: what waiting for the slowest calls (and gaps between calls) left unused.
    """
    ran = [row for row in calls if _ran(row)]
    maps = [row for row in ran if row.get("phase") == "map"]
    metrics: dict[str, float] = {}
    if ran:
        submits = [float(row["host_submit_tstamp"]) for row in ran if row.get("host_submit_tstamp") is not None]
        first = min(submits) if submits else min(float(row["worker_start_tstamp"]) for row in ran)
        metrics[MAKESPAN_S] = max(float(row["worker_end_tstamp"]) for row in ran) - first
    map_submits = [float(row["host_submit_tstamp"]) for row in maps if row.get("host_submit_tstamp") is not None]
    if map_submits:
        metrics[INVOCATION_SPREAD_S] = max(map_submits) - min(map_submits)
    if not maps:
        return metrics
    durations = [call_duration_s(row) for row in maps]
    p50, p99 = percentile(durations, 50), percentile(durations, 99)
    metrics |= {CALL_P50_S: p50, CALL_P99_S: p99,
                STRAGGLER_CALLS: sum(1 for flag in straggler_flags(maps) if flag)}
    if p50 > 0:
        metrics[TAIL_RATIO] = p99 / p50
    window_s = max(float(row["worker_end_tstamp"]) for row in maps) - min(float(row["worker_start_tstamp"])
                                                                            for row in maps)
    if window_s > 0 and slots >= 1:
        metrics[IDLE_FRACTION] = min(1.0, max(0.0, 1 - sum(durations) / (slots * window_s)))
    return metrics
