"""Stage a dataset into the bucket once, with a manifest beside it; reuse it while the source is unchanged.

The prefix carries the source's fingerprint, so a changed source lands beside the old copy instead of
mixing with it. The manifest is written last: a staging that died midway leaves no manifest and is redone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aqstudy.data.source import Source
from aqstudy.study.signals import pause_point

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class ObjectStore(Protocol):
    """The few bucket operations staging needs; Lithops' Storage and boto3 both fit behind it.

    ``put`` reports bytes sent through ``progress`` and returns False when it kept an identical object that was
    there already (a store that cannot tell always uploads and returns True).
    """

    bucket: str

    def get(self, key: str) -> bytes | None: ...

    def size(self, key: str) -> int | None: ...

    def put(self, key: str, data: bytes, progress: Callable[[int], None] | None = None) -> bool: ...


class LithopsObjectStore:
    """An :class:`ObjectStore` over ``lithops.Storage`` (the localhost backend and any other)."""

    def __init__(self, storage, bucket: str):
        self.storage = storage
        self.bucket = bucket

    def get(self, key: str) -> bytes | None:
        from lithops.storage.utils import StorageNoSuchKeyError

        try:
            return self.storage.get_object(self.bucket, key)
        except StorageNoSuchKeyError:
            return None

    def size(self, key: str) -> int | None:
        from lithops.storage.utils import StorageNoSuchKeyError

        try:
            return int(self.storage.head_object(self.bucket, key)["content-length"])
        except StorageNoSuchKeyError:
            return None

    def put(self, key: str, data: bytes, progress: Callable[[int], None] | None = None) -> bool:
        # An identical object already there (another run staging the same data at once, an attempt that died
        # before its manifest) is left alone: rewriting it in place could cut a concurrent reader short.
        kept = _same_object(self, key, len(data), hashlib.sha256(data).hexdigest())
        if not kept:
            self.storage.put_object(self.bucket, key, data)
        if progress:
            progress(len(data))
        return not kept


@dataclass
class StagedDataset:
    """A dataset in the bucket: what the map calls read and what the run logs about its input."""

    bucket: str
    prefix: str
    objects: list[dict]
    dataset_sha256: str
    reused: bool
    staging_s: float
    kept_objects: int = 0  # objects found identical in the bucket (by checksum) and not uploaded again

    @property
    def input_bytes(self) -> int:
        return sum(entry["size"] for entry in self.objects)

    @property
    def keys(self) -> list[str]:
        return [entry["key"] for entry in self.objects]


def dataset_prefix(source: Source) -> str:
    """Bucket prefix of a source's staged copy: its name and fingerprint."""
    return f"datasets/{source.name}-{source.fingerprint[:16]}"


def dataset_sha256(entries: list[dict]) -> str:
    """One checksum for the whole staged dataset: over object names, sizes and sha256s, in order."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry['name']}\t{entry['size']}\t{entry['sha256']}\n".encode())
    return digest.hexdigest()


def damaged_objects(manifest: dict, store: ObjectStore) -> list[str]:
    """Objects of a staged copy that are missing or whose size differs from the manifest, by name."""
    problems = []
    for entry in manifest["objects"]:
        size = store.size(entry["key"])
        if size is None:
            problems.append(f"{entry['key']} is missing")
        elif size != entry["size"]:
            problems.append(f"{entry['key']} has {size} bytes, the manifest says {entry['size']}")
    return problems


def _valid_manifest(manifest: dict | None, source: Source, store: ObjectStore) -> bool:
    if not manifest or manifest.get("fingerprint") != source.fingerprint:
        return False
    if len(manifest.get("objects", [])) != len(source.objects):
        return False
    problems = damaged_objects(manifest, store)
    if problems:
        log.warning("staged copy at %s/%s is damaged (%s); staging those objects again", store.bucket,
                    manifest["objects"][0]["key"].rsplit("/", 1)[0], "; ".join(problems[:5]))
    return not problems


def read_manifest(store: ObjectStore, prefix: str) -> dict | None:
    """The manifest at ``prefix``, or None when there is none (or it is unreadable)."""
    raw = store.get(f"{prefix}/{MANIFEST_NAME}")
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        log.warning("manifest at %s/%s is unreadable; staging again", prefix, MANIFEST_NAME)
        return None


def _same_object(store: ObjectStore, key: str, size: int, sha256: str) -> bool:
    if store.size(key) != size:
        return False
    existing = store.get(key)
    return existing is not None and hashlib.sha256(existing).hexdigest() == sha256


def stage(source: Source, store: ObjectStore, *, progress: bool = True) -> StagedDataset:
    """Put ``source`` in the bucket unless an identical copy is there already.

    :param source: the dataset to stage.
    :param store: the bucket.
    :param progress: show a progress bar while uploading.
    """
    started = time.perf_counter()
    prefix = dataset_prefix(source)
    manifest = read_manifest(store, prefix)
    if _valid_manifest(manifest, source, store):
        log.info("reusing staged dataset %s/%s: %d objects, %.1f MB (%s)", store.bucket, prefix,
                 len(manifest["objects"]), sum(e["size"] for e in manifest["objects"]) / 1e6, source.description)
        return StagedDataset(store.bucket, prefix, manifest["objects"], manifest["dataset_sha256"], True,
                             time.perf_counter() - started)

    from tqdm import tqdm

    entries, kept = [], 0
    bar = tqdm(total=source.size_hint or None, unit="B", unit_scale=True, desc=f"staging {source.name}",
               disable=not progress, file=sys.stderr, leave=False)
    with bar:
        for obj in source.objects:
            data = obj.load()
            key = f"{prefix}/{obj.name}"
            entries.append({"name": obj.name, "key": key, "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest()})
            # An object kept from a staging that died before its manifest is not sent again.
            kept += not store.put(key, data, progress=bar.update)
            pause_point("staging")  # a test's moment: one object staged, the manifest not yet written
    checksum = dataset_sha256(entries)
    manifest = {
        "version": MANIFEST_VERSION,
        "dataset": source.name,
        "description": source.description,
        "fingerprint": source.fingerprint,
        "dataset_sha256": checksum,
        "objects": entries,
        "staged_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    store.put(f"{prefix}/{MANIFEST_NAME}", json.dumps(manifest, indent=1).encode())
    elapsed = time.perf_counter() - started
    log.info("staged %s into %s/%s: %d objects (%d already there), %.1f MB in %.1f s", source.description,
             store.bucket, prefix, len(entries), kept, sum(e["size"] for e in entries) / 1e6, elapsed)
    return StagedDataset(store.bucket, prefix, entries, checksum, False, elapsed, kept)
