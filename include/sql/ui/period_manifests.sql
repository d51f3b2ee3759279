-- The archive manifests written in [since, until), for an evidence pack.
SELECT manifest_id, run_id, source_table, partition_key, bucket, object_key, version_id, sha256, row_count,
       min_key, max_key, retain_until, verified_at, created_at
FROM governance.archive_manifests
WHERE created_at >= %(since)s AND created_at < %(until)s
ORDER BY manifest_id
