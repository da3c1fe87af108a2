"""What users run: src/run.py as a process, single runs and a real multirun in a temp dir."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aqstudy.study.paths import PROJECT_ROOT

from tests.conftest import TINY

pytestmark = pytest.mark.integration


def _run(tmp_path, *args, check_ok=True):
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    command = [sys.executable, str(PROJECT_ROOT / "src" / "run.py"), *args, f"mlflow.tracking_uri={tracking}",
               f"lithops.home={tmp_path / 'lithops'}", f"hydra.run.dir={tmp_path / 'out'}",
               f"hydra.sweep.dir={tmp_path / 'multirun'}", "mlflow.experiment=cli"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    if check_ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_multirun_sweeps_every_value_with_one_result(tmp_path, mlflow_client_for):
    done = _run(tmp_path, "-m", "workers=1,3", "chunksize=1,auto", *TINY)
    client = mlflow_client_for(tmp_path / "mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("cli").experiment_id])
    assert len(runs) == 4, done.stdout
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["result_sha256"] for r in runs}) == 1
    assert {(r.data.params["workers"], r.data.params["chunksize"]) for r in runs} == {
        ("1", "1"), ("1", "auto"), ("3", "1"), ("3", "auto")}


def test_a_bad_dataset_path_exits_non_zero_with_one_line(tmp_path):
    done = _run(tmp_path, "dataset=local", f"dataset.path={tmp_path / 'nowhere'}", check_ok=False)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "does not exist; pass a folder of .ndjson or .ndjson.gz files" in errors[0]


def test_a_failing_job_does_not_stop_the_multirun(tmp_path, mlflow_client_for):
    (tmp_path / "empty").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.ndjson").write_text('{"value": 1.5, "parameter": "pm25", "date": {"utc": "2020-01-01"}}\n')
    done = _run(tmp_path, "-m", "dataset=local", f"dataset.path={tmp_path / 'empty'},{tmp_path / 'data'}",
                check_ok=False)
    assert done.returncode == 1
    client = mlflow_client_for(tmp_path / "mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("cli").experiment_id])
    assert sorted(r.info.status for r in runs) == ["FAILED", "FINISHED"]
