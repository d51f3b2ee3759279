"""The application database and S3, through the Airflow providers' hooks.

The hooks apply what users set on their connections: SSL client certificates, IAM tokens,
keepalives, assumed roles, endpoint URLs. Opened inside tasks only, never at parse time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from governance import settings

if TYPE_CHECKING:
    import psycopg


def app_database(conn_id: str = settings.APP_DB_CONN_ID) -> psycopg.Connection:
    """An autocommit psycopg 3 connection to the application database (every unit of work commits on its own)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from psycopg.rows import tuple_row

    conn = PostgresHook(postgres_conn_id=conn_id).get_conn()
    conn.autocommit = True
    conn.row_factory = tuple_row  # whatever cursor a connection's extra asks for: the library reads tuples
    return conn


def view_database() -> psycopg.Connection:
    """The Governance view's connection (its own role, governance_steward: it may place legal holds)."""
    return app_database(settings.VIEW_DB_CONN_ID)


def s3_client(conn_id: str = settings.AWS_CONN_ID) -> Any:
    """A boto3 S3 client from an Airflow AWS connection (endpoint_url in its extra)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    return S3Hook(aws_conn_id=conn_id).get_conn()


def presigning_s3_client(conn_id: str = settings.AWS_CONN_ID) -> Any:
    """A boto3 S3 client that presigns with Signature Version 4, whose links expire after at most 7 days
    (botocore would otherwise presign some endpoints with the deprecated version 2)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.config import Config

    return S3Hook(aws_conn_id=conn_id, config=Config(signature_version="s3v4")).get_conn()


def arrow_s3(conn_id: str = settings.AWS_CONN_ID) -> Any:
    """A pyarrow S3FileSystem with the credentials, region and endpoint of the Airflow AWS connection
    (pyarrow reads S3 natively; DuckDB's S3 support would download an extension at run time)."""
    from urllib.parse import urlsplit

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from pyarrow import fs

    hook = S3Hook(aws_conn_id=conn_id)
    credentials = hook.get_credentials()
    options: dict[str, Any] = {"region": hook.conn_config.region_name or "us-east-1"}
    endpoint = hook.conn_config.get_service_endpoint_url("s3")
    if endpoint:
        parts = urlsplit(endpoint)
        options.update(endpoint_override=parts.netloc, scheme=parts.scheme)
    return fs.S3FileSystem(access_key=credentials.access_key, secret_key=credentials.secret_key,
                           session_token=credentials.token, **options)
