-- The person's account is erased: no request of theirs (an export, an earlier refused erasure)
-- keeps the user id any longer; the keyed hashes stay, to recognise a resubmission.
UPDATE governance.dsr_requests SET subject_user_id = NULL
WHERE subject_pseudonym = %(subject_pseudonym)s AND subject_user_id IS NOT NULL
