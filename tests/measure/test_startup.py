"""Readiness of the function runtimes, timed in fresh interpreters (the figures themselves: benchmarks/)."""

from __future__ import annotations

import pytest

from aqstudy.measure import startup


@pytest.fixture
def inputs(tmp_path):
    from aqstudy.data.synthetic import SyntheticOpenAQ

    objects = []
    for index in range(2):
        path = tmp_path / f"part-{index:05d}.ndjson"
        path.write_bytes(SyntheticOpenAQ(seed=5, station_count=20, object_bytes=50_000).object_bytes_for(index))
        objects.append(path)
    return startup.prepare_inputs(objects, tmp_path)


def test_each_runtime_reports_its_imports_before_its_output_and_its_memory(inputs):
    for runtime in ("map", "reduce", "duckdb"):
        readiness = startup.run_once(runtime, inputs)
        assert 0 < readiness.import_s <= readiness.ready_s < 60, runtime
        assert 1 < readiness.rss_mb < 4096, runtime
    assert inputs.reduce_objects == 2


def test_runtimes_take_turns_in_alternating_order(inputs):
    seen = []
    samples = startup.measure(["python", "map"], inputs, runs=3,
                              progress=lambda round_, runtime, readiness: seen.append((round_, runtime)))
    assert seen == [(0, "python"), (0, "map"), (1, "map"), (1, "python"), (2, "python"), (2, "map")]
    assert [len(samples[name]) for name in ("python", "map")] == [3, 3]
    middle = startup.median(samples["map"])
    assert middle.ready_s == sorted(s.ready_s for s in samples["map"])[1]


def test_an_unknown_runtime_or_a_reduce_without_inputs_is_refused_with_the_choices(inputs):
    with pytest.raises(ValueError, match="choose one of map, duckdb, reduce"):
        startup.run_once("spark", inputs)
    with pytest.raises(ValueError, match="prepare_inputs"):
        startup.run_once("reduce", startup.Inputs(object_path=inputs.object_path))


def test_a_failing_runtime_says_which_and_why(inputs, tmp_path):
    missing = startup.Inputs(object_path=inputs.object_path, map_outputs_path=tmp_path / "none.pickle")
    with pytest.raises(RuntimeError, match="the reduce runtime failed"):
        startup.run_once("reduce", missing)
