"""The report command: read tracked runs from MLflow (never re-run anything), write tables and figures.

MLflow and the file system are touched here only; the tables are :mod:`aqstudy.reports.tables`, the figures
:mod:`aqstudy.reports.figures`. A report folder is regenerated whole: the files the previous report wrote (listed in
its manifest) are replaced, anything else a user put there is left alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aqstudy.measure import metrics as m
from aqstudy.reports import tables as r
from aqstudy.study.conditions import describe as describe_conditions
from aqstudy.study.paths import PROJECT_ROOT
from aqstudy.study.redaction import redact_text

log = logging.getLogger(__name__)

#: The list of files a report wrote, kept in its folder so the next report replaces exactly those.
MANIFEST = ".report-files"
#: Axes the start-up figure groups calls by, the first one that varies among the runs.
STARTUP_GROUPING = ("workers", "memory", "chunksize", "data_size", "bucket_region")


class ReportError(RuntimeError):
    """The report cannot be made; the message names the cause and the fix."""


@dataclass
class ReportOutcome:
    """Where the report went and what it holds."""

    out: Path
    experiment: str
    runs: int
    finished: int
    tables: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


def _client(tracking_uri: str):
    # The report reads one small artifact per run: MLflow's progress bar for each would bury the summary.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow.tracking import MlflowClient

    if tracking_uri.startswith("sqlite:///") and not Path(tracking_uri[len("sqlite:///"):]).exists():
        raise ReportError(f"no MLflow store at {tracking_uri}; run a study first (python src/run.py) or pass "
                          "mlflow.tracking_uri=URI")
    return MlflowClient(tracking_uri=tracking_uri)


def resolve_experiment(client, name: str | None):
    """Experiment ``name``, or (``None``) the experiment holding the most recent run of the store."""
    if name:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            known = ", ".join(sorted(e.name for e in client.search_experiments())) or "none"
            raise ReportError(f"MLflow experiment {name!r} does not exist; pass mlflow.experiment=NAME "
                              f"(known: {known})")
        return experiment
    experiments = client.search_experiments()
    latest = client.search_runs([e.experiment_id for e in experiments], order_by=["attributes.start_time DESC"],
                                max_results=1) if experiments else []
    if not latest:
        raise ReportError("the MLflow store holds no runs; run a study first, e.g. "
                          "python src/run.py -m +experiment=scaling data_size=0.1")
    return client.get_experiment(latest[0].info.experiment_id)


def find_sweep(client, run_id: str | None):
    """The parent run of sweep ``run_id``, or (None) of the latest sweep in the store, or None if there is none."""
    from aqstudy.sweeps.callbacks import KIND_SWEEP, TAG_KIND

    if run_id:
        try:
            run = client.get_run(run_id)
        except Exception:
            raise ReportError(f"report.sweep={run_id!r} is not a run of this MLflow store; pass the parent run id "
                              "of a -m sweep (shown in the MLflow UI), or leave it null for the latest") from None
        if run.data.tags.get(TAG_KIND) != KIND_SWEEP:
            raise ReportError(f"report.sweep={run_id!r} is not a sweep's parent run; pass the run a -m sweep made")
        return run
    experiments = client.search_experiments()
    found = client.search_runs([e.experiment_id for e in experiments],
                               filter_string=f"tags.`{TAG_KIND}` = '{KIND_SWEEP}'",
                               order_by=["attributes.start_time DESC"], max_results=1) if experiments else []
    return found[0] if found else None


def read_runs(client, experiment_id: str, filter_string: str = "") -> list[dict]:
    """Every run of the experiment matching the MLflow filter, as plain records (oldest first)."""
    from mlflow.exceptions import MlflowException

    records, token = [], None
    while True:
        try:
            page = client.search_runs([experiment_id], filter_string=filter_string or "", max_results=1000,
                                      order_by=["attributes.start_time ASC"], page_token=token)
        except MlflowException as error:
            raise ReportError(f"report.filter={filter_string!r} is not a valid MLflow filter ({error.message}); "
                              "pass e.g. report.filter=\"params.data_size = '0.1'\"") from None
        for run in page:
            records.append({"run_id": run.info.run_id, "run_name": run.info.run_name, "status": run.info.status,
                            "start_time": run.info.start_time, "params": dict(run.data.params),
                            "metrics": dict(run.data.metrics), "tags": dict(run.data.tags)})
        token = page.token
        if not token:
            return records


def read_calls(client, run_id: str) -> list[dict] | None:
    """A run's ``calls.csv`` artifact as rows, or None when it has none."""
    with tempfile.TemporaryDirectory(prefix="aqstudy-report-") as folder:
        try:
            path = client.download_artifacts(run_id, "calls.csv", folder)
        except Exception as error:  # an artifact missing or unreadable leaves that run out of the figure
            log.warning("run %s: no calls.csv (%s)", run_id, error)
            return None
        return r.parse_calls_csv(Path(path).read_text())


def machine_description() -> str:
    """CPU model, cores, RAM and OS of this machine, in one line."""
    from aqstudy.backends.localhost import cpu_model, this_machine

    cpu = cpu_model()
    machine = this_machine()
    return (f"{cpu}, {machine['cpu_count']} cores, {machine['total_memory_mb'] / 1024:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def _store_label(tracking_uri: str) -> str:
    # A path inside the project is shown relative to it, so a committed report names no home directory.
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri[len("sqlite:///"):]).resolve()
        if path.is_relative_to(PROJECT_ROOT):
            return f"sqlite:///{path.relative_to(PROJECT_ROOT)}"
    return redact_text(tracking_uri)


def _when(ms: int | None) -> str:
    return dt.datetime.fromtimestamp((ms or 0) / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _replace_previous(out: Path) -> None:
    manifest = out / MANIFEST
    if not manifest.exists():
        return
    for name in manifest.read_text().splitlines():
        target = (out / name).resolve()
        if name and target.is_relative_to(out.resolve()) and target.is_file():
            target.unlink()


def _write(out: Path, name: str, content: str | bytes, written: list[str]) -> Path:
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    written.append(name)
    return path


def _startup_label(rows: list[dict]):
    varying = r.varying_axes(rows, STARTUP_GROUPING)
    axis = varying[0] if varying else None
    return (lambda row: f"{r.AXIS_LABELS.get(axis, axis)}={row[axis]}") if axis else (lambda row: "all runs")


def _point_labels(points: list[dict]) -> list[str]:
    """Short labels (``w8 m1024``) naming only the axes that differ between the points."""
    short = {"workers": "w", "memory": "m", "chunksize": "c", "data_size": "", "bucket_region": ""}
    varying = [k for k in short if len({str(p["axes"].get(k)) for p in points}) > 1]
    return [" ".join(f"{short[k]}{p['axes'].get(k)}{'GB' if k == 'data_size' else ''}" for k in varying)
            for p in points]


def make_report(*, tracking_uri: str, experiment: str | None, filter_string: str = "", out: str | None = None,
                timeline_run: str | None = None, note: str = "", max_call_files: int = 200,
                invocation: str = "python src/report.py", sweep: str | None = None) -> ReportOutcome:
    """Read the runs, write every table (md, csv, tex) and figure (png), and a README.md that shows them.

    :param tracking_uri: the MLflow store.
    :param experiment: MLflow experiment name; None = the one holding the most recent run.
    :param filter_string: an MLflow search filter, e.g. ``params.data_size = '0.1'``.
    :param out: the report folder; None = ``<project>/reports/<experiment>``.
    :param timeline_run: the run whose call timeline is drawn; None = the largest input, most workers.
    :param note: a sentence for the header (where the runs were made, what to beware of).
    :param max_call_files: at most this many runs' ``calls.csv`` are read for the start-up figure.
    :param invocation: the command that made the report, quoted in its header.
    :param sweep: a ``-m`` sweep's parent run id: report its jobs. With neither this nor ``experiment``, the
        latest sweep of the store is reported (or, when there is none, the experiment of the latest run).
    """
    from aqstudy.reports import figures
    from aqstudy.reports.figures import timeline

    client = _client(tracking_uri)
    parent = find_sweep(client, sweep) if sweep or not experiment else None
    if parent is not None:
        found = client.get_experiment(parent.info.experiment_id)
        only_sweep = f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
        filter_string = f"{only_sweep} and {filter_string}" if filter_string else only_sweep
        note = note or f"The jobs of sweep run {parent.info.run_id} ({parent.data.tags.get('aqstudy.command', '')})."
    else:
        found = resolve_experiment(client, experiment)
    runs = read_runs(client, found.experiment_id, filter_string)
    rows = r.finished_rows(runs)
    study_runs = [run for run in runs if r.is_study_run(run)]
    if not rows:
        raise ReportError(f"experiment {found.name!r} has no finished study run"
                          f"{f' matching {filter_string!r}' if filter_string else ''} ({len(study_runs)} study "
                          "runs in all); run one first, e.g. python src/run.py -m +experiment=scaling data_size=0.1")
    folder = Path(out) if out else PROJECT_ROOT / "reports" / found.name
    folder.mkdir(parents=True, exist_ok=True)
    _replace_previous(folder)
    written: list[str] = []
    outcome = ReportOutcome(out=folder, experiment=found.name, runs=len(study_runs), finished=len(rows))

    sections: list[str] = []
    tables = r.all_tables(rows)
    for table in tables:
        _write(folder, f"tables/{table.name}.md", r.to_markdown(table), written)
        _write(folder, f"tables/{table.name}.csv", r.to_csv(table), written)
        _write(folder, f"tables/{table.name}.tex", r.to_latex(table, csv_name=f"tables/{table.name}.csv"), written)
        outcome.tables.append(table.name)
    _write(folder, "runs.csv", r.to_csv(r.runs_listing(study_runs)), written)

    figure_paths: dict[str, str] = {}
    measured, predicted = r.split_by_kind(rows)
    for prefix, kind_rows, what in (("", measured, ""), (r.PREDICTED_PREFIX, predicted, "PREDICTED: ")):
        scaling = next((t for t in tables if t.name == f"{prefix}scaling"), None)
        if scaling:
            figure_paths[f"{prefix}scaling"] = f"figures/{prefix}scaling.png"
            (folder / "figures").mkdir(exist_ok=True)
            figures.scaling_figure(scaling, path=folder / figure_paths[f"{prefix}scaling"],
                                   title=f"{what}{found.name}: duration against workers (dashed = ideal, hollow = "
                                         "capped)")
        points = r.frontier_points(kind_rows)
        if points:
            figure_paths[f"{prefix}frontier"] = f"figures/{prefix}cost_vs_duration.png"
            (folder / "figures").mkdir(exist_ok=True)
            figures.frontier_figure([{**p, "label": label} for p, label in zip(points, _point_labels(points),
                                                                               strict=True)],
                                    path=folder / figure_paths[f"{prefix}frontier"],
                                    title=f"{what}{found.name}: modelled cost against duration, one dot per config")
    # The start-up figure and the timeline show measured runs when there are any, else predicted ones (said so).
    shown_rows, shown_kind = (measured, "") if measured else (predicted, "PREDICTED: ")

    by_id = {row["run_id"]: row for row in rows}
    if timeline_run and timeline_run not in by_id:
        raise ReportError(f"report.timeline_run={timeline_run} is not a finished run of this report; pass the id "
                          "of one listed in runs.csv, or leave it out")
    chosen = timeline_run or r.choose_timeline_run(shown_rows)
    chosen_kind = "PREDICTED: " if chosen and by_id[chosen].get(r.PREDICTED_TAG) else ""
    label_of = _startup_label(shown_rows)
    samples: dict[str, dict[str, list[float]]] = {}
    calls_read = 0
    ordered = sorted(shown_rows, key=lambda row: tuple(r._sortable(row[a]) for a in STARTUP_GROUPING))
    for row in ordered[:max_call_files]:
        calls = read_calls(client, row["run_id"])
        if calls is None:
            continue
        calls_read += 1
        group = samples.setdefault(label_of(row), {"cold": [], "warm": []})
        for kind, values in r.startup_samples(calls).items():
            group[kind] += values
    if any(g["cold"] or g["warm"] for g in samples.values()):
        figure_paths["startup"] = "figures/startup.png"
        figures.startup_figure(samples, path=folder / figure_paths["startup"],
                               title=f"{shown_kind}{found.name}: start-up of map calls over {calls_read} runs")
    if chosen:
        calls = read_calls(client, chosen)
        submitted_at = r.job_submitted_at(calls or [], job_setup_s=(by_id.get(chosen, {}).get("metrics") or {})
                                          .get(m.JOB_SETUP_S))
        if calls and submitted_at is not None:
            figure_paths["timeline"] = "figures/timeline.png"
            (folder / "figures").mkdir(exist_ok=True)
            timeline(calls, submitted_at=submitted_at, path=folder / figure_paths["timeline"],
                     title=f"{chosen_kind}run {chosen[:r.SHORT_ID]}: {len(calls)} calls (outlined = cold start)")
    written += figure_paths.values()
    outcome.figures = list(figure_paths)

    header = _header(found.name, tracking_uri=tracking_uri, filter_string=filter_string, runs=runs,
                     study_runs=study_runs, rows=rows, note=note, invocation=invocation,
                     timeline_run=chosen if "timeline" in figure_paths else None)
    for table in tables:
        sections.append(f"## {table.title}\n\n{r.to_markdown(table)}\nFiles: `tables/{table.name}.md`, "
                        f"`.csv` (full run ids), `.tex`.\n")
        figure = {"scaling": "scaling", "pareto": "frontier", f"{r.PREDICTED_PREFIX}scaling": f"{r.PREDICTED_PREFIX}"
                  "scaling", f"{r.PREDICTED_PREFIX}pareto": f"{r.PREDICTED_PREFIX}frontier"}.get(table.name)
        if figure in figure_paths:
            sections.append(f"![{table.title}]({figure_paths[figure]})\n")
    for name, caption in (("startup", f"{shown_kind}Start-up distributions (cold against warm map calls)"),
                          ("timeline", f"{chosen_kind}Call timeline of run {chosen}")):
        if name in figure_paths:
            sections.append(f"## {caption}\n\n![{caption}]({figure_paths[name]})\n")
    _write(folder, "README.md", header + "\n" + "\n".join(sections), written)
    (folder / MANIFEST).write_text("\n".join(written) + "\n")
    return outcome


def _header(experiment: str, *, tracking_uri: str, filter_string: str, runs: list[dict], study_runs: list[dict],
            rows: list[dict], note: str, invocation: str, timeline_run: str | None) -> str:
    statuses: dict[str, int] = {}
    for run in study_runs:
        statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    data_sizes = sorted({row["data_size"] for row in rows}, key=r._sortable)
    inputs = sorted({row[r.INPUT_BYTES] for row in rows if row[r.INPUT_BYTES]})
    backends = sorted({f"{row['backend']} compute, {row['storage']} storage, {row['dataset']} dataset" for row in rows})
    versions = sorted({f"lithops {run['params'].get('lithops_version')}, Python {run['params'].get('python_version')}"
                       for run in study_runs})
    starts = [run["start_time"] for run in study_runs if run.get("start_time")]
    lines = [
        f"# Report: {experiment}",
        "",
        f"- Made {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by `{invocation}` from MLflow "
        f"`{_store_label(tracking_uri)}`, experiment `{experiment}`"
        + (f", filter `{filter_string}`" if filter_string else "") + ". Nothing was re-run.",
        f"- Runs: {len(study_runs)} study runs ({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}), "
        f"made {_when(min(starts) if starts else None)} – {_when(max(starts) if starts else None)}; "
        "every run is listed in `runs.csv`, and each table row names its run ids.",
        f"- Data size: {', '.join(f'{d} GB' for d in data_sizes)} asked for"
        + (f" ({', '.join(f'{b / 1e6:.0f}' for b in inputs)} MB of input staged)" if inputs else "") + ".",
        f"- Backend: {'; '.join(backends)}; {'; '.join(versions)}.",
        "- Where the runs ran: " + " ".join(describe_conditions([run["params"] for run in study_runs],
                                                               [run["metrics"] for run in study_runs])),
        f"- Machine making this report: {machine_description()}.",
    ]
    predicted = [row for row in rows if row.get(r.PREDICTED_TAG)]
    if predicted:
        lines.append(f"- **{len(predicted)} of the {len(rows)} finished runs are PREDICTIONS** (backend=model, tag "
                     "predicted=true: nothing ran). Their tables are named `predicted_*` and titled PREDICTED; no "
                     "table mixes them with measured runs.")
    if note:
        lines.append(f"- Note: {note}")
    if len(runs) > len(study_runs):
        lines.append(f"- {len(runs) - len(study_runs)} other run(s) (e.g. tuning sessions) are not study runs and "
                     "are left out.")
    if timeline_run:
        lines.append(f"- Call timeline: run `{timeline_run}` (choose another with `report.timeline_run=ID`).")
    return "\n".join(lines) + "\n"


def main_entry(cfg: Any, *, invocation: str = "python src/report.py") -> int:
    """What ``src/report.py`` calls: make the report, print where it went or a one-line error; the exit code."""
    from aqstudy.study.tracking import resolve_tracking_uri

    settings = cfg.report
    try:
        outcome = make_report(
            tracking_uri=resolve_tracking_uri(cfg.mlflow.tracking_uri), experiment=cfg.mlflow.experiment,
            filter_string=settings.filter, out=settings.out, timeline_run=settings.timeline_run, note=settings.note,
            max_call_files=settings.max_call_files, invocation=invocation, sweep=settings.sweep,
        )
    except ReportError as error:
        print(f"error: {redact_text(str(error))}", file=sys.stderr)
        return 1
    where = os.path.relpath(outcome.out) if outcome.out.is_relative_to(Path.cwd()) else str(outcome.out)
    print(f"report of experiment {outcome.experiment!r}: {outcome.finished} finished of {outcome.runs} study runs → "
          f"{where}/README.md ({len(outcome.tables)} tables: {', '.join(outcome.tables)}; "
          f"{len(outcome.figures)} figures: {', '.join(outcome.figures)})")
    return 0
