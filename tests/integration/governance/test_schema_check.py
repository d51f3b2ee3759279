"""Policy against the live database: broken rules are named before anything runs."""

import pytest

from governance.policy import load_retention_policy
from governance.schema_check import rule_problems

pytestmark = pytest.mark.integration


def test_shipped_policy_matches_the_reference_database(conn):
    """Every table and column the shipped rules name exists in the reference schema, and every
    pseudonymise step can run."""
    assert rule_problems(load_retention_policy().model, conn) == {}


def test_missing_table_and_column_are_named_per_rule(conn):
    """A dropped column or table is reported against exactly the rules that use it."""
    conn.execute("ALTER TABLE app.sessions DROP COLUMN created_at")
    conn.execute("DROP TABLE app.cookie_consents")
    problems = rule_problems(load_retention_policy().model, conn)
    assert problems == {
        "sessions": ["column app.sessions.created_at does not exist"],
        "deleted_accounts": ["table app.cookie_consents does not exist"],
    }


def test_a_pseudonymise_step_that_cannot_run_is_named_before_anything_is_deleted(conn):
    """An id column that may not be NULL, or a pseudonym column too short or not text, would make the
    erasure fail halfway (after media is gone, with the failing row in the error): it is refused up front."""
    conn.execute("ALTER TABLE app.payments ALTER COLUMN user_id SET NOT NULL")
    conn.execute("ALTER TABLE app.moderation_events ALTER COLUMN user_pseudonym TYPE varchar(32)")
    conn.execute("ALTER TABLE app.disclosures ALTER COLUMN user_pseudonym TYPE bigint USING NULL")
    problems = rule_problems(load_retention_policy().model, conn)
    assert problems == {"deleted_accounts": [
        "column app.payments.user_id is NOT NULL, so it cannot be cleared when the row is pseudonymised",
        "column app.moderation_events.user_pseudonym cannot hold a pseudonym of 64 characters",
        "column app.disclosures.user_pseudonym cannot hold a pseudonym of 64 characters",
    ]}


def test_columns_the_role_may_not_read_are_still_found(conn, workflow_url):
    """The check reads the catalog, so a column is not reported missing just because the role has no grant on it."""
    import psycopg

    from governance.schema_check import existing_columns

    conn.execute("REVOKE ALL ON app.disclosures FROM governance_workflow")
    conn.commit()
    with psycopg.connect(workflow_url) as limited:
        assert "user_id" in existing_columns(limited, "app")["disclosures"]


def test_a_column_of_a_domain_type_is_judged_by_the_domains_base_type(conn):
    """A pseudonym column whose type is a domain over varchar(32) is too short, like varchar(32) itself."""
    conn.execute("CREATE DOMAIN app.short_text AS varchar(32)")
    conn.execute("ALTER TABLE app.payments ALTER COLUMN user_pseudonym TYPE app.short_text")
    problems = rule_problems(load_retention_policy().model, conn)
    assert problems == {"deleted_accounts": [
        "column app.payments.user_pseudonym cannot hold a pseudonym of 64 characters"]}
