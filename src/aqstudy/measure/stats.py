"""Confidence intervals for repeated measurements, and whether two configs can be told apart (pure).

Function timings are noisy (10–30% between back-to-back runs), so a number from repeats is a median with an
interval, never a lone value. Two methods:

- :func:`median_ci`: the distribution-free interval for the median from order statistics (Le Boudec,
  *Performance Evaluation of Computer and Communication Systems*, 2010, Thm. 2.1 and Table A.1; SeBS uses
  the same). It assumes only independent runs. Its bounds are ranks ``j`` and ``k`` of the sorted runs such
  that Binomial(n, ½) falls in ``[j, k)`` with at least the asked probability; the ranks are computed
  exactly, not from the normal approximation, which breaks below ~70 runs (it gives a negative rank at
  n = 3). Below 6 runs no pair of ranks reaches 95%: the interval is then min–max and says what it covers
  (75% at n = 3), so a reader is never shown a 95% that is not one.
- :func:`bootstrap_ci` and :func:`bootstrap_ratio_ci`: percentile bootstrap, seeded, for statistics the
  order-statistic method does not cover (a ratio of two medians: speed-up).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

#: The confidence every report and trial asks for.
CONFIDENCE = 0.95
#: Names of the methods, as captions and tags quote them.
LE_BOUDEC = "distribution-free CI of the median from order statistics (Le Boudec 2010, Thm. 2.1, as SeBS)"
BOOTSTRAP = "percentile bootstrap"
#: Below this many runs a config is marked: its interval says little.
MIN_RUNS = 3
#: Resamples of a bootstrap: enough for the 2.5% and 97.5% percentiles to settle to ~1% of the width.
BOOTSTRAP_RESAMPLES = 4000


@dataclass(frozen=True)
class Interval:
    """A statistic of repeated runs with its confidence interval.

    :param value: the statistic (the median, for :func:`median_ci`).
    :param low: lower bound of the interval.
    :param high: upper bound.
    :param n: runs it was computed from.
    :param confidence: the probability the interval covers the true value, as achieved (may fall short of
        the asked one when there are too few runs; see :attr:`short`).
    :param asked: the confidence that was asked for.
    """

    value: float
    low: float
    high: float
    n: int
    confidence: float
    asked: float = CONFIDENCE

    @property
    def short(self) -> bool:
        """True when too few runs reach the asked confidence (the interval is min–max, or a point)."""
        return self.confidence < self.asked - 1e-12

    @property
    def width_share(self) -> float:
        """Width of the interval as a share of the value (inf when the value is 0 and the width is not)."""
        width = self.high - self.low
        if self.value == 0:
            return 0.0 if width == 0 else math.inf
        return width / abs(self.value)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _present(values: Iterable[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def binomial_half_cdf(n: int, k: int) -> float:
    """P(B ≤ k) for B ~ Binomial(n, ½), exact (integer arithmetic, then one division)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def median_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int, float]:
    """1-based ranks ``(j, k)`` of the sorted runs bounding the median, and the confidence they achieve.

    The symmetric pair with the narrowest interval whose coverage ``1 − 2·P(B ≤ j − 1)`` reaches
    ``confidence``; with too few runs, ``(1, n)`` and its (lower) coverage ``1 − 2^(1−n)``.
    """
    if n < 1:
        raise ValueError("a confidence interval needs at least one run")
    best = (1, n, 1 - 2 * binomial_half_cdf(n, 0))
    for j in range(2, (n + 1) // 2 + 1):
        coverage = 1 - 2 * binomial_half_cdf(n, j - 1)
        if coverage < confidence:
            break
        best = (j, n + 1 - j, coverage)
    return best


def median_ci(values: Iterable[float | None], confidence: float = CONFIDENCE) -> Interval | None:
    """The median of the runs with its distribution-free confidence interval (None when no value is present).

    :param values: one measurement per run (None and NaN are left out: a run that did not log it).
    :param confidence: the coverage asked for (0.95).
    """
    present = sorted(_present(values))
    if not present:
        return None
    j, k, achieved = median_ranks(len(present), confidence)
    return Interval(statistics.median(present), present[j - 1], present[k - 1], len(present),
                    max(0.0, achieved), confidence)


def bootstrap_ci(values: Sequence[float], statistic: Callable[[Sequence[float]], float] = statistics.median, *,
                 confidence: float = CONFIDENCE, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0) -> Interval | None:
    """``statistic`` of the runs with a percentile-bootstrap interval (seeded: the same runs give the same CI).

    The achieved confidence is reported as asked: the bootstrap has no exact coverage, and below
    :data:`MIN_RUNS` runs it has none worth the name, which the caller marks through ``n``.
    """
    import numpy as np

    present = np.asarray(_present(values), dtype=float)
    if present.size == 0:
        return None
    rng = np.random.default_rng(seed)
    draws = rng.choice(present, size=(resamples, present.size), replace=True)
    stats = np.fromiter((statistic(row) for row in draws), dtype=float, count=resamples)
    tail = (1 - confidence) / 2
    low, high = np.quantile(stats, [tail, 1 - tail])
    return Interval(float(statistic(present)), float(low), float(high), int(present.size), confidence, confidence)


def bootstrap_ratio_ci(numerator: Sequence[float], denominator: Sequence[float], *,
                       confidence: float = CONFIDENCE, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = 0) -> Interval | None:
    """median(numerator) / median(denominator) with a percentile-bootstrap interval, the two resampled apart.

    What a speed-up is: the base config's median duration over this one's, from two independent sets of runs.
    ``n`` is the smaller of the two counts.
    """
    import numpy as np

    top, bottom = np.asarray(_present(numerator)), np.asarray(_present(denominator))
    if top.size == 0 or bottom.size == 0 or np.median(bottom) == 0:
        return None
    rng = np.random.default_rng(seed)
    top_medians = np.median(rng.choice(top, size=(resamples, top.size)), axis=1)
    bottom_medians = np.median(rng.choice(bottom, size=(resamples, bottom.size)), axis=1)
    keep = bottom_medians != 0
    ratios = top_medians[keep] / bottom_medians[keep]
    tail = (1 - confidence) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return Interval(float(np.median(top) / np.median(bottom)), float(low), float(high),
                    int(min(top.size, bottom.size)), confidence, confidence)


def overlap(a: Interval, b: Interval) -> bool:
    """Whether two intervals share any value (bounds included)."""
    return a.low <= b.high and b.low <= a.high


def apart(a: Interval | None, b: Interval | None) -> bool:
    """Whether two configs differ beyond noise on one objective: both have an interval from at least
    :data:`MIN_RUNS` runs, and the intervals are disjoint (a conservative test: two overlapping 95% intervals
    may still differ)."""
    return (a is not None and b is not None and min(a.n, b.n) >= MIN_RUNS) and not overlap(a, b)


def distinguishable(a: Sequence[Interval | None], b: Sequence[Interval | None]) -> bool:
    """Whether two configs differ beyond noise on at least one objective (:func:`apart` on it).

    :param a: one interval per objective (duration, cost …) of the first config.
    :param b: the same objectives of the second.
    """
    return any(apart(x, y) for x, y in zip(a, b, strict=True))


def front_neighbours(front: Sequence[Sequence[Interval | None]]) -> list[list[int]]:
    """For each member of a two-objective Pareto front, the neighbours whose trade-off with it noise explains.

    :param front: each member's (first, second) objective intervals, ordered by the first ascending (fastest
        first), so the second descends (cheapest last).

    A member is on the front for what it does better than each neighbour: cheaper than the next faster one,
    faster than the next cheaper one. When that advantage is not :func:`apart`, the neighbour is listed: an
    empty list means the member's place on the front stands out from noise on both sides.
    """
    out: list[list[int]] = []
    for index, member in enumerate(front):
        close = []
        if index > 0 and not apart(member[1], front[index - 1][1]):
            close.append(index - 1)
        if index + 1 < len(front) and not apart(member[0], front[index + 1][0]):
            close.append(index + 1)
        out.append(close)
    return out
