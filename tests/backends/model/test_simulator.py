"""The simulator: the same columns as a real run, deterministic per seed, and each mechanism doing what
Lithops and Lambda do (the max_workers queue, the scaling limit, warm reuse, vCPU share, failures)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aqstudy.backends.model.parameters import KernelProfile, LocalhostParameters, ModelParameters, vcpu_share
from aqstudy.backends.model.simulator import JobSpec, Platform, cores_for, simulate
from aqstudy.measure.metrics import CALL_COLUMNS, derive_metrics

MB = 1_000_000
#: Fixed profiles (not a calibration file), so the tests do not move when this machine is re-measured.
PROJECT = KernelProfile(name="project", kernel_mb_s=600.0, output_ratio=0.006, threads=1, overlaps_read=True,
                        call_import_s=0.6, peak_base_mb=200.0, peak_mb_per_input_mb=0.5, reduce_mb_s=60.0,
                        reduce_output_ratio=0.3)
ORIGINAL = KernelProfile(name="original", kernel_mb_s=15.0, output_ratio=0.06, threads=1, overlaps_read=False,
                         call_import_s=0.4, peak_base_mb=120.0, peak_mb_per_input_mb=10.0, reduce_mb_s=10.0,
                         reduce_output_ratio=0.5)
LOCAL = LocalhostParameters(cores=2, cores_by_processes=((2, 2.0), (4, 2.0)), job_create_s=0.005, cold_start_s=0.1,
                            call_pre_s=0.01, first_call_pre_s=0.02, call_post_s=0.01, call_idle_s=0.02,
                            map_mb_s=200.0, reduce_start_s=0.15,
                            reduce_mb_s=60.0, reduce_fixed_s=0.05, reduce_end_s=0.02)


def lam(profile: KernelProfile = PROJECT, **params) -> Platform:
    return Platform(name="aws_lambda", params=replace(ModelParameters(), **params), profile=profile,
                    cpu_ratio=0.5, init_s=1.0, cold_io_scale=4.0, fork_s=0.002)


def job(objects: int = 20, **kwargs) -> JobSpec:
    return JobSpec(**{"object_bytes": (25 * MB,) * objects, "chunksize": 1, "workers": 10, "memory_mb": 2048,
                      **kwargs})


def running_at_once(prediction) -> int:
    """Most invocations running at the same time (from the rows' worker timestamps)."""
    spans = {}
    for row in prediction.calls:
        if row["worker_start_tstamp"] is None:
            continue
        start, end = spans.get(row["activation_id"], (row["worker_start_tstamp"], row["worker_end_tstamp"]))
        spans[row["activation_id"]] = (min(start, row["worker_start_tstamp"]), max(end, row["worker_end_tstamp"]))
    events = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()],
                    key=lambda ev: (ev[0], ev[1]))
    best = current = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def test_rows_have_the_columns_of_a_real_run_and_real_metrics_apply():
    prediction = simulate(job(), lam())
    assert prediction.status == "FINISHED"
    assert all(tuple(row) == CALL_COLUMNS for row in prediction.calls)
    assert [row["phase"] for row in prediction.calls] == ["map"] * 20 + ["reduce"]
    metrics = derive_metrics(calls=prediction.calls, submitted_at=prediction.submitted_at,
                             finished_at=prediction.finished_at, effective_workers=10, input_bytes=20 * 25 * MB)
    assert metrics["calls"] == 21 and metrics["cold_starts"] >= 10
    assert 0 < metrics["map_duration_s"] < metrics["duration_s"]
    for row in prediction.calls:  # every call's clock runs forward
        stamps = [row[name] for name in ("host_submit_tstamp", "worker_start_tstamp", "worker_func_start_tstamp",
                                         "worker_func_end_tstamp", "worker_end_tstamp")]
        assert stamps == sorted(stamps)


def test_the_same_seed_gives_the_same_rows_and_another_seed_other_ones():
    first, again = simulate(job(seed=7), lam()), simulate(job(seed=7), lam())
    other = simulate(job(seed=8), lam())
    assert first.calls == again.calls and first.finished_at == again.finished_at
    assert first.calls != other.calls


def test_calls_beyond_max_workers_wait_for_a_token_and_two_more_run_from_the_async_invokers_own_tokens():
    prediction = simulate(job(objects=40, workers=4), lam())
    # Lithops' two async invokers each start with a token: max_workers + 2 functions can run at once.
    assert running_at_once(prediction) == 6
    submits = sorted({row["host_submit_tstamp"] for row in prediction.calls if row["phase"] == "map"})
    first_end = min(row["worker_end_tstamp"] for row in prediction.calls)
    # Beyond the first four direct ones and the two token ones, every invocation waited for a finished one.
    assert all(submit > first_end for submit in submits[6:])


def test_warm_environments_of_an_earlier_run_are_reused():
    cold = simulate(job(workers=10), lam())
    warm = simulate(job(workers=10, warm_envs=12), lam())  # up to 10 + 2 functions at once
    assert len(cold.init_durations_s) == cold.envs_created >= 10
    assert warm.envs_created == 0 and warm.init_durations_s == []
    assert warm.finished_at < cold.finished_at
    assert cold.idle_envs_after == cold.envs_created  # left warm for the next run of a sweep


def test_the_scaling_limit_lets_1000_new_environments_start_per_10_seconds():
    spec = JobSpec(object_bytes=(1 * MB,) * 1500, chunksize=1, workers=1500, memory_mb=2048)
    prediction = simulate(spec, lam(account_concurrency=3000, invoke_s=0.001))
    starts = sorted(row["worker_start_tstamp"] for row in prediction.calls if row["phase"] == "map")
    assert prediction.envs_created > 1000
    assert starts[1000] - starts[0] >= 10.0 - 1.5  # the 1,001st waited for the window (less spread in starts)
    assert starts[999] - starts[0] < 8.0


def test_compute_grows_below_one_vcpu_and_is_flat_above_it_for_a_one_thread_kernel():
    def compute(memory_mb):
        prediction = simulate(job(objects=4, memory_mb=memory_mb), lam(profile=ORIGINAL))
        return prediction.breakdown["compute_mean_s"]

    assert compute(1024) == pytest.approx(compute(1769) * 1769 / 1024, rel=1e-6)
    assert compute(3538) == pytest.approx(compute(1769), rel=1e-6)
    assert vcpu_share(10240) == pytest.approx(10240 / 1769)


def test_a_bucket_in_another_region_adds_its_latency_to_each_read():
    same = simulate(job(objects=4), lam())
    cross = simulate(job(objects=4, cross_region=True), lam())
    assert cross.breakdown["read_mean_s"] - same.breakdown["read_mean_s"] == pytest.approx(0.35, abs=1e-6)


def test_a_chunk_that_outlasts_the_timeout_is_a_failed_prediction_with_the_reason():
    spec = JobSpec(object_bytes=(25 * MB,) * 400, chunksize=400, workers=1, memory_mb=1024)
    prediction = simulate(spec, lam(profile=ORIGINAL))
    assert prediction.status == "FAILED"
    assert "backend.timeout_s=900" in prediction.error
    killed = [row for row in prediction.calls if row["status"] == "error"]
    assert len(killed) == 1 and "TimeoutError" in killed[0]["error"]
    assert prediction.invocation_durations_s[0] == pytest.approx(900, abs=1e-6)


def test_a_function_too_small_for_its_object_is_a_failed_prediction_out_of_memory():
    prediction = simulate(job(objects=2, memory_mb=256), lam(profile=ORIGINAL))
    assert prediction.status == "FAILED" and "memory=256 MB" in prediction.error


def test_with_the_client_reducing_the_host_downloads_every_output_at_its_bandwidth():
    spec = job(objects=40, reduce="client")
    prediction = simulate(spec, lam(profile=ORIGINAL, client_mb_s=10.0))
    outputs = sum(round(25 * MB * ORIGINAL.output_ratio) for _ in range(40))
    assert prediction.host_bytes_downloaded == outputs
    assert [row["phase"] for row in prediction.calls] == ["map"] * 40
    assert all(row["host_result_done_tstamp"] is not None for row in prediction.calls)
    assert prediction.results_in_hand_at - prediction.submitted_at >= outputs / 1e6 / 10.0
    assert prediction.breakdown["client_reduce_s"] == pytest.approx(outputs / 1e6 / ORIGINAL.reduce_mb_s)


def test_a_reducer_spawned_after_the_maps_starts_once_the_host_has_seen_them_all():
    prediction = simulate(job(spawn_reducer=100), lam())
    maps = [row for row in prediction.calls if row["phase"] == "map"]
    (reduce,) = [row for row in prediction.calls if row["phase"] == "reduce"]
    assert reduce["host_submit_tstamp"] > max(row["host_status_done_tstamp"] for row in maps)


def test_a_reducer_spawned_with_the_maps_starts_at_once_unless_the_maps_fill_max_workers():
    def reduce_submit_vs_first_map_end(workers):
        prediction = simulate(job(workers=workers, spawn_reducer=0), lam())
        (reduce,) = [row for row in prediction.calls if row["phase"] == "reduce"]
        first_end = min(row["worker_end_tstamp"] for row in prediction.calls if row["phase"] == "map")
        return reduce["host_submit_tstamp"] - first_end

    assert reduce_submit_vs_first_map_end(30) < 0  # a free worker: invoked with the maps
    assert reduce_submit_vs_first_map_end(10) > 0  # queued behind the maps' invocations for a token


def test_stragglers_read_slower_by_the_stated_factor_and_only_at_scale():
    def reads(workers, share):
        spec = JobSpec(object_bytes=(25 * MB,) * workers, chunksize=1, workers=workers, memory_mb=2048)
        prediction = simulate(spec, lam(straggler_share=share))
        return prediction

    calm = reads(100, 1.0)  # at 100 functions: none (Lithops' benchmarks)
    assert calm.breakdown["read_mean_s"] < 0.25 + 0.2
    busy = reads(1000, 1.0)  # every call a straggler at 1,000 functions
    assert busy.breakdown["read_mean_s"] > 0.25 * 1.5


def test_localhost_processes_beyond_the_cores_share_them():
    def duration(workers):
        platform = Platform(name="localhost", params=ModelParameters(monitoring_interval_s=0.05), profile=PROJECT,
                            localhost=LOCAL)
        spec = JobSpec(object_bytes=(25 * MB,) * 8, chunksize=1, workers=workers, memory_mb=2048,
                       spawn_reducer=100, reduce_poll_s=0.01)
        return simulate(spec, platform)

    one, two, four = duration(1), duration(2), duration(4)
    assert two.breakdown["maps_done_s"] < one.breakdown["maps_done_s"] * 0.6
    # Two cores, four processes: each function takes about twice as long, the job gains only from overlapping
    # the others' overheads.
    assert four.breakdown["compute_mean_s"] > 1.7 * one.breakdown["compute_mean_s"]
    assert four.breakdown["maps_done_s"] > two.breakdown["maps_done_s"] * 0.8
    assert sum(row["cold_start"] for row in four.calls if row["phase"] == "map") == 4


def test_the_cores_processes_get_are_interpolated_between_the_measured_points():
    points = ((2, 1.5), (4, 1.2))
    assert cores_for(points, 1) == 1.0
    assert cores_for(points, 2) == 1.5 and cores_for(points, 3) == pytest.approx(1.35)
    assert cores_for(points, 4) == 1.2 and cores_for(points, 8) == 1.2


def test_localhost_per_call_overheads_are_work_that_processes_beyond_the_cores_share():
    # No compute to speak of: a call is its fork and unpickling (pre) and its status (post), 0.1 s of a core.
    overheads = replace(LOCAL, job_create_s=0.0, cold_start_s=0.05, call_pre_s=0.05, first_call_pre_s=0.05,
                        call_post_s=0.05, call_idle_s=0.0, map_mb_s=1e9)

    def maps_done(workers):
        platform = Platform(name="localhost", params=ModelParameters(), profile=PROJECT, localhost=overheads)
        spec = JobSpec(object_bytes=(25 * MB,) * 8, chunksize=1, workers=workers, memory_mb=2048,
                       spawn_reducer=100, reduce_poll_s=0.01)
        return simulate(spec, platform).breakdown["maps_done_s"]

    assert maps_done(1) == pytest.approx(0.8, rel=0.01)
    assert maps_done(2) == pytest.approx(0.4, rel=0.01)
    # Four processes on two cores: the same 0.8 core-seconds, still 0.4 s (as pure delays it was 0.2 s).
    assert maps_done(4) == pytest.approx(0.4, rel=0.01)


def test_a_processs_first_call_pays_its_own_start_up_work_which_processes_beyond_the_cores_share():
    # Start-up 0.1 s, of which the first call's own work (its first JobRunner fork) is 0.08 s of a core.
    first = replace(LOCAL, job_create_s=0.0, cold_start_s=0.1, first_call_pre_s=0.08, call_pre_s=0.0,
                    call_post_s=0.0, call_idle_s=0.0, map_mb_s=1e9)

    def first_starts(workers):
        platform = Platform(name="localhost", params=ModelParameters(), profile=PROJECT, localhost=first)
        spec = JobSpec(object_bytes=(25 * MB,) * workers, chunksize=1, workers=workers, memory_mb=2048,
                       spawn_reducer=100, reduce_poll_s=0.01)
        calls = simulate(spec, platform).calls
        return max(row["worker_func_start_tstamp"] for row in calls if row["phase"] == "map")

    assert first_starts(1) == pytest.approx(0.1, abs=1e-6)
    assert first_starts(2) == pytest.approx(0.1, abs=1e-6)  # one core each
    assert first_starts(4) == pytest.approx(0.02 + 2 * 0.08, abs=1e-6)  # two cores for four first calls
