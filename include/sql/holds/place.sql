INSERT INTO governance.legal_holds (user_id, reason, reference, placed_by)
VALUES (%(user_id)s, %(reason)s, %(reference)s, %(placed_by)s)
RETURNING hold_id, placed_at
