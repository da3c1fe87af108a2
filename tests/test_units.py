"""Unit tests of the pure pieces: cost model, metrics, Lithops config, chunksize, redaction, staging."""

from __future__ import annotations

import pytest

from aqstudy.backends.lithops_config import build_lithops_config, resolve_chunksize
from aqstudy.backends.localhost import capped_concurrency
from aqstudy.config.schema import compose_config
from aqstudy.data.local import local_source
from aqstudy.data.source import DatasetError
from aqstudy.data.staging import dataset_prefix, stage
from aqstudy.data.synthetic import synthetic_source
from aqstudy.measure import cost, metrics
from aqstudy.study.redaction import redact, redact_text


def test_billed_duration_rounds_up_to_the_millisecond():
    assert cost.billed_seconds(0.0301) == pytest.approx(0.031)
    assert cost.billed_seconds(0.030) == pytest.approx(0.030)
    assert cost.billed_seconds(1e-6) == pytest.approx(0.001)


def test_lambda_cost_by_hand():
    # Two calls of 1.0004 s and 0.5 s at 2048 MB: 1.001 s + 0.5 s billed = 1.501 s × 2 GB = 3.002 GB-s.
    bill = cost.run_cost(cost.RunUsage(invocation_durations_s=[1.0004, 0.5], memory_mb=2048, region="us-east-1",
                                       bucket_region="us-east-1"))
    assert bill.billed_gb_s == pytest.approx(3.002)
    assert bill.compute_usd == pytest.approx(3.002 * 0.0000166667)
    assert bill.requests_usd == pytest.approx(2 * 0.2e-6)
    assert bill.total_usd == pytest.approx(bill.compute_usd + bill.requests_usd)


def test_unknown_region_or_architecture_is_refused():
    with pytest.raises(ValueError, match="region 'mars-1' has no Lambda price"):
        cost.gb_second_price(region="mars-1")
    with pytest.raises(ValueError, match="architecture 'sparc'"):
        cost.gb_second_price(region="us-east-1", architecture="sparc")


def test_percentile_interpolates():
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([5], 95) == 5
    assert metrics.percentile([0, 10], 95) == pytest.approx(9.5)


def _call(phase, submit, start, end, cold):
    stats = {"host_submit_tstamp": submit, "worker_start_tstamp": start - 0.01, "worker_func_start_tstamp": start,
             "worker_end_tstamp": end, "worker_cold_start": cold, "worker_exec_time": end - start,
             "worker_peak_memory_end": 100 * 2**20}
    return metrics.call_row(phase=phase, call_id=f"{phase}-{start}", status="ok", error=None, stats=stats)


def test_derived_metrics_from_timestamps():
    calls = [_call("map", 100.1, 100.5, 101.0, True), _call("map", 100.1, 101.0, 101.4, False),
             _call("reduce", 100.2, 101.5, 101.8, True)]
    derived = metrics.derive_metrics(calls=calls, submitted_at=100.0, finished_at=102.0, effective_workers=2,
                                     input_bytes=50_000_000)
    assert derived["duration_s"] == pytest.approx(2.0)
    assert derived["job_setup_s"] == pytest.approx(0.1)
    assert derived["map_duration_s"] == pytest.approx(1.4)
    assert derived["reduce_duration_s"] == pytest.approx(0.4)
    assert derived["cold_starts"] == 2
    assert derived["startup_cold_p50_s"] == pytest.approx(0.4)
    assert derived["startup_warm_max_s"] == pytest.approx(0.9)
    assert derived["throughput_mb_s"] == pytest.approx(25.0)
    assert derived["utilization"] == pytest.approx((0.51 + 0.41 + 0.31) / 4)
    assert derived["peak_memory_mb"] == pytest.approx(100)


def test_chunksize_auto_spreads_objects_over_workers():
    assert resolve_chunksize("auto", objects=10, workers=4) == 3
    assert resolve_chunksize("auto", objects=3, workers=8) == 1
    assert resolve_chunksize(5, objects=3, workers=8) == 5
    with pytest.raises(ValueError, match="chunksize=0 is not valid"):
        resolve_chunksize(0, objects=1, workers=1)


def test_local_workers_are_capped_with_a_reason_and_cloud_ones_are_not():
    machine = {"cpu_count": 2, "total_memory_mb": 24000}
    backend = compose_config(["backend.workers_per_core=2", "backend.per_worker_mb=256"]).backend
    local = capped_concurrency(workers=512, backend=backend, machine=machine)
    assert (local.requested, local.effective) == (512, 4)
    assert "exceeds what this machine holds" in local.capped_reason
    assert capped_concurrency(workers=3, backend=backend, machine=machine).capped_reason is None
    cloud = compose_config(["backend=aws_lambda", "storage=s3", "workers=512"])
    from aqstudy.backends import backend_named

    assert backend_named("aws_lambda").concurrency(workers=512, backend=cloud.backend).effective == 512


def test_localhost_lithops_config():
    cfg = compose_config(["backend.version=1", "memory=1024"])
    config = build_lithops_config(cfg, effective_workers=3, python="/venv/bin/python")
    assert config["lithops"]["backend"] == "localhost"
    assert config["lithops"]["storage"] == "localhost"
    assert config["localhost"] == {"version": 1, "worker_processes": 3, "runtime": "/venv/bin/python"}


def test_redaction_of_keys_and_key_shaped_values():
    cfg = {"aws": {"aws_secret_access_key": "abc", "region": "us-east-1"}, "token": "t",
           "note": "id " + "AKIA" + "IOSFODNN7EXAMPLE", "commit": "0123456789abcdef0123456789abcdef01234567"}
    clean = redact(cfg)
    assert clean["aws"] == {"aws_secret_access_key": "***", "region": "us-east-1"}
    assert clean["token"] == "***"
    assert clean["note"] == "id ***"
    assert clean["commit"] == cfg["commit"]
    assert redact_text("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == "***"


class MemoryStore:
    """An ObjectStore in a dict, counting puts."""

    def __init__(self):
        self.bucket = "memory"
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    def get(self, key):
        return self.objects.get(key)

    def size(self, key):
        return len(self.objects[key]) if key in self.objects else None

    def put(self, key, data, progress=None):
        self.puts += 1
        self.objects[key] = data
        return True


def _source(seed=1):
    return synthetic_source(seed=seed, station_count=20, object_mb=0.05, data_size_gb=0.0002)


def test_staging_is_idempotent_and_a_changed_source_lands_apart():
    store = MemoryStore()
    first = stage(_source(), store, progress=False)
    puts = store.puts
    again = stage(_source(), store, progress=False)
    assert not first.reused and again.reused
    assert store.puts == puts
    assert again.dataset_sha256 == first.dataset_sha256
    other = stage(_source(seed=2), store, progress=False)
    assert other.prefix != first.prefix and not other.reused
    assert dataset_prefix(_source()) == first.prefix


def test_a_damaged_staged_copy_is_staged_again():
    store = MemoryStore()
    first = stage(_source(), store, progress=False)
    store.objects[first.keys[0]] = b"truncated"
    again = stage(_source(), store, progress=False)
    assert not again.reused
    assert store.objects[first.keys[0]] != b"truncated"
    assert again.dataset_sha256 == first.dataset_sha256


def test_local_source_errors_name_the_fix(tmp_path):
    with pytest.raises(DatasetError, match="does not exist; pass a folder of .ndjson or .ndjson.gz files"):
        local_source(path=str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="holds no .ndjson or .ndjson.gz files"):
        local_source(path=str(tmp_path))
    with pytest.raises(DatasetError, match="dataset.path is not set"):
        local_source(path=None)


def test_local_source_skips_and_lists_non_data_files(tmp_path):
    (tmp_path / "a.ndjson").write_text('{"value": 1}\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.ndjson.gz").write_bytes(b"")
    (tmp_path / "README.md").write_text("x")
    source = local_source(path=str(tmp_path))
    assert [obj.name for obj in source.objects] == ["a.ndjson", "sub__b.ndjson.gz"]
    assert source.skipped == ["README.md"]


def test_synthetic_objects_are_deterministic():
    a, b = _source(), _source()
    assert a.fingerprint == b.fingerprint
    assert a.objects[0].load() == b.objects[0].load()


def test_replacement_maps_take_the_same_iterdata_as_the_study_map():
    # Lithops passes iterdata by name: a map that lacks one of them fails every call.
    import inspect

    from aqstudy.kernel import functions, original
    from tests.study import faulty

    expected = list(inspect.signature(functions.map_object).parameters)
    for replacement in (original.map_object, faulty.fail_on_one_object, faulty.fail_once):
        assert list(inspect.signature(replacement).parameters) == expected, replacement.__qualname__


def test_a_study_process_starts_a_lithops_session_of_its_own(tmp_path):
    # Sibling processes that inherited their parent's Lithops session named their executors alike and
    # cleaned up each other's jobs.
    import os
    import subprocess
    import sys

    script = ("from aqstudy.study.paths import point_lithops_at; import pathlib, sys; "
              "point_lithops_at(pathlib.Path(sys.argv[1])); "
              "from lithops.utils import create_executor_id; print(create_executor_id())")
    env = dict(os.environ, __LITHOPS_SESSION_ID="parent", __LITHOPS_TOTAL_EXECUTORS="0")
    ids = [subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() for _ in range(2)]
    assert not any(executor_id.startswith("parent") for executor_id in ids)
    assert ids[0] != ids[1]


def test_the_collector_is_paused_for_start_up_and_resumed_with_what_is_loaded_frozen():
    import gc

    from aqstudy.study import collector

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    loaded = [[index] for index in range(1000)]  # long-lived containers, as imports leave
    try:
        collector.pause()
        assert not gc.isenabled()
        collector.resume()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(loaded)
        collector.resume()  # nothing paused it: no second freeze
        collector.pause()
        collector.pause()
        collector.resume()
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_collector_switched_off_by_someone_else_stays_off():
    import gc

    from aqstudy.study import collector

    gc.disable()
    try:
        collector.pause()
        collector.resume()
        assert not gc.isenabled()
    finally:
        gc.enable()
