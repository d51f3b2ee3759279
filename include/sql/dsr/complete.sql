-- The request is done: what it produced (keys, checksums, counts; never personal values). Once an
-- erasure is done the account is gone, and only the keyed hashes of the person stay.
UPDATE governance.dsr_requests
SET status = 'completed', completed_at = %(completed_at)s, outcome = %(outcome)s, last_run_id = %(run_id)s,
    subject_user_id = CASE WHEN kind = 'erasure' THEN NULL ELSE subject_user_id END
WHERE request_id = %(request_id)s AND status <> 'completed'
RETURNING request_id
