"""The Optuna cost/latency frontier: a multi-objective search whose every trial is a real study run.

Optuna is driven directly (ask/tell), not through Hydra's Optuna sweeper: that plugin pins optuna < 3 and
breaks SQLite storage with SQLAlchemy 2. Each trial composes the project's config with Hydra's compose API
plus the trial's values and calls :func:`aqstudy.study.runner.run_study`, nested in MLflow under one parent run per
session. The study lives in a persistent Optuna storage under its name, so running again continues it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aqstudy.measure import metrics as m
from aqstudy.study.paths import mlruns_dir
from aqstudy.study.redaction import REDACTED, redact_text

log = logging.getLogger(__name__)

#: Both minimised, in this order: the trial's values in Optuna.
OBJECTIVES = (m.DURATION_S, m.COST_USD)
#: Trial user attribute and MLflow tags that tie an Optuna trial to its tracked run.
MLFLOW_RUN_ATTR = "mlflow_run_id"
TAG_STUDY, TAG_STORAGE, TAG_TRIAL, TAG_STATE = ("optuna.study_name", "optuna.storage", "optuna.trial_number",
                                                "optuna.trial_state")
TAG_KIND = "aqstudy.kind"


class TuningError(ValueError):
    """The tuning config cannot start a study; the message names the cause and the fix."""


def default_storage() -> str:
    """SQLite beside the MLflow store: ``sqlite:///<project>/mlruns/optuna.db``."""
    return f"sqlite:///{mlruns_dir() / 'optuna.db'}"


def redact_storage(url: str) -> str:
    """A storage URL fit to log: the password of ``user:password@host`` replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username}:{REDACTED}@{host}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    return redact_text(url)


def search_space(space: dict[str, dict]) -> dict[str, dict]:
    """Check the ``tuning.space`` block: each axis an ``int``, ``float`` or ``categorical`` range (pure).

    :param space: axis → ``{type: int, low, high, step?, log?}`` | ``{type: float, …}`` |
        ``{type: categorical, choices: […]}``.
    :return: the same, normalised (defaults filled in).
    """
    if not space:
        raise TuningError("tuning.space is empty; give at least one axis, e.g. "
                          "tuning.space.workers={type:int,low:1,high:8}")
    checked = {}
    for axis, spec in space.items():
        kind = (spec or {}).get("type")
        if kind in ("int", "float"):
            low, high = spec.get("low"), spec.get("high")
            if low is None or high is None or low > high:
                raise TuningError(f"tuning.space.{axis} needs low ≤ high (got low={low}, high={high})")
            log_scale = bool(spec.get("log", False))
            step = spec.get("step")
            if log_scale and step not in (None, 1):
                raise TuningError(f"tuning.space.{axis}: Optuna takes log or step, not both; drop one")
            if log_scale and low <= 0:
                raise TuningError(f"tuning.space.{axis}: a log range needs low > 0 (got {low})")
            checked[axis] = {"type": kind, "low": low, "high": high, "log": log_scale,
                             "step": step if step is not None else (1 if kind == "int" else None)}
        elif kind == "categorical":
            choices = list(spec.get("choices") or [])
            if not choices:
                raise TuningError(f"tuning.space.{axis}: a categorical axis needs choices: [...]")
            checked[axis] = {"type": kind, "choices": choices}
        else:
            raise TuningError(f"tuning.space.{axis}.type={kind!r} is not known; choose int, float or categorical")
    return checked


def distributions(space: dict[str, dict]) -> dict[str, Any]:
    """Optuna distributions for a checked space."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for axis, spec in search_space(space).items():
        if spec["type"] == "int":
            out[axis] = IntDistribution(int(spec["low"]), int(spec["high"]), log=spec["log"], step=int(spec["step"]))
        elif spec["type"] == "float":
            out[axis] = FloatDistribution(float(spec["low"]), float(spec["high"]), log=spec["log"], step=spec["step"])
        else:
            out[axis] = CategoricalDistribution(spec["choices"])
    return out


def make_sampler(config: Any):
    """Any sampler of ``optuna.samplers`` by name, with its options.

    :param config: ``tuning.sampler`` (``name: NSGAIISampler, seed: 42, options: {population_size: 8}``).
    """
    import optuna

    name = config.name
    cls = getattr(optuna.samplers, name, None)
    if not isinstance(cls, type) or not issubclass(cls, optuna.samplers.BaseSampler):
        known = ", ".join(n for n in dir(optuna.samplers) if n.endswith("Sampler") and not n.startswith("Base"))
        raise TuningError(f"tuning.sampler.name={name!r} is not an Optuna sampler; choose one of {known}")
    options = dict(config.options)
    if config.seed is not None:
        options["seed"] = int(config.seed)
    try:
        return cls(**options)
    except TypeError as error:
        raise TuningError(f"tuning.sampler.options do not fit {name}: {error}") from None


def trial_overrides(base: Sequence[str], values: dict[str, Any]) -> list[str]:
    """Hydra overrides of one trial: the session's own, minus any axis the search sets, plus the trial's values.

    :param base: the command-line overrides the session was started with (``data_size=0.1`` …).
    :param values: the trial's sampled values, e.g. ``{"memory": 1536, "workers": 4}``.
    """
    def key(override: str) -> str:
        return override.split("=", 1)[0].lstrip("+~")

    kept = [o for o in base if key(o) not in values and not key(o).startswith(("tuning.", "hydra."))]
    return [*kept, *(f"{axis}={value}" for axis, value in values.items())]


def objective_values(result) -> list[float] | None:
    """The trial's (duration_s, cost_usd) when the run finished with both finite, else None."""
    if result is None or result.status != "FINISHED":
        return None
    values = [result.metrics.get(name) for name in OBJECTIVES]
    if any(v is None or not math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


@dataclass
class TuningOutcome:
    """What one session did and where the study stands."""

    study_name: str
    storage: str
    parent_run_id: str
    trials_before: int
    completed: int = 0
    failed: int = 0
    pareto: list[dict] = field(default_factory=list)
    trials_total: int = 0


def trial_rows(trials) -> list[dict]:
    """Optuna frozen trials as plain rows: number, state, axes, objectives and the MLflow run id."""
    rows = []
    for trial in trials:
        row = {"trial": trial.number, "state": trial.state.name, **trial.params,
               MLFLOW_RUN_ATTR: trial.user_attrs.get(MLFLOW_RUN_ATTR)}
        for name, value in zip(OBJECTIVES, trial.values or [None] * len(OBJECTIVES), strict=True):
            row[name] = value
        if trial.user_attrs.get("error"):
            row["error"] = trial.user_attrs["error"]
        rows.append(row)
    return rows


def _failed_child(*, cfg: Any, tracking_uri: str, parent_run_id: str, tags: dict, values: dict,
                  error: str):
    """An MLflow child run for a trial that could not even start (its config was refused)."""
    from aqstudy.study.runner import RunResult
    from aqstudy.study.tracking import TrackedRun

    run = TrackedRun(tracking_uri=tracking_uri, experiment=cfg.mlflow.experiment,
                     run_name=f"trial {tags[TAG_TRIAL]} (refused)", parent_run_id=parent_run_id, tags=tags)
    run.log(params=values, tags={"error": error})
    run.end("FAILED")
    return RunResult(status="FAILED", run_id=run.run_id, error=error)


def run_tuning(cfg: Any, *, compose: Callable[[list[str]], Any], base_overrides: Sequence[str] = (),
               run: Callable[..., Any] | None = None, echo: Callable[[str], None] = print) -> TuningOutcome:
    """One tuning session: ask ``tuning.n_trials`` trials (or until ``tuning.timeout_s``), run each, tell Optuna.

    :param cfg: the composed ``tune`` config object (its ``tuning`` block and ``mlflow`` settings).
    :param compose: overrides → the resolved config of one trial (Hydra's compose API in ``src/tune.py``).
    :param base_overrides: the session's command-line overrides, passed on to every trial.
    :param run: runs one trial's config (``run_study``; tests may wrap it).
    :param echo: where the one-line progress of each trial goes.
    """
    import optuna
    from optuna.trial import TrialState

    from aqstudy.study.runner import StudyError, run_name, run_study
    from aqstudy.study.tracking import TrackedRun, client_for, resolve_tracking_uri

    run = run or run_study
    tuning = cfg.tuning
    study_name = tuning.study_name
    storage = tuning.storage or default_storage()
    shown_storage = redact_storage(storage)
    n_trials = int(tuning.n_trials)
    timeout_s = tuning.timeout_s
    if n_trials < 1 and timeout_s is None:
        raise TuningError("tuning.n_trials must be ≥ 1 (or give tuning.timeout_s); e.g. tuning.n_trials=8")
    space = distributions(tuning.space)
    sampler = make_sampler(tuning.sampler)
    if storage.startswith("sqlite:///"):
        from pathlib import Path

        Path(storage[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler, load_if_exists=True,
                                    directions=["minimize"] * len(OBJECTIVES))
    except ValueError as error:  # e.g. the name exists with other directions
        raise TuningError(f"Optuna study {study_name!r} in {shown_storage} cannot be used: {error}; "
                          "pass another tuning.study_name") from None
    before = len(study.trials)

    tracking_uri = resolve_tracking_uri(cfg.mlflow.tracking_uri)
    session_tags = {TAG_STUDY: study_name, TAG_STORAGE: shown_storage, TAG_KIND: "tuning-session"}
    parent = TrackedRun(tracking_uri=tracking_uri, experiment=cfg.mlflow.experiment,
                        run_name=f"{study_name} session (from trial {before})", tags=session_tags)
    parent.log(params={"study_name": study_name, "storage": shown_storage, "n_trials": n_trials,
                       "timeout_s": timeout_s, "sampler": type(sampler).__name__,
                       "sampler_options": dict(tuning.sampler.options),
                       "objectives": ",".join(OBJECTIVES), "trials_before": before,
                       "base_overrides": " ".join(base_overrides),
                       **{f"space.{axis}": spec for axis, spec in search_space(tuning.space).items()}})
    outcome = TuningOutcome(study_name=study_name, storage=shown_storage, parent_run_id=parent.run_id,
                            trials_before=before)
    echo(f"Optuna study {study_name!r} in {shown_storage}: {before} trials so far; MLflow parent run {parent.run_id}")
    client = client_for(tracking_uri)
    started = time.monotonic()
    status = "FINISHED"
    trial = None
    try:
        for index in range(n_trials if n_trials >= 1 else 10**9):
            if timeout_s is not None and time.monotonic() - started >= float(timeout_s):
                echo(f"tuning.timeout_s={timeout_s} reached after {index} trials")
                break
            trial = study.ask(space)
            values = dict(trial.params)
            tags = {**session_tags, TAG_KIND: "tuning-trial", TAG_TRIAL: str(trial.number)}
            try:
                trial_cfg = compose(trial_overrides(base_overrides, values))
                trial_cfg.mlflow.run_name = f"trial {trial.number}: {run_name(trial_cfg)}"
                result = run(trial_cfg, parent_run_id=parent.run_id, tags=tags)
            except StudyError as error:  # the trial's values were refused before anything ran
                result = _failed_child(cfg=cfg, tracking_uri=tracking_uri, parent_run_id=parent.run_id,
                                       tags=tags, values=values, error=str(error))
            except Exception as error:  # a fault outside the run (composing its config): this trial fails, not all
                log.exception("trial %d could not run", trial.number)
                result = _failed_child(cfg=cfg, tracking_uri=tracking_uri, parent_run_id=parent.run_id,
                                       tags=tags, values=values, error=f"{type(error).__name__}: {error}")
            trial.set_user_attr(MLFLOW_RUN_ATTR, result.run_id)
            objective = objective_values(result)
            if objective is None:
                trial.set_user_attr("error", (result.error or result.status)[:500])
            frozen, exhausted = _tell(study, trial, objective)
            trial = None
            if objective is None:
                outcome.failed += 1
            else:
                outcome.completed += 1
            if result.run_id:
                client.set_tag(result.run_id, TAG_STATE, frozen.state.name)
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            echo(f"trial {frozen.number} {frozen.state.name}: {shown} → " + (
                f"{objective[0]:.2f} s, ${objective[1]:.6f}" if objective else (result.error or result.status)))
            if exhausted:
                echo(f"{type(sampler).__name__} has no trial left to suggest (its search space is covered)")
                break
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    except Exception:
        status = "FAILED"
        raise
    finally:
        if trial is not None:  # asked but never told: leave no trial RUNNING forever in the storage
            study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            outcome.failed += 1
        _close_session(parent, study, outcome, status=status)
    return outcome


def _tell(study, trial, objective: list[float] | None):
    """Tell Optuna a trial's outcome; also say whether the sampler asked the study to stop.

    A sampler with a finite space (GridSampler) calls ``study.stop()`` from ``after_trial`` once it is
    covered, which Optuna allows only inside ``optimize``: with ask/tell it raises after storing the trial.
    """
    from optuna.trial import TrialState

    try:
        if objective is None:
            return study.tell(trial, state=TrialState.FAIL), False
        return study.tell(trial, objective), False
    except RuntimeError as error:
        if "Study.stop" not in str(error):
            raise
        stored = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
        return stored, True


def _close_session(parent, study, outcome: TuningOutcome, *, status: str) -> None:
    """Log the study's Pareto set (table and plot) and the session's counts on the parent run; end it."""
    import tempfile
    from pathlib import Path

    from optuna.trial import TrialState

    from aqstudy.reports import figures
    from aqstudy.reports import tables as r

    all_rows = trial_rows(study.trials)
    complete = [row for row in all_rows if row["state"] == TrialState.COMPLETE.name]
    best = {trial.number for trial in study.best_trials} if complete else set()
    outcome.pareto = sorted((row for row in complete if row["trial"] in best), key=lambda row: row[m.DURATION_S])
    outcome.trials_total = len(all_rows)
    axes = list(dict.fromkeys(k for row in all_rows for k in row if k not in (
        "trial", "state", MLFLOW_RUN_ATTR, *OBJECTIVES, "error")))
    columns = ["trial", *axes, *OBJECTIVES, MLFLOW_RUN_ATTR]
    pareto = r.Table("pareto", f"Pareto set of Optuna study {outcome.study_name}", columns, outcome.pareto,
                     [f"{len(outcome.pareto)} of {len(complete)} complete trials are on the front; "
                      f"storage {outcome.storage}."])
    trials = r.Table("trials", "All trials", ["trial", "state", *axes, *OBJECTIVES, MLFLOW_RUN_ATTR, "error"],
                     all_rows)
    artifacts: dict[str, Any] = {"pareto.csv": r.to_csv(pareto), "pareto.md": r.to_markdown(pareto),
                                 "trials.csv": r.to_csv(trials)}
    try:
        with tempfile.TemporaryDirectory() as folder:
            if complete:
                points = [{m.DURATION_S: row[m.DURATION_S], m.COST_USD: row[m.COST_USD],
                           "pareto": row["trial"] in best, "label": f"#{row['trial']}"} for row in complete]
                path = figures.frontier_figure(points, path=Path(folder) / "pareto.png",
                                               title=f"Optuna study {outcome.study_name}: {len(complete)} trials, "
                                                     f"{len(outcome.pareto)} on the front")
                artifacts["pareto.png"] = path.read_bytes()
            parent.log_artifacts(artifacts)
        parent.log(metrics={"trials_completed": outcome.completed, "trials_failed": outcome.failed,
                            "trials_total": outcome.trials_total, "pareto_size": len(outcome.pareto)})
    finally:
        parent.end(status)


def main_entry(cfg: Any, *, compose: Callable[[list[str]], Any], base_overrides: Sequence[str]) -> int:
    """What ``src/tune.py`` calls: run a session, print the Pareto set or a one-line error; the exit code."""
    import sys

    try:
        outcome = run_tuning(cfg, compose=compose, base_overrides=base_overrides)
    except TuningError as error:
        print(f"error: {redact_text(str(error))}", file=sys.stderr)
        return 1
    print(f"study {outcome.study_name!r}: {outcome.completed} trials completed, {outcome.failed} failed this session; "
          f"{outcome.trials_total} in all ({outcome.trials_before} before). Pareto set ({len(outcome.pareto)}):")
    for row in outcome.pareto:
        axes = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("trial", "state", MLFLOW_RUN_ATTR,
                                                                          *OBJECTIVES))
        print(f"  trial {row['trial']}: {axes} → {row[m.DURATION_S]:.2f} s, ${row[m.COST_USD]:.6f} "
              f"(MLflow run {row[MLFLOW_RUN_ATTR]})")
    print(f"MLflow parent run {outcome.parent_run_id} holds pareto.csv/.md/.png; browse the study with "
          f"`optuna-dashboard {outcome.storage}`.")
    return 0 if outcome.completed or not outcome.failed else 1
