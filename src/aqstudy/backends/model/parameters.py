"""Every number the model uses, in one table: value, unit, where it comes from and when (pure).

Three kinds of source, said in each row:

- **published**: a figure from AWS, the Lithops team's benchmarks or a paper (``shared/REFERENCE.md`` lists
  them with their conditions);
- **[code]**: read in Lithops 3.8's source (``lithops/invokers.py``, ``monitoring/``, ``wait.py``,
  ``worker/handler.py``), so the model does what Lithops does;
- **calibration**: measured on this machine by ``make calibrate`` (the calibration file's name and date are
  the source), or **assumption** where nothing is published: stated, and varied by the sensitivity analysis.

:class:`ModelParameters` holds plain floats for the simulator; :func:`parameter_table` turns it back into rows
(for ``docs/model.md``, and for the ``parameters.csv`` every predicted run logs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

#: Function memory that buys one vCPU of CPU credit (AWS Lambda docs, "Memory and computing power", 2020–).
ONE_VCPU_MB = 1769
#: vCPUs a function sees by memory: (up to MB, vCPUs) — AWS Lambda docs, quoted in REFERENCE (2026).
VISIBLE_VCPUS = ((3008, 2), (5307, 3), (7076, 4), (8845, 5), (math.inf, 6))


def _p(unit: str, source: str, date: str, kind: str = "published") -> dict:
    return {"unit": unit, "source": source, "date": date, "kind": kind}


@dataclass(frozen=True)
class KernelProfile:
    """What one map/reduce pair costs on this machine's core (from the calibration file, or overridden).

    :param name: ``project`` (this project's scanner) or ``original`` (the original study's pandas code).
    :param kernel_mb_s: MB of input one core of this machine parses and aggregates per second.
    :param output_ratio: bytes a map uploads as its result per input byte.
    :param threads: threads the kernel uses (1 for both: a scanner pass, pandas).
    :param overlaps_read: the kernel scans blocks as they arrive (the project's) instead of after the whole
        object is in memory (the original's ``get_object`` then parse).
    :param call_import_s: seconds, on this core, a call spends importing what its function needs before
        the first byte: Lithops forks a JobRunner per call and unpickles the function there, so these imports
        are paid by every call, not once per environment.
    :param peak_base_mb: peak RSS of a call's process with those imports and no data.
    :param peak_mb_per_input_mb: peak RSS added per MB of the object a call processes.
    :param reduce_mb_s: MB of partials the reduce combines per second on one core here.
    :param reduce_output_ratio: bytes of the reduce's output per byte of the partials it combined.
    """

    name: str
    kernel_mb_s: float
    output_ratio: float
    threads: int
    overlaps_read: bool
    call_import_s: float
    peak_base_mb: float
    peak_mb_per_input_mb: float
    reduce_mb_s: float
    reduce_output_ratio: float


@dataclass(frozen=True)
class ModelParameters:
    """The simulator's numbers. Field metadata holds each one's unit, source, date and kind."""

    # --- Lithops on the host (client) ---------------------------------------------------------------------
    job_create_s: float = field(default=0.25, metadata=_p(
        "s per job", "Lithops benchmarks: job creation (serialise + upload function and data) 0.06–0.43 s; "
        "midpoint", "2021–2022"))
    invoke_s: float = field(default=0.077, metadata=_p(
        "s per Invoke request, per host thread", "derived from Lithops benchmarks: 1,000 invocations "
        "submitted in 1.2 s through 64 threads (1.2 × 64 / 1,000)", "2022"))
    invoke_pool_threads: int = field(default=64, metadata=_p(
        "threads", "backend.invoke_pool_threads (Lithops' default 64) [code] invokers.py", "Lithops 3.8", "config"))
    async_invokers: int = field(default=2, metadata=_p(
        "threads", "FaaSInvoker.ASYNC_INVOKERS: loops that invoke queued calls, each given one token at start, "
        "so up to max_workers + 2 functions run at once [code] invokers.py", "Lithops 3.8", "code"))
    monitoring_interval_s: float = field(default=2.0, metadata=_p(
        "s", "backend.monitoring_interval: the storage monitor LISTs statuses this often, every interval / 5 "
        "after a round that found new ones [code] monitoring/backends/storage", "Lithops 3.8", "config"))
    wait_dur_s: float = field(default=1.0, metadata=_p(
        "s", "wait() sleeps WAIT_DUR_SEC between checks that bring nothing new (0.1 s on localhost) [code] "
        "wait.py", "Lithops 3.8", "code"))
    host_threads: int = field(default=64, metadata=_p(
        "threads", "status GETs (StorageMonitor.THREADPOOL_SIZE) and result downloads (wait.THREADPOOL_SIZE) "
        "[code]", "Lithops 3.8", "code"))
    client_mb_s: float = field(default=50.0, metadata=_p(
        "MB/s", "ASSUMPTION: the host's download bandwidth from S3 (a notebook VM outside AWS, ~400 Mbit/s); "
        "no published figure for the original study's Colab host; backend.client_mb_s", "—", "assumption"))
    client_latency_s: float = field(default=0.06, metadata=_p(
        "s per request", "ASSUMPTION: S3 first byte seen from a host outside the region: the same-region median "
        "(~30 ms, Skyrise) plus one wide-area round trip (~30 ms)", "—", "assumption"))

    # --- AWS Lambda -------------------------------------------------------------------------------------------
    account_concurrency: int = field(default=1000, metadata=_p(
        "functions", "AWS Lambda docs: account concurrency 1,000 by default (backend.account_concurrency)",
        "2023-11"))
    scaling_envs: int = field(default=1000, metadata=_p(
        "new environments", "AWS Lambda docs: each function scales by 1,000 environments every 10 s", "2023-11"))
    scaling_window_s: float = field(default=10.0, metadata=_p("s", "AWS Lambda docs (as above)", "2023-11"))
    placement_median_s: float = field(default=0.184, metadata=_p(
        "s", "derived: Lithops benchmarks' submit→start median 0.34 s at 1,000 functions, less one Invoke "
        "(0.077 s) and a hello-world INIT (0.079 s, maxday/lambda-perf zip 67–91 ms)", "2022 / 2026"))
    placement_sigma: float = field(default=0.70, metadata=_p(
        "log-normal σ", "derived: ln(p95 / median) / 1.645 of the same benchmark (p95 1.07 s, median 0.34 s)",
        "2022"))
    warm_start_s: float = field(default=0.05, metadata=_p(
        "s", "ASSUMPTION: async event → handler on a warm environment (no published figure; ~1–2 ms inside "
        "the environment plus Lambda's internal event queue)", "—", "assumption"))
    init_anchor_s: float = field(default=1.5, metadata=_p(
        "s", "fourTheorem lambda-datasci-perf: INIT of pandas + pyarrow + numpy, container image with warm "
        "caches 1.0–2.0 s (midpoint; zip ≈ 3.0 s), independent of memory. INIT here = this anchor × the "
        "handler's measured import time / the measured import time of those three libraries", "2023"))
    lambda_gflops_1024mb: float = field(default=19.6, metadata=_p(
        "GFLOPS per 1,024 MB function", "Lithops flops benchmark (numpy matmul, 1,024 MB functions); with "
        "this machine's measured matmul GFLOPS per core it gives the Lambda vCPU's speed relative to this core",
        "2022"))
    s3_stream_mb_s: float = field(default=100.0, metadata=_p(
        "MB/s per function", "Lithops S3 benchmarks, ≥ 1 GB functions, flat from 100 to 1,000 functions "
        "(85 MB/s in 2020). Below 1,024 MB: ASSUMPTION ∝ memory (no published figure)", "2022"))
    s3_first_byte_s: float = field(default=0.030, metadata=_p(
        "s (median)", "Skyrise (Bodner et al., arXiv 2501.07771): same-region 1 KB GET medians 18–41 ms; "
        "PUTs assumed alike", "2024"))
    s3_first_byte_p99_s: float = field(default=0.105, metadata=_p(
        "s (p99)", "Skyrise: p99 82–129 ms (midpoint); with the median it sets the log-normal spread", "2024"))
    cross_region_s: float = field(default=0.35, metadata=_p(
        "s per request", "kkc.github.io: +250–450 ms per small request us-east-1 → us-west-2 (midpoint); the "
        "bandwidth is assumed unchanged", "2020"))
    straggler_share: float = field(default=0.015, metadata=_p(
        "share of calls", "Lithops benchmarks: 0.4–2.5% of I/O-bound calls over 1.5× the median at 1,000 "
        "functions, none at 100; ASSUMPTION: linear between 100 and 1,000 functions", "2020–2022"))
    straggler_factor_low: float = field(default=1.5, metadata=_p(
        "× read time", "Lithops benchmarks: a straggler is a call over 1.5× the median", "2020–2022"))
    straggler_factor_high: float = field(default=4.0, metadata=_p(
        "× read time", "Lithops benchmarks: max 2.4–5.8× the median (midpoint ~4); factor drawn uniformly "
        "between low and high; compute is not slowed (compute-bound calls: max 1.07×)", "2020–2022"))


def field_meta(name: str) -> dict:
    """Unit, source, date and kind of one parameter."""
    return dict(next(f for f in fields(ModelParameters) if f.name == name).metadata)


def with_overrides(params: ModelParameters, overrides: dict[str, Any]) -> ModelParameters:
    """``params`` with some values replaced (``backend.client_mb_s=…`` and the sensitivity analysis)."""
    known = {f.name for f in fields(ModelParameters)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"model parameter(s) {', '.join(unknown)} are not known; choose from "
                         f"{', '.join(sorted(known))}")
    return replace(params, **overrides)


def vcpu_share(memory_mb: int) -> float:
    """CPU credit of a function in vCPUs: memory / 1,769 MB (AWS), never above the vCPUs it sees."""
    return min(memory_mb / ONE_VCPU_MB, visible_vcpus(memory_mb))


def visible_vcpus(memory_mb: int) -> int:
    """vCPUs a function of ``memory_mb`` sees (its threads can spread over them)."""
    return next(vcpus for limit, vcpus in VISIBLE_VCPUS if memory_mb <= limit)


def usable_vcpus(memory_mb: int, threads: int) -> float:
    """vCPUs a kernel of ``threads`` threads can use in a function of ``memory_mb``."""
    return min(vcpu_share(memory_mb), float(threads))


def s3_stream_mb_s(params: ModelParameters, memory_mb: int) -> float:
    """S3 read bandwidth of one function: the published figure at ≥ 1,024 MB, ∝ memory below (assumed)."""
    return params.s3_stream_mb_s * min(1.0, memory_mb / 1024)


def lognormal_sigma(median: float, p99: float) -> float:
    """σ of a log-normal with this median and 99th percentile."""
    return math.log(p99 / median) / 2.3263


def straggler_share(params: ModelParameters, concurrency: int) -> float:
    """Share of calls slowed at this many functions running at once (none at ≤ 100, linear to 1,000)."""
    return params.straggler_share * min(1.0, max(0.0, (concurrency - 100) / 900))


@dataclass(frozen=True)
class LocalhostParameters:
    """Lithops' localhost backend on this machine, measured by ``make calibrate`` from real runs.

    :param cores: cores the worker processes get with one process per core (measured: on a shared machine,
        fewer than it has).
    :param cores_by_processes: ``(processes, cores they got)`` points measured at one and two processes per
        core; the simulation interpolates between them (processes beyond the last share its cores).
    :param job_create_s: host clock from submitting a job to its first call handed to a worker.
    :param cold_start_s: submit → function start of a worker process's first call (the runner's start-up).
    :param call_pre_s: a call's start → its function's start (status, arguments).
    :param first_call_pre_s: the same for a process's first call (its first JobRunner fork touches pages the
        later ones find ready); part of ``cold_start_s``.
    :param call_post_s: a function's end → its call's end (result and status written).
    :param call_idle_s: one call's end → the same process's next call's start.
    :param map_mb_s: MB per second of the whole map function (ranged reads of the local object + kernel).
    :param reduce_start_s: last map's end → the reduce function's start (host sees the maps, submits it).
    :param reduce_mb_s: MB of partials the reduce function reads and combines per second, in its own forked
        runner (measured at two sizes).
    :param reduce_fixed_s: the reduce function's time that does not grow with its input.
    :param reduce_end_s: the reduce function's end → its result in the host's hand.
    """

    cores: float
    cores_by_processes: tuple[tuple[int, float], ...]
    job_create_s: float
    cold_start_s: float
    call_pre_s: float
    first_call_pre_s: float
    call_post_s: float
    call_idle_s: float
    map_mb_s: float
    reduce_start_s: float
    reduce_mb_s: float
    reduce_fixed_s: float
    reduce_end_s: float


def parameter_table(params: ModelParameters, *, calibration_source: str = "", derived: dict | None = None,
                    profile: KernelProfile | None = None, localhost: LocalhostParameters | None = None) -> list[dict]:
    """Rows ``name, value, unit, source, date, kind`` of every parameter a prediction used.

    :param calibration_source: the calibration file's name and date, the source of measured rows.
    :param derived: figures computed from others (e.g. ``cpu_ratio``), each ``name -> (value, unit, how)``.
    """
    rows = []
    for f in fields(ModelParameters):
        meta = f.metadata
        rows.append({"name": f.name, "value": getattr(params, f.name), "unit": meta["unit"],
                     "source": meta["source"], "date": meta["date"], "kind": meta["kind"]})
    measured = calibration_source or "calibration file"
    if profile is not None:
        units = {"kernel_mb_s": "MB/s per core here", "output_ratio": "output bytes / input byte",
                 "threads": "threads", "overlaps_read": "bool", "call_import_s": "s per call, this core",
                 "peak_base_mb": "MB", "peak_mb_per_input_mb": "MB per input MB", "reduce_mb_s": "MB/s here",
                 "reduce_output_ratio": "output bytes / partial byte"}
        for name, unit in units.items():
            kind = "code" if name in ("threads", "overlaps_read") else "calibration"
            rows.append({"name": f"kernel.{profile.name}.{name}", "value": getattr(profile, name), "unit": unit,
                         "source": measured if kind == "calibration" else "read in the kernel's code",
                         "date": "", "kind": kind})
    if localhost is not None:
        for f in fields(LocalhostParameters):
            value = getattr(localhost, f.name)
            if isinstance(value, tuple):
                value = "; ".join(f"{n} processes → {c:.2f} cores" for n, c in value)
            rows.append({"name": f"localhost.{f.name}", "value": value,
                         "unit": "cores" if f.name == "cores" else ("MB/s" if f.name.endswith("mb_s") else "s"),
                         "source": measured, "date": "", "kind": "calibration"})
    for name, (value, unit, how) in (derived or {}).items():
        value = value if not isinstance(value, tuple) else "; ".join(f"{n}→{c:.2f}" for n, c in value)
        rows.append({"name": name, "value": value, "unit": unit, "source": how, "date": "", "kind": "derived"})
    return rows
