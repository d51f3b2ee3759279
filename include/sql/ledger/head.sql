-- The head of the ledger chain: the entry with the highest seq (no row on an empty ledger).
-- Run after lock.sql, so no other appender can move the head before this transaction ends.
SELECT seq, entry_hash
FROM governance.audit_ledger
ORDER BY seq DESC
LIMIT 1
