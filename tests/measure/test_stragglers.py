"""Makespan and straggler metrics from calls.csv rows (measured or predicted alike)."""

from __future__ import annotations

import pytest

from aqstudy.measure import stragglers as s


def _map(index, *, submit, start, end):
    return {"phase": "map", "call_id": f"M000-{index:05d}", "host_submit_tstamp": submit,
            "worker_start_tstamp": start, "worker_end_tstamp": end}


def _job():
    """10 maps on 5 workers: 9 run 1 s, one straggles for 3 s; submits spread over 0.4 s; a reduce at the end."""
    maps = []
    for i in range(10):
        submit = 100.0 + 0.04 * i
        start = 100.5 + (1.0 if i >= 5 else 0.0)
        maps.append(_map(i, submit=submit, start=start, end=start + (3.0 if i == 9 else 1.0)))
    reduce = {"phase": "reduce", "call_id": "R001-00000", "host_submit_tstamp": 104.6, "worker_start_tstamp": 104.7,
              "worker_end_tstamp": 105.0}
    return [*maps, reduce]


def test_straggler_metrics_by_hand():
    metrics = s.straggler_metrics(_job(), slots=5)
    assert metrics[s.MAKESPAN_S] == pytest.approx(105.0 - 100.0)
    assert metrics[s.INVOCATION_SPREAD_S] == pytest.approx(0.36)
    assert metrics[s.CALL_P50_S] == pytest.approx(1.0)
    # p99 of nine 1 s and one 3 s, linear between ranks: 1 + 0.91 × 2.
    assert metrics[s.CALL_P99_S] == pytest.approx(2.82)
    assert metrics[s.TAIL_RATIO] == pytest.approx(2.82)
    assert metrics[s.STRAGGLER_CALLS] == 1
    # Map window 100.5 → 104.5 on 5 workers = 20 worker-seconds, 12 of them busy.
    assert metrics[s.IDLE_FRACTION] == pytest.approx(1 - 12 / 20)


def test_straggler_flags_mark_only_slow_maps():
    flags = s.straggler_flags(_job())
    assert flags == [False] * 9 + [True, False]


def test_no_stragglers_in_an_even_job_and_idle_zero_when_packed():
    maps = [_map(i, submit=0.0, start=float(i // 2), end=float(i // 2) + 1.0) for i in range(6)]
    metrics = s.straggler_metrics(maps, slots=2)
    assert metrics[s.STRAGGLER_CALLS] == 0
    assert metrics[s.TAIL_RATIO] == pytest.approx(1.0)
    assert metrics[s.IDLE_FRACTION] == pytest.approx(0.0)


def test_partial_rows_leave_out_what_cannot_be_computed():
    assert s.straggler_metrics([], slots=4) == {}
    unstarted = [{"phase": "map", "call_id": "M000-00000", "host_submit_tstamp": 1.0,
                  "worker_start_tstamp": None, "worker_end_tstamp": None}]
    assert s.straggler_metrics(unstarted, slots=4) == {}
    no_submit = [{**_map(0, submit=None, start=1.0, end=2.0)}]
    metrics = s.straggler_metrics(no_submit, slots=1)
    assert metrics[s.MAKESPAN_S] == pytest.approx(1.0)
    assert s.INVOCATION_SPREAD_S not in metrics
