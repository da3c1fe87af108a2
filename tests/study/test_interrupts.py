"""Ctrl-C and SIGTERM at known moments of a real sweep (``src/run.py -m``), sent as a terminal sends them.

Each test starts the sweep with ``AQSTUDY_PAUSE_AT=<moment>``: the command writes a marker file when it
reaches that moment and waits there (:func:`aqstudy.study.signals.pause_point`), and the test then signals
the whole process group. No fixed sleep: the signal lands exactly at the moment named.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aqstudy.study.paths import PROJECT_ROOT
from aqstudy.study.signals import MARKERS_ENV, PAUSE_ENV
from tests.conftest import TINY

pytestmark = pytest.mark.integration

SWEEP = ["-m", "workers=1,2", *TINY]


def _command(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, str(PROJECT_ROOT / "src" / "run.py"), *args,
            f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", f"lithops.home={tmp_path / 'lithops'}",
            f"hydra.run.dir={tmp_path / 'out'}", f"hydra.sweep.dir={tmp_path / 'multirun'}",
            "mlflow.experiment=interrupts"]


def _interrupt_at(tmp_path: Path, moment: str, signal_number: int, *args: str) -> subprocess.CompletedProcess:
    """Run the sweep, wait until it reaches ``moment``, signal its process group, and wait for its end."""
    markers = tmp_path / "markers"
    markers.mkdir(exist_ok=True)
    env = {**os.environ, PAUSE_ENV: moment, MARKERS_ENV: str(markers)}
    command = _command(tmp_path, *args)
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not (markers / f"at-{moment}").exists():
            assert process.poll() is None, f"ended before {moment}: {process.communicate()[1][-3000:]}"
            assert time.monotonic() < deadline, f"never reached {moment}"
            time.sleep(0.02)
        os.killpg(process.pid, signal_number)  # as a terminal's Ctrl-C: the whole foreground group
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _runs(tmp_path: Path) -> list[dict]:
    """Every run in the store: status, whether it is a study job, its error tag and calls metric."""
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        rows = db.execute("SELECT run_uuid, status FROM runs ORDER BY start_time").fetchall()
        runs = []
        for run_id, status in rows:
            tags = dict(db.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (run_id,)).fetchall())
            params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall())
            runs.append({"run_id": run_id, "status": status, "tags": tags, "params": params,
                         "job": "workers" in params})
    return runs


def _calls(tmp_path: Path, run_id: str) -> list[dict]:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    return list(csv.DictReader(io.StringIO(Path(client.download_artifacts(run_id, "calls.csv")).read_text())))


def _assert_clean(done: subprocess.CompletedProcess, code: int) -> str:
    """Exit code, no traceback, exactly one line saying what was kept; returns that line."""
    assert done.returncode == code, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "Exception ignored" not in output, output[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("interrupted by")]
    assert len(lines) == 1, done.stderr[-3000:]
    return lines[0]


def _assert_nothing_left_running(tmp_path: Path, runs: list[dict]) -> None:
    assert "RUNNING" not in {run["status"] for run in runs}, runs
    (parent,) = [run for run in runs if not run["job"]]  # the sweep's MLflow parent run
    assert parent["status"] == "KILLED"
    # Lithops' localhost runner keeps a job file until the job is done or cleaned: none may be left pending.
    pending = [p for p in (tmp_path / "lithops" / "tmp").glob("lithops-*/jobs/*") if p.suffix != ".done"]
    assert not pending


def test_ctrl_c_while_staging_kills_the_run_before_the_manifest(tmp_path):
    line = _assert_clean(_interrupt_at(tmp_path, "staging", signal.SIGINT, *SWEEP), 130)
    runs = _runs(tmp_path)
    _assert_nothing_left_running(tmp_path, runs)
    (job,) = [run for run in runs if run["job"]]
    assert job["status"] == "KILLED" and job["tags"]["error"] == "interrupted by SIGINT"
    assert line == (f"interrupted by SIGINT: run {job['run_id']} marked KILLED during staging, 0 calls measured; "
                    "0 finished runs kept; rerun with resume=true to run the rest")
    # Staging was cut after one object: no manifest, so the next run stages the dataset again.
    assert not list((tmp_path / "lithops").rglob("manifest.json"))


@pytest.mark.parametrize(("signal_number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_job_kills_the_run_with_the_calls_so_far(tmp_path, signal_number, code):
    done = _interrupt_at(tmp_path, "job", signal_number, *SWEEP, "chunksize=1")
    line = _assert_clean(done, code)
    name = signal.Signals(signal_number).name
    runs = _runs(tmp_path)
    _assert_nothing_left_running(tmp_path, runs)
    (job,) = [run for run in runs if run["job"]]
    assert job["status"] == "KILLED" and job["tags"]["error"] == f"interrupted by {name}"
    calls = _calls(tmp_path, job["run_id"])
    assert any(c["status"] == "ok" for c in calls), [(c["status"], c["error"]) for c in calls]
    assert line.startswith(f"interrupted by {name}: run {job['run_id']} marked KILLED during the job, "
                           f"{len(calls)} call")


def test_ctrl_c_while_a_finished_run_is_recorded_keeps_it_finished(tmp_path):
    line = _assert_clean(_interrupt_at(tmp_path, "recording", signal.SIGINT, *SWEEP), 130)
    runs = _runs(tmp_path)
    _assert_nothing_left_running(tmp_path, runs)
    (job,) = [run for run in runs if run["job"]]
    assert job["status"] == "FINISHED" and len(job["tags"]["result_sha256"]) == 64  # recorded whole
    assert line == ("interrupted by SIGINT: no run was in progress; 1 finished run kept; "
                    "rerun with resume=true to run the rest")


def test_ctrl_c_between_two_jobs_stops_the_sweep_and_resume_runs_the_rest(tmp_path):
    sweep = [*SWEEP, "resume=true"]
    line = _assert_clean(_interrupt_at(tmp_path, "between_jobs", signal.SIGINT, *sweep), 130)
    runs = _runs(tmp_path)
    _assert_nothing_left_running(tmp_path, runs)
    assert [(run["params"]["workers"], run["status"]) for run in runs if run["job"]] == [("1", "FINISHED")]
    assert line == ("interrupted by SIGINT: no run was in progress; 1 finished run kept; "
                    "rerun with resume=true to run the rest")

    resumed = subprocess.run(_command(tmp_path, *sweep), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert resumed.stdout.count("skipped: already FINISHED") == 1
    finished = [run for run in _runs(tmp_path) if run["job"] and run["status"] == "FINISHED"]
    assert sorted(run["params"]["workers"] for run in finished) == ["1", "2"]
    assert len({run["tags"]["config_fingerprint"] for run in finished}) == 2
