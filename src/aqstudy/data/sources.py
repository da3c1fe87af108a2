"""The dataset plug-ins by name: the synthetic generator, a local folder, or the public OpenAQ archive.

A source lists its objects lazily (name + a loader) and carries a fingerprint that changes whenever its
content would, so staging can tell "same data, reuse it" from "changed data, stage it anew".
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable
from pathlib import Path

from aqstudy.data.source import DatasetError, Source, SourceObject, fingerprint_of

log = logging.getLogger(__name__)

#: Bump when the generator's output changes, so old staged copies are not reused.
SYNTHETIC_FORMAT = 1
#: Names of files a local dataset takes (gzip is still recognised by content).
DATA_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz", ".json", ".json.gz")


def synthetic_source(*, seed: int, station_count: int, object_mb: float, data_size_gb: float,
                     invalid_share: float = 0.01, compression: str = "none") -> Source:
    """The synthetic OpenAQ dataset of ``data_size_gb`` GB in objects of ``object_mb`` MB.

    :param seed: makes the data; same seed, same bytes.
    :param station_count: stations of the synthetic network.
    :param object_mb: size of one object in MB (10^6 bytes), before compression.
    :param data_size_gb: total input in GB (10^9 bytes), before compression.
    :param invalid_share: share of invalid readings.
    :param compression: ``none`` or ``gzip``: how objects are stored.
    """
    from aqstudy.data.synthetic import SyntheticOpenAQ

    if data_size_gb is None or data_size_gb <= 0:
        raise DatasetError(f"data_size={data_size_gb} must be a positive number of GB for the synthetic dataset")
    if object_mb <= 0:
        raise DatasetError(f"dataset.object_mb={object_mb} must be positive")
    if compression not in ("none", "gzip"):
        raise DatasetError(f"dataset.compression={compression!r} is not known; choose none or gzip")
    object_bytes = int(object_mb * 1e6)
    count = max(1, round(data_size_gb * 1e9 / object_bytes))
    generator: SyntheticOpenAQ | None = None

    def loader(index: int) -> Callable[[], bytes]:
        def load() -> bytes:
            nonlocal generator
            generator = generator or SyntheticOpenAQ(
                seed=seed, station_count=station_count, object_bytes=object_bytes, invalid_share=invalid_share
            )
            data = generator.object_bytes_for(index)
            return gzip.compress(data, compresslevel=6, mtime=0) if compression == "gzip" else data

        return load

    suffix = ".ndjson.gz" if compression == "gzip" else ".ndjson"
    payload = {"format": SYNTHETIC_FORMAT, "seed": seed, "stations": station_count, "object_bytes": object_bytes,
               "objects": count, "invalid_share": invalid_share, "compression": compression}
    return Source(
        name="synthetic",
        fingerprint=fingerprint_of(payload),
        objects=[SourceObject(f"part-{i:05d}{suffix}", loader(i), object_bytes) for i in range(count)],
        description=f"synthetic OpenAQ, seed {seed}, {count} objects of {object_mb:g} MB",
    )


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


def source_from_config(dataset: dict, *, data_size_gb: float | None, progress: bool = True) -> Source:
    """The source named by the ``dataset`` config group."""
    name = dataset.get("name")
    if name == "synthetic":
        return synthetic_source(
            seed=int(dataset["seed"]), station_count=int(dataset["station_count"]),
            object_mb=float(dataset["object_mb"]), data_size_gb=data_size_gb,
            invalid_share=float(dataset.get("invalid_share", 0.01)),
            compression=dataset.get("compression", "none"),
        )
    if name == "local":
        return local_source(path=dataset.get("path"), data_size_gb=data_size_gb)
    if name == "openaq":
        from aqstudy.data.openaq_archive import openaq_source
        from aqstudy.study.paths import PROJECT_ROOT

        return openaq_source(
            start_date=dataset.get("start_date"), end_date=dataset.get("end_date"), bucket=dataset["bucket"],
            prefix=dataset["prefix"], region=dataset["region"], endpoint_url=dataset.get("endpoint_url"),
            unsigned=bool(dataset.get("unsigned", True)), object_mb=float(dataset["object_mb"]),
            data_size_gb=data_size_gb, compression=dataset.get("compression", "none"),
            cache_dir=dataset.get("cache_dir") or PROJECT_ROOT / ".data" / "openaq", progress=progress,
        )
    raise DatasetError(f"dataset {name!r} is not known; choose synthetic, local or openaq")

