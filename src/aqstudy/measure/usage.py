"""What a measured run used, in the units AWS bills, and what that costs (from its calls' rows; pure but
for asking the backend plug-in what it bills per cold start and how Lambda would poll).

On every backend the bill is what Lambda would charge for this job: invocations as Lambda runs them
(``chunksize`` map calls each, the reduce alone), each billed for its own calls' execution time, and the
host's polling as the ``aws_lambda`` settings poll (:mod:`aqstudy.measure.invocations`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aqstudy.backends import backend_named
from aqstudy.measure import cost as c
from aqstudy.measure.invocations import invocation_durations_s, invocation_groups

if TYPE_CHECKING:
    from aqstudy.backends.warm_up import WarmUp


def cold_invocations(calls: Sequence[dict], *, chunksize: int) -> int:
    """Invocations whose environment started cold: those whose calls (``chunksize`` per invocation) include
    a cold start."""
    return sum(1 for group in invocation_groups(calls, chunksize=chunksize) if any(r.get("cold_start") for r in group))


def cold_init_s(backend: Any) -> float:
    """INIT seconds priced per cold start on this backend (its plug-in says; 0 where nothing bills INIT)."""
    return backend_named(backend.name).cold_init_s(backend)


def run_usage(cfg: Any, *, calls: Sequence[dict], chunksize: int, objects: Sequence[dict],
              duration_s: float) -> c.RunUsage:
    """What a measured run used, in the units AWS bills (pure: from the calls' rows and the manifest).

    :param calls: the run's ``calls.csv`` rows, maps in the order of ``objects``, then the reduce.
    :param chunksize: map calls per invocation (the run's effective chunksize).
    :param objects: the staged objects (manifest entries) the maps read.
    :param duration_s: how long the host monitored the job.
    """
    backend = cfg.backend
    plugin = backend_named(backend.name)
    architecture, ephemeral_mb = plugin.lambda_pricing(backend)
    polling = plugin.lambda_polling(backend)
    durations = invocation_durations_s(calls, chunksize=chunksize)
    maps = [row for row in calls if row["phase"] == "map"]
    ran = [entry for row, entry in zip(maps, objects, strict=False) if row.get("worker_start_tstamp") is not None]
    init_s = cold_init_s(backend)
    return c.RunUsage(
        invocation_durations_s=tuple(durations),
        memory_mb=int(cfg.memory),
        region=cfg.region,
        bucket_region=cfg.bucket_region,
        architecture=architecture,
        init_durations_s=(init_s,) * cold_invocations(calls, chunksize=chunksize) if init_s else (),
        ephemeral_mb=ephemeral_mb,
        data_requests=c.S3Requests(get=len(ran)),
        data_bytes_read=sum(int(entry["size"]) for entry in ran),
        lithops_requests=c.lithops_requests(
            jobs=2, invocations=len(durations), map_calls=len(maps),
            reduce_calls=len(calls) - len(maps), duration_s=duration_s,
            monitoring_interval_s=polling.monitoring_interval_s, reduce_poll_s=polling.reduce_poll_s,
        ),
    )


def cost_metrics(cfg: Any, *, calls: Sequence[dict], chunksize: int, objects: Sequence[dict], duration_s: float,
                 warm: WarmUp | None = None) -> tuple[dict, dict]:
    """The run's cost metrics (every term, ``cost_usd`` their sum) and the tags saying how they were priced.

    The warm-up is priced apart (``warmup_cost_usd``): it is money spent, but not part of the measured job.
    """
    usage = run_usage(cfg, calls=calls, chunksize=chunksize, objects=objects, duration_s=duration_s)
    breakdown = c.run_cost(usage)
    metrics = breakdown.metrics() | {
        "invocations": len(usage.invocation_durations_s),
        "s3_get_requests": usage.data_requests.get + usage.lithops_requests.get,
        "s3_put_requests": usage.data_requests.put + usage.lithops_requests.put,
        "s3_list_requests": usage.data_requests.list + usage.lithops_requests.list,
    }
    backend = cfg.backend
    plugin = backend_named(backend.name)
    polling = plugin.lambda_polling(backend)
    tags = {"cost_init": plugin.cold_init_note(backend), "cost_polling": polling.note,
            "cost_invocations": f"{chunksize} map call(s) per invocation and the reduce alone, each billed for its "
                                "own calls' execution time"}
    if warm is not None:
        warm_usage = c.RunUsage(
            invocation_durations_s=tuple(warm.durations_s), memory_mb=usage.memory_mb, region=usage.region,
            bucket_region=usage.bucket_region, architecture=usage.architecture,
            init_durations_s=(cold_init_s(backend),) * warm.cold_starts if cold_init_s(backend) else (),
            ephemeral_mb=usage.ephemeral_mb,
            lithops_requests=c.lithops_requests(jobs=1, invocations=warm.calls, map_calls=warm.calls,
                                                reduce_calls=0, duration_s=warm.wall_s,
                                                monitoring_interval_s=polling.monitoring_interval_s),
        )
        metrics |= {"warmup_cost_usd": c.run_cost(warm_usage).total_usd, "warmup_s": warm.wall_s,
                    "warmup_calls": warm.calls, "warmup_cold_starts": warm.cold_starts}
    return metrics, tags
