"""Shared fixtures: a private Lithops home for the session, a real MLflow store per test, composed configs.

Lithops fixes its temp directory when first imported, so the whole session shares one private home (never
the user's /tmp/lithops-$USER); each test gets its own bucket inside it and its own MLflow database.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

from aqstudy.paths import PROJECT_ROOT, point_lithops_at

_SESSION_HOME = Path(tempfile.mkdtemp(prefix="aqstudy-tests-lithops-"))
point_lithops_at(_SESSION_HOME)
# Lithops' localhost runner finds our package through the venv; make sure the worker's cwd agrees too.
os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")

#: Small but real: a few objects of ~1 MB each, a few hundred stations.
TINY = [
    "data_size=0.004",
    "dataset.object_mb=1",
    "dataset.station_count=150",
    "progress=false",
]


@pytest.fixture(scope="session")
def lithops_home() -> Path:
    return _SESSION_HOME


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    """A real MLflow SQLite store in this test's temp dir."""
    return f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"


@pytest.fixture
def compose(tmp_path: Path, tracking_uri: str, lithops_home: Path):
    """Compose the project's config as ``src/run.py`` would, pointed at this test's stores."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    bucket = f"test-{uuid.uuid4().hex[:10]}"

    def _compose(*overrides: str, tiny: bool = True) -> dict:
        base = [
            f"mlflow.tracking_uri={tracking_uri}",
            f"lithops.home={lithops_home}",
            f"storage.bucket={bucket}",
            "mlflow.experiment=tests",
        ]
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            other_dataset = any(o.startswith("dataset=") and o != "dataset=synthetic" for o in overrides)
            small = [o for o in TINY if not (other_dataset and o.startswith("dataset."))] if tiny else []
            cfg = hydra_compose(config_name="config", overrides=[*base, *small, *overrides])
        return OmegaConf.to_container(cfg, resolve=True)

    return _compose


@pytest.fixture
def mlflow_client(tracking_uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri)


@pytest.fixture
def mlflow_client_for():
    """A client on an MLflow SQLite file made by another process."""
    from mlflow.tracking import MlflowClient

    return lambda path: MlflowClient(tracking_uri=f"sqlite:///{path}")
