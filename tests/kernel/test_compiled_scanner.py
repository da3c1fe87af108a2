"""The compiled scanner as a function imports it: alone (no numpy, pyarrow or numba), built by `make setup`,
and with a one-line fix when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
