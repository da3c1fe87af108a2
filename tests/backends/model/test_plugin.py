"""backend=model through the study's own path (run_study): a predicted run is logged like a measured one,
tagged as predicted, and the original study's timed pass is predicted within 25% (validation b)."""

from __future__ import annotations

import csv
import io

import pytest

from aqstudy.backends.model.plugin import forget_warm_environments
from aqstudy.backends.model.validation import ORIGINAL_PASS_OVERRIDES, original_pass_check
from aqstudy.measure.cost import COST_TERMS, cost_metric
from aqstudy.study.runner import run_study

pytestmark = pytest.mark.integration  # MLflow for real (the fast suite checks the pass in test_validation.py)


@pytest.fixture(autouse=True)
def no_warm_environments():
    forget_warm_environments()
    yield
    forget_warm_environments()


def artifact_text(client, run_id: str, name: str) -> str:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        return Path(client.download_artifacts(run_id, name, folder)).read_text()


def breakdown_of(metrics: dict) -> dict:
    return {name[len("model_"):]: value for name, value in metrics.items() if name.startswith("model_")}


def test_the_original_studys_timed_pass_is_predicted_within_25_percent(compose, mlflow_client):
    cfg = compose(*ORIGINAL_PASS_OVERRIDES, tiny=False)
    result = run_study(cfg)
    assert result.status == "FINISHED", result.error
    check = original_pass_check(breakdown_of(result.metrics))
    assert check.passes, f"predicted {check.predicted_s:.1f} s against the log's {check.measured_s:.1f} s"
    assert result.params["objects"] == 1979 and result.params["effective_chunksize"] == 2
    assert result.metrics["invocations"] == 990 and result.metrics["calls"] == 1979  # no reducer: the host reduces
    run = mlflow_client.get_run(result.run_id)
    assert run.data.tags["predicted"] == "true" and run.data.tags["model_version"]
    assert run.data.params["backend"] == "model" and run.data.params["backend.kernel"] == "original"
    artifacts = {a.path for a in mlflow_client.list_artifacts(result.run_id)}
    assert {"calls.csv", "timeline.png", "parameters.csv", "breakdown.json", "config.yaml"} <= artifacts
    assert "calibration" in artifacts


def test_a_predicted_run_logs_every_metric_and_cost_term_a_measured_run_does(compose, mlflow_client):
    result = run_study(compose("backend=model", "workers=8", "data_size=2.5", tiny=False))
    assert result.status == "FINISHED", result.error
    for name in ("duration_s", "map_duration_s", "reduce_duration_s", "job_setup_s", "cold_starts", "calls",
                 "throughput_mb_s", "utilization", "peak_memory_mb", "cost_usd", "billed_gb_s",
                 "startup_cold_p50_s", "s3_get_requests", "invocations",
                 *(cost_metric(term) for term in COST_TERMS)):
        assert name in result.metrics, name
    assert result.metrics["cost_init_usd"] > 0  # INIT of each new environment, billed since 2025-08
    rows = list(csv.DictReader(io.StringIO(artifact_text(mlflow_client, result.run_id, "calls.csv"))))
    assert len(rows) == 101 and rows[-1]["phase"] == "reduce"
    table = list(csv.DictReader(io.StringIO(artifact_text(mlflow_client, result.run_id, "parameters.csv"))))
    assert all(row["source"] and row["unit"] for row in table)


def test_same_seed_same_prediction_and_the_next_run_of_a_sweep_finds_warm_environments(compose):
    first = run_study(compose("backend=model", "workers=16", "data_size=2.5", "backend.seed=3", tiny=False))
    forget_warm_environments()
    again = run_study(compose("backend=model", "workers=16", "data_size=2.5", "backend.seed=3", tiny=False))
    assert first.metrics["duration_s"] == again.metrics["duration_s"]
    warm = run_study(compose("backend=model", "workers=16", "data_size=2.5", "backend.seed=3", tiny=False))
    assert warm.metrics["cold_starts"] == 0 and warm.metrics["duration_s"] < first.metrics["duration_s"]
    assert warm.tags["warm_environments_at_start"] != "0"
    cold = run_study(compose("backend=model", "workers=16", "data_size=2.5", "backend.seed=3", "force_cold_start=true",
                             tiny=False))
    assert cold.metrics["cold_starts"] == first.metrics["cold_starts"]


@pytest.mark.parametrize(("overrides", "reason"), [
    (("workers=1200",), "more than the account's concurrency"),
    (("workers=1", "chunksize=400", "data_size=10", "backend.kernel=original"), "backend.timeout_s=900"),
    (("memory=256", "backend.kernel=original"), "memory=256 MB"),
])
def test_a_config_that_cannot_work_is_a_failed_prediction_with_the_reason(compose, overrides, reason):
    result = run_study(compose("backend=model", "data_size=10", *overrides, tiny=False))
    assert result.status == "FAILED"
    assert reason in result.error


def test_the_localhost_platform_takes_localhosts_own_settings(compose):
    cfg = compose("backend=model", "backend.platform=localhost")
    assert cfg.backend.monitoring_interval == 0.05 and cfg.backend.spawn_reducer == 100
    assert cfg.backend.reduce_poll_s == 0.01
    lam = compose("backend=model")
    assert lam.backend.monitoring_interval == 2 and lam.backend.spawn_reducer == 0 and lam.backend.timeout_s == 900
    result = run_study(cfg)
    assert result.status == "FINISHED", result.error
    assert result.tags["model_platform"] == "localhost"


def test_bad_model_settings_are_refused_with_the_fix(compose):
    from aqstudy.study.runner import StudyError

    with pytest.raises(StudyError, match="backend.kernel='pandas' is not known"):
        run_study(compose("backend=model", "backend.kernel=pandas"))
    with pytest.raises(StudyError, match="make calibrate"):
        run_study(compose("backend=model", "backend.calibration=/nonexistent.json"))
    with pytest.raises(StudyError, match="backend.parameters"):
        run_study(compose("backend=model", "+backend.parameters.s3_stream_mbs=85"))


def test_object_sizes_come_from_a_staged_manifest_when_given(compose, tmp_path):
    import json

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"objects": [{"key": f"k{i}", "size": size, "sha256": "x"}
                                                for i, size in enumerate((10_000_000, 30_000_000, 5_000_000))]}))
    result = run_study(compose("backend=model", f"backend.manifest={manifest}", "workers=3"))
    assert result.status == "FINISHED", result.error
    assert result.params["objects"] == 3 and result.params["input_bytes"] == 45_000_000
