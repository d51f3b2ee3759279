-- The ledger entries one workflow run wrote, in the order it wrote them (idempotent reruns, reports).
SELECT seq, recorded_at, workflow, run_id, action, rule, target_table, cutoff,
       policy_sha256, counts, details, prev_hash, entry_hash, entry_mac
FROM governance.audit_ledger
WHERE workflow = %(workflow)s AND run_id = %(run_id)s
ORDER BY seq
