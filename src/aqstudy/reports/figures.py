"""Every figure (matplotlib Agg, no screen): a report's scaling, cost against duration and start-up figures, and
the call timeline drawn inside every run (:func:`timeline`).

Each function takes what :mod:`aqstudy.reports.tables` computed (or plain lists) and writes one PNG; no MLflow here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aqstudy.measure import metrics as m
from aqstudy.measure import stats
from aqstudy.measure.stragglers import STRAGGLER_FACTOR, straggler_flags
from aqstudy.reports.tables import EFFECTIVE_WORKERS, Spread, Table

#: How the figures' error bars are described (legends and titles).
CI_LEGEND = "bars: 95% CI of the median (min–max below 6 runs)"


def _ci_errors(values: Sequence[Spread]) -> list[list[float]]:
    """Error-bar lengths below and above each median: its CI, or nothing when there is none."""
    return [[v.median - v.ci_low if v.ci_low is not None else 0.0 for v in values],
            [v.ci_high - v.median if v.ci_high is not None else 0.0 for v in values]]


def _mark_few(ax, xs: Sequence[float], spreads: Sequence[Spread], colour: str) -> None:
    """Write ``n=…`` beside each point of fewer than stats.MIN_RUNS runs: marked in the figure, not hidden."""
    for x, value in zip(xs, spreads, strict=True):
        if value.n < stats.MIN_RUNS:
            ax.annotate(f"n={value.n}", (x, value.median), textcoords="offset points", xytext=(4, -10), fontsize=7,
                        color=colour)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scaling_figure(table: Table, *, path: Path, title: str = "") -> Path:
    """Median duration against workers, one line per data size (log-log), the median's 95% CI as error bars
    (min–max below 6 runs, and ``n=…`` written beside a point of fewer than 3 runs).

    A dashed line per data size is ideal scaling from its smallest worker count: duration ∝ 1/functions that
    ran at once (``effective_workers``; the workers asked for on a cloud backend, flat beyond the cap on this
    machine). Hollow markers are runs where the backend ran fewer functions at once than asked for.

    :param table: the scaling table (:func:`aqstudy.reports.tables.scaling_table`).
    """
    plt = _pyplot()
    context = table.columns[:table.columns.index("data_size_gb") + 1]
    series: dict[tuple, list[dict]] = {}
    for row in table.rows:
        if isinstance(row.get(m.DURATION_S), Spread):
            series.setdefault(tuple(row[c] for c in context), []).append(row)
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for index, (key, rows) in enumerate(series.items()):
        rows.sort(key=lambda row: row["workers"])
        colour = f"C{index % 10}"
        workers = [row["workers"] for row in rows]
        medians = [row[m.DURATION_S].median for row in rows]
        errors = _ci_errors([row[m.DURATION_S] for row in rows])
        label = ", ".join(f"{c}={v}" for c, v in zip(context, key, strict=True))
        ax.errorbar(workers, medians, yerr=errors, color=colour, marker="o", capsize=3, label=label,
                    markerfacecolor=colour)
        _mark_few(ax, workers, [row[m.DURATION_S] for row in rows], colour)
        capped = [row for row in rows if row[EFFECTIVE_WORKERS] is not None and row[EFFECTIVE_WORKERS] < row["workers"]]
        if capped:
            ax.plot([row["workers"] for row in capped], [row[m.DURATION_S].median for row in capped], "o",
                    markerfacecolor="white", markeredgecolor=colour, zorder=3)
        # Ideal scaling for the functions that really ran at once: on a capped backend it flattens at the cap.
        effective = [row[EFFECTIVE_WORKERS] or row["workers"] for row in rows]
        ax.plot(workers, [medians[0] * effective[0] / e for e in effective], "--", color=colour, alpha=0.5,
                linewidth=1)
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    all_workers = sorted({row["workers"] for row in table.rows})
    ax.set_xticks(all_workers)
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.yaxis.set_major_formatter(plain)
    low, high = ax.get_ylim()
    # Label the minor ticks only when the axis spans about a decade; beyond that they collide.
    ax.yaxis.set_minor_formatter(plain if high / max(low, 1e-12) < 20 else NullFormatter())
    ax.set_xlabel("workers (functions asked for)")
    ax.set_ylabel("duration_s (submit → result), median")
    ax.text(0.99, 0.99, CI_LEGEND, transform=ax.transAxes, ha="right", va="top", fontsize=7, color="#555555")
    ax.set_title(title or "Duration against workers; dashed = ideal scaling, hollow = concurrency capped")
    ax.grid(True, which="both", alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def frontier_figure(points: Sequence[dict], *, path: Path, title: str = "") -> Path:
    """Modelled cost against duration, one dot per config (or trial), each Pareto front highlighted, the
    medians' 95% CIs as error bars on both axes where the points carry them.

    :param points: dicts with ``duration_s`` and ``cost_usd`` (numbers or :class:`Spread`), ``pareto`` (bool),
        optional ``label``, ``work`` (points of one work share a colour and a front) and ``distinguishable``
        (``yes`` or ``no: …``; a front member within noise of a neighbour gets ``≈`` after its label).
    """
    plt = _pyplot()

    def value(point, name):
        v = point[name]
        return v.median if isinstance(v, Spread) else float(v)

    fig, ax = plt.subplots(figsize=(7.5, 5))
    works = list(dict.fromkeys(p.get("work") or "" for p in points))
    for index, work in enumerate(works):
        colour = f"C{index % 10}" if len(works) > 1 else "#c44e52"
        mine = [p for p in points if (p.get("work") or "") == work]
        rest = [p for p in mine if not p["pareto"]]
        front = sorted((p for p in mine if p["pareto"]), key=lambda p: value(p, m.DURATION_S))
        suffix = f" ({work})" if work else ""
        ax.scatter([value(p, m.DURATION_S) for p in rest], [value(p, m.COST_USD) for p in rest],
                   facecolors="none", edgecolors=colour if len(works) > 1 else "#999999", label=f"dominated{suffix}")
        ax.plot([value(p, m.DURATION_S) for p in front], [value(p, m.COST_USD) for p in front], "o-", color=colour,
                label=f"Pareto front{suffix}", zorder=3)
        with_ci = [p for p in mine if isinstance(p[m.DURATION_S], Spread) and isinstance(p[m.COST_USD], Spread)]
        if with_ci:
            ax.errorbar([value(p, m.DURATION_S) for p in with_ci], [value(p, m.COST_USD) for p in with_ci],
                        xerr=_ci_errors([p[m.DURATION_S] for p in with_ci]),
                        yerr=_ci_errors([p[m.COST_USD] for p in with_ci]), fmt="none", ecolor=colour, alpha=0.45,
                        capsize=2, zorder=2)
            _mark_few(ax, [value(p, m.DURATION_S) for p in with_ci], [p[m.DURATION_S] for p in with_ci], colour)
        for p in front:
            if p.get("label"):
                within_noise = str(p.get("distinguishable", "yes")).startswith("no")
                ax.annotate(p["label"] + (" ≈" if within_noise else ""), (value(p, m.DURATION_S), value(p, m.COST_USD)),
                            textcoords="offset points", xytext=(5, 5), fontsize=7)
    ax.set_xlabel("duration_s")
    ax.set_ylabel("cost_usd (modelled AWS Lambda)")
    ax.set_title(title or "Cost against duration")
    if any(isinstance(p[m.DURATION_S], Spread) for p in points):
        ax.text(0.99, 0.99, f"{CI_LEGEND}; ≈ = within noise of a neighbour on the front", transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="#555555")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def startup_figure(samples: dict[str, dict[str, list[float]]], *, path: Path, title: str = "") -> Path:
    """Start latency of map calls (function start − the later of submit and a free worker; queueing left out)
    as box plots, cold and warm side by side.

    :param samples: label (e.g. ``workers=8``) → ``{"cold": [s, …], "warm": [s, …]}``.
    """
    plt = _pyplot()
    labels = list(samples)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(labels) + 2), 4.5))
    for offset, kind, colour in ((-0.2, "cold", "#4c72b0"), (0.2, "warm", "#dd8452")):
        data = [samples[label].get(kind) or [float("nan")] for label in labels]
        positions = [i + offset for i in range(len(labels))]
        boxes = ax.boxplot(data, positions=positions, widths=0.35, patch_artist=True, showfliers=True)
        for box in boxes["boxes"]:
            box.set_facecolor(colour)
        ax.plot([], [], "s", color=colour, label=f"{kind} ({sum(len(samples[lb].get(kind) or []) for lb in labels)}"
                                                 " calls)")
    ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 6 else 0)
    ax.set_ylabel("start latency s (queueing left out)")
    ax.set_title(title or "Start-up of map calls, cold against warm")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

#: Margins around the axes in inches (fixed, so no layout pass is needed: tight_layout cost ~50 ms of ~0.1 s).
_MARGINS_IN = {"left": 0.7, "right": 0.2, "top": 0.4, "bottom": 0.55}


def timeline(calls: list[dict], *, submitted_at: float, path: Path, title: str = "") -> Path:
    """Calls against time: one bar per call from worker start to end, its start-up as a thin lead-in;
    stragglers (map calls over 1.5× the median map call) in red.

    :param calls: rows of ``calls.csv``.
    :param submitted_at: the job's submit time (epoch s): time zero of the figure.
    :param path: where to write the PNG.

    Drawn on a bare ``Figure`` (no pyplot state) with one artist for all bars and one for all lead-ins, so a
    run's figure costs ~40 ms whatever its number of calls: it is drawn inside every measured run.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    rows = [row for row in calls if row.get("worker_start_tstamp") and row.get("worker_end_tstamp")]
    rows.sort(key=lambda row: (row["phase"] != "map", row["worker_start_tstamp"]))
    width_in, height_in = 9, max(2.5, min(12, 0.12 * len(rows) + 1.5))
    fig = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=_MARGINS_IN["left"] / width_in, right=1 - _MARGINS_IN["right"] / width_in,
                        bottom=_MARGINS_IN["bottom"] / height_in, top=1 - _MARGINS_IN["top"] / height_in)
    ax = fig.add_subplot()
    colours = {"map": "#4c72b0", "reduce": "#dd8452"}
    straggler_colour = "#c44e52"
    slow = straggler_flags(rows)
    starts = [row["worker_start_tstamp"] - submitted_at for row in rows]
    ends = [row["worker_end_tstamp"] - submitted_at for row in rows]
    submits = [(row.get("host_submit_tstamp") or row["worker_start_tstamp"]) - submitted_at for row in rows]
    ax.add_collection(LineCollection([[(submit, index), (start, index)]
                                      for index, (submit, start) in enumerate(zip(submits, starts, strict=True))],
                                     colors="#999999", linewidths=1))
    if rows:  # one PolyCollection for every bar: barh would add a patch per call (seconds for 1,000s of calls)
        ax.add_collection(PolyCollection(
            [[(start, index - 0.4), (end, index - 0.4), (end, index + 0.4), (start, index + 0.4)]
             for index, (start, end) in enumerate(zip(starts, ends, strict=True))],
            facecolors=[straggler_colour if flag else colours.get(row["phase"], "grey")
                        for row, flag in zip(rows, slow, strict=True)],
            edgecolors=["black" if row.get("cold_start") else "none" for row in rows], linewidths=0.6))
    ax.autoscale_view()
    ax.set_xlabel("seconds since job submit")
    ax.set_ylabel("call")
    ax.set_title(title or "calls: grey = waiting to start, outlined = cold start")
    labels = list(colours)
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    if any(slow):
        handles.append(Rectangle((0, 0), 1, 1, color=straggler_colour))
        labels.append(f"straggler (> {STRAGGLER_FACTOR:g}× median map): {sum(slow)}")
    ax.legend(handles, labels, loc="lower right")
    fig.savefig(path, dpi=110)
    return path
