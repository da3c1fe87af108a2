"""The analysis semantics pinned on hand-made OpenAQ lines, through both kernel paths, plain and gzip."""

from __future__ import annotations

import gzip
import hashlib
import json
import math

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aqstudy.analysis import canonical_lines, finalize, result_sha256
from aqstudy.kernel import aggregate as kernel
from aqstudy.kernel.columns import KEY_COLUMNS, RESULT_COLUMNS


def reading(value, *, utc="2020-10-31T10:00:00.000Z", city="Kabul", coordinates=(34.535812, 69.190514),
            parameter="pm25", unit="µg/m³", location="US Diplomatic Post: Kabul", country="AF", **extra) -> dict:
    """One OpenAQ realtime record as the archive has it; ``...`` leaves a field out."""
    record = {
        "date": {"utc": utc, "local": "2020-10-31T14:30:00+04:30"}, "parameter": parameter, "value": value,
        "unit": unit, "averagingPeriod": {"value": 1, "unit": "hours"}, "location": location, "city": city,
        "country": country, "attribution": [{"name": "EPA AirNow DOS", "url": "http://airnow.gov/"}],
        "sourceName": "StateAir_Kabul", "sourceType": "government", "mobile": False,
    }
    if coordinates is not None and coordinates is not ...:
        record["coordinates"] = {"latitude": coordinates[0], "longitude": coordinates[1]}
    elif coordinates is None:
        record["coordinates"] = None
    record.update(extra)
    return {k: v for k, v in record.items() if v is not ...}


def line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


#: Every way a record is not a valid reading; each line is one record.
INVALID_LINES = [
    b'{"date": {"utc": "2020-10-31T10:00:00.000Z"}, "parameter": "pm25", "value": 12.5',  # cut off
    b"not json at all",
    line(reading(...)),  # no value
    line(reading("12.5")),  # a string, even a numeric one
    line(reading(True)),
    line(reading(None)),
    line(reading(-999)),  # the archive's sentinel
    line(reading(-0.5)),  # a small negative
    line(reading(0.0)).replace(b'"value": 0.0', b'"value": NaN'),
]
VALID_LINES = [
    line(reading(10.0)),
    line(reading(20, utc="2020-10-31T23:30:00.000Z")),  # same day as 10.0
    line(reading(7.5, utc="2020-11-01T00:30:00.000Z")),  # next day: its own group
    line(reading(3.0, city=None)),  # null city: a null key part, kept
    line(reading(4.0, city=..., coordinates=...)),  # no city, no coordinates: kept
    line(reading(0.002, parameter="so2", unit="ppm", location="Taipei", country="TW", city="Taipei",
                 coordinates=(25.03, 121.56))),
    line(reading(6.0, parameter="so2", unit="µg/m³", location="Taipei", country="TW", city="Taipei",
                 coordinates=(25.03, 121.56))),  # one gas, another unit: kept apart
    line(reading(0)),  # zero is a valid reading
]
BLANK_LINES = [b"", b"   ", b"\t", b"\r"]

#: What the lines above must give: key, mean, max, count.
EXPECTED = {
    ("AF", "Kabul", "US Diplomatic Post: Kabul", 34.535812, 69.190514, "pm25", "µg/m³", "2020-10-31"): (10.0, 20.0, 3),
    ("AF", "Kabul", "US Diplomatic Post: Kabul", 34.535812, 69.190514, "pm25", "µg/m³", "2020-11-01"): (7.5, 7.5, 1),
    ("AF", None, "US Diplomatic Post: Kabul", 34.535812, 69.190514, "pm25", "µg/m³", "2020-10-31"): (3.0, 3.0, 1),
    ("AF", None, "US Diplomatic Post: Kabul", None, None, "pm25", "µg/m³", "2020-10-31"): (4.0, 4.0, 1),
    ("TW", "Taipei", "Taipei", 25.03, 121.56, "so2", "ppm", "2020-10-31"): (0.002, 0.002, 1),
    ("TW", "Taipei", "Taipei", 25.03, 121.56, "so2", "µg/m³", "2020-10-31"): (6.0, 6.0, 1),
}


def _expected_table(analysis: str) -> pa.Table:
    rows = []
    for key, (mean, maximum, count) in EXPECTED.items():
        rows.append({**dict(zip(KEY_COLUMNS, key, strict=True)),
                     "value": mean if analysis == "day_average" else maximum, "count": count})
    return pa.Table.from_pylist(rows)


def _object(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


# Invalid, blank and valid lines interleaved, so that nothing depends on position.
LINES = [x for pair in zip(VALID_LINES, INVALID_LINES, strict=False) for x in pair] + INVALID_LINES[len(VALID_LINES):]
LINES = LINES[:3] + BLANK_LINES + LINES[3:]


def _partial(data: bytes, path: str) -> kernel.Partial:
    if path == "scanner":
        return kernel.partial_from_bytes(data)
    return kernel.partial_from_bytes(data, use_scanner=False)


def _strict_json(text: bytes) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


#: The same lines without the two unparseable ones (which the scanner hands to the line reader).
WELL_FORMED = [x for x in LINES if x not in INVALID_LINES[:2]]


@pytest.mark.parametrize("compression", ["plain", "gzip"])
@pytest.mark.parametrize("path", ["scanner", "reference"])
@pytest.mark.parametrize("lines", [LINES, WELL_FORMED], ids=["all", "well-formed"])
def test_hand_made_lines_give_the_documented_result(lines, path, compression):
    data = _object(lines)
    if compression == "gzip":
        data = gzip.compress(data)
    partial = _partial(data, path)
    invalid = len(INVALID_LINES) - (len(LINES) - len(lines))
    assert (partial.records, partial.invalid_records) == (len(VALID_LINES) + invalid, invalid)
    if path == "scanner":  # it hands back exactly the lines that are not strict JSON (NaN, cut off, garbage)
        assert partial.slow_path_records == sum(1 for x in lines if x.strip() and not _strict_json(x))
    combined = kernel.combine([partial.table])
    for analysis in ("day_average", "day_max"):
        assert result_sha256(finalize(combined, analysis=analysis)) == result_sha256(_expected_table(analysis))


@pytest.mark.parametrize("token", [b"NaN", b"-Infinity", b"1e400", b"nan", b"inf"])
def test_a_non_finite_value_is_invalid_and_non_finite_literals_elsewhere_do_not_matter(token):
    bad_value = line(reading(1.0)).replace(b'"value": 1.0', b'"value": ' + token)
    elsewhere = line(reading(2.0)).replace(b'"averagingPeriod": {"value": 1', b'"averagingPeriod": {"value": ' + token)
    data = _object([bad_value, elsewhere, line(reading(4.0))])
    for partial in (kernel.partial_from_bytes(data), kernel.partial_from_bytes(data, use_scanner=False)):
        assert (partial.records, partial.invalid_records) == (3, 1)
        assert partial.table.column("sum").to_pylist() == [6.0]


def test_a_trailing_comma_is_read_as_duckdb_reads_it():
    data = _object([line(reading(1.0))[:-1] + b",}", line(reading(2.0))])
    for partial in (kernel.partial_from_bytes(data), kernel.partial_from_bytes(data, use_scanner=False)):
        assert (partial.records, partial.invalid_records) == (2, 0)


@pytest.mark.parametrize("city", [1e20, 12345678901234567890123, True, 0, -0.5])
def test_a_key_part_of_another_json_type_is_its_json_text_on_both_paths(city):
    data = _object([line(reading(1.0, city=city)), line(reading(2.0, city=str(city)))])
    fast, exact = kernel.partial_from_bytes(data), kernel.partial_from_bytes(data, use_scanner=False)
    assert exact.slow_path_records == 2 and fast.slow_path_records == 1  # the number is not a key part it decides
    assert sorted(fast.table.column("city").to_pylist()) == sorted(exact.table.column("city").to_pylist())


def test_day_average_is_the_mean_and_day_max_the_maximum_of_the_valid_readings():
    data = _object([line(reading(v)) for v in (1.0, 2.0, 6.0, -999)])
    combined = kernel.combine([kernel.partial_from_bytes(data).table])
    average = finalize(combined, analysis="day_average").to_pylist()[0]
    maximum = finalize(combined, analysis="day_max").to_pylist()[0]
    assert (average["value"], average["count"]) == (3.0, 3)
    assert (maximum["value"], maximum["count"]) == (6.0, 3)
    assert tuple(average) == RESULT_COLUMNS


def test_an_unknown_analysis_names_the_known_ones():
    with pytest.raises(ValueError, match="day_average, day_max"):
        finalize(kernel.partial_schema().empty_table(), analysis="day_median")


def _one_row(value: float) -> pa.Table:
    key = dict(zip(KEY_COLUMNS, ("PL", "Warszawa", "Marszałkowska", 52.2, 21.0, "no2", "ppm", "2020-10-31"),
                   strict=True))
    return pa.Table.from_pylist([{**key, "value": value, "count": 24}])


def test_the_checksum_does_not_depend_on_summation_order_at_a_rounding_tie():
    # 0.0144125 = 0.3459 / 24 is a tie at 6 decimals; summed in two orders the floats differ in the last bit.
    values = [0.0144, 0.0145] * 11 + [0.01435, 0.01445]
    forward, backward = sum(values) / 24, sum(reversed(values)) / 24
    nudged = math.nextafter(forward, math.inf)
    assert result_sha256(_one_row(forward)) == result_sha256(_one_row(backward)) == result_sha256(_one_row(nudged))
    assert result_sha256(_one_row(forward)) != result_sha256(_one_row(forward + 1e-6))


def test_the_checksum_ignores_row_order_and_writes_nulls_and_negative_zero_plainly():
    a, b = _one_row(1.0), _one_row(-1e-9)
    assert result_sha256(pa.concat_tables([a, b])) == result_sha256(pa.concat_tables([b, a]))
    assert canonical_lines(b)[0].endswith("\t0.000000\t24")
    with_null = pa.Table.from_pylist([{**_one_row(1.0).to_pylist()[0], "city": None}])
    assert "\t\t" in canonical_lines(with_null)[0]


def _reference_lines(result: pa.Table) -> list[str]:
    """The checksum's lines the straightforward way, cell by cell in Python (the implementation before Arrow)."""
    def cell(value) -> str:
        if isinstance(value, float):
            text = f"{float(f'{value:.12g}'):.6f}"
            return text[1:] if text.startswith("-") and not text.strip("-0.") else text
        return "" if value is None else str(value)

    columns = [[cell(value) for value in result.column(name).to_pylist()] for name in RESULT_COLUMNS]
    return sorted("\t".join(row) for row in zip(*columns, strict=True))


_TEXT = st.one_of(st.none(), st.sampled_from(["", "Kabul", "Łódź", "µg/m³", "a\tb", "Z", "é", "日本"]),
                  st.text(max_size=4))
_FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
    [0.0, -0.0, -1e-9, 0.0144125, 0.0000005, 2.5e-7, 1e16, -3.5, float("nan"), -float("nan")]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(*[_FLOAT if name in ("latitude", "longitude") else _TEXT for name in KEY_COLUMNS],
                          _FLOAT, st.one_of(st.none(), st.integers(-2**63, 2**63 - 1))), max_size=25))
def test_the_checksums_lines_equal_a_cell_by_cell_rendering(rows):
    schema = pa.schema([pa.field(name, pa.float64() if name in ("latitude", "longitude", "value") else
                                 pa.int64() if name == "count" else pa.string()) for name in RESULT_COLUMNS])
    table = pa.Table.from_pylist([dict(zip(RESULT_COLUMNS, row, strict=True)) for row in rows], schema=schema)
    assert canonical_lines(table) == _reference_lines(table)
    halves = [table.slice(0, len(rows) // 2), table.slice(len(rows) // 2)]
    assert canonical_lines(pa.concat_tables(halves)) == _reference_lines(table)  # chunked columns alike
    # The checksum hashes the header and each line after a break, as the lines' Python text would read.
    text = "\t".join(RESULT_COLUMNS) + "".join("\n" + line for line in _reference_lines(table))
    assert result_sha256(table) == result_sha256(table.slice(0)) == hashlib.sha256(text.encode()).hexdigest()
