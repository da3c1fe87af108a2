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


#: Significant digits a float keeps before the checksum rounds it: far above what summation order can move.
_NOISE_FREE_DIGITS = 12


def canonical_lines(result: pa.Table) -> list[str]:
    """One text line per row, fields rounded to :data:`CHECKSUM_DECIMALS`: what the checksum hashes.

    Rows are sorted by key here too, so a table in any order gives the same lines.
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
    lines = pc.binary_join_element_wise(*columns, "\t", null_handling="replace", null_replacement="")
    lines = lines.cast(pa.large_string())  # 64-bit offsets: any number of lines fits one array
    return lines.take(pc.sort_indices(lines))


def _text_column(column: pa.ChunkedArray) -> pa.Array:
    """A column as the checksum writes it: floats by :func:`_float_cell`, other values as ``str()`` does."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks()
    if pa.types.is_floating(column.type):
        # A result repeats its coordinates on every row of a station: format each distinct value once.
        encoded = column.cast(pa.float64()).dictionary_encode()
        texts = pa.array(_float_cells(encoded.dictionary.to_pylist()), pa.string())
        return texts.take(encoded.indices)
    if pa.types.is_integer(column.type) or pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.cast(column, pa.string())  # Arrow writes integers as str() does; nulls stay null
    return pa.array([None if value is None else _cell(value) for value in column.to_pylist()], pa.string())


def _cell(value) -> str:
    return _float_cell(value) if isinstance(value, float) else str(value)


def _float_cell(value: float) -> str:
    return _float_cells([value])[0]


#: Format specs of :func:`_float_cells`, built once: a result formats ~30,000 distinct values per 400 MB.
_NOISE_FREE_SPEC = f".{_NOISE_FREE_DIGITS}g"
_FIXED_SPEC = f".{CHECKSUM_DECIMALS}f"


def _float_cells(values: list[float]) -> list[str]:
    # Summation order (partitioning, engine) moves a mean by ~1e-15 relative, which flips the rounding
    # whenever the exact mean is a tie, and a mean of short decimals often is (0.0144125 = 0.3459/24).
    # Rounding to 12 significant digits first absorbs that noise, so a tie rounds the same way on every
    # path. Formatting with .6f rounds as round(value, 6) does; "-0.000000" is written as zero.
    texts = [format(float(format(value, _NOISE_FREE_SPEC)), _FIXED_SPEC) for value in values]
    return [text[1:] if text[0] == "-" and not text.strip("-0.") else text for text in texts]


def result_sha256(result: pa.Table) -> str:
    """sha256 of the canonical result: equal results give equal checksums whatever the partitioning.

    The hashed text is the header, then each line of :func:`canonical_lines` after a line break. Arrow writes
    that text (a break joined before each line) and its bytes are hashed in place, with no Python string.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    digest = hashlib.sha256()
    digest.update("\t".join(RESULT_COLUMNS).encode())
    if result.num_rows:
        text = pc.binary_join_element_wise(pa.scalar("", pa.large_string()), _sorted_lines(result),
                                          pa.scalar("\n", pa.large_string()))  # "\n" + line, line after line
        _, offsets, data = text.buffers()
        offsets = memoryview(offsets).cast("q")  # int64: where each line starts in data
        digest.update(memoryview(data)[offsets[text.offset]:offsets[text.offset + len(text)]])
    return digest.hexdigest()
