"""Integration: real Lithops localhost runs tracked in a real MLflow store."""

from __future__ import annotations

import csv
import io

import pytest

from aqstudy.kernel.columns import RESULT_COLUMNS
from aqstudy.study.runner import StudyError, run_study

pytestmark = pytest.mark.integration


def _artifact_text(client, run_id: str, name: str) -> str:
    import pathlib

    path = client.download_artifacts(run_id, name)
    return pathlib.Path(path).read_text()


def test_a_run_is_tracked_with_metrics_params_tags_and_artifacts(compose, mlflow_client):
    result = run_study(compose())
    assert result.status == "FINISHED", result.error
    run = mlflow_client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    for name in ("duration_s", "map_duration_s", "reduce_duration_s", "job_setup_s", "cold_starts", "calls",
                 "throughput_mb_s", "utilization", "peak_memory_mb", "records", "invalid_records", "result_rows",
                 "cost_usd", "cost_compute_usd", "cost_requests_usd", "startup_cold_p50_s"):
        assert name in run.data.metrics, name
    assert run.data.metrics["records"] > run.data.metrics["invalid_records"] > 0
    for name in ("workers", "memory", "chunksize", "data_size", "region", "bucket_region", "effective_workers",
                 "backend", "storage", "dataset", "analysis", "lithops_version", "python_version", "objects",
                 "input_bytes"):
        assert name in run.data.params, name
    assert len(run.data.tags["result_sha256"]) == 64 and run.data.tags["result_sha256_version"] == "2"
    assert len(run.data.tags["dataset_sha256"]) == 64
    assert run.data.tags["memory_enforced"] == "false"
    artifacts = {a.path for a in mlflow_client.list_artifacts(result.run_id)}
    assert {"result.csv", "calls.csv", "timeline.png", "config.yaml"} <= artifacts
    rows = list(csv.DictReader(io.StringIO(_artifact_text(mlflow_client, result.run_id, "result.csv"))))
    assert tuple(rows[0]) == RESULT_COLUMNS
    assert len(rows) == run.data.metrics["result_rows"]
    calls = list(csv.DictReader(io.StringIO(_artifact_text(mlflow_client, result.run_id, "calls.csv"))))
    assert [c["phase"] for c in calls].count("reduce") == 1
    # The host reads the reduce's status itself (backend.reduce_poll_s); every map's status still arrives.
    assert all(c["status"] == "ok" and c["host_status_done_tstamp"] for c in calls)
    assert len(calls) == run.data.metrics["calls"] == int(run.data.params["objects"]) + 1


def test_the_second_run_reuses_the_staged_dataset(compose):
    first = run_study(compose())
    second = run_study(compose())
    assert first.tags["dataset_reused"] == "false"
    assert second.tags["dataset_reused"] == "true"
    assert first.tags["dataset_sha256"] == second.tags["dataset_sha256"]


def test_a_missing_dataset_path_is_refused_before_anything_starts(compose, mlflow_client, tmp_path):
    with pytest.raises(StudyError, match="does not exist; pass a folder of .ndjson or .ndjson.gz files"):
        run_study(compose("dataset=local", f"dataset.path={tmp_path / 'nowhere'}"))
    assert mlflow_client.search_experiments(filter_string="name = 'tests'") == []


def test_a_folder_without_data_files_fails_the_run_with_the_fix(compose, mlflow_client, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run_study(compose("dataset=local", f"dataset.path={tmp_path / 'empty'}"))
    assert result.status == "FAILED"
    assert "holds no .ndjson or .ndjson.gz files" in result.error
    run = mlflow_client.get_run(result.run_id)
    assert run.info.status == "FAILED"
    assert "holds no .ndjson" in run.data.tags["error"]


def test_bad_axes_are_refused_before_anything_starts(compose):
    with pytest.raises(StudyError, match="workers=0 is not valid"):
        run_study(compose("workers=0"))
    with pytest.raises(StudyError, match="chunksize='many' is not valid"):
        run_study(compose("chunksize=many"))
    with pytest.raises(StudyError, match="backend.spawn_reducer=50 is not valid; pass 0 .* or 100"):
        run_study(compose("backend.spawn_reducer=50"))
