"""The throwaway job run before measuring (``warm_up=true``), so the measured job finds warm environments."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: How long each warm-up call stays busy, so concurrent calls overlap and land on distinct environments.
WARM_UP_CALL_S = 1.0


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
