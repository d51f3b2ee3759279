"""audit_ledger_verification, run as a user runs it, against a real ledger."""

import json

import psycopg
import pytest

from governance import ledger
from tests.dags.conftest import airflow_dags_test
from tests.factories import CUTOFF

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def append_entries(db_url: str, count: int) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        for index in range(count):
            ledger.append(conn, ledger.LedgerEntry(workflow="retention_purge", action="purge_completed",
                                                   run_id=f"run-{index}", counts={"rows_deleted": index}))


def tamper(db_url: str, statement: str) -> None:
    """Change the ledger the way only a superuser bypassing the triggers could."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(statement)


def test_intact_ledger_passes_and_its_head_becomes_an_anchor(airflow_env, db_url, conn, s3, buckets):
    """An intact chain verifies, the report is indexed, and its head is recorded for the next check, whose report
    names this one, with when it was written, as the report that recorded the head it checked against."""
    from governance.reports import readable_time

    append_entries(db_url, 5)
    result = airflow_dags_test(airflow_env, "audit_ledger_verification", CUTOFF.isoformat())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    first = conn.execute("SELECT report_id, object_key, created_at, summary FROM governance.report_index"
                         " WHERE object_key LIKE '%.json'").fetchone()
    assert first[3]["status"] == "ok"
    assert first[3]["ledger_head"]["seq"] == 5
    append_entries(db_url, 1)
    assert airflow_dags_test(airflow_env, "audit_ledger_verification", CUTOFF.isoformat()).returncode == 0
    conn.rollback()
    html_key = conn.execute("SELECT object_key FROM governance.report_index WHERE object_key LIKE '%.html'"
                            " ORDER BY report_id DESC LIMIT 1").fetchone()[0]
    html = s3.get_object(Bucket=buckets.reports, Key=html_key)["Body"].read().decode()
    assert html.index('class="summary"') < html.index("<dl>")
    assert "It matched 1 verified head kept outside the database, recorded by 2 reports" in html
    assert (f"audit_ledger_verification, report {first[0]} <code>{first[1]}</code>, written "
            f"{readable_time(first[2])}") in html


def test_deleting_the_newest_entries_after_a_report_is_caught_by_its_anchor(airflow_env, db_url, conn, s3, buckets):
    """Once a report recorded head #5, removing entries 4 and 5 fails the next check, naming the entry."""
    append_entries(db_url, 5)
    assert airflow_dags_test(airflow_env, "audit_ledger_verification", CUTOFF.isoformat()).returncode == 0
    tamper(db_url, "DELETE FROM governance.audit_ledger WHERE seq >= 4")
    result = airflow_dags_test(airflow_env, "audit_ledger_verification", CUTOFF.isoformat())
    assert result.returncode != 0
    assert "audit ledger broken at seq 4" in result.stdout + result.stderr
    conn.rollback()
    key = conn.execute("SELECT object_key FROM governance.report_index WHERE summary->>'status' = 'failed'"
                       " AND object_key LIKE '%.json'").fetchone()[0]
    document = json.loads(s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read())
    assert document["first_broken_seq"] == 4
    assert document["reason"].startswith("row missing")


def test_a_broken_policy_file_fails_the_verification_run_loudly_naming_the_rule(airflow_env, tmp_path):
    """A bad retention.yaml makes retention_purge an import error, so it never runs and raises no alert. The
    verification workflow parses no policy at import time: its policy_files task fails, naming file, rule and
    key, and the failure alert fires."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    include = tmp_path / "include"
    shutil.copytree(root / "include", include)
    policy = include / "policy" / "retention.yaml"
    policy.write_text(policy.read_text().replace("period: P13M", "period: P99999Y", 1))
    result = airflow_dags_test({**airflow_env, "GOVERNANCE_INCLUDE_DIR": str(include)}, "audit_ledger_verification",
                               CUTOFF.isoformat())
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "rules[5] (sessions).period: 'P99999Y' is longer than P100Y" in output
    assert "GOVERNANCE ALERT audit_ledger_verification.policy_files failed" in output
