"""What runs inside a Lithops function: the map over one staged object and the reduce over partials.

Kept apart from the host code so the function's imports stay small (Lithops ships this module to Lambda).
"""

from __future__ import annotations

from aqstudy import kernel


class CorruptObjectError(RuntimeError):
    """A staged object does not match its manifest entry; it is reported, never analysed."""


def map_object(bucket: str, key: str, size: int, storage) -> dict:
    """Partial aggregate of one staged object (Lithops passes ``storage``; the rest is iterdata).

    :param bucket: the dataset's bucket.
    :param key: the object's key.
    :param size: its size in bytes according to the manifest.
    """
    data = storage.get_object(bucket, key)
    if len(data) != size:
        raise CorruptObjectError(f"object {key} has {len(data)} bytes, the manifest says {size}; stage it again")
    partial = kernel.partial_from_bytes(data)
    return {
        "partial": kernel.to_ipc(partial.table),
        "input_bytes": len(data),
        "records": partial.records,
        "invalid_records": partial.invalid_records,
        "fast_path": partial.fast_path,
    }


def reduce_partials(results: list[dict]) -> dict:
    """Combine the maps' partials by key; pass their counts on in call order for ``calls.csv``."""
    combined = kernel.combine_ipc([result["partial"] for result in results])
    return {
        "combined": kernel.to_ipc(combined),
        "calls": [{name: value for name, value in result.items() if name != "partial"} for result in results],
    }
