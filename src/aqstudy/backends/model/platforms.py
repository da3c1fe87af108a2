"""From a calibration and the run's settings to the :class:`~aqstudy.backends.model.simulator.Platform` the
simulator plays the job on (pure), with the derived figures stated.

Derived figures (each row of the parameter table of a prediction):

- ``cpu_ratio``: a Lambda vCPU's speed relative to this machine's core = the published matmul GFLOPS of a
  1,024 MB function divided by its vCPU share (1,024 / 1,769), over this core's measured matmul GFLOPS.
- ``cold_io_scale``: the published INIT of numpy + pandas + pyarrow (by packaging) over their import time
  measured here with warm caches: how much slower a new environment's first imports are.
- ``init_s``: INIT of a new environment = ``cold_io_scale`` × the measured import of Lithops' handler.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from aqstudy.backends.model.calibration import KERNELS, Calibration
from aqstudy.backends.model.parameters import ONE_VCPU_MB, ModelParameters, parameter_table, with_overrides
from aqstudy.backends.model.simulator import Platform

#: Published INIT of numpy + pandas + pyarrow by packaging (fourTheorem lambda-datasci-perf, 2023): a container
#: image with warm caches 1.0–2.0 s (midpoint), a zip ≈ 3.0 s. This project's runtime is an image
#: (runtime/aws_lambda.Dockerfile); the original study deployed Lithops' default zip runtime with a layer.
INIT_ANCHOR_S = {"image": 1.5, "zip": 3.0}
#: How each kernel's code was deployed, unless ``backend.packaging`` says otherwise.
DEFAULT_PACKAGING = {"project": "image", "original": "zip"}
#: Kernel-profile settings a run may override (``backend.kernel_mb_s``, ``backend.output_ratio``).
PROFILE_OVERRIDES = ("kernel_mb_s", "output_ratio")


def cpu_ratio(params: ModelParameters, calibration: Calibration) -> float:
    """A Lambda vCPU's speed relative to this machine's core (matmul GFLOPS per full vCPU / per core here)."""
    per_vcpu = params.lambda_gflops_1024mb / (1024 / ONE_VCPU_MB)
    return per_vcpu / calibration.matmul_gflops_per_core


def build_platform(calibration: Calibration, *, platform: str, kernel: str, packaging: str | None = None,
                   overrides: dict[str, Any] | None = None, monitoring_interval_s: float | None = None,
                   invoke_pool_threads: int | None = None) -> tuple[Platform, list[dict]]:
    """The platform and the table of every parameter it uses (value, unit, source, date).

    :param platform: ``aws_lambda`` or ``localhost``.
    :param kernel: ``project`` or ``original`` (the calibration's profile).
    :param packaging: ``image`` or ``zip``: which published INIT anchors the cold start; None = the kernel's own.
    :param overrides: ``ModelParameters`` fields and ``kernel_mb_s``/``output_ratio`` to replace.
    :param monitoring_interval_s: ``backend.monitoring_interval`` of the run.
    :param invoke_pool_threads: ``backend.invoke_pool_threads`` of the run.
    """
    if kernel not in KERNELS:
        raise ValueError(f"backend.kernel={kernel!r} is not known; choose {' or '.join(KERNELS)}")
    packaging = packaging or DEFAULT_PACKAGING[kernel]
    if packaging not in INIT_ANCHOR_S:
        raise ValueError(f"backend.packaging={packaging!r} is not known; choose image or zip")
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    profile_changes = {k: float(overrides.pop(k)) for k in PROFILE_OVERRIDES if k in overrides}
    for name, value in profile_changes.items():
        if value < 0 or (name == "kernel_mb_s" and value == 0):
            raise ValueError(f"backend.{name}={value:g} is not valid; pass a number > 0"
                             + (" (≥ 0 for output_ratio)" if name == "output_ratio" else ""))
    profile = replace(calibration.kernels[kernel], **profile_changes)
    base = ModelParameters(init_anchor_s=INIT_ANCHOR_S[packaging])
    if monitoring_interval_s is not None:
        base = replace(base, monitoring_interval_s=float(monitoring_interval_s))
    if invoke_pool_threads is not None:
        base = replace(base, invoke_pool_threads=int(invoke_pool_threads))
    params = with_overrides(base, overrides)
    source = calibration.label
    if platform == "localhost":
        built = Platform(name="localhost", params=params, profile=profile, localhost=calibration.localhost)
        return built, parameter_table(params, calibration_source=source, profile=profile,
                                      localhost=calibration.localhost)
    if platform != "aws_lambda":
        raise ValueError(f"backend.platform={platform!r} is not known; choose aws_lambda or localhost")
    ratio = cpu_ratio(params, calibration)
    cold_io_scale = params.init_anchor_s / calibration.reference_import_s
    init_s = cold_io_scale * calibration.handler_import_s
    built = Platform(name="aws_lambda", params=params, profile=profile, cpu_ratio=ratio, init_s=init_s,
                     cold_io_scale=cold_io_scale, fork_s=calibration.fork_s)
    derived = {
        "cpu_ratio": (ratio, "Lambda vCPU / this core", f"lambda_gflops_1024mb / (1024/1769) / matmul GFLOPS per "
                      f"core here ({calibration.matmul_gflops_per_core:.1f}, {source})"),
        "cold_io_scale": (cold_io_scale, "×", f"init_anchor_s ({packaging}) / numpy+pandas+pyarrow import here "
                          f"({calibration.reference_import_s:.3f} s, {source})"),
        "init_s": (init_s, "s per new environment", f"cold_io_scale × Lithops handler import here "
                   f"({calibration.handler_import_s:.3f} s, {source})"),
        "fork_s": (calibration.fork_s, "s per call (this core)", f"fork of the handler's process ({source})"),
    }
    rows = parameter_table(params, calibration_source=source, profile=profile, derived=derived)
    for row in rows:
        if row["name"] == "init_anchor_s":
            row["source"] += f" — packaging={packaging}"
        if row["name"].startswith(f"kernel.{kernel}.") and row["name"].split(".")[-1] in profile_changes:
            row["source"], row["kind"] = "set by the run (backend.*)", "config"
    return built, rows
