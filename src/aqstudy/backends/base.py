"""What a compute backend plug-in provides. The core asks the plug-in, never "which cloud am I on?".

A backend named ``X`` is the YAML file ``conf/backend/X.yaml`` and the module ``aqstudy.backends.X``, which
exports ``SCHEMA`` (the YAML file's dataclass) and ``BACKEND`` (an instance of a :class:`Backend`). Plug-in
modules import nothing heavy at module level: every command finds them by name before it starts.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aqstudy.config import ConfigError

__all__ = ["Backend", "Concurrency", "ConfigError", "LambdaPolling"]


@dataclass(frozen=True)
class Concurrency:
    """Functions asked for and functions that can really run at once on the chosen backend."""

    requested: int
    effective: int
    capped_reason: str | None = None


@dataclass(frozen=True)
class LambdaPolling:
    """How Lithops' host polls a job on Lambda, as the cost model prices it: a LIST of the job's status
    objects every ``monitoring_interval_s``, a GET of the reduce's status every ``reduce_poll_s`` (None:
    Lithops' own wait, which reads statuses through the monitor's LISTs); ``note`` says whose settings."""

    monitoring_interval_s: float
    reduce_poll_s: float | None
    note: str


@lru_cache(maxsize=1)
def aws_lambda_polling() -> LambdaPolling:
    """The polling settings of ``conf/backend/aws_lambda.yaml`` (the one source of its defaults)."""
    from omegaconf import OmegaConf

    from aqstudy.study.paths import PROJECT_ROOT

    settings = OmegaConf.load(PROJECT_ROOT / "conf" / "backend" / "aws_lambda.yaml")
    interval, poll = float(settings.monitoring_interval), settings.reduce_poll_s
    return LambdaPolling(interval, poll, (
        f"priced as backend=aws_lambda would poll (conf/backend/aws_lambda.yaml): a LIST of the job's statuses "
        f"every {interval:g} s (monitoring_interval), the reduce's status "
        + (f"read every {float(poll):g} s (reduce_poll_s)" if poll else "through Lithops' wait (reduce_poll_s=null)")
        + "; this backend's own polling is not what Lambda would bill"))


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

    def lambda_polling(self, backend: Any) -> LambdaPolling:
        """How the host would poll this run's job on Lambda, for the cost model: ``backend=aws_lambda``'s
        settings, unless the backend polls S3 as a Lambda run does (its local polling every few ms would
        otherwise be priced as billed requests, and grow with duration)."""
        return aws_lambda_polling()

    def run_conditions(self, cfg: Any) -> tuple[dict[str, float], dict[str, str]]:
        """Conditions of the platform that move a run's numbers (metrics, tags), e.g. an account's concurrency
        limit; nothing on a backend without such limits (:mod:`aqstudy.study.conditions`)."""
        return {}, {}

    def billing_source(self, executor: Any, cfg: Any) -> Any:
        """Where the platform reports what it billed the run (read after the job with :meth:`billed`), or
        None where nothing is billed. Asked while the executor is open."""
        return None

    def billed(self, source: Any, cfg: Any, *, calls: list[dict], cost_metrics: dict[str, float],
               submitted_at: float) -> tuple[dict[str, float], dict[str, str]]:
        """What the platform billed the run's invocations (metrics, tags); never raises for a run's sake."""
        return {}, {}

    def predict(self, cfg: Any, *, result: Any, artifacts: dict) -> None:
        """For a backend that does not run functions (``runs_functions = False``): fill the run's result and
        artifacts with a prediction instead of staging and running anything."""
        raise NotImplementedError
