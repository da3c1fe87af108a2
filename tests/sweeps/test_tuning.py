"""The Optuna frontier: config checks (pure), and real sessions of real study runs, resumed and failing."""

from __future__ import annotations

import pytest

from aqstudy.sweeps import tuning as t


def test_a_storage_password_never_reaches_a_log():
    assert t.redact_storage("postgresql+psycopg2://study:s3cret@db.example:5432/optuna") == (
        "postgresql+psycopg2://study:***@db.example:5432/optuna")
    assert t.redact_storage("sqlite:////tmp/mlruns/optuna.db") == "sqlite:////tmp/mlruns/optuna.db"
    assert t.default_storage().endswith("/mlruns/optuna.db")


def test_the_search_space_is_checked_with_the_fix_in_the_message():
    space = t.search_space({"workers": {"type": "int", "low": 1, "high": 8, "log": True},
                            "chunksize": {"type": "categorical", "choices": [1, "auto"]}})
    assert space["workers"] == {"type": "int", "low": 1, "high": 8, "log": True, "step": 1}
    with pytest.raises(t.TuningError, match="low ≤ high"):
        t.search_space({"memory": {"type": "int", "low": 4096, "high": 512}})
    with pytest.raises(t.TuningError, match="log or step, not both"):
        t.search_space({"memory": {"type": "int", "low": 512, "high": 4096, "step": 64, "log": True}})
    with pytest.raises(t.TuningError, match="choose int, float or categorical"):
        t.search_space({"memory": {"type": "list"}})
    with pytest.raises(t.TuningError, match="tuning.space is empty"):
        t.search_space({})


def test_any_optuna_sampler_by_name_and_a_clear_error_for_an_unknown_one():
    import optuna

    assert isinstance(t.make_sampler(_sampler(name="NSGAIISampler")), optuna.samplers.NSGAIISampler)
    assert isinstance(t.make_sampler(_sampler(name="TPESampler", seed=1)), optuna.samplers.TPESampler)
    with pytest.raises(t.TuningError, match="is not an Optuna sampler"):
        t.make_sampler(_sampler(name="NoSuchSampler"))
    with pytest.raises(t.TuningError, match="options do not fit RandomSampler"):
        t.make_sampler(_sampler(name="RandomSampler", options={"population_size": 3}))


def _sampler(**values):
    from aqstudy.config.schema import SamplerConfig

    return SamplerConfig(**({"seed": None, "options": {}} | values))


def test_trial_overrides_keep_the_sessions_axes_but_not_the_ones_searched():
    base = ["data_size=0.1", "workers=4", "tuning.n_trials=3", "+dataset.extra=1"]
    assert t.trial_overrides(base, {"workers": 2, "memory": 1024}) == [
        "data_size=0.1", "+dataset.extra=1", "workers=2", "memory=1024"]


def test_trial_summary_logs_medians_cis_and_tags_disagreeing_repeats():
    metrics, tags = t.trial_summary({"duration_s": [2.0, 2.1, 1.9], "cost_usd": [1e-4, 1.01e-4, 0.99e-4]},
                                    max_ci_share=0.3)
    assert metrics["duration_s"] == 2.0 and metrics["cost_usd"] == 1e-4
    assert (metrics["duration_s_ci_low"], metrics["duration_s_ci_high"]) == (1.9, 2.1)
    assert metrics[t.REPEATS] == 3 and metrics[t.CI_CONFIDENCE] == 0.75
    assert tags == {}
    _, tags = t.trial_summary({"duration_s": [2.0, 3.5, 1.9], "cost_usd": [1e-4, 1e-4, 1e-4]}, max_ci_share=0.3)
    assert "duration_s CI [1.9, 3.5] is 80% of its median 2" in tags[t.TAG_NOISY]
    _, tags = t.trial_summary({"duration_s": [2.0], "cost_usd": [1e-4]}, max_ci_share=0.3)
    assert "too few to judge noise" in tags[t.TAG_NOISY]


def _tuning_cfg(compose, **tuning):
    import dataclasses

    from aqstudy.config.schema import ConfirmConfig, TuneConfig, TuningConfig

    cfg = compose("mlflow.experiment=frontier", *tuning.pop("overrides", ()))
    values = {"study_name": "test", "storage": None, "n_trials": 2, "timeout_s": None, "repeats": 1,
              "max_ci_share": 0.3, "confirm": ConfirmConfig(top_k=0, backend=None),
              "sampler": {"name": "RandomSampler", "seed": 3},
              "space": {"memory": {"type": "int", "low": 512, "high": 4096, "step": 512},
                        "workers": {"type": "int", "low": 1, "high": 3},
                        "chunksize": {"type": "int", "low": 1, "high": 2}}} | tuning
    values["sampler"] = _sampler(**values["sampler"])
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    return TuneConfig(**fields, tuning=TuningConfig(**values))


def _children(client, parent_run_id: str) -> list:
    run = client.get_run(parent_run_id)
    return client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


@pytest.mark.integration
def test_a_session_runs_real_trials_nested_in_mlflow_and_a_second_session_continues_the_study(
        compose, mlflow_client, tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = _tuning_cfg(compose, storage=storage)
    trial_compose = lambda overrides: compose("mlflow.experiment=frontier", *overrides)  # noqa: E731
    first = t.run_tuning(cfg, compose=trial_compose, echo=lambda line: None)
    assert (first.trials_before, first.completed, first.failed, first.trials_total) == (0, 2, 0, 2)
    second = t.run_tuning(cfg, compose=trial_compose, echo=lambda line: None)
    assert (second.trials_before, second.completed, second.trials_total) == (2, 2, 4)

    study = optuna.load_study(study_name="test", storage=storage)
    assert [trial.number for trial in study.trials] == [0, 1, 2, 3]
    assert all(trial.state.name == "COMPLETE" for trial in study.trials)
    parent = mlflow_client.get_run(second.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[t.TAG_STUDY] == "test" and parent.data.tags[t.TAG_STORAGE] == storage
    assert parent.data.metrics["pareto_size"] == len(second.pareto) >= 1
    artifacts = {a.path for a in mlflow_client.list_artifacts(second.parent_run_id)}
    assert {"pareto.csv", "pareto.md", "pareto.png", "trials.csv"} <= artifacts
    pareto_csv = open(mlflow_client.download_artifacts(second.parent_run_id, "pareto.csv", str(tmp_path))).read()
    for row in second.pareto:
        assert row[t.MLFLOW_RUN_ATTR] in pareto_csv

    children = _children(mlflow_client, second.parent_run_id)
    assert sorted(c.data.tags[t.TAG_TRIAL] for c in children) == ["2", "3"]
    by_trial = {trial.number: trial for trial in study.trials}
    for child in children:
        trial = by_trial[int(child.data.tags[t.TAG_TRIAL])]
        assert child.info.status == "FINISHED" and child.data.tags[t.TAG_STATE] == "COMPLETE"
        assert trial.user_attrs[t.MLFLOW_RUN_ATTR] == child.info.run_id
        assert {k: int(child.data.params[k]) for k in ("memory", "workers", "chunksize")} == trial.params
        assert list(trial.values) == [child.data.metrics["duration_s"], child.data.metrics["cost_usd"]]
        # One repeat: the study run is nested below the trial, and the trial says it cannot judge noise.
        (repeat,) = _children(mlflow_client, child.info.run_id)
        assert repeat.data.metrics["duration_s"] == child.data.metrics["duration_s"]
        assert "too few to judge noise" in child.data.tags[t.TAG_NOISY]


@pytest.mark.integration
def test_trials_run_their_repeats_nested_and_log_the_median_with_its_ci(compose, mlflow_client, tmp_path):
    import csv
    import io

    import optuna

    from aqstudy.reports import tables as r

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    cfg = _tuning_cfg(compose, storage=storage, repeats=3, n_trials=2)
    lines: list[str] = []
    outcome = t.run_tuning(cfg, compose=lambda o: compose("mlflow.experiment=frontier", *o), echo=lines.append)
    assert (outcome.completed, outcome.failed) == (2, 0)
    assert all("(3 repeats" in line for line in lines if line.startswith("trial "))

    study = optuna.load_study(study_name="test", storage=storage)
    trials = _children(mlflow_client, outcome.parent_run_id)
    assert len(trials) == 2
    for trial_run in trials:
        assert trial_run.data.tags[t.TAG_KIND] == "tuning-trial"
        repeats = _children(mlflow_client, trial_run.info.run_id)
        assert sorted(int(run.data.params["repeat"]) for run in repeats) == [1, 2, 3]
        assert all(run.data.tags[t.TAG_REPEAT] in ("1", "2", "3") for run in repeats)
        metrics = trial_run.data.metrics
        for name in t.OBJECTIVES:
            values = sorted(run.data.metrics[name] for run in repeats)
            assert metrics[name] == values[1]  # the median of three
            assert (metrics[f"{name}_ci_low"], metrics[f"{name}_ci_high"]) == (values[0], values[2])
        assert metrics[t.REPEATS] == 3 and metrics[t.CI_CONFIDENCE] == 0.75
        trial = next(tr for tr in study.trials if tr.user_attrs[t.MLFLOW_RUN_ATTR] == trial_run.info.run_id)
        assert list(trial.values) == [metrics["duration_s"], metrics["cost_usd"]]
        assert len(trial.user_attrs[t.repeats_attr("duration_s")]) == 3

    pareto_csv = open(mlflow_client.download_artifacts(outcome.parent_run_id, "pareto.csv", str(tmp_path))).read()
    rows = list(csv.DictReader(io.StringIO(pareto_csv)))
    assert rows and all(row["repeats"] == "3" for row in rows)
    assert all(row["distinguishable"] == "yes" or row["distinguishable"].startswith("no: ≈") for row in rows)
    assert all(float(row["duration_s_ci_low"]) <= float(row["duration_s"]) <= float(row["duration_s_ci_high"])
               for row in rows)
    pareto_md = open(mlflow_client.download_artifacts(outcome.parent_run_id, "pareto.md", str(tmp_path))).read()
    assert r.DISTINGUISHABLE_NOTE in pareto_md and "Le Boudec" in pareto_md
    # The report of the experiment sees the repeats as study runs, not the trials.
    runs = [{"params": run.data.params, "tags": run.data.tags} for run in trials]
    assert not any(r.is_study_run(run) for run in runs)
    repeat_runs = [{"params": run.data.params, "tags": run.data.tags}
                   for trial_run in trials for run in _children(mlflow_client, trial_run.info.run_id)]
    assert len(repeat_runs) == 6 and all(r.is_study_run(run) for run in repeat_runs)


@pytest.mark.integration
def test_a_failed_trial_is_failed_in_optuna_and_mlflow_and_the_study_goes_on(compose, mlflow_client, tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # memory=64 MB is below Lambda's range: the study run refuses it. GridSampler makes both trials certain.
    grid = {"memory": [64, 1024], "workers": [2], "chunksize": [1]}
    cfg = _tuning_cfg(compose, storage=storage, sampler={"name": "GridSampler", "seed": 0,
                                                        "options": {"search_space": grid}},
                      space={"memory": {"type": "categorical", "choices": [64, 1024]},
                             "workers": {"type": "int", "low": 2, "high": 2},
                             "chunksize": {"type": "int", "low": 1, "high": 1}})
    outcome = t.run_tuning(cfg, compose=lambda o: compose("mlflow.experiment=frontier", *o), echo=lambda line: None)
    assert (outcome.completed, outcome.failed) == (1, 1)

    study = optuna.load_study(study_name="test", storage=storage)
    states = {trial.params["memory"]: trial.state.name for trial in study.trials}
    assert states == {64: "FAIL", 1024: "COMPLETE"}
    failed = next(trial for trial in study.trials if trial.state.name == "FAIL")
    assert "memory=64 is not valid" in failed.user_attrs["error"]
    child = mlflow_client.get_run(failed.user_attrs[t.MLFLOW_RUN_ATTR])
    assert child.info.status == "FAILED" and child.data.tags[t.TAG_STATE] == "FAIL"
    assert child.data.tags["mlflow.parentRunId"] == outcome.parent_run_id
    assert "memory=64 is not valid" in child.data.tags["error"]
    assert [row["trial"] for row in outcome.pareto] == [
        trial.number for trial in study.trials if trial.state.name == "COMPLETE"]


def test_an_interrupted_session_leaves_no_trial_running_and_the_parent_killed(compose, mlflow_client, tmp_path):
    import optuna

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"

    def interrupted(cfg, **_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        t.run_tuning(_tuning_cfg(compose, storage=storage), compose=lambda o: compose(*o), run=interrupted,
                     echo=lambda line: None)
    (trial,) = optuna.load_study(study_name="test", storage=storage).trials
    assert trial.state.name == "FAIL"
    experiment = mlflow_client.get_experiment_by_name("frontier")
    (parent,) = mlflow_client.search_runs([experiment.experiment_id], filter_string="tags.`aqstudy.kind` = "
                                          "'tuning-session'")
    assert parent.info.status == "KILLED"


def _repeat_cfg(repeat: int):
    from types import SimpleNamespace

    return SimpleNamespace(repeat=repeat, mlflow=SimpleNamespace(run_name="r"))


def test_a_failing_repeat_fails_its_trial_and_the_rest_are_not_run(tracking_uri, mlflow_client):
    from aqstudy.study.runner import RunResult
    from aqstudy.study.tracking import TrackedRun

    parent = TrackedRun(tracking_uri=tracking_uri, experiment="frontier", run_name="session")
    ran: list[int] = []

    def run(cfg, *, parent_run_id, tags):
        ran.append(cfg.repeat)
        if cfg.repeat == 2:
            return RunResult(status="FAILED", error="a function failed: MemoryError")
        return RunResult(status="FINISHED", metrics={"duration_s": 1.0, "cost_usd": 1e-5})

    result = t.run_trial(compose_repeat=_repeat_cfg, repeats=3, run=run,
                         tracking_uri=tracking_uri, experiment="frontier", parent_run_id=parent.run_id,
                         tags={t.TAG_TRIAL: "0"}, label="trial 0", params={"workers": 2}, max_ci_share=0.3)
    assert ran == [1, 2]
    assert result.status == "FAILED" and result.error == "repeat 2 of 3: a function failed: MemoryError"
    assert t.objective_values(result) is None
    trial_run = mlflow_client.get_run(result.run_id)
    assert trial_run.info.status == "FAILED" and "repeat 2 of 3" in trial_run.data.tags["error"]
    assert trial_run.data.params["workers"] == "2" and "duration_s" not in trial_run.data.metrics

    def interrupted(cfg, **_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        t.run_trial(compose_repeat=_repeat_cfg, repeats=3, run=interrupted,
                    tracking_uri=tracking_uri, experiment="frontier", parent_run_id=parent.run_id,
                    tags={t.TAG_TRIAL: "1"}, label="trial 1", params={}, max_ci_share=0.3)
    killed = mlflow_client.search_runs([trial_run.info.experiment_id], filter_string="tags.`optuna.trial_number` = '1'")
    assert [run.info.status for run in killed] == ["KILLED"]


def test_a_confirmation_needs_a_search_with_the_model_and_picks_its_platform(compose):
    with pytest.raises(t.TuningError, match="search with backend=model"):
        t.confirm_plan(_tuning_cfg(compose, confirm=_confirm(1, "localhost")), [])
    model = _tuning_cfg(compose, confirm=_confirm(2, "localhost"), overrides=("backend=model",))
    assert t.confirm_plan(model, ["backend=model"]) == ("localhost", ["backend.platform=localhost"])
    with pytest.raises(t.TuningError, match="drop one"):
        t.confirm_plan(model, ["backend=model", "backend.platform=aws_lambda"])
    assert t.confirm_plan(_tuning_cfg(compose, overrides=("backend=model",)), []) == (None, [])
    assert t.confirming_overrides(["backend=model", "backend.kernel=original", "data_size=0.1"], {"workers": 2},
                                  "localhost") == ["data_size=0.1", "workers=2", "backend=localhost"]


def _confirm(top_k, backend):
    from aqstudy.config.schema import ConfirmConfig

    return ConfirmConfig(top_k=top_k, backend=backend)


@pytest.mark.integration
def test_the_fronts_best_predictions_are_run_for_real_beside_them(compose, mlflow_client, tmp_path):
    from aqstudy.backends.model.plugin import forget_warm_environments

    forget_warm_environments()
    cfg = _tuning_cfg(compose, storage=f"sqlite:///{tmp_path / 'optuna.db'}", n_trials=3,
                      confirm=_confirm(1, "localhost"), overrides=("backend=model",))
    trial_compose = lambda overrides: compose("mlflow.experiment=frontier", *overrides)  # noqa: E731
    outcome = t.run_tuning(cfg, compose=trial_compose, base_overrides=["backend=model"], echo=lambda line: None)
    parent = mlflow_client.get_run(outcome.parent_run_id)
    assert parent.data.metrics["confirm_runs"] == 1 and "confirm_duration_error_pct" in parent.data.metrics
    assert "confirm_cost_error_pct" in parent.data.metrics
    children = _children(mlflow_client, outcome.parent_run_id)
    (measured,) = [c for c in children if t.TAG_CONFIRMS in c.data.tags]
    predicted = mlflow_client.get_run(measured.data.tags[t.TAG_CONFIRMS])
    assert predicted.data.tags[t.TAG_CONFIRMED_BY] == measured.info.run_id
    (predicted_repeat,) = _children(mlflow_client, predicted.info.run_id)
    assert predicted_repeat.data.tags["predicted"] == "true"
    assert predicted_repeat.data.tags["model_platform"] == "localhost"
    (measured_repeat,) = _children(mlflow_client, measured.info.run_id)
    assert measured_repeat.data.params["backend"] == "localhost" and "predicted" not in measured_repeat.data.tags
    assert {"confirm.csv", "confirm.md"} <= {a.path for a in mlflow_client.list_artifacts(outcome.parent_run_id)}


def test_a_trials_repeats_are_study_runs_not_tagged_as_the_session(tracking_uri):
    from aqstudy.reports.tables import is_study_run
    from aqstudy.study.runner import RunResult
    from aqstudy.study.tracking import KIND_TUNING_SESSION, TAG_KIND, TrackedRun

    parent = TrackedRun(tracking_uri=tracking_uri, experiment="frontier", run_name="session")
    seen: list[dict] = []

    def run(cfg, *, parent_run_id, tags):
        seen.append(tags)
        return RunResult(status="FINISHED", metrics={"duration_s": 1.0, "cost_usd": 1e-5})

    t.run_trial(compose_repeat=_repeat_cfg, repeats=2, run=run, tracking_uri=tracking_uri, experiment="frontier",
                parent_run_id=parent.run_id, tags={TAG_KIND: KIND_TUNING_SESSION, t.TAG_TRIAL: "0"},
                label="trial 0", params={"workers": 2}, max_ci_share=0.3)
    assert [tags.get(TAG_KIND) for tags in seen] == [None, None]
    assert all(is_study_run({"params": {"workers": "2"}, "tags": tags}) for tags in seen)
