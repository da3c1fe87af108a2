"""One study run (or a sweep with -m): python src/run.py workers=8 memory=1024 analysis=day_max"""

import os
import sys

from aqstudy.study import collector

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
#: Exit codes of a run stopped by a signal, as a shell reports them (128 + signal number).
SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}


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
    result = main_entry(config, in_sweep=HydraConfig.get().mode == RunMode.MULTIRUN)
    STATUSES.append(result.status)
    if result.status == "PLANNED":  # plan=true: printed what the run would do, started nothing
        return None
    if result.status not in ("FINISHED", "SKIPPED"):
        FAILED.append(result.error or result.status)
        return None
    return result.metrics.get("duration_s")


if __name__ == "__main__":
    import signal

    from aqstudy.study.signals import interrupt_on_signal, raise_if_interrupted

    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, interrupt_on_signal)
    try:
        main()
        raise_if_interrupted()
    except KeyboardInterrupt as interrupt:
        name = getattr(interrupt, "signal_name", "SIGINT")
        print(f"interrupted by {name}: the run is marked KILLED in MLflow with the calls measured so far",
              file=sys.stderr)
        sys.exit(SIGNAL_EXIT.get(name, 130))
    if len(STATUSES) > 1:
        counts = ", ".join(f"{STATUSES.count(s)} {s.lower()}" for s in dict.fromkeys(STATUSES))
        print(f"sweep: {len(STATUSES)} jobs: {counts}")
    # A failed job does not stop a multirun; the exit code still says that something failed.
    sys.exit(1 if FAILED else 0)
