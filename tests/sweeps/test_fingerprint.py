"""A run's identity for resume: what it measured (axes, data, code), never how it was tracked or shown."""

from __future__ import annotations

import shutil

import pytest

from aqstudy.sweeps.fingerprint import code_version, config_fingerprint, source_version


def test_the_same_job_has_the_same_fingerprint(compose):
    first = config_fingerprint(compose(), dataset_fingerprint="d1", code="c1")
    assert first == config_fingerprint(compose(), dataset_fingerprint="d1", code="c1")
    assert len(first) == 64 and int(first, 16) >= 0  # a sha256 in hex


def test_other_data_or_other_code_is_another_job(compose):
    cfg = compose()
    same = config_fingerprint(cfg, dataset_fingerprint="d1", code="c1")
    assert config_fingerprint(cfg, dataset_fingerprint="d2", code="c1") != same
    assert config_fingerprint(cfg, dataset_fingerprint="d1", code="c2") != same
    # Without a code version given, this checkout's is taken.
    assert config_fingerprint(cfg, dataset_fingerprint="d1") == config_fingerprint(
        cfg, dataset_fingerprint="d1", code=code_version())
    assert config_fingerprint(cfg, dataset_fingerprint="d1") != same


#: One change of each kind of key a run is made of: the study's axes, run settings, a plug-in's own settings.
MEASURED = {"workers": 3, "memory": 1024, "chunksize": 2, "data_size": 0.1, "repeat": 1, "region": "eu-central-1",
            "bucket_region": "eu-west-1", "retries": 1, "verify": "sha256", "warm_up": True,
            "force_cold_start": True, "analysis.name": "day_max", "backend.monitoring_interval": 0.5,
            "dataset.seed": 7, "storage.bucket": "another"}
#: Keys that say where a run is tracked or how it is shown.
NOT_MEASURED = {"mlflow.experiment": "other", "mlflow.run_name": "a-name", "lithops.log_level": "DEBUG",
                "progress": True, "verbose": True, "resume": True, "plan": True, "budget_usd": 5.0}


def _with(values: dict, dotted: str, value) -> dict:
    group, _, key = dotted.rpartition(".")
    if not group:
        return {**values, key: value}
    assert key in values[group], dotted
    return {**values, group: {**values[group], key: value}}


@pytest.fixture
def values(compose) -> dict:
    from aqstudy.config.schema import as_dict

    return as_dict(compose())


@pytest.mark.parametrize("key", MEASURED)
def test_each_axis_and_setting_makes_another_job(values, key):
    assert key.rpartition(".")[2] in (values if "." not in key else values[key.partition(".")[0]])
    assert (config_fingerprint(_with(values, key, MEASURED[key]), dataset_fingerprint="d", code="c")
            != config_fingerprint(values, dataset_fingerprint="d", code="c"))


@pytest.mark.parametrize("key", NOT_MEASURED)
def test_where_a_run_is_tracked_or_how_it_is_shown_is_the_same_job(values, key):
    assert (config_fingerprint(_with(values, key, NOT_MEASURED[key]), dataset_fingerprint="d", code="c")
            == config_fingerprint(values, dataset_fingerprint="d", code="c"))


def test_a_config_as_plain_data_in_any_key_order_has_the_same_fingerprint(compose, values):
    def reordered(value):
        return {k: reordered(value[k]) for k in reversed(value)} if isinstance(value, dict) else value

    fingerprint = config_fingerprint(compose(), dataset_fingerprint="d", code="c")
    assert config_fingerprint(values, dataset_fingerprint="d", code="c") == fingerprint
    assert list(reordered(values)) != list(values)
    assert config_fingerprint(reordered(values), dataset_fingerprint="d", code="c") == fingerprint


def test_a_plug_in_setting_json_cannot_write_still_makes_a_fingerprint(values):
    # A plug-in's schema may hold values such as paths (OmegaConf gives them as pathlib objects).
    from pathlib import Path

    here, there = ({**values, "dataset": {**values["dataset"], "root": Path(folder)}} for folder in ("/a", "/b"))
    assert (config_fingerprint(here, dataset_fingerprint="d", code="c")
            != config_fingerprint(there, dataset_fingerprint="d", code="c"))


def test_any_change_to_the_source_makes_a_new_code_version(tmp_path):
    package = tmp_path / "aqstudy"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 2\n")
    (package / "notes.txt").write_text("not code")
    version = source_version(package)
    assert len(version) == 16 and int(version, 16) >= 0

    copy = tmp_path / "copy" / "aqstudy"
    shutil.copytree(package, copy)
    assert source_version(copy) == version  # where the checkout lives does not matter
    (copy / "notes.txt").write_text("other notes")
    assert source_version(copy) == version  # only Python source counts

    changes = {
        "an edit": lambda root: (root / "a.py").write_text("A = 2\n"),
        "a new module": lambda root: (root / "c.py").write_text(""),
        "a renamed module": lambda root: (root / "a.py").rename(root / "z.py"),
        "a module moved": lambda root: (root / "sub" / "b.py").rename(root / "b.py"),
        "text moved between modules": lambda root: ((root / "a.py").write_text("A = 1\nB"),
                                                    (root / "sub" / "b.py").write_text(" = 2\n")),
    }
    versions = {version}
    for name, change in changes.items():
        changed = tmp_path / name.replace(" ", "-") / "aqstudy"
        shutil.copytree(package, changed)
        change(changed)
        assert source_version(changed) not in versions, name
        versions.add(source_version(changed))


def test_this_checkout_has_one_code_version():
    from pathlib import Path

    import aqstudy

    assert code_version() == source_version(Path(aqstudy.__file__).resolve().parent)
