"""``backend=model``: the plug-in that predicts a run instead of making it (stages nothing, runs nothing).

The run it logs is a real run's, predicted: the same params, every metric under the same name (from the
predicted ``calls.csv`` through :func:`aqstudy.measure.metrics.derive_metrics`), cost terms from the same cost
model, a ``timeline.png``; plus what only a prediction has: ``parameters.csv`` (every number used, with its
source and date), ``breakdown.json``, and the calibration file. It is tagged ``predicted=true``,
``model_version`` and ``model_platform``.

Settings that the predicted platform has its own value for (``monitoring_interval``, ``spawn_reducer``,
``reduce_poll_s``, ``timeout_s`` …) default to that platform's YAML file (``conf/backend/aws_lambda.yaml`` or
``localhost.yaml``) through the ``model_platform`` resolver, so the defaults live in one place.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING, OmegaConf

from aqstudy.backends.base import Backend, Concurrency, LambdaPolling, aws_lambda_polling
from aqstudy.config import ConfigError
from aqstudy.config.schema import BackendConfig

# ruff: noqa: UP045  (OmegaConf reads Optional[...] at runtime)

log = logging.getLogger(__name__)

#: Bumped whenever the simulation's logic changes what it predicts (tagged on every predicted run).
MODEL_VERSION = "1"
#: Tag that marks a predicted run; reports and tuning keep such runs apart from measured ones.
PREDICTED_TAG = "predicted"
PLATFORMS = ("aws_lambda", "localhost")


@dataclass
class ModelBackendConfig(BackendConfig):
    """``conf/backend/model.yaml``."""

    platform: str = MISSING
    seed: int = MISSING
    kernel: str = MISSING
    kernel_mb_s: Optional[float] = MISSING
    output_ratio: Optional[float] = MISSING
    calibration: str = MISSING
    packaging: Optional[str] = MISSING
    manifest: Optional[str] = MISSING
    account_concurrency: int = MISSING
    client_mb_s: float = MISSING
    timeout_s: int = MISSING
    invoke_pool_threads: int = MISSING
    architecture: str = MISSING
    ephemeral_storage_mb: int = MISSING
    parameters: dict[str, float] = MISSING


@lru_cache(maxsize=8)
def _platform_file(platform: str) -> dict:
    from aqstudy.study.paths import PROJECT_ROOT

    path = PROJECT_ROOT / "conf" / "backend" / f"{platform}.yaml"
    if platform not in PLATFORMS or not path.exists():
        raise ConfigError(f"backend.platform={platform!r} is not known; choose {' or '.join(PLATFORMS)}")
    values = OmegaConf.to_container(OmegaConf.load(path))
    values.pop("defaults", None)
    return values


def platform_default(platform: str, key: str) -> Any:
    """``key`` of ``conf/backend/<platform>.yaml``: the resolver ``${model_platform:${.platform},key}``."""
    values = _platform_file(platform)
    if key not in values:
        raise ConfigError(f"conf/backend/{platform}.yaml has no {key}; set backend.{key} for backend=model")
    return values[key]


OmegaConf.register_new_resolver("model_platform", platform_default, replace=True)

#: Warm environments a sweep's earlier predicted runs left, by function (platform, memory, runtime …).
_WARM: dict[tuple, int] = {}


def forget_warm_environments() -> None:
    """Start the next prediction with no warm environment (tests; a new sweep in the same process)."""
    _WARM.clear()


class ModelBackend(Backend):
    name = "model"
    lithops_name = "model"
    memory_enforced = True
    runs_functions = False

    def check(self, cfg: Any) -> None:
        from aqstudy.backends.model.calibration import KERNELS

        backend = cfg.backend
        if backend.platform not in PLATFORMS:
            raise ConfigError(f"backend.platform={backend.platform!r} is not known; choose {' or '.join(PLATFORMS)}")
        if backend.kernel not in KERNELS:
            raise ConfigError(f"backend.kernel={backend.kernel!r} is not known; choose {' or '.join(KERNELS)}")
        if backend.packaging not in (None, "image", "zip"):
            raise ConfigError(f"backend.packaging={backend.packaging!r} is not known; choose image, zip or null")
        for key in ("kernel_mb_s", "output_ratio"):
            value = getattr(backend, key)
            if value is not None and (value < 0 or (key == "kernel_mb_s" and value == 0)):
                raise ConfigError(f"backend.{key}={value!r} is not valid; pass a number "
                                  f"{'> 0' if key == 'kernel_mb_s' else '≥ 0'} or null (the kernel's own)")
        if not backend.client_mb_s > 0:
            raise ConfigError(f"backend.client_mb_s={backend.client_mb_s!r} is not valid; pass MB/s > 0")
        if backend.account_concurrency < 1:
            raise ConfigError(f"backend.account_concurrency={backend.account_concurrency!r} is not valid; pass ≥ 1")
        if not 1 <= backend.timeout_s <= 900:
            raise ConfigError(f"backend.timeout_s={backend.timeout_s} is not valid; pass seconds between 1 and 900 "
                              "(Lambda's limit)")
        if backend.manifest and not Path(backend.manifest).expanduser().is_file():
            raise ConfigError(f"backend.manifest={backend.manifest!r} does not exist; pass the manifest.json of a "
                              "staged dataset, or null to take the sizes from the dataset config")
        _calibration(backend.calibration)
        from aqstudy.backends.model.parameters import ModelParameters, with_overrides

        try:
            with_overrides(ModelParameters(), dict(backend.parameters))
        except ValueError as error:
            raise ConfigError(f"backend.parameters: {error}") from None

    def concurrency(self, *, workers: int, backend: Any) -> Concurrency:
        if backend.platform != "localhost":
            return Concurrency(workers, workers)
        from types import SimpleNamespace

        from aqstudy.backends.localhost import capped_concurrency

        local = _platform_file("localhost")
        return capped_concurrency(workers=workers, backend=SimpleNamespace(
            per_worker_mb=local["per_worker_mb"], workers_per_core=local["workers_per_core"]))

    def lithops_sections(self, cfg: Any, *, effective_workers: int, python: str | None,
                         environ: dict[str, str] | None) -> dict[str, dict]:
        return {}  # nothing runs: no Lithops executor is made

    def run_tags(self, cfg: Any) -> dict[str, str]:
        return {PREDICTED_TAG: "true", "model_version": MODEL_VERSION, "model_platform": cfg.backend.platform,
                "model_kernel": cfg.backend.kernel, "model_seed": str(cfg.backend.seed)}

    def lambda_pricing(self, backend: Any) -> tuple[str, int]:
        return backend.architecture, int(backend.ephemeral_storage_mb)

    def cold_init_s(self, backend: Any) -> float:
        """The INIT the simulation gives a new Lambda environment (none on localhost): priced per cold
        invocation by the same cost path as a measured run."""
        if backend.platform != "aws_lambda":
            return 0.0
        from aqstudy.backends.model.platforms import build_platform

        platform, _ = build_platform(_calibration(backend.calibration), platform="aws_lambda", kernel=backend.kernel,
                                     packaging=backend.packaging)
        return platform.init_s

    def cold_init_note(self, backend: Any) -> str:
        if backend.platform == "aws_lambda":
            return f"predicted INIT of {self.cold_init_s(backend):.3f} s per new environment (model)"
        return "not priced (no Lambda INIT on localhost)"

    def lambda_polling(self, backend: Any) -> LambdaPolling:
        if backend.platform != "aws_lambda":  # priced as a measured localhost run is
            return aws_lambda_polling()
        poll = backend.reduce_poll_s
        return LambdaPolling(float(backend.monitoring_interval), poll, (
            f"as the predicted run polls: a LIST of the job's statuses every {float(backend.monitoring_interval):g} "
            "s, the reduce's status " + (f"read every {float(poll):g} s" if poll else "through Lithops' wait")))

    def run_conditions(self, cfg: Any) -> tuple[dict[str, float], dict[str, str]]:
        from aqstudy.study.conditions import ACCOUNT_CONCURRENCY

        if cfg.backend.platform != "aws_lambda":
            return {}, {}
        return {ACCOUNT_CONCURRENCY: float(cfg.backend.account_concurrency)}, {
            ACCOUNT_CONCURRENCY: "assumed by the model (backend.account_concurrency)"}

    def predict(self, cfg: Any, *, result: Any, artifacts: dict) -> None:
        """Predict the run: fill ``result`` (params, metrics, tags, summary) and ``artifacts`` as a run would."""
        from aqstudy.backends.model.adapter import predict_run

        predict_run(cfg, result=result, artifacts=artifacts, warm=_WARM)


@lru_cache(maxsize=4)
def _calibration_cached(path: str, mtime_ns: int):
    from aqstudy.backends.model.calibration import load

    return load(path)


def _calibration(path: str):
    """The calibration file at ``path`` (relative to the project root unless absolute), read once per change."""
    from aqstudy.backends.model.calibration import CalibrationError
    from aqstudy.study.paths import PROJECT_ROOT

    resolved = Path(path).expanduser()
    if not resolved.is_absolute():
        resolved = PROJECT_ROOT / resolved
    if not resolved.exists():
        raise ConfigError(f"backend.calibration={path!r} does not exist; run `make calibrate` to measure this "
                          "machine, or pass the path of a calibration file")
    try:
        return _calibration_cached(str(resolved), resolved.stat().st_mtime_ns)
    except CalibrationError as error:
        raise ConfigError(str(error)) from None


def calibration_digest(path: str) -> str:
    """sha256 (16 hex digits) of the calibration file: part of a predicted run's dataset fingerprint."""
    calibration = _calibration(path)
    return hashlib.sha256(Path(calibration.path).read_bytes()).hexdigest()[:16]


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"


SCHEMA = ModelBackendConfig
BACKEND = ModelBackend()
