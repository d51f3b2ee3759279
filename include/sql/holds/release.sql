-- Release an active hold; no row when it does not exist or was released already.
UPDATE governance.legal_holds
SET released_at = now(), released_by = %(released_by)s, release_reason = %(reason)s
WHERE hold_id = %(hold_id)s AND released_at IS NULL
RETURNING user_id, released_at
