"""``make calibrate``: measure this machine for the model and write the calibration file.

    python -m aqstudy.backends.model.calibrate [--out calibration/this-machine.json] [--repeats 5] [--quick]

What it measures (``--repeats`` samples each, all kept in the file). The machine may be shared: speeds and import
times keep their least disturbed sample (the fastest), figures of this machine's localhost backend their median
(they describe the machine as it is loaded now).

- numpy matmul GFLOPS on one core (one BLAS thread), against which the published Lambda figure is set, and
  each kernel's map MB/s per core, alternately in one process so that load cancels out of their ratio;
- in fresh interpreters: the import of Lithops' Lambda handler (what INIT runs), of numpy + pandas + pyarrow
  (the libraries of the published INIT figure), and a fork of the handler's process;
- for each kernel (this project's scanner, the original study's pandas code), in a process forked from one
  with the handler imported, as Lithops' JobRunner is: what a call imports before its first byte, its peak
  memory with no data and with one object; and in-process: MB/s per core, output per input byte, and the
  reduce's MB/s over the partials;
- Lithops' localhost backend, from real study runs on this machine after dropped warm-up runs (8 objects of
  25 MB with one worker, one and two per core; 24 objects for the reduce's slope): start-up, per-call overheads,
  the map's MB/s through the localhost storage, the cores the worker processes get, the reduce's start, its
  fixed part and MB/s in its own forked runner, and the hand-back.

The data are the study's synthetic objects (``dataset=synthetic`` defaults, 25 MB each). Nothing is fitted to a
prediction: every figure is a measurement. Re-run it after changing the map runtime (issue 14) or the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aqstudy.backends.model import calibration as cal

#: The study's synthetic objects (conf/dataset/synthetic.yaml).
OBJECT_BYTES = 25_000_000
SEED, STATIONS = 42, 3000


def _run_python(code: str, *, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"calibration step failed: {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


_FRESH_IMPORT = """
import json, time
t = time.perf_counter()
{imports}
print(json.dumps({{"s": time.perf_counter() - t}}))
"""

#: Lithops' Lambda entry point imports its handler; the JobRunner module (imported with it) imports numpy.
HANDLER_IMPORTS = "import lithops.worker, lithops.worker.handler, lithops.worker.jobrunner"
REFERENCE_IMPORTS = "import numpy, pandas, pyarrow"

#: What a call of each kernel does before its first byte, in the JobRunner Lithops forks for it.
CALL_WARMUP = {
    # The map's documented warm-up (aqstudy.kernel.warm): its imports and the compiled scanner's load.
    "project": "from aqstudy import kernel; kernel.warm()",
    # The original's function was pickled from the notebook with `pd` among its globals: unpickling it in
    # the JobRunner imports pandas; its first DataFrame calls load the rest.
    "original": "import pandas as pd; from aqstudy.kernel import original; original.day_average_map("
                "b'{\"date\": {\"utc\": \"2020-01-01T00:00:00Z\"}, \"value\": 1, \"city\": \"c\", \"country\": \"X\", "
                "\"parameter\": \"pm25\", \"location\": \"l\", \"unit\": \"u\", \"coordinates\": "
                "{\"latitude\": 1, \"longitude\": 2}}\\n')",
}

_FORKED_CALL = """
import json, os, resource, time, sys
{handler}
def child(code, path):
    t = time.perf_counter()
    exec(code, {{}})
    warm = time.perf_counter() - t
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if path:
        exec({work!r}, {{"path": path}})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {{"import_s": warm, "base_mb": base, "peak_mb": peak}}
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(read)
    out = child({code!r}, {path!r})
    os.write(write, json.dumps(out).encode())
    os._exit(0)
os.close(write)
data = b""
while chunk := os.read(read, 65536):
    data += chunk
os.waitpid(pid, 0)
print(data.decode())
"""

#: One object through each kernel as a Lambda call runs it (the project's streams it; the original reads it all).
_WORK = {
    "project": ("import os\nfrom aqstudy.kernel import functions\n"
                "class Storage:\n    def get_object(self, bucket, key, stream=False):\n        return open(key, 'rb')\n"
                "functions.map_object('calibration', path, os.path.getsize(path), Storage())"),
    "original": "from aqstudy.kernel import original\ndata = open(path, 'rb').read()\noriginal.day_average_map(data)",
}

_FORK = """
import json, os, time
{handler}
samples = []
for _ in range(20):
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    samples.append(time.perf_counter() - t)
samples.sort()
print(json.dumps({{"s": samples[len(samples) // 2]}}))
"""

#: One process, one BLAS thread: numpy matmul samples alternating with each kernel's map over one object, so
#: that each kernel sample has a matmul sample taken under the same load beside it (see :func:`measure_cpu`).
_CPU_PROBE = """
import json, os, sys, time
import numpy as np
from aqstudy import kernel
from aqstudy.kernel import functions, original
path = {path!r}
data = open(path, "rb").read()
class Storage:
    def get_object(self, bucket, key, stream=False):
        return open(path, "rb")
n = 1024
a, b = np.random.default_rng(0).random((n, n)), np.random.default_rng(1).random((n, n))
a @ b
kernel.warm()
def gflops():
    t = time.perf_counter()
    for _ in range(3):
        a @ b
    return 3 * 2 * n ** 3 / (time.perf_counter() - t) / 1e9
def project():
    t = time.perf_counter()
    functions.map_object("calibration", path, len(data), Storage())
    return len(data) / 1e6 / (time.perf_counter() - t)
def pandas_map():
    t = time.perf_counter()
    original.day_average_map(data)
    return len(data) / 1e6 / (time.perf_counter() - t)
out = {{"gflops": [], "project": [], "original": []}}
for index in range({repeats}):
    for name, run in (("project", project), ("original", pandas_map)):
        if name == "original" and index % 2:
            continue  # the pandas map takes seconds: every other round
        before = gflops()
        speed = run()
        after = gflops()
        out["gflops"] += [before, after]
        out[name].append([speed, (before + after) / 2])
print(json.dumps(out))
"""


def measure_cpu(path: Path, repeats: int) -> dict:
    """This core's matmul GFLOPS and each kernel's MB/s, measured alternately in one process (one BLAS thread).

    On a shared machine every sample is slowed by whatever else runs at that moment. A kernel sample is
    therefore scaled by the matmul samples taken just before and after it: ``mb_s × G / g`` where ``g`` is
    their mean and ``G`` the fastest matmul sample of the run. Load cancels out of ``kernel_mb_s / G``, which is
    all a Lambda prediction uses (``kernel_mb_s × cpu_ratio``, ``cpu_ratio`` being the Lambda GFLOPS over ``G``).
    """
    one_thread = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    probe = _run_python(_CPU_PROBE.format(path=str(path), repeats=2 * repeats), env=one_thread)
    best = fastest(probe["gflops"])
    speeds = {name: median([speed * best / around for speed, around in probe[name]]) for name in cal.KERNELS}
    return {"matmul_gflops_per_core": best, "kernel_mb_s": speeds,
            "how": "numpy float64 1,024×1,024 matmul, one BLAS thread, alternating with each kernel's map",
            "samples": probe}


def machine_facts() -> dict:
    """The machine the figures belong to."""
    from aqstudy.backends.localhost import cpu_model, this_machine

    facts = this_machine()
    return {"cpu_model": cpu_model(), "cores": facts["cpu_count"], "memory_mb": facts["total_memory_mb"],
            "python": platform.python_version(), "platform": platform.platform(),
            "load_average_1m": os.getloadavg()[0]}


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def fastest(values: list[float]) -> float:
    """The least disturbed of repeated speed samples (MB/s, GFLOPS): on a shared machine other processes only
    ever slow a sample down, so the best one is the closest to what a core does."""
    return float(max(values))


def quickest(values: list[float]) -> float:
    """The least disturbed of repeated time samples (seconds), as :func:`fastest`."""
    return float(min(values))


def measure_imports(repeats: int) -> dict:
    handler = [_run_python(_FRESH_IMPORT.format(imports=HANDLER_IMPORTS))["s"] for _ in range(repeats)]
    reference = [_run_python(_FRESH_IMPORT.format(imports=REFERENCE_IMPORTS))["s"] for _ in range(repeats)]
    fork = [_run_python(_FORK.format(handler=HANDLER_IMPORTS))["s"] for _ in range(repeats)]
    return {"handler_s": quickest(handler), "reference_libs_s": quickest(reference), "fork_s": quickest(fork),
            "samples": {"handler_s": handler, "reference_libs_s": reference, "fork_s": fork}}


def synthetic_objects(count: int) -> list[bytes]:
    """The study's synthetic objects 0..count-1 (25 MB each)."""
    from aqstudy.data.synthetic import SyntheticOpenAQ

    generator = SyntheticOpenAQ(seed=SEED, station_count=STATIONS, object_bytes=OBJECT_BYTES)
    return [generator.object_bytes_for(index) for index in range(count)]


def measure_kernel(name: str, objects: list[bytes], folder: Path, repeats: int, *, kernel_mb_s: float) -> dict:
    """One kernel's profile: call imports and memory (forked, as Lambda runs a call), output and reduce.

    :param kernel_mb_s: its map's MB/s per core, from :func:`measure_cpu`.
    """
    import pickle

    path = folder / "object-0.ndjson"
    path.write_bytes(objects[0])
    forked = [_run_python(_FORKED_CALL.format(handler=HANDLER_IMPORTS, code=CALL_WARMUP[name], path=str(path),
                                              work=_WORK[name])) for _ in range(repeats)]
    imports = [sample["import_s"] for sample in forked]
    base = [sample["base_mb"] for sample in forked]
    peak = [sample["peak_mb"] for sample in forked]
    outputs, reduce_speed, reduce_ratio = [], [], []
    if name == "project":
        # Through the function's own entry points, as Lithops calls them (the object as a stream).
        from aqstudy import kernel
        from aqstudy.kernel import functions

        kernel.warm()
        storage = _StreamStorage(objects)
        results = [functions.map_object("calibration", str(i), len(data), storage) for i, data in enumerate(objects)]
        partials = [result["partial"] for result in results]
        outputs = [len(p) / len(d) for p, d in zip(partials, objects, strict=True)]
        functions.reduce_partials(results[:2])  # the reduce's first call imports what it needs
        for _ in range(repeats):
            started = time.perf_counter()
            combined = functions.reduce_partials(results)["partial"]
            reduce_speed.append(sum(map(len, partials)) / 1e6 / (time.perf_counter() - started))
            reduce_ratio.append(len(combined) / sum(map(len, partials)))
    else:
        from aqstudy.kernel import original

        # Lithops pickles what a function returns: the bytes uploaded are the pickled JSON text.
        partials = [original.day_average_map(data) for data in objects]
        outputs = [len(pickle.dumps(p)) / len(d) for p, d in zip(partials, objects, strict=True)]
        for _ in range(max(2, repeats // 2)):
            started = time.perf_counter()
            combined = original.day_average_reduce(partials)
            reduce_speed.append(sum(map(len, partials)) / 1e6 / (time.perf_counter() - started))
            reduce_ratio.append(len(pickle.dumps(combined)) / sum(len(pickle.dumps(p)) for p in partials))
    object_mb = len(objects[0]) / 1e6
    return {
        "kernel_mb_s": kernel_mb_s, "output_ratio": median(outputs), "threads": 1,
        "overlaps_read": name == "project", "call_import_s": quickest(imports), "peak_base_mb": median(base),
        "peak_mb_per_input_mb": max(0.0, (median(peak) - median(base)) / object_mb),
        "reduce_mb_s": fastest(reduce_speed), "reduce_output_ratio": median(reduce_ratio),
        "samples": {"output_ratio": outputs, "call_import_s": imports, "peak_base_mb": base,
                    "peak_mb": peak, "reduce_mb_s": reduce_speed},
    }


class _StreamStorage:
    """Objects in memory served as Lithops' S3 storage serves them to a map: a stream per ``get_object``."""

    def __init__(self, objects: list[bytes]):
        self.objects = objects

    def get_object(self, bucket: str, key: str, stream: bool = False):
        import io

        return io.BytesIO(self.objects[int(key)])


#: The reduce is timed at the calibration's eight objects and at this many, in its own forked runner: its cost per
#: MB of partials there (a fresh process, results read through the localhost storage) is not the warm in-process
#: rate of the kernel's profile.
LOCALHOST_REDUCE_OBJECTS = 24
#: Localhost runs made and dropped before the localhost figures are measured: a process's and its fork server's
#: first runs, and those right after a dataset was staged (their reduces took up to 5x the CPU time here).
LOCALHOST_WARM_UP_RUNS = 3


def measure_localhost(folder: Path, repeats: int, reduce_mb_s: float, output_ratio: float,
                      between_repeats: Callable[[int], None] | None = None) -> dict:
    """Lithops' localhost backend from real study runs (eight 25 MB objects, the default config), after
    :data:`LOCALHOST_WARM_UP_RUNS` dropped ones: one worker for the start-up, per-call and reduce figures; one
    and two workers per core for how many cores the worker processes really get (on a shared machine, fewer
    than it has; oversubscribed, fewer still); the reduce again over :data:`LOCALHOST_REDUCE_OBJECTS` objects'
    partials, for its fixed part and its MB/s (a line through the two sizes' medians; the kernel's
    ``reduce_mb_s`` if the two do not rise). Every figure is the median over the repeats.

    :param between_repeats: called with a repeat's number (1, 2, …) after every repeat but the last: validation
        a measures its configs there, so that the figures and the runs they predict see the same machine (its
        speed drifts by 10% and more over minutes here).
    """
    from aqstudy.study.paths import point_lithops_at

    home = folder / "lithops"
    point_lithops_at(home)
    from aqstudy.config.schema import compose_config
    from aqstudy.study.runner import run_study

    cores = os.cpu_count() or 1
    overrides = [f"mlflow.tracking_uri=sqlite:///{folder / 'mlruns' / 'mlflow.db'}", f"lithops.home={home}",
                 "mlflow.experiment=calibration", "progress=false", "data_size=0.2", "chunksize=1",
                 "storage.bucket=calibration"]
    samples: dict[str, list[float]] = {name: [] for name in (
        "job_create_s", "cold_start_s", "call_pre_s", "first_call_pre_s", "call_post_s", "call_idle_s", "map_mb_s",
        "reduce_start_s", "reduce_func_s", "reduce_end_s", "effective_cores", "effective_cores_2x",
        "reduce_func_large_s")}
    partial_mb, partial_mb_large = [], []
    one, many, twice = ([*overrides, "workers=1"], [*overrides, f"workers={cores}"],
                        [*overrides, f"workers={2 * cores}"])
    large = [*overrides, f"workers={cores}", f"data_size={LOCALHOST_REDUCE_OBJECTS * OBJECT_BYTES / 1e9:g}"]

    def run(axes, index):
        result = run_study(compose_config([*axes, f"repeat={index}"]))
        if result.status != "FINISHED":
            raise RuntimeError(f"localhost calibration run failed: {result.error}")
        return result, _calls_of(folder, result.run_id)

    run(large, 100)  # stages the 24 objects; the first warm-up run stages the 8
    for index in range(LOCALHOST_WARM_UP_RUNS):  # starts the fork server: dropped
        run(one, 100 + index)
    os.sync()  # what was just staged is on disk: its writing back slowed the next runs' reduces (up to 5x here)
    for index in range(1, repeats + 1):
        result, calls = run(one, index)
        maps = sorted((c for c in calls if c["phase"] == "map"), key=lambda c: c["worker_start_tstamp"])
        reduce = next(c for c in calls if c["phase"] == "reduce")
        submitted_at = max(c["worker_end_tstamp"] for c in maps) - result.metrics["map_duration_s"]
        samples["job_create_s"].append(result.metrics["job_setup_s"])
        samples["cold_start_s"].append(maps[0]["worker_func_start_tstamp"] - maps[0]["host_submit_tstamp"])
        samples["first_call_pre_s"].append(maps[0]["worker_func_start_tstamp"] - maps[0]["worker_start_tstamp"])
        for call in maps[1:]:
            samples["call_pre_s"].append(call["worker_func_start_tstamp"] - call["worker_start_tstamp"])
        for call in maps:
            samples["call_post_s"].append(call["worker_end_tstamp"] - call["worker_func_end_tstamp"])
            samples["map_mb_s"].append(call["input_bytes"] / 1e6 / _func_s(call))
        for before, after in zip(maps, maps[1:], strict=False):
            samples["call_idle_s"].append(after["worker_start_tstamp"] - before["worker_end_tstamp"])
        last_map_end = max(c["worker_end_tstamp"] for c in maps)
        samples["reduce_start_s"].append(reduce["worker_func_start_tstamp"] - last_map_end)
        samples["reduce_func_s"].append(_func_s(reduce))
        samples["reduce_end_s"].append(submitted_at + result.metrics["duration_s"] - reduce["worker_func_end_tstamp"])
        partial_mb.append(_partial_mb(maps, output_ratio))
        # Right after: n processes computing at once each take n / (cores they get) times as long.
        alone = statistics.median(_func_s(c) for c in maps)
        for key, axes, processes in (("effective_cores", many, cores), ("effective_cores_2x", twice, 2 * cores)):
            _, parallel = run(axes, index)
            shared = statistics.median(_func_s(c) for c in parallel if c["phase"] == "map")
            # Relative to one process alone at the same time: under load, several together may get less than it.
            # Never more than the machine's cores: calls of more processes than cores do not all compute at once
            # (one forks while another scans), which shortens each call's share but adds no core.
            samples[key].append(min(processes, cores, processes * alone / shared))
        _, bigger = run(large, index)
        samples["reduce_func_large_s"].append(_func_s(next(c for c in bigger if c["phase"] == "reduce")))
        partial_mb_large.append(_partial_mb([c for c in bigger if c["phase"] == "map"], output_ratio))
        if between_repeats is not None and index < repeats:
            between_repeats(index)
    local_reduce_mb_s, reduce_fixed_s = reduce_line(
        (median(partial_mb), median(samples["reduce_func_s"])),
        (median(partial_mb_large), median(samples["reduce_func_large_s"])), fallback_mb_s=reduce_mb_s)
    return {
        "cores": median(samples["effective_cores"]),
        "cores_by_processes": [[cores, median(samples["effective_cores"])],
                               [2 * cores, median(samples["effective_cores_2x"])]],
        **{name: median(values) for name, values in samples.items()
           if name not in ("reduce_func_s", "effective_cores", "effective_cores_2x", "reduce_func_large_s")},
        "reduce_mb_s": local_reduce_mb_s,
        "reduce_fixed_s": reduce_fixed_s,
        "samples": {**samples, "partial_mb": partial_mb, "partial_mb_large": partial_mb_large, "cpu_count": cores},
    }


def reduce_line(small: tuple[float, float], large: tuple[float, float], *, fallback_mb_s: float) -> tuple[float, float]:
    """The reduce's MB/s and fixed seconds from two ``(partial MB, seconds)`` points: the line through them, or
    ``fallback_mb_s`` through the smaller point when the larger is not slower (noise); the fixed part is ≥ 0."""
    (small_mb, small_s), (large_mb, large_s) = small, large
    mb_s = (large_mb - small_mb) / (large_s - small_s) if large_s > small_s and large_mb > small_mb else fallback_mb_s
    return mb_s, max(0.0, small_s - small_mb / mb_s)


def _partial_mb(maps: list[dict], output_ratio: float) -> float:
    """MB of partials these map calls returned: localhost records no network counters, so their input at the
    kernel's measured output ratio."""
    return sum(call["input_bytes"] for call in maps) * output_ratio / 1e6


def _func_s(call: dict) -> float:
    return call["worker_func_end_tstamp"] - call["worker_func_start_tstamp"]


def _calls_of(folder: Path, run_id: str) -> list[dict]:
    import csv

    matches = list((folder / "mlruns").rglob(f"{run_id}/artifacts/calls.csv"))
    with open(matches[0]) as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key, value in row.items():
            if key.endswith("_tstamp") or key in ("input_bytes", "net_sent_bytes"):
                row[key] = float(value) if value not in ("", None) else None
    return rows


def calibrate(*, repeats: int = 5, objects: int = 4, localhost: bool = True, echo=print) -> dict:
    """Measure everything; return the calibration file's content."""
    started = time.perf_counter()
    data: dict = {"format": cal.FORMAT, "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "machine": machine_facts()}
    echo(f"calibrate: generating {objects} synthetic 25 MB objects …")
    blobs = synthetic_objects(objects)
    echo("calibrate: imports in fresh interpreters …")
    data["imports"] = measure_imports(repeats)
    echo(f"  handler {data['imports']['handler_s']:.3f} s, numpy+pandas+pyarrow "
         f"{data['imports']['reference_libs_s']:.3f} s, fork {data['imports']['fork_s'] * 1000:.1f} ms")
    data["kernels"] = {}
    with tempfile.TemporaryDirectory(prefix="aqstudy-calibrate-") as tmp:
        folder = Path(tmp)
        (folder / "object-0.ndjson").write_bytes(blobs[0])
        echo("calibrate: numpy matmul and the kernels' maps on one core, alternately …")
        cpu = measure_cpu(folder / "object-0.ndjson", repeats)
        data["cpu"] = {key: value for key, value in cpu.items() if key != "kernel_mb_s"}
        echo(f"  {cpu['matmul_gflops_per_core']:.1f} GFLOPS per core; maps "
             + ", ".join(f"{name} {speed:.1f} MB/s" for name, speed in cpu["kernel_mb_s"].items()))
        for name in cal.KERNELS:
            echo(f"calibrate: kernel {name} …")
            profile = measure_kernel(name, blobs, folder, repeats, kernel_mb_s=cpu["kernel_mb_s"][name])
            data["kernels"][name] = profile
            echo(f"  {profile['kernel_mb_s']:.1f} MB/s per core, output ratio {profile['output_ratio']:.4f}, "
                 f"call imports {profile['call_import_s']:.3f} s, peak {profile['peak_base_mb']:.0f} MB + "
                 f"{profile['peak_mb_per_input_mb']:.2f} MB/MB, reduce {profile['reduce_mb_s']:.1f} MB/s")
        if localhost:
            echo(f"calibrate: Lithops localhost runs (1 worker, one and two per core, 8 and "
                 f"{LOCALHOST_REDUCE_OBJECTS} × 25 MB) …")
            project = data["kernels"]["project"]
            data["localhost"] = measure_localhost(folder, repeats, project["reduce_mb_s"], project["output_ratio"])
            local = data["localhost"]
            echo(f"  {local['cores']:.2f} effective cores ({local['cores_by_processes'][1][1]:.2f} with two processes "
                 f"per core), job {local['job_create_s']:.3f} s, "
                 f"cold start {local['cold_start_s']:.3f} s, per call "
                 f"{local['call_pre_s'] + local['call_post_s'] + local['call_idle_s']:.3f} s, map "
                 f"{local['map_mb_s']:.0f} MB/s, reduce start {local['reduce_start_s']:.3f} s, hand-back "
                 f"{local['reduce_end_s']:.3f} s")
    data["machine"]["load_average_1m_after"] = os.getloadavg()[0]
    data["machine"]["calibration_s"] = round(time.perf_counter() - started, 1)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure this machine for the model backend (make calibrate).")
    parser.add_argument("--out", default=str(cal.DEFAULT_PATH), help="calibration file to write")
    parser.add_argument("--repeats", type=int, default=5, help="samples per measurement (median kept)")
    parser.add_argument("--quick", action="store_true", help="3 samples each (for tests)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    if repeats < 1:
        print("error: --repeats must be at least 1", file=sys.stderr)
        return 2
    data = calibrate(repeats=repeats)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(cal.to_json(data))
    cal.from_dict(data, path=str(out))  # what was written reads back
    print(f"calibration written to {out} ({data['machine']['calibration_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
