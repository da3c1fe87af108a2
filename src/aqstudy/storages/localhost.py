"""Lithops' localhost storage: a bucket is a folder under ``lithops.home``; only the localhost backend
reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aqstudy.config.schema import StorageConfig
from aqstudy.storages.base import Storage


@dataclass
class LocalhostStorageConfig(StorageConfig):
    """``conf/storage/localhost.yaml``."""


class LocalhostStorage(Storage):
    name = "localhost"
    lithops_name = "localhost"

    def lithops_sections(self, cfg: Any) -> dict[str, dict]:
        return {"localhost": {}}

    def open_object_store(self, cfg: Any, lithops_config: dict):
        from aqstudy.backends import engine
        from aqstudy.data.staging import LithopsObjectStore

        return LithopsObjectStore(engine.make_storage(lithops_config), cfg.storage.bucket)


SCHEMA = LocalhostStorageConfig
STORAGE = LocalhostStorage()
