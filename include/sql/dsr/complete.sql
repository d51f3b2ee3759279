-- The request is done: what it produced (keys, checksums, counts; never personal values).
UPDATE governance.dsr_requests
SET status = 'completed', completed_at = %(completed_at)s, outcome = %(outcome)s, last_run_id = %(run_id)s,
    bundle_bucket = %(bundle_bucket)s, bundle_key = %(bundle_key)s, bundle_expires_at = %(bundle_expires_at)s
WHERE request_id = %(request_id)s AND status <> 'completed'
