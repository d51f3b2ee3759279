-- One person's export bundles: how many are still in the exports bucket, how many were deleted.
SELECT count(*) FILTER (WHERE bundle_deleted_at IS NULL), count(*) FILTER (WHERE bundle_deleted_at IS NOT NULL)
FROM governance.dsr_requests
WHERE subject_pseudonym = %(subject_pseudonym)s AND bundle_key IS NOT NULL
