"""One study run (or a sweep with -m): python src/run.py workers=8 memory=1024 analysis=day_max"""

import os
import sys

from aqstudy.study import signals

signals.install()  # first thing: Ctrl-C from here on ends the command cleanly (aqstudy.study.signals)

from aqstudy.study import collector  # noqa: E402

collector.pause()  # until the first run has loaded MLflow, Lithops & co. (aqstudy.study.collector)

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from aqstudy.config.schema import normalise_overrides, store  # noqa: E402
from aqstudy.study.paths import PROJECT_ROOT  # noqa: E402

store(PROJECT_ROOT / "conf")
# MLflow logs through a handler of its own (database set-up, …), at a level read at its import: quiet unless
# verbose=true (aqstudy.study.runner.show_library_logging turns it back on).
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
sys.argv[1:] = normalise_overrides(sys.argv[1:])

STATUSES: list[str] = []
FAILED: list[str] = []
SWEEP: list[bool] = []


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Hand the config objects to the package; return the duration as the sweep's objective."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from aqstudy.study.console import load_for_command
    from aqstudy.study.runner import main_entry

    config = load_for_command(cfg)
    if config is None:
        FAILED.append("config")
        return None
    SWEEP.append(HydraConfig.get().mode == RunMode.MULTIRUN)
    result = main_entry(config, in_sweep=SWEEP[-1])
    STATUSES.append(result.status)
    if result.status == "PLANNED":  # plan=true: printed what the run would do, started nothing
        return None
    if result.status not in ("FINISHED", "SKIPPED"):
        FAILED.append(result.error or result.status)
        return None
    return result.metrics.get("duration_s")


if __name__ == "__main__":
    try:
        main()
        signals.raise_if_interrupted()
    except KeyboardInterrupt as interrupt:
        signals.exit_interrupted(interrupt, sweep=any(SWEEP) or bool({"-m", "--multirun"} & set(sys.argv[1:])))
    if len(STATUSES) > 1:
        counts = ", ".join(f"{STATUSES.count(s)} {s.lower()}" for s in dict.fromkeys(STATUSES))
        print(f"sweep: {len(STATUSES)} jobs: {counts}")
    # A failed job does not stop a multirun; the exit code still says that something failed.
    sys.exit(1 if FAILED else 0)
