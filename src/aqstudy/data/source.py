"""What a dataset is before staging: a named list of objects, each with a loader, and a fingerprint that
changes whenever the content would (so staging can tell "same data, reuse it" from "changed data, stage it anew").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field


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
