-- Ledger heads that earlier reports recorded (in their summary), to verify the chain against:
-- each must still be in the ledger with the same hash, which catches deletion of the newest rows.
SELECT DISTINCT (summary -> 'ledger_head' ->> 'seq')::bigint AS seq,
       summary -> 'ledger_head' ->> 'hash' AS entry_hash
FROM governance.report_index
WHERE summary -> 'ledger_head' ->> 'seq' IS NOT NULL
ORDER BY seq
