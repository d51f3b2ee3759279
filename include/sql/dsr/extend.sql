-- Extend a request's deadline once, with the reason the person is told.
UPDATE governance.dsr_requests
SET extended_due_at = %(extended_due_at)s, extension_reason = %(reason)s
WHERE request_id = %(request_id)s AND extended_due_at IS NULL AND status IN ('received', 'in_progress')
RETURNING request_id
