"""Print the Lithops config of a run as YAML, for Lithops' own CLI (``lithops runtime build``, ``lithops logs``).

    python -m aqstudy.backends.lithops_yaml backend=aws_lambda storage=s3 region=eu-west-1 > .lithops_config

Takes the same overrides as ``src/run.py`` and goes through the same builder, so the CLI deploys exactly the
function the study will invoke. The output holds no credentials: Lithops finds them in the standard chain.
"""

from __future__ import annotations

import sys

from aqstudy.backends.lithops_config import build_lithops_config


def lithops_config_for(overrides: list[str]) -> dict:
    """The Lithops config a run with these Hydra overrides would use."""
    from aqstudy.backends import backend_named
    from aqstudy.config.schema import compose_config

    cfg = compose_config(overrides)
    workers = backend_named(cfg.backend.name).concurrency(workers=cfg.workers, backend=cfg.backend).effective
    return build_lithops_config(cfg, effective_workers=workers)


def main(argv: list[str] | None = None) -> int:
    """Print the YAML; a config that cannot work prints its one-line error instead."""
    import yaml
    from hydra.errors import ConfigCompositionException

    try:
        config = lithops_config_for(list(sys.argv[1:] if argv is None else argv))
    except (ValueError, ConfigCompositionException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
