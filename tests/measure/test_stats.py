"""Confidence intervals: the order-statistic CI of the median (Le Boudec), bootstrap, distinguishability."""

from __future__ import annotations

import math
import random

import pytest

from aqstudy.measure import stats


@pytest.mark.parametrize(("n", "ranks"), [
    # Le Boudec (2010), Table A.1, confidence 0.95.
    (6, (1, 6)), (7, (1, 7)), (8, (1, 8)), (9, (2, 8)), (10, (2, 9)), (20, (6, 15)),
    # n = 100: the normal approximation of Thm. 2.1 gives floor(50 − 0.98·10) = 40 and ceil(51 + 9.8) = 61.
    (100, (40, 61)),
])
def test_median_ranks_match_le_boudec(n, ranks):
    j, k, confidence = stats.median_ranks(n)
    assert (j, k) == ranks
    assert confidence >= 0.95
    # The next narrower pair would fall short: the ranks are the tightest that reach 95%.
    assert 1 - 2 * stats.binomial_half_cdf(n, j) < 0.95


@pytest.mark.parametrize(("n", "coverage"), [(1, 0.0), (2, 0.5), (3, 0.75), (4, 0.875), (5, 0.9375)])
def test_too_few_runs_give_min_max_and_say_what_it_covers(n, coverage):
    values = [float(v) for v in range(10, 10 + n)]
    interval = stats.median_ci(reversed(values))
    assert (interval.low, interval.high) == (min(values), max(values))
    assert interval.confidence == pytest.approx(coverage)
    assert interval.short
    assert interval.n == n


def test_median_ci_ignores_missing_values_and_sorts():
    interval = stats.median_ci([3.0, None, 1.0, float("nan"), 2.0, 5.0, 4.0, 7.0, 6.0])
    assert interval.n == 7
    assert interval.value == 4.0
    assert (interval.low, interval.high) == (1.0, 7.0)
    assert not interval.short
    assert stats.median_ci([None, float("nan")]) is None


def test_median_ci_covers_the_true_median_as_often_as_it_says():
    # Skewed timings (exponential, median ln 2): a CI claiming 95% must cover the true median ≥ 95% of the time.
    rng = random.Random(7)
    true_median = math.log(2)
    trials, covered = 3000, 0
    for _ in range(trials):
        interval = stats.median_ci([rng.expovariate(1.0) for _ in range(12)])
        covered += interval.low <= true_median <= interval.high
    _, _, claimed = stats.median_ranks(12)
    assert covered / trials >= claimed - 0.015  # three standard errors of a 3,000-trial proportion


def test_width_share():
    interval = stats.Interval(value=10.0, low=9.0, high=12.0, n=5, confidence=0.9375)
    assert interval.width_share == pytest.approx(0.3)
    assert stats.Interval(0.0, 0.0, 0.0, 3, 0.75).width_share == 0.0
    assert stats.Interval(0.0, -1.0, 1.0, 3, 0.75).width_share == math.inf


def test_bootstrap_is_seeded_and_brackets_the_statistic():
    values = [1.0, 1.1, 1.3, 0.9, 1.2, 1.05, 2.5]
    first = stats.bootstrap_ci(values, seed=3)
    assert first == stats.bootstrap_ci(values, seed=3)
    assert first.low <= first.value <= first.high
    assert first.value == 1.1
    assert stats.bootstrap_ci([]) is None


def test_bootstrap_ratio_of_medians():
    slow = [10.0, 10.5, 9.8, 10.2, 10.1]
    fast = [5.0, 5.2, 4.9, 5.1, 5.05]
    ratio = stats.bootstrap_ratio_ci(slow, fast, seed=1)
    assert ratio.value == pytest.approx(10.1 / 5.05)
    assert ratio.low <= ratio.value <= ratio.high
    assert 1.8 < ratio.low and ratio.high < 2.2
    assert ratio.n == 5
    assert stats.bootstrap_ratio_ci(slow, []) is None


def _interval(low, high, n=5):
    return stats.Interval((low + high) / 2, low, high, n, 0.9375)


def test_distinguishable_needs_one_objective_with_disjoint_intervals():
    a = [_interval(1.0, 2.0), _interval(5.0, 6.0)]
    assert stats.distinguishable(a, [_interval(2.5, 3.0), _interval(5.5, 6.5)])  # duration apart
    assert stats.distinguishable(a, [_interval(1.5, 3.0), _interval(6.1, 7.0)])  # cost apart
    assert not stats.distinguishable(a, [_interval(1.5, 3.0), _interval(5.5, 6.5)])  # overlap on both
    # Too few runs, or no interval: never counted as a difference.
    assert not stats.distinguishable(a, [_interval(2.5, 3.0, n=2), _interval(9.0, 9.5, n=2)])
    assert not stats.distinguishable(a, [None, None])


def test_front_neighbours():
    front = [
        [_interval(1.0, 1.2), _interval(9.0, 10.0)],
        [_interval(1.1, 1.3), _interval(9.5, 10.5)],  # within noise of the first
        [_interval(3.0, 3.5), _interval(4.0, 4.5)],  # clearly apart from the second
    ]
    assert stats.front_neighbours(front) == [[1], [0], []]
    assert stats.front_neighbours([]) == []
    # A member must beat each neighbour beyond noise on what it is on the front for: the first here is clearly
    # costlier but not clearly faster than the second, so its place is noise; the second's (cheaper) is not.
    costly = [[_interval(1.0, 1.3), _interval(9.0, 10.0)], [_interval(1.1, 1.4), _interval(5.0, 6.0)]]
    assert stats.distinguishable(*costly)
    assert stats.front_neighbours(costly) == [[1], []]
