-- Register a rule's run; a retry of the same run keeps the counts it already has.
INSERT INTO governance.purge_runs (run_id, rule, cutoff, policy_sha256)
VALUES (%(run_id)s, %(rule)s, %(cutoff)s, %(policy_sha256)s)
ON CONFLICT (run_id, rule) DO UPDATE SET error = NULL, finished_at = NULL
RETURNING rows_deleted, rows_pseudonymised, rows_media_marked, objects_deleted, batches,
          (xmax <> 0) AS resumed
