-- One page of the audit ledger, newest first (seq has no gaps: the page is a range of seq).
SELECT seq, recorded_at, workflow, run_id, action, rule, target_table, counts, entry_hash
FROM governance.audit_ledger
WHERE seq <= %(below)s
ORDER BY seq DESC
LIMIT %(limit)s
