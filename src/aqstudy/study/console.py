"""What the commands print: one-line errors, and library logging on the terminal only when asked for.

Hydra's console handler is at WARNING (``conf/hydra_settings.yaml``), so Lithops' and MLflow's INFO logging
goes to the job's log file only; ``verbose=true`` brings it back to the terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import Any


def show_library_logging(verbose: bool) -> None:
    """``verbose=true``: the terminal shows library logging (Lithops' INFO lines, MLflow's) too."""
    if not verbose:
        return
    logging.getLogger("mlflow").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setLevel(logging.INFO)


def load_for_command(config: Any) -> Any | None:
    """The composed config as objects for an entry point, or None after printing the one-line error."""
    from aqstudy.config import ConfigError
    from aqstudy.config.schema import load

    try:
        loaded = load(config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    show_library_logging(loaded.verbose)
    return loaded
