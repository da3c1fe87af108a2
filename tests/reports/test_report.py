"""Report tables (pure) on hand-made runs, and a real report from real runs in a real MLflow store."""

from __future__ import annotations

import csv
import io

import pytest

from aqstudy.measure import metrics as m
from aqstudy.reports import tables as r


def _run(run_id: str, *, workers: int, duration_s: float, data_size: float = 0.1, effective: int | None = None,
         memory: int = 2048, repeat: int = 0, bucket_region: str = "us-east-1", cost_usd: float = 1e-4,
         status: str = "FINISHED", **metrics) -> dict:
    params = {"analysis": "day_average", "backend": "localhost", "storage": "localhost", "dataset": "synthetic",
              "region": "us-east-1", "bucket_region": bucket_region, "memory": str(memory), "chunksize": "auto",
              "data_size": str(data_size), "workers": str(workers), "repeat": str(repeat),
              "effective_workers": str(effective or workers), "input_bytes": str(int(data_size * 1e9))}
    return {"run_id": run_id, "run_name": run_id, "status": status, "start_time": 0, "params": params,
            "metrics": {m.DURATION_S: duration_s, m.COST_USD: cost_usd, **metrics}, "tags": {}}


def test_spread_is_median_min_max_n_and_the_ci_of_the_present_values():
    # 4 runs: no 95% interval exists; the CI is min–max, which holds the median with 87.5% confidence.
    assert r.spread([3.0, 1.0, None, 2.0, 10.0]) == r.Spread(2.5, 1.0, 10.0, 4, 1.0, 10.0, 0.875)
    # 9 runs reach 95% with the 2nd and 8th smallest (Le Boudec, Table A.1).
    nine = r.spread([float(v) for v in range(1, 10)])
    assert (nine.ci_low, nine.ci_high, nine.median) == (2.0, 8.0, 5.0) and nine.confidence >= 0.95
    assert r.spread([None]) is None


def test_cells_show_the_ci_and_mark_short_and_few_runs():
    nine = r.spread([float(v) for v in range(1, 10)])
    assert r._cell(nine, short_ids=True) == "5 [2–8]"
    assert r._cell(r.spread([1.0, 2.0, 4.0]), short_ids=True) == f"2 [1–4]{r.SHORT_MARK}"
    assert r._cell(r.spread([1.0, 3.0]), short_ids=True) == f"2 [1–3]{r.FEW_MARK}"
    assert r._cell(r.spread([1.5]), short_ids=True) == f"1.5{r.FEW_MARK}"
    assert "Le Boudec" in r.CI_CAPTION


def test_pareto_mask_keeps_exactly_the_non_dominated_points():
    points = [(1, 10), (2, 5), (3, 6), (4, 1), (2, 5), (5, 5)]
    # (3, 6) is beaten by (2, 5); (5, 5) by (2, 5) and (4, 1); equal points do not dominate each other.
    assert r.pareto_mask(points) == [True, True, False, True, True, False]


def test_scaling_table_gives_speedup_and_efficiency_against_the_smallest_worker_count_per_data_size():
    runs = [_run("a1", workers=1, duration_s=8.0), _run("a2", workers=1, duration_s=10.0, repeat=1),
            _run("a3", workers=1, duration_s=12.0, repeat=2),
            _run("b", workers=2, duration_s=5.0), _run("c", workers=8, duration_s=4.0, effective=4),
            _run("d", workers=2, duration_s=20.0, data_size=0.2), _run("e", workers=4, duration_s=10.0, data_size=0.2),
            _run("failed", workers=2, duration_s=1.0, status="FAILED")]
    table = r.scaling_table(r.finished_rows(runs))
    rows = {(row["data_size_gb"], row["workers"]): row for row in table.rows}
    assert set(rows) == {(0.1, 1), (0.1, 2), (0.1, 8), (0.2, 2), (0.2, 4)}
    base = rows[(0.1, 1)]
    assert base[m.DURATION_S] == r.Spread(10.0, 8.0, 12.0, 3, 8.0, 12.0, 0.75) and base["n"] == 3
    assert base["runs"] == ["a1", "a2", "a3"]
    assert rows[(0.1, 2)]["speedup"].value == pytest.approx(2.0)
    assert rows[(0.1, 2)]["efficiency"].value == pytest.approx(1.0)
    capped = rows[(0.1, 8)]
    assert capped["speedup"].value == pytest.approx(2.5)
    assert capped["efficiency"].value == pytest.approx(2.5 / 8)
    assert capped["efficiency_effective"].value == pytest.approx(2.5 / 4)
    assert capped[r.EFFECTIVE_WORKERS] == 4
    assert rows[(0.2, 4)]["speedup"].value == pytest.approx(2.0)
    assert rows[(0.2, 2)]["speedup"].value == pytest.approx(1.0)
    assert any("effective_workers < workers" in note for note in table.notes)


def test_an_axis_that_varies_besides_workers_gets_its_own_column_and_baseline():
    runs = [_run("a", workers=1, duration_s=6.0, memory=1024), _run("b", workers=2, duration_s=3.0, memory=1024),
            _run("c", workers=1, duration_s=4.0, memory=4096), _run("d", workers=2, duration_s=4.0, memory=4096)]
    table = r.scaling_table(r.finished_rows(runs))
    assert table.columns[0] == "memory_mb"
    assert [(row["memory_mb"], row["workers"], row["speedup"].value) for row in table.rows] == [
        (1024, 1, 1.0), (1024, 2, 2.0), (4096, 1, 1.0), (4096, 2, 1.0)]


def test_efficiency_above_one_from_noise_is_held_at_ideal_and_marked():
    # Two workers 2.2× faster than one, but the runs spread widely: noise explains the excess over 2×.
    noisy = [_run(f"a{k}", workers=1, duration_s=d, repeat=k) for k, d in enumerate((8.0, 11.0, 14.0, 9.0, 12.0))]
    noisy += [_run(f"b{k}", workers=2, duration_s=d, repeat=k) for k, d in enumerate((4.0, 7.0, 5.0, 5.5, 3.5))]
    row = r.scaling_table(r.finished_rows(noisy)).rows[1]
    assert row["efficiency"].measured == pytest.approx(11.0 / 5.0 / 2)
    assert row["efficiency"].held and row["efficiency"].value == 1.0
    assert row["speedup"].held and row["speedup"].value == 2.0
    assert r._cell(row["efficiency"], short_ids=True) == f"1{r.HELD_MARK}"
    # Tight runs that really are super-linear (the CI stays above ideal) are shown as measured.
    tight = [_run(f"a{k}", workers=1, duration_s=10.0 + 0.01 * k, repeat=k) for k in range(5)]
    tight += [_run(f"b{k}", workers=2, duration_s=4.0 + 0.01 * k, repeat=k) for k in range(5)]
    row = r.scaling_table(r.finished_rows(tight)).rows[1]
    assert not row["efficiency"].held and row["efficiency"].value > 1.2 and row["efficiency"].low > 1.0
    # One run each: nothing can show more than ideal.
    single = [_run("a", workers=1, duration_s=10.0), _run("b", workers=2, duration_s=4.0)]
    row = r.scaling_table(r.finished_rows(single)).rows[1]
    assert row["efficiency"].held and row["efficiency"].low is None


def test_ideal_scaling_stops_at_the_invocations_the_data_allows():
    # 4 objects at chunksize 1: 8 workers can run no more than 4 invocations at once.
    runs = [_run("a", workers=4, duration_s=4.0), _run("b", workers=8, duration_s=3.9)]
    for run in runs:
        run["params"] |= {"objects": "4", "effective_chunksize": "1"}
    row = r.scaling_table(r.finished_rows(runs)).rows[1]
    assert row["speedup"].held and row["speedup"].value == 1.0  # ideal: 4 → 4 usable workers
    assert row["efficiency"].value == pytest.approx(0.5)


def test_cost_table_gives_cost_per_run_and_per_gb_and_every_cost_term():
    runs = [_run("a", workers=1, duration_s=1.0, data_size=0.5, cost_usd=2e-3, cost_compute_usd=1.5e-3,
                 cost_transfer_usd=5e-4),
            _run("b", workers=1, duration_s=1.0, data_size=0.5, cost_usd=4e-3, repeat=1, cost_compute_usd=3e-3)]
    table = r.cost_table(r.finished_rows(runs))
    (row,) = table.rows
    assert row[m.COST_USD] == r.Spread(3e-3, 2e-3, 4e-3, 2, 2e-3, 4e-3, 0.5)
    assert row["cost_per_gb_usd"].median == pytest.approx(6e-3)
    assert row["input_gb"] == pytest.approx(0.5)
    assert "cost_transfer_usd" in table.columns and row["cost_transfer_usd"] == pytest.approx(5e-4)


def test_startup_table_reads_the_metric_names_the_run_logs():
    cold_p50 = m.startup_metric("cold", "p50")
    runs = [_run("a", workers=2, duration_s=1.0, **{cold_p50: 0.3}),
            _run("b", workers=2, duration_s=1.0, repeat=1, **{cold_p50: 0.5})]
    table = r.startup_table(r.finished_rows(runs))
    assert cold_p50 in table.columns
    assert table.rows[0][cold_p50] == r.Spread(0.4, 0.3, 0.5, 2, 0.3, 0.5, 0.5)
    assert table.rows[0][m.startup_metric("warm", "p95")] is None


def test_locality_table_compares_cross_region_to_same_region_and_is_empty_without_a_cross_region_run():
    same = [_run("s1", workers=2, duration_s=2.0), _run("s2", workers=2, duration_s=4.0, repeat=1)]
    assert not r.locality_table(r.finished_rows(same))
    table = r.locality_table(r.finished_rows([*same, _run("x", workers=2, duration_s=6.0, bucket_region="eu-west-1")]))
    rows = {row["bucket_region"]: row for row in table.rows}
    assert rows["eu-west-1"]["locality"] == "cross-region" and rows["us-east-1"]["locality"] == "same-region"
    assert rows["eu-west-1"]["vs_same_region"] == pytest.approx(2.0)


def test_pareto_table_holds_the_front_fastest_first_with_run_ids():
    runs = [_run("fast", workers=4, duration_s=1.0, cost_usd=9e-4), _run("cheap", workers=1, duration_s=5.0,
                                                                          cost_usd=1e-4),
            _run("worse", workers=2, duration_s=6.0, cost_usd=5e-4)]
    table = r.pareto_table(r.finished_rows(runs))
    assert [row["runs"] for row in table.rows] == [["fast"], ["cheap"]]
    # A smaller dataset is faster and cheaper than everything, but it is other work: it has its own front.
    small = _run("small", workers=2, duration_s=0.5, cost_usd=1e-5, data_size=0.01)
    table = r.pareto_table(r.finished_rows([*runs, small]))
    assert [(row["data_size_gb"], row["runs"]) for row in table.rows] == [
        (0.01, ["small"]), (0.1, ["fast"]), (0.1, ["cheap"])]


def _with_digest(run: dict, digest: str, version: str | None = "2", dataset_sha256: str = "d" * 64) -> dict:
    run["tags"] = {"result_sha256": digest, "dataset_sha256": dataset_sha256,
                   **({"result_sha256_version": version} if version else {})}
    return run


def test_results_table_tells_whether_runs_of_one_work_agree_and_never_compares_digest_versions():
    x, y = "1" * 64, "2" * 64
    runs = [_with_digest(_run("a", workers=1, duration_s=1.0), x),
            _with_digest(_run("b", workers=2, duration_s=1.0), x),
            # Logged before the version tag existed: version 1, even though its digest reads like "a"'s.
            _with_digest(_run("old", workers=4, duration_s=1.0), x, version=None),
            _with_digest(_run("other-input", workers=2, duration_s=1.0), y, dataset_sha256="e" * 64),
            _with_digest(_run("small", workers=2, duration_s=1.0, data_size=0.01), y)]
    table = r.results_table(r.finished_rows(runs))
    rows = {(row["data_size_gb"], row["dataset_sha256"][0][0], row["result_sha256_version"]): row for row in table.rows}
    assert set(rows) == {(0.01, "d", "2"), (0.1, "d", "1"), (0.1, "d", "2"), (0.1, "e", "2")}
    assert (rows[(0.1, "d", "2")]["results"], rows[(0.1, "d", "2")]["runs"]) == ("one", ["a", "b"])
    assert rows[(0.1, "d", "1")]["runs"] == ["old"]
    assert not any("DIFFERENT" in note for note in table.notes)
    assert any("1 input(s) have digests of several result_sha256 versions" in note for note in table.notes)

    runs.append(_with_digest(_run("c", workers=8, duration_s=1.0), y))
    table = r.results_table(r.finished_rows(runs))
    (row,) = [row for row in table.rows if row["runs"] == ["a", "b", "c"]]
    assert row["results"] == "2 DIFFERENT" and row["result_sha256"] == [x, y]
    assert any("1 row(s) have runs that computed DIFFERENT results" in note for note in table.notes)
    listing = {row["run_id"]: row for row in r.runs_listing(runs).rows}
    assert (listing["old"]["result_sha256_version"], listing["c"]["result_sha256_version"]) == ("1", "2")


def test_pareto_table_marks_members_within_noise_of_their_neighbours():
    def repeats(name, workers, durations, costs):
        return [_run(f"{name}{k}", workers=workers, duration_s=d, cost_usd=c, repeat=k)
                for k, (d, c) in enumerate(zip(durations, costs, strict=True))]

    runs = [*repeats("fast", 8, (1.0, 1.1, 1.2), (9e-4, 9.1e-4, 9.2e-4)),
            *repeats("close", 4, (1.15, 1.25, 1.3), (8.9e-4, 9.05e-4, 9.15e-4)),  # overlaps fast on both
            *repeats("cheap", 1, (5.0, 5.2, 5.1), (1e-4, 1.1e-4, 1.05e-4))]
    table = r.pareto_table(r.finished_rows(runs))
    assert [row["runs"][0][:-1] for row in table.rows] == ["fast", "close", "cheap"]
    assert [row[r.DISTINGUISHABLE] for row in table.rows] == ["no: ≈ cheaper", "no: ≈ faster", "yes"]
    assert r.DISTINGUISHABLE_NOTE in table.notes
    # One run each: nothing can be told apart.
    single = [_run("a", workers=8, duration_s=1.0, cost_usd=9e-4), _run("b", workers=1, duration_s=5.0, cost_usd=1e-4)]
    assert [row[r.DISTINGUISHABLE] for row in r.pareto_table(r.finished_rows(single)).rows] == ["no: ≈ cheaper",
                                                                                               "no: ≈ faster"]


def test_renderers_keep_spreads_and_run_ids():
    table = r.scaling_table(r.finished_rows([_run("a" * 32, workers=1, duration_s=2.0),
                                             _run("b" * 32, workers=1, duration_s=4.0, repeat=1)]))
    rows = list(csv.DictReader(io.StringIO(r.to_csv(table))))
    assert rows[0]["duration_s"] == "3.0" and rows[0]["duration_s_min"] == "2.0" and rows[0]["duration_s_max"] == "4.0"
    assert rows[0]["duration_s_ci_low"] == "2.0" and rows[0]["duration_s_ci_confidence"] == "0.5"
    assert rows[0]["speedup_measured"] == "1.0"
    assert rows[0]["runs"] == f"{'a' * 32};{'b' * 32}"
    markdown = r.to_markdown(table)
    assert f"| 3 [2–4]{r.FEW_MARK} |" in markdown and "aaaaaaaa, bbbbbbbb" in markdown
    assert "Le Boudec" in markdown
    latex = r.to_latex(table)
    assert r"data\_size\_gb" in latex and r"3 [2--4]\ddag{}" in latex and r"\bottomrule" in latex
    assert "scaling.csv (column runs)" in latex


def test_calls_csv_round_trip_recovers_startups_and_the_submit_time():
    text = ("phase,call_id,cold_start,startup_s,host_submit_tstamp\n"
            "map,a,True,0.5,100.25\nmap,b,False,0.1,100.5\nmap,c,,,\nreduce,d,True,2.0,100.3\n")
    calls = r.parse_calls_csv(text)
    assert r.startup_samples(calls) == {"cold": [0.5], "warm": [0.1]}
    assert r.job_submitted_at(calls, job_setup_s=0.25) == pytest.approx(100.0)


# --- integration: real runs, a real MLflow store, the report made from it ---------------------------------

@pytest.mark.integration
def test_a_report_from_real_runs_writes_tables_and_figures_and_runs_nothing(compose, tracking_uri, mlflow_client,
                                                                            tmp_path):
    from aqstudy.reports.command import ReportError, make_report
    from aqstudy.study.runner import run_study

    results = [run_study(compose(f"workers={w}", f"repeat={k}", "mlflow.experiment=scaling"))
               for w in (1, 2) for k in (1, 2)]
    assert all(res.status == "FINISHED" for res in results), [res.error for res in results]
    experiment = mlflow_client.get_experiment_by_name("scaling")
    before = len(mlflow_client.search_runs([experiment.experiment_id]))
    out = tmp_path / "report"
    (out).mkdir()
    (out / "mine.txt").write_text("a user's file")
    outcome = make_report(tracking_uri=tracking_uri, experiment=None, out=str(out), note="test machine")
    assert outcome.experiment == "scaling" and outcome.finished == 4
    assert len(mlflow_client.search_runs([experiment.experiment_id])) == before
    for name in ("scaling", "cost", "startup", "pareto", "results"):
        for suffix in ("md", "csv", "tex"):
            assert (out / "tables" / f"{name}.{suffix}").stat().st_size > 0
    for name in ("scaling", "cost_vs_duration", "startup", "timeline"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader((out / "tables" / "scaling.csv").open()))
    assert [row["workers"] for row in rows] == ["1", "2"] and all(row["n"] == "2" for row in rows)
    ids = {i for row in rows for i in row["runs"].split(";")}
    assert ids == {res.run_id for res in results}
    (computed,) = csv.DictReader((out / "tables" / "results.csv").open())
    assert (computed["results"], computed["result_sha256_version"], computed["n"]) == ("one", "2", "4")
    readme = (out / "README.md").read_text()
    assert "test machine" in readme and "0.004 GB" in readme and "![" in readme

    # A second report replaces its own files, leaves the user's, and refuses an unknown timeline run.
    make_report(tracking_uri=tracking_uri, experiment="scaling", out=str(out), filter_string="params.workers = '2'")
    rows = list(csv.DictReader((out / "tables" / "scaling.csv").open()))
    assert [row["workers"] for row in rows] == ["2"]
    assert (out / "mine.txt").read_text() == "a user's file"
    with pytest.raises(ReportError, match="report.timeline_run=nope is not a finished run"):
        make_report(tracking_uri=tracking_uri, experiment="scaling", out=str(out), timeline_run="nope")
    with pytest.raises(ReportError, match="not a valid MLflow filter"):
        make_report(tracking_uri=tracking_uri, experiment="scaling", out=str(out), filter_string="workers ==")
    with pytest.raises(ReportError, match="experiment 'nothing' does not exist"):
        make_report(tracking_uri=tracking_uri, experiment="nothing", out=str(out))


def test_the_timeline_draws_stragglers_in_their_own_colour(tmp_path):
    import matplotlib.image

    from aqstudy.reports.figures import timeline

    def call(index, seconds):
        return {"phase": "map", "call_id": f"M000-{index:05d}", "host_submit_tstamp": 100.0,
                "worker_start_tstamp": 100.1, "worker_end_tstamp": 100.1 + seconds, "cold_start": False}

    straggler_rgb = (0xc4, 0x4e, 0x52)

    def has_straggler_colour(path) -> bool:
        pixels = (matplotlib.image.imread(path)[..., :3] * 255).round().astype(int)
        return bool(((abs(pixels - straggler_rgb)).max(axis=-1) <= 2).any())

    even = timeline([call(i, 1.0) for i in range(6)], submitted_at=100.0, path=tmp_path / "even.png")
    slow = timeline([call(i, 1.0) for i in range(5)] + [call(5, 3.0)], submitted_at=100.0, path=tmp_path / "slow.png")
    assert not has_straggler_colour(even)
    assert has_straggler_colour(slow)
