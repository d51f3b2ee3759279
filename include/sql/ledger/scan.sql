-- Every ledger entry in seq order, for verification. Run through a server-side (named)
-- cursor and fetched in batches: the ledger may hold millions of rows.
SELECT seq, recorded_at, workflow, run_id, action, rule, target_table, cutoff,
       policy_sha256, counts, details, prev_hash, entry_hash, entry_mac
FROM governance.audit_ledger
ORDER BY seq
