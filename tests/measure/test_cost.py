"""The cost model against hand-computed bills (prices from the table in aqstudy/cost.py)."""

from __future__ import annotations

import math

import pytest

from aqstudy.measure import cost as c


def test_each_invocation_is_billed_up_to_the_next_millisecond():
    assert c.billed_seconds(1.0) == pytest.approx(1.0)
    assert c.billed_seconds(1.0001) == pytest.approx(1.001)
    assert c.billed_seconds(0.0000001) == pytest.approx(0.001)
    assert c.billed_seconds(2.2509) == pytest.approx(2.251)


def test_a_duration_of_exactly_n_ms_with_float_noise_bills_n_ms():
    # Durations reach the model as sums and differences of floats: n ms often arrives a few ulps above n ms
    # (0.1 + 0.2 = 0.30000000000000004), which must not bill the next millisecond.
    for n in range(1, 2001):
        for duration_s in (n / 1000, n * 0.001, (0.25 + n / 1000) - 0.25, math.fsum([0.001] * n) + 1e-15):
            assert c.billed_seconds(duration_s) == pytest.approx(n / 1000, abs=1e-12), (n, duration_s)
    assert c.billed_seconds(0.1 + 0.2) == pytest.approx(0.3, abs=1e-12)
    # A real excess, however small, is still a started millisecond.
    assert c.billed_seconds(0.3 + 1e-6) == pytest.approx(0.301, abs=1e-12)
    assert c.billed_seconds(0.3 + 1e-8) == pytest.approx(0.301, abs=1e-12)


def test_compute_and_requests_of_three_invocations_by_hand():
    # Billed: 1.001 + 0.500 + 2.251 = 3.752 s; at 2048 MB = 2 GB → 7.504 GB-s.
    # x86_64 us-east-1: 7.504 × $0.0000166667 = $0.00012506692; requests: 3 × $0.0000002 = $0.0000006.
    usage = c.RunUsage(invocation_durations_s=(1.0004, 0.5, 2.2501), memory_mb=2048, region="us-east-1",
                       bucket_region="us-east-1")
    bill = c.run_cost(usage)
    assert bill.billed_gb_s == pytest.approx(7.504)
    assert bill.compute_usd == pytest.approx(0.00012506692)
    assert bill.requests_usd == pytest.approx(0.0000006)
    assert bill.transfer_usd == 0 and bill.init_usd == 0 and bill.ephemeral_usd == 0


def test_arm64_bills_the_same_seconds_at_its_own_price():
    # 10 s at 1024 MB = 10 GB-s; arm64: 10 × $0.0000133334 = $0.000133334 (x86_64: $0.000166667).
    arm = c.run_cost(c.RunUsage(invocation_durations_s=(10.0,), memory_mb=1024, region="eu-central-1",
                                bucket_region="eu-central-1", architecture="arm64"))
    x86 = c.run_cost(c.RunUsage(invocation_durations_s=(10.0,), memory_mb=1024, region="eu-central-1",
                                bucket_region="eu-central-1"))
    assert arm.compute_usd == pytest.approx(0.000133334)
    assert x86.compute_usd == pytest.approx(0.000166667)


def test_compute_crossing_a_monthly_tier_is_split_between_the_tiers():
    # The account used 6 B − 1,000 GB-s already; a 3,000 GB-s run: 1,000 at $0.0000166667 + 2,000 at $0.000015.
    usd = c.tiered_gb_second_usd(3000, region="us-east-1", month_gb_s_before=6e9 - 1000)
    assert usd == pytest.approx(1000 * 0.0000166667 + 2000 * 0.000015)
    assert usd == pytest.approx(0.0466667)
    # Far into the third tier, every GB-s costs $0.0000133334.
    assert c.tiered_gb_second_usd(100, region="us-east-1", month_gb_s_before=20e9) == pytest.approx(0.00133334)


def test_a_million_requests_cost_twenty_cents():
    bill = c.run_cost(c.RunUsage(invocation_durations_s=(0.0,) * 1_000_000, memory_mb=128, region="us-east-1",
                                 bucket_region="us-east-1"))
    assert bill.requests_usd == pytest.approx(0.20)


def test_s3_requests_are_priced_by_kind_at_the_region_of_the_bucket_they_hit():
    # Dataset in eu-central-1: 1,000 GETs × $0.00043/1000 = $0.00043.
    # Lithops' bucket in us-east-1: 2,000 GETs × $0.0004/1000 = $0.0008; 1,000 PUTs × $0.005/1000 = $0.005;
    # 400 LISTs bill as PUTs: 400 × $0.005/1000 = $0.002.
    usage = c.RunUsage(invocation_durations_s=(), memory_mb=1024, region="us-east-1", bucket_region="eu-central-1",
                       data_requests=c.S3Requests(get=1000),
                       lithops_requests=c.S3Requests(get=2000, put=1000, list=400))
    bill = c.run_cost(usage)
    assert bill.s3_get_usd == pytest.approx(0.00043 + 0.0008)
    assert bill.s3_put_usd == pytest.approx(0.005)
    assert bill.s3_list_usd == pytest.approx(0.002)


def test_bytes_read_across_regions_pay_transfer_and_same_region_reads_do_not():
    five_gb = 5 * 2**30
    across = c.run_cost(c.RunUsage(invocation_durations_s=(), memory_mb=1024, region="us-east-1",
                                   bucket_region="eu-west-1", data_bytes_read=five_gb))
    assert across.transfer_gb == pytest.approx(5)
    assert across.transfer_usd == pytest.approx(5 * 0.02)
    ohio = c.run_cost(c.RunUsage(invocation_durations_s=(), memory_mb=1024, region="us-east-1",
                                 bucket_region="us-east-2", data_bytes_read=five_gb))
    assert ohio.transfer_usd == pytest.approx(5 * 0.01)
    same = c.run_cost(c.RunUsage(invocation_durations_s=(), memory_mb=1024, region="eu-west-1",
                                 bucket_region="eu-west-1", data_bytes_read=five_gb))
    assert same.transfer_usd == 0 and same.transfer_gb == 0


def test_cold_start_init_and_extra_ephemeral_storage_are_billed():
    # Two INIT phases of 0.5 s at 1024 MB: 1 GB-s × $0.0000166667.
    # 10 s billed with 1024 MB of /tmp: (1024 − 512) MB = 0.5 GB × 10 s × $0.0000000309 = $0.0000001545.
    bill = c.run_cost(c.RunUsage(invocation_durations_s=(4.0, 6.0), memory_mb=1024, region="us-east-1",
                                 bucket_region="us-east-1", init_durations_s=(0.5, 0.5), ephemeral_mb=1024))
    assert bill.init_usd == pytest.approx(0.0000166667)
    assert bill.ephemeral_usd == pytest.approx(0.0000001545)


def test_every_term_is_a_metric_and_the_total_is_their_sum():
    usage = c.RunUsage(invocation_durations_s=(1.5, 2.5), memory_mb=2048, region="us-east-1",
                       bucket_region="eu-west-1", init_durations_s=(0.4,), data_requests=c.S3Requests(get=2),
                       data_bytes_read=10**9, lithops_requests=c.S3Requests(get=10, put=10, list=3))
    metrics = c.run_cost(usage).metrics()
    terms = [c.cost_metric(term) for term in c.COST_TERMS]
    assert set(terms) <= set(metrics)
    assert all(metrics[name] > 0 for name in terms if name != "cost_ephemeral_usd")
    assert metrics["cost_usd"] == pytest.approx(sum(metrics[name] for name in terms))


def test_lithops_request_model_counts_jobs_calls_invocations_and_polls():
    # 2 jobs, 4 invocations (3 maps of chunksize 2 over 5 objects + the reduce), 5 s polled every 0.5 s:
    # PUT 2×2 + 6×3 = 22; GET 4×2 + 5×3 + 1×2 = 25; LIST 10 polls of one page.
    requests = c.lithops_requests(jobs=2, invocations=4, map_calls=5, reduce_calls=1, duration_s=5.0,
                                  monitoring_interval_s=0.5)
    assert requests == c.S3Requests(get=25, put=22, list=10)
    # 1,000 calls leave 3,000 keys: every poll lists 3 pages.
    big = c.lithops_requests(jobs=2, invocations=1000, map_calls=999, reduce_calls=1, duration_s=2.0,
                             monitoring_interval_s=2.0)
    assert big.list == 3
    # The host reading the reduce's status every 0.25 s adds one GET per read: 5 s → 20.
    polled = c.lithops_requests(jobs=2, invocations=4, map_calls=5, reduce_calls=1, duration_s=5.0,
                                monitoring_interval_s=0.5, reduce_poll_s=0.25)
    assert polled == c.S3Requests(get=25 + 20, put=22, list=10)


def test_a_region_without_prices_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="region 'ap-south-1' has no S3 price in the table; known: eu-central-1"):
        c.s3_request_price(region="ap-south-1", kind="get")
    with pytest.raises(ValueError, match="has no transfer price"):
        c.transfer_price_per_gb(source_region="ap-south-1", destination_region="us-east-1")
    with pytest.raises(ValueError, match="choose x86_64 or arm64"):
        c.gb_second_price(region="us-east-1", architecture="sparc")
