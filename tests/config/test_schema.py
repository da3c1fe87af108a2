"""The typed config: one source of defaults (the YAML files), unknown keys refused, plug-ins found by name."""

from __future__ import annotations

import re
import shutil

import pytest

from aqstudy.config import ConfigError
from aqstudy.config.schema import compose_config, load, store
from aqstudy.study.paths import PROJECT_ROOT


def test_the_code_reads_attributes_of_dataclasses():
    cfg = compose_config([])
    assert type(cfg).__name__ == "StudyConfig"
    assert type(cfg.backend).__name__ == "LocalhostBackendConfig"
    assert cfg.backend.monitoring_interval == 0.05 and cfg.backend.spawn_reducer == 100
    lam = compose_config(["backend=aws_lambda", "storage=s3"])
    assert type(lam.backend).__name__ == "AwsLambdaBackendConfig" and lam.backend.monitoring_interval == 2


@pytest.mark.parametrize("override", ["+workerz=4", "+backend.monitoring_intervall=1", "+mlflow.experimnt=x"])
def test_an_unknown_key_is_an_error_with_or_without_plus(override):
    with pytest.raises(ConfigError, match="is not a config key"):
        compose_config([override])


def test_a_key_dropped_from_a_yaml_file_fails_composition_naming_it(tmp_path):
    """No module falls back to a default of its own: a missing key is MISSING, not a silent value."""
    from hydra import compose, initialize_config_dir
    from omegaconf.errors import MissingMandatoryValue

    conf = tmp_path / "conf"
    shutil.copytree(PROJECT_ROOT / "conf", conf, symlinks=True)
    yaml = conf / "backend" / "localhost.yaml"
    yaml.write_text(re.sub(r"(?m)^monitoring_interval:.*\n", "", yaml.read_text()))
    store(conf)
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        composed = compose(config_name="config")
    with pytest.raises(MissingMandatoryValue, match="monitoring_interval"):
        load(composed)


def test_dataset_local_takes_the_whole_folder_unless_data_size_is_set():
    assert compose_config(["dataset=local", "dataset.path=/tmp"]).data_size is None
    assert compose_config(["dataset=local", "dataset.path=/tmp", "data_size=0.5"]).data_size == 0.5
    assert compose_config([]).data_size == 0.2


def test_experiment_is_a_group_defaulting_to_null_with_or_without_plus():
    assert compose_config([]).mlflow.experiment == "openaq-lithops"
    assert compose_config(["experiment=scaling"]).mlflow.experiment == "scaling"
    assert compose_config(["+experiment=scaling"]).mlflow.experiment == "scaling"


def test_plugins_are_found_by_name_and_an_unknown_one_names_the_choices():
    from aqstudy.backends import backend_named
    from aqstudy.data.sources import dataset_named
    from aqstudy.storages import storage_named

    assert backend_named("localhost").lithops_name == "localhost"
    assert storage_named("s3").lithops_name == "aws_s3"
    assert dataset_named("synthetic").name == "synthetic"
    with pytest.raises(ConfigError, match="backend='nosuch' is not known; choose one of aws_lambda, localhost"):
        backend_named("nosuch")


@pytest.mark.parametrize(("overrides", "message"), [
    (["workers=0"], "workers=0 is not valid; pass a whole number ≥ 1"),
    (["memory=64"], "memory=64 is not valid; pass MB between 128 and 10240"),
    (["data_size=-1"], "data_size=-1.0 is not valid"),
    (["verify=md5"], "verify='md5' is not valid; choose size or sha256"),
    (["retries=-1"], "retries=-1 is not valid"),
    (["backend.spawn_reducer=50"], "backend.spawn_reducer=50 is not valid"),
    (["backend.monitoring_interval=0"], "backend.monitoring_interval=0.0 is not valid"),
    (["dataset=local"], "dataset.path is not set"),
    (["dataset=local", "dataset.path=/no/such/folder"], "dataset.path '/no/such/folder' does not exist"),
    (["warm_up=true", "force_cold_start=true"], "contradict each other"),
    (["region=mars-1"], "region"),
    (["+backend.aws_secret_access_key=abc"], "backend.aws_secret_access_key looks like a credential"),
])
def test_every_bad_value_is_refused_in_one_place_with_the_fix(overrides, message):
    from aqstudy.config.validation import validate
    from aqstudy.data.source import DatasetError

    with pytest.raises((ConfigError, DatasetError), match=re.escape(message)):
        validate(compose_config(overrides))


def test_a_credential_in_a_plugin_setting_is_refused():
    from aqstudy.config.validation import validate

    cfg = compose_config(["backend=aws_lambda", "storage=s3", "+backend.env.AWS_SECRET_ACCESS_KEY=abc"])
    with pytest.raises(ConfigError, match="backend.env.AWS_SECRET_ACCESS_KEY looks like a credential"):
        validate(cfg)


def test_params_fingerprint_and_config_yaml_come_from_the_same_object():
    import yaml

    from aqstudy.config.schema import as_dict
    from aqstudy.study.tracking import redacted_yaml
    from aqstudy.sweeps.fingerprint import config_fingerprint

    cfg = compose_config(["workers=3"])
    assert yaml.safe_load(redacted_yaml(as_dict(cfg)))["workers"] == 3
    other = compose_config(["workers=4"])
    assert config_fingerprint(cfg, dataset_fingerprint="d", code="c") != config_fingerprint(
        other, dataset_fingerprint="d", code="c")
    assert config_fingerprint(cfg, dataset_fingerprint="d", code="c") == config_fingerprint(
        as_dict(cfg), dataset_fingerprint="d", code="c")


def test_every_relative_link_of_the_readme_and_docs_resolves():
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
