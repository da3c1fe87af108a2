"""A key-shaped value in a function's exception never reaches MLflow or the console."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aqstudy.study import runner

from . import faulty

pytestmark = pytest.mark.integration


def test_a_secret_in_a_functions_exception_reaches_neither_mlflow_nor_the_console(compose, mlflow_client, capfd,
                                                                                  monkeypatch):
    # What `src/run.py` does, with a map that raises an error holding a key pair on one object.
    monkeypatch.setattr(runner, "run_study",
                        lambda cfg, run=runner.run_study: run(cfg, map_function=faulty.fail_with_a_secret))
    result = runner.main_entry(compose("workers=2", "chunksize=1"))
    console = capfd.readouterr()

    run = mlflow_client.get_run(result.run_id)
    folder = Path(mlflow_client.download_artifacts(result.run_id, ""))
    texts = sorted(path for path in folder.rglob("*") if path.is_file() and path.suffix != ".png")
    assert {path.name for path in texts} >= {"calls.csv", "config.yaml"}
    places = {"stdout": console.out, "stderr": console.err, "run name": run.info.run_name,
              "params": json.dumps(run.data.params), "tags": json.dumps(run.data.tags),
              **{path.name: path.read_text() for path in texts}}
    for place, text in places.items():
        assert faulty.FAKE_KEY_ID not in text and faulty.FAKE_SECRET not in text, f"{place}: {text[:2000]}"
    # The error itself is kept, with the key pair replaced.
    assert result.status == run.info.status == "FAILED"
    for text in (result.error, run.data.tags["error"], console.err):
        assert "cannot sign the request with ***:***" in text
