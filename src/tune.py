"""The Optuna cost/latency frontier: python src/tune.py tuning.n_trials=8 [tuning.study_name=NAME] [axes...]"""

import sys

from aqstudy.study import collector

collector.pause()  # until the first trial has loaded MLflow, Lithops & co. (aqstudy.study.collector)

import hydra  # noqa: E402
from hydra.core.hydra_config import HydraConfig  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

EXIT: list[int] = []


@hydra.main(version_base="1.3", config_path="../conf", config_name="tune")
def main(cfg: DictConfig) -> None:
    """Hand the config and a composer of trial configs (Hydra's compose API) to the package."""
    from aqstudy.sweeps.tuning import main_entry

    def compose(overrides: list[str]) -> dict:
        return OmegaConf.to_container(hydra.compose(config_name="tune", overrides=overrides), resolve=True)

    EXIT.append(main_entry(OmegaConf.to_container(cfg, resolve=True), compose=compose,
                           base_overrides=list(HydraConfig.get().overrides.task)))


if __name__ == "__main__":
    main()
    sys.exit(EXIT[0] if EXIT else 1)
