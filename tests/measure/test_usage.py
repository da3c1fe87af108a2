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
