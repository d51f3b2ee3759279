-- Export bundles whose time is up: deleted, every version, by the daily check.
SELECT request_id, bundle_bucket, bundle_key, bundle_expires_at
FROM governance.dsr_requests
WHERE bundle_key IS NOT NULL AND bundle_deleted_at IS NULL AND bundle_expires_at <= %(now)s
ORDER BY bundle_expires_at
