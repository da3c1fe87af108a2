"""The boto3 adapter for S3: buckets in a chosen region, checksummed multipart uploads, reads by key.

Credentials come only from boto3's standard chain (environment, shared profile, instance or task role);
nothing here accepts or stores a key. ``endpoint_url`` points the client at any S3-compatible server
(a local moto server in the tests, MinIO, …); ``None`` means AWS itself (or ``AWS_ENDPOINT_URL_S3``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: The one region whose buckets are created without a LocationConstraint (AWS rejects one naming it).
US_EAST_1 = "us-east-1"
#: Object metadata key holding the sha256 of an object's bytes, so an identical upload can be skipped.
SHA256_METADATA = "sha256"
#: Bucket names AWS accepts: 3–63 characters, lowercase letters, digits, dots and hyphens.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MB = 1024 * 1024


class AwsSetupError(RuntimeError):
    """The AWS side of a run cannot be set up; the message names the cause and the fix."""


def check_bucket_name(name: str, *, setting: str = "storage.bucket") -> str:
    """``name`` if AWS accepts it as a bucket name, else an error saying what to pass."""
    if not isinstance(name, str) or not _BUCKET_NAME.match(name) or ".." in name:
        raise AwsSetupError(
            f"{setting}={name!r} is not a valid S3 bucket name; pass 3–63 lowercase letters, digits, dots or "
            "hyphens, e.g. alice-aq-study-eu-west-1 (bucket names are global on AWS: prefix them with your own)"
        )
    return name


def location_constraint(region: str) -> dict:
    """``create_bucket`` arguments placing a bucket in ``region`` (us-east-1 takes no LocationConstraint)."""
    if region == US_EAST_1:
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}


def region_of_location(constraint: str | None) -> str:
    """The region named by ``get_bucket_location``'s answer (empty means us-east-1, ``EU`` eu-west-1)."""
    if not constraint:
        return US_EAST_1
    return "eu-west-1" if constraint == "EU" else constraint


def require_credentials(session=None) -> None:
    """Refuse to go on when the standard AWS chain finds no credentials (checked, never read or kept)."""
    import boto3

    if (session or boto3.session.Session()).get_credentials() is None:
        raise AwsSetupError(
            "no AWS credentials found; set AWS_PROFILE (a profile in ~/.aws/credentials) or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY in the environment (any non-empty values for a local S3-compatible server)"
        )


def s3_client(*, region: str, endpoint_url: str | None = None, unsigned: bool = False, max_pool: int = 32):
    """A boto3 S3 client for ``region`` with credentials from the standard chain.

    :param region: the region the client signs for (the bucket's region avoids a redirect per request).
    :param endpoint_url: an S3-compatible endpoint; ``None`` = AWS (or ``AWS_ENDPOINT_URL_S3``).
    :param unsigned: anonymous requests, for public buckets such as the OpenAQ archive.
    :param max_pool: HTTP connections kept open (parallel multipart parts need several).
    """
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session()
    if not unsigned:
        require_credentials(session)
    config = Config(
        region_name=region,
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=max_pool,
        **({"signature_version": UNSIGNED} if unsigned else {}),
    )
    return session.client("s3", region_name=region, endpoint_url=endpoint_url or None, config=config)


def _error_code(error) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def ensure_bucket(client, *, bucket: str, region: str) -> bool:
    """Make sure ``bucket`` exists in ``region``; create it there when missing.

    :return: True when the bucket was created now, False when it was there already.
    :raises AwsSetupError: the bucket is in another region or belongs to someone else.
    """
    from botocore.exceptions import ClientError

    check_bucket_name(bucket)
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if _status(error) == 403:
            raise AwsSetupError(
                f"bucket {bucket!r} exists but these credentials may not use it (bucket names are global on AWS); "
                "pass storage.bucket=<a name of your own>"
            ) from None
        if _status(error) != 404 and _error_code(error) not in ("404", "NoSuchBucket"):
            raise
        try:
            client.create_bucket(Bucket=bucket, **location_constraint(region))
        except ClientError as create_error:
            if _error_code(create_error) != "BucketAlreadyOwnedByYou":  # another run created it a moment ago
                raise
        log.info("created bucket %s in %s", bucket, region)
        return True
    actual = bucket_region_of(client, bucket=bucket)
    if actual != region:
        raise AwsSetupError(
            f"bucket {bucket!r} is in {actual}, not in bucket_region={region}; pass bucket_region={actual} or "
            f"storage.bucket=<another name> so the data sits where the run says it does"
        )
    return False


def bucket_region_of(client, *, bucket: str) -> str:
    """The region ``bucket`` was created in."""
    return region_of_location(client.get_bucket_location(Bucket=bucket).get("LocationConstraint"))


@dataclass
class UploadStats:
    """What a store did: objects and bytes uploaded, and those skipped because identical copies were there."""

    uploaded: int = 0
    uploaded_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    multipart: int = 0
    keys: list[str] = field(default_factory=list)


class S3ObjectStore:
    """An :class:`aqstudy.data.staging.ObjectStore` over boto3: multipart uploads, identical objects skipped.

    :param client: a boto3 S3 client (see :func:`s3_client`).
    :param bucket: the bucket (see :func:`ensure_bucket`).
    :param multipart_mb: objects above this many MiB go up in parts of this size, several at once.
    :param max_concurrency: parts uploaded at once.
    """

    def __init__(self, client, bucket: str, *, multipart_mb: float = 8, max_concurrency: int = 8):
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.bucket = bucket
        self.multipart_bytes = max(5 * _MB, int(multipart_mb * _MB))  # S3's smallest part is 5 MiB
        self.transfer = TransferConfig(multipart_threshold=self.multipart_bytes,
                                       multipart_chunksize=self.multipart_bytes, max_concurrency=max_concurrency)
        self.stats = UploadStats()

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _status(error) == 404 or _error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if _status(error) == 404 or _error_code(error) in ("NoSuchKey", "404"):
                return None
            raise

    def size(self, key: str) -> int | None:
        head = self._head(key)
        return None if head is None else int(head["ContentLength"])

    def put(self, key: str, data: bytes, progress: Callable[[int], None] | None = None) -> bool:
        """Upload ``data`` under ``key`` unless an object with the same sha256 and size is there.

        :param progress: called with each number of bytes sent (and once with the whole size when skipped).
        :return: True when uploaded, False when an identical object was kept.
        """
        digest = hashlib.sha256(data).hexdigest()
        head = self._head(key)
        if head is not None and head.get("Metadata", {}).get(SHA256_METADATA) == digest \
                and int(head["ContentLength"]) == len(data):
            self.stats.skipped += 1
            self.stats.skipped_bytes += len(data)
            if progress:
                progress(len(data))
            return False
        self.client.upload_fileobj(io.BytesIO(data), self.bucket, key,
                                   ExtraArgs={"Metadata": {SHA256_METADATA: digest}},
                                   Config=self.transfer, Callback=progress)
        self.stats.uploaded += 1
        self.stats.uploaded_bytes += len(data)
        self.stats.multipart += int(len(data) >= self.multipart_bytes)
        self.stats.keys.append(key)
        return True


def open_store(*, bucket: str, region: str, endpoint_url: str | None = None, multipart_mb: float = 8) -> S3ObjectStore:
    """An :class:`S3ObjectStore` on ``bucket`` in ``region``, the bucket created there when missing."""
    client = s3_client(region=region, endpoint_url=endpoint_url)
    ensure_bucket(client, bucket=bucket, region=region)
    return S3ObjectStore(client, bucket, multipart_mb=multipart_mb)
