-- Requests not yet answered, with the deadline that applies (the extended one, if any).
SELECT request_id, kind, jurisdiction, channel, received_at, coalesce(extended_due_at, due_at) AS due_at,
       extended_due_at IS NOT NULL AS extended, status
FROM governance.dsr_requests
WHERE status IN ('received', 'in_progress')
ORDER BY coalesce(extended_due_at, due_at), request_id
