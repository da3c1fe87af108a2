"""The schemas of the YAML files under ``conf/``: dataclasses registered in Hydra's ConfigStore.

The YAML files are the only source of default values: every field here is ``MISSING`` (a YAML file that
drops a key makes composition fail, naming the key) or typed ``Optional`` where ``null`` means something.
A config composed from these schemas is in struct mode, so a key that is not here (``workerz=4``, with or
without ``+``) is an error before anything starts. Entry points turn it into these objects with
``OmegaConf.to_object``; the code below them reads attributes, never ``.get(key, default)``.

Each backend, storage and dataset plug-in module defines the schema of its own YAML file (``SCHEMA``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import MISSING

# Optional[...] (not ``X | None``): OmegaConf reads these annotations at runtime on Python 3.11.
# ruff: noqa: UP007, UP045


@dataclass
class BackendConfig:
    """What every compute backend has: its plug-in name and how Lithops waits for its calls."""

    name: str = MISSING
    #: s between Lithops' status checks.
    monitoring_interval: float = MISSING
    #: % of maps done before the reducer is submitted: 0 (with the maps) or 100 (once they are all done).
    spawn_reducer: int = MISSING
    #: s between the host's reads of the reduce's status; null leaves waiting to Lithops.
    reduce_poll_s: Optional[float] = MISSING


@dataclass
class StorageConfig:
    """What every storage has: its plug-in name and the dataset's bucket."""

    name: str = MISSING
    bucket: str = MISSING


@dataclass
class DatasetConfig:
    """What every dataset has: its plug-in name."""

    name: str = MISSING


@dataclass
class AnalysisConfig:
    """``conf/analysis/*.yaml``: which aggregate the study computes."""

    name: str = MISSING


@dataclass
class MlflowConfig:
    tracking_uri: Optional[str] = MISSING
    experiment: Optional[str] = MISSING
    run_name: Optional[str] = MISSING


@dataclass
class LithopsConfig:
    log_level: str = MISSING
    home: Optional[str] = MISSING


@dataclass
class BillingConfig:
    """Reading what the platform billed a run (a check of the cost model; never fails the run)."""

    #: s to keep looking for the invocations' billing lines after the job.
    wait_s: float = MISSING


@dataclass
class StudyConfig:
    """``conf/config.yaml``: one study run (or, with ``-m``, each job of a sweep)."""

    backend: Any = MISSING
    storage: Any = MISSING
    dataset: Any = MISSING
    analysis: AnalysisConfig = MISSING
    workers: int = MISSING
    memory: int = MISSING
    chunksize: Any = MISSING  # a whole number ≥ 1 or "auto"
    data_size: Optional[float] = MISSING
    region: str = MISSING
    bucket_region: str = MISSING
    repeat: int = MISSING
    retries: int = MISSING
    verify: str = MISSING
    #: ``function`` (a reducer function: Lithops' map_reduce) or ``client`` (the host downloads every map's
    #: output and reduces it, as the original study's map + get_result() did).
    reduce: str = MISSING
    resume: bool = MISSING
    mlflow: MlflowConfig = MISSING
    lithops: LithopsConfig = MISSING
    progress: bool = MISSING
    verbose: bool = MISSING
    warm_up: bool = MISSING
    force_cold_start: bool = MISSING
    plan: bool = MISSING
    budget_usd: Optional[float] = MISSING
    billing: BillingConfig = MISSING


@dataclass
class SamplerConfig:
    name: str = MISSING
    seed: Optional[int] = MISSING
    options: dict[str, Any] = MISSING


@dataclass
class ConfirmConfig:
    """After a search with ``backend=model``: the front's ``top_k`` best configs run for real on ``backend``."""

    top_k: int = MISSING
    backend: Optional[str] = MISSING


@dataclass
class TuningConfig:
    """``conf/tuning/*.yaml``: the Optuna search."""

    study_name: str = MISSING
    storage: Optional[str] = MISSING
    n_trials: int = MISSING
    timeout_s: Optional[float] = MISSING
    #: runs per trial; Optuna is told their medians.
    repeats: int = MISSING
    #: the widest CI, as a share of its median, a trial may have without the aqstudy.noisy tag.
    max_ci_share: float = MISSING
    sampler: SamplerConfig = MISSING
    space: dict[str, Any] = MISSING
    confirm: ConfirmConfig = MISSING


@dataclass
class TuneConfig(StudyConfig):
    """``conf/tune.yaml``: every axis of a study run, plus the search."""

    tuning: TuningConfig = MISSING


@dataclass
class ReportSettings:
    out: Optional[str] = MISSING
    filter: str = MISSING
    timeline_run: Optional[str] = MISSING
    note: str = MISSING
    max_call_files: int = MISSING
    sweep: Optional[str] = MISSING


@dataclass
class ReportConfig:
    """``conf/report.yaml``: which tracked runs to report and where."""

    mlflow: MlflowConfig = MISSING
    report: ReportSettings = field(default_factory=ReportSettings)
    verbose: bool = MISSING


#: Schema name in the ConfigStore → node, for the primary configs.
PRIMARY = {"study_schema": StudyConfig, "tune_schema": TuneConfig, "report_schema": ReportConfig}
#: Config groups whose options are plug-ins: group → the package holding a module per option.
PLUGIN_GROUPS = {"backend": "aqstudy.backends", "storage": "aqstudy.storages", "dataset": "aqstudy.data"}
#: Groups with one schema for every option.
SHARED_SCHEMAS = {"analysis": AnalysisConfig, "tuning": TuningConfig}


def schema_name(name: str) -> str:
    """The ConfigStore name of option ``name``'s schema (what its YAML file's defaults list names)."""
    return f"schema_{name}"


def store(conf_dir) -> None:
    """Register every schema in Hydra's ConfigStore; entry points call it before ``@hydra.main`` composes.

    The options of a plug-in group are the YAML files in ``conf_dir/<group>/``; each one's schema is the
    ``SCHEMA`` of the module of the same name.
    """
    import importlib
    from pathlib import Path

    from hydra.core.config_store import ConfigStore

    store_ = ConfigStore.instance()
    for name, node in PRIMARY.items():
        store_.store(name=name, node=node)
    for group, node in SHARED_SCHEMAS.items():
        store_.store(group=group, name="schema", node=node)
    for group, package in PLUGIN_GROUPS.items():
        for path in sorted((Path(conf_dir) / group).glob("*.yaml")):
            module = importlib.import_module(f"{package}.{path.stem}")
            store_.store(group=group, name=schema_name(path.stem), node=module.SCHEMA)


def as_dict(cfg: Any) -> dict:
    """The config object as plain data: what MLflow params, the fingerprint and ``config.yaml`` are made of."""
    import dataclasses

    return dataclasses.asdict(cfg)


def unknown_keys(config: Any, path: str = "") -> list[tuple[str, list[str]]]:
    """Keys of a composed config that no schema declares (``+workerz=4`` gets past Hydra's struct mode), each
    with the keys its schema does declare there."""
    import dataclasses

    from omegaconf import DictConfig, OmegaConf

    if not isinstance(config, DictConfig):
        return []
    schema = OmegaConf.get_type(config)
    if not dataclasses.is_dataclass(schema):
        return []
    fields = {f.name for f in dataclasses.fields(schema)}
    found = []
    for key in config.keys():
        name = f"{path}{key}"
        if key not in fields and key != "hydra":
            found.append((name, sorted(fields)))
        elif key in fields:
            found += unknown_keys(config._get_node(key), f"{name}.")
    return found


def _secret_path(name: str, value: Any) -> str | None:
    """``name`` (or the first key below it) when it names a credential."""
    from omegaconf import DictConfig

    from aqstudy.config.validation import is_credential_key

    if is_credential_key(name.rpartition(".")[2]):
        return name
    if isinstance(value, DictConfig):
        for key in value.keys():
            found = _secret_path(f"{name}.{key}", value._get_node(key))
            if found:
                return found
    return None


def load(config: Any) -> Any:
    """The composed Hydra config (a ``DictConfig`` from these schemas) as the dataclass objects the code reads.

    :raises ConfigError: for a key no schema declares, naming the closest known one.
    """
    import difflib
    import re

    from omegaconf import OmegaConf

    from aqstudy.config import ConfigError

    unknown = unknown_keys(config)
    if unknown:
        name, known = unknown[0]
        parent = name.rpartition(".")[0]
        secret = _secret_path(name, OmegaConf.select(config, name))
        if secret:
            raise ConfigError(f"{secret} looks like a credential; credentials are never read from the config (they "
                              "would reach logs and every function): set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                              "AWS_SECRET_ACCESS_KEY instead")
        close = difflib.get_close_matches(name.rpartition(".")[2], known, n=1)
        where = parent or "the top level"
        hint = (f"did you mean {(parent + '.' if parent else '') + close[0]}?" if close
                else f"{where} has {', '.join(known)}")
        raise ConfigError(f"{re.sub(r'^[+~]', '', name)} is not a config key; {hint}")
    return OmegaConf.to_object(config)


def normalise_overrides(arguments: list[str]) -> list[str]:
    """``+experiment=X`` as ``experiment=X``: the group is in the defaults list (``experiment: null``), where
    Hydra refuses an appended second value; both spellings select the experiment."""
    return [argument[1:] if argument.startswith("+experiment=") else argument for argument in arguments]


def compose_config(overrides: list[str] = (), *, config_name: str = "config") -> Any:
    """Compose ``conf/<config_name>.yaml`` with these overrides as the commands do, as config objects (for
    tools outside ``@hydra.main``: the Lithops YAML printer, tests)."""
    from hydra import compose, initialize_config_dir

    from aqstudy.study.paths import PROJECT_ROOT

    store(PROJECT_ROOT / "conf")
    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return load(compose(config_name=config_name, overrides=normalise_overrides(list(overrides))))
