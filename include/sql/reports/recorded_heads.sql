-- The indexed reports that recorded a ledger head among the given seqs (their summary's ledger_head),
-- oldest first: the verification report names, for each anchored head it checked the chain against,
-- the reports that recorded it, and when each was written. The caller matches the hash as well.
SELECT report_id, workflow, run_id, object_key, created_at,
       (summary->'ledger_head'->>'seq')::bigint AS head_seq, summary->'ledger_head'->>'hash' AS head_hash
FROM governance.report_index
WHERE jsonb_typeof(summary->'ledger_head') = 'object'
  AND (summary->'ledger_head'->>'seq')::bigint = ANY(%(seqs)s)
ORDER BY created_at, report_id
