"""The one place every config value is checked, before anything starts; each message names the key and the fix.

Run by every command on the composed config object (:mod:`aqstudy.config.schema`): the study's own axes
here, then what the chosen backend, storage and dataset plug-ins refuse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from aqstudy.config import ConfigError

#: Credentials the standard chain reads; a config that sets them is refused (they would be logged and shipped).
CREDENTIAL_NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
#: Allowed values of the keys that take one of a few words.
VERIFY_VALUES = ("size", "sha256")
REDUCE_VALUES = ("function", "client")


def is_credential_key(key: str) -> bool:
    """Whether a config key names a credential: secret-shaped, or a variable of AWS's standard chain."""
    from aqstudy.study.redaction import is_secret_key

    return is_secret_key(key) or key.upper() in CREDENTIAL_NAMES


def _secret_paths(value: Any, path: str = "") -> Iterator[str]:
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{path}.{key}" if path else str(key)
            if is_credential_key(str(key)) and inner not in (None, ""):
                yield name
            yield from _secret_paths(inner, name)


def _whole(value: Any, key: str, *, low: int, high: int | None = None, what: str = "a whole number") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"≥ {low}" if high is None else f"between {low} and {high}"
        raise ConfigError(f"{key}={value!r} is not valid; pass {what} {bound}")


def validate(cfg: Any) -> None:
    """Raise :class:`ConfigError` (or ``DatasetError``) for the first value that cannot work.

    :param cfg: the composed config (:class:`aqstudy.config.schema.StudyConfig` or a subclass).
    """
    from aqstudy.backends import backend_named
    from aqstudy.backends.engine import SPAWN_REDUCER_VALUES
    from aqstudy.backends.lithops_config import build_lithops_config, resolve_chunksize
    from aqstudy.data.sources import dataset_named
    from aqstudy.kernel.columns import ANALYSES
    from aqstudy.measure.cost import gb_second_price, s3_request_price
    from aqstudy.storages import storage_named

    for group in ("backend", "storage", "dataset"):
        for path in _secret_paths(getattr(cfg, group), group):
            raise ConfigError(
                f"{path} looks like a credential; credentials are never read from the config (they would reach "
                "logs and every function): set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY instead"
            )
    _whole(cfg.workers, "workers", low=1)
    _whole(cfg.memory, "memory", low=128, high=10240, what="MB")
    _whole(cfg.retries, "retries", low=0)
    _whole(cfg.repeat, "repeat", low=0)
    try:
        resolve_chunksize(cfg.chunksize, objects=1, workers=1)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    if cfg.data_size is not None and not cfg.data_size > 0:
        raise ConfigError(f"data_size={cfg.data_size!r} is not valid; pass a positive number of GB "
                          "(or null for the whole of a local folder)")
    if cfg.verify not in VERIFY_VALUES:
        raise ConfigError(f"verify={cfg.verify!r} is not valid; choose {' or '.join(VERIFY_VALUES)}")
    if not cfg.billing.wait_s >= 0:
        raise ConfigError(f"billing.wait_s={cfg.billing.wait_s!r} is not valid; pass seconds ≥ 0")
    if cfg.reduce not in REDUCE_VALUES:
        raise ConfigError(f"reduce={cfg.reduce!r} is not valid; choose function (a reducer function) or client (the "
                          "host reduces the maps' outputs)")
    if cfg.budget_usd is not None and cfg.budget_usd < 0:
        raise ConfigError(f"budget_usd={cfg.budget_usd!r} is not valid; pass USD ≥ 0 or null")
    if cfg.backend.spawn_reducer not in SPAWN_REDUCER_VALUES:
        raise ConfigError(f"backend.spawn_reducer={cfg.backend.spawn_reducer!r} is not valid; pass 0 (the reducer "
                          "is submitted with the maps) or 100 (once they are all done)")
    if not cfg.backend.monitoring_interval > 0:
        raise ConfigError(f"backend.monitoring_interval={cfg.backend.monitoring_interval!r} is not valid; pass "
                          "seconds > 0")
    if cfg.backend.reduce_poll_s is not None and not cfg.backend.reduce_poll_s > 0:
        raise ConfigError(f"backend.reduce_poll_s={cfg.backend.reduce_poll_s!r} is not valid; pass seconds > 0 or null")
    if cfg.analysis.name not in ANALYSES:
        raise ConfigError(f"analysis={cfg.analysis.name!r} is not known; choose {' or '.join(ANALYSES)}")
    if cfg.warm_up and cfg.force_cold_start:
        raise ConfigError("warm_up=true and force_cold_start=true contradict each other; pass one of them")
    for setting in ("region", "bucket_region"):
        try:
            s3_request_price(region=getattr(cfg, setting), kind="get")
        except ValueError as error:
            raise ConfigError(f"{setting}: {error}") from None
    backend, storage = backend_named(cfg.backend.name), storage_named(cfg.storage.name)
    try:
        gb_second_price(region=cfg.region, architecture=backend.lambda_pricing(cfg.backend)[0])
    except ValueError as error:
        raise ConfigError(str(error)) from None
    backend.check(cfg)
    build_lithops_config(cfg, effective_workers=cfg.workers)  # the plug-ins' own section checks
    storage.check(cfg)  # last: it looks for credentials, which says nothing about the config itself
    dataset_named(cfg.dataset.name).check(cfg.dataset)
