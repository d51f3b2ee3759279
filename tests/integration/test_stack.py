"""The local stack: what `make services` promises a user."""

import pytest

from scripts import stack

pytestmark = pytest.mark.integration

REFERENCE_TABLES = {
    "users", "sessions", "usage_events", "cookie_consents", "generations",
    "uploads", "moderation_events", "payments", "disclosures",
}


def test_reference_database_has_the_nine_tables(conn):
    """The app schema holds exactly the nine tables the design names."""
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'app'").fetchall()
    assert {name for (name,) in rows} == REFERENCE_TABLES


def test_schemas_apply_twice_without_error(conn):
    """Applying the schemas again (a rerun of make services) changes nothing and does not fail."""
    from governance.db import apply_schemas

    before = conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema IN ('app','governance')")
    apply_schemas(conn)
    after = conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema IN ('app','governance')")
    assert before.fetchone() == after.fetchone()


def test_archive_bucket_enforces_object_lock(stack_env, s3):
    """The archive bucket that `up` creates has Object Lock on, so WORM retention can be applied."""
    config = s3.get_object_lock_configuration(Bucket=stack_env["ARCHIVE_BUCKET"])
    assert config["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert s3.get_bucket_versioning(Bucket=stack_env["ARCHIVE_BUCKET"])["Status"] == "Enabled"


def test_up_is_idempotent_and_env_file_lists_the_interface(stack_env):
    """Running up again is safe, and .local/env.sh exports every variable DESIGN.md promises."""
    stack.up()
    text = stack.ENV_FILE.read_text()
    for name in (
        "PATH", "AIRFLOW_HOME", "AIRFLOW_CONN_APP_DB", "AIRFLOW_CONN_AWS_DEFAULT", "APP_DB_URL",
        "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
        "MEDIA_BUCKET", "ARCHIVE_BUCKET", "REPORTS_BUCKET",
    ):
        assert f"export {name}=" in text, name
    assert stack.status() == 0
