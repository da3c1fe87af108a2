"""The Optuna cost/latency frontier: python src/tune.py tuning.n_trials=8 [tuning.study_name=NAME] [axes...]"""

import os
import sys

from aqstudy.study import signals

signals.install()  # first thing: Ctrl-C from here on ends the session cleanly (aqstudy.study.signals)

from aqstudy.study import collector  # noqa: E402

collector.pause()  # until the first trial has loaded MLflow, Lithops & co. (aqstudy.study.collector)

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from aqstudy.config.schema import load, normalise_overrides, store  # noqa: E402
from aqstudy.study.paths import PROJECT_ROOT  # noqa: E402

store(PROJECT_ROOT / "conf")
# MLflow logs through a handler of its own (database set-up, …), at a level read at its import: quiet unless
# verbose=true (aqstudy.study.runner.show_library_logging turns it back on).
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
sys.argv[1:] = normalise_overrides(sys.argv[1:])
EXIT: list[int] = []


@hydra.main(version_base="1.3", config_path="../conf", config_name="tune")
def main(cfg: DictConfig) -> None:
    """Hand the config and a composer of trial configs (Hydra's compose API) to the package."""
    from aqstudy.study.console import load_for_command
    from aqstudy.sweeps.tuning import main_entry

    def compose(overrides: list[str]):
        return load(hydra.compose(config_name="tune", overrides=overrides))

    config = load_for_command(cfg)
    if config is None:
        EXIT.append(2)
        return
    EXIT.append(main_entry(config, compose=compose, base_overrides=list(HydraConfig.get().overrides.task)))


if __name__ == "__main__":
    try:
        main()
        signals.raise_if_interrupted()
    except KeyboardInterrupt as interrupt:  # the open trial is FAIL in Optuna, the session's run KILLED
        signals.exit_interrupted(interrupt, sweep=False)
    sys.exit(EXIT[0] if EXIT else 1)
