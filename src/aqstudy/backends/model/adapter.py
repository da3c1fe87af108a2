"""One predicted run: from the run's config to the metrics, tags and artifacts a real run logs.

The pure parts are the simulator and the cost model; this module only gathers the run's settings, keeps the
warm environments a sweep's earlier predictions left, and writes what the run logs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Metrics only a prediction has (the breakdown of :func:`aqstudy.backends.model.simulator.breakdown`).
BREAKDOWN_PREFIX = "model_"


def object_sizes(cfg: Any) -> list[int]:
    """Sizes of the objects the run would read: from ``backend.manifest`` (a staged dataset's manifest.json)
    if set, else from the dataset's description (:func:`aqstudy.data.sources.planned_sizes`)."""
    import json

    if cfg.backend.manifest:
        manifest = json.loads(Path(cfg.backend.manifest).expanduser().read_text())
        return [int(entry["size"]) for entry in manifest["objects"]]
    from aqstudy.data.sources import planned_sizes

    return planned_sizes(cfg.dataset, data_size_gb=cfg.data_size)


def function_key(cfg: Any) -> tuple:
    """What identifies one Lambda function, whose warm environments later runs of a sweep can reuse."""
    backend = cfg.backend
    return (backend.platform, backend.kernel, backend.packaging, cfg.memory, cfg.region, backend.architecture,
            backend.calibration)


def predict_run(cfg: Any, *, result: Any, artifacts: dict, warm: dict) -> None:
    """Predict the run described by ``cfg``; fill ``result`` and ``artifacts`` as :func:`aqstudy.study.runner._run`
    does for a measured run, through the runner's own recording of calls, metrics and cost. A prediction that
    fails (timeout, out of memory, over the account's concurrency) is recorded with its calls and raised as a
    ``StudyError`` naming the reason.
    """
    import time
    from types import SimpleNamespace

    from aqstudy.backends import backend_named
    from aqstudy.backends.lithops_config import resolve_chunksize
    from aqstudy.backends.model.platforms import build_platform
    from aqstudy.backends.model.plugin import _calibration, dumps
    from aqstudy.backends.model.simulator import JobSpec, simulate
    from aqstudy.study.conditions import INVOKER_THREADS, NO_INVOKER_POOL, client_params
    from aqstudy.study.runner import StudyError, _csv, _record_calls, run_tags

    backend = cfg.backend
    plugin = backend_named(backend.name)
    calibration = _calibration(backend.calibration)
    sizes = object_sizes(cfg)
    plan = plugin.concurrency(workers=cfg.workers, backend=backend)
    if plan.capped_reason:
        result.tags["workers_capped"] = "true"
    chunksize = resolve_chunksize(cfg.chunksize, objects=len(sizes), workers=cfg.workers)
    overrides = {"kernel_mb_s": backend.kernel_mb_s, "output_ratio": backend.output_ratio,
                 "client_mb_s": backend.client_mb_s, "account_concurrency": backend.account_concurrency,
                 **dict(backend.parameters)}
    platform, parameter_rows = build_platform(
        calibration, platform=backend.platform, kernel=backend.kernel, packaging=backend.packaging,
        overrides=overrides, monitoring_interval_s=backend.monitoring_interval,
        invoke_pool_threads=backend.invoke_pool_threads)
    key = function_key(cfg)
    if cfg.force_cold_start:
        warm.pop(key, None)
    warm_envs = 0 if cfg.force_cold_start else warm.get(key, 0)
    if cfg.warm_up:
        warm_envs = max(warm_envs, plan.effective)
    # A repeat samples the model's randomness anew; the same (seed, repeat) gives the same prediction.
    seed = backend.seed * 100_003 + cfg.repeat
    objects = [{"size": size} for size in sizes]
    result.params |= {"effective_workers": plan.effective, "objects": len(sizes), "input_bytes": sum(sizes),
                      "effective_chunksize": chunksize, "dataset_prefix": "(predicted: nothing staged)",
                      **client_params(), INVOKER_THREADS: backend.invoke_pool_threads if backend.platform ==
                      "aws_lambda" else NO_INVOKER_POOL}
    conditions, condition_tags = plugin.run_conditions(cfg)
    result.metrics |= conditions
    result.tags |= condition_tags | run_tags(cfg) | {"calibration": calibration.label,
                                                     "warm_environments_at_start": str(warm_envs),
                                                     "model_seed": str(seed)}
    result.input_bytes, result.effective_workers, result.objects = sum(sizes), plan.effective, objects
    result.chunksize = chunksize
    artifacts["parameters.csv"] = _csv(parameter_rows, ("name", "value", "unit", "source", "date", "kind"))
    artifacts[f"calibration/{Path(calibration.path).name}"] = Path(calibration.path).read_text()

    if backend.platform == "aws_lambda" and plan.effective > platform.params.account_concurrency:
        raise StudyError(f"workers={cfg.workers} is more than the account's concurrency "
                         f"({platform.params.account_concurrency}, backend.account_concurrency): Lambda would throttle "
                         "the rest; pass fewer workers or the concurrency your account has")
    spec = JobSpec(object_bytes=tuple(sizes), chunksize=chunksize, workers=plan.effective, memory_mb=cfg.memory,
                   cross_region=cfg.region != cfg.bucket_region, reduce=cfg.reduce,
                   spawn_reducer=backend.spawn_reducer, reduce_poll_s=backend.reduce_poll_s,
                   timeout_s=float(backend.timeout_s), warm_envs=warm_envs, seed=seed,
                   base_epoch_s=round(time.time(), 3))
    started = time.perf_counter()
    prediction = simulate(spec, platform)
    simulated_s = time.perf_counter() - started
    if backend.platform == "aws_lambda" and prediction.status == "FINISHED":
        warm[key] = prediction.idle_envs_after
    warm_job = None
    if cfg.warm_up and backend.platform == "aws_lambda":
        # Priced as a real run prices its warm-up: `workers` calls kept busy in new environments, apart.
        from aqstudy.backends.warm_up import WARM_UP_CALL_S, WarmUp

        warm_job = WarmUp(calls=plan.effective, wall_s=WARM_UP_CALL_S + platform.init_s,
                          durations_s=[WARM_UP_CALL_S] * plan.effective, cold_starts=plan.effective)
    outcome = SimpleNamespace(calls=prediction.calls, submitted_at=prediction.submitted_at,
                              finished_at=prediction.finished_at)
    _record_calls(cfg, outcome, result, artifacts, input_bytes=sum(sizes), workers=plan.effective,
                  chunksize=chunksize, objects=objects, warm=warm_job,
                  title=f"PREDICTED ({backend.platform}, model v{_version()}): {cfg.analysis.name}, "
                        f"{len(prediction.calls)} calls, {plan.effective} workers")
    result.metrics |= {
        "results_in_hand_s": prediction.results_in_hand_at - prediction.submitted_at,
        "environments_created": prediction.envs_created,
        "simulation_s": simulated_s,
        # What the simulation itself counted (the cost terms above come from the shared cost path).
        f"{BREAKDOWN_PREFIX}lithops_get_requests": prediction.lithops_gets,
        f"{BREAKDOWN_PREFIX}lithops_put_requests": prediction.lithops_puts,
        f"{BREAKDOWN_PREFIX}lithops_list_requests": prediction.lithops_lists,
        **{f"{BREAKDOWN_PREFIX}{name}": value for name, value in prediction.breakdown.items()},
    }
    artifacts["breakdown.json"] = dumps(prediction.breakdown)
    if prediction.status != "FINISHED":
        raise StudyError(f"predicted to fail: {prediction.error}")
    result.summary = _summary(cfg, result, len(sizes), plan.effective, chunksize, calibration.label)


def _version() -> str:
    from aqstudy.backends.model.plugin import MODEL_VERSION

    return MODEL_VERSION


def _summary(cfg: Any, result: Any, objects: int, workers: int, chunksize: int, calibration: str) -> str:
    from aqstudy.measure import metrics as m

    metrics = result.metrics
    where = "AWS Lambda" if cfg.backend.platform == "aws_lambda" else "this machine (localhost)"
    return (
        f"PREDICTED by the model (v{_version()}, {calibration}), nothing ran: {cfg.analysis.name} over {objects} "
        f"objects ({result.input_bytes / 1e6:,.0f} MB) on {where} with {workers} workers, chunksize {chunksize}, "
        f"{cfg.memory} MB: {metrics[m.DURATION_S]:.2f} s (results in hand at {metrics['results_in_hand_s']:.2f} s), "
        f"{int(metrics[m.CALLS])} calls, {int(metrics[m.COLD_STARTS])} cold starts; ${metrics[m.COST_USD]:.6f} on "
        f"AWS Lambda in {cfg.region}."
    )
