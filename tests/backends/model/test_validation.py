"""Validation b in the fast suite: the original study's timed pass, predicted from the committed calibration
with the model's stated parameters, is within 25% of the 69.4 s its log shows (first invocation → every result
in hand). The same check runs through ``src/run.py``'s path in test_plugin.py."""

from __future__ import annotations

from aqstudy.backends.model import calibration as cal
from aqstudy.backends.model.platforms import build_platform
from aqstudy.backends.model.simulator import JobSpec, simulate
from aqstudy.backends.model.validation import ORIGINAL_PASS_S, breakdown_table, original_pass_check
from aqstudy.study.paths import PROJECT_ROOT


def original_pass():
    calibration = cal.load(PROJECT_ROOT / cal.DEFAULT_PATH)
    platform, _ = build_platform(calibration, platform="aws_lambda", kernel="original")
    # 49.475 GB in 25 MB objects: 1,979 objects, chunksize 2 → 990 invocations at 1,024 MB, map + get_result().
    spec = JobSpec(object_bytes=(25_000_000,) * 1979, chunksize=2, workers=990, memory_mb=1024, reduce="client")
    return simulate(spec, platform)


def test_the_original_pass_is_predicted_within_25_percent_of_its_log():
    prediction = original_pass()
    check = original_pass_check(prediction.breakdown)
    assert check.measured_s == ORIGINAL_PASS_S
    assert check.passes, f"predicted {check.predicted_s:.1f} s, the log says {check.measured_s:.1f} s"


def test_the_pass_breakdown_accounts_for_the_span_in_order():
    prediction = original_pass()
    rows = {row["what"].split(":")[0]: row["seconds"] for row in breakdown_table(prediction.breakdown)}
    b = prediction.breakdown
    assert 0 < b["job_create_s"] < b["maps_done_s"] <= b["statuses_seen_s"] <= b["results_in_hand_s"]
    assert b["results_in_hand_s"] == b["statuses_seen_s"] + b["result_download_s"]
    assert {"dispatch", "start", "read", "compute", "polling"} <= set(rows)
    # Every map output (pickled JSON, ~1.5 MB per 25 MB object) reached the host at its assumed bandwidth.
    assert prediction.host_bytes_downloaded / 1e6 / 50.0 <= b["results_in_hand_s"]
