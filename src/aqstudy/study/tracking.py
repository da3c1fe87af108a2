"""The MLflow adapter: one tracked run per study job, logged in batches, artifacts beside it.

Defaults keep everything inside ``mlruns/`` at the project root: the SQLite database and the artifacts.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from aqstudy.study.paths import default_tracking_uri
from aqstudy.study.redaction import redact, redact_text

log = logging.getLogger(__name__)

#: MLflow's limits on one log_batch call.
_BATCH_METRICS = 1000
_BATCH_PARAMS = 100
_PARAM_CHARS = 6000
#: The tag saying what a run that is not one study run is: a tuning session, or a tuning trial (whose study
#: runs are its repeats, nested below it). Reports leave such runs out of their tables.
TAG_KIND = "aqstudy.kind"
KIND_TUNING_SESSION, KIND_TUNING_TRIAL = "tuning-session", "tuning-trial"


def resolve_tracking_uri(configured: str | None) -> str:
    """The tracking URI to use: the configured one, else SQLite inside ``<project>/mlruns``."""
    return configured or default_tracking_uri()


def artifact_root_for(tracking_uri: str) -> str | None:
    """Where artifacts go for a local SQLite store: an ``artifacts`` folder beside the database.

    Other stores (a tracking server) choose their own, so this returns None for them.
    """
    if not tracking_uri.startswith("sqlite:///"):
        return None
    # sqlite:////abs/path.db is absolute, sqlite:///rel/path.db relative to the working directory.
    database = Path(tracking_uri[len("sqlite:///"):])
    return (database.resolve().parent / "artifacts").as_uri()


def client_for(tracking_uri: str):
    """An ``MlflowClient`` on ``tracking_uri``, creating the SQLite file's folder when needed.

    MLflow creates and migrates a new SQLite database on first use; two runs starting at once would both
    try, so that first use happens under a file lock.
    """
    from mlflow.tracking import MlflowClient

    if not tracking_uri.startswith("sqlite:///"):
        return MlflowClient(tracking_uri=tracking_uri)
    import fcntl

    folder = Path(urlparse(artifact_root_for(tracking_uri)).path).parent
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".mlflow-init.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = MlflowClient(tracking_uri=tracking_uri)
        client.search_experiments(max_results=1)
    return client


def experiment_id(client, name: str, tracking_uri: str) -> str:
    """The id of experiment ``name``, created (with our artifact location) when it does not exist."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    try:
        artifact_root = artifact_root_for(tracking_uri)
        location = f"{artifact_root}/{name}" if artifact_root else None
        return client.create_experiment(name, artifact_location=location)
    except Exception:
        # Another run created it a moment ago (two runs started at once).
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


class TrackedRun:
    """One MLflow run, logged in batches, ended with the right status whatever happens.

    :param tracking_uri: the MLflow store.
    :param experiment: experiment name.
    :param run_name: name shown in the UI.
    :param parent_run_id: makes this a nested child run (a sweep's jobs, Optuna trials under a study session).
    :param start_time: when the run began (epoch s); now when omitted.
    """

    def __init__(self, *, tracking_uri: str, experiment: str, run_name: str | None = None,
                 parent_run_id: str | None = None, tags: dict[str, str] | None = None,
                 start_time: float | None = None):
        self.tracking_uri = tracking_uri
        self.client = client_for(tracking_uri)
        self.experiment_id = experiment_id(self.client, experiment, tracking_uri)
        run_tags = dict(tags or {})
        if parent_run_id:
            run_tags["mlflow.parentRunId"] = parent_run_id
        # start_time (epoch s): when the run itself began, so the UI's Duration column is the run's.
        run = self.client.create_run(self.experiment_id, run_name=redact_text(run_name) if run_name else None,
                                     tags=run_tags,
                                     start_time=int(start_time * 1000) if start_time else None)
        self.run_id = run.info.run_id
        self.artifact_uri = run.info.artifact_uri
        self.status: str | None = None

    def log(self, *, params: dict | None = None, metrics: dict | None = None, tags: dict | None = None) -> None:
        """Params, metrics and tags in as few calls as MLflow allows. Values are redacted first."""
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        param_items = [Param(k, redact_text(str(v))[:_PARAM_CHARS]) for k, v in (params or {}).items()]
        metric_items = [Metric(k, float(v), now, 0) for k, v in (metrics or {}).items() if v is not None]
        tag_items = [RunTag(k, redact_text(str(v))[:5000]) for k, v in (tags or {}).items() if v is not None]
        while param_items or metric_items or tag_items:
            self.client.log_batch(self.run_id, metrics=metric_items[:_BATCH_METRICS],
                                  params=param_items[:_BATCH_PARAMS], tags=tag_items[:_BATCH_PARAMS])
            metric_items = metric_items[_BATCH_METRICS:]
            param_items = param_items[_BATCH_PARAMS:]
            tag_items = tag_items[_BATCH_PARAMS:]

    def log_artifacts(self, files: dict[str, bytes | str | Path]) -> None:
        """Write each ``name → content`` (bytes, text or a file to copy) as an artifact of the run."""
        import shutil

        with tempfile.TemporaryDirectory(prefix="aqstudy-artifacts-") as folder:
            for name, content in files.items():
                target = Path(folder) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, Path):
                    shutil.copyfile(content, target)
                elif isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    target.write_text(content)
            self.client.log_artifacts(self.run_id, folder)

    def end(self, status: str, *, end_time: float | None = None) -> None:
        """Close the run as FINISHED, FAILED or KILLED (once); ``end_time`` (epoch s) when the run itself ended,
        before its logging."""
        if self.status is None:
            self.status = status
            self.client.set_terminated(self.run_id, status=status,
                                       end_time=int(end_time * 1000) if end_time else None)


def redacted_yaml(config: dict) -> str:
    """The resolved config as YAML, secrets replaced by ``***``."""
    import yaml

    return yaml.safe_dump(redact(config), sort_keys=False, allow_unicode=True)
