"""The Lambda runtime's compiled scanner: shipped read-only in the image, seeded into a writable numba cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aqstudy.kernel import scanner

CODE = ("from aqstudy import kernel; kernel.warm()\n"
        "from aqstudy.kernel import scanner; stats = scanner.scan_block.stats\n"
        "print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))\n")


@pytest.mark.integration
def test_a_cache_built_into_a_seed_folder_is_loaded_from_a_fresh_cache_dir(tmp_path):
    """As in the image: compile once into the seed (read-only later), then a 'cold start' with an empty
    NUMBA_CACHE_DIR loads the scanner from the copied seed instead of compiling it."""
    package = tmp_path / "function" / "aqstudy"
    shutil.copytree(Path(scanner.__file__).parents[1], package, ignore=shutil.ignore_patterns("__pycache__"))
    base = {**os.environ, "PYTHONPATH": str(package.parent), "NUMBA_CPU_NAME": "generic"}
    build = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                           env={**base, "NUMBA_CACHE_DIR": str(tmp_path / "seed")})
    assert build.returncode == 0, build.stderr[-3000:]
    assert build.stdout.split() == ["0", "1"]  # compiled
    (tmp_path / "seed").chmod(0o555)
    cold = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          env={**base, "NUMBA_CACHE_DIR": str(tmp_path / "tmp" / "numba-cache"),
                               "AQSTUDY_NUMBA_CACHE_SEED": str(tmp_path / "seed")})
    assert cold.returncode == 0, cold.stderr[-3000:]
    assert cold.stdout.split() == ["1", "0"], cold.stderr  # loaded, not compiled
    assert (tmp_path / "tmp" / "numba-cache").is_dir()


def test_bytes_and_streams_share_one_compiled_scanner():
    """A second argument type would be a second compile (~12 s) in every worker of a fresh checkout."""
    import io

    from aqstudy.kernel import aggregate as kernel

    kernel.partial_from_bytes(b'{"value": 1}\n')
    kernel.partial_from_reader(io.BytesIO(b'{"value": 2}\n'), block_bytes=16)
    assert len(scanner.scan_block.signatures) == 1
