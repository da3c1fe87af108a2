"""Predicted runs (backend=model, tag predicted=true) never share a report table with measured ones."""

from __future__ import annotations

from aqstudy.reports import tables as r


def run(run_id: str, *, workers: int, duration_s: float, predicted: bool) -> dict:
    params = {"analysis": "day_average", "backend": "model" if predicted else "localhost", "storage": "localhost",
              "dataset": "synthetic", "region": "us-east-1", "bucket_region": "us-east-1", "memory": "2048",
              "chunksize": "auto", "data_size": "0.2", "workers": str(workers), "effective_workers": str(workers),
              "input_bytes": "200000000", "repeat": "0"}
    return {"run_id": run_id, "status": "FINISHED", "params": params, "start_time": 1,
            "metrics": {"duration_s": duration_s, "cost_usd": 0.001, "cost_compute_usd": 0.001},
            "tags": {"predicted": "true"} if predicted else {}}


def test_predicted_and_measured_runs_get_tables_of_their_own_and_say_so():
    runs = [run("m1", workers=1, duration_s=2.0, predicted=False),
            run("m2", workers=2, duration_s=1.2, predicted=False),
            run("p1", workers=1, duration_s=1.9, predicted=True),
            run("p2", workers=2, duration_s=1.0, predicted=True)]
    tables = r.all_tables(r.finished_rows(runs))
    measured = [t for t in tables if not t.name.startswith(r.PREDICTED_PREFIX)]
    predicted = [t for t in tables if t.name.startswith(r.PREDICTED_PREFIX)]
    assert measured and predicted
    for table in measured:
        assert "p1" not in str(table.rows) and "p2" not in str(table.rows) and "PREDICTED" not in table.title
    for table in predicted:
        assert "m1" not in str(table.rows) and "m2" not in str(table.rows)
        assert table.title.startswith(r.PREDICTED_TITLE) and any("nothing ran" in note for note in table.notes)
    assert "predicted_results" not in {t.name for t in tables}


def test_only_measured_runs_report_as_before():
    runs = [run("m1", workers=1, duration_s=2.0, predicted=False)]
    assert not any(t.name.startswith(r.PREDICTED_PREFIX) for t in r.all_tables(r.finished_rows(runs)))
