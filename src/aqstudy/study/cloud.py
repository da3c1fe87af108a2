"""The run's cloud-facing steps, kept apart from ``study.py``: checks before anything starts, the S3 endpoint,
the object store, warm-up, forced cold starts, and the run's cost from what it measured.

Everything here works the same whether the functions run on this machine or on Lambda, and whether the
bucket is Lithops' localhost storage, AWS S3 or a local S3-compatible server.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from aqstudy.backends.lithops_config import build_lithops_config, endpoint_environment
from aqstudy.measure import cost as c
from aqstudy.storages.s3 import AwsSetupError, check_bucket_name, require_credentials
from aqstudy.study.redaction import is_secret_key

log = logging.getLogger(__name__)

#: How long each warm-up call stays busy, so concurrent calls overlap and land on distinct environments.
WARM_UP_CALL_S = 1.0
#: Environment variable changed on the Lambda function to force new execution environments.
COLD_NONCE_ENV = "AQSTUDY_COLD_START_NONCE"
#: Credentials the standard chain reads; a config that sets them is refused (they would be logged and shipped).
_CREDENTIAL_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def _secret_paths(value, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{path}.{key}" if path else str(key)
            if (is_secret_key(str(key)) or str(key).upper() in _CREDENTIAL_NAMES) and inner not in (None, ""):
                yield name
            yield from _secret_paths(inner, name)


def check_config(cfg: dict) -> None:
    """Refuse, before anything starts, a config the cloud path cannot run; the message names the fix."""
    for group in ("backend", "storage", "dataset"):
        for path in _secret_paths(cfg.get(group) or {}, group):
            raise AwsSetupError(
                f"{path} looks like a credential; credentials are never read from the config (they would reach "
                "logs and every function): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY instead"
            )
    backend, storage = cfg["backend"], cfg["storage"]
    if cfg.get("warm_up") and cfg.get("force_cold_start"):
        raise AwsSetupError("warm_up=true and force_cold_start=true contradict each other; pass one of them")
    if storage["name"] == "s3":
        check_bucket_name(storage.get("bucket"), setting="storage.bucket")
        check_bucket_name(storage.get("lithops_bucket"), setting="storage.lithops_bucket")
        if storage["lithops_bucket"] == storage["bucket"] and cfg["region"] != cfg["bucket_region"]:
            raise AwsSetupError("storage.lithops_bucket is the dataset's bucket, which sits in bucket_region; "
                                "Lithops' job files belong in the compute region: pass another storage.lithops_bucket")
        require_credentials()
        endpoint = storage.get("endpoint_url")
        if endpoint and not str(endpoint).startswith(("http://", "https://")):
            raise AwsSetupError(f"storage.endpoint_url={endpoint!r} is not a URL; pass http://HOST:PORT or "
                                "https://HOST, or null for AWS")
    for setting in ("region", "bucket_region"):
        try:
            c.s3_request_price(region=cfg[setting], kind="get")
        except ValueError as error:
            raise AwsSetupError(f"{setting}: {error}") from None
    try:
        build_lithops_config(backend=backend, storage=storage, effective_workers=cfg["workers"],
                             memory_mb=cfg["memory"], region=cfg["region"], bucket_region=cfg["bucket_region"])
    except ValueError as error:
        raise AwsSetupError(str(error)) from None


@contextmanager
def endpoint_env(storage: dict) -> Iterator[None]:
    """Point every boto3 S3 client made meanwhile (ours, Lithops', its local workers') at ``storage.endpoint_url``.

    Environment variables are how Lithops' ``aws_s3`` storage learns an endpoint; they are put back afterwards.
    """
    values = endpoint_environment(storage)
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def open_object_store(cfg: dict, lithops_config: dict):
    """The bucket the dataset is staged into: Lithops' storage on localhost, boto3 on S3.

    On S3 the dataset's bucket is created in ``bucket_region`` and Lithops' in ``region`` when missing; a bucket
    found in another region is refused rather than silently used.
    """
    storage = cfg["storage"]
    if storage["name"] == "s3":
        from aqstudy.storages.s3 import ensure_bucket, open_store, s3_client

        store = open_store(bucket=storage["bucket"], region=cfg["bucket_region"],
                           endpoint_url=storage.get("endpoint_url"), multipart_mb=float(storage.get("multipart_mb", 8)))
        if storage["lithops_bucket"] != storage["bucket"]:
            ensure_bucket(s3_client(region=cfg["region"], endpoint_url=storage.get("endpoint_url")),
                          bucket=storage["lithops_bucket"], region=cfg["region"])
        return store
    from aqstudy.backends import engine
    from aqstudy.data.staging import LithopsObjectStore

    return LithopsObjectStore(engine.make_storage(lithops_config), storage["bucket"])


def run_tags(cfg: dict) -> dict[str, str]:
    """Tags that say how the run was set up: locality, warm-up, forced cold starts, the S3 endpoint."""
    storage = cfg["storage"]
    tags = {
        "data_locality": "same-region" if cfg["region"] == cfg["bucket_region"] else "cross-region",
        "warm_up": str(bool(cfg.get("warm_up"))).lower(),
        "force_cold_start": str(bool(cfg.get("force_cold_start"))).lower(),
    }
    if storage["name"] == "s3":
        tags |= {"lithops_bucket": storage["lithops_bucket"], "s3_endpoint": storage.get("endpoint_url") or "aws"}
    return tags


@dataclass
class WarmUp:
    """The throwaway job run before measuring: its invocations and what they would bill."""

    calls: int
    wall_s: float
    durations_s: list[float] = field(default_factory=list)
    cold_starts: int = 0
    error: str | None = None


def warm_up(lithops_config: dict, *, calls: int) -> WarmUp:
    """Run ``calls`` overlapping throwaway calls, so the measured job finds that many warm environments.

    A fresh executor keeps the warm-up apart from the measured job. On Lambda the environments it leaves
    warm are reused by the next job; Lithops' localhost backend starts a new process pool per job, so there
    the warm-up cannot carry over (the measured run's ``cold_starts`` shows it).
    """
    from aqstudy.backends import engine
    from aqstudy.kernel import functions

    executor = engine.make_executor(lithops_config)
    started = time.time()
    futures = executor.map(functions.warm_call, [WARM_UP_CALL_S] * calls)
    executor.wait(futures, throw_except=False)
    outcome = WarmUp(calls=calls, wall_s=time.time() - started)
    for future in futures:
        stats = future.stats
        if stats.get("worker_start_tstamp") is not None and stats.get("worker_end_tstamp") is not None:
            outcome.durations_s.append(stats["worker_end_tstamp"] - stats["worker_start_tstamp"])
        outcome.cold_starts += bool(stats.get("worker_cold_start"))
        if future.error and outcome.error is None:
            outcome.error = f"warm-up call {future.call_id} failed"
    try:
        executor.clean(clean_cloudobjects=False)
    except Exception as error:  # leftover temp data must not fail a measured run
        log.warning("Lithops could not clean the warm-up's temporary data: %s", error)
    return outcome


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


def force_cold_start(executor, cfg: dict) -> str:
    """Make the measured job start in fresh environments; return how (for the run's tags)."""
    if cfg["backend"]["name"] == "aws_lambda":
        # Lithops names its function after the runtime and memory; these two attributes are its own.
        backend = executor.compute_handler.backend
        name = backend._format_function_name(cfg["backend"]["runtime"], cfg["memory"])
        updated = refresh_execution_environments(backend.lambda_client, function_name=name, nonce=uuid.uuid4().hex)
        return "configuration-updated" if updated else "first-deployment"
    # Lithops' localhost backend starts a new process pool for every job: its first calls are cold already.
    return "new-process-pool"


def cold_invocations(calls: Sequence[dict]) -> int:
    """Invocations whose environment started cold (calls packed into one invocation share it)."""
    cold = {row.get("activation_id") or row["call_id"] for row in calls if row.get("cold_start")}
    return len(cold)


def cold_init_s(backend: dict) -> float:
    """INIT seconds priced per cold start: the backend's assumption on Lambda, none elsewhere."""
    return float(backend.get("cold_init_s", 0) or 0) if backend["name"] == "aws_lambda" else 0.0


def run_usage(cfg: dict, *, calls: Sequence[dict], invocation_durations_s: Sequence[float], objects: Sequence[dict],
              duration_s: float) -> c.RunUsage:
    """What a measured run used, in the units AWS bills (pure: from the calls' rows and the manifest).

    :param calls: the run's ``calls.csv`` rows, maps in the order of ``objects``, then the reduce.
    :param invocation_durations_s: duration of each invocation.
    :param objects: the staged objects (manifest entries) the maps read.
    :param duration_s: how long the host monitored the job.
    """
    backend = cfg["backend"]
    maps = [row for row in calls if row["phase"] == "map"]
    ran = [entry for row, entry in zip(maps, objects, strict=False) if row.get("worker_start_tstamp") is not None]
    init_s = cold_init_s(backend)
    return c.RunUsage(
        invocation_durations_s=tuple(invocation_durations_s),
        memory_mb=int(cfg["memory"]),
        region=cfg["region"],
        bucket_region=cfg["bucket_region"],
        architecture=backend.get("architecture", "x86_64"),
        init_durations_s=(init_s,) * cold_invocations(calls) if init_s else (),
        ephemeral_mb=int(backend.get("ephemeral_storage_mb", c.LAMBDA_FREE_EPHEMERAL_MB)),
        data_requests=c.S3Requests(get=len(ran)),
        data_bytes_read=sum(int(entry["size"]) for entry in ran),
        lithops_requests=c.lithops_requests(
            jobs=2, invocations=len(invocation_durations_s), map_calls=len(maps),
            reduce_calls=len(calls) - len(maps), duration_s=duration_s,
            monitoring_interval_s=float(backend.get("monitoring_interval", 2.0)),
            reduce_poll_s=backend.get("reduce_poll_s"),
        ),
    )


def cost_metrics(cfg: dict, *, calls: Sequence[dict], invocation_durations_s: Sequence[float],
                 objects: Sequence[dict], duration_s: float, warm: WarmUp | None = None) -> tuple[dict, dict]:
    """The run's cost metrics (every term, ``cost_usd`` their sum) and the tags saying how they were priced.

    The warm-up is priced apart (``warmup_cost_usd``): it is money spent, but not part of the measured job.
    """
    usage = run_usage(cfg, calls=calls, invocation_durations_s=invocation_durations_s, objects=objects,
                      duration_s=duration_s)
    breakdown = c.run_cost(usage)
    metrics = breakdown.metrics() | {
        "invocations": len(invocation_durations_s),
        "s3_get_requests": usage.data_requests.get + usage.lithops_requests.get,
        "s3_put_requests": usage.data_requests.put + usage.lithops_requests.put,
        "s3_list_requests": usage.data_requests.list + usage.lithops_requests.list,
    }
    backend = cfg["backend"]
    tags = {"cost_init": (f"assumed {backend.get('cold_init_s', 0)} s per cold start"
                          if backend["name"] == "aws_lambda" else "not priced (no Lambda INIT on localhost)")}
    if warm is not None:
        warm_usage = c.RunUsage(
            invocation_durations_s=tuple(warm.durations_s), memory_mb=usage.memory_mb, region=usage.region,
            bucket_region=usage.bucket_region, architecture=usage.architecture,
            init_durations_s=(cold_init_s(backend),) * warm.cold_starts if cold_init_s(backend) else (),
            ephemeral_mb=usage.ephemeral_mb,
            lithops_requests=c.lithops_requests(jobs=1, invocations=warm.calls, map_calls=warm.calls,
                                                reduce_calls=0, duration_s=warm.wall_s,
                                                monitoring_interval_s=float(backend.get("monitoring_interval", 2.0))),
        )
        metrics |= {"warmup_cost_usd": c.run_cost(warm_usage).total_usd, "warmup_s": warm.wall_s,
                    "warmup_calls": warm.calls, "warmup_cold_starts": warm.cold_starts}
    return metrics, tags
