-- Serialise appends to the audit ledger. SHARE ROW EXCLUSIVE conflicts with itself (one
-- appender at a time) but not with ACCESS SHARE, so readers and verification proceed.
-- Held until the surrounding transaction ends: a caller's deletes and its ledger row commit together.
LOCK TABLE governance.audit_ledger IN SHARE ROW EXCLUSIVE MODE
