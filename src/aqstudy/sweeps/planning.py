"""What a run or a sweep would do and cost, before anything starts; a budget that refuses too costly sweeps.

``python src/run.py ... plan=true`` prints the plan of one run; with ``-m`` the Hydra callback below expands
the sweep exactly as Hydra's basic sweeper will (command-line sweeps and ``hydra.sweeper.params``), composes
every job's config and prints one table, then stops. ``budget_usd=N`` refuses a run or a whole sweep whose
estimate exceeds N USD before its first job starts (the original study ran out of a $100 credit midway).

Estimates price the run as on AWS Lambda with the cost model of :mod:`aqstudy.measure.cost` and the speeds below;
measured runs log their own cost, so a report can set the two side by side.

Every sweep is also told, once before its first job, when ``workers`` cannot matter in some of its jobs:
beyond the map invocations the data allows (objects / chunksize) or beyond what the backend runs at once,
the extra workers run nothing and the durations stay flat by design (:func:`inert_workers_warning`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

from aqstudy.backends.lithops_config import resolve_chunksize
from aqstudy.config.schema import as_dict
from aqstudy.measure import cost as c

#: S3 read speed of one function, MB/s: flat from 100 to 1,000 functions (Lithops' benchmarks, 2022; REFERENCE).
S3_READ_MB_S = 100.0
#: Parse-and-aggregate speed of the kernel on one vCPU, MB/s (the compiled scanner: ~800 measured here on one
#: core by benchmarks/kernel.py; a Lambda vCPU is taken to be slower).
PARSE_MB_S_PER_VCPU = 600.0
#: Function memory that buys one vCPU of CPU credit (REFERENCE); the kernel uses one thread.
ONE_VCPU_MB = 1769
#: CPU seconds a new environment's first map call spends importing the map runtime (the compiled scanner, no
#: numpy or pyarrow: 0.02 s), and the reduce importing pyarrow for its first combine (0.15 s): measured on one
#: core here by `benchmarks/cold_start.py --function-python` (an environment holding only what the Lambda
#: runtime holds; fresh interpreter to output in hand, less the bare interpreter and the work), and scaled like
#: parsing by the function's share of a vCPU. The map's was ~1 s with numpy, pyarrow and numba (docs/performance.md).
MAP_COLD_IMPORT_CPU_S = 0.02
REDUCE_COLD_IMPORT_CPU_S = 0.15
#: Per call: Lithops fetches the call's data and writes its status and result.
CALL_OVERHEAD_S = 0.05
#: Submit → start at scale, median (REFERENCE: 0.34 s at 1,000 functions); not billed.
INVOKE_LATENCY_S = 0.35
#: Combining one object's partial (~1 MB as Arrow, REFERENCE) in the reduce.
REDUCE_S_PER_OBJECT = 0.02
#: Part size (MiB) the staging estimate assumes for a storage that has no ``multipart_mb`` (as conf/storage/s3.yaml).
S3_PART_MB_FOR_OTHER_STORAGES = 8
#: Lithops spawns the reducer once this share of the maps is done; it is billed while it waits for the rest.
REDUCER_SPAWN_SHARE = 0.2


class BudgetError(RuntimeError):
    """The estimate exceeds ``budget_usd``; the message says by how much and what to change."""


@dataclass(frozen=True)
class RunPlan:
    """What one run would do, and its estimated bill."""

    label: str
    objects: int
    input_bytes: int
    map_invocations: int
    invocations: int
    duration_s: float
    cost: c.CostBreakdown
    warm_up_usd: float = 0.0
    #: The dataset copy the run reads (runs sharing one stage it once) and what staging it costs: requests
    #: and one month of storage in the bucket's region.
    dataset_key: str = ""
    staging_usd: float = 0.0

    @property
    def total_usd(self) -> float:
        """The run's own estimate: its job and its warm-up (staging is counted once per dataset copy)."""
        return self.cost.total_usd + self.warm_up_usd


def total_usd(plans: list[RunPlan]) -> float:
    """What the plans would cost together: every run, and every distinct dataset copy staged once."""
    return sum(p.total_usd for p in plans) + sum(_staging_by_dataset(plans).values())


def _staging_by_dataset(plans: list[RunPlan]) -> dict[str, float]:
    return {p.dataset_key: p.staging_usd for p in plans}


def estimate_input(cfg: Any) -> list[int]:
    """Sizes in bytes of the objects the run would read, from the dataset config alone (no download).

    Synthetic and OpenAQ objects are ``object_mb`` each up to ``data_size``; a local folder's files are
    looked at on disk. Sizes are before compression (a gzip dataset reads fewer bytes than planned).
    """
    from aqstudy.data.sources import planned_sizes

    return planned_sizes(cfg.dataset, data_size_gb=cfg.data_size)


def vcpu_share(memory_mb: int) -> float:
    """The share of one vCPU a function of ``memory_mb`` gets (the kernel and the imports use one thread)."""
    return min(1.0, memory_mb / ONE_VCPU_MB)


def invocation_s(object_sizes: list[int], *, memory_mb: int, cold: bool) -> float:
    """Estimated billed duration of one map invocation reading these objects."""
    parse_mb_s = PARSE_MB_S_PER_VCPU * vcpu_share(memory_mb)
    busy = sum(size / 1e6 / S3_READ_MB_S + size / 1e6 / parse_mb_s + CALL_OVERHEAD_S for size in object_sizes)
    return busy + (MAP_COLD_IMPORT_CPU_S / vcpu_share(memory_mb) if cold else 0.0)


def plan_run(cfg: Any, *, label: str | None = None) -> RunPlan:
    """The plan of one run: objects, invocations, bytes, an estimated duration and bill.

    :param cfg: the run's config object.
    :param label: how the run is named in the plan (its axes when omitted).
    """
    from aqstudy.backends import backend_named
    from aqstudy.backends.warm_up import WARM_UP_CALL_S
    from aqstudy.measure.usage import cold_init_s

    sizes = estimate_input(cfg)
    workers, memory_mb = int(cfg.workers), int(cfg.memory)
    chunksize = resolve_chunksize(cfg.chunksize, objects=len(sizes), workers=workers)
    groups = [sizes[i:i + chunksize] for i in range(0, len(sizes), chunksize)]
    # The first `workers` invocations each start a new environment unless a warm-up left them warm.
    cold_maps = 0 if cfg.warm_up else min(len(groups), workers)
    map_durations = [invocation_s(group, memory_mb=memory_mb, cold=index < cold_maps)
                     for index, group in enumerate(groups)]
    rounds = [map_durations[i:i + workers] for i in range(0, len(map_durations), workers)]
    map_wall_s = INVOKE_LATENCY_S + sum(max(batch) for batch in rounds)
    combine_s = REDUCE_S_PER_OBJECT * len(sizes) + CALL_OVERHEAD_S
    reduce_s = (1 - REDUCER_SPAWN_SHARE) * map_wall_s + combine_s + REDUCE_COLD_IMPORT_CPU_S / vcpu_share(memory_mb)
    durations = [*map_durations, reduce_s]
    duration_s = map_wall_s + combine_s
    backend = cfg.backend
    init_s = cold_init_s(backend)
    polling = backend_named(backend.name).lambda_polling(backend)
    monitoring_s = polling.monitoring_interval_s
    architecture, ephemeral_mb = backend_named(backend.name).lambda_pricing(backend)
    usage = c.RunUsage(
        invocation_durations_s=tuple(durations), memory_mb=memory_mb, region=cfg.region,
        bucket_region=cfg.bucket_region, architecture=architecture,
        init_durations_s=(init_s,) * (cold_maps + 1) if init_s else (),
        ephemeral_mb=ephemeral_mb,
        data_requests=c.S3Requests(get=len(sizes)), data_bytes_read=sum(sizes),
        lithops_requests=c.lithops_requests(jobs=2, invocations=len(durations), map_calls=len(sizes),
                                            reduce_calls=1, duration_s=duration_s, monitoring_interval_s=monitoring_s,
                                            reduce_poll_s=polling.reduce_poll_s),
    )
    warm_up_usd = 0.0
    if cfg.warm_up:
        warm_call_s = WARM_UP_CALL_S + MAP_COLD_IMPORT_CPU_S / vcpu_share(memory_mb)
        warm = c.RunUsage(
            invocation_durations_s=(warm_call_s,) * workers, memory_mb=memory_mb,
            region=cfg.region, bucket_region=cfg.bucket_region, architecture=usage.architecture,
            init_durations_s=(init_s,) * workers if init_s else (),
            lithops_requests=c.lithops_requests(jobs=1, invocations=workers, map_calls=workers, reduce_calls=0,
                                                duration_s=warm_call_s,
                                                monitoring_interval_s=monitoring_s),
        )
        warm_up_usd = c.run_cost(warm).total_usd
    # Staging is priced as an upload to S3: in parts of storage.multipart_mb MiB when the storage is S3, else
    # in parts of the size the s3 storage config uses.
    multipart_bytes = int(float(getattr(cfg.storage, "multipart_mb", S3_PART_MB_FOR_OTHER_STORAGES)) * 2**20)
    staging = c.staging_requests(sizes, multipart_bytes=multipart_bytes)
    staging_usd = (staging.put * c.s3_request_price(region=cfg.bucket_region, kind="put")
                   + staging.get * c.s3_request_price(region=cfg.bucket_region, kind="get")
                   + c.storage_usd_per_month(sum(sizes), region=cfg.bucket_region))
    dataset = {k: v for k, v in as_dict(cfg.dataset).items() if k != "cache_dir"}
    return RunPlan(
        label=label or f"workers={workers} memory={memory_mb} data_size={cfg.data_size}",
        objects=len(sizes), input_bytes=sum(sizes), map_invocations=len(groups), invocations=len(durations),
        duration_s=duration_s, cost=c.run_cost(usage), warm_up_usd=warm_up_usd,
        dataset_key=f"{sorted(dataset.items())} {cfg.data_size} {cfg.storage.bucket}",
        staging_usd=staging_usd,
    )


def format_plan(plans: list[RunPlan], *, budget_usd: float | None = None) -> str:
    """The plan as a table, a total line, the total's terms and the budget's verdict."""
    width = max([len("run")] + [len(p.label) for p in plans])
    header = f"  {'run':<{width}}  {'objects':>8}  {'invocations':>11}  {'GB read':>9}  {'est. s':>8}  {'est. USD':>10}"
    lines = ["plan (estimated as on AWS Lambda + S3; nothing was started):", header]
    for p in plans:
        lines.append(f"  {p.label:<{width}}  {p.objects:>8,}  {p.invocations:>11,}  {p.input_bytes / 1e9:>9.2f}  "
                     f"{p.duration_s:>8.1f}  {p.total_usd:>10.4f}")
    total = sum((p.cost for p in plans), c.CostBreakdown())
    warm_usd = sum(p.warm_up_usd for p in plans)
    staging = _staging_by_dataset(plans)
    grand = total_usd(plans)
    lines.append(
        f"total: {len(plans)} run{'s' if len(plans) != 1 else ''}, {sum(p.invocations for p in plans):,} function "
        f"invocations, {sum(p.input_bytes for p in plans) / 1e9:.2f} GB read, "
        f"~{hours(sum(p.duration_s for p in plans))} of runs, estimated ${grand:.2f}"
    )
    terms = ", ".join(f"{term} ${getattr(total, f'{term}_usd'):.4f}" for term in c.COST_TERMS)
    lines.append(f"  {terms}" + (f", warm-up ${warm_usd:.4f}" if warm_usd else ""))
    lines.append(f"  staging {len(staging)} dataset cop{'ies' if len(staging) != 1 else 'y'} (uploads and one "
                 f"month of S3 storage) ${sum(staging.values()):.4f}")
    if budget_usd is not None:
        verdict = "fits" if grand <= budget_usd else "EXCEEDS it"
        lines.append(f"budget: ${budget_usd:.2f}; the estimate {verdict}")
    return "\n".join(lines)


def check_budget(plans: list[RunPlan], *, budget_usd: float | None) -> None:
    """Refuse plans whose estimated total exceeds ``budget_usd``."""
    if budget_usd is None:
        return
    total = total_usd(plans)
    if total > budget_usd:
        raise BudgetError(
            f"the estimated cost ${total:.2f} of {len(plans)} run{'s' if len(plans) != 1 else ''} exceeds "
            f"budget_usd={budget_usd:g}; run fewer or smaller configurations, or raise budget_usd"
        )


def plan_or_refuse(cfg: Any) -> bool:
    """For one run: print its plan and return True when ``plan=true``; refuse it when over ``budget_usd``."""
    if not cfg.plan and cfg.budget_usd is None:
        return False
    plans = [plan_run(cfg)]
    if cfg.plan:
        print(format_plan(plans, budget_usd=cfg.budget_usd))
    check_budget(plans, budget_usd=cfg.budget_usd)
    return bool(cfg.plan)


@dataclass(frozen=True)
class WorkersReach:
    """How many of a job's workers can have work: ``workers`` asked, the ``map_invocations`` its data and
    chunksize make, the ``effective`` functions the backend runs at once (and its name)."""

    label: str
    workers: int
    map_invocations: int
    effective: int
    backend: str


def workers_reach(cfg: Any, *, label: str) -> WorkersReach:
    """A job's :class:`WorkersReach`, from its config alone (the dataset's planned objects, no staging)."""
    from aqstudy.backends import backend_named

    objects = len(estimate_input(cfg))
    chunksize = resolve_chunksize(cfg.chunksize, objects=objects, workers=cfg.workers)
    effective = backend_named(cfg.backend.name).concurrency(workers=cfg.workers, backend=cfg.backend).effective
    return WorkersReach(label, int(cfg.workers), -(-objects // chunksize), effective, cfg.backend.name)


def inert_workers_warning(jobs: list[WorkersReach]) -> str | None:
    """One line naming the jobs whose ``workers`` cannot matter, and why (pure); None when every worker counts."""
    beyond_data = [j for j in jobs if j.workers > j.map_invocations]
    beyond_backend = [j for j in jobs if j.workers > j.effective]
    if not beyond_data and not beyond_backend:
        return None

    def config(job: WorkersReach) -> str:  # repeats of one config are named once
        return " ".join(part for part in job.label.split() if not part.startswith("repeat=")) or job.label

    parts = []
    if beyond_data:
        named = dict.fromkeys(f"{config(j)} ({j.map_invocations})" for j in beyond_data)
        parts.append("beyond the map invocations the data allows (objects / chunksize) in " + ", ".join(named))
    if beyond_backend:
        named = dict.fromkeys(f"{config(j)} ({j.backend}: {j.effective})" for j in beyond_backend)
        parts.append("beyond what the backend runs at once in " + ", ".join(named))
    count = len({j.label for j in (*beyond_data, *beyond_backend)})
    return (f"warning: workers cannot matter in {count} of {len(jobs)} jobs: {'; '.join(parts)}. The extra workers "
            "run nothing, so these durations stay flat by design.")


def expand_sweep(*, task_overrides: list[str], sweeper_params: dict | None = None) -> list[list[str]]:
    """Every job of a sweep as its list of overrides, in the order Hydra's basic sweeper launches them.

    :param task_overrides: the command line's overrides (``workers=8,16 data_size=2.5``).
    :param sweeper_params: ``hydra.sweeper.params`` of the composed config (an experiment's grid).
    """
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    arguments = [f"{key}={value}" for key, value in (sweeper_params or {}).items()] + list(task_overrides)
    overrides = OverridesParser.create().parse_overrides(arguments)
    return [job for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]


def varying_keys(rows: list[dict]) -> list[str]:
    """Keys whose value differs between the rows, in first-seen order: a sweep's axes (pure)."""
    values: dict[str, set] = {}
    for row in rows:
        for key, value in row.items():
            values.setdefault(key, set()).add(value)
    return [key for key, seen in values.items() if len(seen) > 1]


def job_labels(jobs: list[list[str]]) -> list[str]:
    """Each job named by the overrides that differ between jobs (``workers=8 data_size=2.5``)."""
    swept = set(varying_keys([dict(override.partition("=")[::2] for override in job) for job in jobs]))
    return [" ".join(o for o in job if o.partition("=")[0] in swept) or "(one run)" for job in jobs]


try:
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover - hydra-core is a dependency
    Callback = object


class PlanAndBudgetCallback(Callback):
    """Hydra callback: before a multirun's first job, say once when ``workers`` cannot matter in some jobs, and
    print its plan (``plan=true``) or enforce ``budget_usd``."""

    def on_multirun_start(self, config, **kwargs) -> None:
        try:
            warning = inert_workers_warning([workers_reach(job, label=label) for label, job in self._jobs(config)])
        except Exception as error:  # the warning is advice: a job that cannot compose fails on its own later
            warning = None
            import logging

            logging.getLogger(__name__).info("no workers check for this sweep: %s", error)
        if warning:
            print(warning, file=sys.stderr, flush=True)
        if not config.plan and config.budget_usd is None:
            return
        # Hydra turns a callback's exception into a warning and goes on with the sweep: a plan or a budget
        # that cannot be worked out must stop the sweep here instead.
        try:
            plans = self._plans(config)
        except Exception as error:
            print(f"error: cannot plan the sweep: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        budget = config.budget_usd
        if config.plan or (budget is not None and total_usd(plans) > budget):
            print(format_plan(plans, budget_usd=budget))
        try:
            check_budget(plans, budget_usd=budget)
        except BudgetError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        if config.plan:
            raise SystemExit(0)

    @classmethod
    def _plans(cls, config) -> list[RunPlan]:
        """Compose every job of the sweep as the sweeper will, and plan each."""
        return [plan_run(job, label=label) for label, job in cls._jobs(config)]

    @staticmethod
    def _jobs(config) -> list[tuple[str, Any]]:
        """Every job of the sweep, composed as the sweeper will: (label, config object)."""
        from hydra.core.global_hydra import GlobalHydra
        from omegaconf import OmegaConf, open_dict

        from aqstudy.config.schema import load

        task = list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
        params = config.hydra.sweeper.get("params")
        params = OmegaConf.to_container(params, resolve=False) if params else {}
        jobs = expand_sweep(task_overrides=task, sweeper_params=params)
        loader = GlobalHydra.instance().config_loader()
        composed = []
        for overrides, label in zip(jobs, job_labels(jobs), strict=True):
            job = loader.load_sweep_config(config, overrides)
            with open_dict(job):
                del job["hydra"]
            composed.append((label, load(job)))
        return composed


def hours(seconds: float) -> str:
    """``seconds`` as ``1 h 05 min`` for plans of long sweeps."""
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
