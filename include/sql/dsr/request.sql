-- One request, as registered.
SELECT request_id, kind, subject_pseudonym, subject_user_id, subject_email_key, channel, jurisdiction, received_at, due_at, extended_due_at,
       status, completed_at, outcome, refusal
FROM governance.dsr_requests
WHERE request_id = %(request_id)s
