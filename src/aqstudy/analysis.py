"""From combined partial aggregates to the study's result table, and the result's checksum."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from aqstudy.kernel.columns import ANALYSES, CHECKSUM_DECIMALS, KEY_COLUMNS, RESULT_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa


def finalize(combined: pa.Table, *, analysis: str) -> pa.Table:
    """The result of ``analysis`` (``day_average`` or ``day_max``) as :data:`RESULT_COLUMNS`, sorted by key.

    :param combined: the reduce's output (key, sum, count, max).
    :param analysis: ``day_average`` takes the mean of the valid readings, ``day_max`` their maximum.
    """
    import pyarrow.compute as pc

    if analysis not in ANALYSES:
        raise ValueError(f"analysis {analysis!r} is not known; choose one of {', '.join(ANALYSES)}")
    value = pc.divide(combined["sum"], combined["count"]) if analysis == "day_average" else combined["max"]
    table = combined.select(list(KEY_COLUMNS)).append_column("value", value)
    table = table.append_column("count", combined["count"])
    order = [(name, "ascending", "at_start") for name in KEY_COLUMNS]
    return table.sort_by(order).select(list(RESULT_COLUMNS))


#: Version of the canonical encoding that :func:`result_sha256` hashes (docs/analysis.md), logged as the tag
#: :data:`DIGEST_VERSION_TAG` beside every digest. Digests of different versions are never compared.
RESULT_SHA256_VERSION = "2"
#: The version of a digest logged without a version tag: written before nulls and separators were told apart.
UNTAGGED_VERSION = "1"
#: Tags of a run: its result's digest and the version of the encoding it hashes.
DIGEST_TAG, DIGEST_VERSION_TAG = "result_sha256", "result_sha256_version"


def digest_version(tags: dict[str, str]) -> str | None:
    """The encoding version of the digest in a run's tags (None when the run has no digest)."""
    return tags.get(DIGEST_VERSION_TAG, UNTAGGED_VERSION) if tags.get(DIGEST_TAG) else None

#: Significant digits a float keeps before the checksum rounds it: far above what summation order can move.
_NOISE_FREE_DIGITS = 12

#: How a missing value is written; no string is written this way, since its backslash would be doubled.
NULL_TEXT = "\\N"

#: What a string's backslash, tab, line feed and carriage return become (PostgreSQL's COPY text format):
#: a field then never holds the separators, so every line splits back into the fields it was made of.
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def canonical_lines(result: pa.Table) -> list[str]:
    """One text line per row, as the checksum hashes it (docs/analysis.md, "The result checksum").

    Fields in :data:`RESULT_COLUMNS` order, tab-separated; null as ``\\N``; strings escaped (:data:`_ESCAPES`);
    floats rounded to 12 significant digits, then to :data:`CHECKSUM_DECIMALS` places. Rows are sorted here
    too, so a table in any order gives the same lines.
    """
    return _sorted_lines(result).to_pylist() if result.num_rows else []


def _sorted_lines(result: pa.Table) -> pa.Array:
    """:func:`canonical_lines` as an Arrow array, built and sorted column by column in Arrow.

    A study's result has ~36,000 rows per 400 MB, and converting every cell to a Python object cost ~0.25 s of
    a ~1 s run (measured); now only each float column's distinct values go through Python. Arrow sorts the
    UTF-8 bytes, which orders the lines as Python orders their code points.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = [_text_column(result.column(name)) for name in RESULT_COLUMNS]
    lines = pc.binary_join_element_wise(*columns, "\t")
    lines = lines.cast(pa.large_string())  # 64-bit offsets: any number of lines fits one array
    return lines.take(pc.sort_indices(lines))


def _text_column(column: pa.ChunkedArray) -> pa.Array:
    """A column as the checksum writes its fields: never null, never holding a tab or a line break."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_floating(column.type):
        # A result repeats its coordinates on every row of a station: format each distinct value once.
        encoded = column.cast(pa.float64()).dictionary_encode()
        texts = pa.array(_float_cells(encoded.dictionary.to_pylist()), pa.string())
        return texts.take(encoded.indices).fill_null(NULL_TEXT)
    if pa.types.is_integer(column.type):
        return pc.cast(column, pa.string()).fill_null(NULL_TEXT)  # Arrow writes integers as str() does
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        text = pc.cast(column, pa.string())
        if _may_need_escaping(text):  # rarely: four passes saved (~9 ms on 36,000 rows, measured)
            for old, new in _ESCAPES:
                text = pc.replace_substring(text, old, new)
        return text.fill_null(NULL_TEXT)
    return pa.array([NULL_TEXT if value is None else _escape(str(value)) for value in column.to_pylist()],
                    pa.string())


def _may_need_escaping(text: pa.Array) -> bool:
    """Whether a string array's bytes hold a character :data:`_ESCAPES` rewrites (its whole data buffer is
    searched, a sliced array's neighbours too: a false alarm only costs the passes)."""
    data = text.buffers()[2]
    if data is None:
        return False
    data = data.to_pybytes()
    return any(old.encode() in data for old, _ in _ESCAPES)


def _escape(text: str) -> str:
    for old, new in _ESCAPES:
        text = text.replace(old, new)
    return text


#: Format specs of :func:`_float_cells`, built once: a result formats ~30,000 distinct values per 400 MB.
_NOISE_FREE_SPEC = f".{_NOISE_FREE_DIGITS}g"
_FIXED_SPEC = f".{CHECKSUM_DECIMALS}f"


def _float_cells(values: list[float | None]) -> list[str | None]:
    # Summation order (partitioning, engine) moves a mean by ~1e-15 relative, which flips the rounding
    # whenever the exact mean is a tie, and a mean of short decimals often is (0.0144125 = 0.3459/24).
    # Rounding to 12 significant digits first absorbs that noise, so a tie rounds the same way on every
    # path. Formatting with .6f rounds as round(value, 6) does; "-0.000000" is written as zero.
    texts = [None if value is None else format(float(format(value, _NOISE_FREE_SPEC)), _FIXED_SPEC)
             for value in values]
    return [text[1:] if text and text[0] == "-" and not text.strip("-0.") else text for text in texts]


def result_sha256(result: pa.Table) -> str:
    """sha256 of the canonical result: equal results give equal checksums whatever the partitioning, and
    results that differ after rounding give different ones (version :data:`RESULT_SHA256_VERSION`).

    The hashed text is the header (the version, then the column names, tab-separated), then each line of
    :func:`canonical_lines` after a line break. Arrow writes that text (a break joined before each line) and
    its bytes are hashed in place, with no Python string.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    digest.update(canonical_header().encode())
    if result.num_rows:
        text = pc.binary_join_element_wise(pa.scalar("", pa.large_string()), _sorted_lines(result),
                                          pa.scalar("\n", pa.large_string()))  # "\n" + line, line after line
        _, offsets, data = text.buffers()
        offsets = memoryview(offsets).cast("q")  # int64: where each line starts in data
        digest.update(memoryview(data)[offsets[text.offset]:offsets[text.offset + len(text)]])
    return digest.hexdigest()


def canonical_header() -> str:
    """The first line the checksum hashes: ``v2`` and the column names, tab-separated (no line break)."""
    return "\t".join((f"v{RESULT_SHA256_VERSION}", *RESULT_COLUMNS))
