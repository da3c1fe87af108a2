"""plan=true and budget_usd: what a run or sweep would do and cost, before anything starts."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from aqstudy.measure import cost as c
from aqstudy.study.paths import PROJECT_ROOT
from aqstudy.sweeps.planning import BudgetError, check_budget, expand_sweep, job_labels, plan_run, total_usd

RUN_PY = PROJECT_ROOT / "src" / "run.py"


def test_a_sweep_expands_like_hydras_basic_sweeper():
    jobs = expand_sweep(task_overrides=["workers=8,16", "data_size=2.5,5", "memory=1024"])
    assert jobs == [["workers=8", "data_size=2.5", "memory=1024"], ["workers=8", "data_size=5", "memory=1024"],
                    ["workers=16", "data_size=2.5", "memory=1024"], ["workers=16", "data_size=5", "memory=1024"]]
    assert job_labels(jobs) == ["workers=8 data_size=2.5", "workers=8 data_size=5", "workers=16 data_size=2.5",
                                "workers=16 data_size=5"]
    # An experiment's grid (hydra.sweeper.params) comes first; the command line can narrow it.
    grid = expand_sweep(task_overrides=["workers=8"], sweeper_params={"workers": "8,16,32", "data_size": "1,2"})
    assert grid == [["workers=8", "data_size=1"], ["workers=8", "data_size=2"]]


def test_a_run_plan_counts_objects_invocations_and_prices_the_cross_region_read(compose):
    same = plan_run(compose("data_size=1", "dataset.object_mb=25", "workers=8", "chunksize=auto"))
    assert same.objects == 40 and same.input_bytes == 40 * 25_000_000
    assert same.map_invocations == 8 and same.invocations == 9  # ceil(40 / 8) objects per invocation + reduce
    assert same.cost.transfer_usd == 0
    across = plan_run(compose("data_size=1", "dataset.object_mb=25", "workers=8", "region=us-east-1",
                              "bucket_region=eu-west-1"))
    assert across.cost.transfer_usd == pytest.approx(1e9 / 2**30 * 0.02)
    assert across.cost.compute_usd == pytest.approx(same.cost.compute_usd)
    warm = plan_run(compose("data_size=1", "dataset.object_mb=25", "workers=8", "warm_up=true"))
    assert warm.warm_up_usd > 0 and warm.cost.compute_usd < same.cost.compute_usd  # no cold imports measured
    chunky = plan_run(compose("data_size=1", "dataset.object_mb=25", "workers=8", "chunksize=1"))
    assert chunky.invocations == 41


def test_staging_is_priced_once_per_dataset_copy_and_the_budget_refuses_the_total(compose):
    small = plan_run(compose("data_size=1", "workers=8"), label="a")
    wider = plan_run(compose("data_size=1", "workers=16"), label="b")
    other = plan_run(compose("data_size=2", "workers=16"), label="c")
    assert small.dataset_key == wider.dataset_key != other.dataset_key
    assert small.staging_usd > 0
    together = total_usd([small, wider, other])
    assert together == pytest.approx(small.total_usd + wider.total_usd + other.total_usd + small.staging_usd
                                     + other.staging_usd)
    check_budget([small, wider, other], budget_usd=together * 1.01)
    with pytest.raises(BudgetError, match=r"exceeds budget_usd=.*; run fewer or smaller configurations"):
        check_budget([small, wider, other], budget_usd=together * 0.99)


def test_the_lambda_plan_prices_init_for_each_cold_start(compose):
    cfg = compose("backend=aws_lambda", "storage=s3", "data_size=1", "workers=8", "dataset.object_mb=25",
                  "backend.cold_init_s=0.5")
    plan = plan_run(cfg)
    # 8 cold map invocations and the reduce: 9 × 0.5 s at 2 GB = 9 GB-s.
    assert plan.cost.init_usd == pytest.approx(9 * 0.5 * 2 * c.gb_second_price(region="us-east-1"))


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RUN_PY), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.integration
def test_plan_true_prints_a_sweep_and_starts_nothing(tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    done = _run("-m", "workers=1,2", "data_size=0.004,0.008", "dataset.object_mb=1", "plan=true",
                f"mlflow.tracking_uri=sqlite:///{database}", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "total: 4 runs" in done.stdout and "nothing was started" in done.stdout
    assert "workers=2 data_size=0.008" in done.stdout
    assert not database.exists() and not (tmp_path / "sweep").exists()


@pytest.mark.integration
def test_a_sweep_over_budget_is_refused_before_its_first_job(tmp_path):
    database = tmp_path / "mlruns" / "mlflow.db"
    done = _run("-m", "workers=1,2", "data_size=0.004", "dataset.object_mb=1", "budget_usd=0.0000001",
                f"mlflow.tracking_uri=sqlite:///{database}", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert done.returncode == 2
    assert "exceeds budget_usd=1e-07" in done.stderr
    assert not database.exists()


@pytest.mark.integration
def test_a_single_run_plan_and_the_original_grid_plan(tmp_path):
    one = _run("plan=true", "data_size=0.5", f"mlflow.tracking_uri=sqlite:///{tmp_path / 'db.sqlite'}", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "total: 1 run, " in one.stdout
    grid = _run("-m", "+experiment=aws_original", "plan=true", f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert grid.returncode == 0, grid.stderr
    assert "total: 35 runs" in grid.stdout and "workers=512 data_size=40" in grid.stdout
    estimate = float(grid.stdout.split("estimated $")[1].split()[0])
    assert math.isfinite(estimate) and estimate > 0


def test_the_sweep_is_told_once_which_jobs_workers_cannot_reach():
    from aqstudy.sweeps.planning import WorkersReach, inert_workers_warning

    fine = WorkersReach("workers=4", 4, 8, 4, "localhost")
    assert inert_workers_warning([fine]) is None
    warning = inert_workers_warning([fine, WorkersReach("workers=8", 8, 8, 4, "localhost"),
                                     WorkersReach("workers=16", 16, 8, 4, "localhost")])
    assert warning.startswith("warning: workers cannot matter in 2 of 3 jobs: ")
    assert "the data allows (objects / chunksize) in workers=16 (8)" in warning
    assert "runs at once in workers=8 (localhost: 4), workers=16 (localhost: 4)" in warning
    assert "\n" not in warning
    repeats = [WorkersReach(f"repeat={k} workers=8", 8, 4, 4, "localhost") for k in (1, 2, 3)]
    assert inert_workers_warning(repeats) == (
        "warning: workers cannot matter in 3 of 3 jobs: beyond the map invocations the data allows (objects / "
        "chunksize) in workers=8 (4); beyond what the backend runs at once in workers=8 (localhost: 4). The extra "
        "workers run nothing, so these durations stay flat by design.")
