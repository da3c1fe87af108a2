"""The one place that turns the Hydra config into a Lithops config (pure: no Lithops import here).

The rest of the code never asks which cloud it is on: it hands this dict to ``FunctionExecutor`` and to
``Storage``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

log = logging.getLogger(__name__)

def resolve_chunksize(chunksize: Any, *, objects: int, workers: int) -> int:
    """Map calls per function invocation; ``auto`` spreads the objects evenly over ``workers`` functions.

    :param chunksize: an integer ≥ 1 or ``"auto"``.
    :param objects: map calls of the job (one per staged object).
    :param workers: functions the study wants running ("N lambdas" in the original study).
    """
    if chunksize in (None, "auto"):
        return max(1, math.ceil(objects / max(1, workers)))
    try:
        value = int(chunksize)
    except (TypeError, ValueError):
        raise ValueError(f"chunksize={chunksize!r} is not valid; pass a whole number ≥ 1 or auto") from None
    if value < 1:
        raise ValueError(f"chunksize={value} is not valid; pass a whole number ≥ 1 or auto")
    return value


def build_lithops_config(cfg: Any, *, effective_workers: int, python: str | None = None,
                         environ: dict[str, str] | None = None) -> dict:
    """The Lithops config dict for one run: Lithops' own section, then the backend's and the storage's.

    :param cfg: the run's config (:class:`aqstudy.config.schema.StudyConfig`).
    :param effective_workers: functions running at once.
    :param python: interpreter for localhost workers (this one when omitted, so workers see our venv).
    :param environ: where to look up ``AWS_LAMBDA_ROLE_ARN`` (``os.environ`` when omitted).

    Credentials never enter this dict: Lithops sends its config to every function, and its boto3 clients find
    credentials through the standard chain (environment, profile, the function's execution role).
    """
    from aqstudy.backends import backend_named
    from aqstudy.storages import storage_named

    backend, storage = backend_named(cfg.backend.name), storage_named(cfg.storage.name)
    config: dict[str, Any] = {
        "lithops": {
            "backend": backend.lithops_name,
            "storage": storage.lithops_name,
            "log_level": cfg.lithops.log_level,
            "data_cleaner": True,
            "monitoring_interval": float(cfg.backend.monitoring_interval),
        }
    }
    sections = (backend.lithops_sections(cfg, effective_workers=effective_workers, python=python, environ=environ),
                storage.lithops_sections(cfg))
    for part in sections:
        for name, section in part.items():
            config[name] = {**config.get(name, {}), **section}
    return config
