-- The run's own row, if an earlier attempt of the same run made one (a retry, or a cleared task).
SELECT state, counts, batches, by_table
FROM governance.rule_runs
WHERE workflow = %(workflow)s AND run_id = %(run_id)s AND rule = %(rule)s

