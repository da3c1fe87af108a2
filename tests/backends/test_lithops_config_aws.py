"""The Lithops config built for backend=aws_lambda and storage=s3, field by field, from composed Hydra configs."""

from __future__ import annotations

import copy
import json

import pytest

from aqstudy.backends.aws_lambda import ROLE_ENV
from aqstudy.backends.lithops_config import build_lithops_config
from aqstudy.storages.s3 import ENDPOINT_ENV
from aqstudy.storages.s3 import STORAGE as S3

FAKE_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # split: no key-shaped literal in the tree

ROLE = "arn:aws:iam::123456789012:role/lithops-aq"
#: The test fixture names a bucket per test; this puts back the config's own naming.
OWN_BUCKET_NAME = "storage.bucket=${.prefix}-${bucket_region}"


def _build(cfg, environ: dict | None = None) -> dict:
    return build_lithops_config(cfg, effective_workers=cfg.workers, environ=environ if environ is not None else {})


def endpoint_environment(storage) -> dict:
    return S3.endpoint_environment(storage)


def test_the_default_lambda_config_field_by_field(compose):
    cfg = compose("backend=aws_lambda", "storage=s3", "workers=64", "memory=1024", "region=eu-west-1",
                  f"backend.execution_role={ROLE}", "storage.prefix=alice-aq", OWN_BUCKET_NAME)
    config = _build(cfg)
    assert config["lithops"] == {"backend": "aws_lambda", "storage": "aws_s3", "log_level": "WARNING",
                                 "data_cleaner": True, "monitoring_interval": 2.0,
                                 "exclude_modules": ["aqstudy"]}  # the image's compiled copy is the one used
    assert config["aws"] == {"region": "eu-west-1"}
    assert config["aws_s3"] == {"region": "eu-west-1", "storage_bucket": "alice-aq-lithops-eu-west-1"}
    assert config["aws_lambda"] == {
        "execution_role": ROLE,
        "region": "eu-west-1",
        "runtime": "lithops-aq:0.1.0",
        "runtime_memory": 1024,
        "runtime_timeout": 900,
        "max_workers": 64,
        "worker_processes": 1,
        "invoke_pool_threads": 64,
        "architecture": "x86_64",
        "ephemeral_storage": 512,
        "env_vars": [],
        "user_tags": {"project": "lithops-aq"},
    }
    assert set(config) == {"lithops", "aws", "aws_s3", "aws_lambda"}
    # The dataset's bucket follows bucket_region (here the compute region).
    assert cfg.storage.bucket == "alice-aq-eu-west-1"


def test_arm64_a_short_timeout_an_endpoint_and_the_role_from_the_environment(compose):
    cfg = compose("backend=aws_lambda", "storage=s3", "workers=512", "memory=3008", "region=us-east-1",
                  "bucket_region=eu-central-1", "backend.architecture=arm64", "backend.timeout_s=300",
                  "backend.ephemeral_storage_mb=2048", "backend.runtime=lithops-aq:arm",
                  "storage.endpoint_url=http://127.0.0.1:9000", "+backend.env.AQ_MODE=study", OWN_BUCKET_NAME)
    config = _build(cfg, environ={ROLE_ENV: ROLE})
    section = config["aws_lambda"]
    assert (section["architecture"], section["runtime_timeout"], section["ephemeral_storage"]) == ("arm64", 300, 2048)
    assert (section["runtime_memory"], section["max_workers"], section["region"]) == (3008, 512, "us-east-1")
    assert section["runtime"] == "lithops-aq:arm"
    assert section["execution_role"] == ROLE
    # Functions reach the same S3 endpoint as the host; Lithops wants name/value pairs.
    assert section["env_vars"] == [{"name": "AQ_MODE", "value": "study"},
                                   {"name": ENDPOINT_ENV, "value": "http://127.0.0.1:9000"}]
    assert config["aws_s3"] == {"region": "us-east-1", "storage_bucket": "aq-study-lithops-us-east-1"}
    assert cfg.storage.bucket == "aq-study-eu-central-1"
    assert endpoint_environment(cfg.storage) == {ENDPOINT_ENV: "http://127.0.0.1:9000"}


def test_lithops_own_loaders_accept_the_sections_and_read_every_key_we_set(compose):
    from lithops.serverless.backends.aws_lambda import config as lambda_config
    from lithops.storage.backends.aws_s3 import config as s3_config

    cfg = compose("backend=aws_lambda", "storage=s3", "workers=16", "memory=2048",
                  f"backend.execution_role={ROLE}")
    ours = _build(cfg)
    loaded = copy.deepcopy(ours)
    lambda_config.load_config(loaded)
    s3_config.load_config(loaded)
    # Lithops kept every value we chose (it clamps memory and timeout silently; ours are in range).
    for key, value in ours["aws_lambda"].items():
        assert loaded["aws_lambda"][key] == value, key
    known = set(lambda_config.DEFAULT_CONFIG_KEYS) | set(lambda_config.REQ_PARAMS) | {"region", "runtime"}
    assert set(ours["aws_lambda"]) <= known
    assert loaded["aws_s3"]["region"] == "us-east-1"


def test_localhost_compute_with_s3_storage(compose):
    cfg = compose("storage=s3", "region=us-east-1", "bucket_region=eu-west-1")
    config = _build(cfg)
    assert config["lithops"]["backend"] == "localhost" and config["lithops"]["storage"] == "aws_s3"
    assert config["localhost"]["worker_processes"] == cfg.workers
    assert config["aws_s3"]["region"] == "us-east-1"
    assert "aws_lambda" not in config


def test_credentials_never_enter_the_lithops_config(compose, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    cfg = compose("backend=aws_lambda", "storage=s3", f"backend.execution_role={ROLE}")
    text = json.dumps(build_lithops_config(cfg, effective_workers=2))
    assert FAKE_ID not in text and "EXAMPLEKEY" not in text
    assert "access_key" not in text and "secret" not in text


@pytest.mark.parametrize(("overrides", "message"), [
    (("backend=aws_lambda", "storage=s3"), "needs an execution role; pass backend.execution_role="),
    (("backend=aws_lambda", "storage=s3", "backend.execution_role=lithops"), "is not a role ARN"),
    (("backend=aws_lambda", f"backend.execution_role={ROLE}"), "pass storage=s3"),
    (("backend=aws_lambda", "storage=s3", f"backend.execution_role={ROLE}", "backend.timeout_s=901"),
     "backend.timeout_s=901 is not valid; pass seconds between 1 and 900"),
    (("backend=aws_lambda", "storage=s3", f"backend.execution_role={ROLE}", "backend.architecture=arm"),
     "choose x86_64 or arm64"),
    (("backend=aws_lambda", "storage=s3", f"backend.execution_role={ROLE}", "backend.runtime=''"),
     "backend.runtime is not set"),
])
def test_a_lambda_config_that_cannot_work_is_refused_with_the_fix(compose, overrides, message):
    from aqstudy.config.validation import validate

    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        validate(compose(*overrides))


def test_the_lithops_cli_gets_the_same_config_as_a_run(compose, capsys, monkeypatch):
    import yaml

    from aqstudy.backends.lithops_yaml import main

    monkeypatch.setenv(ROLE_ENV, ROLE)
    overrides = ["backend=aws_lambda", "storage=s3", "workers=32", "memory=1769", "region=eu-central-1"]
    assert main(overrides) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    cfg = compose(*overrides)
    assert printed == _build(cfg, environ={ROLE_ENV: ROLE})
    monkeypatch.delenv(ROLE_ENV)
    assert main(overrides) == 2
    assert "needs an execution role" in capsys.readouterr().err
