"""Figures of one run (matplotlib, no screen needed)."""

from __future__ import annotations

from pathlib import Path

#: Margins around the axes in inches (fixed, so no layout pass is needed: tight_layout cost ~50 ms of ~0.1 s).
_MARGINS_IN = {"left": 0.7, "right": 0.2, "top": 0.4, "bottom": 0.55}


def timeline(calls: list[dict], *, submitted_at: float, path: Path, title: str = "") -> Path:
    """Calls against time: one bar per call from worker start to end, its start-up as a thin lead-in.

    :param calls: rows of ``calls.csv``.
    :param submitted_at: the job's submit time (epoch s): time zero of the figure.
    :param path: where to write the PNG.

    Drawn on a bare ``Figure`` (no pyplot state) with one artist for all bars and one for all lead-ins, so a
    run's figure costs ~40 ms whatever its number of calls: it is drawn inside every measured run.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
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
    starts = [row["worker_start_tstamp"] - submitted_at for row in rows]
    ends = [row["worker_end_tstamp"] - submitted_at for row in rows]
    submits = [(row.get("host_submit_tstamp") or row["worker_start_tstamp"]) - submitted_at for row in rows]
    ax.add_collection(LineCollection([[(submit, index), (start, index)]
                                      for index, (submit, start) in enumerate(zip(submits, starts, strict=True))],
                                     colors="#999999", linewidths=1))
    if rows:
        ax.barh(range(len(rows)), [end - start for start, end in zip(starts, ends, strict=True)], left=starts,
                height=0.8, color=[colours.get(row["phase"], "grey") for row in rows],
                edgecolor=["black" if row.get("cold_start") else "none" for row in rows], linewidth=0.6)
    ax.autoscale_view()
    ax.set_xlabel("seconds since job submit")
    ax.set_ylabel("call")
    ax.set_title(title or "calls: grey = waiting to start, outlined = cold start")
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    ax.legend(handles, list(colours), loc="lower right")
    fig.savefig(path, dpi=110)
    return path
