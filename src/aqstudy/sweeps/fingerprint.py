"""A run's identity for resumable sweeps: its axes, its data and the code that ran it."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from aqstudy.config.schema import as_dict

#: Config keys that say where and how a run is tracked or shown, not what it measures.
NOT_PART_OF_A_RUN = ("mlflow", "lithops", "progress", "verbose", "resume", "plan", "budget_usd", "hydra", "tuning",
                     "report")


@cache
def code_version() -> str:
    """This checkout's :func:`source_version` (the whole aqstudy package, not just sweeps/), read once."""
    return source_version(Path(__file__).resolve().parents[1])


def source_version(package: Path) -> str:
    """sha256 (first 16 hex digits) of the ``.py`` files below ``package``, each by its path relative to it and
    its bytes: any change to the code (an edit, a new, moved or renamed module) makes a new version."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def config_fingerprint(cfg: Any, *, dataset_fingerprint: str, code: str | None = None) -> str:
    """sha256 of what makes two runs the same measurement: axes and settings, dataset, code version.

    :param cfg: the config object (or its :func:`aqstudy.config.schema.as_dict`).
    :param dataset_fingerprint: identifies the input data (changes whenever its content would).
    :param code: the code version (this checkout's when omitted).
    """
    values = cfg if isinstance(cfg, dict) else as_dict(cfg)
    axes = {key: value for key, value in values.items() if key not in NOT_PART_OF_A_RUN}
    payload = {"axes": axes, "dataset": dataset_fingerprint, "code": code or code_version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
