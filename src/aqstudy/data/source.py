"""What a dataset is before staging: a named list of objects, each with a loader, and a fingerprint that
changes whenever the content would (so staging can tell "same data, reuse it" from "changed data, stage it anew").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class DatasetError(ValueError):
    """The dataset config points at nothing usable; the message says what to pass instead."""


@dataclass
class SourceObject:
    """One object to stage: its key suffix and how to get its bytes."""

    name: str
    load: Callable[[], bytes]
    size_hint: int = 0


@dataclass
class Source:
    """A dataset before staging."""

    name: str
    fingerprint: str
    objects: list[SourceObject]
    description: str
    skipped: list[str] = field(default_factory=list)

    @property
    def size_hint(self) -> int:
        return sum(obj.size_hint for obj in self.objects)


def fingerprint_of(payload: dict) -> str:
    """A stable digest of a JSON-able description: equal descriptions, equal fingerprints."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


#: How objects may be stored in the study's bucket.
COMPRESSIONS = ("none", "gzip")


class Dataset:
    """A dataset plug-in: where its objects come from, and their sizes for a plan made before anything runs."""

    name: str = ""

    def source(self, dataset: Any, *, data_size_gb: float | None, progress: bool) -> Source:
        """The objects to stage (listed, loaded only when staged)."""
        raise NotImplementedError

    def planned_sizes(self, dataset: Any, *, data_size_gb: float | None) -> list[int]:
        """Sizes in bytes of the objects a run would read (before compression)."""
        raise NotImplementedError

    def check(self, dataset: Any) -> None:
        """Refuse, before anything starts, a dataset config that points at nothing (raise DatasetError)."""

    @staticmethod
    def check_objects(dataset: Any) -> None:
        """For datasets cut into ``object_mb`` objects and stored plain or gzipped: both values usable."""
        if dataset.compression not in COMPRESSIONS:
            raise DatasetError(f"dataset.compression={dataset.compression!r} is not known; choose "
                               f"{' or '.join(COMPRESSIONS)}")
        if not dataset.object_mb > 0:
            raise DatasetError(f"dataset.object_mb={dataset.object_mb!r} is not valid; pass a positive number of MB")

    @staticmethod
    def object_bytes(dataset: Any, *, data_size_gb: float | None) -> int:
        """``dataset.object_mb`` in bytes, for datasets cut into objects of that size up to ``data_size``."""
        if not data_size_gb or data_size_gb <= 0:
            raise DatasetError(f"dataset={dataset.name} with data_size={data_size_gb}: the size is needed; "
                               "pass data_size=GB")
        return int(float(dataset.object_mb) * 1e6)
