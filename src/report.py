"""Tables and figures from tracked runs: python src/report.py [mlflow.experiment=NAME] [report.filter=...]"""

import os
import shlex
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from aqstudy.config.schema import store
from aqstudy.study.paths import PROJECT_ROOT

store(PROJECT_ROOT / "conf")
# MLflow logs through a handler of its own (database set-up, …), at a level read at its import: quiet unless
# verbose=true (aqstudy.study.runner.show_library_logging turns it back on).
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
EXIT: list[int] = []


@hydra.main(version_base="1.3", config_path="../conf", config_name="report")
def main(cfg: DictConfig) -> None:
    """Hand the config object to the package; it reads MLflow and writes the report folder."""
    from aqstudy.reports.command import main_entry

    # The note has its own line in the header; quoting it again in the command would only repeat it.
    overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("report.note=")]
    invocation = shlex.join(["python", "src/report.py", *overrides])
    from aqstudy.study.console import load_for_command

    config = load_for_command(cfg)
    if config is None:
        EXIT.append(2)
        return
    EXIT.append(main_entry(config, invocation=invocation))


if __name__ == "__main__":
    main()
    sys.exit(EXIT[0] if EXIT else 1)
