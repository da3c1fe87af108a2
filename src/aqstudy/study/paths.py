"""Where the project keeps its state, so every command agrees whatever directory it is run from."""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout: ``src/aqstudy/study/paths.py`` is three levels below it.
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def mlruns_dir() -> Path:
    """``mlruns/`` at the project root: the default home of the MLflow database and artifacts."""
    return PROJECT_ROOT / "mlruns"


def default_tracking_uri() -> str:
    """MLflow's SQLite backend inside ``mlruns/`` (the plain file store now refuses to start)."""
    return f"sqlite:///{mlruns_dir() / 'mlflow.db'}"


def lithops_home(configured: str | None = None) -> Path:
    """Lithops' temp and localhost-storage directory for this checkout.

    Lithops derives it from ``$TMPDIR`` at import time, so two checkouts sharing ``/tmp/lithops-$USER``
    would see each other's jobs and buckets; each checkout (and each test) gets its own instead.

    :param configured: the ``lithops.home`` config value; ``None`` means ``<project>/.lithops``.
    """
    path = Path(configured) if configured else PROJECT_ROOT / ".lithops"
    return path.resolve()


def point_lithops_at(home: Path) -> None:
    """Make Lithops (imported after this call, and its worker processes) use ``home`` for temp data."""
    import sys
    import tempfile

    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = None
    if "lithops" not in sys.modules:
        # Lithops exports its session id and executor count so that processes it spawns join its session.
        # A study process started by another one (a test, a launcher, a script running several runs) would
        # inherit them, and two such siblings would name their executors alike and clean up each other's
        # jobs (lost results, hung reducers). Each study process is a session of its own.
        for name in ("__LITHOPS_SESSION_ID", "__LITHOPS_TOTAL_EXECUTORS"):
            os.environ.pop(name, None)
