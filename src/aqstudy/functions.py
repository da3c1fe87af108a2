"""What runs inside a Lithops function: the map over one staged object and the reduce over partials.

Kept apart from the host code so the function's imports stay small (Lithops ships this module to Lambda).
"""

from __future__ import annotations

from aqstudy import kernel


class CorruptObjectError(RuntimeError):
    """A staged object does not match its manifest entry; it is reported, never analysed."""


def map_object(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """Partial aggregate of one staged object (Lithops passes ``storage``; the rest is iterdata).

    :param bucket: the dataset's bucket.
    :param key: the object's key.
    :param size: its size in bytes according to the manifest.
    :param sha256: its checksum according to the manifest, checked when given (``verify=sha256``).
    """
    data = storage.get_object(bucket, key)
    if len(data) != size:
        raise CorruptObjectError(f"object {key} has {len(data)} bytes, the manifest says {size}; stage it again")
    if sha256 is not None:
        import hashlib

        if hashlib.sha256(data).hexdigest() != sha256:
            raise CorruptObjectError(f"object {key} does not match its manifest sha256; stage it again")
    partial = kernel.partial_from_bytes(data)
    return {
        "partial": kernel.to_ipc(partial.table),
        "input_bytes": len(data),
        "records": partial.records,
        "invalid_records": partial.invalid_records,
        "slow_path_records": partial.slow_path_records,
    }


def reduce_partials(results: list[dict]) -> dict:
    """Combine the maps' partials by key; pass their counts on in call order for ``calls.csv``."""
    combined = kernel.combine_ipc([result["partial"] for result in results])
    return {
        "combined": kernel.to_ipc(combined),
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
    kernel.warm()  # the map's imports and the compiled scanner, loaded once per environment
    imported = time.time() - started
    time.sleep(max(0.0, seconds - imported))
    return imported


def warm_reduce() -> None:
    """Run the reduce once on two one-row partials, in a process that Lithops then forks for the reduce job.

    The first ``group_by`` of a process imports ``pyarrow.acero`` (and through ``pyarrow.dataset``, pandas):
    ~0.2 s, measured, 5x the reduce's own work on 16 partials. Named in ``backend.preload_idle``.
    """
    import pyarrow as pa

    schema = kernel.partial_schema()
    row = pa.table({field.name: pa.array([None], field.type) for field in schema})
    kernel.combine_ipc([kernel.to_ipc(row), kernel.to_ipc(row)])
