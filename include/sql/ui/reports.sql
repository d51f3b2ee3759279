-- The report index, newest first, filtered by workflow and by the period the report was written in.
-- A report whose object is gone (missing_since) stays in the list, shown as gone and with no link: an auditor
-- must see that the evidence existed and was lost, which leaving it out would hide.
SELECT report_id, workflow, run_id, report_type, object_key, content_type, size_bytes, sha256, created_at,
       period_start, period_end, missing_since
FROM governance.report_index
WHERE (%(workflow)s::text IS NULL OR workflow = %(workflow)s)
  AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR created_at < %(until)s)
ORDER BY created_at DESC, report_id DESC
LIMIT %(limit)s OFFSET %(offset)s
