"""One study run (or a sweep with -m): python src/run.py workers=8 memory=1024 analysis=day_max"""

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

FAILED: list[str] = []


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float | None:
    """Hand the composed config to the package; return the duration as the sweep's objective."""
    from aqstudy.study import main_entry

    result = main_entry(OmegaConf.to_container(cfg, resolve=True))
    if result.status == "PLANNED":  # plan=true: printed what the run would do, started nothing
        return None
    if result.status != "FINISHED":
        FAILED.append(result.error or result.status)
        return None
    return result.metrics.get("duration_s")


if __name__ == "__main__":
    main()
    # A failed job does not stop a multirun; the exit code still says that something failed.
    sys.exit(1 if FAILED else 0)
