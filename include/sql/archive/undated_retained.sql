-- The rule's objects that hold rows a hold kept which an earlier version recorded by key alone
-- (archive_retained.event_at NULL): each is read back once to record those rows by key and clock.
-- An expired object can no longer be read; its rows, older than the archive's period, are the
-- expired rule's to delete.
SELECT m.manifest_id, m.bucket, m.object_key, m.version_id, m.sha256, m.row_count, m.min_key, m.max_key,
       m.retain_until
FROM governance.archive_manifests AS m
WHERE m.rule = %(rule)s AND m.bucket = %(bucket)s AND m.state IN ('verified', 'complete')
  AND m.manifest_id IN (SELECT r.manifest_id FROM governance.archive_retained AS r WHERE r.event_at IS NULL)
ORDER BY m.manifest_id
