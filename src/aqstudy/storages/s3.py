"""Amazon S3, or any S3-compatible server through ``storage.endpoint_url``.

The dataset is staged into ``storage.bucket`` in ``bucket_region``; Lithops keeps its job files and results in
``storage.lithops_bucket`` in the compute ``region``. Credentials come only from the standard AWS chain. The
boto3 adapter itself is :mod:`aqstudy.storages.s3_client`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import MISSING

from aqstudy.config import ConfigError
from aqstudy.config.schema import StorageConfig
from aqstudy.storages.base import Storage

# ruff: noqa: UP045  (OmegaConf reads Optional[...] at runtime)

#: Environment variable botocore reads for the S3 endpoint (service-specific, so STS and Lambda stay on AWS).
#: Lithops' ``aws_s3`` storage has no endpoint setting; every boto3 client it makes honours this variable.
ENDPOINT_ENV = "AWS_ENDPOINT_URL_S3"


@dataclass
class S3StorageConfig(StorageConfig):
    """``conf/storage/s3.yaml``."""

    prefix: str = MISSING
    lithops_bucket: str = MISSING
    endpoint_url: Optional[str] = MISSING
    multipart_mb: float = MISSING


class S3Storage(Storage):
    name = "s3"
    lithops_name = "aws_s3"

    def check(self, cfg: Any) -> None:
        from aqstudy.storages.s3_client import AwsSetupError, check_bucket_name, require_credentials

        storage = cfg.storage
        try:
            check_bucket_name(storage.bucket, setting="storage.bucket")
            check_bucket_name(storage.lithops_bucket, setting="storage.lithops_bucket")
        except AwsSetupError as error:
            raise ConfigError(str(error)) from None
        if storage.lithops_bucket == storage.bucket and cfg.region != cfg.bucket_region:
            raise ConfigError("storage.lithops_bucket is the dataset's bucket, which sits in bucket_region; "
                              "Lithops' job files belong in the compute region: pass another storage.lithops_bucket")
        endpoint = storage.endpoint_url
        if endpoint and not str(endpoint).startswith(("http://", "https://")):
            raise ConfigError(f"storage.endpoint_url={endpoint!r} is not a URL; pass http://HOST:PORT or "
                              "https://HOST, or null for AWS")
        try:
            require_credentials()
        except AwsSetupError as error:
            raise ConfigError(str(error)) from None

    def lithops_sections(self, cfg: Any) -> dict[str, dict]:
        # Lithops' own job files and results live in the compute region; only the dataset sits in bucket_region.
        return {"aws": {"region": cfg.region},
                "aws_s3": {"region": cfg.region, "storage_bucket": cfg.storage.lithops_bucket}}

    def endpoint_environment(self, storage: Any) -> dict[str, str]:
        """Point every boto3 S3 client (host and workers) at ``storage.endpoint_url``, when set."""
        return {ENDPOINT_ENV: str(storage.endpoint_url)} if storage.endpoint_url else {}

    def open_object_store(self, cfg: Any, lithops_config: dict):
        """The dataset's bucket through boto3, created in ``bucket_region`` when missing (and Lithops' bucket in
        ``region``); a bucket found in another region is refused rather than silently used."""
        from aqstudy.storages.s3_client import ensure_bucket, open_store, s3_client

        storage = cfg.storage
        store = open_store(bucket=storage.bucket, region=cfg.bucket_region, endpoint_url=storage.endpoint_url,
                           multipart_mb=float(storage.multipart_mb))
        if storage.lithops_bucket != storage.bucket:
            ensure_bucket(s3_client(region=cfg.region, endpoint_url=storage.endpoint_url),
                          bucket=storage.lithops_bucket, region=cfg.region)
        return store

    def run_tags(self, cfg: Any) -> dict[str, str]:
        return {"lithops_bucket": cfg.storage.lithops_bucket, "s3_endpoint": cfg.storage.endpoint_url or "aws"}


SCHEMA = S3StorageConfig
STORAGE = S3Storage()
