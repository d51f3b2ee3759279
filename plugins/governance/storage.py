"""S3 access: a client built from an Airflow connection or the environment, and helpers."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from governance import settings

DELETE_OBJECTS_MAX_KEYS = 1000  # the S3 API's limit per DeleteObjects call


def client_from_env() -> Any:
    """A boto3 S3 client for S3_ENDPOINT_URL (the local stack) or AWS's default chain."""
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None)


def client_from_airflow(conn_id: str = settings.AWS_CONN_ID) -> Any:
    """A boto3 S3 client from an Airflow AWS connection (endpoint_url in its extra)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=conn_id).get_conn()


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
