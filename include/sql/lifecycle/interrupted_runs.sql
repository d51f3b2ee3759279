-- Earlier runs of a rule that never finished. Called with the rule's lock held, so none of
-- them can still be alive: their worker died, and their committed counts need a ledger entry.
SELECT run_id, target_table, cutoff, policy_sha256, counts, batches, by_table
FROM governance.rule_runs
WHERE workflow = %(workflow)s AND rule = %(rule)s AND state = 'running' AND run_id <> %(run_id)s
ORDER BY started_at
FOR UPDATE
