"""A measured run's bill: calls packed into one invocation (chunksize > 1) are billed as one invocation."""

from __future__ import annotations

import pytest

from aqstudy.measure import cost as c
from aqstudy.measure.usage import cold_invocations, cost_metrics


def _calls(*, activation_ids: list[str]) -> list[dict]:
    """Four maps of 1.0004 s each, run one after another, then a 0.5 s reduce; every one cold."""
    maps = [{"phase": "map", "call_id": f"M000-{i:05d}", "activation_id": activation,
             "worker_start_tstamp": 100.0 + i, "worker_end_tstamp": 100.0 + i + 1.0004, "cold_start": True}
            for i, activation in enumerate(activation_ids)]
    reduce = {"phase": "reduce", "call_id": "R001-00000", "activation_id": "r", "worker_start_tstamp": 105.0,
              "worker_end_tstamp": 105.5, "cold_start": True}
    return [*maps, reduce]


@pytest.mark.parametrize("activation_ids", [["a", "a", "b", "b"], ["one-id"] * 4],
                         ids=["an id per invocation (Lambda)", "one id per job (localhost)"])
def test_packed_calls_are_billed_as_one_invocation_each(compose, activation_ids):
    calls = _calls(activation_ids=activation_ids)
    objects = [{"key": f"part-{i}", "size": 1000} for i in range(4)]
    metrics, _ = cost_metrics(compose("memory=2048"), calls=calls, chunksize=2, objects=objects, duration_s=6.0)
    # Two map invocations of two calls each and the reduce: three requests, each invocation rounded up once.
    assert metrics["invocations"] == 3
    assert metrics["cost_requests_usd"] == pytest.approx(3 * c.LAMBDA_REQUEST_USD)
    assert metrics["billed_gb_s"] == pytest.approx((2.001 + 2.001 + 0.5) * 2)
    assert cold_invocations(calls, chunksize=2) == 3
    # One call per invocation: five of each.
    alone, _ = cost_metrics(compose("memory=2048"), calls=calls, chunksize=1, objects=objects, duration_s=6.0)
    assert alone["invocations"] == 5
    assert alone["billed_gb_s"] == pytest.approx((4 * 1.001 + 0.5) * 2)


@pytest.mark.integration
def test_a_run_with_chunksize_2_bills_one_request_per_invocation(compose):
    from aqstudy.study.runner import run_study

    result = run_study(compose("workers=2", "chunksize=2"))
    assert result.status == "FINISHED", result.error
    objects = int(result.params["objects"])
    assert objects >= 3
    invocations = -(-objects // 2) + 1  # the maps two at a time, then the reduce
    assert result.metrics["invocations"] == invocations < result.metrics["calls"]
    assert result.metrics["cost_requests_usd"] == pytest.approx(invocations * c.LAMBDA_REQUEST_USD)


def test_a_lambda_runs_bill_term_by_term_with_its_warm_up(compose):
    from aqstudy.backends.warm_up import WarmUp

    cfg = compose("backend=aws_lambda", "storage=s3", "memory=1024", "region=us-east-1", "bucket_region=eu-west-1",
                  "backend.architecture=arm64", "backend.ephemeral_storage_mb=1024", "backend.cold_init_s=0.25",
                  "backend.monitoring_interval=0.5", "backend.reduce_poll_s=0.2")
    calls = _calls(activation_ids=["a", "a", "b", "b"])
    calls[3] = {**calls[3], "worker_start_tstamp": None, "worker_end_tstamp": None, "cold_start": None}  # never ran
    objects = [{"key": f"part-{i}", "size": 1000 * (i + 1)} for i in range(4)]
    warm = WarmUp(calls=3, wall_s=1.5, durations_s=[0.3, 0.4, 0.5], cold_starts=2)
    metrics, tags = cost_metrics(cfg, calls=calls, chunksize=2, objects=objects, duration_s=6.0, warm=warm)

    # By hand: invocations {0, 1}, {2}, the reduce; cold ones the same three. Three objects read across regions.
    usage = c.RunUsage(invocation_durations_s=(2.0008, 1.0004, 0.5), memory_mb=1024, region="us-east-1",
                       bucket_region="eu-west-1", architecture="arm64", init_durations_s=(0.25,) * 3,
                       ephemeral_mb=1024, data_requests=c.S3Requests(get=3), data_bytes_read=1000 + 2000 + 3000,
                       lithops_requests=c.lithops_requests(jobs=2, invocations=3, map_calls=4, reduce_calls=1,
                                                           duration_s=6.0, monitoring_interval_s=0.5,
                                                           reduce_poll_s=0.2))
    bill = c.run_cost(usage)
    warm_bill = c.run_cost(c.RunUsage(
        invocation_durations_s=(0.3, 0.4, 0.5), memory_mb=1024, region="us-east-1", bucket_region="eu-west-1",
        architecture="arm64", init_durations_s=(0.25, 0.25), ephemeral_mb=1024,
        lithops_requests=c.lithops_requests(jobs=1, invocations=3, map_calls=3, reduce_calls=0, duration_s=1.5,
                                            monitoring_interval_s=0.5)))
    expected = {**bill.metrics(), "invocations": 3,
                "s3_get_requests": 3 + usage.lithops_requests.get, "s3_put_requests": usage.lithops_requests.put,
                "s3_list_requests": usage.lithops_requests.list, "warmup_cost_usd": warm_bill.total_usd,
                "warmup_s": 1.5, "warmup_calls": 3, "warmup_cold_starts": 2}
    assert metrics == pytest.approx(expected, rel=1e-12)
    assert bill.init_usd > 0 and bill.ephemeral_usd > 0 and bill.transfer_usd > 0 and usage.lithops_requests.list > 0
    assert tags == {"cost_init": "assumed 0.25 s per cold start",
                    "cost_polling": "as this run polled: a LIST of the job's statuses every 0.5 s, the reduce's "
                                    "status read every 0.2 s",
                    "cost_invocations": "2 map call(s) per invocation and the reduce alone, each billed for its own "
                                        "calls' execution time"}
    # Without a warm-up nothing of it is priced; on localhost no INIT is.
    plain, _ = cost_metrics(cfg, calls=calls, chunksize=2, objects=objects, duration_s=6.0)
    assert "warmup_cost_usd" not in plain
    local, local_tags = cost_metrics(compose("memory=1024"), calls=calls, chunksize=2, objects=objects,
                                     duration_s=6.0)
    assert local["cost_init_usd"] == 0 and local_tags["cost_init"] == "not priced (no Lambda INIT on this backend)"


def test_objects_whose_maps_left_no_row_are_not_billed(compose):
    # An interrupted job: rows for the first two maps only (the first never started).
    calls = _calls(activation_ids=["a", "a", "b", "b"])[:2]
    calls[0] = {**calls[0], "worker_start_tstamp": None, "worker_end_tstamp": None}
    objects = [{"key": f"part-{i}", "size": 1000 * (i + 1)} for i in range(4)]
    cfg = compose("bucket_region=eu-west-1")
    metrics, _ = cost_metrics(cfg, calls=calls, chunksize=2, objects=objects, duration_s=1.0)
    assert metrics["transfer_gb"] == pytest.approx(2000 / 2**30)  # the second object only
