SELECT COALESCE(max(seq), 0) FROM governance.audit_ledger
