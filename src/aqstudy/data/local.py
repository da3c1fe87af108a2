"""Every NDJSON file (plain or gzip) below a folder, as published in the OpenAQ archives: one object per file.

Pointing at a folder means "this data": ``conf/dataset/local.yaml`` sets ``data_size`` to null, so the whole
folder is staged unless ``data_size`` is passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING

from aqstudy.config.schema import DatasetConfig
from aqstudy.data.source import Dataset, DatasetError, Source, SourceObject, fingerprint_of

# ruff: noqa: UP045  (OmegaConf reads Optional[...] at runtime)

log = logging.getLogger(__name__)

#: Names of files a local dataset takes (gzip is still recognised by content).
DATA_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz", ".json", ".json.gz")


@dataclass
class LocalDatasetConfig(DatasetConfig):
    """``conf/dataset/local.yaml``."""

    path: Optional[str] = MISSING


def local_source(*, path: str | None, data_size_gb: float | None = None) -> Source:
    """Every NDJSON file (plain or gzip) below ``path``, as published in the OpenAQ archives.

    :param path: a folder of ``.ndjson`` / ``.ndjson.gz`` files (searched recursively).
    :param data_size_gb: stage only the first files (by name) up to this many GB; ``None`` takes all.
    """
    if not path:
        raise DatasetError("dataset.path is not set; pass dataset.path=DIR, a folder of .ndjson or .ndjson.gz files")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DatasetError(f"dataset.path '{path}' does not exist; pass a folder of .ndjson or .ndjson.gz files")
    files, skipped = [], []
    for candidate in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = candidate.relative_to(root).as_posix()
        if candidate.name.startswith("."):
            continue
        if candidate.name.lower().endswith(DATA_SUFFIXES):
            files.append(candidate)
        else:
            skipped.append(relative)
    if skipped:
        log.warning("dataset.path '%s': skipped %d non-data files: %s", path, len(skipped), ", ".join(skipped[:10]))
    if not files:
        raise DatasetError(f"dataset.path '{path}' holds no .ndjson or .ndjson.gz files; pass a folder of OpenAQ "
                           "archive files")
    if data_size_gb:
        limit, chosen, total = data_size_gb * 1e9, [], 0
        for file in files:
            if chosen and total + file.stat().st_size > limit:
                break
            chosen.append(file)
            total += file.stat().st_size
        if len(chosen) < len(files):
            log.warning("data_size=%s GB: staging %d of %d files; pass data_size=null to take them all",
                        data_size_gb, len(chosen), len(files))
        files = chosen
    stats = [(f.relative_to(root).as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    return Source(
        name="local",
        fingerprint=fingerprint_of({"root": str(root.resolve()), "files": stats}),
        objects=[
            SourceObject(_object_name(rel), file.read_bytes, size)
            for (rel, size, _), file in zip(stats, files, strict=True)
        ],
        description=f"{len(files)} files from {root}",
        skipped=skipped,
    )


def _object_name(relative: str) -> str:
    return relative.replace("/", "__")


def _object_name(relative: str) -> str:
    return relative.replace("/", "__")


class LocalDataset(Dataset):
    name = "local"

    def source(self, dataset: Any, *, data_size_gb: float | None, progress: bool) -> Source:
        return local_source(path=dataset.path, data_size_gb=data_size_gb)

    def planned_sizes(self, dataset: Any, *, data_size_gb: float | None) -> list[int]:
        """The files' own sizes, looked at on disk."""
        return [obj.size_hint for obj in local_source(path=dataset.path, data_size_gb=data_size_gb).objects]

    def check(self, dataset: Any) -> None:
        if not dataset.path:
            raise DatasetError("dataset.path is not set; pass dataset.path=DIR, a folder of .ndjson or "
                               ".ndjson.gz files")
        if not Path(dataset.path).expanduser().is_dir():
            raise DatasetError(f"dataset.path '{dataset.path}' does not exist; pass a folder of .ndjson or "
                               ".ndjson.gz files")


SCHEMA = LocalDatasetConfig
DATASET = LocalDataset()
