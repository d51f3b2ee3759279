"""Database access: SQL files from include/sql/, connections, and the schemas.

The library works on psycopg 3 connections that callers pass in; `connect_airflow` builds
one from an Airflow connection at run time, inside a task.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from governance import settings

if TYPE_CHECKING:
    import psycopg

SCHEMA_FILES = ("schema/app.sql", "schema/governance.sql")


@cache
def sql_text(name: str) -> str:
    """The text of include/sql/NAME (NAME like 'ledger/append.sql')."""
    path = settings.sql_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return path.read_text()


def apply_schemas(conn: psycopg.Connection) -> None:
    """Create or update the reference schema (app) and the governance schema; idempotent."""
    with conn.transaction():
        # Serialise concurrent appliers: CREATE ... IF NOT EXISTS is not race-free.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('governance.apply_schemas'))")
        for name in SCHEMA_FILES:
            conn.execute(sql_text(name))


def conninfo_from_airflow(conn_id: str) -> str:
    """A libpq conninfo for an Airflow connection (host, port, login, password, schema)."""
    from airflow.sdk import Connection
    from psycopg.conninfo import make_conninfo

    airflow_conn = Connection.get(conn_id)
    params = {
        "host": airflow_conn.host or "127.0.0.1",
        "port": airflow_conn.port or 5432,
        "user": airflow_conn.login,
        "password": airflow_conn.password,
        "dbname": airflow_conn.schema,
        "application_name": "governance",
    }
    extra = airflow_conn.extra_dejson
    for key in ("sslmode", "sslrootcert", "connect_timeout", "options"):
        if key in extra:
            params[key] = extra[key]
    return make_conninfo(**{key: value for key, value in params.items() if value not in (None, "")})


def connect_airflow(conn_id: str = settings.APP_DB_CONN_ID, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection for a task; autocommit, so every unit of work commits in its own transaction block."""
    import psycopg

    return psycopg.connect(conninfo_from_airflow(conn_id), autocommit=autocommit)
