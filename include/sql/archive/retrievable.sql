-- The archive objects a retrieval reads: not expired, and of the event months in its period
-- (pruned here, by the Hive month of each object, before anything is read from S3).
SELECT object_key, version_id, partition_key
FROM governance.archive_manifests
WHERE rule = %(rule)s AND bucket = %(bucket)s AND state IN ('uploaded', 'verified', 'complete')
  AND partition_key >= %(first_month)s AND partition_key <= %(last_month)s
ORDER BY partition_key, object_key
