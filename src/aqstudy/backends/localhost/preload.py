"""The command that imports a worker's ``backend.preload`` and then runs Lithops' runner script.

Shared by the launcher (:mod:`aqstudy.backends.localhost.local_runtime`), which runs it when no fork server is
up, and the fork server (:mod:`aqstudy.backends.localhost.fork_server`), which serves only requests whose fallback
is this same command (same interpreter, same preload).
"""

from __future__ import annotations

_CODE = (
    "import importlib, runpy, sys\n"
    "for entry in {entries!r}:\n"
    "    module, _, function = entry.partition(':')\n"
    "    loaded = importlib.import_module(module)\n"
    "    if function:\n"
    "        getattr(loaded, function)()\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)



def fallback_command(*, python: str, preload: list[str]) -> list[str]:
    """The command that imports ``preload`` and then runs the script named by its first argument."""
    return [python, "-c", _CODE.format(entries=list(preload))]
