"""What a run would bill on AWS Lambda + S3: one price table, pure functions, every term separate.

Prices as published by AWS (Lambda, S3 and data-transfer pricing pages, collected 2026; the figures marked
REFERENCE are in shared/REFERENCE.md). Verify against the AWS price list before a real run: they change.
The free tier is left out on purpose: a study's cost should not depend on what else the account ran.

Terms (each logged as ``cost_<term>_usd``; ``cost_usd`` is their sum):

- ``compute``: each invocation's duration rounded up to 1 ms × memory in GB × the GB-second price of the
  architecture, by monthly tier (a study sits in the first tier unless ``month_gb_s_before`` says otherwise).
- ``requests``: $0.20 per million invocations.
- ``init``: the INIT phase of cold starts, billed like duration since 2025-08-01 — priced when the backend
  reports INIT durations (Lithops does not), else from an assumed INIT time per cold start.
- ``ephemeral``: /tmp storage configured above the free 512 MB, per GB-second.
- ``s3_get``, ``s3_put``, ``s3_list``: S3 requests by kind, each at the price of the region of the bucket
  it hits: the dataset's GETs in ``bucket_region``; Lithops' job files, statuses and results in the compute
  region (its bucket lives there).
- ``transfer``: bytes read from a bucket in another region, per GB (data transfer between regions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Lambda x86_64 price per GB-second, first tier (first 6 B GB-s a month); the same in every region the
#: study uses. Source: aws.amazon.com/lambda/pricing, collected 2026-11 (REFERENCE).
LAMBDA_GB_SECOND_USD = {
    "x86_64": {"us-east-1": 0.0000166667, "eu-central-1": 0.0000166667, "eu-west-1": 0.0000166667,
               "us-west-2": 0.0000166667, "us-east-2": 0.0000166667},
    "arm64": {"us-east-1": 0.0000133334, "eu-central-1": 0.0000133334, "eu-west-1": 0.0000133334,
              "us-west-2": 0.0000133334, "us-east-2": 0.0000133334},
}
#: Monthly tiers of the GB-second price: (GB-seconds a month up to which the price holds, USD per GB-s).
#: Source: aws.amazon.com/lambda/pricing, collected 2026-11. x86_64 all three tiers and arm64's first two are
#: in REFERENCE; arm64's third (over 18.75 B) is from the same page and not cross-checked there.
LAMBDA_GB_SECOND_TIERS = {
    "x86_64": ((6e9, 0.0000166667), (15e9, 0.000015), (math.inf, 0.0000133334)),
    "arm64": ((7.5e9, 0.0000133334), (18.75e9, 0.0000120001), (math.inf, 0.0000106667)),
}
#: Lambda request price, USD per request ($0.20 per million). Source: aws.amazon.com/lambda/pricing, 2026-11.
LAMBDA_REQUEST_USD = 0.20 / 1_000_000
#: Ephemeral storage above the free 512 MB, USD per GB-second. Source: aws.amazon.com/lambda/pricing, 2026-11.
LAMBDA_EPHEMERAL_GB_SECOND_USD = 0.0000000309
LAMBDA_FREE_EPHEMERAL_MB = 512
#: Billed duration granularity: each invocation's duration is rounded up to 1 ms (since 2020-12).
BILLING_GRANULARITY_S = 0.001

#: S3 Standard request prices, USD per 1,000 requests: ``put`` covers PUT, COPY, POST and LIST; ``get`` covers
#: GET, SELECT, HEAD and the rest. Source: aws.amazon.com/s3/pricing, collected 2026-11. us-east-1 and
#: eu-central-1 are in REFERENCE; us-east-2, us-west-2 and eu-west-1 bill as us-east-1 on the same page.
S3_REQUEST_USD_PER_1000 = {
    "us-east-1": {"put": 0.005, "get": 0.0004},
    "us-east-2": {"put": 0.005, "get": 0.0004},
    "us-west-2": {"put": 0.005, "get": 0.0004},
    "eu-west-1": {"put": 0.005, "get": 0.0004},
    "eu-central-1": {"put": 0.0054, "get": 0.00043},
}
#: S3 Standard storage, USD per GB-month (first 50 TB). Source: aws.amazon.com/s3/pricing, collected 2026-11;
#: us-east-1 and eu-central-1 in REFERENCE, the others at us-east-1's price on the same page.
S3_STORAGE_USD_PER_GB_MONTH = {"us-east-1": 0.023, "us-east-2": 0.023, "us-west-2": 0.023, "eu-west-1": 0.023,
                               "eu-central-1": 0.0245}
#: Data transfer between two regions, USD per GB, charged to the region the bytes leave. Source:
#: aws.amazon.com/ec2/pricing/on-demand (data transfer), collected 2026 (REFERENCE): $0.02 per GB between
#: US and EU regions, $0.01 between us-east-1 and us-east-2.
INTER_REGION_USD_PER_GB = 0.02
INTER_REGION_PAIR_USD_PER_GB = {frozenset({"us-east-1", "us-east-2"}): 0.01}
#: AWS bills transferred data per GB of 2^30 bytes.
BILLING_GB_BYTES = 2**30

#: The cost terms, in the order they are reported; the metric of a term is :func:`cost_metric`.
COST_TERMS = ("compute", "requests", "init", "ephemeral", "s3_get", "s3_put", "s3_list", "transfer")


def cost_metric(term: str) -> str:
    """Metric name of one cost term, e.g. ``cost_transfer_usd``."""
    if term not in COST_TERMS:
        raise ValueError(f"cost term {term!r} is not known; choose one of {', '.join(COST_TERMS)}")
    return f"cost_{term}_usd"


def billed_seconds(duration_s: float) -> float:
    """Billed duration of one invocation: its duration rounded up to the next millisecond."""
    return math.ceil(round(duration_s / BILLING_GRANULARITY_S, 6)) * BILLING_GRANULARITY_S


def gb_second_price(*, region: str, architecture: str = "x86_64") -> float:
    """Price per GB-second of Lambda compute in ``region`` for ``architecture`` (first monthly tier)."""
    try:
        prices = LAMBDA_GB_SECOND_USD[architecture]
    except KeyError:
        raise ValueError(f"architecture {architecture!r} has no price; choose x86_64 or arm64") from None
    try:
        return prices[region]
    except KeyError:
        known = ", ".join(sorted(prices))
        raise ValueError(f"region {region!r} has no Lambda price in the table; known: {known}") from None


def tiered_gb_second_usd(gb_s: float, *, region: str, architecture: str = "x86_64",
                         month_gb_s_before: float = 0.0) -> float:
    """USD for ``gb_s`` GB-seconds, split over the monthly tiers.

    :param gb_s: billed GB-seconds of this run.
    :param region: compute region (its first-tier price scales the tiers; all listed regions share them).
    :param architecture: x86_64 or arm64.
    :param month_gb_s_before: GB-seconds the account used earlier in the month (0 = the run starts the month).
    """
    scale = gb_second_price(region=region, architecture=architecture) / LAMBDA_GB_SECOND_TIERS[architecture][0][1]
    usd, start, remaining = 0.0, month_gb_s_before, gb_s
    for upper, price in LAMBDA_GB_SECOND_TIERS[architecture]:
        if remaining <= 0:
            break
        in_tier = min(remaining, max(0.0, upper - start))
        usd += in_tier * price * scale
        remaining -= in_tier
        start += in_tier
    return usd


def s3_request_price(*, region: str, kind: str) -> float:
    """USD for one S3 request of ``kind`` (``put``, ``list`` or ``get``) on a bucket in ``region``."""
    try:
        prices = S3_REQUEST_USD_PER_1000[region]
    except KeyError:
        known = ", ".join(sorted(S3_REQUEST_USD_PER_1000))
        raise ValueError(f"region {region!r} has no S3 price in the table; known: {known}") from None
    return prices["put" if kind in ("put", "list") else "get"] / 1000


def transfer_price_per_gb(*, source_region: str, destination_region: str) -> float:
    """USD per GB moved from a bucket in ``source_region`` to functions in ``destination_region``."""
    for region in (source_region, destination_region):
        if region not in S3_REQUEST_USD_PER_1000:
            known = ", ".join(sorted(S3_REQUEST_USD_PER_1000))
            raise ValueError(f"region {region!r} has no transfer price in the table; known: {known}")
    if source_region == destination_region:
        return 0.0
    return INTER_REGION_PAIR_USD_PER_GB.get(frozenset({source_region, destination_region}), INTER_REGION_USD_PER_GB)


@dataclass(frozen=True)
class S3Requests:
    """S3 requests by kind on one bucket."""

    get: int = 0
    put: int = 0
    list: int = 0


#: Lithops 3.8's requests on its own bucket, measured here against a moto server (one map_reduce = a map job
#: and a reduce job) and read from lithops/worker: the host PUTs each job's function and data; every call
#: PUTs an init marker, its status and (above 8 KiB, as our partials are) its result; every invocation GETs
#: the function and its slice of the job data; the host GETs each status and the reducer each map's status
#: and result; the host GETs the reduce result. The host's monitor LISTs the job prefix every interval.
LITHOPS_PUTS_PER_JOB = 2
LITHOPS_PUTS_PER_CALL = 3
LITHOPS_GETS_PER_INVOCATION = 2
LITHOPS_GETS_PER_MAP_CALL = 3
LITHOPS_GETS_PER_REDUCE_CALL = 2
LITHOPS_KEYS_PER_CALL = 3
S3_LIST_PAGE_KEYS = 1000


def lithops_requests(*, jobs: int, invocations: int, map_calls: int, reduce_calls: int, duration_s: float,
                     monitoring_interval_s: float, reduce_poll_s: float | None = None) -> S3Requests:
    """Requests Lithops makes on its own bucket for a map-reduce (see the constants above).

    :param jobs: Lithops jobs (a map_reduce is two: the maps and the reduce).
    :param invocations: function invocations (calls packed by ``chunksize`` share one).
    :param map_calls: map calls (one per object).
    :param reduce_calls: reduce calls.
    :param duration_s: how long the host monitored the jobs.
    :param monitoring_interval_s: seconds between two LISTs of the job prefix.
    :param reduce_poll_s: seconds between the host's GETs of the reduce's status (``backend.reduce_poll_s``).
    """
    calls = map_calls + reduce_calls
    polls = math.ceil(max(0.0, duration_s) / max(monitoring_interval_s, 1e-3))
    pages = max(1, math.ceil(calls * LITHOPS_KEYS_PER_CALL / S3_LIST_PAGE_KEYS))
    status_reads = math.ceil(max(0.0, duration_s) / reduce_poll_s) if reduce_poll_s else 0
    return S3Requests(
        get=status_reads + invocations * LITHOPS_GETS_PER_INVOCATION + map_calls * LITHOPS_GETS_PER_MAP_CALL
        + reduce_calls * LITHOPS_GETS_PER_REDUCE_CALL,
        put=jobs * LITHOPS_PUTS_PER_JOB + calls * LITHOPS_PUTS_PER_CALL,
        list=polls * pages,
    )


@dataclass(frozen=True)
class RunUsage:
    """What a run used (measured or planned), in the units AWS bills.

    :param invocation_durations_s: duration of each function invocation.
    :param memory_mb: function memory.
    :param region: compute region (where Lithops' bucket lives too).
    :param bucket_region: region of the dataset's bucket.
    :param architecture: x86_64 or arm64.
    :param init_durations_s: INIT phase of each cold start.
    :param ephemeral_mb: configured /tmp size.
    :param data_requests: requests on the dataset's bucket (one GET per object or range read).
    :param data_bytes_read: bytes the functions read from the dataset's bucket.
    :param lithops_requests: requests on Lithops' bucket.
    """

    invocation_durations_s: Sequence[float]
    memory_mb: int
    region: str
    bucket_region: str
    architecture: str = "x86_64"
    init_durations_s: Sequence[float] = ()
    ephemeral_mb: int = LAMBDA_FREE_EPHEMERAL_MB
    data_requests: S3Requests = field(default_factory=S3Requests)
    data_bytes_read: int = 0
    lithops_requests: S3Requests = field(default_factory=S3Requests)


@dataclass(frozen=True)
class CostBreakdown:
    """Every term of a run's bill in USD, and the billed GB-seconds behind compute."""

    compute_usd: float = 0.0
    requests_usd: float = 0.0
    init_usd: float = 0.0
    ephemeral_usd: float = 0.0
    s3_get_usd: float = 0.0
    s3_put_usd: float = 0.0
    s3_list_usd: float = 0.0
    transfer_usd: float = 0.0
    billed_gb_s: float = 0.0
    transfer_gb: float = 0.0

    @property
    def total_usd(self) -> float:
        return sum(getattr(self, f"{term}_usd") for term in COST_TERMS)

    def metrics(self) -> dict[str, float]:
        """Each term as ``cost_<term>_usd``, the total as ``cost_usd``, plus ``billed_gb_s`` and ``transfer_gb``."""
        terms = {cost_metric(term): getattr(self, f"{term}_usd") for term in COST_TERMS}
        return {**terms, "cost_usd": self.total_usd, "billed_gb_s": self.billed_gb_s, "transfer_gb": self.transfer_gb}

    def __add__(self, other: CostBreakdown) -> CostBreakdown:
        names = [*(f"{term}_usd" for term in COST_TERMS), "billed_gb_s", "transfer_gb"]
        return CostBreakdown(**{name: getattr(self, name) + getattr(other, name) for name in names})


def run_cost(usage: RunUsage, *, month_gb_s_before: float = 0.0) -> CostBreakdown:
    """The bill of one run, term by term.

    :param usage: what the run used.
    :param month_gb_s_before: GB-seconds the account used earlier in the month (picks the compute tier).
    """
    gb = usage.memory_mb / 1024
    billed_s = sum(billed_seconds(d) for d in usage.invocation_durations_s)
    billed_gb_s = billed_s * gb
    init_gb_s = sum(billed_seconds(d) for d in usage.init_durations_s) * gb
    compute_usd = tiered_gb_second_usd(billed_gb_s, region=usage.region, architecture=usage.architecture,
                                       month_gb_s_before=month_gb_s_before)
    init_usd = tiered_gb_second_usd(init_gb_s, region=usage.region, architecture=usage.architecture,
                                    month_gb_s_before=month_gb_s_before + billed_gb_s)
    extra_ephemeral_gb = max(0, usage.ephemeral_mb - LAMBDA_FREE_EPHEMERAL_MB) / 1024
    by_kind = {kind: getattr(usage.data_requests, kind) * s3_request_price(region=usage.bucket_region, kind=kind)
               + getattr(usage.lithops_requests, kind) * s3_request_price(region=usage.region, kind=kind)
               for kind in ("get", "put", "list")}
    transfer_gb = usage.data_bytes_read / BILLING_GB_BYTES if usage.bucket_region != usage.region else 0.0
    return CostBreakdown(
        compute_usd=compute_usd,
        requests_usd=len(usage.invocation_durations_s) * LAMBDA_REQUEST_USD,
        init_usd=init_usd,
        ephemeral_usd=extra_ephemeral_gb * billed_s * LAMBDA_EPHEMERAL_GB_SECOND_USD,
        s3_get_usd=by_kind["get"],
        s3_put_usd=by_kind["put"],
        s3_list_usd=by_kind["list"],
        transfer_usd=transfer_gb * transfer_price_per_gb(source_region=usage.bucket_region,
                                                          destination_region=usage.region),
        billed_gb_s=billed_gb_s,
        transfer_gb=transfer_gb,
    )


def staging_requests(object_sizes: Sequence[int], *, multipart_bytes: int) -> S3Requests:
    """Requests that staging these objects makes: a HEAD (checksum check) and a PUT per object, or for an
    object of ``multipart_bytes`` or more an initiate, one PUT per part and a complete; then the manifest."""
    puts = sum(1 if size < multipart_bytes else 2 + math.ceil(size / multipart_bytes) for size in object_sizes)
    return S3Requests(get=len(object_sizes) + 1, put=puts + 1)


def storage_usd_per_month(stored_bytes: int, *, region: str) -> float:
    """USD a month for keeping ``stored_bytes`` in S3 Standard in ``region`` (GB of 2^30 bytes)."""
    try:
        price = S3_STORAGE_USD_PER_GB_MONTH[region]
    except KeyError:
        known = ", ".join(sorted(S3_STORAGE_USD_PER_GB_MONTH))
        raise ValueError(f"region {region!r} has no S3 storage price in the table; known: {known}") from None
    return stored_bytes / BILLING_GB_BYTES * price
