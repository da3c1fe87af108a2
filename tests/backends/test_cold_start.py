"""Forcing cold starts on Lambda: the function's configuration changes, so its environments are retired."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import pytest

from aqstudy.backends.aws_lambda import COLD_NONCE_ENV, refresh_execution_environments
from aqstudy.measure.usage import cold_invocations

pytestmark = pytest.mark.integration


def _function(s3_server) -> tuple[object, str]:
    iam = s3_server.client("us-east-1", service="iam")
    role = iam.create_role(RoleName=f"lithops-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def main(event, context):\n    return event\n")
    client = s3_server.client("us-east-1", service="lambda")
    name = f"lithops-worker-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="handler.main",
                           Code={"ZipFile": code.getvalue()}, MemorySize=2048,
                           Environment={"Variables": {"AWS_ENDPOINT_URL_S3": "http://example"}})
    return client, name


def test_a_new_nonce_is_set_and_the_functions_other_settings_stay(s3_server):
    client, name = _function(s3_server)
    assert refresh_execution_environments(client, function_name=name, nonce="first") is True
    variables = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert variables == {"AWS_ENDPOINT_URL_S3": "http://example", COLD_NONCE_ENV: "first"}
    assert refresh_execution_environments(client, function_name=name, nonce="second") is True
    configuration = client.get_function_configuration(FunctionName=name)
    assert configuration["Environment"]["Variables"][COLD_NONCE_ENV] == "second"
    assert configuration["MemorySize"] == 2048


def test_a_function_not_deployed_yet_needs_nothing(s3_server):
    client = s3_server.client("us-east-1", service="lambda")
    assert refresh_execution_environments(client, function_name="lithops-worker-missing", nonce="x") is False


def test_calls_packed_in_one_invocation_count_one_cold_start():
    # Invocations follow the chunking, whatever the activation ids say (localhost gives the job one id).
    def call(index, cold):
        return {"phase": "map", "call_id": f"M000-{index:05d}", "activation_id": "one-id", "cold_start": cold,
                "worker_start_tstamp": 1.0, "worker_end_tstamp": 2.0}

    calls = [call(0, True), call(1, True), call(2, False), call(3, True), call(4, False)]
    assert cold_invocations(calls, chunksize=2) == 2  # {0, 1} and {2, 3}; {4} started warm
    assert cold_invocations(calls, chunksize=1) == 3
