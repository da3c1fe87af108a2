"""Python's cyclic garbage collector, kept out of a command's start-up.

The imports of a study process (Hydra, then MLflow, SQLAlchemy, Lithops, pyarrow and matplotlib during the first
run) build ~400,000 long-lived objects, and the collector walks them again and again while they pile up: 0.5 s
of a ~6 s ``src/run.py`` process, measured. A command pauses the collector before its imports; once its first
run has loaded everything, what exists is frozen (``gc.freeze``: never walked again) and the collector resumes
for what later runs allocate.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Switch the collector off until :func:`resume` (a command calls it first thing)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what is loaded and switch the collector back on, if :func:`pause` switched it off."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
