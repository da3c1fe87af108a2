"""Report tables from tracked runs (pure): plain run records in, tables out, rendered as Markdown, CSV, LaTeX.

Nothing here reads MLflow or draws: :mod:`aqstudy.reports.command` fetches the runs and writes the files,
:mod:`aqstudy.reports.figures` draws. Runs of one config (every axis but ``repeat`` equal) are one row: the median
with its 95% confidence interval and n (:mod:`aqstudy.measure.stats`), and the ids of the runs behind it, so
every number traces back to MLflow. A config with too few runs for a 95% interval is marked, never hidden.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aqstudy.analysis import DIGEST_TAG, DIGEST_VERSION_TAG, UNTAGGED_VERSION, digest_version
from aqstudy.measure import metrics as m
from aqstudy.measure import stats
from aqstudy.study.tracking import KIND_TUNING_SESSION, KIND_TUNING_TRIAL, TAG_KIND

#: The study's axes as logged in MLflow params, in the order a table shows them. ``repeat`` is left out on
#: purpose: runs that differ only in it are repetitions of one config.
AXES = ("analysis", "backend", "storage", "dataset", "region", "bucket_region", "memory", "chunksize",
        "data_size", "workers")
#: Column headers of the axes (units in the names).
AXIS_LABELS = {"memory": "memory_mb", "data_size": "data_size_gb"}
EFFECTIVE_WORKERS = "effective_workers"
INPUT_BYTES = "input_bytes"
DATASET_SHA256 = "dataset_sha256"
OBJECTS = "objects"
EFFECTIVE_CHUNKSIZE = "effective_chunksize"
#: Lambda cost terms logged besides the total (``cost_compute_usd`` …); any other ``cost_*_usd`` metric a
#: newer cost model logs (S3 requests, transfer) is picked up by :func:`cost_terms` too.
COST_PREFIX, COST_SUFFIX = "cost_", "_usd"
#: Short run ids in Markdown (the CSV has them whole).
SHORT_ID = 8
#: Marks after a cell: its bracket is min–max because too few runs reach 95% (SHORT), it has fewer than
#: stats.MIN_RUNS runs (FEW), a ratio was held at ideal scaling because noise could explain the excess (HELD).
SHORT_MARK, FEW_MARK, HELD_MARK = "†", "‡", "§"
#: The caption every table with intervals carries, naming the method.
CI_CAPTION = (f"Cells: median [95% CI] over the config's runs; the CI is the {stats.LE_BOUDEC}. "
              f"{SHORT_MARK} fewer than 6 runs: no such 95% interval exists, the bracket is min–max and holds the "
              f"median with 75% (3 runs), 87.5% (4) or 93.75% (5) confidence. {FEW_MARK} fewer than "
              f"{stats.MIN_RUNS} runs: too few to judge noise; repeat the config (+experiment=repeats).")
#: Tag of a run predicted by ``backend=model`` (nothing ran); such runs are never in a table with measured ones.
PREDICTED_TAG = "predicted"
#: What names and titles a table of predicted runs, so that no reader takes it for a measurement.
PREDICTED_PREFIX, PREDICTED_TITLE = "predicted_", "PREDICTED (backend=model, nothing ran): "


@dataclass(frozen=True)
class Spread:
    """Repeated measurements of one config: the median, its range, how many runs, and the CI of the median.

    :param low: the smallest run; :param high: the largest.
    :param ci_low: lower bound of the median's confidence interval (:func:`aqstudy.measure.stats.median_ci`).
    :param confidence: what that interval achieves (below 0.95 with fewer than 6 runs).
    """

    median: float
    low: float
    high: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float = 0.0

    @property
    def interval(self) -> stats.Interval | None:
        """The CI as a :class:`aqstudy.measure.stats.Interval` (for the distinguishability tests)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return stats.Interval(self.median, self.ci_low, self.ci_high, self.n, self.confidence)


def spread(values: Iterable[float | None]) -> Spread | None:
    """The median, min, max, count and median CI of the values that are present (None when there are none)."""
    present = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not present:
        return None
    ci = stats.median_ci(present)
    return Spread(statistics.median(present), min(present), max(present), len(present), ci.low, ci.high,
                  ci.confidence)


@dataclass(frozen=True)
class Ratio:
    """A ratio of two configs' medians (speed-up, efficiency) with its bootstrap CI.

    :param value: what the table shows: the measured ratio, or ``cap`` when it exceeded ideal scaling by less
        than its noise (``held``).
    :param measured: the measured ratio.
    :param low: lower bound of its CI (None: too few runs for one).
    :param high: upper bound.
    :param n: the smaller run count of the two configs.
    :param held: True when ``value`` was held at the ideal.
    """

    value: float
    measured: float
    low: float | None
    high: float | None
    n: int
    held: bool = False


def bounded_ratio(numerator: Sequence[float], denominator: Sequence[float], *, scale: float = 1.0,
                  cap: float | None = None) -> Ratio | None:
    """median(numerator) / median(denominator) / ``scale``, its CI, and held at ``cap`` when noise explains
    any excess over it (its CI reaches ``cap``, or there are too few runs to tell).

    :param scale: divides the ratio (the growth in workers, for an efficiency).
    :param cap: ideal scaling: the most a ratio may claim unless the runs show more.
    """
    ratio = stats.bootstrap_ratio_ci(numerator, denominator)
    if ratio is None or scale <= 0:
        return None
    measured = ratio.value / scale
    few = ratio.n < stats.MIN_RUNS
    low, high = (None, None) if few else (ratio.low / scale, ratio.high / scale)
    if cap is not None and measured > cap and (few or low <= cap):
        return Ratio(cap, measured, low, high, ratio.n, held=True)
    return Ratio(measured, measured, low, high, ratio.n)


@dataclass
class Table:
    """One report table: ``rows`` map column names to values (numbers, text, :class:`Spread`, id lists)."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows)


def parse_value(text: Any) -> Any:
    """An MLflow param (always text) as the number it was, else the text."""
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"None": None, "True": True, "False": False}.get(text, text)


def is_study_run(run: dict) -> bool:
    """Whether a tracked run is a study run: a tuning session's parent run is not, nor a tuning trial's run
    (its repeats, nested below it, are the study runs)."""
    kind = run.get("tags", {}).get(TAG_KIND)
    return "workers" in run.get("params", {}) and kind not in (KIND_TUNING_SESSION, KIND_TUNING_TRIAL)


def finished_rows(runs: Iterable[dict]) -> list[dict]:
    """Flat rows of the finished study runs: parsed axes, effective workers, metrics and the run id.

    :param runs: records with ``run_id``, ``status``, ``params``, ``metrics`` and ``tags`` (as read from MLflow).
    """
    rows = []
    for run in runs:
        if run.get("status") != "FINISHED" or not is_study_run(run):
            continue
        params = run["params"]
        row: dict[str, Any] = {axis: parse_value(params.get(axis)) for axis in AXES}
        row[EFFECTIVE_WORKERS] = parse_value(params.get(EFFECTIVE_WORKERS, params.get("workers")))
        row[INPUT_BYTES] = parse_value(params.get(INPUT_BYTES))
        row[OBJECTS] = parse_value(params.get(OBJECTS))
        row[EFFECTIVE_CHUNKSIZE] = parse_value(params.get(EFFECTIVE_CHUNKSIZE))
        row["repeat"] = parse_value(params.get("repeat", 0))
        row["run_id"] = run["run_id"]
        row["start_time"] = run.get("start_time") or 0
        row["metrics"] = dict(run.get("metrics", {}))
        tags = run.get("tags") or {}
        row[DIGEST_TAG] = tags.get(DIGEST_TAG)
        row[DIGEST_VERSION_TAG] = digest_version(tags)
        row[DATASET_SHA256] = tags.get(DATASET_SHA256)
        row[PREDICTED_TAG] = tags.get(PREDICTED_TAG) == "true"
        rows.append(row)
    return rows


def varying_axes(rows: Sequence[dict], among: Sequence[str] = AXES) -> list[str]:
    """The axes that take more than one value among ``rows`` (what a table must show to tell rows apart)."""
    return [axis for axis in among if len({_sortable(row[axis]) for row in rows}) > 1]


def _sortable(value: Any) -> tuple:
    # Numbers before text, so a key sorts whatever mix of types an axis holds ("auto" and 4 for chunksize).
    if isinstance(value, bool) or value is None:
        return (2, str(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value))


def group_rows(rows: Iterable[dict], keys: Sequence[str]) -> list[tuple[tuple, list[dict]]]:
    """Rows grouped by the values of ``keys``, groups in sorted key order."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row[key] for key in keys), []).append(row)
    return sorted(groups.items(), key=lambda item: tuple(_sortable(v) for v in item[0]))


def metric_spread(rows: Iterable[dict], name: str) -> Spread | None:
    """The spread of metric ``name`` over runs that logged it."""
    return spread(row["metrics"].get(name) for row in rows)


def _label(axis: str) -> str:
    return AXIS_LABELS.get(axis, axis)


def _ids(rows: Iterable[dict]) -> list[str]:
    return [row["run_id"] for row in rows]


def _median(value: Spread | None) -> float | None:
    if value is None:
        return None
    # Counts (workers, calls, invocations) stay whole numbers when every run agrees.
    return int(value.median) if float(value.median).is_integer() and value.low == value.high else value.median


def usable_workers(row: dict) -> int | None:
    """Functions of a run that could work at once: its effective workers, and no more than the map
    invocations its chunking makes (``objects`` / ``effective_chunksize``), when the run logged them."""
    effective = row.get(EFFECTIVE_WORKERS)
    objects, chunksize = row.get(OBJECTS), row.get(EFFECTIVE_CHUNKSIZE)
    if effective and isinstance(objects, int) and isinstance(chunksize, int) and chunksize > 0:
        return min(int(effective), -(-objects // chunksize))
    return effective


def scaling_table(rows: Sequence[dict]) -> Table:
    """Duration, speedup and parallel efficiency against the smallest worker count, per data size.

    Speedup is the smallest worker count's median duration over this one's, with a bootstrap CI; efficiency is
    speedup divided by the growth in workers, once for the workers asked for (the study's axis) and once for
    those that could work at once (``effective_workers``, capped on localhost, and no more than the map
    invocations the data allows). Neither claims more than ideal scaling unless the runs show it: a ratio
    above ideal whose CI reaches ideal is held there and marked.
    """
    context = [axis for axis in varying_axes(rows) if axis not in ("workers", "data_size")]
    columns = [*map(_label, context), "data_size_gb", "workers", EFFECTIVE_WORKERS, m.DURATION_S, "n", "speedup",
               "efficiency", "efficiency_effective", "runs"]
    out = []
    for key, series in group_rows(rows, [*context, "data_size"]):
        points = group_rows(series, ["workers"])
        base_workers = points[0][0][0]
        base_group = points[0][1]
        base_durations = [row["metrics"].get(m.DURATION_S) for row in base_group]
        base_usable = _median(spread(usable_workers(row) for row in base_group))
        for (workers,), group in points:
            duration = metric_spread(group, m.DURATION_S)
            effective = _median(spread(row[EFFECTIVE_WORKERS] for row in group))
            usable = _median(spread(usable_workers(row) for row in group))
            durations = [row["metrics"].get(m.DURATION_S) for row in group]
            growth = usable / base_usable if usable and base_usable else None
            out.append({
                **{_label(axis): value for axis, value in zip(context, key[:-1], strict=True)},
                "data_size_gb": key[-1], "workers": workers, EFFECTIVE_WORKERS: effective,
                m.DURATION_S: duration, "n": duration.n if duration else 0,
                "speedup": bounded_ratio(base_durations, durations, cap=growth),
                "efficiency": bounded_ratio(base_durations, durations, scale=workers / base_workers,
                                            cap=min(1.0, growth * base_workers / workers) if growth else 1.0),
                "efficiency_effective": (bounded_ratio(base_durations, durations, scale=growth, cap=1.0)
                                         if growth else None),
                "runs": _ids(group),
            })
    notes = [CI_CAPTION,
             "speedup: the smallest worker count's median duration_s over this one's (same data size), "
             f"[95% CI] by {stats.BOOTSTRAP} of both configs' runs; efficiency: speedup over the growth in "
             "workers asked for; efficiency_effective: over the growth in functions that could work at once "
             "(effective_workers, and no more than the map invocations: objects / chunksize). "
             f"{HELD_MARK} above ideal scaling by less than the noise (its CI reaches ideal, or fewer than "
             f"{stats.MIN_RUNS} runs): shown at ideal; the CSV keeps the measured ratio."]
    capped = [row for row in out if row[EFFECTIVE_WORKERS] is not None and row[EFFECTIVE_WORKERS] < row["workers"]]
    if capped:
        notes.append(f"{len(capped)} row(s) ran fewer functions at once than asked for (effective_workers < "
                     "workers): this backend caps concurrency at what the machine holds.")
    return Table("scaling", "Scaling: duration against workers", columns, out, notes)


def cost_terms(rows: Iterable[dict]) -> list[str]:
    """The cost terms (``cost_*_usd`` metrics besides the total) that any of the runs logged, sorted."""
    names = {name for row in rows for name in row["metrics"]
             if name.startswith(COST_PREFIX) and name.endswith(COST_SUFFIX) and name != m.COST_USD}
    return sorted(names)


def _config_groups(rows: Sequence[dict], always: Sequence[str] = ()) -> tuple[list[str], list]:
    axes = [axis for axis in AXES if axis in always or axis in varying_axes(rows)]
    return axes, group_rows(rows, axes)


def cost_table(rows: Sequence[dict]) -> Table:
    """What each config would cost on AWS Lambda: per run and per GB of input, with the billed GB-seconds."""
    axes, groups = _config_groups(rows, always=("data_size", "workers"))
    terms = cost_terms(rows)
    columns = [*map(_label, axes), "input_gb", m.COST_USD, "n", "cost_per_gb_usd", *terms, "billed_gb_s",
               "invocations", "runs"]
    out = []
    for key, group in groups:
        per_gb = spread(row["metrics"].get(m.COST_USD) / (row[INPUT_BYTES] / 1e9)
                        for row in group if row[INPUT_BYTES] and row["metrics"].get(m.COST_USD) is not None)
        cost = metric_spread(group, m.COST_USD)
        input_bytes = _median(spread(row[INPUT_BYTES] for row in group))
        out.append({
            **{_label(axis): value for axis, value in zip(axes, key, strict=True)},
            "input_gb": input_bytes / 1e9 if input_bytes else None, m.COST_USD: cost, "n": cost.n if cost else 0,
            "cost_per_gb_usd": per_gb, **{term: _median(metric_spread(group, term)) for term in terms},
            "billed_gb_s": _median(metric_spread(group, "billed_gb_s")),
            "invocations": _median(metric_spread(group, "invocations")), "runs": _ids(group),
        })
    notes = [CI_CAPTION,
             "Modelled AWS Lambda cost of the run's invocations (aqstudy.measure.cost: price table with sources); "
             "cost terms and billed GB-s are medians."]
    return Table("cost", "Cost per run and per GB", columns, out, notes)


#: The start-up statistics the table shows, by metric name (defined in aqstudy.measure.metrics).
STARTUP_COLUMNS = tuple(m.startup_metric(kind, stat) for kind in ("cold", "warm") for stat in ("p50", "p95"))


def startup_table(rows: Sequence[dict]) -> Table:
    """Start latency of cold and warm map calls, p50 and p95, and their queueing: medians over repeats."""
    axes, groups = _config_groups(rows, always=("workers",))
    columns = [*map(_label, axes), m.COLD_STARTS, m.CALLS, *STARTUP_COLUMNS, m.QUEUED_S, "n", "runs"]
    out = []
    for key, group in groups:
        out.append({
            **{_label(axis): value for axis, value in zip(axes, key, strict=True)},
            m.COLD_STARTS: _median(metric_spread(group, m.COLD_STARTS)),
            m.CALLS: _median(metric_spread(group, m.CALLS)),
            **{name: metric_spread(group, name) for name in STARTUP_COLUMNS},
            m.QUEUED_S: metric_spread(group, m.QUEUED_S), "n": len(group), "runs": _ids(group),
        })
    notes = [CI_CAPTION,
             "Start-up = the platform's start latency of a map call: its function start minus the later of its "
             "submit and a worker becoming free (calls.csv, replayed over the effective workers); the time before, "
             "waiting for a worker, is queued_s (summed over the run's map calls). Cold = the call started a new "
             "worker. Blank = no such call (runs before the split report submit → start whole)."]
    return Table("startup", "Start-up: cold against warm calls", columns, out, notes)


def locality(row: dict) -> str:
    """``same-region`` when the bucket sits in the compute region, else ``cross-region``."""
    return "same-region" if row["bucket_region"] == row["region"] else "cross-region"


def locality_table(rows: Sequence[dict]) -> Table:
    """Same-region against cross-region buckets for otherwise equal configs; empty without a cross-region run."""
    if all(locality(row) == "same-region" for row in rows):
        return Table("locality", "Data locality", [], [])
    context = [axis for axis in varying_axes(rows) if axis not in ("region", "bucket_region")]
    terms = cost_terms(rows)
    columns = [*map(_label, context), "region", "bucket_region", "locality", m.DURATION_S, "n", "vs_same_region",
               m.COST_USD, *terms, "runs"]
    out = []
    for key, series in group_rows(rows, [*context, "region"]):
        same = metric_spread([row for row in series if locality(row) == "same-region"], m.DURATION_S)
        for (bucket_region,), group in group_rows(series, ["bucket_region"]):
            duration = metric_spread(group, m.DURATION_S)
            out.append({
                **{_label(axis): value for axis, value in zip(context, key[:-1], strict=True)},
                "region": key[-1], "bucket_region": bucket_region, "locality": locality(group[0]),
                m.DURATION_S: duration, "n": duration.n if duration else 0,
                "vs_same_region": duration.median / same.median if duration and same and same.median else None,
                m.COST_USD: metric_spread(group, m.COST_USD),
                **{term: _median(metric_spread(group, term)) for term in terms}, "runs": _ids(group),
            })
    notes = [CI_CAPTION,
             "vs_same_region: median duration over the same-region median of the same config. With localhost "
             "storage the bucket region is only a label (and a cost-model input): duration differences are noise."]
    return Table("locality", "Data locality: same-region against cross-region bucket", columns, out, notes)


def pareto_mask(points: Sequence[tuple[float, float]]) -> list[bool]:
    """Which points no other point dominates when both coordinates are minimised (the Pareto front)."""
    mask = []
    for i, (x, y) in enumerate(points):
        dominated = any(ox <= x and oy <= y and (ox < x or oy < y) for j, (ox, oy) in enumerate(points) if j != i)
        mask.append(not dominated)
    return mask


#: What makes two configs do the same work: a Pareto front compares configs of equal work only (a smaller
#: dataset is always faster and cheaper, which says nothing about the configs).
WORK = ("analysis", "dataset", "data_size")


def frontier_points(rows: Sequence[dict]) -> list[dict]:
    """One point per config: median duration and cost, its axes, runs and ``work`` (e.g. ``0.1 GB``), with
    ``pareto`` set when no config of the same work beats it on both, and for those on a front whether they are
    distinguishable from their neighbours on it (:func:`distinguishability`)."""
    axes, groups = _config_groups(rows, always=("memory", "workers", "chunksize"))
    work_axes = [axis for axis in WORK if axis in axes]
    points = []
    for key, group in groups:
        duration, cost = metric_spread(group, m.DURATION_S), metric_spread(group, m.COST_USD)
        if duration and cost:
            config = dict(zip(axes, key, strict=True))
            work = ", ".join(f"{config[a]} GB" if a == "data_size" else str(config[a]) for a in work_axes)
            points.append({"axes": config, "work": work, m.DURATION_S: duration, m.COST_USD: cost,
                           "runs": _ids(group)})
    for work in {p["work"] for p in points}:
        same = [p for p in points if p["work"] == work]
        for point, on_front in zip(same, pareto_mask([(p[m.DURATION_S].median, p[m.COST_USD].median)
                                                      for p in same]), strict=True):
            point["pareto"] = on_front
        front = sorted((p for p in same if p["pareto"]), key=lambda p: p[m.DURATION_S].median)
        labels = distinguishability([[p[m.DURATION_S].interval, p[m.COST_USD].interval] for p in front])
        for point, label in zip(front, labels, strict=True):
            point[DISTINGUISHABLE] = label
    return points


DISTINGUISHABLE = "distinguishable"
#: What the ``distinguishable`` column says, and the note that explains it (tables and the tuning artifact).
DISTINGUISHABLE_NOTE = (f"{DISTINGUISHABLE}: whether the member's place on the front stands out from noise: it is "
                        "cheaper than the next faster member and faster than the next cheaper one with 95% CIs that do "
                        "not overlap (min–max below 6 runs, a conservative test). 'no' names the neighbour whose "
                        "trade-off with it noise explains; with fewer than "
                        f"{stats.MIN_RUNS} runs nothing can be told apart.")


def distinguishability(front: Sequence[Sequence[stats.Interval | None]]) -> list[str]:
    """For members of one Pareto front ordered fastest first (each: its duration and cost intervals), ``yes``
    or ``no: ≈ faster`` / ``≈ cheaper`` / ``≈ both`` naming the neighbours it is within noise of."""
    labels = []
    for index, close in enumerate(stats.front_neighbours(front)):
        names = ["faster" if other < index else "cheaper" for other in close]
        labels.append("yes" if not names else f"no: ≈ {'both' if len(names) == 2 else names[0]}")
    return labels


def pareto_table(rows: Sequence[dict]) -> Table:
    """The configs on the cost/latency front (median duration and cost) of each work, fastest first, each
    marked by whether it is distinguishable from its neighbours on the front."""
    points = [p for p in frontier_points(rows) if p["pareto"]]
    points.sort(key=lambda p: (tuple(_sortable(p["axes"][a]) for a in WORK if a in p["axes"]),
                               p[m.DURATION_S].median))
    axes = list(points[0]["axes"]) if points else []
    axes = [a for a in axes if a in WORK] + [a for a in axes if a not in WORK]
    columns = [*map(_label, axes), m.DURATION_S, m.COST_USD, "n", DISTINGUISHABLE, "runs"]
    out = [{**{_label(a): p["axes"][a] for a in axes}, m.DURATION_S: p[m.DURATION_S], m.COST_USD: p[m.COST_USD],
            "n": p[m.DURATION_S].n, DISTINGUISHABLE: p[DISTINGUISHABLE], "runs": p["runs"]} for p in points]
    notes = [CI_CAPTION, "Configs that no config of the same work (analysis, dataset, data size) beats on both "
             "median duration and median modelled cost.", DISTINGUISHABLE_NOTE]
    return Table("pareto", "Pareto set: cost against duration", columns, out, notes)


def results_table(rows: Sequence[dict]) -> Table:
    """Whether the runs of one work on one input computed the same result, by their ``result_sha256``.

    Digests are compared within one ``result_sha256_version`` only: each version's digests get rows of their
    own, never set against another version's (an older encoding's digest says nothing about a newer one's).
    """
    keys = [*WORK, DATASET_SHA256, DIGEST_VERSION_TAG]
    columns = ["analysis", "dataset", "data_size_gb", DATASET_SHA256, DIGEST_VERSION_TAG, "results", DIGEST_TAG,
               "n", "runs"]
    out = []
    versions: dict[tuple, set[str]] = defaultdict(set)
    for key, group in group_rows([row for row in rows if row.get(DIGEST_TAG)], keys):
        *work, dataset_sha256, version = key
        versions[(*work, dataset_sha256)].add(version)
        digests = list(dict.fromkeys(row[DIGEST_TAG] for row in group))
        out.append({**{_label(axis): value for axis, value in zip(WORK, work, strict=True)},
                    DATASET_SHA256: [dataset_sha256] if dataset_sha256 else [], DIGEST_VERSION_TAG: version,
                    "results": "one" if len(digests) == 1 else f"{len(digests)} DIFFERENT", DIGEST_TAG: digests,
                    "n": len(group), "runs": _ids(group)})
    notes = ["One row per work (analysis, dataset, data size), input (dataset_sha256) and result_sha256_version; "
             "results = how many distinct results its runs computed (docs/analysis.md)."]
    differing = [row for row in out if row["results"] != "one"]
    if differing:
        notes.append(f"{len(differing)} row(s) have runs that computed DIFFERENT results from the same input: "
                     "compare their result.csv artifacts.")
    mixed = sum(1 for found in versions.values() if len(found) > 1)
    if mixed:
        notes.append(f"{mixed} input(s) have digests of several result_sha256 versions: listed apart and never "
                     f"compared (a digest logged without a version is version {UNTAGGED_VERSION}, which wrote a "
                     "null as an empty string and left tabs inside fields unescaped).")
    return Table("results", "Results: did the runs of one work compute the same thing?", columns, out, notes)


def all_tables(rows: Sequence[dict]) -> list[Table]:
    """Every table the rows support (empty ones left out); predicted runs apart from measured ones
    (:func:`split_by_kind`), their tables named ``predicted_*`` and titled as predictions."""
    measured, predicted = split_by_kind(rows)
    tables = _tables(measured)
    for table in _tables(predicted, results=False):  # a prediction computes no result to compare
        table.name, table.title = PREDICTED_PREFIX + table.name, PREDICTED_TITLE + table.title
        table.notes.append("Every number here was predicted by backend=model (runs tagged predicted=true): "
                           "nothing ran. Measured runs, if any, are in the tables without the predicted_ prefix.")
        tables.append(table)
    return tables


def split_by_kind(rows: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(measured rows, predicted rows): a table never holds both."""
    return ([row for row in rows if not row.get(PREDICTED_TAG)], [row for row in rows if row.get(PREDICTED_TAG)])


def _tables(rows: Sequence[dict], *, results: bool = True) -> list[Table]:
    if not rows:
        return []
    tables = [scaling_table(rows), cost_table(rows), startup_table(rows), locality_table(rows), pareto_table(rows),
              *([results_table(rows)] if results else [])]
    return [table for table in tables if table]


# --- rendering -------------------------------------------------------------------------------------------

def format_number(value: Any) -> str:
    """Four significant digits (``0.0001069``, ``3.742``): what a reader compares by eye."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def spread_mark(value: Spread) -> str:
    """The mark a cell of ``value`` carries: FEW_MARK below stats.MIN_RUNS runs, SHORT_MARK below 95%."""
    if value.n < stats.MIN_RUNS:
        return FEW_MARK
    return SHORT_MARK if value.confidence < stats.CONFIDENCE - 1e-12 else ""


def _cell(value: Any, *, short_ids: bool, dash: str = "–") -> str:
    if isinstance(value, Spread):
        middle = format_number(value.median)
        if value.n > 1 and value.ci_low is not None:
            middle += f" [{format_number(value.ci_low)}{dash}{format_number(value.ci_high)}]"
        return middle + spread_mark(value)
    if isinstance(value, Ratio):
        if value.held:
            return format_number(value.value) + HELD_MARK
        if value.low is None:
            return format_number(value.value)
        return f"{format_number(value.value)} [{format_number(value.low)}{dash}{format_number(value.high)}]"
    if isinstance(value, list):
        return ", ".join(v[:SHORT_ID] if short_ids else v for v in value)
    return format_number(value)


#: CSV columns a spread or a ratio becomes, after its own (the median or the ratio shown).
SPREAD_CSV = ("ci_low", "ci_high", "ci_confidence", "min", "max")
RATIO_CSV = ("ci_low", "ci_high", "measured")


def _csv_cells(value: Any, kind: type) -> list:
    if kind is Spread:
        if not isinstance(value, Spread):
            return [value, *[None] * len(SPREAD_CSV)]
        return [value.median, value.ci_low, value.ci_high, value.confidence, value.low, value.high]
    if not isinstance(value, Ratio):
        return [value, *[None] * len(RATIO_CSV)]
    return [value.value, value.low, value.high, value.measured]


def to_csv(table: Table) -> str:
    """The table as CSV, run ids whole: a spread becomes ``x`` (median), ``x_ci_low``, ``x_ci_high``,
    ``x_ci_confidence``, ``x_min``, ``x_max``; a ratio ``x``, ``x_ci_low``, ``x_ci_high``, ``x_measured``."""
    header: list[str] = []
    kinds: dict[str, type] = {}
    for column in table.columns:
        kind = next((k for k in (Spread, Ratio) if any(isinstance(row.get(column), k) for row in table.rows)), None)
        if kind is not None:
            kinds[column] = kind
        header += [column, *(f"{column}_{suffix}" for suffix in (SPREAD_CSV if kind is Spread else RATIO_CSV
                                                                  if kind is Ratio else ()))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in table.rows:
        cells = []
        for column in table.columns:
            value = row.get(column)
            if column in kinds:
                cells += _csv_cells(value, kinds[column])
            elif isinstance(value, list):
                cells.append(";".join(value))
            else:
                cells.append(value)
        writer.writerow(["" if cell is None else repr(cell) if isinstance(cell, float) else cell for cell in cells])
    return buffer.getvalue()


def to_markdown(table: Table) -> str:
    """The table as GitHub Markdown: median [95% CI] with its marks, short run ids, notes below."""
    lines = [f"| {' | '.join(table.columns)} |", f"|{'|'.join('---' for _ in table.columns)}|"]
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(row.get(c), short_ids=True).replace("|", "\\|")
                                        for c in table.columns) + " |")
    for note in table.notes:
        lines += ["", f"_{note}_"]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "–": "--",
                  "†": r"\dag{}", "‡": r"\ddag{}", "§": r"\S{}", "≈": r"$\approx$"}


def latex_escape(text: str) -> str:
    """Text safe inside a LaTeX table cell."""
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def to_latex(table: Table, *, csv_name: str | None = None) -> str:
    """The table as a booktabs ``tabular`` for a paper; run ids are left to the CSV named in the caption note."""
    columns = [c for c in table.columns if c != "runs"]
    numeric = [all(isinstance(row.get(c), int | float | Spread | Ratio) or row.get(c) is None for row in table.rows)
               for c in columns]
    lines = [f"% {table.title}. " + " ".join(table.notes),
             f"% Run ids of every row: {csv_name or table.name + '.csv'} (column runs).",
             r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}", r"\toprule",
             " & ".join(latex_escape(c) for c in columns) + r" \\", r"\midrule"]
    for row in table.rows:
        lines.append(" & ".join(latex_escape(_cell(row.get(c), short_ids=True)) for c in columns) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def runs_listing(runs: Iterable[dict], *, columns: Sequence[str] = (m.DURATION_S, m.COST_USD)) -> Table:
    """Every run read, finished or not: the footnote file that ties table rows to MLflow run ids."""
    out = []
    for run in runs:
        params, tags = run.get("params", {}), run.get("tags") or {}
        out.append({"run_id": run["run_id"], "run_name": run.get("run_name"), "status": run.get("status"),
                    **{_label(axis): parse_value(params.get(axis)) for axis in AXES},
                    "repeat": parse_value(params.get("repeat")),
                    EFFECTIVE_WORKERS: parse_value(params.get(EFFECTIVE_WORKERS)),
                    **{name: run.get("metrics", {}).get(name) for name in columns},
                    DIGEST_TAG: tags.get(DIGEST_TAG),
                    DIGEST_VERSION_TAG: digest_version(tags),
                    "error": tags.get("error")})
    header = ["run_id", "run_name", "status", *map(_label, AXES), "repeat", EFFECTIVE_WORKERS, *columns, DIGEST_TAG,
              DIGEST_VERSION_TAG, "error"]
    return Table("runs", "Runs read", header, out)


def choose_timeline_run(rows: Sequence[dict], *, key: Callable[[dict], tuple] | None = None) -> str | None:
    """The run whose calls the timeline shows: the largest input, then the most workers, then the latest."""
    if not rows:
        return None
    key = key or (lambda row: (row[INPUT_BYTES] or 0, row["workers"] or 0, row["start_time"]))
    return max(rows, key=key)["run_id"]


def parse_calls_csv(text: str) -> list[dict]:
    """Rows of a run's ``calls.csv`` artifact with numbers and booleans back as such (empty cells → None)."""
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {}
        for name, cell in raw.items():
            if cell in ("", None):
                row[name] = None
            elif name in ("phase", "call_id", "activation_id", "status", "error"):
                row[name] = cell
            else:
                row[name] = parse_value(cell)
        rows.append(row)
    return rows


def startup_samples(calls: Iterable[dict]) -> dict[str, list[float]]:
    """Start latency (queueing left out) of the map calls that have one, split into ``cold`` and ``warm``;
    from a ``calls.csv`` older than the split, its whole ``startup_s``."""
    samples: dict[str, list[float]] = {"cold": [], "warm": []}
    for row in calls:
        value = row.get("start_latency_s") if "start_latency_s" in row else row.get("startup_s")
        if row.get("phase") == "map" and value is not None:
            samples["cold" if row.get("cold_start") else "warm"].append(float(value))
    return samples


def job_submitted_at(calls: Sequence[dict], *, job_setup_s: float | None) -> float | None:
    """The job's submit time (epoch s), recomputed from the calls and the logged ``job_setup_s``.

    ``job_setup_s`` is the first map call's ``host_submit_tstamp`` minus the submit time (see
    :func:`aqstudy.measure.metrics.derive_metrics`), so the submit time is that first timestamp minus it.
    """
    submits = [row["host_submit_tstamp"] for row in calls
               if row.get("phase") == "map" and row.get("host_submit_tstamp") is not None]
    if not submits:
        return None
    return min(submits) - (job_setup_s or 0.0)
