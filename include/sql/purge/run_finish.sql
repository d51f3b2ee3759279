-- Close a rule's run, with the error that stopped it, if any.
UPDATE governance.purge_runs
SET finished_at = now(), error = %(error)s
WHERE run_id = %(run_id)s AND rule = %(rule)s
