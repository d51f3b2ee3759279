"""Policy against the live database: broken rules are named before anything runs."""

import pytest

from governance.policy import load_retention_policy, missing_columns

pytestmark = pytest.mark.integration


def test_shipped_policy_matches_the_reference_database(conn):
    """Every table and column the shipped rules name exists in the reference schema."""
    assert missing_columns(load_retention_policy().model, conn) == {}


def test_missing_table_and_column_are_named_per_rule(conn):
    """A dropped column or table is reported against exactly the rules that use it."""
    conn.execute("ALTER TABLE app.sessions DROP COLUMN created_at")
    conn.execute("DROP TABLE app.cookie_consents")
    problems = missing_columns(load_retention_policy().model, conn)
    assert problems == {
        "sessions": ["column app.sessions.created_at does not exist"],
        "deleted_accounts": ["table app.cookie_consents does not exist"],
    }
