"""data_quality_remediation's core against the real PostgreSQL: raw values in hash columns are hashed in place,
in the database, once; the rest is left to the purge or to a person."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import psycopg
import pytest
from dateutil.relativedelta import relativedelta

from governance import ledger
from governance.data_map import load_data_map
from governance.policy import load_retention_policy
from governance.quality_remediation import UnknownFinding, remediate
from tests.conftest import LEDGER_KEY
from tests.factories import CUTOFF
from tests.integration.governance.test_quality import run_suite

pytestmark = pytest.mark.integration
RAW_PROMPT = "an otter reading a newspaper, my words"
RAW_IP = "2001:db8::42"


def failed(outcome, check, table):
    return next(r for r in outcome.results if r.check == check and r.batch.table == table and not r.success)


def test_raw_values_in_hash_columns_are_hashed_in_place_once_and_the_rest_is_left_alone(shape, data, conn, s3,
                                                                                            buckets, workflow_url):
    """On both shapes: a finding on the partitioned sessions names its rows by (session_id, created_at), and the
    remediation finds them by that key."""
    person = data.user()
    generation = data.generation(person)
    data.conn.execute("UPDATE app.generations SET prompt_hash = %s WHERE generation_id = %s", (RAW_PROMPT, generation))
    session = data.session(person, created_at=CUTOFF - timedelta(days=3))
    data.conn.execute("UPDATE app.sessions SET ip_hash = %s WHERE session_id = %s", (RAW_IP, session))
    data.session(person, created_at=CUTOFF - relativedelta(years=2))  # overdue: the purge's
    data.commit()
    prompts = run_suite(workflow_url, s3, buckets, "no_raw_prompts")
    ips = run_suite(workflow_url, s3, buckets, "hashed_ips")
    retention = run_suite(workflow_url, s3, buckets, "retention_compliance")
    prompt_finding = failed(prompts, "prompt hash is a SHA-256", "app.generations").result_id
    ip_finding = failed(ips, "IP hash is a SHA-256", "app.sessions").result_id
    ip_in_text = failed(ips, "no IP address stored", "app.sessions").result_id
    overdue = failed(retention, "nothing kept past its retention period", "app.sessions").result_id
    data_map = load_data_map(retention=load_retention_policy()).model

    with psycopg.connect(workflow_url, autocommit=True) as wf:
        preview = remediate(wf, data_map, prompt_finding, dry_run=True, run_id="r-1")
        assert (preview.action, preview.rows) == ("hashed_in_place", 1)
        assert conn.execute("SELECT prompt_hash FROM app.generations WHERE generation_id = %s",
                            (generation,)).fetchone()[0].strip() == RAW_PROMPT  # a preview changes nothing
        conn.rollback()
        done = [remediate(wf, data_map, finding, dry_run=False, run_id="r-2")
                for finding in (prompt_finding, ip_finding, ip_in_text, overdue)]
        again = remediate(wf, data_map, prompt_finding, dry_run=False, run_id="r-3")
        with pytest.raises(UnknownFinding, match="finding 999999"):
            remediate(wf, data_map, 999_999, dry_run=False, run_id="r-4")

    assert [(d.action, d.rows) for d in done] == [("hashed_in_place", 1), ("hashed_in_place", 1),
                                                   ("not_automatic", 0), ("left_to_the_purge", 0)]
    assert again.rows == 0
    conn.rollback()
    stored = conn.execute("SELECT (SELECT prompt_hash FROM app.generations WHERE generation_id = %s), "
                          "(SELECT ip_hash FROM app.sessions WHERE session_id = %s)", (generation, session)).fetchone()
    assert stored == (hashlib.sha256(RAW_PROMPT.encode()).hexdigest(), hashlib.sha256(RAW_IP.encode()).hexdigest())
    entries = conn.execute("SELECT action, counts, details::text FROM governance.audit_ledger "
                           "WHERE workflow = 'data_quality_remediation' ORDER BY seq").fetchall()
    assert [(action, counts) for action, counts, _ in entries] == [("dq_hashed_in_place", {"rows_hashed": 1})] * 2
    assert not any(RAW_PROMPT in details or RAW_IP in details for _, _, details in entries)
    assert ledger.verify(conn, key=LEDGER_KEY.encode()).ok
    after = run_suite(workflow_url, s3, buckets, "no_raw_prompts", run_id="dq-after")
    assert [r.summary() for r in after.failed] == [  # this database holds no canary: all else passes
        "'canary prompt hashes present' failed on app.generations.prompt_hash: none found"]
