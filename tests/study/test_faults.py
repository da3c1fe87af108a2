"""Faults: failing functions, retries, concurrent runs, secrets (interrupts: test_interrupts.py)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from aqstudy.study.paths import PROJECT_ROOT
from aqstudy.study.runner import StudyError, run_study
from tests.conftest import TINY

from . import faulty

pytestmark = pytest.mark.integration


def _calls(client, run_id):
    path = client.download_artifacts(run_id, "calls.csv")
    return list(csv.DictReader(io.StringIO(Path(path).read_text())))


@pytest.mark.parametrize("spawn_reducer", [0, 100])
def test_a_failing_function_fails_the_run_and_keeps_the_other_calls(compose, mlflow_client, spawn_reducer):
    # 0: the reducer is submitted with the maps and fails on the failed one; 100: it is never submitted.
    result = run_study(compose("workers=2", "chunksize=1", f"backend.spawn_reducer={spawn_reducer}"),
                       map_function=faulty.fail_on_one_object)
    assert result.status == "FAILED"
    assert "injected failure on" in result.error and faulty.FAILING_SUFFIX in result.error
    run = mlflow_client.get_run(result.run_id)
    assert run.info.status == "FAILED"
    assert faulty.FAILING_SUFFIX in run.data.tags["error"]
    calls = _calls(mlflow_client, result.run_id)
    maps = [c for c in calls if c["phase"] == "map"]
    assert [c["status"] for c in maps].count("error") == 1
    assert [c["status"] for c in maps].count("ok") == len(maps) - 1 >= 2
    assert all(c["worker_end_tstamp"] for c in maps if c["status"] == "ok")
    assert run.data.metrics["calls"] == len(calls)
    assert [c["phase"] for c in calls].count("reduce") == (1 if spawn_reducer == 0 else 0)


@pytest.mark.parametrize("overrides", [["backend.spawn_reducer=0"], ["backend.spawn_reducer=100"], ["retries=1"]])
def test_map_outputs_heavier_than_a_jobs_data_cap_reach_the_reduce(compose, overrides):
    # Four objects of 1.5 MB outputs: 6 MB, over Lithops' 4 MiB cap on the data a job is given. The reducer
    # is given the maps' futures and reads their results from storage, whenever it is submitted.
    plain = run_study(compose("workers=2"))
    heavy = run_study(compose("workers=2", *overrides), map_function=faulty.with_ballast,
                      reduce_function=faulty.reduce_dropping_ballast)
    assert heavy.status == "FINISHED", heavy.error
    assert heavy.metrics["calls"] >= 5
    assert heavy.tags["result_sha256"] == plain.tags["result_sha256"]


def test_a_transient_failure_is_retried(compose, mlflow_client, tmp_path, monkeypatch):
    monkeypatch.setenv("AQSTUDY_TEST_MARKERS", str(tmp_path))
    result = run_study(compose("retries=1", "chunksize=1"), map_function=faulty.fail_once)
    assert result.status == "FINISHED", result.error
    calls = _calls(mlflow_client, result.run_id)
    retried = [c for c in calls if c["phase"] == "map" and c["attempts"] == "2"]
    assert len(retried) == 1
    clean = run_study(compose())
    assert clean.tags["result_sha256"] == result.tags["result_sha256"]


def _command(tmp_path, *args):
    return [sys.executable, str(PROJECT_ROOT / "src" / "run.py"), *args,
            f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}", f"lithops.home={tmp_path / 'lithops'}",
            f"hydra.run.dir={tmp_path / 'out'}", f"hydra.sweep.dir={tmp_path / 'multirun'}",
            "mlflow.experiment=faults"]


def test_two_runs_at_once_share_the_store_and_the_bucket(tmp_path, mlflow_client_for):
    args = [*TINY, "data_size=0.006"]
    processes = [subprocess.Popen(_command(tmp_path, *args, f"repeat={i}"), cwd=tmp_path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-2000:]
    client = mlflow_client_for(tmp_path / "mlflow.db")
    runs = client.search_runs([client.get_experiment_by_name("faults").experiment_id])
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    assert len({r.data.tags["result_sha256"] for r in runs}) == 1
    assert len({r.data.tags["dataset_sha256"] for r in runs}) == 1
    manifests = list((tmp_path / "lithops").rglob("manifest.json"))
    assert len(manifests) == 1
    assert json.loads(manifests[0].read_text())["dataset_sha256"] == runs[0].data.tags["dataset_sha256"]


def test_credentials_in_the_config_never_reach_mlflow(compose, mlflow_client):
    # 20 and 40 characters, shaped as AWS access key ids and secret keys are.
    fake_id, fake_secret = "AKIA" + "ABCDEFGHIJKLMNOP", "FakeSecretKeyForTests/abcdefghijABCDEFGH"
    # A key named like a credential is refused before anything starts, without repeating its value.
    from aqstudy.config import ConfigError

    with pytest.raises((StudyError, ConfigError), match="looks like a credential") as refused:
        run_study(compose(f"+storage.aws_secret_access_key={fake_secret}"))
    assert fake_secret not in str(refused.value)
    # Key-shaped values under innocent names run, and are redacted wherever the run is logged.
    result = run_study(compose(f"mlflow.run_name=id {fake_id} secret {fake_secret}"))
    assert result.status == "FINISHED", result.error
    run = mlflow_client.get_run(result.run_id)
    assert run.info.run_name == "id *** secret ***"
    everything = json.dumps([run.info.run_name, run.data.params, run.data.tags, run.data.metrics])
    folder = Path(mlflow_client.download_artifacts(result.run_id, ""))
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            everything += path.read_text()
    assert fake_secret not in everything and fake_id not in everything
    assert "id *** secret ***" in (folder / "config.yaml").read_text()
