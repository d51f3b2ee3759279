UPDATE governance.dsr_requests
SET bundle_deleted_at = %(now)s
WHERE request_id = %(request_id)s AND bundle_deleted_at IS NULL
