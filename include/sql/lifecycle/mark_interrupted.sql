-- Close a run whose worker died; the run that found it is named in the error record.
UPDATE governance.rule_runs
SET state = 'interrupted', finished_at = now(),
    error = jsonb_build_object('error_class', 'interrupted', 'accounted_by_run', %(accounted_by)s::text)
WHERE workflow = %(workflow)s AND run_id = %(run_id)s AND rule = %(rule)s
