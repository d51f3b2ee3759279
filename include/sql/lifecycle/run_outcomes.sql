-- Every rule's recorded progress in one run of a workflow, for the run report.
SELECT rule, state, cutoff, counts, by_table, batches, started_at, finished_at, error
FROM governance.rule_runs
WHERE workflow = %(workflow)s AND run_id = %(run_id)s
ORDER BY rule
