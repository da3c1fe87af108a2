"""OpenAQ archive import: date ranges, re-partitioning, and a local S3 server holding the archive's layout."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from aqstudy.analysis import finalize, result_sha256
from aqstudy.data.openaq import archive_lines, day_range, openaq_source, repartition, take_parts
from aqstudy.data.source import DatasetError
from aqstudy.data.synthetic import SyntheticOpenAQ
from aqstudy.kernel import aggregate as kernel
from aqstudy.study.runner import run_study


def test_a_date_range_lists_every_day_and_bad_ranges_name_the_fix():
    assert day_range("2020-02-27", "2020-03-01") == ["2020-02-27", "2020-02-28", "2020-02-29", "2020-03-01"]
    assert day_range("2020-06-01", "2020-06-01") == ["2020-06-01"]
    with pytest.raises(DatasetError, match="are not dates; pass YYYY-MM-DD"):
        day_range("June", "2020-06-01")
    with pytest.raises(DatasetError, match="is before dataset.start_date=2020-06-02; swap them"):
        day_range("2020-06-02", "2020-06-01")


def test_repartition_keeps_every_line_once_and_a_smaller_limit_is_a_prefix():
    lines = [(f'{{"i": {i}, "pad": "{"x" * (i % 37)}"}}\n').encode() for i in range(500)]
    parts = list(repartition(lines, object_bytes=1000))
    assert b"".join(parts) == b"".join(lines)
    assert all(len(part) <= 1000 for part in parts)
    assert all(part.endswith(b"\n") for part in parts)
    limited = list(repartition(lines, object_bytes=1000, limit_bytes=3500))
    assert limited == parts[:len(limited)]
    assert sum(map(len, limited[:-1])) < 3500 <= sum(map(len, limited))
    indexed = [{"name": str(i), "lines_bytes": len(p)} for i, p in enumerate(parts)]
    assert [p["name"] for p in take_parts(indexed, limit_bytes=3500)] == [str(i) for i in range(len(limited))]
    # A line longer than an object is an object of its own.
    assert list(repartition([b"a" * 50 + b"\n", b"b\n"], object_bytes=10)) == [b"a" * 50 + b"\n", b"b\n"]


def test_archive_files_are_read_plain_gzip_or_cut_short():
    text = b'{"a": 1}\n\n{"a": 2}\n'
    assert archive_lines(text) == ([b'{"a": 1}\n', b'{"a": 2}\n'], False)
    assert archive_lines(gzip.compress(text)) == ([b'{"a": 1}\n', b'{"a": 2}\n'], False)
    big = b"".join(f'{{"a": {i}}}\n'.encode() for i in range(20000))
    lines, truncated = archive_lines(gzip.compress(big)[:-5000])
    assert truncated and 0 < len(lines) < 20000
    assert b"".join(lines[:-1]) == big[:len(b"".join(lines[:-1]))]


def _archive(s3_server) -> tuple[str, dict[str, list[bytes]]]:
    """A bucket laid out like openaq-fetches/realtime-gzipped: two gzip files a day for three days."""
    bucket = f"openaq-{uuid.uuid4().hex[:8]}"
    client = s3_server.client("us-east-1")
    client.create_bucket(Bucket=bucket)
    # Public like the real archive: anyone may list it and read its files.
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
    ]}))
    generator = SyntheticOpenAQ(seed=3, station_count=80, object_bytes=60_000)
    files: dict[str, list[bytes]] = {}
    for day_index, day in enumerate(("2020-06-01", "2020-06-02", "2020-06-03")):
        for part in range(2):
            data = generator.object_bytes_for(day_index * 2 + part)
            key = f"realtime-gzipped/{day}/{1591000000 + day_index * 86400 + part}.ndjson"
            client.put_object(Bucket=bucket, Key=key, Body=gzip.compress(data))
            files[key] = archive_lines(data)[0]
    return bucket, files


class _CountingClient:
    def __init__(self, client):
        self.client, self.gets = client, 0

    def get_object(self, **kwargs):
        self.gets += 1
        return self.client.get_object(**kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


@pytest.mark.integration
def test_an_archive_date_range_is_imported_into_objects_and_cached(s3_server, tmp_path):
    bucket, files = _archive(s3_server)
    client = _CountingClient(s3_server.client("us-east-1"))
    common = {"bucket": bucket, "endpoint_url": s3_server.endpoint, "object_mb": 0.05, "cache_dir": tmp_path,
              "progress": False, "start_date": "2020-06-01", "end_date": "2020-06-02"}
    source = openaq_source(client=client, **common)
    expected = b"".join(line for key in sorted(files) if "2020-06-03" not in key for line in files[key])
    objects = [obj.load() for obj in source.objects]
    assert b"".join(objects) == expected
    assert all(len(obj) <= 50_000 for obj in objects) and len(objects) >= 5
    assert client.gets == 4  # two days of two files; the third day is outside the range
    again = openaq_source(client=client, **common)
    assert client.gets == 4 and again.fingerprint == source.fingerprint  # served from the cache
    smaller = openaq_source(client=client, data_size_gb=0.0001, **common)
    assert client.gets == 4
    assert [o.load() for o in smaller.objects] == objects[:len(smaller.objects)] and smaller.fingerprint != \
        source.fingerprint
    # Unsigned requests through the endpoint, as the public archive is read.
    unsigned = openaq_source(**{**common, "cache_dir": tmp_path / "other"})
    assert [o.load() for o in unsigned.objects] == objects
    with pytest.raises(DatasetError, match="has no files from 2021-01-01 to 2021-01-02"):
        openaq_source(**{**common, "start_date": "2021-01-01", "end_date": "2021-01-02"})


@pytest.mark.integration
def test_a_study_run_on_the_imported_archive_matches_the_reference_kernel(compose, s3_server, tmp_path):
    bucket, files = _archive(s3_server)
    result = run_study(compose(
        "dataset=openaq", f"dataset.bucket={bucket}", f"dataset.endpoint_url={s3_server.endpoint}",
        "dataset.start_date=2020-06-02", "dataset.end_date=2020-06-03", "dataset.object_mb=0.05",
        f"dataset.cache_dir={tmp_path / 'cache'}", "data_size=null", "workers=2", "progress=false",
    ))
    assert result.status == "FINISHED", result.error
    lines = [line for key in sorted(files) if "2020-06-01" not in key for line in files[key]]
    expected = finalize(kernel.partial_from_lines(lines).table, analysis="day_average")
    assert result.tags["result_sha256"] == result_sha256(expected)
    assert result.metrics["records"] == len(lines)
