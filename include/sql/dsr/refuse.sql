-- The request cannot be done, for a recorded reason (its class and counts, never a message).
UPDATE governance.dsr_requests
SET status = 'refused', completed_at = %(completed_at)s, refusal = %(refusal)s, last_run_id = %(run_id)s
WHERE request_id = %(request_id)s AND status <> 'completed'
RETURNING request_id
