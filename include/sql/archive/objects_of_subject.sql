-- The archive objects that hold events of one person (archive_subjects names them by the first
-- 64 bits of their pseudonym: a collision only adds an object to read, which the filter on the
-- full pseudonym then leaves out), with the latest retain-until among them.
SELECT m.object_key, m.retain_until
FROM governance.archive_manifests AS m
WHERE m.rule = %(rule)s AND m.bucket = %(bucket)s AND m.state IN ('uploaded', 'verified', 'complete')
  AND EXISTS (SELECT FROM governance.archive_subjects AS s
              WHERE s.manifest_id = m.manifest_id AND s.subject_hash = %(subject_hash)s)
ORDER BY m.partition_key, m.object_key
