"""Where a run ran: the conditions that move its numbers, recorded with every run and listed by reports.

The same config gives other timings on a busy laptop, with fewer Lithops invoker threads, or on an account
whose concurrency limit is lower than the workers asked for. Each run records:

- the client's Python and platform (the host that submits, polls and downloads);
- Lithops' invoker threads (``invoke_pool_threads`` on a FaaS backend; localhost hands a job over at once);
- on AWS, the account's concurrency limit, when the credentials may read it (``lambda:GetAccountSettings``);
- this machine's load at start (1-minute load average over its cores): what else was running.

Params for what stays put during a run, metrics for what is measured; names defined once, read by reports.
"""

from __future__ import annotations

import logging
import os
import platform
from typing import Any

log = logging.getLogger(__name__)

#: Param and metric names, defined once.
CLIENT_PYTHON = "client_python"
CLIENT_PLATFORM = "client_platform"
INVOKER_THREADS = "lithops_invoke_pool_threads"
CPU_COUNT = "client_cpu_count"
LOAD_1M = "machine_load_1m"
LOAD_PER_CORE = "machine_load_per_core"
ACCOUNT_CONCURRENCY = "aws_account_concurrency"
ACCOUNT_UNRESERVED = "aws_account_unreserved_concurrency"
#: What ``lithops_invoke_pool_threads`` says on a backend without an invoker pool (localhost's batch invoker).
NO_INVOKER_POOL = "none (batch invoker: a job is handed to the runner at once)"


def client_params() -> dict[str, str]:
    """The client's Python (implementation and version) and platform (OS, kernel, architecture)."""
    return {CLIENT_PYTHON: f"{platform.python_implementation()} {platform.python_version()}",
            CLIENT_PLATFORM: platform.platform(terse=False)}


def invoker_threads(lithops_config: dict) -> int | str:
    """Lithops' invoker threads for this run's backend, from the Lithops config the run hands to Lithops."""
    section = lithops_config.get(lithops_config.get("lithops", {}).get("backend", ""), {})
    threads = section.get("invoke_pool_threads")
    return int(threads) if threads is not None else NO_INVOKER_POOL


def machine_load(load_average: tuple[float, float, float] | None = None, cpu_count: int | None = None) -> dict:
    """The machine's 1-minute load average at start, as is and per core (empty where the OS has none)."""
    try:
        load_1m = (load_average or os.getloadavg())[0]
    except (OSError, AttributeError):
        return {}
    cores = cpu_count or os.cpu_count() or 1
    return {LOAD_1M: float(load_1m), LOAD_PER_CORE: float(load_1m) / cores, CPU_COUNT: cores}


def account_concurrency(lambda_client: Any) -> tuple[dict[str, float], str | None]:
    """The AWS account's Lambda concurrency limit and its unreserved share, or why it could not be read.

    :param lambda_client: a boto3 ``lambda`` client in the run's region.
    :return: ``(metrics, None)`` or ``({}, reason)``; never raises (a run does not depend on it).
    """
    try:
        limit = lambda_client.get_account_settings()["AccountLimit"]
    except Exception as error:  # no permission, not implemented by an emulator, no network
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        return {}, f"not readable ({type(error).__name__}{f': {code}' if code else ''})"
    metrics = {}
    if limit.get("ConcurrentExecutions") is not None:
        metrics[ACCOUNT_CONCURRENCY] = float(limit["ConcurrentExecutions"])
    if limit.get("UnreservedConcurrentExecutions") is not None:
        metrics[ACCOUNT_UNRESERVED] = float(limit["UnreservedConcurrentExecutions"])
    return metrics, None


def run_conditions(lithops_config: dict) -> tuple[dict[str, Any], dict[str, float]]:
    """The conditions of a run on this machine: (params, metrics). The AWS account's limit is added by the
    backend that can read it (:func:`account_concurrency`)."""
    params = client_params() | {INVOKER_THREADS: invoker_threads(lithops_config)}
    return params, machine_load()


def describe(params_seen: list[dict], metrics_seen: list[dict]) -> list[str]:
    """Report-header lines for a set of runs: each condition's distinct values, the load's range (pure).

    :param params_seen: the runs' params (MLflow text values).
    :param metrics_seen: the runs' metrics.
    """
    def values(name: str) -> list[str]:
        return sorted({str(p[name]) for p in params_seen if p.get(name) not in (None, "")})

    def joined(name: str) -> str:
        found = values(name)
        return "; ".join(found) if found else "not recorded"

    lines = [f"Client: {joined(CLIENT_PYTHON)} on {joined(CLIENT_PLATFORM)}.",
             f"Lithops invoker threads: {joined(INVOKER_THREADS)}."]
    loads = [m[LOAD_PER_CORE] for m in metrics_seen if m.get(LOAD_PER_CORE) is not None]
    if loads:
        lines.append(f"Machine load at start: {min(loads):.2f}–{max(loads):.2f} per core (1-minute load average "
                     f"over {len(loads)} runs; above ~1 the runs shared the cores with other work).")
    else:
        lines.append("Machine load at start: not recorded.")
    limits = sorted({int(m[ACCOUNT_CONCURRENCY]) for m in metrics_seen if m.get(ACCOUNT_CONCURRENCY) is not None})
    if limits:
        lines.append(f"AWS account concurrency limit: {', '.join(map(str, limits))}.")
    return lines
