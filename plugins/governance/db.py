"""SQL files from include/sql/, and the schemas.

The library works on psycopg 3 connections that callers pass in (autocommit, so that every
unit of work commits in its own transaction block). Inside Airflow they come from the
Postgres provider's hook (governance.airflow.connections).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from governance import settings

if TYPE_CHECKING:
    import psycopg

# In order: the reference schema, the governance schema, the group roles, their grants.
SCHEMA_FILES = ("schema/app.sql", "schema/governance.sql", "schema/roles.sql", "schema/grants.sql")


@cache
def sql_text(name: str) -> str:
    """The text of include/sql/NAME (NAME like 'ledger/append.sql')."""
    path = settings.sql_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"SQL file not found: {path}")
    return path.read_text()


def apply_schemas(conn: psycopg.Connection) -> None:
    """Create or update the reference schema (app), the governance schema and its roles; idempotent."""
    with conn.transaction():
        # Serialise concurrent appliers: CREATE ... IF NOT EXISTS is not race-free.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('governance.apply_schemas'))")
        for name in SCHEMA_FILES:
            conn.execute(sql_text(name))
