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

from aqstudy.study.paths import PROJECT_ROOT, point_lithops_at

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


@pytest.fixture(scope="session", autouse=True)
def compiled_scanner() -> None:
    """Load the map's compiled scanner once before any test: a checkout where `make setup` has not built it
    fails here with the fix, not in every Lithops worker."""
    from aqstudy.kernel import aggregate as kernel

    kernel.warm()


@pytest.fixture(scope="session")
def lithops_home() -> Path:
    return _SESSION_HOME


@pytest.fixture
def tracking_uri(tmp_path: Path) -> str:
    """A real MLflow SQLite store in this test's temp dir."""
    return f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"


@pytest.fixture
def compose(tmp_path: Path, tracking_uri: str, lithops_home: Path):
    """Compose the project's config objects as ``src/run.py`` would, pointed at this test's stores."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from aqstudy.config.schema import load, normalise_overrides, store

    store(PROJECT_ROOT / "conf")

    bucket = f"test-{uuid.uuid4().hex[:10]}"

    def _compose(*overrides: str, tiny: bool = True):
        base = [
            f"mlflow.tracking_uri={tracking_uri}",
            f"lithops.home={lithops_home}",
            f"storage.bucket={bucket}",
            "mlflow.experiment=tests",
        ]
        with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
            other_dataset = any(o.startswith("dataset=") and o != "dataset=synthetic" for o in overrides)
            small = [o for o in TINY if not (other_dataset and o.startswith("dataset."))] if tiny else []
            cfg = hydra_compose(config_name="config", overrides=normalise_overrides([*base, *small, *overrides]))
        return load(cfg)

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


# --- A real S3-compatible server (moto's standalone server) for the AWS path -------------------------------------

#: Obvious fakes: AWS's own documentation example key pair. Nothing real is ever needed or accepted.
FAKE_ACCESS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # split: no key-shaped literal in the tree
FAKE_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class S3Server:
    """A moto server on 127.0.0.1: its endpoint, its request log, and clients on it."""

    def __init__(self, endpoint: str, log_path: Path):
        self.endpoint = endpoint
        self.log_path = log_path

    def client(self, region: str = "us-east-1", service: str = "s3"):
        import boto3

        return boto3.client(service, region_name=region, endpoint_url=self.endpoint)

    def requests(self) -> list[str]:
        """Request lines logged so far, e.g. ``GET /bucket/key?x=y``."""
        import re

        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log_path.read_text(errors="replace"))  # werkzeug colours some
        return re.findall(r'"([A-Z]+ \S+) HTTP/1\.[01]"', text)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """Start moto's S3-compatible server for the session, with fake credentials in the environment."""
    import subprocess
    import sys
    import time
    import urllib.request

    folder = tmp_path_factory.mktemp("s3-server")
    saved = {name: os.environ.get(name) for name in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID=FAKE_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=FAKE_SECRET_ACCESS_KEY,
                      AWS_CONFIG_FILE=str(folder / "no-config"), AWS_SHARED_CREDENTIALS_FILE=str(folder / "no-creds"),
                      AWS_EC2_METADATA_DISABLED="true", AWS_DEFAULT_REGION="us-east-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(name, None)
    port = _free_port()
    log_path = folder / "moto.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log_file, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint, timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start on {endpoint}: {log_path.read_text()}") from None
                time.sleep(0.1)
        yield S3Server(endpoint, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
