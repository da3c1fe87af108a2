"""From a calibration to a platform: derived figures, overrides, the parameter table, sensitivity."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from aqstudy.backends.model import calibration as cal
from aqstudy.backends.model.parameters import ModelParameters, field_meta
from aqstudy.backends.model.platforms import build_platform, cpu_ratio
from aqstudy.backends.model.sensitivity import one_at_a_time
from aqstudy.backends.model.simulator import JobSpec
from aqstudy.study.paths import PROJECT_ROOT

KERNEL = {"kernel_mb_s": 500.0, "output_ratio": 0.006, "threads": 1, "overlaps_read": True, "call_import_s": 0.6,
          "peak_base_mb": 200.0, "peak_mb_per_input_mb": 0.5, "reduce_mb_s": 40.0, "reduce_output_ratio": 0.3,
          "samples": {"kernel_mb_s": [500.0]}}
LOCALHOST = {"cores": 2, "job_create_s": 0.001, "cold_start_s": 0.06, "call_pre_s": 0.01, "call_post_s": 0.01,
             "call_idle_s": 0.004, "map_mb_s": 400.0, "reduce_start_s": 0.1, "reduce_mb_s": 40.0,
             "reduce_fixed_s": 0.02, "reduce_end_s": 0.015}


def calibration_dict(**changes) -> dict:
    data = {"format": cal.FORMAT, "created": "2026-12-01T21:00:00Z", "machine": {"cores": 2},
            "cpu": {"matmul_gflops_per_core": 67.7}, "imports": {"handler_s": 0.2, "reference_libs_s": 0.3,
                                                                 "fork_s": 0.002},
            "kernels": {"project": dict(KERNEL), "original": {**KERNEL, "kernel_mb_s": 15.0, "overlaps_read": False}},
            "localhost": dict(LOCALHOST)}
    data.update(changes)
    return data


def test_the_lambda_cpu_ratio_and_init_come_from_the_published_figures_and_this_machine():
    calibration = cal.from_dict(calibration_dict(), path="x.json")
    platform, rows = build_platform(calibration, platform="aws_lambda", kernel="project")
    # 19.6 GFLOPS on a 1,024 MB function = 33.86 per full vCPU; this core does 67.7.
    assert cpu_ratio(platform.params, calibration) == pytest.approx(19.6 / (1024 / 1769) / 67.7)
    assert platform.cpu_ratio == pytest.approx(0.5, abs=0.001)
    assert platform.init_s == pytest.approx(1.5 * 0.2 / 0.3)  # image anchor × handler / reference imports
    zipped, _ = build_platform(calibration, platform="aws_lambda", kernel="original")
    assert zipped.init_s == pytest.approx(3.0 * 0.2 / 0.3)  # the original deployed Lithops' zip runtime
    derived = {row["name"] for row in rows if row["kind"] == "derived"}
    assert derived == {"cpu_ratio", "cold_io_scale", "init_s", "fork_s"}


def test_a_run_overrides_the_kernel_profile_and_parameters_and_bad_values_are_refused():
    calibration = cal.from_dict(calibration_dict())
    platform, rows = build_platform(calibration, platform="aws_lambda", kernel="project",
                                    overrides={"kernel_mb_s": 1e9, "output_ratio": 0.0, "client_mb_s": 100.0})
    assert platform.profile.kernel_mb_s == 1e9 and platform.profile.output_ratio == 0.0
    assert platform.params.client_mb_s == 100.0
    assert next(r for r in rows if r["name"] == "kernel.project.kernel_mb_s")["kind"] == "config"
    with pytest.raises(ValueError, match="not known"):
        build_platform(calibration, platform="aws_lambda", kernel="project", overrides={"client_mbs": 1})
    with pytest.raises(ValueError, match="backend.kernel_mb_s=0"):
        build_platform(calibration, platform="aws_lambda", kernel="project", overrides={"kernel_mb_s": 0})
    with pytest.raises(ValueError, match="backend.kernel='pandas'"):
        build_platform(calibration, platform="aws_lambda", kernel="pandas")


def test_every_parameter_has_a_unit_a_source_a_date_and_a_kind():
    for f in fields(ModelParameters):
        meta = field_meta(f.name)
        assert meta["unit"] and meta["source"] and meta["date"], f.name
        assert meta["kind"] in ("published", "code", "config", "assumption"), f.name
        if meta["kind"] == "assumption":
            assert "ASSUMPTION" in meta["source"], f.name


def test_a_calibration_of_another_format_or_missing_entries_is_refused_with_the_fix(tmp_path):
    with pytest.raises(cal.CalibrationError, match="make calibrate"):
        cal.from_dict(calibration_dict(format=0))
    broken = calibration_dict()
    del broken["imports"]["fork_s"]
    with pytest.raises(cal.CalibrationError, match="fork_s"):
        cal.from_dict(broken)
    with pytest.raises(cal.CalibrationError, match="run `make calibrate`"):
        cal.load(tmp_path / "missing.json")
    path = tmp_path / "c.json"
    path.write_text(json.dumps(calibration_dict()))
    assert cal.load(path).label == "c.json (make calibrate, 2026-12-01)"


def test_the_committed_calibration_reads():
    calibration = cal.load(PROJECT_ROOT / cal.DEFAULT_PATH)
    assert set(calibration.kernels) == {"project", "original"}
    assert calibration.matmul_gflops_per_core > 0 and calibration.localhost.map_mb_s > 0


def test_sensitivity_ranks_the_inputs_by_how_far_they_move_the_figure():
    calibration = cal.from_dict(calibration_dict())
    platform, _ = build_platform(calibration, platform="aws_lambda", kernel="original")
    spec = JobSpec(object_bytes=(25_000_000,) * 40, chunksize=2, workers=20, memory_mb=1024, reduce="client")
    rows = one_at_a_time(spec, platform, measure=lambda p: p.results_in_hand_at - p.submitted_at)
    swings = [row["swing_pct"] for row in rows]
    assert swings == sorted(swings, reverse=True)
    by_name = {row["parameter"]: row for row in rows}
    assert by_name["kernel.kernel_mb_s"]["high_pct"] < 0 < by_name["kernel.kernel_mb_s"]["low_pct"]
    assert by_name["cross_region_s"]["swing_pct"] == 0  # same-region job
