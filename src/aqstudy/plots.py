"""Figures of one run (matplotlib, no screen needed)."""

from __future__ import annotations

from pathlib import Path


def timeline(calls: list[dict], *, submitted_at: float, path: Path, title: str = "") -> Path:
    """Calls against time: one bar per call from worker start to end, its start-up as a thin lead-in.

    :param calls: rows of ``calls.csv``.
    :param submitted_at: the job's submit time (epoch s): time zero of the figure.
    :param path: where to write the PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in calls if row.get("worker_start_tstamp") and row.get("worker_end_tstamp")]
    rows.sort(key=lambda row: (row["phase"] != "map", row["worker_start_tstamp"]))
    fig, ax = plt.subplots(figsize=(9, max(2.5, min(12, 0.12 * len(rows) + 1.5))))
    colours = {"map": "#4c72b0", "reduce": "#dd8452"}
    for index, row in enumerate(rows):
        start = row["worker_start_tstamp"] - submitted_at
        end = row["worker_end_tstamp"] - submitted_at
        submit = (row.get("host_submit_tstamp") or row["worker_start_tstamp"]) - submitted_at
        ax.plot([submit, start], [index, index], color="#999999", linewidth=1)
        ax.barh(index, end - start, left=start, height=0.8, color=colours.get(row["phase"], "grey"),
                edgecolor="black" if row.get("cold_start") else "none", linewidth=0.6)
    ax.set_xlabel("seconds since job submit")
    ax.set_ylabel("call")
    ax.set_title(title or "calls: grey = waiting to start, outlined = cold start")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    ax.legend(handles, list(colours), loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
