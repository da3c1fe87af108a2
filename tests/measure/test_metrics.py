"""Run metrics from calls: start-up split from queueing, straggler and makespan metrics on every run."""

from __future__ import annotations

import pytest

from aqstudy.measure import metrics, stragglers


def _call(index, *, submit, start, end, cold, phase="map"):
    stats = {"host_submit_tstamp": submit, "worker_start_tstamp": start - 0.01, "worker_func_start_tstamp": start,
             "worker_end_tstamp": end, "worker_cold_start": cold, "worker_exec_time": end - start + 0.01}
    job = "M000" if phase == "map" else "R001"
    return metrics.call_row(phase=phase, call_id=f"{job}-{index:05d}", status="ok", error=None, stats=stats)


def test_a_warm_call_queued_behind_a_busy_worker_does_not_look_slow_to_start():
    # One worker: the second (warm) call waits 0.9 s for the first to end, then starts in 0.01 s.
    calls = [_call(0, submit=100.0, start=100.5, end=101.0, cold=True),
             _call(1, submit=100.0, start=101.02, end=101.5, cold=False),
             _call(0, submit=101.5, start=101.6, end=101.7, cold=True, phase="reduce")]
    assert calls[1]["startup_s"] == pytest.approx(1.02)  # what start-up used to report
    derived = metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=101.8, effective_workers=1,
                                     input_bytes=1, chunksize=1)
    assert derived["startup_warm_p50_s"] == pytest.approx(0.02)
    assert derived["startup_cold_p50_s"] == pytest.approx(0.5)
    assert derived[metrics.QUEUED_S] == pytest.approx(1.0)
    assert derived[metrics.QUEUED_CALLS] == 1
    split = metrics.with_startup_split(calls, slots=1)
    for row in split:  # the two parts add up to startup_s
        assert row["queued_s"] + row["start_latency_s"] == pytest.approx(row["startup_s"])
    assert list(split[0]) == list(metrics.CALL_COLUMNS)


def test_straggler_metrics_are_on_every_run():
    calls = [_call(i, submit=100.0, start=100.1, end=100.1 + (2.0 if i == 3 else 0.5), cold=True)
             for i in range(4)]
    derived = metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=102.5, effective_workers=8,
                                     input_bytes=1, chunksize=1)
    assert set(stragglers.METRICS) <= set(derived)
    assert derived[stragglers.STRAGGLER_CALLS] == 1
    # 8 workers but 4 invocations: idle time is counted over the 4 that had something to run.
    busy = 3 * 0.51 + 2.01
    assert derived[stragglers.IDLE_FRACTION] == pytest.approx(1 - busy / (4 * 2.01))


def test_a_call_that_never_started_has_no_start_up_split_and_cpu_is_averaged():
    started = _call(0, submit=100.0, start=100.5, end=101.0, cold=True)
    never = metrics.call_row(phase="map", call_id="M000-00001", status="not_run", error=None, stats={})
    split = metrics.with_startup_split([started, never], slots=0)  # no slot at all still replays on one
    assert (split[1]["queued_s"], split[1]["start_latency_s"]) == (None, None)
    assert split[0]["queued_s"] == pytest.approx(0.0) and split[0]["start_latency_s"] == pytest.approx(0.5)
    row = metrics.call_row(phase="map", call_id="M000-00002", status="ok", error=None,
                           stats={"worker_func_cpu_usage": [50.0, 100.0]})
    assert row["cpu_usage_pct"] == pytest.approx(75.0)
