"""Import real OpenAQ archive files by date range and re-partition them into ~25 MB NDJSON objects.

The public archive (bucket ``openaq-fetches`` in us-east-1, read with unsigned requests) keeps one folder
per day, ``realtime-gzipped/YYYY-MM-DD/``, of gzip NDJSON files named ``<epoch>.ndjson``. Any bucket or
S3-compatible server with that layout works (a private copy, a local test server).

The files are small and uneven, so the import cuts their lines into objects of ``object_mb`` MB, as the
original study did (``df0``, ``df1``, …). The result is cached on disk under the source's fingerprint (the
listing's keys, sizes and ETags and the import settings), so staging into a second region's bucket, or a
second run, does not download the archive again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Optional

from omegaconf import MISSING

from aqstudy.config.schema import DatasetConfig
from aqstudy.data.source import Dataset, DatasetError, Source, SourceObject

# ruff: noqa: UP045  (OmegaConf reads Optional[...] at runtime)

log = logging.getLogger(__name__)

#: Bump when the import's output changes for the same listing, so old caches are not reused.
IMPORT_FORMAT = 1
PUBLIC_BUCKET = "openaq-fetches"
PUBLIC_REGION = "us-east-1"
PARTS_FILE = "parts.json"


def day_range(start_date: str, end_date: str) -> list[str]:
    """Every day from ``start_date`` to ``end_date`` (both included) as ``YYYY-MM-DD``."""
    try:
        start, end = date.fromisoformat(str(start_date)), date.fromisoformat(str(end_date))
    except ValueError:
        raise DatasetError(f"dataset.start_date={start_date!r} / dataset.end_date={end_date!r} are not dates; "
                           "pass YYYY-MM-DD, e.g. dataset.start_date=2020-06-01 dataset.end_date=2020-06-07") from None
    if end < start:
        raise DatasetError(f"dataset.end_date={end_date} is before dataset.start_date={start_date}; swap them")
    return [(start + timedelta(days=offset)).isoformat() for offset in range((end - start).days + 1)]


def list_archive(client, *, bucket: str, prefix: str, days: Iterable[str]) -> list[dict]:
    """The archive files of ``days``: key, size in bytes and ETag, in key order (days ascending)."""
    files = []
    paginator = client.get_paginator("list_objects_v2")
    for day in days:
        for page in paginator.paginate(Bucket=bucket, Prefix=f"{prefix.strip('/')}/{day}/"):
            for item in page.get("Contents", []):
                if not item["Key"].endswith("/"):
                    files.append({"key": item["Key"], "size": int(item["Size"]), "etag": item.get("ETag", "")})
    return files


def archive_lines(data: bytes) -> tuple[list[bytes], bool]:
    """The non-empty lines of one archive file (gzip or plain), each ending in a newline.

    :return: the lines and whether the gzip stream was cut short (what could be read is kept).
    """
    truncated = False
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error):
            data = zlib.decompressobj(zlib.MAX_WBITS | 16).decompress(data)
            truncated = True
    return [line + b"\n" for line in data.split(b"\n") if line.strip()], truncated


def repartition(lines: Iterable[bytes], *, object_bytes: int, limit_bytes: float | None = None) -> Iterator[bytes]:
    """Pack lines into objects of at most ``object_bytes`` (a longer line is an object of its own).

    :param lines: NDJSON lines, each ending in a newline.
    :param object_bytes: the target object size.
    :param limit_bytes: stop after the object that brings the total to this many bytes. Objects are cut the
        same way whatever the limit, so the objects of a smaller limit are the first objects of a larger one.
    """
    buffer: list[bytes] = []
    size = total = 0
    for line in lines:
        if buffer and size + len(line) > object_bytes:
            yield b"".join(buffer)
            total += size
            buffer, size = [], 0
            if limit_bytes is not None and total >= limit_bytes:
                return
        buffer.append(line)
        size += len(line)
    if buffer:
        yield b"".join(buffer)


def take_parts(parts: list[dict], *, limit_bytes: float | None) -> list[dict]:
    """The first parts whose lines add up to ``limit_bytes`` (all of them when None)."""
    if limit_bytes is None:
        return list(parts)
    taken, total = [], 0
    for part in parts:
        if total >= limit_bytes:
            break
        taken.append(part)
        total += part["lines_bytes"]
    return taken


def _fingerprint(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def openaq_source(*, start_date: str, end_date: str, bucket: str = PUBLIC_BUCKET, prefix: str = "realtime-gzipped",
                  region: str = PUBLIC_REGION, endpoint_url: str | None = None, unsigned: bool = True,
                  object_mb: float = 25, data_size_gb: float | None = None, compression: str = "none",
                  cache_dir: str | Path, progress: bool = True, client=None) -> Source:
    """OpenAQ archive files of a date range, re-partitioned into objects of ``object_mb`` MB.

    :param start_date: first day (YYYY-MM-DD).
    :param end_date: last day, included.
    :param bucket: the archive's bucket (the public one by default).
    :param prefix: the folder holding one sub-folder per day.
    :param region: the bucket's region.
    :param endpoint_url: an S3-compatible endpoint instead of AWS.
    :param unsigned: anonymous requests (the public archive needs no account).
    :param object_mb: size of one object in MB (10^6 bytes), before compression.
    :param data_size_gb: import only the first this many GB (10^9 bytes) of lines; None = the whole range.
    :param compression: ``none`` or ``gzip``: how the objects are stored.
    :param cache_dir: where imported objects are kept between runs.
    :param client: a boto3 S3 client (made from the arguments above when omitted).
    """
    from aqstudy.storages.s3_client import s3_client

    if compression not in ("none", "gzip"):
        raise DatasetError(f"dataset.compression={compression!r} is not known; choose none or gzip")
    if object_mb <= 0:
        raise DatasetError(f"dataset.object_mb={object_mb} must be positive")
    days = day_range(start_date, end_date)
    client = client or s3_client(region=region, endpoint_url=endpoint_url, unsigned=unsigned)
    try:
        files = list_archive(client, bucket=bucket, prefix=prefix, days=days)
    except Exception as error:  # botocore's errors name the HTTP problem; ours names the setting
        raise DatasetError(f"cannot list s3://{bucket}/{prefix}/ ({type(error).__name__}: {error}); check "
                           "dataset.bucket, dataset.prefix and dataset.endpoint_url") from None
    if not files:
        raise DatasetError(f"s3://{bucket}/{prefix}/ has no files from {days[0]} to {days[-1]}; pass dates the "
                           f"archive covers (see `aws s3 ls --no-sign-request s3://{bucket}/{prefix}/`)")
    object_bytes = int(object_mb * 1e6)
    limit_bytes = data_size_gb * 1e9 if data_size_gb else None
    import_fingerprint = _fingerprint({
        "format": IMPORT_FORMAT, "bucket": bucket, "prefix": prefix, "days": [days[0], days[-1]],
        "files": [[f["key"], f["size"], f["etag"]] for f in files], "object_bytes": object_bytes,
        "compression": compression,
    })
    folder = Path(cache_dir).expanduser() / import_fingerprint[:16]
    index = _cached_index(folder)
    if not (index and (index["complete"] or limit_bytes is not None and index["lines_bytes"] >= limit_bytes)):
        index = _import(client, bucket=bucket, files=files, folder=folder, object_bytes=object_bytes,
                        limit_bytes=limit_bytes, compression=compression, progress=progress)
    parts = take_parts(index["parts"], limit_bytes=limit_bytes)
    return Source(
        name="openaq",
        fingerprint=_fingerprint({"import": import_fingerprint, "parts": [[p["name"], p["size"]] for p in parts]}),
        objects=[SourceObject(part["name"], (folder / part["name"]).read_bytes, part["size"]) for part in parts],
        description=(f"OpenAQ s3://{bucket}/{prefix} {days[0]}..{days[-1]}: {len(parts)} objects of "
                     f"~{object_mb:g} MB from {len(files)} archive files"),
    )


def _cached_index(folder: Path) -> dict | None:
    """The index of an earlier import in ``folder`` when all its parts are still there."""
    path = folder / PARTS_FILE
    if not path.is_file():
        return None
    index = json.loads(path.read_text())
    parts = index["parts"]
    if all((folder / p["name"]).is_file() and (folder / p["name"]).stat().st_size == p["size"] for p in parts):
        log.info("reusing the OpenAQ import in %s (%d objects)", folder, len(parts))
        return index
    return None


def _import(client, *, bucket: str, files: list[dict], folder: Path, object_bytes: int, limit_bytes: float | None,
            compression: str, progress: bool) -> dict:
    """Download the files, cut their lines into objects, write them to ``folder``; the index goes last.

    :return: the index: the parts, their total of lines in bytes and whether the whole listing went in.
    """
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    truncated: list[str] = []
    read_bytes = 0
    bar = tqdm(total=sum(f["size"] for f in files), unit="B", unit_scale=True, desc="importing OpenAQ",
               disable=not progress, file=sys.stderr, leave=False)

    def lines() -> Iterator[bytes]:
        nonlocal read_bytes
        for file in files:
            try:
                data = client.get_object(Bucket=bucket, Key=file["key"])["Body"].read()
            except Exception as error:  # name the file and the settings, not botocore's internals
                raise DatasetError(f"cannot read s3://{bucket}/{file['key']} ({type(error).__name__}: {error}); "
                                   "a private copy needs dataset.unsigned=false and credentials") from None
            bar.update(len(data))
            file_lines, cut = archive_lines(data)
            if cut:
                truncated.append(file["key"])
            for line in file_lines:
                read_bytes += len(line)
                yield line

    suffix = ".ndjson.gz" if compression == "gzip" else ".ndjson"
    parts: list[dict] = []
    reader = lines()
    with bar:
        for index, chunk in enumerate(repartition(reader, object_bytes=object_bytes, limit_bytes=limit_bytes)):
            name = f"part-{index:05d}{suffix}"
            data = gzip.compress(chunk, compresslevel=6, mtime=0) if compression == "gzip" else chunk
            (folder / name).write_bytes(data)
            parts.append({"name": name, "size": len(data), "lines_bytes": len(chunk)})
    if truncated:
        log.warning("%d archive files were cut short; their readable lines were kept: %s", len(truncated),
                    ", ".join(truncated[:5]))
    lines_bytes = sum(p["lines_bytes"] for p in parts)
    # Complete when no line is left, not even the one that made the last object full.
    complete = next(reader, None) is None and read_bytes == lines_bytes
    index = {"parts": parts, "lines_bytes": lines_bytes, "complete": complete,
             "truncated": truncated}
    (folder / PARTS_FILE).write_text(json.dumps(index, indent=1))
    log.info("imported %s OpenAQ files into %d objects (%.1f MB) in %s", "all" if complete else "the first",
             len(parts), index["lines_bytes"] / 1e6, folder)
    return index


@dataclass
class OpenaqDatasetConfig(DatasetConfig):
    """``conf/dataset/openaq.yaml``."""

    bucket: str = MISSING
    prefix: str = MISSING
    region: str = MISSING
    endpoint_url: Optional[str] = MISSING
    unsigned: bool = MISSING
    start_date: str = MISSING
    end_date: str = MISSING
    object_mb: float = MISSING
    compression: str = MISSING
    cache_dir: Optional[str] = MISSING


class OpenaqDataset(Dataset):
    name = "openaq"

    def source(self, dataset: Any, *, data_size_gb: float | None, progress: bool) -> Source:
        from aqstudy.study.paths import PROJECT_ROOT

        return openaq_source(
            start_date=dataset.start_date, end_date=dataset.end_date, bucket=dataset.bucket, prefix=dataset.prefix,
            region=dataset.region, endpoint_url=dataset.endpoint_url, unsigned=dataset.unsigned,
            object_mb=float(dataset.object_mb), data_size_gb=data_size_gb, compression=dataset.compression,
            cache_dir=dataset.cache_dir or PROJECT_ROOT / ".data" / "openaq", progress=progress,
        )

    def check(self, dataset: Any) -> None:
        self.check_objects(dataset)

    def planned_sizes(self, dataset: Any, *, data_size_gb: float | None) -> list[int]:
        """Lines cut into ``object_mb`` objects up to ``data_size``: full objects and the rest."""
        object_bytes = self.object_bytes(dataset, data_size_gb=data_size_gb)
        full, rest = divmod(int(data_size_gb * 1e9), object_bytes)
        return [object_bytes] * full + ([rest] if rest else [])


SCHEMA = OpenaqDatasetConfig
DATASET = OpenaqDataset()
