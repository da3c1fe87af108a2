"""A Lithops localhost runtime that imports the functions' heavy modules once per worker, not once per call.

Lithops runs every call in a process forked from its worker process (the ``JobRunner``), and unpickles the
function there, so whatever the function imports is imported again on every call (the reduce's pyarrow: ~0.4 s
on this machine, 8x its own work on 16 partials). Imported by the interpreter that runs Lithops' runner
instead, they are inherited by every fork for free.

The runtime is a tiny launcher script (Lithops' ``localhost.runtime`` must be one executable): the
interpreter, told to import ``backend.preload`` and then run Lithops' runner as it would have. During a study
run the launcher asks the run's fork server (:mod:`aqstudy.backends.localhost.fork_server`) for a runner instead, so
the imports
happen once per run rather than once per job. On AWS Lambda a function keeps its imports between the calls
it serves; each new function pays them once (part of its cold start).
"""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

from aqstudy.backends.localhost.fork_server import ADDRESS_ENV, client_code
from aqstudy.backends.localhost.preload import fallback_command


def launcher(*, python: str, preload: list[str], folder: Path) -> str:
    """Path of an executable that runs ``python`` with ``preload`` imported first: Lithops' localhost runtime.

    :param python: the interpreter Lithops would run (the venv's).
    :param preload: modules to import, ``module:function`` to also call a function of it (e.g. to open the
        compiled scanner the calls then share); an unknown module makes every job fail, naming it.
    :param folder: where the script is written (inside the run's Lithops home); one file per content.
    """
    fallback = fallback_command(python=python, preload=preload)
    client = client_code(fallback=fallback)
    # With a fork server running (its address in the environment) a stdlib-only client (-S: ~10 ms) asks it
    # for the runner; without one, or if the client cannot use it, the interpreter runs the runner itself.
    script = (f"#!/bin/sh\n# Lithops localhost runtime written by aqstudy.backends.localhost.local_runtime\n"
              f"if [ -n \"${ADDRESS_ENV}\" ]; then exec {shlex.quote(python)} -S -c {shlex.quote(client)} \"$@\"; fi\n"
              f"exec {' '.join(map(shlex.quote, fallback))} \"$@\"\n")
    path = folder / f"python-preload-{hashlib.sha256(script.encode()).hexdigest()[:12]}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(script)
        partial.chmod(0o755)
        partial.replace(path)  # atomic: a concurrent run sees the whole script or none
    return str(path)
