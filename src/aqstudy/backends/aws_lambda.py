"""AWS Lambda through Lithops: ``memory`` is the function memory, ``workers`` the functions running at once
(Lithops' ``max_workers``), ``region`` the compute region. Needs ``storage=s3`` and credentials from the
standard AWS chain; see docs/aws.md for the runtime image and the execution role.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import MISSING

from aqstudy.backends.base import Backend, LambdaPolling
from aqstudy.config import ConfigError
from aqstudy.config.schema import BackendConfig

# ruff: noqa: UP045  (OmegaConf reads Optional[...] at runtime)

log = logging.getLogger(__name__)

#: Environment variable naming the Lambda execution role when ``backend.execution_role`` is not set.
ROLE_ENV = "AWS_LAMBDA_ROLE_ARN"
#: Lambda's limits (Lithops clamps silently; we refuse with the fix instead).
LAMBDA_TIMEOUT_MAX_S = 900
LAMBDA_ARCHITECTURES = ("x86_64", "arm64")
LAMBDA_EPHEMERAL_MB = (512, 10240)
#: Environment variable changed on the Lambda function to force new execution environments.
COLD_NONCE_ENV = "AQSTUDY_COLD_START_NONCE"


@dataclass
class AwsLambdaBackendConfig(BackendConfig):
    """``conf/backend/aws_lambda.yaml``."""

    runtime: str = MISSING
    architecture: str = MISSING
    timeout_s: int = MISSING
    execution_role: Optional[str] = MISSING
    ephemeral_storage_mb: int = MISSING
    invoke_pool_threads: int = MISSING
    env: dict[str, str] = MISSING
    cold_init_s: float = MISSING


def execution_role(backend: Any, environ: Mapping[str, str] | None = None) -> str:
    """The Lambda execution role: ``backend.execution_role``, else ``$AWS_LAMBDA_ROLE_ARN``."""
    environ = os.environ if environ is None else environ
    role = backend.execution_role or environ.get(ROLE_ENV)
    if not role:
        raise ConfigError(
            f"backend=aws_lambda needs an execution role; pass backend.execution_role=arn:aws:iam::ACCOUNT:role/NAME "
            f"or set {ROLE_ENV} (a role Lambda can assume, with S3 access to the buckets)"
        )
    if not str(role).startswith("arn:aws"):
        raise ConfigError(f"backend.execution_role={role!r} is not a role ARN; pass arn:aws:iam::ACCOUNT:role/NAME")
    return str(role)


def aws_lambda_section(*, backend: Any, endpoint_env: Mapping[str, str], workers: int, memory_mb: int, region: str,
                       environ: Mapping[str, str] | None = None) -> dict:
    """The ``aws_lambda`` section, with exactly the keys Lithops' aws_lambda ``load_config`` reads.

    :param backend: the ``backend`` config (``runtime``, ``timeout_s``, ``architecture`` …).
    :param endpoint_env: the storage's endpoint variables, passed on to the functions.
    :param workers: functions running at once: Lithops' ``max_workers`` (the run's concurrency).
    :param memory_mb: function memory in MB: Lithops' ``runtime_memory``.
    :param region: the compute region.
    """
    timeout_s = int(backend.timeout_s)
    if not 1 <= timeout_s <= LAMBDA_TIMEOUT_MAX_S:
        raise ConfigError(f"backend.timeout_s={timeout_s} is not valid; pass seconds between 1 and "
                          f"{LAMBDA_TIMEOUT_MAX_S} (Lambda's limit)")
    if backend.architecture not in LAMBDA_ARCHITECTURES:
        raise ConfigError(f"backend.architecture={backend.architecture!r} is not valid; choose x86_64 or arm64")
    ephemeral_mb = int(backend.ephemeral_storage_mb)
    if not LAMBDA_EPHEMERAL_MB[0] <= ephemeral_mb <= LAMBDA_EPHEMERAL_MB[1]:
        raise ConfigError(f"backend.ephemeral_storage_mb={ephemeral_mb} is not valid; pass MB between 512 and 10240")
    if not backend.runtime:
        raise ConfigError("backend.runtime is not set; pass the container runtime built with "
                          "runtime/aws_lambda.Dockerfile (see docs/aws.md), e.g. backend.runtime=lithops-aq:0.1.0")
    env = {**endpoint_env, **{str(k): str(v) for k, v in backend.env.items()}}
    return {
        "execution_role": execution_role(backend, environ),
        "region": region,
        "runtime": str(backend.runtime),
        "runtime_memory": int(memory_mb),
        "runtime_timeout": timeout_s,
        "max_workers": int(workers),
        "worker_processes": 1,
        "invoke_pool_threads": int(backend.invoke_pool_threads),
        "architecture": backend.architecture,
        "ephemeral_storage": ephemeral_mb,
        # Lithops turns this list of name/value pairs into the function's environment.
        "env_vars": [{"name": key, "value": value} for key, value in sorted(env.items())],
        "user_tags": {"project": "lithops-aq"},
    }


def refresh_execution_environments(lambda_client, *, function_name: str, nonce: str) -> bool:
    """Make the next invocations of ``function_name`` start cold, by changing its configuration.

    Lambda retires a function's execution environments when its configuration changes; a new value of
    :data:`COLD_NONCE_ENV` is the smallest such change (memory and code stay what the run measures).

    :return: True when the function was updated, False when it does not exist yet (its first calls are cold).
    """
    try:
        current = lambda_client.get_function_configuration(FunctionName=function_name)
    except lambda_client.exceptions.ResourceNotFoundException:
        return False
    variables = dict(current.get("Environment", {}).get("Variables", {}))
    variables[COLD_NONCE_ENV] = nonce
    lambda_client.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=function_name)
    return True


@dataclass(frozen=True)
class BillingSource:
    """Where Lambda reports what it billed a run: the function's log group, in the run's region."""

    log_group: str
    region: str


def job_request_ids(calls: list[dict]) -> set[str]:
    """The run's invocations as Lambda knows them: the request ids (Lithops' activation ids) of calls that ran."""
    return {str(row["activation_id"]) for row in calls
            if row.get("activation_id") and row.get("worker_start_tstamp") is not None}


class AwsLambdaBackend(Backend):
    name = "aws_lambda"
    lithops_name = "aws_lambda"

    def check(self, cfg: Any) -> None:
        if cfg.storage.name == "localhost":
            raise ConfigError("backend=aws_lambda cannot reach Lithops' localhost storage; pass storage=s3")

    def lithops_sections(self, cfg: Any, *, effective_workers: int, python: str | None,
                         environ: dict[str, str] | None) -> dict[str, dict]:
        from aqstudy.storages import storage_named

        endpoint_env = storage_named(cfg.storage.name).endpoint_environment(cfg.storage)
        return {
            "aws_lambda": aws_lambda_section(backend=cfg.backend, endpoint_env=endpoint_env, workers=effective_workers,
                                             memory_mb=cfg.memory, region=cfg.region, environ=environ),
            "aws": {"region": cfg.region},
            # The runtime image holds the package with its scanner compiled for Lambda (runtime/aws_lambda.Dockerfile):
            # a copy shipped with each job, built on the host, would be imported instead.
            "lithops": {"exclude_modules": ["aqstudy"]},
        }

    def force_cold_start(self, executor: Any, cfg: Any) -> str:
        # Lithops names its function after the runtime and memory; these two attributes are its own.
        backend = executor.compute_handler.backend
        name = backend._format_function_name(cfg.backend.runtime, cfg.memory)
        updated = refresh_execution_environments(backend.lambda_client, function_name=name, nonce=uuid.uuid4().hex)
        return "configuration-updated" if updated else "first-deployment"

    def cold_init_s(self, backend: Any) -> float:
        return float(backend.cold_init_s)

    def lambda_pricing(self, backend: Any) -> tuple[str, int]:
        return backend.architecture, int(backend.ephemeral_storage_mb)

    def cold_init_note(self, backend: Any) -> str:
        return f"assumed {backend.cold_init_s} s per cold start"

    def lambda_polling(self, backend: Any) -> LambdaPolling:
        poll = backend.reduce_poll_s
        return LambdaPolling(float(backend.monitoring_interval), poll, (
            f"as this run polled: a LIST of the job's statuses every {float(backend.monitoring_interval):g} s, the "
            + (f"reduce's status read every {float(poll):g} s" if poll else "reduce's status through Lithops' wait")))

    def run_conditions(self, cfg: Any) -> tuple[dict[str, float], dict[str, str]]:
        import boto3

        from aqstudy.study.conditions import ACCOUNT_CONCURRENCY, account_concurrency

        try:
            client = boto3.client("lambda", region_name=cfg.region)
        except Exception as error:  # no region or credentials configured: the run itself will say so
            return {}, {ACCOUNT_CONCURRENCY: f"not readable ({type(error).__name__})"}
        metrics, note = account_concurrency(client)
        return metrics, ({ACCOUNT_CONCURRENCY: note} if note else {})

    def billing_source(self, executor: Any, cfg: Any) -> BillingSource | None:
        # Lithops names its function after the runtime and memory; these two attributes are its own.
        try:
            backend = executor.compute_handler.backend
            name = backend._format_function_name(cfg.backend.runtime, cfg.memory)
        except Exception as error:  # billing is a check: a Lithops change must not fail the run
            log.warning("the Lambda function's name is unknown, so its billing is not read: %s", error)
            return None
        return BillingSource(log_group=f"/aws/lambda/{name}", region=cfg.region)

    def billed(self, source: BillingSource, cfg: Any, *, calls: list[dict], cost_metrics: dict[str, float],
               submitted_at: float) -> tuple[dict[str, float], dict[str, str]]:
        import boto3

        from aqstudy.measure import billing

        request_ids = job_request_ids(calls)
        if not request_ids:
            return {}, {}
        try:
            logs = boto3.client("logs", region_name=source.region)
        except Exception as error:
            return {}, {"billing_error": f"{type(error).__name__}: {error}"[:500]}
        read = billing.read_reports(logs, log_group=source.log_group, request_ids=request_ids,
                                    start_ms=int((submitted_at - 60) * 1000), wait_s=float(cfg.billing.wait_s))
        architecture, ephemeral_mb = self.lambda_pricing(cfg.backend)
        return billing.billing_outcome(read, expected=len(request_ids), region=cfg.region, architecture=architecture,
                                       ephemeral_mb=ephemeral_mb, cost_metrics=cost_metrics,
                                       wait_s=float(cfg.billing.wait_s))


SCHEMA = AwsLambdaBackendConfig
BACKEND = AwsLambdaBackend()
