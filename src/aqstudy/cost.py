"""What a run's calls would bill on AWS Lambda: one price table, pure functions, every term separate.

Prices as published by AWS (Lambda and S3 pricing pages, collected 2026; see shared/REFERENCE.md). Verify
against the AWS price list before a real run: they change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

#: Lambda x86_64 price per GB-second, first tier (first 6 B GB-s a month); the same in every region the
#: study uses. Source: aws.amazon.com/lambda/pricing, collected 2026-11.
LAMBDA_GB_SECOND_USD = {
    "x86_64": {"us-east-1": 0.0000166667, "eu-central-1": 0.0000166667, "eu-west-1": 0.0000166667,
               "us-west-2": 0.0000166667, "us-east-2": 0.0000166667},
    "arm64": {"us-east-1": 0.0000133334, "eu-central-1": 0.0000133334, "eu-west-1": 0.0000133334,
              "us-west-2": 0.0000133334, "us-east-2": 0.0000133334},
}
#: Lambda request price, USD per request ($0.20 per million). Source: aws.amazon.com/lambda/pricing, 2026-11.
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
#: Billed duration granularity: each invocation's duration is rounded up to 1 ms (since 2020-12).
BILLING_GRANULARITY_S = 0.001


@dataclass(frozen=True)
class LambdaCost:
    """The terms of a run's Lambda bill in USD."""

    compute_usd: float
    requests_usd: float
    billed_gb_s: float

    @property
    def total_usd(self) -> float:
        return self.compute_usd + self.requests_usd


def billed_seconds(duration_s: float) -> float:
    """Billed duration of one invocation: its duration rounded up to the next millisecond."""
    return math.ceil(round(duration_s / BILLING_GRANULARITY_S, 6)) * BILLING_GRANULARITY_S


def gb_second_price(*, region: str, architecture: str = "x86_64") -> float:
    """Price per GB-second of Lambda compute in ``region`` for ``architecture``."""
    try:
        prices = LAMBDA_GB_SECOND_USD[architecture]
    except KeyError:
        raise ValueError(f"architecture {architecture!r} has no price; choose x86_64 or arm64") from None
    try:
        return prices[region]
    except KeyError:
        known = ", ".join(sorted(prices))
        raise ValueError(f"region {region!r} has no Lambda price in the table; known: {known}") from None


def lambda_cost(
    *, durations_s: Iterable[float], memory_mb: int, region: str, architecture: str = "x86_64"
) -> LambdaCost:
    """What invocations of these durations bill at ``memory_mb``.

    :param durations_s: execution time of each invocation in seconds.
    :param memory_mb: configured function memory in MB (1 GB = 1024 MB in Lambda's billing).
    :param region: the compute region.
    :param architecture: x86_64 or arm64.
    """
    durations = list(durations_s)
    billed_gb_s = sum(billed_seconds(d) for d in durations) * memory_mb / 1024
    return LambdaCost(
        compute_usd=billed_gb_s * gb_second_price(region=region, architecture=architecture),
        requests_usd=len(durations) * LAMBDA_REQUEST_USD,
        billed_gb_s=billed_gb_s,
    )
