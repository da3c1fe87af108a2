"""The Optuna cost/latency frontier: a multi-objective search whose every trial is ``tuning.repeats`` real runs.

Optuna is driven directly (ask/tell), not through Hydra's Optuna sweeper: that plugin pins optuna < 3 and
breaks SQLite storage with SQLAlchemy 2. Each trial composes the project's config with Hydra's compose API
plus the trial's values and calls :func:`aqstudy.study.runner.run_study` once per repeat. In MLflow a session
is one parent run, each trial a child run of it, each repeat a study run nested below its trial. Timings are
noisy (10–30% between back-to-back runs), so Optuna is told the medians of the repeats, the trial's run logs
their 95% CIs (:mod:`aqstudy.measure.stats`), a trial whose CI is wider than ``tuning.max_ci_share`` of its
median is tagged, and the Pareto artifact says which members of the front noise cannot tell apart. The study
lives in a persistent Optuna storage under its name, so running again continues it.
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
from aqstudy.measure import stats
from aqstudy.study.paths import mlruns_dir
from aqstudy.study.redaction import REDACTED, redact_text
from aqstudy.study.tracking import KIND_TUNING_SESSION, KIND_TUNING_TRIAL, TAG_KIND

log = logging.getLogger(__name__)

#: Both minimised, in this order: the trial's values in Optuna.
OBJECTIVES = (m.DURATION_S, m.COST_USD)
#: Trial user attribute and MLflow tags that tie an Optuna trial to its tracked run.
MLFLOW_RUN_ATTR = "mlflow_run_id"
TAG_STUDY, TAG_STORAGE, TAG_TRIAL, TAG_STATE = ("optuna.study_name", "optuna.storage", "optuna.trial_number",
                                                "optuna.trial_state")
TAG_REPEAT = "optuna.repeat"
#: Tag of a trial whose repeats disagree: a CI wider than ``tuning.max_ci_share`` of the median (why, in words).
TAG_NOISY = "aqstudy.noisy"
#: Metrics a trial's run logs besides the objectives' medians.
REPEATS = "repeats"
CI_CONFIDENCE = "ci_confidence"


def ci_metric(objective: str, bound: str) -> str:
    """Name of a bound of an objective's CI on a trial's run: ``duration_s_ci_low``, ``cost_usd_ci_high``."""
    return f"{objective}_ci_{bound}"


def repeats_attr(objective: str) -> str:
    """Optuna user attribute holding each repeat's value of an objective (the session's artifact reads it)."""
    return f"{objective}_repeats"


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


def trial_summary(values: dict[str, Sequence[float]], *, max_ci_share: float) -> tuple[dict[str, float], dict]:
    """What a trial's run logs from its repeats' objective values (pure): each objective's median (what Optuna
    is told), its CI bounds, the repeats, the CI's confidence; and a :data:`TAG_NOISY` tag when a CI is wider
    than ``max_ci_share`` of its median, or the repeats are too few to judge noise.

    :param values: objective name → one value per repeat.
    :param max_ci_share: the widest CI, as a share of the median, a trial may have without being tagged.
    """
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    wide = []
    for name, repeat_values in values.items():
        interval = stats.median_ci(repeat_values)
        if interval is None:
            continue
        metrics |= {name: interval.value, ci_metric(name, "low"): interval.low, ci_metric(name, "high"): interval.high,
                    REPEATS: interval.n, CI_CONFIDENCE: interval.confidence}
        if interval.width_share > max_ci_share:
            wide.append(f"{name} CI [{interval.low:.4g}, {interval.high:.4g}] is {interval.width_share:.0%} of its "
                        f"median {interval.value:.4g}")
    if wide:
        tags[TAG_NOISY] = "; ".join(wide) + f" (over tuning.max_ci_share={max_ci_share:g}): the repeats disagree"
    elif metrics and metrics[REPEATS] < stats.MIN_RUNS:
        tags[TAG_NOISY] = (f"{int(metrics[REPEATS])} repeat(s): too few to judge noise; pass tuning.repeats="
                           f"{stats.MIN_RUNS} or more")
    return metrics, tags


@dataclass
class TrialResult:
    """A trial's outcome: FINISHED with the medians of its repeats, or FAILED with the first failure."""

    status: str
    run_id: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    values: dict[str, list[float]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def run_trial(*, compose_repeat: Callable[[int], dict], repeats: int, run: Callable[..., Any], tracking_uri: str,
              experiment: str, parent_run_id: str, tags: dict[str, str], label: str, params: dict[str, Any],
              max_ci_share: float) -> TrialResult:
    """One trial: its MLflow run (a child of the session), then ``repeats`` study runs nested below it.

    A repeat that fails or is refused fails the trial and the rest are not run (a config that fails one time
    in three does not belong on a front). KeyboardInterrupt ends the trial's run KILLED and goes on up.

    :param compose_repeat: repeat number (1…) → that repeat's resolved config.
    :param run: runs one repeat's config (``run_study``).
    :param tags: the study's and the trial's tags (no kind: the trial's run is tagged a trial, its repeats are
        study runs).
    :param label: names the trial's runs (``trial 3``).
    :param params: the trial's sampled values (logged on its run).
    """
    from aqstudy.study.runner import StudyError, run_name
    from aqstudy.study.tracking import TrackedRun

    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    trial_run = TrackedRun(tracking_uri=tracking_uri, experiment=experiment, run_name=f"{label}: {shown}",
                           parent_run_id=parent_run_id, tags={**tags, TAG_KIND: KIND_TUNING_TRIAL})
    outcome = TrialResult(status="RUNNING", run_id=trial_run.run_id)
    values: dict[str, list[float]] = {name: [] for name in OBJECTIVES}
    try:
        for repeat in range(1, repeats + 1):
            try:
                cfg = compose_repeat(repeat)
                cfg.mlflow.run_name = f"{label} repeat {repeat}: {run_name(cfg)}"
                # A repeat is a study run: the session's kind tag stays on the session (reports leave those out).
                repeat_tags = {key: value for key, value in tags.items() if key != TAG_KIND}
                result = run(cfg, parent_run_id=trial_run.run_id, tags={**repeat_tags, TAG_REPEAT: str(repeat)})
                error = None if objective_values(result) else (result.error or result.status)
            except StudyError as refused:  # the trial's values were refused before anything ran
                error = str(refused)
            except Exception as fault:  # a fault outside the run (composing its config): this trial fails
                log.exception("trial repeat %d could not run", repeat)
                error = f"{type(fault).__name__}: {fault}"
            if error:
                outcome.status = "FAILED"
                outcome.error = error if repeats == 1 else f"repeat {repeat} of {repeats}: {error}"
                break
            for name, value in zip(OBJECTIVES, objective_values(result), strict=True):
                values[name].append(value)
        else:
            outcome.status = "FINISHED"
            outcome.metrics, outcome.tags = trial_summary(values, max_ci_share=max_ci_share)
        outcome.values = values
    except KeyboardInterrupt:
        trial_run.end("KILLED")
        raise
    finally:
        trial_run.log(params=params, metrics=outcome.metrics,
                      tags={**outcome.tags, **({"error": redact_text(outcome.error)} if outcome.error else {})})
        trial_run.end(outcome.status if outcome.status in ("FINISHED", "FAILED") else "KILLED")
    return outcome


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


#: Tags that tie a confirming (measured) trial to the predicted trial it checks, both ways.
TAG_CONFIRMS, TAG_CONFIRMED_BY = "aqstudy.confirms", "aqstudy.confirmed_by"
#: Backends a front found with ``backend=model`` can be confirmed on (the model's platforms).
CONFIRM_BACKENDS = ("localhost", "aws_lambda")


def confirm_plan(cfg: Any, base_overrides: Sequence[str]) -> tuple[str | None, list[str]]:
    """Where the front is confirmed (None: it is not) and the overrides every trial gets so that the model
    predicts that backend (``backend.platform``).

    :param cfg: the session's config (``tuning.confirm`` and the backend the search runs on).
    :param base_overrides: the session's command-line overrides.
    """
    confirm = cfg.tuning.confirm
    if confirm.top_k < 0:
        raise TuningError(f"tuning.confirm.top_k={confirm.top_k} is not valid; pass 0 (no confirmation) or more")
    if confirm.top_k == 0:
        return None, []
    if cfg.backend.name != "model":
        raise TuningError("tuning.confirm.top_k confirms predictions: search with backend=model (the front is then "
                          "run for real on tuning.confirm.backend)")
    target = confirm.backend or cfg.backend.platform
    if target not in CONFIRM_BACKENDS:
        raise TuningError(f"tuning.confirm.backend={target!r} is not a backend the model predicts; choose "
                          f"{' or '.join(CONFIRM_BACKENDS)}")
    if cfg.backend.platform == target:
        return target, []
    if any(_key(o) == "backend.platform" for o in base_overrides):
        raise TuningError(f"backend.platform={cfg.backend.platform} predicts another backend than "
                          f"tuning.confirm.backend={target}; drop one of them")
    return target, [f"backend.platform={target}"]


def confirming_overrides(base: Sequence[str], values: dict[str, Any], backend: str) -> list[str]:
    """A front config run for real: the trial's overrides without the model's settings, on ``backend``."""
    kept = [o for o in trial_overrides(base, values) if _key(o).split(".")[0] != "backend"]
    return [*kept, f"backend={backend}"]


def error_pct(predicted: float, measured: float) -> float:
    """Signed error of a prediction in % of the measurement."""
    return 100 * (predicted - measured) / measured


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


#: Row keys besides a trial's axes (what the session's tables and its summary leave out of the axes).
NOISY, DISTINGUISHABLE = "noisy", "distinguishable"
ROW_KEYS = ("trial", "state", MLFLOW_RUN_ATTR, *OBJECTIVES, REPEATS, NOISY, DISTINGUISHABLE, "error")


def trial_rows(trials) -> list[dict]:
    """Optuna frozen trials as plain rows: number, state, axes, objectives (the medians Optuna was told), the
    repeats behind them, the noise tag and the MLflow run id."""
    rows = []
    for trial in trials:
        row = {"trial": trial.number, "state": trial.state.name, **trial.params,
               MLFLOW_RUN_ATTR: trial.user_attrs.get(MLFLOW_RUN_ATTR)}
        for name, value in zip(OBJECTIVES, trial.values or [None] * len(OBJECTIVES), strict=True):
            row[name] = value
        row[REPEATS] = len(trial.user_attrs.get(repeats_attr(OBJECTIVES[0])) or ([1] if trial.values else []))
        row[NOISY] = trial.user_attrs.get("noisy") or ""
        if trial.user_attrs.get("error"):
            row["error"] = trial.user_attrs["error"]
        rows.append(row)
    return rows


def trial_spreads(trial) -> dict[str, Any]:
    """Each objective of a trial as a :class:`aqstudy.reports.tables.Spread` of its repeats (a trial of a
    session before repeats existed: its one value)."""
    from aqstudy.reports import tables as r

    spreads = {}
    for index, name in enumerate(OBJECTIVES):
        values = trial.user_attrs.get(repeats_attr(name)) or ([trial.values[index]] if trial.values else [])
        spreads[name] = r.spread(values)
    return spreads


def _shown_objectives(result: TrialResult) -> str:
    """``1.23 s [1.10–1.40], $0.000012 [0.000011–0.000013] (3 repeats)`` for the progress line."""
    metrics = result.metrics
    duration, cost = (metrics[name] for name in OBJECTIVES)
    lows = [metrics.get(ci_metric(name, "low")) for name in OBJECTIVES]
    highs = [metrics.get(ci_metric(name, "high")) for name in OBJECTIVES]
    noisy = "; noisy" if result.tags.get(TAG_NOISY) else ""
    return (f"{duration:.2f} s [{lows[0]:.2f}–{highs[0]:.2f}], ${cost:.6f} [{lows[1]:.6f}–{highs[1]:.6f}] "
            f"({int(metrics[REPEATS])} repeats{noisy})")


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

    from aqstudy.study.runner import run_study
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
    repeats = tuning.repeats
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise TuningError(f"tuning.repeats={repeats!r} is not valid; pass a whole number ≥ 1 (3 or more gives a "
                          "CI worth reading)")
    max_ci_share = float(tuning.max_ci_share)
    if not max_ci_share > 0:
        raise TuningError(f"tuning.max_ci_share={tuning.max_ci_share!r} is not valid; pass a share of the median "
                          "> 0, e.g. 0.3")
    space = distributions(tuning.space)
    sampler = make_sampler(tuning.sampler)
    confirm_on, model_overrides = confirm_plan(cfg, base_overrides)
    trial_base = [*base_overrides, *model_overrides]
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
    session_tags = {TAG_STUDY: study_name, TAG_STORAGE: shown_storage, TAG_KIND: KIND_TUNING_SESSION}
    parent = TrackedRun(tracking_uri=tracking_uri, experiment=cfg.mlflow.experiment,
                        run_name=f"{study_name} session (from trial {before})", tags=session_tags)
    parent.log(params={"study_name": study_name, "storage": shown_storage, "n_trials": n_trials,
                       "timeout_s": timeout_s, "repeats": repeats, "max_ci_share": max_ci_share,
                       "sampler": type(sampler).__name__,
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
            # The session's kind stays on the session: the trial's run is a trial, its repeats study runs.
            tags = {TAG_STUDY: study_name, TAG_STORAGE: shown_storage, TAG_TRIAL: str(trial.number)}
            shown = ", ".join(f"{k}={v}" for k, v in values.items())
            result = run_trial(
                compose_repeat=lambda k, axes=values: compose(trial_overrides(trial_base, {**axes, "repeat": k})),
                repeats=repeats, run=run, tracking_uri=tracking_uri, experiment=cfg.mlflow.experiment,
                parent_run_id=parent.run_id, tags=tags, label=f"trial {trial.number}", params=values,
                max_ci_share=max_ci_share)
            trial.set_user_attr(MLFLOW_RUN_ATTR, result.run_id)
            for name, repeat_values in result.values.items():
                trial.set_user_attr(repeats_attr(name), repeat_values)
            if result.tags.get(TAG_NOISY):
                trial.set_user_attr("noisy", result.tags[TAG_NOISY][:500])
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
            echo(f"trial {frozen.number} {frozen.state.name}: {shown} → " + (
                _shown_objectives(result) if objective else (result.error or result.status)))
            if exhausted:
                echo(f"{type(sampler).__name__} has no trial left to suggest (its search space is covered)")
                break
        if confirm_on:
            _confirm(study, parent, compose=compose, base_overrides=base_overrides, backend=confirm_on,
                     top_k=tuning.confirm.top_k, repeats=repeats, run=run, client=client, session_tags=session_tags,
                     tracking_uri=tracking_uri, experiment=cfg.mlflow.experiment, max_ci_share=max_ci_share,
                     echo=echo)
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


def front_rows(study) -> list[dict]:
    """The study's Pareto set as trial rows, fastest first."""
    from optuna.trial import TrialState

    complete = [row for row in trial_rows(study.trials) if row["state"] == TrialState.COMPLETE.name]
    best = {trial.number for trial in study.best_trials} if complete else set()
    return sorted((row for row in complete if row["trial"] in best), key=lambda row: row[m.DURATION_S])


def _confirm(study, parent, *, compose, base_overrides, backend: str, top_k: int, repeats: int, run, client,
             session_tags, tracking_uri: str, experiment: str, max_ci_share: float, echo) -> None:
    """Run the front's ``top_k`` fastest configs for real on ``backend`` (``repeats`` runs each, as a trial),
    each beside its prediction (tags link the two trials' runs), and log the prediction errors on the session's
    parent run: ``confirm_duration_error_pct`` and ``confirm_cost_error_pct``, the mean absolute errors of the
    predicted medians against the measured ones."""
    from aqstudy.reports import tables as r

    pairs = []
    for row in front_rows(study)[:top_k]:
        values = dict(next(t for t in study.trials if t.number == row["trial"]).params)
        predicted_id = row[MLFLOW_RUN_ATTR]
        result = run_trial(
            compose_repeat=lambda k, axes=values: compose(confirming_overrides(base_overrides, {**axes, "repeat": k},
                                                                               backend)),
            repeats=repeats, run=run, tracking_uri=tracking_uri, experiment=experiment, parent_run_id=parent.run_id,
            tags={**session_tags, TAG_TRIAL: str(row["trial"]), TAG_CONFIRMS: predicted_id or ""},
            label=f"confirm trial {row['trial']} on {backend}", params=values, max_ci_share=max_ci_share)
        measured = objective_values(result)
        if result.run_id and predicted_id:
            client.set_tag(predicted_id, TAG_CONFIRMED_BY, result.run_id)
        pair = {"trial": row["trial"], **values, "predicted_duration_s": row[m.DURATION_S],
                "measured_duration_s": measured[0] if measured else None,
                "predicted_cost_usd": row[m.COST_USD], "measured_cost_usd": measured[1] if measured else None,
                "predicted_run": predicted_id, "measured_run": result.run_id, "status": result.status}
        if measured:
            pair["duration_error_pct"] = error_pct(row[m.DURATION_S], measured[0])
            pair["cost_error_pct"] = error_pct(row[m.COST_USD], measured[1])
        pairs.append(pair)
        echo(f"confirm trial {row['trial']} on {backend}: predicted {row[m.DURATION_S]:.2f} s ${row[m.COST_USD]:.6f}"
             + (f", measured {measured[0]:.2f} s ${measured[1]:.6f} ({pair['duration_error_pct']:+.0f}%, "
                f"{pair['cost_error_pct']:+.0f}%)" if measured else f": {result.error or result.status}"))
    checked = [pair for pair in pairs if "duration_error_pct" in pair]
    metrics = {"confirm_runs": len(pairs), "confirm_finished": len(checked)}
    if checked:
        metrics["confirm_duration_error_pct"] = sum(abs(p["duration_error_pct"]) for p in checked) / len(checked)
        metrics["confirm_cost_error_pct"] = sum(abs(p["cost_error_pct"]) for p in checked) / len(checked)
    columns = list(dict.fromkeys(key for pair in pairs for key in pair))
    table = r.Table("confirm", f"The front's {len(pairs)} fastest predicted configs, run for real on {backend}",
                    columns, pairs, ["PREDICTED (backend=model) beside MEASURED: each row is one config (medians of "
                                     "its repeats); confirm_*_error_pct on the parent run are the mean absolute "
                                     "errors."])
    parent.log(metrics=metrics, tags={"confirm_backend": backend})
    parent.log_artifacts({"confirm.csv": r.to_csv(table), "confirm.md": r.to_markdown(table)})


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
    spreads = {trial.number: trial_spreads(trial) for trial in study.trials}
    complete = [row for row in all_rows if row["state"] == TrialState.COMPLETE.name]
    best = {trial.number for trial in study.best_trials} if complete else set()
    outcome.pareto = sorted((row for row in complete if row["trial"] in best), key=lambda row: row[m.DURATION_S])
    marks = r.distinguishability([[spreads[row["trial"]][name].interval for name in OBJECTIVES]
                                  for row in outcome.pareto])
    for row, mark in zip(outcome.pareto, marks, strict=True):
        row[DISTINGUISHABLE] = mark
    outcome.trials_total = len(all_rows)
    axes = list(dict.fromkeys(k for row in all_rows for k in row if k not in ROW_KEYS))

    def with_spreads(rows: list[dict]) -> list[dict]:
        return [{**row, **{name: spreads[row["trial"]][name] or row[name] for name in OBJECTIVES}} for row in rows]

    columns = ["trial", *axes, *OBJECTIVES, REPEATS, DISTINGUISHABLE, NOISY, MLFLOW_RUN_ATTR]
    pareto = r.Table("pareto", f"Pareto set of Optuna study {outcome.study_name}", columns,
                     with_spreads(outcome.pareto),
                     [f"{len(outcome.pareto)} of {len(complete)} complete trials are on the front (by the medians "
                      f"Optuna was told); storage {outcome.storage}.", r.CI_CAPTION, r.DISTINGUISHABLE_NOTE,
                      f"{NOISY}: the trial's CI is wider than tuning.max_ci_share of its median, or it has too few "
                      "repeats to judge."])
    trials = r.Table("trials", "All trials", ["trial", "state", *axes, *OBJECTIVES, REPEATS, NOISY, MLFLOW_RUN_ATTR,
                                              "error"], with_spreads(all_rows), [r.CI_CAPTION])
    artifacts: dict[str, Any] = {"pareto.csv": r.to_csv(pareto), "pareto.md": r.to_markdown(pareto),
                                 "trials.csv": r.to_csv(trials)}
    try:
        with tempfile.TemporaryDirectory() as folder:
            if complete:
                marked = {row["trial"]: row[DISTINGUISHABLE] for row in outcome.pareto}
                points = [{**{name: spreads[row["trial"]][name] or row[name] for name in OBJECTIVES},
                           "pareto": row["trial"] in best, "label": f"#{row['trial']}",
                           DISTINGUISHABLE: marked.get(row["trial"], "yes")} for row in complete]
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
        axes = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ROW_KEYS)
        print(f"  trial {row['trial']}: {axes} → {row[m.DURATION_S]:.2f} s, ${row[m.COST_USD]:.6f} "
              f"(median of {row[REPEATS]}; distinguishable from its neighbours: {row[DISTINGUISHABLE]}; "
              f"MLflow run {row[MLFLOW_RUN_ATTR]})")
    print(f"MLflow parent run {outcome.parent_run_id} holds pareto.csv/.md/.png; browse the study with "
          f"`optuna-dashboard {outcome.storage}`.")
    return 0 if outcome.completed or not outcome.failed else 1
