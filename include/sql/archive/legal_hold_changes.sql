-- Archive objects whose S3 legal hold must change: on, where they hold an event of a person
-- under an active legal hold; off, where they are under one and no longer do.
WITH wanted AS (
    SELECT DISTINCT s.manifest_id
    FROM governance.archive_subjects AS s
    WHERE s.subject_hash = ANY(%(hashes)s)
)
SELECT m.manifest_id, m.object_key, m.version_id, (w.manifest_id IS NOT NULL) AS hold
FROM governance.archive_manifests AS m
LEFT JOIN wanted AS w USING (manifest_id)
WHERE m.rule = %(rule)s AND m.bucket = %(bucket)s AND m.state IN ('uploaded', 'verified', 'complete')
  AND m.legal_hold <> (w.manifest_id IS NOT NULL)
ORDER BY m.manifest_id
