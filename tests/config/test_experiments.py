"""Every config composes; the named experiments sweep what they say, and run for real at a tiny size."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aqstudy.study.paths import PROJECT_ROOT
from tests.conftest import TINY

CONF = PROJECT_ROOT / "conf"
EXPERIMENTS = sorted(p.stem for p in (PROJECT_ROOT / "experiments").glob("*.yaml"))
GROUPS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "experiment")
PRIMARY = sorted(p.stem for p in CONF.glob("*.yaml") if p.stem != "hydra_settings")


def _compose(config_name: str, overrides: list[str], *, hydra: bool = False):
    from hydra import compose, initialize_config_dir

    from aqstudy.config.schema import normalise_overrides, store

    store(CONF)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name=config_name, overrides=normalise_overrides(overrides), return_hydra_config=hydra)


def _jobs(config_name: str, overrides: list[str]) -> list[list[str]]:
    """The jobs Hydra's basic sweeper would launch for ``-m`` with these command-line overrides."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    # Hydra composes the job config from the experiment selection; sweeps on the command line join later.
    cfg = _compose(config_name, [o for o in overrides if o.lstrip("+").startswith("experiment=")], hydra=True)
    params = [f"{k}={v}" for k, v in (cfg.hydra.sweeper.params or {}).items()]
    parsed = OverridesParser.create().parse_overrides([*params, *overrides])
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


def test_the_experiments_are_the_ones_the_issue_names():
    assert set(EXPERIMENTS) >= {"scaling", "memory", "locality", "repeats"}


@pytest.mark.parametrize("group", GROUPS)
def test_every_option_of_every_config_group_composes(group):
    for option in sorted(p.stem for p in (CONF / group).glob("*.yaml")):
        config_name = "tune" if group == "tuning" else "config"
        overrides = [f"{group}={option}"] + (["dataset.path=/tmp"] if option == "local" else [])
        cfg = _compose(config_name, overrides)
        assert cfg[group] is not None, f"{group}={option}"


@pytest.mark.parametrize("config_name", ["config", "tune", "report"])
def test_every_primary_config_composes_and_resolves(config_name):
    from omegaconf import OmegaConf

    OmegaConf.to_container(_compose(config_name, []), resolve=True)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_alone_and_with_repeats(experiment):
    from omegaconf import OmegaConf

    for selection in (experiment, f"[{experiment},repeats]"):
        OmegaConf.to_container(_compose("config", [f"+experiment={selection}"]), resolve=True)
        assert _compose("config", [f"+experiment={selection}"], hydra=True).hydra.sweeper.params, selection


def test_the_scaling_grid_is_the_original_studys_and_data_size_on_the_command_line_replaces_its_axis():
    full = _jobs("config", ["+experiment=scaling"])
    assert len(full) == 7 * 5
    assert {job[0] for job in full} == {f"workers={w}" for w in (8, 16, 32, 64, 128, 256, 512)}
    assert {job[1] for job in full} == {f"data_size={d}" for d in ("2.5", "5", "10", "20", "40")}
    reduced = _jobs("config", ["+experiment=scaling", "data_size=0.1"])
    assert len(reduced) == 7 and all("data_size=0.1" in job for job in reduced)
    both = _jobs("config", ["+experiment=scaling", "data_size=0.1,0.2", "workers=1,2,4"])
    assert len(both) == 6


def test_repeats_multiply_any_experiment_and_set_no_experiment_name_of_their_own():
    assert len(_jobs("config", ["+experiment=[memory,repeats]"])) == 10 * 3
    assert len(_jobs("config", ["+experiment=[locality,repeats]", "repeat=1,2,3,4,5"])) == 2 * 5
    assert _compose("config", ["+experiment=[scaling,repeats]"]).mlflow.experiment == "scaling"
    locality = _jobs("config", ["+experiment=locality"])
    assert sorted(job[0] for job in locality) == ["bucket_region=eu-west-1", "bucket_region=us-east-1"]


def _multirun(tmp_path: Path, overrides: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, str(PROJECT_ROOT / "src" / "run.py"), "-m", *overrides, *TINY,
               f"hydra.sweep.dir={tmp_path / 'multirun'}", f"mlflow.tracking_uri=sqlite:///{tmp_path / 'mlflow.db'}",
               f"lithops.home={tmp_path / 'lithops'}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "src")})


def _runs(tracking_uri: str, experiment: str) -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment!r}"
    return [run for run in client.search_runs([found.experiment_id]) if "workers" in run.data.params]


@pytest.mark.integration
@pytest.mark.parametrize(("experiment", "overrides", "expected"), [
    ("scaling", ["+experiment=scaling", "workers=1,2"], {("1", "0.004"), ("2", "0.004")}),
    ("memory", ["+experiment=memory", "memory=512,10240", "workers=2"], {("512",), ("10240",)}),
    ("locality", ["+experiment=[locality,repeats]", "repeat=1,2", "workers=2"],
     {("us-east-1", "1"), ("us-east-1", "2"), ("eu-west-1", "1"), ("eu-west-1", "2")}),
])
def test_each_experiment_runs_as_a_real_multirun_at_a_tiny_size(tmp_path, experiment, overrides, expected):
    # TINY's data_size=0.004 replaces the grid's data sizes, as data_size=0.1 does for a user.
    done = _multirun(tmp_path, overrides)
    assert done.returncode == 0, done.stderr[-3000:]
    runs = _runs(f"sqlite:///{tmp_path / 'mlflow.db'}", experiment)
    assert all(run.info.status == "FINISHED" for run in runs)
    keys = {"scaling": ("workers", "data_size"), "memory": ("memory",), "locality": ("bucket_region", "repeat")}
    assert {tuple(run.data.params[k] for k in keys[experiment]) for run in runs} == expected
    assert len(runs) == len(expected)
