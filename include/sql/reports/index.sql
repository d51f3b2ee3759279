-- Record a report object. Rows are only added: writing the same bytes again (a rerun) adds
-- nothing (reports.publish then reads the existing row's id); different bytes under the same
-- key are a new version, and a new row.
INSERT INTO governance.report_index
    (workflow, run_id, report_type, period_start, period_end, bucket, object_key, version_id, content_type,
     sha256, size_bytes, summary)
VALUES (%(workflow)s, %(run_id)s, %(report_type)s, %(period_start)s, %(period_end)s, %(bucket)s, %(object_key)s,
        %(version_id)s, %(content_type)s, %(sha256)s, %(size_bytes)s, %(summary)s)
ON CONFLICT (bucket, object_key, sha256) DO NOTHING
RETURNING report_id
