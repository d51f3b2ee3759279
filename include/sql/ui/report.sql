SELECT report_id, workflow, bucket, object_key, version_id, content_type, size_bytes, sha256, missing_since
FROM governance.report_index WHERE report_id = %(report_id)s
