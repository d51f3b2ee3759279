-- One request, as registered.
SELECT request_id, kind, subject_pseudonym, channel, jurisdiction, received_at, due_at, extended_due_at,
       status, completed_at, outcome, refusal
FROM governance.dsr_requests
WHERE request_id = %(request_id)s
