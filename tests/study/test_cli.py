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


def _study_runs(client, experiment: str = "cli") -> list:
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return [run for run in runs if "workers" in run.data.params]


def test_a_multirun_sweeps_every_value_with_one_result(tmp_path, mlflow_client_for):
    done = _run(tmp_path, "-m", "workers=1,3", "chunksize=1,auto", *TINY)
    client = mlflow_client_for(tmp_path / "mlflow.db")
    runs = _study_runs(client)
    assert len(runs) == 4, done.stdout
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["result_sha256"] for r in runs}) == 1
    assert {(r.data.params["workers"], r.data.params["chunksize"]) for r in runs} == {
        ("1", "1"), ("1", "auto"), ("3", "1"), ("3", "auto")}
    # 4 objects at chunksize auto over 3 workers make 2 invocations: said once for the sweep, not per job.
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: workers cannot matter")]
    assert warnings == ["warning: workers cannot matter in 1 of 4 jobs: beyond the map invocations the data allows "
                        "(objects / chunksize) in workers=3 chunksize=auto (2). The extra workers run nothing, so "
                        "these durations stay flat by design."], done.stderr[-3000:]
    inert = [r for r in runs if r.data.params["workers"] == "3" and r.data.params["chunksize"] == "auto"]
    assert "make 2 map invocations" in inert[0].data.tags["workers_beyond_invocations"]


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
    runs = _study_runs(client)
    assert sorted(r.info.status for r in runs) == ["FAILED", "FINISHED"]


def test_a_sweep_of_two_jobs_is_one_parent_run_with_two_children_and_a_table(tmp_path, mlflow_client_for):
    done = _run(tmp_path, "-m", "workers=1,2", *TINY)
    client = mlflow_client_for(tmp_path / "mlflow.db")
    experiment = client.get_experiment_by_name("cli").experiment_id
    parents = client.search_runs([experiment], filter_string="tags.`aqstudy.kind` = 'sweep'")
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert "workers=1,2" in parent.data.tags["aqstudy.command"]
    children = client.search_runs([experiment], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(child.data.params["workers"] for child in children) == ["1", "2"]
    table = (tmp_path / "sweep.csv")
    client.download_artifacts(parent.info.run_id, "sweep.csv", str(tmp_path))
    rows = table.read_text().splitlines()
    header = rows[0].split(",")
    assert header[:2] == ["job", "workers"] and {"status", "duration_s", "cost_usd", "run_id"} <= set(header)
    assert len(rows) == 3
    # One line per job, then the table: no Lithops wait-loop chatter on the terminal.
    import re

    assert len([line for line in done.stdout.splitlines() if re.match(r"job \d+: workers=", line)]) == 2
    assert "Waiting for" not in done.stdout + done.stderr
    assert len(done.stdout.splitlines()) <= 8, done.stdout


def test_a_run_prints_a_few_lines_and_lithops_logging_goes_to_the_log_file(tmp_path):
    done = _run(tmp_path, *TINY)
    assert len(done.stdout.splitlines()) <= 4, done.stdout
    assert "Waiting for" not in done.stdout + done.stderr and "INFO" not in done.stdout + done.stderr
    log_text = "".join(path.read_text() for path in (tmp_path / "out").glob("*.log"))
    assert "lithops" in log_text.lower()
    loud = _run(tmp_path, *TINY, "verbose=true")
    assert "INFO" in loud.stdout + loud.stderr


@pytest.mark.parametrize(("override", "message"), [
    ("+workerz=4", "workerz is not a config key; did you mean workers?"),
    ("data_size=-1", "data_size=-1.0 is not valid; pass a positive number of GB"),
    ("dataset=local", "dataset.path is not set; pass dataset.path=DIR"),
    ("backend=nosuch", "Could not find 'backend/nosuch'"),
])
def test_bad_values_are_refused_before_anything_starts(tmp_path, override, message):
    done = _run(tmp_path, *(TINY if override != "dataset=local" else ()), override, check_ok=False)
    assert done.returncode != 0
    assert message in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "mlflow.db").exists() or not _any_run(tmp_path)


def _any_run(tmp_path) -> bool:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiments = client.search_experiments()
    return bool(experiments and client.search_runs([e.experiment_id for e in experiments]))
