"""The one place that turns the Hydra config into a Lithops config (pure: no Lithops import here).

The rest of the code never asks which cloud it is on: it hands this dict to ``FunctionExecutor`` and to
``Storage``.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: Lithops backend names of the config groups.
LOCAL_BACKENDS = ("localhost",)
#: Environment variable naming the Lambda execution role when ``backend.execution_role`` is not set.
ROLE_ENV = "AWS_LAMBDA_ROLE_ARN"
#: Environment variable botocore reads for the S3 endpoint (service-specific, so STS and Lambda stay on AWS).
#: Lithops' ``aws_s3`` storage has no endpoint setting; every boto3 client it makes honours this variable.
ENDPOINT_ENV = "AWS_ENDPOINT_URL_S3"
#: Lambda's limits (Lithops clamps silently; we refuse with the fix instead).
LAMBDA_TIMEOUT_MAX_S = 900
LAMBDA_ARCHITECTURES = ("x86_64", "arm64")
LAMBDA_EPHEMERAL_MB = (512, 10240)


@dataclass(frozen=True)
class Concurrency:
    """Functions asked for and functions that can really run at once on the chosen backend."""

    requested: int
    effective: int
    capped_reason: str | None = None


def local_worker_cap(*, cpu_count: int, total_memory_mb: int, per_worker_mb: int, per_core: int) -> int:
    """How many localhost worker processes this machine can hold.

    :param cpu_count: cores of this machine.
    :param total_memory_mb: its RAM in MB.
    :param per_worker_mb: memory budget of one worker process in MB (a 25 MB object needs ~150 MB).
    :param per_core: worker processes allowed per core (more only adds time-slicing).
    """
    return max(1, min(cpu_count * per_core, total_memory_mb // max(1, per_worker_mb)))


def concurrency(*, workers: int, backend: dict, machine: dict | None = None) -> Concurrency:
    """Effective concurrency: ``workers`` as is on a cloud backend, capped on this machine.

    :param workers: functions running at once, as asked for by the run.
    :param backend: the ``backend`` config group.
    :param machine: ``cpu_count`` and ``total_memory_mb`` (this machine's when omitted).
    """
    if workers < 1:
        raise ValueError(f"workers={workers} must be at least 1")
    if backend["name"] not in LOCAL_BACKENDS:
        return Concurrency(workers, workers)
    machine = machine or this_machine()
    cap = local_worker_cap(
        cpu_count=machine["cpu_count"],
        total_memory_mb=machine["total_memory_mb"],
        per_worker_mb=int(backend.get("per_worker_mb", 256)),
        per_core=int(backend.get("workers_per_core", 2)),
    )
    if workers <= cap:
        return Concurrency(workers, workers)
    reason = (
        f"workers={workers} exceeds what this machine holds ({machine['cpu_count']} cores, "
        f"{machine['total_memory_mb']} MB): running {cap} worker processes"
    )
    return Concurrency(workers, cap, reason)


def this_machine() -> dict:
    """Cores and RAM of this machine."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        total_memory_mb = pages * page_size // 2**20
    except (ValueError, OSError, AttributeError):
        total_memory_mb = 4096
    return {"cpu_count": os.cpu_count() or 1, "total_memory_mb": total_memory_mb}


def resolve_chunksize(chunksize: Any, *, objects: int, workers: int) -> int:
    """Map calls per function invocation; ``auto`` spreads the objects evenly over ``workers`` functions.

    :param chunksize: an integer ≥ 1 or ``"auto"``.
    :param objects: map calls of the job (one per staged object).
    :param workers: functions the study wants running ("N lambdas" in the original study).
    """
    if chunksize in (None, "auto"):
        return max(1, math.ceil(objects / max(1, workers)))
    try:
        value = int(chunksize)
    except (TypeError, ValueError):
        raise ValueError(f"chunksize={chunksize!r} is not valid; pass a whole number ≥ 1 or auto") from None
    if value < 1:
        raise ValueError(f"chunksize={value} is not valid; pass a whole number ≥ 1 or auto")
    return value


def build_lithops_config(
    *, backend: dict, storage: dict, effective_workers: int, memory_mb: int, region: str,
    bucket_region: str, log_level: str = "WARNING", python: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict:
    """The Lithops config dict for one run.

    :param backend: the ``backend`` config group (``name`` plus backend settings).
    :param storage: the ``storage`` config group (``name``, ``bucket`` …).
    :param effective_workers: functions running at once.
    :param memory_mb: function memory in MB (Lambda's ``runtime_memory``; not enforced on localhost).
    :param region: compute region.
    :param bucket_region: region of the bucket holding the data.
    :param log_level: Lithops' log level.
    :param python: interpreter for localhost workers (this one when omitted, so workers see our venv).
    :param environ: where to look up ``AWS_LAMBDA_ROLE_ARN`` (``os.environ`` when omitted).

    Credentials never enter this dict: Lithops sends its config to every function, and its boto3 clients find
    credentials through the standard chain (environment, profile, the function's execution role).
    """
    name = backend["name"]
    config: dict[str, Any] = {
        "lithops": {
            "backend": name,
            "storage": storage["name"],
            "log_level": log_level,
            "data_cleaner": True,
            "monitoring_interval": float(backend.get("monitoring_interval", 0.05)),
        }
    }
    if "retries" in backend:
        config["lithops"]["retries"] = int(backend["retries"])
    if name == "localhost":
        config["localhost"] = {
            "version": int(backend.get("version", 1)),
            "worker_processes": effective_workers,
            "runtime": python or sys.executable,
        }
    elif name == "aws_lambda":
        config["aws_lambda"] = aws_lambda_section(backend=backend, storage=storage, workers=effective_workers,
                                                  memory_mb=memory_mb, region=region, environ=environ)
        config["aws"] = {"region": region}
        # The runtime image holds the package with its scanner compiled (runtime/aws_lambda.Dockerfile): a copy
        # shipped with each job would be imported instead, and compiled again in every new function.
        config["lithops"]["exclude_modules"] = ["aqstudy"]
    else:
        raise ValueError(f"backend {name!r} is not supported; choose localhost or aws_lambda")
    if storage["name"] == "localhost":
        if name != "localhost":
            raise ValueError(f"backend={name} cannot reach Lithops' localhost storage; pass storage=s3")
        config["localhost"] = config.get("localhost", {})
    elif storage["name"] == "s3":
        config["lithops"]["storage"] = "aws_s3"
        config["aws"] = {"region": region}
        # Lithops' own job files and results live in the compute region; only the dataset sits in bucket_region.
        config["aws_s3"] = {"region": region, "storage_bucket": storage["lithops_bucket"]}
    else:
        raise ValueError(f"storage {storage['name']!r} is not supported; choose localhost or s3")
    return config


def endpoint_environment(storage: dict) -> dict[str, str]:
    """Environment variables pointing every boto3 S3 client (host and workers) at ``storage.endpoint_url``."""
    endpoint = storage.get("endpoint_url") if storage.get("name") == "s3" else None
    return {ENDPOINT_ENV: str(endpoint)} if endpoint else {}


def execution_role(backend: dict, environ: Mapping[str, str] | None = None) -> str:
    """The Lambda execution role: ``backend.execution_role``, else ``$AWS_LAMBDA_ROLE_ARN``."""
    environ = os.environ if environ is None else environ
    role = backend.get("execution_role") or environ.get(ROLE_ENV)
    if not role:
        raise ValueError(
            f"backend=aws_lambda needs an execution role; pass backend.execution_role=arn:aws:iam::ACCOUNT:role/NAME "
            f"or set {ROLE_ENV} (a role Lambda can assume, with S3 access to the buckets)"
        )
    if not str(role).startswith("arn:aws"):
        raise ValueError(f"backend.execution_role={role!r} is not a role ARN; pass arn:aws:iam::ACCOUNT:role/NAME")
    return str(role)


def aws_lambda_section(*, backend: dict, storage: dict, workers: int, memory_mb: int, region: str,
                       environ: Mapping[str, str] | None = None) -> dict:
    """The ``aws_lambda`` section, with exactly the keys Lithops' aws_lambda ``load_config`` reads.

    :param backend: the ``backend`` config group (``runtime``, ``timeout_s``, ``architecture`` …).
    :param storage: the ``storage`` config group (its endpoint is passed on to the functions).
    :param workers: functions running at once: Lithops' ``max_workers`` (the run's concurrency).
    :param memory_mb: function memory in MB: Lithops' ``runtime_memory``.
    :param region: the compute region.
    """
    timeout_s = int(backend.get("timeout_s", LAMBDA_TIMEOUT_MAX_S))
    if not 1 <= timeout_s <= LAMBDA_TIMEOUT_MAX_S:
        raise ValueError(f"backend.timeout_s={timeout_s} is not valid; pass seconds between 1 and "
                         f"{LAMBDA_TIMEOUT_MAX_S} (Lambda's limit)")
    architecture = backend.get("architecture", "x86_64")
    if architecture not in LAMBDA_ARCHITECTURES:
        raise ValueError(f"backend.architecture={architecture!r} is not valid; choose x86_64 or arm64")
    ephemeral_mb = int(backend.get("ephemeral_storage_mb", 512))
    if not LAMBDA_EPHEMERAL_MB[0] <= ephemeral_mb <= LAMBDA_EPHEMERAL_MB[1]:
        raise ValueError(f"backend.ephemeral_storage_mb={ephemeral_mb} is not valid; pass MB between 512 and 10240")
    if not backend.get("runtime"):
        raise ValueError("backend.runtime is not set; pass the container runtime built with "
                         "runtime/aws_lambda.Dockerfile (see docs/aws.md), e.g. backend.runtime=lithops-aq:0.1.0")
    env = {**endpoint_environment(storage), **{str(k): str(v) for k, v in (backend.get("env") or {}).items()}}
    return {
        "execution_role": execution_role(backend, environ),
        "region": region,
        "runtime": str(backend["runtime"]),
        "runtime_memory": int(memory_mb),
        "runtime_timeout": timeout_s,
        "max_workers": int(workers),
        "worker_processes": 1,
        "invoke_pool_threads": int(backend.get("invoke_pool_threads", 64)),
        "architecture": architecture,
        "ephemeral_storage": ephemeral_mb,
        # Lithops turns this list of name/value pairs into the function's environment.
        "env_vars": [{"name": key, "value": value} for key, value in sorted(env.items())],
        "user_tags": {"project": "lithops-aq"},
    }
