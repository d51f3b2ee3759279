-- Every archive object a run wrote, or adopted, or expired, for its report and its manifest file.
SELECT manifest_id, partition_key, object_key, version_id, state, sha256, row_count, min_key, max_key,
       retain_until, legal_hold, rows_removed
FROM governance.archive_manifests
WHERE rule = %(rule)s AND (run_id = %(run_id)s OR manifest_id = ANY(%(touched)s))
ORDER BY manifest_id
