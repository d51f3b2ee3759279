-- The export bundles of one person still in the exports bucket (an erasure deletes them).
SELECT request_id, bundle_bucket, bundle_key, bundle_expires_at
FROM governance.dsr_requests
WHERE subject_pseudonym = %(subject_pseudonym)s AND bundle_key IS NOT NULL AND bundle_deleted_at IS NULL
ORDER BY request_id
