-- Close a run whose worker died; the run that found it is named in the error record. Its counts
-- are now in its `*_interrupted` ledger entry, so the row keeps none: whatever happens to the run
-- next (a retry, a refusal), nothing is counted twice.
UPDATE governance.rule_runs
SET state = 'interrupted', finished_at = now(), counts = '{}'::jsonb, batches = 0, by_table = '{}'::jsonb,
    error = jsonb_build_object('error_class', 'interrupted', 'accounted_by_run', %(accounted_by)s::text)
WHERE workflow = %(workflow)s AND run_id = %(run_id)s AND rule = %(rule)s
