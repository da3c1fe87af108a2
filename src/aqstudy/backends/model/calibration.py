"""The calibration file: what ``make calibrate`` measured on one machine, versioned, read by every prediction.

A JSON file (``calibration/this-machine.json`` by default) with the date, the machine, and medians of
repeated measurements (the samples are kept beside them). Reading it is pure; measuring is
:mod:`aqstudy.backends.model.calibrate`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from aqstudy.backends.model.parameters import KernelProfile, LocalhostParameters

#: Version of the file's layout; a file of another version is refused with the fix.
FORMAT = 1
#: Kernel profiles a calibration holds (``backend.kernel``).
KERNELS = ("project", "original")
#: The committed calibration, relative to the project root.
DEFAULT_PATH = Path("calibration") / "this-machine.json"


class CalibrationError(ValueError):
    """The calibration file is missing or unreadable; the message names the fix."""


@dataclass(frozen=True)
class Calibration:
    """One machine's measurements.

    :param path: where it was read from (logged with every prediction).
    :param created: ISO date and time of the measurement.
    :param matmul_gflops_per_core: numpy matmul GFLOPS on one core (one BLAS thread).
    :param handler_import_s: fresh interpreter → Lithops' Lambda handler imported (lithops.worker and
        its JobRunner, which imports numpy): what INIT runs.
    :param reference_import_s: fresh interpreter → numpy, pandas and pyarrow imported: the libraries of the
        published INIT figure, so that figure scales to what the handler imports.
    :param fork_s: forking a process that has the handler imported and waiting for its first instruction.
    :param kernels: the kernel profiles by name.
    :param localhost: Lithops' localhost backend on this machine.
    """

    path: str
    created: str
    machine: dict
    matmul_gflops_per_core: float
    handler_import_s: float
    reference_import_s: float
    fork_s: float
    kernels: dict[str, KernelProfile]
    localhost: LocalhostParameters

    @property
    def label(self) -> str:
        """The file's name and date, as the source of measured parameters."""
        return f"{Path(self.path).name} (make calibrate, {self.created[:10]})"


def from_dict(data: dict, *, path: str = "") -> Calibration:
    """A :class:`Calibration` from the file's JSON content."""
    if data.get("format") != FORMAT:
        raise CalibrationError(f"calibration file {path or '(given)'} has format {data.get('format')!r}, "
                               f"this code reads format {FORMAT}; run `make calibrate` again")
    try:
        kernels = {name: KernelProfile(name=name, **_known(KernelProfile, data["kernels"][name])) for name in KERNELS}
        return Calibration(
            path=path, created=data["created"], machine=data["machine"],
            matmul_gflops_per_core=float(data["cpu"]["matmul_gflops_per_core"]),
            handler_import_s=float(data["imports"]["handler_s"]),
            reference_import_s=float(data["imports"]["reference_libs_s"]),
            fork_s=float(data["imports"]["fork_s"]),
            kernels=kernels,
            localhost=_localhost(data["localhost"]),
        )
    except (KeyError, TypeError) as error:
        raise CalibrationError(f"calibration file {path or '(given)'} lacks or mistypes {error}; run "
                               "`make calibrate` again") from None


def _localhost(values: dict) -> LocalhostParameters:
    known = _known(LocalhostParameters, values)
    # A file from before the two-point measurement: its one figure, at as many processes as it names cores.
    points = values.get("cores_by_processes") or [[max(1, math.ceil(values["cores"])), values["cores"]]]
    known["cores_by_processes"] = tuple((int(n), float(c)) for n, c in points)
    known.setdefault("first_call_pre_s", values["call_pre_s"])  # a file from before it was measured apart
    return LocalhostParameters(**known)


def _known(cls, values: dict) -> dict:
    """The entries of ``values`` that are fields of ``cls`` (the file also keeps the samples)."""
    names = {f.name for f in fields(cls)} - {"name"}
    return {key: value for key, value in values.items() if key in names}


def load(path: str | Path) -> Calibration:
    """Read a calibration file; a missing one is refused with the command that makes it."""
    path = Path(path)
    if not path.exists():
        raise CalibrationError(f"backend.calibration={str(path)!r} does not exist; run `make calibrate` to "
                               "measure this machine, or pass the path of a calibration file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CalibrationError(f"calibration file {path} is not JSON ({error}); run `make calibrate` again") from None
    return from_dict(data, path=str(path))


def to_json(data: dict[str, Any]) -> str:
    """The file's text: sorted keys, two-space indent, a final newline (stable diffs when re-measured)."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
