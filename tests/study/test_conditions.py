"""Run conditions: what is recorded with a run, and how a report lists them."""

from __future__ import annotations

import platform

import pytest

from aqstudy.study import conditions as c


def test_client_and_invoker_threads():
    params = c.client_params()
    assert params[c.CLIENT_PYTHON].endswith(platform.python_version())
    assert params[c.CLIENT_PLATFORM]
    lambda_config = {"lithops": {"backend": "aws_lambda"}, "aws_lambda": {"invoke_pool_threads": 64}}
    assert c.invoker_threads(lambda_config) == 64
    assert c.invoker_threads({"lithops": {"backend": "localhost"}, "localhost": {}}) == c.NO_INVOKER_POOL


def test_machine_load_per_core():
    assert c.machine_load((3.0, 2.0, 1.0), cpu_count=2) == {c.LOAD_1M: 3.0, c.LOAD_PER_CORE: 1.5, c.CPU_COUNT: 2}
    assert set(c.machine_load()) == {c.LOAD_1M, c.LOAD_PER_CORE, c.CPU_COUNT}


def test_account_concurrency_read_through_the_real_api_shape():
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_response("get_account_settings", {"AccountLimit": {
            "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 900}})
        metrics, note = c.account_concurrency(client)
    assert metrics == {c.ACCOUNT_CONCURRENCY: 1000.0, c.ACCOUNT_UNRESERVED: 900.0} and note is None
    with Stubber(client) as stub:
        stub.add_client_error("get_account_settings", service_error_code="AccessDeniedException", http_status_code=403)
        metrics, note = c.account_concurrency(client)
    assert metrics == {} and "AccessDeniedException" in note


def test_report_header_lines_list_the_conditions():
    params = [{c.CLIENT_PYTHON: "CPython 3.11.9", c.CLIENT_PLATFORM: "Linux-6.1-x86_64", c.INVOKER_THREADS: "64"},
              {c.CLIENT_PYTHON: "CPython 3.11.9", c.CLIENT_PLATFORM: "Linux-6.1-x86_64", c.INVOKER_THREADS: "64"}]
    metrics = [{c.LOAD_PER_CORE: 0.25, c.ACCOUNT_CONCURRENCY: 1000.0}, {c.LOAD_PER_CORE: 1.75}]
    lines = c.describe(params, metrics)
    assert lines[0] == "Client: CPython 3.11.9 on Linux-6.1-x86_64."
    assert lines[1] == "Lithops invoker threads: 64."
    assert lines[2].startswith("Machine load at start: 0.25–1.75 per core")
    assert lines[3] == "AWS account concurrency limit: 1000."
    assert c.describe([{}], [{}]) == ["Client: not recorded on not recorded.", "Lithops invoker threads: not recorded.",
                                      "Machine load at start: not recorded."]


@pytest.mark.parametrize("error", [OSError("no load average here")])
def test_machine_without_load_average(monkeypatch, error):
    def fail():
        raise error

    monkeypatch.setattr(c.os, "getloadavg", fail)
    assert c.machine_load() == {}
