-- Record a report object; a rerun that writes the same object again updates its entry.
INSERT INTO governance.report_index
    (workflow, run_id, report_type, period_start, period_end, bucket, object_key, content_type, sha256,
     size_bytes, summary)
VALUES (%(workflow)s, %(run_id)s, %(report_type)s, %(period_start)s, %(period_end)s, %(bucket)s, %(object_key)s,
        %(content_type)s, %(sha256)s, %(size_bytes)s, %(summary)s)
ON CONFLICT (workflow, run_id, report_type, object_key) DO UPDATE
SET sha256 = EXCLUDED.sha256, size_bytes = EXCLUDED.size_bytes, summary = EXCLUDED.summary,
    created_at = now()
RETURNING report_id
