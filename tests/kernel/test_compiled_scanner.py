"""The compiled scanner as a function imports it: alone (no numpy, pyarrow or numba), built by `make setup`,
and with a one-line fix when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from aqstudy.kernel import aggregate as kernel
from aqstudy.kernel import scanner

MAP_ONE_OBJECT = (
    "import io, sys\n"
    "from aqstudy.kernel import functions\n"
    "class Storage:\n"
    "    def get_object(self, bucket, key, stream=False):\n"
    "        return io.BytesIO(b'{\"value\": 1.5, \"city\": \"c\"}\\n{\"value\": NaN}\\n')\n"
    "out = functions.map_object('b', 'k', 43, Storage())\n"
    "heavy = sorted(m for m in ('numpy', 'pyarrow', 'numba', 'llvmlite', 'pandas') if m in sys.modules)\n"
    "print(out['records'], out['slow_path_records'], heavy)\n"
)


def test_a_map_call_imports_neither_numpy_nor_pyarrow():
    """The map's cold start is its imports: the scanner and zlib, and orjson for a handed-back line."""
    done = subprocess.run([sys.executable, "-c", MAP_ONE_OBJECT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["2", "1", "[]"]


def test_the_reduce_imports_neither_numpy_nor_pyarrow_either():
    """A reducer on Lambda is a fresh function too: its imports are the map's, not pyarrow's ~0.15 s."""
    reduce = "reduced = functions.reduce_partials([out, out])\nprint(len(reduced['calls']), "
    code = MAP_ONE_OBJECT.replace("print(", reduce)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["2", "2", "1", "[]"]


def _one_row_partial(country: bytes = b"x") -> bytearray:
    return bytearray(zlib.decompress(kernel.scan_bytes(b'{"value": 1, "country": "%s"}\n' % country).to_bytes()))


#: Where the country column of a one-row partial keeps its row's index and its strings' two offsets: after the
#: magic and the row count (16 bytes), then the column's distinct, null and text counts (24 bytes).
INDEX_AT, OFFSETS_AT = 40, 48


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda body: body[:-8], "ends before its data does"),
    (lambda body: body + bytes(8), "holds more than its data"),
    (lambda body: body[:INDEX_AT] + (5).to_bytes(4, "little") + body[INDEX_AT + 4:], "outside its dictionary"),
    (lambda body: body[:OFFSETS_AT] + (1).to_bytes(4, "little") + body[OFFSETS_AT + 4:], "do not start at 0"),
    (lambda body: body[:OFFSETS_AT + 4] + (3).to_bytes(4, "little") + body[OFFSETS_AT + 8:], "do not end at"),
    (lambda body: b"AQPART02" + body[8:], "not a map partial"),
])
def test_a_damaged_partial_is_refused_by_the_merge_before_any_group_changes(damage, reason):
    groups = scanner.Groups()
    groups.merge(bytes(_one_row_partial(b"kept")))
    intact = _one_row_partial()
    assert int.from_bytes(intact[INDEX_AT:INDEX_AT + 4], "little") == 0  # the layout the damages assume
    assert intact[OFFSETS_AT:OFFSETS_AT + 8] == (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    with pytest.raises(ValueError, match=reason):
        groups.merge(bytes(damage(intact)))
    assert groups.groups == 1
    groups.merge(bytes(intact))
    assert groups.groups == 2


def test_merged_partials_add_sums_and_counts_take_the_max_and_keep_first_seen_order():
    first = kernel.scan_bytes(b'{"value": 1, "city": "a"}\n{"value": 5, "city": "b"}\n').to_bytes()
    second = kernel.scan_bytes(b'{"value": 7, "city": "b"}\n{"value": 2, "city": "c"}\n').to_bytes()
    rows = kernel.reduce_table({"partial": kernel.merge_partials([first, second])}).to_pylist()
    assert [(row["city"], row["sum"], row["count"], row["max"]) for row in rows] == [
        ("a", 1.0, 1, 1.0), ("b", 12.0, 2, 7.0), ("c", 2.0, 1, 2.0)]
    assert kernel.reduce_table({"partial": kernel.merge_partials([])}).num_rows == 0


@pytest.mark.integration
def test_a_checkout_without_the_built_scanner_names_the_fix(tmp_path):
    package = tmp_path / "aqstudy"
    shutil.copytree(Path(scanner.__file__).parents[1], package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"))
    done = subprocess.run([sys.executable, "-c", "from aqstudy.kernel import aggregate; aggregate.warm()"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path)
    assert done.returncode != 0
    assert "is not built; run `make setup`" in done.stderr.strip().splitlines()[-1]


def test_the_scanner_refuses_a_length_beyond_its_buffer_and_keys_of_other_types():
    groups = scanner.Groups()
    with pytest.raises(ValueError, match="outside the buffer"):
        groups.scan(b"{}\n", 4, True)
    with pytest.raises(TypeError, match="str or None"):
        groups.add(1, None, None, None, None, None, None, None, 1.0, 1, 1.0)
    assert groups.groups == 0


def test_groups_added_twice_merge_and_keep_the_first_value_of_a_new_group():
    groups = scanner.Groups()
    key = ("US", None, "s", -0.0, float("nan"), "pm25", "µg/m³", "2020-10-31")
    groups.add(*key, -0.0, 1, -0.0)
    groups.add("US", None, "s", 0.0, float("nan"), "pm25", "µg/m³", "2020-10-31", 2.5, 3, 2.0)
    groups.add(*key[:3], None, *key[4:], 1.0, 1, 1.0)  # a null latitude is another key
    table = kernel.read_partial(kernel.Scan(groups=groups, records=0, invalid_records=0).to_bytes())
    rows = table.to_pylist()
    assert [(row["sum"], row["count"], row["max"]) for row in rows] == [(2.5, 4, 2.0), (1.0, 1, 1.0)]
    assert str(rows[0]["latitude"]) == "-0.0" and rows[1]["latitude"] is None


def test_a_missing_compiler_stops_the_build_with_one_line_naming_the_fix():
    check = Path(__file__).resolve().parents[2] / "runtime" / "check_compiler.py"
    done = subprocess.run([sys.executable, str(check)], capture_output=True, text=True,
                          env={**os.environ, "CC": "no-such-compiler-x"})
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert "no C compiler (no-such-compiler-x)" in done.stderr and "apt-get install gcc" in done.stderr
    assert subprocess.run([sys.executable, str(check)], capture_output=True).returncode == 0  # this machine has one
