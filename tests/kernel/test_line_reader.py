"""The line reader on lines orjson rejects but DuckDB reads (trailing commas, NaN/Infinity literals): key
parts keep the text DuckDB writes, coordinates and values the numbers DuckDB casts them to."""

from __future__ import annotations

import math

from aqstudy.kernel import aggregate as kernel

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
