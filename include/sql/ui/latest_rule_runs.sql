-- The newest run of each rule of each deleting workflow, with what it recorded.
SELECT DISTINCT ON (workflow, rule) workflow, rule, run_id, state, started_at, finished_at, counts
FROM governance.rule_runs
ORDER BY workflow, rule, started_at DESC
