-- The reports written in [since, until), for an evidence pack; those whose object is gone (missing_since) are
-- listed in the pack as lost, not packed.
SELECT report_id, workflow, bucket, object_key, version_id, sha256, size_bytes, created_at, missing_since
FROM governance.report_index
WHERE created_at >= %(since)s AND created_at < %(until)s
ORDER BY created_at, report_id
