-- A retried suite replaces its earlier results of the same run.
DELETE FROM governance.dq_results WHERE run_id = %(run_id)s AND suite = %(suite)s
