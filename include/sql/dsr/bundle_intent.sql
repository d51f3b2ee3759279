-- Where a bundle is about to be uploaded, and until when it may stay: recorded before the upload,
-- so that a bundle whose run then dies is still found, and deleted, when it expires.
UPDATE governance.dsr_requests
SET bundle_bucket = %(bundle_bucket)s, bundle_key = %(bundle_key)s, bundle_expires_at = %(bundle_expires_at)s,
    bundle_deleted_at = NULL
WHERE request_id = %(request_id)s
