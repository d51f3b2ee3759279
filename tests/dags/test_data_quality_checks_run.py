"""data_quality_checks run as the scheduler runs it: `airflow dags test`, real database, real S3, logs at INFO."""

import hashlib

import pytest

from governance.quality import load_canaries
from governance.storage import list_keys
from tests.dags.conftest import airflow_dags_test
from tests.factories import CUTOFF

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RAW_PROMPT = "a watercolour heron at dawn, my own words"  # stored where its hash belongs


def test_a_raw_prompt_fails_its_suite_and_the_run_naming_the_check_never_the_prompt(airflow_env, data, conn, s3,
                                                                                     buckets):
    person = data.user()
    planted = data.generation(person)
    canary = load_canaries()[0]
    data.conn.execute("UPDATE app.generations SET prompt_hash = %s WHERE generation_id = %s", (RAW_PROMPT, planted))
    data.conn.execute("UPDATE app.generations SET prompt_hash = %s WHERE generation_id = %s",
                      (hashlib.sha256(canary.encode()).hexdigest(), data.generation(person)))
    data.commit()

    result = airflow_dags_test(airflow_env, "data_quality_checks", CUTOFF.isoformat(), "-c", '{"full_scan": true}')
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    assert "'prompt hash is a SHA-256' failed on app.generations.prompt_hash: 1 row" in log
    assert "governance.dq_results result_id" in log
    assert RAW_PROMPT not in log
    assert "Skipping registering function" not in log  # GX's chatter about itself stays out of the task log

    conn.rollback()
    failed = conn.execute("SELECT suite, check_name, sample_keys FROM governance.dq_results WHERE NOT success")
    failed = failed.fetchall()
    assert [(suite, check) for suite, check, _ in failed] == [("no_raw_prompts", "prompt hash is a SHA-256")]
    assert failed[0][2] == [{"key": {"generation_id": planted},
                             "value_sha256": hashlib.sha256(RAW_PROMPT.encode()).hexdigest()}]
    indexed = {row[0] for row in conn.execute("SELECT report_type FROM governance.report_index")}
    assert {"data_quality", "data_docs", "data_docs_page"} <= indexed
    everything = "".join(s3.get_object(Bucket=buckets.reports, Key=key)["Body"].read().decode(errors="replace")
                         for key in list_keys(s3, buckets.reports))
    assert "prompt hash is a SHA-256" in everything
    assert RAW_PROMPT not in everything

    # The remediation, from the finding's id: the form's default (no ids) is refused with a message ...
    refused = airflow_dags_test(airflow_env, "data_quality_remediation", CUTOFF.isoformat())
    assert refused.returncode != 0
    assert "result_ids: [] must be a non-empty list of finding ids" in refused.stdout + refused.stderr
    # ... a preview changes nothing; the real run hashes the prompt in place, with a ledger entry.
    result_id = conn.execute("SELECT result_id FROM governance.dq_results WHERE NOT success").fetchone()[0]
    for dry_run in ("true", "false"):
        done = airflow_dags_test(airflow_env, "data_quality_remediation", CUTOFF.isoformat(), "-c",
                                 f'{{"result_ids": [{result_id}], "dry_run": {dry_run}}}')
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        assert RAW_PROMPT not in done.stdout + done.stderr
        conn.rollback()
        stored = conn.execute("SELECT prompt_hash FROM app.generations WHERE generation_id = %s",
                              (planted,)).fetchone()[0].strip()
        assert stored == (RAW_PROMPT if dry_run == "true" else hashlib.sha256(RAW_PROMPT.encode()).hexdigest())
    assert conn.execute("SELECT count(*) FROM governance.audit_ledger WHERE action = 'dq_hashed_in_place'"
                        ).fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM governance.report_index WHERE report_type = 'data_quality_remediation'"
                        ).fetchone()[0] == 4  # a JSON and an HTML report per run
