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


KNOWN_REGIONS = "eu-central-1, eu-west-1, us-east-1, us-east-2, us-west-2"


def test_every_refusal_names_the_thing_and_the_known_values():
    refusals = {
        lambda: c.cost_metric("lunch"): "cost term 'lunch' is not known; choose one of compute, requests, init, "
                                        "ephemeral, s3_get, s3_put, s3_list, transfer",
        lambda: c.gb_second_price(region="mars-1"): f"region 'mars-1' has no Lambda price in the table; known: "
                                                    f"{KNOWN_REGIONS}",
        lambda: c.s3_request_price(region="mars-1", kind="put"): f"region 'mars-1' has no S3 price in the table; "
                                                                 f"known: {KNOWN_REGIONS}",
        lambda: c.transfer_price_per_gb(source_region="us-east-1", destination_region="mars-1"):
            f"region 'mars-1' has no transfer price in the table; known: {KNOWN_REGIONS}",
        lambda: c.storage_usd_per_month(1, region="mars-1"): f"region 'mars-1' has no S3 storage price in the "
                                                             f"table; known: {KNOWN_REGIONS}",
    }
    for refused, message in refusals.items():
        with pytest.raises(ValueError) as error:
            refused()
        assert str(error.value) == message


def test_reading_from_the_same_region_moves_no_billed_byte():
    assert c.transfer_price_per_gb(source_region="eu-west-1", destination_region="eu-west-1") == 0.0
    assert c.transfer_price_per_gb(source_region="us-east-2", destination_region="us-east-1") == 0.01


def test_a_run_starts_the_month_unless_told_otherwise():
    # 6 B GB-s (the first tier exactly): 600,000,000 s at 10 GB. A default of anything but 0 GB-s before
    # would push a GB-s into the second tier.
    usage = c.RunUsage(invocation_durations_s=(6e8,), memory_mb=10240, region="us-east-1", bucket_region="us-east-1",
                       init_durations_s=(1.0,))
    assert c.run_cost(usage) == c.run_cost(usage, month_gb_s_before=0.0)
    assert c.tiered_gb_second_usd(6e9, region="us-east-1") == c.tiered_gb_second_usd(6e9, region="us-east-1",
                                                                                        month_gb_s_before=0.0)
    assert c.run_cost(usage).compute_usd == pytest.approx(6e9 * 0.0000166667)


def test_compute_over_all_three_tiers_and_init_billed_after_it_in_the_month():
    # 20 B GB-s: 6 B at the first price, 9 B at the second, 5 B at the third.
    assert c.tiered_gb_second_usd(20e9, region="us-east-1") == pytest.approx(
        6e9 * 0.0000166667 + 9e9 * 0.000015 + 5e9 * 0.0000133334)
    # Earlier use moves the run along the tiers; so does the run's own compute for its INIT.
    later = c.RunUsage(invocation_durations_s=(1e8,), memory_mb=10240, region="us-east-1", bucket_region="us-east-1",
                       init_durations_s=(1e8,))
    bill = c.run_cost(later, month_gb_s_before=5.5e9)
    assert bill.compute_usd == pytest.approx(0.5e9 * 0.0000166667 + 0.5e9 * 0.000015)
    assert bill.init_usd == pytest.approx(1e9 * 0.000015)
    arm = c.run_cost(c.RunUsage(invocation_durations_s=(), memory_mb=1024, region="us-east-1",
                                bucket_region="us-east-1", architecture="arm64", init_durations_s=(2.0,)))
    assert arm.init_usd == pytest.approx(2 * 0.0000133334)


def test_a_region_priced_apart_scales_every_tier(monkeypatch):
    prices = {arch: {**regions, "xx-1": 2 * regions["us-east-1"]} for arch, regions in c.LAMBDA_GB_SECOND_USD.items()}
    monkeypatch.setattr(c, "LAMBDA_GB_SECOND_USD", prices)
    assert c.tiered_gb_second_usd(10e9, region="xx-1") == pytest.approx(
        2 * c.tiered_gb_second_usd(10e9, region="us-east-1"))


def test_the_datasets_requests_are_priced_by_kind_in_the_buckets_region():
    usage = c.RunUsage(invocation_durations_s=(), memory_mb=1024, region="us-east-1", bucket_region="eu-central-1",
                       data_requests=c.S3Requests(get=1000, put=1000, list=1000))
    bill = c.run_cost(usage)
    assert bill.s3_get_usd == pytest.approx(0.00043)
    assert bill.s3_put_usd == pytest.approx(0.0054)
    assert bill.s3_list_usd == pytest.approx(0.0054)


def test_polls_and_status_reads_of_a_short_job_and_of_none():
    # 0.25 s polled every 0.05 s: 5 LISTs; the reduce's status read every 0.01 s: 25 GETs.
    short = c.lithops_requests(jobs=2, invocations=2, map_calls=1, reduce_calls=1, duration_s=0.25,
                               monitoring_interval_s=0.05, reduce_poll_s=0.01)
    assert short.list == 5
    assert short.get == 25 + 2 * 2 + 3 + 2
    none = c.lithops_requests(jobs=2, invocations=2, map_calls=1, reduce_calls=1, duration_s=-1.0,
                              monitoring_interval_s=0.05, reduce_poll_s=0.01)
    assert none.list == 0 and none.get == 2 * 2 + 3 + 2


def test_staging_requests_a_head_and_a_put_per_object_or_a_multipart_upload():
    mib = 2**20
    assert c.staging_requests([], multipart_bytes=8 * mib) == c.S3Requests(get=1, put=1)  # the manifest
    # Below the threshold: one PUT; at it or above: initiate, one PUT per part, complete.
    requests = c.staging_requests([8 * mib - 1, 8 * mib, 20 * mib], multipart_bytes=8 * mib)
    assert requests == c.S3Requests(get=3 + 1, put=1 + (2 + 1) + (2 + 3) + 1)


def test_storage_a_month_per_gb_of_2_30_bytes():
    assert c.storage_usd_per_month(2**30, region="us-east-1") == pytest.approx(0.023)
    assert c.storage_usd_per_month(3 * 2**30, region="eu-central-1") == pytest.approx(3 * 0.0245)


def test_bills_add_up_term_by_term_and_name_their_gb():
    one = c.run_cost(c.RunUsage(invocation_durations_s=(1.0,), memory_mb=1024, region="us-east-1",
                                bucket_region="eu-west-1", data_bytes_read=2**30))
    two = c.run_cost(c.RunUsage(invocation_durations_s=(2.0, 3.0), memory_mb=2048, region="us-east-1",
                                bucket_region="us-east-1", data_requests=c.S3Requests(get=7)))
    total = one + two
    for name in ("compute_usd", "requests_usd", "s3_get_usd", "transfer_usd", "billed_gb_s", "transfer_gb"):
        assert getattr(total, name) == pytest.approx(getattr(one, name) + getattr(two, name)), name
    assert total.billed_gb_s == pytest.approx(1 + 10) and total.transfer_gb == pytest.approx(1)
    assert sum((one, two), c.CostBreakdown()) == total
    metrics = total.metrics()
    assert (metrics["billed_gb_s"], metrics["transfer_gb"]) == (total.billed_gb_s, total.transfer_gb)
