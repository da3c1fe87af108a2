"""resume=true: a job is skipped only when a FINISHED run measured the same config on the same data."""

from __future__ import annotations

import os

import pytest

from aqstudy.study.runner import find_finished_run, run_study

from . import faulty


def test_only_a_finished_run_of_the_same_fingerprint_counts_as_done(mlflow_client):
    experiment = mlflow_client.create_experiment("resume")
    other_experiment = mlflow_client.create_experiment("elsewhere")

    def tracked(fingerprint, status, experiment_id=experiment):
        run = mlflow_client.create_run(experiment_id, tags={"config_fingerprint": fingerprint})
        if status != "RUNNING":
            mlflow_client.set_terminated(run.info.run_id, status=status)
        return run.info.run_id

    assert find_finished_run(mlflow_client, experiment, "a") is None
    for status in ("FAILED", "KILLED", "RUNNING"):
        tracked("a", status)
    tracked("b", "FINISHED")
    tracked("a", "FINISHED", other_experiment)
    assert find_finished_run(mlflow_client, experiment, "a") is None
    done = tracked("a", "FINISHED")
    assert find_finished_run(mlflow_client, experiment, "a") == done
    assert find_finished_run(mlflow_client, experiment, "c") is None


def _write_readings(folder, values) -> None:
    folder.mkdir(exist_ok=True)
    for part, value in enumerate(values):
        (folder / f"part-{part:05d}.ndjson").write_text(
            f'{{"value": {value}, "city": "c", "location": "l", "parameter": "pm25", "unit": "µg/m³", '
            f'"date": {{"utc": "2020-01-0{part + 1}T00:00:00Z"}}}}\n')


@pytest.mark.integration
def test_a_resumed_sweep_on_changed_data_runs_again(compose, tmp_path):
    data = tmp_path / "data"
    _write_readings(data, [1.5, 2.5, 3.5])
    job = ("dataset=local", f"dataset.path={data}", "resume=true", "workers=2")
    first = run_study(compose(*job))
    assert first.status == "FINISHED", first.error
    assert run_study(compose(*job)).status == "SKIPPED"  # same config, same data: nothing to do

    _write_readings(data, [1.5, 2.5, 4.5])  # same files, same config; one reading differs
    again = run_study(compose(*job))
    assert again.status == "FINISHED", again.error
    assert again.run_id != first.run_id
    assert again.tags["result_sha256"] != first.tags["result_sha256"]


@pytest.mark.integration
def test_a_failed_job_is_run_again_by_resume(compose):
    job = ("resume=true", "workers=2", "chunksize=1")
    failed = run_study(compose(*job), map_function=faulty.fail_on_one_object)
    assert failed.status == "FAILED"
    again = run_study(compose(*job))
    assert again.status == "FINISHED", again.error
    assert run_study(compose(*job)).status == "SKIPPED"  # the same job: only the FINISHED run counts as done


@pytest.mark.integration
def test_a_killed_job_is_run_again_by_resume(compose, mlflow_client, monkeypatch):
    job = ("resume=true", "workers=2", "chunksize=1")
    monkeypatch.setenv("AQSTUDY_TEST_HOST_PID", str(os.getpid()))
    with pytest.raises(KeyboardInterrupt):
        run_study(compose(*job), map_function=faulty.interrupt_the_host)
    (killed,) = mlflow_client.search_runs([mlflow_client.get_experiment_by_name("tests").experiment_id])
    assert killed.info.status == "KILLED"
    again = run_study(compose(*job))
    assert again.status == "FINISHED", again.error
    assert run_study(compose(*job)).status == "SKIPPED"
