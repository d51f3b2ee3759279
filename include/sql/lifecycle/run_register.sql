-- Register (or reopen, for a retry) a rule's run as running. Counts an earlier attempt
-- committed are kept, so the totals continue; a run another run accounted for as interrupted
-- starts again from zero, since its counts are in that interrupted entry already.
INSERT INTO governance.rule_runs (workflow, run_id, rule, target_table, cutoff, policy_sha256, backend_pid)
VALUES (%(workflow)s, %(run_id)s, %(rule)s, %(target_table)s, %(cutoff)s, %(policy_sha256)s, pg_backend_pid())
ON CONFLICT (workflow, run_id, rule) DO UPDATE
SET state = 'running', error = NULL, finished_at = NULL, backend_pid = pg_backend_pid(),
    policy_sha256 = EXCLUDED.policy_sha256,
    counts = CASE WHEN rule_runs.state = 'interrupted' THEN '{}'::jsonb ELSE rule_runs.counts END,
    batches = CASE WHEN rule_runs.state = 'interrupted' THEN 0 ELSE rule_runs.batches END,
    by_table = CASE WHEN rule_runs.state = 'interrupted' THEN '{}'::jsonb ELSE rule_runs.by_table END
RETURNING counts, batches, by_table
