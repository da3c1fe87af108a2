"""Tables and figures from tracked runs: python src/report.py [mlflow.experiment=NAME] [report.filter=...]"""

import shlex
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

EXIT: list[int] = []


@hydra.main(version_base="1.3", config_path="../conf", config_name="report")
def main(cfg: DictConfig) -> None:
    """Hand the composed config to the package; it reads MLflow and writes the report folder."""
    from aqstudy.reports.command import main_entry

    # The note has its own line in the header; quoting it again in the command would only repeat it.
    overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("report.note=")]
    invocation = shlex.join(["python", "src/report.py", *overrides])
    EXIT.append(main_entry(OmegaConf.to_container(cfg, resolve=True), invocation=invocation))


if __name__ == "__main__":
    main()
    sys.exit(EXIT[0] if EXIT else 1)
