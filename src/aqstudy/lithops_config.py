"""The one place that turns the Hydra config into a Lithops config (pure: no Lithops import here).

The rest of the code never asks which cloud it is on: it hands this dict to ``FunctionExecutor`` and to
``Storage``.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: Lithops backend names of the config groups.
LOCAL_BACKENDS = ("localhost",)


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
    else:
        raise ValueError(f"backend {name!r} is not supported; choose localhost or aws_lambda")
    if storage["name"] == "localhost":
        config["localhost"] = config.get("localhost", {})
    else:
        raise ValueError(f"storage {storage['name']!r} is not supported; choose localhost or s3")
    return config
