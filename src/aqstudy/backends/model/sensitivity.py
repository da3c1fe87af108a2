"""Which parameters a prediction depends on most: each varied by ±50% on its own, the rest held (pure).

A one-at-a-time analysis: it says how far a figure moves when one input is wrong by half, not how inputs
interact. Integer settings (threads, counts) are left out; so are the kernel's flags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

from aqstudy.backends.model.parameters import KernelProfile, ModelParameters
from aqstudy.backends.model.simulator import JobSpec, Platform, Prediction, simulate

#: Parameters that are counts or switches, not measurements: not varied.
FIXED = {"invoke_pool_threads", "async_invokers", "host_threads", "account_concurrency", "scaling_envs", "threads",
         "overlaps_read", "name"}


def varied_platforms(platform: Platform, factor: float) -> list[tuple[str, Platform]]:
    """One platform per varied input, that input multiplied by ``factor``."""
    out: list[tuple[str, Platform]] = []
    for f in fields(ModelParameters):
        if f.name in FIXED:
            continue
        value = getattr(platform.params, f.name)
        out.append((f.name, replace(platform, params=replace(platform.params, **{f.name: value * factor}))))
    for f in fields(KernelProfile):
        if f.name in FIXED:
            continue
        value = getattr(platform.profile, f.name)
        profile = replace(platform.profile, **{f.name: value * factor})
        out.append((f"kernel.{f.name}", replace(platform, profile=profile)))
    if platform.name == "aws_lambda":
        for name in ("cpu_ratio", "init_s", "cold_io_scale"):
            out.append((name, replace(platform, **{name: getattr(platform, name) * factor})))
    return out


def one_at_a_time(spec: JobSpec, platform: Platform, *, measure: Callable[[Prediction], float],
                  change: float = 0.5) -> list[dict]:
    """Each input at ``1 - change`` and ``1 + change`` times its value: the measured figure, and its change.

    :param measure: the figure of a prediction to follow, e.g. ``lambda p: p.results_in_hand_at - p.submitted_at``.
    :return: rows ``parameter, low, base, high, low_pct, high_pct, swing_pct`` sorted by swing, largest first.
    """
    base = measure(simulate(spec, platform))
    lows = dict(varied_platforms(platform, 1 - change))
    rows = []
    for name, high_platform in varied_platforms(platform, 1 + change):
        low = measure(simulate(spec, lows[name]))
        high = measure(simulate(spec, high_platform))
        low_pct, high_pct = 100 * (low - base) / base, 100 * (high - base) / base
        rows.append({"parameter": name, "low": low, "base": base, "high": high, "low_pct": low_pct,
                     "high_pct": high_pct, "swing_pct": max(abs(low_pct), abs(high_pct))})
    return sorted(rows, key=lambda row: -row["swing_pct"])
