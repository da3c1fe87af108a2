"""What a storage plug-in provides: its Lithops config section, its checks, its object store and tags.

A storage named ``X`` is ``conf/storage/X.yaml`` and the module ``aqstudy.storages.X``, which exports
``SCHEMA`` and ``STORAGE``. Imports inside the methods: plug-ins are found before anything heavy loads.
"""

from __future__ import annotations

from typing import Any


class Storage:
    """An object storage Lithops reads and writes; subclasses override what differs."""

    name: str = ""
    #: Lithops' name of the storage.
    lithops_name: str = ""

    def check(self, cfg: Any) -> None:
        """Refuse, before anything starts, what this storage cannot hold (raise ``ConfigError``)."""

    def lithops_sections(self, cfg: Any) -> dict[str, dict]:
        """The Lithops config sections of this storage."""
        return {}

    def endpoint_environment(self, storage: Any) -> dict[str, str]:
        """Environment variables every client of this storage needs (host and functions)."""
        return {}

    def open_object_store(self, cfg: Any, lithops_config: dict):
        """The bucket the dataset is staged into."""
        raise NotImplementedError

    def run_tags(self, cfg: Any) -> dict[str, str]:
        """Tags that say where the run's data and job files lived."""
        return {}
