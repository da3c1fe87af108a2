"""Integration: whole study runs with Lithops localhost compute and S3 storage on a local S3-compatible server."""

from __future__ import annotations

import logging
import math
import pathlib
import uuid

import pytest

from aqstudy.measure import cost as c
from aqstudy.study.runner import StudyError, run_study
from tests.conftest import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

pytestmark = pytest.mark.integration


def _s3(s3_server, *overrides: str) -> tuple[str, ...]:
    """Overrides for storage=s3 on the test server, with a Lithops bucket of the test's own."""
    return ("storage=s3", f"storage.endpoint_url={s3_server.endpoint}",
            f"storage.lithops_bucket=lithops-{uuid.uuid4().hex[:10]}", *overrides)


def test_cross_region_s3_run_matches_localhost_storage_and_pays_transfer(compose, s3_server, mlflow_client):
    reference = run_study(compose("workers=2"))
    assert reference.status == "FINISHED", reference.error
    cfg = compose(*_s3(s3_server, "workers=2", "region=us-east-1", "bucket_region=eu-west-1"))
    result = run_study(cfg)
    assert result.status == "FINISHED", result.error
    assert result.tags["result_sha256"] == reference.tags["result_sha256"]
    assert result.tags["dataset_sha256"] == reference.tags["dataset_sha256"]
    assert result.tags["data_locality"] == "cross-region"
    client = s3_server.client()
    assert client.get_bucket_location(Bucket=cfg.storage.bucket)["LocationConstraint"] == "eu-west-1"
    assert client.get_bucket_location(Bucket=cfg.storage.lithops_bucket)["LocationConstraint"] is None
    metrics = mlflow_client.get_run(result.run_id).data.metrics
    input_bytes = int(mlflow_client.get_run(result.run_id).data.params["input_bytes"])
    assert metrics["transfer_gb"] == pytest.approx(input_bytes / 2**30)
    assert metrics["cost_transfer_usd"] == pytest.approx(input_bytes / 2**30 * 0.02)
    assert metrics["cost_transfer_usd"] > 0
    terms = [c.cost_metric(term) for term in c.COST_TERMS]
    assert metrics["cost_usd"] == pytest.approx(sum(metrics[name] for name in terms))
    assert reference.metrics["cost_transfer_usd"] == 0


def test_the_s3_request_model_matches_what_lithops_really_sent(compose, s3_server):
    cfg = compose(*_s3(s3_server, "workers=2", "chunksize=2"))
    lithops_bucket = cfg.storage.lithops_bucket
    result = run_study(cfg)
    assert result.status == "FINISHED", result.error
    lines = [line for line in s3_server.requests() if line.split(" ")[1].startswith(f"/{lithops_bucket}/lithops.jobs/")]
    puts = sum(1 for line in lines if line.startswith("PUT "))
    gets = sum(1 for line in lines if line.startswith("GET "))
    calls = int(result.metrics["calls"])
    maps = calls - 1
    # PUTs are deterministic: each job's function and data, and per call an init marker, a status, a result.
    assert puts == 2 * c.LITHOPS_PUTS_PER_JOB + calls * c.LITHOPS_PUTS_PER_CALL
    # GETs: each map's result is read by the reducer and the reduce's by the host; on localhost the runner
    # fetches function and data once per job (Lambda: per invocation). Status reads depend on when the
    # host's monitor looks, so the model's two per map call are an upper bound; so is its count of the host's
    # own reads of the reduce's status (one per backend.reduce_poll_s of the job's duration).
    gets_of = {kind: sum(1 for line in lines if line.startswith("GET ") and kind in line)
               for kind in ("output.pickle", "status.json", "func.pickle", "aggdata.pickle")}
    assert gets_of["output.pickle"] == calls
    assert gets_of["func.pickle"] + gets_of["aggdata.pickle"] == 2 * c.LITHOPS_GETS_PER_INVOCATION
    polls = math.ceil(result.metrics["duration_s"] / cfg.backend.reduce_poll_s)
    assert gets_of["status.json"] <= (maps * (c.LITHOPS_GETS_PER_MAP_CALL - 1) + (c.LITHOPS_GETS_PER_REDUCE_CALL - 1)
                                      + polls)
    assert gets == sum(gets_of.values())
    data_gets = [line for line in s3_server.requests()
                 if line.startswith(f"GET /{cfg.storage.bucket}/datasets/") and "manifest" not in line]
    assert len(data_gets) >= maps  # one GET per object read (staging may read the manifest only)
    assert result.metrics["s3_put_requests"] == puts
    # Priced as Lambda would run and poll the job (conf/backend/aws_lambda.yaml), not as this localhost host
    # did: the results read as sent, function and data fetched per invocation (3 here: chunksize 2 and the
    # reduce), the statuses read as Lambda's monitor would (two per map call, one of the reduce), never the
    # host's own reads of the reduce's status every 0.01 s here; and one GET per object read.
    assert "backend=aws_lambda would poll" in result.tags["cost_polling"]
    assert result.metrics["invocations"] == 3
    status_reads = maps * (c.LITHOPS_GETS_PER_MAP_CALL - 1) + (c.LITHOPS_GETS_PER_REDUCE_CALL - 1)
    assert result.metrics["s3_get_requests"] == (3 * c.LITHOPS_GETS_PER_INVOCATION + gets_of["output.pickle"]
                                                 + status_reads + maps)
    assert result.metrics["s3_list_requests"] >= 1


def test_no_credential_reaches_mlflow_params_tags_artifacts_or_logs(compose, s3_server, mlflow_client, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    result = run_study(compose(*_s3(s3_server, "region=us-east-1", "bucket_region=eu-central-1",
                                    "lithops.log_level=DEBUG")))
    assert result.status == "FINISHED", result.error
    run = mlflow_client.get_run(result.run_id)
    texts = [str(run.data.params), str(run.data.tags), str(run.data.metrics), caplog.text]
    root = pathlib.Path(mlflow_client.download_artifacts(result.run_id, ""))
    artifacts = [path for path in root.rglob("*") if path.is_file()]
    assert {"config.yaml", "calls.csv", "result.csv"} <= {path.name for path in artifacts}
    texts += [path.read_bytes().decode(errors="replace") for path in artifacts]
    captured = capfd.readouterr()
    texts += [captured.out, captured.err]
    assert "DEBUG" in caplog.text  # the logs were really captured at their most talkative
    for text in texts:
        assert FAKE_ACCESS_KEY_ID not in text
        assert FAKE_SECRET_ACCESS_KEY not in text


def test_a_credential_in_the_config_or_none_at_all_is_refused_before_anything_starts(compose, s3_server,
                                                                                     monkeypatch, mlflow_client):
    from aqstudy.config import ConfigError

    with pytest.raises((StudyError, ConfigError), match="storage.secret_access_key looks like a credential"):
        run_study(compose(*_s3(s3_server, f"+storage.secret_access_key={FAKE_SECRET_ACCESS_KEY}")))
    with pytest.raises((StudyError, ConfigError), match="backend.env.AWS_ACCESS_KEY_ID looks like a credential"):
        run_study(compose(*_s3(s3_server, f"+backend.env.AWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY_ID}")))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StudyError, match="no AWS credentials found; set AWS_PROFILE"):
        run_study(compose(*_s3(s3_server)))
    assert mlflow_client.search_experiments(filter_string="name = 'tests'") == []  # no run was started


def test_a_bucket_in_another_region_fails_the_run_with_the_fix(compose, s3_server, mlflow_client):
    cfg = compose(*_s3(s3_server, "bucket_region=eu-west-1"))
    s3_server.client("eu-central-1").create_bucket(
        Bucket=cfg.storage.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    result = run_study(cfg)
    assert result.status == "FAILED"
    assert "is in eu-central-1, not in bucket_region=eu-west-1" in result.error
    assert mlflow_client.get_run(result.run_id).info.status == "FAILED"


def test_warm_up_and_forced_cold_starts_are_tagged(compose, mlflow_client):
    warm = run_study(compose("workers=2", "warm_up=true"))
    assert warm.status == "FINISHED", warm.error
    assert warm.tags["warm_up"] == "true" and warm.tags["force_cold_start"] == "false"
    assert warm.metrics["warmup_calls"] == 2
    assert warm.metrics["warmup_cost_usd"] > 0
    assert math.isclose(warm.metrics["cost_usd"], sum(warm.metrics[c.cost_metric(t)] for t in c.COST_TERMS))
    cold = run_study(compose("workers=2", "force_cold_start=true"))
    assert cold.status == "FINISHED", cold.error
    tags = mlflow_client.get_run(cold.run_id).data.tags
    assert tags["force_cold_start"] == "true" and tags["cold_start_method"] == "new-process-pool"
    assert cold.metrics["cold_starts"] >= 1
    with pytest.raises(StudyError, match="contradict each other"):
        run_study(compose("warm_up=true", "force_cold_start=true"))
