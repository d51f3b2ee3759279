-- The request is done: what it produced (keys, checksums, counts; never personal values).
UPDATE governance.dsr_requests
SET status = 'completed', completed_at = %(completed_at)s,
    -- the account is gone: only the keyed hashes of the person stay
    subject_user_id = CASE WHEN kind = 'erasure' THEN NULL ELSE subject_user_id END, outcome = %(outcome)s, last_run_id = %(run_id)s,
    bundle_bucket = %(bundle_bucket)s, bundle_key = %(bundle_key)s, bundle_expires_at = %(bundle_expires_at)s
WHERE request_id = %(request_id)s AND status <> 'completed'
