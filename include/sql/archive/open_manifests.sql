-- The rule's objects that an earlier run left between intent and complete, oldest first.
SELECT manifest_id, object_key, version_id, state, sha256, row_count, min_key, max_key, retain_until
FROM governance.archive_manifests
WHERE rule = %(rule)s AND bucket = %(bucket)s AND state IN ('intent', 'uploaded', 'verified')
ORDER BY manifest_id
