"""What a compute backend plug-in provides. The core asks the plug-in, never "which cloud am I on?".

A backend named ``X`` is the YAML file ``conf/backend/X.yaml`` and the module ``aqstudy.backends.X``, which
exports ``SCHEMA`` (the YAML file's dataclass) and ``BACKEND`` (an instance of a :class:`Backend`). Plug-in
modules import nothing heavy at module level: every command finds them by name before it starts.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from aqstudy.config import ConfigError

__all__ = ["Backend", "Concurrency", "ConfigError"]


@dataclass(frozen=True)
class Concurrency:
    """Functions asked for and functions that can really run at once on the chosen backend."""

    requested: int
    effective: int
    capped_reason: str | None = None


class Backend:
    """A Lithops compute backend; subclasses override what differs."""

    #: The plug-in's name: its YAML file and module.
    name: str = ""
    #: Lithops' name of the backend (its config section).
    lithops_name: str = ""
    #: Whether ``memory`` is enforced on the functions (only priced otherwise).
    memory_enforced: bool = True
    #: Whether a run executes functions; a model backend predicts them instead and stages nothing.
    runs_functions: bool = True

    def check(self, cfg: Any) -> None:
        """Refuse, before anything starts, what this backend cannot run (raise :class:`ConfigError`)."""

    def concurrency(self, *, workers: int, backend: Any) -> Concurrency:
        """Functions that can run at once for ``workers`` asked for (all of them, unless the plug-in caps)."""
        return Concurrency(workers, workers)

    def lithops_sections(self, cfg: Any, *, effective_workers: int, python: str | None,
                         environ: dict[str, str] | None) -> dict[str, dict]:
        """The Lithops config sections of this backend (``{lithops_name: {...}}`` and any others)."""
        raise NotImplementedError

    def local_python(self, cfg: Any) -> str | None:
        """The interpreter the backend's workers run, when it runs them on this machine."""
        return None

    def runtime(self, cfg: Any) -> AbstractContextManager:
        """What the run's functions need running for the run's length (started before MLflow is opened)."""
        return nullcontext()

    def run_tags(self, cfg: Any) -> dict[str, str]:
        """Tags that say how this backend ran the run."""
        return {} if self.memory_enforced else {"memory_enforced": "false"}

    def force_cold_start(self, executor: Any, cfg: Any) -> str:
        """Make the measured job start in fresh environments; return how (a tag)."""
        raise NotImplementedError

    def cold_init_s(self, backend: Any) -> float:
        """INIT seconds billed per cold start on this backend (0 where nothing bills INIT)."""
        return 0.0

    def lambda_pricing(self, backend: Any) -> tuple[str, int]:
        """(architecture, ephemeral storage MB) the cost model prices this backend's functions as on Lambda:
        Lambda's defaults unless the backend configures them."""
        return "x86_64", 512

    def cold_init_note(self, backend: Any) -> str:
        """How INIT was priced, for the run's ``cost_init`` tag."""
        return "not priced (no Lambda INIT on this backend)"
