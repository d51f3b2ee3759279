-- The ledger entries recorded in [since, until), every hashed column, for an evidence pack;
-- with the entry just before, whose hash the first one chains from.
SELECT seq, recorded_at, workflow, run_id, action, rule, target_table, cutoff, policy_sha256, counts, details,
       prev_hash, entry_hash
FROM governance.audit_ledger
WHERE recorded_at >= %(since)s AND recorded_at < %(until)s
ORDER BY seq
