-- Register (or reopen, for a retry) a rule's run as running; counts an earlier attempt
-- committed are kept, so the totals continue.
INSERT INTO governance.rule_runs (workflow, run_id, rule, target_table, cutoff, policy_sha256, backend_pid)
VALUES (%(workflow)s, %(run_id)s, %(rule)s, %(target_table)s, %(cutoff)s, %(policy_sha256)s, pg_backend_pid())
ON CONFLICT (workflow, run_id, rule) DO UPDATE
SET state = 'running', error = NULL, finished_at = NULL, backend_pid = pg_backend_pid()
RETURNING counts, batches
