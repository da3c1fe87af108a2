"""What runs inside a Lithops function: the map over one staged object and the reduce over partials.

Kept apart from the host code so the function's imports stay small (Lithops ships this module to Lambda).
"""

from __future__ import annotations

from aqstudy.kernel import aggregate as kernel


class CorruptObjectError(RuntimeError):
    """A staged object does not match its manifest entry; it is reported, never analysed."""


def map_object(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """Partial aggregate of one staged object (Lithops passes ``storage``; the rest is iterdata).

    The object is read in blocks and scanned as it arrives (:func:`aqstudy.kernel.aggregate.scan_reader`),
    never held whole: on S3 the download overlaps the scan. Its size (and sha256, when given) are checked on
    the bytes read; a mismatch fails the call, so its partial is never returned.

    :param bucket: the dataset's bucket.
    :param key: the object's key.
    :param size: its size in bytes according to the manifest.
    :param sha256: its checksum according to the manifest, checked when given (``verify=sha256``).
    """
    reader = _Checked(_object_reader(storage, bucket, key), sha256=sha256 is not None)
    scan = kernel.scan_reader(reader)
    if reader.bytes_read != size:
        raise CorruptObjectError(f"object {key} has {reader.bytes_read} bytes, the manifest says {size}; "
                                 "stage it again")
    if sha256 is not None and reader.sha256.hexdigest() != sha256:
        raise CorruptObjectError(f"object {key} does not match its manifest sha256; stage it again")
    return {
        "partial": scan.to_bytes(),
        "input_bytes": reader.bytes_read,
        "records": scan.records,
        "invalid_records": scan.invalid_records,
        "slow_path_records": scan.slow_path_records,
    }


def _object_reader(storage, bucket: str, key: str):
    """The object as a stream. Lithops' localhost storage reads a whole object into memory even for a stream,
    so there the object is read in ranges (a file seek each); elsewhere (S3) it is the response body."""
    if getattr(storage, "backend", None) == "localhost":
        return _RangedReader(storage, bucket, key)
    return storage.get_object(bucket, key, stream=True)


class _RangedReader:
    """``readinto`` over ranged ``get_object`` calls, until a range comes back empty (the object's end)."""

    def __init__(self, storage, bucket: str, key: str):
        self.storage, self.bucket, self.key, self.offset = storage, bucket, key, 0

    def readinto(self, view: memoryview) -> int:
        chunk = self.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def read(self, size: int) -> bytes:
        byte_range = f"bytes={self.offset}-{self.offset + size - 1}"
        chunk = self.storage.get_object(self.bucket, self.key, extra_get_args={"Range": byte_range})
        self.offset += len(chunk)
        return chunk


class _Checked:
    """A stream that counts (and, asked to, hashes) the bytes read through it."""

    def __init__(self, stream, *, sha256: bool):
        import hashlib

        self.stream, self.bytes_read, self._read_into = stream, 0, kernel.read_into_function(stream)
        self.sha256 = hashlib.sha256() if sha256 else None

    def readinto(self, view: memoryview) -> int:
        got = self._read_into(view)
        self._count(view[:got])
        return got

    def read(self, size: int) -> bytes:
        chunk = self.stream.read(size)
        self._count(chunk)
        return chunk

    def _count(self, data) -> None:
        self.bytes_read += len(data)
        if self.sha256 is not None:
            self.sha256.update(data)


def reduce_partials(results: list[dict]) -> dict:
    """Merge the maps' partials by key into one partial; pass their counts on in call order for ``calls.csv``."""
    return {
        "partial": kernel.merge_partials([result["partial"] for result in results]),
        "calls": [{name: value for name, value in result.items() if name != "partial"} for result in results],
    }


def warm_call(seconds: float) -> float:
    """A throwaway call before measuring: loads what a map needs and keeps its function busy for ``seconds``.

    Busy calls overlap, so each lands in its own execution environment and leaves it warm (the original study
    warmed its Lambdas the same way, with a full map over the data).

    :param seconds: how long the call lasts, including the imports.
    :return: seconds the imports took.
    """
    import time

    started = time.time()
    kernel.warm()  # the map's imports (the compiled scanner), loaded once per environment
    imported = time.time() - started
    time.sleep(max(0.0, seconds - imported))
    return imported
