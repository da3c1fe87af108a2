"""The map kernel: its compiled scanner against the independent line-by-line implementation, and both
against DuckDB's reading, on random inputs.

Property-based (hypothesis): OpenAQ-like lines whose fields take every JSON type the semantics talk about,
in random formatting, with blank lines. Plain, gzip and partitioned inputs must give the same checksum.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aqstudy.analysis import finalize, result_sha256
from aqstudy.kernel import aggregate as kernel
from aqstudy.kernel import functions
from aqstudy.kernel.columns import ANALYSES, PARTIAL_COLUMNS

from .duckdb_reading import duckdb_partial

MISSING = object()
STRING_COLUMNS = ("country", "city", "location", "parameter", "unit", "day")

#: Valid values are decimals with one digit after the point, as the archive's are; see the partition test.
decimal_values = st.integers(min_value=0, max_value=99_999).map(lambda n: n / 10)
value_fields = st.one_of(
    decimal_values, decimal_values, st.integers(min_value=0, max_value=500),
    st.just(-999), st.floats(min_value=-1, max_value=-1e-6), st.just(0),
    st.sampled_from(["12.5", "abc", ""]), st.booleans(), st.none(), st.just(MISSING),
    st.just([1.5]), st.just({"v": 1}),
)
#: Finite floats of any precision: compared with a tolerance, not by checksum.
any_values = st.one_of(value_fields, st.floats(allow_nan=False, allow_infinity=False))
key_strings = st.sampled_from(["Kabul", "Taipei", "Ciudad de México", "", "a \"quoted\" name", "Zürich\n"])
key_fields = st.one_of(key_strings, key_strings, st.none(), st.just(MISSING), st.integers(-5, 5), st.booleans())
coordinates = st.one_of(
    st.tuples(st.sampled_from([34.535812, -12.5, 0.0, -0.0, 52.23]), st.sampled_from([69.190514, 21.01, 0.0])),
    st.just(("52.5", "21")),  # numeric strings: DuckDB casts them, so does the reference
    st.none(), st.just(MISSING), st.just((None, 1.0)),
)
utc_fields = st.one_of(
    st.sampled_from(["2020-10-31T23:30:00.000Z", "2020-11-01T00:30:00.000Z", "2020-11-01T12:00:00Z", "2020-11"]),
    st.none(), st.just(MISSING), st.integers(20201031, 20201101),
)


@st.composite
def records(draw, values=value_fields) -> dict:
    record = {}
    date = draw(st.sampled_from(["object", "null", "missing"]))
    if date == "object":
        utc = draw(utc_fields)
        record["date"] = {} if utc is MISSING else {"utc": utc, "local": "2020-10-31T18:30:00-05:00"}
    elif date == "null":
        record["date"] = None
    record["parameter"] = draw(st.one_of(st.sampled_from(["pm25", "pm10", "o3"]), st.none(), st.just(MISSING)))
    record["value"] = draw(values)
    record["unit"] = draw(st.one_of(st.sampled_from(["µg/m³", "ppm"]), st.just(MISSING)))
    record["averagingPeriod"] = {"value": 1, "unit": "hours"}
    for name in ("location", "city", "country"):
        record[name] = draw(key_fields)
    coordinate = draw(coordinates)
    if coordinate is None:
        record["coordinates"] = None
    elif coordinate is not MISSING:
        record["coordinates"] = {"latitude": coordinate[0], "longitude": coordinate[1]}
    record["mobile"] = draw(st.booleans())
    order = draw(st.permutations(list(record)))
    return {name: record[name] for name in order if record[name] is not MISSING}


@st.composite
def lines(draw, values=value_fields, malformed: bool = False) -> list[bytes]:
    out = []
    for record in draw(st.lists(records(values), min_size=1, max_size=40)):
        compact = draw(st.booleans())
        text = json.dumps(record, ensure_ascii=draw(st.booleans()),
                          separators=(",", ":") if compact else (", ", ": "))
        out.append(text.encode())
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([b"", b"   ", b"\r"])))
    if malformed:
        extra = draw(st.lists(st.sampled_from([
            b'{"value": 1.0',  # cut off: DuckDB rejects the object, the exact path takes it
            b"garbage",
            b'{"value": 2.0, "coordinates": "here"}',  # a shape DuckDB's schema refuses
            b'{"value": NaN, "city": "x"}',  # DuckDB's reader takes these three, orjson does not
            b'{"value": 3.0, "averagingPeriod": {"value": Infinity}, "city": "y",}',
            b'{"value": 1e400}',
        ]), max_size=3))
        for item in extra:
            out.insert(draw(st.integers(0, len(out))), item)
    return out


def data_of(lines_: list[bytes]) -> bytes:
    return b"\n".join(lines_) + b"\n"


def _groups(table) -> dict:
    """Partial rows by key, NaN made comparable."""
    def part(value):
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    return {tuple(part(row[name]) for name in PARTIAL_COLUMNS[:8]): (row["sum"], row["count"], row["max"])
            for row in table.to_pylist()}


def assert_same(fast: kernel.Partial, exact: kernel.Partial) -> None:
    assert (fast.records, fast.invalid_records) == (exact.records, exact.invalid_records)
    mine, theirs = _groups(fast.table), _groups(exact.table)
    assert mine.keys() == theirs.keys()
    for key, (total, count, maximum) in mine.items():
        assert count == theirs[key][1] and maximum == theirs[key][2], key
        assert math.isclose(total, theirs[key][0], rel_tol=1e-12, abs_tol=1e-300), key


def checksums(scans: list[kernel.Scan]) -> tuple[str, ...]:
    """The result's checksums after the run's own reduce over the scans' partials."""
    combined = kernel.reduce_table({"partial": kernel.merge_partials([scan.to_bytes() for scan in scans])})
    return tuple(result_sha256(finalize(combined, analysis=a)) for a in ANALYSES)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


#: What the scanner decides itself: strings without escapes, numbers of up to 15 digits, no other JSON type
#: as a key part. (Lines beyond it are handed to the line reader; the tests below cover those too.)
plain_strings = st.sampled_from(["Kabul", "Taipei", "Ciudad de México", "", "Zürich", "東京", "a 'quoted' name"])
plain_values = st.one_of(decimal_values, st.integers(min_value=0, max_value=500), st.just(-999),
                         st.floats(min_value=-1, max_value=-1e-6).map(lambda v: round(v, 6)), st.just(-0.0),
                         st.floats(min_value=0, max_value=1e6).map(lambda v: round(v, 4)),
                         st.sampled_from(["12.5", "abc"]), st.booleans(), st.none(), st.just(MISSING),
                         st.just([1.5]), st.just({"v": 1}))


@st.composite
def plain_records(draw) -> dict:
    record = {"date": {"utc": draw(st.sampled_from(["2020-10-31T23:30:00.000Z", "2020-11-01T00:30:00Z", "2020"])),
                       "local": draw(plain_strings)},
              "parameter": draw(st.one_of(st.sampled_from(["pm25", "o3"]), st.none())),
              "value": draw(plain_values), "unit": draw(st.sampled_from(["µg/m³", "ppm"])),
              "averagingPeriod": {"value": 1, "unit": draw(plain_strings)},
              "location": draw(plain_strings), "city": draw(st.one_of(plain_strings, st.none(), st.just(MISSING))),
              "country": draw(plain_strings),
              "coordinates": draw(st.one_of(st.none(), st.fixed_dictionaries({
                  "latitude": st.sampled_from([34.535812, -12.5, 0.0, -0.0, 52.23, 90, None]),
                  "longitude": st.sampled_from([69.190514, 21.01, 0.0, -179.999999])}))),
              "attribution": [{"name": draw(plain_strings), "url": "http://example.org/x"}], "mobile": False}
    order = draw(st.permutations(list(record)))
    return {name: record[name] for name in order if record[name] is not MISSING}


@st.composite
def plain_lines(draw) -> list[bytes]:
    out = []
    for record in draw(st.lists(plain_records(), min_size=1, max_size=40)):
        compact = draw(st.booleans())
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":") if compact else (", ", ": "))
        out.append(text.encode() + draw(st.sampled_from([b"", b"", b"\r", b"  "])))
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([b"", b"   ", b"\r"])))
    return out


@PROPERTY
@given(plain_lines())
def test_the_scanner_decides_plain_lines_itself_as_the_line_reader_does(lines_):
    data = data_of(lines_)
    scanned = kernel.partial_from_bytes(data)
    assert scanned.slow_path_records == 0, "plain lines must not be handed back, or the scanner goes untested"
    assert_same(scanned, kernel.partial_from_lines(data.splitlines(keepends=True)))


@PROPERTY
@given(lines(values=any_values))
def test_the_kernel_equals_the_line_by_line_implementation_on_any_well_formed_lines(lines_):
    data = data_of(lines_)
    assert_same(kernel.partial_from_bytes(data), kernel.partial_from_lines(data.splitlines(keepends=True)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(lines(values=any_values))
def test_the_kernel_reads_well_formed_lines_as_duckdb_does(tmp_path, lines_):
    path = tmp_path / "object.ndjson"
    path.write_bytes(data_of(lines_))
    assert_same(kernel.partial_from_file(str(path)), duckdb_partial(str(path)))


class _Trickle:
    """A stream with only ``read(n)``, giving fewer bytes than asked (as a network body may)."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step, self.at = data, step, 0

    def read(self, size: int) -> bytes:
        chunk = self.data[self.at: self.at + min(size, self.step)]
        self.at += len(chunk)
        return chunk


@PROPERTY
@given(lines(malformed=True), st.integers(min_value=16, max_value=400), st.integers(min_value=1, max_value=97))
def test_reading_in_blocks_of_any_size_gives_the_same_partial(lines_, block, step):
    data = data_of(lines_)
    whole = kernel.partial_from_bytes(data)
    assert_same(kernel.partial_from_reader(io.BytesIO(data), block_bytes=block), whole)
    assert_same(kernel.partial_from_reader(_Trickle(data, step), block_bytes=block), whole)
    assert_same(kernel.partial_from_reader(_Trickle(gzip.compress(data), step), block_bytes=block), whole)


@PROPERTY
@given(lines(malformed=True))
def test_malformed_and_lenient_lines_give_the_line_by_line_result_too(lines_):
    data = data_of(lines_)
    assert_same(kernel.partial_from_bytes(data), kernel.partial_from_bytes(data, use_scanner=False))


@PROPERTY
@given(lines(), st.lists(st.integers(min_value=0, max_value=1000), max_size=5))
def test_plain_gzip_and_partitioned_inputs_give_the_same_checksum(lines_, cuts):
    data = data_of(lines_)
    whole = checksums([kernel.scan_bytes(data)])
    assert checksums([kernel.scan_bytes(gzip.compress(data))]) == whole
    bounds = sorted({0, len(lines_), *(c % (len(lines_) + 1) for c in cuts)})
    parts = [data_of(lines_[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    assert checksums([kernel.scan_bytes(part) for part in parts]) == whole
    assert checksums([kernel.scan_bytes(data, use_scanner=False)]) == whole


def test_synthetic_objects_plain_gzip_and_resplit_give_the_same_checksum(tmp_path):
    from aqstudy.data.synthetic import SyntheticOpenAQ

    generator = SyntheticOpenAQ(seed=7, station_count=40, object_bytes=150_000, invalid_share=0.05)
    objects = [generator.object_bytes_for(i) for i in range(4)]
    plain = checksums([kernel.scan_bytes(o) for o in objects])
    assert checksums([kernel.scan_bytes(gzip.compress(o)) for o in objects]) == plain
    everything = b"".join(objects).splitlines(keepends=True)
    seven = [b"".join(everything[i::7]) for i in range(7)]  # every day split over all seven parts
    assert checksums([kernel.scan_bytes(part) for part in seven]) == plain
    files = []
    for i, o in enumerate(objects):
        files.append(tmp_path / f"part-{i}.ndjson.gz")
        files[-1].write_bytes(gzip.compress(o))
    assert checksums([kernel.scan_reader(f.open("rb")) for f in files]) == plain
    assert all(kernel.scan_bytes(o).slow_path_records == 0 for o in objects)


def test_a_truncated_gzip_object_keeps_what_could_be_read():
    data = data_of([json.dumps({"value": float(i), "city": "c"}).encode() for i in range(2000)])
    cut = gzip.compress(data)[:-200]
    partial = kernel.partial_from_bytes(cut)
    assert partial.slow_path_records <= 1  # the line the cut went through, handed to the line reader
    assert 0 < partial.records < 2000
    assert partial.invalid_records <= 1  # at most the line the cut went through


def test_an_object_without_a_valid_reading_still_counts_its_records():
    data = data_of([b'{"value": -999}', b'{"value": "1"}', b""])
    partial = kernel.partial_from_bytes(data)
    assert partial.slow_path_records == 0
    assert (partial.records, partial.invalid_records, partial.table.num_rows) == (2, 2, 0)


def test_map_partials_round_trip_and_the_reduce_equals_pyarrows_group_by_bit_for_bit():
    """What a map returns (the scanner's encoding) reads back as the same table, strings dictionary-encoded;
    the reduce's merge gives the rows pyarrow's group_by gives over the plain tables (sums added in call order
    by both); IPC (another reduce's output to the host) round-trips too."""
    from aqstudy.data.synthetic import SyntheticOpenAQ

    generator = SyntheticOpenAQ(seed=3, station_count=30, object_bytes=100_000)
    scans = [kernel.scan_bytes(generator.object_bytes_for(i)) for i in range(3)]
    tables = [scan.partial().table for scan in scans]
    payloads = [scan.to_bytes() for scan in scans]
    for table, payload in zip(tables, payloads, strict=True):
        read = kernel.read_partial(payload)
        assert all(pa.types.is_dictionary(read.schema.field(name).type) for name in STRING_COLUMNS)
        assert read.cast(kernel.partial_schema()).equals(table)
        assert kernel.from_ipc(kernel.to_ipc(table)).equals(table)
    reduced = kernel.reduce_table(functions.reduce_partials([{"partial": payload} for payload in payloads]))
    plain = kernel.combine(tables)
    assert reduced.schema == kernel.partial_schema() and plain.num_rows < sum(t.num_rows for t in tables)
    assert _sorted(reduced).equals(_sorted(plain))
    assert kernel.reduce_table({"combined": kernel.to_ipc(plain)}).equals(plain)
    assert kernel.combine([tables[0], *map(kernel.read_partial, payloads[1:])]).equals(plain)
    assert kernel.combine([]).num_rows == 0


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in PARTIAL_COLUMNS[:8]])


def test_the_reduce_keys_stations_across_partials_as_the_map_keys_them_within_one():
    """-0.0 and 0.0 are one coordinate and NaN is NaN, null and "" stay apart, across objects as within one
    (pyarrow's group_by, the reduce before, kept -0.0 and 0.0 apart)."""
    lines_ = [b'{"value": 1, "city": "", "coordinates": {"latitude": -0.0, "longitude": NaN}}',
              b'{"value": 2, "city": "", "coordinates": {"latitude": 0.0, "longitude": NaN}}',
              b'{"value": 4, "city": null, "coordinates": {"latitude": 0.0, "longitude": NaN}}',
              b'{"value": 8, "coordinates": {"latitude": 0, "longitude": NaN}}']
    whole = kernel.scan_bytes(data_of(lines_)).partial().table
    reduced = kernel.reduce_table(
        {"partial": kernel.merge_partials([kernel.scan_bytes(data_of([line])).to_bytes() for line in lines_])})
    def rows(table: pa.Table) -> list[str]:  # repr: NaN equals NaN, -0.0 differs from 0.0
        return [repr(row) for row in table.to_pylist()]

    assert rows(reduced) == rows(whole)
    assert [(row["city"], str(row["latitude"]), row["sum"]) for row in reduced.to_pylist()] == [
        ("", "-0.0", 3.0), (None, "0.0", 12.0)]


def test_a_partial_keeps_nulls_nan_coordinates_and_empty_strings_apart():
    lines_ = [b'{"value": 1, "city": "", "coordinates": {"latitude": NaN, "longitude": 2}}',
              b'{"value": 2, "city": null, "coordinates": {"latitude": null, "longitude": 2}}',
              b'{"value": 3, "coordinates": {"latitude": 0.0, "longitude": 2}}',
              b'{"value": 4, "city": "", "coordinates": {"latitude": 0.0, "longitude": 2}}']
    table = kernel.read_partial(kernel.scan_bytes(data_of(lines_)).to_bytes())
    rows = {row["sum"]: (row["city"], row["latitude"]) for row in table.to_pylist()}
    assert rows.keys() == {1.0, 2.0, 3.0, 4.0} and rows[1.0][0] == "" and math.isnan(rows[1.0][1])
    assert [rows[2.0], rows[3.0], rows[4.0]] == [(None, None), (None, 0.0), ("", 0.0)]
    assert kernel.read_partial(kernel.scan_bytes(b"").to_bytes()).num_rows == 0


def test_a_payload_that_is_not_a_partial_is_refused_with_the_reason():
    import zlib

    with pytest.raises(ValueError, match="not a map partial"):
        kernel.read_partial(zlib.compress(b"ARROW1" + bytes(10)))
    damaged = zlib.decompress(kernel.scan_bytes(b'{"value": 1}\n').to_bytes())[:-8]
    with pytest.raises(ValueError, match="damaged"):
        kernel.read_partial(zlib.compress(damaged))


def test_the_preloading_runtime_imports_first_then_runs_the_script(tmp_path):
    from aqstudy.backends.localhost.local_runtime import launcher

    script = tmp_path / "runner.py"
    script.write_text("import sys\nprint('colorsys' in sys.modules, sys.argv[1:])\n")
    runtime = launcher(python=sys.executable, preload=["colorsys"], folder=tmp_path / "runtime")
    assert launcher(python=sys.executable, preload=["colorsys"], folder=tmp_path / "runtime") == runtime
    out = subprocess.run([runtime, str(script), "run_job", "a b"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True ['run_job', 'a b']"
    missing = launcher(python=sys.executable, preload=["no_such_module_x"], folder=tmp_path / "runtime")
    failed = subprocess.run([missing, str(script)], capture_output=True, text=True)
    assert failed.returncode != 0 and "no_such_module_x" in failed.stderr


@pytest.mark.parametrize("name", ["part's.ndjson", "part.ndjson"])
def test_a_path_with_a_quote_is_read(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(data_of([b'{"value": 1.5, "city": "c"}']))
    assert kernel.partial_from_file(str(path)).records == 1


def test_an_empty_file_is_an_empty_partial(tmp_path):
    path = tmp_path / "empty.ndjson"
    path.write_bytes(b"")
    partial = kernel.partial_from_file(str(path))
    assert (partial.records, partial.table.num_rows) == (0, 0)


def _one(line: bytes) -> kernel.Partial:
    return kernel.partial_from_bytes(line + b"\n")


@pytest.mark.parametrize(("line", "handed_back"), [
    (b'{"v\\u0061lue": 1.5, "city": "c"}', True),  # an escaped key may spell a tracked one
    (b'{"value": 1.5, "value": 2.5}', True),  # a tracked key twice
    (b'{"value": 1.5, "city": "a\\"b"}', True),  # an escape in a key part
    (b'{"value": 1.5, "sourceName": "a\\"b\\u00e9"}', False),  # escapes elsewhere are validated, kept
    (b'{"value": 1.5, "sourceName": "\\ud800"}', True),  # an escaped lone surrogate
    (b'{"value": 1.5, "sourceName": "a\tb"}', True),  # a raw control character
    (b'{"value": 1.5, "sourceName": "\xff"}', True),  # not UTF-8
    (b'{"value": 1.5, "sourceName": "\xc0\xaf"}', True),  # an overlong form
    (b'{"value": 1.5, "sourceName": "\xe2\x82\xac \xf0\x9f\x98\x80"}', False),  # 3- and 4-byte characters
    (b'{"value": 1.5, "date": {"utc": "2020-10-3\xc3\xa9"}}', True),  # ten characters are not ten bytes
    (b'{"value": 1.5, "x": ' + b"[" * 70 + b"]" * 70 + b"}", True),  # deeper than the scanner goes
    (b'{"value": 1.5, "x": ' + b"[" * 50 + b"{}" + b"]" * 50 + b"}", False),
    (b'{"value": 1.5} x', True),  # something after the object
    (b'{"value": 1.5', True),  # cut off
    (b'{"value": 1.5,}', True),  # DuckDB's trailing comma
    (b'{"value": 01}', True),  # not a JSON number
    (b'{"value": 1.}', True),
    (b'{"value": 1e22}', False),  # exactly one operation away
    (b'{"value": 1e23}', True),  # not
    (b'{"value": 12345678901234567}', True),  # beyond 2^53
    (b'{"value": -0}', False),
    (b'{"value": -1e400}', True),
    (b'{"value": 1.5, "coordinates": {"latitude": "52.5"}}', True),  # a numeric string DuckDB casts
    (b'{"value": 1.5, "coordinates": {"latitude": 5e-324}}', True),
    (b'{"value": 1.5, "coordinates": [1, 2]}', True),
    (b'{"value": 1.5, "city": 7}', True),
    (b'[1.5]', True),
    (b'{}', False),
    (b'{"value": true, "mobile": false, "n": null, "x": [1, -2.5e3, "s", {"a": {}}]}', False),
])
def test_the_scanner_hands_back_exactly_what_it_does_not_decide(line, handed_back):
    scanned, read = _one(line), kernel.partial_from_bytes(line + b"\n", use_scanner=False)
    assert scanned.slow_path_records == int(handed_back)
    assert_same(scanned, read)


def test_negative_zero_values_and_coordinates_group_as_the_line_reader_groups_them():
    lines_ = [b'{"value": -0.0, "coordinates": {"latitude": -0.0, "longitude": 1}}',
              b'{"value": 0, "coordinates": {"latitude": 0.0, "longitude": 1}}', b'{"value": -0.0}']
    data = data_of(lines_)
    scanned = kernel.partial_from_bytes(data)
    assert scanned.slow_path_records == 0
    assert_same(scanned, kernel.partial_from_lines(lines_))
    assert scanned.table.num_rows == 2


def test_lines_without_a_final_newline_and_with_crlf_endings_are_read():
    data = b'{"value": 1.5, "city": "a"}\r\n\r\n{"value": 2.5, "city": "a"}'
    scanned = kernel.partial_from_bytes(data)
    assert (scanned.records, scanned.slow_path_records) == (2, 0)
    assert scanned.table.column("sum").to_pylist() == [4.0]


def test_many_groups_grow_the_scanner_s_table_without_losing_one():
    data = data_of([json.dumps({"value": float(i % 7), "location": f"s{i}", "city": "c"}).encode()
                    for i in range(5000)] * 2)
    scanned = kernel.partial_from_bytes(data)
    assert scanned.table.num_rows == 5000 and set(scanned.table.column("count").to_pylist()) == {2}
    assert_same(scanned, kernel.partial_from_lines(data.splitlines()))


# --- The line reader on lines orjson rejects but DuckDB reads (trailing commas, NaN/Infinity literals): key parts
# keep the text DuckDB writes, coordinates and values the numbers DuckDB casts them to.

BIG = "1" + "0" * 400  # an integer beyond double range


def _rows(*lines: str) -> tuple[list[dict], int, int]:
    scan = kernel.partial_from_lines([line.encode() for line in lines])
    rows = scan.table.to_pylist()
    return rows, scan.records, scan.invalid_records


def _city(token: str) -> str | None:
    (row,), _, invalid = _rows(f'{{"value": 1, "city": {token},}}')  # the trailing comma: lenient parse
    assert invalid == 0
    return row["city"]


def test_key_parts_of_a_lenient_line_are_written_as_duckdb_writes_them():
    assert _city(BIG) == BIG and _city("-" + BIG) == "-" + BIG  # beyond 64 bits: the token's text
    assert _city("-0") == "0" and _city("18446744073709551616") == "18446744073709551616"
    assert _city("1.50") == "1.5" and _city("1e19") == "1e+19"  # floats as Python's str()
    assert _city("9223372036854775808.0") == "9.223372036854776e+18"  # 2^63 exactly: a float, not an integer
    assert _city("1e400") == "1e400"  # beyond double range: the token's text
    assert [_city(word) for word in ("-Infinity", "NaN", "inf", "-nan")] == ["-Infinity", "NaN", "inf", "-nan"]


def test_several_non_finite_literals_on_a_line_keep_their_own_text_in_order():
    (row,), _, _ = _rows('{"value": 2, "city": -Infinity, "location": NaN, "parameter": Infinity, "unit": nan,}')
    assert (row["city"], row["location"], row["parameter"], row["unit"]) == ("-Infinity", "NaN", "Infinity", "nan")


def test_coordinates_of_a_lenient_line_are_the_numbers_duckdb_casts_them_to():
    rows, _, invalid = _rows('{"value": 1, "city": "a", "coordinates": {"latitude": -Infinity, "longitude": -NaN},}',
                             '{"value": 1, "city": "b", "coordinates": {"latitude": Infinity, "longitude": 2},}',
                             f'{{"value": 1, "city": "c", "coordinates": {{"latitude": -{BIG}, "longitude": {BIG}}},}}')
    assert invalid == 0
    by_city = {row["city"]: (row["latitude"], row["longitude"]) for row in rows}
    assert by_city["a"][0] == -math.inf and math.isnan(by_city["a"][1])
    assert by_city["b"] == (math.inf, 2.0)
    assert by_city["c"] == (-math.inf, math.inf)


def test_values_beyond_double_range_and_lone_surrogates_make_invalid_records():
    rows, records, invalid = _rows(f'{{"value": {BIG}, "city": "a",}}', '{"value": 1e400, "city": "a",}',
                                   '{"value": 1, "city": "a", "\\ud800": 1,}', '{"value": 1, "city": ["\\udc00"],}',
                                   '{"value": 3, "city": "a",}')
    assert (records, invalid) == (5, 4)
    assert [(row["city"], row["sum"]) for row in rows] == [("a", 3.0)]


def test_an_integer_beyond_double_range_is_read_on_both_paths_not_a_failed_map():
    data = (f'{{"value": 1, "city": {BIG}, "coordinates": {{"latitude": -{BIG}, "longitude": 1}}}}\n'
            f'{{"value": {BIG}, "city": "x"}}\n').encode()
    for partial in (kernel.partial_from_bytes(data), kernel.partial_from_bytes(data, use_scanner=False)):
        assert (partial.records, partial.invalid_records) == (2, 1)
        assert [(row["city"], row["latitude"]) for row in partial.table.to_pylist()] == [(BIG, -math.inf)]


def test_arrays_and_objects_as_key_parts_are_compact_json_and_nan_coordinates_group_together():
    rows, _, invalid = _rows('{"value": 1, "city": [1, "a"], "location": {"k": null}}',
                             '{"value": 2, "city": "n", "coordinates": {"latitude": NaN, "longitude": 1},}',
                             '{"value": 4, "city": "n", "coordinates": {"latitude": nan, "longitude": 1},}')
    assert invalid == 0
    by_city = {row["city"]: row for row in rows}
    assert by_city['[1,"a"]']["location"] == '{"k":null}'
    assert (by_city["n"]["count"], by_city["n"]["sum"]) == (2, 6.0)  # one station, not one group per NaN
