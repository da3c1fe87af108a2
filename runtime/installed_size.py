"""Installed size of the Lambda function runtime, and whether it fits a zip + layer deployment (≤ 250 MB).

    .venv/bin/python runtime/installed_size.py

Installs ``runtime/function-requirements.txt`` (constrained by ``requirements.lock``, for this machine's
platform and Python) into a temporary folder with uv, adds the aqstudy package as the image holds it (with
its compiled scanner), and prints the largest packages, the container image's total, and the total of a zip
+ layer deployment, which leaves out what Lambda's managed Python runtime already provides (boto3 and its
dependencies, awslambdaric). Lambda's limit for a function's code and layers together is 250 MB unzipped.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "runtime" / "function-requirements.txt"
#: Lambda's limit for a function's deployment package and layers together, unzipped.
ZIP_LIMIT_MB = 250
#: What the managed Python runtime provides: a zip + layer deployment does not ship these.
PROVIDED = ("boto3", "awslambdaric")


def _mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 1e6


def install(requirements: list[str], target: Path) -> float:
    """Install ``requirements`` into ``target``, the aqstudy package beside them; their size in MB."""
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target),
                    "--constraint", str(ROOT / "requirements.lock"), *requirements], check=True)
    shutil.copytree(ROOT / "src" / "aqstudy", target / "aqstudy", ignore=shutil.ignore_patterns("__pycache__"))
    return _mb(target)


def main() -> int:
    lines = [line.strip() for line in REQUIREMENTS.read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("#")]
    if not list((ROOT / "src" / "aqstudy" / "kernel").glob("_scanner*.so")):
        print("the compiled scanner is not built; run make setup first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="aqstudy-runtime-") as folder:
        image, layer = Path(folder) / "image", Path(folder) / "layer"
        image_mb = install(requirements, image)
        layer_mb = install([r for r in requirements if not r.startswith(PROVIDED)], layer)
        sizes = sorted(((_mb(p), p.name) for p in image.iterdir() if not p.name.endswith(".dist-info")), reverse=True)
    print("largest: " + ", ".join(f"{name} {mb:.0f} MB" for mb, name in sizes[:6]))
    print(f"container image (all of {REQUIREMENTS.name}, aqstudy): {image_mb:.0f} MB installed")
    fits = "fits" if layer_mb <= ZIP_LIMIT_MB else "does not fit"
    print(f"zip + layer (without {', '.join(PROVIDED)}, which Lambda's Python runtime provides): {layer_mb:.0f} MB "
          f"unzipped, {fits} Lambda's {ZIP_LIMIT_MB} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
