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


def _full(index, *, submit, start, func_start, end, cold, cpu, recv, sent, peak_mib, phase="map"):
    stats = {"host_job_create_tstamp": submit - 0.05, "host_submit_tstamp": submit, "worker_start_tstamp": start,
             "worker_func_start_tstamp": func_start, "worker_func_end_tstamp": end - 0.01, "worker_end_tstamp": end,
             "host_status_done_tstamp": end + 0.02, "host_result_done_tstamp": end + 0.03, "worker_cold_start": cold,
             "worker_exec_time": end - start, "worker_func_cpu_usage": cpu, "worker_func_recv_net_io": recv,
             "worker_func_sent_net_io": sent, "worker_peak_memory_end": peak_mib * 2**20, "worker_calls": 1}
    output = {"input_bytes": 6_500_000, "records": 10, "invalid_records": 1, "slow_path_records": 2}
    job = "M000" if phase == "map" else "R001"
    return metrics.call_row(phase=phase, call_id=f"{job}-{index:05d}", status="ok", error=None, stats=stats,
                            output=output if phase == "map" else None, activation_id=f"act-{index}")


def test_a_call_row_keeps_every_stat_under_its_column():
    row = _full(3, submit=100.0, start=100.1, func_start=100.2, end=101.0, cold=True, cpu=[50.0, 100.0], recv=10,
                sent=1, peak_mib=100)
    row_error = metrics.call_row(phase="reduce", call_id="R001-00000", status="error", error="E: boom", stats={})
    assert list(row) == list(metrics.CALL_COLUMNS)
    assert row == pytest.approx({
        "phase": "map", "call_id": "M000-00003", "activation_id": "act-3", "status": "ok", "attempts": None,
        "error": None, "host_job_create_tstamp": 99.95, "host_submit_tstamp": 100.0, "worker_start_tstamp": 100.1,
        "worker_func_start_tstamp": 100.2, "worker_func_end_tstamp": 100.99, "worker_end_tstamp": 101.0,
        "host_status_done_tstamp": 101.02, "host_result_done_tstamp": 101.03, "cold_start": True, "exec_s": 0.9,
        "startup_s": 0.2, "peak_memory_mb": 100.0, "cpu_usage_pct": 75.0, "net_recv_bytes": 10,
        "net_sent_bytes": 1, "worker_calls": 1, "input_bytes": 6_500_000, "records": 10, "invalid_records": 1,
        "slow_path_records": 2, "queued_s": None, "start_latency_s": None})
    assert (row_error["status"], row_error["error"], row_error["startup_s"], row_error["cpu_usage_pct"]) == (
        "error", "E: boom", None, None)
    half = metrics.call_row(phase="map", call_id="M000-00004", status="ok", error=None,
                            stats={"worker_func_start_tstamp": 5.0})
    assert half["startup_s"] is None  # no submit time: no start-up


def _run_calls():
    """Two workers: two cold maps, then two warm maps queued behind them, then the reduce."""
    return [_full(0, submit=100.0, start=100.1, func_start=100.2, end=101.0, cold=True, cpu=[50.0, 100.0], recv=10,
                  sent=1, peak_mib=100),
            _full(1, submit=100.0, start=100.1, func_start=100.3, end=101.2, cold=True, cpu=[20.0], recv=20, sent=2,
                  peak_mib=120),
            _full(2, submit=100.0, start=101.0, func_start=101.05, end=101.5, cold=False, cpu=[10.0], recv=30,
                  sent=3, peak_mib=90),
            _full(3, submit=100.0, start=101.2, func_start=101.3, end=102.0, cold=False, cpu=[40.0], recv=40,
                  sent=4, peak_mib=80),
            _full(0, submit=102.0, start=102.1, func_start=102.15, end=102.4, cold=True, cpu=None, recv=None,
                  sent=None, peak_mib=50, phase="reduce")]


def test_a_runs_metrics_by_hand():
    calls = _run_calls()
    derived = metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=102.5, effective_workers=2,
                                     input_bytes=26_000_000, chunksize=1)
    expected = {
        "duration_s": 2.6, "calls": 5, "job_setup_s": 0.1, "map_duration_s": 2.1, "reduce_duration_s": 0.4,
        "cold_starts": 3, "queued_s": 2.2, "queued_max_s": 1.2, "queued_calls": 2,
        # start latency: function start − when a worker was free (cold 0.2, 0.3; warm 0.05, 0.1)
        "startup_cold_p50_s": 0.25, "startup_cold_p95_s": 0.295, "startup_cold_max_s": 0.3,
        "startup_warm_p50_s": 0.075, "startup_warm_p95_s": 0.0975, "startup_warm_max_s": 0.1,
        "throughput_mb_s": 10.0, "utilization": (0.9 + 1.1 + 0.5 + 0.8 + 0.3) / (2 * 2.6), "peak_memory_mb": 120.0,
        "cpu_usage_mean_pct": (75 + 20 + 10 + 40) / 4, "cpu_usage_max_pct": 75.0, "net_recv_bytes": 100.0,
        "net_sent_bytes": 10.0,
    }
    assert {name: derived[name] for name in expected} == pytest.approx(expected, rel=1e-9)
    straggling = stragglers.straggler_metrics(metrics.with_startup_split(calls, slots=2), slots=2)
    assert {name: derived[name] for name in straggling} == pytest.approx(straggling, rel=1e-9)
    # Eight workers but four map calls: the straggler metrics see four invocations running at once, or two
    # at chunksize 2; chunksize 1 unless told.
    wide = metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=102.5, effective_workers=8,
                                  input_bytes=26_000_000)
    assert wide == metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=102.5, effective_workers=8,
                                          input_bytes=26_000_000, chunksize=1)
    split = metrics.with_startup_split(calls, slots=8)
    for chunksize, slots in ((1, 4), (2, 2)):
        wide = metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=102.5, effective_workers=8,
                                      input_bytes=26_000_000, chunksize=chunksize)
        straggling = stragglers.straggler_metrics(split, slots=slots)
        assert {name: wide[name] for name in straggling} == pytest.approx(straggling, rel=1e-9)


def test_a_run_too_short_to_time_has_no_rates_and_a_call_without_an_end_is_not_busy():
    calls = [*_run_calls()[:1], metrics.call_row(phase="map", call_id="M000-00001", status="error", error="x",
                                                  stats={"worker_start_tstamp": 100.2})]
    instant = metrics.derive_metrics(calls=calls, submitted_at=99.9, finished_at=99.9, effective_workers=1,
                                     input_bytes=1)
    assert metrics.THROUGHPUT_MB_S not in instant and metrics.UTILIZATION not in instant
    short = metrics.derive_metrics(calls=calls, submitted_at=100.0, finished_at=100.5, effective_workers=1,
                                   input_bytes=5_000_000)
    assert short[metrics.THROUGHPUT_MB_S] == pytest.approx(10.0, rel=1e-9)
    assert short[metrics.UTILIZATION] == pytest.approx(0.9 / 0.5, rel=1e-9)
    straggling = stragglers.straggler_metrics(metrics.with_startup_split(calls, slots=1), slots=1)
    assert {name: short[name] for name in straggling} == pytest.approx(straggling, rel=1e-9)
