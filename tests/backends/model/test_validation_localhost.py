"""Validation a in the tests: backend=model backend.platform=localhost predicts measured localhost runs within
20% (the median of 3) with one and two workers (0.1–0.4 GB, chunksize 1 and auto). Three and four workers on this
shared 2-core machine are NOT asserted: in the full grid (python -m aqstudy.backends.model.validate_localhost
--full) several of those rows were outside ±20% (4 workers down to −35%)."""

from __future__ import annotations

import os

import pytest

from aqstudy.backends.model import calibration as cal
from aqstudy.backends.model.validate_localhost import SUBSET, TOLERANCE_PCT, validate
from aqstudy.study.paths import PROJECT_ROOT

pytestmark = pytest.mark.integration

#: Above this load per core other processes, not the model, decide the timings: the measurement itself does not
#: repeat (the same config measured 1×–2.5× its fastest minutes apart at ~3 per core here).
MAX_LOAD_PER_CORE = 2.0


def test_the_localhost_model_predicts_measured_runs_within_20_percent(tmp_path):
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    if load > MAX_LOAD_PER_CORE:
        pytest.skip(f"machine load {load:.1f} per core: timings here would measure the other processes")
    rows = validate(SUBSET, folder=tmp_path, calibration_path=PROJECT_ROOT / cal.DEFAULT_PATH, echo=lambda _: None)
    failed = [f"workers={r.workers} data={r.data_gb} chunksize={r.chunksize}: measured {r.measured_s}, predicted "
              f"{r.predicted_s:.2f} ({r.error_pct:+.0f}%)" for r in rows if not r.passes]
    assert not failed, f"outside ±{TOLERANCE_PCT:.0f}%: " + "; ".join(failed)
