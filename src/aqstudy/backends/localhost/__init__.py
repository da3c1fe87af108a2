"""Lithops' localhost backend: this machine's cores stand in for Lambda functions.

Concurrency is capped at what the machine holds; ``memory`` is priced but not enforced. The workers run
this interpreter through a launcher that imports ``backend.preload`` once (:mod:`.local_runtime`), forked
from a fork server kept for the process's runs (:mod:`.fork_server`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from omegaconf import MISSING

from aqstudy.backends.base import Backend, Concurrency
from aqstudy.config.schema import BackendConfig


@dataclass
class LocalhostBackendConfig(BackendConfig):
    """``conf/backend/localhost.yaml``."""

    version: int = MISSING
    workers_per_core: int = MISSING
    per_worker_mb: int = MISSING
    preload: list[str] = MISSING
    fork_server: bool = MISSING
    preload_idle: list[str] = MISSING


def local_worker_cap(*, cpu_count: int, total_memory_mb: int, per_worker_mb: int, per_core: int) -> int:
    """How many localhost worker processes this machine can hold.

    :param cpu_count: cores of this machine.
    :param total_memory_mb: its RAM in MB.
    :param per_worker_mb: memory budget of one worker process in MB (a 25 MB object needs ~150 MB).
    :param per_core: worker processes allowed per core (more only adds time-slicing).
    """
    return max(1, min(cpu_count * per_core, total_memory_mb // max(1, per_worker_mb)))


def this_machine() -> dict:
    """Cores and RAM of this machine."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        total_memory_mb = pages * page_size // 2**20
    except (ValueError, OSError, AttributeError):
        total_memory_mb = 4096
    return {"cpu_count": os.cpu_count() or 1, "total_memory_mb": total_memory_mb}


def cpu_model() -> str:
    """This machine's CPU model (``/proc/cpuinfo``'s model name, else what Python's ``platform`` knows)."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def capped_concurrency(*, workers: int, backend: Any, machine: dict | None = None) -> Concurrency:
    """``workers`` capped at what this machine holds.

    :param workers: functions running at once, as asked for by the run.
    :param backend: the ``backend`` config (``per_worker_mb``, ``workers_per_core``).
    :param machine: ``cpu_count`` and ``total_memory_mb`` (this machine's when omitted).
    """
    if workers < 1:
        raise ValueError(f"workers={workers} must be at least 1")
    machine = machine or this_machine()
    cap = local_worker_cap(cpu_count=machine["cpu_count"], total_memory_mb=machine["total_memory_mb"],
                           per_worker_mb=int(backend.per_worker_mb), per_core=int(backend.workers_per_core))
    if workers <= cap:
        return Concurrency(workers, workers)
    reason = (f"workers={workers} exceeds what this machine holds ({machine['cpu_count']} cores, "
              f"{machine['total_memory_mb']} MB): running {cap} worker processes")
    return Concurrency(workers, cap, reason)


class LocalhostBackend(Backend):
    name = "localhost"
    lithops_name = "localhost"
    memory_enforced = False

    def concurrency(self, *, workers: int, backend: Any) -> Concurrency:
        return capped_concurrency(workers=workers, backend=backend)

    def lithops_sections(self, cfg: Any, *, effective_workers: int, python: str | None,
                         environ: dict[str, str] | None) -> dict[str, dict]:
        return {"localhost": {"version": int(cfg.backend.version), "worker_processes": effective_workers,
                              "runtime": python or sys.executable}}

    def local_python(self, cfg: Any) -> str | None:
        """This interpreter, through a launcher importing ``backend.preload`` once per worker, if set."""
        from aqstudy.backends.localhost.local_runtime import launcher
        from aqstudy.study.paths import lithops_home

        preload = list(cfg.backend.preload)
        if not preload:
            return None
        return launcher(python=sys.executable, preload=preload, folder=lithops_home(cfg.lithops.home) / "runtime")

    def runtime(self, cfg: Any):
        """The fork server for the run's Lithops localhost runners, if it has one.

        Started first thing, so its imports overlap the host's set-up, and kept for the process's next run with
        the same settings (a sweep's runs then all start their maps alike); a failed or interrupted run stops it.
        """
        from contextlib import nullcontext

        from aqstudy.backends.localhost import fork_server

        preload = list(cfg.backend.preload)
        if not preload or not cfg.backend.fork_server:
            return nullcontext()
        return fork_server.kept(python=sys.executable, preload=preload, preload_idle=list(cfg.backend.preload_idle))

    def force_cold_start(self, executor: Any, cfg: Any) -> str:
        # Lithops' localhost backend starts a new process pool for every job: its first calls are cold already.
        return "new-process-pool"


SCHEMA = LocalhostBackendConfig
BACKEND = LocalhostBackend()
