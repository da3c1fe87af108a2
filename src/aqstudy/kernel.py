"""The map and reduce of both analyses: OpenAQ NDJSON in, partial aggregates out, combined by key.

Semantics (pinned by tests):

- A line that is blank is ignored. Every other line is a *record*.
- A record is a *valid reading* when the line is a JSON object whose ``value`` is a finite JSON number
  (not a string, not a boolean) that is ≥ 0. Every other record counts in ``invalid_records``.
- Group key: ``country, city, location, latitude, longitude, parameter, unit, day`` with ``day`` the first
  ten characters (``YYYY-MM-DD``) of ``date.utc``. A missing or null field is a null key part, never a
  reason to drop the reading. A key field of another JSON type is taken as its JSON text.
- The map emits ``sum``, ``count`` and ``max`` per key; the reduce adds sums and counts and takes the max,
  so the result does not depend on how the input was split.

Two paths compute this. The fast one is one DuckDB query per object with an explicit schema and strict
parsing. DuckDB rejects a whole file on a malformed line, so such an object falls back to the exact
line-by-line path (:func:`partial_from_lines`), which is also the independent reference the tests compare
against.
"""

from __future__ import annotations

import gzip
import io
import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aqstudy.schema import KEY_COLUMNS, PARTIAL_COLUMNS

if TYPE_CHECKING:
    import pyarrow as pa

GZIP_MAGIC = b"\x1f\x8b"

_COLUMNS = (
    "{'date': 'STRUCT(utc VARCHAR)', 'parameter': 'VARCHAR', 'value': 'JSON', 'unit': 'VARCHAR', "
    "'location': 'VARCHAR', 'city': 'VARCHAR', 'country': 'VARCHAR', "
    "'coordinates': 'STRUCT(latitude DOUBLE, longitude DOUBLE)'}"
)
# `value` is read as raw JSON so that "12.5" (a string) and true are told apart from numbers: DuckDB would
# cast both to DOUBLE silently.
_MAP_SQL = f"""
WITH readings AS (
    SELECT country, city, location,
           coordinates.latitude AS latitude, coordinates.longitude AS longitude,
           parameter, unit, left(date.utc, 10) AS day,
           CASE WHEN json_type(value) IN ('DOUBLE', 'BIGINT', 'UBIGINT') THEN value::DOUBLE END AS x
    FROM read_ndjson(:path, columns={_COLUMNS}, format='newline_delimited', compression=:compression)
)
SELECT country, city, location, latitude, longitude, parameter, unit, day,
       sum(x) FILTER (ok) AS sum, count(*) FILTER (ok) AS count, max(x) FILTER (ok) AS max,
       count(*) AS records
FROM (SELECT *, x >= 0 AND isfinite(x) AS ok FROM readings)
GROUP BY ALL
"""


_PARTIAL_SELECT = ", ".join(f'"{name}"' for name in PARTIAL_COLUMNS)


@dataclass
class Partial:
    """What one map call returns: the partial aggregate and the record counts behind it."""

    table: pa.Table
    records: int
    invalid_records: int
    fast_path: bool = True


_CONNECTION = None


def _connection():
    """One DuckDB connection per process: opening one and loading its JSON reader costs ~0.3 s."""
    global _CONNECTION
    if _CONNECTION is None:
        import duckdb

        _CONNECTION = duckdb.connect()
        # One thread: a Lithops call is one function; parallelism is Lithops' job, not the kernel's.
        _CONNECTION.execute("SET threads=1")
    return _CONNECTION


def is_gzip(data: bytes) -> bool:
    """Gzip is recognised by its magic bytes, not by the object's name."""
    return data[:2] == GZIP_MAGIC


def partial_from_file(path: str, *, connection=None) -> Partial:
    """Partial aggregate of one NDJSON file (plain or gzip), by DuckDB, else line by line.

    :param path: a local file holding one object of the dataset.
    :param connection: a DuckDB connection to reuse across calls (one is made when omitted).
    """
    import duckdb

    with open(path, "rb") as handle:
        compressed = is_gzip(handle.read(2))
    connection = connection or _connection()
    try:
        # Literals, not parameters: a prepared read_ndjson cannot push the projection into the reader.
        compression = "gzip" if compressed else "none"
        query = _MAP_SQL.replace(":path", _sql_string(path)).replace(":compression", _sql_string(compression))
        groups = connection.sql(query).to_arrow_table()  # noqa: F841 (read below by name, DuckDB replacement scan)
    except (duckdb.InvalidInputException, duckdb.ConversionException, duckdb.IOException):
        with open(path, "rb") as handle:
            return partial_from_bytes(handle.read(), use_duckdb=False)
    # Split groups from totals with DuckDB itself: pyarrow.compute costs ~0.5 s to import in a cold worker.
    valid = connection.sql(f"SELECT {_PARTIAL_SELECT} FROM groups WHERE count > 0").to_arrow_table()
    records, valid_records = connection.sql("SELECT sum(records), sum(count) FROM groups").fetchall()[0]
    return Partial(table=valid, records=int(records or 0), invalid_records=int((records or 0) - (valid_records or 0)))


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def partial_from_bytes(data: bytes, *, use_duckdb: bool = True) -> Partial:
    """Partial aggregate of one object's bytes (plain or gzip).

    :param data: the object as stored; gzip is detected by content.
    :param use_duckdb: take the DuckDB path (through a temporary file); ``False`` forces the exact
        line-by-line path.
    """
    if use_duckdb:
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".ndjson", dir=_scratch_dir()) as scratch:
            scratch.write(data)
            scratch.flush()
            return partial_from_file(scratch.name)
    return partial_from_lines(_decompressed_lines(data))


def _scratch_dir() -> str | None:
    import os

    # RAM-backed where the machine has it, so the detour through a file costs a memcpy, not a disk write.
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _decompressed_lines(data: bytes):
    if not is_gzip(data):
        return io.BytesIO(data)
    # A truncated gzip member yields what could be read; the cut-off line then counts as invalid.
    return io.BytesIO(_gunzip_tolerant(data))


def _gunzip_tolerant(data: bytes) -> bytes:
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            return decompressor.decompress(data)
        except zlib.error:
            return b""


def _text(value):
    """A key part: a JSON string as itself, null as null, any other JSON value as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    import orjson

    return orjson.dumps(value).decode()


def _number(value):
    """A coordinate as DuckDB's DOUBLE column reads it: numbers, booleans and numeric strings."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _coordinates(record):
    coordinates = record.get("coordinates")
    if not isinstance(coordinates, dict):
        return None, None
    return _number(coordinates.get("latitude")), _number(coordinates.get("longitude"))


def reading_key(record: dict) -> tuple:
    """The group key of one parsed reading, in :data:`KEY_COLUMNS` order."""
    date = record.get("date")
    utc = _text(date.get("utc")) if isinstance(date, dict) else None
    latitude, longitude = _coordinates(record)
    return (
        _text(record.get("country")),
        _text(record.get("city")),
        _text(record.get("location")),
        latitude,
        longitude,
        _text(record.get("parameter")),
        _text(record.get("unit")),
        utc[:10] if utc is not None else None,
    )


def valid_value(record) -> float | None:
    """The reading's value when it is a finite JSON number ≥ 0, else None (the reading is invalid)."""
    if not isinstance(record, dict):
        return None
    value = record.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return None
    return value


def partial_from_lines(lines) -> Partial:
    """The exact line-by-line map: the reference the DuckDB path must agree with.

    :param lines: an iterable of byte lines (a file object, a list of bytes).
    """
    import orjson

    groups: dict[tuple, list] = {}
    records = invalid = 0
    for line in lines:
        if not line.strip():
            continue
        records += 1
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            invalid += 1
            continue
        value = valid_value(record)
        if value is None:
            invalid += 1
            continue
        key = reading_key(record)
        group = groups.get(key)
        if group is None:
            groups[key] = [value, 1, value]
        else:
            group[0] += value
            group[1] += 1
            group[2] = max(group[2], value)
    return Partial(table=_groups_table(groups), records=records, invalid_records=invalid, fast_path=False)


def _groups_table(groups: dict[tuple, list]) -> pa.Table:
    import pyarrow as pa

    keys = list(groups)
    columns = {name: [key[i] for key in keys] for i, name in enumerate(KEY_COLUMNS)}
    aggregates = list(groups.values())
    columns["sum"] = [a[0] for a in aggregates]
    columns["count"] = [a[1] for a in aggregates]
    columns["max"] = [a[2] for a in aggregates]
    return pa.table(columns, schema=partial_schema())


def partial_schema() -> pa.Schema:
    """Arrow schema of a partial aggregate (the same from both paths, so partials concatenate)."""
    import pyarrow as pa

    strings = {"country", "city", "location", "parameter", "unit", "day"}
    fields = [pa.field(name, pa.string() if name in strings else pa.float64()) for name in KEY_COLUMNS]
    fields += [pa.field("sum", pa.float64()), pa.field("count", pa.int64()), pa.field("max", pa.float64())]
    return pa.schema(fields)


def combine(tables: list[pa.Table]) -> pa.Table:
    """The reduce: add sums and counts and take the max per key, over any number of partials."""
    import pyarrow as pa

    schema = partial_schema()
    tables = [table.cast(schema) for table in tables if table.num_rows]
    if not tables:
        return schema.empty_table()
    merged = pa.concat_tables(tables)
    combined = merged.group_by(list(KEY_COLUMNS), use_threads=False).aggregate(
        [("sum", "sum"), ("count", "sum"), ("max", "max")]
    )
    return combined.rename_columns([*KEY_COLUMNS, "sum", "count", "max"]).cast(schema)


def to_ipc(table: pa.Table) -> bytes:
    """A partial as compressed Arrow IPC bytes: what a map call sends back (~1% of its input)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(data: bytes) -> pa.Table:
    """Inverse of :func:`to_ipc`."""
    import pyarrow as pa

    return pa.ipc.open_stream(data).read_all()
