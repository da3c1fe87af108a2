"""Interrupt a small sweep at N moments spread over its length, as a terminal's Ctrl-C does; say how each ended.

    .venv/bin/python tools/interrupt_moments.py            # 20 moments, SIGINT
    .venv/bin/python tools/interrupt_moments.py 20 SIGTERM

Each trial runs ``src/run.py -m workers=1,2,3`` (tiny synthetic data) with a copy of an MLflow store migrated
once and a fresh Lithops home (so its first job stages), and signals the process group after a delay; the
delays spread over an uninterrupted sweep's length. A trial is clean when the command exits 130 (143) with
exactly one ``interrupted by`` line, or had completed before the signal, with no traceback and no RUNNING run.
Last line: ``N interrupts (SIGINT): C clean, D not``.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["data_size=0.004", "dataset.object_mb=1", "dataset.station_count=150", "progress=false"]


def command(folder: Path) -> list[str]:
    return [sys.executable, str(ROOT / "src" / "run.py"), "-m", "workers=1,2,3", *TINY,
            f"mlflow.tracking_uri=sqlite:///{folder}/mlflow.db", f"lithops.home={folder}/lithops",
            f"hydra.sweep.dir={folder}/multirun", "mlflow.experiment=moments"]


def trial(folder: Path, delay_s: float, number: int, code: int) -> tuple[bool, str]:
    """One sweep signalled after ``delay_s``: whether it ended cleanly, and what it said."""
    process = subprocess.Popen(command(folder), cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    time.sleep(delay_s)
    try:
        os.killpg(process.pid, number)
    except ProcessLookupError:
        pass
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
    with sqlite3.connect(folder / "mlflow.db") as db:
        statuses = [status for (status,) in db.execute("SELECT status FROM runs ORDER BY start_time")]
    lines = [line for line in err.splitlines() if line.startswith("interrupted by")]
    traceback = "Traceback" in out + err or "Exception ignored" in err
    completed = process.returncode == 0 and "sweep: 3 jobs: 3 finished" in out and not lines
    clean = (((process.returncode == code and len(lines) == 1) or completed) and not traceback
             and "RUNNING" not in statuses)
    said = lines[0] if lines else ("completed before the signal" if completed else err.strip()[-300:])
    return clean, f"exit={process.returncode} runs={statuses} | {said}"


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 20
    number = signal.Signals[argv[1]] if len(argv) > 1 else signal.SIGINT
    code = 130 if number == signal.SIGINT else 143
    base = Path(tempfile.mkdtemp(prefix="aqstudy-moments-"))
    template = base / "template"
    template.mkdir()
    subprocess.run(command(template), capture_output=True, cwd=template, check=True)  # migrates the store
    with sqlite3.connect(template / "mlflow.db") as db:
        for table in ("tags", "params", "metrics", "latest_metrics", "runs"):
            db.execute(f"DELETE FROM {table}")
    durations = []
    for k in range(2):
        probe = base / f"probe{k}"
        probe.mkdir()
        shutil.copy(template / "mlflow.db", probe)
        started = time.monotonic()
        subprocess.run(command(probe), capture_output=True, cwd=probe, check=True)
        durations.append(time.monotonic() - started)
    length_s = statistics.median(durations)
    print(f"uninterrupted sweep: {', '.join(f'{d:.1f}' for d in durations)} s", flush=True)
    clean = 0
    for i in range(count):
        delay_s = 0.1 + i * length_s / count
        folder = base / f"t{i:02d}"
        folder.mkdir()
        shutil.copy(template / "mlflow.db", folder)
        ok, said = trial(folder, delay_s, number, code)
        clean += ok
        print(f"{i:2d} t={delay_s:5.2f}s {'clean' if ok else 'NOT CLEAN'} {said}", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    print(f"{count} interrupts ({number.name}): {clean} clean, {count - clean} not")
    return 0 if clean == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
