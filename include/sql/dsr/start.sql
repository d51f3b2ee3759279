-- The work on a request starts (or starts again, after a failed attempt).
UPDATE governance.dsr_requests
SET status = 'in_progress', last_run_id = %(run_id)s
WHERE request_id = %(request_id)s AND status IN ('received', 'in_progress')
