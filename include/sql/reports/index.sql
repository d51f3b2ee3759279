-- Record a report object. Rows are only added: writing the same bytes again (a rerun) finds
-- the existing row; different bytes under the same key are a new version, and a new row.
WITH inserted AS (
    INSERT INTO governance.report_index
        (workflow, run_id, report_type, period_start, period_end, bucket, object_key, version_id, content_type,
         sha256, size_bytes, summary)
    VALUES (%(workflow)s, %(run_id)s, %(report_type)s, %(period_start)s, %(period_end)s, %(bucket)s, %(object_key)s,
            %(version_id)s, %(content_type)s, %(sha256)s, %(size_bytes)s, %(summary)s)
    ON CONFLICT (bucket, object_key, sha256) DO NOTHING
    RETURNING report_id
)
SELECT report_id FROM inserted
UNION ALL
SELECT report_id FROM governance.report_index
WHERE bucket = %(bucket)s AND object_key = %(object_key)s AND sha256 = %(sha256)s
LIMIT 1
