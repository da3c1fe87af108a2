"""Print the Lithops config of a run as YAML, for Lithops' own CLI (``lithops runtime build``, ``lithops logs``).

    python -m aqstudy.backends.lithops_yaml backend=aws_lambda storage=s3 region=eu-west-1 > .lithops_config

Takes the same overrides as ``src/run.py`` and goes through the same builder, so the CLI deploys exactly the
function the study will invoke. The output holds no credentials: Lithops finds them in the standard chain.
"""

from __future__ import annotations

import sys

from aqstudy.backends.lithops_config import build_lithops_config, concurrency
from aqstudy.study.paths import PROJECT_ROOT


def lithops_config_for(overrides: list[str]) -> dict:
    """The Lithops config a run with these Hydra overrides would use."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        cfg = OmegaConf.to_container(compose(config_name="config", overrides=overrides), resolve=True)
    workers = concurrency(workers=cfg["workers"], backend=cfg["backend"]).effective
    return build_lithops_config(backend=cfg["backend"], storage=cfg["storage"], effective_workers=workers,
                                memory_mb=cfg["memory"], region=cfg["region"], bucket_region=cfg["bucket_region"],
                                log_level=cfg["lithops"].get("log_level", "WARNING"))


def main(argv: list[str] | None = None) -> int:
    """Print the YAML; a config that cannot work prints its one-line error instead."""
    import yaml

    try:
        config = lithops_config_for(list(sys.argv[1:] if argv is None else argv))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
