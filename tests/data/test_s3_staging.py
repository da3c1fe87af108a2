"""Integration: S3 staging with boto3 against a real S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import uuid

import pytest

from aqstudy.data.staging import MANIFEST_NAME, stage
from aqstudy.data.synthetic import synthetic_source
from aqstudy.storages.s3_client import (
    AwsSetupError,
    S3ObjectStore,
    bucket_region_of,
    check_bucket_name,
    ensure_bucket,
    location_constraint,
    open_store,
    region_of_location,
    s3_client,
)

pytestmark = pytest.mark.integration


def _bucket(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def test_location_constraints_follow_aws_rules():
    assert location_constraint("us-east-1") == {}
    assert location_constraint("eu-west-1") == {"CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}
    assert region_of_location(None) == region_of_location("") == "us-east-1"
    assert region_of_location("EU") == "eu-west-1"
    assert region_of_location("eu-central-1") == "eu-central-1"


def test_buckets_are_created_in_two_regions_and_found_there_again(s3_server):
    client = s3_client(region="us-east-1", endpoint_url=s3_server.endpoint)
    virginia, ireland = _bucket("data-use1"), _bucket("data-euw1")
    assert ensure_bucket(client, bucket=virginia, region="us-east-1") is True
    assert ensure_bucket(s3_client(region="eu-west-1", endpoint_url=s3_server.endpoint), bucket=ireland,
                         region="eu-west-1") is True
    assert bucket_region_of(client, bucket=virginia) == "us-east-1"
    assert client.get_bucket_location(Bucket=virginia)["LocationConstraint"] is None
    assert bucket_region_of(client, bucket=ireland) == "eu-west-1"
    assert ensure_bucket(client, bucket=ireland, region="eu-west-1") is False
    with pytest.raises(AwsSetupError, match=f"bucket '{ireland}' is in eu-west-1, not in bucket_region=us-east-1"):
        ensure_bucket(client, bucket=ireland, region="us-east-1")


def test_staging_twice_reuses_the_copy_and_a_lost_manifest_resends_nothing(s3_server):
    store = open_store(bucket=_bucket("stage"), region="eu-west-1", endpoint_url=s3_server.endpoint)
    source = synthetic_source(seed=7, station_count=60, object_mb=0.2, data_size_gb=0.0006)
    first = stage(source, store, progress=False)
    assert not first.reused and len(first.objects) == 3
    assert store.stats.uploaded == 4 and store.stats.skipped == 0  # 3 objects and the manifest
    second = stage(source, store, progress=False)
    assert second.reused and second.dataset_sha256 == first.dataset_sha256
    # A staging that died before writing its manifest: objects already there with the same checksum stay.
    store.client.delete_object(Bucket=store.bucket, Key=f"{first.prefix}/{MANIFEST_NAME}")
    third = stage(source, store, progress=False)
    assert not third.reused and third.kept_objects == 3
    assert store.stats.skipped == 3 and store.stats.uploaded == 5  # only the manifest went up again
    assert third.dataset_sha256 == first.dataset_sha256
    body = store.get(first.objects[0]["key"])
    assert body == source.objects[0].load()


def test_large_objects_go_up_in_parts_with_progress_and_a_changed_object_is_replaced(s3_server):
    store = S3ObjectStore(s3_client(region="us-east-1", endpoint_url=s3_server.endpoint), _bucket("multi"),
                          multipart_mb=5)
    ensure_bucket(store.client, bucket=store.bucket, region="us-east-1")
    data = bytes(range(256)) * (6 * 4096)  # 6 MiB: two parts of 5 MiB and 1 MiB
    sent: list[int] = []
    assert store.put("big.bin", data, progress=sent.append) is True
    assert sum(sent) == len(data) and len(sent) >= 2
    head = store.client.head_object(Bucket=store.bucket, Key="big.bin")
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload's ETag counts its parts
    assert store.stats.multipart == 1
    assert store.size("big.bin") == len(data)
    assert store.put("big.bin", data) is False
    assert store.put("big.bin", data[:-1] + b"x") is True
    assert store.get("big.bin")[-1:] == b"x"
    assert store.get("missing") is None and store.size("missing") is None


def test_bad_bucket_names_and_missing_credentials_are_refused_with_the_fix(s3_server, monkeypatch):
    with pytest.raises(AwsSetupError, match="is not a valid S3 bucket name"):
        check_bucket_name("Aq_Study")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AwsSetupError, match="no AWS credentials found; set AWS_PROFILE"):
        s3_client(region="us-east-1", endpoint_url=s3_server.endpoint)
