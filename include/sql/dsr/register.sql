-- Register a request once. A second submission of the same request id registers nothing: the
-- caller reads the row back and compares kind and person.
INSERT INTO governance.dsr_requests (request_id, kind, subject_pseudonym, subject_user_id, subject_email_key,
                                     channel, jurisdiction, received_at, due_at, last_run_id)
VALUES (%(request_id)s, %(kind)s, %(subject_pseudonym)s, %(subject_user_id)s, %(subject_email_key)s, %(channel)s,
        %(jurisdiction)s, %(received_at)s, %(due_at)s, %(run_id)s)
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id
