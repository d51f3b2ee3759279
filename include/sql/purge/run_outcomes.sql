-- Every rule's progress in one run, for the run report.
SELECT rule, cutoff, rows_deleted, rows_pseudonymised, rows_media_marked, objects_deleted,
       batches, started_at, finished_at, error
FROM governance.purge_runs
WHERE run_id = %(run_id)s
ORDER BY rule
