"""Billed cost from CloudWatch Logs REPORT lines: the parser, the pricing, and the reader against moto."""

from __future__ import annotations

import json
import time

import pytest

from aqstudy.measure import billing as b
from aqstudy.measure import cost as c

LOG_GROUP = "/aws/lambda/lithops-worker-aq-2048"


def report_line(request_id: str, *, duration_ms: float, billed_ms: int, memory_mb: int, used_mb: int,
                init_ms: float | None = None) -> str:
    """A REPORT line exactly as Lambda writes it (tab-separated fields, a trailing tab, a newline)."""
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed_ms} ms\t"
            f"Memory Size: {memory_mb} MB\tMax Memory Used: {used_mb} MB\t")
    if init_ms is not None:
        line += f"Init Duration: {init_ms:.2f} ms\t"
    return line + "\n"


def test_parse_text_report_with_and_without_init():
    cold = b.parse_report(report_line("8f507cfc-xmpl-4697-b07a-ac58fc914c95", duration_ms=15.74, billed_ms=150,
                                      memory_mb=128, used_mb=56, init_ms=133.64))
    assert cold == b.InvocationReport("8f507cfc-xmpl-4697-b07a-ac58fc914c95", 0.01574, 0.150, 128, 56, 0.13364)
    warm = b.parse_report(report_line("r2", duration_ms=1000.5, billed_ms=1001, memory_mb=2048, used_mb=300))
    assert warm.init_duration_s is None
    assert warm.billed_duration_s == pytest.approx(1.001)


def test_parse_older_format_xray_and_json():
    # Older lines had a space before the tab after Billed Duration; X-Ray adds a second line.
    older = ("REPORT RequestId: abc\tDuration: 1234.56 ms\tBilled Duration: 1300 ms \tMemory Size: 1024 MB\t"
             "Max Memory Used: 123 MB\t\nXRAY TraceId: 1-5d9f\tSegmentId: 3d9c\tSampled: true\t\n")
    assert b.parse_report(older) == b.InvocationReport("abc", 1.23456, 1.3, 1024, 123, None)
    event = {"time": "2026-01-01T00:00:00.000Z", "type": "platform.report",
             "record": {"requestId": "j1", "metrics": {"durationMs": 10.5, "billedDurationMs": 200,
                                                       "memorySizeMB": 512, "maxMemoryUsedMB": 90,
                                                       "initDurationMs": 189.0}, "status": "success"}}
    assert b.parse_report(json.dumps(event)) == b.InvocationReport("j1", 0.0105, 0.2, 512, 90, 0.189)


@pytest.mark.parametrize("message", [
    "START RequestId: abc Version: $LATEST", "END RequestId: abc", "2026-01-01T00:00:00Z abc INFO hello",
    "REPORT RequestId: abc\tDuration: x ms", '{"type": "platform.start"}', "{not json",
])
def test_other_lines_are_not_reports(message):
    assert b.parse_report(message) is None


def test_billed_metrics_priced_with_the_cost_table():
    reports = [b.InvocationReport("a", 0.99, 1.0, 1024, 200, 0.5), b.InvocationReport("b", 1.9, 2.0, 2048, 400)]
    metrics = b.billed_metrics(reports, region="us-east-1")
    gb_s = 1.0 * 1 + 2.0 * 2
    assert metrics[b.REPORTED_GB_S] == pytest.approx(gb_s)
    assert metrics[b.BILLED_COST_USD] == pytest.approx(gb_s * 0.0000166667 + 2 * 0.20 / 1e6)
    assert metrics[b.INIT_DURATION_S_SUM] == pytest.approx(0.5)
    assert metrics[b.MAX_MEMORY_USED_MB] == 400
    arm = b.billed_metrics(reports, region="us-east-1", architecture="arm64", ephemeral_mb=1024)
    assert arm[b.BILLED_COST_USD] == pytest.approx(gb_s * 0.0000133334 + 2 * 0.20 / 1e6 + 0.5 * 3.0 * 0.0000000309)


# --- the reader, against moto's CloudWatch Logs ------------------------------------------------------------------

@pytest.fixture
def logs(monkeypatch):
    """A boto3 CloudWatch Logs client on moto (in process), with obviously fake credentials."""
    from moto import mock_aws

    from tests.conftest import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        import boto3

        yield boto3.client("logs", region_name="us-east-1")


def _write_invocations(logs, invocations: dict[str, dict], *, stream: str = "2026/01/01/[$LATEST]abc") -> None:
    """Each invocation's START, a line of the function's own, END and REPORT, as Lambda writes them."""
    try:
        logs.create_log_group(logGroupName=LOG_GROUP)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    now = int(time.time() * 1000)
    events = []
    for request_id, figures in invocations.items():
        events += [f"START RequestId: {request_id} Version: $LATEST\n",
                   f"2026-01-01T00:00:00.000Z\t{request_id}\tINFO\tREPORT of the map: 25 MB read\n",
                   f"END RequestId: {request_id}\n", report_line(request_id, **figures)]
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                        logEvents=[{"timestamp": now + i, "message": message} for i, message in enumerate(events)])


FIGURES = {
    "11111111-aaaa-4bbb-8ccc-000000000001": dict(duration_ms=2400.31, billed_ms=5401, memory_mb=2048, used_mb=310,
                                                 init_ms=3000.12),
    "11111111-aaaa-4bbb-8ccc-000000000002": dict(duration_ms=2350.02, billed_ms=2351, memory_mb=2048, used_mb=305),
    "11111111-aaaa-4bbb-8ccc-000000000003": dict(duration_ms=410.77, billed_ms=411, memory_mb=2048, used_mb=420),
}


def test_reader_finds_the_jobs_reports_and_leaves_others_out(logs):
    _write_invocations(logs, {**FIGURES, "22222222-warm-up-not-measured": dict(duration_ms=1000.0, billed_ms=1000,
                                                                                memory_mb=2048, used_mb=100)})
    read = b.read_reports(logs, log_group=LOG_GROUP, request_ids=FIGURES, start_ms=0, wait_s=0)
    assert read.error is None and not read.missing
    assert set(read.reports) == set(FIGURES)
    cost_metrics = {c.cost_metric("compute"): 0.0003, c.cost_metric("init"): 0.00005, c.cost_metric("requests"): 6e-7,
                    c.cost_metric("ephemeral"): 0.0, c.cost_metric("s3_get"): 123.0}  # S3 must not count
    metrics, tags = b.billing_outcome(read, expected=3, region="us-east-1", architecture="x86_64",
                                      ephemeral_mb=512, cost_metrics=cost_metrics, wait_s=60)
    gb_s = (5.401 + 2.351 + 0.411) * 2
    billed = gb_s * 0.0000166667 + 3 * 0.2e-6
    assert metrics[b.REPORTED_GB_S] == pytest.approx(gb_s)
    assert metrics[b.BILLED_COST_USD] == pytest.approx(billed)
    assert metrics[b.INIT_DURATION_S_SUM] == pytest.approx(3.00012)
    assert metrics[b.MAX_MEMORY_USED_MB] == 420
    assert metrics[b.INVOCATIONS_UNREPORTED] == 0
    assert metrics[b.COST_MODEL_ERROR_PCT] == pytest.approx(100 * (0.0003506 - billed) / billed)
    assert "billing_missing" not in tags


def test_missing_lines_are_waited_for_with_a_bound_then_said(logs):
    _write_invocations(logs, FIGURES)
    expected = [*FIGURES, "11111111-aaaa-4bbb-8ccc-000000000004"]
    clock = iter(range(0, 1000, 5))
    slept: list[float] = []
    read = b.read_reports(logs, log_group=LOG_GROUP, request_ids=expected, start_ms=0, wait_s=20, poll_s=5,
                          sleep=slept.append, clock=lambda: float(next(clock)))
    assert read.missing == {"11111111-aaaa-4bbb-8ccc-000000000004"}
    assert len(read.reports) == 3
    assert slept and sum(slept) <= 20  # bounded: looked again until wait_s, never longer
    assert read.error is None
    metrics, tags = b.billing_outcome(read, expected=4, region="us-east-1", architecture="x86_64", ephemeral_mb=512,
                                      cost_metrics={}, wait_s=20)
    assert metrics[b.INVOCATIONS_UNREPORTED] == 1
    assert b.COST_MODEL_ERROR_PCT not in metrics  # a partial bill is not compared with the whole model
    assert "1 of 4 invocations had no REPORT line" in tags["billing_missing"]


def test_a_line_that_arrives_late_is_found_on_a_later_look(logs):
    first, late = list(FIGURES.items())[:2], list(FIGURES.items())[2:]
    _write_invocations(logs, dict(first))

    def sleep(_seconds):  # the late line lands while the reader waits
        if late:
            _write_invocations(logs, dict([late.pop()]), stream="2026/01/01/[$LATEST]def")

    read = b.read_reports(logs, log_group=LOG_GROUP, request_ids=FIGURES, start_ms=0, wait_s=60, poll_s=0.01,
                          sleep=sleep)
    assert not read.missing and len(read.reports) == 3


def test_no_log_group_yet_means_missing_not_failure(logs):
    read = b.read_reports(logs, log_group="/aws/lambda/never-invoked", request_ids=["x"], start_ms=0, wait_s=0)
    assert read.missing == {"x"} and read.error is None


def test_a_denied_read_never_raises():
    from botocore.exceptions import ClientError

    class Denied:
        def filter_log_events(self, **_):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "FilterLogEvents")

    read = b.read_reports(Denied(), log_group=LOG_GROUP, request_ids=["x"], start_ms=0, wait_s=30,
                          sleep=lambda _: pytest.fail("a denied read is not retried"))
    assert read.missing == {"x"}
    assert "AccessDeniedException" in read.error
    _, tags = b.billing_outcome(read, expected=1, region="us-east-1", architecture="x86_64", ephemeral_mb=512,
                                cost_metrics={}, wait_s=30)
    assert "AccessDeniedException" in tags["billing_error"]


def test_the_aws_lambda_backend_reads_its_runs_bill_after_the_job(logs):
    """The plug-in's glue: request ids from calls.csv (calls of one invocation share one), the log group named
    after the function, the bound from billing.wait_s, the prices of its architecture."""
    from types import SimpleNamespace

    from aqstudy.backends.aws_lambda import BACKEND, BillingSource, job_request_ids

    _write_invocations(logs, FIGURES)
    ids = list(FIGURES)
    calls = [{"phase": "map", "call_id": "M000-00000", "activation_id": ids[0], "worker_start_tstamp": 1.0},
             {"phase": "map", "call_id": "M000-00001", "activation_id": ids[0], "worker_start_tstamp": 2.0},
             {"phase": "map", "call_id": "M000-00002", "activation_id": ids[1], "worker_start_tstamp": 1.0},
             {"phase": "map", "call_id": "M000-00003", "activation_id": None, "worker_start_tstamp": None},
             {"phase": "reduce", "call_id": "R001-00000", "activation_id": ids[2], "worker_start_tstamp": 3.0}]
    assert job_request_ids(calls) == set(ids)
    cfg = SimpleNamespace(region="us-east-1", billing=SimpleNamespace(wait_s=0),
                          backend=SimpleNamespace(architecture="arm64", ephemeral_storage_mb=512))
    metrics, tags = BACKEND.billed(BillingSource(LOG_GROUP, "us-east-1"), cfg, calls=calls,
                                   cost_metrics={c.cost_metric("compute"): 1e-4}, submitted_at=time.time() - 5)
    assert metrics[b.INVOCATIONS_REPORTED] == 3 and metrics[b.INVOCATIONS_UNREPORTED] == 0
    assert metrics[b.BILLED_COST_USD] == pytest.approx((5.401 + 2.351 + 0.411) * 2 * 0.0000133334 + 3 * 0.2e-6)
    assert b.COST_MODEL_ERROR_PCT in metrics and "billing_missing" not in tags
