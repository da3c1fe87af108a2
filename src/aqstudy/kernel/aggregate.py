"""The map and reduce of both analyses: OpenAQ NDJSON in, partial aggregates out, combined by key.

Semantics (pinned by tests):

- A line that is blank is ignored. Every other line is a *record*.
- A record is a *valid reading* when the line is a JSON object whose ``value`` is a finite JSON number
  (not a string, not a boolean) that is ≥ 0. Every other record counts in ``invalid_records``.
- JSON is read as DuckDB's reader (yyjson) reads it: RFC 8259 plus NaN/Infinity literals in any case and
  trailing commas; a number beyond double range is ±infinity. So ``"value": NaN`` or ``1e400`` is an
  invalid reading, and a line with ``NaN`` in a field the analysis does not use is still a reading.
- Group key: ``country, city, location, latitude, longitude, parameter, unit, day`` with ``day`` the first
  ten characters (``YYYY-MM-DD``) of ``date.utc``. A missing or null field is a null key part, never a
  reason to drop the reading. A key field of another JSON type is taken as its JSON text as DuckDB writes
  it: a number as Python's ``str()`` of it, except integers beyond 64 bits and non-finite numbers, which
  keep their token text. (Arrays and objects as key parts: compact JSON; floats ≥ 1e16 inside them are
  written differently by DuckDB and the line reader, the one case known to differ.) Coordinates are numbers; a string
  holding a number is read as that number, as DuckDB casts it.
- The map emits ``sum``, ``count`` and ``max`` per key; the reduce adds sums and counts and takes the max,
  so the result does not depend on how the input was split.

Two paths compute this. The fast one is :mod:`aqstudy.kernel.scanner`: one compiled pass (C, built at set-up) over the
object's bytes that parses, validates and aggregates every strict-JSON line of the usual shape (~1 GB/s per
core) and hands any other line back to the line-by-line reader (:func:`scan_lines`: orjson, with a lenient
second chance for what DuckDB also accepts), whose groups join the scanner's. That reader defines the
semantics line by line and is the independent reference the tests compare against; ``benchmarks/kernel.py``
checks that the result equals a DuckDB query with an explicit schema.

The map side imports neither numpy nor pyarrow: what a map call returns is the scanner's own encoding of its
groups, zlib-compressed (:meth:`Scan.to_bytes`, ~0.7% of the input). A function is then ready to scan ~20 ms
after its interpreter starts (``benchmarks/cold_start.py``). The reduce merges the partials in the same
compiled table (:func:`merge_partials`) and imports no more than a map; the host wraps its output in Arrow
arrays without copying (:func:`read_partial`).
"""

from __future__ import annotations

import io
import math
import zlib

from aqstudy.kernel.columns import KEY_COLUMNS, PARTIAL_COLUMNS

# What a map call imports is its cold start, so this module imports only what every call needs (the line
# reader's orjson, json and re, and gzip, when they are used). Not `typing` and `dataclasses` either: with
# `inspect` and `ast` behind them they cost ~40 ms of a fresh interpreter here, more than the scanner's import
# and a 25 MB scan together.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import pyarrow as pa

    from aqstudy.kernel.scanner import Groups

GZIP_MAGIC = b"\x1f\x8b"
#: zlib level of a map's partial: level 1 keeps it within ~7% of level 6's size at under half its time
#: (measured on a 25 MB object's partial: 170 KB in ~5 ms against 147 KB in ~14 ms).
PARTIAL_ZLIB_LEVEL = 1


class Partial:
    """A partial aggregate as an Arrow table and the record counts behind it (tests, benchmarks, the host)."""

    __slots__ = ("table", "records", "invalid_records", "slow_path_records")

    def __init__(self, table: pa.Table, records: int, invalid_records: int, slow_path_records: int = 0):
        self.table, self.records, self.invalid_records = table, records, invalid_records
        #: Records read by the line-by-line reader: the lines the scanner handed back, or all of them.
        self.slow_path_records = slow_path_records


class Scan:
    """One object's groups as the map leaves them, before any Arrow: what a map call encodes and returns."""

    __slots__ = ("groups", "records", "invalid_records", "slow_path_records")

    def __init__(self, groups: Groups, records: int, invalid_records: int, slow_path_records: int = 0):
        self.groups, self.records, self.invalid_records = groups, records, invalid_records
        #: Records read by the line-by-line reader: the lines the scanner handed back, or all of them.
        self.slow_path_records = slow_path_records

    def to_bytes(self) -> bytes:
        """The partial as a map call returns it: the groups' encoding (:meth:`aqstudy.kernel.scanner.Groups.encode`),
        zlib-compressed. The reduce reads it with :func:`read_partial`."""
        return zlib.compress(self.groups.encode(), PARTIAL_ZLIB_LEVEL)

    def partial(self) -> Partial:
        """The same groups as an Arrow table (plain strings), for whoever holds pyarrow."""
        return Partial(table=_decoded(read_partial(self.to_bytes())), records=self.records,
                       invalid_records=self.invalid_records, slow_path_records=self.slow_path_records)


def warm() -> None:
    """Import what a map call needs and run it once on one line, in a process that serves calls later.

    Named in ``backend.preload`` (``aqstudy.kernel:warm``); see :mod:`aqstudy.backends.localhost.local_runtime`.
    The map needs only the compiled scanner and zlib (~1 ms to import); the line reader's orjson, json and re
    are imported when a line is handed back to it.
    """
    scan_bytes(b'{"value": 1, "city": "c"}\n').to_bytes()
    scan_reader(io.BytesIO(b'{"value": 1, "city": "c"}\n'))


def is_gzip(data: bytes) -> bool:
    """Gzip is recognised by its magic bytes, not by the object's name."""
    return data[:2] == GZIP_MAGIC


#: Bytes read and scanned at a time: small enough to stay in the core's caches, large enough that the
#: scanner's per-block call (~20 µs) does not count.
BLOCK_BYTES = 1 << 20


def scan_reader(reader, *, block_bytes: int = BLOCK_BYTES) -> Scan:
    """The groups of one object read in blocks from ``reader``, so that it is never whole in memory.

    A fresh 25 MB buffer per object costs its page faults (2-20 ms measured here, as much as the scan's
    reading of it) and 25 MB of a function's memory; a 1 MB block, reused, costs neither. A gzip object
    (recognised by its first bytes) is decompressed whole instead (:func:`scan_bytes`).

    :param reader: a binary stream with ``readinto`` (a file, ``io.BytesIO``) or ``read(n)`` (boto3's
        ``StreamingBody``); read to its end.
    :param block_bytes: the block size; a line longer than a block grows the block.
    """
    from aqstudy.kernel.scanner import Groups

    read_into = read_into_function(reader)
    buf = bytearray(max(block_bytes, 16))
    view, filled = memoryview(buf), 0
    while filled < 2:  # enough to tell gzip by its magic bytes
        got = read_into(view[filled:])
        if not got:
            break
        filled += got
    if is_gzip(view[:filled]):
        rest = bytearray(view[:filled])
        while chunk := reader.read(block_bytes):
            rest += chunk
        return scan_bytes(bytes(rest))
    groups, handed_back, final = Groups(), [], False
    while True:
        if not final and filled < len(buf):
            got = read_into(view[filled:])
            final = not got
            filled += got
            if not final and filled < len(buf):
                continue  # fill the block before scanning it
        consumed, back = groups.scan(view, filled, final)
        handed_back += [bytes(view[start:end]) for start, end in back]
        if final:
            break
        if consumed == 0:  # a line longer than the block
            view.release()
            buf.extend(bytes(len(buf)))
            view = memoryview(buf)
            continue
        view[: filled - consumed] = view[consumed:filled]
        filled -= consumed
    return _with_handed_back(groups, handed_back)


def read_into_function(reader):
    """``reader.readinto``, or the same made of ``reader.read(n)`` for streams without it (boto3's body)."""
    if hasattr(reader, "readinto"):
        return reader.readinto

    def read_into(view: memoryview) -> int:
        chunk = reader.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    return read_into


def scan_bytes(data: bytes, *, use_scanner: bool = True) -> Scan:
    """The groups of one object's bytes (plain or gzip).

    :param data: the object as stored; gzip is detected by content.
    :param use_scanner: take the compiled scanner (:mod:`aqstudy.kernel.scanner`), which hands the lines it does
        not decide to the line-by-line reader; ``False`` reads every line with the line-by-line reader.
    """
    from aqstudy.kernel.scanner import Groups

    if is_gzip(data):
        data = _gunzip_tolerant(data)
    if not use_scanner:
        return scan_lines(io.BytesIO(data))
    groups = Groups()
    _, back = groups.scan(data, len(data), True)
    view = memoryview(data)
    return _with_handed_back(groups, [bytes(view[start:end]) for start, end in back])


def _with_handed_back(groups: Groups, lines: list[bytes]) -> Scan:
    """The scanner's groups with those of the lines it handed back, read by the line reader, merged in."""
    records, invalid = groups.records, groups.invalid_records
    if not lines:
        return Scan(groups=groups, records=records, invalid_records=invalid)
    rest = scan_lines(lines, into=groups)
    return Scan(groups=groups, records=records + rest.records, invalid_records=invalid + rest.invalid_records,
                slow_path_records=rest.records)


def partial_from_reader(reader, *, block_bytes: int = BLOCK_BYTES) -> Partial:
    """:func:`scan_reader` as an Arrow :class:`Partial`."""
    return scan_reader(reader, block_bytes=block_bytes).partial()


def partial_from_file(path: str) -> Partial:
    """Partial aggregate of one NDJSON file (plain or gzip), read block by block (:func:`scan_reader`)."""
    with open(path, "rb") as handle:
        return partial_from_reader(handle)


def partial_from_bytes(data: bytes, *, use_scanner: bool = True) -> Partial:
    """:func:`scan_bytes` as an Arrow :class:`Partial`."""
    return scan_bytes(data, use_scanner=use_scanner).partial()


def partial_from_lines(lines) -> Partial:
    """:func:`scan_lines` as an Arrow :class:`Partial`: the exact line-by-line map."""
    return scan_lines(lines).partial()


def _gunzip_tolerant(data: bytes) -> bytes:
    """What a gzip object holds; a truncated one gives what could be read. Bytes that merely start like gzip
    but are not (no valid header) are taken as they are, so their lines are still counted."""
    import gzip

    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error):
        if not _valid_gzip_header(data):
            return data
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            return decompressor.decompress(data)
        except zlib.error:
            return b""


def _valid_gzip_header(data: bytes) -> bool:
    # A whole 10-byte header: magic, then method 8 (deflate); anything else is not gzip.
    return len(data) >= 10 and data[:3] == GZIP_MAGIC + b"\x08"


def _text(value):
    """A key part: a JSON string as itself, null as null, any other JSON value as its JSON text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _RawNumber):
        return value.text
    if isinstance(value, float) and abs(value) >= _AMBIGUOUS_FLOAT:
        raise _AmbiguousNumber
    if isinstance(value, int | float):
        return str(value)
    import orjson

    return orjson.dumps(value).decode()


def _number(value):
    """A coordinate as DuckDB's DOUBLE column reads it: numbers, booleans and numeric strings."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond double range, which only the lenient parse yields
        number = math.copysign(math.inf, value)
    # One NaN object, so that NaN coordinates group together as in DuckDB (nan != nan, but a tuple
    # compares identical elements as equal).
    return _NAN if math.isnan(number) else number


_NAN = float("nan")


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
    try:
        value = float(value)
    except OverflowError:  # an integer beyond double range (lenient parse only): infinite, so invalid
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


#: What DuckDB's JSON reader (yyjson) accepts beyond RFC 8259 and orjson does not: NaN and Infinity
#: literals in any case (``nan``, ``-Inf``, ``INFINITY``) and a trailing comma before ``}`` or ``]``.
#: Strings are matched first so that nothing inside them is touched. Compiled at its first use.
_LENIENT = (
    r'(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<literal>-?(?i:infinity|inf|nan))(?![A-Za-z0-9_])"
    r"|,(?P<close>\s*[}\]])"
)
#: DuckDB keeps the token text of integers beyond 64 bits; orjson turns them into floats, so a key part
#: that is a float this large may have been such an integer and its line is read again token by token.
_AMBIGUOUS_FLOAT = 2.0**63


class _RawNumber(float):
    """A number DuckDB keeps as its token text: NaN/Infinity literals, integers beyond 64 bits and floats
    beyond double range. It is the float DuckDB casts it to, and the text as a key part."""

    text: str

    @classmethod
    def of(cls, number: float, text: str) -> _RawNumber:
        raw = cls(number)
        raw.text = text
        return raw


def _int_token(text: str):
    number = int(text)
    if -(2**63) <= number < 2**64:
        return number
    try:
        return _RawNumber.of(float(number), text)
    except OverflowError:
        return _RawNumber.of(math.inf if number > 0 else -math.inf, text)  # copysign would convert number too


def _float_token(text: str):
    number = float(text)
    if not math.isfinite(number):
        return _RawNumber.of(number, text)
    # DuckDB writes a float it could read as its shortest repr, which is Python's str(); marking large
    # ones keeps them from being taken for orjson's reading of a large integer.
    return _RawNumber.of(number, str(number)) if abs(number) >= _AMBIGUOUS_FLOAT else number


def _python_json(line: bytes):
    """A line read with Python's json module after the :data:`_LENIENT` rewrite, numbers as DuckDB reads
    them (see :class:`_RawNumber`), or ``_UNPARSEABLE``."""
    import json
    import re

    literals: list[str] = []

    def rewrite(match: re.Match) -> str:
        if match["string"] is not None:
            return match["string"]
        if match["close"] is not None:
            return match["close"]
        literals.append(match["literal"])
        return "NaN"  # parse_constant gets the original text from `literals`, in document order

    def constant(_: str) -> _RawNumber:
        text = literals[constant.seen]
        constant.seen += 1
        word = text.lstrip("-").lower()
        return _RawNumber.of(math.nan if word == "nan" else math.copysign(math.inf, -1.0 if text[0] == "-" else 1.0),
                             text)

    constant.seen = 0
    try:
        text = re.sub(_LENIENT, rewrite, line.decode("utf-8"))  # re caches the compiled pattern
        parsed = json.loads(text, parse_int=_int_token, parse_float=_float_token, parse_constant=constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _UNPARSEABLE
    # Python's json takes a lone surrogate escape ("\ud800"); DuckDB rejects the line ("no low surrogate in
    # string"), and its text could not be written as UTF-8 anyway.
    return _UNPARSEABLE if _has_lone_surrogate(parsed) else parsed


def _has_lone_surrogate(value) -> bool:
    """Whether a parsed JSON value holds a string (or key) that is not valid Unicode text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(key) or _has_lone_surrogate(inner) for key, inner in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(inner) for inner in value)
    return False


_UNPARSEABLE = object()


class _AmbiguousNumber(Exception):
    """A key part orjson read as a float ≥ 2^63: it may have been an integer whose text DuckDB keeps."""


def _parse_line(line: bytes):
    """One line as DuckDB reads it, or ``_UNPARSEABLE``.

    orjson takes RFC 8259 JSON; a line it rejects gets a second chance with :func:`_python_json`. So every
    line DuckDB accepts is read here with the same values. A few lines DuckDB rejects are accepted here
    too, which is harmless: DuckDB then rejects their whole object and this path decides every line of it.
    """
    import orjson

    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return _python_json(line)


def scan_lines(lines, *, into: Groups | None = None) -> Scan:
    """The exact line-by-line map: the reference the scanner must agree with, and the reader of what it hands
    back.

    Its groups are kept in a dict of Python tuples (the independent reference) and only at the end added to
    the compiled :class:`~aqstudy.kernel.scanner.Groups`, whose keys compare as these tuples do.

    :param lines: an iterable of byte lines (a file object, a list of bytes).
    :param into: groups to merge these lines' groups into (the scanner's); new ones by default.
    """
    from aqstudy.kernel.scanner import Groups

    groups: dict[tuple, list] = {}
    records = invalid = 0
    for line in lines:
        if not line.strip():
            continue
        records += 1
        record = _parse_line(line)
        value = valid_value(record)
        if value is None:
            invalid += 1
            continue
        try:
            key = reading_key(record)
        except _AmbiguousNumber:
            key = reading_key(_python_json(line))
        group = groups.get(key)
        if group is None:
            groups[key] = [value, 1, value]
        else:
            group[0] += value
            group[1] += 1
            group[2] = max(group[2], value)
    out = Groups() if into is None else into
    for key, (total, count, maximum) in groups.items():
        out.add(*key, total, count, maximum)
    return Scan(groups=out, records=records, invalid_records=invalid, slow_path_records=records)


def partial_schema() -> pa.Schema:
    """Arrow schema of a partial aggregate (the same from both paths, so partials concatenate)."""
    import pyarrow as pa

    strings = {"country", "city", "location", "parameter", "unit", "day"}
    fields = [pa.field(name, pa.string() if name in strings else pa.float64()) for name in KEY_COLUMNS]
    fields += [pa.field("sum", pa.float64()), pa.field("count", pa.int64()), pa.field("max", pa.float64())]
    return pa.schema(fields)


def combine(tables: list[pa.Table]) -> pa.Table:
    """The reduce over Arrow tables (pyarrow's ``group_by``): add sums and counts and take the max per key.

    Not what a run's reduce uses (:func:`merge_partials`): it is the independent reference that reduce is
    checked against (tests, ``benchmarks/reduce.py``), and it combines tables that never were a map's output.

    :param tables: partial aggregates (:func:`partial_schema`), their strings plain or dictionary-encoded.
    """
    import pyarrow as pa

    schema = partial_schema()
    tables = [table for table in tables if table.num_rows]
    if not tables:
        return schema.empty_table()
    if len({table.schema for table in tables}) > 1:
        tables = [table.cast(schema) for table in tables]
    merged = pa.concat_tables(tables).unify_dictionaries()
    combined = merged.group_by(list(KEY_COLUMNS), use_threads=False).aggregate(
        [("sum", "sum"), ("count", "sum"), ("max", "max")]
    )
    return combined.rename_columns(list(PARTIAL_COLUMNS)).cast(schema)


def merge_partials(payloads: list[bytes]) -> bytes:
    """The reduce: what the map calls returned (:meth:`Scan.to_bytes`) merged by key, in call order, as one
    partial of the same format (so the reduce, like a map, imports only the compiled scanner and zlib).

    The merge is the scanner's own table (:meth:`aqstudy.kernel.scanner.Groups.merge`): keys compare as in the
    scan, and a group's sum adds the partials in call order, as pyarrow's ``group_by`` does (:func:`combine`:
    the same sums bit for bit, but there -0.0 and 0.0 are two keys). Not ``group_by`` itself: in the process
    Lithops forks for a reduce, pyarrow's first calls took 0.15–0.5 s more CPU than their usual 0.02 s, one
    time in several, mostly while the other core was busy (``benchmarks/reduce.py``); the compiled merge does
    not.
    """
    from aqstudy.kernel.scanner import Groups

    groups = Groups()
    for payload in payloads:
        groups.merge(_partial_body(payload))
    return zlib.compress(groups.encode(), PARTIAL_ZLIB_LEVEL)


def reduce_table(output: dict) -> pa.Table:
    """The table a reduce function handed back (plain strings): this project's reduce returns a ``partial``
    (:func:`merge_partials`); any other reduce (the original study's, a user's) ``combined``, Arrow IPC bytes
    (:func:`to_ipc`) of a table of :func:`partial_schema`."""
    if "partial" in output:
        return _decoded(read_partial(output["partial"]))
    return from_ipc(output["combined"])


def _partial_body(data: bytes) -> bytes:
    """A map's partial decompressed, its format checked."""
    from aqstudy.kernel.scanner import PARTIAL_MAGIC

    body = zlib.decompress(data)
    if body[:8] != PARTIAL_MAGIC:
        raise ValueError(f"not a map partial (starts {body[:8]!r}, expected {PARTIAL_MAGIC!r}); the map and the "
                         "reduce must run the same aqstudy version")
    return body


def read_partial(data: bytes) -> pa.Table:
    """The table in a map's partial (:meth:`Scan.to_bytes`): Arrow arrays over the decompressed bytes, strings
    dictionary-encoded as the scanner wrote them (the layout: :meth:`aqstudy.kernel.scanner.Groups.encode`)."""
    import pyarrow as pa

    body = _partial_body(data)
    buffer, at = pa.py_buffer(body), 8

    def take(size: int) -> pa.Buffer:
        nonlocal at
        if at + size > len(body):
            raise ValueError(f"a map partial of {len(body)} bytes ends before its data does; it is damaged")
        out = buffer.slice(at, size)
        at += (size + 7) & ~7
        return out

    def number() -> int:
        return int.from_bytes(take(8), "little", signed=True)

    rows = number()
    bitmap = (rows + 7) // 8
    columns = []
    for field in partial_schema():
        if pa.types.is_string(field.type):
            distinct, nulls, text_bytes = number(), number(), number()
            validity = take(bitmap) if nulls else None
            indices = pa.Array.from_buffers(pa.int32(), rows, [validity, take(4 * rows)], null_count=nulls)
            offsets = take(4 * (distinct + 1))
            strings = pa.Array.from_buffers(pa.string(), distinct, [None, offsets, take(text_bytes)], null_count=0)
            columns.append(pa.DictionaryArray.from_arrays(indices, strings))
        elif field.name in ("latitude", "longitude"):
            nulls = number()
            validity = take(bitmap) if nulls else None
            columns.append(pa.Array.from_buffers(pa.float64(), rows, [validity, take(8 * rows)], null_count=nulls))
        else:
            columns.append(pa.Array.from_buffers(field.type, rows, [None, take(8 * rows)], null_count=0))
    if at != len(body):
        raise ValueError(f"a map partial of {len(body)} bytes holds {at}; it is damaged")
    return pa.table(columns, names=list(PARTIAL_COLUMNS))


def _decoded(table: pa.Table) -> pa.Table:
    """A table with its dictionary-encoded columns decoded back to plain ones."""
    import pyarrow as pa

    if not any(pa.types.is_dictionary(field.type) for field in table.schema):
        return table
    return table.cast(pa.schema([
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in table.schema
    ]))


def to_ipc(table: pa.Table) -> bytes:
    """A table as zstd-compressed Arrow IPC bytes: what the reduce sends back to the host.

    String columns go out dictionary-encoded: a partial repeats each station's strings on every row and zstd
    cannot squeeze the offsets of plain strings (a 25 MB object's partial: ~290 KB plain, ~160 KB encoded).
    zstd's default level: level 3 saves another 5% for ~30% more time.
    """
    import pyarrow as pa

    columns = [column.dictionary_encode() if pa.types.is_string(column.type) else column for column in table.columns]
    encoded = pa.table(columns, names=table.column_names)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd", use_threads=False)
    with pa.ipc.new_stream(sink, encoded.schema, options=options) as writer:
        writer.write_table(encoded)
    return sink.getvalue().to_pybytes()


def read_ipc(data: bytes) -> pa.Table:
    """The table in :func:`to_ipc` bytes as stored: strings still dictionary-encoded."""
    import pyarrow as pa

    return pa.ipc.open_stream(data, options=pa.ipc.IpcReadOptions(use_threads=False)).read_all()


def from_ipc(data: bytes) -> pa.Table:
    """Inverse of :func:`to_ipc`: the same table, strings decoded back from dictionaries."""
    return _decoded(read_ipc(data))
