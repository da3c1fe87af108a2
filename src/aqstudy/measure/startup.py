"""How soon a function runtime is ready: fresh interpreters timed from their start to their first output in hand.

A new Lambda environment pays its interpreter start and its imports before the first byte is scanned, and
that time is billed. This module measures it here, the same way for every runtime: the parent notes the clock,
starts ``python -c <runtime's code>``, and the child reports when its imports were done (``import_s``), when
its first output was in hand (``ready_s``) and its peak resident memory then (``rss_mb``). Runtimes:

- ``map``: this project's map entry point (:func:`aqstudy.kernel.functions.map_object`) over one object, to
  the partial it returns.
- ``duckdb``: a DuckDB + pyarrow function doing the same work: ``duckdb`` and ``pyarrow`` imported, the same
  aggregation as one query with an explicit schema (:func:`duckdb_partial_sql`), its Arrow result written as
  zstd Arrow IPC (the bytes such a function would return).
- ``reduce``: this project's reduce entry point (:func:`aqstudy.kernel.functions.reduce_partials`) over the
  maps' outputs of several objects, to the merged partial it returns.
- Alternatives, for the record of what was chosen: ``map_arrow`` (the same scanner, its partial sent as Arrow
  IPC, which needs pyarrow in the map; the table decoded from the scanner's encoding, a few ms more than
  building it directly), ``numpy``, ``pyarrow`` (imports alone) and ``python`` (a bare interpreter).

:func:`measure` runs them interleaved (a round starts every runtime once, in alternating order), so a busy
machine slows all alike; ``benchmarks/cold_start.py`` prints the medians, and ``make calibrate`` of the model
backend can read :func:`map_readiness`.
"""

from __future__ import annotations

import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The runtimes :func:`measure` knows; the first three are the ones compared, the rest record the alternatives.
RUNTIMES = ("map", "duckdb", "reduce", "map_arrow", "numpy", "pyarrow", "python")

#: DuckDB's reading of the fields the analysis uses, ``value`` as DOUBLE (the benchmarks' reference too).
DUCKDB_COLUMNS = (
    "{'date': 'STRUCT(utc VARCHAR)', 'parameter': 'VARCHAR', 'value': 'DOUBLE', 'unit': 'VARCHAR', "
    "'location': 'VARCHAR', 'city': 'VARCHAR', 'country': 'VARCHAR', "
    "'coordinates': 'STRUCT(latitude DOUBLE, longitude DOUBLE)'}"
)
_DUCKDB_SELECT = ("country, city, location, coordinates.latitude AS latitude, coordinates.longitude AS longitude, "
                  "parameter, unit, left(date.utc, 10) AS day")


def duckdb_partial_sql(paths: Sequence[str | Path]) -> str:
    """DuckDB's query for the partial aggregate of NDJSON files: key, sum, count and max of the valid values."""
    listed = "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"
    return (f"SELECT {_DUCKDB_SELECT}, sum(value) AS sum, count(value) AS count, max(value) AS max "
            f"FROM read_ndjson({listed}, columns={DUCKDB_COLUMNS}, format='newline_delimited') "
            "WHERE value >= 0 AND isfinite(value) GROUP BY ALL")


# Each child reports `import_s ready_s rss_kb`: its clock after its imports and after its work, and its peak
# resident memory. VmHWM is the peak of the interpreter's own address space; getrusage's ru_maxrss would also
# hold the forked parent's before exec (a floor of ~27 MB here). What the report needs is read after the clock.
_REPORT = (
    "try:\n"
    "    with open('/proc/self/status') as status:\n"
    "        rss_kb = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))\n"
    "except OSError:\n"
    "    import resource\n"
    "    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == 'darwin' else 1)\n"
    "print(imported, ready, rss_kb)\n"
)

_CODE = {
    "map": (
        "import sys, time\n"
        "from aqstudy.kernel import functions\n"
        "imported = time.time()\n"
        "class Storage:\n"
        "    def get_object(self, bucket, key, stream=False):\n"
        "        return open(key, 'rb')\n"
        "output = functions.map_object('local', sys.argv[1], int(sys.argv[2]), Storage())\n"
        "ready = time.time()\n"
    ),
    "map_arrow": (
        "import sys, time\n"
        "import pyarrow, pyarrow.compute\n"
        "from aqstudy.kernel import aggregate\n"
        "imported = time.time()\n"
        "with open(sys.argv[1], 'rb') as handle:\n"
        "    output = aggregate.to_ipc(aggregate.scan_reader(handle).partial().table)\n"
        "ready = time.time()\n"
    ),
    "duckdb": (
        "import sys, time\n"
        "import duckdb, pyarrow as pa\n"
        "imported = time.time()\n"
        "table = duckdb.sql(sys.argv[3]).to_arrow_table()\n"
        "sink = pa.BufferOutputStream()\n"
        "with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression='zstd')) as out:\n"
        "    out.write_table(table)\n"
        "output = sink.getvalue().to_pybytes()\n"
        "ready = time.time()\n"
    ),
    "reduce": (
        "import sys, time\n"
        "from aqstudy.kernel import functions\n"
        "imported = time.time()\n"
        "with open(sys.argv[4], 'rb') as handle:\n"
        "    results = __import__('pickle').load(handle)\n"
        "output = functions.reduce_partials(results)\n"
        "ready = time.time()\n"
    ),
    "numpy": "import sys, time\nimport numpy\nimported = ready = time.time()\n",
    "pyarrow": "import sys, time\nimport pyarrow, pyarrow.ipc, pyarrow.compute\nimported = ready = time.time()\n",
    "python": "import sys, time\nimported = ready = time.time()\n",
}


@dataclass(frozen=True)
class Readiness:
    """One fresh interpreter of a runtime, timed from just before it was started."""

    #: Seconds until its imports were done (on Lambda: what runs before the first byte is read).
    import_s: float
    #: Seconds until its first output was in hand (a map's partial, a reduce's merged partial).
    ready_s: float
    #: Its peak resident memory at that moment, MB.
    rss_mb: float


@dataclass(frozen=True)
class Inputs:
    """What the runtimes work on: one object for the maps, the maps' outputs of several for the reduce."""

    object_path: Path
    #: A pickle of the map outputs the reduce is given (``None``: the reduce cannot be measured).
    map_outputs_path: Path | None = None
    reduce_objects: int = 0


def prepare_inputs(objects: Sequence[Path], folder: Path) -> Inputs:
    """The inputs for ``objects`` (the first one for the maps, all for the reduce): their map outputs made here,
    by this project's map, and pickled into ``folder``."""
    from aqstudy.kernel import functions

    class _Files:
        def get_object(self, bucket, key, stream=False):
            return open(key, "rb")  # the map reads the stream to its end

    outputs = [functions.map_object("local", str(path), path.stat().st_size, _Files()) for path in objects]
    map_outputs = folder / "map-outputs.pickle"
    map_outputs.write_bytes(pickle.dumps(outputs))
    return Inputs(object_path=Path(objects[0]), map_outputs_path=map_outputs, reduce_objects=len(outputs))


def run_once(runtime: str, inputs: Inputs, *, python: str = sys.executable) -> Readiness:
    """Start one fresh interpreter of ``runtime`` and time it (see the module's docstring)."""
    if runtime not in _CODE:
        raise ValueError(f"runtime {runtime!r} is not known; choose one of {', '.join(RUNTIMES)}")
    if runtime == "reduce" and inputs.map_outputs_path is None:
        raise ValueError("the reduce needs map outputs; make the inputs with prepare_inputs()")
    path = str(inputs.object_path)
    argv = [python, "-c", _CODE[runtime] + _REPORT, path, str(inputs.object_path.stat().st_size),
            duckdb_partial_sql([path]), str(inputs.map_outputs_path or "")]
    started = time.time()
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {runtime} runtime failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    imported, ready, rss_kb = done.stdout.split()[-3:]
    return Readiness(import_s=float(imported) - started, ready_s=float(ready) - started, rss_mb=int(rss_kb) / 1024)


def measure(runtimes: Sequence[str], inputs: Inputs, *, runs: int = 5, python: str = sys.executable,
            pythons: Mapping[str, str] | None = None, progress=None) -> dict[str, list[Readiness]]:
    """``runs`` fresh interpreters of each runtime, interleaved: round ``r`` starts each runtime once, the
    order reversed every other round. One unmeasured round first loads the files into the page cache.

    :param runtimes: names from :data:`RUNTIMES`.
    :param inputs: what they work on (:func:`prepare_inputs`).
    :param runs: measured interpreters per runtime (the benchmark takes at least 5).
    :param python: the interpreter every runtime runs in, unless ``pythons`` names another for it (e.g. one
        whose environment holds only what the Lambda runtime holds).
    :param progress: called with ``(round, runtime, readiness)`` after each measured interpreter, if given.
    """
    interpreter = {runtime: (pythons or {}).get(runtime, python) for runtime in runtimes}
    for runtime in runtimes:
        run_once(runtime, inputs, python=interpreter[runtime])
    samples: dict[str, list[Readiness]] = {runtime: [] for runtime in runtimes}
    for round_ in range(runs):
        for runtime in (runtimes if round_ % 2 == 0 else list(reversed(runtimes))):
            readiness = run_once(runtime, inputs, python=interpreter[runtime])
            samples[runtime].append(readiness)
            if progress is not None:
                progress(round_, runtime, readiness)
    return samples


def median(samples: Sequence[Readiness]) -> Readiness:
    """The median of each figure over a runtime's interpreters."""
    return Readiness(import_s=statistics.median(s.import_s for s in samples),
                     ready_s=statistics.median(s.ready_s for s in samples),
                     rss_mb=statistics.median(s.rss_mb for s in samples))


def map_readiness(*, runs: int = 5, object_path: Path | None = None, python: str = sys.executable) -> Readiness:
    """The map runtime's median readiness over ``runs`` fresh interpreters: for a model's INIT time.

    :param object_path: the object the map reads; by default a 25 MB synthetic object (the study's default
        object size), made in a temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="aqstudy-startup-") as folder:
        if object_path is None:
            object_path = Path(folder) / "part-00000.ndjson"
            object_path.write_bytes(_synthetic_object())
        return median(measure(["map"], Inputs(object_path=object_path), runs=runs, python=python)["map"])


def _synthetic_object() -> bytes:
    from aqstudy.data.synthetic import SyntheticOpenAQ

    return SyntheticOpenAQ(seed=42, station_count=3000, object_bytes=25_000_000).object_bytes_for(0)

