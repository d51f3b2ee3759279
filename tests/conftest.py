"""Shared fixtures: the real PostgreSQL and S3 server, an isolated database per test.

The stack is started when it is not running (scripts/stack.py up is idempotent). Each test
that asks for `db_url` gets its own database, cloned from a template that already holds
the app and governance schemas, and dropped afterwards; `workflow_url` reaches the same
database as the workflows' least-privileged role. Each test that asks for `buckets` gets
its own media, reports (Object Lock, for the ledger's anchors), archive and exports buckets.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from scripts import stack

TEMPLATE_DB = "governance_test_template"
LEDGER_KEY = "test-ledger-key-that-is-long-enough-000"
PSEUDONYM_KEY = "test-pseudonym-key-of-at-least-32-chars"


@pytest.fixture(scope="session")
def stack_env() -> dict[str, str]:
    """Start PostgreSQL and the S3 server if needed; export their settings to this process."""
    stack.up()
    env = stack.environment(stack.SETTINGS)
    # The tests' own keys, not the local stack's key files.
    env.pop("GOVERNANCE_LEDGER_KEY_FILE")
    env.pop("GOVERNANCE_PSEUDONYM_KEY_FILE")
    env.update(GOVERNANCE_LEDGER_KEY=LEDGER_KEY, GOVERNANCE_PSEUDONYM_KEY=PSEUDONYM_KEY)
    os.environ.update(env)
    for name in ("GOVERNANCE_LEDGER_KEY_FILE", "GOVERNANCE_PSEUDONYM_KEY_FILE"):
        os.environ.pop(name, None)
    return env


@pytest.fixture(scope="session")
def template_database(stack_env) -> str:
    """A database with both schemas applied, cloned for every test (fast: a file copy)."""
    import psycopg

    from governance.db import apply_schemas

    with psycopg.connect(stack.create_database(TEMPLATE_DB, replace=True)) as conn:
        apply_schemas(conn)
    return TEMPLATE_DB


@pytest.fixture
def db_url(template_database, monkeypatch) -> Iterator[str]:
    """A libpq URL of a fresh database of this test's own; also exported as APP_DB_URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = stack.create_database(name, template=template_database)
    monkeypatch.setenv("APP_DB_URL", url)
    monkeypatch.setenv("AIRFLOW_CONN_APP_DB", url.replace("postgres@", f"{stack.WORKFLOW_ROLE}@", 1))
    yield url
    stack.drop_database(name)


@pytest.fixture(params=["plain", "partitioned"])
def shape(request, conn) -> str:
    """This test's database in each shape of the reference database: plain tables, or sessions, usage_events and
    moderation_events range-partitioned by month on created_at with the key (id, created_at), as make seed
    PARTITIONED=1 makes them: a partition for each month of the three years before CUTOFF, the rows of other months
    in the DEFAULT one. A seed makes the shape it is asked for again."""
    from dateutil.relativedelta import relativedelta

    from tests.factories import CUTOFF, partition_by_month

    if request.param == "partitioned":
        partition_by_month(conn, since=CUTOFF - relativedelta(years=3))
        conn.commit()
    return request.param


@pytest.fixture
def workflow_url(db_url) -> str:
    """This test's database as the workflows reach it: the least-privileged governance_workflow role."""
    return db_url.replace("postgres@", f"{stack.WORKFLOW_ROLE}@", 1)


@pytest.fixture
def conn(db_url):
    """A psycopg connection to this test's database."""
    import psycopg

    with psycopg.connect(db_url) as connection:
        yield connection


@pytest.fixture(scope="session")
def s3(stack_env):
    """A boto3 S3 client for the local S3 server (built the way the library builds one)."""
    from governance.storage import client_from_env

    return client_from_env()


def wait_for(predicate, what: str, timeout: float = 60) -> None:
    """Poll `predicate` until it holds (a worker reached the step a test kills it at), or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"never saw {what}")


def arrow_filesystem(stack_env):
    """A pyarrow S3FileSystem for the local S3 server (as connections.arrow_s3 builds one from Airflow's)."""
    from urllib.parse import urlsplit

    from pyarrow import fs

    endpoint = urlsplit(stack_env["S3_ENDPOINT_URL"])
    return fs.S3FileSystem(access_key=stack_env["AWS_ACCESS_KEY_ID"], secret_key=stack_env["AWS_SECRET_ACCESS_KEY"],
                           region=stack_env["AWS_DEFAULT_REGION"], endpoint_override=endpoint.netloc,
                           scheme=endpoint.scheme)


@dataclass(frozen=True)
class Buckets:
    media: str
    reports: str
    archive: str
    exports: str


@pytest.fixture
def buckets(s3, monkeypatch) -> Buckets:
    """Media, reports and archive (Object Lock) buckets of this test's own, exported as env."""
    suffix = uuid.uuid4().hex[:10]
    made = Buckets(media=f"media-{suffix}", reports=f"reports-{suffix}", archive=f"archive-{suffix}",
                   exports=f"exports-{suffix}")
    s3.create_bucket(Bucket=made.media)
    s3.create_bucket(Bucket=made.reports, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=made.archive, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=made.exports)
    s3.put_bucket_versioning(Bucket=made.exports, VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setenv("MEDIA_BUCKET", made.media)
    monkeypatch.setenv("REPORTS_BUCKET", made.reports)
    monkeypatch.setenv("ARCHIVE_BUCKET", made.archive)
    monkeypatch.setenv("EXPORTS_BUCKET", made.exports)
    return made


@pytest.fixture
def data(conn, s3, buckets):
    """Insert reference rows (and their media objects) with exactly the timestamps a test needs."""
    from tests.factories import Data

    return Data(conn, s3, buckets.media)
