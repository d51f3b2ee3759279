-- Close a rule's run: completed, failed or refused, with the failure record (class, SQLSTATE,
-- step; never an error message), if any. A run that completed is never closed again: no row
-- comes back, and no second entry is written.
INSERT INTO governance.rule_runs (workflow, run_id, rule, target_table, cutoff, policy_sha256, state,
                                  finished_at, error)
VALUES (%(workflow)s, %(run_id)s, %(rule)s, %(target_table)s, %(cutoff)s, %(policy_sha256)s, %(state)s,
        now(), %(error)s)
ON CONFLICT (workflow, run_id, rule) DO UPDATE
SET state = EXCLUDED.state, finished_at = now(), error = EXCLUDED.error
WHERE rule_runs.state <> 'completed'
RETURNING counts, batches, by_table
