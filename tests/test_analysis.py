"""The analysis semantics pinned on hand-made OpenAQ lines, through both kernel paths, plain and gzip."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from collections import Counter
from fractions import Fraction

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aqstudy.analysis import RESULT_SHA256_VERSION, canonical_header, canonical_lines, finalize, result_sha256
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


def _one_row(value: float, **key) -> pa.Table:
    row = dict(zip(KEY_COLUMNS, ("PL", "Warszawa", "Marszałkowska", 52.2, 21.0, "no2", "ppm", "2020-10-31"),
                   strict=True))
    return pa.Table.from_pylist([{**row, **key, "value": value, "count": 24}], schema=RESULT_SCHEMA)


RESULT_SCHEMA = pa.schema([pa.field(name, pa.float64() if name in ("latitude", "longitude", "value") else
                                    pa.int64() if name == "count" else pa.string()) for name in RESULT_COLUMNS])
STRING_COLUMNS = [name for name in KEY_COLUMNS if RESULT_SCHEMA.field(name).type == pa.string()]


def _hourly(readings: list[tuple[int, str]], **key) -> bytes:
    """An object of one station's hourly readings on 2020-10-31, ``value`` written as the given JSON text."""
    fields = {"parameter": "no2", "unit": "ppm", "location": "Marszałkowska", "city": "Warszawa", "country": "PL",
              "coordinates": {"latitude": 52.2, "longitude": 21.0}} | key
    tail = json.dumps(fields, ensure_ascii=False)[1:]
    return "".join(f'{{"date": {{"utc": "2020-10-31T{hour:02d}:00:00.000Z"}}, "value": {value}, {tail}\n'
                   for hour, value in readings).encode()


def _result(objects: list[bytes], analysis: str = "day_average") -> pa.Table:
    return finalize(kernel.combine([kernel.partial_from_bytes(data).table for data in objects]), analysis=analysis)


def test_the_issues_four_datasets_give_four_digests():
    # One reading each: a null city and an empty one; a tab at the end of one field or the start of the next.
    datasets = [{"city": None, "location": "L"}, {"city": "", "location": "L"},
                {"city": "a", "location": "b\tc"}, {"city": "a\tb", "location": "c"}]
    digests = [result_sha256(_result([_hourly([(10, "1.5")], **key)])) for key in datasets]
    assert len(set(digests)) == 4


#: 24 hourly readings (ppm, four decimals) whose exact mean, 0.3459 / 24 = 0.0144125, is a tie at 6 decimals.
TIE_READINGS = [(hour, f"0.0{n}") for hour, n in enumerate(
    [145, 167, 125, 166, 130, 130, 128, 121, 129, 157, 149, 161, 129, 159, 158, 150, 162, 142, 129, 155, 155, 128,
     121, 163])]


def test_the_checksum_does_not_depend_on_summation_order_at_a_rounding_tie():
    assert sum(Fraction(value) for _, value in TIE_READINGS) / 24 == Fraction("0.0144125")
    # The same readings in one object, and in four objects of six hours: the kernel adds them in another order.
    whole = _result([_hourly(TIE_READINGS)])
    split = _result([_hourly(TIE_READINGS[i:i + 6]) for i in range(0, 24, 6)])
    means = whole["value"][0].as_py(), split["value"][0].as_py()
    # The floats straddle the tie, so rounding them straight to 6 decimals would give two results.
    assert means[0] != means[1] and format(means[0], ".6f") != format(means[1], ".6f")
    assert result_sha256(whole) == result_sha256(split)
    assert canonical_lines(whole) == canonical_lines(split)
    assert result_sha256(whole) != result_sha256(_one_row(means[0] + 1e-6))


def test_the_checksum_ignores_row_order_and_writes_nulls_and_negative_zero_plainly():
    a, b = _one_row(1.0), _one_row(-1e-9)
    assert result_sha256(pa.concat_tables([a, b])) == result_sha256(pa.concat_tables([b, a]))
    assert canonical_lines(b)[0].endswith("\t0.000000\t24")
    assert canonical_lines(_one_row(1.0, city=None))[0].startswith("PL\t\\N\tMarsza")
    assert canonical_lines(_one_row(1.0, city=""))[0].startswith("PL\t\tMarsza")
    assert canonical_lines(_one_row(1.0, city="\\N"))[0].startswith("PL\t\\\\N\tMarsza")


def _float_text(value: float) -> str:
    text = f"{float(f'{value:.12g}'):.6f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _canonical_rows(result: pa.Table) -> Counter:
    """What a result is, as the checksum defines it (docs/analysis.md): its rows as a multiset, floats rounded
    to 12 significant digits and then to 6 decimals, every other value as it is (None included)."""
    rows = [tuple(_float_text(v) if isinstance(v, float) else v for v in row.values()) for row in result.to_pylist()]
    return Counter(rows)


def _reference_lines(result: pa.Table) -> list[str]:
    """The checksum's lines the straightforward way, cell by cell in Python."""
    def cell(value) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, float):
            return _float_text(value)
        return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

    columns = [[cell(value) for value in result.column(name).to_pylist()] for name in RESULT_COLUMNS]
    return sorted("\t".join(row) for row in zip(*columns, strict=True))


_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def _decode(text: str) -> Counter:
    """The rows a hashed text stands for, read back: the encoding is injective when this inverts it."""
    header, *lines = text.split("\n")
    assert header == "\t".join((f"v{RESULT_SHA256_VERSION}", *RESULT_COLUMNS))
    rows = []
    for line in lines:
        fields = line.split("\t")
        assert len(fields) == len(RESULT_COLUMNS)
        row = []
        for name, field_text in zip(RESULT_COLUMNS, fields, strict=True):
            if field_text == "\\N":
                row.append(None)
                continue
            assert re.fullmatch(r"(?:[^\\]|\\[\\tnr])*", field_text), field_text  # every backslash escapes
            value = re.sub(r"\\(.)", lambda match: _UNESCAPE[match.group(1)], field_text)
            row.append(int(value) if name == "count" else value)
        rows.append(tuple(row))
    return Counter(rows)


def _hashed_text(result: pa.Table) -> str:
    return canonical_header() + "".join("\n" + line for line in canonical_lines(result))


#: Strings that a careless encoding confuses: empty, null-like, separators, escapes, and plain text.
_TRICKY = ["", "\\N", "N", "\\", "\t", "\n", "\r", "\\t", "a\tb", "a\nb", "a\\tb", "b\tc", "Kabul", "Łódź",
           "µg/m³", "日本", "a"]
_TEXT = st.one_of(st.none(), st.sampled_from(_TRICKY), st.text(max_size=4))
_FLOAT = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(
    [0.0, -0.0, -1e-9, 0.0144125, 0.0000005, 2.5e-7, 1e16, -3.5, float("nan"), -float("nan")]))
_COUNT = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1))
_ROW = st.tuples(*[_FLOAT if name in ("latitude", "longitude") else _TEXT for name in KEY_COLUMNS], _FLOAT, _COUNT)


def _table(rows) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(RESULT_COLUMNS, row, strict=True)) for row in rows], schema=RESULT_SCHEMA)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, max_size=25))
def test_the_checksums_lines_equal_a_cell_by_cell_rendering_and_read_back_to_the_rows(rows):
    table = _table(rows)
    assert canonical_lines(table) == _reference_lines(table)
    halves = [table.slice(0, len(rows) // 2), table.slice(len(rows) // 2)]
    assert canonical_lines(pa.concat_tables(halves)) == _reference_lines(table)  # chunked columns alike
    # The checksum hashes the header and each line after a break, as the lines' Python text would read.
    text = _hashed_text(table)
    assert result_sha256(table) == result_sha256(table.slice(0)) == hashlib.sha256(text.encode()).hexdigest()
    # Injective: the text gives back exactly the (rounded) rows, so two results that differ never share it.
    assert _decode(text) == _canonical_rows(table)


#: Few distinct values per column, so that two drawn tables are often equal, or equal but for one cell.
_SMALL_VALUES = [[0.0, 1.5] if name in ("latitude", "longitude") else [None, 1.0, 1.0000000000001, 2.0]
                 if name == "value" else [1, 2] if name == "count" else [None, "", "\\N", "a", "a\tb", "b"]
                 for name in RESULT_COLUMNS]
_SMALL_ROW = st.tuples(*map(st.sampled_from, _SMALL_VALUES))


@settings(max_examples=300, deadline=None)
@given(st.lists(_SMALL_ROW, max_size=4), st.lists(_SMALL_ROW, max_size=4), st.data())
def test_two_results_share_a_digest_exactly_when_their_rounded_rows_are_equal(rows, others, data):
    how = data.draw(st.sampled_from(["drawn apart", "shuffled", "one cell changed"]))
    if how != "drawn apart":
        others = data.draw(st.permutations(rows))
    if how == "one cell changed" and rows:
        row, column = data.draw(st.integers(0, len(rows) - 1)), data.draw(st.integers(0, len(RESULT_COLUMNS) - 1))
        others = [list(r) for r in others]
        others[row][column] = data.draw(st.sampled_from(_SMALL_VALUES[column]))
    same = _canonical_rows(_table(rows)) == _canonical_rows(_table(others))
    assert (result_sha256(_table(rows)) == result_sha256(_table(others))) == same


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=6), st.data())
def test_a_null_and_an_empty_string_never_share_a_digest(rows, data):
    row = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(STRING_COLUMNS))
    position = RESULT_COLUMNS.index(column)
    changed = [list(r) for r in rows]
    changed[row][position] = "" if rows[row][position] is None else None
    if _canonical_rows(_table(rows)) != _canonical_rows(_table(changed)):  # unless another row makes up for it
        assert result_sha256(_table(rows)) != result_sha256(_table(changed))


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=6), st.data())
def test_a_separator_moved_across_a_field_boundary_changes_the_digest(rows, data):
    # ("a", "b<sep>c") against ("a<sep>b", "c"): the same characters, split between two fields another way.
    row = data.draw(st.integers(0, len(rows) - 1))
    left = data.draw(st.sampled_from(STRING_COLUMNS[:-1]))
    right = STRING_COLUMNS[STRING_COLUMNS.index(left) + 1]
    separator = data.draw(st.sampled_from(["\t", "\n", "\r", "\\", "\\t", "\t\\N\t"]))
    a, b, c = (data.draw(st.text(alphabet="ab\\Nt", max_size=3)) for _ in range(3))
    first, second = [list(r) for r in rows], [list(r) for r in rows]
    first[row][RESULT_COLUMNS.index(left)], first[row][RESULT_COLUMNS.index(right)] = a, b + separator + c
    second[row][RESULT_COLUMNS.index(left)], second[row][RESULT_COLUMNS.index(right)] = a + separator + b, c
    if _canonical_rows(_table(first)) != _canonical_rows(_table(second)):
        assert result_sha256(_table(first)) != result_sha256(_table(second))


def test_a_line_break_inside_a_field_cannot_forge_a_row():
    two = pa.concat_tables([_one_row(1.0, country="DE"), _one_row(2.0)])
    first, second = canonical_lines(two)
    assert first.startswith("DE\t") and second.startswith("PL\t")
    # One row whose country is the first line, a line break and "PL": written unescaped, its line would be
    # the two lines above, one after the other.
    forged = _one_row(2.0, country=first + "\nPL")
    unescaped = "\t".join(_float_text(v) if isinstance(v, float) else str(v) for v in forged.to_pylist()[0].values())
    assert unescaped == first + "\n" + second
    assert result_sha256(forged) != result_sha256(two)


_READINGS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 99_999), st.sampled_from([1, 4])),
                     min_size=2, max_size=40)


def _day_groups(readings, moved: int | None = None, to: int = 0) -> pa.Table:
    """Partials of readings (group, value in units of the last decimal, decimals), one row per reading, with
    reading ``moved`` put in group ``to``: what a map would emit; the reduce combines them."""
    rows = []
    for index, (group, units, decimals) in enumerate(readings):
        value = units / 10 ** decimals
        key = ("PL", "Warszawa", f"station {to if index == moved else group}", 52.2, 21.0, "no2", "ppm",
               "2020-10-31")
        rows.append({**dict(zip(KEY_COLUMNS, key, strict=True)), "sum": value, "count": 1, "max": value})
    return kernel.combine([pa.Table.from_pylist(rows, schema=kernel.partial_schema())])


@settings(max_examples=150, deadline=None)
@given(_READINGS, st.data())
def test_a_reading_moved_to_another_group_changes_the_digest(readings, data):
    moved = data.draw(st.integers(0, len(readings) - 1))
    to = data.draw(st.integers(0, 3).filter(lambda group: group != readings[moved][0]))
    for analysis in ("day_average", "day_max"):
        before = finalize(_day_groups(readings), analysis=analysis)
        after = finalize(_day_groups(readings, moved=moved, to=to), analysis=analysis)
        assert _canonical_rows(before) != _canonical_rows(after)  # a count always moves with the reading
        assert result_sha256(before) != result_sha256(after)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ROW, max_size=6), st.lists(_ROW, min_size=2, max_size=6), st.data())
def test_values_or_counts_swapped_between_groups_change_the_digest(rows, pair, data):
    # Every column keeps its multiset of values; only which key holds which value changes.
    first, second = pair[0], pair[1]
    swapped = [(*first[:8], *second[8:]), (*second[:8], *first[8:])] + pair[2:]
    original = _table([*rows, *pair])
    changed = _table([*rows, *swapped])
    if _canonical_rows(original) != _canonical_rows(changed):
        assert result_sha256(original) != result_sha256(changed)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10 ** 7), min_size=1, max_size=120), st.sampled_from([0, 1, 2, 4]),
       st.randoms(use_true_random=False), st.integers(1, 8))
def test_the_digest_does_not_depend_on_summation_order(units, decimals, rng, parts):
    # Readings with at most four decimals (as the archive has them), summed as a map and the reduce would:
    # in one pass, or shuffled into partials whose sums are then added.
    values = [n / 10 ** decimals for n in units]
    one_pass = sum(values) / len(values)
    shuffled = rng.sample(values, len(values))
    partitioned = sum(sum(shuffled[i::parts]) for i in range(parts)) / len(values)
    exact = math.fsum(values) / len(values)
    assert len({result_sha256(_one_row(v)) for v in (one_pass, partitioned, exact)}) == 1


def test_a_runs_digest_version_comes_from_its_tags():
    from aqstudy.analysis import DIGEST_TAG, DIGEST_VERSION_TAG, UNTAGGED_VERSION, digest_version

    assert digest_version({DIGEST_TAG: "ab", DIGEST_VERSION_TAG: "7"}) == "7"
    assert digest_version({DIGEST_TAG: "ab"}) == UNTAGGED_VERSION == "1"  # logged before versions were tagged
    assert digest_version({DIGEST_VERSION_TAG: "7"}) is None  # no digest, nothing to compare
    assert digest_version({DIGEST_TAG: "", DIGEST_VERSION_TAG: "7"}) is None


def test_the_checksum_does_not_depend_on_how_arrow_stores_the_strings():
    rows = {"country": ["US", "US"], "city": ["a\tb", None], "location": ["l\\1", "l2\n"], "latitude": [1.0, None],
            "longitude": [2.0, 3.0], "parameter": ["pm25", "o3"], "unit": ["µg/m³", "ppm"],
            "day": ["2020-01-01", "2020-01-02"], "value": [1.5, 2.5], "count": [1, 2]}
    plain = pa.table({name: rows[name] for name in RESULT_COLUMNS})
    stored = {"dictionary": plain.set_column(1, "city", plain.column("city").dictionary_encode()),
              "large": plain.set_column(2, "location", plain.column("location").cast(pa.large_string())),
              "view": plain.set_column(1, "city", plain.column("city").cast(pa.string_view()))}
    for name, table in stored.items():
        assert canonical_lines(table) == canonical_lines(plain), name
        assert result_sha256(table) == result_sha256(plain), name
    assert sorted(line.split("\t")[1:3] for line in canonical_lines(plain)) == [["\\N", "l2\\n"], ["a\\tb", "l\\\\1"]]
