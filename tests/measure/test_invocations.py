"""Invocations follow the chunking (not the activation id); start-up splits into queueing and start latency."""

from __future__ import annotations

import pytest

from aqstudy.measure import invocations as inv


def _call(phase, index, *, start, end, submit=0.0, job="M000", activation="one-id-for-all", func_start=None):
    return {"phase": phase, "call_id": f"{job}-{index:05d}", "activation_id": activation,
            "host_submit_tstamp": submit, "worker_start_tstamp": start, "worker_end_tstamp": end,
            "worker_func_start_tstamp": func_start}


def _issue_run():
    """4 objects at workers=8 on localhost: 4 workers (the machine's cap) ran the 4 maps side by side, then the
    reduce; Lithops' localhost gave every call the same activation id."""
    maps = [_call("map", i, start=0.2, end=0.2 + d) for i, d in enumerate((0.70, 0.80, 0.75, 0.85))]
    return [*maps, _call("reduce", 0, job="R001", start=1.2, end=1.3, submit=1.1)]


def test_four_objects_at_workers_8_make_five_invocations():
    calls = _issue_run()
    chunksize = 1  # auto at 4 objects / 8 workers
    assert len(inv.invocation_groups(calls, chunksize=chunksize)) == 5
    durations = inv.invocation_durations_s(calls, chunksize=chunksize)
    # Each invocation billed for its own call, not the map phase's wall-clock span (0.85 s).
    assert sorted(durations) == pytest.approx(sorted([0.70, 0.80, 0.75, 0.85, 0.10]))
    assert sum(durations) == pytest.approx(3.2)


def test_chunks_run_their_calls_one_after_another():
    maps = [_call("map", i, start=float(i), end=i + 1.0) for i in range(5)]
    groups = inv.invocation_groups([*maps, _call("reduce", 0, job="R001", start=6.0, end=6.5)], chunksize=2)
    assert [[row["call_id"] for row in group] for group in groups] == [
        ["M000-00000", "M000-00001"], ["M000-00002", "M000-00003"], ["M000-00004"], ["R001-00000"]]
    assert inv.invocation_durations_s(maps, chunksize=2) == pytest.approx([2.0, 2.0, 1.0])
    assert inv.map_invocations(objects=5, chunksize=2) == 3


def test_calls_that_never_started_are_not_billed_and_keep_their_place():
    calls = [_call("map", 0, start=0.0, end=1.0), {**_call("map", 1, start=None, end=None)},
             _call("map", 2, start=0.0, end=2.0)]
    assert inv.invocation_durations_s(calls, chunksize=2) == pytest.approx([1.0, 2.0])


def test_call_ids_without_a_number_fall_back_to_their_position():
    calls = [{**_call("map", 0, start=0.0, end=1.0), "call_id": "a"},
             {**_call("map", 0, start=0.0, end=1.0), "call_id": "b"},
             {**_call("map", 0, start=0.0, end=1.0), "call_id": "c"}]
    assert len(inv.invocation_groups(calls, chunksize=2)) == 2


def test_startup_splits_into_queued_and_start_latency():
    # 2 workers, 4 calls submitted at 0, each 1 s long, 0.1 s for the platform to start a call.
    calls = [_call("map", 0, start=0.1, end=1.1, func_start=0.12),
             _call("map", 1, start=0.1, end=1.1, func_start=0.12),
             _call("map", 2, start=1.2, end=2.2, func_start=1.22),
             _call("map", 3, start=1.2, end=2.2, func_start=1.22)]
    split = inv.split_startup(calls, slots=2)
    assert [round(q, 6) for q, _ in split] == [0.0, 0.0, 1.1, 1.1]
    assert [round(s, 6) for _, s in split] == [0.12, 0.12, 0.12, 0.12]
    # The two parts add up to startup_s (function start − submit).
    for row, (queued, latency) in zip(calls, split, strict=True):
        assert queued + latency == pytest.approx(row["worker_func_start_tstamp"] - row["host_submit_tstamp"])
    # With enough workers nothing queued: every second is start latency.
    assert [q for q, _ in inv.split_startup(calls, slots=4)] == [0.0, 0.0, 0.0, 0.0]


def test_startup_of_phases_replayed_apart_and_unstarted_calls():
    calls = [_call("map", 0, start=0.1, end=1.0), _call("reduce", 0, job="R001", start=1.05, end=1.2, submit=1.0),
             _call("map", 1, start=None, end=None)]
    split = inv.split_startup(calls, slots=1)
    assert split[0] == pytest.approx((0.0, 0.1))
    assert split[1] == pytest.approx((0.0, 0.05))
    assert split[2] is None
    with pytest.raises(ValueError):
        inv.split_startup(calls, slots=0)


def test_calls_are_placed_by_their_number_in_their_own_job_whatever_the_row_order():
    # Rows listed out of order, two map jobs (one with a dash in its id), a call without a number.
    calls = [_call("map", 2, start=0.0, end=1.0), _call("map", 0, start=0.0, end=1.0),
             _call("map", 1, start=0.0, end=1.0), _call("map", 0, start=0.0, end=1.0, job="x-M001"),
             _call("map", 1, start=0.0, end=1.0, job="x-M001"), _call("map", 0, start=0.0, end=1.0, job="x-M002")]
    groups = inv.invocation_groups(calls, chunksize=2)
    assert sorted(sorted(row["call_id"] for row in group) for group in groups) == [
        ["M000-00000", "M000-00001"], ["M000-00002"], ["x-M001-00000", "x-M001-00001"], ["x-M002-00000"]]
    assert inv.call_index({"call_id": "x-M001-00007"}, 3) == 7
    assert inv.call_index({"call_id": None}, 3) == 3


def test_call_ids_without_a_number_are_chunked_in_listing_order():
    calls = [{**_call("map", 0, start=0.0, end=1.0), "call_id": name} for name in ("a", "b", "c")]
    assert [[row["call_id"] for row in group] for group in inv.invocation_groups(calls, chunksize=2)] == [
        ["a", "b"], ["c"]]


def test_every_reduce_call_is_an_invocation_of_its_own_and_an_unfinished_call_is_not_billed():
    calls = [_call("reduce", 0, job="R001", start=0.0, end=1.0), _call("reduce", 1, job="R001", start=1.0, end=2.0),
             _call("map", 0, start=0.0, end=None)]
    assert len(inv.invocation_groups(calls, chunksize=2)) == 2
    assert inv.invocation_durations_s(calls, chunksize=2) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="chunksize=0 must be at least 1"):
        inv.invocation_groups(calls, chunksize=0)


def test_startup_is_replayed_in_start_order_per_phase_and_without_a_submit_time_nothing_queued():
    # One worker. Rows listed out of start order; the reduce, in an environment of its own, starts while the
    # last map still runs; one map has no submit time; one started and never ended.
    calls = [_call("map", 1, start=1.2, end=2.0, func_start=1.25),
             _call("map", 0, start=0.1, end=1.0, func_start=0.15),
             _call("reduce", 0, job="R001", start=1.55, end=1.8, submit=1.5, func_start=1.6),
             {**_call("map", 2, start=2.5, end=3.0, func_start=2.6), "host_submit_tstamp": None},
             _call("map", 3, start=3.1, end=None)]
    split = inv.split_startup(calls, slots=1)
    assert split[1] == pytest.approx((0.0, 0.15))
    assert split[0] == pytest.approx((1.0, 0.25))  # queued until the first map's worker was free at 1.0
    assert split[2] == pytest.approx((0.0, 0.1))  # the maps' worker does not hold up the reduce
    assert split[3] == pytest.approx((0.0, 0.1))  # no submit time: the call counts from its start
    assert split[4] is None
    with pytest.raises(ValueError, match="slots=0 must be at least 1"):
        inv.split_startup(calls, slots=0)
