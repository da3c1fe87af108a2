"""Bad input never fails a run: every line is counted, valid + invalid = records, both map paths agree."""

from __future__ import annotations

import gzip
import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from aqstudy.kernel import aggregate as kernel

GOOD = {"date": {"utc": "2020-10-31T06:30:00.000Z", "local": "2020-10-31T11:00:00+04:30"}, "parameter": "pm25",
        "value": 12.5, "unit": "µg/m³", "averagingPeriod": {"value": 1, "unit": "hours"}, "location": "Kabul",
        "city": "Kabul", "country": "AF", "coordinates": {"latitude": 34.53, "longitude": 69.19},
        "attribution": [{"name": "EPA"}], "sourceName": "StateAir", "sourceType": "government", "mobile": False}
GOOD_LINE = json.dumps(GOOD, ensure_ascii=False).encode()


def _both(data: bytes):
    fast = kernel.partial_from_bytes(data)
    exact = kernel.partial_from_bytes(data, use_scanner=False)
    return fast, exact


def _assert_consistent(data: bytes, *, records: int, invalid: int):
    fast, exact = _both(data)
    for partial in (fast, exact):
        assert (partial.records, partial.invalid_records) == (records, invalid)
        assert int(sum(partial.table.column("count").to_pylist())) == records - invalid


def test_a_truncated_gzip_member_counts_what_it_holds():
    data = gzip.compress(b"\n".join([GOOD_LINE] * 200) + b"\n")
    cut = data[: len(data) * 2 // 3]
    fast, exact = _both(cut)
    assert fast.records == exact.records and fast.invalid_records == exact.invalid_records
    assert 0 < exact.records < 200
    assert exact.records - exact.invalid_records >= exact.records - 1  # only the cut-off line can be broken


def test_non_utf8_bytes_make_that_line_invalid():
    _assert_consistent(GOOD_LINE + b"\n" + GOOD_LINE.replace(b"Kabul", b"Ka\xff\xfebul") + b"\n", records=2, invalid=1)


def test_a_ten_megabyte_line_is_one_invalid_record():
    huge = b'{"value": 1, "junk": "' + b"x" * 10_000_000 + b'"'  # never closed: not JSON
    _assert_consistent(GOOD_LINE + b"\n" + huge + b"\n" + GOOD_LINE + b"\n", records=3, invalid=1)


def test_json_that_is_not_an_object_and_empty_objects_are_invalid():
    lines = [GOOD_LINE, b"[1, 2]", b"42", b'"text"', b"null", b"{}", b"true"]
    _assert_consistent(b"\n".join(lines) + b"\n", records=7, invalid=6)


def test_wrong_types_are_counted_not_fatal():
    variants = [dict(GOOD, value="12.5"), dict(GOOD, value=True), dict(GOOD, value=None), dict(GOOD, value=[1]),
                dict(GOOD, date="2020-10-31"), dict(GOOD, coordinates="here"), dict(GOOD, value={"v": 1})]
    lines = [GOOD_LINE] + [json.dumps(v).encode() for v in variants]
    # Every variant with a non-number value is invalid; the date and coordinates variants keep value 12.5.
    _assert_consistent(b"\n".join(lines) + b"\n", records=8, invalid=5)


def test_zero_bytes_and_blank_lines_are_no_records():
    _assert_consistent(b"", records=0, invalid=0)
    _assert_consistent(b"\n\n   \n", records=0, invalid=0)
    _assert_consistent(gzip.compress(b""), records=0, invalid=0)


_FIELDS = sorted(GOOD)
_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                    st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@st.composite
def mutated_lines(draw) -> bytes:
    """An OpenAQ line with a field replaced or removed, then maybe cut short or with bytes flipped."""
    record = dict(GOOD)
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(_FIELDS))
        if draw(st.booleans()):
            record[field] = draw(_VALUES)
        else:
            record.pop(field, None)
    line = json.dumps(record, ensure_ascii=draw(st.booleans())).encode()
    mutation = draw(st.sampled_from(["none", "cut", "flip", "garbage"]))
    if mutation == "cut":
        line = line[: draw(st.integers(0, len(line)))]
    elif mutation == "flip":
        position = draw(st.integers(0, len(line) - 1))
        line = line[:position] + bytes([draw(st.integers(0, 255))]) + line[position + 1:]
    elif mutation == "garbage":
        line = draw(st.binary(max_size=40))
    return line.replace(b"\n", b" ").replace(b"\r", b" ")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated_lines(), min_size=1, max_size=12), st.booleans())
@example([b"\x1f\x8b"], False)  # starts like gzip but is not: still one (invalid) record
def test_random_and_mutated_lines_never_raise_and_always_add_up(lines, compress):
    data = b"\n".join(lines) + b"\n"
    non_blank = sum(1 for line in lines if line.strip())
    if compress:
        data = gzip.compress(data)
    fast, exact = _both(data)
    for partial in (fast, exact):
        valid = int(sum(partial.table.column("count").to_pylist()))
        assert partial.records == non_blank
        assert valid + partial.invalid_records == partial.records
    assert fast.invalid_records == exact.invalid_records


def test_a_lone_surrogate_escape_makes_that_line_invalid_as_duckdb_reads_it():
    """Python's json takes "\\ud800"; DuckDB rejects the line (no low surrogate), and its text is not UTF-8."""
    lone = GOOD_LINE.replace(b'"city": "Kabul"', b'"city": "Ka\\ud800bul"')
    swapped = GOOD_LINE.replace(b'"city": "Kabul"', b'"city": "\\udc00"')
    pair = GOOD_LINE.replace(b'"city": "Kabul"', b'"city": "\\ud83d\\ude00"')  # a valid pair: one emoji
    assert lone != GOOD_LINE and swapped != GOOD_LINE and pair != GOOD_LINE
    _assert_consistent(b"\n".join([GOOD_LINE, lone, swapped, pair]) + b"\n", records=4, invalid=2)
