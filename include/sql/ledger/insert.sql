-- Append one hash-chained, signed entry to the ledger; seq, both hashes and the signature are
-- computed by the caller (governance.ledger.append) under the lock taken by lock.sql.
INSERT INTO governance.audit_ledger (
    seq, recorded_at, workflow, run_id, action, rule, target_table, cutoff,
    policy_sha256, counts, details, prev_hash, entry_hash, entry_mac
) VALUES (
    %(seq)s, %(recorded_at)s, %(workflow)s, %(run_id)s, %(action)s, %(rule)s, %(target_table)s, %(cutoff)s,
    %(policy_sha256)s, %(counts)s, %(details)s, %(prev_hash)s, %(entry_hash)s, %(entry_mac)s
)
