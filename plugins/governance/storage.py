"""S3 access outside Airflow (the local stack, tests, benchmarks), and helpers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

DELETE_OBJECTS_MAX_KEYS = 1000  # the S3 API's limit per DeleteObjects call


def client_from_env(config: Any = None) -> Any:
    """A boto3 S3 client for S3_ENDPOINT_URL (the local stack) or AWS's default chain."""
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None, config=config)


def list_keys(s3: Any, bucket: str, prefix: str = "") -> Iterator[str]:
    """Every object key in a bucket under prefix, page by page."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
