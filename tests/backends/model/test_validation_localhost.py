"""Validation a in the tests: backend=model backend.platform=localhost against measured localhost runs (the median of
3) on a subset of the grid (every worker count 1–4 and data size 0.1–0.8 GB once, chunksize 1 and auto), every row
within the issue's ±20%. Until the reduce stopped using pyarrow (2026-12-02) this passed 4 times out of 8 here: one
forked reduce in several took 0.15–0.5 s more CPU beside a busy core (docs/model.md, validation a). The full grid:
python -m aqstudy.backends.model.validate_localhost --full."""

from __future__ import annotations

import os

import pytest

from aqstudy.backends.model import calibration as cal
from aqstudy.backends.model.validate_localhost import SUBSET, TOLERANCE_PCT
from aqstudy.study.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration

#: Above this load per core other processes, not the model, decide the timings: the measurement itself does not
#: repeat (the same config measured 1×–2.5× its fastest minutes apart at ~3 per core here).
MAX_LOAD_PER_CORE = 2.0


@pytest.fixture(scope="module")
def validation_rows() -> list[list[str]]:
    """Validation a on the subset, run as the command users run, in a process of its own: it points Lithops at
    its own temp home, which Lithops fixes at its first import (here, the test session's), so in-process the
    runners and the host looked in two places and the job never ended."""
    import subprocess
    import sys

    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > MAX_LOAD_PER_CORE:
        pytest.skip(f"machine load {load:.1f} per core: timings here would measure the other processes")
    done = subprocess.run([sys.executable, "-m", "aqstudy.backends.model.validate_localhost",
                           "--calibration", str(PROJECT_ROOT / cal.DEFAULT_PATH)],
                          capture_output=True, text=True, timeout=1200, cwd=PROJECT_ROOT)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in done.stdout.splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == len(SUBSET), done.stdout[-3000:] + done.stderr[-3000:]
    return rows


def _error_pct(row: list[str]) -> float:
    return float(row[6].rstrip("%"))


def test_the_localhost_model_predicts_measured_runs_within_20_percent(validation_rows):
    failed = [" | ".join(row) for row in validation_rows if abs(_error_pct(row)) > TOLERANCE_PCT]
    assert not failed, f"outside ±{TOLERANCE_PCT:.0f}%: " + "; ".join(failed)
