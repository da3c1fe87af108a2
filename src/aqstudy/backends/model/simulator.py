"""A discrete-event simulation of one Lithops job, on AWS Lambda or on this machine (pure: no I/O).

Written with SimPy: each Lithops thread the job depends on (the invoke pool, the two async invokers that
spend the monitor's tokens, the storage monitor, ``wait()``'s loop, each function and the reducer's own
monitor) is one SimPy process, so the model reads like the code it models (``lithops/invokers.py``,
``monitoring/backends/storage``, ``wait.py``, ``worker/handler.py``). A plain heap of events would have to
spell out each of those threads' states by hand.

What a call does on Lambda (Lithops 3.8, one worker process per function as this project configures it):

1. the host creates the job (serialise and upload function and data), then hands the first ``max_workers``
   invocations (``chunksize`` calls each) to its invoke pool; the rest wait in a queue for a token, which the
   storage monitor hands back when its LIST shows that every call of a function is done;
2. Lambda starts the invocation in an idle (warm) environment, or creates one (placement + INIT), within the
   account's concurrency and the scaling limit of 1,000 new environments per 10 s;
3. the handler downloads the function and the data, then runs the calls one after another, each in a forked
   JobRunner that unpickles the function: the function's imports are paid by **every call** (a cold
   environment reads their files for the first time, later calls find them in the page cache);
4. a map reads its object from S3 (first byte, then MB at the stream bandwidth; a straggler reads slower),
   parses it at the kernel's speed scaled to the function's vCPU share, and uploads its output;
5. the host's monitor sees statuses at its next LIST (every ``monitoring_interval``, a fifth of it after new
   ones), GETs them, and ``wait()`` picks them up at its next check (1 s apart when nothing is new);
6. the reducer (``reduce=function``) waits inside its function with its own monitor and downloads every
   map's output; with ``reduce=client`` the host downloads them all at its bandwidth and reduces them.

Rows come out with the columns of ``calls.csv`` (:data:`aqstudy.measure.metrics.CALL_COLUMNS`), so the metrics and
the cost model of real runs apply unchanged.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field

import simpy

from aqstudy.backends.model.parameters import (
    KernelProfile,
    LocalhostParameters,
    ModelParameters,
    lognormal_sigma,
    s3_stream_mb_s,
    straggler_share,
    usable_vcpus,
    vcpu_share,
    visible_vcpus,
)
from aqstudy.measure.metrics import CALL_COLUMNS

PLATFORMS = ("aws_lambda", "localhost")
REDUCE_MODES = ("function", "client")
SPAWN_REDUCER_VALUES = (0, 100)
#: Status keys per call that a LIST returns (init marker, status, result) and keys per LIST page (S3).
KEYS_PER_CALL = 3
LIST_PAGE_KEYS = 1000
#: A result above this travels as an object of its own (Lithops' status message holds smaller ones).
INLINE_RESULT_BYTES = 8 * 1024
#: localhost: wait() sleeps this long between checks (Lithops' wait.py, any non-S3 storage).
LOCAL_WAIT_S = 0.1


@dataclass(frozen=True)
class JobSpec:
    """One job to simulate, in the study's terms.

    :param object_bytes: size of each object a map call reads (one call per object).
    :param chunksize: map calls per function invocation.
    :param workers: functions at once (Lithops' ``max_workers``; localhost: worker processes).
    :param memory_mb: function memory.
    :param cross_region: the dataset's bucket is in another region than the functions.
    :param reduce: ``function`` (a reducer function, Lithops' ``map_reduce``) or ``client`` (the host
        downloads every map's output and reduces them, as the original study's ``get_result()`` did).
    :param spawn_reducer: 0 submits the reducer with the maps, 100 once the host has seen them all done.
    :param reduce_poll_s: seconds between the host's own GETs of the reduce's status; None leaves it to
        Lithops' ``wait()``.
    :param timeout_s: the function timeout.
    :param warm_envs: idle warm environments of this function when the job starts (a sweep's earlier runs).
    :param seed: makes the random draws (first-byte latencies, placements, stragglers) reproducible.
    :param base_epoch_s: the host clock at submit; every timestamp of the rows is relative to it.
    """

    object_bytes: tuple[int, ...]
    chunksize: int
    workers: int
    memory_mb: int
    cross_region: bool = False
    reduce: str = "function"
    spawn_reducer: int = 0
    reduce_poll_s: float | None = None
    timeout_s: float = 900.0
    warm_envs: int = 0
    seed: int = 0
    base_epoch_s: float = 0.0


@dataclass(frozen=True)
class Platform:
    """Where the job runs, and what its calls cost there.

    :param name: ``aws_lambda`` or ``localhost``.
    :param cpu_ratio: speed of the platform's vCPU relative to this machine's core (1.0 on localhost).
    :param init_s: INIT of a new Lambda environment (the handler's imports), seconds.
    :param cold_io_scale: how much slower the first import of a file is in a new environment than here
        with warm caches (scales the first call's imports).
    :param fork_s: forking the JobRunner, seconds on this core.
    :param localhost: the measured localhost backend (``name == "localhost"`` only).
    """

    name: str
    params: ModelParameters
    profile: KernelProfile
    cpu_ratio: float = 1.0
    init_s: float = 0.0
    cold_io_scale: float = 1.0
    fork_s: float = 0.0
    localhost: LocalhostParameters | None = None


@dataclass
class Prediction:
    """What the simulated job did: its calls as ``calls.csv`` rows, its clock, what it billed and used.

    ``results_in_hand_at`` is when the host held every result it asked for (the reduce's, or with
    ``reduce=client`` every map's, before it reduces them); ``finished_at`` includes a client-side reduce.
    """

    status: str
    error: str | None
    calls: list[dict]
    submitted_at: float
    finished_at: float
    results_in_hand_at: float
    invocation_durations_s: list[float]
    init_durations_s: list[float]
    envs_created: int
    idle_envs_after: int
    breakdown: dict[str, float]
    lithops_gets: int = 0
    lithops_puts: int = 0
    lithops_lists: int = 0
    data_gets: int = 0
    data_bytes_read: int = 0
    host_bytes_downloaded: int = 0


class _Call:
    __slots__ = ("index", "phase", "job", "input_bytes", "output_bytes", "invocation", "submit", "worker_start",
                 "func_start", "func_end", "worker_end", "status_seen", "result_done", "cold", "status", "error",
                 "read_s", "compute_s", "import_s", "peak_mb", "cpu_pct", "recv_bytes", "sent_bytes")

    def __init__(self, index: int, phase: str, job: str, input_bytes: int, output_bytes: int):
        self.index, self.phase, self.job = index, phase, job
        self.input_bytes, self.output_bytes = input_bytes, output_bytes
        self.invocation = None
        self.submit = self.worker_start = self.func_start = self.func_end = self.worker_end = None
        self.status_seen = self.result_done = None
        self.cold = False
        self.status, self.error = "not_run", None
        self.read_s = self.compute_s = self.import_s = 0.0
        self.peak_mb = self.cpu_pct = None
        self.recv_bytes = self.sent_bytes = 0


class _Invocation:
    __slots__ = ("index", "job", "calls", "submit", "start", "end", "init_s", "cold")

    def __init__(self, index: int, job: str, calls: list[_Call]):
        self.index, self.job, self.calls = index, job, calls
        self.submit = self.start = self.end = None
        self.init_s = 0.0
        self.cold = False


@dataclass
class _Counters:
    gets: int = 0
    puts: int = 0
    lists: int = 0
    data_gets: int = 0
    data_bytes: int = 0
    host_bytes: int = 0
    envs_created: int = 0
    init_durations: list[float] = field(default_factory=list)


def simulate(spec: JobSpec, platform: Platform) -> Prediction:
    """Simulate one job. Deterministic for a given ``spec.seed``.

    :raises ValueError: for a spec the model cannot take (the message names the fix).
    """
    _check(spec, platform)
    return _Simulation(spec, platform).run()


def _check(spec: JobSpec, platform: Platform) -> None:
    if platform.name not in PLATFORMS:
        raise ValueError(f"backend.platform={platform.name!r} is not known; choose aws_lambda or localhost")
    if spec.reduce not in REDUCE_MODES:
        raise ValueError(f"reduce={spec.reduce!r} is not known; choose function or client")
    if spec.spawn_reducer not in SPAWN_REDUCER_VALUES:
        raise ValueError(f"spawn_reducer={spec.spawn_reducer!r} is not valid; pass 0 or 100")
    if not spec.object_bytes:
        raise ValueError("the job has no object to read; pass data_size > 0")
    if spec.chunksize < 1 or spec.workers < 1:
        raise ValueError("chunksize and workers must be at least 1")
    if platform.name == "localhost" and platform.localhost is None:
        raise ValueError("backend.platform=localhost needs the calibration's localhost section; run `make calibrate`")


class _Simulation:
    def __init__(self, spec: JobSpec, platform: Platform):
        self.spec, self.platform, self.p, self.kernel = spec, platform, platform.params, platform.profile
        self.local = platform.name == "localhost"
        self.env = simpy.Environment()
        self.count = _Counters()
        self.failure: str | None = None
        self.failed = self.env.event()
        self.fb_sigma = lognormal_sigma(self.p.s3_first_byte_s, self.p.s3_first_byte_p99_s)
        self.rng = random.Random(f"model-{spec.seed}")
        self.done_log: list[_Call] = []  # calls in the order their status was written
        self.maps = [_Call(i, "map", "M000", size, int(round(size * self.kernel.output_ratio)))
                     for i, size in enumerate(spec.object_bytes)]
        chunks = [self.maps[i:i + spec.chunksize] for i in range(0, len(self.maps), spec.chunksize)]
        self.invocations = [_Invocation(i, "M000", calls) for i, calls in enumerate(chunks)]
        for invocation in self.invocations:
            for call in invocation.calls:
                call.invocation = invocation
        self.reduce_call: _Call | None = None
        self.reduce_invocation: _Invocation | None = None
        if spec.reduce == "function":
            partial_bytes = sum(call.output_bytes for call in self.maps)
            self.reduce_call = _Call(0, "reduce", "R000", 0,
                                     max(1, int(partial_bytes * self.kernel.reduce_output_ratio)))
            self.reduce_invocation = _Invocation(len(self.invocations), "R000", [self.reduce_call])
            self.reduce_call.invocation = self.reduce_invocation
        concurrency = min(spec.workers, len(self.invocations))
        self.straggler_share = 0.0 if self.local else straggler_share(self.p, concurrency)
        self.share = vcpu_share(spec.memory_mb)
        self.usable = usable_vcpus(spec.memory_mb, self.kernel.threads)
        self.stream_mb_s = s3_stream_mb_s(self.p, spec.memory_mb)
        self.peak_by_call = {call.index: self.kernel.peak_base_mb + self.kernel.peak_mb_per_input_mb
                             * call.input_bytes / 1e6 for call in self.maps}
        self.submitted_at = 0.0
        self.results_in_hand_at = None
        self.finished_at = None
        # AWS: environments of the function (the maps and the reducer share one Lambda function).
        self.idle_envs = spec.warm_envs
        self.concurrency = simpy.Resource(self.env, capacity=max(1, self.p.account_concurrency))
        self.created_at: deque[float] = deque()
        # Lithops' invoker state
        self.invoke_pool = simpy.Resource(self.env, capacity=max(1, self.p.invoke_pool_threads))
        self.tokens = simpy.Store(self.env)
        self.pending = simpy.Store(self.env)
        self.running_workers = 0
        self.async_started = False
        # localhost: one process pool per job, its processes take calls one at a time and share the cores.
        self.cpu = _SharedCPU(self.env, platform.localhost.cores_by_processes) if self.local else None

    # ---- random draws ---------------------------------------------------------------------------------
    def first_byte(self, rng: random.Random, *, cross_region: bool = False) -> float:
        latency = self.p.s3_first_byte_s * math.exp(self.fb_sigma * rng.gauss(0.0, 1.0))
        return latency + (self.p.cross_region_s if cross_region else 0.0)

    def _call_rng(self, call: _Call) -> random.Random:
        return random.Random(f"{self.spec.seed}-{call.phase}-{call.index}")

    # ---- the run ------------------------------------------------------------------------------------------
    def run(self) -> Prediction:
        host = self.env.process(self._host())
        self.env.run(until=self.env.any_of([host, self.failed]))
        if self.failure is not None:
            self.finished_at = self.env.now
            self.results_in_hand_at = self.env.now
        return self._prediction()

    def fail(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            self.failed.succeed()

    def _host(self):
        spec, p = self.spec, self.p
        create_s = self.platform.localhost.job_create_s if self.local else p.job_create_s
        self.map_created_at = self.env.now
        yield self.env.timeout(create_s)
        self._invoke_job(self.invocations)
        monitor = _Monitor(self, tracked=list(self.maps), interval_s=p.monitoring_interval_s,
                           tokens=not self.local, host=True)
        self.env.process(monitor.run())
        if self.reduce_call is not None and spec.spawn_reducer == 0:
            self.reduce_created_at = self.env.now
            yield self.env.timeout(create_s)
            monitor.track([self.reduce_call])
            self._invoke_job([self.reduce_invocation])
        lithops_sleep_s = LOCAL_WAIT_S if self.local else p.wait_dur_s
        if spec.reduce == "client":  # get_result(): Lithops' own wait loop
            yield from self._host_wait(self.maps, download=True, sleep_s=lithops_sleep_s)
            self.results_in_hand_at = self.env.now
            partial_mb = sum(call.output_bytes for call in self.maps) / 1e6
            yield self.env.timeout(partial_mb / self.kernel.reduce_mb_s)
            self.finished_at = self.env.now
            monitor.stop()
            return
        poll_s = spec.reduce_poll_s or lithops_sleep_s  # the engine's wait_often, else Lithops' wait
        if spec.spawn_reducer == 100:
            yield from self._host_wait(self.maps, download=False, sleep_s=poll_s)
            self.reduce_created_at = self.env.now
            yield self.env.timeout(create_s)
            monitor.track([self.reduce_call])
            self._invoke_job([self.reduce_invocation])
        if self.local:
            yield from self._local_host_reduce_wait()
        elif spec.reduce_poll_s:
            yield from self._poll_reduce(spec.reduce_poll_s)
        else:
            yield from self._host_wait([*self.maps, self.reduce_call], download=False, sleep_s=poll_s)
        # get_result of the reduce: one GET of its output.
        yield self.env.timeout(self._host_downloads([self.reduce_call]))
        self.results_in_hand_at = self.finished_at = self.env.now
        monitor.stop()

    # ---- Lithops' invoker (invokers.py: FaaSInvoker) ----------------------------------------------------------
    def _invoke_job(self, invocations: list[_Invocation]) -> None:
        """``_invoke_job``: the first free ``max_workers`` invocations go to the invoke pool, the rest to the
        pending queue that the async invokers drain one token at a time."""
        if self.local:
            self._local_dispatch(invocations)
            return
        if not self.async_started:
            self.async_started = True
            for index in range(self.p.async_invokers):
                self.tokens.put("#")  # each async invoker starts with a token of its own ([code])
                self.env.process(self._async_invoker(index))
        else:
            while self.tokens.items and self.running_workers > 0:  # _drain_token_bucket
                self.tokens.items.pop(0)
                self.running_workers -= 1
        if self.running_workers >= self.spec.workers:
            for invocation in invocations:
                self.pending.put(invocation)
            return
        free = self.spec.workers - self.running_workers
        direct, queued = invocations[:free], invocations[free:]
        self.running_workers += len(direct)
        for invocation in direct:
            self.env.process(self._invoke(invocation, self.invoke_pool))
        for invocation in queued:
            self.pending.put(invocation)

    def _async_invoker(self, index: int):
        threads = simpy.Resource(self.env, capacity=max(1, min(64, self.p.invoke_pool_threads // 4)))
        while True:
            yield self.tokens.get()
            invocation = yield self.pending.get()
            self.env.process(self._invoke(invocation, threads))

    def _invoke(self, invocation: _Invocation, pool: simpy.Resource):
        with pool.request() as slot:
            yield slot
            invocation.submit = self.env.now
            for call in invocation.calls:
                call.submit = self.env.now
            yield self.env.timeout(self.p.invoke_s)
        self.env.process(self._lambda(invocation))

    # ---- AWS Lambda ---------------------------------------------------------------------------------------
    def _lambda(self, invocation: _Invocation):
        """An async invocation: an environment (warm or new), then the handler runs its calls."""
        p, env = self.p, self.env
        rng = random.Random(f"{self.spec.seed}-invocation-{invocation.job}-{invocation.index}")
        slot = self.concurrency.request()
        yield slot
        if self.idle_envs > 0:
            self.idle_envs -= 1
            yield env.timeout(p.warm_start_s)
            invocation.cold = False
        else:
            while len(self.created_at) >= p.scaling_envs:  # 1,000 new environments per 10 s
                oldest = self.created_at[0]
                if env.now - oldest >= p.scaling_window_s:
                    self.created_at.popleft()
                    continue
                yield env.timeout(oldest + p.scaling_window_s - env.now)
            self.created_at.append(env.now)
            self.count.envs_created += 1
            placement = p.placement_median_s * math.exp(p.placement_sigma * rng.gauss(0.0, 1.0))
            yield env.timeout(placement + self.platform.init_s)
            invocation.cold = True
            invocation.init_s = self.platform.init_s
            self.count.init_durations.append(self.platform.init_s)
        invocation.start = env.now
        deadline = env.now + self.spec.timeout_s
        # The handler downloads the function and its slice of the job's data.
        self.count.gets += 2
        alive = yield from self._step(self.first_byte(rng) + self.first_byte(rng), deadline, None)
        for position, call in enumerate(invocation.calls):
            if not alive:
                break
            call.cold = invocation.cold and position == 0
            alive = yield from self._run_call(call, deadline, first_in_env=call.cold)
        invocation.end = env.now
        self.concurrency.release(slot)
        if alive:
            self.idle_envs += 1  # a timed-out environment is torn down, not reused

    def _step(self, seconds: float, deadline: float, call: _Call | None):
        """Advance by ``seconds`` unless the function's timeout comes first; then the call fails."""
        if self.env.now + seconds <= deadline:
            yield self.env.timeout(seconds)
            return True
        yield self.env.timeout(max(0.0, deadline - self.env.now))
        if call is not None:
            call.status, call.error = "error", (f"TimeoutError: function exceeded maximum time of "
                                                f"{self.spec.timeout_s:g} seconds and was killed")
        self.fail(f"an invocation would run past backend.timeout_s={self.spec.timeout_s:g} s (Lambda's limit is "
                  "900 s): pass a smaller chunksize, more workers or more memory")
        return False

    def _run_call(self, call: _Call, deadline: float, *, first_in_env: bool):
        """One call in its forked JobRunner: imports, the function body, its output and status."""
        env, kernel = self.env, self.kernel
        rng = self._call_rng(call)
        call.worker_start = env.now
        cpu = self.platform.cpu_ratio * min(1.0, self.share)
        imports = (kernel.call_import_s * self.platform.cold_io_scale if first_in_env
                   else kernel.call_import_s / cpu)
        call.import_s = imports
        if not (yield from self._step(imports + self.platform.fork_s / cpu, deadline, call)):
            return False
        call.func_start = env.now
        if call.phase == "map":
            if self.peak_by_call[call.index] > self.spec.memory_mb:
                call.status, call.error = "error", "MemoryError: out of memory"
                self.fail(self._oom_reason(call))
                yield env.timeout(0)
                return False
            body = self._map_body(call, rng)
            self.count.data_gets += 1
            self.count.data_bytes += call.input_bytes
            call.recv_bytes = call.input_bytes
            call.peak_mb = self.peak_by_call[call.index]
            if not (yield from self._step(body, deadline, call)):
                return False
        else:
            ok = yield from self._reducer_body(call, deadline, rng)
            if not ok:
                return False
        call.func_end = env.now
        # Output (a result object when it is over Lithops' inline size), then the status.
        upload = self.first_byte(rng)
        if call.output_bytes > INLINE_RESULT_BYTES:
            upload += self.first_byte(rng) + call.output_bytes / 1e6 / self.stream_mb_s
            self.count.puts += 1
        self.count.puts += 2  # init marker and status
        call.sent_bytes = call.output_bytes
        if not (yield from self._step(upload, deadline, call)):
            return False
        call.worker_end = env.now
        call.status = "ok"
        self.done_log.append(call)
        return True

    def _map_body(self, call: _Call, rng: random.Random) -> float:
        mb = call.input_bytes / 1e6
        read_s = mb / self.stream_mb_s
        if rng.random() < self.straggler_share:
            read_s *= rng.uniform(self.p.straggler_factor_low, self.p.straggler_factor_high)
        compute_s = mb / (self.kernel.kernel_mb_s * self.platform.cpu_ratio * self.usable)
        first_byte = self.first_byte(rng, cross_region=self.spec.cross_region)
        call.read_s, call.compute_s = first_byte + read_s, compute_s
        call.cpu_pct = 100.0 * self.usable / visible_vcpus(self.spec.memory_mb) * compute_s / max(
            compute_s, read_s if self.kernel.overlaps_read else compute_s + read_s)
        if self.kernel.overlaps_read:  # scanned block by block as the bytes arrive
            return first_byte + max(read_s, compute_s)
        return first_byte + read_s + compute_s

    def _oom_reason(self, call: _Call) -> str:
        return (f"a map call would need ~{self.peak_by_call[call.index]:.0f} MB (backend.kernel="
                f"{self.kernel.name}, {call.input_bytes / 1e6:.0f} MB object) but the function has memory="
                f"{self.spec.memory_mb} MB: pass more memory or smaller objects")

    def _reducer_body(self, call: _Call, deadline: float, rng: random.Random):
        """The reducer waits inside its function: its own monitor LISTs the map statuses, its wait() downloads
        each map's output as it is seen, then it combines them all."""
        waiter = _InFunctionWait(self, call, rng)
        finished = self.env.process(waiter.run())
        remaining = deadline - self.env.now
        timer = self.env.timeout(max(0.0, remaining))
        yield self.env.any_of([finished, timer])
        if not finished.triggered:
            waiter.stop()
            call.status, call.error = "error", "TimeoutError: the reducer waited past the function's timeout"
            self.fail(f"the reducer would wait past backend.timeout_s={self.spec.timeout_s:g} s for the maps: "
                      "pass more workers or a smaller chunksize")
            return False
        partial_mb = sum(m.output_bytes for m in self.maps) / 1e6
        call.recv_bytes = int(partial_mb * 1e6)
        call.peak_mb = self.kernel.peak_base_mb + 2 * partial_mb
        cpu = self.platform.cpu_ratio * min(1.0, self.share)
        call.compute_s = partial_mb / (self.kernel.reduce_mb_s * cpu)
        return (yield from self._step(call.compute_s, deadline, call))

    # ---- the host -----------------------------------------------------------------------------------------
    def _host_downloads(self, calls: list[_Call]) -> float:
        """Seconds for the host to download these calls' results through its 64 threads at its bandwidth;
        each call's ``result_done`` is set on the way."""
        if self.local:
            latency, bandwidth = 0.001, 1000.0
        else:
            latency, bandwidth = self.p.client_latency_s, self.p.client_mb_s
        threads = max(1, self.p.host_threads)
        cumulative, end = 0.0, 0.0
        for position, call in enumerate(calls):
            cumulative += call.output_bytes / 1e6 / bandwidth
            done = latency + max(cumulative, (position // threads) * latency)
            call.result_done = self.env.now + done
            end = max(end, done)
            self.count.gets += 1
            self.count.host_bytes += call.output_bytes
        return end

    def _host_wait(self, calls: list[_Call], *, download: bool, sleep_s: float):
        """Lithops' ``wait()`` on the host: fetch what the monitor has seen; loop at once after a round that
        fetched something, else sleep ``sleep_s`` (Lithops' ``wait_dur_sec``: 1 s on S3, 0.1 s on localhost; or
        ``reduce_poll_s`` when the engine polls itself, ``wait_often``)."""
        fetched: set[int] = set()
        while len(fetched) < len(calls):
            ready = [c for c in calls if c.status_seen is not None and c.status_seen <= self.env.now
                     and id(c) not in fetched]
            if not ready:
                yield self.env.timeout(sleep_s)
                continue
            for call in ready:
                fetched.add(id(call))
            if download:
                yield self.env.timeout(self._host_downloads(ready))

    def _poll_reduce(self, poll_s: float):
        """The engine's ``wait_often``: every ``poll_s`` the host GETs the reduce's status itself."""
        call = self.reduce_call
        while True:
            self.count.gets += 1
            yield self.env.timeout(self.p.client_latency_s)
            if call.worker_end is not None and call.worker_end <= self.env.now - self.p.client_latency_s:
                call.status_seen = self.env.now
                return
            yield self.env.timeout(poll_s)

    # ---- localhost ----------------------------------------------------------------------------------------
    def _local_dispatch(self, invocations: list[_Invocation]) -> None:
        """Lithops' localhost backend: a pool of ``workers`` processes per job, each taking the next call."""
        calls = deque(call for invocation in invocations for call in invocation.calls)
        submitted = self.env.now
        for invocation in invocations:
            invocation.submit = submitted
            for call in invocation.calls:
                call.submit = submitted
        processes = min(self.spec.workers, len(calls))
        for _ in range(processes):
            self.env.process(self._local_process(calls))

    def _local_process(self, calls: deque):
        local, env = self.platform.localhost, self.env
        first = True
        while calls:
            call = calls.popleft()
            if call.phase == "reduce":
                yield from self._local_reduce(call)
                continue
            pre_s = local.first_call_pre_s if first else local.call_pre_s
            if first:  # the host and the runner: the same for every process
                yield env.timeout(max(0.0, local.cold_start_s - pre_s))
            else:
                yield env.timeout(local.call_idle_s)
            call.cold, first = first, False
            call.worker_start = env.now
            # The fork, the function's unpickling and the status written after it are work on a core too: with
            # more processes than cores they are shared like the map's (measured with one process alone).
            yield from self.cpu.run(pre_s)
            call.func_start = env.now
            call.recv_bytes, call.sent_bytes = call.input_bytes, call.output_bytes
            call.peak_mb = self.peak_by_call[call.index]
            self.count.data_gets += 1
            self.count.data_bytes += call.input_bytes
            # Processes beyond the cores share them (processor sharing while they overlap).
            yield from self.cpu.run(call.input_bytes / 1e6 / local.map_mb_s)
            call.func_end = env.now
            call.compute_s = call.func_end - call.func_start
            yield from self.cpu.run(local.call_post_s)
            call.worker_end = env.now
            call.status = "ok"
            self.done_log.append(call)

    def _local_reduce(self, call: _Call):
        local, env = self.platform.localhost, self.env
        while any(m.worker_end is None for m in self.maps):  # localhost runs one job after the other
            yield env.timeout(0.005)
        last_map_end = max(m.worker_end for m in self.maps)
        call.cold = True
        call.worker_start = env.now
        yield env.timeout(max(0.0, last_map_end + local.reduce_start_s - env.now))
        call.func_start = env.now
        partial_mb = sum(m.output_bytes for m in self.maps) / 1e6
        call.compute_s = local.reduce_fixed_s + partial_mb / local.reduce_mb_s
        call.recv_bytes, call.sent_bytes = int(partial_mb * 1e6), call.output_bytes
        yield env.timeout(call.compute_s)
        call.func_end = env.now
        call.worker_end = env.now
        call.status = "ok"
        self.done_log.append(call)

    def _local_host_reduce_wait(self):
        """localhost: the reduce's end reaches the host after the measured hand-back (status, poll, result)."""
        call = self.reduce_call
        while call.worker_end is None:
            yield self.env.timeout(0.005)
        call.status_seen = call.worker_end
        yield self.env.timeout(max(0.0, call.worker_end + self.platform.localhost.reduce_end_s - self.env.now))

    # ---- results --------------------------------------------------------------------------------------------
    def _prediction(self) -> Prediction:
        base = self.spec.base_epoch_s
        calls = [*self.maps, *([self.reduce_call] if self.reduce_call else [])]
        rows = [self._row(call, base) for call in calls]
        invocations = [*self.invocations, *([self.reduce_invocation] if self.reduce_invocation else [])]
        durations = [inv.end - inv.start for inv in invocations if inv.start is not None and inv.end is not None]
        if self.local:
            durations = [c.worker_end - c.worker_start for c in calls if c.worker_end is not None]
        in_hand = self.results_in_hand_at if self.results_in_hand_at is not None else self.env.now
        finished = self.finished_at if self.finished_at is not None else self.env.now
        return Prediction(
            status="FAILED" if self.failure else "FINISHED", error=self.failure, calls=rows,
            submitted_at=base, finished_at=base + finished, results_in_hand_at=base + in_hand,
            invocation_durations_s=durations, init_durations_s=list(self.count.init_durations),
            envs_created=self.count.envs_created,
            idle_envs_after=0 if self.local else self.idle_envs,
            breakdown=breakdown(self, calls, in_hand, finished),
            lithops_gets=self.count.gets, lithops_puts=self.count.puts, lithops_lists=self.count.lists,
            data_gets=self.count.data_gets, data_bytes_read=self.count.data_bytes,
            host_bytes_downloaded=self.count.host_bytes,
        )

    def _row(self, call: _Call, base: float) -> dict:
        def at(value):
            return None if value is None else base + value

        invocation = call.invocation
        created = getattr(self, "reduce_created_at", 0.0) if call.phase == "reduce" else self.map_created_at
        exec_s = (call.worker_end - call.worker_start) if call.worker_end is not None and call.worker_start \
            is not None else None
        startup = (call.func_start - call.submit) if call.func_start is not None and call.submit is not None else None
        row = {
            "phase": call.phase, "call_id": f"{call.job}-{call.index:05d}",
            "activation_id": f"sim-{call.job}-{invocation.index:05d}", "status": call.status,
            "attempts": 1, "error": call.error,
            "host_job_create_tstamp": at(created), "host_submit_tstamp": at(call.submit),
            "worker_start_tstamp": at(call.worker_start), "worker_func_start_tstamp": at(call.func_start),
            "worker_func_end_tstamp": at(call.func_end), "worker_end_tstamp": at(call.worker_end),
            "host_status_done_tstamp": at(call.status_seen), "host_result_done_tstamp": at(call.result_done),
            "cold_start": call.cold, "exec_s": exec_s, "startup_s": startup, "peak_memory_mb": call.peak_mb,
            "cpu_usage_pct": call.cpu_pct, "net_recv_bytes": call.recv_bytes or None,
            "net_sent_bytes": call.sent_bytes or None, "worker_calls": len(invocation.calls),
            "input_bytes": call.input_bytes if call.phase == "map" else None,
        }
        return {name: row.get(name) for name in CALL_COLUMNS}  # the rest (records …) a prediction does not know


def cores_for(points: tuple[tuple[int, float], ...], processes: int) -> float:
    """Cores ``processes`` computing at once get: the measured ``(processes, cores)`` points, interpolated
    linearly (from one process on one core), flat beyond the last point."""
    known = sorted({(1, 1.0), *points})
    if processes >= known[-1][0]:
        return known[-1][1]
    for (n0, c0), (n1, c1) in zip(known, known[1:], strict=False):
        if n0 <= processes <= n1:
            return c0 + (c1 - c0) * (processes - n0) / max(1, n1 - n0)
    return 1.0


class _SharedCPU:
    """Cores shared by the processes computing at once (processor sharing): each gets ``cores(n) / n`` of a core
    (at most one) while ``n`` compute, recomputed whenever one starts or ends; ``cores(n)`` as measured."""

    def __init__(self, env: simpy.Environment, points: tuple[tuple[int, float], ...]):
        self.env, self.points = env, points
        self.active: dict[int, list] = {}  # key -> [remaining core-seconds, done event]
        self.updated = 0.0
        self.version = 0
        self.next_key = 0

    def _rate(self) -> float:
        n = len(self.active)
        return min(1.0, cores_for(self.points, n) / n) if n else 1.0

    def _advance(self) -> None:
        elapsed, rate = self.env.now - self.updated, self._rate()
        for entry in self.active.values():
            entry[0] -= elapsed * rate
        self.updated = self.env.now

    def run(self, work_s: float):
        """Compute ``work_s`` core-seconds, sharing the cores with the others computing meanwhile."""
        self._advance()
        done = self.env.event()
        self.active[self.next_key] = [work_s, done]
        self.next_key += 1
        self._schedule()
        yield done

    def _schedule(self) -> None:
        self.version += 1
        if self.active:
            soonest = min(entry[0] for entry in self.active.values()) / self._rate()
            self.env.process(self._wake(self.version, max(0.0, soonest)))

    def _wake(self, version: int, delay: float):
        yield self.env.timeout(delay)
        if version != self.version:
            return  # someone started or ended meanwhile: a newer wake-up is scheduled
        self._advance()
        for key in [k for k, (remaining, _) in self.active.items() if remaining <= 1e-9]:
            self.active.pop(key)[1].succeed()
        self._schedule()


class _Monitor:
    """Lithops' storage monitor: LIST the job's status keys, hand back a token for every function whose calls
    are all done, GET the new statuses (64 threads), sleep ``interval`` (a fifth of it after news)."""

    def __init__(self, sim: _Simulation, *, tracked: list[_Call], interval_s: float, tokens: bool, host: bool,
                 rng: random.Random | None = None):
        self.sim, self.tracked, self.interval_s = sim, list(tracked), interval_s
        self.tokens, self.host, self.rng = tokens, host, rng or sim.rng
        self.position = 0  # done_log entries already looked at
        self.seen: set[int] = set()
        self.done_per_invocation: dict[int, int] = {}
        self.stopped = False

    def track(self, calls: list[_Call]) -> None:
        self.tracked.extend(calls)

    def stop(self) -> None:
        self.stopped = True

    def _latency(self) -> float:
        if self.sim.local:
            return 0.0
        return self.sim.p.client_latency_s if self.host else self.sim.first_byte(self.rng)

    def run(self):
        sim, env = self.sim, self.sim.env
        tracked_ids = None
        while not self.stopped:
            if tracked_ids is None or len(tracked_ids) != len(self.tracked):
                tracked_ids = {id(c) for c in self.tracked}
            listed_at = env.now
            pages = max(1, math.ceil(len(self.tracked) * KEYS_PER_CALL / LIST_PAGE_KEYS))
            sim.count.lists += pages
            yield env.timeout(self._latency() * pages)
            new = []
            log = sim.done_log
            while self.position < len(log) and log[self.position].worker_end <= listed_at:
                call = log[self.position]
                self.position += 1
                if id(call) in tracked_ids and id(call) not in self.seen:
                    new.append(call)
            if self.tokens:
                for call in new:
                    invocation = call.invocation
                    count = self.done_per_invocation.get(id(invocation), 0) + 1
                    self.done_per_invocation[id(invocation)] = count
                    if count == len(invocation.calls) and call.phase == "map":
                        sim.tokens.put("#")
            if new:
                threads = max(1, sim.p.host_threads)
                rounds = math.ceil(len(new) / threads)
                latency = self._latency()
                for position, call in enumerate(new):
                    self.seen.add(id(call))
                    if self.host:
                        call.status_seen = env.now + latency * (position // threads + 1)
                sim.count.gets += len(new)
                yield env.timeout(latency * rounds)
            if len(self.seen) >= len(self.tracked) and self.tracked and not self.host:
                return
            yield env.timeout(self.interval_s / 5 if new else self.interval_s)


class _InFunctionWait:
    """The reducer's ``wait(futures, download_results=True)`` inside its function: a monitor of its own and a
    loop that downloads each seen map's output at the function's bandwidth (64 threads)."""

    def __init__(self, sim: _Simulation, call: _Call, rng: random.Random):
        self.sim, self.call, self.rng = sim, call, rng
        self.seen_at: dict[int, float] = {}
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True

    def run(self):
        sim, env = self.sim, self.sim.env
        monitor = _ReducerMonitor(sim, self, self.rng)
        env.process(monitor.run())
        fetched = 0
        total = len(sim.maps)
        while fetched < total and not self.stopped:
            ready = [m for m in sim.maps if self.seen_at.get(id(m), math.inf) <= env.now]
            if not ready:
                yield env.timeout(sim.p.wait_dur_s)
                continue
            threads = max(1, sim.p.host_threads)
            cumulative, end = 0.0, 0.0
            for position, m in enumerate(ready):
                cumulative += m.output_bytes / 1e6 / sim.stream_mb_s
                end = max(end, sim.first_byte(self.rng) + max(cumulative, (position // threads) * 0.03))
            sim.count.gets += len(ready)
            yield env.timeout(end)
            fetched += len(ready)
            for m in ready:
                self.seen_at[id(m)] = math.inf  # fetched: never ready again
        monitor.stopped = True


class _ReducerMonitor:
    """The reducer's own storage monitor (no tokens): LIST, GET new statuses, sleep ``monitoring_interval``."""

    def __init__(self, sim: _Simulation, waiter: _InFunctionWait, rng: random.Random):
        self.sim, self.waiter, self.rng = sim, waiter, rng
        self.position = 0
        self.stopped = False

    def run(self):
        sim, env = self.sim, self.sim.env
        while not self.stopped:
            listed_at = env.now
            pages = max(1, math.ceil(len(sim.maps) * KEYS_PER_CALL / LIST_PAGE_KEYS))
            sim.count.lists += pages
            yield env.timeout(sim.first_byte(self.rng) * pages)
            new = []
            log = sim.done_log
            while self.position < len(log) and log[self.position].worker_end <= listed_at:
                call = log[self.position]
                self.position += 1
                if call.phase == "map":
                    new.append(call)
            if new:
                rounds = math.ceil(len(new) / max(1, sim.p.host_threads))
                latency = sim.first_byte(self.rng)
                yield env.timeout(latency * rounds)
                sim.count.gets += len(new)
                for call in new:
                    self.waiter.seen_at[id(call)] = env.now
            yield env.timeout(sim.p.monitoring_interval_s / 5 if new else sim.p.monitoring_interval_s)


def breakdown(sim: _Simulation, calls: list[_Call], in_hand: float, finished: float) -> dict[str, float]:
    """Where the job's time went: wall-clock milestones and per-call means (seconds).

    - ``job_create_s``: host, before the first invocation;
    - ``dispatch_s``: first → last map invocation handed to Lambda (the invoke pool, the token queue);
    - ``start_mean_s``: map submit → function start (Lambda's queue, a new environment's placement and INIT,
      the JobRunner's imports), ``cold_start_share`` the share of calls that paid a new environment;
    - ``import_mean_s``, ``read_mean_s`` (first byte + transfer), ``compute_mean_s``: inside a map call;
    - ``polling_mean_s``: a map's status written → seen by the host's monitor;
    - ``maps_done_s``: submit → last map ended; ``statuses_seen_s``: → the host saw them all;
    - ``results_in_hand_s``: → the host held every result it asked for; ``result_download_s`` the part of
      that after the last status was seen; ``client_reduce_s``: the host's own reduce (``reduce=client``);
    - ``duration_s``: submit → finished.
    """
    maps = [c for c in calls if c.phase == "map"]
    ran = [c for c in maps if c.func_start is not None]
    ended = [c for c in maps if c.worker_end is not None]
    seen = [c for c in maps if c.status_seen is not None]

    def mean(values):
        values = list(values)
        return sum(values) / len(values) if values else 0.0

    submits = [c.submit for c in maps if c.submit is not None]
    out = {
        "job_create_s": min(submits) if submits else 0.0,
        "dispatch_s": (max(submits) - min(submits)) if submits else 0.0,
        "start_mean_s": mean(c.func_start - c.submit for c in ran),
        "cold_start_share": mean(1.0 if c.cold else 0.0 for c in ran),
        "import_mean_s": mean(c.import_s for c in ran),
        "read_mean_s": mean(c.read_s for c in ran),
        "compute_mean_s": mean(c.compute_s for c in ran),
        "polling_mean_s": mean(c.status_seen - c.worker_end for c in seen if c.worker_end is not None),
        "maps_done_s": max((c.worker_end for c in ended), default=0.0),
        "statuses_seen_s": max((c.status_seen for c in seen), default=0.0),
        "results_in_hand_s": in_hand,
        "duration_s": finished,
    }
    out["result_download_s"] = max(0.0, in_hand - out["statuses_seen_s"])
    out["client_reduce_s"] = finished - in_hand
    return out
