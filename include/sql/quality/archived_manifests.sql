-- The archive objects that should exist: written, and not yet expired or abandoned.
SELECT manifest_id, bucket, object_key, version_id, sha256, retain_until, rule
FROM governance.archive_manifests
WHERE state IN ('uploaded', 'verified', 'complete')
ORDER BY manifest_id
