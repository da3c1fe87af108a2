"""The benchmarks' dataset: deterministic synthetic OpenAQ NDJSON, generated once under ``benchmarks/.data/``.

Both benchmarks read the same files, so "the same 400 MB" means the same bytes. A folder is reused only when
its manifest names the same generator settings and every file still has the recorded size and sha256 prefix.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from aqstudy.data.synthetic import SYNTHETIC_FORMAT, synthetic_source

DATA_ROOT = Path(__file__).resolve().parent / ".data"
#: The study's own defaults (conf/dataset/synthetic.yaml): 25 MB objects of 3,000 stations, 1% invalid.
SETTINGS = {"seed": 42, "station_count": 3000, "object_mb": 25.0, "invalid_share": 0.01}


def dataset_folder(*, data_size_gb: float = 0.4) -> Path:
    """A folder of ``data_size_gb`` GB of NDJSON objects (``part-NNNNN.ndjson``), generated if missing.

    :param data_size_gb: total size in GB (10^9 bytes); 0.4 GB = 16 objects of 25 MB.
    """
    settings = {**SETTINGS, "data_size_gb": data_size_gb, "format": SYNTHETIC_FORMAT}
    tag = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    folder = DATA_ROOT / f"synthetic-{tag}"
    manifest_path = folder / ".manifest.json"  # a dot file: the local dataset source skips it
    if manifest_path.exists() and _intact(folder, json.loads(manifest_path.read_text())):
        return folder
    source = synthetic_source(seed=SETTINGS["seed"], station_count=SETTINGS["station_count"],
                              object_mb=SETTINGS["object_mb"], data_size_gb=data_size_gb,
                              invalid_share=SETTINGS["invalid_share"])
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = []
    for index, obj in enumerate(source.objects):
        print(f"generating {folder.name}/{obj.name} ({index + 1}/{len(source.objects)})", file=sys.stderr)
        data = obj.load()
        (folder / obj.name).write_bytes(data)
        files.append({"name": obj.name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest_path.write_text(json.dumps({"settings": settings, "files": files}, indent=1))
    print(f"generated {len(files)} objects in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return folder


def _intact(folder: Path, manifest: dict) -> bool:
    return all((folder / f["name"]).exists() and (folder / f["name"]).stat().st_size == f["size"]
               for f in manifest.get("files", []))


def ratio_line(times: dict[str, list[float]], *, ours: str, theirs: str, ratio: str, inverse: bool = False) -> str:
    """The benchmark's last line: both arms' median seconds and their ratio, ``<ours>_s=… <theirs>_s=…
    <ratio>=…`` (theirs/ours, or ours/theirs with ``inverse``)."""
    import statistics

    a, b = statistics.median(times[ours]), statistics.median(times[theirs])
    return f"{ours}_s={a:.2f} {theirs}_s={b:.2f} {ratio}={(a / b if inverse else b / a):.1f}"


def data_files(folder: Path) -> list[Path]:
    """The dataset's objects in order."""
    return sorted(folder.glob("part-*.ndjson"))
