"""The pure parts of ``make calibrate`` (the measurements themselves run in validation a's test)."""

from __future__ import annotations

import pytest

from aqstudy.backends.model.calibrate import reduce_line


def test_the_reduce_line_goes_through_both_measured_points():
    mb_s, fixed_s = reduce_line((1.0, 0.04), (4.0, 0.10), fallback_mb_s=50.0)
    assert mb_s == pytest.approx(50.0)  # 3 MB more in 0.06 s more
    assert fixed_s == pytest.approx(0.02)
    assert fixed_s + 4.0 / mb_s == pytest.approx(0.10)


def test_a_larger_reduce_measured_no_slower_falls_back_to_the_kernels_rate_through_the_smaller_point():
    assert reduce_line((1.0, 0.05), (4.0, 0.05), fallback_mb_s=40.0) == pytest.approx((40.0, 0.025))
    assert reduce_line((1.0, 0.05), (4.0, 0.04), fallback_mb_s=40.0) == pytest.approx((40.0, 0.025))


def test_the_fixed_part_is_never_negative():
    assert reduce_line((1.0, 0.01), (4.0, 0.20), fallback_mb_s=40.0)[1] == 0.0


def test_a_calibration_from_before_the_first_calls_start_up_was_measured_apart_reads_the_per_call_figure():
    import json

    from aqstudy.backends.model import calibration as cal
    from aqstudy.study.paths import PROJECT_ROOT

    data = json.loads((PROJECT_ROOT / cal.DEFAULT_PATH).read_text())
    assert cal.from_dict(data).localhost.first_call_pre_s == data["localhost"]["first_call_pre_s"]
    del data["localhost"]["first_call_pre_s"]
    assert cal.from_dict(data).localhost.first_call_pre_s == data["localhost"]["call_pre_s"]
