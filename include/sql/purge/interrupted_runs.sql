-- Earlier runs of a rule that never finished (a killed worker): their counts still need
-- a ledger entry. Locked so two runs do not both account for them.
SELECT run_id, cutoff, policy_sha256, rows_deleted, rows_pseudonymised, rows_media_marked,
       objects_deleted, batches
FROM governance.purge_runs
WHERE rule = %(rule)s AND finished_at IS NULL AND run_id <> %(run_id)s
FOR UPDATE SKIP LOCKED
